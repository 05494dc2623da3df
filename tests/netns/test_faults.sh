#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Faults under load: batond following the Marathon stand-in (tests/marathon-sim, two
# instances of one cluster and its fault-control endpoint) while traffic flows through
# Baton: 4 long downloads checked byte for byte and 40 new short connections a second
# (tests/netns/fault_traffic.py) to the app /web (3 tasks of tests/demo/task_server.py).
# One fault per run:
#   kill      batond SIGKILLed mid-traffic; a task of /churn changes while none runs;
#             a new batond adopts the pins and resyncs
#   upgrade   a new batond with another build of the XDP program (--bpf-object) replaces
#             the attached program on both interfaces, adopting the pinned maps (and a
#             file that is not a build of it is refused, changing nothing)
#   marathon  both Marathon instances die for 4 s (a /churn task is replaced meanwhile),
#             then come back: batond serves the last state, then resyncs
#   cut       the event stream is cut in the middle of an event (a /churn scale-up)
#   leader    the leader steps down (instance 2 leads, 1 proxies; /churn scaled), then
#             the new leader dies (1 leads again; /churn scaled)
#   burst     /churn scaled 0 -> 260 -> 2 (about 1,000 task status changes within a
#             second or two); batond keeps answering /healthz; the final maps match
# Each run counts established connections broken (must be 0), new connections failed
# (must be 0: a backend exists throughout), and the time until the datapath matches
# Marathon again (tests/netns/fault_state.py reads the pinned maps), and prints them.
# usage: test_faults.sh BATOND FAULT [UPGRADE_BPF_OBJECT]   (FAULT: one above, or all)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"
FAULT=${2:-}
UPGRADE_OBJ=${3:-}
case $FAULT in kill | upgrade | marathon | cut | leader | burst | all) ;; *)
	echo "usage: $0 BATOND kill|upgrade|marathon|cut|leader|burst|all [UPGRADE_BPF_OBJECT]" >&2
	exit 2
	;;
esac
# X: 55..59 are this test's (bt-fault-*)
bt_init fault 55 "${1:-}"
command -v curl >/dev/null || bt_skip "curl not installed"
if [ "$FAULT" = upgrade ] || [ "$FAULT" = all ]; then
	[ -f "$UPGRADE_OBJ" ] || bt_skip "no second build of the XDP program given for 'upgrade'"
fi

SIM=$ROOT/tests/marathon-sim/marathon_sim.py
TASK=$ROOT/tests/demo/task_server.py
TRAFFIC=$BT_LIB_DIR/fault_traffic.py
STATE=$BT_LIB_DIR/fault_state.py
M1=http://127.0.0.1:8080
M2=http://127.0.0.1:8081
CTL=http://127.0.0.1:8099
LB_CL=$BT_V4NET.1.1
LB_AG=$BT_V4NET.2.200
WEB_PORT=10000
CHURN_PORT=10001
SIM_PID=""
FIGURES=$BT_RUN/figures

now_ms() { date +%s%3N; }

# Stop the stand-in before the generic cleanup: it kills its tasks and deletes its
# namespaces (bt-fault-net, bt-fault-agent*), then lib.sh removes ours.
fault_exit() {
	local rc=$?
	trap '' INT TERM
	if [ -n "$SIM_PID" ]; then
		kill -TERM "$SIM_PID" 2>/dev/null
		bt_wait_pid "$SIM_PID" 20 >/dev/null 2>&1 || kill -KILL "$SIM_PID" 2>/dev/null
		timeout 60 "$BT_PY" "$SIM" cleanup --prefix "$BT_PREFIX" >/dev/null 2>&1
		rm -f "/run/marathon-sim/$BT_PREFIX.lock"
	fi
	(exit "$rc")
	bt_cleanup
}
trap fault_exit EXIT

