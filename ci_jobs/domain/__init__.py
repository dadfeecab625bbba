"""The domain: jobs, tasks and queues, their states and transitions, failure codes and events. Pure."""
