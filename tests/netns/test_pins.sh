#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pinned state across restarts, and the host's own traffic:
# - without --snat-addr, batond takes the address the kernel uses towards the backends;
# - the load balancer's own traffic (ping, TCP to a server on the lb) passes untouched;
# - pins written by another ABI version, or a pinned map of another layout, are refused
#   with a clear error and never reused, while the attached program keeps forwarding;
# - with the pins restored, a new batond adopts them and forwarding goes on.
# usage: test_pins.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init pins 38 "${1:-}"
command -v bpftool >/dev/null || bt_skip "bpftool not installed"

bt_topology 2
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log

# batond_run LOG: run batond in the lb namespace without --snat-addr, in the background.
batond_run() {
	bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --config "$BT_RUN/config.json" \
		--bpffs "$BT_BPFFS" >>"$1" 2>&1
	BT_BATOND_PID=$BT_LAST_PID
}

# batond_refused LOG WHAT: batond must exit non-zero by itself within 20 s.
batond_refused() {
	local rc
	bt_wait_pid "$BT_BATOND_PID" 20
	rc=$?
	[ $rc = 124 ] && bt_fail "batond kept running with $2"
	[ $rc != 0 ] || bt_fail "batond exited 0 with $2"
	BT_BATOND_PID=""
	echo "batond refused $2 (exit $rc)"
}

traffic_ok() { # traffic_ok WHAT
	bt_client tcp --addr "$BT_VIP4" --port 80 --count 20 --max-seconds 20 --timeout 5 \
		>"$BT_RUN/r" || bt_fail "client failed ($1)"
	bt_expect_all_ok "$BT_RUN/r" 20 "$1"
	echo "$1: 20 of 20 connections through the VIP answered"
}

# 1. Default SNAT address.
batond_run "$BT_BATOND_LOG"
bt_wait_applied 1 20
grep -q "SNAT address (IPv4): $BT_SNAT4" "$BT_BATOND_LOG" ||
	bt_fail "without --snat-addr batond did not pick $BT_SNAT4"
echo "default SNAT address: $(grep -o 'SNAT address (IPv4): [0-9.]*' "$BT_BATOND_LOG")"
traffic_ok "default SNAT address"

# 2. The host's own traffic passes untouched.
bt_ns "$BT_CL" ping -c 2 -W 2 "$BT_V4NET.1.1" >/dev/null 2>&1 ||
	bt_fail "the client cannot ping the load balancer's own address"
bt_bg "$BT_LB" "$BT_PY" "$BT_LIB_DIR/backend.py" --name lb-itself --port 8080 \
	>"$BT_RUN/lbsrv.log" 2>&1
for _ in $(seq 1 50); do
	bt_ns "$BT_LB" ss -Hltn 'sport = :8080' | grep -q . && break
	sleep 0.1
done
bt_client tcp --addr "$BT_V4NET.1.1" --port 8080 --count 10 --max-seconds 20 --timeout 5 \
	>"$BT_RUN/r" || bt_fail "client failed (lb's own server)"
bt_expect_all_ok "$BT_RUN/r" 10 "TCP to a server on the load balancer itself"
bt_ns "$BT_LB" ping -c 2 -W 2 "$(bt_backend_addr4 1)" >/dev/null 2>&1 ||
	bt_fail "the load balancer cannot ping a backend itself"
echo "host traffic: ping to the lb, TCP to a server on the lb, lb -> backend ping all work"

# 3. Another ABI version in the pinned config map: refused, forwarding goes on.
bt_kill_batond KILL
cfg=$BT_BPFFS/baton/config
# bpftool -j gives the raw bytes as a list of "0x.." strings.
orig=$(bpftool -j map lookup pinned "$cfg" key 0 0 0 0 |
	"$BT_PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)["value"]))')
[ -n "$orig" ] || bt_fail "cannot read the pinned config map"
bad="0x63 0x00 0x00 0x00 $(echo "$orig" | cut -d' ' -f5-)" # abi_version 99, the rest as it was
bpftool map update pinned "$cfg" key 0 0 0 0 value $bad || bt_fail "cannot write the pinned config map"
log2=$BT_RUN/batond-abi.log
batond_run "$log2"
batond_refused "$log2" "pins of ABI version 99"
grep -q "ABI version 99" "$log2" || bt_fail "no clear error for ABI 99: $(cat "$log2")"
echo "ABI 99 pins refused: $(grep -m1 'ABI version 99' "$log2")"
traffic_ok "after the refused start (program still attached)"

# 4. A pinned map of another layout: refused by libbpf, never reused.
bpftool map update pinned "$cfg" key 0 0 0 0 value $orig || bt_fail "cannot restore the config map"
# (renamed aside, to be put back: a rename keeps the map itself; bpffs names take no dots)
mv "$BT_BPFFS/baton/snat_cur" "$BT_BPFFS/baton/snat_cur_saved" || bt_fail "cannot move the snat_cur pin"
bpftool map create "$BT_BPFFS/baton/snat_cur" type percpu_array key 4 value 8 entries 16 \
	name snat_cur || bt_fail "cannot create a map of another layout"
log3=$BT_RUN/batond-layout.log
batond_run "$log3"
batond_refused "$log3" "a pinned snat_cur of another layout"
grep -qi "snat_cur" "$log3" || bt_fail "the error does not name the map: $(cat "$log3")"
echo "layout mismatch refused: $(grep -m1 -i 'snat_cur' "$log3")"
traffic_ok "after the refused start (program still attached)"

# 5. The original pins back: a new batond adopts them, replaces the program, traffic goes on.
rm -f "$BT_BPFFS/baton/snat_cur"
mv "$BT_BPFFS/baton/snat_cur_saved" "$BT_BPFFS/baton/snat_cur" || bt_fail "cannot restore snat_cur"
log4=$BT_RUN/batond-adopt.log
old_id=$(bt_xdp_id lbc)
batond_run "$log4"
BT_BATOND_LOG=$log4
bt_wait_applied 1 20
grep -q "maps adopted from" "$log4" || bt_fail "the new batond did not adopt the pins"
new_id=$(bt_xdp_id lbc)
[ -n "$new_id" ] && [ "$new_id" != "$old_id" ] || bt_fail "program not replaced ($old_id -> $new_id)"
echo "adopted: program $old_id replaced by $new_id"
traffic_ok "after adoption"
echo "PASS"
