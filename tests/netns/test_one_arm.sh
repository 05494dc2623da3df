#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# One-arm deployment: the client, the load balancer and the backends share one L2
# segment and the load balancer has a single interface, so every forwarded packet
# leaves the way it came (XDP_TX), in both directions, IPv4 and IPv6.
#
#   [cl] cl0 10.X.2.2 --+
#   [lb] lbb 10.X.2.1 --+-- br0 [sw] --+-- eth0 [bI] 10.X.2.1I
# usage: test_one_arm.sh BATOND XDP_PASS_OBJECT
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init one-arm 40 "${1:-}"
pass_obj=${2:-}
[ -f "$pass_obj" ] || bt_skip "no XDP pass object given"

v4=$BT_V4NET
v6=$BT_V6NET
bt_one_arm_topology 2 "$pass_obj"
ip -n "$BT_CL" route add "$BT_VIP4/32" via "$v4.2.1"
ip -n "$BT_CL" -6 route add "$BT_VIP6/128" via "$v6:2::1"

bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4 tcp6 udp4"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
bt_bg "$BT_LB" "$BT_BATOND" --iface lbb --config "$BT_RUN/config.json" --bpffs "$BT_BPFFS" \
	${BT_BATOND_ARGS:-} >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_wait_applied 1 20

for fam in 4 6; do
	if [ $fam = 4 ]; then vip=$BT_VIP4; else vip=$BT_VIP6; fi
	bt_client tcp --addr "$vip" --port 80 --count 200 --max-seconds 60 --timeout 5 \
		>"$BT_RUN/r$fam" || bt_fail "client failed (IPv$fam)"
	bt_expect_all_ok "$BT_RUN/r$fam" 200 "one-arm IPv$fam"
	echo "IPv$fam: 200 of 200 connections answered: b1 $(bt_backend_count "$BT_RUN/r$fam" b1)," \
		"b2 $(bt_backend_count "$BT_RUN/r$fam" b2)"
	[ "$(bt_backend_count "$BT_RUN/r$fam" b1)" -gt 0 ] && [ "$(bt_backend_count "$BT_RUN/r$fam" b2)" -gt 0 ] ||
		bt_fail "IPv$fam: not both backends used"
done
bt_client udp --addr "$BT_VIP4" --port 53 --count 50 --max-seconds 30 --timeout 2 >"$BT_RUN/u" ||
	bt_fail "udp client failed"
bt_expect_all_ok "$BT_RUN/u" 50 "one-arm UDP"
echo "UDP: 50 of 50 datagrams answered"

# Every forwarded packet went back out of lbb: XDP_TX only, no redirect.
tx=$(bt_reason_count fwd_tx)
redir=$(bt_reason_count fwd_redirect)
echo "verdicts: fwd_tx $tx, fwd_redirect $redir"
[ "$tx" -gt 0 ] && [ "$redir" = 0 ] || bt_fail "one-arm forwarding must be XDP_TX only (tx $tx, redirect $redir)"
echo "PASS"
