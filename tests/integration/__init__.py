"""Multi-process, multi-server integration tests: real gunicorn and uvicorn servers
sharing PostgreSQL and Redis, driven over HTTP from this process."""
