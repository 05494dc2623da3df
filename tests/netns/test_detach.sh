#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# SIGTERM leaves the program attached and forwarding; `batond --detach` then removes
# the XDP program from both interfaces and the pins, and the VIP stops answering.
# usage: test_detach.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init detach 37 "${1:-}"

bt_topology 2
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4"
bt_start_batond "$BT_RUN/config.json"

id_c=$(bt_xdp_id lbc)
id_b=$(bt_xdp_id lbb)
echo "attached: lbc xdp id '${id_c}', lbb xdp id '${id_b}'"
[ -n "$id_c" ] && [ -n "$id_b" ] || bt_fail "no XDP program on lbc/lbb while batond runs"
pins=$(ls "$BT_BPFFS/baton" 2>/dev/null | wc -l)
echo "pins in $BT_BPFFS/baton: $pins ($(ls "$BT_BPFFS/baton" 2>/dev/null | tr '\n' ' '))"
[ "$pins" -gt 0 ] || bt_fail "no pins under $BT_BPFFS/baton"

bt_kill_batond TERM
[ -n "$(bt_xdp_id lbc)" ] && [ -n "$(bt_xdp_id lbb)" ] || bt_fail "SIGTERM removed the XDP program"
bt_client tcp --addr "$BT_VIP4" --port 80 --count 20 --max-seconds 20 --timeout 5 >"$BT_RUN/r" ||
	bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/r" 20 "after SIGTERM"
echo "after SIGTERM: program still attached, 20 of 20 connections answered"

bt_ns "$BT_LB" timeout 20 "$BT_BATOND" --detach --iface lbc --iface lbb --bpffs "$BT_BPFFS" \
	>"$BT_RUN/detach.out" 2>&1
rc=$?
echo "batond --detach: rc=$rc"
sed 's/^/  | /' "$BT_RUN/detach.out"
[ $rc = 0 ] || bt_fail "batond --detach failed (rc $rc)"
ip -n "$BT_LB" -d link show dev lbc | grep -q 'xdp' && bt_fail "lbc still has an XDP program: $(ip -n "$BT_LB" -d link show dev lbc)"
ip -n "$BT_LB" -d link show dev lbb | grep -q 'xdp' && bt_fail "lbb still has an XDP program: $(ip -n "$BT_LB" -d link show dev lbb)"
echo "ip -d link: no xdp on lbc nor lbb"
# (maps.debug / progs.debug at the root of any bpffs mount are the kernel's, not pins)
left=$(find "$BT_BPFFS" -mindepth 1 ! -name '*.debug' 2>/dev/null)
[ -z "$left" ] || bt_fail "pins left behind: $(echo $left)"
echo "pins: none left under $BT_BPFFS ($(ls "$BT_BPFFS" | tr '\n' ' '))"

# Without the program the lb's kernel has no route to the VIP: connections fail.
bt_client tcp --addr "$BT_VIP4" --port 80 --count 5 --max-seconds 20 --timeout 2 >"$BT_RUN/r" ||
	bt_fail "client failed"
[ "$(bt_field "$BT_RUN/r" ok)" = 0 ] || bt_fail "the VIP still answers after --detach"
echo "VIP after --detach: $(head -n1 "$BT_RUN/r") (expected: none answered)"

bt_ns "$BT_LB" timeout 20 "$BT_BATOND" --detach --iface lbc --iface lbb --bpffs "$BT_BPFFS" \
	>"$BT_RUN/detach2.out" 2>&1
echo "a second --detach (nothing attached): rc=$? $(head -n1 "$BT_RUN/detach2.out")"
echo "PASS"
