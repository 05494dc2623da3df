#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The task that scripts/demo.sh runs under the Marathon stand-in (standard library only).

An HTTP/1.0 server on $PORT0 (all addresses) that answers
  GET /                    -> 200, body "<MESOS_TASK_ID> <HOST>:<PORT0>\\n"
  GET /download?seconds=S  -> 200, Content-Length bytes paced over S seconds (S <= 60)
every response carrying "X-Task-Id: <MESOS_TASK_ID>", one request per connection.

SIGTERM (Marathon's kill, sent with TASK_KILLING) starts a graceful stop, the way a
service behind a load balancer shuts down: keep accepting for --drain-delay seconds
(the load balancer stops sending new connections once it sees TASK_KILLING), then
close the listening socket, let the open connections finish (at most --max-linger
seconds), and exit 0. Marathon's SIGKILL comes only after the app's
taskKillGracePeriodSeconds.
"""
import argparse
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

CHUNK = bytes(range(256)) * 64  # 16 KiB
CHUNKS_PER_SECOND = 8


def log(msg):
    sys.stderr.write("%s task %s: %s\n" % (time.strftime("%H:%M:%S"), os.environ.get("MESOS_TASK_ID", "?"), msg))
    sys.stderr.flush()


class Handler(socketserver.StreamRequestHandler):
    timeout = 10  # a client that sends nothing is dropped

    def handle(self):
        srv = self.server
        with srv.lock:
            srv.active += 1
        try:
            self.serve_one()
        except OSError:
            pass
        finally:
            with srv.lock:
                srv.active -= 1

    def serve_one(self):
        line = self.rfile.readline(2048)
        words = line.split()
        if len(words) < 2:
            return  # a TCP health check: connect and close
        for _ in range(100):  # skip the request headers
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break
        if words[0] != b"GET":
            self.reply(405, b"only GET\n")
            return
        url = urllib.parse.urlsplit(words[1].decode("latin-1"))
        if url.path == "/download":
            q = urllib.parse.parse_qs(url.query)
            try:
                seconds = float(q.get("seconds", ["5"])[0])
            except ValueError:
                seconds = 5.0
            self.download(max(0.0, min(seconds, 60.0)))
            return
        srv = self.server
        self.reply(200, ("%s %s:%d\n" % (srv.task_id, srv.host, srv.port)).encode())

    def headers(self, code, length):
        reason = {200: "OK", 405: "Method Not Allowed"}.get(code, "Error")
        self.wfile.write(("HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                          "X-Task-Id: %s\r\nConnection: close\r\n\r\n"
                          % (code, reason, length, self.server.task_id)).encode())

    def reply(self, code, body):
        self.headers(code, len(body))
        self.wfile.write(body)
        self.wfile.flush()

    def download(self, seconds):
        chunks = int(seconds * CHUNKS_PER_SECOND)
        self.headers(200, chunks * len(CHUNK))
        self.wfile.flush()
        start = time.monotonic()
        for i in range(chunks):
            delay = start + i / CHUNKS_PER_SECOND - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.wfile.write(CHUNK)
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT0", "0") or 0))
    ap.add_argument("--drain-delay", type=float, default=2.0)
    ap.add_argument("--max-linger", type=float, default=60.0)
    a = ap.parse_args()
    if not a.port:
        ap.error("no --port and no $PORT0")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    signal.signal(signal.SIGINT, lambda s, f: stop.set())

    srv = Server(("0.0.0.0", a.port), Handler, bind_and_activate=False)
    srv.server_bind()
    srv.server_activate()
    srv.lock = threading.Lock()
    srv.active = 0
    srv.task_id = os.environ.get("MESOS_TASK_ID", "task-%d" % a.port)
    srv.host = os.environ.get("HOST", socket.gethostname())
    srv.port = a.port
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    log("listening on port %d" % a.port)

    while not stop.wait(1.0):
        pass
    log("SIGTERM: still accepting for %.1f s while the load balancer drains this task" % a.drain_delay)
    time.sleep(a.drain_delay)
    srv.shutdown()
    srv.server_close()
    deadline = time.monotonic() + a.max_linger
    while time.monotonic() < deadline:
        with srv.lock:
            if srv.active == 0:
                break
        time.sleep(0.05)
    with srv.lock:
        left = srv.active
    log("stopped accepting; %d connection(s) left open; exiting" % left)
    return 0


if __name__ == "__main__":
    sys.exit(main())
