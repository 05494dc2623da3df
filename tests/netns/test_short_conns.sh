#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# PAWS / TIME_WAIT: 3000 short connections one after another through the VIP to 2
# backends. The backend closes first, so it keeps every connection in TIME_WAIT for
# 60 s. If the load balancer's source NAT reused a (SNAT address, port) towards a
# backend that still holds it in TIME_WAIT, this kernel's per-connection timestamp
# offsets make the backend drop the SYN (PAWS) and the client waits a 1 s retransmit.
# Every connection must succeed and none may take more than 0.9 s. Bounded at 60 s.
# Then 200 connections that all use the same client port (each one opened right after
# the previous one closed): the load balancer must treat each SYN on the closing flow
# as a new flow with a fresh SNAT port, so the backend's TIME_WAIT is never hit.
# usage: test_short_conns.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init short 35 "${1:-}"
N=${BT_SHORT_N:-3000}

bt_topology 2
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1" "tcp4"
bt_start_batond "$BT_RUN/config.json"

bt_client tcp --addr "$BT_VIP4" --port 80 --count "$N" --max-seconds 60 --timeout 5 --slow 0.9 \
	>"$BT_RUN/short" 2>"$BT_RUN/short.err" || bt_fail "client failed: $(cat "$BT_RUN/short.err")"
echo "$N sequential short connections to $BT_VIP4:80:"
cat "$BT_RUN/short"
head -n 5 "$BT_RUN/short.err"
tw_total=0
for i in 1 2; do
	tw=$(bt_ns "$BT_PREFIX-b$i" ss -Htan state time-wait | wc -l)
	paws=$(bt_ns "$BT_PREFIX-b$i" awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else
		for (i = 2; i <= NF; i++) if (n[i] == "PAWSTimewait") print $i }' /proc/net/netstat)
	echo "  b$i: $tw sockets in TIME_WAIT, PAWSTimewait=${paws:-?}"
	tw_total=$((tw_total + tw))
done
echo "connections/s: $(bt_field "$BT_RUN/short" rate), max latency: $(bt_field "$BT_RUN/short" max_ms) ms"

attempted=$(bt_field "$BT_RUN/short" attempted)
[ "$attempted" = "$N" ] || bt_fail "only $attempted of $N connections within the 60 s bound"
bt_expect_all_ok "$BT_RUN/short" "$N" "short connections"
slow=$(bt_field "$BT_RUN/short" slow)
[ "$slow" = 0 ] || bt_fail "$slow connections took more than 0.9 s (a SYN retransmit: PAWS?)"
# The premise of the test: the backends really held the connections in TIME_WAIT.
[ "$tw_total" -ge $((N / 2)) ] || bt_fail "backends hold only $tw_total TIME_WAIT sockets: test premise broken"

M=200
bt_client tcp --addr "$BT_VIP4" --port 80 --count $M --max-seconds 30 --timeout 5 --slow 0.9 \
	--sport 40000 --interval 0.005 >"$BT_RUN/same" 2>"$BT_RUN/same.err" ||
	bt_fail "client failed: $(cat "$BT_RUN/same.err")"
echo "$M connections from the same client port 40000:"
cat "$BT_RUN/same"
head -n 5 "$BT_RUN/same.err"
bt_expect_all_ok "$BT_RUN/same" $M "same client port"
slow=$(bt_field "$BT_RUN/same" slow)
[ "$slow" = 0 ] || bt_fail "same client port: $slow connections took more than 0.9 s"
echo "PASS"