# api URL METHOD PATH [JSON]: Marathon's REST API (or the control endpoint) from lb
api() {
	local args=(-sS --max-time 5 -X "$2" -o "$BT_RUN/api.out" -w '%{http_code}' "$1$3") code
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	code=$(bt_ns "$BT_LB" curl "${args[@]}" 2>>"$BT_RUN/api.err") || return 1
	case $code in 2??) return 0 ;; *) return 1 ;; esac
}
ctl() { api "$CTL" POST "$1" || bt_fail "control $1: $(cat "$BT_RUN/api.out" 2>/dev/null)"; }
scale() { # scale MARATHON_URL APP N
	api "$1" PUT "/v2/apps/$2?force=true" "{\"instances\":$3}" ||
		bt_fail "scale $2 to $3: $(cat "$BT_RUN/api.out" 2>/dev/null)"
}

# running APP: number of TASK_RUNNING tasks (from the leader, via any instance)
running() {
	api "${2:-$M1}" GET "/v2/apps/$1/tasks" &&
		"$BT_PY" -c 'import json,sys; print(sum(t["state"] == "TASK_RUNNING" for t in json.load(open(sys.argv[1]))["tasks"]))' "$BT_RUN/api.out"
}
wait_running() { # wait_running APP N TIMEOUT [URL]
	local deadline=$((SECONDS + $3))
	until [ "$(running "$1" "${4:-$M1}")" = "$2" ]; do
		[ $SECONDS -lt $deadline ] || bt_fail "$1 did not reach $2 running tasks (has $(running "$1" "${4:-$M1}"))"
		sleep 0.2
	done
}

app_json() { # app_json ID INSTANCES SERVICE_PORT CMD
	"$BT_PY" -c '
import json, sys
app, n, port, cmd = sys.argv[1:5]
print(json.dumps({"id": app, "instances": int(n), "cpus": 0.01, "mem": 16, "cmd": cmd,
    "labels": {"HAPROXY_GROUP": "external"},
    "portDefinitions": [{"port": int(port), "protocol": "tcp", "name": "p"}],
    "taskKillGracePeriodSeconds": 30}))' "$@"
}

# state_match URL TIMEOUT: wait until the pinned maps match Marathon; prints the ms
state_match() {
	bt_ns "$BT_LB" "$BT_PY" "$STATE" --marathon "$1" --bpffs "$BT_BPFFS" --addr "$LB_CL" \
		--wait "$2" >"$BT_RUN/state.out" 2>&1
	local rc=$?
	sed -n 's/.*after_ms=\([0-9]*\).*/\1/p' "$BT_RUN/state.out"
	return $rc
}

healthz_ms() { # one GET /healthz of batond, its time in ms (or "fail")
	local t
	t=$(bt_ns "$BT_LB" curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 \
		http://127.0.0.1:9090/healthz 2>/dev/null)
	case $t in 200\ *) awk -v s="${t#* }" 'BEGIN { printf "%d\n", s * 1000 }' ;; *) echo fail ;; esac
}

applied_n() {
	local n
	n=$(grep -c 'applied marathon state' "$BT_BATOND_LOG" 2>/dev/null)
	echo "${n:-0}"
}
start_batond() { # start_batond [extra batond args]
	local before
	before=$(applied_n)
	bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" --snat-addr "$LB_AG" \
		--state-dir "$BT_RUN/state" --marathon "$M1,$M2" --stream-timeout 3 --max-backoff 1 \
		${BT_BATOND_ARGS:-} "$@" >>"$BT_BATOND_LOG" 2>&1
	BT_BATOND_PID=$BT_LAST_PID
	APPLIED_BEFORE=$before
}
wait_applied_after() { # wait until a new "applied marathon state" line appears
	local deadline=$((SECONDS + ${1:-20}))
	while [ "$(applied_n)" -le "$APPLIED_BEFORE" ]; do
		kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "batond exited"
		[ $SECONDS -lt $deadline ] || bt_fail "batond applied no Marathon state within ${1:-20} s"
		sleep 0.05
	done
}

