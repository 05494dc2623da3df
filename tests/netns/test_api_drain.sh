#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The HTTP API and the baton CLI against a live batond following a Marathon API server
# (tests/client/replay_marathon.py in the load balancer's namespace) whose app /web has
# three tasks and a VIP_0 label:
#  A. `baton status|services|vips|backends` show the Marathon connection, the maps, the
#     program on both interfaces, the service, its VIP and its backends;
#  B. a long transfer runs on one backend; `baton drain` that backend: new connections
#     avoid it, the API shows it drained with one active flow, the transfer goes on;
#  C. the drain survives a Marathon event (another task killed) and a full fetch;
#     the transfer ends with every byte;
#  D. the drain survives a batond restart (persisted in --state-dir);
#  E. `baton undrain`: the backend takes new connections again;
#  F. the CLI's errors and exit codes (404 -> 1, unreachable -> 3, usage -> 2).
# usage: test_api_drain.sh BATOND REPLAY_SCRIPT BATON_CLI
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init api-drain 43 "${1:-}"
REPLAY=${2:-}
BATON=${3:-}
[ -f "$REPLAY" ] || bt_skip "no replay_marathon.py given"
[ -x "$BATON" ] || bt_skip "baton CLI not built ($BATON)"
command -v jq >/dev/null || bt_skip "jq not installed"
command -v curl >/dev/null || bt_skip "curl not installed"
PORT=10000
LB=$BT_V4NET.1.1
API=http://127.0.0.1:19443
STREAM_SECONDS=8

bt_topology 3
bt_start_backends

baton() { bt_ns "$BT_LB" "$BATON" --api "$API" "$@"; }
api() { bt_ns "$BT_LB" curl -sS --max-time 5 "$API$1"; }
start_batond() {
	bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" --state-dir "$BT_RUN/state" \
		--marathon http://127.0.0.1:18080 --api-listen 127.0.0.1:19443 \
		${BT_BATOND_ARGS:-} >>"$BT_BATOND_LOG" 2>&1
	BT_BATOND_PID=$BT_LAST_PID
}
# new_conns COUNT FILE: COUNT connections to the service, all answered
new_conns() {
	bt_client tcp --addr "$LB" --port $PORT --count "$1" --max-seconds 30 --timeout 5 >"$2" ||
		bt_fail "client failed"
	bt_expect_all_ok "$2" "$1" "$(basename "$2")"
}

bt_marathon_apps_json "t1:1 t2:2 t3:3" >"$BT_RUN/apps.json"
bt_bg "$BT_LB" "$BT_PY" "$REPLAY" --port 18080 --apps "$BT_RUN/apps.json" --heartbeat 1 \
	--max-seconds 170 >"$BT_RUN/replay.log" 2>&1
bt_wait_line "$BT_RUN/replay.log" '^ready' 10 || bt_fail "replay server did not start"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
start_batond
bt_marathon_wait_applied 1 fetch

# ---- A ----
baton status >"$BT_RUN/status.txt" || bt_fail "A: baton status failed"
sed 's/^/  /' "$BT_RUN/status.txt"
grep -q '^marathon *connected to http://127.0.0.1:18080$' "$BT_RUN/status.txt" ||
	bt_fail "A: status does not show the Marathon connection"
grep -Eq '^interface lbc *program [0-9]+, native$' "$BT_RUN/status.txt" ||
	bt_fail "A: status does not show the program on lbc"
baton --json status >"$BT_RUN/status.json" || bt_fail "A: baton --json status failed"
jq -e '.marathon.connected == true and .mode == "marathon" and .maps.backends.used == 3 and
	(.xdp.program_id | type) == "number" and .xdp.interfaces[1].program_id == .xdp.program_id and
	.marathon.last_full_sync != null and .vips.ok == 1' "$BT_RUN/status.json" >/dev/null ||
	bt_fail "A: /v1/status is not what it should be: $(cat "$BT_RUN/status.json")"
baton services >"$BT_RUN/services.txt" || bt_fail "A: baton services failed"
sed 's/^/  /' "$BT_RUN/services.txt"
head -n1 "$BT_RUN/services.txt" | grep -q '^SERVICE  *PROTO  *FRONTENDS  *BACKENDS  *DRAINED  *ACTIVE  *NEW_FLOWS  *BYTES$' ||
	bt_fail "A: services table header"
