"""The Quart-Trio dashboard: pages, fragments, SSE streams, /health and /metrics."""
