"""The log: credentials in stanzas masked (however the record is formatted), the file
private also after a rotation. The end-to-end check against a real server is in
``tests/e2e/test_app_files.py``."""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chinwag.system.logs import MASK, PrivateRotatingFileHandler, SecretMask, mask_secrets

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
PLAIN = base64.b64encode(b"\0alice\0hunter2").decode()


@pytest.mark.parametrize(
    ("stanza", "secret"),
    [
        (
            "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>alice"
            "</username><password>hunter2</password></query></iq>",
            "hunter2",
        ),
        (f'<auth xmlns="{SASL}" mechanism="PLAIN">{PLAIN}</auth>', PLAIN),
        (f'<response xmlns="{SASL}">Yz1iaXdzLHI9Zm9vLHA9cHJvb2Y=</response>', "cHJvb2Y="),
        (f'<challenge xmlns="{SASL}">cj1mb28sc2FsdD1RU1hDUixpPTQwOTY=</challenge>', "c2FsdD"),
        (f'<success xmlns="{SASL}">dj1zZXJ2ZXJzaWduYXR1cmU=</success>', "dj1zZXJ2"),
        (
            "<iq type='set'><query xmlns='jabber:iq:auth'><username>alice</username>"
            "<digest>48fc78be9ec8f86d8ce1c39c320c97c21d62334d</digest><resource>r</resource>"
            "</query></iq>",
            "48fc78be9ec8f86d8ce1c39c320c97c21d62334d",
        ),
        (
            "<iq type='set'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' "
            "type='submit'><field var='username'><value>alice</value></field>"
            "<field type='text-private' var='password'><value>hunter2</value></field>"
            "</x></query></iq>",
            "hunter2",
        ),
        (
            '<authenticate xmlns="urn:xmpp:sasl:2" mechanism="PLAIN">'
            f"<initial-response>{PLAIN}</initial-response></authenticate>",
            PLAIN,
        ),
        (f"<sasl:auth xmlns:sasl='{SASL}' mechanism='PLAIN'>{PLAIN}</sasl:auth>", PLAIN),
    ],
    ids=["register", "plain", "response", "challenge", "success", "digest", "form", "sasl2", "ns"],
)
def test_credentials_are_masked_and_the_stanza_kept(stanza: str, secret: str) -> None:
    masked = mask_secrets(f"SEND: {stanza}")
    assert secret not in masked
    assert MASK in masked
    assert masked.startswith("SEND: <")
    assert masked.count("<") == stanza.count("<")  # every element still there


def test_text_without_credentials_is_untouched() -> None:
    for text in (
        "RECV: <message><body>my password is &lt;password&gt;x&lt;/password&gt;</body></message>",
        '<field var="muc#roomconfig_roomname"><value>Lobby</value></field>',
        f'<auth xmlns="{SASL}" mechanism="EXTERNAL"/>',
        "no xml at all",
    ):
        assert mask_secrets(text) == text


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path]]:
    """A logger whose handler has the filter, the way the app installs it."""
    path = tmp_path / "chinwag.log"
    handler = PrivateRotatingFileHandler(path, encoding="utf-8")
    handler.addFilter(SecretMask())
    logger = logging.getLogger("test.logs.slixmpp")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, path
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_the_filter_masks_formatted_records(logged: tuple[logging.Logger, Path]) -> None:
    logger, path = logged

    class Stanza:  # slixmpp passes stanza objects: %s calls str() on them
        def __str__(self) -> str:
            return f'<auth xmlns="{SASL}" mechanism="PLAIN">{PLAIN}</auth>'

    logger.debug("RECV: %s", Stanza())
    logger.debug("SEND: %(data)s", {"data": "<password>hunter2</password>"})
    logger.debug("<password>hunter2</password> as the message itself")
    try:
        raise ValueError("bad reply <password>hunter2</password>")
    except ValueError:
        logger.exception("handling %s failed", "<iq/>")
    text = path.read_text()
    assert "hunter2" not in text
    assert PLAIN not in text
    assert f'mechanism="PLAIN">{MASK}</auth>' in text
    # two messages, and the traceback's source line and exception message
    assert text.count(f"<password>{MASK}</password>") == 4
    assert "ValueError: bad reply" in text


def test_the_log_file_is_private_also_after_a_rotation(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "chinwag.log"
    path.write_text("an old log\n")
    path.chmod(0o644)
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test.logs.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(20):
            logger.warning("line %d %s", n, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["chinwag.log", "chinwag.log.1", "chinwag.log.2"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_bad_format_string_is_logged_masked(logged: tuple[logging.Logger, Path]) -> None:
    logger, path = logged
    logger.debug("SEND: %d", "<password>hunter2</password>")
    text = path.read_text()
    assert "hunter2" not in text
    assert f"<password>{MASK}</password>" in text
