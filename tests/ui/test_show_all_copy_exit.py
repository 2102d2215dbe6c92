"""Copying from a "Show all" window and then quitting ends the process cleanly: the mime
data the view makes (by Python, so that the copy is the message's own text) is not left
in the clipboard at exit, where it crashed the interpreter (exit status 139)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chinwag

SCRIPT = """
import sys
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from chinwag.ui.message_text_window import MessageTextWindow

app = QApplication(sys.argv)
text = "a line of a long message " * 400 + "\\nand a second paragraph"
window = MessageTextWindow("Bob", text)
window.show()
app.processEvents()
window.view.selectAll()
window.view.copy()  # Ctrl+C: Qt asks the view for the selection's mime data
app.processEvents()
print("copied", QGuiApplication.clipboard().text() == text, flush=True)
window.close()
app.processEvents()
"""


def test_quitting_after_a_copy_exits_cleanly(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = str(Path(chinwag.__file__).resolve().parent.parent)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "copied True" in result.stdout, result.stderr[-2000:]
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
