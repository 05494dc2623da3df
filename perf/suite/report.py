#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""perf/suite.sh's report: raw.jsonl (one measurement per line) -> summary.json (medians
over the repeats, ratios), summary.md (the table README shows) and PNG plots (gnuplot).

  report.py RESULTS_DIR
"""
import json, os, shutil, statistics, subprocess, sys

out = sys.argv[1]
raw = [json.loads(l) for l in open(os.path.join(out, "raw.jsonl")) if l.strip()]
meta = json.load(open(os.path.join(out, "meta.json")))
sync = None
try:
    with open(os.path.join(out, "bench_sync.json")) as f:
        sync = json.loads(f.read().strip() or "null")
except (OSError, ValueError):
    pass

SYSTEMS = ["fwd", "baton", "iptables", "haproxy", "routing", "baton-l7", "haproxy-http"]
NAMES = {"fwd": "bare XDP forwarder", "baton": "Baton", "iptables": "iptables DNAT",
         "haproxy": "HAProxy 2.6 tcp", "routing": "plain routing",
         "baton-l7": "Baton L7 lane", "haproxy-http": "HAProxy 2.6 http"}

# The load balancer's own CPU per HTTP request, per repeat: HAProxy's process time;
# Baton's XDP program time (BPF statistics); the L7 lane's both, baton-l7's process
# (its lcore polls: idle polling counts) plus the XDP program that carries the
# spliced connections.
OWN = {"baton": ("xdp",), "haproxy": ("proc",), "haproxy-http": ("proc",), "baton-l7": ("proc", "xdp")}
parts = {}
for m in raw:
    for mode in ("ka", "close"):
        for p in ("proc", "xdp"):
            if m["metric"] == f"http_{mode}_{p}_us_per_req":
                parts.setdefault((m["system"], m["repeat"], mode), {})[p] = m["value"]
for (s, r, mode), have in sorted(parts.items()):
    if s in OWN and all(p in have for p in OWN[s]):
        raw.append({"system": s, "repeat": r, "metric": f"http_{mode}_own_us_per_req",
                    "value": round(sum(have[p] for p in OWN[s]), 2)})

vals = {}
for m in raw:
    vals.setdefault(m["system"], {}).setdefault(m["metric"], []).append(m["value"])
med = {s: {k: statistics.median(v) for k, v in ms.items()} for s, ms in vals.items()}
n_rep = {s: {k: len(v) for k, v in ms.items()} for s, ms in vals.items()}


def get(s, k):
    return med.get(s, {}).get(k)


# The load balancer's own CPU per HTTP request: total CPU per request minus plain
# routing's in the same run (XDP and iptables work in softirq, which is not per
# process); HAProxy: its process time as well.
for s in ("baton", "iptables", "haproxy", "baton-l7", "haproxy-http"):
    for mode in ("ka", "close"):
        t, base = get(s, f"http_{mode}_cpu_us_per_req"), get("routing", f"http_{mode}_cpu_us_per_req")
        if t is not None and base is not None:
            med[s][f"http_{mode}_lb_us_per_req"] = round(t - base, 2)

ratios = {}
paired = {}  # median over the repeats of the ratio within each repeat (same minutes)
by_rep = {}
for m in raw:
    by_rep.setdefault((m["system"], m["metric"]), {})[m["repeat"]] = m["value"]


def ratio(name, a, b):
    if a is not None and b:
        ratios[name] = round(a / b, 3)
    sa, sb = name.split(" ")[0].split("/")
    key = name.split(" ")[1]
    ra, rb = by_rep.get((sa, key), {}), by_rep.get((sb, key), {})
    rs = [ra[r] / rb[r] for r in ra if r in rb and rb[r]]
    if len(rs) > 1:
        paired[name] = round(statistics.median(rs), 3)


for k in ("ack_mpps", "synfit_mpps", "syn_mpps"):
    ratio(f"baton/fwd {k}", get("baton", k), get("fwd", k))
    ratio(f"iptables/fwd {k}", get("iptables", k), get("fwd", k))
    ratio(f"baton/iptables {k}", get("baton", k), get("iptables", k))
for k in ("http_ka_rps", "http_close_rps", "iperf_gbps"):
    for peer in ("iptables", "haproxy", "routing"):
        ratio(f"baton/{peer} {k}", get("baton", k), get(peer, k))
for mode in ("ka", "close"):
    ratio(f"baton/haproxy http_{mode}_lb_us_per_req", get("baton", f"http_{mode}_lb_us_per_req"),
          get("haproxy", f"http_{mode}_lb_us_per_req"))
    ratio(f"baton-xdp/haproxy-process http_{mode}_cpu_per_req", get("baton", f"http_{mode}_xdp_us_per_req"),
          get("haproxy", f"http_{mode}_proc_us_per_req"))
# Baton (L4) against HAProxy mode tcp and the L7 lane against HAProxy mode http: the
# same figures, for the table and the plot of ratios
PAIRS = [("baton", "haproxy"), ("baton-l7", "haproxy-http")]
VS = [(f"http_{mode}_{k}", f"{what} {m}") for k, what in (("rps", "req/s"), ("p99_us", "p99"),
      ("cpu_us_per_req", "CPU/req all CPUs"), ("own_us_per_req", "CPU/req own"))
      for mode, m in (("ka", "keep-alive"), ("close", "new conn."))]
for a, b in PAIRS:
    for k, _ in VS:
        if f"{a}/{b} {k}" not in ratios:
            ratio(f"{a}/{b} {k}", get(a, k), get(b, k))
    for mode in ("ka", "close"):
        if a == "baton-l7":
            ratio(f"{a}/{b} http_{mode}_lb_us_per_req", get(a, f"http_{mode}_lb_us_per_req"),
                  get(b, f"http_{mode}_lb_us_per_req"))

targets = []


def target(what, r, want, higher=True):
    if r is None:
        targets.append({"target": what, "ratio": None, "met": None})
    elif r < 0:  # a CPU difference over routing below the noise: no verdict
        targets.append({"target": what, "ratio": r, "met": None})
    else:
        targets.append({"target": what, "ratio": r, "met": r >= want if higher else r <= want})


target("established-flow Mpps >= 0.85x bare forwarder", ratios.get("baton/fwd ack_mpps"), 0.85)
target("new-flow Mpps >= 0.7x bare forwarder (SYN flood)", ratios.get("baton/fwd syn_mpps"), 0.7)
target("new-flow Mpps >= 0.7x bare forwarder (24,000 SYNs)", ratios.get("baton/fwd synfit_mpps"), 0.7)
target("established Mpps >= 3x iptables DNAT", ratios.get("baton/iptables ack_mpps"), 3)
target("new-flow Mpps >= 3x iptables DNAT (SYN flood)", ratios.get("baton/iptables syn_mpps"), 3)
target("new-flow Mpps >= 3x iptables DNAT (24,000 SYNs)", ratios.get("baton/iptables synfit_mpps"), 3)
target("HTTP keep-alive req/s >= 2x HAProxy", ratios.get("baton/haproxy http_ka_rps"), 2)
target("HTTP new-connection req/s >= 2x HAProxy", ratios.get("baton/haproxy http_close_rps"), 2)
target("CPU per keep-alive request < 0.2x HAProxy (all CPUs, over routing)",
       ratios.get("baton/haproxy http_ka_lb_us_per_req"), 0.2, higher=False)
target("CPU per new-connection request < 0.2x HAProxy (all CPUs, over routing)",
       ratios.get("baton/haproxy http_close_lb_us_per_req"), 0.2, higher=False)
target("CPU per keep-alive request < 0.2x HAProxy (XDP program vs process time)",
       ratios.get("baton-xdp/haproxy-process http_ka_cpu_per_req"), 0.2, higher=False)
target("CPU per new-connection request < 0.2x HAProxy (XDP program vs process time)",
       ratios.get("baton-xdp/haproxy-process http_close_cpu_per_req"), 0.2, higher=False)
# The L7 lane against HAProxy mode http with the same Host rules (the same targets)
for mode, m in (("ka", "keep-alive"), ("close", "new-connection")):
    target(f"L7 lane: HTTP {m} req/s >= 2x HAProxy mode http",
           ratios.get(f"baton-l7/haproxy-http http_{mode}_rps"), 2)
for mode, m in (("ka", "keep-alive"), ("close", "new-connection")):
    target(f"L7 lane: CPU per {m} request < 0.2x HAProxy mode http (all CPUs, over routing)",
           ratios.get(f"baton-l7/haproxy-http http_{mode}_lb_us_per_req"), 0.2, higher=False)
    target(f"L7 lane: CPU per {m} request < 0.2x HAProxy mode http "
           "(baton-l7 process + XDP program vs process time)",
           ratios.get(f"baton-l7/haproxy-http http_{mode}_own_us_per_req"), 0.2, higher=False)

summary = {"meta": meta, "median": med, "repeats": n_rep, "ratios": ratios,
           "ratios_paired": paired, "targets": targets,
           "bench_sync": sync}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1, sort_keys=True)

ROWS = [
    ("ack_mpps", "Mpps forwarded, 64 B, 4,096 established flows (ACK)", "%.3f"),
    ("syn_mpps", "Mpps forwarded, 64 B, new flows (SYN, no source repeats)", "%.3f"),
    ("synfit_mpps", "Mpps forwarded, 64 B, 24,000 new flows (SYN, within Baton's SNAT ports)", "%.3f"),
    ("ack_tx_mpps", "  generator sent, ACK run (Mpps)", "%.3f"),
    ("syn_tx_mpps", "  generator sent, SYN run (Mpps)", "%.3f"),
    ("ack_xdp_ns_per_pkt", "load balancer's XDP program ns/packet, ACK (BPF stats)", "%.0f"),
    ("syn_xdp_ns_per_pkt", "load balancer's XDP program ns/packet, SYN (BPF stats)", "%.0f"),
    ("synfit_xdp_ns_per_pkt", "load balancer's XDP program ns/packet, 24,000 SYN (BPF stats)", "%.0f"),
    ("ack_ksys_ms_per_mpkt", "kernel CPU ms per Mpkt forwarded, ACK (all CPUs)", "%.0f"),
    ("syn_ksys_ms_per_mpkt", "kernel CPU ms per Mpkt forwarded, SYN (all CPUs)", "%.0f"),
    ("http_ka_rps", "HTTP keep-alive req/s (wrk -t1 -c50)", "%.0f"),
    ("http_ka_p50_us", "  p50 latency us", "%.0f"),
    ("http_ka_p99_us", "  p99 latency us", "%.0f"),
    ("http_ka_cpu_us_per_req", "  CPU us per request, all CPUs", "%.1f"),
    ("http_ka_lb_us_per_req", "  load balancer's CPU us per request (over routing)", "%.1f"),
    ("http_ka_xdp_us_per_req", "  Baton's XDP program us per request (BPF stats)", "%.2f"),
    ("http_ka_proc_us_per_req", "  process CPU us per request (HAProxy; baton-l7, polling included)", "%.1f"),
    ("http_ka_own_us_per_req", "  load balancer's own CPU us per request (process + XDP program)", "%.2f"),
    ("http_close_rps", "HTTP new connection per request, req/s", "%.0f"),
    ("http_close_p50_us", "  p50 latency us", "%.0f"),
    ("http_close_p99_us", "  p99 latency us", "%.0f"),
    ("http_close_cpu_us_per_req", "  CPU us per request, all CPUs", "%.1f"),
    ("http_close_lb_us_per_req", "  load balancer's CPU us per request (over routing)", "%.1f"),
    ("http_close_xdp_us_per_req", "  Baton's XDP program us per request (BPF stats)", "%.2f"),
    ("http_close_snat_busy", "  SYNs Baton dropped: no free SNAT port (drop_snat_busy)", "%.0f"),
    ("http_close_proc_us_per_req", "  process CPU us per request (HAProxy; baton-l7, polling included)", "%.1f"),
    ("http_close_own_us_per_req", "  load balancer's own CPU us per request (process + XDP program)", "%.2f"),
    ("http_close_paws_total", "  backends' PAWS rejects so far (NAT reusing a 4-tuple in TIME_WAIT)", "%.0f"),
    ("iperf_gbps", "iperf3 TCP Gbit/s (one stream)", "%.2f"),
    ("vhost_routing_ok", "Host routing as configured (1: checked before the runs)", "%.0f"),
    ("rss_kib", "memory: process RSS KiB (batond; HAProxy; baton-l7)", "%.0f"),
    ("batond_rss_kib", "memory: batond RSS KiB next to baton-l7", "%.0f"),
    ("map_memlock_kib", "memory: BPF maps KiB (outer maps, memlock)", "%.0f"),
    ("conntrack_entries", "conntrack entries left after the runs", "%.0f"),
]
present = [s for s in SYSTEMS if s in med]
lines = []
reps = max((max(v.values()) for v in n_rep.values()), default=0)
lines.append(f"Run {meta.get('date')} on kernel {meta.get('kernel')}, {meta.get('cpus')} vCPUs, "
             f"commit {meta.get('commit')}; median of {reps} repeat(s)"
             f"{' (--quick: figures mean nothing)' if meta.get('quick') else ''}; "
             f"load average at the start {meta.get('loadavg')}.")
lines.append("")
lines.append("| | " + " | ".join(NAMES[s] for s in present) + " |")
lines.append("|---|" + "---|" * len(present))
for key, label, fmt in ROWS:
    if not any(get(s, key) is not None for s in present):
        continue
    cells = [(fmt % get(s, key)) if get(s, key) is not None else "-" for s in present]
    lines.append(f"| {label} | " + " | ".join(cells) + " |")
lines.append("")
lines.append("| ratio (same run) | of the medians | median of per-repeat ratios |")
lines.append("|---|---|---|")
for k in sorted(ratios):
    pr = "%.3f" % paired[k] if k in paired else "-"
    lines.append(f"| {k} | {ratios[k]:.3f} | {pr} |")
lines.append("")
lines.append("| target (issue 6) | Baton's ratio | met |")
lines.append("|---|---|---|")
for t in targets:
    r = "-" if t["ratio"] is None else "%.3f" % t["ratio"]
    met = "-" if t["met"] is None else ("yes" if t["met"] else "**no**")
    lines.append(f"| {t['target']} | {r} | {met} |")
if sync:
    lines.append("")
    lines.append("Control plane (perf/bench_sync, %s apps x %s tasks): %s" % (
        sync.get("apps"), sync.get("tasks_per_app"),
        ", ".join(f"{k} {v}" for k, v in sync.items()
                  if k.endswith("_ms") or k.endswith("_kib") or k.endswith("ratio"))))
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")

# Plots: one bar chart per group, systems as bars (gnuplot-nox, PNG via pngcairo or png)
if shutil.which("gnuplot"):
    groups = [
        ("mpps", "Mpps forwarded at 64 B", [("ack_mpps", "established (ACK)"), ("synfit_mpps", "24,000 new flows (SYN)"), ("syn_mpps", "SYN flood")]),
        ("http_rps", "HTTP requests/s", [("http_ka_rps", "keep-alive"), ("http_close_rps", "new connection")]),
        ("http_lat", "HTTP p99 latency (us)", [("http_ka_p99_us", "keep-alive p99"), ("http_close_p99_us", "new connection p99")]),
        ("cpu", "CPU us per HTTP request (all CPUs)", [("http_ka_cpu_us_per_req", "keep-alive"), ("http_close_cpu_us_per_req", "new connection")]),
        ("cpu_own", "own CPU us per HTTP request (process + XDP program)", [("http_ka_own_us_per_req", "keep-alive"), ("http_close_own_us_per_req", "new connection")]),
        ("iperf", "iperf3 Gbit/s", [("iperf_gbps", "one TCP stream")]),
    ]
    ok = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], capture_output=True)
    term = "pngcairo size 800,450" if ok.returncode == 0 and not ok.stderr else "png size 800,450"

    def plot(name, title, cols, rows, extra=""):
        """A clustered bar chart: one cluster per row (label, values), a bar per column."""
        dat = os.path.join(out, name + ".dat")
        with open(dat, "w") as f:
            f.write("x " + " ".join('"%s"' % c for c in cols) + "\n")
            for label, values in rows:
                f.write('"%s" ' % label + " ".join(
                    str(v) if v is not None else "0" for v in values) + "\n")
        bars = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})"
                         for i in range(len(cols)))
        script = f"""set terminal {term}
