#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The L7 lane end to end, real kernel TCP on both ends: batond with --l7-lane, baton-l7
# (DPDK, net_af_xdp on the lane's far end, --no-huge), http services told apart by Host
# and path. Routing, sticky sessions (client address, mesosphere_server_id), 503, 301,
# a 100 MB download and a 10 MB upload intact after the splice (and carried by XDP, not
# by the lane), 200 concurrent connections, a backend that refuses, and baton-l7 killed
# and restarted under a spliced download.
# usage: test_l7.sh BATOND BATON_L7 XDP_DROP1_OBJ
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init l7 60 "${1:-}"
L7=${2:-}
DROP1=${3:-}
[ -n "$L7" ] && [ -x "$L7" ] || bt_skip "baton-l7 not built (no libdpdk)"
command -v curl >/dev/null || bt_skip "curl not installed"
command -v sha256sum >/dev/null || bt_skip "sha256sum not installed"

LANE=$BT_PREFIX-lane
L7_LOG=$BT_RUN/baton-l7.log
L7_PID=""

bt_topology 3
command -v openssl >/dev/null || bt_skip "openssl not installed"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=baton-test -keyout "$BT_RUN/tls.pem" \
	-out "$BT_RUN/tls.crt" >/dev/null 2>&1 && cat "$BT_RUN/tls.crt" >>"$BT_RUN/tls.pem" ||
	bt_fail "openssl req"
for i in 1 2 3; do
	bt_bg "$BT_PREFIX-b$i" "$BT_PY" "$BT_LIB_DIR/l7_backend.py" --name "b$i" \
		--port "$(bt_backend_port "$i")" --tls-port $((31440 + i)) --cert "$BT_RUN/tls.pem" \
		>"$BT_RUN/backend$i.log" 2>&1
done
for i in 1 2 3; do
	bt_wait_listen "$BT_PREFIX-b$i" "$(bt_backend_port "$i")" "backend b$i"
done

# The lane: l0 in the load balancer (Baton's program), l1 alone in its own namespace
# (baton-l7's af_xdp port; nothing there can route a stray lane packet).
bt_l7_lane

B1=$(bt_backend_addr4 1) B2=$(bt_backend_addr4 2) B3=$(bt_backend_addr4 3)
cat >"$BT_RUN/config.json" <<EOF
{"services": [
 {"name": "app1", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["app1.example"], "forwarded_for": true,
  "backends": [{"address": "$B1", "port": 31001}]},
 {"name": "app1-api", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["app1.example"], "path": "/api", "backends": [{"address": "$B3", "port": 31003}]},
 {"name": "app2", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["app2.example", "www.app2.example"], "forwarded_for": true,
  "backends": [{"address": "$B2", "port": 31002}]},
 {"name": "secure", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["secure.example"], "redirect_to_https": true,
  "backends": [{"address": "$B1", "port": 31001}]},
 {"name": "down", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["down.example"], "backends": [{"address": "$B1", "port": 39999}]},
 {"name": "tls1", "vip": "$BT_VIP4", "port": 443, "protocol": "tcp", "mode": "https",
  "vhosts": ["one.example"], "backends": [{"address": "$B1", "port": 31441}]},
 {"name": "tls2", "vip": "$BT_VIP4", "port": 443, "protocol": "tcp", "mode": "https",
  "vhosts": ["two.example"], "backends": [{"address": "$B2", "port": 31442}]},
 {"name": "sticky", "vip": "$BT_VIP4", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["sticky.example"], "sticky": true, "backends": [{"address": "$B1", "port": 31001},
  {"address": "$B2", "port": 31002}, {"address": "$B3", "port": 31003}]},
 {"name": "app6", "vip": "$BT_VIP6", "port": 80, "protocol": "tcp", "mode": "http",
  "vhosts": ["app6.example"], "sticky": true, "backends": [{"address": "$(bt_backend_addr6 2)", "port": 31002}]}
]}
EOF
bt_start_batond "$BT_RUN/config.json" --l7-lane l0
grep -q "L7 routes published: 10" "$BT_BATOND_LOG" || bt_fail "batond did not publish 10 L7 routes"

