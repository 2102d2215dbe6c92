"""XEP-0066 links on message stanzas: written with the URL as the body, read only when
they are an http(s) URL of a sane length (stanza in, message out)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import Direction, Message
from chinwag.xmpp import oob


def message(body: str = "") -> Message:
    return Message(
        account="me@localhost",
        peer="bob@localhost",
        direction=Direction.INCOMING,
        body=body,
        timestamp=1.0,
    )


def stanza_with(url: str, body: str = "") -> MessageStanza:
    stanza = MessageStanza()
    stanza["body"] = body
    x = stanza.xml.makeelement(oob.TAG, {})
    el = x.makeelement(f"{{{oob.NS}}}url", {})
    el.text = url
    x.append(el)
    stanza.xml.append(x)
    return stanza


def test_a_link_is_written_and_read_back() -> None:
    url = "https://upload.localhost/f/cat.png"
    out = MessageStanza()
    oob.write(out, message(url))
    assert not oob.present(out)  # no link, no element
    oob.write(out, replace(message(url), oob_url=url))
    assert oob.present(out)
    read = oob.read(stanza_with(url, url), message(url))
    assert (read.oob_url, read.body) == (url, url)


def test_a_link_alone_gets_its_url_as_the_text() -> None:
    url = "https://h/x.pdf"
    assert oob.read(stanza_with(url), message("")).body == url


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "https://h/" + "x" * 5000, "https://h/a b", ""],
)
def test_bad_links_are_dropped_and_the_text_kept(url: str) -> None:
    read = oob.read(stanza_with(url, "hello"), message("hello"))
    assert (read.oob_url, read.body) == ("", "hello")
