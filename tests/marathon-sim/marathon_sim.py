#!/usr/bin/env python3
"""marathon_sim.py - a single-process Marathon 1.5 look-alike whose tasks really run.

Standard library only.  Every agent is a network namespace (<prefix>-agentK) with an
IPv4 address on a bridge that lives in a namespace of its own (<prefix>-net), or in a
bridge the caller made (--netns-bridge NS:BRIDGE).  The root namespace is never
reconfigured.  Task commands run as
    nsenter --net=/var/run/netns/<agent> /bin/sh -c CMD
with Marathon's task environment.

Usage:
  marathon_sim.py --listen HOST:PORT [--agents N] [--prefix NAME] [--credentials U:P |
                  --credentials-file F] [--bridge BR | --netns-bridge NS:BR]
                  [--agent-net CIDR] [--listen-bridge PORT] [--heartbeat S] ...
  marathon_sim.py --listen HOST:PORT --leader-url URL          (standby: proxies)
  marathon_sim.py connect --prefix NAME --netns NS --address A/LEN [--ifname IF]
  marathon_sim.py cleanup --prefix NAME

At startup one JSON line describing agents and the bridge is printed on stdout; logs go
to stderr.  On exit, SIGTERM, SIGINT or SIGHUP every task process group is killed and
every namespace the simulator made is deleted; stale namespaces of a crashed run with
the same prefix are removed at start.
"""

import argparse
import base64
import ctypes
import datetime
import fcntl
import http.client
import http.server
import ipaddress
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

MARATHON_VERSION = "1.5.12"
NETNS_RUN = "/var/run/netns"
LOCK_DIR = "/run/marathon-sim"
CLONE_NEWNET = 0x40000000
HOST_PORT_RANGE = (31000, 32000)
SERVICE_PORT_RANGE = (10000, 20000)
JSON_CT = "application/json; qs=2"
SSE_CT = "text/event-stream;charset=utf-8"
TERMINAL = ("TASK_KILLED", "TASK_FAILED", "TASK_FINISHED", "TASK_ERROR", "TASK_LOST")
ID_SEGMENT = r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])"
ID_RE = re.compile(r"^(" + ID_SEGMENT + r"\.)*" + ID_SEGMENT + r"$")
PORT_NAME_RE = re.compile(r"^[a-z0-9-]+$")

VERBOSE = False


def log(msg):
    sys.stderr.write("marathon-sim[%d] %s\n" % (os.getpid(), msg))
    sys.stderr.flush()


def vlog(msg):
    if VERBOSE:
        log(msg)


def iso(t=None):
    if t is None:
        t = time.time()
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- netns


