#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A flood of spoofed SYNs towards a VIP while established connections stream through
# it: the flood's embryonic flows churn only the embryonic table, so the streams keep
# their flow entries and finish with every byte and no reset, the main flow table holds
# no flood entry afterwards, and new connections work once the flood stops. The flood
# is bounded (FLOOD_MAX SYNs, FLOOD_SECONDS); its rate is reported.
# usage: test_syn_flood.sh BATOND SYNFLOOD
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init syn-flood 46 "${1:-}"
synflood=${2:-}
[ -x "$synflood" ] || bt_skip "no synflood generator given"
command -v bpftool >/dev/null 2>&1 || bt_skip "bpftool not installed"
STREAM_SECONDS=10
FLOOD_SECONDS=${FLOOD_SECONDS:-4}
FLOOD_MAX=${FLOOD_MAX:-4000000}
NSTREAMS=3

bt_topology 2
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4"
bt_start_batond "$BT_RUN/config.json" --api-listen none
# The backends' SYN|ACKs to the spoofed sources come back through the embryonic table
# and are rewritten, then dropped by the route lookup (drop_fib) instead of loading the
# client's link, which on this machine shares the CPUs with everything else.
ip -n "$BT_LB" route add blackhole 198.18.0.0/15 || bt_fail "route for the spoofed sources"

# main_entries: entries in the main flow table (each flow has two)
main_entries() {
	bpftool -j map dump pinned "$BT_BPFFS/baton/flows" 2>/dev/null |
		"$BT_PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

for i in $(seq 1 $NSTREAMS); do
	# A stall while the CPUs are saturated is not a break: only a reset, lost or corrupt
	# bytes are (a read may wait 20 s).
	bt_client_bg stream --addr "$BT_VIP4" --port 80 --seconds $STREAM_SECONDS --timeout 20 \
		>"$BT_RUN/stream$i" 2>&1
	eval "stream_pid$i=$BT_LAST_PID"
done
for i in $(seq 1 $NSTREAMS); do
	bt_wait_line "$BT_RUN/stream$i" '^stream_(backend|status)=' 10 || bt_fail "stream $i did not start"
done
sleep 1
before=$(main_entries)
echo "[${SECONDS}s] $NSTREAMS streams running; main flow table: $before entries"
[ "$before" = $((2 * NSTREAMS)) ] || bt_fail "want $((2 * NSTREAMS)) main entries before the flood, got $before"

cl_mac=$(ip -n "$BT_CL" -br link show cl0 | awk '{print $3}')
lb_mac=$(ip -n "$BT_LB" -br link show lbc | awk '{print $3}')
tx0=$(bt_reason_count fwd_redirect)
fib0=$(bt_reason_count drop_fib)
bt_ns "$BT_CL" timeout $((FLOOD_SECONDS + 10)) "$synflood" cl0 "$lb_mac" "$cl_mac" "$BT_VIP4" 80 \
	"$FLOOD_MAX" "$FLOOD_SECONDS" >"$BT_RUN/flood" 2>&1 || bt_fail "flood generator failed: $(cat "$BT_RUN/flood")"
tx1=$(bt_reason_count fwd_redirect)
fib1=$(bt_reason_count drop_fib)
after=$(main_entries)
echo "[${SECONDS}s] flood: $(cat "$BT_RUN/flood") (spoofed SYNs from 198.18.0.0/15); forwarded to the backends meanwhile: $((tx1 - tx0)) packets; the backends' SYN|ACKs to spoofed sources matched in the embryonic table and dropped by the route: $((fib1 - fib0))"
echo "main flow table after the flood: $after entries"
[ "$after" = "$before" ] || bt_fail "the flood changed the main flow table: $before -> $after entries"

broken=0
for i in $(seq 1 $NSTREAMS); do
	pid_var=stream_pid$i
	bt_wait_pid "${!pid_var}" $((STREAM_SECONDS + 30))
	line=$(grep '^stream_status=' "$BT_RUN/stream$i")
	echo "stream $i ($(sed -n 's/^stream_backend=//p' "$BT_RUN/stream$i")): $line"
	[ "$(bt_field "$BT_RUN/stream$i" stream_status)" = ok ] &&
		[ "$(bt_field "$BT_RUN/stream$i" bytes)" = "$(bt_field "$BT_RUN/stream$i" expected)" ] ||
		broken=$((broken + 1))
done
echo "[${SECONDS}s] established connections broken by the flood: $broken of $NSTREAMS"
[ $broken = 0 ] || bt_fail "$broken established connections broke under the flood"

bt_client tcp --addr "$BT_VIP4" --port 80 --count 50 --max-seconds 30 --timeout 5 >"$BT_RUN/new" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/new" 50 "new connections after the flood"
echo "[${SECONDS}s] after the flood: $(head -n1 "$BT_RUN/new")"
bt_dump_reasons
echo "PASS"
