"""People: users, passwords, browser sessions and sign-in, throttling, API tokens, recognising a
caller, the audit trail and erasing a person's data; their GraphQL part and CLI. Builds on
``core`` and ``kit``."""
