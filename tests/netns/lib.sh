# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for Baton's netns tests and scripts/demo.sh. Source it, then:
#
#   bt_init NAME X BATOND     prefix bt-NAME-*, addresses 10.X.*.* / fdX:*::*, cleanup
#                             trap; skips (77) without root, netns, veth, BPF, XDP, or
#                             BATOND ("none": topology only, for helper scripts)
#   bt_topology N             client, lb (two arms), a bridge, N backends
#   bt_one_arm_topology N OBJ client, lb (one arm) and N backends on one bridge
#   bt_start_backends         backend.py in every backend namespace (b1..bN)
#   bt_config FILE SPEC [KINDS]   write a batond config, SPEC "1:1 2:1 3:2" (index:weight)
#   bt_start_batond FILE      start batond in the lb namespace, wait for "applied config:"
#   bt_reload / bt_kill_batond SIG   SIGHUP and wait for the next "applied config:" / stop
#   bt_client ARGS...         the Python client (below) in the client namespace
#   bt_bg NS CMD...           any background process in a namespace, killed on exit
#   bt_lb_client_arm LB CL    lb and its client arm only (layouts with the Marathon stand-in)
#   bt_sim_attach SIM A/L N   lb onto the stand-in's agents' bridge as lbb; waits for links
#   bt_wait_links "NS DEV"... wait (bounded) until devices are up with a real qdisc
#
# Environment: BT_BATOND_ARGS (extra batond arguments, e.g. -v), BT_KEEP_LOGS=1 (keep
# /run/bt-NAME/ with the logs after the test). scripts/demo.sh sets BT_PREFIX_OVERRIDE
# (namespace prefix) and BT_BACKEND_NAME_PREFIX (backend names) before bt_init.
#
# Topology (X chosen per test so tests can run side by side):
#
#   [cl] cl0 10.X.1.2 ---- lbc 10.X.1.1 [lb] lbb 10.X.2.1 ---- swlb [sw: br0] swbI ---- eth0 [bI]
#        fdX:1::2           fdX:1::1         fdX:2::1                                 10.X.2.1I
#                                                                                      fdX:2::1I
#   VIPs 10.X.100.1 / fdX:100::1 are configured nowhere: the client routes them via lb,
#   the XDP program answers for them. Backends have no route to the client (full NAT).
#
# Everything lives in namespaces named ${BT_PREFIX}-*; bt_cleanup (on EXIT) kills the
# processes it started (by recorded PID), detaches batond, unmounts the test's bpffs and
# deletes the namespaces. Nothing touches the root namespace's interfaces.

BT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BT_PIDS=()          # every background process we started
BT_NAMESPACES=()    # every namespace we created
BT_BATOND_PID=""
BT_NB=0
BT_VIP_PORT=80
BT_UDP_PORT=53
BT_QUIET=${BT_QUIET:-0}

bt_log() { [ "$BT_QUIET" = 1 ] || echo "[$BT_NAME] $*" >&2; }
bt_skip() {
	echo "SKIP [$BT_NAME]: $*" >&2
	exit 77
}
bt_fail() {
	echo "FAIL [$BT_NAME]: $*" >&2
	if [ -n "${BT_BATOND_LOG:-}" ] && [ -s "$BT_BATOND_LOG" ]; then
		echo "---- last lines of batond's log ($BT_BATOND_LOG) ----" >&2
		tail -n 30 "$BT_BATOND_LOG" >&2
		echo "----" >&2
	fi
	bt_dump_reasons >&2
	exit 1
}

