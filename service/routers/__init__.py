"""One router module per resource: search, ask, similar, documents, indicators, health and metrics, the web page."""
