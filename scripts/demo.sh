#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Baton demo, self-contained, as root from a fresh clone:  sudo scripts/demo.sh
#
# Installs the build dependencies, builds Baton, builds a small network out of network
# namespaces (prefix baton-demo-: a client, a load balancer with two arms, a bridge and
# three backends named backend-1..3 with weights 1, 1, 2), starts batond on the load
# balancer with a static config, sends HTTP requests (curl) to the VIP and shows which
# backend answered how many times, then IPv6 and UDP briefly. Everything it creates is
# removed on exit, even on failure. The machine's own interfaces are never touched.
#
# Environment: BATON_BUILD_DIR (default: build), DEMO_REQUESTS (default: 200).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BATON_BUILD_DIR:-build}
REQUESTS=${DEMO_REQUESTS:-200}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: must run as root (namespaces, XDP): sudo $0" >&2
	exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (scripts/install-deps.sh)"
"$ROOT/scripts/install-deps.sh" || { echo "demo: install-deps failed" >&2; exit 1; }

step "building in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" || { echo "demo: meson setup failed" >&2; exit 1; }
fi
meson compile -C "$BUILD" || { echo "demo: build failed" >&2; exit 1; }
BATOND=$BUILD/controlplane/batond
[ -x "$BATOND" ] || { echo "demo: $BATOND was not built" >&2; exit 1; }

BT_PREFIX_OVERRIDE=baton-demo
BT_BACKEND_NAME_PREFIX=backend-
# shellcheck source=../tests/netns/lib.sh
source "$ROOT/tests/netns/lib.sh"
bt_init demo 99 "$BATOND" # installs the cleanup trap

step "topology: namespaces $BT_PREFIX-{cl,lb,sw,b1,b2,b3}"
bt_topology 3
bt_start_backends
cat <<TXT
  client  $BT_CL  10.99.1.2 / fd99:1::2, default route via the load balancer
  lb      $BT_LB  lbc 10.99.1.1 (client side), lbb 10.99.2.1 (backend side, SNAT address)
  backend $BT_PREFIX-b1..b3  10.99.2.11..13 / fd99:2::11..13, tcp ports 31001..3, udp 32001..3
  VIP     $BT_VIP4 and $BT_VIP6 (configured on no interface: the XDP program owns them)
TXT

step "starting batond (weights: backend-1 1, backend-2 1, backend-3 2)"
CONF=$BT_RUN/baton.json
bt_config "$CONF" "1:1 2:1 3:2" "tcp4 tcp6 udp4 udp6"
"$BT_PY" - "$CONF" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    vip = s["vip"] if ":" not in s["vip"] else "[%s]" % s["vip"]
    print("  %-5s %s:%d/%s -> %s" % (s["name"], vip, s["port"], s["protocol"], ", ".join(
        "%s:%d w%d" % (b["address"], b["port"], b["weight"]) for b in s["backends"])))
PY
bt_start_batond "$CONF"
grep 'applied config:' "$BT_BATOND_LOG" | tail -n1 | sed 's/^batond: info: /  batond: /'
echo "  XDP on the load balancer's interfaces (ip -d link):"
for ifc in lbc lbb; do
	echo "    $ifc: $(ip -n "$BT_LB" -d link show dev "$ifc" | grep -o 'prog/xdp[a-z]* id [0-9]*' | head -n1)"
done

step "$REQUESTS HTTP requests: curl http://$BT_VIP4/ from the client namespace"
# curl's URL globbing makes one new connection per URL (the backend closes each one).
bt_ns "$BT_CL" curl -s --max-time 5 "http://$BT_VIP4/?req=[1-$REQUESTS]" >"$BT_RUN/answers" 2>/dev/null
answered=$(grep -c . "$BT_RUN/answers")
printf '  %-10s %6s %7s %9s\n' backend answers share expected
for i in 1 2 3; do
	n=$(grep -cx "backend-$i" "$BT_RUN/answers")
	want=25
	[ $i = 3 ] && want=50
	printf '  %-10s %6d %6.1f%% %8d%%\n' "backend-$i" "$n" "$(awk -v n="$n" -v t="$answered" 'BEGIN { print t ? 100 * n / t : 0 }')" $want
done
printf '  %-10s %6d of %d requests\n' total "$answered" "$REQUESTS"

step "IPv6: 20 requests to http://[$BT_VIP6]/"
bt_ns "$BT_CL" curl -s --max-time 5 "http://[$BT_VIP6]/?req=[1-20]" | sort | uniq -c |
	awk '{ printf "  %-10s %6d\n", $2, $1 }'

step "UDP: 30 datagrams each to $BT_VIP4:$BT_UDP_PORT and [$BT_VIP6]:$BT_UDP_PORT (echo servers)"
for vip in "$BT_VIP4" "$BT_VIP6"; do
	bt_client udp --addr "$vip" --port "$BT_UDP_PORT" --count 30 --timeout 2 >"$BT_RUN/udp"
	echo "  $vip: $(head -n1 "$BT_RUN/udp" | sed 's/ elapsed=.*//'); $(grep '^backend' "$BT_RUN/udp" | sed 's/^backend //' | tr '\n' ' ')"
done

step "evidence that XDP did the forwarding"
echo "  the load balancer's kernel never saw the VIP: it has no route for it:"
echo "    $(ip -n "$BT_LB" route get "$BT_VIP4" 2>&1 | head -n1)"
echo "  packets per verdict in the XDP program (pinned reason_stats):"
bt_dump_reasons | sed -n '2,$p' | sed 's/^/  /'

status=0
[ "$answered" -eq "$REQUESTS" ] || { echo "demo: only $answered of $REQUESTS requests answered" >&2; status=1; }
step "tearing down (namespaces, batond --detach, bpffs)"
exit $status
