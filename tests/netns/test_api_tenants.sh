#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Multi-tenancy and robustness of batond's HTTP API (--api-tokens), batond following a
# Marathon API server (tests/client/replay_marathon.py) with two teams' apps:
#   /team-a/web (tasks on b1, b2; VIP_0 "/web-a:80"; team-a's VIP pool 10.X.150.0/24)
#   /team-b/db  (task on b3; VIP_0 "10.X.99.9:80", outside team-b's pool 10.X.200.0/24)
#  A. without a token only /healthz and /metrics answer (401 otherwise); an unknown
#     token is 401;
#  B. team-a's token lists only team-a's services, backends, VIPs and metrics; it gets
#     403 for team-b's service and for draining team-b's backend (which stays serving);
#     the baton CLI with its token file shows the same;
#  C. team-a's named VIP comes from team-a's pool and answers; team-b's explicit VIP
#     outside its pool is refused (API, metric, log) and has no frontend;
#  D. hostile requests (api_fuzz.py: random paths and methods, garbage, 413 bodies, bad
#     JSON, a slow client): the API keeps answering, batond keeps running, nothing is
#     drained; no secret appears in batond's log;
#  E. SIGHUP rereads the tokens file (rotation); a broken one keeps the tokens in force.
# usage: test_api_tenants.sh BATOND REPLAY_SCRIPT BATON_CLI
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init api-tenants 44 "${1:-}"
REPLAY=${2:-}
BATON=${3:-}
[ -f "$REPLAY" ] || bt_skip "no replay_marathon.py given"
[ -x "$BATON" ] || bt_skip "baton CLI not built ($BATON)"
command -v jq >/dev/null || bt_skip "jq not installed"
command -v curl >/dev/null || bt_skip "curl not installed"
LB=$BT_V4NET.1.1
API=http://127.0.0.1:19444
SA=team-a-secret-$RANDOM$RANDOM-0123456789
SB=team-b-secret-$RANDOM$RANDOM-0123456789
SADMIN=admin-secret-$RANDOM$RANDOM-0123456789
SVIEW=viewer-secret-$RANDOM$RANDOM-0123456789

bt_topology 3
bt_start_backends

"$BT_PY" - "$BT_V4NET" >"$BT_RUN/apps.json" <<'PY'
import json, sys
net = sys.argv[1]
def app(aid, port, vip, backends):
    tasks = []
    for be in backends:
        host = "%s.2.1%d" % (net, be)
        tasks.append({"id": "%s.t%d" % (aid.strip("/").replace("/", "_"), be), "appId": aid,
                      "host": host, "slaveId": "agent-%d" % be, "ports": [31000 + be],
                      "servicePorts": [port], "state": "TASK_RUNNING",
                      "ipAddresses": [{"ipAddress": host, "protocol": "IPv4"}],
                      "stagedAt": "2026-11-25T00:00:00.000Z", "startedAt": "2026-11-25T00:00:01.000Z",
                      "version": "2026-11-25T00:00:00.000Z", "healthCheckResults": []})
    return {"id": aid, "instances": len(tasks), "labels": {"HAPROXY_GROUP": "external"},
            "networks": [{"mode": "host"}], "container": None, "healthChecks": [],
            "portDefinitions": [{"port": port, "protocol": "tcp", "labels": {"VIP_0": vip}}],
            "tasks": tasks, "version": "2026-11-25T00:00:00.000Z"}
print(json.dumps({"apps": [app("/team-a/web", 10000, "/web-a:80", [1, 2]),
                           app("/team-b/db", 10001, "%s.99.9:80" % net, [3])]}))
PY
cat >"$BT_RUN/tokens.json" <<EOF
{"tokens": [
  {"name": "team-a", "secret": "$SA", "prefixes": ["/team-a/"], "vip_pools": ["$BT_V4NET.150.0/24"]},
  {"name": "team-b", "secret": "$SB", "prefixes": ["/team-b"], "vip_pools": ["$BT_V4NET.200.0/24"]},
  {"name": "admin", "secret": "$SADMIN", "prefixes": ["/"]},
  {"name": "viewer", "secret": "$SVIEW", "prefixes": ["/"], "read_only": true}]}
EOF
echo "$SA" >"$BT_RUN/a.tok"

bt_bg "$BT_LB" "$BT_PY" "$REPLAY" --port 18090 --apps "$BT_RUN/apps.json" --heartbeat 1 \
	--max-seconds 170 >"$BT_RUN/replay.log" 2>&1
bt_wait_line "$BT_RUN/replay.log" '^ready' 10 || bt_fail "replay server did not start"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" --state-dir "$BT_RUN/state" \
	--marathon http://127.0.0.1:18090 --api-listen 127.0.0.1:19444 --api-tokens "$BT_RUN/tokens.json" \
	${BT_BATOND_ARGS:-} >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_wait_line "$BT_BATOND_LOG" 'applied marathon state \(fetch\)' 20 || bt_fail "no first apply"

