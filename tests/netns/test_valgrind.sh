#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# batond under valgrind (memcheck) following a Marathon API server
# (tests/client/replay_marathon.py on the load balancer's loopback) through a churn:
# a full fetch of 3 apps (one with a named VIP, one UDP), then status updates starting,
# draining, killing and restarting tasks, health changes, app changes with new bodies
# (full fetches), an event that does not parse, a stream cut mid-event, a SIGHUP, the
# HTTP endpoint read, and finally SIGTERM. Passes when valgrind finds no invalid access,
# no use of uninitialised memory and no definite leak (--error-exitcode), and batond
# applied the churn.
# usage: test_valgrind.sh BATOND REPLAY_SCRIPT SUPPRESSIONS
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init valgrind 47 "${1:-}"
REPLAY=${2:-}
SUPP=${3:-}
[ -f "$REPLAY" ] || bt_skip "no replay_marathon.py given"
command -v valgrind >/dev/null || bt_skip "valgrind not installed"
MPORT=18470
API=127.0.0.1:19470
EVENTS=${BT_VALGRIND_EVENTS:-150}

bt_topology 2

# apps_body ROUND: three apps whose tasks move with ROUND (a new body per app change)
apps_body() {
	"$BT_PY" - "$BT_V4NET" "$1" <<'PY'
import json, sys
net, rnd = sys.argv[1], int(sys.argv[2])
def task(app, i, port):
    host = "%s.2.1%d" % (net, 1 + i % 2)
    return {"id": "%s.%d-%d" % (app.strip("/"), rnd, i), "appId": app, "host": host,
            "ports": [port + i], "state": "TASK_RUNNING",
            "ipAddresses": [{"ipAddress": host, "protocol": "IPv4"}]}
apps = [
    {"id": "/web", "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_STICKY": "true"},
     "portDefinitions": [{"port": 10000, "protocol": "tcp", "labels": {"VIP_0": "/web:80"}}],
     "tasks": [task("/web", i, 31000) for i in range(3 + rnd % 3)]},
    {"id": "/dns", "labels": {"HAPROXY_GROUP": "external"},
     "portDefinitions": [{"port": 10053, "protocol": "udp,tcp"}],
     "tasks": [task("/dns", i, 32000) for i in range(2)]},
    {"id": "/http", "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_MODE": "http",
                               "HAPROXY_0_VHOST": "a.example"},
     "portDefinitions": [{"port": 10080, "protocol": "tcp"}],
     "tasks": [task("/http", 0, 33000)]},
]
print(json.dumps({"apps": apps}))
PY
}

applied_count() { grep -c "applied marathon state" "$BT_BATOND_LOG" 2>/dev/null || true; }
wait_applied() { # wait_applied N TIMEOUT
	local deadline=$((SECONDS + $2))
	while [ "$(applied_count)" -lt "$1" ]; do
		kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "batond exited"
		[ $SECONDS -lt $deadline ] || bt_fail "no 'applied marathon state' #$1 within $2 s"
		sleep 0.2
	done
}

apps_body 0 >"$BT_RUN/apps.json"
bt_bg "$BT_LB" "$BT_PY" "$REPLAY" --port $MPORT --apps "$BT_RUN/apps.json" --heartbeat 1 \
	--max-seconds 170 >"$BT_RUN/replay.log" 2>&1
bt_wait_line "$BT_RUN/replay.log" '^ready' 10 || bt_fail "replay server did not start"

mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
VG_LOG=$BT_RUN/valgrind.log
# --errors-for-leak-kinds=definite: what is still reachable at exit (libcurl's and
# libbpf's global state) is not a leak; what nothing points to any more is.
bt_bg "$BT_LB" valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --error-exitcode=99 \
	${SUPP:+--suppressions="$SUPP"} --log-file="$VG_LOG" \
	"$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" -v --state-dir "$BT_RUN/state" \
	--snat-addr "$BT_SNAT4" --marathon http://127.0.0.1:$MPORT --stream-timeout 5 \
	--max-backoff 1 --api-listen $API >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
wait_applied 1 90
bt_log "batond under valgrind applied the first fetch (${SECONDS} s)"

# The churn, from one Python process in the load balancer's namespace.
bt_ns "$BT_LB" "$BT_PY" - "$MPORT" "$EVENTS" "$BT_V4NET" "$BT_RUN" <<'PY' || bt_fail "churn driver failed"
import json, sys, time, urllib.request
port, n, net, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = "http://127.0.0.1:%d" % port
def post(path, body, method="POST"):
    req = urllib.request.Request(base + path, data=body.encode(), method=method)
    urllib.request.urlopen(req, timeout=5).read()
def event(typ, obj):
    post("/_test/event?type=" + typ, json.dumps(obj, separators=(",", ":")))
states = ["TASK_RUNNING", "TASK_KILLING", "TASK_KILLED", "TASK_RUNNING", "TASK_STAGING",
          "TASK_FAILED", "TASK_LOST", "TASK_RUNNING"]
for i in range(n):
    app = ["/web", "/dns", "/http"][i % 3]
    k = i % 7
    host = "%s.2.1%d" % (net, 1 + k % 2)
    if i % 25 == 24:   # an app change: a new body, then the event that makes batond fetch
        with open(run + "/apps.json") as f:
            apps = json.load(f)
        apps["apps"][0]["tasks"] = apps["apps"][0]["tasks"][: 1 + i % 3]
        post("/_test/apps", json.dumps(apps), "PUT")
        event("api_post_event", {"eventType": "api_post_event", "appDefinition": {"id": app}})
    elif i % 25 == 12:  # health of a task
        event("health_status_changed_event", {"eventType": "health_status_changed_event",
              "appId": app, "taskId": "%s.0-%d" % (app.strip("/"), k), "alive": i % 2 == 0})
    elif i % 50 == 37:  # not JSON: skipped, and a full fetch is asked for
        event("status_update_event", "{\"appId\": \"/web\", \"taskId\": ")
    else:
        event("status_update_event", {"eventType": "status_update_event", "appId": app,
              "taskId": "%s.c-%d" % (app.strip("/"), k), "taskStatus": states[i % len(states)],
              "host": host, "ports": [31100 + k],
              "ipAddresses": [{"ipAddress": host, "protocol": "IPv4"}]})
    if i == n // 2:
        post("/_test/cut", "")  # the stream cut mid-event: reconnect and full fetch
        time.sleep(2)
    time.sleep(0.02)
PY
bt_log "churn sent (${SECONDS} s)"
# Wait for the last events to be applied (valgrind is slow), then the signals.
sleep 3
before=$(applied_count)
kill -HUP "$BT_BATOND_PID"
wait_applied $((before + 1)) 60
for path in /metrics /healthz /nothing; do
	bt_ns "$BT_LB" curl -s -o /dev/null --max-time 20 "http://$API$path" ||
		bt_fail "GET $path failed"
done
applied=$(applied_count)
[ "$applied" -ge 20 ] || bt_fail "only $applied applies during the churn"
bt_log "SIGTERM (${SECONDS} s)"
kill -TERM "$BT_BATOND_PID"
bt_wait_pid "$BT_BATOND_PID" 90
rc=$?
echo "batond under valgrind: $applied applies, exit status $rc"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|Invalid|uninitialised' "$VG_LOG" | head -n 20
if [ "$rc" -ne 0 ]; then
	sed -n '1,200p' "$VG_LOG" >&2
	bt_fail "valgrind reported errors (exit status $rc)"
fi
grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG" || bt_fail "valgrind error summary not clean"
echo "PASS"
