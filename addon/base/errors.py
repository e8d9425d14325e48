"""Errors the API shows to its callers: user errors in payloads, coded GraphQL errors."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from graphql import GraphQLError


@strawberry.type(description="A problem with the input of a mutation; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: str = strawberry.field(description="Stable machine-readable code, e.g. NOT_FOUND, INVALID.")
    message: str = strawberry.field(description="Human-readable explanation.")


@dataclass
class Problem:
    code: str
    message: str
    field: str | None = None

    def as_user_error(self) -> UserError:
        return UserError(field=self.field, code=self.code, message=self.message)


class ValidationFailed(Exception):
    """Raised by services when input is refused; the transaction is rolled back."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None) -> "ValidationFailed":
        return cls(Problem(code=code, message=message, field=field))

    def user_errors(self) -> list[UserError]:
        return [p.as_user_error() for p in self.problems]


class CodedError(GraphQLError):
    """A GraphQL error whose ``extensions.code`` clients can branch on."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})
