#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Live traffic for scripts/demo.sh (standard library only); runs in the client namespace.

  traffic.py --addr A --port P --rate R --seconds S --marathon URL --marathon-netns NS
             --app /web --result FILE --started FILE [--download-seconds D --download-file F]

Sends R requests a second (one new TCP connection each, "GET /") to A:P for S seconds and
prints one line a second: how many answers each task gave in that second, and failures.
A thread watches Marathon's task list (GET URL/v2/apps/APP/tasks, through a socket made
in namespace NS, where Marathon listens on loopback) to print task changes and mark the
columns (start: not yet healthy, drain: TASK_KILLING, gone: left Marathon's list).
SIGUSR1 starts one long download (GET /download?seconds=D); the serving task's id goes to
the --download-file as soon as the headers arrive. SIGTERM or S seconds: stop, print the
summary, write "RESULT requests=N failed=F tasks=T download=ok|failed|none" to --result.
"""
import argparse
import ctypes
import json
import os
import signal
import socket
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
OUT = threading.Lock()
T0 = time.monotonic()


def out(line=""):
    with OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def clock(t=None):
    t = (time.monotonic() if t is None else t) - T0
    return "%02d:%02d" % (int(t) // 60, int(t) % 60)


def short(task_id):
    return task_id.split(".", 1)[-1][:8]


_libc = None


def socket_in_netns(netns_path):
    """A TCP socket made inside another network namespace: a throw-away thread enters it
    (setns is per thread), creates the socket and ends; no other thread changes namespace."""
    res = {}

    def worker():
        global _libc
        try:
            if _libc is None:
                _libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns_path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns: " + os.strerror(e))
            finally:
                os.close(fd)
            res["sock"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            res["err"] = e

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    t.join(5)
    if "err" in res:
        raise res["err"]
    if "sock" not in res:
        raise OSError("no socket in %s" % netns_path)
    return res["sock"]


def http_get(sock, host, port, path, timeout):
    """One HTTP/1.0 GET on a fresh socket: (status, headers dict, body)."""
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.sendall(("GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode())
        data = b""
        while True:
            d = sock.recv(65536)
            if not d:
                break
            data += d
    finally:
        sock.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no HTTP header")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


class TaskInfo:
    def __init__(self, tid, addr, state, healthy, seen):
        self.id = tid
        self.short = short(tid)
        self.addr = addr
        self.state = state
        self.healthy = healthy
        self.first_seen = seen
        self.gone_at = None
        self.answers = 0


class Monitor(threading.Thread):
    """Polls Marathon's task list of the app; prints what changes."""

    def __init__(self, a, stop):
        super().__init__(daemon=True)
        self.a = a
        self.stop = stop
        self.lock = threading.Lock()
        self.tasks = {}
        u = a.marathon.split("//", 1)[-1].rstrip("/")
        host, _, port = u.rpartition(":")
        self.host, self.port = host, int(port)
        self.netns = "/var/run/netns/" + a.marathon_netns
        self.first = True
        self.errors = 0

    def fetch(self):
        s = socket_in_netns(self.netns)
        status, _, body = http_get(s, self.host, self.port, "/v2/apps%s/tasks" % self.a.app, 2)
        if status != 200:
            raise ValueError("HTTP %d" % status)
        return json.loads(body.decode())["tasks"]

    def note(self, t, what):
        if not self.first:
            out("           %s  marathon: %s %s" % (clock(), t.short, what))

    def poll(self):
        tasks = self.fetch()
        now = time.monotonic()
        seen = set()
        with self.lock:
            for j in tasks:
                tid = j["id"]
                seen.add(tid)
                ports = j.get("ports") or [0]
                addr = "%s:%d" % (j.get("host", "?"), ports[0])
                checks = j.get("healthCheckResults") or []
                healthy = bool(checks) and all(c.get("alive") for c in checks)
                state = j.get("state", "?")
                t = self.tasks.get(tid)
                if t is None:
                    t = TaskInfo(tid, addr, state, healthy, now)
                    self.tasks[tid] = t
                    self.note(t, "%s on %s (a new task)" % (state, addr))
                    if healthy:
                        self.note(t, "healthy")
                    continue
                if state != t.state:
                    t.state = state
                    if state == "TASK_KILLING":
                        self.note(t, "TASK_KILLING (SIGTERM sent): batond drains it, no new connections")
                    else:
                        self.note(t, state)
                if healthy and not t.healthy and state == "TASK_RUNNING":
                    self.note(t, "healthy (TCP check passed): batond adds it")
                t.healthy = healthy
            for t in self.tasks.values():
                if t.id not in seen and t.gone_at is None:
                    t.gone_at = now
                    self.note(t, "gone: its process exited, Marathon dropped it")
        self.first = False

    def run(self):
        while not self.stop.is_set():
            try:
                self.poll()
            except (OSError, ValueError, KeyError) as e:
                self.errors += 1
                if self.errors in (1, 10):
                    out("           (cannot read Marathon's tasks: %s)" % e)
            self.stop.wait(0.3)

    def info(self, tid):
        with self.lock:
            return self.tasks.get(tid)

    def snapshot(self):
        with self.lock:
            return list(self.tasks.values())


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.bins = {}  # second -> [ok, fail, {task: n}]
        self.ok = 0
        self.failed = 0
        self.reasons = {}
        self.per_task = {}
        self.slowest = 0.0

    def add(self, when, task, err, lat):
        k = int(when - T0)
        with self.lock:
            b = self.bins.setdefault(k, [0, 0, {}])
            if err is None:
                b[0] += 1
                b[2][task] = b[2].get(task, 0) + 1
                self.ok += 1
                self.per_task[task] = self.per_task.get(task, 0) + 1
                self.slowest = max(self.slowest, lat)
            else:
                b[1] += 1
                self.failed += 1
                self.reasons[err] = self.reasons.get(err, 0) + 1

    def take(self, k):
        with self.lock:
            return self.bins.pop(k, [0, 0, {}])


def one_request(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        status, hdrs, body = http_get(s, a.addr, a.port, "/", a.timeout)
    except socket.timeout:
        return None, "timeout"
    except ConnectionRefusedError:
        return None, "connection refused"
    except ConnectionResetError:
        return None, "connection reset"
    except (OSError, ValueError, IndexError) as e:
        return None, type(e).__name__
    task = hdrs.get("x-task-id") or body.decode(errors="replace").split(" ")[0].strip()
    if status != 200 or not task:
        return None, "bad answer (HTTP %d)" % status
    return task, None


def traffic(a, stats, stop):
    period = 1.0 / a.rate
    nxt = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if now < nxt:
            stop.wait(nxt - now)
            continue
        nxt = max(nxt + period, now - period)  # never burst to catch up
        t1 = time.monotonic()
        task, err = one_request(a)
        t2 = time.monotonic()
        stats.add(t2, task, err, t2 - t1)
        if err is not None:
            out("           %s  request failed: %s" % (clock(t2), err))


class Table:
    """One line a second; the column header is printed again when the set of tasks changes."""

    def __init__(self, mon):
        self.mon = mon
        self.cols = []

    def columns(self, answered, now):
        cols = []
        for t in sorted(self.mon.snapshot(), key=lambda t: t.first_seen):
            if t.gone_at is None or now - t.gone_at < 2.5 or t.id in answered:
                cols.append(t.id)
        for tid in answered:
            if tid not in cols:
                cols.append(tid)
        return cols

    def cell(self, tid, n):
        t = self.mon.info(tid)
        tag = ""
        if t is not None:
            if t.gone_at is not None:
                tag = "gone"
            elif t.state == "TASK_KILLING":
                tag = "drain"
            elif t.state != "TASK_RUNNING" or not t.healthy:
                tag = "start"
        if tag and n == 0:
            return "%10s" % tag
        if tag:
            return "%10s" % ("%d %s" % (n, tag))
        return "%10d" % n

    def line(self, k, b):
        ok, fail, per = b
        cols = self.columns(per, time.monotonic())
        if cols != self.cols:
            self.cols = cols
            out("      time   ok fail " + "".join("%10s" % short(c) for c in cols))
        out("     %s %4d %4d " % (clock(T0 + k + 1), ok, fail)
            + "".join(self.cell(c, per.get(c, 0)) for c in cols))


def printer(stats, table, stop, last):
    k = 0
    while True:
        due = T0 + k + 1 + 0.02
        while time.monotonic() < due:
            if stop.is_set():
                return
            time.sleep(min(0.05, max(0.0, due - time.monotonic())))
        if k >= last:
            return
        table.line(k, stats.take(k))
        k += 1


class Download(threading.Thread):
    def __init__(self, a):
        super().__init__(daemon=True)
        self.a = a
        self.result = None  # None: running; "ok" / "failed: ..."
        self.task = None
        self.detail = ""

    def run(self):
        a = self.a
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        got, want, t1 = 0, -1, time.monotonic()
        try:
            s.connect((a.addr, a.port))
            s.sendall(("GET /download?seconds=%g HTTP/1.0\r\nHost: %s\r\n\r\n"
                       % (a.download_seconds, a.addr)).encode())
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 8192:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            hdrs = {}
            for ln in head.decode("latin-1").split("\r\n")[1:]:
                k, _, v = ln.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            self.task = hdrs.get("x-task-id")
            want = int(hdrs.get("content-length", "-1"))
            if not self.task or want < 0:
                raise ValueError("bad download header")
            tmp = a.download_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(self.task + "\n")
            os.rename(tmp, a.download_file)
            out("           %s  download: %d bytes over %g s, served by task %s"
                % (clock(), want, a.download_seconds, short(self.task)))
            got = len(rest)
            while got < want:
                d = s.recv(65536)
                if not d:
                    break
                got += len(d)
            el = time.monotonic() - t1
            if got == want:
                self.result = "ok"
                self.detail = "%d bytes in %.1f s from task %s, complete" % (got, el, short(self.task))
            else:
                self.result = "failed"
                self.detail = "%d of %d bytes from task %s: cut short" % (got, want, short(self.task or "?"))
        except (OSError, ValueError) as e:
            self.result = "failed"
            self.detail = "%d of %d bytes: %s" % (got, want, e or type(e).__name__)
        finally:
            s.close()
        out("           %s  download: %s" % (clock(), self.detail))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=25)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--timeout", type=float, default=2)
    ap.add_argument("--marathon", required=True)
    ap.add_argument("--marathon-netns", required=True)
    ap.add_argument("--app", default="/web")
    ap.add_argument("--result", required=True)
    ap.add_argument("--started", required=True)
    ap.add_argument("--download-seconds", type=float, default=8)
    ap.add_argument("--download-file", default="/dev/null")
    a = ap.parse_args()
    a.rate = max(1.0, min(a.rate, 200.0))
    a.seconds = max(1.0, min(a.seconds, 3600.0))

    global T0
    stop = threading.Event()
    wake = threading.Event()
    dl = []

    def on_usr1(signum, frame):
        if not dl:
            d = Download(a)
            dl.append(d)
            d.start()

    signal.signal(signal.SIGTERM, lambda s, f: (stop.set(), wake.set()))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the demo stops us (SIGTERM) in order
    signal.signal(signal.SIGUSR1, on_usr1)

    mon = Monitor(a, stop)
    try:
        mon.poll()  # the starting state, silently
    except (OSError, ValueError, KeyError) as e:
        out("           (cannot read Marathon's tasks: %s)" % e)
    stats = Stats()
    T0 = time.monotonic()
    with open(a.started + ".tmp", "w") as f:
        f.write("%d\n" % int(time.time() * 1000))
    os.rename(a.started + ".tmp", a.started)
    mon.start()
    table = Table(mon)
    last = int(a.seconds)
    workers = [threading.Thread(target=traffic, args=(a, stats, stop), daemon=True),
               threading.Thread(target=printer, args=(stats, table, stop, last), daemon=True)]
    for w in workers:
        w.start()
    end = T0 + a.seconds
    while not stop.is_set() and time.monotonic() < end:
        wake.wait(min(0.2, max(0.0, end - time.monotonic())))
    stop.set()
    for w in workers:
        w.join(a.timeout + 3)
    elapsed = time.monotonic() - T0
    if dl:
        dl[0].join(max(0.0, a.download_seconds + 10 - (time.monotonic() - T0)))

    # ---- summary
    n = stats.ok + stats.failed
    dres = "none"
    if dl:
        dres = dl[0].result or "failed"
        if dl[0].result is None:
            dl[0].detail = "still running when the demo ended"
    failed = stats.failed + (1 if dres == "failed" else 0)
    out()
    out("==> summary: %d requests in %.1f s (%.1f/s), %d failed; slowest answer %.1f ms"
        % (n, elapsed, n / elapsed if elapsed else 0, stats.failed, 1000 * stats.slowest))
    for why, c in sorted(stats.reasons.items()):
        out("    failed: %s: %d" % (why, c))
    out("    %-10s %-20s %8s   %s" % ("task", "address", "answers", "at the end"))
    infos = sorted(mon.snapshot(), key=lambda t: t.first_seen)
    known = {t.id for t in infos}
    for t in infos:
        end_state = "gone (killed)" if t.gone_at is not None else {
            "TASK_RUNNING": "running", "TASK_KILLING": "draining"}.get(t.state, t.state)
        out("    %-10s %-20s %8d   %s" % (t.short, t.addr, stats.per_task.get(t.id, 0), end_state))
    for tid, c in sorted(stats.per_task.items()):
        if tid not in known:
            out("    %-10s %-20s %8d   %s" % (short(tid), "?", c, "?"))
    if dl:
        out("    download on a draining task: %s" % dl[0].detail)
    res = "RESULT requests=%d failed=%d tasks=%d download=%s" % (n, failed, len(stats.per_task), dres)
    out(res)
    with open(a.result, "w") as f:
        f.write(res + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
