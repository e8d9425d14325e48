"""dormakaba Resivo door access: configuration, door mapping, access grants, client, worker, sandbox."""


def register(host) -> None:
    from .cli import add_commands
    from .sandbox_route import sandbox_route

    host.registry.cli_commands.append(add_commands)
    host.registry.routes.append(sandbox_route)
