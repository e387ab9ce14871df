"""The service's one digest: SHA-256 in hex of a secret or a key, the only form in which
tokens, session secrets and throttle keys are stored. A secret of 256 random bits needs
no key stretching (passwords, which people choose, have scrypt: serving.signin)."""

from __future__ import annotations

import hashlib


def digest(*parts: str) -> str:
    """SHA-256 (hex) of ``parts`` joined by the unit separator, UTF-8 encoded (anything a
    client can send, lone surrogates included, is replaced rather than refused)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
