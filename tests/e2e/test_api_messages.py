"""End to end: ``im.chinwag.Messages1`` (spec ``automation-api.md`` section 6) -- one-off
``SendMessage``, ``MessageSent``, ``MessageReceived`` (incoming messages and delivery
reports) and the errors, against the app as a process on a private bus and a real Prosody.

The names, codes and values below are written out from the spec on purpose (not imported
from the app): these tests check the contract."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID

from rig.app import APP_TIMEOUT, AppProcess, start_app, wait_signed_in, write_profile
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

# -- the contract (spec sections 1, 2 and 6) ---------------------------------------------

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
CONVERSATION = "im.chinwag.ConversationWindow1"
ACCOUNT = "im.chinwag.Account1"
ONLINE = 0x02

HRESULT = {
    "InvalidHandle": 0x80004005,
    "Disconnected": 0x8100030C,
    "MessageTooLong": 0x8100033F,
    "NotImplemented": 0x80004001,
    "InvalidArgument": 0x80070057,
}

REPORT_DELIVERY, REPORT_READ, REPORT_DELETED = 1, 2, 4
DELIVERY_REPORT = 4  # message-type of a delivery report
DELIVERED, TEMPORARILY_FAILED, PERMANENTLY_FAILED, ACCEPTED, READ = 1, 2, 3, 4, 5
MAX_CHARS = 65_536

Parts = list[dict[str, Variant]]


# -- helpers -------------------------------------------------------------------------------


def message(text: str, mtype: int | None = None, **header: Variant) -> Parts:
    """Telepathy parts: a header and one text/plain part."""
    head = dict(header)
    if mtype is not None:
        head["message-type"] = Variant("u", mtype)
    return [head, {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)}]


async def send(client: Any, account: str, target: str, parts: Parts, flags: int = 0) -> str:
    body = await client.call(
        ROOT, MESSAGES, "SendMessage", "osaa{sv}u", [account, target, parts, flags]
    )
    assert len(body) == 1
    token = body[0]
    assert isinstance(token, str)
    assert token
    return token


async def expect_error(awaitable: Any, name: str) -> str:
    """The call fails with ``im.chinwag.Error.<name>`` and a message that starts with its
    HRESULT in hex, a colon and a sentence (spec section 2). Returns the text."""
    error = await error_of(awaitable)
    assert error.name == f"im.chinwag.Error.{name}", (error.name, error.text)
    assert re.match(rf"0x{HRESULT[name]:08X}: \S", error.text), error.text
    return str(error.text)


async def error_of(awaitable: Any) -> Any:
    """The error reply (conftest's ApiError, duck-typed: ``name`` and ``text``) that the
    call ends with; a reply instead fails the test."""
    try:
        result = await awaitable
    except Exception as exc:
        if not hasattr(exc, "name") or not hasattr(exc, "text"):
            raise
        return exc
    raise AssertionError(f"expected an error reply, got {result!r}")


def header(parts: Parts) -> dict[str, Any]:
    return {key: value.value for key, value in parts[0].items()}


def texts(parts: Parts) -> list[str]:
    return [
        part["content"].value
        for part in parts[1:]
        if "content-type" in part and part["content-type"].value.startswith("text/plain")
    ]


def received(signals: Any, match: Callable[[dict[str, Any], list[str]], bool]) -> Any:
    """Wait for a MessageReceived whose header and texts match."""
    return signals.wait_for("MessageReceived", lambda b: match(header(b[0]), texts(b[0])))


def report(token: str, status: int) -> Callable[[dict[str, Any], list[str]], bool]:
    return lambda h, _t: (
        h.get("message-type") == DELIVERY_REPORT
        and h.get("delivery-token") == token
        and h.get("delivery-status") == status
    )


async def account_path(client: Any) -> str:
    accounts = await client.get(ROOT, MESSENGER, "Accounts")
    assert accounts, "Accounts is empty"
    return str(accounts[0])


async def bodies(peer: XmppPeer, count: int, timeout: float = APP_TIMEOUT) -> list[str]:
    """The bodies of the next ``count`` messages the peer gets."""
    return [str((await peer.next_message(timeout))["body"]) for _ in range(count)]


async def no_more_messages(peer: XmppPeer, client: Any) -> None:
    """Nothing else is on its way to the peer: a sentinel sent now is the next message."""
    await send(client, "/", peer.jid, message("sentinel"))
    msg = await peer.next_message(APP_TIMEOUT)
    assert msg["body"] == "sentinel", f"unexpected extra message {msg['body']!r}"


@contextlib.asynccontextmanager
async def contact(
    server: ProsodyServer,
    *,
    receipts: bool = False,
    markers: bool = False,
    reply: str = "",
    name: str = "bob",
) -> AsyncIterator[XmppPeer]:
    """A logged-in XMPP peer; with ``receipts`` it answers XEP-0184 requests, with
    ``markers`` it sends a XEP-0333 displayed marker for each message it gets, with
    ``reply`` it answers each message with that text."""
    peer = XmppPeer(server, *server.make_user(name))
    if receipts:
        peer.client.register_plugin("xep_0184")
        peer.client.plugin["xep_0184"].auto_ack = True
    if markers:
        peer.client.register_plugin("xep_0333")

    def on_message(msg: Any) -> None:
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        if markers:
            peer.client.plugin["xep_0333"].send_marker(
                msg["from"], msg["id"], "displayed", mtype="chat"
            )
        if reply:
            peer.send_chat(msg["from"].bare, reply)

    peer.client.add_event_handler("message", on_message)
    async with peer:
        yield peer


# -- SendMessage: the good path -------------------------------------------------------------


async def test_send_message_on_slash_and_on_the_account_path(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await account_path(client)
    assert path.startswith(ROOT + "/account/")
    assert await client.get(ROOT, MESSENGER, "MyServiceId") == path
    async with contact(prosody) as bob:
        first = await send(client, "/", bob.jid, message("hello via slash"))
        second = await send(client, path, bob.jid, message("hello via the account"))
        assert first != second
        assert sorted(await bodies(bob, 2)) == ["hello via slash", "hello via the account"]
        for token, text in ((first, "hello via slash"), (second, "hello via the account")):
            content, flags, got = await signals.wait_for(
                "MessageSent", lambda b, t=token: b[2] == t
            )
            assert got == token
            assert flags == 0
            assert texts(content) == [text]
            assert header(content).get("message-type", 0) == 0
        # a one-off send opens no window
        assert await client.get(ROOT, MESSENGER, "ConversationWindows") == []
        assert signals.named("OnIMWindowCreated") == []
        await no_more_messages(bob, client)
    assert len([b for b in signals.named("MessageSent") if b[2] in (first, second)]) == 2


async def test_action_and_notice_messages(chinwag_app: AppProcess, prosody: ProsodyServer) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody) as bob:
        for mtype, text in ((1, "waves"), (2, "the build is green")):
            token = await send(client, "/", bob.jid, message(text, mtype))
            (body,) = await bodies(bob, 1)
            assert text in body
            content, _flags, _token = await signals.wait_for(
                "MessageSent", lambda b, t=token: b[2] == t
            )
            assert header(content).get("message-type") == mtype
            assert texts(content) == [text]


async def test_delivery_and_read_reports_carry_the_token(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody, receipts=True, markers=True) as bob:
        token = await send(
            client, "/", bob.jid, message("please confirm"), REPORT_DELIVERY | REPORT_READ
        )
        assert (await bob.next_message())["body"] == "please confirm"
        _content, flags, _token = await signals.wait_for("MessageSent", lambda b: b[2] == token)
        assert flags == REPORT_DELIVERY | REPORT_READ
        for status in (ACCEPTED, DELIVERED, READ):
            try:
                (parts,) = await received(signals, report(token, status))
            except AssertionError as exc:
                seen = [header(p) for (p,) in signals.named("MessageReceived")]
                raise AssertionError(f"no report {status}; reports seen: {seen}") from exc
            assert header(parts)["delivery-token"] == token
        # nothing else claims a failure for this message
        for (parts,) in signals.named("MessageReceived"):
            h = header(parts)
            if h.get("delivery-token") == token:
                assert h["delivery-status"] in (ACCEPTED, DELIVERED, READ), h


async def test_a_delivery_report_alone_when_the_peer_also_reads(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    """Report_Delivery without Report_Read, to a client that acknowledges and reads at
    once (as a phone with the chat open does): the Delivered report still comes."""
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody, receipts=True, markers=True) as bob:
        token = await send(client, "/", bob.jid, message("did it arrive?"), REPORT_DELIVERY)
        assert (await bob.next_message())["body"] == "did it arrive?"
        for status in (ACCEPTED, DELIVERED):
            try:
                await received(signals, report(token, status))
            except AssertionError as exc:
                seen = [header(p) for (p,) in signals.named("MessageReceived")]
                raise AssertionError(f"no report {status}; reports seen: {seen}") from exc


async def test_a_failed_delivery_is_reported_with_its_reason(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    nobody = f"{prosody.unique_name('nobody')}@{prosody.domain}"  # no such account
    token = await send(client, "/", nobody, message("anyone there?"), REPORT_DELIVERY)
    (parts,) = await received(
        signals,
        lambda h, _t: (
            h.get("message-type") == DELIVERY_REPORT
            and h.get("delivery-token") == token
            and h.get("delivery-status") in (TEMPORARILY_FAILED, PERMANENTLY_FAILED)
        ),
    )
    reason = header(parts).get("delivery-error-message")
    assert isinstance(reason, str)
    assert reason.strip()


async def test_send_message_goes_through_an_open_window(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody) as bob:
        hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == 0
        token = await send(client, "/", bob.jid, message("shown in the window"))
        assert (await bob.next_message())["body"] == "shown in the window"
        await signals.wait_for("MessageSent", lambda b: b[2] == token)
        history = await client.get(window, CONVERSATION, "History")
        line = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] .+: shown in the window$")
        assert [x for x in history.splitlines() if line.match(x)], history
        assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [window]
        assert len(signals.named("OnIMWindowCreated")) == 1
        await no_more_messages(bob, client)


# -- MessageReceived -------------------------------------------------------------------------


async def test_incoming_messages_are_reported_and_a_bot_can_answer(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await account_path(client)
    async with contact(prosody) as bob:
        before = time.time()
        bob.send_chat(chinwag_app.jid, "ping 1")
        (parts,) = await received(signals, lambda h, t: t == ["ping 1"])
        h = header(parts)
        assert isinstance(h.get("message-token"), str)
        assert h["message-token"]
        assert h.get("message-sender-id") == bob.jid
        assert parts[0]["message-received"].signature == "x"
        assert before - 3600 < h["message-received"] < time.time() + 3600  # Unix seconds
        assert h.get("message-type") == 0
        assert parts[0]["account"].signature == "o"
        assert h["account"] == path
        # a bot answers to message-sender-id
        answer = await send(client, "/", h["message-sender-id"], message("pong 1"))
        assert (await bob.next_message())["body"] == "pong 1"
        await signals.wait_for("MessageSent", lambda b: b[2] == answer)
        # every message is reported, each with its own token
        for n in range(2, 6):
            bob.send_chat(chinwag_app.jid, f"ping {n}")
        for n in range(2, 6):
            await received(signals, lambda _h, t, n=n: t == [f"ping {n}"])
        tokens = [
            header(p)["message-token"]
            for (p,) in signals.named("MessageReceived")
            if header(p).get("message-sender-id") == bob.jid
            and header(p).get("message-type") != DELIVERY_REPORT
        ]
        assert len(tokens) == 5 == len(set(tokens))


async def test_replies_during_a_one_off_send_are_not_swallowed(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody, reply="got it, thanks") as bob:
        token = await send(client, "/", bob.jid, message("one-off notice"))
        await signals.wait_for("MessageSent", lambda b: b[2] == token)
        await received(
            signals,
            lambda h, t: h.get("message-sender-id") == bob.jid and t == ["got it, thanks"],
        )
        # it reaches the user the normal way: the conversation with bob shows it
        hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == 0
        deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
        while "got it, thanks" not in (
            history := await client.get(window, CONVERSATION, "History")
        ):
            assert asyncio.get_running_loop().time() < deadline, history
            await asyncio.sleep(0.05)
        assert history.count("got it, thanks") == 1, history


# -- not connected ---------------------------------------------------------------------------


async def test_signed_out_on_purpose_is_disconnected(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await account_path(client)
    assert await client.messenger("Signout") == 0
    await signals.wait_for("OnSignout")
    async with contact(prosody) as bob:
        await expect_error(send(client, "/", bob.jid, message("not now")), "Disconnected")
        await expect_error(send(client, path, bob.jid, message("not now")), "Disconnected")
        assert signals.named("MessageSent") == []
        # nothing signs back in behind the user's back, and nothing was kept for later
        assert await client.get(path, ACCOUNT, "Status") == 0x01
        assert await client.messenger("AutoSignin") == 0
        await wait_signed_in(chinwag_app, client)
        await no_more_messages(bob, client)


async def test_a_disabled_account_is_disconnected(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await account_path(client)
    await client.set(path, ACCOUNT, "Enabled", Variant("b", False))
    assert await client.get(path, ACCOUNT, "Enabled") is False
    async with contact(prosody) as bob:
        await expect_error(send(client, "/", bob.jid, message("not now")), "Disconnected")
        await expect_error(send(client, path, bob.jid, message("not now")), "Disconnected")
        assert signals.named("MessageSent") == []
        await client.set(path, ACCOUNT, "Enabled", Variant("b", True))
        await wait_signed_in(chinwag_app, client)  # the primary account: MyStatus is its
        assert await client.get(path, ACCOUNT, "Status") == ONLINE
        await no_more_messages(bob, client)


async def archived_bodies(peer: XmppPeer, sender: str) -> list[str]:
    """The bodies of the messages from ``sender`` in the peer's server archive (MAM)."""
    mam = peer.client.plugin["xep_0313"]
    found: list[str] = []
    async for item in mam.iterate(with_jid=JID(sender), total=10_000):
        found.append(str(item["mam_result"]["forwarded"]["stanza"]["body"]))
    return found


async def test_an_offline_enabled_account_connects_and_sends_once(
    prosody_own: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    jid, password = prosody_own.make_user("app")
    bob_jid, bob_password = prosody_own.make_user("bob")
    env = write_profile(tmp_path, jid, password, prosody_own)
    await prosody_own.astop()
    app = await start_app(tmp_path, env, jid, password, prosody_own)
    try:
        client = await app.client()
        signals = await client.watch()
        assert await client.get(ROOT, MESSENGER, "MyStatus") != ONLINE
        token = await send(client, "/", bob_jid, message("sent while offline"))
        assert signals.named("MessageSent") == []
        await prosody_own.astart()
        # the account connects by itself and the message goes (backoff: allow for it)
        await signals.wait_for("MessageSent", lambda b: b[2] == token, timeout=90)
        sentinel = await send(client, "/", bob_jid, message("after the reconnect"))
        await signals.wait_for("MessageSent", lambda b: b[2] == sentinel)
        assert len([b for b in signals.named("MessageSent") if b[2] == token]) == 1
        bob = XmppPeer(prosody_own, bob_jid, bob_password)
        bob.client.register_plugin("xep_0313")
        async with bob:
            archived = await archived_bodies(bob, jid)
        assert archived.count("sent while offline") == 1, archived
        assert archived.count("after the reconnect") == 1, archived
        # and the app kept it once
        _hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob_jid))
        history = await client.get(window, CONVERSATION, "History")
        assert history.count("sent while offline") == 1, history
        assert await app.terminate() == 0
    finally:
        await app.close_clients()
        if app.running():
            app.proc.kill()
            await app.proc.wait()