# start_l7 [MEMORY]: MEMORY "huge" uses hugepages (in memory, no files), else --no-huge
start_l7() {
	local before mem=(--no-huge -m 256 --file-prefix "$BT_PREFIX")
	[ "${1:-}" = huge ] && mem=(--in-memory)
	before=$(grep -c "routes version" "$L7_LOG" 2>/dev/null || true)
	bt_bg "$LANE" "$L7" -l 0 -n 1 --no-pci "${mem[@]}" --log-level=lib.eal:error \
		-- --lane l1 --bpffs "$BT_BPFFS" --lock "$BT_RUN/baton-l7.lock" --mbufs 4095 \
		--head-timeout-ms 1500 --connect-timeout-ms 500 >>"$L7_LOG" 2>&1
	L7_PID=$BT_LAST_PID
	local deadline=$((SECONDS + 20))
	until [ "$(grep -c "routes version" "$L7_LOG" 2>/dev/null || true)" -gt "${before:-0}" ]; do
		kill -0 "$L7_PID" 2>/dev/null || bt_fail "baton-l7 exited: $(tail -n 20 "$L7_LOG")"
		[ $SECONDS -lt $deadline ] || bt_fail "baton-l7 did not start: $(tail -n 20 "$L7_LOG")"
		sleep 0.1
	done
}
start_l7
bt_log "baton-l7 running (pid $L7_PID)"

# A second instance on the same lane is refused by the lock, and the first keeps serving.
if timeout 20 nsenter --net=/var/run/netns/"$LANE" "$L7" -l 0 -n 1 --no-pci --file-prefix "$BT_PREFIX-2" \
	--no-huge -m 256 -- --lane l1 --bpffs "$BT_BPFFS" --lock "$BT_RUN/baton-l7.lock" \
	>"$BT_RUN/second.log" 2>&1; then
	bt_fail "a second baton-l7 on the same lane started"
fi
grep -q "is locked" "$BT_RUN/second.log" || bt_fail "second baton-l7: $(cat "$BT_RUN/second.log")"

