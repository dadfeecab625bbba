"""The web console: task list, details, play and download, live updates, queue controls (session auth)."""