# bt_init NAME X [BATOND]
bt_init() {
	BT_NAME=$1
	BT_X=$2
	BT_BATOND=${3:-}
	BT_PREFIX=bt-$BT_NAME
	[ "${BT_PREFIX_OVERRIDE:-}" ] && BT_PREFIX=$BT_PREFIX_OVERRIDE
	BT_RUN=/run/$BT_PREFIX
	BT_BPFFS=$BT_RUN/bpffs
	BT_BATOND_LOG=""
	BT_V4NET=10.$BT_X
	BT_V6NET=fd$BT_X
	BT_VIP4=$BT_V4NET.100.1
	BT_VIP6=$BT_V6NET:100::1
	BT_SNAT4=$BT_V4NET.2.1
	BT_SNAT6=$BT_V6NET:2::1
	BT_CL=$BT_PREFIX-cl
	BT_LB=$BT_PREFIX-lb
	BT_SW=$BT_PREFIX-sw

	[ "$(id -u)" -eq 0 ] || bt_skip "needs root (network namespaces, XDP)"
	local tool
	for tool in ip nsenter ethtool timeout mountpoint; do
		command -v "$tool" >/dev/null 2>&1 || bt_skip "$tool not installed"
	done
	BT_PY=$(command -v python3 || true)
	[ -x /usr/bin/python3 ] && BT_PY=/usr/bin/python3
	[ -n "$BT_PY" ] || bt_skip "python3 not installed"
	[ -n "$BT_BATOND" ] || bt_skip "usage: $(basename "$0") PATH_TO_BATOND (no batond given)"
	[ "$BT_BATOND" = none ] && BT_BATOND=""   # topology only (helper scripts)
	if [ -n "$BT_BATOND" ] && [ ! -x "$BT_BATOND" ]; then
		bt_skip "batond not built ($BT_BATOND)"
	fi
	grep -qw bpf /proc/filesystems || bt_skip "kernel has no bpffs (no BPF)"
	[ -e /proc/sys/net/core/bpf_jit_enable ] || bt_skip "kernel has no BPF JIT"
	grep -qw xdp_do_redirect /proc/kallsyms 2>/dev/null || bt_skip "kernel has no XDP"

	# A previous run killed hard may have left its namespaces: start clean.
	trap bt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	bt_cleanup_stale
	mkdir -p "$BT_RUN" || bt_fail "cannot create $BT_RUN"
	ip netns add "$BT_CL" 2>/dev/null || bt_skip "cannot create network namespaces"
	BT_NAMESPACES+=("$BT_CL")
	if ! ip -n "$BT_CL" link add bt-probe type veth peer name bt-probe2 2>/dev/null; then
		bt_skip "no veth support"
	fi
	ip -n "$BT_CL" link del bt-probe
	bt_write_client
}

# Run a command inside one of our namespaces (nsenter keeps /sys/fs/bpf visible,
# unlike `ip netns exec`).
bt_ns() {
	local ns=$1
	shift
	nsenter --net=/var/run/netns/"$ns" "$@"
}

# bt_bg NS CMD...: start CMD in namespace NS in the background, its PID (nsenter execs
# the command, so it is the command's own PID) in BT_LAST_PID and in BT_PIDS for cleanup.
# Redirect the call itself: bt_bg ns cmd >log 2>&1
bt_bg() {
	local ns=$1
	shift
	nsenter --net=/var/run/netns/"$ns" "$@" &
	BT_LAST_PID=$!
	BT_PIDS+=("$BT_LAST_PID")
}

bt_ns_new() {
	local ns=$1
	ip netns add "$ns" || bt_fail "ip netns add $ns"
	BT_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
	bt_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
}

# bt_topology NBACKENDS
bt_topology() {
	BT_NB=$1
	local i v4=$BT_V4NET v6=$BT_V6NET
	# the client namespace exists already (bt_init)
	ip -n "$BT_CL" link set lo up
	bt_ns "$BT_CL" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
	bt_ns_new "$BT_LB"
	bt_ns_new "$BT_SW"
	bt_ns "$BT_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null

	# client arm
	ip -n "$BT_LB" link add lbc type veth peer name cl0 netns "$BT_CL" || bt_fail "veth lbc"
	ip -n "$BT_LB" addr add "$v4.1.1/24" dev lbc
	ip -n "$BT_LB" addr add "$v6:1::1/64" dev lbc nodad
	ip -n "$BT_CL" addr add "$v4.1.2/24" dev cl0
	ip -n "$BT_CL" addr add "$v6:1::2/64" dev cl0 nodad
	ip -n "$BT_LB" link set lbc up
	ip -n "$BT_CL" link set cl0 up
	ip -n "$BT_CL" route add default via "$v4.1.1"
	ip -n "$BT_CL" -6 route add default via "$v6:1::1"

	# backend arm: lb -- bridge -- backends
	ip -n "$BT_SW" link add br0 type bridge forward_delay 0 mcast_snooping 0
	ip -n "$BT_SW" link set br0 up
	ip -n "$BT_LB" link add lbb type veth peer name swlb netns "$BT_SW" || bt_fail "veth lbb"
	ip -n "$BT_LB" addr add "$v4.2.1/24" dev lbb
	ip -n "$BT_LB" addr add "$v6:2::1/64" dev lbb nodad
	ip -n "$BT_LB" link set lbb up
	ip -n "$BT_SW" link set swlb master br0 up
	for i in $(seq 1 "$BT_NB"); do
		local ns=$BT_PREFIX-b$i
		bt_ns_new "$ns"
		ip -n "$ns" link add eth0 type veth peer name swb$i netns "$BT_SW" || bt_fail "veth b$i"
		ip -n "$ns" addr add "$v4.2.1$i/24" dev eth0
		ip -n "$ns" addr add "$v6:2::1$i/64" dev eth0 nodad
		ip -n "$ns" link set eth0 up
		ip -n "$BT_SW" link set swb$i master br0 up
		bt_ns "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 || bt_fail "ethtool tx off (b$i)"
	done

	# Senders whose packets XDP rewrites must send full checksums; the peers that XDP
	# redirects into (cl0 behind lbc, swlb behind lbb) need GRO to take the frames.
	bt_ns "$BT_CL" ethtool -K cl0 tx off >/dev/null 2>&1 || bt_fail "ethtool tx off (cl0)"
	bt_ns "$BT_CL" ethtool -K cl0 gro on >/dev/null 2>&1 || bt_fail "ethtool gro on (cl0)"
	bt_ns "$BT_SW" ethtool -K swlb gro on >/dev/null 2>&1 || bt_fail "ethtool gro on (swlb)"
	bt_wait_links "$BT_CL cl0" "$BT_LB lbc" "$BT_LB lbb" "$BT_SW br0" "$BT_SW swlb" \
		$(for i in $(seq 1 "$BT_NB"); do echo "$BT_SW,swb$i $BT_PREFIX-b$i,eth0"; done)
	bt_log "topology $BT_PREFIX-*: client $v4.1.2, lb $v4.1.1|$v4.2.1, $BT_NB backends $v4.2.11.., VIP $BT_VIP4 / $BT_VIP6"
}

