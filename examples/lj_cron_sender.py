#!/usr/bin/env python3
"""Send a letter through Chinwag's XML-RPC gateway, from cron or any script.

The LiveJournal / Dreamwidth messaging protocol, as Chinwag's gateway speaks it
(docs/gateways.md section 1), with nothing but Python's standard library:

    chinwag --xmlrpc-port 0        # or turn the gateway on in the settings
    chinwag-remote gateway-key create me@example.org --kind xmlrpc > ~/.chinwag-xmlrpc-key
    chmod 600 ~/.chinwag-xmlrpc-key

    # crontab: every weekday at 9:55
    55 9 * * 1-5  echo "in 5 minutes" | lj_cron_sender.py --user me@example.org \\
                      --key-file ~/.chinwag-xmlrpc-key --subject Stand-up team@example.org

It logs in with the challenge method (the key itself never crosses the wire, only a
digest of it with a single-use challenge), sends the text read from standard input (or
``--body``) to every recipient, and is quiet when all went well, as cron likes. The
gateway's port is read from ``$XDG_STATE_HOME/chinwag/gateways.json`` unless ``--port``
says it.

Exit codes: 0 sent; 2 bad usage; 3 the gateway is not running; 4 the gateway refused
(its fault is printed); 5 accepted, but a send failed afterwards (printed)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import xmlrpc.client
from pathlib import Path

PROG = "lj_cron_sender"


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def gateway_port() -> int | None:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    try:
        data = json.loads((state / "chinwag" / "gateways.json").read_text(encoding="utf-8"))
        return int(data["xmlrpc"]["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Send a letter through Chinwag.")
    parser.add_argument("recipients", nargs="+", metavar="ADDRESS")
    parser.add_argument("--user", required=True, help="the account's address")
    parser.add_argument("--key-file", required=True, help="a file holding the gateway key")
    parser.add_argument("--subject", default="")
    parser.add_argument("--body", help="the text (default: read from standard input)")
    parser.add_argument("--port", type=int, help="the gateway's port (default: gateways.json)")
    args = parser.parse_args(argv)

    try:
        key = Path(args.key_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        print(f"{PROG}: cannot read the key: {exc.strerror or exc}", file=sys.stderr)
        return 2
    body = args.body if args.body is not None else sys.stdin.read()
    port = args.port if args.port is not None else gateway_port()
    if port is None:
        print(f"{PROG}: Chinwag's XML-RPC gateway is not running", file=sys.stderr)
        return 3

    url = f"http://127.0.0.1:{port}/interface/xmlrpc"
    try:
        with xmlrpc.client.ServerProxy(url) as server:
            challenge = server.LJ.XMLRPC.getchallenge()["challenge"]
            answer = server.LJ.XMLRPC.sendmessage(
                {
                    "username": args.user,
                    "auth_method": "challenge",
                    "auth_challenge": challenge,
                    "auth_response": md5_hex(challenge + md5_hex(key)),
                    "to": args.recipients,
                    "subject": args.subject,
                    "body": body.rstrip("\n"),
                }
            )
    except OSError as exc:
        print(f"{PROG}: Chinwag's XML-RPC gateway is not running ({exc})", file=sys.stderr)
        return 3
    except xmlrpc.client.Fault as fault:
        print(f"{PROG}: refused ({fault.faultCode}): {fault.faultString}", file=sys.stderr)
        return 4
    errors = answer.get("last_errors", [])
    for error in errors:
        print(f"{PROG}: {error}", file=sys.stderr)
    return 5 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
