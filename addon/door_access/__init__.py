"""Door access for bookings, vendor-neutral: the integration policy, door mapping by name, access
grants and the engine that reconciles them with a lock vendor through its backend."""


def register(host) -> None:
    from addon.base.host import GraphQLPart

    from . import models  # noqa: F401  (tables on the metadata)
    from .api import access_types  # noqa: F401  (adds Booking.access before the Booking type is built)
    from .backend import backends
    from .cli import add_commands
    from .demo import seed_door_access
    from .intents import register_handlers
    from .loaders import LOADERS
    from .privacy import register_privacy
    from .settings import DoorAccessSettings
    from .worker import engine_lifespan

    def graphql() -> GraphQLPart:
        # Imported only now, so that backends' type extensions are already registered.
        from .api.mutations import DoorAccessMutation
        from .api.queries import DoorAccessQuery

        return GraphQLPart(query=DoorAccessQuery, mutation=DoorAccessMutation)

    def bulk_repair_graphql() -> GraphQLPart:
        from .api.bulk import BulkRepairMutation

        return GraphQLPart(mutation=BulkRepairMutation)

    def health_graphql() -> GraphQLPart:
        from .api.health import DoorAccessHealthQuery

        return GraphQLPart(query=DoorAccessHealthQuery)

    host.declare_settings(DoorAccessSettings)
    backends(host)  # the registry backend addons add themselves to
    host.registry.graphql_parts.extend([graphql, bulk_repair_graphql, health_graphql])
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.lifespans.append(engine_lifespan)
    host.registry.seeders.append(seed_door_access)
    register_handlers(host)
    register_privacy(host)
