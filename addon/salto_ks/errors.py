"""Typed Salto KS failures.

What matters to callers is transient (the same call may succeed later: timeouts, 429, 5xx, an
IQ or lock that is offline right now) versus permanent (nothing changes until the set-up
does). Besides that, the failures an admin must tell apart have classes of their own: the
account rejected, the Site UID unknown, the IQ offline, the one-time password refused, the PIN
changed elsewhere. No text reaching these classes carries a password, client secret, token, PIN,
IQ secret or one-time password: the client scrubs them first.
"""

from __future__ import annotations

from addon.door_access.public import BackendError, PermanentBackendError, TransientBackendError


class SaltoKsError(BackendError):
    """Base of every Salto KS failure. ``operation``: the client operation ("token", "open_lock",
    …); ``status``: the HTTP status, or ``None`` when no answer came; ``code``: the machine code
    of Salto KS's error body, when it sent one; ``message``: its own words, else the sentence."""

    def __init__(self, text: str, *, operation: str | None = None, status: int | None = None,
                 code: str | None = None, message: str | None = None) -> None:
        super().__init__(text, status=status)
        self.operation = operation
        self.code = code
        self.message = message if message is not None else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, operation={self.operation!r}, status={self.status!r})"


class SaltoKsTransientError(SaltoKsError, TransientBackendError):
    """Timeout, connection failure, 429 or 5xx: the same call may succeed later.
    ``retry_after``: Salto KS's ``Retry-After`` in seconds, when it sent one."""

    def __init__(self, text: str, *, operation: str | None = None, status: int | None = None,
                 code: str | None = None, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(text, operation=operation, status=status, code=code, message=message)
        self.retry_after = retry_after


class SaltoKsProtocolError(SaltoKsTransientError):
    """A 2xx answer whose body does not follow the contract. Transient: after an open whose
    answer cannot be read the lock may have opened, which the entries will tell."""


class SaltoKsPermanentError(SaltoKsError, PermanentBackendError):
    """A refusal (400, 403, 404, 409, 422, …): the same call fails the same way."""


class SaltoKsAuthenticationError(SaltoKsPermanentError):
    """No usable token: Salto KS refused the account, the platform's client, or a fresh token."""


class SaltoKsCredentialsRejected(SaltoKsAuthenticationError):
    """The Username or Password of the account was rejected."""


class SaltoKsClientRejected(SaltoKsAuthenticationError):
    """The installation's platform client (id and secret, from the settings) was rejected."""


class SaltoKsSiteUnknown(SaltoKsPermanentError):
    """No site with that Site UID (or Site ID) is visible to the account."""


class SaltoKsSiteNotResolved(SaltoKsPermanentError):
    """The Site ID was never resolved from the Site UID (nothing was sent)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.unprocessed = True


class SaltoKsIqNotFound(SaltoKsPermanentError):
    """The IQ id names no IQ of the site."""


class SaltoKsLockNotFound(SaltoKsPermanentError):
    """The lock is not (or no longer) registered in the site."""


class SaltoKsIqOffline(SaltoKsTransientError):
    """The IQ gateway is not connected to Salto's cloud: nothing was done; it may come back."""

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(text, **kwargs)
        self.unprocessed = True


class SaltoKsLockOffline(SaltoKsTransientError):
    """The lock does not answer its IQ: nothing was done; it may come back."""

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(text, **kwargs)
        self.unprocessed = True


class SaltoKsOtpRejected(SaltoKsPermanentError):
    """The IQ refused the one-time password: it matches neither its current PIN and secret nor
    a step within the tolerance (a server clock more than 30 s off)."""

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(text, **kwargs)
        self.unprocessed = True


class SaltoKsPinChangedElsewhere(SaltoKsOtpRejected):
    """The one-time password was made with a PIN the IQ had before: its PIN was changed outside
    the booking system, and opening is broken until the IQ OTP setup is done again."""


class SaltoKsEnvironmentNotConfigured(SaltoKsPermanentError):
    """The installation has no settings for the integration's Environment (nothing was sent)."""

    def __init__(self, text: str, *, environment: str) -> None:
        super().__init__(text)
        self.environment = environment
        self.unprocessed = True


class SaltoKsIqNotActivated(SaltoKsPermanentError):
    """Nothing can be signed before the IQ OTP setup is done (nothing was sent)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.unprocessed = True