# ---- topology: client, lb (two arms), the stand-in's agents on its bridge ----
bt_lb_client_arm "$LB_CL" "$BT_V4NET.1.2"

bt_bg "$BT_LB" setsid setpriv --pdeathsig TERM "$BT_PY" "$SIM" --listen 127.0.0.1:8080 \
	--peer 127.0.0.1:8081 --control 127.0.0.1:8099 --agents 3 --prefix "$BT_PREFIX" \
	--agent-net "$BT_V4NET.2.0/24" --heartbeat 1 >"$BT_RUN/sim.json" 2>"$BT_RUN/sim.log"
SIM_PID=$BT_LAST_PID
bt_wait_line "$BT_RUN/sim.json" '"event": *"ready"' 20 ||
	bt_fail "the Marathon stand-in did not start: $(tail -n 5 "$BT_RUN/sim.log")"
bt_sim_attach "$SIM" "$LB_AG/24" 3

# ---- apps: /web serves the traffic, /churn (sleep tasks) is what the faults change ----
api "$M1" POST /v2/apps "$(app_json /web 3 $WEB_PORT "exec $BT_PY $TASK --drain-delay 2")" ||
	bt_fail "POST /web: $(cat "$BT_RUN/api.out")"
api "$M1" POST /v2/apps "$(app_json /churn 2 $CHURN_PORT "exec sleep 600")" ||
	bt_fail "POST /churn: $(cat "$BT_RUN/api.out")"
wait_running web 3 20
wait_running churn 2 20
for k in 1 2 3; do # every task server listens before traffic starts
	deadline=$((SECONDS + 10))
	until bt_ns "$BT_PREFIX-agent$k" ss -Hltn 'sport >= :31000' | grep -q LISTEN; do
		[ $SECONDS -lt $deadline ] || bt_fail "no task server listens on agent$k"
		sleep 0.1
	done
done

mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
start_batond
wait_applied_after 20
state_match "$M1" 10 >/dev/null || bt_fail "the datapath does not match Marathon at start: $(cat "$BT_RUN/state.out")"
bt_log "batond follows $M1,$M2; /web 3 tasks, /churn 2 tasks"

# ---- traffic around each fault ----
traffic_start() { # traffic_start SECONDS
	rm -f "$BT_RUN/traffic.json" "$BT_RUN/traffic.out"
	bt_bg "$BT_CL" "$BT_PY" "$TRAFFIC" --addr "$LB_CL" --port $WEB_PORT --streams 4 \
		--stream-seconds "$1" --seconds "$1" --rate 40 --timeout 3 \
		--result "$BT_RUN/traffic.json" >"$BT_RUN/traffic.out" 2>&1
	TRAFFIC_PID=$BT_LAST_PID
	sleep 1.5 # the downloads are established before the fault
}
# traffic_end FAULT RESYNC_MS DETAIL: wait for the traffic, record and check the figures
traffic_end() {
	bt_wait_pid "$TRAFFIC_PID" 60 || true
	[ -s "$BT_RUN/traffic.json" ] || bt_fail "$1: the traffic client left no result: $(cat "$BT_RUN/traffic.out")"
	local broken failed shorts streams
	broken=$("$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken"])' "$BT_RUN/traffic.json")
	failed=$("$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$BT_RUN/traffic.json")
	shorts=$("$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["shorts"])' "$BT_RUN/traffic.json")
	streams=$("$BT_PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["streams"]))' "$BT_RUN/traffic.json")
	printf '%-9s established broken %s/%s, new failed %s/%s, resync %s ms; %s\n' "$1" "$broken" "$streams" \
		"$failed" "$shorts" "$2" "$3" | tee -a "$FIGURES"
	echo "          traffic: $(cat "$BT_RUN/traffic.out")"
	if [ "$broken" != 0 ] || [ "$failed" != 0 ]; then
		"$BT_PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["streams"]:
    if s["status"] != "ok": print("  broken stream:", s)
for f in r["failures"][:10]: print("  failed new connection at %.2f s: %s" % (f["t"], f["why"]))' "$BT_RUN/traffic.json"
		bt_fail "$1: connections broken or refused"
	fi
}

fault_kill() {
	traffic_start 12
	bt_kill_batond KILL
	local t0
	# While no batond runs, a /churn task is killed and Marathon replaces it.
	ctask=$(api "$M1" GET /v2/apps/churn/tasks && "$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tasks"][0]["id"])' "$BT_RUN/api.out")
	api "$M1" DELETE "/v2/apps/churn/tasks/$ctask" || bt_fail "kill $ctask"
	wait_running churn 2 15
	sleep 1
	t0=$(now_ms)
	start_batond
	wait_applied_after 20
	local applied=$(($(now_ms) - t0))
	state_match "$M1" 15 >/dev/null || bt_fail "kill: the maps do not match Marathon: $(cat "$BT_RUN/state.out")"
	local match=$(($(now_ms) - t0))
	traffic_end kill "$match" "new batond: first apply ${applied} ms after its start, maps == Marathon ${match} ms after its start"
}

