#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# UDP round trips through the VIP, IPv4 and IPv6: every datagram (a new socket, so a
# new flow each time) is answered by a backend, with the payload intact and from the
# VIP's port, and the answers spread over more than one backend.
# usage: test_udp.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init udp 33 "${1:-}"
N=100

bt_topology 3
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1 3:1" "udp4 udp6"
bt_start_batond "$BT_RUN/config.json"

for vip in "$BT_VIP4" "$BT_VIP6"; do
	out=$BT_RUN/udp-${vip//[:.]/_}
	bt_client udp --addr "$vip" --port $BT_UDP_PORT --count $N --timeout 2 --max-seconds 60 >"$out" ||
		bt_fail "client failed"
	echo "UDP $vip:$BT_UDP_PORT: $(head -n1 "$out")"
	sed -n 's/^backend /  /p' "$out"
	ok=$(bt_field "$out" ok)
	[ "$ok" = $N ] || bt_fail "UDP $vip: $ok of $N round trips answered ($(head -n1 "$out"))"
	used=$(grep -c '^backend b[123] ' "$out")
	others=$(grep '^backend ' "$out" | grep -vc '^backend b[123] ')
	[ "$others" = 0 ] || bt_fail "UDP $vip: answers from unknown backends"
	[ "$used" -ge 2 ] || bt_fail "UDP $vip: all $N flows went to one backend"
done
echo "PASS"
