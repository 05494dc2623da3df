#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# New TCP connections through the VIP spread over 3 backends by weight (1, 1, 2).
#
# Tolerance: with N = 800 connections, a backend with share p gets a count whose
# standard deviation is sqrt(p(1-p)/N): 1.53 percentage points for p = 0.25 and
# 1.77 pp for p = 0.5. The Maglev table itself (M = 65537) matches the weights to
# well under 0.1 pp. So +-7 pp is about 4 sigma per backend: a correct load balancer
# fails this test about once in 10,000 runs, while a broken weight (1:1:1 would give
# 33/33/33, 8 pp off for the weight-2 backend) or a skewed hash fails it.
# usage: test_spread.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init spread 31 "${1:-}"
N=800
TOL=7

bt_topology 3
bt_start_backends
bt_config "$BT_RUN/config.json" "1:1 2:1 3:2" "tcp4"
bt_start_batond "$BT_RUN/config.json"
[ -n "$(bt_xdp_id lbc)" ] && [ -n "$(bt_xdp_id lbb)" ] || bt_fail "no XDP program on lbc/lbb"

bt_client tcp --addr "$BT_VIP4" --port 80 --count $N --max-seconds 90 --timeout 5 >"$BT_RUN/spread" ||
	bt_fail "client failed"
echo "spread of $N new connections to $BT_VIP4:80 (weights 1,1,2):"
head -n1 "$BT_RUN/spread"
bt_check_shares "$BT_RUN/spread" "b1=0.25 b2=0.25 b3=0.5" $TOL
shares_rc=$?
bt_expect_all_ok "$BT_RUN/spread" $N "spread"
[ $shares_rc = 0 ] || bt_fail "shares off by more than $TOL percentage points"

# A few plain HTTP requests with curl: real clients work through the VIP too.
for i in 1 2 3 4 5; do
	body=$(bt_ns "$BT_CL" curl -sS --max-time 5 "http://$BT_VIP4/") || bt_fail "curl #$i failed"
	case $body in b1 | b2 | b3) ;; *) bt_fail "curl #$i: unexpected body '$body'" ;; esac
done
echo "curl: 5 of 5 HTTP requests answered by a backend"

# batond's HTTP endpoint in the lb namespace: health and Prometheus metrics.
m=$(bt_ns "$BT_LB" curl -sS --max-time 5 http://127.0.0.1:9090/metrics) || bt_fail "no /metrics"
[ "$(bt_ns "$BT_LB" curl -sS --max-time 5 http://127.0.0.1:9090/healthz)" = ok ] || bt_fail "/healthz"
code=$(bt_ns "$BT_LB" curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9090/nope)
[ "$code" = 404 ] || bt_fail "/nope answered $code, want 404"
new=$(echo "$m" | awk -F' ' '/^baton_service_new_flows_total\{.*frontend="'"$BT_VIP4"':80\/tcp"\}/ { print $2 }')
be_new=$(echo "$m" | awk '/^baton_backend_new_flows_total/ { s += $2 } END { print s + 0 }')
fwd=$(echo "$m" | awk '/^baton_packets_total\{reason="fwd_redirect"\}/ { print $2 }')
echo "metrics: new flows $new for $BT_VIP4:80/tcp, $be_new over the backends, fwd_redirect $fwd packets"
[ "${new:-0}" -ge $((N + 5)) ] || bt_fail "service new flows ${new:-none}, want >= $((N + 5))"
[ "$be_new" = "$new" ] || bt_fail "backend new flows $be_new != service new flows $new"
[ "${fwd:-0}" -gt 0 ] || bt_fail "no fwd_redirect packets counted"
echo "PASS"
