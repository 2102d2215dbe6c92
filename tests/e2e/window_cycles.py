"""Opens and closes conversation windows from asyncio callbacks on the qasync loop, as the
automation API will, then exits: the process must end with status 0.

PySide6 6.12.0 with Python 3.11 aborted at exit here ("Fatal Python error: bool_dealloc")
after a few hundred windows created this way; 6.11.3 does not (pyproject.toml pins it)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def cycles(root: Path, count: int) -> None:
    from chinwag.core.models import AccountConfig
    from chinwag.system.paths import Paths
    from chinwag.system.secrets import FileSecretStore
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.wiring import build_core

    paths = Paths.under(root).ensure()
    core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
    core.add_account(AccountConfig(jid="me@example.org"), "pw")
    bridge = EventBridge(core.bus)
    ctx: UiContext

    def make(account: str, peer: str) -> ConversationWindow:
        return ConversationWindow(ctx, account, peer)

    ctx = UiContext(core, bridge, ConversationWindows(make))
    for i in range(count):
        window = ctx.windows.open("me@example.org", f"peer{i % 50}@example.org")
        await asyncio.sleep(0)
        window.close()  # type: ignore[attr-defined]
        await asyncio.sleep(0)
    assert not ctx.windows.all()
    bridge.close()
    await core.shutdown()
    print(f"cycles done: {count}")


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(cycles(Path(sys.argv[1]), int(sys.argv[2])))
    del app


if __name__ == "__main__":
    main()
