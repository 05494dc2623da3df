#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Path MTU discovery through the load balancer. A router between the load balancer and
# the backend has a 1400-byte link towards it, while both endpoints sit on 1500-byte
# links, so neither side's MSS hides the bottleneck. The router's "fragmentation
# needed" goes to the SNAT address; the XDP program must translate it into an error
# about the client's own packet (client -> VIP) and send it to the client:
# - UDP: a 1450-byte datagram with DF: the client's socket learns IP_MTU 1400;
# - TCP: a 2 MB upload completes (without the translation it would stall forever).
#
#   [cl] cl0 --- lbc [lb] lbb --- rt0 [rt] rt1 (mtu 1400) --- eth0 [b1] (mtu 1500)
#   10.X.1.2     10.X.1.1  10.X.2.1    10.X.2.254  10.X.3.254        10.X.3.11
# usage: test_pmtu.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init pmtu 39 "${1:-}"

v4=$BT_V4NET
RT=$BT_PREFIX-rt
B1=$BT_PREFIX-b1
BE=$v4.3.11

ip -n "$BT_CL" link set lo up
bt_ns_new "$BT_LB"
bt_ns_new "$RT"
bt_ns_new "$B1"
bt_ns "$BT_LB" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
bt_ns "$RT" sysctl -qw net.ipv4.ip_forward=1 >/dev/null

ip -n "$BT_LB" link add lbc type veth peer name cl0 netns "$BT_CL" || bt_fail "veth lbc"
ip -n "$BT_LB" link add lbb type veth peer name rt0 netns "$RT" || bt_fail "veth lbb"
ip -n "$RT" link add rt1 type veth peer name eth0 netns "$B1" || bt_fail "veth rt1"
ip -n "$BT_CL" addr add "$v4.1.2/24" dev cl0
ip -n "$BT_LB" addr add "$v4.1.1/24" dev lbc
ip -n "$BT_LB" addr add "$v4.2.1/24" dev lbb
ip -n "$RT" addr add "$v4.2.254/24" dev rt0
ip -n "$RT" addr add "$v4.3.254/24" dev rt1
ip -n "$B1" addr add "$BE/24" dev eth0
ip -n "$RT" link set rt1 mtu 1400
for l in "$BT_CL cl0" "$BT_LB lbc" "$BT_LB lbb" "$RT rt0" "$RT rt1" "$B1 eth0"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip -n "$BT_CL" route add default via "$v4.1.1"
ip -n "$BT_LB" route add "$v4.3.0/24" via "$v4.2.254"
ip -n "$B1" route add default via "$v4.3.254"
# Full checksums from the senders XDP rewrites; GRO where XDP redirects into.
bt_ns "$BT_CL" ethtool -K cl0 tx off gro on >/dev/null 2>&1 || bt_fail "ethtool cl0"
bt_ns "$B1" ethtool -K eth0 tx off >/dev/null 2>&1 || bt_fail "ethtool eth0"
bt_ns "$RT" ethtool -K rt0 gro on >/dev/null 2>&1 || bt_fail "ethtool rt0"
for _ in $(seq 1 50); do
	ip -n "$B1" link show eth0 | grep -q 'state UP' && ip -n "$BT_CL" link show cl0 | grep -q 'state UP' && break
	sleep 0.1
done

# The backend: a TCP sink that answers with the byte count it read.
cat >"$BT_RUN/sink.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    c.settimeout(30)
    n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
        c.sendall(b"%d\n" % n)
    except OSError:
        pass
    c.close()
PY
bt_bg "$B1" "$BT_PY" "$BT_RUN/sink.py" 31001 >"$BT_RUN/sink.log" 2>&1

cat >"$BT_RUN/config.json" <<EOF
{"services": [
 {"name": "up", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp",
  "backends": [{"address": "$BE", "port": 31001}]},
 {"name": "dgram", "vip": "$BT_VIP4", "port": 53, "protocol": "udp",
  "backends": [{"address": "$BE", "port": 32001}]}]}
EOF
bt_start_batond "$BT_RUN/config.json"

# TCP: a 2 MB upload through the 1400-byte hop; needs the translated error to get past it.
out=$(bt_ns "$BT_CL" timeout 40 "$BT_PY" - "$BT_VIP4" <<'PY'
import socket, sys, time
t = time.time()
s = socket.create_connection((sys.argv[1], 80), timeout=15)
s.sendall(b"y" * (2 * 1024 * 1024))
s.shutdown(socket.SHUT_WR)
reply = s.recv(64).decode().strip()
print("%s %.2f" % (reply, time.time() - t))
PY
)
echo "TCP: 2 MB upload through the VIP: sink read ${out% *} bytes in ${out#* } s"
[ "${out% *}" = 2097152 ] || bt_fail "the TCP upload did not complete through the 1400-byte hop ($out)"
route=$(ip -n "$BT_CL" route get "$BT_VIP4" 2>&1 | tr -s ' ')
echo "client route cache: $route"
echo "$route" | grep -q "mtu 1400" || bt_fail "no path MTU of 1400 in the client's route cache"

# UDP, on a fresh path MTU: one oversized datagram with DF; the translated error sets
# the socket's path MTU.
bt_ns "$BT_CL" ip route del default
bt_ns "$BT_CL" ip route add default via "$v4.1.1" # drops the learned MTU

mtu=$(bt_ns "$BT_CL" "$BT_PY" - "$BT_VIP4" <<'PY'
import socket, sys, time
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.connect((sys.argv[1], 53))
for _ in range(20):
    try:
        s.send(b"x" * 1450)
    except OSError:
        pass  # EMSGSIZE once the path MTU is known
    time.sleep(0.1)
    if s.getsockopt(socket.IPPROTO_IP, IP_MTU) < 1500:
        break
print(s.getsockopt(socket.IPPROTO_IP, IP_MTU))
PY
)
echo "UDP: client socket's path MTU towards the VIP after a 1450-byte DF datagram: $mtu"
[ "$mtu" = 1400 ] || bt_fail "the client did not learn the path MTU over UDP (IP_MTU $mtu, want 1400)"

echo "PASS"
