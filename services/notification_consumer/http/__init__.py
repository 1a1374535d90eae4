"""REST in and out: routers, response schemas, the caller dependency and the error boundary."""
