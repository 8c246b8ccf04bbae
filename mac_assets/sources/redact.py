"""Secrets never leave the client: the one registry of credentials in use and the one function that removes them.

A key can come back in any text a provider sends: an error page or a captive portal that echoes the
request URL (FRED's key travels in the query), a body that echoes headers (Glassnode's key travels in
`X-Api-Key`), a proxy's message. So every credential a client is built with, or sends, is registered
here, and every text born from a request is passed through `redact` before it becomes an exception,
a log line, metadata or a printed line: `SourceError` redacts its own message, and `snippet` (the one
way a body is quoted) redacts *before* it cuts, so a cut can never leave a partial key behind.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values are not treated as secrets: masking every "abc" would garble messages without
# protecting anything a real key needs protecting from.
MIN_SECRET_LENGTH = 4
# Names of query parameters, headers and fields whose values are credentials.
CREDENTIAL_WORDS = ("key", "token", "secret", "password", "authorization")

_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str | None) -> None:
    """Remember a credential (and the forms a URL gives it) so that `redact` removes it from any text."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _known.update({secret, quote(secret, safe=""), quote_plus(secret)})


def credentials(fields: Mapping[str, Any] | None) -> list[str]:
    """The values of `fields` whose names say they are credentials (api_key, X-Api-Key, token …)."""
    return [str(v) for k, v in (fields or {}).items()
            if v and any(word in str(k).lower() for word in CREDENTIAL_WORDS)]


def register_credentials(fields: Mapping[str, Any] | None) -> None:
    for value in credentials(fields):
        register(value)


def redact(text: str) -> str:
    """`text` with every registered credential replaced by ***, longest first (one key may contain another)."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def snippet(text: str, limit: int) -> str:
    """The start of a provider's text for a message: whitespace folded, redacted, then cut to `limit`."""
    folded = redact(" ".join(text.split()))
    return folded[:limit] if folded else "(empty body)"
