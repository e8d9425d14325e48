{
    "name": "salto_ks",
    "version": "0.1.0",
    "depends": ["base", "booking", "door_access"],
    "summary": "Salto KS as a door-access backend: credentials, the Salto KS client, locks, the IQ OTP setup, "
               "connection test, sandbox",
}
