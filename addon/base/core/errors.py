"""Errors the API shows to its callers: user errors in payloads, coded GraphQL errors.

Messages are English templates with values; they are shown in the caller's language
(Accept-Language), while ``code`` stays stable and untranslated.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

import strawberry

from graphql import GraphQLError

from .i18n import N_, Message


@strawberry.type(description="A problem with the input of a mutation; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: str = strawberry.field(description="Stable machine-readable code, e.g. NOT_FOUND, INVALID.")
    message: str = strawberry.field(description="Human-readable explanation, in the caller's language.")


@dataclass
class Problem:
    code: str
    template: str
    field: str | None = None
    params: dict = dataclass_field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(Message(self.template, self.params))

    def text(self, language: str | None = None) -> str:
        return Message(self.template, self.params).text(language)

    def as_user_error(self) -> UserError:
        return UserError(field=self.field, code=self.code, message=self.text())


class ValidationFailed(Exception):
    """Raised by services when input is refused; the transaction is rolled back."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, error_code: str, template: str, field: str | None = None, /, **params) -> "ValidationFailed":
        return cls(Problem(code=error_code, template=template, field=field, params=params))

    def user_errors(self) -> list[UserError]:
        return [p.as_user_error() for p in self.problems]


class CodedError(GraphQLError):
    """A GraphQL error whose ``extensions.code`` clients can branch on; the message is
    translated into the caller's language when raised."""

    def __init__(self, template: str, error_code: str, /, **params) -> None:
        super().__init__(Message(template, params).text(), extensions={"code": error_code})

    @classmethod
    def from_problem(cls, problem: Problem) -> "CodedError":
        return cls(problem.template, problem.code, **problem.params)


class DatabaseBusy(CodedError):
    """The database stayed locked longer than its busy timeout (SQLite): nothing is wrong with
    the request, so the caller may simply send it again. ``NOTHING_CHANGED`` where that is
    certain (the mutation's transaction was rolled back, or nothing ran yet)."""

    CODE = "DATABASE_BUSY"
    NOTHING_CHANGED = N_("The database is busy; nothing was changed. Try again in a moment.")
    TRY_AGAIN = N_("The database is busy; try again in a moment.")

    def __init__(self, template: str = TRY_AGAIN) -> None:
        super().__init__(template, self.CODE)
        self.extensions["retryable"] = True


class DatabaseUnavailable(CodedError):
    """The database cannot be reached (restarting, failing over, the network away): nothing is
    wrong with the request, so the caller may send it again shortly (HTTP ``Retry-After``).
    ``NOTHING_CHANGED`` where that is certain (nothing was committed); otherwise the change may
    or may not have been stored."""

    CODE = "DATABASE_UNAVAILABLE"
    NOTHING_CHANGED = N_("The database cannot be reached just now; nothing was changed. Try again in a moment.")
    TRY_AGAIN = N_("The database cannot be reached just now; try again in a moment.")

    def __init__(self, template: str = TRY_AGAIN) -> None:
        super().__init__(template, self.CODE)
        self.extensions["retryable"] = True
