#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Baton's benchmark suite: the same traffic through each load balancer in turn, on one
# machine, in one run. See perf/README.md ("The suite") for what is measured and how.
#
#   sudo perf/suite.sh [--quick] [--repeat N] [--out DIR] [--build DIR] [--systems "..."]
#                      [--profile]  (perf record, cpu-clock, during the packet runs)
#
# Systems: fwd (a bare XDP forwarder: redirects every frame, no lookup, no rewrite; the
# ceiling of XDP forwarding here), baton (batond with a static config), iptables (DNAT
# with `statistic`, kube-proxy's layout, MASQUERADE), haproxy (2.6, mode tcp, one
# process, one thread, as Marathon-LB runs it), routing (plain kernel routing straight
# to one backend: the floor of the HTTP and iperf3 runs, no load balancer at all),
# baton-l7 (batond --l7-lane with http services told apart by Host, baton-l7 on the
# lane) and haproxy-http (2.6, mode http, one thread, the same Host rules): HTTP only.
#
# Topology (namespaces bt-bench-*, addresses 10.50.*; built once per repeat, removed
# on exit, even on failure):
#
#   [cl] g0 10.50.1.2 ---- lbg 10.50.1.1 [lb] lbs1 10.50.2.1 ---- eth0 10.50.2.2 [s1]
#        baton-pktgen (DPDK af_xdp)          lbs2 10.50.3.1 ---- eth0 10.50.3.2 [s2]
#        wrk, iperf3 client                  l0 (baton-l7 only)    nginx :8080, iperf3 :5201,
#                                             |                    XDP sink (count, drop|pass)
#                                            l1 [lane] baton-l7 (DPDK af_xdp)
#   VIP 10.50.100.1 :80 (nginx on both sinks) and :5201 (iperf3 on s1), routed via lb.
#   Every HTTP request says "Host: web.example" (both backends); s1.example and
#   s2.example reach one backend each (checked for baton-l7 and haproxy-http).
#
# --quick: about a second per measurement, one repeat; checks that the harness works
# and that every system forwards (packets at the sinks, HTTP 200s, iperf3 bytes, the
# Host routing of the L7 systems). It asserts nothing about speed. Exit 0 when all of
# that held, 1 otherwise.
set -uo pipefail

SUITE_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$SUITE_DIR/.." && pwd)
QUICK=0
REPEAT=3
OUT=""
BUILD=$SRC_DIR/build
SYSTEMS="fwd baton iptables haproxy routing baton-l7 haproxy-http"
PROFILE=0 # --profile: perf record (cpu-clock, all CPUs) during the packet runs

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--repeat) REPEAT=$2; shift ;;
	--out) OUT=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--systems) SYSTEMS=$2; shift ;;
	--profile) PROFILE=1 ;;
	-h | --help)
		sed -n '3,32p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "suite.sh: unknown argument '$1' (--help)" >&2
		exit 2
		;;
	esac
	shift
done
case $REPEAT in '' | *[!0-9]* | 0) echo "suite.sh: --repeat N, N >= 1" >&2; exit 2 ;; esac

BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "suite.sh: no build directory" >&2; exit 2; }
BATOND=$BUILD/controlplane/batond
PKTGEN=$BUILD/perf/pktgen/baton-pktgen
FWD_O=$BUILD/perf/fwd.bpf.o
SINK_O=$BUILD/perf/sink.bpf.o
BENCH_SYNC=$BUILD/perf/bench_sync
BATON_L7=$BUILD/dataplane/baton-l7

source "$SRC_DIR/tests/netns/lib.sh"
bt_init bench 50 "$BATOND"

if [ $QUICK = 1 ]; then
	REPEAT=1
	PKT_SECS=1
	HTTP_SECS=1
	IPERF_SECS=1
else
	PKT_SECS=${BENCH_PKT_SECS:-3} # busy-polling DPDK: keep it to a few seconds
	HTTP_SECS=${BENCH_HTTP_SECS:-5}
	IPERF_SECS=${BENCH_IPERF_SECS:-4}
fi
# a quick run's results are thrown away with the run directory unless --out is given
[ -n "$OUT" ] || { [ $QUICK = 1 ] && OUT=$BT_RUN/results; }
[ -n "$OUT" ] || OUT=$SRC_DIR/perf/results/$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$OUT" || bt_fail "cannot create $OUT"
RAW=$OUT/raw.jsonl
: >"$RAW"

for tool in bpftool jq wrk iperf3 nginx haproxy iptables-restore; do
	command -v "$tool" >/dev/null 2>&1 || bt_skip "$tool not installed (scripts/install-deps.sh)"
done
has_system() { case " $SYSTEMS " in *" $1 "*) return 0 ;; esac; return 1; }
needs=("$SINK_O")
{ has_system fwd || has_system baton || has_system iptables; } && needs+=("$PKTGEN" "$FWD_O")
has_system baton-l7 && needs+=("$BATON_L7")
for f in "${needs[@]}"; do
	[ -e "$f" ] || bt_skip "$f not built (DPDK: libdpdk-dev)"
done

