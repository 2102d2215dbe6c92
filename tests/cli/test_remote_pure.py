"""chinwag-remote's pure parts: argument parsing, status names, JSON conversion of
dbus-next values, message parts, delivery outcomes, error mapping. No bus here."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap

import pytest
from dbus_next.message import Message
from dbus_next.signature import Variant

from chinwag import __version__
from chinwag.automation.names import HRESULTS, hr_of
from chinwag.cli import remote
from chinwag.cli.remote import Exit

# --------------------------------------------------------------------------- statuses

SPEC_STATUSES = {  # automation-api.md section 3
    "OFFLINE": 0x01,
    "ONLINE": 0x02,
    "INVISIBLE": 0x06,
    "BUSY": 0x0A,
    "BE_RIGHT_BACK": 0x0E,
    "IDLE": 0x12,
    "AWAY": 0x22,
    "ON_THE_PHONE": 0x32,
    "OUT_TO_LUNCH": 0x42,
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("online", 0x02),
        ("busy", 0x0A),
        ("brb", 0x0E),
        ("be-right-back", 0x0E),
        ("away", 0x22),
        ("phone", 0x32),
        ("on-the-phone", 0x32),
        ("lunch", 0x42),
        ("out-to-lunch", 0x42),
        ("invisible", 0x06),
        ("appear-offline", 0x06),
        ("offline", 0x01),
        ("idle", 0x12),
        ("Be Right Back", 0x0E),
        ("  AWAY ", 0x22),
        ("34", 0x22),
        ("0x22", 0x22),
        ("0X0e", 0x0E),
    ],
)
def test_parse_status_accepts_names_aliases_and_numbers(text: str, value: int) -> None:
    assert remote.parse_status(text) == value


@pytest.mark.parametrize(("name", "value"), SPEC_STATUSES.items())
def test_parse_status_accepts_the_spec_spelling(name: str, value: int) -> None:
    assert remote.parse_status(name) == value


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("bogus", "unknown status"),
        ("", "unknown status"),
        ("unknown", "not one you can set"),
        ("connecting", "not one you can set"),
        ("-1", "out of range"),
        ("0x100000000", "out of range"),
    ],
)
def test_parse_status_refuses_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        remote.parse_status(text)


def test_status_names_round_trip_and_cover_the_spec() -> None:
    for value in SPEC_STATUSES.values():
        assert remote.parse_status(remote.status_name(value)) == value
    assert remote.status_name(0x00) == "unknown"
    assert remote.status_name(0x200) == "connecting"
    assert remote.status_name(0x99) == "0x99"


def test_is_online_is_everything_but_unknown_and_offline() -> None:
    assert not remote.is_online(0x00)
    assert not remote.is_online(0x01)
    assert all(remote.is_online(v) for k, v in SPEC_STATUSES.items() if k != "OFFLINE")


# --------------------------------------------------------------------------- arguments


def test_send_arguments_and_defaults() -> None:
    args = remote.parse_args(["send", "bob@example.org", "hello", "there"])
    assert args.command == "send"
    assert args.address == "bob@example.org"
    assert args.text == ["hello", "there"]
    assert (args.wait, args.type, args.account, args.timeout) == ("none", "normal", None, 60.0)
    assert (args.verbose, args.bus_address) == (False, None)


def test_global_options_work_before_and_after_the_command() -> None:
    before = remote.parse_args(["-v", "--bus-address", "unix:path=/x", "status"])
    after = remote.parse_args(["status", "-v", "--bus-address", "unix:path=/x"])
    for args in (before, after):
        assert args.verbose is True
        assert args.bus_address == "unix:path=/x"
    # an option given before the command is not reset by the subcommand's defaults
    assert remote.parse_args(["-v", "contacts"]).verbose is True


def test_send_wait_timeout_and_type() -> None:
    args = remote.parse_args(
        ["send", "--wait", "delivered", "--timeout", "2.5", "--type", "action", "b@x", "-"]
    )
    assert (args.wait, args.timeout, args.type, args.text) == ("delivered", 2.5, "action", ["-"])


def test_status_with_and_without_message() -> None:
    args = remote.parse_args(["status", "brb", "back", "in", "5"])
    assert (args.status, args.message) == (0x0E, ["back", "in", "5"])
    args = remote.parse_args(["status"])
    assert (args.status, args.message) == (None, [])


def test_watch_signal_filters_extend_and_split_on_commas() -> None:
    args = remote.parse_args(["watch", "--signal", "OnSignin,MessageSent", "--signal", "OnSignout"])
    assert args.signals == ["OnSignin", "MessageSent", "OnSignout"]
    assert remote.parse_args(["watch"]).signals is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice"),
        (["send"], "required: ADDRESS"),
        (["send", "--wait", "forever", "b@x", "hi"], "invalid choice"),
        (["send", "--timeout", "-1", "b@x", "hi"], "not a number of seconds"),
        (["status", "bogus"], "unknown status 'bogus'"),
        (["watch", "--signal", "onsignin"], "did you mean OnSignin?"),
        (["watch", "--signal", "Nope"], "unknown signal 'Nope'"),
        (["signin", "--host", "h"], "--host needs an ADDRESS"),
        (["signin", "--port", "99999", "a@b"], "not a port number"),
        (["open"], "required: ADDRESS"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        remote.parse_args(argv)
    assert exited.value.code == Exit.USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["send", "open", "status", "contacts", "signin", "signout", "watch", "quit", "show"]
)
def test_every_command_has_help_with_the_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        remote.parse_args([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: chinwag-remote {command}" in out
    assert "exit status:" in out
    assert "NotLoggedOn" in out


def test_version_command_and_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert remote.main(["version"]) == 0
    assert capsys.readouterr().out == f"chinwag-remote {__version__}\n"
    with pytest.raises(SystemExit) as exited:
        remote.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"chinwag-remote {__version__}\n"


def test_signin_options_only_carry_what_was_given() -> None:
    plain = remote.parse_args(["signin", "me@example.org"])
    assert remote.signin_options(plain) == {}
    args = remote.parse_args(
        [
            "signin",
            "--host=127.0.0.1",
            "--port=5222",
            "--register",
            "--no-remember",
            "--resource=cron",
            "--trusted-fingerprint=AB:CD",
            "me@example.org",
            "-",
        ]
    )
    options = remote.signin_options(args)
    assert {k: (v.signature, v.value) for k, v in options.items()} == {
        "host": ("s", "127.0.0.1"),
        "port": ("u", 5222),
        "register": ("b", True),
        "remember": ("b", False),
        "resource": ("s", "cron"),
        "trusted_fingerprint": ("s", "AB:CD"),
    }
    # the options marshal as the a{sv} of SigninWithOptions
    Message(
        destination="im.chinwag.Chinwag",
        path="/im/chinwag/Chinwag",
        interface="im.chinwag.Messenger1",
        member="SigninWithOptions",
        signature="ssa{sv}",
        body=["me@example.org", "pw", options],
    )._marshall()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_read_password_from_argument_or_first_line_of_stdin() -> None:
    assert remote.read_password("a@b", "secret", io.StringIO("ignored\n")) == "secret"
    assert remote.read_password("a@b", "-", io.StringIO("from stdin\nmore\n")) == "from stdin"
    assert remote.read_password("a@b", None, io.StringIO("piped\r\n")) == "piped"


def test_read_password_prompts_without_echo_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert remote.read_password("me@example.org", None, _Tty("not read")) == "typed"
    assert prompts == ["Password for me@example.org: "]


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("words", "stdin", "text"),
    [
        (["hello", "world"], "unused", "hello world"),
        ([], "from stdin\n", "from stdin"),
        (["-"], "two\nlines\n\n", "two\nlines"),
        (["-", "x"], "unused", "- x"),
        ([], "windows\r\n", "windows"),
        ([], "", ""),
    ],
)
def test_resolve_text(words: list[str], stdin: str, text: str) -> None:
    assert remote.resolve_text(words, io.StringIO(stdin)) == text


def test_message_parts_marshal_as_send_message_arguments() -> None:
    parts = remote.message_parts("hi there", "notice")
    assert [{k: (v.signature, v.value) for k, v in part.items()} for part in parts] == [
        {"message-type": ("u", 2)},
        {"content-type": ("s", "text/plain"), "content": ("s", "hi there")},
    ]
    Message(
        destination="im.chinwag.Chinwag",
        path="/im/chinwag/Chinwag",
        interface="im.chinwag.Messages1",
        member="SendMessage",
        signature="osaa{sv}u",
        body=["/", "bob@example.org", parts, remote.WAIT_FLAGS["read"]],
    )._marshall()
    assert remote.WAIT_FLAGS == {"none": 0, "sent": 0, "delivered": 1, "read": 3}


@pytest.mark.parametrize(
    ("wait", "status", "outcome"),
    [
        ("sent", 4, True),  # accepted
        ("sent", 1, True),
        ("sent", 3, False),
        ("sent", 2, None),  # temporarily failed: may still go
        ("delivered", 4, None),
        ("delivered", 1, True),
        ("delivered", 5, True),  # read implies delivered
        ("delivered", 3, False),
        ("delivered", 2, None),
        ("read", 1, None),
        ("read", 5, True),
        ("read", 6, False),  # deleted unread
        ("read", 3, False),
    ],
)
def test_delivery_outcome(wait: str, status: int, outcome: bool | None) -> None:
    assert remote.delivery_outcome(wait, status) is outcome


# --------------------------------------------------------------------------- JSON


def test_to_json_unwraps_variants_dicts_bytes_and_structs() -> None:
    value = [
        {
            "message-type": Variant("u", 4),
            "delivery-token": Variant("s", "t1"),
            "nested": Variant("v", Variant("as", ["a", "b"])),
            "map": Variant("a{sv}", {"k": Variant("b", True)}),
            "raw": Variant("ay", b"\x00\xffhi"),
            "struct": Variant("(is)", [1, "x"]),
        }
    ]
    assert remote.to_json(value) == [
        {
            "message-type": 4,
            "delivery-token": "t1",
            "nested": ["a", "b"],
            "map": {"k": True},
            "raw": base64.b64encode(b"\x00\xffhi").decode(),
            "struct": [1, "x"],
        }
    ]


def test_to_json_makes_every_key_a_string_and_every_float_valid_json() -> None:
    converted = remote.to_json({1: "one", "nan": float("nan"), "f": 1.5, "inf": float("-inf")})
    assert converted == {"1": "one", "nan": None, "f": 1.5, "inf": None}
    json.dumps(converted, allow_nan=False)
    assert remote.to_json({True: "yes"}) == {"true": "yes"}


def test_signal_record_is_one_json_line() -> None:
    body = [
        [
            {
                "message-sender-id": Variant("s", "bob@example.org"),
                "message-type": Variant("u", 0),
                "account": Variant("o", "/im/chinwag/Chinwag/account/1"),
            },
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", "a\nb ü")},
        ]
    ]
    record = remote.signal_record(
        "MessageReceived", "im.chinwag.Messages1", "/im/chinwag/Chinwag", body
    )
    line = remote.json_line(record)
    assert "\n" not in line
    assert json.loads(line) == {
        "signal": "MessageReceived",
        "interface": "im.chinwag.Messages1",
        "path": "/im/chinwag/Chinwag",
        "args": [
            [
                {
                    "message-sender-id": "bob@example.org",
                    "message-type": 0,
                    "account": "/im/chinwag/Chinwag/account/1",
                },
                {"content-type": "text/plain", "content": "a\nb ü"},
            ]
        ],
    }


# --------------------------------------------------------------------------- contacts


def test_contact_record_and_tab_separated_line() -> None:
    props = {
        "SigninName": Variant("s", "bob@example.org"),
        "FriendlyName": Variant("s", "Bob\tB."),
        "Status": Variant("u", 0x0A),
        "StatusMessage": Variant("s", "in a\nmeeting"),
        "Blocked": Variant("b", False),
        "Groups": Variant("ao", []),
    }
    record = remote.contact_record("/im/chinwag/Chinwag/contact/3", props)
    assert record == {
        "address": "bob@example.org",
        "status": "busy",
        "status_value": 0x0A,
        "friendly_name": "Bob\tB.",
        "status_message": "in a\nmeeting",
        "blocked": False,
        "path": "/im/chinwag/Chinwag/contact/3",
    }
    line = remote.contact_line(record)
    assert line.split("\t") == ["bob@example.org", "busy", "Bob B.", "in a meeting"]


# --------------------------------------------------------------------------- errors


def test_api_errors_exit_1_with_name_and_message() -> None:
    failure = remote.failure_from_error("im.chinwag.Error.NotLoggedOn", "0x8100031E: not signed in")
    assert failure.code == Exit.REFUSED
    assert failure.message == "NotLoggedOn: 0x8100031E: not signed in"
    assert failure.error_name == "im.chinwag.Error.NotLoggedOn"


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("org.freedesktop.DBus.Error.ServiceUnknown", "not activatable", Exit.NOT_RUNNING),
        ("org.freedesktop.DBus.Error.NameHasNoOwner", "no owner", Exit.NOT_RUNNING),
        (
            "org.freedesktop.DBus.Error.NoReply",
            "Message recipient disconnected from message bus without replying",
            Exit.NOT_RUNNING,
        ),
        ("org.freedesktop.DBus.Error.NoReply", "Did not receive a reply", Exit.TIMEOUT),
        ("org.freedesktop.DBus.Error.UnknownMethod", "no such method", Exit.REFUSED),
    ],
)
def test_bus_errors_map_to_exit_codes(name: str, text: str, code: Exit) -> None:
    failure = remote.failure_from_error(name, text)
    assert failure.code == code
    if code == Exit.REFUSED:
        assert failure.message == f"{name}: {text}"


def test_a_failed_hr_names_its_error() -> None:
    failure = remote.failure_from_hr(hr_of("InvalidPassword"), "sign-in failed")
    assert failure.code == Exit.REFUSED
    assert failure.message == "InvalidPassword: 0x81000303: sign-in failed"
    assert remote.failure_from_hr(hr_of("Fail"), "x").message == "Fail: 0x80004005: x"
    for name in ("Connect", "TlsFail", "InvalidCertificate"):
        assert remote.failure_from_hr(hr_of(name), "x").message.startswith(
            f"{name}: 0x{HRESULTS[name]:08X}"
        )


# --------------------------------------------------------------------------- start-up


def test_help_and_usage_errors_load_neither_dbus_nor_qt_and_commands_no_qt() -> None:
    code = textwrap.dedent(
        """
        import sys
        from chinwag.cli.remote import main

        def loaded():
            return sorted({m.split(".")[0] for m in sys.modules} & {"dbus_next", "PySide6"})

        for argv in (["send", "-h"], ["status", "bogus"], ["--version"]):
            try:
                main(argv)
            except SystemExit:
                pass
        print("parse:", loaded())
        main(["--bus-address", "unix:path=/nonexistent/bus", "status"])
        print("command:", loaded())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "parse: []" in result.stdout
    assert "command: ['dbus_next']" in result.stdout


