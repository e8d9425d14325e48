"""Booking domain: objects and sub-objects, customers, statuses, fields, bookings."""


def register(host) -> None:
    from addon.base.host import GraphQLPart

    from . import models  # noqa: F401  (tables on the metadata)
    from .demo import seed_booking
    from .loaders import LOADERS
    from .settings import BookingSettings

    def graphql() -> GraphQLPart:
        # Imported only now, so that dependent addons' type extensions are already registered.
        from .api.mutations import BookingMutation
        from .api.queries import BookingQuery

        return GraphQLPart(query=BookingQuery, mutation=BookingMutation)

    host.declare_settings(BookingSettings)
    host.registry.graphql_parts.append(graphql)
    host.registry.loader_factories.update(LOADERS)
    host.registry.seeders.append(seed_booking)
