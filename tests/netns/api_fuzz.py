#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Malformed and hostile requests against batond's HTTP API (standard library only).

  api_fuzz.py --addr 127.0.0.1 --port P --token TOKEN [--seed N] [--count N]

Sends, on raw sockets: random paths (random bytes, percent-encoded and raw), random
methods, garbage request lines, oversized headers, a declared 10 MB body, a chunked
body past the limit, bad JSON and non-object JSON to a drain endpoint, and a slow
client that trickles its request while other requests must still be answered quickly.
Checks every answer that comes is HTTP with a sane status and, for JSON, the
{"error", "reason"} shape; prints one line per check and "fuzz ok" at the end;
exits 1 on the first violation. Bounded: --count requests, 5 s timeout each.
"""
import argparse
import json
import random
import socket
import sys
import threading
import time

ALLOWED = {200, 400, 401, 403, 404, 405, 413, 414, 431, 501, 505}


def die(msg):
    print("FUZZ FAIL: " + msg, flush=True)
    sys.exit(1)


def raw(a, data, timeout=5.0, read=True):
    """Sends bytes, returns (status or None, headers, body)."""
    s = socket.create_connection((a.addr, a.port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return None, "", b""
        buf = b""
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not d:
                break
            buf += d
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
        if not buf:
            return None, "", b""
        head, _, body = buf.partition(b"\r\n\r\n")
        line = head.split(b"\r\n")[0].split(b" ")
        if len(line) < 2 or not line[0].startswith(b"HTTP/1."):
            die("not an HTTP answer: %r" % buf[:80])
        return int(line[1]), head.decode("latin-1"), body
    finally:
        s.close()


def request(a, method, path, body=b"", headers=None, token=True):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: api", "Connection: close"]
    if token and a.token:
        h.append("Authorization: Bearer " + a.token)
    h += headers or []
    if body and not any(x.lower().startswith("transfer-encoding") for x in h):
        h.append("Content-Length: %d" % len(body))
    return raw(a, ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + body)


def check_json_error(code, head, body, what):
    if code not in ALLOWED:
        die("%s: status %s" % (what, code))
    if code >= 400 and "application/json" in head:
        try:
            o = json.loads(body)
        except ValueError:
            die("%s: error body is not JSON: %r" % (what, body[:80]))
        if not isinstance(o, dict) or not isinstance(o.get("error"), str) or "reason" not in o:
            die("%s: error body lacks error/reason: %r" % (what, body[:120]))


def healthy(a):
    t0 = time.monotonic()
    code, _, body = request(a, "GET", "/healthz")
    if code != 200 or body != b"ok\n":
        die("healthz answered %s %r" % (code, body))
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--drain-path", required=True, help="/v1/backends/ID/drain of a backend")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    counts = {}

    # 1. random paths and methods
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "G\x01T"]
    pieces = ["/v1", "/services", "/backends", "/vips", "/status", "/drain", "/undrain", "/..",
              "/%2e%2e", "/%00", "//", "/metrics", "/healthz", "?service=", "&x=%ff", "/%",
              "/\u00e9", "/" + "A" * 3000]
    for i in range(a.count):
        if rnd.random() < 0.5:
            path = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 5)))
        else:
            path = "/" + "".join(chr(rnd.randint(33, 126)) for _ in range(rnd.randint(0, 60)))
        method = rnd.choice(methods)
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64))) if rnd.random() < 0.3 else b""
        try:
            code, head, resp = request(a, method, path.replace(" ", "%20"), body)
        except OSError as e:
            die("random request %d (%s %r): %s" % (i, method, path[:60], e))
        if code is None:
            continue  # the server may close on a request it cannot parse
        if method != "HEAD":  # HEAD answers carry no body
            check_json_error(code, head, resp, "%s %r" % (method, path[:60]))
        counts[code] = counts.get(code, 0) + 1
    print("random paths: %d requests, statuses %s" % (a.count, dict(sorted(counts.items()))), flush=True)

    # 2. garbage request lines and headers
    for junk in [b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
                 bytes(rnd.getrandbits(8) for _ in range(2000))]:
        try:
            code, head, body = raw(a, junk)
        except OSError:
            code = None
        if code is not None:
            check_json_error(code, head, body, "junk %r" % junk[:20])
    print("garbage requests: answered or closed, never a crash", flush=True)

    # 3. bodies over the limit
    code, head, body = request(a, "POST", a.drain_path, headers=["Content-Length: 10000000"])
    if code != 413:
        die("declared 10 MB body: %s %r" % (code, body))
    check_json_error(code, head, body, "declared 10 MB body")
    chunk = b"x" * 8192
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(128)) + b"0\r\n\r\n"
    code, head, body = request(a, "POST", a.drain_path, chunked,
                               headers=["Transfer-Encoding: chunked"])
    if code != 413:
        die("chunked 1 MB body: %s %r" % (code, body))
    # an endless chunked body: cut off (answered 413 or closed), never buffered
    big = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(2048))
    try:
        code, head, body = request(a, "POST", a.drain_path, big,
                                   headers=["Transfer-Encoding: chunked"])
    except OSError:
        code = None
    if code not in (None, 413):
        die("chunked 16 MB body: %s %r" % (code, body))
    healthy(a)
    print("bodies over the limit: 413 (declared 10 MB; chunked 1 MB); a chunked 16 MB one "
          "cut off (%s)" % ("413" if code else "closed"), flush=True)

    # 4. bad JSON and wrong JSON to a drain endpoint (nothing may be drained)
    for bad, words in [(b"{not json", "not valid JSON"), (b"[1,2]", "JSON object"),
                       (b'{"reason": 5}', "string"), (b'{"why": "x"}', "unknown field"),
                       (b'{"reason": "' + b"r" * 300 + b'"}', "at most")]:
        code, head, body = request(a, "POST", a.drain_path, bad,
                                   headers=["Content-Type: application/json"])
        if code != 400 or words not in json.loads(body).get("reason", ""):
            die("bad JSON %r: %s %r" % (bad[:30], code, body))
    print("bad JSON: 400 with the reason (5 kinds)", flush=True)

    # 5. a slow client trickling its request; others are served meanwhile
    stop = threading.Event()

    def slow():
        s = socket.create_connection((a.addr, a.port), timeout=10)
        try:
            for ch in b"GET /v1/status HTTP/1.1\r\nHost: x\r\n":
                if stop.is_set():
                    break
                s.sendall(bytes([ch]))
                time.sleep(0.1)
        except OSError:
            pass
        finally:
            s.close()

    t = threading.Thread(target=slow)
    t.start()
    worst = 0.0
    for _ in range(20):
        worst = max(worst, healthy(a))
        time.sleep(0.1)
    stop.set()
    t.join()
    if worst > 2.0:
        die("a slow client held others up: %.2f s for /healthz" % worst)
    print("slow client: 20 /healthz answered meanwhile, slowest %.3f s" % worst, flush=True)
    healthy(a)
    print("fuzz ok", flush=True)


main()
