#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Baton demo, self-contained, as root from a fresh clone:  sudo scripts/demo.sh [--duration S]
#
# Installs the build dependencies, builds Baton, then shows its real job: batond following
# a Marathon while traffic flows. In network namespaces (prefix baton-demo-) it builds a
# client, a load balancer and three Mesos agents; runs the repository's Marathon stand-in
# (tests/marathon-sim) in the load balancer's namespace, creates apps through its REST API
# (curl), starts `batond --marathon`, sends 25 requests a second from the client to the
# service and prints, every second, which task answered how many. Meanwhile it scales the
# app from 3 to 4 instances, kills a task (Marathon replaces it) and drains one (a kill
# with scale=true while a long download runs on it). It ends with a summary and exits 1
# if any request failed. Everything it creates is removed on exit, on Ctrl-C, on SIGTERM
# and on failure; the machine's own interfaces are never touched.
#
# Options: --duration SECONDS  length of the traffic phase (default 50, at least 24)
#          --no-setup          skip install-deps and the build (also BATON_DEMO_NO_SETUP=1)
# Environment: BATON_BUILD_DIR (default: build), DEMO_RATE (requests a second, default 25).
# Exit status: 0 all requests answered, 1 a request failed or the demo broke, 130 Ctrl-C
# (after the summary and the cleanup), 77 this machine cannot run it (no XDP, ...).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BATON_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DURATION=50
RATE=${DEMO_RATE:-25}
NO_SETUP=${BATON_DEMO_NO_SETUP:-0}

usage() {
	sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=${2:-}; shift 2 || usage 2 ;;
	--duration=*) DURATION=${1#*=}; shift ;;
	--no-setup) NO_SETUP=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "demo: unknown argument $1" >&2; usage 2 ;;
	esac
done
case $DURATION in '' | *[!0-9]*) echo "demo: --duration needs whole seconds" >&2; exit 2 ;; esac
if [ "$DURATION" -lt 24 ] || [ "$DURATION" -gt 600 ]; then
	echo "demo: --duration must be 24..600 seconds (the scenario needs 24)" >&2
	exit 2
fi
case $RATE in '' | *[!0-9]* | 0) echo "demo: DEMO_RATE must be a whole number >= 1" >&2; exit 2 ;; esac
[ "$RATE" -le 100 ] || RATE=100

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: must run as root (namespaces, XDP): sudo $0" >&2
	exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

if [ "$NO_SETUP" = 1 ]; then
	step "using the build in $BUILD (no install, no build: --no-setup)"
else
	step "installing dependencies (scripts/install-deps.sh)"
	"$ROOT/scripts/install-deps.sh" || { echo "demo: install-deps failed" >&2; exit 1; }
	step "building in $BUILD"
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$ROOT" || { echo "demo: meson setup failed" >&2; exit 1; }
	fi
	meson compile -C "$BUILD" || { echo "demo: build failed" >&2; exit 1; }