# bt_wait_links "NS DEV"|NS,DEV ...: until link watch activates a device its qdisc is noop
# and drops what is sent: wait (bounded), so that no test sees a lost first SYN (a 1 s
# retransmit) that is not Baton's doing.
bt_wait_links() {
	local pair deadline=$((SECONDS + 10))
	for pair in "$@"; do
		pair=${pair/,/ }
		set -- $pair
		until ip -n "$1" link show dev "$2" | grep -q 'state UP' &&
			! ip -n "$1" link show dev "$2" | grep -q 'qdisc noop'; do
			[ $SECONDS -lt $deadline ] || bt_fail "$2 in $1 did not come up"
			sleep 0.05
		done
	done
}

# bt_lb_client_arm LB_ADDR CL_ADDR: the lb namespace (forwarding on) and its client arm
# only, lbc LB_ADDR/24 -- cl0 CL_ADDR/24, for layouts whose backend arm is made elsewhere
# (bt_sim_attach). Senders whose packets XDP rewrites send full checksums; a veth that XDP
# redirects into needs GRO on its peer to take the frames.
bt_lb_client_arm() {
	bt_ns_new "$BT_LB"
	bt_ns "$BT_LB" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
	ip -n "$BT_CL" link set lo up
	ip -n "$BT_LB" link add lbc type veth peer name cl0 netns "$BT_CL" || bt_fail "veth lbc"
	ip -n "$BT_LB" addr add "$1/24" dev lbc
	ip -n "$BT_CL" addr add "$2/24" dev cl0
	ip -n "$BT_LB" link set lbc up
	ip -n "$BT_CL" link set cl0 up
	bt_ns "$BT_CL" ethtool -K cl0 tx off gro on >/dev/null 2>&1 || bt_fail "ethtool cl0"
}

