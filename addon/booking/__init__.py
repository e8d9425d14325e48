"""Booking domain: objects and sub-objects, customers, statuses, fields, bookings."""


def _from_model(type_name: str):
    """The GraphQL object of a row, made by the type of that name (built at schema build time)."""

    def convert(row):
        from .api import types

        return getattr(types, type_name).from_model(row)

    return convert


def register(host) -> None:
    from addon.base.public import GraphQLPart, allow_line_breaks, rows_loader

    from . import models  # noqa: F401  (tables on the metadata)
    from .api.plan import register_plans
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
    register_plans(host)  # what a bookings page reads up front
    allow_line_breaks(host, "SetBookingFieldInput.value")  # a field's value may be a note of several lines
    host.registry.loader_factories.update(LOADERS)
    host.registry.seeders.append(seed_booking)
    # node(id): every role that reads bookings reads these (a customer's contact details stay staff-only).
    host.registry.node_loaders.update({
        "BookableObject": rows_loader(models.BookableObject, _from_model("BookableObjectType"), audit_target="object"),
        "Customer": rows_loader(models.Customer, _from_model("CustomerType")),
        "Booking": rows_loader(models.Booking, _from_model("BookingType"), audit_target="booking"),
        "BookingField": rows_loader(models.BookingField, _from_model("BookingFieldType"), audit_target="booking_field"),
        "BookingStatus": rows_loader(models.BookingStatus, _from_model("BookingStatusType")),
    })
