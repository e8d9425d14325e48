"""Salto KS as a door-access backend: the Authentication tab, the IQ OTP setup, the Salto KS
client (the only code that knows its wire format), its locks, error explanations, connection
test and sandbox. Its locks open on request (see backend.py)."""


def register(host) -> None:
    from pathlib import Path

    from addon.base.public import GraphQLPart, extend_type
    from addon.door_access.public import ConsolePart, register_backend, register_console_part

    from . import models  # noqa: F401  (tables on the metadata)
    from .api.types import CONSOLE_FIELDS, DoorIntegrationSaltoKsFields
    from .backend import SaltoKsBackend
    from .cli import add_commands
    from .demo import check_secrets, seed_salto_ks
    from .loaders import LOADERS
    from .sandbox_route import sandbox_route
    from .settings import SaltoKsSettings

    def graphql() -> GraphQLPart:
        from .api.mutations import SaltoKsMutation

        return GraphQLPart(mutation=SaltoKsMutation)

    host.declare_settings(SaltoKsSettings)
    register_backend(host, SaltoKsBackend(host))
    host.registry.graphql_parts.append(graphql)
    # The set-up guide's Authentication tab and IQ OTP setup in the admin console (static/console/).
    register_console_part(host, ConsolePart(
        backend=SaltoKsBackend.name, static_dir=Path(__file__).resolve().parent / "static" / "console",
        script="salto_ks.js", fields=CONSOLE_FIELDS))
    extend_type(host, "DoorIntegration", DoorIntegrationSaltoKsFields)  # DoorIntegration.saltoKs
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
    host.registry.seeders.append(seed_salto_ks)
    host.registry.preflight_checks.append(check_secrets)
    for column in ("password_encrypted", "iq_pin_encrypted", "iq_secret_encrypted"):
        host.registry.secret_columns.append((models.SaltoKsCredentials, column))
