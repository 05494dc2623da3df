#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# HTTP vhost routing: Baton's L7 lane (batond + baton-l7, spliced into XDP) against
# HAProxy 2.6 `mode http` with the same Host rules, measured in the same run on the same
# topology (client -> lb namespace -> 3 nginx backends). wrk, 1 thread, 50 connections,
# keep-alive and one new connection per request ("Connection: close"); requests/s and CPU
# per request (all CPUs, from /proc/stat), and the ratio Baton / HAProxy.
# usage: bench_l7.sh BATOND BATON_L7 [SECONDS]   (BENCH_L7_X=N: netns index, 61)
set -uo pipefail
source "$(dirname "$0")/../tests/netns/lib.sh"
bt_init l7bench "${BENCH_L7_X:-61}" "${1:-}"
L7=${2:-}
DUR=${3:-5}
[ -n "$L7" ] && [ -x "$L7" ] || bt_skip "baton-l7 not built"
for t in nginx haproxy wrk; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || bt_skip "$t not installed"
done
export PATH=$PATH:/usr/sbin

bt_topology 3
for i in 1 2 3; do
	mkdir -p "$BT_RUN/nginx$i"
	cat >"$BT_RUN/nginx$i/nginx.conf" <<EOF
worker_processes 1;
pid $BT_RUN/nginx$i/pid;
error_log $BT_RUN/nginx$i/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	server { listen $((31000 + i)) reuseport; location / { return 200 "b$i\n"; } }
}
EOF
	bt_bg "$BT_PREFIX-b$i" nginx -c "$BT_RUN/nginx$i/nginx.conf" -g "daemon off;" \
		>"$BT_RUN/nginx$i.log" 2>&1
done
bt_l7_lane
B=$BT_V4NET.2.1
cat >"$BT_RUN/config.json" <<EOF
{"services": [
 {"name": "a", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["a.example"], "backends": [{"address": "${B}1", "port": 31001},
  {"address": "${B}2", "port": 31002}, {"address": "${B}3", "port": 31003}]},
 {"name": "b", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["b.example"], "backends": [{"address": "${B}1", "port": 31001}]}
]}
EOF
bt_start_batond "$BT_RUN/config.json" --l7-lane l0
bt_bg "$LANE" "$L7" -l 0 -n 1 --no-pci --no-huge -m 256 --file-prefix "$BT_PREFIX" \
	--log-level=lib.eal:error -- --lane l1 --bpffs "$BT_BPFFS" --lock "$BT_RUN/l7.lock" \
	>"$BT_RUN/baton-l7.log" 2>&1
bt_wait_line "$BT_RUN/baton-l7.log" "routes version" 20 || bt_fail "baton-l7 did not start"

# HAProxy in the lb namespace on its own address, the same Host rule.
cat >"$BT_RUN/haproxy.cfg" <<EOF
global
	maxconn 4000
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind $BT_V4NET.1.1:8080
	use_backend a if { hdr(host) -i a.example }
	default_backend b
backend a
	server s1 ${B}1:31001
	server s2 ${B}2:31002
	server s3 ${B}3:31003
backend b
	server s1 ${B}1:31001
EOF
bt_bg "$BT_LB" haproxy -f "$BT_RUN/haproxy.cfg" -db >"$BT_RUN/haproxy.log" 2>&1
sleep 1

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
hz=$(getconf CLK_TCK)
run() { # run URL MODE -> "2xx reqs/s us/req non-2xx": answers other than 2xx/3xx (a 503
	# of the lane) are not counted in the rate
	local hdr=(-H "Host: a.example") b0 b1 out rps
	[ "$2" = close ] && hdr+=(-H "Connection: close")
	b0=$(busy)
	out=$(bt_ns "$BT_CL" wrk -t1 -c50 -d"${DUR}s" "${hdr[@]}" "$1" 2>&1)
	echo "$out" >>"$BT_RUN/wrk.log"
	b1=$(busy)
	rps=$(echo "$out" | awk '/Requests\/sec/ { r = $2 } /requests in/ { n = $1 }
		/Non-2xx/ { bad = $NF } END { print (n ? r * (n - bad) / n : 0), bad + 0 }')
	awk -v r="${rps% *}" -v bad="${rps#* }" -v b=$((b1 - b0)) -v hz="$hz" -v d="$DUR" \
		'BEGIN { printf "%.0f %.1f %d\n", r, (r > 0 ? 1e6 * b / hz / (r * d) : 0), bad }'
}
printf "%-12s %-9s %10s %12s %8s\n" system mode "req/s" "CPU us/req" "non-2xx"
for mode in keepalive close; do
	read -r b_rps b_cpu b_bad <<<"$(run "http://$BT_VIP4/" $mode)"
	read -r h_rps h_cpu h_bad <<<"$(run "http://$BT_V4NET.1.1:8080/" $mode)"
	printf "%-12s %-9s %10s %12s %8s\n%-12s %-9s %10s %12s %8s\n" baton-l7 $mode "$b_rps" \
		"$b_cpu" "$b_bad" haproxy $mode "$h_rps" "$h_cpu" "$h_bad"
	awk -v a="$b_rps" -v b="$h_rps" -v c="$b_cpu" -v d="$h_cpu" -v m=$mode \
		'BEGIN { printf "ratio %s: req/s x%.2f, CPU per request x%.2f (Baton / HAProxy)\n", m, (b ? a / b : 0), (d ? c / d : 0) }'
done
echo "l7 counters: $(bt_ns "$BT_LB" curl -sS http://127.0.0.1:9090/metrics | grep '^baton_l7_total' |
	sed 's/baton_l7_total{counter="\([a-z_0-9]*\)"} /\1=/' | tr '\n' ' ')"
