#!/usr/bin/env bash
# Install every Debian package that Baton's build, tests and demo need.
# Idempotent: safe to run again; apt-get only installs what is missing.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi

packages=(
	# build
	build-essential meson ninja-build pkg-config clang llvm clang-format
	libbpf-dev bpftool libxdp-dev linux-libc-dev
	libcjson-dev libcurl4-openssl-dev libmicrohttpd-dev libcmocka-dev
	libdpdk-dev dpdk # baton-l7 (the L7 lane: EAL, mempools, the net_af_xdp PMD)
	# fuzzing (libFuzzer runtime for clang 14), memory checking
	libclang-rt-14-dev valgrind
	# tests and demo: namespaces, real clients and servers
	iproute2 iputils-ping ethtool curl python3 procps util-linux kmod openssl
	# the API tests read its JSON; BIRD checks the VIP route includes (tests/vip)
	jq bird2
	# the verifier test (tests/verifier): an older kernel under qemu, busybox for its
	# initramfs. The kernel itself is not installed: the test fetches Debian's 6.1 image
	# once into BUILD/verifier-cache with apt-get download.
	qemu-system-x86 busybox-static
	# benchmarks (perf/): DPDK for baton-pktgen, the peers and the load tools of perf/suite.sh
	iptables haproxy nginx-light wrk iperf3 gnuplot-nox
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
