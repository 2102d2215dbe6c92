#!/bin/sh
# Send one message from cron (or any script) through the running Chinwag.
#
#   cron_send.sh ADDRESS TEXT...
#
# crontab -e, for a reminder every weekday at 9:55:
#   55 9 * * 1-5  $HOME/bin/cron_send.sh team@example.org "Stand-up in 5 minutes"
#
# Silent when the server has taken the message (cron mails whatever a job prints, so
# only failures are printed). Exit status is chinwag-remote's: 0 sent, 1 refused (e.g.
# the account is signed out), 2 usage, 3 Chinwag is not running, 4 not sent within
# $TIMEOUT seconds -- the message then stays queued in Chinwag and goes when it can.
set -u

if [ "$#" -lt 2 ]; then
    echo "usage: $0 ADDRESS TEXT..." >&2
    exit 2
fi
address=$1
shift

# cron starts jobs with a bare environment: no session bus address and a short PATH.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    DBUS_SESSION_BUS_ADDRESS="unix:path=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/bus"
    export DBUS_SESSION_BUS_ADDRESS
fi
remote=${CHINWAG_REMOTE:-$(command -v chinwag-remote || echo "$HOME/.local/bin/chinwag-remote")}
TIMEOUT=${TIMEOUT:-120}

# "--" so that an address or text starting with "-" is not taken for an option; the
# token chinwag-remote prints goes nowhere, its errors go to stderr (and to cron's mail).
"$remote" send --wait sent --timeout "$TIMEOUT" -- "$address" "$*" >/dev/null
status=$?
case $status in
    0) ;;
    3) echo "$0: Chinwag is not running (or no session bus); nothing sent to $address" >&2 ;;
    4) echo "$0: not sent to $address within ${TIMEOUT}s; it stays queued in Chinwag" >&2 ;;
    *) echo "$0: sending to $address failed (chinwag-remote exit $status)" >&2 ;;
esac
exit "$status"
