#!/usr/bin/env bash
# Host setup that Baton's tests and demo need beyond packages: a bpffs on
# /sys/fs/bpf and a few hugepages (for the DPDK lane). Idempotent; root only.
set -euo pipefail

if ! mountpoint -q /sys/fs/bpf; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	echo "setup-host: mounted bpffs on /sys/fs/bpf"
fi

hp=/proc/sys/vm/nr_hugepages
if [ -w "$hp" ] && [ "$(cat "$hp")" -lt 64 ]; then
	echo 64 >"$hp" || true
	echo "setup-host: $(cat "$hp") hugepages reserved"
fi
if ! mountpoint -q /dev/hugepages; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs none /dev/hugepages || echo "setup-host: hugetlbfs not mounted (no hugepage support)"
fi
