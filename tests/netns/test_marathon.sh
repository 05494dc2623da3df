#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# batond following a Marathon API server (tests/client/replay_marathon.py, run in the
# load balancer's namespace on its loopback) whose app /web has tasks on the backends:
#  A. the service (bound to all of the load balancer's addresses, port 10000) spreads
#     new connections over the running tasks;
#  B. a long transfer runs; a task elsewhere is killed (TASK_KILLED event): the
#     transfer goes on; a new task (TASK_RUNNING event) receives new flows;
#  C. the transfer's own task goes TASK_KILLING (drained): the transfer goes on, new
#     flows avoid it; events are applied without waiting for a full fetch;
#  D. the first Marathon URL stops answering: batond fails over to the second one and
#     follows its events; the stream cut mid-event is survived the same way.
# usage: test_marathon.sh BATOND REPLAY_SCRIPT
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init marathon 42 "${1:-}"
REPLAY=${2:-}
[ -f "$REPLAY" ] || bt_skip "no replay_marathon.py given"
PORT=10000
LB=$BT_V4NET.1.1
STREAM_SECONDS=8

bt_topology 3
bt_start_backends


start_replay() { # start_replay PORT -> REPLAY_PID
	bt_marathon_apps_json "t1:1 t2:2" >"$BT_RUN/apps.json"
	bt_bg "$BT_LB" "$BT_PY" "$REPLAY" --port "$1" --apps "$BT_RUN/apps.json" --heartbeat 1 \
		--max-seconds 170 >"$BT_RUN/replay$1.log" 2>&1
	REPLAY_PID=$BT_LAST_PID
	bt_wait_line "$BT_RUN/replay$1.log" '^ready' 10 || bt_fail "replay server $1 did not start"
}

start_replay 18080
REPLAY1=$REPLAY_PID
start_replay 18081
REPLAY2=$REPLAY_PID

mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" -v --state-dir "$BT_RUN/state" \
	--marathon http://127.0.0.1:18080,http://127.0.0.1:18081 --stream-timeout 3 --max-backoff 1 \
	${BT_BATOND_ARGS:-} >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_marathon_wait_applied 1

# ---- A ----
bt_client tcp --addr "$LB" --port $PORT --count 200 --max-seconds 30 --timeout 5 >"$BT_RUN/a" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/a" 200 "A"
echo "A: 200 connections to $LB:$PORT: b1 $(bt_backend_count "$BT_RUN/a" b1), b2 $(bt_backend_count "$BT_RUN/a" b2), b3 $(bt_backend_count "$BT_RUN/a" b3)"
[ "$(bt_backend_count "$BT_RUN/a" b1)" -gt 40 ] && [ "$(bt_backend_count "$BT_RUN/a" b2)" -gt 40 ] ||
	bt_fail "A: not spread over the two tasks"
[ "$(bt_backend_count "$BT_RUN/a" b3)" = 0 ] || bt_fail "A: b3 runs no task yet"

# The app's VIP_0 label "/web:80": an address from the pool, persisted, and a frontend.
VIP=$(awk '$1 == "web" { print $2 }' "$BT_RUN/state/vips" 2>/dev/null)
case $VIP in 11.*) ;; *) bt_fail "A: no VIP allocated for /web:80 in $BT_RUN/state/vips" ;; esac
bt_client tcp --addr "$VIP" --port 80 --count 50 --max-seconds 20 --timeout 5 >"$BT_RUN/vip" ||
	bt_fail "client failed (VIP)"
bt_expect_all_ok "$BT_RUN/vip" 50 "A: VIP $VIP:80"
grep -qx "$VIP web.marathon.l4lb.thisdcos.directory" "$BT_RUN/state/vips.hosts" ||
	bt_fail "A: $VIP web.marathon.l4lb.thisdcos.directory not in $BT_RUN/state/vips.hosts"
grep -qx "route $VIP/32 blackhole;" "$BT_RUN/state/bird-vips4.conf" ||
	bt_fail "A: no BIRD route for $VIP in $BT_RUN/state/bird-vips4.conf"
echo "A: VIP_0 /web:80 allocated $VIP (persisted, in vips.hosts and bird-vips4.conf); 50 connections to $VIP:80 answered: $(grep '^backend' "$BT_RUN/vip" | tr '\n' ' ')"

