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
BT_NB=2
bt_ns_new "$BT_LB"
bt_ns_new "$BT_SW"
ip -n "$BT_CL" link set lo up
bt_ns "$BT_CL" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
bt_ns "$BT_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
ip -n "$BT_SW" link add br0 type bridge forward_delay 0 mcast_snooping 0
ip -n "$BT_SW" link set br0 up

# plug NS IFACE PORT ADDR4 ADDR6: a veth from NS into the bridge
plug() {
	ip -n "$1" link add "$2" type veth peer name "$3" netns "$BT_SW" || bt_fail "veth $2"
	ip -n "$1" addr add "$4/24" dev "$2"
	ip -n "$1" addr add "$5/64" dev "$2" nodad
	ip -n "$1" link set "$2" up
	ip -n "$BT_SW" link set "$3" master br0 up
	bt_ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || bt_fail "ethtool $2"
}
plug "$BT_CL" cl0 swcl "$v4.2.2" "$v6:2::2"
plug "$BT_LB" lbb swlb "$v4.2.1" "$v6:2::1"
for i in 1 2; do
	bt_ns_new "$BT_PREFIX-b$i"
	plug "$BT_PREFIX-b$i" eth0 "swb$i" "$(bt_backend_addr4 $i)" "$(bt_backend_addr6 $i)"
done
ip -n "$BT_CL" route add "$BT_VIP4/32" via "$v4.2.1"
ip -n "$BT_CL" -6 route add "$BT_VIP6/128" via "$v6:2::1"
# XDP_TX out of lbb reaches the bridge only if its peer runs an XDP program.
ip -n "$BT_SW" link set dev swlb xdpdrv obj "$pass_obj" sec xdp ||
	bt_fail "cannot attach the pass program to swlb"
for _ in $(seq 1 50); do
	ip -n "$BT_LB" link show lbb | grep -q 'state UP' &&
		ip -n "$BT_CL" link show cl0 | grep -q 'state UP' && break
	sleep 0.1
done

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
