"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package.

The key comes from IRESERVE_SECRET_KEY, else from the key file (IRESERVE_SECRET_KEY_FILE,
default var/secret.key), which is generated with mode 0600 the first time it is needed,
so the embedded demo works without any set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .settings import Settings, SettingsError


class SecretKeyMismatch(RuntimeError):
    """Stored secrets cannot be decrypted with the configured key."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SettingsError(
                "IRESERVE_SECRET_KEY is not a valid key: generate one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(_key_from_file(settings.secret_key_file or settings.var_dir / "secret.key"))

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
    # Created with 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def secret_box(host) -> SecretBox:
    """The process's SecretBox, created once."""
    box = host.services.get("base.secret_box")
    if box is None:
        box = host.services["base.secret_box"] = SecretBox.from_settings(host.settings)
    return box
