"""What goes into Chinwag's log: a private log file (mode 0600, also after a rotation)
and a filter that masks credentials in every logged stanza.

slixmpp logs each stanza it sends and receives at DEBUG (``SEND: ...``/``RECV: ...``),
so ``--debug`` would put passwords in the log: the in-band registration's
``<password>``, the SASL exchange (``<auth>`` of PLAIN is the base64 of the password;
SCRAM's proofs and the server's salt let one guess it offline), the old jabber:iq:auth
``<password>``/``<digest>``, and password fields of data forms. :class:`SecretMask`
replaces their text with ``***`` and keeps the rest of the stanza, so the log still
shows what happened."""

from __future__ import annotations

import io
import logging
import os
import re
from logging.handlers import RotatingFileHandler

MASK = "***"

#: Elements whose whole text (or content) is a credential: jabber:iq:register and
#: jabber:iq:auth (<password>, <digest>), RFC 6120 SASL (<auth>, <challenge>,
#: <response>, <success>) and XEP-0388 SASL2 (<initial-response>, <additional-data>).
_SECRET_ELEMENTS = (
    "password",
    "digest",
    "auth",
    "challenge",
    "response",
    "success",
    "initial-response",
    "additional-data",
)
_PREFIX = r"(?:[\w.-]+:)?"  # a namespace prefix, as a server may send one
_SECRET_ELEMENT = re.compile(
    rf"(<{_PREFIX}(?P<name>{'|'.join(map(re.escape, _SECRET_ELEMENTS))})(?=[\s/>])[^>]*(?<!/)>)"
    rf"(?P<secret>.*?)"
    rf"(</{_PREFIX}(?P=name)\s*>)",
    re.DOTALL,
)
#: A data-form field (XEP-0004) holding a password: var names one, or type says so.
_FIELD = re.compile(
    rf"(<{_PREFIX}field(?=[\s/>])[^>]*(?<!/)>)(.*?)(</{_PREFIX}field\s*>)", re.DOTALL
)
_SECRET_FIELD = re.compile(
    r"""\b(?:var\s*=\s*["'][^"']*(?:password|passwd|secret|token)[^"']*["']"""
    r"""|type\s*=\s*["']text-private["'])""",
    re.IGNORECASE,
)
_VALUE = re.compile(
    rf"(<{_PREFIX}value(?=[\s>])[^>]*(?<!/)>)(.*?)(</{_PREFIX}value\s*>)", re.DOTALL
)
#: A cheap first look: only text with one of these can need masking.
_MAYBE = re.compile(
    r"<(?:[\w.-]+:)?(?:" + "|".join(map(re.escape, _SECRET_ELEMENTS)) + r"|field)\b"
)


def mask_secrets(text: str) -> str:
    """``text`` with every credential in XML it contains replaced by ``***``."""
    if "<" not in text or not _MAYBE.search(text):
        return text

    def element(m: re.Match[str]) -> str:
        if not m["secret"]:
            return m[0]
        return f"{m[1]}{MASK}{m[4]}"

    def field(m: re.Match[str]) -> str:
        if not _SECRET_FIELD.search(m[1]):
            return m[0]
        inner = _VALUE.sub(lambda v: f"{v[1]}{MASK}{v[3]}" if v[2] else v[0], m[2])
        return f"{m[1]}{inner}{m[3]}"

    return _FIELD.sub(field, _SECRET_ELEMENT.sub(element, text))


class SecretMask(logging.Filter):
    """Masks credentials in a record's message (after ``%``-formatting with its args)
    and in its traceback text. Install it on every handler: a handler's filters see the
    records of every logger, slixmpp's included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log its parts rather than an error
            message = f"{record.msg!s} (arguments: {record.args!r})"
        # Keep the formatted (and masked) text: the formatter need not format it again.
        record.msg = mask_secrets(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # What Formatter.format would do; it reuses exc_text once set.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:  # an older, readable log
            os.fchmod(fd, 0o600)
    except OSError:
        pass
    return fd


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log file only the user can read: created 0600, also after each
    rotation, and tightened when an older one was readable by others."""

    def _open(self) -> io.TextIOWrapper:
        open_func = self._builtin_open  # type: ignore[attr-defined]
        stream: io.TextIOWrapper = open_func(
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=_private_opener,
        )
        return stream
