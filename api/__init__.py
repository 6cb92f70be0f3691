"""bayqa's HTTP layer: a thin FastAPI app over the bayqa library."""
