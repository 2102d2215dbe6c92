"""Address parsing: what is accepted, how it is normalised, and what is refused."""

from __future__ import annotations

import pytest

from chinwag.core.errors import InvalidAddress
from chinwag.core.jid import Jid, bare, is_valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice@example.org", "alice@example.org"),
        ("Alice@Example.ORG", "alice@example.org"),
        ("  bob@example.org  ", "bob@example.org"),
        ("bob@example.org/Phone", "bob@example.org"),
        ("example.org", "example.org"),
        ("müller@bücher.de", "müller@bücher.de"),
        ("alice@example.org.", "alice@example.org"),
    ],
)
def test_valid_addresses(text: str, expected: str) -> None:
    assert bare(text) == expected


def test_resource_is_kept_with_case() -> None:
    jid = Jid.parse("alice@example.org/My Laptop")
    assert (jid.local, jid.domain, jid.resource) == ("alice", "example.org", "My Laptop")
    assert jid.full == "alice@example.org/My Laptop"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "@example.org",
        "alice@",
        "alice@example.org/",
        "al ice@example.org",
        "al<ice@example.org",
        "alice@exa mple.org",
        "alice@example..org",
        "a" * 1100 + "@example.org",
        "alice@example.org/\x01",
        "alice\x00@example.org",
    ],
)
def test_malformed_addresses_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        Jid.parse(text)
    assert caught.value.message
    assert not is_valid(text)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidAddress):
        Jid.parse(42)  # type: ignore[arg-type]
