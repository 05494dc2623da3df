#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Established flows survive control-plane churn.
#  A. A long transfer (8 s stream) runs through the VIP; meanwhile its backend is
#     removed from the config and batond reloaded (SIGHUP). The transfer completes
#     with every byte and a clean close; new connections never reach the removed
#     backend.
#  B. Same transfer; meanwhile batond is killed with SIGKILL and restarted: the XDP
#     program keeps forwarding while no batond runs, the new batond adopts the pins,
#     the transfer completes and new connections keep working.
# usage: test_churn_tcp.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init churn 32 "${1:-}"
CONF=$BT_RUN/config.json
STREAM_SECONDS=8

bt_topology 3
bt_start_backends
bt_config "$CONF" "1:1 2:1 3:1" "tcp4"
bt_start_batond "$CONF"

# start_stream OUT: a stream client in the background; sets STREAM_PID, STREAM_BACKEND
start_stream() {
	local out=$1
	bt_client_bg stream --addr "$BT_VIP4" --port 80 --seconds $STREAM_SECONDS --timeout 5 >"$out" 2>&1
	STREAM_PID=$BT_LAST_PID
	bt_wait_line "$out" '^stream_(backend|status)=' 10 || bt_fail "stream did not start"
	STREAM_BACKEND=$(sed -n 's/^stream_backend=//p' "$out")
	[ -n "$STREAM_BACKEND" ] || bt_fail "stream failed at once: $(cat "$out")"
}

# finish_stream OUT LABEL: wait (bounded) and check every byte arrived, no reset
finish_stream() {
	local out=$1 label=$2
	bt_wait_pid "$STREAM_PID" $((STREAM_SECONDS + 20))
	[ $? != 124 ] || bt_fail "$label: stream still running after $((STREAM_SECONDS + 20)) s"
	local line
	line=$(grep '^stream_status=' "$out")
	echo "$label: stream from $STREAM_BACKEND: $line"
	[ "$(bt_field "$out" stream_status)" = ok ] || bt_fail "$label: transfer broken: $line"
	[ "$(bt_field "$out" bytes)" = "$(bt_field "$out" expected)" ] || bt_fail "$label: short transfer"
}

# ---- A: remove the stream's backend, SIGHUP ----
start_stream "$BT_RUN/streamA"
sleep 2
idx=${STREAM_BACKEND#b}
case $idx in 1) keep="2:1 3:1" ;; 2) keep="1:1 3:1" ;; 3) keep="1:1 2:1" ;; *) bt_fail "unknown backend $STREAM_BACKEND" ;; esac
bt_config "$CONF" "$keep" "tcp4"
bt_reload
echo "A: removed $STREAM_BACKEND from the config at 2 s into the stream, reloaded"
bt_client tcp --addr "$BT_VIP4" --port 80 --count 200 --max-seconds 30 --timeout 5 >"$BT_RUN/newA" ||
	bt_fail "client failed"
echo "A: 200 new connections during the stream: $(grep '^backend' "$BT_RUN/newA" | tr '\n' ' ')"
bt_expect_all_ok "$BT_RUN/newA" 200 "A: new connections"
[ "$(bt_backend_count "$BT_RUN/newA" "$STREAM_BACKEND")" = 0 ] ||
	bt_fail "A: new connections reached the removed backend $STREAM_BACKEND"
finish_stream "$BT_RUN/streamA" "A"
bt_client tcp --addr "$BT_VIP4" --port 80 --count 100 --max-seconds 30 --timeout 5 >"$BT_RUN/newA2" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/newA2" 100 "A: new connections after the stream"
[ "$(bt_backend_count "$BT_RUN/newA2" "$STREAM_BACKEND")" = 0 ] ||
	bt_fail "A: new connections after the stream reached the removed backend $STREAM_BACKEND"
echo "A: 100 more new connections after the stream: $(grep '^backend' "$BT_RUN/newA2" | tr '\n' ' ')"

# ---- B: SIGKILL batond mid-transfer, restart it ----
bt_config "$CONF" "1:1 2:1 3:1" "tcp4"
bt_reload
start_stream "$BT_RUN/streamB"
sleep 2
prog_before=$(bt_xdp_id lbc)
bt_kill_batond KILL
echo "B: batond killed with SIGKILL at 2 s into the stream (XDP prog id on lbc: $prog_before)"
[ -n "$(bt_xdp_id lbc)" ] && [ -n "$(bt_xdp_id lbb)" ] || bt_fail "B: XDP program gone after SIGKILL"
bt_client tcp --addr "$BT_VIP4" --port 80 --count 50 --max-seconds 20 --timeout 5 >"$BT_RUN/newB0" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/newB0" 50 "B: new connections with no batond running"
echo "B: 50 new connections with no batond: $(grep '^backend' "$BT_RUN/newB0" | tr '\n' ' ')"
bt_start_batond "$CONF"
echo "B: new batond adopted the pins (XDP prog id on lbc: $(bt_xdp_id lbc))"
bt_client tcp --addr "$BT_VIP4" --port 80 --count 100 --max-seconds 30 --timeout 5 >"$BT_RUN/newB" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/newB" 100 "B: new connections after the restart"
echo "B: 100 new connections after the restart: $(grep '^backend' "$BT_RUN/newB" | tr '\n' ' ')"
finish_stream "$BT_RUN/streamB" "B"
echo "PASS"
