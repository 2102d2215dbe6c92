#!/usr/bin/env bash
# ucwa_bot.sh: a UCWA 2.0 bot in shell (curl and jq) that answers every incoming message
# through Chinwag's REST gateway (start Chinwag with --rest-port PORT, or turn "rest" on
# in gateways.json in the settings folder).
#
#   ucwa_bot.sh --key-file FILE [--reply TEXT] [--endpoint ID]
#
# FILE holds a gateway key of kind rest (made once, shown once):
#   chinwag-remote gateway-key create you@example.org --kind rest > FILE; chmod 600 FILE
# Each message is answered with TEXT, or "You said: <the message>" without --reply; a
# line "answered: <the message>" is printed for each. The bot is the application
# --endpoint ID (default ucwa_bot): run again, it carries on where it stopped, and an
# answer is never sent twice (its operationId is the message's).
# Exit codes: 0 stopped (SIGTERM, Ctrl-C), 2 usage, 3 Chinwag's REST gateway is not
# running, 4 the gateway refused (a bad key, ...).
set -euo pipefail
prog=ucwa_bot
key_file="" reply="" endpoint=ucwa_bot

while [ $# -gt 0 ]; do
  case "$1" in
    --key-file) key_file="${2:?}"; shift 2 ;;
    --reply) reply="${2:?}"; shift 2 ;;
    --endpoint) endpoint="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | cut -c3-; exit 0 ;;
    *) echo "$prog: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "$prog: $tool is needed" >&2; exit 2; }
done
[ -n "$key_file" ] || { echo "$prog: --key-file FILE is required" >&2; exit 2; }
key="$(tr -d '[:space:]' < "$key_file")"
state="${XDG_STATE_HOME:-$HOME/.local/state}/chinwag/gateways.json"
port="$(jq -er '.rest.port' "$state" 2>/dev/null)" || {
  echo "$prog: Chinwag's REST gateway is not running" >&2
  exit 3
}
base="http://127.0.0.1:$port"
tmp="$(mktemp -d)"
child=""
trap 'rm -rf "$tmp"' EXIT
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT

# call METHOD HREF [curl arguments]: the answer's body in $tmp/body, its status in $status.
# curl runs in the background so that a signal ends a long poll at once.
call() {
  local method="$1" href="$2" rc=0
  shift 2
  curl -sS -o "$tmp/body" -w '%{http_code}' -X "$method" \
    -H "Authorization: Bearer $key" -H 'Accept: application/json' "$@" "$base$href" \
    > "$tmp/status" &
  child=$!
  wait "$child" || rc=$?
  child=""
  if [ "$rc" -ne 0 ]; then
    echo "$prog: Chinwag's REST gateway is not running (curl exit $rc)" >&2
    exit 3
  fi
  status="$(cat "$tmp/status")"
}

# refused WHAT: say why the gateway refused, and stop.
refused() {
  echo "$prog: $1 refused ($status): $(jq -r '.message // empty' "$tmp/body" 2>/dev/null)" >&2
  exit 4
}

# The text of a data URI (percent-encoded, or base64).
data_text() {
  local uri="$1" payload="${1#*,}"
  case "${uri%%,*}" in
    *';base64') printf '%s' "$payload" | base64 -d ;;
    *) printf '%b' "${payload//%/\\x}" ;;
  esac
}

call POST /ucwa/v1/applications -H 'Content-Type: application/json' \
  --data-binary "$(jq -nc --arg e "$endpoint" '{userAgent: "ucwa_bot.sh", endpointId: $e, culture: "en-US"}')"
[ "$status" = 201 ] || refused "creating the application"
cp "$tmp/body" "$tmp/application"
available="$(jq -r '._embedded.me._links.makeMeAvailable.href // empty' "$tmp/application")"
if [ -n "$available" ]; then
  call POST "$available"
  [ "$status" = 204 ] || [ "$status" = 409 ] || refused "makeMeAvailable"
fi
events="$(jq -r '._links.events.href' "$tmp/application")"
echo "$prog: answering messages; Ctrl-C to stop" >&2

while true; do
  call GET "$events&timeout=60"
  [ "$status" = 200 ] || refused "reading the events"
  cp "$tmp/body" "$tmp/batch"
  jq -c '.sender[].events[]
         | select(.link.rel == "message" and .type == "added"
                  and ._embedded.message.direction == "Incoming")
         | ._embedded.message._links' "$tmp/batch" > "$tmp/incoming"
  while IFS= read -r links; do
    text="$(data_text "$(jq -r '.plainMessage.href' <<< "$links")")"
    self="$(jq -r '.self.href' <<< "$links")"
    call GET "$(jq -r '.messaging.href' <<< "$links")"
    [ "$status" = 200 ] || continue  # (the conversation has ended since)
    send="$(jq -r '._links.sendMessage.href // empty' "$tmp/body")"
    [ -n "$send" ] || continue
    printf '%s' "${reply:-You said: $text}" > "$tmp/reply"
    call POST "$send?operationId=reply-${self##*/}" \
      -H 'Content-Type: text/plain; charset=utf-8' --data-binary "@$tmp/reply"
    case "$status" in
      201) echo "answered: $text" ;;
      409) ;;  # answered already (before a restart)
      503) echo "$prog: not answered, the account is signed out: $text" >&2 ;;
      *) refused "answering" ;;
    esac
  done < "$tmp/incoming"
  events="$(jq -r '._links.next.href' "$tmp/batch")"
done
