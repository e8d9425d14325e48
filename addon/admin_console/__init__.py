"""The admin console at ``/admin``: plain HTML, CSS and ES modules shipped in the package, built on
the public GraphQL API only (same-origin requests with the session cookie and its CSRF token)."""


def register(host) -> None:
    from .web import console_routes

    host.registry.routes.append(console_routes)
