#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# HTTP vhost routing: Baton's L7 lane (batond --l7-lane + baton-l7) against HAProxy 2.6
# `mode http` with the same Host rules, in the same run: perf/suite.sh with only those
# two systems, one repeat, no bench_sync (perf/README.md, "The suite"; docs/l7.md).
#
#   sudo perf/bench_l7.sh [suite.sh options: --build DIR --out DIR --repeat N --quick]
#
# Results (summary.md, summary.json, PNGs) in perf/results/<UTC date>/ unless --out.
BENCH_NO_SYNC=${BENCH_NO_SYNC:-1} exec "$(dirname "$0")/suite.sh" \
	--systems "baton-l7 haproxy-http" --repeat 1 "$@"
