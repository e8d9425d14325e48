{
    "name": "resivo",
    "version": "0.1.0",
    "depends": ["base", "booking", "door_access"],
    "summary": "dormakaba Resivo as a door-access backend: credentials, the Resivo client, doors, connection test, sandbox",
}
