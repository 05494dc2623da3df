/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp: nanoseconds per packet of Baton's XDP program, measured with
 * BPF_PROG_TEST_RUN next to two trivial programs (XDP_PASS, XDP_TX) in the same run.
 *
 * Cases, IPv4 and IPv6:
 *   nonvip   TCP packet to an address that is no VIP (the host's own traffic)
 *   est      client -> VIP ACK of an existing flow (flow hit, rewrite, XDP_TX)
 *   new      client -> VIP SYN, each from a new client address:port (Maglev, SNAT
 *            port, next hop (cached per backend), two inserts into the embryonic
 *            table, XDP_TX)
 *   promote  the client's ACK completing such a handshake (its SYN sent untimed just
 *            before): the flow moves from the embryonic table to the main one
 *   reply    backend -> SNAT address ACK of the existing flow (reply entry, XDP_TX)
 *   many     client -> VIP ACKs cycling through N established flows (opened with a SYN
 *            and an ACK each beforehand): the flow table touched all over, as by
 *            real traffic, instead of one hot entry
 *
 * Method. A test run with repeat > 1 hands the rewritten packet to the next repeat, so
 * for every case that rewrites, repeat would measure another path after the first
 * packet. Instead every case (trivial programs included) is measured with N test runs
 * of repeat = 1, each on a fresh copy of its packet, and each run's in-kernel
 * `duration` (ns around the program only, as the kernel's test-run timer measures it)
 * is collected; the table shows median and p90. Cases are interleaved in blocks, so
 * slow drift of the machine hits all of them alike. Every run's verdict is checked, each
 * block of runs must move the expected reason counter by exactly its number of runs,
 * and the first output packet of each case is parsed (addresses, ports, MACs,
 * checksums): a broken setup aborts instead of producing a number. Besides, the classic repeat
 * mode (one run of R packets, ns/packet = duration) is reported for the cases whose
 * processing is idempotent: the trivial programs, non-VIP pass, and an established
 * flow whose two synthetic entries translate the packet back and forth (ping-pong).
 *
 * The process pins itself to one CPU and moves into a private network namespace with a
 * veth whose routes and PERMANENT neighbours make bpf_fib_lookup() succeed:
 *
 *   bt0 10.0.0.1/24 fd00::1/64   clients via router 10.0.0.254 / fd00::fe (default),
 *                                 backends 10.0.0.20+i / fd00::20+i, i < NR_BACKENDS
 *
 * so forwarded packets leave where they came in: XDP_TX.
 *
 * The XDP tests' code does the rest: packets are built and output checksums verified
 * by their packet builder (tests/bpf/pkt.c), the namespace is set up, the maps are
 * filled and the programs are run by their fixture (tests/bpf/fixture.c).
 *
 * --breakdown runs none of these but the IPv4 new flow and promote through copies of
 * the program that do one step twice or leave it out (see breakdown() below).
 *
 * Exit status: 0 done, 1 error (setup or a wrong verdict), 77 skipped (not root, no
 * BPF, no network namespace).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton_abi.h"
#include "baton.skel.h"
#include "fixture.h" /* tests/bpf: namespace, maps, test runs */
#include "pkt.h"     /* tests/bpf: packet builder and checksum verifier */
#include "trivial.skel.h"

#define RUNS_DEFAULT 20000
#define RUNS_MAX 100000
#define REPEAT_DEFAULT 200000
#define REPEAT_BATCHES 7
#define WARMUP 500 /* runs per case before measuring */
#define BLOCK 500  /* consecutive runs of one case before the next case's turn */

/* ---- The world in the namespace ---- */

#define IF_NAME "bt0"
#define NR_BACKENDS 16 /* per family */
#define BE_PORT 8080
#define VIP_PORT 80
#define MAGLEV_M BATON_MAGLEV_DEFAULT
#define SVC4 1
#define SVC6 2
#define BE4_BASE 0 /* backend ids */
#define BE6_BASE NR_BACKENDS

static const uint8_t mac_if[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_peer[6] = { 0x02, 0, 0, 0, 0x0a, 0x02 };
static const uint8_t mac_router[6] = { 0x02, 0, 0, 0, 0x0a, 0xfe };
static uint8_t mac_be[NR_BACKENDS][6]; /* backend i: 02:00:00:00:0b:i */

#define HOST4 "10.0.0.1" /* the machine's own address: non-VIP traffic goes here */
#define HOST6 "fd00::1"
#define ROUTER4 "10.0.0.254"
#define ROUTER6 "fd00::fe"
#define SNAT4 "10.0.0.3"
#define SNAT6 "fd00::3"
#define VIP4 "192.0.2.10"
#define VIP6 "2001:db8::10"
#define CLIENT4 "198.51.100.7" /* the established flow's client */
#define CLIENT6 "2001:db8:100::7"
#define CLIENT_PORT 40000
#define PP_CLIENT4 "198.51.100.8" /* the ping-pong pair's client */
#define PP_SNAT_PORT 50000	  /* outside the SNAT range: no collision */
#define NEW_NET4 0xc6120000u	  /* 198.18.0.0/15: new flows' clients */
#define NEW_NET6 "2001:db8:c::"
#define NEW_PORTS 60000		       /* client ports per new-flow client address */
#define MANY_BASE (100 * NEW_PORTS)    /* client numbers of the "many" flows */
#define PROMOTE_BASE (200 * NEW_PORTS) /* and of the "promote" handshakes */

static int ifindex;
static struct baton_bpf *skel;
static struct trivial_bpf *triv;
static int cpu;

static void be_addr(int family, int i, char *buf, size_t len)
{
	if (family == 4)
		snprintf(buf, len, "10.0.0.%d", 20 + i);
	else
		snprintf(buf, len, "fd00::%x", 0x20 + i);
}

/* bt0 with a default route through the router and every backend as a neighbour. */
static int netns_setup(void)
{
	static const struct fx_link link = { IF_NAME, mac_if, mac_peer, HOST4 "/24", HOST6 "/64" };
	static const char *const routes[] = { "default via " ROUTER4 " dev " IF_NAME,
					      "::/0 via " ROUTER6 " dev " IF_NAME };
	static char be[NR_BACKENDS][2][64];
	struct fx_neigh neighs[2 + 2 * NR_BACKENDS] = {
		{ ROUTER4, mac_router, IF_NAME },
		{ ROUTER6, mac_router, IF_NAME },
	};
	struct fx_netns ns = {
		.links = &link,
		.nlinks = 1,
		.routes = routes,
		.nroutes = 2,
		.neighs = neighs,
		.nneighs = 2, /* the router's; the backends' follow */
	};

	for (int i = 0; i < NR_BACKENDS; i++) {
		mac_be[i][0] = 0x02;
		mac_be[i][4] = 0x0b;
		mac_be[i][5] = (uint8_t)i;
		for (int f = 0; f < 2; f++) {
			be_addr(f ? 6 : 4, i, be[i][f], sizeof(be[i][f]));
			neighs[ns.nneighs++] = (struct fx_neigh){ be[i][f], mac_be[i], IF_NAME };
		}
	}
	return fx_netns_setup(&ns, &ifindex);
}

/* ---- Packets ---- */

struct tuple {
	int family; /* 4 or 6 */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport; /* host order */
};

static int addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

/* t as the builder's spec; s and d hold its address strings. */
static struct pkt_spec tuple_spec(const struct tuple *t, char *s, char *d)
{
	int af = t->family == 4 ? AF_INET : AF_INET6;

	inet_ntop(af, t->saddr, s, INET6_ADDRSTRLEN);
	inet_ntop(af, t->daddr, d, INET6_ADDRSTRLEN);
	return (struct pkt_spec){ .family = t->family,
				  .saddr = s,
				  .daddr = d,
				  .proto = IPPROTO_TCP,
				  .sport = t->sport,
				  .dport = t->dport };
}

/*
 * Router -> bt0: Ethernet + IPv4/IPv6 + 20-byte TCP, no payload, seq 0x00010001, ack
 * 0x101 with ACK, window 65535; checksums correct. Returns the length.
 */
static int build_tcp(uint8_t *buf, size_t cap, const struct tuple *t, uint8_t flags)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct pkt_spec spec = tuple_spec(t, s, d);
	int len;

	spec.dmac = mac_if;
	spec.smac = mac_router;
	spec.tcp_flags = flags;
	spec.seq = 0x00010001;
	spec.ack = flags & TH_ACK ? 0x101 : 0;
	spec.window = 65535;
	len = pkt_build(&spec, buf, cap);
	if (len < 0) {
		fprintf(stderr, "bug: building a packet: %s\n", pkt_build_error());
		exit(1);
	}
	return len;
}

/*
 * An output packet must be what build_tcp makes: no VLAN tag, a 20/40-byte IP header,
 * a 20-byte TCP header and nothing else; all checksums right.
 */
static int parse_tcp(const uint8_t *buf, uint32_t len, struct tuple *t, uint8_t *smac,
		     uint8_t *dmac, char *err, size_t errlen)
{
	struct pkt_info pi;
	char verr[200];

	memset(t, 0, sizeof(*t));
	pkt_parse(buf, len, &pi);
	if (pi.family == 0 || pi.nvlan || pi.proto != IPPROTO_TCP ||
	    pi.l4_off != 14 + (pi.family == 4 ? 20 : 40) || pi.l4_off + 20 != (int)len ||
	    pi.l3_end != (int)len) {
		snprintf(err, errlen, "output: ethertype %#x, length %u", pi.ethertype, len);
		return -1;
	}
	if (pkt_verify(buf, len, 0, verr, sizeof(verr))) {
		snprintf(err, errlen, "output: %s", verr);
		return -1;
	}
	memcpy(dmac, buf, 6);
	memcpy(smac, buf + 6, 6);
	t->family = pi.family;
	memcpy(t->saddr, pi.saddr, 16);
	memcpy(t->daddr, pi.daddr, 16);
	t->sport = pi.sport;
	t->dport = pi.dport;
	return 0;
}

static void tuple_str(const struct tuple *t, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = t->family == 4 ? AF_INET : AF_INET6;

	inet_ntop(af, t->saddr, s, sizeof(s));
	inet_ntop(af, t->daddr, d, sizeof(d));
	snprintf(buf, len, "%s:%u -> %s:%u", s, t->sport, d, t->dport);
}

/* ---- Maps, as batond fills them ---- */

static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A Maglev table of M slots spread over n backends from id base, in maglev[svc]. */
static int add_maglev(uint32_t svc, uint32_t base, uint32_t n)
{
	uint32_t *slots = calloc(MAGLEV_M + 1, sizeof(*slots));
	int rc;

	if (slots == NULL) {
		fprintf(stderr, "setup: out of memory\n");
		return -1;
	}
	for (uint32_t i = 0; i <= MAGLEV_M; i++)
		slots[i] = base + (i * 7919u) % n; /* a permutation of backends, like Maglev */
	slots[BATON_MAGLEV_SIZE_SLOT] = MAGLEV_M;
	rc = fx_put_maglev(skel, svc, slots, MAGLEV_M + 1);
	free(slots);
	return rc;
}

static int fill_maps(void)
{
	struct baton_config cfg;
	char s[64];

	/* SNAT ports 1024-32767 and the fixture's default timeouts (fixture.h). */
	fx_config_init(&cfg, SNAT4, SNAT6);
	if (fx_put_config(skel, &cfg))
		return -1;
	for (int f = 4; f <= 6; f += 2) {
		const char *vip = f == 4 ? VIP4 : VIP6;
		uint32_t svc = f == 4 ? SVC4 : SVC6, base = f == 4 ? BE4_BASE : BE6_BASE;

		for (uint32_t i = 0; i < NR_BACKENDS; i++) {
			be_addr(f, (int)i, s, sizeof(s));
			if (fx_put_backend(skel, base + i, f, s, BE_PORT))
				return -1;
		}
		/* The frontend, the address entry batond adds for every VIP, the table. */
		if (fx_put_frontend(skel, f, vip, VIP_PORT, IPPROTO_TCP, svc) ||
		    fx_put_frontend(skel, f, vip, 0, 0, svc) || add_maglev(svc, base, NR_BACKENDS))
			return -1;
	}
	return 0;
}

/* Sum over CPUs of a reason counter of object sk. */
static uint64_t reason_count(struct baton_bpf *sk, uint32_t reason)
{
	struct baton_reason_stats s;

	if (fx_percpu_sum(bpf_map__fd(sk->maps.reason_stats), reason, sizeof(s), &s.packets, 2))
		exit(1);
	return s.packets;
}

static void print_reason_deltas(struct baton_bpf *sk, const uint64_t *before)
{
	for (uint32_t r = 0; r < BATON_R_MAX; r++) {
		uint64_t d = reason_count(sk, r) - before[r];

		if (d)
			fprintf(stderr, "  reason %s: +%llu\n", baton_reason_name(r),
				(unsigned long long)d);
	}
}

/* ---- Cases ---- */

enum kind {
	K_TRIV_PASS,
	K_TRIV_TX,
	K_NONVIP,
	K_EST,
	K_NEW,
	K_PROMOTE,
	K_REPLY,
	K_EST_MANY
};

struct bcase {
	const char *name; /* table */
	const char *key;  /* JSON */
	enum kind kind;
	int family;
	int prog_fd;
	struct baton_bpf *sk; /* the Baton object prog_fd belongs to (its counters) */
	int want;	      /* verdict */
	int reason;	      /* Baton's reason counter, -1 for the trivial programs */
	uint8_t pkt[128];     /* fixed packet (all but K_NEW, K_PROMOTE, K_EST_MANY) */
	int len;
	uint32_t seq;	    /* K_NEW, K_PROMOTE: runs so far, each a new client address:port */
	uint32_t nflows;    /* K_EST_MANY: ACKs cycle through this many flows */
	struct tuple reply; /* K_EST: what the output must be */
	uint32_t *ns;
	int n;
	double median, p90;
	bool have_repeat;
	double rep_ns; /* repeat mode, median over batches */
};

static struct tuple flow4, flow6;    /* the established flows (client side) */
static struct baton_flow fwd4, fwd6; /* and their forward entries */

static struct tuple new_client(int family, uint32_t seq)
{
	struct tuple t = { .family = family };
	uint32_t host = 1 + seq / NEW_PORTS;

	if (family == 4) {
		uint32_t a = htonl(NEW_NET4 + host);

		memcpy(t.saddr, &a, 4);
		fx_addr(4, VIP4, t.daddr);
	} else {
		fx_addr(6, NEW_NET6, t.saddr);
		t.saddr[12] = (uint8_t)(host >> 24);
		t.saddr[13] = (uint8_t)(host >> 16);
		t.saddr[14] = (uint8_t)(host >> 8);
		t.saddr[15] = (uint8_t)host;
		fx_addr(6, VIP6, t.daddr);
	}
	t.sport = (uint16_t)(1024 + seq % NEW_PORTS);
	t.dport = VIP_PORT;
	return t;
}

/* The SYN that opens flow t (embryonic), outside any measurement. */
static int syn_untimed(const struct bcase *c, const struct tuple *t)
{
	uint8_t buf[128];
	struct fx_run r = { .in = buf, .ifindex = ifindex, .repeat = 1 };

	r.len = (uint32_t)build_tcp(buf, sizeof(buf), t, TH_SYN);
	if (fx_xdp_run(c->prog_fd, &r) || r.retval != XDP_TX) {
		fprintf(stderr, "%s: SYN opening a flow: %s\n", c->name,
			fx_xdp_action_name(r.retval));
		return -1;
	}
	return 0;
}

/*
 * One test run, repeat = 1, on a fresh copy of the case's packet. With out != NULL
 * the output packet is returned. Returns the in-kernel duration in ns, or -1.
 */
static long run_one(struct bcase *c, uint8_t *out, uint32_t *out_len, uint32_t *retval)
{
	uint8_t buf[128];
	struct fx_run r = {
		.in = c->pkt, .len = (uint32_t)c->len, .ifindex = ifindex, .repeat = 1
	};

	if (c->kind == K_NEW) {
		struct tuple t = new_client(c->family, c->seq++);

		r.len = (uint32_t)build_tcp(buf, sizeof(buf), &t, TH_SYN);
		r.in = buf;
	} else if (c->kind == K_EST_MANY) {
		struct tuple t = new_client(c->family, MANY_BASE + c->seq++ % c->nflows);

		r.len = (uint32_t)build_tcp(buf, sizeof(buf), &t, TH_ACK);
		r.in = buf;
	} else if (c->kind == K_PROMOTE) {
		struct tuple t = new_client(c->family, PROMOTE_BASE + c->seq++);

		if (syn_untimed(c, &t))
			return -1;
		r.len = (uint32_t)build_tcp(buf, sizeof(buf), &t, TH_ACK);
		r.in = buf;
	}
	if (out != NULL) {
		r.out = out;
		r.out_len = *out_len;
	}
	if (fx_xdp_run(c->prog_fd, &r)) {
		fprintf(stderr, "%s: BPF_PROG_TEST_RUN: %s\n", c->name, strerror(errno));
		return -1;
	}
	if (out != NULL)
		*out_len = r.out_len;
	*retval = r.retval;
	return (long)r.duration;
}

static bool same_addr(int family, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, (size_t)addr_len(family)) == 0;
}