prog_tag() { # prog_tag IFACE: the tag of lb's attached XDP program
	local id
	id=$(bt_xdp_id "$1")
	[ -n "$id" ] && bpftool -j prog show id "$id" | "$BT_PY" -c 'import json,sys; print(json.load(sys.stdin)["tag"])'
}

fault_upgrade() {
	command -v bpftool >/dev/null || bt_skip "bpftool not installed"
	local id_before tag_before t0 deadline
	id_before="$(bt_xdp_id lbc) $(bt_xdp_id lbb)"
	tag_before=$(prog_tag lbc)
	traffic_start 12
	bt_kill_batond TERM
	# Not a build of Baton's program: refused with an error, nothing changes.
	if timeout 20 nsenter --net=/var/run/netns/"$BT_LB" "$BT_BATOND" --iface lbc --iface lbb \
		--bpffs "$BT_BPFFS" --marathon "$M1" --state-dir "$BT_RUN/state" \
		--bpf-object "$BT_RUN/sim.json" >"$BT_RUN/badobj.log" 2>&1; then
		bt_fail "upgrade: batond accepted $BT_RUN/sim.json as the XDP program"
	fi
	grep -q "bpf-object: .* is not a build of Baton's XDP program" "$BT_RUN/badobj.log" ||
		bt_fail "upgrade: no clear error for a bad --bpf-object: $(cat "$BT_RUN/badobj.log")"
	[ "$(bt_xdp_id lbc) $(bt_xdp_id lbb)" = "$id_before" ] || bt_fail "upgrade: a refused object changed the program"
	t0=$(now_ms)
	start_batond --bpf-object "$UPGRADE_OBJ"
	deadline=$((SECONDS + 20))
	until [ "$(bt_xdp_id lbc) $(bt_xdp_id lbb)" != "$id_before" ] &&
		[ "$(bt_xdp_id lbc)" != "$(echo "$id_before" | cut -d' ' -f1)" ] &&
		[ "$(bt_xdp_id lbb)" != "$(echo "$id_before" | cut -d' ' -f2)" ]; do
		kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "upgrade: the new batond exited: $(tail -n 5 "$BT_BATOND_LOG")"
		[ $SECONDS -lt $deadline ] || bt_fail "upgrade: the program was not replaced"
		sleep 0.05
	done
	local replaced=$(($(now_ms) - t0)) tag_after
	tag_after=$(prog_tag lbc)
	[ "$tag_after" = "$(prog_tag lbb)" ] || bt_fail "upgrade: lbc and lbb run different programs"
	[ "$tag_after" != "$tag_before" ] || bt_fail "upgrade: the new program has the old tag $tag_before (not another build)"
	grep -q "XDP object from $UPGRADE_OBJ" "$BT_BATOND_LOG" || bt_fail "upgrade: batond did not load $UPGRADE_OBJ"
	wait_applied_after 20
	state_match "$M1" 15 >/dev/null || bt_fail "upgrade: the maps do not match Marathon: $(cat "$BT_RUN/state.out")"
	local match=$(($(now_ms) - t0))
	traffic_end upgrade "$match" "program ids ${id_before} -> $(bt_xdp_id lbc) $(bt_xdp_id lbb), tag $tag_before -> $tag_after, replaced ${replaced} ms after the new batond started"
}

