#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A Marathon API server for transport tests: replays an /v2/apps body and a script of
events on loopback, with Marathon's SSE framing (event: X\\r\\ndata: JSON\\r\\n\\r\\n and a
bare \\r\\n heartbeat), and misbehaves on request.

  replay_marathon.py --port P --apps FILE [--events FILE] [--heartbeat S]
                     [--mode normal|redirect|silent|cut|http500] [--leader URL]
                     [--credentials user:pass] [--max-seconds S]

--events: one event per line, "TYPE JSON" (JSON on one line).
Modes: redirect answers /v2/events with 302 to --leader (a standby Marathon);
silent sends the stream headers and then nothing (no heartbeat); cut sends half of the
first event and closes the connection; http500 answers everything with 500.
Prints "ready PORT" on stdout once listening; exits after --max-seconds (bounded).

Test control (no auth): PUT /_test/apps replaces the /v2/apps body; POST
/_test/event?type=TYPE sends the body (one-line JSON) as an event to every open stream;
POST /_test/cut ends every open stream in the middle of an event.
"""
import queue
import urllib.parse
import argparse
import base64
import http.server
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--apps", required=True)
    ap.add_argument("--events")
    ap.add_argument("--heartbeat", type=float, default=1.0)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "redirect", "silent", "cut", "http500"])
    ap.add_argument("--leader")
    ap.add_argument("--credentials")
    ap.add_argument("--max-seconds", type=float, default=60)
    a = ap.parse_args()

    apps = open(a.apps, "rb").read()
    events = []
    if a.events:
        for line in open(a.events, encoding="utf-8"):
            line = line.strip()
            if line:
                typ, _, data = line.partition(" ")
                events.append((typ, data))
    stats = {"apps": 0, "streams": 0}
    lock = threading.Lock()
    state = {"apps": apps}
    streams = []  # one queue per open stream: frames to send, None = cut

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def authorized(self):
            if not a.credentials:
                return True
            want = "Basic " + base64.b64encode(a.credentials.encode()).decode()
            if self.headers.get("Authorization") == want:
                return True
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="marathon"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def reply(self, code, body=b""):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def control(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            url = urllib.parse.urlparse(self.path)
            if url.path == "/_test/apps":
                state["apps"] = body
            elif url.path == "/_test/event":
                typ = urllib.parse.parse_qs(url.query)["type"][0]
                frame = b"event: %s\r\ndata: %s\r\n\r\n" % (typ.encode(), body.strip())
                with lock:
                    for q in streams:
                        q.put(frame)
            elif url.path == "/_test/cut":
                with lock:
                    for q in streams:
                        q.put(None)
            else:
                return self.reply(404)
            self.reply(204)

        do_PUT = control
        do_POST = control

        def do_GET(self):
            if a.mode == "http500":
                body = b'{"message":"internal error"}'
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if not self.authorized():
                return
            if self.path.startswith("/v2/apps"):
                with lock:
                    stats["apps"] += 1
                    body = state["apps"]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.startswith("/v2/events"):
                return self.events()
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def events(self):
            if a.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", a.leader.rstrip("/") + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if "text/event-stream" not in self.headers.get("Accept", ""):
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # Registered before the headers go out: an event posted once the client
            # saw them is not lost.
            q = queue.Queue()
            with lock:
                stats["streams"] += 1
                streams.append(q)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            deadline = time.time() + a.max_seconds
            try:
                if a.mode == "silent":
                    while time.time() < deadline:
                        time.sleep(0.2)
                    return
                frames = [b"event: event_stream_attached\r\ndata: "
                          b'{"remoteAddress":"127.0.0.1","eventType":"event_stream_attached",'
                          b'"timestamp":"2026-11-25T00:00:00.000Z"}\r\n\r\n']
                for typ, data in events:
                    frames.append(b"event: %s\r\ndata: %s\r\n\r\n" % (typ.encode(), data.encode()))
                if a.mode == "cut":
                    self.wfile.write(frames[0][: len(frames[0]) // 2])
                    self.wfile.flush()
                    return
                for f in frames:
                    self.wfile.write(f)
                    self.wfile.flush()
                    time.sleep(0.05)
                while time.time() < deadline:
                    try:
                        f = q.get(timeout=a.heartbeat)
                    except queue.Empty:
                        f = b"\r\n"  # heartbeat
                    if f is None:  # cut mid-event
                        self.wfile.write(b"event: status_update_event\r\ndata: {\"app")
                        self.wfile.flush()
                        return
                    self.wfile.write(f)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            finally:
                with lock:
                    streams.remove(q)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    threading.Timer(a.max_seconds, srv.shutdown).start()
    print("ready %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    print("served apps=%d streams=%d" % (stats["apps"], stats["streams"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
