"""Files benchmark (issue 16): sending a 20 MB file, and 1,000 image previews scrolled.

Usage: ``.venv/bin/python bench/bench_files.py [--mb 20] [--runs 3] [--images 1000]``

Runs offscreen on the real stack, against a Prosody with its XEP-0363 upload component
(``mod_http_file_share``, https on 127.0.0.1, the rig certificate):

* upload: a signed-in core sends a ``--mb`` MB file to a contact
  (``FileService.send_file``: slot, streamed PUT, then the message); the time from
  ``send_file`` to the upload being done, and, for the same server, ``curl -T`` PUTting
  the same file to a slot of its own (the slot asked for before the clock starts). Best
  of ``--runs`` each; throughput and the ratio core/curl (goal at least 0.8). Meanwhile
  a loop-lag probe (a task sleeping 1 ms) records the longest block of the event loop
  during the sends (goal under 50 ms).
* previews: a conversation window on a history of ``--images`` messages, each with an
  image (an 1,600 x 1,200 JPEG, one file per message so each is decoded), scrolled to
  the top and back to the bottom a page at a time, letting the loop run between pages;
  per direction, the longest loop block while scrolling and while previews are made and
  the p99 of the probe's oversleeps (up: older pages read from the store and laid out as
  the view nears the top; down: pages read again, their sizes cached), and the previews
  made.
  ``--no-files`` scrolls the same history without files (the history paging alone).

Figures only; never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "gui"))
sys.path.insert(0, str(ROOT / "bench"))

from _server import bench_server  # noqa: E402

GOAL_RATIO = 0.8
GOAL_BLOCK_MS = 50.0


class LagProbe:
    """A task that sleeps 1 ms at a time: :attr:`longest` is the longest it overslept
    (ms), i.e. the longest the loop was blocked, since :meth:`reset`; :attr:`samples`
    holds every oversleep since then (one per wake-up), for percentiles."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def reset(self) -> None:
        self.longest = 0.0
        self.samples = []

    def p99(self) -> float:
        """The 99th percentile of the oversleeps since :meth:`reset` (ms)."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            late = (time.perf_counter() - before) * 1000 - 1.0
            self.longest = max(self.longest, late)
            self.samples.append(late)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def curl_put(transport: Any, account: str, service: str, path: Path, size: int) -> float:
    slot = await transport.request_slot(
        account, service, path.name, size, "application/octet-stream"
    )
    headers: list[str] = []
    for name, value in slot.headers:
        headers += ["-H", f"{name}: {value}"]
    command = [
        "curl", "-sS", "--fail", "-o", "/dev/null", "-T", str(path),
        "-H", "Content-Type: application/octet-stream", *headers,
        "--cacert", os.environ["SSL_CERT_FILE"], slot.put_url,
    ]  # fmt: skip
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*command)
    if await proc.wait() != 0:
        raise RuntimeError("curl failed")
    return time.perf_counter() - start


async def bench_upload(args: argparse.Namespace, server: Any, tmp: Path, probe: LagProbe) -> Any:
    from chinwag.core.attachments import AttachmentState
    from chinwag.core.events import AttachmentChanged
    from chinwag.core.models import AccountConfig, ConversationKey, TlsMode
    from chinwag.system.paths import Paths
    from chinwag.system.secrets import FileSecretStore
    from chinwag.wiring import build_core

    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    jid, password = server.make_user("sender")
    peer, _ = server.make_user("peer")
    paths = Paths.under(tmp / "profile").ensure()
    core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
    core.add_account(
        AccountConfig(jid=jid, host=server.host, port=server.port, tls=TlsMode.STARTTLS), password
    )
    await core.sign_in(jid)
    await core.messaging.wait_archive_synced(jid)
    files = core.files
    assert files is not None
    size = args.mb * 1024 * 1024
    source = tmp / "big.bin"
    with source.open("wb") as f:
        f.write(os.urandom(size))
    key = ConversationKey(jid, peer)
    transport = files._transport
    service = await transport.find_upload_service(jid)
    assert service is not None, "no upload service"

    ours: list[float] = []
    cpu_used: list[float] = []
    blocks: list[float] = []
    for _ in range(args.runs):
        done = asyncio.Event()
        failed: list[str] = []

        def changed(
            event: AttachmentChanged, done: asyncio.Event = done, failed: list[str] = failed
        ) -> None:
            state = event.attachment.state
            if state is AttachmentState.UPLOADED:
                done.set()
            elif state is AttachmentState.FAILED:
                failed.append(event.attachment.error)
                done.set()

        unsubscribe = core.bus.subscribe(AttachmentChanged, changed)
        probe.reset()
        start = time.perf_counter()
        cpu = time.process_time()
        await files.send_file(key, source)
        await done.wait()
        ours.append(time.perf_counter() - start)
        cpu_used.append(time.process_time() - cpu)
        blocks.append(probe.longest)
        unsubscribe()
        if failed:
            raise RuntimeError(f"upload failed: {failed[0]}")
    theirs = [await curl_put(transport, jid, service.jid, source, size) for _ in range(args.runs)]
    await core.shutdown()
    mb = size / 1e6
    best, curl_best = min(ours), min(theirs)
    ratio = curl_best / best
    print(f"upload of {args.mb} MiB ({mb:.1f} MB), best of {args.runs}:")
    for name, times in (("chinwag", ours), ("curl", theirs)):
        fastest, median = min(times), statistics.median(times)
        print(
            f"  {name:<8} {fastest * 1000:8.0f} ms  {mb / fastest:7.1f} MB/s"
            f"  (median {median * 1000:.0f} ms)"
        )
    flag = "" if ratio >= GOAL_RATIO else f"  under the goal {GOAL_RATIO}"
    print(f"  throughput ratio chinwag/curl: {ratio:.2f} (goal >= {GOAL_RATIO}){flag}")
    print(f"  CPU time of this process per send: {statistics.median(cpu_used) * 1000:.0f} ms")
    worst = max(blocks)
    flag = "" if worst < GOAL_BLOCK_MS else f"  over {GOAL_BLOCK_MS:g}"
    print(f"  longest loop block during a send: {worst:.1f} ms (goal < {GOAL_BLOCK_MS:g}){flag}")
    return ratio, worst


async def bench_previews(args: argparse.Namespace, tmp: Path, probe: LagProbe) -> None:
    from PySide6.QtGui import QColor, QImage, QPainter

    from chinwag.core.attachments import Attachment, AttachmentState
    from chinwag.core.files import FileService
    from chinwag.core.models import (
        AccountConfig,
        ConversationKey,
        Direction,
        Message,
        MessageState,
        Origin,
    )
    from chinwag.core.service import ChinwagCore
    from chinwag.storage import SqliteMessageStore
    from chinwag.storage.attachments import SqliteAttachmentStore
    from chinwag.system.config import JsonConfigStore
    from chinwag.system.secrets import FileSecretStore
    from chinwag.ui.attachments import shared_previews
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.wiring import LazyFileTransport, connection_factory

    me, peer = "me@example.org", "friend@example.net"
    image = QImage(1600, 1200, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    for n in range(12):
        painter.fillRect(n * 130, 0, 130, 1200, QColor.fromHsv(n * 30, 200, 220))
    painter.end()
    folder = tmp / "images"
    folder.mkdir()
    first = folder / "photo-0.jpg"
    image.save(str(first))
    for n in range(1, args.images):
        shutil.copyfile(first, folder / f"photo-{n}.jpg")
    store = SqliteMessageStore.open(tmp / "history.db")
    messages = [
        Message(
            account=me,
            peer=peer,
            direction=Direction.INCOMING,
            body=f"https://files.example/photo-{n}.jpg",
            oob_url="" if args.no_files else f"https://files.example/photo-{n}.jpg",
            timestamp=1_600_000_000.0 + 60 * n,
            uid=f"m{n}",
            sender=peer,
            state=MessageState.DISPLAYED,
            origin=Origin.ARCHIVE,
        )
        for n in range(args.images)
    ]
    stored = await store.add_incoming(messages)
    attachments = SqliteAttachmentStore(store.database)
    for n, message in enumerate(stored):
        assert message.id is not None
        if args.no_files:
            break
        await attachments.put_attachment(
            Attachment(message.id, me, Direction.INCOMING, f"photo-{n}.jpg", first.stat().st_size,
                       "image/jpeg", message.oob_url, str(folder / f"photo-{n}.jpg"),
                       AttachmentState.DOWNLOADED)
        )  # fmt: skip
    key = ConversationKey(me, peer)
    info = store.conversation_info(key)
    if info is not None:
        await store.set_read_sequence(key, info.last_sequence)
    config = JsonConfigStore(tmp / "accounts.json")
    core = ChinwagCore(store, FileSecretStore(tmp / "secrets.json"), config, connection_factory)
    core.add_account(AccountConfig(jid=me), None, remember=False)
    core.files = FileService(
        core.messaging, attachments, LazyFileTransport(lambda _a: None), core.bus,
        messages=store, is_contact=lambda _a, _j: False, downloads=lambda: tmp,
    )  # fmt: skip
    bridge = EventBridge(core.bus)
    holder: list[UiContext] = []
    windows = ConversationWindows(lambda a, c: ConversationWindow(holder[0], a, c))
    ctx = UiContext(core, bridge, windows)
    holder.append(ctx)
    window = ConversationWindow(ctx, me, peer)
    window.resize(520, 900)
    window.show()
    await asyncio.sleep(0.3)
    view = window.history_view
    bar = view.verticalScrollBar()
    previews = shared_previews()
    from chinwag.ui.history_model import Role

    def uid_at(row: int) -> str:
        message = window.model.index(row, 0).data(Role.MESSAGE)
        return message.uid if isinstance(message, Message) else ""

    seen: set[str] = set()

    def note_visible() -> None:
        top = view.indexAt(view.viewport().rect().topLeft()).row()
        bottom = view.indexAt(view.viewport().rect().bottomLeft()).row()
        if top >= 0:
            for row in range(top, (bottom if bottom >= 0 else window.model.rowCount() - 1) + 1):
                seen.add(uid_at(row))

    # to the oldest message (the model pages rows in as the view nears its top) ...
    probe.reset()
    start = time.perf_counter()
    pages_up = 0
    while uid_at(0) != "m0" or bar.value() > bar.minimum():
        bar.setValue(bar.value() - bar.pageStep())
        view.viewport().repaint()
        note_visible()
        pages_up += 1
        await asyncio.sleep(0.005)
        if time.perf_counter() - start > 300:
            break
    up_block, up_p99 = probe.longest, probe.p99()
    # ... then to the newest, a page at a time
    probe.reset()
    pages = 0
    last = f"m{args.images - 1}"
    start_down = time.perf_counter()
    while uid_at(window.model.rowCount() - 1) != last or bar.value() < bar.maximum():
        bar.setValue(bar.value() + bar.pageStep())
        view.viewport().repaint()
        note_visible()
        pages += 1
        await asyncio.sleep(0.005)
        if time.perf_counter() - start_down > 300:
            break
    while previews.pending():  # noqa: ASYNC110 (a Qt thread pool's, not awaitable)
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    down_block, down_p99 = probe.longest, probe.p99()
    print(
        f"previews: {len(seen - {''}):,} of {args.images:,} image messages shown, scrolled to the"
        f" top ({pages_up} pages) and back to the bottom ({pages} pages) in {elapsed:.1f} s"
    )
    for label, block, p99 in (("up", up_block, up_p99), ("down", down_block, down_p99)):
        flag = "" if block < GOAL_BLOCK_MS else f"  over {GOAL_BLOCK_MS:g}"
        print(
            f"  longest loop block scrolling {label}: {block:.1f} ms"
            f" (goal < {GOAL_BLOCK_MS:g}), p99 {p99:.1f} ms{flag}"
        )
    window.close()
    await asyncio.sleep(0.1)
    bridge.close()
    await core.shutdown()


async def bench(args: argparse.Namespace) -> None:
    import chinwag

    print(f"chinwag from {Path(chinwag.__file__).parent}")
    probe = LagProbe()
    probe.start()
    try:
        with tempfile.TemporaryDirectory(prefix="chinwag-bench-files-") as tmp:
            if not args.skip_upload:
                with bench_server(file_share=True) as server:
                    await bench_upload(args, server, Path(tmp) / "upload", probe)
            if args.images:
                (Path(tmp) / "previews").mkdir()
                await bench_previews(args, Path(tmp) / "previews", probe)
    finally:
        probe.stop()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument(
        "--no-files", action="store_true", help="the same history without files (a baseline)"
    )
    args = parser.parse_args()
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(bench(args))
    del app


if __name__ == "__main__":
    run()