grep -Eq '^/web:0 +tcp +.*:10000.*\(vip\) +3/3 +0 ' "$BT_RUN/services.txt" ||
	bt_fail "A: /web:0 with 3 of 3 backends and its VIP not in the services table"
# Columns line up: every row has the PROTO column where the header has it.
col=$(head -n1 "$BT_RUN/services.txt" | awk '{ print index($0, "PROTO") }')
awk -v c="$col" 'NR > 1 && substr($0, c, 3) != "tcp" { exit 1 }' "$BT_RUN/services.txt" ||
	bt_fail "A: the services table is not aligned"
baton service /web >"$BT_RUN/service.txt" || bt_fail "A: baton service failed"
[ "$(grep -Ec '^10\.43\.2\.1[123]:3100[123] +/web:0 +web\.t[123] +1 +serving ' "$BT_RUN/service.txt")" = 3 ] ||
	bt_fail "A: baton service /web does not list the three backends: $(cat "$BT_RUN/service.txt")"
baton vips >"$BT_RUN/vips.txt" || bt_fail "A: baton vips failed"
sed 's/^/  /' "$BT_RUN/vips.txt"
VIP=$(awk '$1 == "web" { print $2 }' "$BT_RUN/state/vips")
grep -Eq "^/web:0 +/web:80 +ok +$VIP:80 +web.marathon.l4lb.thisdcos.directory" "$BT_RUN/vips.txt" ||
	bt_fail "A: the VIP $VIP:80 is not in the vips table"
echo "A: status, services, vips as tables and JSON; VIP $VIP"

