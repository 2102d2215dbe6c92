"""The XEP-0174 stream parser (chinwag.xmpp.link_local_stream): stanzas split anywhere
between reads, and what an untrusted peer may not send."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree as ET

import pytest

from chinwag.xmpp.link_local_stream import (
    MAX_DEPTH,
    MAX_STANZA_BYTES,
    PeerStream,
    StreamParser,
    StreamViolation,
    stream_header,
)


class Seen:
    def __init__(self) -> None:
        self.header: dict[str, str] = {}
        self.stanzas: list[ET.Element] = []
        self.ended = False
        self.parser = StreamParser(self._header, self.stanzas.append, self._end)

    def _header(self, attrs: dict[str, str]) -> None:
        self.header = attrs

    def _end(self) -> None:
        self.ended = True


def test_stanzas_split_anywhere_come_out_whole() -> None:
    seen = Seen()
    data = (
        stream_header("bob-1@host", "alice-2@host")
        + b"<message type='chat' id='a'><body>one &amp; two</body></message> "
        + b"<message type='chat'><body>\xc3\xa9t\xc3\xa9</body><x xmlns='urn:x'>t</x>tail</message>"
        + b"</stream:stream>"
    )
    for i in range(len(data)):  # one byte at a time
        seen.parser.feed(data[i : i + 1])
    assert seen.header["from"] == "bob-1@host"
    assert [el.tag for el in seen.stanzas] == ["{jabber:client}message"] * 2
    assert seen.stanzas[0].findtext("{jabber:client}body") == "one & two"
    assert seen.stanzas[1].findtext("{jabber:client}body") == "été"
    assert seen.stanzas[1][1].tail == "tail"
    assert seen.ended


@pytest.mark.parametrize(
    ("data", "condition"),
    [
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'a'>]>", "restricted-xml"),
        (stream_header("a@b", "c@d") + b"<!-- hi -->", "restricted-xml"),
        (stream_header("a@b", "c@d") + b"<?pi x?>", "restricted-xml"),
        (b"<html>", "invalid-namespace"),
        (stream_header("a@b", "c@d") + b"<message><a></b>", "not-well-formed"),
        (stream_header("a@b", "c@d") + b"<x>" * (MAX_DEPTH + 1), "policy-violation"),
        (
            b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' a='" + b"x" * 8000,
            "policy-violation",
        ),
    ],
)
def test_what_a_peer_may_not_send(data: bytes, condition: str) -> None:
    seen = Seen()
    with pytest.raises(StreamViolation) as caught:
        seen.parser.feed(data)
    assert caught.value.condition == condition


def test_a_stanza_over_the_cap_is_refused_before_it_ends() -> None:
    seen = Seen()
    seen.parser.feed(stream_header("a@b", "c@d") + b"<message><body>")

    def flood() -> None:
        for _ in range(MAX_STANZA_BYTES // 65536 + 2):
            seen.parser.feed(b"x" * 65536)

    with pytest.raises(StreamViolation) as caught:
        flood()
    assert caught.value.condition == "policy-violation"
    assert not seen.stanzas


def test_many_stanzas_in_one_read_are_fine() -> None:
    seen = Seen()
    one = b"<message><body>" + b"y" * 1000 + b"</body></message>"
    seen.parser.feed(stream_header("a@b", "c@d") + one * (2 * MAX_STANZA_BYTES // len(one)))
    assert len(seen.stanzas) == 2 * MAX_STANZA_BYTES // len(one)


@pytest.mark.parametrize("opening", [b"<message to='", b"<", b"<message><body><x a='"])
def test_a_start_tag_that_never_ends_is_refused_at_the_cap(opening: bytes) -> None:
    # expat holds an unfinished start tag (a name or an attribute value that never ends)
    # whole, and parses it again with every read: uncounted, a peer made us hold 10 MB
    # and each 64 KB read then blocked the loop for a quarter of a second.
    seen = Seen()
    seen.parser.feed(stream_header("a@b", "c@d") + b"  " + opening)

    def flood() -> None:
        for _ in range(MAX_STANZA_BYTES // 65536 + 2):
            seen.parser.feed(b"x" * 65536)

    with pytest.raises(StreamViolation) as caught:
        flood()
    assert caught.value.condition == "policy-violation"


def test_whitespace_between_stanzas_is_never_counted_against_the_cap() -> None:
    seen = Seen()
    seen.parser.feed(stream_header("a@b", "c@d"))
    for _ in range(2 * MAX_STANZA_BYTES // 65536):
        seen.parser.feed(b" " * 65536)  # (keepalives)
    seen.parser.feed(b"<message><body>hi</body></message>")
    assert [el.findtext("{jabber:client}body") for el in seen.stanzas] == ["hi"]


async def test_a_peer_that_never_reads_cannot_make_us_buffer_without_end() -> None:
    # A peer sending requests (each answered) or asking receipts while reading nothing
    # made the transport's write buffer grow for as long as it kept sending.
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[PeerStream] = loop.create_future()
    closed = asyncio.Event()

    def header(stream: PeerStream, attrs: dict[str, str]) -> None:
        stream.accept("bob@host")
        accepted.set_result(stream)

    server = await loop.create_server(
        lambda: PeerStream("alice@host", header, lambda s, e: None, lambda s: closed.set()),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(stream_header("bob@host", "alice@host"))  # then never reads
        stream = await accepted
        stanza = b"<message><body>" + b"r" * 60000 + b"</body></message>"
        written = 0
        while stream.write(stanza) and written < 64 * MAX_STANZA_BYTES:
            written += len(stanza)
        assert written < 64 * MAX_STANZA_BYTES
        assert not stream.open
        await closed.wait()
    finally:
        writer.close()
        server.close()


def test_advertised_text_loses_control_and_direction_characters() -> None:
    """A peer's TXT text is shown as typed, minus what can hide or reorder it: controls,
    bidi overrides and isolates, and the direction marks (LRM, RLM, ALM)."""
    from chinwag.xmpp.link_local import clean_text

    sneaky = "ev\u202eil\u2066x\u2069\u200e\u200f\u061cname\x07"
    assert clean_text(sneaky, 64) == "ev il x    name"
    assert clean_text("👨\u200d👩\u200d👧 family", 64) == "👨\u200d👩\u200d👧 family"  # (ZWJ kept)
    assert clean_text(b"\xff\xfeok", 64) == "\ufffd\ufffdok"
    assert clean_text("x" * 500, 64) == "x" * 64
