"""The IQ's one-time passwords: RFC 6238 TOTP (checked against the RFC's own test vectors), the
key derived from the IQ secret and the PIN, and verification with one step of tolerance."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta

import pytest

from addon.salto_ks.otp import (
    InvalidSecret,
    decode_secret,
    derive_key,
    encode_secret,
    hotp,
    iq_otp,
    is_pin,
    new_secret,
    time_step,
    totp,
    verify_iq_otp,
    verify_totp,
)

# RFC 6238, Appendix B: the seeds and the 8-digit TOTPs at each time (T0 = 0, X = 30).
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC_6238_VECTORS = [
    (59, "sha1", "94287082"), (59, "sha256", "46119246"), (59, "sha512", "90693936"),
    (1111111109, "sha1", "07081804"), (1111111109, "sha256", "68084774"), (1111111109, "sha512", "25091201"),
    (1111111111, "sha1", "14050471"), (1111111111, "sha256", "67062674"), (1111111111, "sha512", "99943326"),
    (1234567890, "sha1", "89005924"), (1234567890, "sha256", "91819424"), (1234567890, "sha512", "93441116"),
    (2000000000, "sha1", "69279037"), (2000000000, "sha256", "90698825"), (2000000000, "sha512", "38618901"),
    (20000000000, "sha1", "65353130"), (20000000000, "sha256", "77737706"), (20000000000, "sha512", "47863826"),
]
# RFC 4226, Appendix D: HOTP of the SHA-1 seed for counters 0-9 (6 digits).
RFC_4226_VECTORS = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
                    "520489"]

SECRET = "ULTO26GSJB4ZSMX7TWXYNFWZEHLAPJYZ"
MIDDLE_OF_A_STEP = datetime(2026, 6, 12, 12, 0, 15, tzinfo=UTC)  # 15 s into its 30 s step


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


@pytest.mark.parametrize("unix,digest,expected", RFC_6238_VECTORS)
def test_totp_matches_the_rfc_6238_test_vectors(unix, digest, expected):
    assert totp(SEEDS[digest], at(unix), digits=8, digest=digest) == expected


def test_six_digits_are_the_last_six_of_the_rfc_values():
    for unix, digest, expected in RFC_6238_VECTORS:
        if digest == "sha1":
            assert totp(SEEDS["sha1"], at(unix)) == expected[-6:]


def test_hotp_matches_the_rfc_4226_test_vectors():
    assert [hotp(SEEDS["sha1"], counter) for counter in range(10)] == RFC_4226_VECTORS


def test_time_steps_are_30_seconds_of_utc():
    assert time_step(at(59)) == 1 and time_step(at(60)) == 2
    local = datetime(2026, 6, 12, 14, 0, 15, tzinfo=datetime.now().astimezone().tzinfo)
    assert time_step(local) == time_step(local.astimezone(UTC))
    with pytest.raises(ValueError, match="naive"):
        time_step(datetime(2026, 6, 12, 12, 0))


def test_the_key_is_hmac_sha256_of_the_pin_keyed_by_the_secret():
    raw = base64.b32decode(SECRET)
    assert derive_key(raw, "4711") == hmac.new(raw, b"4711", hashlib.sha256).digest()
    # The whole OTP, computed here from the documented recipe without the module's helpers.
    key = hmac.new(raw, b"4711", hashlib.sha256).digest()
    mac = hmac.new(key, struct.pack(">Q", int(MIDDLE_OF_A_STEP.timestamp()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    expected = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    assert iq_otp(SECRET, "4711", MIDDLE_OF_A_STEP) == f"{expected:06d}"


def test_another_pin_or_secret_gives_another_otp():
    otp = iq_otp(SECRET, "4711", MIDDLE_OF_A_STEP)
    assert iq_otp(SECRET, "4712", MIDDLE_OF_A_STEP) != otp
    assert iq_otp(new_secret(), "4711", MIDDLE_OF_A_STEP) != otp


@pytest.mark.parametrize("skew", [-30, -15, 0, 14, 30])
def test_a_clock_one_step_off_is_accepted(skew):
    otp = iq_otp(SECRET, "4711", MIDDLE_OF_A_STEP + timedelta(seconds=skew))
    assert verify_iq_otp(SECRET, "4711", otp, MIDDLE_OF_A_STEP)


@pytest.mark.parametrize("skew", [-90, -60, 60, 90, 3600])
def test_a_clock_two_steps_off_is_refused(skew):
    otp = iq_otp(SECRET, "4711", MIDDLE_OF_A_STEP + timedelta(seconds=skew))
    assert not verify_iq_otp(SECRET, "4711", otp, MIDDLE_OF_A_STEP)


def test_verification_refuses_anything_but_six_digits():
    key = derive_key(decode_secret(SECRET), "4711")
    good = totp(key, MIDDLE_OF_A_STEP)
    assert verify_totp(key, good, MIDDLE_OF_A_STEP)
    for bad in ("", good[:5], good + "0", "abcdef", None, int(good), " " + good[1:]):
        assert not verify_totp(key, bad, MIDDLE_OF_A_STEP)
    previous = totp(key, MIDDLE_OF_A_STEP - timedelta(seconds=30))
    assert verify_totp(key, previous, MIDDLE_OF_A_STEP) and not verify_totp(key, previous, MIDDLE_OF_A_STEP, tolerance=0)


def test_secrets_are_base32_text():
    raw = b"\x01\x02\x03\x04\x05 secret bytes"
    text = encode_secret(raw)
    assert "=" not in text and decode_secret(text) == raw
    assert decode_secret(text.lower()) == raw  # case forgiven, as is the missing padding
    assert len(decode_secret(new_secret())) == 20
    for bad in ("", "   ", "not base32!", "1234"):
        with pytest.raises(InvalidSecret):
            decode_secret(bad)


def test_a_pin_is_four_ascii_digits():
    assert is_pin("0815") and is_pin("4711")
    for bad in ("123", "12345", "12a4", "١٢٣٤", 1234, None, " 123"):
        assert not is_pin(bad)