# ---- B ----
bt_client_bg stream --addr "$LB" --port $PORT --seconds $STREAM_SECONDS --timeout 5 >"$BT_RUN/stream" 2>&1
STREAM_PID=$BT_LAST_PID
bt_wait_line "$BT_RUN/stream" '^stream_(backend|status)=' 10 || bt_fail "stream did not start"
SB=$(sed -n 's/^stream_backend=//p' "$BT_RUN/stream")
case $SB in b[123]) I=${SB#b} ;; *) bt_fail "stream on $SB" ;; esac
ID=$BT_V4NET.2.1$I:$((31000 + I))
baton drain "$ID" --reason "kernel upgrade" >"$BT_RUN/drain.txt" || bt_fail "B: baton drain failed"
grep -qx "$ID drained (services: /web:0)" "$BT_RUN/drain.txt" ||
	bt_fail "B: baton drain said: $(cat "$BT_RUN/drain.txt")"
grep -q "^$ID [0-9]* kernel upgrade$" "$BT_RUN/state/drains" || bt_fail "B: drain not persisted"
new_conns 60 "$BT_RUN/b"
echo "B: drained $ID ($SB, carrying the stream): $(grep '^backend' "$BT_RUN/b" | tr '\n' ' ')"
[ "$(bt_backend_count "$BT_RUN/b" "$SB")" = 0 ] || bt_fail "B: new flows reached the drained backend"
sleep 1.1 # the flow walk is cached for a second
api "/v1/backends?service=/web:0" >"$BT_RUN/backends.json"
jq -e --arg id "$ID" '.backends[] | select(.id == $id) | .drained == true and .weight == 0 and
	.active_flows == 1 and .drained_reason == "kernel upgrade" and .task_id == "web.t'"$I"'"' \
	"$BT_RUN/backends.json" >/dev/null ||
	bt_fail "B: /v1/backends does not show $ID drained with its one open flow: $(cat "$BT_RUN/backends.json")"
baton backends /web >"$BT_RUN/backends.txt" || bt_fail "B: baton backends failed"
sed 's/^/  /' "$BT_RUN/backends.txt"
grep -Eq "^$ID +/web:0 +web.t$I +0 +drained +1 " "$BT_RUN/backends.txt" ||
	bt_fail "B: baton backends does not show $ID drained with one active flow"

# ---- C ----
n=$(bt_marathon_applied_count status_update_event)
K=3
[ "$I" = 3 ] && K=2 # kill a task other than the drained one; one keeps serving
bt_marathon_status 18080 t$K $K TASK_KILLED
bt_marathon_wait_applied $((n + 1)) status_update_event
new_conns 40 "$BT_RUN/c1"
[ "$(bt_backend_count "$BT_RUN/c1" "$SB")" = 0 ] ||
	bt_fail "C: after a Marathon event new flows reached the drained backend: $(grep '^backend' "$BT_RUN/c1" | tr '\n' ' ')"
n=$(bt_marathon_applied_count fetch)
kill -HUP "$BT_BATOND_PID"
bt_marathon_wait_applied $((n + 1)) fetch
new_conns 40 "$BT_RUN/c2"
[ "$(bt_backend_count "$BT_RUN/c2" "$SB")" = 0 ] ||
	bt_fail "C: after a full fetch new flows reached the drained backend: $(grep '^backend' "$BT_RUN/c2" | tr '\n' ' ')"
bt_wait_pid "$STREAM_PID" $((STREAM_SECONDS + 20))
line=$(grep '^stream_status=' "$BT_RUN/stream")
echo "C: after an event: $(grep '^backend' "$BT_RUN/c1" | tr '\n' ' '); after a full fetch: $(grep '^backend' "$BT_RUN/c2" | tr '\n' ' '); the stream: $line"
[ "$(bt_field "$BT_RUN/stream" stream_status)" = ok ] || bt_fail "C: the transfer on the drained backend broke: $line"

# ---- D ----
bt_kill_batond TERM
start_batond
bt_marathon_wait_applied $((n + 2)) fetch
grep -q "operator drains in force: 1" "$BT_BATOND_LOG" || bt_fail "D: the restart did not load the drain"
new_conns 40 "$BT_RUN/d"
echo "D: after a restart: $(grep '^backend' "$BT_RUN/d" | tr '\n' ' ')"
[ "$(bt_backend_count "$BT_RUN/d" "$SB")" = 0 ] || bt_fail "D: the drain did not survive the restart"

# ---- E ----
baton undrain "$ID" >"$BT_RUN/undrain.txt" || bt_fail "E: baton undrain failed"
grep -qx "$ID undrained (services: /web:0)" "$BT_RUN/undrain.txt" || bt_fail "E: baton undrain said: $(cat "$BT_RUN/undrain.txt")"
baton undrain "$ID" | grep -qx "$ID was not drained (services: /web:0)" || bt_fail "E: a second undrain is not a no-op"
new_conns 60 "$BT_RUN/e"
echo "E: undrained: $(grep '^backend' "$BT_RUN/e" | tr '\n' ' ')"
[ "$(bt_backend_count "$BT_RUN/e" "$SB")" -gt 5 ] || bt_fail "E: the undrained backend gets no new flows"
grep -q "^$ID" "$BT_RUN/state/drains" && bt_fail "E: the undrain is not persisted"

# ---- F ----
baton drain 10.99.99.99:1 >/dev/null 2>"$BT_RUN/f1"
rc=$?
[ $rc = 1 ] && grep -q 'HTTP 404 not_found: no backend 10.99.99.99:1' "$BT_RUN/f1" ||
	bt_fail "F: drain of an unknown backend: exit $rc, $(cat "$BT_RUN/f1")"
bt_ns "$BT_LB" "$BATON" --api http://127.0.0.1:1 status >/dev/null 2>"$BT_RUN/f2"
rc=$?
[ $rc = 3 ] || bt_fail "F: unreachable API: exit $rc, $(cat "$BT_RUN/f2")"
baton frobnicate >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || bt_fail "F: unknown command: exit $rc"
baton --json backends nosuch >"$BT_RUN/f3"
rc=$?
[ $rc = 1 ] && jq -e '.error == "not_found" and (.reason | test("nosuch"))' "$BT_RUN/f3" >/dev/null ||
	bt_fail "F: --json error passthrough: exit $rc, $(cat "$BT_RUN/f3")"
echo "F: exit codes 1 (404), 3 (unreachable), 2 (usage); --json passes errors through"
echo "PASS"
