#!/usr/bin/env bash
# Fails when any C file in the tree differs from what .clang-format asks for.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
mapfile -t files < <(find bpf controlplane dataplane perf tests include -name '*.[ch]' 2>/dev/null | sort)
[ "${#files[@]}" -gt 0 ] || { echo "check-format: no C files found" >&2; exit 1; }
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted (clang-format -i $f)"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "check-format: ${#files[@]} files formatted"
exit $bad
