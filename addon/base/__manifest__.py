{
    "name": "base",
    "version": "0.1.0",
    "depends": [],
    "summary": "Host: settings, database, addon loader, event hooks, GraphQL schema, web app, CLI, API tokens",
}