async def test_a_stored_message_survives_a_crash_before_it_could_go(
    prosody_own: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    """SendMessage returns once the message is stored: killed before it could go, the
    app sends it after the next start, once."""
    jid, password = prosody_own.make_user("app")
    bob_jid, bob_password = prosody_own.make_user("bob")
    env = write_profile(tmp_path, jid, password, prosody_own)
    await prosody_own.astop()
    first = await start_app(tmp_path, env, jid, password, prosody_own)
    try:
        client = await first.client()
        await send(client, "/", bob_jid, message("kept across a crash"))
        first.proc.kill()
        assert await first.wait_exit() != 0
    finally:
        await first.close_clients()
        if first.running():
            first.proc.kill()
            await first.proc.wait()
    await prosody_own.astart()
    second = await start_app(tmp_path, env, jid, password, prosody_own)
    try:
        client = await second.client()
        signals = await client.watch()
        await wait_signed_in(second, client)
        bob = XmppPeer(prosody_own, bob_jid, bob_password)
        bob.client.register_plugin("xep_0313")
        async with bob:
            deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
            while "kept across a crash" not in await archived_bodies(bob, jid):
                assert asyncio.get_running_loop().time() < deadline, second.diagnostics()
                await asyncio.sleep(0.2)
            sentinel = await send(client, "/", bob_jid, message("after the restart"))
            await signals.wait_for("MessageSent", lambda b: b[2] == sentinel)
            archived = await archived_bodies(bob, jid)
        assert archived.count("kept across a crash") == 1, archived
        assert await second.terminate() == 0
    finally:
        await second.close_clients()
        if second.running():
            second.proc.kill()
            await second.proc.wait()


async def test_send_message_from_gdbus(chinwag_app: AppProcess, prosody: ProsodyServer) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with contact(prosody) as bob:
        proc = await asyncio.create_subprocess_exec(
            "gdbus",
            "call",
            "--session",
            "--dest",
            "im.chinwag.Chinwag",
            "--object-path",
            ROOT,
            "--method",
            f"{MESSAGES}.SendMessage",
            "/",
            bob.jid,
            "[{'message-type': <uint32 0>}, "
            "{'content-type': <'text/plain'>, 'content': <'from a shell'>}]",
            "1",
            env=chinwag_app.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), APP_TIMEOUT)
        assert proc.returncode == 0, err.decode()
        match = re.fullmatch(r"\('([^']+)',\)\n", out.decode())
        assert match, out.decode()
        token = match.group(1)
        assert (await bob.next_message())["body"] == "from a shell"
        await signals.wait_for("MessageSent", lambda b: b[2] == token)


