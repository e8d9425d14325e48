"""dormakaba Resivo door access: configuration, door mapping, access grants, client, worker, sandbox."""


def register(host) -> None:
    from addon.base.host import GraphQLPart

    from . import models  # noqa: F401  (tables on the metadata)
    from .api import access_types  # noqa: F401  (adds Booking.access before the Booking type is built)
    from .cli import add_commands
    from .connection import connector_lifespan
    from .demo import check_secrets, seed_resivo
    from .intent import register_handlers
    from .loaders import LOADERS
    from .sandbox_route import sandbox_route
    from .worker import worker_lifespan

    def configuration() -> GraphQLPart:
        from .api.config_api import ResivoConfigMutation, ResivoConfigQuery

        return GraphQLPart(query=ResivoConfigQuery, mutation=ResivoConfigMutation)

    def access() -> GraphQLPart:
        from .api.access_api import ResivoAccessMutation, ResivoAccessQuery

        return GraphQLPart(query=ResivoAccessQuery, mutation=ResivoAccessMutation)

    host.registry.graphql_parts += [configuration, access]
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
    # Lifespans leave in reverse order: the worker stops before the connection pool closes.
    host.registry.lifespans.append(connector_lifespan)
    host.registry.lifespans.append(worker_lifespan)
    host.registry.seeders.append(seed_resivo)
    host.registry.preflight_checks.append(check_secrets)
    register_handlers(host)