# code TOKEN METHOD PATH -> the HTTP status; the body in $BT_RUN/body
code() {
	local tok=$1 method=$2 path=$3
	shift 3
	bt_ns "$BT_LB" curl -sS -g --max-time 5 -o "$BT_RUN/body" -D "$BT_RUN/headers" -w '%{http_code}' \
		-X "$method" ${tok:+-H "Authorization: Bearer $tok"} "$@" "$API$path"
}
expect() { # expect STATUS TOKEN METHOD PATH [curl args]: fails unless the status matches
	local want=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$want" ] || bt_fail "$2 $3 with token ${1:0:6}...: HTTP $got, want $want: $(cat "$BT_RUN/body")"
	if [ "$want" -ge 400 ]; then
		jq -e '(.error | type) == "string" and (.reason | type) == "string"' "$BT_RUN/body" >/dev/null ||
			bt_fail "$2 $3: error body is not {error, reason}: $(cat "$BT_RUN/body")"
	fi
}
B3=$BT_V4NET.2.13:31003
B1=$BT_V4NET.2.11:31001

# ---- A ----
expect 401 "" GET /v1/services
grep -qi '^WWW-Authenticate: Bearer' "$BT_RUN/headers" || bt_fail "A: no WWW-Authenticate on 401"
expect 401 "" GET /v1/status
expect 401 "" POST "/v1/backends/$B1/drain"
expect 200 "" GET /healthz
expect 200 "" GET /metrics
grep -q '^baton_vip_labels{status="refused"} 1$' "$BT_RUN/body" || bt_fail "A/C: the refused VIP is not in /metrics"
expect 401 "not-a-token-at-all-0000" GET /v1/services
expect 401 "$SA-" GET /v1/services
echo "A: no token: 401 on the API (with WWW-Authenticate), 200 on /healthz and /metrics; unknown tokens 401"

# ---- B ----
expect 200 "$SA" GET /v1/services
jq -e '[.services[].name] == ["/team-a/web:0"]' "$BT_RUN/body" >/dev/null ||
	bt_fail "B: team-a's listing: $(cat "$BT_RUN/body")"
expect 200 "$SA" GET /v1/backends
jq -e '(.backends | length) == 2 and all(.backends[]; .app_id == "/team-a/web")' "$BT_RUN/body" >/dev/null ||
	bt_fail "B: team-a's backends: $(cat "$BT_RUN/body")"
expect 405 "$SA" DELETE /v1/services
grep -qi '^Allow: GET' "$BT_RUN/headers" || bt_fail "B: no Allow header on 405: $(cat "$BT_RUN/headers")"
expect 200 "$SA" GET /v1/vips
jq -e '[.vips[].app_id] == ["/team-a/web"]' "$BT_RUN/body" >/dev/null || bt_fail "B: team-a's VIPs: $(cat "$BT_RUN/body")"
expect 200 "$SA" GET /metrics
grep -q 'team-b' "$BT_RUN/body" && bt_fail "B: team-a's /metrics shows team-b"
grep -q '^baton_service_packets_total{service="/team-a/web:0"' "$BT_RUN/body" || bt_fail "B: team-a's /metrics lacks its service"
expect 403 "$SA" GET /v1/services/team-b/db:0
expect 403 "$SA" GET "/v1/backends?service=/team-b/db"
expect 403 "$SA" POST "/v1/backends/$B3/drain"
expect 403 "$SA" POST "/v1/backends/team-b_db.t3/drain" # by task id, the same
expect 403 "$SB" POST "/v1/backends/$B1/drain"
expect 200 "$SADMIN" GET "/v1/backends"
jq -e '(.backends | length) == 3 and all(.backends[]; .drained == false)' "$BT_RUN/body" >/dev/null ||
	bt_fail "B: a refused drain drained something: $(cat "$BT_RUN/body")"
expect 200 "$SVIEW" GET /v1/services
jq -e '(.services | length) == 2' "$BT_RUN/body" >/dev/null || bt_fail "B: the viewer sees everything"
expect 403 "$SVIEW" POST "/v1/backends/$B1/drain"
grep -q 'read-only' "$BT_RUN/body" || bt_fail "B: read-only token: $(cat "$BT_RUN/body")"
expect 200 "$SA" POST "/v1/backends/$B1/drain"
expect 200 "$SA" POST "/v1/backends/$B1/undrain"
bt_ns "$BT_LB" "$BATON" --api "$API" --token-file "$BT_RUN/a.tok" services >"$BT_RUN/cli.txt" || bt_fail "B: baton services with a token"
[ "$(tail -n +2 "$BT_RUN/cli.txt" | awk '{ print $1 }')" = /team-a/web:0 ] || bt_fail "B: CLI listing: $(cat "$BT_RUN/cli.txt")"
bt_ns "$BT_LB" "$BATON" --api "$API" --token-file "$BT_RUN/a.tok" drain "$B3" >/dev/null 2>"$BT_RUN/cli.err"
rc=$?
[ $rc = 1 ] && grep -q "HTTP 403 forbidden: backend $B3 serves /team-b/db:0, outside the scope of token \"team-a\"" "$BT_RUN/cli.err" ||
	bt_fail "B: CLI drain outside the scope: exit $rc, $(cat "$BT_RUN/cli.err")"