set output '{os.path.join(out, name + ".png")}'
set title "{title} ({meta.get('date')}, median of {reps})"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key top right
{extra}
plot {bars}
"""
        r = subprocess.run(["gnuplot"], input=script.encode(), capture_output=True)
        if r.returncode != 0:
            print("gnuplot failed for %s: %s" % (name, r.stderr.decode()[:300]), file=sys.stderr)

    for name, title, cols in groups:
        systems = [s for s in present if any(get(s, k) is not None for k, _ in cols)]
        if systems:
            plot(name, title, [c[1] for c in cols], [(NAMES[s], [get(s, k) for k, _ in cols]) for s in systems])
    # Ratios to HAProxy in the same run: Baton / mode tcp, the L7 lane / mode http
    pairs = [(a, b) for a, b in PAIRS if any(f"{a}/{b} {k}" in ratios for k, _ in VS)]
    rows = [(label, [ratios.get(f"{a}/{b} {k}") for a, b in pairs]) for k, label in VS
            if any(f"{a}/{b} {k}" in ratios for a, b in pairs)]
    if rows:
        plot("vs_haproxy", "ratio to HAProxy, same run (> 1: more req/s, CPU, p99)",
             [f"{NAMES[a]} / {NAMES[b]}" for a, b in pairs], rows,
             "set key below\nset xtics rotate by -30\n"
             "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2")
print("report: %s/summary.md, summary.json, *.png" % out)
