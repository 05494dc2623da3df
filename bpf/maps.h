/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP program's maps. Layouts come from include/baton_abi.h. batond pins them
 * under <bpffs>/baton/ (explicitly, so a test that loads the program pins nothing).
 */
#ifndef BATON_BPF_MAPS_H
#define BATON_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "baton_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BATON_MAX_FRONTENDS);
	__type(key, struct baton_frontend_key);
	__type(value, struct baton_frontend);
} frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BATON_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct baton_backend);
} backends SEC(".maps");

/* Inner template only: batond creates each table with its own size (BPF_F_INNER_MAP). */
struct maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, BATON_MAGLEV_DEFAULT + 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2 * BATON_MAX_SERVICES); /* two generations per service */
	__type(key, __u32);
	__array(values, struct maglev_table);
} maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2 * BATON_FLOWS_DEFAULT);
	__type(key, struct baton_flow_key);
	__type(value, struct baton_flow);
} flows SEC(".maps");

/*
 * Embryonic TCP flows: SYN seen, the client's ACK not yet. Same layout as flows, its
 * own (smaller) LRU, so spoofed SYNs evict only each other, never an established flow.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2 * BATON_SYN_FLOWS_DEFAULT);
	__type(key, struct baton_flow_key);
	__type(value, struct baton_flow);
} syn_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct baton_config);
} config SEC(".maps");

/* Ingress ifindex -> its MAC, for the interfaces that answer ARP / NDP for VIPs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BATON_MAX_L2_IFACES);
	__type(key, __u32);
	__type(value, struct baton_l2_iface);
} l2_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BATON_R_MAX);
	__type(key, __u32);
	__type(value, struct baton_reason_stats);
} reason_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BATON_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct baton_stats);
} svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BATON_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct baton_stats);
} be_stats SEC(".maps");

/* Per CPU, per backend: where this CPU's walk through its SNAT ports stands. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BATON_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
} snat_cur SEC(".maps");

/*
 * The L7 lane's maps (include/baton_abi.h): the routing table and its meta, written by
 * batond; baton-l7's counters, written by baton-l7. The XDP program does not read them:
 * they live here so that they are created and pinned with the others.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * BATON_MAX_L7_ROUTES);
	__type(key, __u32);
	__type(value, struct baton_l7_route);
} l7_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct baton_l7_meta);
} l7_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct baton_l7_stats);
} l7_stats SEC(".maps");

/* Next hops without a neighbour entry, for batond to resolve. Not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} neigh_req SEC(".maps");

/*
 * Per CPU: the next hop towards a backend as the last new flow to it resolved it, so that
 * new flows do not each pay bpf_fib_lookup() (a sixth of a SYN in bench_xdp). A new
 * flow takes it over with its age: the flow re-resolves when the cached result is
 * fib_cache_ns old, so no next hop, neighbour MAC included, is used longer than a flow's
 * own cache would keep it. Slot: backend id modulo NH_CACHE_SLOTS; the entry names its
 * backend, the addresses and the ingress interface it was resolved for. Not pinned,
 * not part of the ABI.
 */
#define NH_CACHE_SLOTS 4096
struct nh_cache_entry {
	__u64 fib_ns; /* 0 = empty */
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 backend_id;
	__u32 in_ifindex;
	__u32 fib_ifindex;
	__u8 smac[6];
	__u8 dmac[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NH_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct nh_cache_entry);
} nh_cache SEC(".maps");

/*
 * Per-CPU scratch for building a new flow's two entries: they do not fit on the
 * 512-byte BPF stack next to everything else. Not pinned, not part of the ABI.
 */
struct new_flow_scratch {
	struct baton_flow fwd;
	struct baton_flow rep;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct new_flow_scratch);
} scratch SEC(".maps");

#endif /* BATON_BPF_MAPS_H */
