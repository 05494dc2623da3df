#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# L2 deployment: the VIPs lie inside the client's own subnet and nobody routes them; a
# client on the same segment (no static route, no neighbour entry) reaches them only
# because batond --l2-announce answers ARP and IPv6 neighbour solicitations for them
# in XDP. The host's own addresses keep answering ARP/NDP themselves. Restarted without
# the option, batond stops answering (the pinned interface map is emptied).
#
#   [cl] cl0 10.X.2.2 --+
#   [lb] lbb 10.X.2.1 --+-- br0 [sw] --+-- eth0 [bI] 10.X.2.1I      VIPs 10.X.2.100, fdX:2::100
# usage: test_l2_announce.sh BATOND XDP_PASS_OBJECT
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init l2-announce 45 "${1:-}"
pass_obj=${2:-}
[ -f "$pass_obj" ] || bt_skip "no XDP pass object given"

v4=$BT_V4NET
v6=$BT_V6NET
BT_VIP4=$v4.2.100
BT_VIP6=$v6:2::100
# No route and no neighbour for the VIPs on the client: they are on-link addresses.
bt_one_arm_topology 2 "$pass_obj"
lb_mac=$(ip -n "$BT_LB" -br link show lbb | awk '{print $3}')

bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4 tcp6"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
start_lb() {
	local before
	before=$(bt_applied_count)
	bt_bg "$BT_LB" "$BT_BATOND" --iface lbb --config "$BT_RUN/config.json" --bpffs "$BT_BPFFS" \
		--api-listen none ${BT_BATOND_ARGS:-} "$@" >>"$BT_BATOND_LOG" 2>&1
	BT_BATOND_PID=$BT_LAST_PID
	bt_wait_applied $((before + 1)) 20
}
start_lb --l2-announce
grep -q "answering ARP and NDP for the VIPs on lbb" "$BT_BATOND_LOG" || bt_fail "batond did not announce on lbb"

for fam in 4 6; do
	if [ $fam = 4 ]; then vip=$BT_VIP4; else vip=$BT_VIP6; fi
	[ -z "$(ip -n "$BT_CL" neigh show "$vip")" ] || bt_fail "client has a neighbour entry for $vip already"
	bt_client tcp --addr "$vip" --port 80 --count 50 --max-seconds 40 --timeout 5 \
		>"$BT_RUN/r$fam" || bt_fail "client failed (IPv$fam)"
	bt_expect_all_ok "$BT_RUN/r$fam" 50 "IPv$fam through the announced VIP"
	neigh=$(ip -n "$BT_CL" neigh show "$vip")
	echo "IPv$fam: 50 of 50 connections to $vip answered (max $(bt_field "$BT_RUN/r$fam" max_ms) ms); client's neighbour entry: $neigh"
	echo "$neigh" | grep -qi "lladdr $lb_mac" || bt_fail "IPv$fam: the client's neighbour entry for $vip is not lbb's MAC $lb_mac"
done
arp=$(bt_reason_count tx_arp_reply)
nd=$(bt_reason_count tx_nd_advert)
echo "answers: tx_arp_reply $arp, tx_nd_advert $nd"
[ "$arp" -gt 0 ] && [ "$nd" -gt 0 ] || bt_fail "no ARP reply or no neighbour advertisement counted"

# The host's own addresses: their ARP / NDP pass to the kernel, which answers.
ip -n "$BT_CL" neigh flush dev cl0
bt_ns "$BT_CL" ping -c 1 -W 3 "$v4.2.1" >/dev/null || bt_fail "the lb's own IPv4 address does not answer"
bt_ns "$BT_CL" ping -6 -c 1 -W 3 "$v6:2::1" >/dev/null || bt_fail "the lb's own IPv6 address does not answer"
echo "the lb's own addresses still resolve and answer"

# Without --l2-announce nobody answers for the VIPs: the client cannot resolve them.
bt_kill_batond TERM
start_lb
ip -n "$BT_CL" neigh flush dev cl0
bt_client tcp --addr "$BT_VIP4" --port 80 --count 1 --max-seconds 10 --timeout 4 >"$BT_RUN/off" 2>&1
[ "$(bt_field "$BT_RUN/off" ok)" = 0 ] ||
	bt_fail "the VIP answered with --l2-announce off: $(tr '\n' ' ' <"$BT_RUN/off")"
echo "without --l2-announce: $(head -n1 "$BT_RUN/off") $(grep '^error' "$BT_RUN/off" | tr '\n' ' ')"
echo "PASS"