# ---- B ----
bt_client_bg stream --addr "$LB" --port $PORT --seconds $STREAM_SECONDS --timeout 5 >"$BT_RUN/stream" 2>&1
STREAM_PID=$BT_LAST_PID
bt_wait_line "$BT_RUN/stream" '^stream_(backend|status)=' 10 || bt_fail "stream did not start"
SB=$(sed -n 's/^stream_backend=//p' "$BT_RUN/stream")
case $SB in b1) OTHER=2 OTHER_T=t2 MINE_T=t1 MINE=1 ;; b2) OTHER=1 OTHER_T=t1 MINE_T=t2 MINE=2 ;; *) bt_fail "stream on $SB" ;; esac
n=$(bt_marathon_applied_count status_update_event)
bt_marathon_status 18080 "$OTHER_T" "$OTHER" TASK_KILLED
bt_marathon_status 18080 t3 3 TASK_RUNNING
bt_marathon_wait_applied $((n + 2)) status_update_event
bt_client tcp --addr "$LB" --port $PORT --count 100 --max-seconds 30 --timeout 5 >"$BT_RUN/b" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/b" 100 "B"
echo "B: stream on $SB; killed web.$OTHER_T (b$OTHER), started web.t3 (b3): $(grep '^backend' "$BT_RUN/b" | tr '\n' ' ')"
[ "$(bt_backend_count "$BT_RUN/b" "b$OTHER")" = 0 ] || bt_fail "B: new flows reached the killed task"
[ "$(bt_backend_count "$BT_RUN/b" b3)" -gt 20 ] || bt_fail "B: the new task got no new flows"

# ---- C ----
n=$(bt_marathon_applied_count status_update_event)
bt_marathon_status 18080 "$MINE_T" "$MINE" TASK_KILLING
bt_marathon_wait_applied $((n + 1)) status_update_event
bt_client tcp --addr "$LB" --port $PORT --count 50 --max-seconds 30 --timeout 5 >"$BT_RUN/c" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/c" 50 "C"
[ "$(bt_backend_count "$BT_RUN/c" b3)" = 50 ] || bt_fail "C: new flows reached the draining task: $(grep '^backend' "$BT_RUN/c" | tr '\n' ' ')"
bt_wait_pid "$STREAM_PID" $((STREAM_SECONDS + 20))
line=$(grep '^stream_status=' "$BT_RUN/stream")
echo "C: web.$MINE_T draining; 50 new connections all on b3; the stream: $line"
[ "$(bt_field "$BT_RUN/stream" stream_status)" = ok ] || bt_fail "C: the transfer broke: $line"
[ "$(bt_field "$BT_RUN/stream" bytes)" = "$(bt_field "$BT_RUN/stream" expected)" ] || bt_fail "C: short transfer"

# ---- D ----
# The second server's state matches what the events made of the first one.
bt_marathon_apps_json "$MINE_T:$MINE t3:3" >"$BT_RUN/apps2.json"
bt_ns "$BT_LB" curl -sS -X PUT --max-time 5 http://127.0.0.1:18081/_test/apps \
	--data-binary @"$BT_RUN/apps2.json" || bt_fail "cannot set the second server's apps"
fetches=$(bt_marathon_applied_count fetch)
bt_ns "$BT_LB" curl -sS -X POST --max-time 5 http://127.0.0.1:18080/_test/cut || true
kill -KILL "$REPLAY1"
bt_wait_line "$BT_BATOND_LOG" 'marathon http://127.0.0.1:18081: event stream connected' 20 ||
	bt_fail "D: no failover to the second URL"
bt_marathon_wait_applied $((fetches + 1)) fetch # the full fetch that follows every reconnect
n=$(bt_marathon_applied_count status_update_event)
bt_marathon_status 18081 t4 1 TASK_RUNNING
bt_marathon_wait_applied $((n + 1)) status_update_event
bt_client tcp --addr "$LB" --port $PORT --count 100 --max-seconds 30 --timeout 5 >"$BT_RUN/d" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/d" 100 "D"
echo "D: first Marathon killed mid-event; following the second: $(grep '^backend' "$BT_RUN/d" | tr '\n' ' ')"
[ "$(bt_backend_count "$BT_RUN/d" b1)" -gt 10 ] || bt_fail "D: the task from the second Marathon's event got no flows"
grep -E 'fail|error' "$BT_BATOND_LOG" | grep -v 'level' | tail -n 3 | sed 's/^/  batond: /'
echo "PASS"
