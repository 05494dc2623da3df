#!/usr/bin/env bash
# The verifier test: boots an older kernel (Debian 12's 6.1, cloud flavour) under qemu
# and has load_check load Baton's XDP object there through batond's own code (every map,
# the program through that kernel's verifier, the Maglev inner maps, the ring buffer, a
# generic attach, one test run). The guest is the kernel plus an initramfs (busybox,
# load_check with the libraries ldd lists, the object, a services file); its serial
# console is parsed here. Passes only if the guest prints "VERIFIER: RESULT PASS" (and,
# given TEST_XDP, test_xdp passed there too).
#
# usage: run.sh LOAD_CHECK BATON_BPF_O SERVICES_JSON CACHE_DIR [TEST_XDP]
#   TEST_XDP: tests/bpf's test_xdp, run in the guest too (its veth pairs need veth.ko,
#   taken from the same kernel package, and iproute2's ip from the host)
#   BATON_VERIFIER_KERNEL=/path/to/vmlinuz   boot that kernel instead
#   BATON_VERIFIER_VETH=/path/to/veth.ko     its veth module (none: veth built in)
#   BATON_VERIFIER_TIMEOUT=SECONDS           bound on the guest's run (default 400)
# The kernel is fetched once (apt-get download + dpkg-deb, nothing installed) into
# CACHE_DIR. Exits 77 (skipped) without qemu, busybox or a kernel.
set -euo pipefail

skip() {
	echo "SKIP: $*"
	exit 77
}

[ $# -eq 4 ] || [ $# -eq 5 ] || {
	echo "usage: $0 LOAD_CHECK BATON_BPF_O SERVICES_JSON CACHE_DIR [TEST_XDP]" >&2
	exit 2
}
load_check=$1 bpf_o=$2 services=$3 cache=$4 test_xdp=${5:-}
timeout_s=${BATON_VERIFIER_TIMEOUT:-400}

qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=$(command -v busybox) || skip "busybox not found (apt-get install busybox-static)"
if [ -n "$test_xdp" ]; then
	command -v ip >/dev/null || skip "iproute2's ip not found (test_xdp needs it)"
	command -v dash >/dev/null || skip "dash not found (test_xdp's system() needs a /bin/sh)"
fi

