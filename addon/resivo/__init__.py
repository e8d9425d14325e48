"""dormakaba Resivo door access: configuration, door mapping, access grants, client, worker, sandbox."""


def register(host) -> None:
    from addon.base.host import GraphQLPart

    from . import models  # noqa: F401  (tables on the metadata)
    from .cli import add_commands
    from .connection import connector_lifespan
    from .sandbox_route import sandbox_route

    def graphql() -> GraphQLPart:
        from .api.config_api import ResivoConfigMutation, ResivoConfigQuery

        return GraphQLPart(query=ResivoConfigQuery, mutation=ResivoConfigMutation)

    host.registry.graphql_parts.append(graphql)
    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
    host.registry.lifespans.append(connector_lifespan)
