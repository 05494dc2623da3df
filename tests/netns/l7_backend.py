#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""HTTP/1.1 backend for the L7 lane test (standard library only, keep-alive).

  GET /big/N      N bytes of PATTERN (repeated), Content-Length N
  GET /slow/N/S   N bytes paced over S seconds (a download that outlives a restart)
  POST /upload    reads the body (Content-Length), answers "<sha256 hex>\\n"
  GET anything    "NAME PATH\\n"
"""
import argparse
import hashlib
import http.server
import socket
import ssl
import sys
import threading
import time

PATTERN = bytes(range(256)) * 4096  # 1 MiB
PATTERN2 = PATTERN * 2


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body_pattern(self, n, seconds=0.0):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        sent, start = 0, time.monotonic()
        while sent < n:
            k = min(n - sent, 65536 if seconds else len(PATTERN))
            off = sent % len(PATTERN)
            self.wfile.write(PATTERN2[off:off + k])
            sent += k
            if seconds:
                delay = start + seconds * sent / n - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) >= 3 and parts[1] == "big":
            return self.send_body_pattern(int(parts[2]))
        if len(parts) >= 4 and parts[1] == "slow":
            return self.send_body_pattern(int(parts[2]), float(parts[3]))
        if self.path.endswith("/xff"):
            xff = ",".join(self.headers.get_all("X-Forwarded-For") or [])
            body = ("%s xff=%s\n" % (self.server.name, xff)).encode()
        else:
            body = ("%s %s\n" % (self.server.name, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        while n > 0:
            d = self.rfile.read(min(n, 1 << 20))
            if not d:
                break
            h.update(d)
            n -= len(d)
        body = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, help="also serve HTTPS here (needs --cert)")
    ap.add_argument("--cert", help="PEM file with the certificate and its key")
    a = ap.parse_args()
    srv = Server(("::", a.port), Handler)
    srv.name = a.name
    if a.tls_port:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert)
        tls = Server(("::", a.tls_port), Handler)
        tls.name = a.name + "-tls"
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
    print("l7 backend %s on %d" % (a.name, a.port), file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
