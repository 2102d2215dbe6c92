"""Presence aggregation over a contact's resources."""

from __future__ import annotations

from chinwag.core.models import Presence, Show
from chinwag.core.roster import aggregate


def test_highest_priority_wins_then_most_available() -> None:
    phone = Presence(Show.AWAY, "on the go", priority=0, resource="phone")
    desk = Presence(Show.DND, "focus", priority=5, resource="desk")
    laptop = Presence(Show.CHAT, "", priority=5, resource="laptop")
    assert aggregate([phone, desk]) == desk
    assert aggregate([phone, desk, laptop]) == laptop


def test_no_available_resource_is_offline() -> None:
    assert not aggregate([]).available
    assert not aggregate([Presence(Show.OFFLINE, resource="x")]).available