CL=$BT_CL LB=$BT_LB S1=$BT_PREFIX-s1 S2=$BT_PREFIX-s2 LANE=$BT_PREFIX-lane
VIP=10.50.100.1
VHOST=web.example # every HTTP request's Host (the L4 systems ignore it)
SRCBASE=10.50.16.0 # generator source addresses (10.50.16.0/20), routed nowhere
PIN=$BT_BPFFS/suite
FAILS=0
# DPDK memory: no hugepages by default (BENCH_HUGEPAGES=1: 128 MB of them); its own file
# prefix so that another DPDK process on the machine does not hold our runtime lock
HUGE_ARGS=(--file-prefix "$BT_PREFIX" --no-shconf --no-huge -m 256)
[ "${BENCH_HUGEPAGES:-0}" = 1 ] && HUGE_ARGS=(--file-prefix "$BT_PREFIX" --socket-mem 128)
# baton-l7: CPU 0 (the generator takes 1), 64 MB, a pool of 4,095 mbufs
L7_MEM_ARGS=(--file-prefix "$BT_PREFIX-l7" --no-shconf --no-huge -m 64)
[ "${BENCH_HUGEPAGES:-0}" = 1 ] && L7_MEM_ARGS=(--file-prefix "$BT_PREFIX-l7" --socket-mem 64)

log() { echo "[suite] $*" >&2; }
problem() {
	echo "[suite] PROBLEM: $*" >&2
	FAILS=$((FAILS + 1))
}
# record SYSTEM REPEAT METRIC VALUE
record() {
	printf '{"system":"%s","repeat":%d,"metric":"%s","value":%s}\n' "$1" "$2" "$3" "$4" >>"$RAW"
}
mac_of() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }
ifindex_of() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].ifindex'; }
# CPU jiffies from /proc/stat: busy (user nice system irq softirq) and softirq+system
cpu_snap() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $4 + $8, $8 }' /proc/stat; }
HZ=$(getconf CLK_TCK)

veth() { # veth NS1 IF1 ADDR1 NS2 IF2 ADDR2
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" || bt_fail "veth $2"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

topology() {
	ip -n "$CL" link set lo up
	bt_ns_new "$LB"
	bt_ns_new "$S1"
	bt_ns_new "$S2"
	veth "$CL" g0 10.50.1.2/24 "$LB" lbg 10.50.1.1/24
	veth "$LB" lbs1 10.50.2.1/24 "$S1" eth0 10.50.2.2/24
	veth "$LB" lbs2 10.50.3.1/24 "$S2" eth0 10.50.3.2/24
	ip -n "$CL" route add default via 10.50.1.1
	ip -n "$S1" route add default via 10.50.2.1
	ip -n "$S2" route add default via 10.50.3.1
	bt_ns "$LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.lbg.rp_filter=0 >/dev/null
	# Senders whose packets XDP rewrites send full checksums (PLATFORM-NOTES); the
	# client's veth takes redirected frames through GRO (no XDP program of its own).
	bt_ns "$CL" ethtool -K g0 tx off gro on >/dev/null 2>&1 || bt_fail "ethtool g0"
	bt_ns "$S1" ethtool -K eth0 tx off >/dev/null 2>&1 || bt_fail "ethtool s1"
	bt_ns "$S2" ethtool -K eth0 tx off >/dev/null 2>&1 || bt_fail "ethtool s2"
	# Fixed neighbours: no ARP in the measured runs (the sinks drop IP in packet runs)
	ip -n "$LB" neigh replace 10.50.2.2 lladdr "$(mac_of "$S1" eth0)" dev lbs1 nud permanent
	ip -n "$LB" neigh replace 10.50.3.2 lladdr "$(mac_of "$S2" eth0)" dev lbs2 nud permanent
	ip -n "$LB" neigh replace 10.50.1.2 lladdr "$(mac_of "$CL" g0)" dev lbg nud permanent
	ip -n "$CL" neigh replace 10.50.1.1 lladdr "$(mac_of "$LB" lbg)" dev g0 nud permanent
	ip -n "$S1" neigh replace 10.50.2.1 lladdr "$(mac_of "$LB" lbs1)" dev eth0 nud permanent
	ip -n "$S2" neigh replace 10.50.3.1 lladdr "$(mac_of "$LB" lbs2)" dev eth0 nud permanent
	bt_wait_links "$CL,g0" "$LB,lbg" "$LB,lbs1" "$LB,lbs2" "$S1,eth0" "$S2,eth0"
	# bpffs for the sinks and the forwarder (batond shares the mount, its pins in baton/)
	mkdir -p "$BT_BPFFS"
	mountpoint -q "$BT_BPFFS" || mount -t bpf bpf "$BT_BPFFS" || bt_fail "mount bpffs"
	mkdir -p "$PIN"
	local i
	for i in 1 2; do
		local ns=$BT_PREFIX-s$i
		rm -rf "$PIN/sink$i" "$PIN/sink${i}_maps"
		bpftool prog load "$SINK_O" "$PIN/sink$i" type xdp pinmaps "$PIN/sink${i}_maps" ||
			bt_fail "load sink program"
		bt_ns "$ns" bpftool net attach xdpdrv pinned "$PIN/sink$i" dev eth0 ||
			bt_fail "attach sink program in $ns"
		# nginx: a tiny page, no logs; one worker (the sinks share the 2 vCPUs)
		mkdir -p "$BT_RUN/nginx$i"
		cat >"$BT_RUN/nginx$i/nginx.conf" <<EOF
worker_processes 1;
pid $BT_RUN/nginx$i/nginx.pid;
error_log $BT_RUN/nginx$i/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $BT_RUN/nginx$i;
	proxy_temp_path $BT_RUN/nginx$i;
	fastcgi_temp_path $BT_RUN/nginx$i;
	uwsgi_temp_path $BT_RUN/nginx$i;
	scgi_temp_path $BT_RUN/nginx$i;
	keepalive_requests 1000000;
	server {
		listen 8080 reuseport backlog=4096;
		location / { return 200 "s$i\n"; }
	}
}
EOF
		bt_bg "$ns" nginx -c "$BT_RUN/nginx$i/nginx.conf" -g 'daemon off;' \
			>"$BT_RUN/nginx$i.log" 2>&1
		bt_bg "$ns" iperf3 -s -p 5201 >"$BT_RUN/iperf3-s$i.log" 2>&1
	done
	local deadline2=$((SECONDS + 10))
	for i in 1 2; do
		until bt_ns "$BT_PREFIX-s$i" ss -Hltn 'sport = :8080' | grep -q LISTEN &&
			bt_ns "$BT_PREFIX-s$i" ss -Hltn 'sport = :5201' | grep -q LISTEN; do
			[ $SECONDS -lt $deadline2 ] || bt_fail "nginx/iperf3 on s$i did not start"
			sleep 0.1
		done
	done
}

