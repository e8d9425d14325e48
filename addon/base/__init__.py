"""The host addon: settings, database, loader, events, GraphQL assembly, web app, CLI, API tokens."""


def register(host) -> None:
    from . import audit, models  # noqa: F401  (tables on the metadata)
    from .host import GraphQLPart

    def graphql() -> GraphQLPart:
        from .api import BaseQuery

        return GraphQLPart(query=BaseQuery)

    host.registry.graphql_parts.append(graphql)