mkdir -p "$cache"
tmp=$(mktemp -d /tmp/baton-verifier.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM # meson's timeout: still through the EXIT trap

# The newest 6.1 kernel Debian 12 has: the package the linux-image-cloud-amd64
# meta-package depends on. The cloud flavour is the small one (27 MB); its vmlinuz has
# the 8250 serial console, BPF syscall and JIT built in, as the generic flavour does.
fetch_kernel() {
	local pkg deb
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || return 1
	echo "fetching $pkg into $cache"
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) || return 1
	deb=$(ls "$tmp"/"$pkg"_*.deb) || return 1
	mkdir -p "$tmp/deb" "$cache"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$tmp/deb" --wildcards ./boot './lib/modules/*/kernel/drivers/net/veth.ko' ||
		return 1
	cp "$tmp"/deb/boot/vmlinuz-* "$tmp"/deb/boot/config-* "$tmp"/deb/lib/modules/*/kernel/drivers/net/veth.ko "$cache"/
	rm -rf "$tmp/deb" "$deb"
}

kernel=${BATON_VERIFIER_KERNEL:-}
if [ -z "$kernel" ]; then
	kernel=$(ls "$cache"/vmlinuz-* 2>/dev/null | head -n 1 || true)
	if [ -z "$kernel" ] || [ ! -e "$cache/veth.ko" ]; then
		fetch_kernel || skip "no kernel in $cache and apt-get download of Debian's linux-image-cloud-amd64 failed"
		kernel=$(ls "$cache"/vmlinuz-* | head -n 1)
	fi
fi
[ -r "$kernel" ] || skip "kernel $kernel not readable"
echo "kernel: $kernel"

# The initramfs: busybox for /init, load_check with its libraries where ldd puts them.
root=$tmp/root
mkdir -p "$root"/{bin,proc,sys,dev,tmp}
ln -s busybox "$root/bin/sh"
copy_with_libs() {
	cp "$1" "$root/$2"
	{ ldd "$1" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy_with_libs "$load_check" load_check
# A dynamic busybox (the busybox package, not busybox-static) needs its libraries too.
copy_with_libs "$busybox" bin/busybox
if [ -n "$test_xdp" ]; then
	copy_with_libs "$test_xdp" test_xdp
	mkdir -p "$root/sbin"
	copy_with_libs "$(command -v ip)" sbin/ip # busybox's ip has no veth
	# system("ip ...") through busybox's sh would run its own ip applet: dash instead.
	rm "$root/bin/sh"
	copy_with_libs "$(command -v dash)" bin/sh
	if [ -n "${BATON_VERIFIER_VETH:-}" ] || [ -z "${BATON_VERIFIER_KERNEL:-}" ]; then
		cp "${BATON_VERIFIER_VETH:-$cache/veth.ko}" "$root/veth.ko"
	fi
fi
cp "$bpf_o" "$root/baton.bpf.o"
cp "$services" "$root/services.json"
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t bpf bpf /sys/fs/bpf
ip link set lo up
echo "VERIFIER: jit $(cat /proc/sys/net/core/bpf_jit_enable)"
BATON_VERIFIER_GUEST=1 /load_check /baton.bpf.o /services.json
echo "VERIFIER: exit $?"
if [ -x /test_xdp ]; then
	[ -e /veth.ko ] && insmod /veth.ko
	/test_xdp
	echo "VERIFIER: test_xdp exit $?"
fi
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/initrd.gz"

# TCG (no KVM here, nor on most CI runners): no disk, no network, no display; the
# serial console is the only output. -no-reboot: a panic ends qemu too. Two CPUs:
# test_xdp's SNAT cases partition the port range between CPUs and expect two.
accel=tcg
[ -w /dev/kvm ] && accel=kvm
start=$(date +%s)
rc=0
timeout --kill-after=10 "$timeout_s" "$qemu" -accel "$accel" -m 512 -smp 2 \
	-kernel "$kernel" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init" \
	-display none -monitor none -serial "file:$tmp/serial.log" -net none -no-reboot ||
	rc=$?
elapsed=$(($(date +%s) - start))

# The whole console stays in CACHE_DIR; a failed load's verifier log can be long, so
# only its last lines (where the verifier says why) are shown here.
tr -d '\r' <"$tmp/serial.log" >"$cache/serial.log" 2>/dev/null || true
awk '/-- BEGIN PROG LOAD LOG --/ { inlog = 1; n = 0 }
	inlog { buf[n++ % 80] = $0 }
	/-- END PROG LOAD LOG --/ {
		inlog = 0
		print "(verifier log: its last lines; all of it in '"$cache"'/serial.log)"
		for (i = (n > 80 ? n - 80 : 0); i < n; i++) print buf[i % 80]
		next
	}
	!inlog' "$cache/serial.log"
echo "qemu ($accel) exited with $rc after ${elapsed}s"
[ "$rc" -eq 124 ] && {
	echo "FAIL: the guest did not finish within ${timeout_s}s"
	exit 1
}
grep -q '^VERIFIER: RESULT PASS' "$cache/serial.log" || {
	echo "FAIL: the guest did not report every program and step loaded (see above)"
	exit 1
}
grep -q '^VERIFIER: prog .* ok ' "$cache/serial.log" || {
	echo "FAIL: no program reported"
	exit 1
}
if [ -n "$test_xdp" ] && ! grep -q '^VERIFIER: test_xdp exit 0$' "$cache/serial.log"; then
	echo "FAIL: test_xdp did not pass on this kernel (see above)"
	exit 1
fi
echo "PASS: $(grep '^VERIFIER: kernel' "$cache/serial.log" | cut -d' ' -f3) verified and ran every program${test_xdp:+; test_xdp passed}"
