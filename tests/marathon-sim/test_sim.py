#!/usr/bin/env python3
"""Tests for marathon_sim.py (stdlib unittest).

Run: python3 tests/marathon-sim/test_sim.py
Exit 77 (skipped) without root, without ip/nsenter, or when network namespaces cannot be
made.  Everything lives in namespaces named msimtest-*; they are removed at the end, and
stale ones from a crashed run are removed at the start.

Shapes are checked against the fixtures in shared/marathon-fixtures (found through
$MARATHON_FIXTURES, or <repo>/../shared/marathon-fixtures).
"""

import base64
import glob
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "marathon_sim.py")
PREFIX = "msimtest"
CLIENT_NS = PREFIX + "-client"
AGENT_NET = "10.251.7.0/24"
CLIENT_ADDR = "10.251.7.200"
CREDS = ("tester", "s3cret")
PY = sys.executable
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FRAME_RE = re.compile(rb"event: ([A-Za-z_]+)\r\ndata: ([^\r\n]*)\r\n\r\n")


def fixtures_dir():
    for d in (os.environ.get("MARATHON_FIXTURES"),
              os.path.join(HERE, "..", "..", "..", "shared", "marathon-fixtures"),
              "/work/shared/marathon-fixtures"):
        if d and os.path.isdir(os.path.join(d, "apps")):
            return os.path.abspath(d)
    return None


FIX = fixtures_dir()


def fixture(rel):
    with open(os.path.join(FIX, rel), "rb") as f:
        return f.read()


def fixture_json(rel):
    return json.loads(fixture(rel))