teardown_topology() {
	local p ns
	for p in "${BT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${BT_PIDS[@]}"; do bt_wait_pid "$p" 5 >/dev/null 2>&1 || kill -KILL "$p" 2>/dev/null; done
	BT_PIDS=()
	for ns in "$LB" "$S1" "$S2" "$LANE"; do
		ip netns del "$ns" 2>/dev/null
	done
	ip -n "$CL" link del g0 2>/dev/null
	BT_NAMESPACES=("$CL")
	rm -rf "$PIN"
}

sink_mode() { # drop|pass
	local v=0 i
	[ "$1" = drop ] && v=1
	for i in 1 2; do
		bpftool map update pinned "$PIN/sink${i}_maps/sink_cfg" key 0 0 0 0 value $v 0 0 0 ||
			bt_fail "sink mode"
	done
}
sink_packets() { # total packets counted by both sinks
	local i n t=0
	for i in 1 2; do
		n=$(bpftool -j map dump pinned "$PIN/sink${i}_maps/sink_cnt" |
			jq '[.[0].formatted.values[].value.packets] | add')
		t=$((t + n))
	done
	echo $t
}

# ---- the systems: up / down ----
BATOND_PID=""
HAPROXY_PID=""
L7_PID=""
stop_pid() { # PID: SIGTERM, SIGKILL if it has not gone within 10 s
	kill -TERM "$1" 2>/dev/null
	bt_wait_pid "$1" 10 >/dev/null 2>&1 || kill -KILL "$1" 2>/dev/null
}
batond_up() { # CONFIG [ARGS...]: batond in lb on the three interfaces, config applied
	local config=$1 before
	shift
	BT_BATOND_LOG=$BT_RUN/batond.log
	before=$(bt_applied_count)
	bt_bg "$LB" "$BATOND" --iface lbg --iface lbs1 --iface lbs2 --config "$config" \
		--snat-addr 10.50.2.1 --bpffs "$BT_BPFFS" "$@" >>"$BT_BATOND_LOG" 2>&1
	BATOND_PID=$BT_LAST_PID
	BT_BATOND_PID=$BATOND_PID
	bt_wait_applied $((before + 1)) 20
}
batond_down() { # [--iface IFACE...]: stop batond, detach its program, remove its pins
	stop_pid "$BATOND_PID"
	BT_BATOND_PID=""
	timeout 20 nsenter --net=/var/run/netns/"$LB" "$BATOND" --detach --iface lbg \
		--iface lbs1 --iface lbs2 "$@" --bpffs "$BT_BPFFS" >>"$BT_RUN/detach.log" 2>&1 ||
		problem "batond --detach failed (see $BT_RUN/detach.log)"
}
system_up() {
	case $1 in
	fwd)
		rm -rf "$PIN/fwd" "$PIN/fwd_maps"
		bpftool prog load "$FWD_O" "$PIN/fwd" type xdp pinmaps "$PIN/fwd_maps" || bt_fail "load fwd"
		local i hex
		for i in 1 2; do
			hex=$(printf '%08x' "$(ifindex_of "$LB" lbs$i)" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4 \3 \2 \1/')
			hex="$hex $(mac_of "$BT_PREFIX-s$i" eth0 | tr ':' ' ') $(mac_of "$LB" lbs$i | tr ":" " ") 00 00 00 00"
			# shellcheck disable=SC2086
			bpftool map update pinned "$PIN/fwd_maps/fwd_tgt" key $((i - 1)) 0 0 0 value hex $hex ||
				bt_fail "fill fwd_tgt"
		done
		bt_ns "$LB" bpftool net attach xdpdrv pinned "$PIN/fwd" dev lbg || bt_fail "attach fwd"
		;;
	baton)
		cat >"$BT_RUN/baton.json" <<EOF
{"services": [
 {"name": "web", "vip": "$VIP", "port": 80, "protocol": "tcp", "backends": [
   {"address": "10.50.2.2", "port": 8080, "weight": 1},
   {"address": "10.50.3.2", "port": 8080, "weight": 1}]},
 {"name": "iperf", "vip": "$VIP", "port": 5201, "protocol": "tcp", "backends": [
   {"address": "10.50.2.2", "port": 5201, "weight": 1}]}]}