# bt_sim_attach SIM ADDR/LEN NAGENTS: once the Marathon stand-in SIM (tests/marathon-sim,
# --prefix $BT_PREFIX, its log in $BT_RUN/sim.log) is ready, attach lb to its agents'
# bridge as lbb with ADDR/LEN, set what XDP on veth needs (GRO on the bridge port, full
# checksums from the agents) and wait for the links (client cl0/lbc included).
bt_sim_attach() {
	local sim=$1 addr=$2 n=$3 port k
	"$BT_PY" "$sim" connect --prefix "$BT_PREFIX" --netns "$BT_LB" --address "$addr" \
		--ifname lbb >"$BT_RUN/connect.json" 2>>"$BT_RUN/sim.log" ||
		bt_fail "cannot attach $BT_LB to the agents' bridge: $(tail -n 3 "$BT_RUN/sim.log")"
	port=$("$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["bridge_port"])' "$BT_RUN/connect.json")
	bt_ns "$BT_PREFIX-net" ethtool -K "$port" gro on >/dev/null 2>&1 || bt_fail "ethtool gro on ($port)"
	for k in $(seq 1 "$n"); do
		bt_ns "$BT_PREFIX-agent$k" ethtool -K eth0 tx off >/dev/null 2>&1 || bt_fail "ethtool tx off (agent$k)"
	done
	bt_wait_links "$BT_CL cl0" "$BT_LB lbc" "$BT_LB lbb" "$BT_PREFIX-net $port" \
		$(for k in $(seq 1 "$n"); do echo "$BT_PREFIX-agent$k,eth0"; done)
}

# bt_one_arm_topology N PASS_OBJ: the client, the lb (one interface, lbb) and N backends
# on one bridge, each a veth into br0 [sw] with 10.X.2.* / fdX:2::*: cl0 .2, lbb .1,
# backend I .1I. PASS_OBJ (an XDP_PASS program) goes on swlb: XDP_TX out of lbb reaches
# the bridge only if its peer runs an XDP program.
bt_one_arm_topology() {
	local i pass_obj=$2
	BT_NB=$1
	bt_ns_new "$BT_LB"
	bt_ns_new "$BT_SW"
	ip -n "$BT_CL" link set lo up
	bt_ns "$BT_CL" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
	bt_ns "$BT_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
	ip -n "$BT_SW" link add br0 type bridge forward_delay 0 mcast_snooping 0
	ip -n "$BT_SW" link set br0 up
	bt_plug "$BT_CL" cl0 swcl "$BT_V4NET.2.2" "$BT_V6NET:2::2"
	bt_plug "$BT_LB" lbb swlb "$BT_V4NET.2.1" "$BT_V6NET:2::1"
	for i in $(seq 1 "$BT_NB"); do
		bt_ns_new "$BT_PREFIX-b$i"
		bt_plug "$BT_PREFIX-b$i" eth0 "swb$i" "$(bt_backend_addr4 "$i")" "$(bt_backend_addr6 "$i")"
	done
	ip -n "$BT_SW" link set dev swlb xdpdrv obj "$pass_obj" sec xdp ||
		bt_fail "cannot attach the pass program to swlb"
	for _ in $(seq 1 50); do
		ip -n "$BT_LB" link show lbb | grep -q 'state UP' &&
			ip -n "$BT_CL" link show cl0 | grep -q 'state UP' && break
		sleep 0.1
	done
}

# bt_plug NS IFACE PORT ADDR4 ADDR6: a veth from NS into the bridge br0 of BT_SW
bt_plug() {
	ip -n "$1" link add "$2" type veth peer name "$3" netns "$BT_SW" || bt_fail "veth $2"
	ip -n "$1" addr add "$4/24" dev "$2"
	ip -n "$1" addr add "$5/64" dev "$2" nodad
	ip -n "$1" link set "$2" up
	ip -n "$BT_SW" link set "$3" master br0 up
	bt_ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || bt_fail "ethtool $2"
}

bt_backend_addr4() { echo "$BT_V4NET.2.1$1"; }
bt_backend_addr6() { echo "$BT_V6NET:2::1$1"; }
# bt_wait_listen NS PORT WHAT [LOG]: until a TCP listener on PORT in NS (10 s, else fail,
# with LOG's contents)
bt_wait_listen() {
	local deadline=$((SECONDS + 10))
	until bt_ns "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN; do
		[ $SECONDS -lt $deadline ] ||
			bt_fail "$3 did not start (nothing listens on $1:$2)${4:+: $(cat "$4")}"
		sleep 0.1
	done
}

# bt_l7_lane: the L7 lane, veth l0 in the load balancer namespace and its peer l1 alone
# in namespace $BT_PREFIX-lane (baton-l7's af_xdp port); LANE names that namespace.
bt_l7_lane() {
	LANE=$BT_PREFIX-lane
	bt_ns_new "$LANE"
	ip -n "$BT_LB" link add l0 type veth peer name l1 netns "$LANE" || bt_fail "veth l0"
	ip -n "$BT_LB" link set l0 up
	ip -n "$LANE" link set l1 up
}

bt_backend_port() { echo $((31000 + $1)); }
bt_backend_udp_port() { echo $((32000 + $1)); }

# bt_start_backends: backend.py named b1..bN in every backend namespace
bt_start_backends() {
	local i ns
	for i in $(seq 1 "$BT_NB"); do
		ns=$BT_PREFIX-b$i
		bt_bg "$ns" "$BT_PY" "$BT_LIB_DIR/backend.py" --name "${BT_BACKEND_NAME_PREFIX:-b}$i" \
			--port "$(bt_backend_port "$i")" --udp-port "$(bt_backend_udp_port "$i")" \
			>"$BT_RUN/backend$i.log" 2>&1
	done
	# wait until every backend listens (bounded)
	for i in $(seq 1 "$BT_NB"); do
		bt_wait_listen "$BT_PREFIX-b$i" "$(bt_backend_port "$i")" "backend b$i" \
			"$BT_RUN/backend$i.log"
	done
}

# bt_config FILE "I:W I:W ..." [KINDS]  KINDS: any of tcp4 tcp6 udp4 udp6 (default all)
# Services: web4 (VIP4:80/tcp), web6 (VIP6:80/tcp), dns4 (VIP4:53/udp), dns6 (VIP6:53/udp).
bt_config() {
	local file=$1 spec=$2 kinds=${3:-tcp4 tcp6 udp4 udp6}
	local out='{"services":[' first=1 kind
	for kind in $kinds; do
		local name vip proto port fam backends="" bfirst=1 item idx w addr bport
		case $kind in
		tcp4) name=web4 vip=$BT_VIP4 proto=tcp port=$BT_VIP_PORT fam=4 ;;
		tcp6) name=web6 vip=$BT_VIP6 proto=tcp port=$BT_VIP_PORT fam=6 ;;
		udp4) name=dns4 vip=$BT_VIP4 proto=udp port=$BT_UDP_PORT fam=4 ;;
		udp6) name=dns6 vip=$BT_VIP6 proto=udp port=$BT_UDP_PORT fam=6 ;;
		*) bt_fail "bt_config: unknown kind $kind" ;;
		esac
		for item in $spec; do
			idx=${item%%:*}
			w=${item#*:}
			if [ $fam = 4 ]; then addr=$(bt_backend_addr4 "$idx"); else addr=$(bt_backend_addr6 "$idx"); fi
			if [ $proto = tcp ]; then bport=$(bt_backend_port "$idx"); else bport=$(bt_backend_udp_port "$idx"); fi
			[ $bfirst = 1 ] || backends+=","
			bfirst=0
			backends+="{\"address\":\"$addr\",\"port\":$bport,\"weight\":$w}"
		done
		[ $first = 1 ] || out+=","
		first=0
		out+="{\"name\":\"$name\",\"vip\":\"$vip\",\"port\":$port,\"protocol\":\"$proto\",\"backends\":[$backends]}"
	done
	out+=']}'
	echo "$out" >"$file.tmp" && mv "$file.tmp" "$file"
}