bt_ns "$BT_LB" "$BATON" --api "$API" services >/dev/null 2>"$BT_RUN/cli.err"
[ $? = 1 ] && grep -q 'HTTP 401' "$BT_RUN/cli.err" || bt_fail "B: CLI without a token: $(cat "$BT_RUN/cli.err")"
echo "B: team-a sees only its service, 2 backends, its VIP and metrics; 403 for team-b's service and backend (by address and task id); a read-only token sees all, drains nothing; the CLI agrees"

# ---- C ----
expect 200 "$SB" GET /v1/vips
jq -e --arg a "$BT_V4NET.99.9" '.vips | length == 1 and .[0].status == "refused" and .[0].address == $a and
	(.[0].reason | test("outside the VIP pools of tenant team-b"))' "$BT_RUN/body" >/dev/null ||
	bt_fail "C: team-b's refused VIP: $(cat "$BT_RUN/body")"
grep -q "VIP label \"$BT_V4NET.99.9:80\": address $BT_V4NET.99.9 outside the VIP pools of tenant team-b" "$BT_BATOND_LOG" ||
	bt_fail "C: the refusal is not logged"
expect 200 "$SADMIN" GET /v1/services/team-b/db:0
jq -e --arg a "$BT_V4NET.99.9" 'all(.frontends[]; (.address | startswith($a)) | not)' "$BT_RUN/body" >/dev/null ||
	bt_fail "C: the refused VIP has a frontend: $(cat "$BT_RUN/body")"
expect 200 "$SA" GET /v1/vips
VIPA=$(jq -r '.vips[0].address' "$BT_RUN/body")
case $VIPA in "$BT_V4NET".150.*) ;; *) bt_fail "C: team-a's named VIP $VIPA is not from its pool" ;; esac
bt_client tcp --addr "$VIPA" --port 80 --count 20 --max-seconds 20 --timeout 5 >"$BT_RUN/vipa" || bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/vipa" 20 "C: team-a's VIP $VIPA:80"
bt_client tcp --addr "$BT_V4NET.99.9" --port 80 --count 1 --max-seconds 5 --timeout 2 >"$BT_RUN/vipb" 2>&1
[ "$(bt_field "$BT_RUN/vipb" ok)" = 0 ] || bt_fail "C: the refused VIP answered: $(cat "$BT_RUN/vipb")"
echo "C: team-a's /web-a:80 got $VIPA from its pool and answers; team-b's $BT_V4NET.99.9:80 refused (API, metric, log), no frontend"

# ---- D ----
bt_ns "$BT_LB" timeout 90 "$BT_PY" "$(dirname "$0")/api_fuzz.py" --port 19444 --token "$SADMIN" \
	--drain-path "/v1/backends/$B1/drain" --count 300 --seed "$RANDOM" >"$BT_RUN/fuzz.txt" 2>&1
rc=$?
sed 's/^/  /' "$BT_RUN/fuzz.txt"
[ $rc = 0 ] || bt_fail "D: api_fuzz.py failed (exit $rc)"
kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "D: batond died"
expect 200 "" GET /healthz
expect 200 "$SADMIN" GET /v1/backends
jq -e 'all(.backends[]; .drained == false)' "$BT_RUN/body" >/dev/null || bt_fail "D: the fuzzing drained something"
bt_client tcp --addr "$LB" --port 10000 --count 20 --max-seconds 20 --timeout 5 >"$BT_RUN/after" || bt_fail "client failed"
bt_expect_all_ok "$BT_RUN/after" 20 "D: traffic after the fuzzing"
for s in "$SA" "$SB" "$SADMIN" "$SVIEW"; do
	grep -qF "$s" "$BT_BATOND_LOG" && bt_fail "D: a secret is in batond's log"
done
echo "D: the API survived the fuzzing and kept serving; nothing drained; no secret in the log"

# ---- E ----
# SIGHUP rereads the tokens file: a rotated secret works at once, the old one no more;
# a broken file keeps the tokens in force.
SA2=team-a-rotated-$RANDOM$RANDOM-0123456789
sed -i "s/$SA/$SA2/" "$BT_RUN/tokens.json"
kill -HUP "$BT_BATOND_PID"
bt_wait_line "$BT_BATOND_LOG" 'API tokens: 4 from .* \(reloaded\)' 10 || bt_fail "E: tokens not reloaded"
expect 401 "$SA" GET /v1/services
expect 200 "$SA2" GET /v1/services
echo '{"tokens": [' >"$BT_RUN/tokens.json"
kill -HUP "$BT_BATOND_PID"
bt_wait_line "$BT_BATOND_LOG" 'keeping the 4 tokens in force' 10 || bt_fail "E: a broken tokens file was not reported"
expect 200 "$SA2" GET /v1/services
grep -qF "$SA2" "$BT_BATOND_LOG" && bt_fail "E: a secret is in batond's log"
echo "E: SIGHUP reloads the tokens (rotated secret in force, old one refused); a broken file keeps them"
echo "PASS"
