"""The host addon, in floors (core ← kit ← identity ← server ← runtime; tools apart), with one
public face for the other addons: ``addon.base.public``. Its own GraphQL part: who am I, ``node``,
people and tokens, the audit trail; and the live-updates broker's lifespan."""


def register(host) -> None:
    from .core.host import GraphQLPart
    from .identity import audit, models  # noqa: F401  (tables on the metadata)

    def graphql() -> GraphQLPart:
        from .identity.viewer import BaseQuery

        return GraphQLPart(query=BaseQuery)

    def node_graphql() -> GraphQLPart:
        from .kit.nodes import NodeQuery

        return GraphQLPart(query=NodeQuery)

    def audit_graphql() -> GraphQLPart:
        from .identity.audit_api import AuditQuery

        return GraphQLPart(query=AuditQuery)

    def identity_graphql() -> GraphQLPart:
        from .identity.api import IdentityMutation, IdentityQuery

        return GraphQLPart(query=IdentityQuery, mutation=IdentityMutation)

    from .identity.api import NODE_LOADERS as IDENTITY_NODE_LOADERS
    from .identity.audit_api import node_loaders as audit_node_loaders
    from .identity.sessions import SignInSettings

    host.declare_settings(SignInSettings)  # sessions and sign-in throttling: a bad value stops start-up
    from .server.graphql_ws import LiveSettings
    from .server.pubsub import pubsub_lifespan

    host.declare_settings(LiveSettings)  # WebSocket keep-alive and limits
    host.registry.lifespans.append(pubsub_lifespan)  # first in, last out: the engine publishes until it stops
    host.registry.graphql_parts.append(graphql)
    host.registry.graphql_parts.append(node_graphql)
    host.registry.graphql_parts.append(identity_graphql)
    host.registry.graphql_parts.append(audit_graphql)
    host.registry.node_loaders.update(IDENTITY_NODE_LOADERS)
    host.registry.node_loaders.update(audit_node_loaders(host))
