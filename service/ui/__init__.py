"""The web UI: server-rendered pages, the API reference, and their static files."""
