#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# baton-pktgen on a veth pair in its own namespace (bt-pktgen-t): frames are complete and
# correct for every protocol and family (captured and checked by check_frames.py), the
# configured number of distinct flows, --count and --duration end the run, the RX port
# counts what arrives, and bad options fail with a message. No load beyond a second.
#   usage: test_pktgen.sh BATON_PKTGEN
set -uo pipefail
PKTGEN=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
NS=bt-pktgen-t
RUN=/run/$NS

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, AF_XDP)"
[ -x "$PKTGEN" ] || skip "baton-pktgen not built (libdpdk-dev)"
command -v python3 >/dev/null || skip "python3 not installed"

cleanup() {
	local rc=$?
	[ -n "${CAP:-}" ] && kill "$CAP" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$RUN"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns del "$NS" 2>/dev/null
mkdir -p "$RUN"
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link add g0 type veth peer name g1 || skip "no veth"
ip -n "$NS" link set g0 up
ip -n "$NS" link set g1 up
for i in $(seq 1 50); do
	ip -n "$NS" link show g1 | grep -q 'state UP' && break
	sleep 0.1
done

MAC=02:00:00:00:00:01
EAL=(-l 0 -n 1 --no-pci --file-prefix "$NS" --no-shconf --no-huge -m 256 --log-level=lib.eal:error)
gen() { timeout 30 nsenter --net=/var/run/netns/$NS "$PKTGEN" "${EAL[@]}" "$@" 2>"$RUN/err"; }

# check FLOWS DST DPORT PROTO WIRE_SIZE COUNT V6 -- pktgen options
check() {
	local flows=$1 dst=$2 dport=$3 proto=$4 size=$5 count=$6 v6=$7
	shift 8
	rm -f "$RUN/ready"
	nsenter --net=/var/run/netns/$NS python3 "$HERE/check_frames.py" g1 --count "$count" \
		--timeout 15 --dst "$dst" --dport "$dport" --proto "$proto" --size "$size" \
		--dst-mac $MAC $v6 --flows "$flows" --ready "$RUN/ready" >"$RUN/cap" 2>&1 &
	CAP=$!
	for i in $(seq 1 50); do [ -e "$RUN/ready" ] && break; sleep 0.1; done
	gen --vdev net_af_xdp0,iface=g0 -- --dst-mac $MAC --proto "$proto" --count "$count" \
		--rate 20000 "$@" >"$RUN/out" || fail "baton-pktgen $*: $(tail -n 3 "$RUN/err")"
	wait "$CAP" || fail "frames of '$*': $(cat "$RUN/cap")"
	CAP=""
	local sent
	sent=$(grep '^{' "$RUN/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tx_packets"])')
	[ "$sent" = "$count" ] || fail "'$*': sent $sent, want $count (--count)"
	echo "ok: $proto $size B${v6:+ IPv6}, $count frames, $flows flows: $(cat "$RUN/cap")"
}

check 12 10.50.100.1 80 syn 64 24 "" -- --dst 10.50.100.1:80 --size 64 --src 10.50.16.1 \
	--src-ips 3 --src-ports 4
check 10 fd50::1 443 ack 78 20 --ipv6 -- --dst '[fd50::1]:443' --ipv6 --size 64 --src-ips 2 \
	--src-ports 5 --src-port 65530
check 7 10.50.100.1 53 udp 200 14 "" -- --dst 10.50.100.1:53 --size 200 --src-ports 7
check 3 fd50::1 53 udp 1518 6 --ipv6 -- --dst '[fd50::1]:53' --ipv6 --size 1518 --src-ips 3

# --duration bounds a max-rate run, and a second port counts what arrives (af_packet on g1)
t0=$(date +%s.%N)
gen --vdev net_af_xdp0,iface=g0 --vdev net_af_packet1,iface=g1,qpairs=1 -- --dst-mac $MAC \
	--dst 10.50.100.1:80 --proto ack --duration 1.5 --rx-port 1 --src-ports 100 >"$RUN/out" ||
	fail "rx run: $(tail -n 3 "$RUN/err")"
t1=$(date +%s.%N)
grep -q "^t=1 tx [0-9.]* Mpps" "$RUN/out" || fail "no per-second line: $(cat "$RUN/out")"
python3 - "$RUN/out" "$t0" "$t1" <<'PY' || fail "rx run: $(cat "$RUN/out")"
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
el = float(sys.argv[3]) - float(sys.argv[2])
print("ok: --duration 1.5: %.2f s of sending (%.1f s with EAL), tx %d, rx on port 1 %d, %.3f Mpps"
      % (s["duration_s"], el, s["tx_packets"], s["rx_packets"], s["tx_mpps"]))
assert 1.49 <= s["duration_s"] < 2, "duration"
assert s["tx_packets"] > 0, "nothing sent"
# the veth delivers every frame to g1 unless its queue overflows; af_packet may miss some
assert 0 < s["rx_packets"] <= s["tx_packets"] + 50, "rx count"
PY

# bad input: a clear message and exit status 2, no crash
for bad in "--size 63" "--size 1519" "--rate 0" "--proto tcp" "--dst 10.50.100.1" \
	"--dst 10.50.100.1:0" "--src-port 65535 --src-ports 2" "--dst-mac zz" "--burst 0" \
	"--duration 0" "--ipv6"; do
	# shellcheck disable=SC2086
	gen --vdev net_af_xdp0,iface=g0 -- --dst-mac $MAC --dst 10.50.100.1:80 $bad >"$RUN/out"
	rc=$?
	[ $rc = 2 ] || fail "'$bad': exit status $rc, want 2"
	grep -q 'baton-pktgen: ' "$RUN/err" || fail "'$bad': no message: $(cat "$RUN/err")"
done
echo "ok: 11 bad option sets rejected with a message"
echo PASS
