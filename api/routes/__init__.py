"""The HTTP routes, one router per feature; each parses the request, calls bayqa and shapes the response."""
