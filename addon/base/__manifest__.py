{
    "name": "base",
    "version": "0.1.0",
    "depends": [],
    "summary": (
        "The host, in floors: the kernel (host and addon loader, settings, database, events, clock, errors, "
        "languages, secrets at rest, migrations), the kit addons build their GraphQL with, people (users, "
        "sign-in, sessions, API tokens, the audit trail, erasure), the GraphQL server (schema, HTTP and "
        "WebSocket, limits, trusted documents, live updates, request log, metrics), the process (web app, "
        "serve, CLI, health) and build-time tools; other addons use it through addon.base.public"
    ),
}
