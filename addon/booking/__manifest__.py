{
    "name": "booking",
    "version": "0.1.0",
    "depends": ["base"],
    "summary": "Objects and sub-objects, customers, booking statuses and fields, bookings and their status changes",
}