# -- errors ----------------------------------------------------------------------------------


async def test_bad_input_gets_its_error_and_loses_nothing(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    path = await account_path(client)
    async with contact(prosody) as bob:
        good = message("fine")
        # target not a valid address
        for target in ("", " ", "not an address", "@localhost", "bob@", "a@b@c", "bob@@localhost"):
            await expect_error(send(client, "/", target, good), "InvalidHandle")
        # malformed messages
        malformed: list[Parts] = [
            [],  # no header
            [{}],  # no content part
            [{}, {"content-type": Variant("s", "text/html"), "content": Variant("s", "<b>x</b>")}],
            [{}, {"content": Variant("s", "no content-type: ignored")}],
            message("bad type", **{"message-type": Variant("s", "normal")}),
            [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("i", 7)}],
        ]
        for parts in malformed:
            await expect_error(send(client, "/", bob.jid, parts), "InvalidHandle")
        for key, value in (
            ("message-sender", Variant("u", 1)),
            ("message-sender-id", Variant("s", bob.jid)),
            ("message-sent", Variant("x", int(time.time()))),
            ("message-received", Variant("x", int(time.time()))),
            ("pending-message-id", Variant("u", 1)),
        ):
            await expect_error(
                send(client, "/", bob.jid, message("forged", **{key: value})), "InvalidHandle"
            )
        # unknown account paths
        for account in (ROOT + "/account/999", ROOT, "/nowhere"):
            await expect_error(send(client, account, bob.jid, good), "InvalidHandle")
        # unknown flag bits
        for flags in (8, 16, 0x80000000, 0xFFFFFFFF):
            await expect_error(send(client, "/", bob.jid, good, flags), "NotImplemented")
        # over the limit; at the limit it goes
        too_long = "é" * (MAX_CHARS + 1)
        await expect_error(send(client, "/", bob.jid, message(too_long)), "MessageTooLong")
        await expect_error(send(client, path, bob.jid, message(too_long)), "MessageTooLong")
        # wrong D-Bus types: an error reply, no crash
        for signature, args in (
            ("ssaa{sv}u", ["/", bob.jid, good, 0]),
            ("osaa{sv}i", ["/", bob.jid, good, 0]),
            ("osa{sv}u", ["/", bob.jid, good[0], 0]),
            ("os", ["/", bob.jid]),
        ):
            error = await error_of(client.call(ROOT, MESSAGES, "SendMessage", signature, args))
            assert error.name in (
                "im.chinwag.Error.InvalidArgument",
                "org.freedesktop.DBus.Error.InvalidArgs",
            ), (error.name, error.text)
        # none of that was sent; what is valid still goes, the longest one included
        assert signals.named("MessageSent") == []
        at_limit = "é" * MAX_CHARS
        token = await send(client, "/", bob.jid, message(at_limit))
        assert (await bob.next_message())["body"] == at_limit
        await signals.wait_for("MessageSent", lambda b: b[2] == token)
        deleted = await send(client, "/", bob.jid, good, REPORT_DELETED)  # a known flag
        assert (await bob.next_message())["body"] == "fine"
        await signals.wait_for("MessageSent", lambda b: b[2] == deleted)
        await no_more_messages(bob, client)
    assert chinwag_app.running()


async def test_tokens_are_unique(chinwag_app: AppProcess, prosody: ProsodyServer) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    count = 200
    async with contact(prosody) as bob:
        tokens = await asyncio.gather(
            *(send(client, "/", bob.jid, message(f"n{i}")) for i in range(count))
        )
        assert len(set(tokens)) == count
        got = await bodies(bob, count)
        assert sorted(got) == sorted(f"n{i}" for i in range(count))
        deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
        while len(signals.named("MessageSent")) < count:
            assert asyncio.get_running_loop().time() < deadline, len(signals.named("MessageSent"))
            await asyncio.sleep(0.05)
        sent = {b[2]: texts(b[0]) for b in signals.named("MessageSent")}
        assert len(signals.named("MessageSent")) == count
        assert sent == {t: [f"n{i}"] for i, t in enumerate(tokens)}
        await no_more_messages(bob, client)