fault_marathon() {
	traffic_start 12
	ctl /_sim/instances/1/stop
	ctl /_sim/instances/2/stop
	# Marathon is down; a /churn task dies meanwhile (the stand-in keeps supervising, as
	# Mesos does) and is replaced. batond cannot hear of it.
	local victim="" p k
	for k in 1 2 3; do
		for p in $(ip netns pids "$BT_PREFIX-agent$k"); do
			[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "sleep 600 " ] && victim=$p
		done
	done
	[ -n "$victim" ] || bt_fail "marathon: no /churn task process found"
	kill -KILL "$victim"
	sleep 1
	bt_ns "$BT_LB" curl -s --max-time 2 http://127.0.0.1:9090/healthz >/dev/null || bt_fail "marathon: batond does not answer /healthz"
	sleep 3
	ctl /_sim/instances/1/start
	ctl /_sim/instances/2/start
	local t0
	t0=$(now_ms)
	local match
	match=$(state_match "$M1" 15) || bt_fail "marathon: no resync: $(cat "$BT_RUN/state.out")"
	match=$(($(now_ms) - t0))
	traffic_end marathon "$match" "both instances down 4 s, a /churn task killed meanwhile; maps == Marathon $match ms after they came back"
}

fault_cut() {
	traffic_start 10
	local n t0 match
	n=$("$BT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["armed"])' <(bt_ns "$BT_LB" curl -s -X POST --max-time 5 "$CTL/_sim/cut-streams?bytes=60"))
	[ "$n" -ge 1 ] || bt_fail "cut: no event stream to cut"
	t0=$(now_ms)
	scale "$M1" churn 3
	bt_wait_line "$BT_RUN/sim.log" 'event stream to .* cut after' 5 || bt_fail "cut: the stream was not cut"
	match=$(state_match "$M1" 15) || bt_fail "cut: no resync: $(cat "$BT_RUN/state.out")"
	traffic_end cut "$(($(now_ms) - t0))" "stream cut 60 bytes into an event ($(grep -o 'cut after [0-9]* of [0-9]* bytes' "$BT_RUN/sim.log" | tail -n1)); maps == Marathon $(($(now_ms) - t0)) ms after the scale"
}

fault_leader() {
	traffic_start 14
	local t0 m1 m2
	t0=$(now_ms)
	ctl /_sim/leader/2 # 1 steps down (its streams end), proxies to 2
	scale "$M2" churn 4
	m1=$(state_match "$M2" 15) || bt_fail "leader: no resync after the step-down: $(cat "$BT_RUN/state.out")"
	m1=$(($(now_ms) - t0))
	sleep 1
	t0=$(now_ms)
	ctl /_sim/leader/1
	ctl /_sim/instances/2/stop # the leader dies; 1 leads again
	scale "$M1" churn 2
	m2=$(state_match "$M1" 15) || bt_fail "leader: no resync after the leader died: $(cat "$BT_RUN/state.out")"
	m2=$(($(now_ms) - t0))
	ctl /_sim/instances/2/start
	traffic_end leader "$m1/$m2" "step-down 1->2 then scale: maps == Marathon in ${m1} ms; leader 2 dies, 1 leads, scale: ${m2} ms"
}

fault_burst() {
	local evlog=$BT_RUN/events.txt t0 t_down match up_ms
	traffic_start 30
	# Observers: every status_update_event with its arrival time; batond's /healthz
	# every 100 ms (its slowest answer and its failures)
	bt_bg "$BT_LB" timeout 60 "$BT_PY" -c '
import sys, time, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v2/events?event_type=status_update_event",
                             headers={"Accept": "text/event-stream"})
with urllib.request.urlopen(req, timeout=30) as r, open(sys.argv[2], "w", buffering=1) as out:
    for line in r:
        if line.startswith(b"data: "):
            out.write("%.3f %s\n" % (time.time(), "up" if b"TASK_RUNNING" in line or b"TASK_STAGING" in line else "down"))' "$M1" "$evlog"
	bt_bg "$BT_LB" timeout 60 "$BT_PY" -c '
import os, sys, time, urllib.request
worst, fails, n, last = 0.0, 0, 0, ""
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end and n < 1000:
    t = time.monotonic()
    try:
        urllib.request.urlopen(sys.argv[1], timeout=5).read()
        worst = max(worst, time.monotonic() - t)
    except Exception as e:  # any failure counts (and is named), not only OSError
        fails += 1
        last = " last_error=%r" % e
    n += 1
    with open(sys.argv[3] + ".tmp", "w") as f:
        f.write("polls=%d fails=%d worst_ms=%d%s\n" % (n, fails, worst * 1000, last))
    os.replace(sys.argv[3] + ".tmp", sys.argv[3])
    time.sleep(0.1)' http://127.0.0.1:9090/healthz 50 "$BT_RUN/healthz.txt"
	HZ_PID=$BT_LAST_PID
	sleep 0.5
	t0=$(now_ms)
	scale "$M1" churn 502
	wait_running churn 502 40
	up_ms=$(($(now_ms) - t0))
	state_match "$M1" 30 >/dev/null || bt_fail "burst: the maps do not match Marathon at 502 tasks: $(cat "$BT_RUN/state.out")"
	local up_match=$(($(now_ms) - t0))
	t_down=$(date +%s.%N)
	t0=$(now_ms)
	scale "$M1" churn 2
	wait_running churn 2 30
	match=$(state_match "$M1" 30) || bt_fail "burst: the maps do not match Marathon after 30 s: $(cat "$BT_RUN/state.out")"
	match=$(($(now_ms) - t0))
	kill -TERM "$HZ_PID" 2>/dev/null
	local events down span dense hz
	events=$(grep -c . "$evlog" 2>/dev/null)
	down=$(awk -v t="$t_down" '$1 >= t && $2 == "down"' "$evlog" | grep -c .)
	span=$(awk -v t="$t_down" '$1 >= t && $2 == "down" { if (!a) a = $1; b = $1 } END { printf "%.2f", b - a }' "$evlog")
	dense=$(awk '{ c[int($1)]++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m }' "$evlog")
	hz=$(cat "$BT_RUN/healthz.txt" 2>/dev/null)
	case $hz in *" fails=0 "*) ;; *) bt_fail "burst: batond's /healthz failed or was not polled: $hz" ;; esac
	[ "${down:-0}" -ge 1000 ] || bt_fail "burst: the scale-down made only $down status events"
	traffic_end burst "$match" "scale 2 -> 502: $((events - down)) status events, all running after ${up_ms} ms, maps == Marathon after ${up_match} ms; scale 502 -> 2: $down status events within $span s, maps == Marathon $match ms after the scale; densest second $dense events; batond /healthz every 100 ms: $hz; $(grep -c 'applied marathon state' "$BT_BATOND_LOG") applies in all"
}

: >"$FIGURES"
if [ "$FAULT" = all ]; then
	for f in kill upgrade marathon cut leader burst; do "fault_$f"; done
else
	"fault_$FAULT"
fi
echo "---- figures (fault: broken/established, failed/new, resync) ----"
cat "$FIGURES"
grep -E 'batond: (error|warning)' "$BT_BATOND_LOG" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/  batond log: /'
echo PASS
