"""dormakaba Resivo as a door-access backend: the Authentication tab, the Resivo client (the only
code that knows its wire format), its doors, error explanations, connection test and sandbox."""


def register(host) -> None:
    from pathlib import Path

    from addon.base.public import GraphQLPart, extend_type
    from addon.door_access.public import (
        ConsolePart,
        register_backend,
        register_console_part,
    )

    from . import models  # noqa: F401  (tables on the metadata)
    from .api.types import CONSOLE_FIELDS, DoorIntegrationResivoFields
    from .backend import ResivoBackend
    from .cli import add_commands
    from .demo import check_secrets, follow_the_served_address, sandbox_needs_one_process, seed_resivo
    from .loaders import LOADERS
    from .sandbox_route import sandbox_route
    from .settings import ResivoSettings

    def graphql() -> GraphQLPart:
        from .api.mutations import ResivoMutation

        return GraphQLPart(mutation=ResivoMutation)

    host.declare_settings(ResivoSettings)
    register_backend(host, ResivoBackend(host))
    host.registry.graphql_parts.append(graphql)
    # The set-up guide's Authentication tab in the admin console (static/console/).
    register_console_part(host, ConsolePart(
        backend=ResivoBackend.name, static_dir=Path(__file__).resolve().parent / "static" / "console",
        script="authentication.js", fields=CONSOLE_FIELDS))
    extend_type(host, "DoorIntegration", DoorIntegrationResivoFields)  # DoorIntegration.resivo
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
    host.registry.seeders.append(seed_resivo)
    host.registry.preflight_checks.append(check_secrets)
    host.registry.lifespans.append(follow_the_served_address)  # the demo reaches the sandbox where it is served
    host.registry.serve_checks.append(sandbox_needs_one_process)
    host.registry.secret_columns.append((models.ResivoCredentials, "client_secret_encrypted"))
