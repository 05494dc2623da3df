#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn on the kernel's BPF run-time statistics (BPF_ENABLE_STATS: run_cnt and
run_time_ns per program, as `bpftool prog show` prints them) for as long as this
process lives, at most SECONDS. The statistics are global while any holder keeps its
fd open and cost every BPF program on the machine a clock read per run, so the suite
holds it only around its packet runs. Prints "enabled" once they are on.

  bpf_stats.py SECONDS
"""
import ctypes, os, platform, signal, sys, time

SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_ENABLE_STATS, BPF_STATS_RUN_TIME = 32, 0
if SYS_BPF is None:
    sys.exit("bpf_stats.py: unknown syscall number of bpf() on " + platform.machine())
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(8)  # union bpf_attr { struct { __u32 type; } enable_stats }
ctypes.c_uint32.from_buffer(attr).value = BPF_STATS_RUN_TIME
fd = libc.syscall(SYS_BPF, BPF_ENABLE_STATS, attr, ctypes.sizeof(attr))
if fd < 0:
    sys.exit("bpf_stats.py: BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("enabled", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 10)
