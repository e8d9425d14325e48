"""Door access for bookings, vendor-neutral: the integration policy, door mapping by name, access
grants and the engine that reconciles them with a lock vendor through its backend."""


def _from_model(module: str, type_name: str):
    """The GraphQL object of a row, made by a type built at schema build time."""

    def convert(row):
        import importlib

        return getattr(importlib.import_module(f"{__name__}.api.{module}"), type_name).from_model(row)

    return convert


async def _load_mappings(context, ids):
    from .api.live_doors import load_mappings

    return await load_mappings(context, ids)


def register(host) -> None:
    from addon.base.public import (
        GraphQLPart,
        NodeLoader,
        Role,
        extend_type,
        preloads,
        rows_loader,
    )

    from . import models  # noqa: F401  (tables on the metadata)
    from .on_request import models as on_request_models  # noqa: F401  (tables on the metadata)
    from .api.access_types import BookingAccessFields, preload_grants
    from .backend import backends
    from .cli import add_commands
    from .demo import seed_door_access
    from .erasure import register_erasure
    from .handlers import register_handlers
    from .loaders import LOADERS
    from .metrics import collect_access_metrics
    from .privacy import register_privacy
    from .on_request.page import guest_page_route
    from .on_request.settings import GuestAccessSettings
    from .settings import DoorAccessSettings
    from .worker import engine_lifespan, worker_readiness

    def graphql() -> GraphQLPart:
        # Imported only now, so that backends' type extensions are already registered.
        from .api.mutations import DoorAccessMutation
        from .api.queries import DoorAccessQuery

        return GraphQLPart(query=DoorAccessQuery, mutation=DoorAccessMutation)

    def bulk_repair_graphql() -> GraphQLPart:
        from .api.bulk import BulkRepairMutation

        return GraphQLPart(mutation=BulkRepairMutation)

    def live_graphql() -> GraphQLPart:
        from .api.subscriptions import DoorAccessSubscription

        return GraphQLPart(subscription=DoorAccessSubscription)

    def health_graphql() -> GraphQLPart:
        from .api.health import DoorAccessHealthQuery

        return GraphQLPart(query=DoorAccessHealthQuery)

    def open_door_graphql() -> GraphQLPart:
        from .api.on_request_types import OpenDoorMutation

        return GraphQLPart(mutation=OpenDoorMutation)

    host.declare_settings(DoorAccessSettings)
    host.declare_settings(GuestAccessSettings)
    backends(host)  # the registry backend addons add themselves to
    host.registry.graphql_parts.extend([graphql, bulk_repair_graphql, health_graphql, live_graphql,
                                        open_door_graphql])
    host.registry.routes.append(guest_page_route)  # /open/{token}: the guest open page
    extend_type(host, "Booking", BookingAccessFields)  # Booking.access, read up front by bookings pages
    preloads(host, "Booking", "access", preload_grants)
    host.registry.loader_factories.update(LOADERS)
    host.registry.cli_commands.append(add_commands)
    host.registry.lifespans.append(engine_lifespan)
    host.registry.readiness_checks.append(worker_readiness)
    host.registry.metric_collectors.append(collect_access_metrics)
    host.registry.seeders.append(seed_door_access)
    register_handlers(host)
    register_erasure(host)
    register_privacy(host)
    # node(id): a booking's access is read by every role (its private fields stay staff-only); the
    # configuration, its mappings and the vendor's call log by admins only, as everywhere else.
    host.registry.node_loaders.update({
        "DoorIntegration": rows_loader(models.DoorIntegration, _from_model("types", "DoorIntegrationType"), Role.ADMIN,
                                       audit_target="integration"),
        "DoorMapping": NodeLoader(_load_mappings, Role.ADMIN, models.DoorMapping),
        "AccessGrant": rows_loader(models.AccessGrant, _from_model("access_types", "AccessGrantType")),
        "IntegrationLogEntry": rows_loader(models.AccessCallLog, _from_model("types", "IntegrationLogEntryType"),
                                           Role.ADMIN),
    })
