"""GraphQL over HTTP: one database session and one set of DataLoaders per request."""

from __future__ import annotations

from typing import Any

from strawberry.asgi import GraphQL
from starlette.requests import Request

from .auth import authenticate
from .context import Context
from .host import Host

SESSION_SCOPE_KEY = "ireserve.session"


class GraphQLApp(GraphQL):
    def __init__(self, host: Host, schema, **kwargs: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **kwargs)
        self.host = host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        async with self.host.database.session() as session:
            scope[SESSION_SCOPE_KEY] = session
            try:
                await super().__call__(scope, receive, send)
            finally:
                scope.pop(SESSION_SCOPE_KEY, None)

    async def get_context(self, request: Request, response: Any) -> Context:
        session = request.scope[SESSION_SCOPE_KEY]
        principal = await authenticate(session, request.headers.get("authorization"))
        await session.rollback()  # end the read transaction; resolvers start their own
        return Context(host=self.host, session=session, principal=principal, request=request, response=response)