/* The first run of each case: its output packet must be what the case is about. */
static int check_output(struct bcase *c)
{
	uint8_t out[256], smac[6], dmac[6];
	uint32_t out_len = sizeof(out), retval;
	struct tuple t, want;
	char err[256] = "", got_s[160], want_s[160];
	uint8_t snat[16];

	if (run_one(c, out, &out_len, &retval) < 0)
		return -1;
	if ((int)retval != c->want) {
		fprintf(stderr, "%s: first run: verdict %s, want %s\n", c->name,
			fx_xdp_action_name(retval), fx_xdp_action_name((uint32_t)c->want));
		return -1;
	}
	if (c->kind == K_TRIV_PASS || c->kind == K_TRIV_TX)
		return 0;
	if (c->kind == K_NONVIP) {
		if (out_len != (uint32_t)c->len || memcmp(out, c->pkt, out_len)) {
			fprintf(stderr, "%s: the packet was modified\n", c->name);
			return -1;
		}
		return 0;
	}
	if (parse_tcp(out, out_len, &t, smac, dmac, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", c->name, err);
		return -1;
	}
	tuple_str(&t, got_s, sizeof(got_s));
	fx_addr(c->family, c->family == 4 ? SNAT4 : SNAT6, snat);
	if (memcmp(smac, mac_if, 6)) {
		snprintf(err, sizeof(err), "source MAC is not %s's", IF_NAME);
	} else if (c->kind == K_NEW || c->kind == K_EST_MANY || c->kind == K_PROMOTE) {
		/* To a backend from the SNAT address, a port of this CPU's share. */
		int ncpu = fx_nr_cpus();

		if (!same_addr(c->family, t.saddr, snat) || t.dport != BE_PORT || t.sport < 1024 ||
		    t.sport > 32767 || (t.sport - 1024) % ncpu != cpu % ncpu)
			snprintf(err, sizeof(err), "not SNAT -> backend:%d on CPU %d's ports",
				 BE_PORT, cpu);
		else if (dmac[0] != 0x02 || dmac[4] != 0x0b)
			snprintf(err, sizeof(err), "destination MAC is not a backend's");
	} else {
		want = c->reply;
		tuple_str(&want, want_s, sizeof(want_s));
		if (memcmp(&t, &want, sizeof(t)))
			snprintf(err, sizeof(err), "want %s", want_s);
		else if (c->kind == K_REPLY && memcmp(dmac, mac_router, 6))
			snprintf(err, sizeof(err), "destination MAC is not the router's");
		else if (c->kind == K_EST && (dmac[0] != 0x02 || dmac[4] != 0x0b))
			snprintf(err, sizeof(err), "destination MAC is not a backend's");
	}
	if (err[0]) {
		fprintf(stderr, "%s: output %s: %s\n", c->name, got_s, err);
		return -1;
	}
	return 0;
}

/* n runs of a case into c->ns[c->n...]; every verdict checked. */
static int run_block(struct bcase *c, int n, bool record)
{
	uint64_t before[BATON_R_MAX];
	uint32_t retval;

	if (c->reason >= 0)
		for (uint32_t r = 0; r < BATON_R_MAX; r++)
			before[r] = reason_count(c->sk, r);
	for (int i = 0; i < n; i++) {
		long d = run_one(c, NULL, NULL, &retval);

		if (d < 0)
			return -1;
		if ((int)retval != c->want) {
			fprintf(stderr,
				"%s: run %d: verdict %s, want %s: the setup or the program is "
				"broken, no numbers\n",
				c->name, c->n + i, fx_xdp_action_name(retval),
				fx_xdp_action_name((uint32_t)c->want));
			if (c->reason >= 0) {
				fprintf(stderr, "reason counters in this block of runs:\n");
				print_reason_deltas(c->sk, before);
			}
			return -1;
		}
		if (record)
			c->ns[c->n + i] = (uint32_t)d;
	}
	if (record)
		c->n += n;
	if (c->reason >= 0) {
		uint64_t d = reason_count(c->sk, (uint32_t)c->reason) - before[c->reason];

		/* K_PROMOTE: the untimed SYN of each run counts too. */
		if (d != (uint64_t)n * (c->kind == K_PROMOTE ? 2 : 1)) {
			fprintf(stderr, "%s: %llu of %d runs counted as %s\n", c->name,
				(unsigned long long)d, n, baton_reason_name((uint32_t)c->reason));
			print_reason_deltas(c->sk, before);
			return -1;
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Repeat mode: R packets in one test run (edits carry over: idempotent cases only). */
static int run_repeat(struct bcase *c, uint32_t repeat, const uint8_t *pkt, int len)
{
	double ns[REPEAT_BATCHES];
	uint64_t before = 0;

	for (int b = 0; b < REPEAT_BATCHES; b++) {
		struct fx_run r = {
			.in = pkt, .len = (uint32_t)len, .ifindex = ifindex, .repeat = repeat
		};

		if (c->reason >= 0)
			before = reason_count(c->sk, (uint32_t)c->reason);
		if (fx_xdp_run(c->prog_fd, &r)) {
			fprintf(stderr, "%s (repeat): BPF_PROG_TEST_RUN: %s\n", c->name,
				strerror(errno));
			return -1;
		}
		if ((int)r.retval != c->want) {
			fprintf(stderr, "%s (repeat): verdict %s, want %s\n", c->name,
				fx_xdp_action_name(r.retval),
				fx_xdp_action_name((uint32_t)c->want));
			return -1;
		}
		/* Every one of the R packets must have taken the case's path. */
		if (c->reason >= 0 && reason_count(c->sk, (uint32_t)c->reason) - before != repeat) {
			fprintf(stderr, "%s (repeat): %llu of %u packets counted as %s\n", c->name,
				(unsigned long long)(reason_count(c->sk, (uint32_t)c->reason) -
						     before),
				repeat, baton_reason_name((uint32_t)c->reason));
			return -1;
		}
		ns[b] = (double)r.duration; /* already ns per packet */
	}
	qsort(ns, REPEAT_BATCHES, sizeof(ns[0]), cmp_dbl);
	c->rep_ns = ns[REPEAT_BATCHES / 2];
	c->have_repeat = true;
	return 0;
}

/* ---- Setup of the flows the cases use ---- */

static void tuple_key(const struct tuple *t, struct baton_flow_key *k)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct pkt_spec spec = tuple_spec(t, s, d);

	fx_flow_key(&spec, false, k);
}

static int flow_of(const struct tuple *t, struct baton_flow *out)
{
	struct baton_flow_key k;

	tuple_key(t, &k);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, out)) {
		char s[160];

		tuple_str(t, s, sizeof(s));
		fprintf(stderr, "setup: no flow entry for %s: %s\n", s, strerror(errno));
		return -1;
	}
	return 0;
}

/* A SYN and an ACK through the program, then the forward entry from the flows map. */
static int make_flow(int family, struct tuple *t, struct baton_flow *fwd)
{
	struct bcase syn = { .name = "setup SYN", .kind = K_TRIV_PASS, .family = family };
	uint32_t retval;

	memset(t, 0, sizeof(*t));
	t->family = family;
	fx_addr(family, family == 4 ? CLIENT4 : CLIENT6, t->saddr);
	fx_addr(family, family == 4 ? VIP4 : VIP6, t->daddr);
	t->sport = CLIENT_PORT;
	t->dport = VIP_PORT;
	syn.prog_fd = bpf_program__fd(skel->progs.baton_xdp);
	syn.sk = skel;
	/* The SYN opens it embryonic, the ACK moves it to the main table. */
	for (int i = 0; i < 2; i++) {
		syn.len = build_tcp(syn.pkt, sizeof(syn.pkt), t, i ? TH_ACK : TH_SYN);
		if (run_one(&syn, NULL, NULL, &retval) < 0)
			return -1;
		if (retval != XDP_TX) {
			fprintf(stderr, "setup: %s of IPv%d flow: verdict %s, want XDP_TX\n",
				i ? "ACK" : "SYN", family, fx_xdp_action_name(retval));
			return -1;
		}
	}
	return flow_of(t, fwd);
}

static void tuple_from_entry_out(int family, const struct baton_flow *f, struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	memcpy(t->saddr, f->saddr, (size_t)addr_len(family));
	memcpy(t->daddr, f->daddr, (size_t)addr_len(family));
	t->sport = ntohs(f->sport);
	t->dport = ntohs(f->dport);
}

/*
 * Repeat mode for an established flow: two synthetic forward entries, A translating
 * the client's packet to SNAT -> backend, B translating that back. Each repeat is then
 * a flow hit with rewrite and a (cached) next hop, like the per-run est case.
 */
static void rewrite_to(struct baton_flow *f, const struct baton_flow_key *k)
{
	memcpy(f->saddr, k->saddr, sizeof(f->saddr));
	memcpy(f->daddr, k->daddr, sizeof(f->daddr));
	f->sport = k->sport;
	f->dport = k->dport;
}

static int make_pingpong(struct tuple *a, struct tuple *b)
{
	struct baton_flow_key ka, kb;
	struct baton_flow fa = { .service_id = SVC4,
				 .backend_id = BE4_BASE,
				 .last_seen_ns = coarse_now() },
			  fb = fa;
	char s[64];
	int fd = bpf_map__fd(skel->maps.flows);

	memset(a, 0, sizeof(*a));
	a->family = 4;
	fx_addr(4, PP_CLIENT4, a->saddr);
	fx_addr(4, VIP4, a->daddr);
	a->sport = CLIENT_PORT;
	a->dport = VIP_PORT;
	/* B: SNAT:PP_SNAT_PORT -> backend 0, what A rewrites the client's packet to. */
	memset(b, 0, sizeof(*b));
	b->family = 4;
	fx_addr(4, SNAT4, b->saddr);
	be_addr(4, 0, s, sizeof(s));
	fx_addr(4, s, b->daddr);
	b->sport = PP_SNAT_PORT;
	b->dport = BE_PORT;

	tuple_key(a, &ka);
	tuple_key(b, &kb);
	rewrite_to(&fa, &kb);
	rewrite_to(&fb, &ka);
	if (bpf_map_update_elem(fd, &ka, &fa, BPF_ANY) ||
	    bpf_map_update_elem(fd, &kb, &fb, BPF_ANY)) {
		fprintf(stderr, "setup: ping-pong entries: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Median and p90 of a case's runs. */
static void stats(struct bcase *c)
{
	qsort(c->ns, (size_t)c->n, sizeof(c->ns[0]), cmp_u32);
	c->median = c->ns[c->n / 2];
	if (c->n % 2 == 0)
		c->median = (c->ns[c->n / 2 - 1] + (double)c->ns[c->n / 2]) / 2;
	c->p90 = c->ns[(size_t)c->n * 9 / 10];
}

/*
 * ---- Breakdown (--breakdown): which step of the new-flow path costs what ----
 *
 * perf/meson.build builds baton-x2-<step>.bpf.o next to this program: bpf/baton.bpf.c
 * with BATON_BENCH_X2 set, so that the object does one step of the new-flow path
 * twice. Each object is loaded with its own maps (filled alike), gets the same
 * sequence of IPv4 SYNs (and of promoting ACKs), and its runs are interleaved in blocks
 * with the others'; a step's cost is its object's median minus the "base" object's
 * (the unmodified program, also loaded from a file, so that its tables fill exactly as
 * the variants' do).
 */
struct variant {
	const char *name; /* baton-<name>.bpf.o */
	const char *step;
	bool syn_only;	  /* its handshakes cannot complete: no ACK case */
	const char *file; /* NULL: name */
};

static const struct variant variants[] = {
	{ "base", "(none: the program as batond loads it)", false, NULL },
	{ "x2-parse", "parse: Ethernet, IPv4, TCP headers", false, NULL },
	{ "x2-flow_lookup", "the packet's key in flows + syn_flows", false, NULL },
	{ "x2-frontend", "frontend lookup", false, NULL },
	{ "x2-maglev", "flow hash, Maglev outer + 2 inner lookups, backend", false, NULL },
	{ "x2-snat", "SNAT port: its reply key in flows + syn_flows", false, NULL },
	{ "x2-fib", "bpf_fib_lookup()", false, NULL },
	{ "x2-insert", "2 inserts (ACK: into flows), as replaces", false, NULL },
	{ "x2-counters", "service and backend counters (per-CPU)", false, NULL },
	{ "skip-flow_lookup", "SYN: the packet's key in flows + syn_flows", false, NULL },
	{ "skip-maglev", "flow hash, Maglev lookups (backend: client port % 16)", false, NULL },
	{ "skip-snat", "SNAT port: its reply key in flows + syn_flows", false, NULL },
	{ "skip-fib", "bpf_fib_lookup() (next hop made up)", false, NULL },
	{ "skip-insert", "SYN: the 2 inserts into syn_flows", true, NULL },
	{ "skip-counters", "service and backend counters (per-CPU)", false, NULL },
	{ "skip-all", "all the skip-* steps at once", true, NULL },
	{ "base (again)", "control: base's object, loaded once more, run last", false, "base" },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

/* The skeleton of bpf/baton.bpf.c, its ELF bytes replaced by those of file path. */
static struct baton_bpf *load_variant(const char *path)
{
	struct baton_bpf *obj = calloc(1, sizeof(*obj));
	FILE *f = fopen(path, "rb");
	void *bytes = NULL;
	long sz = -1;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (bytes = malloc((size_t)sz)) != NULL &&
	    fread(bytes, 1, (size_t)sz, f) != (size_t)sz)
		sz = -1;
	if (f != NULL)
		fclose(f);
	if (obj == NULL || bytes == NULL || sz <= 0) {
		fprintf(stderr, "setup: reading %s: %s\n", path, strerror(errno));
		return NULL;
	}
	/* Kept for the process's lifetime: libbpf may refer to it. */
	if (baton_bpf__create_skeleton(obj)) {
		fprintf(stderr, "setup: skeleton for %s\n", path);
		return NULL;
	}
	obj->skeleton->data = bytes;
	obj->skeleton->data_sz = (size_t)sz;
	if (bpf_object__open_skeleton(obj->skeleton, NULL) || baton_bpf__load(obj)) {
		fprintf(stderr, "setup: loading %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return obj;
}

static int breakdown(long runs)
{
	struct bcase cs[2 * NVARIANTS];
	struct baton_bpf *main_skel = skel;
	char dir[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash;

	if (n <= 0 || (dir[n] = 0, slash = strrchr(dir, '/')) == NULL) {
		fprintf(stderr, "setup: where is this program: %s\n", strerror(errno));
		return 1;
	}
	*slash = 0;
	memset(cs, 0, sizeof(cs));
	for (size_t v = 0; v < NVARIANTS; v++) {
		struct baton_bpf *sk;

		snprintf(path, sizeof(path), "%s/baton-%s.bpf.o", dir,
			 variants[v].file != NULL ? variants[v].file : variants[v].name);
		sk = load_variant(path);
		if (sk == NULL)
			return 1;
		skel = sk; /* fill_maps() fills the global one */
		if (fill_maps())
			return 1;
		for (int k = 0; k < 2; k++) {
			struct bcase *c = &cs[2 * v + (size_t)k];

			if (k && variants[v].syn_only)
				continue;
			c->name = variants[v].name;
			c->kind = k ? K_PROMOTE : K_NEW;
			c->family = 4;
			c->sk = sk;
			c->prog_fd = bpf_program__fd(sk->progs.baton_xdp);
			c->want = XDP_TX;
			c->reason = BATON_R_FWD_TX;
			c->ns = calloc((size_t)runs, sizeof(*c->ns));
			if (c->ns == NULL)
				return 1;
		}
	}
	skel = main_skel;
	for (size_t i = 0; i < 2 * NVARIANTS; i++)
		if (cs[i].ns != NULL && (check_output(&cs[i]) || run_block(&cs[i], WARMUP, false)))
			return 1;
	for (long done = 0; done < runs; done += BLOCK) {
		int b = runs - done < BLOCK ? (int)(runs - done) : BLOCK;

		for (size_t i = 0; i < 2 * NVARIANTS; i++)
			if (cs[i].ns != NULL && run_block(&cs[i], b, true))
				return 1;
	}
	for (size_t i = 0; i < 2 * NVARIANTS; i++)
		if (cs[i].ns != NULL)
			stats(&cs[i]);
	printf("\nBreakdown of the IPv4 new-flow path, %ld runs per object and case, interleaved.\n"
	       "x2-*: the step done twice (cost = object - base: the step with warm caches);\n"
	       "skip-*: the step left out (cost = base - object: the step as the packet pays it)\n\n",
	       runs);
	printf("%-17s %-52s %8s %7s %8s %7s\n", "object", "step", "SYN ns", "cost", "ACK ns",
	       "cost");
	for (size_t v = 0; v < NVARIANTS; v++) {
		int sign = strncmp(variants[v].name, "skip-", 5) ? 1 : -1;
		const struct bcase *syn = &cs[2 * v], *ack = &cs[2 * v + 1];

		printf("%-17s %-52s %8.1f %7.1f", variants[v].name, variants[v].step, syn->median,
		       sign * (syn->median - cs[0].median));
		if (ack->ns != NULL)
			printf(" %8.1f %7.1f", ack->median, sign * (ack->median - cs[1].median));
		printf("\n");
	}
	printf("{\"benchmark\":\"xdp_breakdown\",\"runs\":%ld", runs);
	for (size_t v = 0; v < NVARIANTS; v++)
		printf(",\"%s\":{\"syn_ns\":%.1f,\"ack_ns\":%.1f}", variants[v].name,
		       cs[2 * v].median, cs[2 * v + 1].ns != NULL ? cs[2 * v + 1].median : 0.0);
	printf("}\n");
	return 0;
}

/* ---- Output ---- */

static void usage(const char *argv0)
{
	printf("usage: %s [--runs N] [--repeat R] [--cpu C] [--json FILE] [--breakdown]\n"
	       "  --runs N     test runs (repeat = 1) per case, default %d, max %d\n"
	       "  --repeat R   packets per run in repeat mode, default %d (median of %d runs)\n"
	       "  --cpu C      CPU to run on, default the current one\n"
	       "  --json FILE  also write the final JSON line to FILE\n"
	       "  --breakdown  only the new-flow path step by step (baton-x2-*.bpf.o)\n",
	       argv0, RUNS_DEFAULT, RUNS_MAX, REPEAT_DEFAULT, REPEAT_BATCHES);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "breakdown", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum {
		TP,
		TT,
		N4,
		E4,
		F4,
		P4,
		R4,
		M4,
		N6,
		E6,
		F6,
		P6,
		R6,
		M6,
		PP,
		NCASES
	};
	struct bcase cs[NCASES] = {
		[TP] = { "trivial XDP_PASS", "trivial_pass", K_TRIV_PASS, 4 },
		[TT] = { "trivial XDP_TX", "trivial_tx", K_TRIV_TX, 4 },
		[N4] = { "IPv4 non-VIP pass", "v4_nonvip_pass", K_NONVIP, 4 },
		[E4] = { "IPv4 established", "v4_established", K_EST, 4 },
		[F4] = { "IPv4 new flow (SYN)", "v4_new_flow", K_NEW, 4 },
		[P4] = { "IPv4 handshake ACK (promote)", "v4_promote", K_PROMOTE, 4 },
		[R4] = { "IPv4 reply", "v4_reply", K_REPLY, 4 },
		[M4] = { "IPv4 established, N flows", "v4_established_many", K_EST_MANY, 4 },
		[N6] = { "IPv6 non-VIP pass", "v6_nonvip_pass", K_NONVIP, 6 },
		[E6] = { "IPv6 established", "v6_established", K_EST, 6 },
		[F6] = { "IPv6 new flow (SYN)", "v6_new_flow", K_NEW, 6 },
		[P6] = { "IPv6 handshake ACK (promote)", "v6_promote", K_PROMOTE, 6 },
		[R6] = { "IPv6 reply", "v6_reply", K_REPLY, 6 },
		[M6] = { "IPv6 established, N flows", "v6_established_many", K_EST_MANY, 6 },
		[PP] = { "IPv4 established ping-pong", "v4_established_pingpong", K_EST, 4 },
	};
	const char *json_path = NULL;
	long runs = RUNS_DEFAULT, repeat = REPEAT_DEFAULT;
	bool do_breakdown = false;
	cpu_set_t set;
	struct tuple t, pp;
	struct utsname un;
	char line[8192];
	size_t off;
	struct timespec t0, t1;
	int opt, rc;

	cpu = -1;
	while ((opt = getopt_long(argc, argv, "n:r:c:j:bh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtol(optarg, NULL, 10);
			break;
		case 'c':
			cpu = (int)strtol(optarg, NULL, 10);
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'b':
			do_breakdown = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (runs < 100 || runs > RUNS_MAX || repeat < 1 || repeat > 100000000) {
		fprintf(stderr, "--runs must be in [100, %d], --repeat in [1, 1e8]\n", RUNS_MAX);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: bench_xdp needs root (BPF_PROG_TEST_RUN, netns)\n");
		return FX_SKIP;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* One CPU for everything: steady numbers and one SNAT port share. */
	if (cpu < 0)
		cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "cannot run on CPU %d: %s\n", cpu, strerror(errno));
		return 1;
	}

	rc = netns_setup();
	if (rc)
		return rc;

	fx_libbpf_print_setup();
	triv = trivial_bpf__open_and_load();
	if (triv == NULL) {
		fprintf(stderr, "SKIP: cannot load a trivial XDP program: %s\n", strerror(errno));
		return FX_SKIP;
	}
	skel = baton_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "loading Baton's XDP program failed: %s\n", strerror(errno));
		return 1;
	}
	if (fill_maps())
		return 1;
	if (do_breakdown)
		return breakdown(runs);

	for (int i = 0; i < NCASES; i++) {
		struct bcase *c = &cs[i];

		c->ns = calloc((size_t)runs, sizeof(*c->ns));
		if (c->ns == NULL) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		c->prog_fd = bpf_program__fd(skel->progs.baton_xdp);
		c->sk = skel;
		c->want = XDP_TX;
		switch (c->kind) {
		case K_TRIV_PASS:
			c->prog_fd = bpf_program__fd(triv->progs.trivial_pass);
			c->want = XDP_PASS;
			c->reason = -1;
			break;
		case K_TRIV_TX:
			c->prog_fd = bpf_program__fd(triv->progs.trivial_tx);
			c->reason = -1;
			break;
		case K_NONVIP:
			c->want = XDP_PASS;
			c->reason = BATON_R_PASS_NOT_VIP;
			break;
		default:
			c->reason = BATON_R_FWD_TX;
		}
	}

	/* Packets. Trivial programs get the IPv4 non-VIP packet. */
	for (int f = 4; f <= 6; f += 2) {
		struct bcase *nv = &cs[f == 4 ? N4 : N6], *est = &cs[f == 4 ? E4 : E6];
		struct bcase *rep = &cs[f == 4 ? R4 : R6];
		struct baton_flow *fwd = f == 4 ? &fwd4 : &fwd6;
		struct tuple *flow = f == 4 ? &flow4 : &flow6;

		memset(&t, 0, sizeof(t));
		t.family = f;
		fx_addr(f, f == 4 ? CLIENT4 : CLIENT6, t.saddr);
		fx_addr(f, f == 4 ? HOST4 : HOST6, t.daddr);
		t.sport = CLIENT_PORT;
		t.dport = 22;
		nv->len = build_tcp(nv->pkt, sizeof(nv->pkt), &t, TH_ACK);

		if (make_flow(f, flow, fwd))
			return 1;
		est->len = build_tcp(est->pkt, sizeof(est->pkt), flow, TH_ACK);
		tuple_from_entry_out(f, fwd, &est->reply);

		/* Reply: backend -> SNAT address:port, as the forward entry says. */
		memset(&t, 0, sizeof(t));
		t.family = f;
		memcpy(t.saddr, fwd->daddr, (size_t)addr_len(f));
		memcpy(t.daddr, fwd->saddr, (size_t)addr_len(f));
		t.sport = ntohs(fwd->dport);
		t.dport = ntohs(fwd->sport);
		rep->len = build_tcp(rep->pkt, sizeof(rep->pkt), &t, TH_ACK);
		rep->reply = *flow; /* leaves as VIP -> client */
		memcpy(rep->reply.saddr, flow->daddr, 16);
		memcpy(rep->reply.daddr, flow->saddr, 16);
		rep->reply.sport = flow->dport;
		rep->reply.dport = flow->sport;
	}
	memcpy(cs[TP].pkt, cs[N4].pkt, (size_t)cs[N4].len);
	cs[TP].len = cs[N4].len;
	memcpy(cs[TT].pkt, cs[N4].pkt, (size_t)cs[N4].len);
	cs[TT].len = cs[N4].len;

	if (make_pingpong(&pp, &cs[PP].reply)) /* A's output: SNAT:PP_SNAT_PORT -> backend 0 */
		return 1;
	cs[PP].len = build_tcp(cs[PP].pkt, sizeof(cs[PP].pkt), &pp, TH_ACK);

	/* Check each case's first output, warm up, then interleaved blocks. */
	for (int i = 0; i < NCASES; i++)
		if (i != M4 && i != M6 &&
		    (check_output(&cs[i]) || run_block(&cs[i], WARMUP, false)))
			return 1;
	for (long done = 0; done < runs; done += BLOCK) {
		int n = runs - done < BLOCK ? (int)(runs - done) : BLOCK;

		for (int i = 0; i < NCASES; i++)
			if (i != PP && i != M4 && i != M6 && run_block(&cs[i], n, true))
				return 1;
	}
	/*
	 * Established flows, many of them: `runs` flows, each opened with a SYN and an ACK,
	 * then ACKs cycling through them, so the flow table is touched all over as with real
	 * traffic (the est case hits one hot entry). One pass unrecorded, then `runs`
	 * recorded packets; a pass takes far less than fib_cache_ns.
	 */
	for (int f = 4; f <= 6; f += 2) {
		struct bcase *c = &cs[f == 4 ? M4 : M6];

		c->nflows = (uint32_t)runs;
		for (uint32_t i = 0; i < c->nflows; i++) {
			struct tuple nt = new_client(f, MANY_BASE + i);
			uint32_t retval;

			if (syn_untimed(c, &nt))
				return 1;
			c->len = build_tcp(c->pkt, sizeof(c->pkt), &nt, TH_ACK);
			c->kind = K_EST;
			if (run_one(c, NULL, NULL, &retval) < 0 || retval != XDP_TX) {
				fprintf(stderr, "%s: opening flow %u failed\n", c->name, i);
				return 1;
			}
			c->kind = K_EST_MANY;
		}
		if (asprintf((char **)&c->name, "IPv%d established, %u flows", f, c->nflows) < 0)
			return 1;
		if (check_output(c) || run_block(c, (int)c->nflows - 1, false))
			return 1;
		c->seq = 0;
		for (long done = 0; done < runs; done += BLOCK)
			if (run_block(c, runs - done < BLOCK ? (int)(runs - done) : BLOCK, true))
				return 1;
	}
	/* The established flows must still be there, unchanged in where they lead. */
	for (int f = 4; f <= 6; f += 2) {
		struct baton_flow now;
		struct baton_flow *fwd = f == 4 ? &fwd4 : &fwd6;

		if (flow_of(f == 4 ? &flow4 : &flow6, &now))
			return 1;
		if (memcmp(now.saddr, fwd->saddr, sizeof(now.saddr) * 2 + 4)) {
			fprintf(stderr, "IPv%d established flow changed during the run\n", f);
			return 1;
		}
	}

	/* Repeat mode, for the idempotent cases. */
	if (run_repeat(&cs[TP], (uint32_t)repeat, cs[TP].pkt, cs[TP].len) ||
	    run_repeat(&cs[TT], (uint32_t)repeat, cs[TT].pkt, cs[TT].len) ||
	    run_repeat(&cs[N4], (uint32_t)repeat, cs[N4].pkt, cs[N4].len) ||
	    run_repeat(&cs[N6], (uint32_t)repeat, cs[N6].pkt, cs[N6].len) ||
	    run_repeat(&cs[PP], (uint32_t)repeat, cs[PP].pkt, cs[PP].len))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* Table. */
	for (int i = 0; i < NCASES; i++)
		if (i != PP)
			stats(&cs[i]);
	uname(&un);
	printf("bench_xdp: kernel %s, CPU %d, %d possible CPUs\n", un.release, cpu, fx_nr_cpus());
	printf("\nPer-run mode: %ld test runs per case, repeat = 1, fresh packet each run;\n"
	       "in-kernel duration per run (includes the test-run timer's own overhead)\n\n",
	       runs);
	printf("%-30s %10s %8s %9s %9s %10s\n", "case", "median ns", "p90 ns", "x pass", "x tx",
	       "+ns/pass");
	for (int i = 0; i < NCASES; i++) {
		struct bcase *c = &cs[i];

		if (i == PP)
			continue;
		printf("%-30s %10.1f %8.1f %9.2f %9.2f %10.1f\n", c->name, c->median, c->p90,
		       c->median / cs[TP].median, c->median / cs[TT].median,
		       c->median - cs[TP].median);
	}
	printf("\nRepeat mode: one test run of %ld packets, ns/packet, median of %d runs\n"
	       "(only cases whose packet is not changed into another path)\n\n",
	       repeat, REPEAT_BATCHES);
	printf("%-30s %10s %8s %9s %9s %10s\n", "case", "ns/pkt", "", "x pass", "x tx", "+ns/pass");
	for (int i = 0; i < NCASES; i++) {
		struct bcase *c = &cs[i];

		if (!c->have_repeat)
			continue;
		printf("%-30s %10.1f %8s %9.2f %9.2f %10.1f\n", c->name, c->rep_ns, "",
		       c->rep_ns / cs[TP].rep_ns, c->rep_ns / cs[TT].rep_ns,
		       c->rep_ns - cs[TP].rep_ns);
	}
	printf("\n(%.1f s)\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	/* JSON line. */
	off = (size_t)snprintf(line, sizeof(line),
			       "{\"benchmark\":\"xdp\",\"kernel\":\"%s\",\"cpu\":%d,\"runs\":%ld,"
			       "\"repeat\":%ld,\"repeat_batches\":%d,\"per_run\":{",
			       un.release, cpu, runs, repeat, REPEAT_BATCHES);
	for (int i = 0, first = 1; i < NCASES; i++) {
		struct bcase *c = &cs[i];

		if (i == PP)
			continue;
		off += (size_t)snprintf(line + off, sizeof(line) - off,
					"%s\"%s\":{\"median_ns\":%.1f,\"p90_ns\":%.1f,"
					"\"ratio_pass\":%.3f,\"ratio_tx\":%.3f}",
					first ? "" : ",", c->key, c->median, c->p90,
					c->median / cs[TP].median, c->median / cs[TT].median);
		first = 0;
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off, "},\"repeat_mode\":{");
	for (int i = 0, first = 1; i < NCASES; i++) {
		struct bcase *c = &cs[i];

		if (!c->have_repeat)
			continue;
		off += (size_t)snprintf(line + off, sizeof(line) - off,
					"%s\"%s\":{\"ns\":%.1f,\"ratio_pass\":%.3f,"
					"\"ratio_tx\":%.3f}",
					first ? "" : ",", c->key, c->rep_ns,
					c->rep_ns / cs[TP].rep_ns, c->rep_ns / cs[TT].rep_ns);
		first = 0;
	}
	snprintf(line + off, sizeof(line) - off, "}}");
	printf("%s\n", line);
	if (json_path != NULL) {
		FILE *f = fopen(json_path, "w");

		if (f == NULL || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0) {
			fprintf(stderr, "writing %s failed\n", json_path);
			return 1;
		}
	}

	baton_bpf__destroy(skel);
	trivial_bpf__destroy(triv);
	return 0;
}
