"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package.

The key comes from IRESERVE_SECRET_KEY, else from the key file (IRESERVE_SECRET_KEY_FILE,
default var/secret.key), which is generated with mode 0600 the first time it is needed,
so the embedded demo works without any set-up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .settings import Settings, SettingsError


class SecretKeyMismatch(RuntimeError):
    """Stored secrets cannot be decrypted with the configured key."""


class SecretBox:
    def __init__(self, key: bytes, source: str = "IRESERVE_SECRET_KEY") -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SettingsError(
                f"{source} is not a valid key: generate one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        if settings.secret_key and settings.secret_key.strip():
            # Stripped: a key pasted or read from a file often comes with a trailing newline.
            return cls(settings.secret_key.strip().encode())
        path = settings.secret_key_file or settings.var_dir / "secret.key"
        return cls(_key_from_file(path), source=f"The key file {path} (IRESERVE_SECRET_KEY_FILE)")

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyMismatch(
                "a stored secret cannot be decrypted with the configured key "
                "(IRESERVE_SECRET_KEY or the key file was changed or lost); restore the key or re-enter the secrets"
            ) from None


def _key_from_file(path: Path) -> bytes:
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