def captured_event_keys():
    """eventType -> union of key sets seen in the real SSE captures among the fixtures."""
    out = {}
    for path in glob.glob(os.path.join(FIX, "events", "*.txt")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                try:
                    d = json.loads(line[5:].strip())
                except ValueError:
                    continue
                if isinstance(d, dict) and "eventType" in d:
                    out.setdefault(d["eventType"], set()).update(d.keys())
    mock = fixture_json("events/event-bus-mock_exampleEvents-1.4.json")
    for t in ("deployment_info", "deployment_success"):  # real 1.4 captures (SOURCES.md)
        out.setdefault(t, set()).update(mock[t].keys())
    return out


def jtype(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def netns_list():
    p = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def ignores_term(pid):
    """Whether process PID ignores SIGTERM (/proc/PID/status SigIgn)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def procs_with_env(marker):
    """PIDs whose environment contains MARKER (a NAME=VALUE string)."""
    found = []
    needle = marker.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            found.append(int(pid))
    return found


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def auth_header(creds=CREDS):
    return "Basic " + base64.b64encode(("%s:%s" % creds).encode()).decode()


class Api:
    def __init__(self, port, creds=CREDS):
        self.port = port
        self.creds = creds

    def call(self, method, path, body=None, creds="default", headers=None):
        creds = self.creds if creds == "default" else creds
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if creds:
            h["Authorization"] = auth_header(creds)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        doc = None
        if raw and hdrs.get("content-type", "").startswith("application/json"):
            doc = json.loads(raw)
        return r.status, hdrs, doc if doc is not None else raw


class SSE:
    """A raw-socket /v2/events reader: de-chunks, checks the framing byte for byte, and
    records events and heartbeats with their arrival times."""

    def __init__(self, port, query="", accept="text/event-stream", creds=CREDS):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        req = "GET /v2/events%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (query, port)
        if creds:
            req += "Authorization: %s\r\n" % auth_header(creds)
        if accept:
            req += "Accept: %s\r\n" % accept
        self.sock.sendall((req + "\r\n").encode())
        buf = b""
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        self.raw = bytearray()
        self.first_bytes = None
        self.events = []  # dicts with "_type", "_t", "_frame"
        self.heartbeats = []
        self.errors = []
        self.closed = False
        self.cond = threading.Condition()
        self._cbuf = bytearray(rest)
        self._pbuf = bytearray()
        if self.status == 200:
            self.thread = threading.Thread(target=self._reader, daemon=True)
            self.thread.start()
        else:
            self.sock.close()

    def _dechunk(self):
        out = bytearray()
        while True:
            if not self.chunked:
                out += self._cbuf
                self._cbuf.clear()
                break
            i = self._cbuf.find(b"\r\n")
            if i < 0:
                break
            size = int(self._cbuf[:i].split(b";")[0], 16)
            if len(self._cbuf) < i + 2 + size + 2:
                break
            if self._cbuf[i + 2 + size:i + 4 + size] != b"\r\n":
                self.errors.append("bad chunk trailer")
            out += self._cbuf[i + 2:i + 2 + size]
            del self._cbuf[:i + 4 + size]
            if size == 0:
                self.closed = True
                break
        return out

    def _parse(self, now):
        while self._pbuf:
            if self._pbuf.startswith(b"\r\n"):
                self.heartbeats.append(now)
                del self._pbuf[:2]
                continue
            if not self._pbuf.startswith(b"event: "):
                if len(self._pbuf) >= 7 or not b"event: ".startswith(bytes(self._pbuf)):
                    self.errors.append("unexpected bytes %r" % bytes(self._pbuf[:60]))
                    self._pbuf.clear()
                return
            m = FRAME_RE.match(self._pbuf)
            if not m:
                if b"\r\n\r\n" in self._pbuf:
                    self.errors.append("bad frame %r" % bytes(self._pbuf[:200]))
                    self._pbuf.clear()
                return
            etype, data = bytes(m.group(1)), bytes(m.group(2))  # before the buffer changes
            frame = bytes(self._pbuf[:m.end()])
            del self._pbuf[:m.end()]
            try:
                d = json.loads(data.decode("utf-8"))
            except ValueError as e:
                self.errors.append("bad JSON %s" % e)
                continue
            d["_type"] = etype.decode()
            d["_t"] = now
            d["_frame"] = frame
            self.events.append(d)

    def _reader(self):
        self.sock.settimeout(0.5)
        while not self.closed:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            now = time.monotonic()
            with self.cond:
                self._cbuf += chunk
                data = self._dechunk()
                if self.first_bytes is None and data:
                    self.first_bytes = bytes(data)
                self.raw += data
                self._pbuf += data
                self._parse(now)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait(self, pred, timeout=15.0, start=0, what="event"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events[start:]:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError("timed out waiting for %s; last events: %s" % (
                        what, [(e["_type"], e.get("taskStatus"), e.get("taskId")) for e in self.events[-12:]]))
                self.cond.wait(min(left, 0.5))

    def mark(self):
        with self.cond:
            return len(self.events)

    def since(self, start, etype=None):
        with self.cond:
            return [e for e in self.events[start:] if etype is None or e["_type"] == etype]

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def status_of(task_id, status):
    return lambda e: e["_type"] == "status_update_event" and e["taskId"] == task_id and e["taskStatus"] == status


def read_ready_line(proc, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            if b"\n" in buf:
                return json.loads(buf.split(b"\n", 1)[0])
        if proc.poll() is not None:
            break
    raise RuntimeError("simulator did not become ready (exit %s)" % proc.poll())


def in_client_ns(url, timeout=5):
    # RUNNING does not mean listening yet (as with Marathon): retry refusals for a while
    code = ("import urllib.request,sys,time\n"
            "r=urllib.request.Request(sys.argv[1])\n"
            "r.add_header('Authorization', sys.argv[2])\n"
            "for i in range(50):\n"
            "    try:\n"
            "        print(urllib.request.urlopen(r,timeout=5).read().decode()); break\n"
            "    except urllib.error.URLError as e:\n"
            "        if i == 49 or not isinstance(e.reason, ConnectionRefusedError): raise\n"
            "        time.sleep(0.1)\n")
    p = subprocess.run(["ip", "netns", "exec", CLIENT_NS, PY, "-c", code, url, auth_header()],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout + 5)
    if p.returncode != 0:
        raise AssertionError("fetch %s from %s failed: %s" % (url, CLIENT_NS, p.stderr.strip()[-300:]))
    return p.stdout


class MarathonSimTest(unittest.TestCase):
    leader = None
    standby = None

    # ------------------------------------------------------------------ setup
    @classmethod
    def setUpClass(cls):
        if CLIENT_NS in netns_list():
            subprocess.run(["ip", "netns", "del", CLIENT_NS])
        cls.tmp = tempfile.mkdtemp(prefix="msimtest-")
        cls.port = free_port()
        cls.bport = free_port()
        cls.logf = open(os.path.join(cls.tmp, "leader.log"), "wb")
        cls.leader = subprocess.Popen(
            [PY, SIM, "--listen", "127.0.0.1:%d" % cls.port, "--agents", "3", "--prefix", PREFIX,
             "--credentials", "%s:%s" % CREDS, "--heartbeat", "1", "--agent-net", AGENT_NET,
             "--listen-bridge", str(cls.bport), "--staging-delay", "0.1", "-v"],
            stdout=subprocess.PIPE, stderr=cls.logf)
        cls.info = read_ready_line(cls.leader, 30)
        cls.api = Api(cls.port)
        cls.sport = free_port()
        cfile = os.path.join(cls.tmp, "creds")
        with open(cfile, "w") as f:
            f.write("%s:%s\n" % CREDS)
        cls.slogf = open(os.path.join(cls.tmp, "standby.log"), "wb")
        cls.standby = subprocess.Popen(
            [PY, SIM, "--listen", "127.0.0.1:%d" % cls.sport, "--prefix", PREFIX + "-sb",
             "--credentials-file", cfile, "--leader-url", "http://127.0.0.1:%d" % cls.port],
            stdout=subprocess.PIPE, stderr=cls.slogf)
        cls.sinfo = read_ready_line(cls.standby, 30)
        cls.sapi = Api(cls.sport)
        subprocess.run(["ip", "netns", "add", CLIENT_NS], check=True)
        subprocess.run([PY, SIM, "connect", "--prefix", PREFIX, "--netns", CLIENT_NS,
                        "--address", CLIENT_ADDR + "/24"], check=True, stdout=subprocess.DEVNULL)
        cls.events = SSE(cls.port)  # the whole run's event log, unfiltered

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "events", None):
            cls.events.close()
        for p in (cls.standby, cls.leader):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            if p is not None:
                p.stdout.close()
        if CLIENT_NS in netns_list():
            subprocess.run(["ip", "netns", "del", CLIENT_NS])
        subprocess.run([PY, SIM, "cleanup", "--prefix", PREFIX], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for f in ("logf", "slogf"):
            getattr(cls, f).close()
        if os.environ.get("MSIMTEST_KEEP") is None:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        else:
            sys.stderr.write("logs kept in %s\n" % cls.tmp)

    # ------------------------------------------------------------------ helpers
    def assertShape(self, ref, got, path="$", extra_ok=False):
        """Same keys (a superset when extra_ok) with the same JSON types, recursively."""
        self.assertEqual(jtype(got), jtype(ref), "%s: %s is %s, fixture has %s" % (path, got, jtype(got), jtype(ref)))
        if isinstance(ref, dict):
            missing = set(ref) - set(got)
            self.assertFalse(missing, "%s: missing keys %s" % (path, sorted(missing)))
            if not extra_ok:
                extra = set(got) - set(ref)
                self.assertFalse(extra, "%s: unexpected keys %s" % (path, sorted(extra)))
            for k in ref:
                self.assertShape(ref[k], got[k], "%s.%s" % (path, k), extra_ok)
        elif isinstance(ref, list) and ref and got:
            for i, g in enumerate(got):
                self.assertShape(ref[0], g, "%s[%d]" % (path, i), extra_ok)

    def wait_deployment(self, dep_id, start=0, timeout=20):
        return self.events.wait(lambda e: e["_type"] == "deployment_success" and e["id"] == dep_id,
                                timeout, start, "deployment_success %s" % dep_id)

    def create(self, body, timeout=20):
        start = self.events.mark()
        st, hdrs, doc = self.api.call("POST", "/v2/apps", body)
        self.assertEqual(st, 201, doc)
        self.wait_deployment(doc["deployments"][0]["id"], start, timeout)
        return doc

    def delete(self, app_id):
        start = self.events.mark()
        st, _, doc = self.api.call("DELETE", "/v2/apps%s?force=true" % app_id)
        self.assertEqual(st, 200, doc)
        self.events.wait(lambda e: e["_type"] == "app_terminated_event" and e["appId"] == app_id, 15, start,
                         "app_terminated_event " + app_id)
        self.wait_deployment(doc["deploymentId"], start)

    def tasks(self, app_id):
        st, _, doc = self.api.call("GET", "/v2/apps%s" % app_id)
        self.assertEqual(st, 200, doc)
        return doc["app"]["tasks"]

    # ------------------------------------------------------------------ tests
    def test_01_auth_info_errors(self):
        st, h, body = self.api.call("GET", "/ping", creds=None)
        self.assertEqual(st, 401)
        self.assertIn("basic realm=", h.get("www-authenticate", "").lower())
        st, _, _ = self.api.call("GET", "/v2/apps", creds=("tester", "wrong"))
        self.assertEqual(st, 401)
        st, _, body = self.api.call("GET", "/ping")
        self.assertEqual((st, body), (200, b"pong"))
        st, _, info = self.api.call("GET", "/v2/info")
        self.assertEqual(st, 200)
        self.assertShape(fixture_json("misc/marathon-docs_info.json"), info)
        self.assertEqual(info["leader"], "127.0.0.1:%d" % self.port)
        st, _, doc = self.api.call("GET", "/v2/leader")
        self.assertShape(fixture_json("misc/marathon-docs_v2_leader.json"), doc)
        self.assertEqual(doc, {"leader": "127.0.0.1:%d" % self.port})
        st, _, doc = self.api.call("GET", "/v2/deployments")
        self.assertEqual((st, type(doc)), (200, list))
        st, _, doc = self.api.call("GET", "/v2/apps/no/such-app")
        self.assertEqual((st, doc), (404, {"message": "App '/no/such-app' does not exist"}))
        st, _, doc = self.api.call("POST", "/v2/apps", {"id": "/Bad_ID", "cmd": "true", "instances": "two",
                                                        "healthChecks": [{"protocol": "HTTPX"}]})
        self.assertEqual(st, 422, doc)
        self.assertEqual(doc["message"], "Object is not valid")
        paths = {d["path"] for d in doc["details"]}
        self.assertTrue({"/id", "/instances", "/healthChecks(0)/protocol"} <= paths, paths)
        for d in doc["details"]:
            self.assertEqual(jtype(d["errors"]), "array")
        # 409 on an existing id
        self.create({"id": "/dup", "cmd": "sleep 100", "instances": 0})
        st, _, doc = self.api.call("POST", "/v2/apps", {"id": "/dup", "cmd": "sleep 100", "instances": 0})
        self.assertEqual((st, doc), (409, {"message": "An app with id [/dup] already exists."}))
        self.delete("/dup")

    def test_02_sse_framing_heartbeat_405(self):
        ev = self.events
        self.assertEqual(ev.status_line, "HTTP/1.1 200 OK")
        self.assertEqual(ev.headers["content-type"].split(";")[0].strip(), "text/event-stream")
        self.assertTrue(ev.chunked, ev.headers)
        # the first event, byte for byte the framing of the real capture
        real = fixture("events/async-worker_single-event.txt")
        self.assertTrue(FRAME_RE.fullmatch(real), "fixture framing changed?")
        ev.wait(lambda e: True, 5)
        m = FRAME_RE.match(ev.first_bytes)
        self.assertIsNotNone(m, ev.first_bytes[:200])
        self.assertEqual(m.group(1), b"event_stream_attached")
        first = json.loads(m.group(2))
        ref = json.loads(FRAME_RE.fullmatch(real).group(2))
        self.assertShape(ref, first)
        self.assertEqual(first["remoteAddress"], "127.0.0.1")
        self.assertRegex(first["timestamp"], TS_RE)
        # heartbeat: a bare CRLF every second (--heartbeat 1)
        deadline = time.monotonic() + 6
        while len(ev.heartbeats) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertGreaterEqual(len(ev.heartbeats), 4, "heartbeats %s" % ev.heartbeats)
        gaps = [b - a for a, b in zip(ev.heartbeats, ev.heartbeats[1:])]
        for g in gaps:
            self.assertTrue(0.7 < g < 1.4, "heartbeat gaps %s" % gaps)
        self.assertEqual(ev.errors, [])
        # 405 without the Accept header, or with another one
        for accept in (None, "application/json"):
            s = SSE(self.port, accept=accept)
            self.assertEqual(s.status, 405, s.status_line)
        s = SSE(self.port, creds=None)
        self.assertEqual(s.status, 401)

    def test_03_event_type_filter(self):
        f = SSE(self.port, "?event_type=app_terminated_event&event_type=deployment_success")
        try:
            self.assertEqual(f.status, 200)
            start = self.events.mark()
            self.create({"id": "/filter/probe", "cmd": "sleep 100", "instances": 0})
            self.delete("/filter/probe")
            f.wait(lambda e: e["_type"] == "app_terminated_event" and e["appId"] == "/filter/probe", 10)
            time.sleep(0.3)
            types = {e["_type"] for e in f.events}
            self.assertEqual(types, {"app_terminated_event", "deployment_success"})
            self.assertGreaterEqual(len(f.since(0, "deployment_success")), 2)
            seen = {e["_type"] for e in self.events.since(start)}
            self.assertTrue({"deployment_info", "api_post_event", "group_change_success"} <= seen, seen)
            self.assertEqual(f.errors, [])
        finally:
            f.close()

    def test_04_bridge_app_shapes_env_reachability_scaling(self):
        ref_doc = fixture_json("apps/mlb_marathon15_apps.json")
        ref_app = ref_doc["apps"][0]
        ref_task = ref_app["tasks"][0]
        cmd = "env > index.html; exec %s -m http.server $PORT0" % PY
        body = {
            "id": "/shape/web", "cmd": cmd, "cpus": 0.1, "mem": 128, "instances": 2,
            "container": {"type": "DOCKER", "docker": {"image": "python:3", "forcePullImage": False,
                                                      "parameters": [], "privileged": False},
                          "volumes": [], "portMappings": [{"containerPort": 80, "hostPort": 0, "labels": {},
                                                           "name": "test", "protocol": "tcp", "servicePort": 0}]},
            "networks": [{"mode": "container/bridge"}],
            "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "myvhost.com"},
            "env": {"MSIMTEST": "1"},
        }
        start = self.events.mark()
        st, hdrs, created = self.api.call("POST", "/v2/apps", body)
        self.assertEqual(st, 201, created)
        self.assertTrue(hdrs["location"].endswith("/v2/apps/shape/web"), hdrs)
        shape_ref = dict(ref_app, tasks=[])
        shape_ref["env"] = {"MSIMTEST": "1"}
        self.assertShape(shape_ref, created)
        dep = created["deployments"][0]["id"]
        self.wait_deployment(dep, start)
        st, _, doc = self.api.call("GET", "/v2/apps?embed=apps.tasks")
        app = next(a for a in doc["apps"] if a["id"] == "/shape/web")
        self.assertShape(dict(ref_app, env={"MSIMTEST": "1"}), app)
        self.assertEqual(len(app["tasks"]), 2)
        sp = app["container"]["portMappings"][0]["servicePort"]
        self.assertTrue(10000 <= sp <= 20000, sp)
        agents = {a["address"]: a for a in self.info["agents"]}
        for t in app["tasks"]:
            self.assertShape(ref_task, t)
            self.assertEqual(t["state"], "TASK_RUNNING")
            self.assertIn(t["host"], agents)
            self.assertEqual(t["ipAddresses"], [{"ipAddress": t["host"], "protocol": "IPv4"}])
            self.assertEqual(t["slaveId"], agents[t["host"]]["slaveId"])
            self.assertTrue(31000 <= t["ports"][0] <= 32000)
            self.assertRegex(t["stagedAt"], TS_RE)
            self.assertRegex(t["startedAt"], TS_RE)
            self.assertTrue(t["id"].startswith("shape_web."), t["id"])
        self.assertEqual(len({t["host"] for t in app["tasks"]}), 2, "tasks are spread over agents")
        self.assertEqual(app["tasksRunning"], 2)
        # the other task listings
        st, _, one = self.api.call("GET", "/v2/apps/shape/web")
        self.assertEqual(st, 200)
        self.assertEqual(sorted(t["id"] for t in one["app"]["tasks"]), sorted(t["id"] for t in app["tasks"]))
        st, _, at = self.api.call("GET", "/v2/apps/shape/web/tasks")
        self.assertEqual(len(at["tasks"]), 2)
        st, _, alltasks = self.api.call("GET", "/v2/tasks")
        mine = [t for t in alltasks["tasks"] if t["appId"] == "/shape/web"]
        self.assertEqual([t["servicePorts"] for t in mine], [[sp], [sp]])
        # events of the deployment
        evs = self.events.since(start)
        post = next(e for e in evs if e["_type"] == "api_post_event")
        self.assertEqual((post["uri"], post["appDefinition"]["id"]), ("/v2/apps", "/shape/web"))
        for t in app["tasks"]:
            order = [e["taskStatus"] for e in evs if e["_type"] == "status_update_event" and e["taskId"] == t["id"]]
            self.assertEqual(order, ["TASK_STAGING", "TASK_RUNNING"])
        # the task's server from another namespace on the bridge, with Marathon's environment
        for t in app["tasks"]:
            port = t["ports"][0]
            out = in_client_ns("http://%s:%d/" % (t["host"], port))
            env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            expect = {"HOST": t["host"], "PORT0": str(port), "PORT": str(port), "PORTS": str(port),
                      "PORT_TEST": str(port), "PORT_80": str(port), "MESOS_TASK_ID": t["id"],
                      "MARATHON_APP_ID": "/shape/web", "MARATHON_APP_VERSION": t["version"],
                      "MARATHON_APP_DOCKER_IMAGE": "python:3", "MARATHON_APP_RESOURCE_CPUS": "0.1",
                      "MARATHON_APP_RESOURCE_MEM": "128.0", "MARATHON_APP_LABEL_HAPROXY_GROUP": "external",
                      "MARATHON_APP_LABEL_HAPROXY_0_VHOST": "myvhost.com", "MSIMTEST": "1"}
            for k, v in expect.items():
                self.assertEqual(env.get(k), v, k)
            self.assertEqual(sorted(env["MARATHON_APP_LABELS"].split()), ["HAPROXY_0_VHOST", "HAPROXY_GROUP"])
        # the API on the bridge address, from the same namespace
        self.assertEqual(in_client_ns("%s/ping" % self.info["bridge_url"]).strip(), "pong")
        # scale up: one more task, on the third agent
        start = self.events.mark()
        st, _, doc = self.api.call("PUT", "/v2/apps/shape/web", {"instances": 3})
        self.assertEqual(st, 200, doc)
        self.assertEqual(set(doc), {"version", "deploymentId"})
        self.wait_deployment(doc["deploymentId"], start)
        info = next(e for e in self.events.since(start) if e["_type"] == "deployment_info")
        self.assertEqual(info["currentStep"], {"actions": [{"action": "ScaleApplication", "app": "/shape/web"}]})
        tasks = self.tasks("/shape/web")
        self.assertEqual(len(tasks), 3)
        self.assertEqual(len({t["host"] for t in tasks}), 3)
        new = [t for t in tasks if t["id"] not in {x["id"] for x in app["tasks"]}]
        self.assertEqual(len(new), 1)
        self.events.wait(status_of(new[0]["id"], "TASK_RUNNING"), 1, start)
        st, _, doc = self.api.call("GET", "/v2/apps/shape/web")
        self.assertEqual(doc["app"]["instances"], 3)
        self.assertEqual(doc["app"]["versionInfo"]["lastConfigChangeAt"], app["versionInfo"]["lastConfigChangeAt"])
        self.assertNotEqual(doc["app"]["versionInfo"]["lastScalingAt"], app["versionInfo"]["lastScalingAt"])
        # scale down to 1: the two youngest go through KILLING -> KILLED
        start = self.events.mark()
        st, _, doc = self.api.call("PUT", "/v2/apps/shape/web", {"instances": 1})
        self.assertEqual(st, 200, doc)
        self.wait_deployment(doc["deploymentId"], start)
        left = self.tasks("/shape/web")
        self.assertEqual(len(left), 1)
        killed = [t["id"] for t in tasks if t["id"] != left[0]["id"]]
        self.assertIn(new[0]["id"], killed)
        for tid in killed:
            order = [e["taskStatus"] for e in self.events.since(start, "status_update_event") if e["taskId"] == tid]
            self.assertEqual(order, ["TASK_KILLING", "TASK_KILLED"])

    def test_05_kill_task_killing_killed_replaced(self):
        body = {"id": "/kill/stubborn", "cmd": "trap '' TERM; while :; do sleep 0.2; done", "instances": 1,
                "taskKillGracePeriodSeconds": 1, "env": {"MSIMTEST": "1"}}
        self.create(body)
        (task,) = self.tasks("/kill/stubborn")
        # RUNNING comes as the shell starts (its process may not be visible yet); a kill
        # before it ran its trap would end it at once: wait until the task's process
        # exists and its shell ignores SIGTERM (SigIgn bit 15).
        deadline = time.monotonic() + 5
        while not any(ignores_term(p) for p in procs_with_env("MESOS_TASK_ID=" + task["id"])):
            self.assertLess(time.monotonic(), deadline, "the task never set its TERM trap")
            time.sleep(0.02)
        start = self.events.mark()
        st, _, doc = self.api.call("DELETE", "/v2/apps/kill/stubborn/tasks/%s" % task["id"])
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["task"]["id"], task["id"])
        killing = self.events.wait(status_of(task["id"], "TASK_KILLING"), 5, start)
        states = {t["id"]: t["state"] for t in self.tasks("/kill/stubborn")}
        self.assertEqual(states.get(task["id"]), "TASK_KILLING")
        killed = self.events.wait(status_of(task["id"], "TASK_KILLED"), 6, start)
        held = killed["_t"] - killing["_t"]
        self.assertTrue(0.8 <= held <= 3.0, "KILLING lasted %.2fs for a 1s grace (TERM ignored)" % held)
        self.assertIn("Killed", killed["message"])
        self.assertEqual(procs_with_env("MESOS_TASK_ID=" + task["id"]), [])
        repl = self.events.wait(lambda e: e["_type"] == "status_update_event" and e["appId"] == "/kill/stubborn"
                                and e["taskStatus"] == "TASK_RUNNING" and e["taskId"] != task["id"], 10, start)
        tasks = self.tasks("/kill/stubborn")
        self.assertEqual([t["id"] for t in tasks], [repl["taskId"]])
        st, _, doc = self.api.call("GET", "/v2/apps/kill/stubborn")
        self.assertEqual(doc["app"]["instances"], 1)
        # with scale=true the app shrinks instead, through a deployment
        start = self.events.mark()
        st, _, doc = self.api.call("DELETE", "/v2/apps/kill/stubborn/tasks/%s?scale=true" % repl["taskId"])
        self.assertEqual(st, 200, doc)
        self.assertEqual(set(doc), {"version", "deploymentId"})
        self.wait_deployment(doc["deploymentId"], start)
        st, _, doc = self.api.call("GET", "/v2/apps/kill/stubborn")
        self.assertEqual((doc["app"]["instances"], doc["app"]["tasks"]), (0, []))
        self.delete("/kill/stubborn")

    def test_06_task_exit_failed_replaced_elsewhere(self):
        marker = os.path.join(self.tmp, "fail-once")
        cmd = "if [ ! -e %s ]; then touch %s; sleep 0.5; exit 3; fi; exec sleep 1000" % (marker, marker)
        start = self.events.mark()
        st, _, doc = self.api.call("POST", "/v2/apps", {"id": "/fail/once", "cmd": cmd, "instances": 1,
                                                        "backoffSeconds": 1, "env": {"MSIMTEST": "1"}})
        self.assertEqual(st, 201, doc)
        failed = self.events.wait(lambda e: e["_type"] == "status_update_event" and e["appId"] == "/fail/once"
                                  and e["taskStatus"] == "TASK_FAILED", 10, start)
        self.assertEqual(failed["message"], "Command exited with status 3")
        repl = self.events.wait(lambda e: e["_type"] == "status_update_event" and e["appId"] == "/fail/once"
                                and e["taskStatus"] == "TASK_RUNNING" and e["taskId"] != failed["taskId"],
                                10, start)
        self.assertNotEqual(repl["host"], failed["host"], "replacement on another agent")
        self.assertNotEqual(repl["slaveId"], failed["slaveId"])
        self.assertGreaterEqual(repl["_t"] - failed["_t"], 0.8, "backoffSeconds respected")
        self.wait_deployment(doc["deployments"][0]["id"], start)
        st, _, doc = self.api.call("GET", "/v2/apps/fail/once")
        ltf = doc["app"]["lastTaskFailure"]
        self.assertEqual((ltf["taskId"], ltf["state"]), (failed["taskId"], "TASK_FAILED"))
        self.assertEqual([t["id"] for t in doc["app"]["tasks"]], [repl["taskId"]])
        self.delete("/fail/once")
        st, _, doc = self.api.call("GET", "/v2/apps/fail/once")
        self.assertEqual(st, 404)

    def test_07_health_check_unhealthy_killed_replaced(self):
        zdd = fixture_json("apps/mlb_zdd_app_blue_marathon1.5.json")["apps"][0]
        marker = os.path.join(self.tmp, "sick-once")
        cmd = ("mkdir -p www && echo ok > www/health; "
               "if [ ! -e {m} ]; then touch {m}; (sleep 2.5; rm -f www/health) & fi; "
               "cd www && exec {py} -m http.server $PORT0").format(m=marker, py=PY)
        body = {"id": "/hc/web", "cmd": cmd, "instances": 1, "acceptedResourceRoles": ["*", "slave_public"],
                "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "intervalSeconds": 1,
                                  "timeoutSeconds": 1, "maxConsecutiveFailures": 2, "gracePeriodSeconds": 3}],
                "env": {"MSIMTEST": "1"}}
        start = self.events.mark()
        st, _, created = self.api.call("POST", "/v2/apps", body)
        self.assertEqual(st, 201, created)
        up = self.events.wait(lambda e: e["_type"] == "health_status_changed_event" and e["appId"] == "/hc/web"
                              and e["alive"], 10, start)
        self.wait_deployment(created["deployments"][0]["id"], start)
        st, _, doc = self.api.call("GET", "/v2/apps/hc/web")
        app = doc["app"]
        ref_keys = (set(zdd) - {"container", "tasks"}) | {"portDefinitions", "cmd", "env", "tasks"}
        self.assertEqual(set(app), ref_keys | {"lastTaskFailure"} if "lastTaskFailure" in app else ref_keys)
        self.assertEqual(set(app["healthChecks"][0]), (set(zdd["healthChecks"][0]) - {"delaySeconds"}) | {"ignoreHttp1xx"})
        self.assertEqual((app["tasksHealthy"], app["tasksRunning"]), (1, 1))
        (task,) = app["tasks"]
        self.assertShape(zdd["tasks"][0], task)
        self.assertEqual(task["healthCheckResults"][0]["instanceId"], up["instanceId"])
        self.assertTrue(up["instanceId"].startswith("hc_web.marathon-"))
        # the health file disappears: 404 -> alive false -> killed after 2 failures -> replaced
        down = self.events.wait(lambda e: e["_type"] == "health_status_changed_event"
                                and e["instanceId"] == up["instanceId"] and not e["alive"], 10, start)
        failed = self.events.wait(lambda e: e["_type"] == "failed_health_check_event"
                                  and e["instanceId"] == up["instanceId"], 1, start)
        self.assertEqual(failed["healthCheck"]["path"], "/health")
        kill = self.events.wait(lambda e: e["_type"] == "unhealthy_instance_kill_event"
                                and e["taskId"] == task["id"], 5, start)
        self.assertShape(fixture_json("events/marathon-docs_event-bus/unhealthy_instance_kill_event.json"),
                         {k: v for k, v in kill.items() if not k.startswith("_")})
        self.events.wait(status_of(task["id"], "TASK_KILLING"), 2, start)
        self.events.wait(status_of(task["id"], "TASK_KILLED"), 5, start)
        repl = self.events.wait(lambda e: e["_type"] == "status_update_event" and e["appId"] == "/hc/web"
                                and e["taskStatus"] == "TASK_RUNNING" and e["taskId"] != task["id"], 10, start)
        self.events.wait(lambda e: e["_type"] == "health_status_changed_event" and e["appId"] == "/hc/web"
                         and e["alive"] and e["instanceId"] != up["instanceId"], 10, start)
        self.assertLess(down["_t"], kill["_t"])
        tasks = self.tasks("/hc/web")
        self.assertEqual([t["id"] for t in tasks], [repl["taskId"]])
        self.assertTrue(tasks[0]["healthCheckResults"][0]["alive"])
        self.delete("/hc/web")

    def test_08_standby_redirect_and_proxy(self):
        s = socket.create_connection(("127.0.0.1", self.sport), timeout=5)
        s.sendall(("GET /v2/events?event_type=status_update_event HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: %s\r\nAccept: text/event-stream\r\n\r\n" % auth_header()).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        s.close()
        lines = head.decode().split("\r\n")
        self.assertTrue(lines[0].startswith("HTTP/1.1 302"), lines[0])
        loc = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:")]
        self.assertEqual(loc, ["http://127.0.0.1:%d/v2/events?event_type=status_update_event" % self.port])
        st, _, _ = self.sapi.call("GET", "/v2/apps", creds=None)
        self.assertEqual(st, 401)
        st, _, doc = self.sapi.call("GET", "/v2/leader")
        self.assertEqual(doc, {"leader": "127.0.0.1:%d" % self.port})
        st, _, info = self.sapi.call("GET", "/v2/info")
        self.assertEqual((st, info["leader"]), (200, "127.0.0.1:%d" % self.port))
        start = self.events.mark()
        st, _, created = self.sapi.call("POST", "/v2/apps", {"id": "/via/standby", "cmd": "sleep 100",
                                                             "instances": 0})
        self.assertEqual(st, 201, created)
        self.wait_deployment(created["deployments"][0]["id"], start)
        st, _, lead = self.api.call("GET", "/v2/apps")
        st2, _, prox = self.sapi.call("GET", "/v2/apps")
        self.assertEqual(st2, 200)
        self.assertIn("/via/standby", [a["id"] for a in lead["apps"]])
        self.assertEqual([a["id"] for a in prox["apps"]], [a["id"] for a in lead["apps"]])
        st, _, doc = self.sapi.call("GET", "/v2/apps/not/here")
        self.assertEqual((st, doc), (404, {"message": "App '/not/here' does not exist"}))
        start = self.events.mark()
        st, _, doc = self.sapi.call("DELETE", "/v2/apps/via/standby")
        self.assertEqual(st, 200, doc)
        self.events.wait(lambda e: e["_type"] == "app_terminated_event" and e["appId"] == "/via/standby", 10, start)

    def test_09_event_shapes(self):
        docs = {}
        for path in glob.glob(os.path.join(FIX, "events", "marathon-docs_event-bus", "*.json")):
            d = json.loads(fixture(os.path.relpath(path, FIX)))
            docs[d["eventType"]] = d
        captured = captured_event_keys()
        seen = {}
        for e in self.events.since(0):
            seen.setdefault(e["_type"], []).append({k: v for k, v in e.items() if not k.startswith("_")})
        # 1.5 renamed failed_health_check_event.taskId to instanceId (core/event/Events.scala)
        renames = {"failed_health_check_event": ({"taskId"}, {"instanceId"})}
        checked = []
        for etype in ("api_post_event", "deployment_info", "deployment_success", "status_update_event",
                      "health_status_changed_event", "app_terminated_event", "deployment_step_success",
                      "group_change_success", "add_health_check_event", "failed_health_check_event",
                      "unhealthy_instance_kill_event", "instance_changed_event", "instance_health_changed_event"):
            self.assertIn(etype, seen, "no %s seen" % etype)
            ref = docs[etype]
            gone, added = renames.get(etype, (set(), set()))
            required = (set(ref) - gone) | added
            allowed = required | captured.get(etype, set()) | added
            for ev in seen[etype]:
                self.assertEqual(ev["eventType"], etype)
                self.assertRegex(ev["timestamp"], TS_RE)
                self.assertTrue(required <= set(ev), "%s lacks %s" % (etype, required - set(ev)))
                self.assertTrue(set(ev) <= allowed, "%s has unknown %s" % (etype, set(ev) - allowed))
                for k in required & set(ref):
                    if ref[k] is not None and ev[k] is not None:
                        self.assertEqual(jtype(ev[k]), jtype(ref[k]), "%s.%s" % (etype, k))
            checked.append(etype)
        # nested shapes
        for ev in seen["api_post_event"]:
            ad, ref_ad = ev["appDefinition"], docs["api_post_event"]["appDefinition"]
            cap = json.loads(re.search(rb'data: (\{"clientIp".*)', fixture(
                "events/async-worker_multi-event-blanklines-in-between.txt")).group(1))["appDefinition"]
            self.assertTrue(set(ref_ad) <= set(ad), set(ref_ad) - set(ad))
            self.assertTrue(set(ad) <= set(ref_ad) | set(cap), set(ad) - set(ref_ad) - set(cap))
        for ev in seen["deployment_info"] + seen["deployment_success"]:
            plan = ev["plan"]
            self.assertTrue({"id", "steps", "version"} <= set(plan) <= {"id", "original", "target", "steps", "version"})
            for step in plan["steps"]:
                self.assertEqual(set(step), {"actions"})
                for a in step["actions"]:
                    self.assertEqual(set(a), {"action", "app"})
        for ev in seen["status_update_event"]:
            self.assertEqual(jtype(ev["ipAddresses"]), "array")
            for ip in ev["ipAddresses"]:
                self.assertEqual(set(ip), {"ipAddress", "protocol"})
                self.assertEqual(ip["protocol"], "IPv4")
            self.assertTrue(all(isinstance(p, int) for p in ev["ports"]))
        self.assertEqual(self.events.errors, [])

    def test_10_fault_controls(self):
        """--peer and --control (tests/netns/test_faults.sh): a cut mid-event, a lead
        moved, an instance stopped and started, on a simulator of its own."""
        port, peer, ctl = free_port(), free_port(), free_port()
        logpath = os.path.join(self.tmp, "faults.log")
        with open(logpath, "wb") as logf:
            p = subprocess.Popen([PY, SIM, "--listen", "127.0.0.1:%d" % port, "--peer", "127.0.0.1:%d" % peer,
                                  "--control", "127.0.0.1:%d" % ctl, "--agents", "1", "--prefix", "msimfault",
                                  "--agent-net", "10.251.8.0/24", "--heartbeat", "1"],
                                 stdout=subprocess.PIPE, stderr=logf)
        try:
            info = read_ready_line(p, 30)
            self.assertEqual(info["peers"], ["http://127.0.0.1:%d" % peer])
            self.assertEqual(info["control"], "http://127.0.0.1:%d" % ctl)

            def control(method, path):
                req = urllib.request.Request("http://127.0.0.1:%d%s" % (ctl, path), method=method)
                with urllib.request.urlopen(req, timeout=5) as r:
                    return json.load(r)

            def stream(at):
                s = socket.create_connection(("127.0.0.1", at), timeout=5)
                s.sendall(b"GET /v2/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                data = b""
                while b"event_stream_attached" not in data:
                    data += s.recv(4096)
                return s

            def read_to_eof(s, timeout):
                data, deadline = b"", time.monotonic() + timeout
                s.settimeout(0.5)
                while time.monotonic() < deadline:
                    try:
                        d = s.recv(65536)
                    except socket.timeout:
                        continue
                    if not d:
                        return data, True
                    data += d
                return data, False

            roles = [(i["index"], i["role"], i["running"]) for i in control("GET", "/_sim/instances")]
            self.assertEqual(roles, [(1, "leader", True), (2, "standby", True)])
            lead, stand = Api(port, creds=None), Api(peer, creds=None)
            self.assertEqual(stand.call("GET", "/v2/leader")[2], {"leader": "127.0.0.1:%d" % port})

            # a cut: 10 bytes of the next event, then the connection drops
            s = stream(port)
            self.assertEqual(control("POST", "/_sim/cut-streams?bytes=10"), {"armed": 1})
            st, _, _ = lead.call("POST", "/v2/apps", {"id": "/cut", "cmd": "sleep 100", "instances": 0})
            self.assertEqual(st, 201)
            data, eof = read_to_eof(s, 5)
            s.close()
            self.assertTrue(eof, "the stream was not dropped")
            # the last chunk: 10 bytes of a frame, and no end of the chunked body
            self.assertRegex(data, rb"(^|\r\n)a\r\nevent: [a-z]{3}\r\n$")
            with open(logpath) as f:
                self.assertIn("cut after 10 of", f.read())

            # the lead moves to 2: the stream 1 served ends; 2 answers as the leader
            s = stream(port)
            control("POST", "/_sim/leader/2")
            _, eof = read_to_eof(s, 3)
            s.close()
            self.assertTrue(eof, "the old leader's stream went on")
            self.assertEqual(lead.call("GET", "/v2/leader")[2], {"leader": "127.0.0.1:%d" % peer})
            self.assertEqual(stand.call("GET", "/v2/leader")[2], {"leader": "127.0.0.1:%d" % peer})
            self.assertIn("/cut", [a["id"] for a in stand.call("GET", "/v2/apps")[2]["apps"]])

            # 2 dies (its open stream drops, connections are refused) and comes back
            s = stream(peer)
            self.assertEqual(control("POST", "/_sim/instances/2/stop")["stopped"], True)
            _, eof = read_to_eof(s, 3)
            s.close()
            self.assertTrue(eof, "a stopped instance's stream went on")
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", peer), timeout=2).close()
            self.assertEqual(control("POST", "/_sim/instances/2/start"), {"started": True})
            self.assertIn("/cut", [a["id"] for a in stand.call("GET", "/v2/apps")[2]["apps"]])
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(20), 0)

    def test_99_sigterm_cleans_everything(self):
        self.assertTrue(procs_with_env("MSIMTEST=1"), "a task (/shape/web) should still be running")
        before = [ns for ns in netns_list() if ns.startswith(PREFIX + "-") and ns != CLIENT_NS]
        self.assertEqual(sorted(before), sorted([PREFIX + "-net"] + ["%s-agent%d" % (PREFIX, k) for k in (1, 2, 3)]))
        for p in (self.leader, self.standby):
            p.send_signal(signal.SIGTERM)
        self.assertEqual(self.leader.wait(20), 0)
        self.assertEqual(self.standby.wait(10), 0)
        left = [ns for ns in netns_list() if ns.startswith(PREFIX + "-") and ns != CLIENT_NS]
        self.assertEqual(left, [])
        self.assertEqual(procs_with_env("MSIMTEST=1"), [])
        self.assertFalse(glob.glob(os.path.join(tempfile.gettempdir(), "marathon-sim-%s-*" % PREFIX)))


def skip_reason():
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "nsenter"):
        if shutil.which(tool) is None:
            return "needs %s" % tool
    if FIX is None:
        return "marathon fixtures not found (set MARATHON_FIXTURES)"
    probe = PREFIX + "-probe"
    subprocess.run(["ip", "netns", "del", probe], stderr=subprocess.DEVNULL)
    if subprocess.run(["ip", "netns", "add", probe], stderr=subprocess.DEVNULL).returncode != 0:
        return "cannot create network namespaces"
    subprocess.run(["ip", "netns", "del", probe])
    return None


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
