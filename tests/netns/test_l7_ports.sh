#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The L7 lane's backend-leg ports and its per-connection latency: batond with
# --l7-ports of only 4 ports, one backend, rounds of 4 sequential connections a little
# more than a second apart. Every round needs the ports of the round before, which come
# back 1 s after their flow closed (not after all of --tcp-close, 10 s: then round 2
# gets 503), and the backend's SYN|ACK on a reused port reaches the lane, not the old
# client by the old flow entry. Every connection is answered in < 100 ms (curl's
# time_total; 19 of 20 on a shared machine): nothing in the lane waits for a timer.
# usage: test_l7_ports.sh BATOND BATON_L7
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init l7-ports 73 "${1:-}"
L7=${2:-}
[ -n "$L7" ] && [ -x "$L7" ] || bt_skip "baton-l7 not built (no libdpdk)"
command -v curl >/dev/null || bt_skip "curl not installed"

bt_topology 1
bt_bg "$BT_PREFIX-b1" "$BT_PY" "$BT_LIB_DIR/l7_backend.py" --name b1 --port "$(bt_backend_port 1)" \
	>"$BT_RUN/backend1.log" 2>&1
bt_wait_listen "$BT_PREFIX-b1" "$(bt_backend_port 1)" "backend b1"
bt_l7_lane
cat >"$BT_RUN/config.json" <<EOF
{"services": [
 {"name": "app1", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["app1.example"], "backends": [{"address": "$(bt_backend_addr4 1)", "port": 31001}]}
]}
EOF
bt_start_batond "$BT_RUN/config.json" --l7-lane l0 --l7-ports 61000-61003
bt_bg "$LANE" "$L7" -l 0 -n 1 --no-pci --no-huge -m 256 --file-prefix "$BT_PREFIX" \
	--log-level=lib.eal:error -- --lane l1 --bpffs "$BT_BPFFS" --lock "$BT_RUN/l7.lock" \
	--mbufs 4095 --connect-timeout-ms 500 >"$BT_RUN/baton-l7.log" 2>&1
bt_wait_line "$BT_RUN/baton-l7.log" "routes version" 20 ||
	bt_fail "baton-l7 did not start: $(tail -n 20 "$BT_RUN/baton-l7.log")"

slow=0 max=0
for round in 1 2 3 4 5; do
	for i in 1 2 3 4; do
		out=$(bt_ns "$BT_CL" curl -sS --max-time 5 -H "Host: app1.example" \
			-w ' %{http_code} %{time_total}' "http://$BT_VIP4/r$round-$i") ||
			bt_fail "round $round, connection $i: curl failed"
		[ "$out" = "b1 /r$round-$i
 200 ${out##* }" ] || bt_fail "round $round, connection $i: got '$out' (leg ports not back?)"
		ms=$(awk -v t="${out##* }" 'BEGIN { printf "%d", t * 1000 }')
		[ "$ms" -lt 100 ] || slow=$((slow + 1))
		[ "$ms" -le "$max" ] || max=$ms
	done
	[ $round = 5 ] || sleep 1.3
done
[ $slow -le 1 ] || bt_fail "$slow of 20 connections took 100 ms or more (max $max ms)"
bt_log "5 rounds of 4 connections on 4 leg ports: all 200, slowest $max ms ($slow >= 100 ms)"
echo "PASS"
