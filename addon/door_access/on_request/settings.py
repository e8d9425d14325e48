"""Settings of the open-on-request model (environment variables, listed in the README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from addon.base.public import Env, SettingsError


@dataclass(frozen=True)
class GuestAccessSettings:
    # Where guests reach the product (the open links start with it); unset: the address `serve`
    # listens on, which is right for the demo only.
    public_url: str | None = None
    # The product's own mail: smtp://user:password@host:587 (STARTTLS) or smtps://…:465; unset: links
    # are not mailed, staff pass them on (Booking.access shows each link to staff).
    smtp_url: str | None = None
    mail_from: str = "door-access@localhost"
    smtp_timeout_seconds: float = 10.0
    # Openings per link (or booking, for staff) per minute, at most.
    opens_per_minute: int = 6
    # How long an opening waits for the lock to confirm before answering "sent, not confirmed yet".
    open_confirm_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "GuestAccessSettings":
        env = Env(environ)
        public_url = env.optional("IRESERVE_PUBLIC_URL")
        if public_url and urlsplit(public_url).scheme not in ("http", "https"):
            raise SettingsError(f"IRESERVE_PUBLIC_URL must be an http(s) address, got {public_url!r}")
        smtp_url = env.optional("IRESERVE_SMTP_URL")
        if smtp_url and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
            raise SettingsError("IRESERVE_SMTP_URL must start with smtp:// or smtps://")
        return cls(
            public_url=public_url.rstrip("/") if public_url else None,
            smtp_url=smtp_url,
            mail_from=env.text("IRESERVE_MAIL_FROM", cls.mail_from),
            smtp_timeout_seconds=env.float("IRESERVE_SMTP_TIMEOUT", cls.smtp_timeout_seconds, minimum=0.1),
            opens_per_minute=env.int("IRESERVE_OPENS_PER_MINUTE", cls.opens_per_minute, minimum=1),
            open_confirm_seconds=env.float("IRESERVE_OPEN_CONFIRM_SECONDS", cls.open_confirm_seconds, minimum=0.0),
        )


def guest_settings(host) -> GuestAccessSettings:
    return host.settings_of(GuestAccessSettings)


def public_url(host) -> str:
    """The address the open links start with."""
    configured = guest_settings(host).public_url
    if configured:
        return configured
    listening = host.settings.host
    reachable = "127.0.0.1" if listening in ("0.0.0.0", "::", "") else listening
    return f"http://{reachable}:{host.settings.port}"