fi
BATOND=$BUILD/controlplane/batond
[ -x "$BATOND" ] || { echo "demo: $BATOND was not built" >&2; exit 1; }
for tool in curl setsid setpriv date; do
	command -v "$tool" >/dev/null 2>&1 || { echo "demo: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

BT_PREFIX_OVERRIDE=baton-demo
# shellcheck source=../tests/netns/lib.sh
source "$ROOT/tests/netns/lib.sh"
bt_init demo 99 "$BATOND" # checks root, netns, XDP; removes a crashed run's leftovers

SIM=$ROOT/tests/marathon-sim/marathon_sim.py
TASK=$ROOT/tests/demo/task_server.py
TRAFFIC=$ROOT/tests/demo/traffic.py
MARATHON=http://127.0.0.1:8080
LB_CL=10.99.1.1 # the load balancer towards the client: the services' address
CL_ADDR=10.99.1.2
LB_AG=10.99.2.200 # the load balancer on the agents' bridge: source of NAT
AGENT_NET=10.99.2.0/24
SERVICE_PORT=10000
SIM_PID="" CLIENT_PID="" T0_MS="" INTERRUPTED=0 STATUS=0

# Cleanup, in the order that keeps traffic clean: the client first, then batond (and its
# program), the stand-in (it kills its tasks and deletes its namespaces), then the rest
# (tests/netns/lib.sh: our namespaces, the bpffs mount, /run/baton-demo).
demo_exit() {
	local rc=$?
	trap '' INT TERM
	if [ -n "$CLIENT_PID" ] && kill -0 "$CLIENT_PID" 2>/dev/null; then
		kill -TERM "$CLIENT_PID" 2>/dev/null
		bt_wait_pid "$CLIENT_PID" 15 >/dev/null 2>&1 || kill -KILL "$CLIENT_PID" 2>/dev/null
	fi
	if [ -n "$BT_BATOND_PID" ]; then
		bt_kill_batond TERM
		[ -e /var/run/netns/"$BT_LB" ] && [ -d "$BT_BPFFS" ] &&
			timeout 20 nsenter --net=/var/run/netns/"$BT_LB" "$BATOND" --detach --iface lbc \
				--iface lbb --bpffs "$BT_BPFFS" >>"$BT_RUN/detach.log" 2>&1
	fi
	if [ -n "$SIM_PID" ]; then
		kill -TERM "$SIM_PID" 2>/dev/null
		if ! bt_wait_pid "$SIM_PID" 20 >/dev/null 2>&1; then
			kill -KILL "$SIM_PID" 2>/dev/null
			wait "$SIM_PID" 2>/dev/null
		fi
		# whatever a killed stand-in left: its namespaces, task processes, sandboxes
		timeout 60 "$BT_PY" "$SIM" cleanup --prefix "$BT_PREFIX" >/dev/null 2>&1
		rm -f "/run/marathon-sim/$BT_PREFIX.lock"
	fi
	(exit "$rc")
	bt_cleanup
}
on_signal() {
	trap '' INT TERM
	INTERRUPTED=1
	printf '\n==> interrupted: stopping\n'
	if [ -n "$CLIENT_PID" ]; then
		finish # stops the traffic, prints the summary, exits
	fi
	exit 130
}
trap demo_exit EXIT
trap on_signal INT TERM

now_ms() { date +%s%3N; }
elapsed() { # mm:ss since the traffic started
	local s=$((($(now_ms) - T0_MS) / 1000))
	printf '%02d:%02d' $((s / 60)) $((s % 60))
}
say() { printf '==> %s  %s\n' "$(elapsed)" "$*"; }
warn() {
	printf '==> %s  demo: %s\n' "$(elapsed)" "$*" >&2
	STATUS=1
}

# api METHOD PATH [JSON]: Marathon's REST API from the load balancer's namespace; the
# body on stdout, false on a transport error or an HTTP status >= 400
api() {
	local code args=(-sS --max-time 5 -X "$1" -o "$BT_RUN/api.out" -w '%{http_code}' "$MARATHON$2")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(bt_ns "$BT_LB" curl "${args[@]}" 2>>"$BT_RUN/api.err") || return 1
	cat "$BT_RUN/api.out"
	case $code in 2??) return 0 ;; *) return 1 ;; esac
}

