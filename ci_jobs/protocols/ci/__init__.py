"""CI's XML job API on the bucket hosts: jobs, queues, templates, media buckets, pm3u8 by object."""