# --------------------------------------------------------------------------- received


def test_received_arguments_and_defaults() -> None:
    args = remote.parse_args(["received"])
    assert args.command == "received"
    assert (args.after, args.limit, args.account, args.all) == (0, 1000, None, False)
    args = remote.parse_args(
        ["received", "--after", "41", "--limit", "1", "--account", "me@example.org", "--all"]
    )
    assert (args.after, args.limit, args.account, args.all) == (41, 1, "me@example.org", True)
    assert remote.parse_args(["received", "--limit", "1000", "--after", "0"]).limit == 1000
    top = 2**63 - 1  # the largest x
    assert remote.parse_args(["received", "--after", str(top)]).after == top


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "argument --limit: not a limit from 1 to 1000: '0'"),
        (["--limit", "1001"], "argument --limit: not a limit from 1 to 1000: '1001'"),
        (["--limit", "x"], "argument --limit: not a limit from 1 to 1000: 'x'"),
        (["--limit", "-1"], "argument --limit: not a limit from 1 to 1000: '-1'"),
        (["--limit", "2.5"], "argument --limit: not a limit from 1 to 1000: '2.5'"),
        (["--after", "x"], "argument --after: not a message sequence: 'x'"),
        (["--after", "1.5"], "argument --after: not a message sequence: '1.5'"),
        (["--after", ""], "argument --after: not a message sequence: ''"),
        (["--after", "-1"], "argument --after: message sequence '-1' is out of range"),
        (["--after", str(2**63)], f"argument --after: message sequence '{2**63}' is out of"),
    ],
)
def test_received_bad_after_or_limit_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        remote.parse_args(["received", *argv])
    assert exited.value.code == Exit.USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: chinwag-remote received"), err
    assert f"chinwag-remote received: error: {message}" in err


