"""The GraphQL server: the schema assembled from the addons' parts, HTTP and WebSocket apps, the
limits, trusted documents, live updates (pub/sub), the request log and metrics. Builds on the
floors below."""