EOF
		batond_up "$BT_RUN/baton.json"
		;;
	baton-l7)
		# http services on the VIP's port 80, one per Host; batond sends their
		# connections into the lane l0 -> l1, where baton-l7 binds each to a backend
		# and hands it back to XDP (docs/l7.md)
		cat >"$BT_RUN/baton-l7.json" <<EOF
{"services": [
 {"name": "web", "vip": "$VIP", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["$VHOST"], "backends": [{"address": "10.50.2.2", "port": 8080},
  {"address": "10.50.3.2", "port": 8080}]},
 {"name": "one", "vip": "$VIP", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["s1.example"], "backends": [{"address": "10.50.2.2", "port": 8080}]},
 {"name": "two", "vip": "$VIP", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["s2.example"], "backends": [{"address": "10.50.3.2", "port": 8080}]}]}
EOF
		bt_l7_lane
		bt_wait_links "$LB,l0" "$LANE,l1"
		# Backend legs: 55,536 source ports, not the default 4,536: a port comes back
		# towards a backend a second after its connection closed, and a second of
		# new connections per request here outnumbers 4,536 (503s, docs/l7.md)
		batond_up "$BT_RUN/baton-l7.json" --l7-lane l0 --snat-ports 1024-9999 \
			--l7-ports 10000-65535
		local log=$BT_RUN/baton-l7.log
		: >"$log"
		bt_bg "$LANE" "$BATON_L7" -l 0 -n 1 --no-pci "${L7_MEM_ARGS[@]}" --log-level=lib.eal:error \
			-- --lane l1 --bpffs "$BT_BPFFS" --lock "$BT_RUN/baton-l7.lock" --mbufs 4095 \
			>>"$log" 2>&1
		L7_PID=$BT_LAST_PID
		bt_wait_line "$log" "routes version" 20 ||
			bt_fail "baton-l7 did not start: $(tail -n 5 "$log")"
		;;
	iptables)
		bt_ns "$LB" iptables-restore <<EOF || bt_fail "iptables-restore"
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SVC-IPERF - [0:0]
:KUBE-SEP-WEB1 - [0:0]
:KUBE-SEP-WEB2 - [0:0]
:KUBE-SEP-IPERF1 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -j MASQUERADE
-A KUBE-SERVICES -d $VIP/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SERVICES -d $VIP/32 -p tcp -m tcp --dport 5201 -j KUBE-SVC-IPERF
-A KUBE-SVC-WEB -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m statistic --mode random --probability 0.5 -j KUBE-SEP-WEB1
-A KUBE-SVC-WEB -j KUBE-SEP-WEB2
-A KUBE-SVC-IPERF -j KUBE-MARK-MASQ
-A KUBE-SVC-IPERF -j KUBE-SEP-IPERF1
-A KUBE-SEP-WEB1 -p tcp -m tcp -j DNAT --to-destination 10.50.2.2:8080
-A KUBE-SEP-WEB2 -p tcp -m tcp -j DNAT --to-destination 10.50.3.2:8080
-A KUBE-SEP-IPERF1 -p tcp -m tcp -j DNAT --to-destination 10.50.2.2:5201
COMMIT
EOF
		;;
	haproxy | haproxy-http)
		ip -n "$LB" addr add "$VIP/32" dev lo
		local mode=tcp
		[ "$1" = haproxy-http ] && mode=http
		{
			cat <<EOF
global
	maxconn 8000
	nbthread 1
	pidfile $BT_RUN/haproxy.pid
defaults
	mode $mode
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend web
	bind $VIP:80
EOF
			if [ $mode = tcp ]; then
				printf '\tdefault_backend web\n'
			else # the Host rules of baton-l7's services; no match: 503, as there
				cat <<EOF
	use_backend web if { hdr(host) -i $VHOST }
	use_backend one if { hdr(host) -i s1.example }
	use_backend two if { hdr(host) -i s2.example }
backend one
	server s1 10.50.2.2:8080
backend two
	server s2 10.50.3.2:8080
EOF
			fi
			cat <<EOF
backend web
	balance roundrobin
	server s1 10.50.2.2:8080
	server s2 10.50.3.2:8080
EOF
			[ $mode = tcp ] && cat <<EOF
frontend iperf
	bind $VIP:5201
	default_backend iperf
backend iperf
	server s1 10.50.2.2:5201
EOF
		} >"$BT_RUN/haproxy.cfg"
		bt_bg "$LB" haproxy -db -f "$BT_RUN/haproxy.cfg" >"$BT_RUN/haproxy.log" 2>&1
		HAPROXY_PID=$BT_LAST_PID
		local deadline=$((SECONDS + 10))
		until bt_ns "$LB" ss -Hltn 'sport = :80' | grep -q LISTEN; do
			[ $SECONDS -lt $deadline ] || bt_fail "haproxy did not start: $(cat "$BT_RUN/haproxy.log")"
			sleep 0.1
		done
		;;
	routing) ;;
	esac
}

system_down() {
	case $1 in
	fwd)
		ip -n "$LB" link set dev lbg xdp off
		rm -rf "$PIN/fwd" "$PIN/fwd_maps"
		;;
	baton) batond_down ;;
	baton-l7)
		stop_pid "$L7_PID"
		batond_down --iface l0
		ip netns del "$LANE"
		;;
	iptables)
		bt_ns "$LB" iptables -t nat -F
		bt_ns "$LB" iptables -t nat -X
		;;
	haproxy | haproxy-http)
		stop_pid "$HAPROXY_PID"
		ip -n "$LB" addr del "$VIP/32" dev lo
		;;
	esac
}