bt_applied_count() {
	[ -f "$BT_BATOND_LOG" ] || { echo 0; return; }
	grep -c 'applied config:' "$BT_BATOND_LOG" 2>/dev/null || true
}

# bt_wait_applied N [TIMEOUT]: wait until the log holds N "applied config:" lines
bt_wait_applied() {
	local want=$1 timeout=${2:-20} deadline
	deadline=$((SECONDS + timeout))
	while [ "$(bt_applied_count)" -lt "$want" ]; do
		if [ -n "$BT_BATOND_PID" ] && ! kill -0 "$BT_BATOND_PID" 2>/dev/null; then
			bt_fail "batond exited before applying its config"
		fi
		[ $SECONDS -lt $deadline ] || bt_fail "no 'applied config:' line #$want within ${timeout}s"
		sleep 0.1
	done
}

# bt_start_batond CONFIG [extra args...]: start batond in lb, wait for its config
bt_start_batond() {
	local config=$1
	shift
	[ -n "$BT_BATOND" ] || bt_fail "no batond binary given"
	mkdir -p "$BT_BPFFS"
	BT_BATOND_LOG=${BT_BATOND_LOG:-$BT_RUN/batond.log}
	local before
	before=$(bt_applied_count)
	bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --config "$config" \
		--snat-addr "$BT_SNAT4" --snat-addr "$BT_SNAT6" --bpffs "$BT_BPFFS" ${BT_BATOND_ARGS:-} "$@" \
		>>"$BT_BATOND_LOG" 2>&1
	BT_BATOND_PID=$BT_LAST_PID
	bt_wait_applied $((before + 1)) 20
	bt_log "batond running (pid $BT_BATOND_PID), config applied"
}

# bt_reload: SIGHUP and wait for the next "applied config:" line
bt_reload() {
	local n
	n=$(bt_applied_count)
	kill -HUP "$BT_BATOND_PID" || bt_fail "batond is not running"
	bt_wait_applied $((n + 1)) 20
}

bt_kill_batond() { # bt_kill_batond SIGNAL
	local sig=${1:-TERM} i
	[ -n "$BT_BATOND_PID" ] || return 0
	kill -"$sig" "$BT_BATOND_PID" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$BT_BATOND_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$BT_BATOND_PID" 2>/dev/null
	BT_BATOND_PID=""
}

# Does the lb namespace's interface carry an XDP program? prints its id or nothing
bt_xdp_id() {
	ip -n "$BT_LB" -d link show dev "$1" 2>/dev/null |
		sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n1
}