# tasks APP: one line a task: ID STATE HEALTHY(yes|no) HOST:PORT
tasks() {
	api GET "/v2/apps/$1/tasks" | "$BT_PY" -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]:
    hc = t.get("healthCheckResults") or []
    ok = "yes" if hc and all(h.get("alive") for h in hc) else "no"
    print(t["id"], t["state"], ok, "%s:%d" % (t["host"], (t.get("ports") or [0])[0]))' 2>/dev/null
}
short() { local id=${1#*.}; echo "${id:0:8}"; }

# wait_tasks APP N TIMEOUT: exactly N tasks, all running and healthy
wait_tasks() {
	local deadline=$((SECONDS + $3)) list
	while :; do
		list=$(tasks "$1")
		[ "$(grep -c . <<<"$list")" = "$2" ] &&
			[ "$(awk '$2 == "TASK_RUNNING" && $3 == "yes"' <<<"$list" | grep -c .)" = "$2" ] && return 0
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# app_json ID INSTANCES SERVICE_PORT [VIP]: an app running tests/demo/task_server.py
app_json() {
	"$BT_PY" - "$BT_PY" "$TASK" "$@" <<'PY'
import json, shlex, sys
py, task, app, n, port = sys.argv[1:6]
vip = sys.argv[6] if len(sys.argv) > 6 else None
labels = {"VIP_0": vip} if vip else {}
print(json.dumps({
    "id": app, "instances": int(n), "cpus": 0.1, "mem": 32,
    "cmd": "exec %s %s --drain-delay 2" % (shlex.quote(py), shlex.quote(task)),
    "labels": {"HAPROXY_GROUP": "external"},
    "portDefinitions": [{"port": int(port), "protocol": "tcp", "name": "http", "labels": labels}],
    "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 15,
                      "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],
    "taskKillGracePeriodSeconds": 30}))
PY
}

# daemon_in NS CMD...: a long-running process in namespace NS, in a session of its own (Ctrl-C
# reaches the demo only, which stops everything in order) and sent SIGTERM if the demo
# itself dies without cleaning up (killed with SIGKILL)
daemon_in() {
	local ns=$1
	shift
	bt_bg "$ns" setsid setpriv --pdeathsig TERM "$@"
}

applied() { grep -c 'applied marathon state' "$BT_BATOND_LOG" 2>/dev/null || true; }

# at SECONDS: sleep until that long after the traffic started (or the client ended)
at() {
	local target=$((T0_MS + $1 * 1000))
	while [ "$(now_ms)" -lt "$target" ] && kill -0 "$CLIENT_PID" 2>/dev/null; do
		sleep 0.2
	done
}

# finish: stop the traffic (it stops by itself after DURATION), print the summary and
# what batond did, exit with the demo's status
finish() {
	local result left
	if [ -n "$CLIENT_PID" ]; then
		if [ "$INTERRUPTED" = 1 ]; then
			kill -TERM "$CLIENT_PID" 2>/dev/null
		fi
		left=$((DURATION + 30 - ($(now_ms) - T0_MS) / 1000))
		if ! bt_wait_pid "$CLIENT_PID" $((left > 5 ? left : 5)) >/dev/null 2>&1; then
			kill -TERM "$CLIENT_PID" 2>/dev/null
			bt_wait_pid "$CLIENT_PID" 15 >/dev/null 2>&1 || kill -KILL "$CLIENT_PID" 2>/dev/null
		fi
		CLIENT_PID=""
	fi
	result=$(cat "$BT_RUN/result" 2>/dev/null)
	if [ -z "$result" ]; then
		warn "the traffic client left no result"
	elif [ "$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$result")" != 0 ]; then
		warn "some requests failed"
	fi

	step "what batond did"
	echo "  applied the Marathon state $(applied) times: at start, then once per task change it heard of"
	echo "  XDP program id $(bt_xdp_id lbc) on lbc, $(bt_xdp_id lbb) on lbb"
	if [ "$(bt_ns "$BT_LB" ss -Hltn "sport = :$SERVICE_PORT" | grep -c .)" = 0 ]; then
		echo "  no socket listens on port $SERVICE_PORT in $BT_LB (ss -ltn): XDP answered for the service"
	fi
	if [ -n "$(bt_dump_reasons)" ]; then
		echo "  packets per verdict in the XDP program (pinned reason_stats):"
		bt_dump_reasons | sed -n '2,$p' | sed 's/^/  /'
	fi
	grep -E 'batond: (error|warning)' "$BT_BATOND_LOG" | tail -n 5 | sed 's/^/  /'

	step "tearing down (traffic, batond and its program, the Marathon stand-in, namespaces, bpffs)"
	[ "$INTERRUPTED" = 1 ] && [ "$STATUS" = 0 ] && exit 130
	exit "$STATUS"
}

cat <<TXT

Baton follows a Marathon: the demo runs the repository's Marathon stand-in, creates apps
through its REST API and lets batond (batond --marathon) turn them into XDP services,
then changes the cluster under live traffic.
TXT

step "topology: namespaces $BT_PREFIX-{cl,lb} and the stand-in's $BT_PREFIX-{net,agent1..3}"
bt_lb_client_arm "$LB_CL" "$CL_ADDR"

daemon_in "$BT_LB" "$BT_PY" "$SIM" --listen 127.0.0.1:8080 --agents 3 --prefix "$BT_PREFIX" \
	--agent-net "$AGENT_NET" >"$BT_RUN/sim.json" 2>"$BT_RUN/sim.log"
SIM_PID=$BT_LAST_PID
bt_wait_line "$BT_RUN/sim.json" '"event": *"ready"' 20 ||
	bt_fail "the Marathon stand-in did not start: $(tail -n 5 "$BT_RUN/sim.log")"
bt_sim_attach "$SIM" "$LB_AG/24" 3 # lbb on the agents' bridge; waits for every link
cat <<TXT
  client      $BT_CL           cl0 $CL_ADDR
  lb          $BT_LB           lbc $LB_CL (towards the client: where the services answer)
                                       lbb $LB_AG (on the agents' bridge: source of NAT)
                                       Marathon stand-in on $MARATHON, batond, XDP on lbc and lbb
  agents      $BT_PREFIX-agent1..3   eth0 10.99.2.1..3, on bridge br0 in $BT_PREFIX-net
TXT

step "Marathon: create the apps (curl -X POST $MARATHON/v2/apps)"
api POST /v2/apps "$(app_json /web 3 $SERVICE_PORT)" >/dev/null ||
	bt_fail "POST /v2/apps /web: $(cat "$BT_RUN/api.out" "$BT_RUN/api.err" 2>/dev/null)"
api POST /v2/apps "$(app_json /cache 1 $((SERVICE_PORT + 1)) /cache:6379)" >/dev/null ||
	bt_fail "POST /v2/apps /cache: $(cat "$BT_RUN/api.out" "$BT_RUN/api.err" 2>/dev/null)"
cat <<TXT
  /web    3 instances of tests/demo/task_server.py (an HTTP server answering with its task id),
          service port $SERVICE_PORT, HAPROXY_GROUP=external, a TCP health check every second,
          taskKillGracePeriodSeconds 30 (on SIGTERM a task keeps serving 2 s, finishes its
          open connections, then exits)
  /cache  1 instance, service port $((SERVICE_PORT + 1)), port label VIP_0=/cache:6379 (recorded by
          batond; allocating VIPs is a later step)
TXT
wait_tasks web 3 20 || bt_fail "/web did not get 3 healthy tasks: $(tasks web | tr '\n' ';')"
wait_tasks cache 1 20 || bt_fail "/cache did not get a healthy task"
printf '  %-10s %-20s %-14s %s\n' task address state healthy
for app in web cache; do
	tasks $app | while read -r id state ok addr; do
		printf '  %-10s %-20s %-14s %s   (%s)\n' "$(short "$id")" "$addr" "$state" "$ok" "$id"
	done
done

step "starting batond --marathon $MARATHON --health-check on lbc and lbb"
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
daemon_in "$BT_LB" "$BATOND" --iface lbc --iface lbb --marathon "$MARATHON" --health-check \
	--snat-addr "$LB_AG" --bpffs "$BT_BPFFS" ${BT_BATOND_ARGS:-} >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
deadline=$((SECONDS + 20))
while [ "$(applied)" -lt 1 ]; do
	kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "batond exited"
	[ $SECONDS -lt $deadline ] || bt_fail "no 'applied marathon state' within 20 s"
	sleep 0.1
done
grep 'applied marathon state' "$BT_BATOND_LOG" | head -n1 | sed 's/^batond: info: /  batond: /'
echo "  the services it built (batond --marathon $MARATHON --health-check --dry-run):"
bt_ns "$BT_LB" timeout 20 "$BATOND" --marathon "$MARATHON" --health-check --dry-run \
	>"$BT_RUN/services.json" 2>>"$BT_RUN/dry-run.log" || bt_fail "batond --dry-run failed"
"$BT_PY" - "$BT_RUN/services.json" <<'PY' || bt_fail "cannot read the --dry-run output"
import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    print("    %s port %d: service port %d/%s, mode %s, bind %s, vips %s" % (
        s["app_id"], s["port_index"], s["service_port"], s["protocol"], s["mode"], s["bind_addr"],
        ", ".join(s["vips"]) or "-"))
    for b in s["backends"]:
        print("      -> %s:%d  task %s%s" % (b["address"], b["port"], b["task_id"],
                                           "  (draining)" if b["draining"] else ""))
PY
echo "  bind all = every address of the load balancer; the client uses $LB_CL:$SERVICE_PORT"

T_SCALE=$((DURATION * 14 / 100))
T_KILL=$((DURATION * 36 / 100))
T_DRAIN=$((DURATION * 58 / 100))
DOWNLOAD=$((DURATION * 22 / 100))
step "traffic: $RATE requests a second from $BT_CL to $LB_CL:$SERVICE_PORT for $DURATION s"
fmt() { printf '%02d:%02d' $(($1 / 60)) $(($1 % 60)); }
cat <<TXT
  one new TCP connection and one "GET /" per request; a line a second: the answers each task
  gave in that second (columns: the first 8 characters of Marathon's task id; start = not yet
  healthy, drain = TASK_KILLING, gone = ended) and the failed requests. The plan:
    $(fmt $T_SCALE)  scale /web from 3 to 4 instances
    $(fmt $T_KILL)  kill a task; Marathon starts a replacement
    $(fmt $T_DRAIN)  start a ${DOWNLOAD}-second download, then drain the task serving it (kill with scale=true)
TXT
echo
rm -f "$BT_RUN/result" "$BT_RUN/started" "$BT_RUN/download.task"
daemon_in "$BT_CL" "$BT_PY" "$TRAFFIC" --addr "$LB_CL" --port $SERVICE_PORT --rate "$RATE" \
	--seconds "$DURATION" --marathon "$MARATHON" --marathon-netns "$BT_LB" --app /web \
	--result "$BT_RUN/result" --started "$BT_RUN/started" --download-seconds "$DOWNLOAD" \
	--download-file "$BT_RUN/download.task"
CLIENT_PID=$BT_LAST_PID
bt_wait_line "$BT_RUN/started" '^[0-9]+$' 10 || bt_fail "the traffic client did not start"
T0_MS=$(cat "$BT_RUN/started")

# ---- 1. scale up
at $T_SCALE
say "scale /web from 3 to 4 instances: PUT /v2/apps/web {\"instances\":4}"
api PUT /v2/apps/web '{"instances":4}' >/dev/null || warn "PUT /v2/apps/web failed: $(cat "$BT_RUN/api.out")"
wait_tasks web 4 15 || warn "/web did not reach 4 healthy tasks"

# ---- 2. kill: the oldest task; Marathon replaces it
at $T_KILL
victim=$(tasks web | awk '$2 == "TASK_RUNNING" { print $1; exit }')
if [ -n "$victim" ]; then
	say "kill task $(short "$victim"): DELETE /v2/apps/web/tasks/$victim"
	api DELETE "/v2/apps/web/tasks/$victim" >/dev/null || warn "DELETE failed: $(cat "$BT_RUN/api.out")"
	deadline=$((SECONDS + 15))
	while tasks web | grep -q "^$victim " || ! wait_tasks web 4 0; do
		[ $SECONDS -lt $deadline ] || { warn "/web did not get back to 4 healthy tasks"; break; }
		sleep 0.2
	done
else
	warn "no running task to kill"
fi

# ---- 3. drain: a long download, then a kill with scale=true of the task serving it
at $T_DRAIN
say "start a ${DOWNLOAD}-second download from the client (GET /download), see which task serves it"
kill -USR1 "$CLIENT_PID" 2>/dev/null
if bt_wait_line "$BT_RUN/download.task" '.' 5; then
	dtask=$(head -n1 "$BT_RUN/download.task")
	say "drain task $(short "$dtask"): DELETE /v2/apps/web/tasks/$dtask?scale=true (4 -> 3 instances)"
	api DELETE "/v2/apps/web/tasks/$dtask?scale=true&force=true" >/dev/null ||
		warn "DELETE failed: $(cat "$BT_RUN/api.out")"
else
	warn "the download did not start"
fi

finish
