"""The "Spelling" section of the Preferences: the compose box's dictionary, from the
ones installed, "Automatic" (the system's language) or "Off"; a note says why when
there is no spell checking at all (no enchant, no dictionary)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from chinwag.system import preferences as p
from chinwag.system.preferences import Preferences
from chinwag.ui.spell_check import AUTO, OFF, language_name, service


def spelling_box(parent: QWidget, preferences: Preferences) -> tuple[QGroupBox, QComboBox]:
    """The section and its combo box (data: the preference's value)."""
    spell = service()
    box = QGroupBox("Spelling", parent)
    form = QFormLayout(box)
    combo = QComboBox(parent)
    combo.setObjectName("spellLanguage")
    combo.setAccessibleName("Spell checking language")
    combo.addItem("Off", OFF)
    automatic = spell.resolve(AUTO)
    combo.addItem(f"Automatic ({language_name(automatic)})" if automatic else "Automatic", AUTO)
    for tag in spell.languages():
        combo.addItem(f"{language_name(tag)} \u2014 {tag}", tag)
    stored = preferences.get(p.SPELL_LANGUAGE)
    if combo.findData(stored) < 0:
        combo.addItem(f"{stored} (not installed)", stored)
    label = QLabel("Check &spelling in:", parent)
    label.setBuddy(combo)
    form.addRow(label, combo)
    problem = spell.problem
    if problem is not None:
        combo.setEnabled(False)
        note = QLabel(problem, parent)
        note.setObjectName("spellProblem")
        note.setWordWrap(True)
        form.addRow(note)
    return box, combo


__all__ = ["spelling_box"]