bt_dump_reasons() {
	[ -n "${BT_BPFFS:-}" ] && [ -e "$BT_BPFFS/baton/reason_stats" ] || return 0
	command -v bpftool >/dev/null 2>&1 || return 0
	echo "---- reason_stats (per-CPU packets summed) ----"
	bpftool -j map dump pinned "$BT_BPFFS/baton/reason_stats" 2>/dev/null |
		"$BT_PY" -c '
import json, sys, re
hdr = open(sys.argv[1]).read()
names = re.findall(r"X\(\w+,\s*\"(\w+)\"\)", hdr)
for e in json.load(sys.stdin):
    k = e.get("formatted", e)["key"] if "formatted" in e else e["key"]
    vals = e.get("formatted", e).get("values", [])
    pk = sum(v["value"]["packets"] if isinstance(v.get("value"), dict) else 0 for v in vals)
    if pk:
        print("  %-18s %d" % (names[k] if isinstance(k, int) and k < len(names) else k, pk))
' "$BT_LIB_DIR/../../include/baton_abi.h" 2>/dev/null || true
}

# bt_reason_count NAME: packets counted under one reason (0 if none)
bt_reason_count() {
	bt_dump_reasons | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}

bt_client() { bt_ns "$BT_CL" "$BT_PY" "$BT_RUN/client.py" "$@"; }
# bt_client_bg ARGS... >OUT: the client in the background, PID in BT_LAST_PID
bt_client_bg() { bt_bg "$BT_CL" "$BT_PY" "$BT_RUN/client.py" "$@"; }

# bt_check_shares RESULTFILE "b1=0.25 b2=0.25 b3=0.5" TOLERANCE_PP
# Checks the "backend NAME COUNT" lines of a client result; prints the table.
bt_check_shares() {
	local file=$1 expect=$2 tol=$3
	awk -v expect="$expect" -v tol="$tol" '
		/^backend / { n[$2] = $3; total += $3 }
		END {
			ne = split(expect, e, " ")
			bad = 0
			printf "  %-10s %6s %8s %8s\n", "backend", "count", "share", "expected"
			for (i = 1; i <= ne; i++) {
				split(e[i], kv, "=")
				got = total ? 100 * n[kv[1]] / total : 0
				want = 100 * kv[2]
				diff = got - want; if (diff < 0) diff = -diff
				flag = (diff > tol) ? "  <-- off by more than " tol " pp" : ""
				if (diff > tol) bad = 1
				printf "  %-10s %6d %7.1f%% %7.1f%%%s\n", kv[1], n[kv[1]], got, want, flag
				seen[kv[1]] = 1
			}
			for (k in n) if (!(k in seen)) { printf "  unexpected backend %s: %d\n", k, n[k]; bad = 1 }
			printf "  %-10s %6d\n", "total", total
			exit bad
		}' "$file"
}

bt_cleanup_stale() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$BT_PREFIX-" || true); do
		local p
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -d "$BT_BPFFS" ]; then
		while mountpoint -q "$BT_BPFFS"; do umount "$BT_BPFFS" || break; done
	fi
	rm -rf "$BT_RUN"
}

