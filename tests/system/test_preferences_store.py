"""The preferences store: typed values with defaults, saved atomically and read back, a
damaged file never fatal, and listeners told of each change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chinwag.system import preferences as p
from chinwag.system.preferences import FILE_NAME, Preferences, SendKey, Theme


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    prefs = Preferences(tmp_path / FILE_NAME)
    assert prefs.problem is None
    assert prefs.get(p.NOTIFY_MESSAGES) is True
    assert prefs.get(p.CLOSE_TO_TRAY) is True
    assert prefs.get(p.START_ON_LOGIN) is False
    assert prefs.get(p.THEME) == Theme.SYSTEM
    assert prefs.get(p.FONT_SIZE) == 0
    assert not prefs.ctrl_enter_sends()
    assert not (tmp_path / FILE_NAME).exists()  # nothing written until something is set


def test_values_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / FILE_NAME
    prefs = Preferences(path)
    prefs.set(p.SEND_TYPING, False)
    prefs.set(p.THEME, str(Theme.DARK))
    prefs.set(p.FONT_SIZE, 14)
    prefs.set(p.SEND_KEY, str(SendKey.CTRL_ENTER))

    again = Preferences(path)
    assert again.get(p.SEND_TYPING) is False
    assert again.get(p.THEME) == "dark"
    assert again.get(p.FONT_SIZE) == 14
    assert again.ctrl_enter_sends()
    assert again.get(p.SEND_READ_MARKERS) is True  # never set: the default
    assert json.loads(path.read_text())["theme"] == "dark"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [f.name for f in path.parent.iterdir()] == [FILE_NAME]  # no temporary file left


def test_a_value_that_is_not_valid_is_refused(tmp_path: Path) -> None:
    prefs = Preferences(tmp_path / FILE_NAME)
    with pytest.raises(ValueError, match="theme"):
        prefs.set(p.THEME, "purple")
    with pytest.raises(ValueError, match="font_size"):
        prefs.set(p.FONT_SIZE, 3)
    with pytest.raises(ValueError, match="notify_messages"):
        prefs.set(p.NOTIFY_MESSAGES, 1)  # type: ignore[arg-type]
    assert prefs.get(p.THEME) == "system"


def test_listeners_hear_each_change_once(tmp_path: Path) -> None:
    prefs = Preferences(tmp_path / FILE_NAME)
    heard: list[str] = []
    unsubscribe = prefs.subscribe(heard.append)
    prefs.set(p.SOUNDS, False)
    prefs.set(p.SOUNDS, False)  # no change
    prefs.set(p.DENSITY, "compact")
    assert heard == ["sounds", "message_density"]
    unsubscribe()
    prefs.set(p.SOUNDS, True)
    assert heard == ["sounds", "message_density"]


def test_a_listener_that_fails_does_not_stop_the_others(tmp_path: Path) -> None:
    prefs = Preferences(tmp_path / FILE_NAME)
    heard: list[str] = []

    def broken(_key: str) -> None:
        raise RuntimeError("boom")

    prefs.subscribe(broken)
    prefs.subscribe(heard.append)
    prefs.set(p.SOUNDS, False)
    assert heard == ["sounds"]
    assert Preferences(tmp_path / FILE_NAME).get(p.SOUNDS) is False


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\udcff"])
def test_a_damaged_file_is_moved_aside_and_the_defaults_used(tmp_path: Path, text: str) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    prefs = Preferences(path)
    assert prefs.problem is not None
    assert str(path) in prefs.problem
    assert prefs.get(p.NOTIFY_MESSAGES) is True
    assert not path.exists()
    assert len(list(tmp_path.glob(f"{FILE_NAME}.broken-*"))) == 1
    prefs.set(p.SOUNDS, False)  # and it can be saved again
    assert Preferences(path).get(p.SOUNDS) is False


def test_bad_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(
        json.dumps(
            {"theme": "purple", "font_size": "big", "sounds": 0, "close_to_tray": False, "x": 1}
        )
    )
    prefs = Preferences(path)
    assert prefs.problem is None
    assert prefs.get(p.THEME) == "system"
    assert prefs.get(p.FONT_SIZE) == 0
    assert prefs.get(p.SOUNDS) is True
    assert prefs.get(p.CLOSE_TO_TRAY) is False  # the good one is kept
    prefs.set(p.THEME, "light")
    assert json.loads(path.read_text())["x"] == 1  # what it does not know is kept


def test_an_unwritable_folder_keeps_the_value_for_this_run(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        prefs = Preferences(folder / FILE_NAME)
        prefs.set(p.SOUNDS, False)
        assert prefs.get(p.SOUNDS) is False
    finally:
        folder.chmod(0o700)


def test_in_memory_preferences_write_nothing() -> None:
    prefs = Preferences()
    prefs.set(p.SOUNDS, False)
    assert prefs.get(p.SOUNDS) is False
