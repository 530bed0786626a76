#!/usr/bin/env bash
# Records a real `toolbridge-mcp demo` session driven by the MCP Inspector CLI, as the
# transcript in docs/clients.md: starts `demo` on a free port, takes the token it prints,
# runs the Inspector commands a person would type, and prints each command with its
# actual output (long outputs trimmed, with a note). Stops the demo when done.
#
# Usage: bash tests/interop/transcript.sh [path/to/toolbridge-mcp] > transcript.txt
# Needs: the binary (cargo build), `(cd tests/interop/node && npm ci)`, python3 and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${1:-target/debug/toolbridge-mcp}
NODE_DIR=tests/interop/node
NODE=$NODE_DIR/node_modules/node/bin/node
INSPECTOR=$NODE_DIR/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
[ -x "$BIN" ] || { echo "no $BIN: run cargo build first" >&2; exit 1; }
[ -x "$NODE" ] || { echo "no $NODE: run (cd $NODE_DIR && npm ci) first" >&2; exit 1; }

work=$(mktemp -d)
demo_pid=
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work # the Inspector keeps its catalog under ~/.mcp-inspector

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" demo --port "$PORT" >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
for _ in $(seq 100); do
  grep -q 'Dev token' "$work/demo.out" 2>/dev/null && break
  sleep 0.1
done
TOKEN=$(awk '/Dev token/ {print $3}' "$work/demo.out")
URL=http://127.0.0.1:$PORT/mcp
[ -n "$TOKEN" ] || { echo "demo printed no token:" >&2; cat "$work/demo.out" "$work/demo.err" >&2; exit 1; }

# `inspector` as the transcript shows it; here it is the pinned copy in tests/interop/node.
inspector() { "$NODE" "$INSPECTOR" "$@"; }

# show MAX_LINES DISPLAYED_COMMAND -- COMMAND...: prints the command, then its output
# (first MAX_LINES lines, and a note of how many more) and a non-zero exit status.
show() {
  local max=$1 shown=$2 status=0
  shift 3
  printf '$ %s\n' "$shown"
  "$@" >"$work/out" 2>&1 || status=$?
  local total
  total=$(wc -l <"$work/out")
  head -n "$max" "$work/out"
  if [ "$total" -gt "$max" ]; then
    printf '[... %d more lines trimmed for this page]\n' "$((total - max))"
  fi
  if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status"; fi
  printf '\n'
}

CLI='inspector --cli $URL --transport http --header "Authorization: Bearer $TOKEN"'
cli() { inspector --cli "$URL" --transport http --header "Authorization: Bearer $TOKEN" "$@"; }

printf '# recorded %s with %s and MCP Inspector %s (Node %s)\n' \
  "$(date -u +%Y-%m-%d)" "$("$BIN" --version)" "$(inspector --version)" "$("$NODE" --version)"
printf '$ inspector() { npx -y @modelcontextprotocol/inspector@%s "$@"; }\n\n' "$(inspector --version)"
printf '$ toolbridge-mcp demo --port %s &\n' "$PORT"
sed -n '1,6p' "$work/demo.out"
printf '[... the connection hints for Inspector and Claude Desktop trimmed for this page]\n\n'
printf '$ TOKEN=%s...   # the Dev token above\n' "${TOKEN:0:16}"
printf '$ URL=%s\n\n' "$URL"

show 20 "$CLI --method tools/list" -- cli --method tools/list
count_tools() { cli --method tools/list | jq '.tools | length'; }
show 5 "$CLI --method tools/list | jq '.tools | length'" -- count_tools
show 40 "$CLI --method tools/call --tool-name health_check" -- \
  cli --method tools/call --tool-name health_check
show 40 "$CLI --method tools/call --tool-name create_note --tool-arg title='Shopping' --tool-arg content='milk, eggs'" -- \
  cli --method tools/call --tool-name create_note --tool-arg title=Shopping --tool-arg 'content=milk, eggs'
NOTE=$(jq -r '.structuredContent.uid' "$work/out")
printf '$ NOTE=%s   # the uid above\n\n' "$NOTE"
show 40 "$CLI --method tools/call --tool-name patch_note --tool-arg uid=\$NOTE --tool-arg 'updates={\"title\":\"Groceries\"}'" -- \
  cli --method tools/call --tool-name patch_note --tool-arg "uid=$NOTE" --tool-arg 'updates={"title":"Groceries"}'
show 40 "$CLI --method tools/call --tool-name list_notes --tool-arg limit=10" -- \
  cli --method tools/call --tool-name list_notes --tool-arg limit=10
show 40 "$CLI --method tools/call --tool-name delete_note --tool-arg uid=\$NOTE" -- \
  cli --method tools/call --tool-name delete_note --tool-arg "uid=$NOTE"
show 40 "$CLI --method tools/call --tool-name get_note --tool-arg uid=\$NOTE" -- \
  cli --method tools/call --tool-name get_note --tool-arg "uid=$NOTE"
show 40 "$CLI --method tools/call --tool-name get_note --tool-arg uid=nope" -- \
  cli --method tools/call --tool-name get_note --tool-arg uid=nope
