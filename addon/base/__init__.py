"""The host addon: settings, database, loader, events, GraphQL assembly, web app, CLI, API tokens."""


def register(host) -> None:
    from . import audit, models  # noqa: F401  (tables on the metadata)
    from .host import GraphQLPart

    def graphql() -> GraphQLPart:
        from .api import BaseQuery

        return GraphQLPart(query=BaseQuery)

    def audit_graphql() -> GraphQLPart:
        from .audit_api import AuditQuery

        return GraphQLPart(query=AuditQuery)

    def identity_graphql() -> GraphQLPart:
        from .identity_api import IdentityMutation, IdentityQuery

        return GraphQLPart(query=IdentityQuery, mutation=IdentityMutation)

    from .settings import SignInSettings

    host.declare_settings(SignInSettings)  # sessions and sign-in throttling: a bad value stops start-up
    host.registry.graphql_parts.append(graphql)
    host.registry.graphql_parts.append(identity_graphql)
    host.registry.graphql_parts.append(audit_graphql)
