#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# batond --marathon URL --dry-run against an HTTP server on loopback: the services as
# JSON with the documented fields (no root, no BPF); exit 1 with a message when no URL
# answers; --group selects.
# usage: test_dry_run.sh BATOND REPLAY_SCRIPT FIXTURES_DIR
set -uo pipefail
batond=$1 replay=$2 fixtures=$3
apps=$fixtures/apps/mlb_marathon15_apps.json
[ -f "$apps" ] || { echo "SKIP: no fixture $apps" >&2; exit 77; }
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 "$replay" --port 0 --apps "$apps" --max-seconds 60 >"$tmp/replay.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q '^ready' "$tmp/replay.log" && break; sleep 0.1; done
port=$(sed -n 's/^ready //p' "$tmp/replay.log")
[ -n "$port" ] || fail "replay server did not start"

"$batond" --marathon "http://127.0.0.1:1,http://127.0.0.1:$port" --dry-run >"$tmp/out.json" \
	2>"$tmp/err" || fail "dry run failed: $(cat "$tmp/err")"
python3 - "$tmp/out.json" <<'PY' || fail "unexpected dry-run output: $(cat "$tmp/out.json")"
import json, sys
d = json.load(open(sys.argv[1]))
(s,) = d["services"]
want = {"app_id", "port_index", "service_port", "protocol", "mode", "bind_addr", "vhosts",
        "path", "sticky", "groups", "vips", "backends"}
assert set(s) == want, set(s) ^ want
assert s["app_id"] == "/pywebserver" and s["service_port"] == 10101, s
assert s["mode"] == "http" and s["vhosts"] == ["myvhost.com"], s
assert s["groups"] == ["external"] and s["bind_addr"] == "all", s
(b,) = s["backends"]
assert set(b) == {"address", "port", "task_id", "weight", "draining"}, b
assert b["weight"] == 1 and b["draining"] is False, b
print("dry run: %s port %d mode %s -> %s:%d" % (s["app_id"], s["service_port"], s["mode"],
                                               b["address"], b["port"]))
PY
echo "dry run with a dead first URL: failed over, JSON as documented"

"$batond" --marathon "http://127.0.0.1:$port" --dry-run --group internal >"$tmp/none.json" \
	2>/dev/null || fail "dry run with --group internal failed"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["services"] == []' \
	"$tmp/none.json" || fail "--group internal should select nothing: $(cat "$tmp/none.json")"
echo "dry run with --group internal: no service"

if "$batond" --marathon http://127.0.0.1:1 --dry-run >"$tmp/dead.json" 2>"$tmp/dead.err"; then
	fail "dry run against a dead URL exited 0"
fi
grep -q "no usable answer" "$tmp/dead.err" || fail "no clear message: $(cat "$tmp/dead.err")"
[ ! -s "$tmp/dead.json" ] || fail "output on stdout despite the failure"
echo "dry run against a dead URL: exit 1, $(grep -o 'no usable answer.*' "$tmp/dead.err")"
echo PASS
