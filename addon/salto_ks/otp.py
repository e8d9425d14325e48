"""One-time passwords that sign commands to a Salto KS IQ.

The OTP is RFC 6238 TOTP: a 30-second time step counted from the Unix epoch (UTC), 6 digits,
HMAC-SHA-1 (RFC 4226's dynamic truncation). Its key is derived from the IQ's secret and its
current PIN, so that changing the PIN (here or elsewhere) changes every OTP::

    key = HMAC-SHA-256(key=secret, message=ASCII(pin))     (32 bytes)

``secret`` is the IQ's secret as raw bytes; on the wire it travels base32-encoded (RFC 4648,
without padding, as in otpauth links) — see :func:`decode_secret`. A verifier accepts the OTP of
the current step and of one step either side, so clocks may differ by up to 30 s (more than
that is refused: OTPs and windows are UTC, the server clock matters).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random_source
from datetime import UTC, datetime

STEP_SECONDS = 30
DIGITS = 6
TOLERANCE_STEPS = 1
PIN_LENGTH = 4


class InvalidSecret(ValueError):
    """An IQ secret that is not base32 text."""


def time_step(moment: datetime, step_seconds: int = STEP_SECONDS) -> int:
    """RFC 6238's T: whole steps since the Unix epoch. A naive time is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; one-time passwords are computed in UTC")
    return int(moment.astimezone(UTC).timestamp()) // step_seconds


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP of ``counter`` (RFC 6238 uses the time step as the counter)."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10 ** digits).zfill(digits)


def totp(key: bytes, moment: datetime, digits: int = DIGITS, digest: str = "sha1",
         step_seconds: int = STEP_SECONDS) -> str:
    """RFC 6238 TOTP of ``key`` at ``moment``."""
    return hotp(key, time_step(moment, step_seconds), digits, digest)


def verify_totp(key: bytes, otp: str, moment: datetime, tolerance: int = TOLERANCE_STEPS,
                digits: int = DIGITS, digest: str = "sha1") -> bool:
    """Whether ``otp`` is the TOTP of a step within ``tolerance`` of ``moment``'s (in constant
    time per candidate)."""
    if not isinstance(otp, str) or len(otp) != digits or not otp.isdigit():
        return False
    step = time_step(moment)
    matched = False
    for delta in range(-tolerance, tolerance + 1):
        # Every candidate is compared, so the time taken says nothing about which one matched.
        matched |= hmac.compare_digest(hotp(key, step + delta, digits, digest), otp)
    return matched


def decode_secret(text: str) -> bytes:
    """The IQ secret from its base32 text (case and missing padding forgiven)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidSecret("the IQ secret is empty")
    cleaned = text.strip().replace(" ", "").upper()
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise InvalidSecret("the IQ secret is not base32 text") from None
    if not raw:
        raise InvalidSecret("the IQ secret is empty")
    return raw


def encode_secret(raw: bytes) -> str:
    """Base32 text of a secret, without padding (the wire form)."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def new_secret(length: int = 20) -> str:
    """A fresh random IQ secret in its wire form (the sandbox's IQs)."""
    return encode_secret(random_source.token_bytes(length))


def derive_key(secret: bytes, pin: str) -> bytes:
    """The TOTP key of an IQ with ``secret`` and ``pin``: HMAC-SHA-256(secret, ASCII(pin))."""
    return hmac.new(secret, pin.encode("ascii"), hashlib.sha256).digest()


def is_pin(value: object) -> bool:
    """A PIN is exactly four ASCII digits."""
    return isinstance(value, str) and len(value) == PIN_LENGTH and value.isascii() and value.isdigit()


def iq_otp(secret_text: str, pin: str, moment: datetime) -> str:
    """The OTP that signs a command to an IQ at ``moment``."""
    return totp(derive_key(decode_secret(secret_text), pin), moment)


def verify_iq_otp(secret_text: str, pin: str, otp: str, moment: datetime,
                  tolerance: int = TOLERANCE_STEPS) -> bool:
    return verify_totp(derive_key(decode_secret(secret_text), pin), otp, moment, tolerance)
