"""Passwords: argon2id hashes (argon2-cffi), the rule a new password must meet.

A password is never logged, stored or answered: only its hash is kept. Hashing is memory-hard
and takes tens of milliseconds on purpose, so it runs in a small thread pool of its own: the
event loop keeps serving, and a flood of sign-ins cannot hold more than a few hashes' memory.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from ..core.errors import Problem

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane): ~50 ms per hash on a small server. The
# parameters are part of every stored hash, so raising them later re-hashes at the next sign-in.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

MIN_LENGTH = 12
MAX_LENGTH = 256  # hashing cost does not grow with length, but nobody needs more
MIN_DISTINCT = 5  # "aaaaaaaaaaaa" and "abababababab" are long, not strong

# The most common passwords of at least MIN_LENGTH characters (and their obvious stems).
COMMON = frozenset({
    "123456789012", "1234567890123", "12345678901234", "123456789123", "1234567890qwerty",
    "qwertyuiopasdfgh", "qwertyuiop123", "qwerty123456", "qwertyuiopasdfghjkl", "1q2w3e4r5t6y",
    "1qaz2wsx3edc", "zaq12wsxcde3", "password1234", "password12345", "password123456", "passw0rd1234",
    "p@ssw0rd1234", "iloveyou1234", "letmein12345", "welcome12345", "welcome123456", "changeme1234",
    "administrator", "administrator1", "adminadmin123", "admin1234567", "abcdefghijkl", "abcdefghijklm",
    "abcdef123456", "abc123456789", "a1b2c3d4e5f6", "trustno11234", "sunshine1234", "football1234",
    "baseball1234", "superman1234", "princess1234", "starwars1234", "dragon123456", "monkey123456",
    "correcthorsebatterystaple", "correct horse battery staple",
})

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash")
_dummy_hash: str | None = None


async def _in_pool(function, *args):
    return await asyncio.get_running_loop().run_in_executor(_POOL, function, *args)


async def hash_password(password: str) -> str:
    return await _in_pool(HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``. Without a hash (no such user) a dummy hash is
    checked all the same, so that an unknown e-mail costs as long as a wrong password."""
    target = stored_hash or await _dummy()
    try:
        matched = await _in_pool(HASHER.verify, target, password)
    except (VerificationError, InvalidHashError):
        return False
    return bool(matched) and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """Made with other parameters than today's (re-hash it at the next successful sign-in)."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


async def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_urlsafe(24))
    return _dummy_hash


def generate_password() -> str:
    """A random password that meets the rule (for the demo admin): 20 URL-safe characters."""
    while True:
        candidate = secrets.token_urlsafe(15)
        if not password_problems(candidate):
            return candidate


def password_problems(password: str | None, *, email: str | None = None, name: str | None = None,
                      field: str = "password") -> list[Problem]:
    """What is wrong with a new password (nothing: an empty list). Length over composition rules:
    a long phrase is strong, so only length, variety and the obvious guesses are checked."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return [Problem("PASSWORD_TOO_SHORT", "The password must be at least {min_length} characters long.",
                        field, {"min_length": MIN_LENGTH})]
    if len(password) > MAX_LENGTH:
        return [Problem("PASSWORD_TOO_LONG", "The password must be at most {max_length} characters long.",
                        field, {"max_length": MAX_LENGTH})]
    folded = password.casefold()
    personal = {value.strip().casefold() for value in (email, name) if value and value.strip()}
    if email and "@" in email:
        personal.add(email.split("@", 1)[0].strip().casefold())
    if (len(set(folded)) < MIN_DISTINCT or folded in COMMON or folded.strip() in personal
            or any(len(p) >= 4 and folded.startswith(p) and len(folded) - len(p) < 6 for p in personal)):
        return [Problem("PASSWORD_TOO_WEAK",
                        "The password is too easy to guess; a few unrelated words make a strong one.", field)]
    return []