# What a system's new connections left in TIME_WAIT is not the next system's problem:
# 14,000 of the client's sockets towards the VIP after HAProxy's run make every
# connect() hunt for a port (a tenth of the L7 lane's rate), and a backend's or the
# load balancer's may refuse a reused 4-tuple (the L7 lane's legs carry no timestamps).
flush_time_wait() {
	local ns
	for ns in "$CL" "$LB" "$S1" "$S2"; do
		bt_ns "$ns" ss -K state time-wait >/dev/null 2>&1
	done
}

# The load balancer's own memory, recorded once per system and repeat.
rss_of() { awk '/^VmRSS/ { print $2; f = 1 } END { if (!f) print 0 }' /proc/"$1"/status 2>/dev/null; }
record_memory() { # SYSTEM REPEAT
	case $1 in
	baton | baton-l7)
		local prog ids mem=0 id
		if [ "$1" = baton ]; then
			record baton "$2" rss_kib "$(rss_of "$BATOND_PID")"
		else
			record baton-l7 "$2" rss_kib "$(rss_of "$L7_PID")"
			record baton-l7 "$2" batond_rss_kib "$(rss_of "$BATOND_PID")"
		fi
		prog=$(ip -n "$LB" -d link show dev lbg | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n1)
		if [ -n "$prog" ]; then
			ids=$(bpftool -j prog show id "$prog" | jq -r '.map_ids[]?')
			for id in $ids; do
				mem=$((mem + $(bpftool -j map show id "$id" | jq '.bytes_memlock // 0')))
			done
			# the Maglev tables are inner maps: count the ones batond pinned, if any
			record "$1" "$2" map_memlock_kib $((mem / 1024))
		fi
		;;
	haproxy | haproxy-http)
		record "$1" "$2" rss_kib "$(rss_of "$HAPROXY_PID")"
		;;
	iptables)
		local ct
		ct=$(bt_ns "$LB" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0)
		record iptables "$2" conntrack_entries "${ct:-0}"
		;;
	esac
}