bt_cleanup() {
	local rc=$? p ns i
	trap - EXIT INT TERM
	# 1. the processes we started, by recorded PID
	for p in "${BT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 1 20); do
		local alive=0
		for p in "${BT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${BT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${BT_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# 2. remove the program and the pins
	if [ -n "${BT_BATOND:-}" ] && [ -x "$BT_BATOND" ] && [ -e /var/run/netns/"$BT_LB" ] &&
		[ -d "$BT_BPFFS" ]; then
		timeout 20 nsenter --net=/var/run/netns/"$BT_LB" "$BT_BATOND" --detach \
			--iface lbc --iface lbb --bpffs "$BT_BPFFS" >>"$BT_RUN/detach.log" 2>&1 || true
	fi
	# 3. anything still running inside our own namespaces (started by us)
	for ns in "${BT_NAMESPACES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for ns in "${BT_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
	# 4. the test's bpffs (batond mounted it) and run directory
	if [ -n "${BT_BPFFS:-}" ] && [ -d "$BT_BPFFS" ]; then
		for i in 1 2 3; do mountpoint -q "$BT_BPFFS" && umount "$BT_BPFFS"; done
	fi
	if [ -n "${BT_RUN:-}" ] && [ -d "$BT_RUN" ]; then
		if [ "${BT_KEEP_LOGS:-0}" = 1 ]; then
			bt_log "logs kept in $BT_RUN"
		else
			mountpoint -q "$BT_BPFFS" 2>/dev/null || rm -rf "$BT_RUN"
		fi
	fi
	exit $rc
}

# The client: sequential TCP connections, UDP round trips, one long stream.
bt_write_client() {
	cat >"$BT_RUN/client.py" <<'EOF'
import argparse, socket, sys, time

CHUNK = bytes(range(256)) * 16

def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

def tcp(a):
    counts, fails, lats, slow = {}, {}, [], 0
    start = time.monotonic()
    n = 0
    while n < a.count and time.monotonic() - start < a.max_seconds:
        n += 1
        t0 = time.monotonic()
        s = socket.socket(fam(a.addr), socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        try:
            if a.sport:  # the same client port every time (reuse after a close)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("::" if ":" in a.addr else "0.0.0.0", a.sport))
            s.connect((a.addr, a.port))
            s.sendall(b"name\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            name = data.decode(errors="replace").strip()
            if not name:
                raise OSError("empty answer")
            counts[name] = counts.get(name, 0) + 1
        except OSError as e:
            why = type(e).__name__ if not str(e) else str(e)
            fails[why] = fails.get(why, 0) + 1
            continue
        finally:
            s.close()
        lat = time.monotonic() - t0
        lats.append(lat)
        if lat > a.slow:
            slow += 1
            print("slow connection #%d: %.3f s" % (n, lat), file=sys.stderr)
        if a.interval:
            time.sleep(a.interval)
    el = time.monotonic() - start
    ok = sum(counts.values())
    print("attempted=%d ok=%d failed=%d elapsed=%.2f rate=%.0f max_ms=%.1f avg_ms=%.2f slow=%d"
          % (n, ok, n - ok, el, ok / el if el else 0, 1000 * max(lats, default=0),
             1000 * sum(lats) / len(lats) if lats else 0, slow))
    for k in sorted(counts):
        print("backend %s %d" % (k, counts[k]))
    for k in sorted(fails):
        print("error %s: %d" % (k.replace(" ", "_"), fails[k]))

def udp(a):
    counts, lost, bad = {}, 0, 0
    start = time.monotonic()
    n = 0
    while n < a.count and time.monotonic() - start < a.max_seconds:
        n += 1
        s = socket.socket(fam(a.addr), socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        payload = b"ping-%d" % n
        try:
            s.sendto(payload, (a.addr, a.port))
            data, peer = s.recvfrom(2048)
            name, _, echo = data.partition(b":")
            if echo != payload or peer[1] != a.port:
                bad += 1
                print("bad answer %r from %r" % (data, peer), file=sys.stderr)
            else:
                counts[name.decode()] = counts.get(name.decode(), 0) + 1
        except OSError:
            lost += 1
        finally:
            s.close()
    ok = sum(counts.values())
    print("attempted=%d ok=%d lost=%d bad=%d elapsed=%.2f"
          % (n, ok, lost, bad, time.monotonic() - start))
    for k in sorted(counts):
        print("backend %s %d" % (k, counts[k]))

def stream(a):
    chunks = int(a.seconds * 100)
    expected = chunks * len(CHUNK)
    status, got, name = "ok", 0, "?"
    t0 = time.monotonic()
    s = socket.socket(fam(a.addr), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.addr, a.port))
        s.sendall(b"stream %g\n" % a.seconds)
        f = s.makefile("rb")
        name = f.readline().decode().strip()
        print("stream_backend=%s" % name, flush=True)
        pos = 0
        while got < expected:
            d = f.read1(min(65536, expected - got)) if hasattr(f, "read1") else f.read(4096)
            if not d:
                status = "short"
                break
            want = (CHUNK * ((len(d) + pos) // len(CHUNK) + 2))[pos:pos + len(d)]
            if d != want:
                status = "corrupt"
                break
            got += len(d)
            pos = (pos + len(d)) % len(CHUNK)
        if status == "ok":
            trailer = f.read()
            if trailer != b"END %d\n" % expected:
                status = "bad_trailer(%r)" % trailer[:40]
    except ConnectionResetError:
        status = "reset"
    except socket.timeout:
        status = "stalled"
    except OSError as e:
        status = "error(%s)" % e
    finally:
        s.close()
    print("stream_status=%s bytes=%d expected=%d elapsed=%.2f"
          % (status, got, expected, time.monotonic() - t0), flush=True)

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["tcp", "udp", "stream"])
ap.add_argument("--addr", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--count", type=int, default=100)
ap.add_argument("--max-seconds", type=float, default=60)
ap.add_argument("--timeout", type=float, default=5)
ap.add_argument("--slow", type=float, default=0.9)
ap.add_argument("--interval", type=float, default=0)
ap.add_argument("--sport", type=int, default=0)
ap.add_argument("--seconds", type=float, default=8)
a = ap.parse_args()
{"tcp": tcp, "udp": udp, "stream": stream}[a.mode](a)
EOF
}

# Field of a key=value result line: bt_field FILE KEY
bt_field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | head -n1; }

# bt_wait_line FILE PATTERN TIMEOUT: wait until FILE has a line matching PATTERN (grep -E)
bt_wait_line() {
	local file=$1 pattern=$2 timeout=${3:-10} deadline
	deadline=$((SECONDS + timeout))
	until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# bt_wait_pid PID TIMEOUT: wait for a background job to end (bounded); returns its status
bt_wait_pid() {
	local pid=$1 timeout=${2:-30} deadline
	deadline=$((SECONDS + timeout))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 124
		sleep 0.1
	done
	wait "$pid"
}

# bt_expect_all_ok RESULTFILE COUNT WHAT: the tcp client result has COUNT successes, no failure
bt_expect_all_ok() {
	local file=$1 count=$2 what=$3 ok failed
	ok=$(bt_field "$file" ok)
	failed=$(bt_field "$file" failed)
	[ "$ok" = "$count" ] && [ "${failed:-0}" = 0 ] ||
		bt_fail "$what: $ok of $count connections answered: $(tr '\n' ' ' <"$file")"
}

# bt_backend_count RESULTFILE NAME: how many answers came from NAME
bt_backend_count() { awk -v n="$2" '$1 == "backend" && $2 == n { c = $3 } END { print c + 0 }' "$1"; }

# ---- a Marathon served by tests/client/replay_marathon.py (netns_marathon, netns_api_drain) ----

# bt_marathon_apps_json "ID:BACKEND ...": the app /web (service port 10000, VIP_0 /web:80) with
# a task ID on each backend N (10.X.2.1N:3100N), as -> /v2/apps?embed=apps.tasks body, Marathon 1.5 shape
bt_marathon_apps_json() {
	"$BT_PY" - "$BT_V4NET" "$@" <<'PY'
import json, sys
net, spec = sys.argv[1], sys.argv[2:]
tasks = []
for item in " ".join(spec).split():
    tid, be = item.split(":")
    host = "%s.2.1%s" % (net, be)
    tasks.append({"id": "web." + tid, "appId": "/web", "host": host, "slaveId": "agent-" + be,
                  "ports": [31000 + int(be)], "servicePorts": [10000],
                  "ipAddresses": [{"ipAddress": host, "protocol": "IPv4"}],
                  "state": "TASK_RUNNING", "stagedAt": "2026-11-25T00:00:00.000Z",
                  "startedAt": "2026-11-25T00:00:01.000Z", "version": "2026-11-25T00:00:00.000Z",
                  "healthCheckResults": []})
app = {"id": "/web", "cmd": "backend.py", "instances": len(tasks), "labels": {"HAPROXY_GROUP": "external"},
       "networks": [{"mode": "host"}], "container": None, "healthChecks": [],
       "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "web",
                            "labels": {"VIP_0": "/web:80"}}],
       "tasks": tasks, "tasksRunning": len(tasks), "version": "2026-11-25T00:00:00.000Z"}
print(json.dumps({"apps": [app]}))
PY
}

# bt_marathon_status EVENT_PORT TASK BACKEND STATE: one status_update_event of /web through
# tests/client/replay_marathon.py listening on EVENT_PORT in the lb namespace
bt_marathon_status() {
	local host=$BT_V4NET.2.1$3
	bt_ns "$BT_LB" curl -sS -X POST --max-time 5 "http://127.0.0.1:$1/_test/event?type=status_update_event" \
		--data "{\"eventType\":\"status_update_event\",\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\",\"slaveId\":\"agent-$3\",\"taskId\":\"web.$2\",\"taskStatus\":\"$4\",\"appId\":\"/web\",\"host\":\"$host\",\"ports\":[$((31000 + $3))],\"ipAddresses\":[{\"ipAddress\":\"$host\",\"protocol\":\"IPv4\"}],\"version\":\"2026-11-25T00:00:00.000Z\"}" ||
		bt_fail "cannot post an event"
}

# bt_marathon_applied_count [KIND]: applies so far (KIND: fetch or an event type; default: any)
# (events that arrive together are applied together: "(TYPE xN)" counts N)
bt_marathon_applied_count() {
	if [ -z "${1:-}" ]; then
		grep -c "applied marathon state" "$BT_BATOND_LOG" 2>/dev/null || true
		return
	fi
	sed -n "s/.*applied marathon state ($1\( x\([0-9]*\)\)\{0,1\}).*/\2/p" "$BT_BATOND_LOG" 2>/dev/null |
		awk '{ n += ($1 == "" ? 1 : $1) } END { print n + 0 }'
}
bt_marathon_wait_applied() { # bt_marathon_wait_applied N [KIND]
	local deadline=$((SECONDS + 20))
	while [ "$(bt_marathon_applied_count "${2:-}")" -lt "$1" ]; do
		kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "batond exited"
		[ $SECONDS -lt $deadline ] || bt_fail "no 'applied marathon state' #$1 within 20 s"
		sleep 0.05
	done
}