def test_received_bad_limit_through_main_exits_2_before_any_bus(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:  # no bus address at all: parsing stops first
        remote.main(["--bus-address", "unix:path=/nonexistent/bus", "received", "--limit", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().out == ""


def test_received_has_help_with_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        remote.parse_args(["received", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: chinwag-remote received" in out
    assert "GetReceived" in out
    assert "message-sequence" in out
    assert "exit status:" in out
    with pytest.raises(SystemExit):
        remote.parse_args(["--help"])
    assert "received" in capsys.readouterr().out  # listed among the commands


@pytest.mark.parametrize(
    ("after", "message", "sequence"),
    [
        (0, [{"message-sequence": 1, "content": "x"}], 1),
        (1000, [{"message-sequence": 2000}, {"content": "hi"}], 2000),
    ],
)
def test_next_after_is_the_last_message_sequence(
    after: int, message: list[dict[str, object]], sequence: int
) -> None:
    assert remote.next_after(after, message) == sequence


@pytest.mark.parametrize(
    ("after", "message", "why"),
    [
        (0, [{"message-type": 0}], "without a message-sequence"),
        (0, [], "without a message-sequence"),
        (0, [{"message-sequence": "7"}], "without a message-sequence"),
        (0, [{"message-sequence": True}], "without a message-sequence"),
        (5, [{"message-sequence": 5}], "message-sequence 5 after asking for those after 5"),
        (5, [{"message-sequence": 3}], "message-sequence 3 after"),
    ],
)
def test_next_after_refuses_what_would_page_for_ever(
    after: int, message: list[dict[str, object]], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        remote.next_after(after, message)


def test_received_help_and_usage_errors_load_no_dbus_next() -> None:
    code = textwrap.dedent(
        """
        import sys
        from chinwag.cli.remote import main

        for argv in (["--help"], ["received", "--help"], ["received", "--limit", "0"],
                     ["received", "--after", "x"]):
            try:
                main(argv)
            except SystemExit:
                pass
        print("loaded:", sorted({m.split(".")[0] for m in sys.modules} & {"dbus_next", "PySide6"}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "loaded: []" in result.stdout, result.stdout
    assert "usage: chinwag-remote received" in result.stdout  # the help was printed


def test_signin_local_needs_no_address_and_takes_no_server_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = remote.parse_args(["signin", "--local", "--wait"])
    assert args.local
    assert args.address is None
    for extra in (["me@example.org"], ["--host=example.org"], ["--register"]):
        with pytest.raises(SystemExit) as exited:
            remote.parse_args(["signin", "--local", *extra])
        assert exited.value.code == 2
        assert "signin --local: no server" in capsys.readouterr().err
