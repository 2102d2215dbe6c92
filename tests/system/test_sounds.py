"""Event sounds: the player found for a sound-theme event, and playing never blocks nor
fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from chinwag.system import sounds


def test_canberra_plays_the_event_by_its_id() -> None:
    def find(name: str) -> str | None:
        return f"/usr/bin/{name}"

    assert sounds.command_for(sounds.MESSAGE, find) == [
        "/usr/bin/canberra-gtk-play",
        "--id",
        "message-new-instant",
        "--description",
        "Chinwag",
    ]


def test_without_canberra_paplay_plays_the_theme_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "service-login.oga").write_bytes(b"")
    monkeypatch.setattr(sounds, "_THEME_DIRS", (tmp_path / "none", tmp_path))

    def find(name: str) -> str | None:
        return "/usr/bin/paplay" if name == "paplay" else None

    assert sounds.command_for(sounds.CONTACT_ONLINE, find) == [
        "/usr/bin/paplay",
        str(tmp_path / "service-login.oga"),
    ]
    assert sounds.command_for("no-such-event", find) is None
    assert sounds.command_for(sounds.MESSAGE, lambda _name: None) is None


def test_playing_starts_the_player_and_reaps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    player = sounds.SoundPlayer()
    monkeypatch.setattr(sounds, "command_for", lambda event: ["true", event])
    assert player.play(sounds.MESSAGE)
    first = player._running[0]
    first.wait()
    assert player.play(sounds.MESSAGE)
    assert first not in player._running  # the finished one was reaped
    player._running[0].wait()
    monkeypatch.setattr(sounds, "command_for", lambda event: ["/no/such/player"])
    assert not player.play(sounds.MESSAGE)
    monkeypatch.setattr(sounds, "command_for", lambda event: None)
    assert not player.play(sounds.MESSAGE)
