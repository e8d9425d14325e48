"""Sending a guest their open link: the product's own message, in the guest's language, by e-mail
when a mail server is configured (IRESERVE_SMTP_URL); otherwise staff pass the link on (it is on
the booking's access, for staff). Whatever happens is recorded on the link, never silently lost."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from addon.base.public import Message, translate

from ..backend import Recipient
from .models import Delivery
from .settings import GuestAccessSettings


def compose(language: str, object_name: str, window_text: str | None, link: str) -> tuple[str, str]:
    """Subject and body of the message, in ``language``."""
    subject = translate(language, "Your door link for {object}", object=object_name)
    lines = [window_text] if window_text else []
    lines += [translate(language, "Open the doors with this link (keep it to yourself):"), link]
    return subject, "\n\n".join(lines) + "\n"


def _send(settings: GuestAccessSettings, to: list[str], subject: str, body: str) -> None:
    parts = urlsplit(settings.smtp_url)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.mail_from, ", ".join(to), subject
    mail.set_content(body)
    timeout = settings.smtp_timeout_seconds
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout,
                                  context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
    with server:
        if parts.scheme == "smtp" and server.has_extn("starttls"):
            server.starttls(context=ssl.create_default_context())
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(mail)


async def deliver(settings: GuestAccessSettings, recipients: Sequence[Recipient], subject: str,
                  body: str) -> tuple[Delivery, Message | None]:
    """Send the message; returns how it went and, when it did not, why (never a secret)."""
    emails = [r.email for r in recipients if r.email]
    if not settings.smtp_url:
        return Delivery.FOR_STAFF, None
    if not emails:
        return Delivery.FOR_STAFF, Message("The guest has no e-mail address: pass the link on.")
    try:
        await asyncio.to_thread(_send, settings, emails, subject, body)
    except (OSError, smtplib.SMTPException) as exc:
        # smtplib's errors carry the server's words, never our password.
        return Delivery.FAILED, Message("The link could not be sent ({kind}: {error}); pass it on, or send a new "
                                        "link.", {"kind": type(exc).__name__, "error": str(exc)[:200]})
    return Delivery.EMAILED, None
