{
    "name": "door_access",
    "version": "0.1.0",
    "depends": ["base", "booking"],
    "summary": "Door access for bookings, vendor-neutral: integration policy, door mapping, access grants, "
               "the reconcile engine and worker; lock vendors plug in as backends",
}
