{
    "name": "resivo",
    "version": "0.1.0",
    "depends": ["base", "booking"],
    "summary": "dormakaba Resivo door access for bookings: remote-access authorizations per booking",
}
