"""dormakaba Resivo as a door-access backend: the Authentication tab, the Resivo client (the only
code that knows its wire format), its doors, error explanations, connection test and sandbox."""


def register(host) -> None:
    from addon.base.public import GraphQLPart, extend_type
    from addon.door_access.backend import register_backend

    from . import models  # noqa: F401  (tables on the metadata)
    from .api.types import DoorIntegrationResivoFields
    from .backend import ResivoBackend
    from .cli import add_commands
    from .demo import check_secrets, seed_resivo
    from .loaders import LOADERS
    from .sandbox_route import sandbox_route
    from .settings import ResivoSettings

    def graphql() -> GraphQLPart:
        from .api.mutations import ResivoMutation

        return GraphQLPart(mutation=ResivoMutation)

    host.declare_settings(ResivoSettings)
    register_backend(host, ResivoBackend(host))
    host.registry.graphql_parts.append(graphql)
    extend_type(host, "DoorIntegration", DoorIntegrationResivoFields)  # DoorIntegration.resivo
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
    host.registry.seeders.append(seed_resivo)
    host.registry.preflight_checks.append(check_secrets)
    host.registry.secret_columns.append((models.ResivoCredentials, "client_secret_encrypted"))
