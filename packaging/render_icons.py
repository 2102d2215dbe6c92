"""Renders an SVG icon as square PNGs with Qt's QSvgRenderer (install.sh uses it when
``rsvg-convert`` is not installed; Chinwag's venv has PySide6).

    python packaging/render_icons.py ICON.svg OUT_DIR SIZE...

writes ``OUT_DIR/SIZExSIZE.png`` for each size, the picture scaled to fill the square with
its aspect ratio kept, on a transparent background. Exits 1 when the SVG cannot be read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def render(svg: Path, out_dir: Path, sizes: list[int]) -> list[Path]:
    """Render ``svg`` at each size into ``out_dir``; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not an SVG Qt can read")
    view = renderer.viewBoxF()
    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        scale = size / max(view.width(), view.height())
        width, height = view.width() * scale, view.height() * scale
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF((size - width) / 2, (size - height) / 2, width, height))
        painter.end()
        target = out_dir / f"{size}x{size}.png"
        if not image.save(str(target), "PNG"):
            raise OSError(f"{target}: could not be written")
        written.append(target)
    del app
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write(__doc__ or "")
        return 2
    try:
        render(Path(argv[0]), Path(argv[1]), [int(size) for size in argv[2:]])
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"render_icons: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
