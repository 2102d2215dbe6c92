"""The composition root: one QApplication, one qasync event loop that is the Qt loop, every
service built and wired here in one readable function, and an ordered shutdown."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from logging.handlers import RotatingFileHandler

from chinwag import __version__
from chinwag.system.paths import Paths

log = logging.getLogger("chinwag")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chinwag", description="Chinwag, a scriptable desktop instant messenger for XMPP."
    )
    parser.add_argument(
        "--background", action="store_true", help="start in the tray with no window shown"
    )
    parser.add_argument("--debug", action="store_true", help="log everything, also to stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def setup_logging(paths: Paths, debug: bool) -> None:
    handler = RotatingFileHandler(
        paths.state / "chinwag.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.addHandler(console)
    logging.getLogger("slixmpp").setLevel(logging.DEBUG if debug else logging.WARNING)


async def run(args: argparse.Namespace, paths: Paths) -> int:
    """Build everything, run until quit, shut down in order."""
    from PySide6.QtWidgets import QApplication

    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.main_window import MainWindow
    from chinwag.wiring import build_core

    app = QApplication.instance()
    assert app is not None
    core = build_core(paths)
    bridge = EventBridge(core.bus)
    window = MainWindow(core, bridge)
    if not args.background:
        window.show()
    core.auto_sign_in()

    quit_requested = asyncio.Event()
    app.aboutToQuit.connect(quit_requested.set)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_requested.set)
    app.lastWindowClosed.connect(quit_requested.set)
    await quit_requested.wait()

    log.info("shutting down")
    window.close()
    bridge.close()
    await core.shutdown()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = Paths.default().ensure()
    setup_logging(paths, args.debug)

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Chinwag")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("im.chinwag.Chinwag")
    app.setQuitOnLastWindowClosed(False)
    return int(qasync.run(run(args, paths)))


if __name__ == "__main__":
    sys.exit(main())
