#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/demo.sh end to end, on the build under test (no install, no build): batond
# following the Marathon stand-in while the demo scales, kills and drains tasks under
# traffic. Passes when the demo exits 0, its summary counts no failed request, answers
# came from at least 3 distinct tasks, the download on the draining task completed, and
# nothing of the demo is left (namespaces, processes, bpffs mount).
# usage: test_demo.sh BATOND   (DEMO_TEST_DURATION: traffic seconds, default 30)
set -uo pipefail

BATOND=${1:-}
DURATION=${DEMO_TEST_DURATION:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
skip() {
	echo "SKIP [demo]: $*"
	exit 77
}
fail() {
	echo "FAIL [demo]: $*"
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, XDP)"
[ -n "$BATOND" ] || skip "usage: $(basename "$0") PATH_TO_BATOND"
[ -x "$BATOND" ] || skip "batond not built ($BATOND)"
[ "$(basename "$(dirname "$BATOND")")" = controlplane ] || skip "$BATOND is not BUILD/controlplane/batond"
BUILD=$(cd "$(dirname "$BATOND")/.." && pwd)

OUT=$(mktemp /tmp/baton-test-demo.XXXXXX)
trap 'rm -f "$OUT"' EXIT
BATON_BUILD_DIR=$BUILD BATON_DEMO_NO_SETUP=1 timeout -k 15 $((DURATION + 150)) \
	"$ROOT/scripts/demo.sh" --duration "$DURATION" >"$OUT" 2>&1
rc=$?
cat "$OUT"
echo "---- demo exit status $rc"
[ $rc = 77 ] && skip "the demo cannot run here: $(grep -m1 '^SKIP' "$OUT")"

leftovers=$(ip netns list 2>/dev/null | awk '{print $1}' | grep '^baton-demo-' | tr '\n' ' ')
[ -z "$leftovers" ] || fail "namespaces left behind: $leftovers"
procs=$(pgrep -f "tests/demo/(task_server|traffic)\.py|marathon_sim\.py .*--prefix baton-demo|batond .*--bpffs /run/baton-demo/" | tr '\n' ' ')
[ -z "$procs" ] || fail "processes left behind: $procs"
! mountpoint -q /run/baton-demo/bpffs 2>/dev/null || fail "bpffs still mounted on /run/baton-demo/bpffs"

[ $rc = 0 ] || fail "the demo exited $rc"
result=$(grep '^RESULT ' "$OUT" | tail -n1)
[ -n "$result" ] || fail "no RESULT line in the demo's output"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
[ "$(field failed)" = 0 ] || fail "failed requests: $result"
[ "$(field requests)" -ge $((DURATION * 10)) ] 2>/dev/null || fail "too few requests: $result"
[ "$(field tasks)" -ge 3 ] 2>/dev/null || fail "answers from fewer than 3 tasks: $result"
[ "$(field download)" = ok ] || fail "the download on the draining task did not complete: $result"
grep -q '^==> summary: .* 0 failed' "$OUT" || fail "the summary does not show 0 failed"
echo "PASS: $result"
