#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What batond gives away, following a Marathon that wants basic auth
# (tests/client/replay_marathon.py --credentials):
#  A. the credentials, given in the URL (user:pass@) or on the command line, appear
#     neither in /proc/PID/cmdline (ps) nor in the log (-v); from a file, neither in
#     the --dry-run output; and they are used (the fetches succeed);
#  B. after setup the capability sets are exactly CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW,
#     CAP_SYS_ADMIN (docs/batond.8), ambient and inheritable empty, no_new_privs set;
#     and batond still works with them: an event and a SIGHUP fetch are applied
#     (a Maglev refill, a new frontend) without a permission error;
#  C. the state dir and the pin dir are 0700, every pinned map 0600 and root's;
#     a state dir writable by others is refused;
#  D. by default nothing listens beyond loopback (the HTTP endpoint on 127.0.0.1);
#  E. a batond started with only the systemd unit's CapabilityBoundingSet sets up.
# usage: test_security.sh BATOND REPLAY_SCRIPT
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init security 47 "${1:-}"
REPLAY=${2:-}
[ -f "$REPLAY" ] || bt_skip "no replay_marathon.py given"
MPORT=18471
SECRET=S3cr3t-pw.47
USER=baton

bt_topology 2

cat >"$BT_RUN/apps.json" <<EOF
{"apps": [{"id": "/web", "labels": {"HAPROXY_GROUP": "external"},
  "portDefinitions": [{"port": 10000, "protocol": "tcp", "labels": {"VIP_0": "/web:80"}}],
  "tasks": [{"id": "web.1", "appId": "/web", "host": "$BT_V4NET.2.11", "ports": [31001],
             "state": "TASK_RUNNING"}]}]}
EOF
bt_bg "$BT_LB" "$BT_PY" "$REPLAY" --port $MPORT --apps "$BT_RUN/apps.json" --heartbeat 1 \
	--credentials "$USER:$SECRET" --max-seconds 120 >"$BT_RUN/replay.log" 2>&1
bt_wait_line "$BT_RUN/replay.log" '^ready' 10 || bt_fail "replay server did not start"

no_secret() { # no_secret FILE WHAT
	if grep -aq -- "$SECRET" "$1"; then
		grep -a -- "$SECRET" "$1" | head -n 3 >&2
		bt_fail "$2 shows the password"
	fi
}

# ---- A: dry runs (no root needed, but here as root): file, option, URL ----
printf '%s:%s\n' "$USER" "$SECRET" >"$BT_RUN/creds"
chmod 600 "$BT_RUN/creds"
for how in file option url; do
	case $how in
	file) args=(--marathon "http://127.0.0.1:$MPORT" --auth-credentials-file "$BT_RUN/creds") ;;
	option) args=(--marathon "http://127.0.0.1:$MPORT" --auth-credentials "$USER:$SECRET") ;;
	url) args=(--marathon "http://$USER:$SECRET@127.0.0.1:$MPORT") ;;
	esac
	bt_ns "$BT_LB" timeout 30 "$BT_BATOND" --dry-run -v "${args[@]}" >"$BT_RUN/dry.$how" 2>&1 ||
		{ cat "$BT_RUN/dry.$how" >&2; bt_fail "A: dry run ($how) failed: not authorised?"; }
	grep -Eq '"app_id":[[:space:]]*"/web"' "$BT_RUN/dry.$how" || bt_fail "A: dry run ($how) printed no service"
	no_secret "$BT_RUN/dry.$how" "A: --dry-run -v ($how)"
done
echo "A: --dry-run with the credentials from a file, an option and the URL: authorised, password in no output"

# ---- the daemon, credentials in the URL ----
mkdir -p "$BT_BPFFS"
BT_BATOND_LOG=$BT_RUN/batond.log
bt_bg "$BT_LB" "$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" -v \
	--state-dir "$BT_RUN/state" --snat-addr "$BT_SNAT4" \
	--marathon "http://$USER:$SECRET@127.0.0.1:$MPORT" >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_wait_line "$BT_BATOND_LOG" 'applied marathon state' 30 || bt_fail "no Marathon state applied"
