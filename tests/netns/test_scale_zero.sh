#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A service with no backend able to take new flows (scaled to zero, or every backend
# drained) stays defined: a client gets an RST at once ("connection refused"), not
# silence, and the connection does not fall through to the load balancer's host.
# Then a weight comes back with a SIGHUP and the same service answers.
# usage: test_scale_zero.sh BATOND XDP_PASS_OBJECT
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init scale-zero 41 "${1:-}"
pass_obj=${2:-}
[ -f "$pass_obj" ] || bt_skip "no XDP pass object given"

bt_topology 2
# The RST leaves by XDP_TX on lbc; a veth delivers XDP_TX frames only to a peer that
# runs an XDP program (a NIC needs nothing of the sort).
ip -n "$BT_CL" link set dev cl0 xdpdrv obj "$pass_obj" sec xdp || bt_fail "xdp pass on cl0"
bt_start_backends
bt_config "$BT_RUN/config.json" "1:0 2:0" "tcp4"
bt_start_batond "$BT_RUN/config.json"

bt_client tcp --addr "$BT_VIP4" --port 80 --count 10 --max-seconds 20 --timeout 3 >"$BT_RUN/r" ||
	bt_fail "client failed"
echo "weights 0,0: $(head -n1 "$BT_RUN/r")"
[ "$(bt_field "$BT_RUN/r" ok)" = 0 ] || bt_fail "a connection was answered with no backend"
grep -q "Connection_refused: 10" "$BT_RUN/r" || bt_fail "expected 10 refused connections: $(cat "$BT_RUN/r")"
elapsed=$(bt_field "$BT_RUN/r" elapsed)
# With silence each attempt would wait for its 3 s timeout.
awk -v e="$elapsed" 'BEGIN { exit !(e < 2) }' || bt_fail "10 refusals took $elapsed s (want an RST at once)"
rst=$(bt_reason_count tx_rst_no_backend)
echo "10 refusals in $elapsed s, tx_rst_no_backend $rst"
[ "$rst" -ge 10 ] || bt_fail "the XDP program sent $rst RSTs, want >= 10"

bt_config "$BT_RUN/config.json" "1:1 2:0" "tcp4"
bt_reload
bt_client tcp --addr "$BT_VIP4" --port 80 --count 20 --max-seconds 20 --timeout 5 >"$BT_RUN/r" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/r" 20 "after scaling back up"
[ "$(bt_backend_count "$BT_RUN/r" b1)" = 20 ] || bt_fail "not all on b1 (b2 has weight 0)"
echo "weights 1,0 after SIGHUP: 20 of 20 answered by b1"
echo "PASS"
