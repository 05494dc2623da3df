/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The world BPF_PROG_TEST_RUN of Baton's XDP program needs, shared by the XDP tests
 * (test_xdp.c) and the benchmark (perf/bench_xdp.c):
 *
 * - a private network namespace whose veths, addresses, routes and PERMANENT
 *   neighbours make bpf_fib_lookup() succeed (the topology is the caller's);
 * - the maps written as batond writes them, in the layout of include/baton_abi.h:
 *   config, frontends, backends, Maglev tables (inner maps in the outer array);
 * - per-CPU counter sums, flow keys, one XDP test run.
 *
 * Setup functions print what failed (prefix "setup: ") and return -1; a bad address
 * constant is a bug in the caller and exits.
 */
#ifndef BATON_TEST_FIXTURE_H
#define BATON_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baton_abi.h"
#include "pkt.h"

#define FX_SKIP 77 /* exit status of a skipped test */

struct baton_bpf; /* baton.skel.h */

/* ---- Network namespace ---- */

/* A veth NAME (peer NAMEp, also up) with optional addresses ("10.0.0.1/24"). */
struct fx_link {
	const char *name;
	const uint8_t *mac, *peer_mac;
	const char *addr4, *addr6;
};

/* A PERMANENT neighbour entry. */
struct fx_neigh {
	const char *addr;
	const uint8_t *mac;
	const char *dev;
};

struct fx_netns {
	const struct fx_link *links;
	size_t nlinks;
	/* `ip route add` arguments, e.g. "default via 10.0.0.254 dev bt0". */
	const char *const *routes;
	size_t nroutes;
	const struct fx_neigh *neighs;
	size_t nneighs;
};

/*
 * unshare(CLONE_NEWNET), enable IPv4/IPv6 forwarding, then lo up and the topology in
 * one `ip -batch`. ifindex[i] receives the index of links[i]. Returns 0, FX_SKIP (no
 * network namespace or no iproute2) or 1.
 */
int fx_netns_setup(const struct fx_netns *ns, int *ifindex);

/* Run one `ip` command (arguments as printf); 0 or -1. */
int fx_ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "02:00:00:00:0a:01"; the result lives until the fourth call after. */
const char *fx_mac_str(const uint8_t *mac);

/* Numeric address into 16 bytes, network order, IPv4 in the first 4, the rest zero. */
void fx_addr(int family, const char *s, void *out);

/* ---- Maps ---- */

int fx_nr_cpus(void); /* libbpf_num_possible_cpus(), cached; exits if it fails */

/*
 * abi_version, nr_cpus, the SNAT addresses, and these defaults: SNAT ports 1024-32767,
 * TCP idle 3600 s, UDP idle 60 s, TCP close 10 s, port reuse 120 s, next hop cache 1 s,
 * embryonic TCP idle 30 s.
 */
void fx_config_init(struct baton_config *cfg, const char *snat4, const char *snat6);
int fx_put_config(struct baton_bpf *skel, const struct baton_config *cfg);

/* The frontend (addr, port, proto) -> sid; port 0 (and proto 0): the address entry. */
int fx_put_frontend(struct baton_bpf *skel, int family, const char *addr, int port, int proto,
		    uint32_t sid);
int fx_put_backend(struct baton_bpf *skel, uint32_t id, int family, const char *addr, int port);

/*
 * A new inner array of n entries (slot BATON_MAGLEV_SIZE_SLOT holds M, then backend
 * ids; entries past M may hold anything) installed as service sid's table.
 */
int fx_put_maglev(struct baton_bpf *skel, uint32_t sid, const uint32_t *slots, uint32_t n);
void fx_del_maglev(struct baton_bpf *skel, uint32_t sid);

/* Delete every entry of a hash map; 0 or -1. */
int fx_map_clear(int fd);

/* Per-CPU maps whose values are u64 fields: sum nfields over the CPUs, or zero all. */
int fx_percpu_sum(int fd, uint32_t key, size_t value_size, __u64 *sum, size_t nfields);
int fx_percpu_zero(int fd, uint32_t key, size_t value_size);

/* The flow key of the packet s (reverse: of its reply). */
void fx_flow_key(const struct pkt_spec *s, bool reverse, struct baton_flow_key *k);

/* ---- Running the program ---- */

struct fx_run {
	const void *in;
	uint32_t len;
	int ifindex;	  /* ingress */
	uint32_t repeat;  /* 0 = 1 */
	void *out;	  /* NULL: output not wanted */
	uint32_t out_len; /* in: size of out; after: length of the output */
	uint32_t retval, duration;
};

/* One BPF_PROG_TEST_RUN of an XDP program; 0, or -1 with errno set. */
int fx_xdp_run(int prog_fd, struct fx_run *r);

const char *fx_xdp_action_name(uint32_t action);

/* libbpf's messages to stderr, its debug output only with BATON_TEST_DEBUG set. */
void fx_libbpf_print_setup(void);

#endif /* BATON_TEST_FIXTURE_H */