bt_wait_line "$BT_BATOND_LOG" 'capabilities after setup' 10 || bt_fail "B: no capability drop logged"
tr '\0' ' ' </proc/"$BT_BATOND_PID"/cmdline >"$BT_RUN/cmdline"
no_secret "$BT_RUN/cmdline" "A: /proc/PID/cmdline"
grep -q "@127.0.0.1:$MPORT" "$BT_RUN/cmdline" || bt_fail "A: cmdline lost its URL: $(cat "$BT_RUN/cmdline")"
echo "A: running batond's command line: $(cat "$BT_RUN/cmdline")"

# ---- B: capabilities ----
status_field() { awk -v k="$1:" '$1 == k { print $2 }' /proc/"$BT_BATOND_PID"/status; }
want=$(printf '%016x' $(((1 << 39) | (1 << 21) | (1 << 13) | (1 << 12))))
last=$(cat /proc/sys/kernel/cap_last_cap)
[ "$last" -ge 39 ] || want=$(printf '%016x' $(((1 << 21) | (1 << 13) | (1 << 12))))
for f in CapEff CapPrm CapBnd; do
	[ "$(status_field $f)" = "$want" ] || bt_fail "B: $f $(status_field $f), want $want"
done
[ "$(status_field CapInh)" = 0000000000000000 ] || bt_fail "B: CapInh $(status_field CapInh)"
[ "$(status_field CapAmb)" = 0000000000000000 ] || bt_fail "B: CapAmb $(status_field CapAmb)"
[ "$(status_field NoNewPrivs)" = 1 ] || bt_fail "B: no_new_privs not set"
echo "B: CapEff = CapPrm = CapBnd = $want (bpf, sys_admin, net_admin, net_raw), CapInh = CapAmb = 0, NoNewPrivs 1"

# After the drop: an event (a second task: the service's Maglev table refilled) and a
# new app by full fetch (new frontends and an inner map) must apply.
n=$(grep -c 'applied marathon state' "$BT_BATOND_LOG")
bt_ns "$BT_LB" curl -sS -X POST --max-time 5 "http://127.0.0.1:$MPORT/_test/event?type=status_update_event" \
	--data "{\"eventType\":\"status_update_event\",\"appId\":\"/web\",\"taskId\":\"web.2\",\"taskStatus\":\"TASK_RUNNING\",\"host\":\"$BT_V4NET.2.12\",\"ports\":[31002]}" ||
	bt_fail "cannot post an event"
"$BT_PY" - "$BT_RUN/apps.json" "$BT_V4NET" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
body["apps"].append({"id": "/dns", "labels": {"HAPROXY_GROUP": "external"},
    "portDefinitions": [{"port": 10053, "protocol": "udp"}],
    "tasks": [{"id": "dns.1", "appId": "/dns", "host": sys.argv[2] + ".2.12", "ports": [32001],
               "state": "TASK_RUNNING"}]})
json.dump(body, open(sys.argv[1], "w"))
PY
bt_ns "$BT_LB" curl -sS -X PUT --max-time 5 "http://127.0.0.1:$MPORT/_test/apps" \
	--data-binary @"$BT_RUN/apps.json" || bt_fail "cannot replace the apps"
kill -HUP "$BT_BATOND_PID"
deadline=$((SECONDS + 20))
until [ "$(grep -c 'applied marathon state' "$BT_BATOND_LOG")" -ge $((n + 2)) ] &&
	grep -q 'applied marathon state (fetch): 2 apps' "$BT_BATOND_LOG"; do
	[ $SECONDS -lt $deadline ] || bt_fail "B: the event and the fetch were not applied after the drop"
	sleep 0.2
done
if grep -Eai 'operation not permitted|permission denied|EPERM' "$BT_BATOND_LOG"; then
	bt_fail "B: a permission error after the drop"
