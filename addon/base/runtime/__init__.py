"""The process: the web app, ``ireserve serve`` and the command line, health checks."""