# ---- measurements ----
# XDP programs on the load balancer's interfaces (unique ids) and their summed BPF
# statistics "run_time_ns run_cnt" (zero unless bpf_stats.py holds them on)
xdp_prog_ids() {
	local i
	for i in lbg lbs1 lbs2; do
		ip -n "$LB" -d link show dev $i | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n1
	done | sort -u
}
xdp_stats() {
	local id t=0 c=0 rt rc
	for id in "$@"; do
		read -r rt rc < <(bpftool -j prog show id "$id" 2>/dev/null |
			jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"')
		t=$((t + ${rt:-0}))
		c=$((c + ${rc:-0}))
	done
	echo "$t $c"
}
STATS_PID=""
stats_on() { # kernel BPF statistics for at most $1 seconds
	python3 "$SUITE_DIR/suite/bpf_stats.py" "$1" >"$BT_RUN/stats.out" 2>&1 &
	STATS_PID=$!
	BT_PIDS+=("$STATS_PID") # killed on exit if the run is cut short
	bt_wait_line "$BT_RUN/stats.out" enabled 5 || problem "BPF statistics: $(cat "$BT_RUN/stats.out")"
}
stats_off() {
	[ -n "$STATS_PID" ] || return 0
	kill -TERM "$STATS_PID" 2>/dev/null
	wait "$STATS_PID" 2>/dev/null
	forget_pid "$STATS_PID"
	STATS_PID=""
}
forget_pid() { # drop a PID that has ended from the ones cleanup kills
	local p keep=()
	for p in "${BT_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BT_PIDS=("${keep[@]}")
}
baton_reason() { # packets counted under one of Baton's reasons
	bt_ns "$LB" curl -sS --max-time 5 http://127.0.0.1:9090/metrics 2>/dev/null |
		awk -v r="$1" '$1 == "baton_packets_total{reason=\"" r "\"}" { print $2; f = 1 } END { if (!f) print 0 }'
}
pktgen() { # ARGS...: baton-pktgen on g0, bounded; prints its JSON summary line
	timeout $((PKT_SECS + 30)) nsenter --net=/var/run/netns/"$CL" "$PKTGEN" -l 1 -n 1 --no-pci \
		"${HUGE_ARGS[@]}" --log-level=lib.eal:error --vdev net_af_xdp0,iface=g0 -- \
		--dst-mac "$(mac_of "$LB" lbg)" --src "$SRCBASE" --quiet "$@" 2>>"$OUT/pktgen.err" |
		grep '^{' | tail -n1
}

# packet rate: KIND ack (established flows) or syn (new flows), 64 B frames, max rate
measure_pkts() { # SYSTEM REPEAT KIND
	local sys=$1 r=$2 kind=$3 before after c0 c1 out tx secs fwdp
	sink_mode drop
	if [ "$kind" = ack ]; then
		# 4096 established flows. Baton forwards only flows it saw open: their SYNs go
		# first (all of them, before the clock starts). iptables must NOT see them:
		# conntrack would hold the flows in SYN_SENT and call the ACKs invalid; without
		# them it takes the first ACK of a flow as established (nf_conntrack_tcp_loose).
		# The bare forwarder needs nothing.
		[ "$sys" = baton ] && out=$(pktgen --proto syn --src-ips 16 --src-ports 256 --src-port 10000 --count 4096 \
			--rate 100000 --duration 5 --dst "$VIP:80")
		[ "$sys" != baton ] || [ "$(echo "$out" | jq -r '.tx_packets' 2>/dev/null)" = 4096 ] ||
			problem "$sys: the SYNs of the established flows were not sent ($OUT/pktgen.err)"
		sleep 0.2
		set -- --proto ack --src-ips 16 --src-ports 256 --src-port 10000
	elif [ "$kind" = synfit ]; then
		# 24,000 new flows, once each: fewer than the SNAT ports Baton has towards two
		# backends on one CPU (2 x 15,872), so every SYN takes the full new-flow path
		set -- --proto syn --src-ips 100 --src-ports 240 --src-port 40000 --count 24000
	else
		# a SYN flood: 4096 x 60000 distinct sources, none repeats within a run
		set -- --proto syn --src-ips 4096 --src-ports 60000 --src-port 2000
	fi
	# The XDP programs' own time per packet (kernel BPF statistics, on only for this run)
	local progs="" st0="" st1=""
	if [ "$sys" != iptables ]; then
		progs=$(xdp_prog_ids)
		stats_on $((PKT_SECS + 10))
		st0=$(xdp_stats $progs)
	fi
	local perf_pid=""
	if [ $PROFILE = 1 ] && [ "$kind" != synfit ] && command -v perf >/dev/null; then
		# CPU 1 only: the generator's lcore, where the veth hops, the load balancer's
		# XDP program and the sinks run too (in its transmit path and softirq)
		perf record -q -e cpu-clock -F 1999 -C 1 -g -o "$OUT/perf-$sys-$kind-$r.data" -- \
			sleep $((PKT_SECS + 1)) >/dev/null 2>&1 &
		perf_pid=$!
		BT_PIDS+=("$perf_pid")
	fi
	before=$(sink_packets)
	c0=$(cpu_snap)
	out=$(pktgen "$@" --size 64 --rate max --duration "$PKT_SECS" --dst "$VIP:80")
	if [ -n "$perf_pid" ]; then
		bt_wait_pid "$perf_pid" 30 >/dev/null 2>&1 || kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		forget_pid "$perf_pid"
		perf report -i "$OUT/perf-$sys-$kind-$r.data" --stdio --no-children --sort comm,sym \
			--percent-limit 0.7 -g none 2>/dev/null |
			grep -v '^$' | cut -c1-120 >"$OUT/profile-$sys-$kind-$r.txt"
		rm -f "$OUT/perf-$sys-$kind-$r.data"
	fi
	c1=$(cpu_snap)
	sleep 0.1
	after=$(sink_packets)
	if [ -n "$progs" ]; then
		st1=$(xdp_stats $progs)
		stats_off
		local ns_pp
		ns_pp=$(echo "$st0 $st1" | awk '$4 > $2 { printf "%.1f", ($3 - $1) / ($4 - $2) }')
		[ -n "$ns_pp" ] && record "$sys" "$r" "${kind}_xdp_ns_per_pkt" "$ns_pp"
	fi
	[ -n "$out" ] || { problem "$sys $kind: baton-pktgen printed no summary ($OUT/pktgen.err)"; return; }
	echo "$out" >>"$OUT/pktgen.jsonl"
	tx=$(echo "$out" | jq .tx_packets)
	secs=$(echo "$out" | jq .duration_s)
	fwdp=$((after - before))
	record "$sys" "$r" "${kind}_tx_mpps" "$(echo "$tx $secs" | awk '{ printf "%.4f", $1 / $2 / 1e6 }')"
	record "$sys" "$r" "${kind}_mpps" "$(echo "$fwdp $secs" | awk '{ printf "%.4f", $1 / $2 / 1e6 }')"
	record "$sys" "$r" "${kind}_fwd_share" "$(echo "$fwdp $tx" | awk '{ printf "%.4f", $2 ? $1 / $2 : 0 }')"
	# kernel CPU (softirq + system, all CPUs) per million packets forwarded: includes the
	# generator's transmit path and the sinks, the same for every system
	read -r _ ks0 sq0 <<<"$c0"
	read -r _ ks1 sq1 <<<"$c1"
	if [ "$fwdp" -gt 0 ]; then
		record "$sys" "$r" "${kind}_ksys_ms_per_mpkt" \
			"$(echo "$ks0 $ks1 $fwdp $HZ" | awk '{ printf "%.2f", ($2 - $1) * 1000 / $4 / ($3 / 1e6) }')"
	fi
	log "$sys $kind: sent $tx in ${secs}s, $fwdp at the sinks"
	[ "$fwdp" -gt 0 ] || problem "$sys $kind: nothing arrived at the sinks"
	if [ "$sys" = baton ]; then
		bt_ns "$LB" curl -sS --max-time 5 http://127.0.0.1:9090/metrics 2>/dev/null |
			grep -E '^baton_packets_total' >"$OUT/baton-reasons-$kind-$r.txt"
	fi
}

# wrk: MODE ka (keep-alive) or close (a new connection per request)
wrk_to_us() { # 1.23ms -> 1230
	echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /us$/) print v; else if ($1 ~ /ms$/) print v * 1000;
		else if ($1 ~ /s$/) print v * 1e6; else print v }'
}
proc_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0; } # user + system
measure_http() { # SYSTEM REPEAT MODE
	local sys=$1 r=$2 mode=$3 url="http://$VIP/" hdr=(-H "Host: $VHOST") c0 c1 out rps reqs p50 p99 non2xx errs
	[ "$sys" = routing ] && url="http://10.50.2.2:8080/"
	[ "$mode" = close ] && hdr+=(-H "Connection: close")
	sink_mode pass
	# the process whose CPU time is the load balancer's: HAProxy; baton-l7 (its lcore polls)
	local proc="" ht0=0 ht1=0
	case $sys in
	haproxy | haproxy-http) proc=$HAPROXY_PID ;;
	baton-l7) proc=$L7_PID ;;
	esac
	local progs="" st0="" st1="" busy0=0
	if [ "$sys" = baton ] || [ "$sys" = baton-l7 ]; then
		progs=$(xdp_prog_ids)
		busy0=$(baton_reason drop_snat_busy)
		stats_on $((HTTP_SECS + 10))
		st0=$(xdp_stats $progs)
	fi
	# CPU counted from here (not while the BPF statistics' helper starts) to wrk's end
	[ -n "$proc" ] && ht0=$(proc_ticks "$proc")
	c0=$(cpu_snap)
	# SIGINT (a wrk that outlives its duration) makes wrk print what it has
	out=$(timeout -s INT -k 5 $((HTTP_SECS + 15)) nsenter --net=/var/run/netns/"$CL" wrk -t1 -c50 \
		-d"${HTTP_SECS}s" --timeout 5s --latency "${hdr[@]}" "$url" 2>&1)
	c1=$(cpu_snap)
	[ -n "$proc" ] && ht1=$(proc_ticks "$proc")
	if [ -n "$progs" ]; then
		st1=$(xdp_stats $progs)
		stats_off
	fi
	echo "== $sys $mode repeat $r" >>"$OUT/wrk.txt"
	echo "$out" >>"$OUT/wrk.txt"
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
	p50=$(wrk_to_us "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
	p99=$(wrk_to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
	non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
	errs=$(echo "$out" | sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' |
		awk '{ print $1 + $2 + $3 + $4 }')
	if [ -z "$rps" ] || [ "${reqs:-0}" -eq 0 ]; then
		problem "$sys http $mode: no requests answered: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		return
	fi
	[ "${non2xx:-0}" = 0 ] || problem "$sys http $mode: $non2xx answers were not 2xx"
	record "$sys" "$r" "http_${mode}_rps" "$rps"
	record "$sys" "$r" "http_${mode}_p50_us" "${p50:-0}"
	record "$sys" "$r" "http_${mode}_p99_us" "${p99:-0}"
	record "$sys" "$r" "http_${mode}_errors" "${errs:-0}"
	read -r b0 _ _ <<<"$c0"
	read -r b1 _ _ <<<"$c1"
	record "$sys" "$r" "http_${mode}_cpu_us_per_req" \
		"$(echo "$b0 $b1 $reqs $HZ" | awk '{ printf "%.2f", ($2 - $1) * 1e6 / $4 / $3 }')"
	if [ -n "$progs" ]; then
		record "$sys" "$r" "http_${mode}_xdp_us_per_req" \
			"$(echo "$st0 $st1 $reqs" | awk '{ printf "%.2f", ($3 - $1) / 1000 / $5 }')"
		[ "$sys" = baton ] &&
			record baton "$r" "http_${mode}_snat_busy" $(($(baton_reason drop_snat_busy) - busy0))
	fi
	if [ -n "$proc" ]; then
		record "$sys" "$r" "http_${mode}_proc_us_per_req" \
			"$(echo "$ht0 $ht1 $reqs $HZ" | awk '{ printf "%.2f", ($2 - $1) * 1e6 / $4 / $3 }')"
	fi
	if [ "$sys" = baton-l7 ]; then
		bt_ns "$LB" curl -sS --max-time 5 http://127.0.0.1:9090/metrics 2>/dev/null |
			grep -E '^baton_(l7_total|packets_total)' >"$OUT/baton-l7-counters-$mode-$r.txt"
	fi
	# SYNs the backends refused for PAWS (a NATed 4-tuple reused while in TIME_WAIT):
	# the cause of 1 s stalls with new connections, counted so the table can say so
	local paws=0 i
	for i in 1 2; do
		paws=$((paws + $(bt_ns "$BT_PREFIX-s$i" awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 }
			else { for (j = 2; j <= NF; j++) if (k[j] == "PAWSTimewait" || k[j] == "PAWSActive" ||
			k[j] == "PAWSEstab") s += $j } } END { print s + 0 }' /proc/net/netstat)))
	done
	record "$sys" "$r" "http_${mode}_paws_total" "$paws"
	log "$sys http $mode: $rps req/s, p50 ${p50}us p99 ${p99}us, errors ${errs:-0}"
}

# The L7 systems route by Host: s1.example and s2.example reach their one backend (its
# body says which), web.example reaches both (16 connections), any other host gets 503.
check_vhosts() { # SYSTEM REPEAT
	local sys=$1 ok=1 h got code urls=() seen=""
	sink_mode pass
	for h in s1 s2; do
		got=$(bt_ns "$CL" curl -sS --max-time 5 -H "Host: $h.example" "http://$VIP/" 2>&1)
		[ "$got" = "$h" ] || { problem "$sys: Host $h.example answered '$got', want '$h'"; ok=0; }
		seen+="$h.example -> $got, "
	done
	for h in $(seq 1 16); do urls+=("http://$VIP/"); done
	got=$(bt_ns "$CL" curl -sS --max-time 10 -H "Host: $VHOST" -H "Connection: close" "${urls[@]}" 2>&1 |
		sort | uniq -c | awk '{ printf "%s%s x%d", s, $2, $1; s = ", " }')
	case $got in
	"s1 x"*", s2 x"*) ;;
	*) problem "$sys: 16 connections for Host $VHOST answered '$got', want both s1 and s2"; ok=0 ;;
	esac
	code=$(bt_ns "$CL" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: nope.example" "http://$VIP/")
	[ "$code" = 503 ] || { problem "$sys: Host nope.example answered HTTP $code, want 503"; ok=0; }
	record "$sys" "$2" vhost_routing_ok $ok
	log "$sys Host routing: $seen$VHOST -> $got, nope.example -> $code"
}

measure_iperf() { # SYSTEM REPEAT
	local sys=$1 r=$2 addr=$VIP out gbps
	[ "$sys" = routing ] && addr=10.50.2.2
	sink_mode pass
	out=$(timeout $((IPERF_SECS + 30)) nsenter --net=/var/run/netns/"$CL" iperf3 -c "$addr" \
		-p 5201 -t "$IPERF_SECS" -J 2>&1)
	gbps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second // empty' 2>/dev/null)
	if [ -z "$gbps" ] || [ "$(echo "$gbps" | awk '{ print ($1 > 0) }')" != 1 ]; then
		problem "$sys iperf3: no data: $(echo "$out" | jq -r '.error // empty' 2>/dev/null)"
		return
	fi
	gbps=$(echo "$gbps" | awk '{ printf "%.3f", $1 / 1e9 }')
	record "$sys" "$r" iperf_gbps "$gbps"
	log "$sys iperf3: $gbps Gbit/s"
}

# ---- main ----
log "results in $OUT; systems: $SYSTEMS; $REPEAT repeat(s); packet runs ${PKT_SECS}s, HTTP ${HTTP_SECS}s"
{
	echo "{\"date\":\"$(date -u +%FT%TZ)\",\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),"
	echo "\"quick\":$QUICK,\"repeat\":$REPEAT,\"pkt_secs\":$PKT_SECS,\"http_secs\":$HTTP_SECS,"
	echo "\"iperf_secs\":$IPERF_SECS,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\","
	echo "\"haproxy\":\"$(haproxy -v | head -n1 | awk '{ print $3 }')\","
	echo "\"iptables\":\"$(iptables -V 2>/dev/null)\",\"commit\":\"$(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null)\"}"
} | jq -c . >"$OUT/meta.json"

for r in $(seq 1 "$REPEAT"); do
	topology
	# iptables last: its conntrack table only goes away with the namespace
	for sys in fwd baton haproxy baton-l7 haproxy-http routing iptables; do
		has_system "$sys" || continue
		log "repeat $r/$REPEAT: $sys"
		flush_time_wait
		system_up "$sys"
		case $sys in baton-l7 | haproxy-http) check_vhosts "$sys" "$r" ;; esac
		# HTTP and iperf3 first: after a SYN flood, iptables' conntrack holds the NAT
		# ports towards the backends for two minutes and starves new connections
		case $sys in
		baton | iptables | haproxy | routing | baton-l7 | haproxy-http)
			measure_http "$sys" "$r" ka
			measure_http "$sys" "$r" close
			;;
		esac
		case $sys in baton | iptables | haproxy | routing) measure_iperf "$sys" "$r" ;; esac
		record_memory "$sys" "$r"
		# Baton's new-connection run holds SNAT ports for 70 s: start it afresh
		if [ "$sys" = baton ]; then
			system_down baton
			system_up baton
		fi
		case $sys in
		fwd | baton | iptables)
			measure_pkts "$sys" "$r" ack
			measure_pkts "$sys" "$r" synfit
			measure_pkts "$sys" "$r" syn
			;;
		esac
		system_down "$sys"
	done
	teardown_topology
