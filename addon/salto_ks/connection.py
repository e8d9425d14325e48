"""The process's Salto KS connector (one connection pool and token cache), the client of one
integration, what Salto KS's errors mean for an admin, and the bridge to the call log."""

from __future__ import annotations

from prometheus_client import Counter

from addon.base.public import Host, Message, secret_box
from addon.door_access.public import CallEntry, call_log

from .client import CallRecord, SaltoKsAccount, SaltoKsClient, SaltoKsConnector
from .errors import (
    SaltoKsAuthenticationError,
    SaltoKsClientRejected,
    SaltoKsCredentialsRejected,
    SaltoKsEnvironmentNotConfigured,
    SaltoKsError,
    SaltoKsIqNotActivated,
    SaltoKsIqNotFound,
    SaltoKsIqOffline,
    SaltoKsLockNotFound,
    SaltoKsLockOffline,
    SaltoKsOtpRejected,
    SaltoKsPermanentError,
    SaltoKsPinChangedElsewhere,
    SaltoKsSiteNotResolved,
    SaltoKsSiteUnknown,
)
from .models import SaltoKsCredentials
from .settings import ENVIRONMENT_LABELS, environment_settings, environment_variables, salto_ks_settings

TOKEN_REFRESHES = Counter("ireserve_salto_ks_token_refreshes_total", "Access tokens fetched from Salto KS, by outcome",
                          ["outcome"])


class CallLogBridge:
    """Hands every CallRecord of the client to the door-access call log."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def __call__(self, record: CallRecord) -> None:
        context = record.context or {}
        if record.operation == "token":
            TOKEN_REFRESHES.labels(outcome=record.outcome).inc()
        call_log(self.host).record(CallEntry(
            integration_id=context.get("integration_id"), booking_id=context.get("booking_id"),
            operation=record.operation, method=record.method, path=record.path, http_status=record.http_status,
            duration_ms=record.duration_ms, outcome=record.outcome, error=record.error,
        ))


def get_connector(host: Host) -> SaltoKsConnector:
    """The shared connector, made on first use (tests may put their own in place first)."""

    def create() -> SaltoKsConnector:
        settings = salto_ks_settings(host)
        return SaltoKsConnector(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                                on_call=CallLogBridge(host))

    return host.service(SaltoKsConnector, create)


async def close_connector(host: Host) -> None:
    connector = host.discard(SaltoKsConnector)
    if connector is not None:
        await connector.aclose()


def environment_missing(environment: str) -> SaltoKsEnvironmentNotConfigured:
    label = ENVIRONMENT_LABELS.get(environment, environment)
    return SaltoKsEnvironmentNotConfigured(
        f"The Salto KS {label} environment is not configured on this installation "
        f"({', '.join(environment_variables(environment))})", environment=environment)


def account_of(host: Host, stored: SaltoKsCredentials) -> SaltoKsAccount:
    """The account of ``stored`` in its Environment; SaltoKsEnvironmentNotConfigured when the
    installation has no settings for that Environment."""
    environment = environment_settings(host, stored.environment)
    if environment is None:
        raise environment_missing(stored.environment)
    return SaltoKsAccount(
        environment=environment.label,
        identity_url=environment.identity_url,
        api_url=environment.api_url,
        client_id=environment.client_id,
        client_secret=environment.client_secret,
        username=stored.username,
        password=secret_box(host).decrypt(stored.password_encrypted),
        scope=salto_ks_settings(host).scope,
    )


def client_for(host: Host, stored: SaltoKsCredentials, booking_id: int | None = None) -> SaltoKsClient:
    context = {"integration_id": stored.integration_id, "booking_id": booking_id}
    return get_connector(host).client(account_of(host, stored), context=context)


def site_words(stored: SaltoKsCredentials) -> str:
    return f"{stored.site_name!r} ({stored.site_uid})" if stored.site_name else stored.site_uid


def explain(exc: SaltoKsError, stored: SaltoKsCredentials, iq_id: str | None = None) -> Message:
    """What an admin should do about ``exc``, in the set-up guide's words (the client already
    keeps secrets out of ``str(exc)``); ``iq_id``: the IQ asked about, when not the stored one."""
    if isinstance(exc, SaltoKsEnvironmentNotConfigured):
        return Message("The {environment} environment is not configured on this installation: the operator sets "
                       "{variables}.", {"environment": ENVIRONMENT_LABELS.get(exc.environment, exc.environment),
                                        "variables": ", ".join(environment_variables(exc.environment))})
    if isinstance(exc, SaltoKsCredentialsRejected):
        return Message("Username or Password rejected by Salto KS: check them on the Authentication tab, then "
                       "Test / request access.")
    if isinstance(exc, SaltoKsClientRejected):
        environment = stored.environment
        return Message("Salto KS rejected this installation's {environment} client: the operator checks {variables}.",
                       {"environment": ENVIRONMENT_LABELS.get(environment, environment),
                        "variables": ", ".join(environment_variables(environment)[2:])})
    if isinstance(exc, SaltoKsAuthenticationError):
        return Message("Salto KS refused the account's access: check the Username and Password on the "
                       "Authentication tab, then Test / request access.")
    if isinstance(exc, SaltoKsSiteNotResolved):
        return Message("The Site ID is not resolved yet: press Resolve site ID on the Authentication tab.")
    if isinstance(exc, SaltoKsSiteUnknown):
        return Message("Salto KS knows no site with Site UID {uid} that this account may see: check the Site UID "
                       "and the Environment, then Resolve site ID.", {"uid": stored.site_uid})
    if isinstance(exc, SaltoKsIqNotFound):
        return Message("The IQ id {iq} is not an IQ of site {site}: check the IQ id.",
                       {"iq": iq_id or stored.iq_id or "-", "site": site_words(stored)})
    if isinstance(exc, SaltoKsLockNotFound):
        return Message("The lock is not registered in site {site} (any more): check the Mapping tab.",
                       {"site": site_words(stored)})
    if isinstance(exc, SaltoKsIqOffline):
        return Message("The IQ is offline: it must be online and linked to the site. Check its power and network, "
                       "then try again.")
    if isinstance(exc, SaltoKsLockOffline):
        return Message("The lock is offline: it does not reach its IQ. Check the lock and the IQ, then try again.")
    if isinstance(exc, SaltoKsPinChangedElsewhere):
        return Message("The PIN of the IQ was changed outside the booking system: opening does not work until the "
                       "IQ OTP setup is done again (GET PIN, then Set PIN).")
    if isinstance(exc, SaltoKsOtpRejected):
        return Message("The IQ refused the one-time password: check that the server clock is right (one-time "
                       "passwords use UTC), then do the IQ OTP setup again (GET PIN, then Set PIN).")
    if isinstance(exc, SaltoKsIqNotActivated):
        return Message("The IQ is not activated: do the IQ OTP setup (IQ id, GET PIN, Set PIN) first.")
    if isinstance(exc, SaltoKsPermanentError) and exc.status == 403:
        return Message("Salto KS refused access ({reason}): the account needs administrative rights on site {site}.",
                       {"reason": exc.message, "site": site_words(stored)})
    return Message.verbatim(str(exc))  # the client's own sentence (timeouts, Salto KS's message)
