"""``chinwag-remote``: drives a running Chinwag over its D-Bus automation API.

The API itself arrives with the automation issue; until then this prints its usage."""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """\
usage: chinwag-remote COMMAND [ARGS]

Commands (available once the automation API is in place):
  send ADDRESS [TEXT]     send a one-off message (TEXT from stdin when omitted)
  open ADDRESS            open a conversation window
  status STATUS [MESSAGE] set your status and status message
  contacts                list contacts with their status
  signin | signout        sign every account in or out
  watch                   print every event as one JSON object per line
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    sys.stderr.write(USAGE)
    sys.stderr.write("\nchinwag-remote: the automation API is not available in this version\n")
    return 2
