#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# An invalid config file + SIGHUP keeps the running state: batond stays up, logs an
# error naming the field, and traffic keeps going to the old backends. A valid file
# afterwards is applied again.
# usage: test_invalid_reload.sh BATOND
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bt_init invalid 36 "${1:-}"
CONF=$BT_RUN/config.json

bt_topology 3
bt_start_backends
bt_config "$CONF" "1:1 2:1" "tcp4"
bt_start_batond "$CONF"

check_old_backends() { # $1: label
	bt_client tcp --addr "$BT_VIP4" --port 80 --count 200 --max-seconds 30 --timeout 5 >"$BT_RUN/r" ||
		bt_fail "client failed"
	echo "$1: $(head -n1 "$BT_RUN/r"); $(grep '^backend' "$BT_RUN/r" | tr '\n' ' ')"
	bt_expect_all_ok "$BT_RUN/r" 200 "$1"
	[ "$(bt_backend_count "$BT_RUN/r" b1)" -gt 0 ] && [ "$(bt_backend_count "$BT_RUN/r" b2)" -gt 0 ] ||
		bt_fail "$1: not both old backends answered"
	[ "$(bt_backend_count "$BT_RUN/r" b3)" = 0 ] || bt_fail "$1: b3 (only in the invalid file) answered"
}

# invalid_reload LABEL FIELD_PATTERN: SIGHUP with the invalid $CONF already written
invalid_reload() {
	local label=$1 pattern=$2 applied lines
	applied=$(bt_applied_count)
	lines=$(wc -l <"$BT_BATOND_LOG")
	kill -HUP "$BT_BATOND_PID" || bt_fail "batond is not running"
	local deadline=$((SECONDS + 10))
	until tail -n +$((lines + 1)) "$BT_BATOND_LOG" | grep -Eq -- "$pattern"; do
		[ $SECONDS -lt $deadline ] || bt_fail "$label: no log line matching /$pattern/ within 10 s"
		sleep 0.1
	done
	sleep 0.5
	echo "$label: batond logged: $(tail -n +$((lines + 1)) "$BT_BATOND_LOG" | grep -E -- "$pattern" | head -n1)"
	kill -0 "$BT_BATOND_PID" 2>/dev/null || bt_fail "$label: batond died on an invalid file"
	[ "$(bt_applied_count)" = "$applied" ] || bt_fail "$label: batond says it applied the invalid file"
	check_old_backends "$label, traffic"
}

check_old_backends "valid config {b1, b2}"

# 1. valid JSON, b3 added but with a bad weight: nothing of it may be applied
cat >"$CONF" <<JSON
{"services":[{"name":"web4","vip":"$BT_VIP4","port":80,"protocol":"tcp","backends":[
  {"address":"$(bt_backend_addr4 3)","port":$(bt_backend_port 3),"weight":-1}]}]}
JSON
invalid_reload "bad weight" '"?weight"?'

# 2. not JSON at all
echo '{"services":[{"name":"web4", "vip": ' >"$CONF"
invalid_reload "broken JSON" '[Ii]nvalid JSON|JSON'

# 3. a bad address
cat >"$CONF" <<JSON
{"services":[{"name":"web4","vip":"$BT_VIP4","port":80,"protocol":"tcp","backends":[
  {"address":"10.300.2.13","port":$(bt_backend_port 3),"weight":1}]}]}
JSON
invalid_reload "bad address" '"?address"?'

# 4. a valid file is applied again: now only b3
bt_config "$CONF" "3:1" "tcp4"
bt_reload
bt_client tcp --addr "$BT_VIP4" --port 80 --count 100 --max-seconds 30 --timeout 5 >"$BT_RUN/r" ||
	bt_fail "client failed"
echo "valid config {b3} after the errors: $(head -n1 "$BT_RUN/r"); $(grep '^backend' "$BT_RUN/r" | tr '\n' ' ')"
bt_expect_all_ok "$BT_RUN/r" 100 "after a valid reload"
[ "$(bt_backend_count "$BT_RUN/r" b3)" = 100 ] || bt_fail "the valid reload was not applied"
echo "PASS"
