"""Screenshots of the main window, a conversation window and the accounts dialog, for the
README, taken on a virtual X screen (Xvfb) against a throwaway local Prosody.

    .venv/bin/python packaging/screenshots.py [--out resources/screenshots]

Needs Debian's xvfb (and the Qt xcb libraries listed in tests/run.sh)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def start_xvfb() -> subprocess.Popen[bytes]:
    if not shutil.which("Xvfb"):
        raise SystemExit("Xvfb is not installed: apt-get install xvfb")
    display = ":93"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.7)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


async def scene(out: Path) -> None:
    from _server import bench_server

    from chinwag.core.models import AccountConfig, ConversationKey, Show
    from chinwag.system.paths import Paths
    from chinwag.system.secrets import FileSecretStore
    from chinwag.ui.accounts_dialog import AccountsDialog
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.ui.main_window import MainWindow
    from chinwag.wiring import build_core

    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:

        def core_for(name: str, jid: str, password: str, nick: str):  # type: ignore[no-untyped-def]
            paths = Paths.under(Path(tmp) / name).ensure()
            core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
            config = AccountConfig(jid=jid, host=server.host, port=server.port, nickname=nick)
            core.add_account(config, password)
            return core

        me = server.make_user("sam")
        friends = {
            "Alex Morgan": (server.make_user("alex"), Show.ONLINE, "Back from the mountains"),
            "Priya Nair": (server.make_user("priya"), Show.DND, "Release day - ping if urgent"),
            "Jonas Berg": (server.make_user("jonas"), Show.AWAY, "Lunch"),
            "Mei Chen": (server.make_user("mei"), Show.ONLINE, ""),
        }
        groups = {"Alex Morgan": "Friends", "Mei Chen": "Friends"}
        core = core_for("me", me[0], me[1], "Sam Taylor")
        others = {}
        await core.sign_in(me[0])
        for name, ((jid, pw), show, status) in friends.items():
            other = core_for(name, jid, pw, name)
            await other.sign_in(jid)
            others[name] = (other, jid, show, status)
            await core.roster.add_contact(me[0], jid, name, [groups.get(name, "Work")])
            await other.roster.add_contact(jid, me[0], "Sam Taylor", ["Work"])
        await asyncio.sleep(1.0)
        for other, jid, _, _ in others.values():
            for request in list(other.roster.pending_requests(jid)):
                other.roster.approve(jid, request)
            for request in list(core.roster.pending_requests(me[0])):
                core.roster.approve(me[0], request)
        await asyncio.sleep(1.0)
        for other, jid, show, status in others.values():
            other.sessions[jid].set_presence(show, status)
        alex, alex_jid = others["Alex Morgan"][0], others["Alex Morgan"][1]
        script = [
            (alex, alex_jid, me[0], "Hey Sam! Are we still on for Saturday?"),
            (core, me[0], alex_jid, "Yes! 10 am at the trailhead. I'll bring coffee."),
            (alex, alex_jid, me[0], "Perfect. The route is here: https://example.org/trails/ridge"),
            (core, me[0], alex_jid, "Looks great. Forecast says sun all day."),
            (alex, alex_jid, me[0], "See you there :)"),
        ]
        for sender, frm, to, text in script:
            await sender.messaging.send(frm, to, text)
            await asyncio.sleep(0.4)
        await core.messaging.send(me[0], others["Priya Nair"][1], "Good luck with the release!")
        await others["Mei Chen"][0].messaging.send(others["Mei Chen"][1], me[0], "Lunch tomorrow?")
        await asyncio.sleep(1.5)

        bridge = EventBridge(core.bus)
        ctx: UiContext

        def make_window(account: str, peer: str) -> ConversationWindow:
            return ConversationWindow(ctx, account, peer)

        ctx = UiContext(core, bridge, ConversationWindows(make_window))
        main = MainWindow(ctx)
        main.resize(340, 560)
        main.show()
        window = ctx.windows.open(me[0], alex_jid)
        window.resize(520, 560)  # type: ignore[attr-defined]
        await core.messaging.mark_displayed(ConversationKey(me[0], alex_jid))
        dialog = AccountsDialog(ctx, main)
        dialog.show()
        await asyncio.sleep(1.5)
        for widget, name in ((main, "main-window"), (window, "conversation"), (dialog, "accounts")):
            widget.grab().save(str(out / f"{name}.png"))  # type: ignore[attr-defined]
            print(f"wrote {out / f'{name}.png'}")
        dialog.close()
        ctx.windows.close_all()
        main.really_quit = True
        main.close()
        bridge.close()
        for other, *_ in others.values():
            await other.shutdown()
        await core.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    try:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])
        app.setApplicationName("Chinwag")
        app.setQuitOnLastWindowClosed(False)
        qasync.run(scene(args.out))
        del app
    finally:
        xvfb.terminate()


if __name__ == "__main__":
    main()