fi
echo "B: after the drop an event and a fetch with a new app were applied, no permission error"
no_secret "$BT_BATOND_LOG" "A: batond's log (-v)"
echo "A: the log (-v, $(wc -l <"$BT_BATOND_LOG") lines) does not show the password"

# ---- C: modes ----
mode() { stat -c '%a %U' "$1"; }
[ "$(mode "$BT_RUN/state")" = "700 root" ] || bt_fail "C: state dir $(mode "$BT_RUN/state")"
[ "$(mode "$BT_BPFFS/baton")" = "700 root" ] || bt_fail "C: pin dir $(mode "$BT_BPFFS/baton")"
pins=0
for f in "$BT_BPFFS"/baton/*; do
	[ "$(mode "$f")" = "600 root" ] || bt_fail "C: pinned $(basename "$f") $(mode "$f")"
	pins=$((pins + 1))
done
[ $pins -ge 5 ] || bt_fail "C: only $pins pins"
for f in "$BT_RUN"/state/*; do
	[ $(($(stat -c '0%a' "$f") & 022)) = 0 ] || bt_fail "C: $f writable by others: $(mode "$f")"
done
echo "C: state dir 700, pin dir 700, $pins pinned maps 600 root, state files not writable by others"
mkdir -p "$BT_RUN/open" && chmod 0777 "$BT_RUN/open"
if bt_ns "$BT_LB" timeout 20 "$BT_BATOND" --iface lbc --bpffs "$BT_BPFFS" --state-dir "$BT_RUN/open" \
	--marathon "http://127.0.0.1:$MPORT" >"$BT_RUN/open.log" 2>&1; then
	bt_fail "C: a world-writable state dir was accepted"
fi
grep -q 'only its owner can write' "$BT_RUN/open.log" || bt_fail "C: no clear error: $(cat "$BT_RUN/open.log")"
echo "C: a state dir of mode 777 is refused: $(head -n1 "$BT_RUN/open.log")"

# ---- D: listening sockets ----
bt_ns "$BT_LB" ss -Hltunp >"$BT_RUN/ss"
grep "pid=$BT_BATOND_PID," "$BT_RUN/ss" >"$BT_RUN/ss.batond" || bt_fail "D: batond listens on nothing"
while read -r _ _ _ _ local _; do
	case $local in 127.0.0.1:* | \[::1\]:*) ;; *) bt_fail "D: batond listens on $local" ;; esac
done <"$BT_RUN/ss.batond"
echo "D: batond listens only on $(awk '{ print $5 }' "$BT_RUN/ss.batond" | tr '\n' ' ')"

# ---- E: setup within the systemd unit's CapabilityBoundingSet ----
kill -TERM "$BT_BATOND_PID"
bt_wait_pid "$BT_BATOND_PID" 20 || bt_fail "E: batond did not stop"
BT_BATOND_LOG=$BT_RUN/batond2.log
bt_bg "$BT_LB" setpriv --bounding-set -all,+bpf,+sys_admin,+net_admin,+net_raw --inh-caps -all -- \
	"$BT_BATOND" --iface lbc --iface lbb --bpffs "$BT_BPFFS" --state-dir "$BT_RUN/state" \
	--snat-addr "$BT_SNAT4" --marathon "http://127.0.0.1:$MPORT" \
	--auth-credentials-file "$BT_RUN/creds" >>"$BT_BATOND_LOG" 2>&1
BT_BATOND_PID=$BT_LAST_PID
bt_wait_line "$BT_BATOND_LOG" 'applied marathon state' 30 ||
	bt_fail "E: batond did not set up with the unit's bounding set"
bt_wait_line "$BT_BATOND_LOG" 'capabilities after setup' 10 || bt_fail "E: no capability drop"
echo "E: with only the unit's CapabilityBoundingSet, batond adopted the pins and applied Marathon's state"
echo "PASS"
