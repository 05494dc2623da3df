#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic through Baton during a fault (tests/netns/test_faults.sh), standard library only.

Against tests/demo/task_server.py behind ADDR:PORT it runs, for --seconds:
  - --streams long downloads (GET /download?seconds=S), each checked byte for byte
    against the server's pattern and its Content-Length: "broken" when one ends early,
    is reset, stalls (--timeout) or carries a wrong byte;
  - new short connections (GET /) at --rate a second, each on its own connection from a
    small pool of workers (so one stalled connection does not slow the others): "failed"
    when refused, reset, timed out, or answered without a task id.
Bounded: at most --seconds + --stream-seconds + 2 * --timeout in all.
Writes a JSON result (--result) and one summary line on stdout:
  streams=N broken=N shorts=N failed=N slow=N max_ms=N
with the time of each failure (seconds since the start) in the JSON.
"""
import argparse
import json
import queue
import socket
import sys
import threading
import time

CHUNK = bytes(range(256)) * 64  # task_server.py's pattern


def now():
    return time.monotonic()


def stream(a, t0, out):
    r = {"task": None, "status": "ok", "bytes": 0, "expected": None, "t_end": None}
    s = None
    try:
        s = socket.socket(socket.AF_INET6 if ":" in a.addr else socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        s.connect((a.addr, a.port))
        s.sendall(b"GET /download?seconds=%g HTTP/1.0\r\n\r\n" % a.stream_seconds)
        f = s.makefile("rb")
        length = None
        while True:
            line = f.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k.lower() == "content-length":
                length = int(v)
            elif k.lower() == "x-task-id":
                r["task"] = v.strip()
        if not length:
            raise ValueError("no Content-Length")
        r["expected"] = length
        pos = 0
        while pos < length:
            d = f.read1(min(65536, length - pos))
            if not d:
                r["status"] = "short"
                break
            off = pos % len(CHUNK)
            want = (CHUNK * ((off + len(d)) // len(CHUNK) + 1))[off:off + len(d)]
            if d != want:
                r["status"] = "corrupt"
                break
            pos += len(d)
        r["bytes"] = pos
        if r["status"] == "ok" and f.read1(1):
            r["status"] = "trailing_bytes"
    except socket.timeout:
        r["status"] = "stalled"
    except ConnectionResetError:
        r["status"] = "reset"
    except ConnectionRefusedError:
        r["status"] = "refused"
    except (OSError, ValueError) as e:
        r["status"] = "error(%s)" % e
    finally:
        if s is not None:
            s.close()
    r["t_end"] = round(now() - t0, 3)
    out.append(r)


def short(a):
    s = socket.socket(socket.AF_INET6 if ":" in a.addr else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.addr, a.port))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        if b"X-Task-Id:" not in data or not data.startswith(b"HTTP/1.0 200"):
            return "bad_answer"
        return None
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return "error(%s)" % (e.strerror or e)
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--stream-seconds", type=float, default=12)
    ap.add_argument("--rate", type=float, default=40, help="new short connections a second")
    ap.add_argument("--seconds", type=float, default=12, help="how long new connections are made")
    ap.add_argument("--timeout", type=float, default=3)
    ap.add_argument("--slow", type=float, default=0.9, help="a short connection this slow counts as slow")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--result", required=True)
    ap.add_argument("--started", help="file to write the start time (ms since the epoch) to")
    a = ap.parse_args()
    a.streams = max(0, min(a.streams, 64))
    a.rate = max(0.1, min(a.rate, 500))
    a.seconds = max(0, min(a.seconds, 120))
    a.stream_seconds = max(1, min(a.stream_seconds, 60))

    t0 = now()
    if a.started:
        with open(a.started, "w") as f:
            f.write("%d\n" % int(time.time() * 1000))
    streams = []
    sthreads = [threading.Thread(target=stream, args=(a, t0, streams), daemon=True) for _ in range(a.streams)]
    for t in sthreads:
        t.start()

    jobs = queue.Queue()
    lock = threading.Lock()
    res = {"attempted": 0, "ok": 0, "failures": [], "slow": 0, "max_ms": 0.0}

    def worker():
        while True:
            t_sched = jobs.get()
            if t_sched is None:
                return
            t1 = now()
            why = short(a)
            lat = now() - t1
            with lock:
                res["attempted"] += 1
                if why is None:
                    res["ok"] += 1
                    res["max_ms"] = max(res["max_ms"], lat * 1000)
                    if lat > a.slow:
                        res["slow"] += 1
                else:
                    res["failures"].append({"t": round(t1 - t0, 3), "why": why})

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(a.workers, 64)))]
    for w in workers:
        w.start()
    n = int(a.seconds * a.rate)
    for i in range(n):
        due = t0 + i / a.rate
        d = due - now()
        if d > 0:
            time.sleep(d)
        jobs.put(due)
    for _ in workers:
        jobs.put(None)
    deadline = t0 + a.seconds + a.stream_seconds + 2 * a.timeout + 5
    for t in workers + sthreads:
        t.join(max(0.1, deadline - now()))
    missing = a.streams - len(streams)
    for _ in range(missing):
        streams.append({"task": None, "status": "unfinished", "bytes": 0, "expected": None})
    broken = [s for s in streams if s["status"] != "ok"]
    result = {"streams": streams, "broken": len(broken), "shorts": res["attempted"],
              "shorts_ok": res["ok"], "failed": len(res["failures"]), "failures": res["failures"],
              "slow": res["slow"], "max_ms": round(res["max_ms"], 1), "elapsed": round(now() - t0, 2)}
    with open(a.result, "w") as f:
        json.dump(result, f, indent=1)
    print("streams=%d broken=%d shorts=%d failed=%d slow=%d max_ms=%.0f tasks=%s" % (
        len(streams), len(broken), res["attempted"], len(res["failures"]), res["slow"], res["max_ms"],
        ",".join(sorted({(s["task"] or "?")[:12] for s in streams}))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
