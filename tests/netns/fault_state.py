#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Does Baton's datapath match Marathon? (tests/netns/test_faults.sh; standard library only)

Fetches GET /v2/apps?embed=apps.tasks from --marathon and reads the pinned maps under
--bpffs/baton with the bpf() system call: for every app port the frontend
(--addr, service port, tcp), its active Maglev table generation, and the backends the
table names. They match when, for every app port, the set of backends in the table is
exactly the set of (host, host port) of the app's TASK_RUNNING tasks. Repeats until
they match or --wait seconds pass; prints one line per app port and
  match=yes|no after_ms=N
Exit 0 on a match, 1 otherwise. Run it in the namespace that reaches Marathon, as root.
"""
import argparse
import ctypes
import ipaddress
import json
import os
import socket
import struct
import sys
import time
import urllib.request

BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET, BPF_MAP_GET_FD_BY_ID = 1, 7, 14
FE_F_GEN1 = 1 << 2
NO_BACKEND = 0xFFFFFFFF
libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321 if os.uname().machine == "x86_64" else 280  # x86_64, aarch64


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, struct.pack("=QII", ctypes.addressof(p), 0, 0))


def map_by_id(map_id):
    return bpf(BPF_MAP_GET_FD_BY_ID, struct.pack("=III", map_id, 0, 0))


def lookup(fd, key, vsize):
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(vsize)
    try:
        bpf(BPF_MAP_LOOKUP_ELEM, struct.pack("=IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))
    except OSError as e:
        if e.errno == 2:  # ENOENT
            return None
        raise
    return v.raw


def fe_key(addr, port):
    a = ipaddress.ip_address(addr)
    raw = a.packed + bytes(16 - len(a.packed))
    return raw + struct.pack("!H", port) + bytes([socket.IPPROTO_TCP, 4 if a.version == 4 else 6])


def datapath_backends(pin, addr, port, fds):
    """The set of "ip:port" in the active Maglev table of frontend addr:port/tcp, or None."""
    v = lookup(fds["frontends"], fe_key(addr, port), 8)
    if v is None:
        return None
    sid, flags = struct.unpack("=II", v)
    slot = sid * 2 + (1 if flags & FE_F_GEN1 else 0)
    inner = lookup(fds["maglev"], struct.pack("=I", slot), 4)
    if inner is None:
        return None
    ifd = map_by_id(struct.unpack("=I", inner)[0])
    try:
        size = struct.unpack("=I", lookup(ifd, struct.pack("=I", 0), 4))[0]
        ids = set()
        for i in range(1, size + 1):
            ids.add(struct.unpack("=I", lookup(ifd, struct.pack("=I", i), 4))[0])
    finally:
        os.close(ifd)
    out = set()
    for bid in ids:
        if bid == NO_BACKEND:
            continue
        b = lookup(fds["backends"], struct.pack("=I", bid), 20)
        fam = b[18]
        ip = ipaddress.ip_address(b[:4] if fam == 4 else b[:16])
        out.add("%s:%d" % (ip, struct.unpack("!H", b[16:18])[0]))
    return out


def marathon_expected(url):
    with urllib.request.urlopen(url.rstrip("/") + "/v2/apps?embed=apps.tasks", timeout=5) as r:
        apps = json.load(r)["apps"]
    exp = {}
    for app in apps:
        pds = app.get("portDefinitions") or []
        for idx, pd in enumerate(pds):
            want = set()
            for t in app.get("tasks") or []:
                if t.get("state") == "TASK_RUNNING" and len(t.get("ports") or []) > idx:
                    want.add("%s:%d" % (t["host"], t["ports"][idx]))
            exp[(app["id"], pd["port"])] = want
    return exp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--marathon", required=True)
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--addr", required=True, help="a load balancer address the services bind to")
    ap.add_argument("--wait", type=float, default=0)
    a = ap.parse_args()
    pin = os.path.join(a.bpffs, "baton")
    fds = {n: obj_get(os.path.join(pin, n)) for n in ("frontends", "maglev", "backends")}
    t0 = time.monotonic()
    last = []
    while True:
        lines, ok = [], True
        try:
            exp = marathon_expected(a.marathon)
        except (OSError, ValueError) as e:
            exp, ok = {}, False
            lines.append("marathon: %s" % e)
        for (app, port), want in sorted(exp.items()):
            have = datapath_backends(pin, a.addr, port, fds)
            same = have == want if want else have in (None, set())
            ok = ok and same
            lines.append("%s port %d: marathon %d running tasks, datapath %s backends%s" % (
                app, port, len(want), "no frontend," if have is None else len(have),
                "" if same else "  <-- differ: only marathon %s, only datapath %s" % (
                    sorted(want - (have or set()))[:4], sorted((have or set()) - want)[:4])))
        last = lines
        el = time.monotonic() - t0
        if ok or el >= a.wait:
            break
        time.sleep(0.1)
    for l in last:
        print("  " + l)
    print("match=%s after_ms=%d" % ("yes" if ok else "no", el * 1000))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
