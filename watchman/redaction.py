"""Secrets never reach a log line: tokens, keys and cookies are replaced by ``[redacted]``.

Two nets, because a secret can hide anywhere in text:

- **Known secrets.** Every credential the gateway is given (and every token found in a
  URL's query it sends) is registered with ``register_secret``; any occurrence of that
  exact text is redacted, whichever header or message carries it, including a token a
  server echoes back in a response header under a harmless-looking name.
- **Shapes of secrets.** ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``Set-Cookie`` and any header whose name holds ``token``, ``key``, ``secret``, ``auth``,
  ``session`` or ``password`` (as ``Name: value``, ``'name': 'value'`` or httpcore's
  ``(b'Name', b'value')`` at DEBUG); ``Bearer``/``Basic``/``Token`` credentials; query
  parameters such as ``token=``, ``api_key=``, ``key=``, ``access_token=``, ``sig=``;
  Hugging Face tokens (``hf_…``).

``install()`` puts the redaction into the log record factory, so every record of every
logger (ours, httpx, httpcore, apscheduler) is redacted when it is made, before any
handler or formatter sees it: terminal, JSON lines, files, and pytest's log capture alike.
Exception text attached to a record (``exc_info``) is formatted and redacted then too.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "[redacted]"

# Query parameter names that carry a secret (compared lower-case).
SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "auth_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-credential",
        "session",
        "sessionid",
    }
)

# Any header name hinting at a secret (in httpcore's header lists, names are headers).
_HEADER_HINT = (
    r"(?:authorization|proxy-authorization|cookie|set-cookie"
    r"|[\w-]*(?:token|key|secret|auth|session|password|passwd)[\w-]*)"
)
# In free text "key:" is prose as often as a header: only names that are plainly a
# credential's (the known ones, hyphenated header names, or api_key-like words).
_FIELD_HINT = (
    r"(?:authorization|proxy-authorization|cookie|set-cookie"
    r"|[a-z0-9]+(?:-[a-z0-9]+)*-(?:token|key|secret|auth|session|password)(?:-[a-z0-9]+)*"
    r"|x-[a-z0-9-]*(?:token|key|secret|auth|session|password)[a-z0-9-]*"
    r"|api_?key|access_token|auth_token|refresh_token|client_secret|password|passwd|token)"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # httpcore DEBUG header lists: (b'Authorization', b'Bearer x')
    (
        re.compile(r"""(?i)(\(b?(['"])""" + _HEADER_HINT + r"""\2,\s*b?(['"]))(?:\\.|(?!\3).)*"""),
        r"\1" + REDACTED,
    ),
    # dict reprs: 'authorization': 'Bearer x'
    (
        re.compile(r"""(?i)((['"])""" + _FIELD_HINT + r"""\2\s*:\s*b?(['"]))(?:\\.|(?!\3).)*"""),
        r"\1" + REDACTED,
    ),
    # header lines: Authorization: Bearer x   /   Cookie: a=b; c=d
    (
        re.compile(r"(?im)(^|[\s,;{])(" + _FIELD_HINT + r")(\s*:\s*)[^\r\n,}]*"),
        r"\1\2\3" + REDACTED,
    ),
    # bare credentials: Bearer x, Basic x
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}"), r"\1\2" + REDACTED),
    # "token x" only when x looks like one (a digit in 8 or more token characters)
    (
        re.compile(r"(?i)\b(token)(\s+)(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}"),
        r"\1\2" + REDACTED,
    ),
    # Hugging Face user tokens
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), REDACTED),
    # query parameters: ?token=x&key=y
    (
        re.compile(
            r"(?i)([?&;](?:"
            + "|".join(re.escape(name) for name in sorted(SECRET_PARAMS, key=len, reverse=True))
            + r")=)[^&#\s'\"<>]*"
        ),
        r"\1" + REDACTED,
    ),
)

# Shorter than this, a "secret" would redact ordinary words: such values are not registered.
_MIN_SECRET_LENGTH = 6

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Redact every later occurrence of ``value`` (and of its part after ``Bearer ``)."""
    global _secret_pattern
    if not value:
        return
    parts = {value.strip()}
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.lower() in {"bearer", "basic", "token"}:
        parts.add(rest.strip())
    fresh = {part for part in parts if len(part) >= _MIN_SECRET_LENGTH} - _secrets
    if not fresh:
        return
    with _secrets_lock:
        _secrets.update(fresh)
        # Longest first, so a token inside a longer registered value is not half-redacted.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(secret) for secret in ordered))


def register_url_secrets(url: str) -> None:
    """Register the values of the secret query parameters of ``url`` (``token=…``)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return
    for name, value in parse_qsl(query, keep_blank_values=False):
        if name.lower() in SECRET_PARAMS:
            register_secret(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and every secret-shaped value redacted."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, replacement in _PATTERNS:
        text = shape.sub(replacement, text)
    return text


def redact_url(url: object) -> str:
    """Return ``url`` as text with secret query values and user:password redacted."""
    text = redact(str(url))
    return re.sub(r"(://)[^/@\s]+@", r"\1" + REDACTED + "@", text)


_installed_lock = threading.Lock()
_installed = False


def install() -> None:
    """Redact every log record when it is made (idempotent; see the module docstring)."""
    global _installed
    with _installed_lock:
        if _installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(redacting_factory)
        _installed = True


def redact_record(record: logging.LogRecord) -> None:
    """Replace the message of ``record`` by its redacted text, in place.

    The message is formatted now (``msg % args``); a record whose arguments do not fit
    its format keeps its raw parts, redacted, rather than failing later in a handler.
    """
    try:
        message = record.getMessage()
    except Exception:  # last resort: a log call must never raise (logging defers this too)
        message = f"{_safe_text(record.msg)} (unformattable arguments)"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        # Formatted once here, so handlers show the redacted text (Formatter uses exc_text).
        try:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        except Exception:  # last resort, as above
            formatted = _safe_text(record.exc_info[1])
        record.exc_text = redact(formatted)
        error = record.exc_info[1]
        # Formatters that re-format exc_info themselves see a redacted exception message.
        record.exc_info = (record.exc_info[0], _redacted_exception(error), record.exc_info[2])


def _safe_text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # last resort: an object whose __str__ fails still logs
        return f"<{type(value).__name__}>"


def _redacted_exception(error: BaseException) -> BaseException:
    text = _safe_text(error)
    cleaned = redact(text)
    if cleaned == text:
        return error
    with contextlib.suppress(AttributeError, TypeError):
        error.args = (cleaned,)
    return error


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record it passes (for handlers set up by hand)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True
