"""packaging/screenshots.py takes the README's screenshots: run as a process into a
temporary folder (its own Xvfb and throwaway Prosody), it writes each image at the size
the metainfo names, none of them one flat colour."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "screenshots.py"
#: name -> (width, height): what screenshots.py is asked to write
EXPECTED = {
    "main-window": (340, 560),
    "conversation": (520, 560),
    "accounts": (560, 320),
    "preferences": (560, 775),
    "preferences-gateways": (560, 775),
}


def colours(image: QImage, step: int = 4) -> int:
    """How many different colours a grid of the image's pixels has."""
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


@pytest.mark.slow
@pytest.mark.prosody
def test_screenshots_script_writes_every_image(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian: xvfb), screenshots.py needs it")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "gui"), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(EXPECTED)
    for name, (width, height) in EXPECTED.items():
        image = QImage(str(tmp_path / f"{name}.png"))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (width, height), name
        # text, icons and frames: many colours, not an empty or unpainted window
        assert colours(image) > 20, f"{name}.png is (nearly) one flat colour"


def test_the_committed_screenshots_are_the_sizes_the_script_takes() -> None:
    for name, (width, height) in EXPECTED.items():
        image = QImage(str(REPO / "resources" / "screenshots" / f"{name}.png"))
        assert (image.width(), image.height()) == (width, height), name