def run_ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def netns_list():
    p = run_ip("netns", "list", check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def netns_pids(ns):
    p = run_ip("netns", "pids", ns, check=False)
    out = []
    for tok in p.stdout.split():
        if tok.isdigit():
            out.append(int(tok))
    return out


def kill_pid(pid, sig=signal.SIGKILL):
    if pid == os.getpid():
        return
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def delete_netns(ns):
    """Kill every process left in NS (all started by a simulator), then delete it."""
    for _ in range(3):  # bounded
        pids = netns_pids(ns)
        if not pids:
            break
        for pid in pids:
            kill_pid(pid)
        time.sleep(0.1)
    run_ip("netns", "del", ns, check=False)


def own_netns_names(prefix, names):
    agent_re = re.compile(r"^" + re.escape(prefix) + r"-agent\d+$")
    return [n for n in names if n == prefix + "-net" or agent_re.match(n)]


_libc = None


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def socket_in_netns(netns, family=socket.AF_INET, stype=socket.SOCK_STREAM):
    """A socket created inside NETNS.  A throw-away thread enters the namespace (setns is
    per thread), creates the socket and exits, so no other thread ever changes namespace."""
    if netns is None:
        return socket.socket(family, stype)
    res = {}

    def worker():
        try:
            fd = os.open(os.path.join(NETNS_RUN, netns), os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            res["sock"] = socket.socket(family, stype)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            res["err"] = e

    t = threading.Thread(target=worker, name="setns", daemon=True)
    t.start()
    t.join(10)
    if "err" in res:
        raise res["err"]
    if "sock" not in res:
        raise OSError("could not create a socket in netns %s" % netns)
    return res["sock"]


class Agent:
    def __init__(self, index, netns, address, slave_id):
        self.index = index
        self.netns = netns
        self.address = address
        self.slave_id = slave_id
        self.used_ports = set()

    def free_port(self, rng):
        lo, hi = HOST_PORT_RANGE
        free = [p for p in range(lo, hi + 1) if p not in self.used_ports]
        if not free:
            return None
        return rng.choice(free)


class Network:
    """Bridge namespace + one namespace per agent, all created with `ip -n` so the root
    namespace is never touched."""

    def __init__(self, prefix, agents, cidr, bridge, netns_bridge, gateway_route, cluster_id):
        self.prefix = prefix
        self.n_agents = agents
        self.net = ipaddress.ip_network(cidr, strict=False)
        hosts = list(self.net.hosts())
        if len(hosts) < agents + 2:
            raise SystemExit("--agent-net %s too small for %d agents" % (cidr, agents))
        self.hosts = hosts
        if netns_bridge:
            self.bridge_ns, self.bridge = netns_bridge
            self.own_bridge = False
            self.gateway = None
        else:
            self.bridge_ns = prefix + "-net"
            self.bridge = bridge
            self.own_bridge = True
            self.gateway = str(hosts[-1])
        self.gateway_route = gateway_route
        self.cluster_id = cluster_id
        self.created = []
        self.agents = []

    def _add_ns(self, name):
        self.created.append(name)
        run_ip("netns", "add", name)
        run_ip("-n", name, "link", "set", "lo", "up")

    def setup(self):
        plen = self.net.prefixlen
        if self.own_bridge:
            self._add_ns(self.bridge_ns)
            run_ip("-n", self.bridge_ns, "link", "add", self.bridge, "type", "bridge")
            run_ip("-n", self.bridge_ns, "addr", "add", "%s/%d" % (self.gateway, plen), "dev", self.bridge)
            run_ip("-n", self.bridge_ns, "link", "set", self.bridge, "up")
        else:
            if self.bridge_ns not in netns_list():
                raise SystemExit("--netns-bridge: namespace %s does not exist" % self.bridge_ns)
            run_ip("-n", self.bridge_ns, "link", "show", self.bridge)
        for k in range(1, self.n_agents + 1):
            ns = "%s-agent%d" % (self.prefix, k)
            addr = str(self.hosts[k - 1])
            self._add_ns(ns)
            if self.own_bridge:
                side = "agent%d" % k
            else:
                side = ("%s-a%d" % (self.prefix[:9], k))[:15]
            run_ip("-n", self.bridge_ns, "link", "add", side, "type", "veth", "peer", "name", "eth0",
                   "netns", ns)
            run_ip("-n", self.bridge_ns, "link", "set", side, "master", self.bridge)
            run_ip("-n", self.bridge_ns, "link", "set", side, "up")
            run_ip("-n", ns, "addr", "add", "%s/%d" % (addr, plen), "dev", "eth0")
            run_ip("-n", ns, "link", "set", "eth0", "up")
            if self.gateway_route:
                run_ip("-n", ns, "route", "add", "default", "via", self.gateway_route)
            self.agents.append(Agent(k, ns, addr, "%s-S%d" % (self.cluster_id, k - 1)))

    def teardown(self):
        for ns in reversed(self.created):
            delete_netns(ns)
        self.created = []

    def free_range(self):
        first = self.hosts[self.n_agents]
        last = self.hosts[-2] if self.own_bridge else self.hosts[-1]
        return "%s-%s" % (first, last)

    def describe(self, prog):
        plen = self.net.prefixlen
        example = str(self.hosts[min(len(self.hosts) - 2, max(self.n_agents, 199))])
        side = "v-LBNS"
        return {
            "bridge": {"netns": self.bridge_ns, "name": self.bridge, "cidr": str(self.net),
                       "gateway": self.gateway, "owned": self.own_bridge},
            "agents": [{"name": "agent%d" % a.index, "netns": a.netns, "address": a.address,
                        "slaveId": a.slave_id, "hostPorts": "%d-%d" % HOST_PORT_RANGE}
                       for a in self.agents],
            "free_addresses": self.free_range(),
            "connect": [
                "ip netns add LBNS",
                "ip -n %s link add %s type veth peer name eth0 netns LBNS" % (self.bridge_ns, side),
                "ip -n %s link set %s master %s up" % (self.bridge_ns, side, self.bridge),
                "ip -n LBNS addr add %s/%d dev eth0" % (example, plen),
                "ip -n LBNS link set eth0 up",
                "ip -n LBNS link set lo up",
            ],
            "connect_helper": "%s connect --prefix %s --netns LBNS --address %s/%d" % (
                prog, self.prefix, example, plen),
        }


def connect_namespace(prefix, netns, address, ifname, bridge_ns=None, bridge=None):
    """Attach the caller's namespace NETNS to the agents' bridge (the `connect` command)."""
    bridge_ns = bridge_ns or prefix + "-net"
    bridge = bridge or "br0"
    names = netns_list()
    if bridge_ns not in names:
        raise SystemExit("no namespace %s (is the simulator with --prefix %s running?)" % (bridge_ns, prefix))
    if netns not in names:
        raise SystemExit("no namespace %s: create it first (ip netns add %s)" % (netns, netns))
    import hashlib
    side = "v" + hashlib.sha1(netns.encode()).hexdigest()[:10]
    run_ip("-n", bridge_ns, "link", "add", side, "type", "veth", "peer", "name", ifname, "netns", netns)
    run_ip("-n", bridge_ns, "link", "set", side, "master", bridge)
    run_ip("-n", bridge_ns, "link", "set", side, "up")
    run_ip("-n", netns, "addr", "add", address, "dev", ifname)
    run_ip("-n", netns, "link", "set", ifname, "up")
    run_ip("-n", netns, "link", "set", "lo", "up")
    print(jdump({"netns": netns, "ifname": ifname, "address": address, "bridge_port": side,
                 "bridge_netns": bridge_ns}))


# --------------------------------------------------------------------------- validation


class Invalid(Exception):
    def __init__(self, details):
        Exception.__init__(self, "Object is not valid")
        self.details = details


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def canonical_path(raw, base="/"):
    if not raw.startswith("/"):
        raw = base.rstrip("/") + "/" + raw
    parts = [p for p in raw.split("/") if p not in ("",)]
    out = []
    for p in parts:
        if p == ".":
            continue
        if p == "..":
            if out:
                out.pop()
            continue
        out.append(p)
    return "/" + "/".join(out)


def normalize_app(body, path_id=None):
    """App JSON (1.4 or 1.5+ syntax) -> canonical 1.5 definition.  Raises Invalid."""
    errs = []

    def err(path, msg):
        errs.append({"path": path, "errors": [msg]})

    if not isinstance(body, dict):
        raise Invalid([{"path": "/", "errors": ["error.expected.jsobject"]}])
    raw_id = body.get("id", path_id)
    if raw_id is None:
        err("/id", "error.path.missing")
        app_id = "/"
    elif not isinstance(raw_id, str):
        err("/id", "error.expected.jsstring")
        app_id = "/"
    else:
        app_id = canonical_path(raw_id)
        segs = [s for s in app_id.split("/") if s]
        if not segs or any(not ID_RE.match(s) for s in segs):
            err("/id", "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'")
    spec = {"id": app_id}

    def take(key, check, default, expect="error.expected.jsnumber"):
        if key in body and body[key] is not None:
            if not check(body[key]):
                err("/" + key, expect)
                return default
            return body[key]
        return default

    for key in ("cmd", "user"):
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                err("/" + key, "error.expected.jsstring")
            else:
                spec[key] = body[key]
    if "args" in body and body["args"] is not None:
        if not isinstance(body["args"], list) or not all(isinstance(a, str) for a in body["args"]):
            err("/args", "error.expected.jsarray")
        else:
            spec["args"] = list(body["args"])
    if "cmd" in spec and "args" in spec:
        err("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
    spec["instances"] = take("instances", _int, 1)
    if spec["instances"] < 0:
        err("/instances", "got %d, expected 0 or more" % spec["instances"])
    spec["cpus"] = take("cpus", lambda v: _num(v) and v >= 0, 1)
    spec["mem"] = take("mem", lambda v: _num(v) and v >= 0, 128)
    spec["disk"] = take("disk", lambda v: _num(v) and v >= 0, 0)
    spec["gpus"] = take("gpus", lambda v: _int(v) and v >= 0, 0)
    spec["executor"] = take("executor", lambda v: isinstance(v, str), "", "error.expected.jsstring")
    spec["env"] = take("env", lambda v: isinstance(v, dict), {}, "error.expected.jsobject")
    spec["env"] = {k: v for k, v in spec["env"].items() if isinstance(v, str)}
    spec["labels"] = take("labels", lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                          {}, "error.expected.jsobject")
    spec["constraints"] = take("constraints", lambda v: isinstance(v, list), [], "error.expected.jsarray")
    spec["fetch"] = take("fetch", lambda v: isinstance(v, list), [], "error.expected.jsarray")
    spec["dependencies"] = take("dependencies", lambda v: isinstance(v, list), [], "error.expected.jsarray")
    spec["readinessChecks"] = take("readinessChecks", lambda v: isinstance(v, list), [], "error.expected.jsarray")
    spec["secrets"] = take("secrets", lambda v: isinstance(v, dict), {}, "error.expected.jsobject")
    spec["backoffSeconds"] = take("backoffSeconds", lambda v: _num(v) and v >= 0, 1)
    spec["backoffFactor"] = take("backoffFactor", lambda v: _num(v) and v >= 1, 1.15)
    spec["maxLaunchDelaySeconds"] = take("maxLaunchDelaySeconds", lambda v: _num(v) and v >= 0, 3600)
    spec["requirePorts"] = take("requirePorts", lambda v: isinstance(v, bool), False, "error.expected.jsboolean")
    spec["killSelection"] = take("killSelection", lambda v: v in ("YOUNGEST_FIRST", "OLDEST_FIRST"),
                                 "YOUNGEST_FIRST", "error.expected.validenumvalue")
    us = take("upgradeStrategy", lambda v: isinstance(v, dict), {}, "error.expected.jsobject")
    spec["upgradeStrategy"] = {"maximumOverCapacity": us.get("maximumOverCapacity", 1),
                               "minimumHealthCapacity": us.get("minimumHealthCapacity", 1)}
    for k, v in spec["upgradeStrategy"].items():
        if not (_num(v) and 0 <= v <= 1):
            err("/upgradeStrategy/" + k, "got %s, expected between 0.0 and 1.0" % v)
    ur = take("unreachableStrategy", lambda v: isinstance(v, dict) or v == "disabled", {}, "error.expected.jsobject")
    if ur == "disabled":
        spec["unreachableStrategy"] = "disabled"
    else:
        spec["unreachableStrategy"] = {"inactiveAfterSeconds": ur.get("inactiveAfterSeconds", 300),
                                       "expungeAfterSeconds": ur.get("expungeAfterSeconds", 600)}
    if "taskKillGracePeriodSeconds" in body and body["taskKillGracePeriodSeconds"] is not None:
        v = body["taskKillGracePeriodSeconds"]
        if not (_num(v) and v >= 0):
            err("/taskKillGracePeriodSeconds", "error.expected.jsnumber")
        else:
            spec["taskKillGracePeriodSeconds"] = v
    if "acceptedResourceRoles" in body and body["acceptedResourceRoles"] is not None:
        v = body["acceptedResourceRoles"]
        if not isinstance(v, list):
            err("/acceptedResourceRoles", "error.expected.jsarray")
        else:
            spec["acceptedResourceRoles"] = v

    # --- container and networking (1.5 networks, or 1.4 container.docker.network)
    container = body.get("container")
    mode = "host"
    net_name = None
    if container is not None and not isinstance(container, dict):
        err("/container", "error.expected.jsobject")
        container = None
    legacy_mappings = None
    if container and isinstance(container.get("docker"), dict):
        dnet = container["docker"].get("network")
        if dnet == "BRIDGE":
            mode = "container/bridge"
        elif dnet == "USER":
            mode = "container"
        legacy_mappings = container["docker"].get("portMappings")
    networks = body.get("networks")
    if networks is not None:
        if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
            err("/networks", "error.expected.jsarray")
            networks = None
        elif networks:
            m = networks[0].get("mode", "container")
            if m not in ("host", "container", "container/bridge"):
                err("/networks(0)/mode", "error.expected.validenumvalue")
            else:
                mode = m
            net_name = networks[0].get("name")
    if body.get("ipAddress") and isinstance(body["ipAddress"], dict):
        mode = "container"
        net_name = body["ipAddress"].get("networkName", net_name)
    if mode == "host":
        spec["networks"] = [{"mode": "host"}]
    elif mode == "container/bridge":
        spec["networks"] = [{"mode": "container/bridge"}]
    else:
        n = {"mode": "container"}
        if net_name:
            n = {"name": net_name, "mode": "container"}
        spec["networks"] = [n]

    def norm_labels(v, path):
        if v is None:
            return {}
        if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
            err(path, "error.expected.jsobject")
            return {}
        return dict(v)

    if mode == "host":
        if "ports" in body and "portDefinitions" in body and body["ports"] is not None \
                and body["portDefinitions"] is not None:
            err("/", "You cannot specify both ports and port definitions")
        pds = []
        if body.get("portDefinitions") is not None:
            raw = body["portDefinitions"]
            if not isinstance(raw, list):
                err("/portDefinitions", "error.expected.jsarray")
                raw = []
            for i, pd in enumerate(raw):
                path = "/portDefinitions(%d)" % i
                if not isinstance(pd, dict):
                    err(path, "error.expected.jsobject")
                    continue
                port = pd.get("port", 0)
                if not (_int(port) and 0 <= port <= 65535):
                    err(path + "/port", "error.expected.jsnumber")
                    port = 0
                proto = pd.get("protocol", "tcp")
                if proto not in ("tcp", "udp", "udp,tcp", "tcp,udp"):
                    err(path + "/protocol", "error.expected.validenumvalue")
                d = {"port": port, "protocol": proto}
                if pd.get("name") is not None:
                    if not isinstance(pd["name"], str) or not PORT_NAME_RE.match(pd["name"]):
                        err(path + "/name", "must fully match regular expression '^[a-z0-9-]+$'")
                    d["name"] = pd["name"]
                d["labels"] = norm_labels(pd.get("labels"), path + "/labels")
                pds.append(d)
        elif body.get("ports") is not None:
            raw = body["ports"]
            if not isinstance(raw, list) or not all(_int(p) and 0 <= p <= 65535 for p in raw):
                err("/ports", "error.expected.jsarray")
                raw = []
            pds = [{"port": p, "protocol": "tcp", "labels": {}} for p in raw]
        else:
            pds = [{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]
        spec["portDefinitions"] = pds
        names = [p["name"] for p in pds if "name" in p]
        if len(names) != len(set(names)):
            err("/portDefinitions", "Port names must be unique.")
    # container
    mappings = None
    if mode != "host":
        raw = None
        if container and container.get("portMappings") is not None:
            raw = container.get("portMappings")
        elif legacy_mappings is not None:
            raw = legacy_mappings
        raw = raw or []
        if not isinstance(raw, list):
            err("/container/portMappings", "error.expected.jsarray")
            raw = []
        mappings = []
        for i, pm in enumerate(raw):
            path = "/container/portMappings(%d)" % i
            if not isinstance(pm, dict):
                err(path, "error.expected.jsobject")
                continue
            cp = pm.get("containerPort", 0)
            if not (_int(cp) and 0 <= cp <= 65535):
                err(path + "/containerPort", "error.expected.jsnumber")
                cp = 0
            m = {"containerPort": cp}
            hp = pm.get("hostPort")
            if hp is None and mode == "container/bridge":
                hp = 0
            if hp is not None:
                if not (_int(hp) and 0 <= hp <= 65535):
                    err(path + "/hostPort", "error.expected.jsnumber")
                    hp = 0
                m["hostPort"] = hp
            m["labels"] = norm_labels(pm.get("labels"), path + "/labels")
            if pm.get("name") is not None:
                if not isinstance(pm["name"], str) or not PORT_NAME_RE.match(pm["name"]):
                    err(path + "/name", "must fully match regular expression '^[a-z0-9-]+$'")
                m["name"] = pm["name"]
            proto = pm.get("protocol", "tcp")
            if proto not in ("tcp", "udp", "udp,tcp", "tcp,udp"):
                err(path + "/protocol", "error.expected.validenumvalue")
            m["protocol"] = proto
            sp = pm.get("servicePort", 0)
            if not (_int(sp) and 0 <= sp <= 65535):
                err(path + "/servicePort", "error.expected.jsnumber")
                sp = 0
            m["servicePort"] = sp
            mappings.append(m)
    if container:
        ctype = container.get("type", "DOCKER")
        if ctype not in ("DOCKER", "MESOS"):
            err("/container/type", "error.expected.validenumvalue")
        c = {"type": ctype}
        d = container.get("docker")
        if isinstance(d, dict):
            if ctype == "DOCKER":
                c["docker"] = {"forcePullImage": bool(d.get("forcePullImage", False)),
                               "image": d.get("image", ""),
                               "parameters": d.get("parameters", []) or [],
                               "privileged": bool(d.get("privileged", False))}
            else:
                c["docker"] = {"forcePullImage": bool(d.get("forcePullImage", False)),
                               "image": d.get("image", "")}
        elif ctype == "DOCKER":
            err("/container/docker", "error.path.missing")
        c["volumes"] = container.get("volumes", []) or []
        if mappings is not None:
            c["portMappings"] = mappings
        spec["container"] = c
    elif mappings is not None:
        spec["container"] = {"type": "MESOS", "volumes": [], "portMappings": mappings}

    # --- health checks
    hcs = []
    raw = body.get("healthChecks") or []
    if not isinstance(raw, list):
        err("/healthChecks", "error.expected.jsarray")
        raw = []
    nports = len(app_port_list(spec))
    port_names = [p.get("name") for p in app_port_list(spec)]
    for i, hc in enumerate(raw):
        path = "/healthChecks(%d)" % i
        if not isinstance(hc, dict):
            err(path, "error.expected.jsobject")
            continue
        proto = hc.get("protocol", "HTTP")
        if proto not in ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"):
            err(path + "/protocol", "error.expected.validenumvalue")
            continue
        h = {}
        for key, dflt in (("gracePeriodSeconds", 300), ("intervalSeconds", 60), ("maxConsecutiveFailures", 3)):
            v = hc.get(key, dflt)
            if not (_num(v) and v >= 0):
                err(path + "/" + key, "error.expected.jsnumber")
                v = dflt
            h[key] = v
        if proto == "COMMAND":
            cmd = hc.get("command")
            if isinstance(cmd, dict) and isinstance(cmd.get("value"), str):
                h["command"] = {"value": cmd["value"]}
            else:
                err(path + "/command", "error.path.missing")
        else:
            if proto in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
                h["path"] = hc.get("path", "/") or "/"
            if hc.get("port") is not None:
                if not (_int(hc["port"]) and 0 < hc["port"] <= 65535):
                    err(path + "/port", "error.expected.jsnumber")
                h["port"] = hc["port"]
            else:
                pi = hc.get("portIndex", 0)
                if isinstance(pi, str):
                    if pi not in port_names:
                        err(path + "/portIndex", "Health check port name %s not found" % pi)
                elif not (_int(pi) and 0 <= pi < max(nports, 1)) or nports == 0:
                    err(path + "/portIndex", "Health check port indices must address an element of the ports array or container port mappings.")
                h["portIndex"] = pi
        h["protocol"] = proto
        v = hc.get("timeoutSeconds", 20)
        if not (_num(v) and v > 0):
            err(path + "/timeoutSeconds", "error.expected.jsnumber")
            v = 20
        h["timeoutSeconds"] = v
        if proto in ("HTTP", "HTTPS"):
            h["ignoreHttp1xx"] = bool(hc.get("ignoreHttp1xx", False))
        if proto.startswith("MESOS_") or proto == "COMMAND":
            h["delaySeconds"] = hc.get("delaySeconds", 15)
        hcs.append(h)
    spec["healthChecks"] = hcs
    if errs:
        raise Invalid(errs)
    return spec


def app_mode(spec):
    return spec["networks"][0]["mode"]


def app_port_list(spec):
    """The app's ports in index order: portDefinitions (host) or portMappings."""
    if app_mode(spec) == "host":
        return spec.get("portDefinitions", [])
    return (spec.get("container") or {}).get("portMappings", [])


def service_ports(spec):
    return [p.get("port") if app_mode(spec) == "host" else p.get("servicePort") for p in app_port_list(spec)]


# --------------------------------------------------------------------------- model


class Health:
    def __init__(self, instance_id, hc):
        self.instance_id = instance_id
        self.hc = hc
        self.alive = False
        self.consecutive = 0
        self.first_success = None
        self.last_success = None
        self.last_failure = None
        self.last_failure_cause = None
        self.has_result = False
        self.inflight = False
        self.next_due = 0.0

    def json(self):
        return {"alive": self.alive, "consecutiveFailures": self.consecutive,
                "firstSuccess": self.first_success, "lastFailure": self.last_failure,
                "lastSuccess": self.last_success, "lastFailureCause": self.last_failure_cause,
                "instanceId": self.instance_id}


class Task:
    def __init__(self, app, agent, host_ports, staging_delay):
        u = str(uuid.uuid1())
        base = app.id.strip("/").replace("/", "_")
        self.id = "%s.%s" % (base, u)
        self.instance_id = "%s.marathon-%s" % (base, u)
        self.app_id = app.id
        self.agent = agent
        self.host_ports = host_ports
        self.service_ports = service_ports(app.spec)
        self.version = app.version
        self.config_version = app.config_version
        self.state = "TASK_STAGING"
        self.staged_at = iso()
        self.started_at = None
        self.staged_mono = time.monotonic()
        self.start_at = self.staged_mono + staging_delay
        self.proc = None
        self.files = []
        self.kill_requested = False
        self.kill_reason = None
        self.kill_deadline = None
        self.sigkilled = False
        self.sigterm_sent = False
        self.health = [Health(self.instance_id, hc) for hc in app.spec["healthChecks"]]
        self.spec = app.spec
        self.hc_epoch = app.hc_epoch
        self.sandbox = None
        self.env = {}
        self.running_mono = None

    def ip_addresses(self):
        return [{"ipAddress": self.agent.address, "protocol": "IPv4"}]

    def ready(self):
        if self.state != "TASK_RUNNING" or self.kill_requested:
            return False
        return all(h.has_result and h.alive for h in self.health)

    def healthy_flag(self):
        """Instance health: None (unknown / no checks), True or False."""
        if not self.health:
            return None
        if any(h.has_result and not h.alive for h in self.health):
            return False
        if all(h.has_result and h.alive for h in self.health):
            return True
        return None

    def json(self, with_service_ports=False):
        d = {"ipAddresses": self.ip_addresses(), "stagedAt": self.staged_at, "state": self.state,
             "ports": list(self.host_ports), "startedAt": self.started_at, "version": self.version,
             "id": self.id, "appId": self.app_id, "slaveId": self.agent.slave_id,
             "host": self.agent.address}
        if with_service_ports:
            d["servicePorts"] = list(self.service_ports)
        hcr = [h.json() for h in self.health if h.has_result]
        if hcr:
            d["healthCheckResults"] = hcr
        return d


class App:
    def __init__(self, spec, version):
        self.id = spec["id"]
        self.spec = spec
        self.version = version
        self.config_version = version
        self.last_scaling_at = version
        self.last_config_change_at = version
        self.backoff = spec["backoffSeconds"]
        self.launch_not_before = 0.0
        self.avoid_agent = None
        self.last_task_failure = None
        self.hc_epoch = time.monotonic()  # Marathon checks all tasks of an app on one timer

    @property
    def instances(self):
        return self.spec["instances"]


class Deployment:
    def __init__(self, version, app_id, steps, original, target):
        self.id = str(uuid.uuid4())
        self.version = version
        self.app_id = app_id
        self.steps = steps  # list of lists of (action, appId)
        self.current = 0
        self.original = original
        self.target = target

    def plan(self, light=False):
        p = {"id": self.id}
        if not light:
            p["original"] = self.original
            p["target"] = self.target
        p["steps"] = [{"actions": [{"action": a, "app": x} for a, x in s]} for s in self.steps]
        p["version"] = self.version
        return p

    def step_json(self, i=None):
        i = self.current if i is None else i
        return {"actions": [{"action": a, "app": x} for a, x in self.steps[i]]}

    def info_json(self):
        return {"id": self.id, "version": self.version, "affectedApps": [self.app_id],
                "affectedPods": [],
                "steps": [{"actions": [{"action": a, "app": x} for a, x in s]} for s in self.steps],
                "currentActions": [{"action": a, "app": x, "readinessCheckResults": []}
                                   for a, x in self.steps[self.current]],
                "currentStep": self.current + 1, "totalSteps": len(self.steps)}


class Subscriber:
    def __init__(self, types, remote, light):
        self.types = set(types)
        self.remote = remote
        self.light = light
        self.q = queue.Queue(maxsize=10000)
        self.cut_next = None  # fault control: the next frame is cut after this many bytes

    def accepts(self, t):
        return not self.types or t in self.types


class EventBus:
    def __init__(self):
        self.lock = threading.Lock()
        self.subs = []

    def subscribe(self, sub):
        with self.lock:
            self.subs.append(sub)

    def unsubscribe(self, sub):
        with self.lock:
            if sub in self.subs:
                self.subs.remove(sub)

    def arm_cut(self, nbytes):
        """Fault control: every open stream writes only the first nbytes of its next event
        (at least 1, fewer than the frame) and then drops its connection. Returns how many
        streams were armed."""
        with self.lock:
            for sub in self.subs:
                sub.cut_next = nbytes
            return len(self.subs)

    def publish(self, ev, light_ev=None):
        t = ev["eventType"]
        frames = {}
        with self.lock:
            subs = list(self.subs)
        for s in subs:
            if not s.accepts(t):
                continue
            use_light = s.light and light_ev is not None
            if use_light not in frames:
                body = jdump(light_ev if use_light else ev)
                frames[use_light] = ("event: %s\r\ndata: %s\r\n\r\n" % (t, body)).encode("utf-8")
            try:
                s.q.put_nowait(frames[use_light])
            except queue.Full:
                vlog("dropping %s for slow consumer %s" % (t, s.remote))
        vlog("event %s" % t)


# --------------------------------------------------------------------------- JSON views


def raml_app_json(app):
    """An app as GET /v2/apps shows it in Marathon 1.5 (without counts/tasks)."""
    s = app.spec
    d = {"id": app.id}
    if "acceptedResourceRoles" in s:
        d["acceptedResourceRoles"] = s["acceptedResourceRoles"]
    d["backoffFactor"] = s["backoffFactor"]
    d["backoffSeconds"] = s["backoffSeconds"]
    if "cmd" in s:
        d["cmd"] = s["cmd"]
    if "args" in s:
        d["args"] = s["args"]
    if s["constraints"]:
        d["constraints"] = s["constraints"]
    if "container" in s:
        d["container"] = s["container"]
    d["cpus"] = s["cpus"]
    d["disk"] = s["disk"]
    if s["env"]:
        d["env"] = s["env"]
    d["executor"] = s["executor"]
    if s["fetch"]:
        d["fetch"] = s["fetch"]
    if s["healthChecks"]:
        d["healthChecks"] = s["healthChecks"]
    d["instances"] = s["instances"]
    d["labels"] = s["labels"]
    d["maxLaunchDelaySeconds"] = s["maxLaunchDelaySeconds"]
    d["mem"] = s["mem"]
    d["gpus"] = s["gpus"]
    d["networks"] = s["networks"]
    if app_mode(s) == "host":
        d["portDefinitions"] = s["portDefinitions"]
    d["requirePorts"] = s["requirePorts"]
    if s["secrets"]:
        d["secrets"] = s["secrets"]
    if "taskKillGracePeriodSeconds" in s:
        d["taskKillGracePeriodSeconds"] = s["taskKillGracePeriodSeconds"]
    d["upgradeStrategy"] = s["upgradeStrategy"]
    if "user" in s:
        d["user"] = s["user"]
    d["version"] = app.version
    d["versionInfo"] = {"lastScalingAt": app.last_scaling_at, "lastConfigChangeAt": app.last_config_change_at}
    d["killSelection"] = s["killSelection"]
    d["unreachableStrategy"] = s["unreachableStrategy"]
    return d


def legacy_app_json(app):
    """An app in the 1.4 AppDefinition format Marathon still uses inside events and plans."""
    s = app.spec
    mode = app_mode(s)
    container = None
    if "container" in s:
        c = s["container"]
        maps = c.get("portMappings")
        if c["type"] == "DOCKER":
            d = dict(c.get("docker", {}))
            container = {"type": "DOCKER", "volumes": c.get("volumes", []),
                         "docker": {"image": d.get("image", ""),
                                    "network": {"host": "HOST", "container/bridge": "BRIDGE"}.get(mode, "USER"),
                                    "portMappings": maps if maps is not None else None,
                                    "privileged": d.get("privileged", False),
                                    "parameters": d.get("parameters", []),
                                    "forcePullImage": d.get("forcePullImage", False)}}
        else:
            container = {"type": "MESOS", "volumes": c.get("volumes", [])}
            if "docker" in c:
                container["docker"] = c["docker"]
            if maps is not None:
                container["portMappings"] = maps
    ip_address = None
    if mode == "container":
        ip_address = {"groups": [], "labels": {}, "discovery": {"ports": []}}
        if s["networks"][0].get("name"):
            ip_address["networkName"] = s["networks"][0]["name"]
    return {
        "id": app.id, "cmd": s.get("cmd"), "args": s.get("args"), "user": s.get("user"),
        "env": s["env"], "instances": s["instances"], "cpus": s["cpus"], "mem": s["mem"],
        "disk": s["disk"], "gpus": s["gpus"], "executor": s["executor"],
        "constraints": s["constraints"], "uris": [], "fetch": s["fetch"], "storeUrls": [],
        "backoffSeconds": s["backoffSeconds"], "backoffFactor": s["backoffFactor"],
        "maxLaunchDelaySeconds": s["maxLaunchDelaySeconds"], "container": container,
        "healthChecks": s["healthChecks"], "readinessChecks": s["readinessChecks"],
        "dependencies": s["dependencies"], "upgradeStrategy": s["upgradeStrategy"],
        "labels": s["labels"], "ipAddress": ip_address, "version": app.version,
        "residency": None, "secrets": s["secrets"],
        "taskKillGracePeriodSeconds": s.get("taskKillGracePeriodSeconds"),
        "unreachableStrategy": s["unreachableStrategy"], "killSelection": s["killSelection"],
        "ports": service_ports(s),
        "portDefinitions": s["portDefinitions"] if mode == "host" else [],
        "requirePorts": s["requirePorts"],
        "versionInfo": {"lastScalingAt": app.last_scaling_at, "lastConfigChangeAt": app.last_config_change_at},
    }


def group_tree(apps, version, app_view):
    """Root group {id, apps, groups, pods, dependencies, version} from a list of apps."""
    root = {"id": "/", "apps": [], "groups": {}, "pods": [], "dependencies": [], "version": version}
    for app in sorted(apps, key=lambda a: a.id):
        parts = app.id.strip("/").split("/")
        node = root
        path = ""
        for p in parts[:-1]:
            path += "/" + p
            if p not in node["groups"]:
                node["groups"][p] = {"id": path, "apps": [], "groups": {}, "pods": [],
                                     "dependencies": [], "version": version}
            node = node["groups"][p]
        node["apps"].append(app_view(app))

    def fix(n):
        return {"id": n["id"], "apps": n["apps"], "groups": [fix(g) for g in n["groups"].values()],
                "pods": n["pods"], "dependencies": n["dependencies"], "version": n["version"]}
    return fix(root)


def find_group(tree, gid):
    if tree["id"] == gid:
        return tree
    for g in tree["groups"]:
        r = find_group(g, gid)
        if r:
            return r
    return None


# --------------------------------------------------------------------------- health probes


def probe(netns, hc, host, port, timeout, env):
    """Run one health check; returns (ok, cause).  Never holds the simulator lock."""
    proto = hc["protocol"]
    if proto == "COMMAND":
        try:
            p = subprocess.run(["nsenter", "--net=" + os.path.join(NETNS_RUN, netns), "/bin/sh", "-c",
                                hc["command"]["value"]], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
            return (p.returncode == 0, None if p.returncode == 0 else "Command exited with status %d" % p.returncode)
        except subprocess.TimeoutExpired:
            return (False, "Command timed out after %ss" % timeout)
    s = None
    try:
        s = socket_in_netns(netns)
        s.settimeout(timeout)
        s.connect((host, port))
        if proto in ("TCP", "MESOS_TCP"):
            return (True, None)
        if proto in ("HTTPS", "MESOS_HTTPS"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=host)
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: Marathon/%s\r\nAccept: */*\r\n"
               "Connection: close\r\n\r\n" % (hc.get("path", "/"), host, port, MARATHON_VERSION))
        s.sendall(req.encode())
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in buf and len(buf) < 4096 and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        line = buf.split(b"\r\n", 1)[0].decode("latin-1")
        m = re.match(r"HTTP/\d\.\d (\d{3})", line)
        if not m:
            return (False, "Invalid HTTP response")
        code = int(m.group(1))
        if 200 <= code < 400:
            return (True, None)
        if code < 200 and hc.get("ignoreHttp1xx"):
            return (None, None)
        return (False, line[9:].strip() or str(code))
    except socket.timeout:
        return (False, "TimeoutException: %s:%d timed out after %ss" % (host, port, timeout))
    except ConnectionRefusedError:
        return (False, "ConnectException: Connection refused")
    except OSError as e:
        return (False, "%s: %s" % (type(e).__name__, e.strerror or e))
    finally:
        if s is not None:
            try:
                s.close()
            except OSError:
                pass


# --------------------------------------------------------------------------- simulator


class Conflict(Exception):
    def __init__(self, body):
        Exception.__init__(self, body.get("message", ""))
        self.body = body


class NotFound(Exception):
    pass


class Sim:
    def __init__(self, agents, bus, opts):
        self.lock = threading.RLock()
        self.agents = agents
        self.bus = bus
        self.opts = opts
        self.apps = {}
        self.tasks = {}  # every non-expunged task, including those of deleted apps
        self.deployments = []
        self.used_service_ports = set()
        self.rng = random.Random()
        self._last_ms = 0
        self.stopping = False
        self.sandbox_root = tempfile.mkdtemp(prefix="marathon-sim-%s-" % opts.prefix)
        self.root_version = self.new_version()

    # -- helpers
    def new_version(self):
        ms = int(time.time() * 1000)
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return iso(ms / 1000.0)

    def publish(self, ev, light=None):
        self.bus.publish(ev, light)

    def app_tasks(self, app_id):
        return [t for t in self.tasks.values() if t.app_id == app_id]

    def alloc_service_ports(self, spec, previous=()):
        prev = list(previous)
        ports = app_port_list(spec)
        key = "port" if app_mode(spec) == "host" else "servicePort"
        for i, p in enumerate(ports):
            if p.get(key, 0) == 0:
                cand = prev[i] if i < len(prev) and prev[i] else None
                if cand is None or (cand in self.used_service_ports and cand not in prev):
                    lo, hi = SERVICE_PORT_RANGE
                    cand = next((x for x in range(lo, hi + 1) if x not in self.used_service_ports), None)
                    if cand is None:
                        raise Invalid([{"path": "/", "errors": ["no free service ports"]}])
                p[key] = cand
            self.used_service_ports.add(p[key])

    def release_service_ports(self, spec):
        for p in service_ports(spec):
            self.used_service_ports.discard(p)

    def root_group(self):
        """The root group as deployment plans carry it (apps in the 1.4 format)."""
        return group_tree(list(self.apps.values()), self.root_version, legacy_app_json)

    def counts(self, app):
        ts = self.app_tasks(app.id)
        staged = sum(1 for t in ts if t.state == "TASK_STAGING")
        running = sum(1 for t in ts if t.state == "TASK_RUNNING")
        healthy = sum(1 for t in ts if t.state == "TASK_RUNNING" and t.healthy_flag() is True)
        unhealthy = sum(1 for t in ts if t.healthy_flag() is False)
        return staged, running, healthy, unhealthy

    def app_json(self, app, tasks=False, last_failure=False):
        d = raml_app_json(app)
        st, ru, he, un = self.counts(app)
        d["tasksStaged"] = st
        d["tasksRunning"] = ru
        d["tasksHealthy"] = he
        d["tasksUnhealthy"] = un
        d["deployments"] = [{"id": dep.id} for dep in self.deployments if dep.app_id == app.id]
        if tasks:
            d["tasks"] = [t.json() for t in sorted(self.app_tasks(app.id), key=lambda t: t.staged_mono)]
        if last_failure and app.last_task_failure:
            d["lastTaskFailure"] = app.last_task_failure
        return d

    # -- events
    def ev_status(self, task, status, message=""):
        ips = [] if status == "TASK_STAGING" else task.ip_addresses()
        self.publish({"slaveId": task.agent.slave_id, "taskId": task.id, "taskStatus": status,
                      "message": message, "appId": task.app_id, "host": task.agent.address,
                      "ipAddresses": ips, "ports": list(task.host_ports), "version": task.version,
                      "eventType": "status_update_event", "timestamp": iso()})
        cond = {"TASK_STAGING": "Created", "TASK_RUNNING": "Running", "TASK_KILLING": "Killing",
                "TASK_KILLED": "Killed", "TASK_FAILED": "Failed", "TASK_FINISHED": "Finished",
                "TASK_ERROR": "Error"}.get(status, "Unknown")
        self.publish({"instanceId": task.instance_id, "condition": cond, "runSpecId": task.app_id,
                      "agentId": task.agent.slave_id, "host": task.agent.address,
                      "runSpecVersion": task.version, "timestamp": iso(),
                      "eventType": "instance_changed_event"})

    def ev_deployment(self, etype, dep, step=None):
        if etype in ("deployment_success", "deployment_failed"):
            full = {"id": dep.id, "plan": dep.plan(), "eventType": etype, "timestamp": iso()}
            light = dict(full, plan=dep.plan(light=True))
        else:
            full = {"plan": dep.plan(), "currentStep": dep.step_json(step), "eventType": etype,
                    "timestamp": iso()}
            light = dict(full, plan=dep.plan(light=True))
        self.publish(full, light)

    def ev_group_change(self, app_id):
        gid = app_id.rsplit("/", 1)[0] or "/"
        self.publish({"groupId": gid, "version": self.root_version, "eventType": "group_change_success",
                      "timestamp": iso()})

    # -- deployments
    def locked_by(self, app_id):
        return [d for d in self.deployments if d.app_id == app_id]

    def check_lock(self, app_id, force):
        deps = self.locked_by(app_id)
        if deps and not force:
            raise Conflict({"message": "App is locked by one or more deployments. Override with the option "
                                       "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
                            "deployments": [{"id": d.id} for d in deps]})
        for d in deps:
            self.deployments.remove(d)
            self.ev_deployment("deployment_failed", d)

    def start_deployment(self, app_id, steps, original):
        dep = Deployment(self.root_version, app_id, steps, original, self.root_group())
        self.deployments.append(dep)
        self.ev_deployment("deployment_info", dep)
        return dep

    def advance_deployments(self):
        for dep in list(self.deployments):
            action = dep.steps[dep.current][0][0]
            done = False
            if action == "StartApplication":
                done = True
            elif action in ("ScaleApplication", "RestartApplication"):
                app = self.apps.get(dep.app_id)
                done = app is not None and self.app_converged(app)
            elif action == "StopApplication":
                done = not self.app_tasks(dep.app_id)
                if done:
                    self.publish({"appId": dep.app_id, "eventType": "app_terminated_event", "timestamp": iso()})
            if not done:
                continue
            self.ev_deployment("deployment_step_success", dep)
            if dep.current + 1 < len(dep.steps):
                dep.current += 1
                self.ev_deployment("deployment_info", dep)
                continue
            self.deployments.remove(dep)
            self.ev_deployment("deployment_success", dep)

    def app_converged(self, app):
        ts = self.app_tasks(app.id)
        if any(t.kill_requested or t.config_version != app.config_version for t in ts):
            return False
        return len(ts) == app.instances and all(t.ready() for t in ts)

    # -- API operations (callers hold the lock)
    def create_app(self, spec, client_ip, uri):
        if spec["id"] in self.apps:
            raise Conflict({"message": "An app with id [%s] already exists." % spec["id"]})
        for a in self.apps:
            if a.startswith(spec["id"] + "/") or spec["id"].startswith(a + "/"):
                raise Conflict({"message": "A group with id [%s] already exists." % spec["id"]})
        original = self.root_group()
        self.alloc_service_ports(spec)
        self.root_version = self.new_version()
        app = App(spec, self.root_version)
        self.apps[app.id] = app
        dep = self.start_deployment(app.id, [[("StartApplication", app.id)], [("ScaleApplication", app.id)]],
                                    original)
        for hc in spec["healthChecks"]:
            self.publish({"appId": app.id, "version": app.version, "healthCheck": hc,
                          "eventType": "add_health_check_event", "timestamp": iso()})
        self.ev_group_change(app.id)
        self.publish({"clientIp": client_ip, "uri": uri, "appDefinition": legacy_app_json(app),
                      "eventType": "api_post_event", "timestamp": iso()})
        return app, dep

    def update_app(self, app_id, body, partial, force, client_ip, uri):
        if not isinstance(body, dict):
            raise Invalid([{"path": "/", "errors": ["error.expected.jsobject"]}])
        app = self.apps.get(app_id)
        if app is None:
            spec = normalize_app(dict(body, id=app_id), app_id)
            return self.create_app(spec, client_ip, uri) + (True,)
        if partial:
            merged = dict(self.input_view(app))
            merged.update({k: v for k, v in body.items() if k != "id"})
            if "portDefinitions" in body and "ports" not in body:
                merged.pop("ports", None)
            if "ports" in body and "portDefinitions" not in body:
                merged.pop("portDefinitions", None)
        else:
            merged = dict(body)
        merged["id"] = app_id
        spec = normalize_app(merged, app_id)
        self.check_lock(app_id, force)
        original = self.root_group()
        only_scale = ({k: v for k, v in spec.items() if k != "instances"}
                      == {k: v for k, v in self.spec_for_compare(app, spec).items() if k != "instances"})
        old_ports = service_ports(app.spec)
        self.release_service_ports(app.spec)
        self.alloc_service_ports(spec, old_ports)
        self.root_version = self.new_version()
        app.version = self.root_version
        if only_scale:
            app.last_scaling_at = app.version
            action = "ScaleApplication"
        else:
            app.last_config_change_at = app.version
            app.last_scaling_at = app.version
            app.config_version = app.version
            app.hc_epoch = time.monotonic()
            app.backoff = spec["backoffSeconds"]
            app.launch_not_before = 0.0
            action = "RestartApplication"
        app.spec = spec
        dep = self.start_deployment(app_id, [[(action, app_id)]], original)
        self.ev_group_change(app_id)
        self.publish({"clientIp": client_ip, "uri": uri, "appDefinition": legacy_app_json(app),
                      "eventType": "api_post_event", "timestamp": iso()})
        return app, dep, False

    def input_view(self, app):
        """The app's definition as an input document (for partial updates)."""
        s = dict(app.spec)
        s.pop("healthChecks", None)
        s["healthChecks"] = app.spec["healthChecks"]
        if app_mode(s) == "host":
            s["portDefinitions"] = [dict(p) for p in s["portDefinitions"]]
        return s

    def spec_for_compare(self, app, new_spec):
        # service ports allocated by the simulator must not count as a config change
        old = json.loads(json.dumps(app.spec))
        new_ports = app_port_list(new_spec)
        key = "port" if app_mode(new_spec) == "host" else "servicePort"
        for i, p in enumerate(app_port_list(old)):
            if i < len(new_ports) and new_ports[i].get(key, 0) == 0:
                p[key] = 0
        return old

    def restart_app(self, app_id, force):
        app = self.apps.get(app_id)
        if app is None:
            raise NotFound()
        self.check_lock(app_id, force)
        original = self.root_group()
        self.root_version = self.new_version()
        app.version = app.config_version = app.last_config_change_at = self.root_version
        dep = self.start_deployment(app_id, [[("RestartApplication", app_id)]], original)
        return app, dep

    def delete_app(self, app_id, force):
        app = self.apps.get(app_id)
        if app is None:
            raise NotFound()
        self.check_lock(app_id, force)
        original = self.root_group()
        del self.apps[app_id]
        self.release_service_ports(app.spec)
        self.root_version = self.new_version()
        dep = self.start_deployment(app_id, [[("StopApplication", app_id)]], original)
        for t in self.app_tasks(app_id):
            self.request_kill(t, "stop")
        if app.spec["healthChecks"]:
            self.publish({"appId": app_id, "eventType": "remove_health_check_event", "timestamp": iso()})
        self.ev_group_change(app_id)
        return dep

    def kill_tasks(self, app_id, tasks, scale, force=False):
        app = self.apps.get(app_id)
        if app is None:
            raise NotFound()
        dep = None
        if scale:
            self.check_lock(app_id, force)
            original = self.root_group()
            n = len([t for t in tasks if not t.kill_requested])
            app.spec = dict(app.spec, instances=max(0, app.instances - n))
            self.root_version = self.new_version()
            app.version = app.last_scaling_at = self.root_version
            dep = self.start_deployment(app_id, [[("ScaleApplication", app_id)]], original)
        for t in tasks:
            self.request_kill(t, "scale" if scale else "user")
        return dep

    # -- task lifecycle (callers hold the lock)
    def launch(self, app):
        spec = app.spec
        mode = app_mode(spec)
        ports = app_port_list(spec)
        fixed = []
        for p in ports:
            if mode == "host":
                fixed.append(p["port"] if spec["requirePorts"] else 0)
            elif mode == "container/bridge":
                fixed.append(p.get("hostPort", 0))
            else:
                fixed.append(p.get("hostPort"))
        active = [t for t in self.tasks.values() if t.state not in TERMINAL]

        def load(a):
            same = sum(1 for t in active if t.agent is a and t.app_id == app.id)
            return (same, sum(1 for t in active if t.agent is a), a.index)

        candidates = sorted(self.agents, key=load)
        if app.avoid_agent is not None and len(candidates) > 1:
            candidates = [a for a in candidates if a is not app.avoid_agent] + [app.avoid_agent]
        for agent in candidates:
            if any(f and f in agent.used_ports for f in fixed):
                continue
            hp = []
            ok = True
            for f in fixed:
                if f is None:
                    continue
                if f:
                    hp.append(f)
                else:
                    p = agent.free_port(self.rng)
                    if p is None:
                        ok = False
                        break
                    agent.used_ports.add(p)
                    hp.append(p)
            if not ok:
                for p in hp:
                    agent.used_ports.discard(p)
                continue
            for p in hp:
                agent.used_ports.add(p)
            task = Task(app, agent, hp, self.opts.staging_delay)
            self.tasks[task.id] = task
            app.avoid_agent = None
            self.ev_status(task, "TASK_STAGING")
            return task
        vlog("no agent can host a task of %s (ports)" % app.id)
        return None

    def task_env(self, task):
        spec = task.spec
        mode = app_mode(spec)
        ports = app_port_list(spec)
        env = {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")}
        for k in ("LANG", "LC_ALL", "TZ", "PYTHONPATH", "PYENV_ROOT", "PYENV_VERSION"):
            if k in os.environ:
                env[k] = os.environ[k]
        env["HOME"] = task.sandbox
        env.update(spec["env"])
        env["MESOS_SANDBOX"] = task.sandbox
        env["MESOS_TASK_ID"] = task.id
        env["MESOS_CONTAINER_NAME"] = "mesos-%s.%s" % (task.agent.slave_id, uuid.uuid4())
        env["HOST"] = task.agent.address
        env["MARATHON_APP_ID"] = task.app_id
        env["MARATHON_APP_VERSION"] = task.version
        env["MARATHON_APP_RESOURCE_CPUS"] = str(float(spec["cpus"]))
        env["MARATHON_APP_RESOURCE_MEM"] = str(float(spec["mem"]))
        env["MARATHON_APP_RESOURCE_DISK"] = str(float(spec["disk"]))
        env["MARATHON_APP_RESOURCE_GPUS"] = str(int(spec["gpus"]))
        img = ((spec.get("container") or {}).get("docker") or {}).get("image")
        if img:
            env["MARATHON_APP_DOCKER_IMAGE"] = img
        labels = {}
        for k, v in spec["labels"].items():
            if len(k) < 512 - len("MARATHON_APP_LABEL_") and len(v) < 512:
                labels[re.sub(r"[^a-zA-Z0-9_]+", "_", k).upper()] = v
        env["MARATHON_APP_LABELS"] = " ".join(labels.keys())
        for k, v in labels.items():
            env["MARATHON_APP_LABEL_" + k] = v
        # ports, following Marathon's EnvironmentHelper.portsEnv
        if mode == "host":
            requested = [p["port"] for p in ports]
        else:
            requested = [p["containerPort"] for p in ports]
        effective = []
        it = iter(task.host_ports)
        for p in ports:
            if mode == "host" or p.get("hostPort") is not None:
                effective.append(next(it, None))
            else:
                effective.append(None)
        names = [p.get("name") for p in ports]
        if effective:
            generated = {}
            used = set(requested) | {e for e in effective if e}
            for i, e in enumerate(effective):
                if e is not None:
                    env["PORT%d" % i] = str(e)
                else:
                    cp = requested[i]
                    if cp == 0:
                        cp = next(x for x in (self.rng.randint(1025, 65535) for _ in range(1000)) if x not in used)
                        used.add(cp)
                        generated[i] = cp
                    env["PORT%d" % i] = str(cp)
            for i, (rq, e) in enumerate(zip(requested, effective)):
                if e is not None:
                    env["PORT_%d" % (rq if rq else e)] = str(e)
                elif rq:
                    env["PORT_%d" % rq] = str(rq)
                else:
                    env["PORT_%d" % generated[i]] = str(generated[i])
            for n, e in zip(names, effective):
                if n and e is not None:
                    env["PORT_" + n.upper()] = str(e)
            assigned = [e for e in effective if e is not None] + list(generated.values())
            if assigned:
                env["PORT"] = str(assigned[0])
            env["PORTS"] = ",".join(str(p) for p in assigned)
        return env

    def spawn(self, task):
        spec = task.spec
        task.sandbox = os.path.join(self.sandbox_root, task.id)
        os.makedirs(task.sandbox, exist_ok=True)
        env = self.task_env(task)
        task.env = env
        if "cmd" in spec:
            argv = ["/bin/sh", "-c", spec["cmd"]]
        elif "args" in spec:
            argv = list(spec["args"])
        else:
            # a container image without a command: nothing to run here, keep a placeholder
            argv = ["/bin/sh", "-c", "exec sleep 2147483647"]
        out = open(os.path.join(task.sandbox, "stdout"), "ab")
        err = open(os.path.join(task.sandbox, "stderr"), "ab")
        task.files = [out, err]
        try:
            task.proc = subprocess.Popen(
                ["nsenter", "--net=" + os.path.join(NETNS_RUN, task.agent.netns)] + argv,
                env=env, cwd=task.sandbox, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True)
        except OSError as e:
            self.finish(task, "TASK_FAILED", "Failed to launch: %s" % e)
            return
        task.state = "TASK_RUNNING"
        task.started_at = iso()
        now = time.monotonic()
        for h in task.health:
            if h.hc["protocol"].startswith("MESOS_") or h.hc["protocol"] == "COMMAND":
                # Mesos-side checks start delaySeconds after the task
                h.next_due = now + h.hc.get("delaySeconds", 15)
            else:
                # Marathon-side checks run on the app's timer: the next tick after RUNNING
                iv = max(h.hc["intervalSeconds"], 0.1)
                h.next_due = task.hc_epoch + (math.floor((now - task.hc_epoch) / iv) + 1) * iv
        task.running_mono = now
        self.ev_status(task, "TASK_RUNNING")

    def signal_task(self, task, sig):
        if task.proc is None:
            return
        try:
            os.killpg(task.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def request_kill(self, task, reason):
        if task.kill_requested or task.state in TERMINAL:
            return
        task.kill_requested = True
        task.kill_reason = reason
        if task.proc is None:
            self.finish(task, "TASK_KILLED", "")
            return
        task.state = "TASK_KILLING"
        self.ev_status(task, "TASK_KILLING")
        grace = task.spec.get("taskKillGracePeriodSeconds")
        if grace is None:
            grace = self.opts.default_kill_grace
        task.kill_deadline = time.monotonic() + grace
        self.signal_task(task, signal.SIGTERM)
        task.sigterm_sent = True

    def finish(self, task, state, message):
        task.state = state
        for f in task.files:
            try:
                f.close()
            except OSError:
                pass
        task.files = []
        self.ev_status(task, state, message)
        self.tasks.pop(task.id, None)
        for p in task.host_ports:
            task.agent.used_ports.discard(p)
        app = self.apps.get(task.app_id)
        if app is None:
            return
        if state in ("TASK_FAILED", "TASK_FINISHED", "TASK_ERROR") or task.kill_reason == "unhealthy":
            app.launch_not_before = time.monotonic() + app.backoff
            app.backoff = min(app.backoff * app.spec["backoffFactor"], app.spec["maxLaunchDelaySeconds"])
            app.avoid_agent = task.agent
        if state in ("TASK_FAILED", "TASK_ERROR"):
            app.last_task_failure = {"appId": app.id, "host": task.agent.address, "message": message,
                                     "state": state, "taskId": task.id, "timestamp": iso(),
                                     "version": task.version, "slaveId": task.agent.slave_id}

    def reap(self, task):
        rc = task.proc.returncode
        # the whole process group goes with the task, like a Mesos container
        self.signal_task(task, signal.SIGKILL)
        if rc < 0:
            msg = "Command terminated with signal %s" % (signal.strsignal(-rc) or str(-rc))
        else:
            msg = "Command exited with status %d" % rc
        if task.kill_requested:
            self.finish(task, "TASK_KILLED", msg)
        elif rc == 0:
            self.finish(task, "TASK_FINISHED", msg)
        else:
            self.finish(task, "TASK_FAILED", msg)

    def reconcile(self, app, now):
        live = [t for t in self.app_tasks(app.id) if t.state in ("TASK_STAGING", "TASK_RUNNING")
                and not t.kill_requested]
        cur = [t for t in live if t.config_version == app.config_version]
        old = [t for t in live if t.config_version != app.config_version]
        need = app.instances - len(cur)
        if need > 0 and now >= app.launch_not_before:
            for _ in range(need):
                if self.launch(app) is None:
                    break
        elif need < 0:
            youngest = app.spec["killSelection"] == "YOUNGEST_FIRST"
            victims = sorted(cur, key=lambda t: t.staged_mono, reverse=youngest)[:-need]
            for t in victims:
                self.request_kill(t, "scale")
        if old:
            ready = sum(1 for t in cur if t.ready())
            keep = math.ceil(app.instances * app.spec["upgradeStrategy"]["minimumHealthCapacity"]) - ready
            keep = max(0, min(len(old), keep))
            for t in sorted(old, key=lambda t: t.staged_mono)[:len(old) - keep]:
                self.request_kill(t, "restart")

    def health_result(self, task_id, idx, ok, cause):
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return
            h = task.health[idx]
            h.inflight = False
            h.next_due = time.monotonic() + h.hc["intervalSeconds"]
            if task.state != "TASK_RUNNING" or task.kill_requested or ok is None:
                return
            before_flag = task.healthy_flag()
            before_alive = h.alive
            now = iso()
            if ok:
                h.has_result = True
                h.alive = True
                h.consecutive = 0
                h.last_success = now
                if h.first_success is None:
                    h.first_success = now
            else:
                in_grace = (h.first_success is None
                            and time.monotonic() - task.running_mono < h.hc["gracePeriodSeconds"])
                if in_grace:
                    vlog("ignoring failure of %s in grace period" % task.id)
                    return
                h.has_result = True
                h.alive = False
                h.consecutive += 1
                h.last_failure = now
                h.last_failure_cause = cause
                if not h.hc["protocol"].startswith("MESOS_") and h.hc["protocol"] != "COMMAND":
                    self.publish({"appId": task.app_id, "instanceId": task.instance_id, "healthCheck": h.hc,
                                  "eventType": "failed_health_check_event", "timestamp": iso()})
            if h.alive != before_alive:
                self.publish({"appId": task.app_id, "instanceId": task.instance_id, "version": task.version,
                              "alive": h.alive, "eventType": "health_status_changed_event", "timestamp": iso()})
            after_flag = task.healthy_flag()
            if after_flag != before_flag:
                self.publish({"instanceId": task.instance_id, "runSpecId": task.app_id, "healthy": after_flag,
                              "runSpecVersion": task.version, "timestamp": iso(),
                              "eventType": "instance_health_changed_event"})
            mcf = h.hc["maxConsecutiveFailures"]
            if not ok and mcf > 0 and h.consecutive >= mcf:
                if not (h.hc["protocol"].startswith("MESOS_") or h.hc["protocol"] == "COMMAND"):
                    self.publish({"appId": task.app_id, "taskId": task.id, "instanceId": task.instance_id,
                                  "version": task.version, "reason": cause or "unhealthy",
                                  "host": task.agent.address, "slaveId": task.agent.slave_id,
                                  "eventType": "unhealthy_instance_kill_event", "timestamp": iso()})
                self.request_kill(task, "unhealthy")

    def start_checks(self, task, now):
        for idx, h in enumerate(task.health):
            if h.inflight or now < h.next_due:
                continue
            hc = h.hc
            proto = hc["protocol"]
            port = hc.get("port")
            if port is None and proto != "COMMAND":
                pi = hc.get("portIndex", 0)
                ports = app_port_list(task.spec)
                if isinstance(pi, str):
                    pi = next((i for i, p in enumerate(ports) if p.get("name") == pi), 0)
                if app_mode(task.spec) == "container":
                    port = ports[pi]["containerPort"] if pi < len(ports) else None
                else:
                    port = task.host_ports[pi] if pi < len(task.host_ports) else None
            host = "127.0.0.1" if proto.startswith("MESOS_") else task.agent.address
            h.inflight = True
            args = (task.id, idx, task.agent.netns, hc, host, port, hc["timeoutSeconds"], dict(task.env))
            threading.Thread(target=self._run_check, args=args, name="hc", daemon=True).start()

    def _run_check(self, task_id, idx, netns, hc, host, port, timeout, env):
        try:
            if port is None and hc["protocol"] != "COMMAND":
                ok, cause = False, "no port for health check"
            else:
                ok, cause = probe(netns, hc, host, port, timeout, env)
        except Exception as e:  # noqa: BLE001 - a probe must never kill the simulator
            ok, cause = False, repr(e)
        if not self.stopping:
            self.health_result(task_id, idx, ok, cause)

    def tick(self):
        with self.lock:
            if self.stopping:
                return
            now = time.monotonic()
            for task in list(self.tasks.values()):
                if task.state == "TASK_STAGING" and task.proc is None and now >= task.start_at:
                    self.spawn(task)
                    continue
                if task.proc is not None and task.proc.poll() is not None:
                    self.reap(task)
                    continue
                if task.state == "TASK_KILLING" and not task.sigkilled and now >= task.kill_deadline:
                    self.signal_task(task, signal.SIGKILL)
                    task.sigkilled = True
                if task.state == "TASK_RUNNING" and not task.kill_requested and task.health:
                    self.start_checks(task, now)
            for app in list(self.apps.values()):
                self.reconcile(app, now)
            self.advance_deployments()

    def run(self, stop_event):
        while not stop_event.is_set():
            try:
                self.tick()
            except Exception as e:  # noqa: BLE001
                log("supervisor error: %r" % e)
                import traceback
                traceback.print_exc()
            stop_event.wait(0.05)

    def shutdown(self):
        with self.lock:
            self.stopping = True
            procs = [t.proc for t in self.tasks.values() if t.proc is not None]
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 1.0
        for p in procs:
            try:
                p.wait(max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass
        if not self.opts.keep_sandboxes:
            shutil.rmtree(self.sandbox_root, ignore_errors=True)


# --------------------------------------------------------------------------- HTTP


JETTY_ERROR = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>
<title>Error %(code)d %(reason)s</title>
</head>
<body><h2>HTTP ERROR %(code)d</h2>
<p>Problem accessing %(path)s. Reason:
<pre>    %(reason)s</pre></p><hr><i><small>Powered by Jetty://</small></i><hr/>
</body>
</html>
"""


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx, netns=None):
        self.ctx = ctx
        self.conns = set()  # open connections, cut by kill_connections()
        self.conns_lock = threading.Lock()
        self.killed = False
        http.server.ThreadingHTTPServer.__init__(self, addr, handler, bind_and_activate=False)
        if netns is not None:
            self.socket.close()
            self.socket = socket_in_netns(netns, self.address_family, self.socket_type)
        try:
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise

    def process_request_thread(self, request, client_address):
        with self.conns_lock:
            if self.killed:
                request.close()
                return
            self.conns.add(request)
        try:
            http.server.ThreadingHTTPServer.process_request_thread(self, request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)

    def kill_connections(self):
        """The process died: every open connection (event streams too) ends at once."""
        with self.conns_lock:
            self.killed = True
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(conns)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(9.3.z-SNAPSHOT)"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        vlog("%s %s" % (self.client_address[0], fmt % args))

    @property
    def ctx(self):
        return self.server.ctx

    # -- plumbing
    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            data = b""
            for _ in range(100000):
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline(65537)
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, code, body=b"", ctype=JSON_CT, headers=()):
        if isinstance(body, (dict, list)):
            body = jdump(body).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        if body or code not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in self.ctx.extra_headers():
            self.send_header(k, v)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_jetty_error(self, code, reason, headers=()):
        body = JETTY_ERROR % {"code": code, "reason": reason, "path": urllib.parse.urlsplit(self.path).path}
        self.send(code, body, "text/html;charset=ISO-8859-1", headers)

    def authorized(self):
        creds = self.ctx.credentials
        if not creds:
            return True
        h = self.headers.get("Authorization", "")
        if h.lower().startswith("basic "):
            try:
                if base64.b64decode(h[6:].strip()).decode("utf-8") == creds:
                    return True
            except (ValueError, UnicodeDecodeError):
                pass
        return False

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        try:
            if not self.authorized():
                self.read_body()
                self.send_jetty_error(401, "Unauthorized", [("WWW-Authenticate", 'Basic realm="%s"' % self.ctx.realm)])
                return
            self.ctx.handle(self, method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001
            log("handler error on %s %s: %r" % (method, self.path, e))
            import traceback
            traceback.print_exc()
            try:
                self.send(500, {"message": "%s: %s" % (type(e).__name__, e)})
            except OSError:
                self.close_connection = True

    # -- SSE
    def write_chunk(self, data, chunked):
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def serve_events(self, query, bus, heartbeat, chunked, stop_event, is_stopping):
        accept = self.headers.get("Accept", "")
        if "text/event-stream" not in accept:
            self.send_jetty_error(405, "Method Not Allowed")
            return
        sub = Subscriber(query.get("event_type", []), self.client_address[0],
                         query.get("plan-format", ["full"])[0] == "light")
        bus.subscribe(sub)
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", SSE_CT)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Connection", "close")
            for k, v in self.ctx.extra_headers():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.flush()
            bus.publish({"remoteAddress": self.client_address[0], "eventType": "event_stream_attached",
                         "timestamp": iso()})
            next_hb = time.monotonic() + heartbeat
            role = getattr(self.server.ctx, "generation", None)
            while not stop_event.is_set() and not is_stopping() and not self.server.killed and \
                    getattr(self.server.ctx, "generation", None) == role:
                wait = next_hb - time.monotonic()
                if wait <= 0:
                    self.write_chunk(b"\r\n", chunked)
                    next_hb += heartbeat
                    if next_hb < time.monotonic():
                        next_hb = time.monotonic() + heartbeat
                    continue
                try:
                    frame = sub.q.get(timeout=min(wait, 0.25))
                except queue.Empty:
                    continue
                if sub.cut_next is not None:
                    # fault control: part of the event, then the connection drops
                    n = max(1, min(sub.cut_next, len(frame) - 1))
                    self.write_chunk(frame[:n], chunked)
                    log("event stream to %s cut after %d of %d bytes of an event" %
                        (self.client_address[0], n, len(frame)))
                    self.connection.shutdown(socket.SHUT_RDWR)
                    break
                self.write_chunk(frame, chunked)
        except OSError:
            pass
        finally:
            bus.unsubscribe(sub)
            bus.publish({"remoteAddress": self.client_address[0], "eventType": "event_stream_detached",
                         "timestamp": iso()})


class LeaderContext:
    def __init__(self, sim, bus, opts, hostport, stop_event):
        self.sim = sim
        self.bus = bus
        self.opts = opts
        self.credentials = opts.credentials
        self.realm = opts.realm
        self.hostport = hostport
        self.stop_event = stop_event
        self.framework_id = "%s-0000" % opts.cluster_id

    def extra_headers(self):
        return [("X-Marathon-Leader", "http://" + self.hostport)]

    def handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(url.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = h.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return h.send_jetty_error(405, "Method Not Allowed")
            return h.send(200, "pong", "text/plain;charset=utf-8")
        if path == "/v2/events" or path == "/v2/events/":
            if method != "GET":
                return h.send_jetty_error(405, "Method Not Allowed")
            return h.serve_events(query, self.bus, self.opts.heartbeat, self.opts.sse_transfer == "chunked",
                                  self.stop_event, lambda: self.sim.stopping)
        try:
            return self.route(h, method, path.rstrip("/") or "/", query, body)
        except Invalid as e:
            return h.send(422, {"message": "Object is not valid", "details": e.details})
        except Conflict as e:
            return h.send(409, e.body)

    def parse_json(self, h, body):
        try:
            return json.loads(body.decode("utf-8") or "null"), True
        except (ValueError, UnicodeDecodeError) as e:
            h.send(400, {"message": "Invalid JSON", "details": [{"path": "/", "errors": [str(e)]}]})
            return None, False

    def route(self, h, method, path, query, body):
        sim = self.sim
        flag = lambda name: (query.get(name, ["false"])[0] or "true").lower() == "true"  # noqa: E731
        if path == "/v2/info":
            return h.send(200, self.info())
        if path == "/v2/leader":
            if method == "GET":
                return h.send(200, {"leader": self.hostport})
            return h.send(405, {"message": "HTTP 405 Method Not Allowed"})
        if path == "/v2/deployments":
            with sim.lock:
                return h.send(200, [d.info_json() for d in sim.deployments])
        m = re.match(r"^/v2/deployments/([^/]+)$", path)
        if m and method == "DELETE":
            with sim.lock:
                dep = next((d for d in sim.deployments if d.id == m.group(1)), None)
                if dep is None:
                    return h.send(404, {"message": "DeploymentPlan %s does not exist" % m.group(1)})
                sim.deployments.remove(dep)
                sim.ev_deployment("deployment_failed", dep)
                return h.send(202, {"version": sim.new_version(), "deploymentId": dep.id})
        if path == "/v2/queue":
            return h.send(200, {"queue": []})
        if path == "/v2/eventSubscriptions":
            return h.send(400, {"message": "http event callback system is not running on this Marathon "
                                           "instance. Please re-start this instance with \"--event_subscriber "
                                           "http_callback\"."})
        if path == "/v2/tasks":
            with sim.lock:
                ts = sorted(sim.tasks.values(), key=lambda t: t.staged_mono)
                status = query.get("status", [None])[0]
                if status:
                    ts = [t for t in ts if t.state == "TASK_" + status.upper()]
                return h.send(200, {"tasks": [t.json(with_service_ports=True) for t in ts]})
        if path == "/v2/tasks/delete" and method == "POST":
            doc, ok = self.parse_json(h, body)
            if not ok:
                return
            ids = (doc or {}).get("ids", []) if isinstance(doc, dict) else []
            with sim.lock:
                by_app = {}
                for tid in ids:
                    t = sim.tasks.get(tid)
                    if t is not None:
                        by_app.setdefault(t.app_id, []).append(t)
                dep = None
                for app_id, ts in by_app.items():
                    if app_id in sim.apps:
                        dep = sim.kill_tasks(app_id, ts, flag("scale"), flag("force")) or dep
                if flag("scale") and dep is not None:
                    return h.send(200, {"version": dep.version, "deploymentId": dep.id})
                return h.send(200, {})
        if path == "/v2/groups" or path.startswith("/v2/groups/"):
            gid = canonical_path(path[len("/v2/groups"):] or "/")
            with sim.lock:
                tree = group_tree(list(sim.apps.values()), sim.root_version, lambda a: sim.app_json(a))
                g = find_group(tree, gid)
                if g is None:
                    return h.send(404, {"message": "Group '%s' does not exist" % gid})
                return h.send(200, g)
        if path == "/v2/apps":
            if method == "GET":
                return self.list_apps(h, query)
            if method == "POST":
                doc, ok = self.parse_json(h, body)
                if not ok:
                    return
                spec = normalize_app(doc)
                with sim.lock:
                    app, dep = sim.create_app(spec, h.client_address[0], "/v2/apps")
                    out = sim.app_json(app, tasks=True)
                return h.send(201, out, headers=[("Location", "http://%s/v2/apps%s" % (self.hostport, app.id)),
                                                 ("Marathon-Deployment-Id", dep.id)])
            return h.send(405, {"message": "HTTP 405 Method Not Allowed"})
        if path.startswith("/v2/apps/"):
            return self.app_routes(h, method, path[len("/v2/apps"):], query, body, flag)
        return h.send(404, {"message": "HTTP 404 Not Found"})

    def list_apps(self, h, query):
        sim = self.sim
        embed = set()
        for e in query.get("embed", []):
            embed.add(e.replace("app.", "apps."))
        id_filter = query.get("id", [None])[0]
        cmd_filter = query.get("cmd", [None])[0]
        label_filter = query.get("label", [None])[0]
        with sim.lock:
            apps = sorted(sim.apps.values(), key=lambda a: a.id)
            if id_filter:
                apps = [a for a in apps if id_filter.lower() in a.id.lower()]
            if cmd_filter:
                apps = [a for a in apps if cmd_filter in a.spec.get("cmd", "")]
            if label_filter:
                apps = [a for a in apps if self.label_match(a.spec["labels"], label_filter)]
            out = [sim.app_json(a, tasks="apps.tasks" in embed,
                                last_failure="apps.lastTaskFailure" in embed) for a in apps]
        return h.send(200, {"apps": out})

    @staticmethod
    def label_match(labels, selector):
        for term in selector.split(","):
            term = term.strip()
            if "==" in term:
                k, v = term.split("==", 1)
                if labels.get(k.strip()) != v.strip():
                    return False
            elif "!=" in term:
                k, v = term.split("!=", 1)
                if labels.get(k.strip()) == v.strip():
                    return False
            elif term and term not in labels:
                return False
        return True

    def app_routes(self, h, method, rest, query, body, flag):
        sim = self.sim
        m = re.match(r"^(.*)/tasks/([^/]+)$", rest)
        if m:
            app_id, task_id = canonical_path(m.group(1)), m.group(2)
            with sim.lock:
                app = sim.apps.get(app_id)
                if app is None:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                task = sim.tasks.get(task_id)
                if task is None or task.app_id != app_id:
                    return h.send(404, {"message": "Task '%s' does not exist" % task_id})
                if method == "GET":
                    return h.send(200, {"task": task.json(with_service_ports=True)})
                if method != "DELETE":
                    return h.send(405, {"message": "HTTP 405 Method Not Allowed"})
                snapshot = task.json(with_service_ports=True)
                dep = sim.kill_tasks(app_id, [task], flag("scale"), flag("force"))
                if dep is not None:
                    return h.send(200, {"version": dep.version, "deploymentId": dep.id})
                return h.send(200, {"task": snapshot})
        if rest.endswith("/tasks"):
            app_id = canonical_path(rest[:-len("/tasks")])
            with sim.lock:
                app = sim.apps.get(app_id)
                if app is None:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                ts = sorted(sim.app_tasks(app_id), key=lambda t: t.staged_mono)
                if method == "GET":
                    return h.send(200, {"tasks": [t.json(with_service_ports=True) for t in ts]})
                if method != "DELETE":
                    return h.send(405, {"message": "HTTP 405 Method Not Allowed"})
                host = query.get("host", [None])[0]
                if host:
                    ts = [t for t in ts if t.agent.address == host]
                snapshot = [t.json(with_service_ports=True) for t in ts]
                dep = sim.kill_tasks(app_id, ts, flag("scale"), flag("force"))
                if dep is not None:
                    return h.send(200, {"version": dep.version, "deploymentId": dep.id})
                return h.send(200, {"tasks": snapshot})
        if rest.endswith("/restart"):
            app_id = canonical_path(rest[:-len("/restart")])
            if method != "POST":
                return h.send(405, {"message": "HTTP 405 Method Not Allowed"})
            with sim.lock:
                try:
                    app, dep = sim.restart_app(app_id, flag("force"))
                except NotFound:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                return h.send(200, {"version": dep.version, "deploymentId": dep.id})
        if rest.endswith("/versions"):
            app_id = canonical_path(rest[:-len("/versions")])
            with sim.lock:
                app = sim.apps.get(app_id)
                if app is None:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                return h.send(200, {"versions": [app.version]})
        app_id = canonical_path(rest)
        if method in ("GET", "HEAD"):
            with sim.lock:
                app = sim.apps.get(app_id)
                if app is None:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                return h.send(200, {"app": sim.app_json(app, tasks=True, last_failure=True)})
        if method in ("PUT", "PATCH"):
            doc, ok = self.parse_json(h, body)
            if not ok:
                return
            partial = method == "PATCH" or flag("partialUpdate") if "partialUpdate" in query else True
            with sim.lock:
                app, dep, created = sim.update_app(app_id, doc, partial, flag("force"), h.client_address[0],
                                                   urllib.parse.urlsplit(h.path).path)
                return h.send(201 if created else 200, {"version": dep.version, "deploymentId": dep.id},
                              headers=[("Marathon-Deployment-Id", dep.id)])
        if method == "DELETE":
            with sim.lock:
                try:
                    dep = sim.delete_app(app_id, flag("force"))
                except NotFound:
                    return h.send(404, {"message": "App '%s' does not exist" % app_id})
                return h.send(200, {"version": dep.version, "deploymentId": dep.id},
                              headers=[("Marathon-Deployment-Id", dep.id)])
        return h.send(405, {"message": "HTTP 405 Method Not Allowed"})

    def info(self):
        host, _, port = self.hostport.rpartition(":")
        return {
            "name": "marathon", "version": MARATHON_VERSION, "buildref": "unknown", "elected": True,
            "leader": self.hostport, "frameworkId": self.framework_id,
            "marathon_config": {
                "access_control_allow_origin": ["*"], "checkpoint": True, "decline_offer_duration": 120000,
                "default_network_name": "dcos", "env_vars_prefix": "", "executor": "//cmd",
                "failover_timeout": 604800, "features": [], "framework_name": "marathon", "ha": True,
                "hostname": host, "launch_token": 100, "launch_token_refresh_interval": 30000,
                "leader_proxy_connection_timeout_ms": 5000, "leader_proxy_read_timeout_ms": 10000,
                "local_port_max": SERVICE_PORT_RANGE[1], "local_port_min": SERVICE_PORT_RANGE[0],
                "master": "zk://localhost:2181/mesos", "max_instances_per_offer": 5,
                "mesos_bridge_name": "mesos-bridge", "mesos_heartbeat_failure_threshold": 5,
                "mesos_heartbeat_interval": 15000, "mesos_leader_ui_url": "http://localhost:5050/",
                "mesos_role": "*", "mesos_user": "root", "min_revive_offers_interval": 5000,
                "offer_matching_timeout": 3000, "on_elected_prepare_timeout": 180000,
                "reconciliation_initial_delay": 15000, "reconciliation_interval": 600000,
                "scale_apps_initial_delay": 15000, "scale_apps_interval": 300000, "store_cache": True,
                "task_launch_confirm_timeout": 300000, "task_launch_timeout": 300000,
                "task_lost_expunge_initial_delay": 300000, "task_lost_expunge_interval": 30000,
                "task_reservation_timeout": 20000, "webui_url": "http://" + self.hostport,
            },
            "zookeeper_config": {
                "zk": "zk://localhost:2181/marathon", "zk_compression": True, "zk_compression_threshold": 65536,
                "zk_connection_timeout": 10000, "zk_max_node_size": 1024000, "zk_max_versions": 50,
                "zk_session_timeout": 10000, "zk_timeout": 10000,
            },
            "http_config": {"http_port": int(port), "https_port": 8443},
        }


class StandbyContext:
    """A non-leading Marathon: /v2/events redirects to the leader, the rest is proxied."""

    def __init__(self, opts, hostport, stop_event, leader_url=None):
        self.opts = opts
        self.credentials = opts.credentials
        self.realm = opts.realm
        self.hostport = hostport
        self.stop_event = stop_event
        u = urllib.parse.urlsplit(leader_url or opts.leader_url)
        self.leader_scheme = u.scheme or "http"
        self.leader_netloc = u.netloc
        self.leader_base = "%s://%s" % (self.leader_scheme, self.leader_netloc)

    def extra_headers(self):
        return [("X-Marathon-Leader", self.leader_base)]

    def handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        body = h.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        if url.path == "/ping":
            return h.send(200, "pong", "text/plain;charset=utf-8")
        if url.path == "/v2/leader" and method == "GET":
            return h.send(200, {"leader": self.leader_netloc})
        if url.path.rstrip("/") == "/v2/events":
            return h.send(302, b"", headers=[("Location", self.leader_base + h.path)])
        self.proxy(h, method, body)

    def proxy(self, h, method, body):
        host, _, port = self.leader_netloc.rpartition(":")
        cls = http.client.HTTPSConnection if self.leader_scheme == "https" else http.client.HTTPConnection
        conn = cls(host or self.leader_netloc, int(port) if port else None, timeout=10)
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "connection", "content-length", "transfer-encoding",
                                        "keep-alive")}
        headers["Via"] = "1.1 %s" % self.hostport
        try:
            conn.request(method, h.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            return h.send(503, {"message": "Could not reach the leader %s: %s" % (self.leader_base, e)})
        finally:
            conn.close()
        h.send_response(resp.status)
        skip = ("connection", "content-length", "transfer-encoding", "keep-alive", "server", "date")
        for k, v in resp.getheaders():
            if k.lower() not in skip:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Via", "1.1 %s" % self.hostport)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)


class Instance:
    """One Marathon process of the cluster. The instances of a simulator share its state
    (Marathon keeps it in ZooKeeper, the tasks run on Mesos): one leads, the others are
    standbys of it. Fault control (--control) stops and starts an instance's HTTP server
    (its process dying and coming back; the tasks keep running) and moves the lead."""

    def __init__(self, index, listen, hostport, sim, bus, opts, stop_event):
        self.index = index
        self.listen = listen
        self.hostport = hostport
        self.opts = opts
        self.stop_event = stop_event
        self.leader_ctx = LeaderContext(sim, bus, opts, hostport, stop_event)
        self.credentials = opts.credentials
        self.realm = opts.realm
        self.role = self.leader_ctx
        self.generation = 0  # bumped on a role change: open event streams end
        self.server = None
        self.lock = threading.Lock()

    def set_leader(self, leader):
        if leader is self:
            self.role = self.leader_ctx
        else:
            self.role = StandbyContext(self.opts, self.hostport, self.stop_event, "http://" + leader.hostport)
        self.generation += 1

    def is_leader(self):
        return self.role is self.leader_ctx

    def extra_headers(self):
        return self.role.extra_headers()

    def handle(self, h, method):
        return self.role.handle(h, method)

    def start(self):
        with self.lock:
            if self.server is not None:
                return False
            self.server = Server(self.listen, Handler, self)
            threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                             name="http-%d" % self.index, daemon=True).start()
            return True

    def stop(self):
        """The process dies: the listening socket closes, open connections drop."""
        with self.lock:
            srv, self.server = self.server, None
        if srv is None:
            return -1
        srv.shutdown()
        srv.server_close()
        return srv.kill_connections()

    def describe(self):
        return {"index": self.index, "url": "http://" + self.hostport, "running": self.server is not None,
                "role": "leader" if self.is_leader() else "standby"}


class ControlContext:
    """The fault-control endpoint (--control HOST:PORT), not part of Marathon's API:
      GET  /_sim/instances                 every instance: index, url, running, role
      POST /_sim/instances/K/stop          instance K (1 = --listen, 2.. = --peer) dies
      POST /_sim/instances/K/start         ... and comes back (same state, same port)
      POST /_sim/leader/K                  K leads; the others become its standbys (the
                                           event streams they served end)
      POST /_sim/cut-streams?bytes=N       every open event stream writes the first N bytes
                                           (default 40) of its next event, then drops"""

    credentials = None
    realm = "control"

    def __init__(self, instances, bus):
        self.instances = instances
        self.bus = bus

    def extra_headers(self):
        return []

    def handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(url.query)
        if method in ("POST", "PUT", "DELETE"):
            h.read_body()
        parts = [p for p in url.path.split("/") if p]
        if parts == ["_sim", "instances"] and method == "GET":
            return h.send(200, [i.describe() for i in self.instances])
        if method != "POST":
            return h.send(404, {"message": "no such control"})
        if len(parts) == 4 and parts[:2] == ["_sim", "instances"] and parts[3] in ("stop", "start"):
            inst = self.instance(parts[2])
            if inst is None:
                return h.send(404, {"message": "no instance %s" % parts[2]})
            if parts[3] == "stop":
                n = inst.stop()
                log("control: instance %d stopped (%d connections cut)" % (inst.index, max(n, 0)))
                return h.send(200, {"stopped": n >= 0, "connections_cut": max(n, 0)})
            try:
                started = inst.start()
            except OSError as e:
                return h.send(500, {"message": "cannot listen again: %s" % e})
            log("control: instance %d started" % inst.index)
            return h.send(200, {"started": started})
        if len(parts) == 3 and parts[:2] == ["_sim", "leader"]:
            leader = self.instance(parts[2])
            if leader is None:
                return h.send(404, {"message": "no instance %s" % parts[2]})
            for inst in self.instances:
                inst.set_leader(leader)
            log("control: instance %d leads" % leader.index)
            return h.send(200, [i.describe() for i in self.instances])
        if parts == ["_sim", "cut-streams"]:
            try:
                n = int(query.get("bytes", ["40"])[0])
            except ValueError:
                return h.send(400, {"message": "bytes: a number"})
            return h.send(200, {"armed": self.bus.arm_cut(n)})
        return h.send(404, {"message": "no such control"})

    def instance(self, k):
        for inst in self.instances:
            if str(inst.index) == k:
                return inst
        return None


# --------------------------------------------------------------------------- main


def parse_hostport(s):
    host, _, port = s.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % s)
    return (host.strip("[]") or "127.0.0.1", int(port))


def read_credentials(opts):
    if opts.credentials_file:
        with open(opts.credentials_file) as f:
            line = f.readline().strip()
        if ":" not in line:
            raise SystemExit("--credentials-file: expected user:password on the first line")
        return line
    if opts.credentials and ":" not in opts.credentials:
        raise SystemExit("--credentials: expected user:password")
    return opts.credentials


def acquire_lock(prefix):
    os.makedirs(LOCK_DIR, exist_ok=True)
    fd = os.open(os.path.join(LOCK_DIR, prefix + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise SystemExit("another marathon_sim with --prefix %s is running" % prefix)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def remove_stale(prefix):
    """Namespaces, their processes and task sandboxes left by a crashed run (the caller holds
    the prefix lock, so no live instance owns them)."""
    stale = own_netns_names(prefix, netns_list())
    for ns in stale:
        log("removing stale namespace %s" % ns)
        delete_netns(ns)
    pat = re.compile(r"^marathon-sim-" + re.escape(prefix) + r"-[A-Za-z0-9_]{8}$")
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        if pat.match(name) and os.path.isdir(os.path.join(tmp, name)):
            log("removing stale sandboxes %s" % name)
            shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
    return stale


def cmd_connect(argv):
    ap = argparse.ArgumentParser(prog="marathon_sim.py connect",
                                 description="attach the caller's namespace to the agents' bridge")
    ap.add_argument("--prefix", default="msim")
    ap.add_argument("--netns", required=True, help="the caller's namespace (must exist)")
    ap.add_argument("--address", required=True, help="ADDR/PREFIXLEN inside the agent network")
    ap.add_argument("--ifname", default="eth0", help="interface name inside --netns")
    ap.add_argument("--bridge", default="br0")
    o = ap.parse_args(argv)
    connect_namespace(o.prefix, o.netns, o.address, o.ifname, None, o.bridge)
    return 0


def cmd_cleanup(argv):
    ap = argparse.ArgumentParser(prog="marathon_sim.py cleanup")
    ap.add_argument("--prefix", default="msim")
    o = ap.parse_args(argv)
    fd = acquire_lock(o.prefix)
    try:
        print(jdump({"removed": remove_stale(o.prefix)}))
    finally:
        os.close(fd)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "connect":
        return cmd_connect(argv[1:])
    if argv and argv[0] == "cleanup":
        return cmd_cleanup(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", type=parse_hostport, default=("127.0.0.1", 8080), help="HOST:PORT")
    ap.add_argument("--hostname", help="host name this Marathon reports as leader (default: the listen host)")
    ap.add_argument("--agents", type=int, default=3)
    ap.add_argument("--prefix", default="msim", help="namespace name prefix, names the instance")
    ap.add_argument("--credentials", help="user:password for HTTP basic auth")
    ap.add_argument("--credentials-file", help="file whose first line is user:password")
    ap.add_argument("--realm", default="Mesosphere", help="basic auth realm")
    ap.add_argument("--bridge", default="br0", help="bridge name inside <prefix>-net")
    ap.add_argument("--netns-bridge", metavar="NS:BRIDGE",
                    help="attach agents to BRIDGE in the caller's namespace NS instead")
    ap.add_argument("--agent-net", default="10.250.0.0/24", help="IPv4 CIDR of the agents' network")
    ap.add_argument("--agent-gateway", help="default route of the agents (an address on the bridge)")
    ap.add_argument("--listen-bridge", type=int, metavar="PORT",
                    help="also serve the API on <gateway>:PORT inside <prefix>-net")
    ap.add_argument("--leader-url", help="run as a standby of the Marathon at URL")
    ap.add_argument("--peer", type=parse_hostport, action="append", default=[], metavar="HOST:PORT",
                    help="another Marathon instance of this cluster (shared state), a standby")
    ap.add_argument("--control", type=parse_hostport, metavar="HOST:PORT",
                    help="fault-control endpoint: stop/start instances, move the lead, cut streams")
    ap.add_argument("--heartbeat", type=float, default=10.0, help="SSE heartbeat period (s)")
    ap.add_argument("--sse-transfer", choices=("chunked", "close"), default="chunked",
                    help="chunked (default) or an unchunked body ended by closing the connection")
    ap.add_argument("--staging-delay", type=float, default=0.2, help="seconds in TASK_STAGING")
    ap.add_argument("--default-kill-grace", type=float, default=3.0,
                    help="kill grace when an app has no taskKillGracePeriodSeconds")
    ap.add_argument("--keep-sandboxes", action="store_true")
    ap.add_argument("--seed", type=int, help="seed for host port choices")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args(argv)
    global VERBOSE
    VERBOSE = opts.verbose
    opts.credentials = read_credentials(opts)
    opts.cluster_id = str(uuid.uuid4())
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$", opts.prefix):
        raise SystemExit("--prefix: 1-20 characters [A-Za-z0-9_.-]")
    if opts.heartbeat <= 0:
        raise SystemExit("--heartbeat must be positive")
    listen_host, listen_port = opts.listen
    hostport = "%s:%d" % (opts.hostname or (listen_host if listen_host not in ("0.0.0.0", "::", "")
                                            else socket.gethostname()), listen_port)

    stop_event = threading.Event()

    def on_signal(signum, frame):
        stop_event.set()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    servers = []
    instances = []
    started = []
    threads = []
    network = None
    sim = None
    lock_fd = None
    try:
        if opts.leader_url:
            ctx = StandbyContext(opts, hostport, stop_event)
            servers.append(Server((listen_host, listen_port), Handler, ctx))
            info = {"event": "ready", "pid": os.getpid(), "role": "standby", "url": "http://%s:%d" % (
                listen_host, servers[0].server_address[1]), "leader": opts.leader_url}
        else:
            if os.geteuid() != 0:
                raise SystemExit("marathon_sim needs root (network namespaces)")
            for tool in ("ip", "nsenter"):
                if shutil.which(tool) is None:
                    raise SystemExit("marathon_sim needs %s" % tool)
            lock_fd = acquire_lock(opts.prefix)
            remove_stale(opts.prefix)
            netns_bridge = None
            if opts.netns_bridge:
                if ":" not in opts.netns_bridge:
                    raise SystemExit("--netns-bridge: expected NS:BRIDGE")
                netns_bridge = tuple(opts.netns_bridge.split(":", 1))
                if opts.listen_bridge:
                    raise SystemExit("--listen-bridge needs the simulator's own bridge")
            network = Network(opts.prefix, opts.agents, opts.agent_net, opts.bridge, netns_bridge,
                              opts.agent_gateway, opts.cluster_id)
            network.setup()
            bus = EventBus()
            sim = Sim(network.agents, bus, opts)
            if opts.seed is not None:
                sim.rng.seed(opts.seed)
            ctx = Instance(1, (listen_host, listen_port), hostport, sim, bus, opts, stop_event)
            servers.append(Server((listen_host, listen_port), Handler, ctx))
            ctx.server = servers[0]
            if ctx.hostport.endswith(":0"):
                ctx.hostport = ctx.hostport[:-2] + ":%d" % servers[0].server_address[1]
                ctx.leader_ctx.hostport = ctx.hostport
            instances = [ctx]
            for k, (phost, pport) in enumerate(opts.peer, start=2):
                peer = Instance(k, (phost, pport), "%s:%d" % (phost, pport), sim, bus, opts, stop_event)
                peer.set_leader(ctx)
                peer.start()
                instances.append(peer)
            if opts.control:
                servers.append(Server(opts.control, Handler, ControlContext(instances, bus)))
            bridge_url = None
            if opts.listen_bridge:
                servers.append(Server((network.gateway, opts.listen_bridge), Handler, ctx, netns=network.bridge_ns))
                bridge_url = "http://%s:%d" % (network.gateway, opts.listen_bridge)
            t = threading.Thread(target=sim.run, args=(stop_event,), name="supervisor", daemon=True)
            t.start()
            threads.append(t)
            info = {"event": "ready", "pid": os.getpid(), "role": "leader",
                    "url": "http://%s:%d" % (listen_host, servers[0].server_address[1]),
                    "leader": ctx.hostport, "bridge_url": bridge_url, "prefix": opts.prefix,
                    "frameworkId": ctx.leader_ctx.framework_id,
                    "peers": ["http://" + i.hostport for i in instances[1:]],
                    "control": "http://%s:%d" % opts.control if opts.control else None}
            info.update(network.describe(os.path.abspath(sys.argv[0])))
        for srv in servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
            t.start()
            started.append(srv)
            threads.append(t)
        sys.stdout.write(jdump(info) + "\n")
        sys.stdout.flush()
        log("ready: %s" % info["url"])
        while not stop_event.wait(0.5):
            pass
        log("stopping")
    finally:
        stop_event.set()
        for srv in started:
            try:
                srv.shutdown()
            except Exception:  # noqa: BLE001
                pass
        for srv in servers:
            srv.server_close()
        for inst in instances:
            inst.stop()
        if sim is not None:
            sim.shutdown()
        if network is not None:
            network.teardown()
        if lock_fd is not None:
            os.close(lock_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
