"""The use cases, typed in and out: jobs, queues, templates (objects and sync processing next).

Protocols call this layer only, with typed requests (`requests.JobRequest`); nothing here knows a
wire format or HTTP. `Service` groups the use cases one node serves.
"""