done

# Control plane: the Marathon sync benchmark at 1,000 apps (a few seconds), full runs only
if [ $QUICK = 0 ] && [ -x "$BENCH_SYNC" ] && [ -z "${BENCH_NO_SYNC:-}" ]; then
	log "control plane: bench_sync --apps 1000"
	timeout 120 "$BENCH_SYNC" --apps 1000 2>/dev/null | grep '^{' | tail -n1 >"$OUT/bench_sync.json" ||
		log "bench_sync failed (not part of the result)"
fi

python3 "$SUITE_DIR/suite/report.py" "$OUT" || problem "report failed"
if [ $QUICK = 1 ]; then
	# every system forwarded something: packets at the sinks, HTTP answers, iperf3 bytes
	for want in fwd:ack_mpps fwd:syn_mpps baton:ack_mpps baton:syn_mpps baton:synfit_mpps \
		iptables:ack_mpps \
		iptables:syn_mpps baton:http_ka_rps baton:http_close_rps baton:iperf_gbps \
		iptables:http_ka_rps iptables:http_close_rps iptables:iperf_gbps haproxy:http_ka_rps \
		haproxy:http_close_rps haproxy:iperf_gbps routing:http_ka_rps \
		baton-l7:vhost_routing_ok baton-l7:http_ka_rps baton-l7:http_close_rps \
		haproxy-http:vhost_routing_ok haproxy-http:http_ka_rps haproxy-http:http_close_rps; do
		s=${want%%:*} m=${want#*:}
		has_system "$s" || continue
		jq -s -e --arg s "$s" --arg m "$m" 'any(.[]; .system == $s and .metric == $m and .value > 0)' \
			"$RAW" >/dev/null || problem "quick: no $m > 0 for $s"
	done
fi
cat "$OUT/summary.md" 2>/dev/null
if [ $FAILS -gt 0 ]; then
	bt_fail "$FAILS problem(s), see above (results in $OUT)"
fi
log "done: $OUT"
echo "PASS"
