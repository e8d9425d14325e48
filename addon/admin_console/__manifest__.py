{
    "name": "admin_console",
    "version": "0.1.0",
    "depends": ["base", "booking", "door_access"],
    "summary": "The admin console at /admin: integrations (the set-up guide's tabs), the door-access board, logs",
}
