"""The kernel, the ground floor: the host and addon loader, settings, database, events, clock,
errors, languages, secrets at rest, migrations, logging fields, roles. Imports nothing else of base."""
