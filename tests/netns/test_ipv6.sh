#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# TCP over IPv6 through an IPv6 VIP, spread over 3 backends by weight (1, 1, 2).
# Same statistics as test_spread.sh: 800 connections, +-7 percentage points (~4 sigma).
# usage: test_ipv6.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init ipv6 34 "${1:-}"
N=800
TOL=7

bt_topology 3
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1 3:2" "tcp6"
bt_start_batond "$BT_RUN/config.json"

bt_client tcp --addr "$BT_VIP6" --port 80 --count $N --max-seconds 90 --timeout 5 >"$BT_RUN/spread" ||
	bt_fail "client failed"
echo "spread of $N new IPv6 connections to [$BT_VIP6]:80 (weights 1,1,2):"
head -n1 "$BT_RUN/spread"
bt_check_shares "$BT_RUN/spread" "b1=0.25 b2=0.25 b3=0.5" $TOL
shares_rc=$?
bt_expect_all_ok "$BT_RUN/spread" $N "ipv6"
[ $shares_rc = 0 ] || bt_fail "shares off by more than $TOL percentage points"

body=$(bt_ns "$BT_CL" curl -gsS --max-time 5 "http://[$BT_VIP6]/") || bt_fail "curl over IPv6 failed"
case $body in b1 | b2 | b3) echo "curl http://[$BT_VIP6]/ -> $body" ;; *) bt_fail "curl: unexpected body '$body'" ;; esac
echo "PASS"
