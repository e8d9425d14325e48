"""The public face of ``booking``: what addons that depend on it (door access) may use — the
bookings' tables, the events a booking raises, reading and writing its fields, the GraphQL types
others link to or extend, the erasure steps others join, and the loaders they reuse. Import from
here, never from booking's inner modules (import-linter holds every addon to it)."""

from .api.types import BookableObjectType, BookingType
from .erasure import ERASE_REQUESTED, ERASING, Erasure
from .loaders import by_id, grouped
from .models import (
    BookableObject,
    Booking,
    BookingField,
    BookingFieldValue,
    BookingStatus,
    BookingStatusHistory,
    Customer,
)
from .privacy import hide_field_values_from_frontend
from .services import (
    CHANGED,
    STATUS_CHANGED,
    CustomerData,
    create_booking,
    create_booking_field,
    create_object,
    get_booking,
    get_object,
    read_field_value,
    refuse_archived_object,
    set_booking_status,
    update_booking,
    write_field_value,
)

__all__ = [
    "CHANGED", "ERASE_REQUESTED", "ERASING", "STATUS_CHANGED",
    "BookableObject", "BookableObjectType", "Booking", "BookingField", "BookingFieldValue", "BookingStatus",
    "BookingStatusHistory", "BookingType", "Customer", "CustomerData", "Erasure",
    "by_id", "create_booking", "create_booking_field", "create_object", "get_booking", "get_object", "grouped", "hide_field_values_from_frontend",
    "read_field_value", "refuse_archived_object", "set_booking_status", "update_booking", "write_field_value",
]
