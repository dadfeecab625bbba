"""The HTTP layer: virtual-host routing, signature checks, XML in and out, error mapping."""