say() { echo "[${SECONDS}s] $*"; }
metric() { # metric NAME_WITH_LABELS: its value from /metrics (0 if absent)
	bt_ns "$BT_LB" curl -sS --max-time 5 http://127.0.0.1:9090/metrics |
		awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
l7c() { metric "baton_l7_total{counter=\"$1\"}"; }
cl_curl() { bt_ns "$BT_CL" curl -sS --max-time 10 "$@"; }

# ---- Routing by Host and path ----
expect_body() { # expect_body WANT ARGS...
	local want=$1 got
	shift
	got=$(cl_curl "$@") || bt_fail "curl $* failed"
	[ "$got" = "$want" ] || bt_fail "curl $*: got '$got', want '$want'"
}
expect_body "b1 /" -H "Host: app1.example" "http://$BT_VIP4/"
expect_body "b3 /api/users?x=1" -H "Host: app1.example" "http://$BT_VIP4/api/users?x=1"
expect_body "b1 /apx" -H "Host: APP1.example:80" "http://$BT_VIP4/apx"
expect_body "b2 /" -H "Host: app2.example" "http://$BT_VIP4/"
expect_body "b2 /w" -H "Host: www.app2.example" "http://$BT_VIP4/w"
expect_body "b2 /six" -H "Host: app6.example" "http://[$BT_VIP6]/six"
# HTTP/1.0 and a keep-alive connection with two requests (both to the bound backend)
expect_body "b2 /ten" -0 -H "Host: app2.example" "http://$BT_VIP4/ten"
out=$(cl_curl -H "Host: app2.example" "http://$BT_VIP4/one" "http://$BT_VIP4/two") || bt_fail "keep-alive"
[ "$out" = "b2 /one
b2 /two" ] || bt_fail "keep-alive: '$out'"
say "routing: Host and path select the app, HTTP/1.0, keep-alive and IPv6 work"

# X-Forwarded-For: inserted for app1/app2 (forwarded_for), not for app1-api. The
# download and upload below run on app2/app1: intact, they prove the splice's deltas
# account for the inserted header.
CL4=$BT_V4NET.1.2
expect_body "b2 xff=$CL4" -H "Host: app2.example" "http://$BT_VIP4/xff"
expect_body "b1 xff=$CL4" -H "Host: app1.example" "http://$BT_VIP4/xff"
expect_body "b3 xff=" -H "Host: app1.example" "http://$BT_VIP4/api/xff"
out=$(cl_curl -H "Host: app2.example" "http://$BT_VIP4/xff" "http://$BT_VIP4/two") || bt_fail "xff keep-alive"
[ "$out" = "b2 xff=$CL4
b2 /two" ] || bt_fail "xff then keep-alive: '$out'"
say "X-Forwarded-For: $CL4 inserted when configured, not otherwise; keep-alive after it works"

# ---- Sticky: the client's address picks the backend, unless mesosphere_server_id names
# one of the service's backends (its value: FNV-1a 32 of "address:port", docs/l7.md) ----
server_id() {
	"$BT_PY" -c 'import sys
h = 2166136261
for c in sys.argv[1].encode(): h = ((h ^ c) * 16777619) & 0xffffffff
print("%08x" % h)' "$1"
}
sticky_urls=()
for i in 1 2 3 4 5 6; do sticky_urls+=("http://$BT_VIP4/s$i"); done
# Six connections (Connection: close) from one client: one backend.
out=$(cl_curl -H "Host: sticky.example" -H "Connection: close" "${sticky_urls[@]}") ||
	bt_fail "sticky: curl failed"
first=${out%% *}
[ "$(echo "$out" | cut -d' ' -f1 | sort -u)" = "$first" ] && [ "$(echo "$out" | wc -l)" = 6 ] ||
	bt_fail "sticky: six connections from one client went to: $(echo "$out" | tr '\n' ' ')"
for k in 1 2 3; do
	id=$(server_id "$(bt_backend_addr4 "$k"):$(bt_backend_port "$k")")
	expect_body "b$k /k" -H "Host: sticky.example" -H "Cookie: a=1; mesosphere_server_id=$id; b=2" \
		"http://$BT_VIP4/k"
done
# A backend that is not the service's: the client's address decides, as without a cookie.
expect_body "$first /gone" -H "Host: sticky.example" \
	-H "Cookie: mesosphere_server_id=$(server_id "$BT_V4NET.2.19:31009")" "http://$BT_VIP4/gone"
say "sticky: six connections of one client -> $first; mesosphere_server_id of b1/b2/b3 -> that" \
	"backend; of a backend not in the table -> $first"

# The first response of a connection without a valid cookie carries Set-Cookie with the
# server id of the backend that answered; replayed (curl's cookie jar) it comes back to
# that backend and is not set again. A 1 MB body behind the inserted header is intact.
first_id=$(server_id "$(bt_backend_addr4 "${first#b}"):$(bt_backend_port "${first#b}")")
expect_set_cookie() { # expect_set_cookie HEADERS_FILE WANT_ID
	grep -qi "^Set-Cookie: mesosphere_server_id=$2; path=/"$'\r'"\$" "$1" ||
		bt_fail "sticky: no Set-Cookie for $2: $(tr -d '\r' <"$1" | tr '\n' '|')"
}
expect_body "$first /sc" -D "$BT_RUN/sc.h" -c "$BT_RUN/jar" -H "Host: sticky.example" \
	"http://$BT_VIP4/sc"
expect_set_cookie "$BT_RUN/sc.h" "$first_id"
expect_body "$first /replay" -D "$BT_RUN/replay.h" -b "$BT_RUN/jar" -H "Host: sticky.example" \
	"http://$BT_VIP4/replay"
! grep -qi "^Set-Cookie" "$BT_RUN/replay.h" || bt_fail "sticky: Set-Cookie again with a valid cookie"
expect_body "$first /gone" -D "$BT_RUN/gone.h" -H "Host: sticky.example" \
	-H "Cookie: mesosphere_server_id=$(server_id "$BT_V4NET.2.19:31009")" "http://$BT_VIP4/gone"
expect_set_cookie "$BT_RUN/gone.h" "$first_id"
want_1m=$("$BT_PY" -c 'import hashlib; print(hashlib.sha256(bytes(range(256)) * 4096).hexdigest())')
got=$(cl_curl -D "$BT_RUN/big.h" -H "Host: sticky.example" "http://$BT_VIP4/big/1048576" |
	sha256sum | cut -d' ' -f1)
[ "$got" = "$want_1m" ] || bt_fail "sticky: 1 MB after Set-Cookie: sha256 $got, want $want_1m"
expect_set_cookie "$BT_RUN/big.h" "$first_id"
# Request bodies while the lane holds the response head: without and with Expect (the
# backend's "100 Continue" goes through unchanged, the cookie is not set on it).
head -c 1048576 /dev/urandom >"$BT_RUN/up1.bin"
want_up=$(sha256sum "$BT_RUN/up1.bin" | cut -d' ' -f1)
for expect in "Expect:" "Expect: 100-continue"; do
	got_up=$(cl_curl -H "Host: sticky.example" -H "$expect" --data-binary @"$BT_RUN/up1.bin" \
		"http://$BT_VIP4/upload") || bt_fail "sticky upload ($expect) failed"
	[ "$got_up" = "$want_up" ] || bt_fail "sticky: 1 MB upload ($expect): backend saw $got_up"
done
# IPv6: the server id of "[address]:port"
expect_body "b2 /six6" -D "$BT_RUN/six.h" -H "Host: app6.example" "http://[$BT_VIP6]/six6"
expect_set_cookie "$BT_RUN/six.h" "$(server_id "[$(bt_backend_addr6 2)]:31002")"
say "sticky: Set-Cookie mesosphere_server_id=$first_id ($first) on the first response, replayed" \
	"-> $first without a new Set-Cookie; stale cookie -> set again; 1 MB down, 1 MB up intact"
# The client loses the segment that carries Set-Cookie (the first one only): the lane
# owns it and sends it again.
if bt_ns "$BT_CL" iptables -I INPUT -p tcp --sport 80 -m string --algo bm \
	--string "mesosphere_server_id=" -m statistic --mode nth --every 2 --packet 0 -j DROP \
	2>/dev/null; then
	got=$(cl_curl -D "$BT_RUN/lost.h" -H "Host: sticky.example" "http://$BT_VIP4/big/1048576" |
		sha256sum | cut -d' ' -f1)
	dropped=$(bt_ns "$BT_CL" iptables -L INPUT -v -x -n | awk '/mesosphere/ { print $1 }')
	bt_ns "$BT_CL" iptables -D INPUT 1
	[ "$got" = "$want_1m" ] || bt_fail "sticky: Set-Cookie segment lost once: sha256 $got"
	expect_set_cookie "$BT_RUN/lost.h" "$first_id"
	[ "${dropped:-0}" -ge 1 ] || bt_fail "sticky: the Set-Cookie segment was not dropped"
	say "sticky: the segment with Set-Cookie dropped once on its way to the client: resent," \
		"1 MB intact"
	# The backend's response head lost once on its way to the lane: the backend resends it.
	bns=$BT_PREFIX-$first
	bt_ns "$bns" iptables -I OUTPUT -p tcp --sport "$(bt_backend_port "${first#b}")" -m string \
		--algo bm --string "HTTP/1.1 200" -m statistic --mode nth --every 2 --packet 0 -j DROP
	expect_body "$first /blost" -D "$BT_RUN/blost.h" -H "Host: sticky.example" \
		"http://$BT_VIP4/blost"
	dropped=$(bt_ns "$bns" iptables -L OUTPUT -v -x -n | awk '/HTTP/ { print $1 }')
	bt_ns "$bns" iptables -D OUTPUT 1
	expect_set_cookie "$BT_RUN/blost.h" "$first_id"
	[ "${dropped:-0}" -ge 1 ] || bt_fail "sticky: the backend's response head was not dropped"
	say "sticky: the backend's response head dropped once before the lane: resent, Set-Cookie"
fi

# ---- TLS: routed by the ClientHello's SNI, not terminated (the backend holds the key) ----
expect_body "b1-tls /s" -k --resolve "one.example:443:$BT_VIP4" "https://one.example/s"
expect_body "b2-tls /s" -k --resolve "two.example:443:$BT_VIP4" "https://two.example/s"
sni=$(echo | bt_ns "$BT_CL" timeout 10 openssl s_client -connect "$BT_VIP4:443" -servername two.example \
	2>/dev/null | grep -c "CN = baton-test")
[ "$sni" -ge 1 ] || bt_fail "openssl s_client: no handshake with the backend through the lane"
code=$(cl_curl -k -o /dev/null -w '%{http_code}' --resolve "three.example:443:$BT_VIP4" \
	"https://three.example/" 2>/dev/null)
[ "$code" = 000 ] || bt_fail "unknown SNI: got HTTP $code, want a closed connection"
say "TLS: SNI one.example -> b1, two.example -> b2 (curl and openssl s_client), unknown SNI closed"

# ---- 503, 301, a refusing backend ----
code=$(cl_curl -o "$BT_RUN/503.body" -w '%{http_code}' -H "Host: nobody.example" "http://$BT_VIP4/")
[ "$code" = 503 ] || bt_fail "unknown Host answered $code, want 503"
grep -q "No service" "$BT_RUN/503.body" || bt_fail "503 body: $(cat "$BT_RUN/503.body")"
hdrs=$(cl_curl -D - -o /dev/null -H "Host: secure.example" "http://$BT_VIP4/login")
echo "$hdrs" | grep -q "^HTTP/1.1 301" || bt_fail "redirect_to_https: $hdrs"
echo "$hdrs" | grep -qi "^Location: https://secure.example/login" || bt_fail "Location: $hdrs"
code=$(cl_curl -o /dev/null -w '%{http_code}' -H "Host: down.example" "http://$BT_VIP4/")
[ "$code" = 503 ] || bt_fail "refusing backend answered $code, want 503"
say "unknown Host -> 503, redirect_to_https -> 301, backend refusing -> 503"

# ---- A head in 1-byte segments, two pipelined requests, a client resetting mid-head ----
out=$(bt_ns "$BT_CL" "$BT_PY" - "$BT_VIP4" <<'EOF'
import socket, struct, sys, time
def conn():
    s = socket.create_connection((sys.argv[1], 80), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def read_all(s):
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            return data
        data += d
s = conn()
for b in b"GET /bytes HTTP/1.1\r\nHost: app2.example\r\nConnection: close\r\n\r\n":
    s.send(bytes([b]))
    time.sleep(0.002)
print(read_all(s).split(b"\r\n\r\n", 1)[1].decode().strip())
s = conn()
s.sendall(b"GET /p1 HTTP/1.1\r\nHost: app1.example\r\n\r\n"
          b"GET /p2 HTTP/1.1\r\nHost: app2.example\r\nConnection: close\r\n\r\n")
print(" ".join(x.split(b"\r\n\r\n", 1)[1].decode().strip() for x in read_all(s).split(b"HTTP/1.1 ")[1:]))
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nHo")
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
)
[ "$out" = "b2 /bytes
b1 /p1 b1 /p2" ] || bt_fail "split head / pipelining: '$out'"
sleep 0.3
[ "$(l7c client_resets)" -ge 1 ] || bt_fail "a reset mid-head was not counted"
say "head in 1-byte segments routed; pipelined requests both served by the bound backend; reset mid-head counted"

# ---- A head that never completes: 408 ----
code=$(bt_ns "$BT_CL" "$BT_PY" - "$BT_VIP4" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: app1.example\r\n")
print(s.recv(100).split(b" ")[1].decode())
EOF
)
[ "$code" = 408 ] || bt_fail "incomplete head answered '$code', want 408"
say "incomplete head -> 408"

# ---- 100 MB download and 10 MB upload, carried by XDP after the splice ----
fwd0=$(($(metric 'baton_bytes_total{reason="fwd_redirect"}') + $(metric 'baton_bytes_total{reason="fwd_tx"}')))
rx0=$(l7c rx_frames)
want=$("$BT_PY" -c '
import hashlib
p = bytes(range(256)) * 4096
h = hashlib.sha256()
for _ in range(100): h.update(p)
print(h.hexdigest())')
got=$(bt_ns "$BT_CL" curl -sS --max-time 120 -H "Host: app2.example" "http://$BT_VIP4/big/104857600" |
	sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || bt_fail "100 MB download: sha256 $got, want $want"
head -c 10485760 /dev/urandom >"$BT_RUN/up.bin"
want_up=$(sha256sum "$BT_RUN/up.bin" | cut -d' ' -f1)
got_up=$(bt_ns "$BT_CL" curl -sS --max-time 60 -H "Host: app1.example" -H "Expect:" \
	--data-binary @"$BT_RUN/up.bin" "http://$BT_VIP4/upload") || bt_fail "upload failed"
[ "$got_up" = "$want_up" ] || bt_fail "10 MB upload: backend saw $got_up, want $want_up"
fwd1=$(($(metric 'baton_bytes_total{reason="fwd_redirect"}') + $(metric 'baton_bytes_total{reason="fwd_tx"}')))
rx1=$(l7c rx_frames)
say "100 MB download and 10 MB upload intact; XDP forwarded $(((fwd1 - fwd0) / 1048576)) MiB," \
	"the lane received $((rx1 - rx0)) frames"
[ $((fwd1 - fwd0)) -ge $((110 * 1048576)) ] || bt_fail "XDP forwarded only $((fwd1 - fwd0)) bytes"
[ $((rx1 - rx0)) -lt 200 ] || bt_fail "the lane saw $((rx1 - rx0)) frames: not offloaded"

# ---- The same with 1 % of the frames towards the client dropped ----
if [ -n "$DROP1" ] && [ -f "$DROP1" ]; then
	ip -n "$BT_CL" link set dev cl0 xdpdrv obj "$DROP1" sec xdp || bt_fail "attach xdp_drop1"
	want=$("$BT_PY" -c '
import hashlib
print(hashlib.sha256((bytes(range(256)) * 4096) * 20).hexdigest())')
	got=$(bt_ns "$BT_CL" curl -sS --max-time 60 -H "Host: app2.example" \
		"http://$BT_VIP4/big/20971520" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || bt_fail "20 MB download with 1 % loss: sha256 $got"
	head -c 5242880 "$BT_RUN/up.bin" >"$BT_RUN/up5.bin"
	want_up=$(sha256sum "$BT_RUN/up5.bin" | cut -d' ' -f1)
	got_up=$(bt_ns "$BT_CL" curl -sS --max-time 60 -H "Host: app1.example" -H "Expect:" \
		--data-binary @"$BT_RUN/up5.bin" "http://$BT_VIP4/upload") || bt_fail "upload with loss"
	[ "$got_up" = "$want_up" ] || bt_fail "5 MB upload with 1 % loss: backend saw $got_up"
	# sticky: the lane relays and retransmits until the client has the Set-Cookie head
	got=$(bt_ns "$BT_CL" curl -sS --max-time 60 -D "$BT_RUN/loss.h" -H "Host: sticky.example" \
		"http://$BT_VIP4/big/20971520" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || bt_fail "sticky 20 MB download with 1 % loss: sha256 $got"
	expect_set_cookie "$BT_RUN/loss.h" "$first_id"
	ip -n "$BT_CL" link set dev cl0 xdpdrv off
	say "with 1 % of the frames to the client dropped: 20 MB down and 5 MB up intact" \
		"(and 20 MB down behind Set-Cookie)"
fi

# ---- 200 concurrent connections ----
for i in $(seq 1 200); do echo "url = \"http://$BT_VIP4/c$i\""; done >"$BT_RUN/urls"
bound0=$(l7c connections_offloaded)
bt_ns "$BT_CL" curl -sS --max-time 60 --parallel --parallel-immediate --parallel-max 200 \
	-H "Host: app1.example" -K "$BT_RUN/urls" >"$BT_RUN/conc.out" 2>"$BT_RUN/conc.err"
n_ok=$(grep -c "^b1 /c" "$BT_RUN/conc.out")
[ "$n_ok" = 200 ] || bt_fail "200 concurrent: $n_ok answered: $(head -n 5 "$BT_RUN/conc.err")"
say "200 concurrent connections: 200 answered by b1 ($(($(l7c connections_offloaded) - bound0)) spliced)"
# 100 at once on the sticky service: every one gets its Set-Cookie head through the lane.
sed 's/"$/\/st"/' "$BT_RUN/urls" | head -n 100 >"$BT_RUN/urls-st"
bt_ns "$BT_CL" curl -sS --max-time 60 --parallel --parallel-immediate --parallel-max 100 \
	-D "$BT_RUN/conc-st.h" -H "Host: sticky.example" -K "$BT_RUN/urls-st" >"$BT_RUN/conc-st.out" \
	2>"$BT_RUN/conc-st.err"
n_ok=$(grep -c "^$first /c[0-9]*/st" "$BT_RUN/conc-st.out")
n_sc=$(grep -ci "^Set-Cookie: mesosphere_server_id=$first_id; path=/" "$BT_RUN/conc-st.h")
[ "$n_ok" = 100 ] && [ "$n_sc" = 100 ] ||
	bt_fail "100 concurrent sticky: $n_ok answered by $first, $n_sc Set-Cookie: $(head -n 5 "$BT_RUN/conc-st.err")"
say "100 concurrent sticky connections: 100 answered by $first, each with Set-Cookie"

# ---- baton-l7 killed and restarted under a spliced download ----
want_slow=$("$BT_PY" -c '
import hashlib
print(hashlib.sha256((bytes(range(256)) * 4096) * 20).hexdigest())')
bt_ns "$BT_CL" curl -sS --max-time 60 -H "Host: app2.example" \
	"http://$BT_VIP4/slow/20971520/6" -o "$BT_RUN/slow.bin" 2>"$BT_RUN/slow.err" &
slow_pid=$!
BT_PIDS+=("$slow_pid")
sleep 1.5
kill -KILL "$L7_PID"
wait "$L7_PID" 2>/dev/null
bt_log "baton-l7 killed (SIGKILL) during the download"
code=$(cl_curl -o /dev/null -w '%{http_code}' --max-time 2 -H "Host: app1.example" \
	"http://$BT_VIP4/" 2>/dev/null)
[ "$code" != 200 ] || bt_fail "a new connection was served with baton-l7 dead"
# The restarted instance runs on hugepages when the machine has some free: both modes.
if [ "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -ge 24 ] && mountpoint -q /dev/hugepages; then
	start_l7 huge
	say "baton-l7 restarted on hugepages"
else
	start_l7
	say "baton-l7 restarted without hugepages (fewer than 24 free)"
fi
expect_body "b1 /again" -H "Host: app1.example" "http://$BT_VIP4/again"
wait "$slow_pid" || bt_fail "the download failed: $(cat "$BT_RUN/slow.err")"
got=$(sha256sum "$BT_RUN/slow.bin" | cut -d' ' -f1)
[ "$got" = "$want_slow" ] || bt_fail "download across the restart: sha256 $got"
say "baton-l7 SIGKILLed and restarted: the spliced download completed intact, new connections served"

# ---- wrk through the lane (keep-alive: with Connection: close wrk counts every close
# by the server as a read error, so that mode cannot assert zero socket errors) ----
if command -v wrk >/dev/null; then
	for mode in keepalive; do
		hdr=(-H "Host: app1.example")
		bt_ns "$BT_CL" timeout 20 wrk -t1 -c4 -d2s "${hdr[@]}" "http://$BT_VIP4/w" \
			>"$BT_RUN/wrk-$mode.out" 2>&1 || bt_fail "wrk $mode: $(cat "$BT_RUN/wrk-$mode.out")"
		n=$(awk '/requests in/ { print $1 }' "$BT_RUN/wrk-$mode.out")
		[ "${n:-0}" -gt 0 ] || bt_fail "wrk $mode: no requests: $(cat "$BT_RUN/wrk-$mode.out")"
		! grep -q "Socket errors\|Non-2xx" "$BT_RUN/wrk-$mode.out" ||
			bt_fail "wrk $mode: $(cat "$BT_RUN/wrk-$mode.out")"
		say "wrk 1 thread, 4 connections, 2 s, $mode: $n requests, no errors, all 2xx"
	done
fi

# ---- batond following Marathon: HAPROXY_0_MODE=http with a VHOST through the lane ----
bt_kill_batond TERM
"$BT_PY" - "$BT_V4NET" >"$BT_RUN/apps.json" <<'PY'
import json, sys
net = sys.argv[1]
tasks = [{"id": "mweb.t%d" % b, "appId": "/mweb", "host": "%s.2.1%d" % (net, b),
          "slaveId": "agent-%d" % b, "ports": [31000 + b], "servicePorts": [10080],
          "ipAddresses": [{"ipAddress": "%s.2.1%d" % (net, b), "protocol": "IPv4"}],
          "state": "TASK_RUNNING", "stagedAt": "2026-11-25T00:00:00.000Z",
          "startedAt": "2026-11-25T00:00:01.000Z", "version": "2026-11-25T00:00:00.000Z",
          "healthCheckResults": []} for b in (3,)]
def app(name, port, labels):
    return {"id": "/" + name, "cmd": "x", "instances": 1, "networks": [{"mode": "host"}],
            "labels": dict(HAPROXY_GROUP="external", HAPROXY_0_MODE="http", **labels),
            "container": None, "healthChecks": [],
            "portDefinitions": [{"port": port, "protocol": "tcp", "name": "http"}],
            "tasks": [dict(t, id=name + ".t3", appId="/" + name, servicePorts=[port])
                      for t in tasks],
            "tasksRunning": 1, "version": "2026-11-25T00:00:00.000Z"}
print(json.dumps({"apps": [
    app("mweb", 10080, {"HAPROXY_0_VHOST": "mweb.example"}),
    app("msec", 10081, {"HAPROXY_0_VHOST": "msec.example",
                        "HAPROXY_0_REDIRECT_TO_HTTPS": "true"}),
    app("mstick", 10082, {"HAPROXY_0_STICKY": "true"})]}))
PY
bt_bg "$BT_LB" "$BT_PY" "$BT_LIB_DIR/../client/replay_marathon.py" --port 18080 \
	--apps "$BT_RUN/apps.json" --heartbeat 1 --max-seconds 60 >"$BT_RUN/replay.log" 2>&1
bt_wait_line "$BT_RUN/replay.log" '^ready' 10 || bt_fail "replay server did not start"
bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" --l7-lane l0 \
	--snat-addr "$BT_SNAT4" --marathon http://127.0.0.1:18080 >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_wait_line "$BT_BATOND_LOG" 'applied marathon state' 20 || bt_fail "batond --marathon did not apply"
LBA=$BT_V4NET.1.1
deadline=$((SECONDS + 10))
until [ "$(cl_curl -H "Host: mweb.example" "http://$LBA/m" 2>/dev/null)" = "b3 /m" ]; do
	[ $SECONDS -lt $deadline ] || bt_fail "Marathon vhost: $(cl_curl -H "Host: mweb.example" "http://$LBA/m" 2>&1)"
	sleep 0.2
done
expect_body "b3 /p" "http://$LBA:10080/p"
expect_body "b3 xff=$CL4" -H "Host: mweb.example" "http://$LBA/xff"
code=$(cl_curl -o /dev/null -w '%{http_code}' -H "Host: other.example" "http://$LBA/")
[ "$code" = 503 ] || bt_fail "Marathon: unknown Host answered $code"
hdrs=$(cl_curl -D - -o /dev/null -H "Host: msec.example" "http://$LBA/in")
echo "$hdrs" | grep -q "^HTTP/1.1 301" || bt_fail "HAPROXY_0_REDIRECT_TO_HTTPS: $hdrs"
echo "$hdrs" | grep -qi "^Location: https://msec.example/in" || bt_fail "Location: $hdrs"
expect_body "b3 /st" -D "$BT_RUN/mstick.h" "http://$LBA:10082/st"
expect_set_cookie "$BT_RUN/mstick.h" "$(server_id "$(bt_backend_addr4 3):$(bt_backend_port 3)")"
say "Marathon: HAPROXY_0_VHOST on port 80 and the service port 10080 route through the lane;" \
	"HAPROXY_0_REDIRECT_TO_HTTPS -> 301; HAPROXY_0_STICKY -> Set-Cookie"

# ---- Optional: request rates through the lane (BT_L7_WRK=1; figures, not a pass/fail) ----
if [ "${BT_L7_WRK:-0}" = 1 ] && command -v wrk >/dev/null; then
	for mode in keepalive close; do
		hdr=(-H "Host: mweb.example")
		[ $mode = close ] && hdr+=(-H "Connection: close")
		rps=$(bt_ns "$BT_CL" wrk -t1 -c50 -d5s "${hdr[@]}" "http://$LBA/" 2>&1 |
			awk '/Requests\/sec/ { print $2 }')
		say "wrk 1 thread, 50 connections, 5 s, $mode: $rps requests/s"
	done
fi

echo "l7 counters: $(bt_ns "$BT_LB" curl -sS http://127.0.0.1:9090/metrics | grep '^baton_l7_total' |
	sed 's/baton_l7_total{counter="\([a-z_0-9]*\)"} /\1=/' | tr '\n' ' ')"
[ "$(l7c responses_503)" -ge 1 ] || bt_fail "no 503 counted"
echo "PASS"
