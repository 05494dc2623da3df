#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: first every reproducer of a crash found
# before (regress/<target>/, each must pass), then fuzzing from the seeds for
# FUZZ_SECONDS (default 10). New corpus entries go to a temp dir (the repository's seeds
# are not touched; FUZZ_KEEP=DIR keeps them). A crash fails the test and its input is
# printed in base64, to be saved as a new file in regress/<target>/ once fixed.
#
#   run_fuzz.sh TARGET SEED_DIR REGRESS_DIR
set -euo pipefail
target=$1 seeds=$2 regress=$3
secs=${FUZZ_SECONDS:-10}
work=$(mktemp -d /tmp/baton-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"

if compgen -G "$regress/*" >/dev/null; then
	echo "replaying $(ls "$regress" | wc -l) reproducers from $regress"
	"$target" -rss_limit_mb=2048 -timeout=30 "$regress"/* 2>&1 | tail -n 3
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL: a reproducer crashes again"; exit 1; }
fi

status=0
"$target" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1 || status=$?
# The seed-loading lines, the last status line, the final stats: enough to see coverage.
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|ERROR|SUMMARY' "$work/log" || true
if [ "$status" -ne 0 ]; then
	tail -n 60 "$work/log"
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] || continue
		echo "FAIL: $(basename "$f") ($(stat -c %s "$f") bytes), base64:"
		base64 -w 0 "$f"
		echo
	done
	exit 1
fi
if [ -n "${FUZZ_KEEP:-}" ]; then
	mkdir -p "$FUZZ_KEEP"
	cp "$work"/corpus/* "$FUZZ_KEEP"/ 2>/dev/null || true
fi
