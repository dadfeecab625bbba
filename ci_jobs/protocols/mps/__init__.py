"""MPS's JSON API (Tencent Media Processing Service, API 3.0, version 2019-06-12) on the same engine.

protocol.py: transport, TC3 auth, envelope · actions.py: the action table · schema.py: the request
models · codec.py / transcode.py / presets.py: ProcessMedia into a JobRequest · presenter.py: tasks on
the wire · tc3.py: the signature · replay.py: one use per signature · errors.py: MPS's codes.
"""
