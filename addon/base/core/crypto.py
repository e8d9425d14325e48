"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package.

The keys come from IRESERVE_SECRET_KEY, else from the key file (IRESERVE_SECRET_KEY_FILE,
default var/secret.key), which is generated with mode 0600 the first time it is needed,
so the embedded demo works without any set-up.

Keys rotate: the variable may hold several keys separated by commas, the file one key per line,
newest first. Every key decrypts; the newest encrypts. ``ireserve secrets rotate`` then
re-encrypts every stored secret with the newest key, after which the older ones can go.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .settings import Settings, SettingsError


class SecretKeyMismatch(RuntimeError):
    """Stored secrets cannot be decrypted with the configured key."""


_GENERATE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
_MISMATCH = ("a stored secret cannot be decrypted with any configured key (IRESERVE_SECRET_KEY or the key file "
             "was changed or lost); restore the key (an old key may stay listed after the new one) or re-enter "
             "the secrets")


def parse_keys(text: str | bytes) -> list[bytes]:
    """The keys in a setting or key file, newest first: separated by commas or new lines; blank
    lines and lines starting with # are skipped."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    keys = []
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        keys.extend(part.strip().encode() for part in line.split(",") if part.strip())
    return keys


class SecretBox:
    """Encrypts with the newest key, decrypts with any of them."""

    def __init__(self, keys: bytes | Sequence[bytes], source: str = "IRESERVE_SECRET_KEY") -> None:
        keys = [keys] if isinstance(keys, bytes) else list(keys)
        if not keys:
            raise SettingsError(f"{source} holds no key: generate one with {_GENERATE}")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                which = f"key {position} of {len(keys)} in {source}" if len(keys) > 1 else source
                raise SettingsError(f"{which} is not a valid key: generate one with {_GENERATE}") from None
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)
        self.key_count = len(fernets)

    def __repr__(self) -> str:
        return f"SecretBox(<{self.key_count} key(s) hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        if settings.secret_key and settings.secret_key.strip():
            # Stripped: a key pasted or read from a file often comes with a trailing newline.
            return cls(parse_keys(settings.secret_key), source="IRESERVE_SECRET_KEY")
        path = settings.secret_key_file or settings.var_dir / "secret.key"
        return cls(parse_keys(_key_from_file(path)), source=f"The key file {path} (IRESERVE_SECRET_KEY_FILE)")

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretKeyMismatch(_MISMATCH) from None

    def uses_newest_key(self, token: str) -> bool:
        try:
            self._newest.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same secret, encrypted afresh with the newest key; SecretKeyMismatch when no key opens it."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretKeyMismatch(_MISMATCH) from None


def _key_from_file(path: Path) -> bytes:
    """The key file's content (one key per line, newest first), made with one new key when missing."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Written to a private temporary file (mode 0600 from the start: never readable by others,
    # not even briefly), then linked into place: a second process starting at the same moment
    # either wins the link or reads the complete key of the one that did — never a half-written
    # file, never a second key.
    fd, temporary = tempfile.mkstemp(prefix=".secret-key-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_bytes().strip()
    finally:
        os.unlink(temporary)
    return key


def secret_box(host) -> SecretBox:
    """The process's SecretBox, created once."""
    return host.service(SecretBox, lambda: SecretBox.from_settings(host.settings))
