#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A tiny backend for Baton's netns tests and demo (Python 3 standard library only).

TCP (dual-stack, one thread per connection). The server reads one line:
  name\\n              -> replies "NAME\\n" and closes first (the backend holds TIME_WAIT)
  stream SECONDS\\n    -> replies "NAME\\n", then CHUNKS chunks of 4096 bytes paced over
                        SECONDS (100 chunks a second, SECONDS capped at 60), then
                        "END <bytes>\\n", and closes
  GET ... (HTTP)      -> HTTP/1.0 200 response whose body is "NAME\\n" (so curl works)
UDP (dual-stack): every datagram is echoed back as b"NAME:" + payload.
"""
import argparse
import socket
import socketserver
import sys
import threading
import time

CHUNK = bytes(range(256)) * 16  # 4096 bytes, a pattern the client can verify
CHUNKS_PER_SECOND = 100
MAX_STREAM_SECONDS = 60


def family_for(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class Handler(socketserver.StreamRequestHandler):
    timeout = 10  # a client that sends nothing is dropped

    def handle(self):
        name = self.server.backend_name.encode()
        try:
            line = self.rfile.readline(1024)
        except OSError:
            return
        words = line.split()
        if not words:
            return
        if words[0] == b"name":
            self.wfile.write(name + b"\n")
        elif words[0] == b"stream":
            try:
                seconds = float(words[1]) if len(words) > 1 else 1.0
            except ValueError:
                seconds = 1.0
            seconds = max(0.0, min(seconds, MAX_STREAM_SECONDS))
            chunks = int(seconds * CHUNKS_PER_SECOND)
            self.wfile.write(name + b"\n")
            start = time.monotonic()
            for i in range(chunks):
                delay = start + i / CHUNKS_PER_SECOND - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.wfile.write(CHUNK)
            self.wfile.write(b"END %d\n" % (chunks * len(CHUNK)))
        elif words[0] in (b"GET", b"HEAD"):
            for _ in range(100):  # skip the request headers
                header = self.rfile.readline(8192)
                if header in (b"\r\n", b"\n", b""):
                    break
            body = name + b"\n"
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            if words[0] == b"GET":
                self.wfile.write(body)
        else:
            self.wfile.write(b"ERR unknown request\n")
        self.wfile.flush()


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, bind, port, name):
        self.address_family = family_for(bind)
        self.backend_name = name
        super().__init__((bind, port), Handler, bind_and_activate=False)
        if self.address_family == socket.AF_INET6 and bind == "::":
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.server_bind()
        self.server_activate()


def udp_echo(bind, port, name):
    fam = family_for(bind)
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6 and bind == "::":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    prefix = name.encode() + b":"
    while True:
        data, peer = sock.recvfrom(65535)
        try:
            sock.sendto(prefix + data, peer)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--udp-port", type=int)
    ap.add_argument("--bind", default="::", help="address to bind (default :: = dual-stack)")
    args = ap.parse_args()

    server = TCPServer(args.bind, args.port, args.name)
    if args.udp_port:
        threading.Thread(target=udp_echo, args=(args.bind, args.udp_port, args.name),
                         daemon=True).start()
    print(f"backend {args.name}: tcp {args.bind} {args.port}"
          + (f", udp {args.udp_port}" if args.udp_port else ""), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
