/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Table-driven tests of the XDP program (docs/xdp.md is the spec), Katran style:
 * each case is {description, input packet, expected action, expected output packet or
 * "unchanged", expected reason}, run through BPF_PROG_TEST_RUN.
 *
 * The process moves itself into a private network namespace (unshare) and builds a
 * small world there, so bpf_fib_lookup() has real routes and neighbours:
 *
 *   bt0 (10.0.0.1/24, fd00::1/64)  <- client traffic via router 10.0.0.254 / fd00::fe,
 *                                      backends 10.0.0.20 / fd00::20 (XDP_TX)
 *   bt1 (10.1.0.1/24, fd01::1/64)  <- backends 10.1.0.20 / fd01::20 (XDP_REDIRECT)
 *
 * Every output packet is compared byte for byte with one the builder (pkt.c) makes
 * from scratch, and its checksums are verified independently (pkt_verify), so an
 * incremental checksum update cannot hide behind a matching builder. SNAT ports are
 * the program's choice: a case marks the port it learns (NEWSNAT) after checking it is
 * in the CPU's partition, and later cases refer to it (SNAT).
 *
 * The namespace, the map writes and the test runs are fixture.c's, shared with
 * perf/bench_xdp. The cases are in test_xdp_cases.h. Run: `meson test -C BUILD --suite
 * bpf` or, for the per-case lines and hex diffs, `BUILD/tests/bpf/test_xdp` as root
 * (BATON_TEST_DEBUG=1 adds libbpf's debug output). Exit status: 0 all passed, 1 a case
 * failed, 77 skipped (not root, no network namespace, no BPF test-run).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton_abi.h"
#include "baton.skel.h"
#include "fixture.h"
#include "pkt.h"

/* ---- The world in the namespace ---- */

#define IF_A "bt0"
#define IF_B "bt1"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_a_peer[6] = { 0x02, 0, 0, 0, 0x0a, 0x02 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0x0b, 0x01 };
static const uint8_t mac_b_peer[6] = { 0x02, 0, 0, 0, 0x0b, 0x02 };
static const uint8_t mac_router[6] = { 0x02, 0, 0, 0, 0x0a, 0xfe }; /* clients' gateway */
static const uint8_t mac_be1[6] = { 0x02, 0, 0, 0, 0x0a, 0x20 };    /* behind bt0 */
static const uint8_t mac_be2[6] = { 0x02, 0, 0, 0, 0x0b, 0x20 };    /* behind bt1 */

#define VIP4 "192.0.2.10"
#define VIP4B "192.0.2.11" /* served by a backend behind bt1 */
#define VIP6 "2001:db8::10"
#define VIP6B "2001:db8::11"
#define CLIENT4 "198.51.100.7"
#define CLIENT6 "2001:db8:100::7"
#define SNAT4 "10.0.0.3"
#define SNAT6 "fd00::3"
#define HOST4 "10.0.0.1" /* the machine's own addresses */
#define HOST6 "fd00::1"
#define ROUTER4 "10.0.0.254"
#define ROUTER6 "fd00::fe"
#define BE1_4 "10.0.0.20"
#define BE2_4 "10.1.0.20"
#define BE1_6 "fd00::20"
#define BE2_6 "fd01::20"
#define BE_NONEIGH4 "10.0.0.30"	    /* on-link, no neighbour entry */
#define BE_UNREACH4 "203.0.113.5"   /* unreachable route */
#define BE_GW_NONEIGH4 "198.18.0.5" /* routed via 10.0.0.253, which has no neighbour */
#define GW_NONEIGH4 "10.0.0.253"

/* Backend ids. */
enum {
	BE_1_TCP4 = 1, /* BE1_4:8080 */
	BE_2_TCP4,     /* BE2_4:8080 */
	BE_1_TCP6,     /* BE1_6:8080 */
	BE_2_TCP6,     /* BE2_6:8080 */
	BE_NONEIGH,    /* BE_NONEIGH4:8080 */
	BE_UNREACH,    /* BE_UNREACH4:8080 */
	BE_1_UDP4,     /* BE1_4:5353 */
	BE_1_UDP6,     /* BE1_6:5353 */
	BE_GW_NONEIGH, /* BE_GW_NONEIGH4:8080 */
};

/* Service ids (frontend -> service -> maglev table). */
enum {
	SVC_TCP4 = 1,	/* VIP4:80/tcp -> BE_1_TCP4 */
	SVC_UDP4,	/* VIP4:53/udp -> BE_1_UDP4 */
	SVC_EMPTY,	/* VIP4:81/tcp -> no table (all weights 0) */
	SVC_TCP4B,	/* VIP4B:80/tcp -> BE_2_TCP4 */
	SVC_TCP6,	/* VIP6:80/tcp -> BE_1_TCP6 */
	SVC_UDP6,	/* VIP6:53/udp -> BE_1_UDP6 */
	SVC_TCP6B,	/* VIP6B:80/tcp -> BE_2_TCP6 */
	SVC_NONEIGH,	/* VIP4:82/tcp -> BE_NONEIGH */
	SVC_UNREACH,	/* VIP4:83/tcp -> BE_UNREACH */
	SVC_NOBE_SLOTS, /* VIP4:84/tcp -> table full of BATON_NO_BACKEND */
	SVC_GW_NONEIGH, /* VIP4:85/tcp -> BE_GW_NONEIGH */
	SVC_MULTI,	/* VIP4:8000/tcp -> BE_1_TCP4 and BE_2_TCP4 (maglev group) */
	SVC_EMPTY6,	/* VIP6:81/tcp -> no table */
	SVC_EMPTY_UDP,	/* VIP4:81/udp -> no table */
};

#define PORT_MIN_DEFAULT 20000
#define PORT_MAX_DEFAULT 29999
#define MAGLEV_M 7

/* ---- Case tables ---- */

/* Port sentinels: SNAT(n) is the port learned in slot n; NEWSNAT(n) learns it. */
#define SNAT(n) (0x10000 + (n))
#define NEWSNAT(n) (0x20000 + (n))
#define NSLOTS 128

enum {
	IFA = 0,
	IFB = 1
};
#define CHECK_ONLY (-1) /* action of a case that runs no packet, only .check */

/* Accept any of these reasons (where the spec leaves the choice open). */
#define R(x) (1u << BATON_R_##x)
#define ANY_PASS (R(PASS_NOT_IP) | R(PASS_L2_UNSUPPORTED) | R(PASS_NOT_VIP) | R(PASS_VIP_OTHER))

#define CHK_FLOW (1u << 0) /* both flow entries as derived from in/out exist */

struct xdp_case;
typedef int (*case_check_fn)(const struct xdp_case *c, char *err, size_t errlen);

struct xdp_case {
	const char *desc;
	int ifin; /* IFA / IFB */
	struct pkt_spec in;
	int action;
	bool unchanged; /* XDP_PASS: output must be the input */
	struct pkt_spec out;
	enum baton_reason reason;
	unsigned reasons_ok; /* if set: any one of these reasons instead */
	int sid, bid;	     /* service / backend counters to check (0: none) */
	bool new_flow;
	bool reuse_ok; /* NEWSNAT may return a port of an earlier (dead) flow */
	unsigned chk;
	case_check_fn check;
	int sleep_ms; /* before the case */
	int cpu;      /* > 0: run on CPU cpu-1 (default: the group's) */
};

struct group {
	const char *name;
	void (*setup)(void); /* after the common setup */
	const struct xdp_case *cases;
	size_t n;
	int cpu;
};

/* L2 directions. */
#define FROM_CLIENT .dmac = mac_a, .smac = mac_router
#define TO_CLIENT .dmac = mac_router, .smac = mac_a
#define FROM_BE1 .dmac = mac_a, .smac = mac_be1
#define TO_BE1 .dmac = mac_be1, .smac = mac_a
#define FROM_BE2 .dmac = mac_b, .smac = mac_be2
#define TO_BE2 .dmac = mac_be2, .smac = mac_b
#define TO_CLIENT_FROM_B .dmac = mac_router, .smac = mac_a

#define TCP4(s, d, sp, dp, fl)                                                               \
	.family = 4, .saddr = s, .daddr = d, .proto = IPPROTO_TCP, .sport = sp, .dport = dp, \
	.tcp_flags = fl
#define TCP6(s, d, sp, dp, fl)                                                               \
	.family = 6, .saddr = s, .daddr = d, .proto = IPPROTO_TCP, .sport = sp, .dport = dp, \
	.tcp_flags = fl
#define UDP4(s, d, sp, dp) \
	.family = 4, .saddr = s, .daddr = d, .proto = IPPROTO_UDP, .sport = sp, .dport = dp
#define UDP6(s, d, sp, dp) \
	.family = 6, .saddr = s, .daddr = d, .proto = IPPROTO_UDP, .sport = sp, .dport = dp
#define ICMP4(s, d, t, c) \
	.family = 4, .saddr = s, .daddr = d, .proto = IPPROTO_ICMP, .icmp_type = t, .icmp_code = c
#define ICMP6(s, d, t, c) \
	.family = 6, .saddr = s, .daddr = d, .proto = IPPROTO_ICMPV6, .icmp_type = t, .icmp_code = c

/* The client's segments (seq 1000...) and the backend's (seq 5000...). */
#define SEQ_C(n) .seq = 1000 + (n), .ack = 5001
#define SEQ_B(n) .seq = 5000 + (n), .ack = 1001

/* ---- Harness state ---- */

static struct baton_bpf *skel;
static int ifindex[2];
static int nr_cpus;
static int cur_cpu;
static unsigned case_no, failures;
static struct baton_config cfg;
static uint16_t slot_port[NSLOTS];
static int slot_bid[NSLOTS];
static const struct group *cur_group;

/* ---- Small helpers ---- */

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used + 3 >= errlen)
		return;
	if (used) {
		strcpy(err + used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	sched_yield();
	cur_cpu = sched_getcpu();
	return cur_cpu == cpu ? 0 : -1;
}

/* ---- Namespace ---- */

static const struct fx_link links[] = {
	[IFA] = { IF_A, mac_a, mac_a_peer, HOST4 "/24", HOST6 "/64" },
	[IFB] = { IF_B, mac_b, mac_b_peer, "10.1.0.1/24", "fd01::1/64" },
};

static const char *const routes[] = {
	"default via " ROUTER4 " dev " IF_A,	       /* clients */
	"::/0 via " ROUTER6 " dev " IF_A,	       /* clients */
	"unreachable 203.0.113.0/24",		       /* BE_UNREACH4 */
	"198.18.0.0/24 via " GW_NONEIGH4 " dev " IF_A, /* BE_GW_NONEIGH4 */
};

/* PERMANENT neighbours; BE_NONEIGH4 and GW_NONEIGH4 have none. */
static const struct fx_neigh neighs[] = {
	{ ROUTER4, mac_router, IF_A }, /* clients' gateway */
	{ ROUTER6, mac_router, IF_A }, /* clients' gateway */
	{ BE1_4, mac_be1, IF_A },      /* XDP_TX */
	{ BE1_6, mac_be1, IF_A },      /* XDP_TX */
	{ BE2_4, mac_be2, IF_B },      /* XDP_REDIRECT */
	{ BE2_6, mac_be2, IF_B },      /* XDP_REDIRECT */
};

static const struct fx_netns world = {
	.links = links,
	.nlinks = sizeof(links) / sizeof(links[0]),
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.neighs = neighs,
	.nneighs = sizeof(neighs) / sizeof(neighs[0]),
};

/* ---- BPF probe and maps ---- */

/* A two-instruction XDP program: can we load and test-run at all? */
static int probe_bpf(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt));
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "baton_probe", "GPL", insns, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "SKIP: cannot load an XDP program: %s\n", strerror(errno));
		return FX_SKIP;
	}
	err = bpf_prog_test_run_opts(fd, &topts);
	close(fd);
	if (err || topts.retval != XDP_PASS) {
		fprintf(stderr, "SKIP: BPF_PROG_TEST_RUN for XDP unavailable: %s\n",
			strerror(errno));
		return FX_SKIP;
	}
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A fixture call that must succeed (it said what failed). */
static void must(int rc)
{
	if (rc) {
		fprintf(stderr, "Bail out! setup failed\n");
		exit(1);
	}
}

static int map_fd(struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static void put_frontend(int family, const char *addr, int port, int proto, __u32 sid)
{
	must(fx_put_frontend(skel, family, addr, port, proto, sid));
}

static void put_backend(__u32 id, int family, const char *addr, int port)
{
	must(fx_put_backend(skel, id, family, addr, port));
}

/* A maglev table of M slots all holding backend bid (BATON_NO_BACKEND allowed). */
static void put_maglev(__u32 sid, __u32 bid)
{
	__u32 slots[MAGLEV_M + 1], i;

	for (i = 0; i <= MAGLEV_M; i++)
		slots[i] = i == BATON_MAGLEV_SIZE_SLOT ? MAGLEV_M : bid;
	must(fx_put_maglev(skel, sid, slots, MAGLEV_M + 1));
}

static bool maglev_ready; /* the tables common_setup() installs are in place */

static void del_maglev(__u32 sid)
{
	maglev_ready = false;
	fx_del_maglev(skel, sid);
}

static void write_config(void)
{
	must(fx_put_config(skel, &cfg));
}

static void default_config(void)
{
	fx_config_init(&cfg, SNAT4, SNAT6);
	cfg.snat_port_min = PORT_MIN_DEFAULT;
	cfg.snat_port_max = PORT_MAX_DEFAULT;
	cfg.tcp_idle_ns = 300ull * 1000000000ull;
	cfg.udp_idle_ns = 30ull * 1000000000ull;
}

/* ---- The neigh_req ring buffer ---- */

#define NEIGH_REQ_MAX 8
static struct baton_neigh_req neigh_reqs[NEIGH_REQ_MAX];
static int neigh_req_n;
static struct ring_buffer *neigh_rb;

static int neigh_req_cb(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(struct baton_neigh_req) && neigh_req_n < NEIGH_REQ_MAX)
		memcpy(&neigh_reqs[neigh_req_n], data, sizeof(struct baton_neigh_req));
	neigh_req_n++;
	return 0;
}

/* Consume what the program wrote; returns the number of records. */
static int neigh_req_read(void)
{
	neigh_req_n = 0;
	if (neigh_rb == NULL) {
		neigh_rb = ring_buffer__new(map_fd(skel->maps.neigh_req), neigh_req_cb, NULL, NULL);
		if (neigh_rb == NULL)
			die("ring_buffer__new(neigh_req)");
	}
	if (ring_buffer__consume(neigh_rb) < 0)
		die("ring_buffer__consume(neigh_req)");
	return neigh_req_n;
}

static void neigh_req_drain(void)
{
	neigh_req_read();
}

/* The state every group starts from: the table of frontends, backends and services. */
static void common_setup(void)
{
	__u32 id;

	must(fx_map_clear(map_fd(skel->maps.flows)));
	must(fx_map_clear(map_fd(skel->maps.syn_flows)));
	must(fx_map_clear(map_fd(skel->maps.l2_ifaces)));
	must(fx_map_clear(map_fd(skel->maps.frontends)));
	for (id = 0; id < 16; id++) {
		must(fx_percpu_zero(map_fd(skel->maps.snat_cur), id, sizeof(__u32)));
		/* No next hop a group cached carries over to the next (bpf/maps.h). */
		must(fx_percpu_zero(map_fd(skel->maps.nh_cache), id,
				    bpf_map__value_size(skel->maps.nh_cache)));
	}
	default_config();
	write_config();

	put_backend(BE_1_TCP4, 4, BE1_4, 8080);
	put_backend(BE_2_TCP4, 4, BE2_4, 8080);
	put_backend(BE_1_TCP6, 6, BE1_6, 8080);
	put_backend(BE_2_TCP6, 6, BE2_6, 8080);
	put_backend(BE_NONEIGH, 4, BE_NONEIGH4, 8080);
	put_backend(BE_UNREACH, 4, BE_UNREACH4, 8080);
	put_backend(BE_1_UDP4, 4, BE1_4, 5353);
	put_backend(BE_1_UDP6, 6, BE1_6, 5353);
	put_backend(BE_GW_NONEIGH, 4, BE_GW_NONEIGH4, 8080);

	put_frontend(4, VIP4, 0, 0, 0);
	put_frontend(4, VIP4B, 0, 0, 0);
	put_frontend(6, VIP6, 0, 0, 0);
	put_frontend(6, VIP6B, 0, 0, 0);
	put_frontend(4, VIP4, 80, IPPROTO_TCP, SVC_TCP4);
	put_frontend(4, VIP4, 53, IPPROTO_UDP, SVC_UDP4);
	put_frontend(4, VIP4, 81, IPPROTO_TCP, SVC_EMPTY);
	put_frontend(4, VIP4B, 80, IPPROTO_TCP, SVC_TCP4B);
	put_frontend(6, VIP6, 80, IPPROTO_TCP, SVC_TCP6);
	put_frontend(6, VIP6, 53, IPPROTO_UDP, SVC_UDP6);
	put_frontend(6, VIP6B, 80, IPPROTO_TCP, SVC_TCP6B);
	put_frontend(4, VIP4, 82, IPPROTO_TCP, SVC_NONEIGH);
	put_frontend(4, VIP4, 83, IPPROTO_TCP, SVC_UNREACH);
	put_frontend(4, VIP4, 84, IPPROTO_TCP, SVC_NOBE_SLOTS);
	put_frontend(4, VIP4, 85, IPPROTO_TCP, SVC_GW_NONEIGH);
	put_frontend(6, VIP6, 81, IPPROTO_TCP, SVC_EMPTY6);
	put_frontend(4, VIP4, 81, IPPROTO_UDP, SVC_EMPTY_UDP);

	/* Updating the outer map waits for an RCU grace period (tens of ms each): the
	 * tables are installed once and again only after a group changed them. */
	if (!maglev_ready) {
		for (id = 0; id < 16; id++)
			del_maglev(id);
		put_maglev(SVC_TCP4, BE_1_TCP4);
		put_maglev(SVC_UDP4, BE_1_UDP4);
		/* SVC_EMPTY: every backend has weight 0, batond installs no table. */
		put_maglev(SVC_TCP4B, BE_2_TCP4);
		put_maglev(SVC_TCP6, BE_1_TCP6);
		put_maglev(SVC_UDP6, BE_1_UDP6);
		put_maglev(SVC_TCP6B, BE_2_TCP6);
		put_maglev(SVC_NONEIGH, BE_NONEIGH);
		put_maglev(SVC_UNREACH, BE_UNREACH);
		put_maglev(SVC_NOBE_SLOTS, BATON_NO_BACKEND);
		put_maglev(SVC_GW_NONEIGH, BE_GW_NONEIGH);
		maglev_ready = true;
	}
	neigh_req_drain();

	memset(slot_port, 0, sizeof(slot_port));
	memset(slot_bid, 0, sizeof(slot_bid));
}

/* ---- Counters ---- */

struct counters {
	struct baton_reason_stats reason[BATON_R_MAX];
	struct baton_stats svc, be;
};

static void snapshot(const struct xdp_case *c, struct counters *s)
{
	unsigned r;

	memset(s, 0, sizeof(*s));
	for (r = 0; r < BATON_R_MAX; r++)
		must(fx_percpu_sum(map_fd(skel->maps.reason_stats), r, sizeof(s->reason[r]),
				   &s->reason[r].packets, 2));
	if (c->sid)
		must(fx_percpu_sum(map_fd(skel->maps.svc_stats), (__u32)c->sid, sizeof(s->svc),
				   &s->svc.packets, 3));
	if (c->bid)
		must(fx_percpu_sum(map_fd(skel->maps.be_stats), (__u32)c->bid, sizeof(s->be),
				   &s->be.packets, 3));
}

static void check_stats(const char *what, const struct baton_stats *a, const struct baton_stats *b,
			int want_pkts, int len, bool new_flow, char *err, size_t errlen)
{
	__u64 dp = b->packets - a->packets, db = b->bytes - a->bytes;
	__u64 dn = b->new_flows - a->new_flows;

	if (want_pkts >= 0 && (dp != (__u64)want_pkts || db != (__u64)(want_pkts * len)))
		errf(err, errlen, "%s packets/bytes +%llu/+%llu, want +%d/+%d", what,
		     (unsigned long long)dp, (unsigned long long)db, want_pkts, want_pkts * len);
	if (dn != (new_flow ? 1u : 0u))
		errf(err, errlen, "%s new_flows +%llu, want +%d", what, (unsigned long long)dn,
		     new_flow ? 1 : 0);
}

static void check_counters(const struct xdp_case *c, const struct counters *a,
			   const struct counters *b, int len, char *err, size_t errlen)
{
	unsigned r, hits = 0;
	int want_pkts;

	for (r = 0; r < BATON_R_MAX; r++) {
		__u64 dp = b->reason[r].packets - a->reason[r].packets;
		__u64 db = b->reason[r].bytes - a->reason[r].bytes;
		bool want = c->reasons_ok ? false : r == c->reason;

		if (dp == 0)
			continue;
		hits += (unsigned)dp;
		if (c->reasons_ok && (c->reasons_ok & (1u << r)) && dp == 1)
			want = true;
		if (!want || dp != 1)
			errf(err, errlen, "reason %s +%llu", baton_reason_name(r),
			     (unsigned long long)dp);
		else if (db != (__u64)len)
			errf(err, errlen, "reason %s bytes +%llu, want +%d", baton_reason_name(r),
			     (unsigned long long)db, len);
	}
	if (hits == 0)
		errf(err, errlen, "no reason counted, want %s",
		     c->reasons_ok ? "one of the pass reasons" : baton_reason_name(c->reason));
	else if (!c->reasons_ok && b->reason[c->reason].packets == a->reason[c->reason].packets)
		errf(err, errlen, "want reason %s", baton_reason_name(c->reason));

	/* Forwarded packets count for their service and backend; others for neither. For
	 * drop_no_neigh / drop_fib the spec does not say: not checked. */
	if (c->action == XDP_TX || c->action == XDP_REDIRECT)
		want_pkts = 1;
	else if (c->reason == BATON_R_DROP_NO_NEIGH || c->reason == BATON_R_DROP_FIB)
		want_pkts = -1;
	else
		want_pkts = 0;
	if (c->sid)
		check_stats("service", &a->svc, &b->svc, want_pkts, len, c->new_flow, err, errlen);
	if (c->bid)
		check_stats("backend", &a->be, &b->be, want_pkts, len, c->new_flow, err, errlen);
}

/* ---- Spec resolution (SNAT port sentinels) ---- */

static int resolve_port(int p, int *out, char *err, size_t errlen)
{
	if (p < 0x10000) {
		*out = p;
		return 0;
	}
	if ((p & 0xffff) >= NSLOTS || slot_port[p & 0xffff] == 0) {
		errf(err, errlen, "SNAT slot %d unset (an earlier case failed)", p & 0xffff);
		return -1;
	}
	*out = slot_port[p & 0xffff];
	return 0;
}

/* Copy s into *d with sentinels replaced; quotes go into q[] (depth 1 is enough). */
static int resolve(const struct pkt_spec *s, struct pkt_spec *d, struct pkt_spec *q, char *err,
		   size_t errlen)
{
	*d = *s;
	if (resolve_port(s->sport, &d->sport, err, errlen) ||
	    resolve_port(s->dport, &d->dport, err, errlen))
		return -1;
	if (s->quote != NULL) {
		*q = *s->quote;
		if (resolve_port(s->quote->sport, &q->sport, err, errlen) ||
		    resolve_port(s->quote->dport, &q->dport, err, errlen))
			return -1;
		q->quote = NULL;
		d->quote = q;
	}
	return 0;
}

/* A NEWSNAT port the program picked: in range, in this CPU's partition, unused. */
static int learn_port(const struct xdp_case *c, int sentinel, uint16_t port, char *err,
		      size_t errlen)
{
	int slot = sentinel & 0xffff, i;

	if (port < cfg.snat_port_min || port > cfg.snat_port_max) {
		errf(err, errlen, "SNAT port %u outside [%u, %u]", port, cfg.snat_port_min,
		     cfg.snat_port_max);
		return -1;
	}
	if ((port - cfg.snat_port_min) % cfg.nr_cpus != (unsigned)cur_cpu) {
		errf(err, errlen, "SNAT port %u not in CPU %d's partition (min %u, %u CPUs)", port,
		     cur_cpu, cfg.snat_port_min, cfg.nr_cpus);
		return -1;
	}
	for (i = 0; i < NSLOTS; i++)
		if (!c->reuse_ok && i != slot && slot_port[i] == port && slot_bid[i] == c->bid) {
			errf(err, errlen, "SNAT port %u already used by slot %d (same backend)",
			     port, i);
			return -1;
		}
	slot_port[slot] = port;
	slot_bid[slot] = c->bid;
	return 0;
}

/* ---- Flow table checks ---- */

/* An entry in the main flow table or, for a TCP handshake in progress, the embryonic one. */
static int lookup_flow(const struct baton_flow_key *k, struct baton_flow *v)
{
	return bpf_map_lookup_elem(map_fd(skel->maps.flows), k, v) &&
	       bpf_map_lookup_elem(map_fd(skel->maps.syn_flows), k, v);
}

/* The entry keyed by `key` must rewrite to `to` (the other entry's key reversed). */
static void check_entry(const char *what, const struct baton_flow_key *key,
			const struct baton_flow_key *to, bool reply, int sid, int bid, char *err,
			size_t errlen)
{
	struct baton_flow v;

	if (lookup_flow(key, &v)) {
		errf(err, errlen, "%s flow entry missing", what);
		return;
	}
	if (memcmp(v.saddr, to->saddr, 16) || memcmp(v.daddr, to->daddr, 16) ||
	    v.sport != to->sport || v.dport != to->dport)
		errf(err, errlen, "%s entry rewrites to the wrong tuple (sport %u dport %u)", what,
		     ntohs(v.sport), ntohs(v.dport));
	if (!!(v.flags & BATON_FLOW_F_REPLY) != reply)
		errf(err, errlen, "%s entry flags 0x%x", what, v.flags);
	if (v.service_id != (__u32)sid || v.backend_id != (__u32)bid)
		errf(err, errlen, "%s entry service %u backend %u, want %d %d", what, v.service_id,
		     v.backend_id, sid, bid);
}

static void check_flow_pair(const struct xdp_case *c, const struct pkt_spec *in,
			    const struct pkt_spec *out, char *err, size_t errlen)
{
	struct baton_flow_key fwd, fwd_to, rep, rep_to;

	fx_flow_key(in, false, &fwd);
	fx_flow_key(out, false, &fwd_to);
	fx_flow_key(out, true, &rep);
	fx_flow_key(in, true, &rep_to);
	check_entry("forward", &fwd, &fwd_to, false, c->sid, c->bid, err, errlen);
	check_entry("reply", &rep, &rep_to, true, c->sid, c->bid, err, errlen);
}

/* ---- Running one case ---- */

static void report(const struct xdp_case *c, const char *err)
{
	if (*err) {
		printf("not ok %u - %s: %s: %s\n", case_no, cur_group->name, c->desc, err);
		failures++;
	} else {
		printf("ok %u - %s: %s\n", case_no, cur_group->name, c->desc);
	}
	fflush(stdout);
}

/* One test run outside the tables; returns the action or -1. */
static int xdp_run(int ifin, const struct pkt_spec *s, uint8_t *out, uint32_t *out_len)
{
	uint8_t in[PKT_MAX];
	int len = pkt_build(s, in, sizeof(in));
	struct fx_run r = { .in = in, .ifindex = ifindex[ifin], .out = out, .out_len = *out_len };

	if (len < 0)
		return -1;
	r.len = (__u32)len;
	if (fx_xdp_run(bpf_program__fd(skel->progs.baton_xdp), &r))
		return -1;
	*out_len = r.out_len;
	return (int)r.retval;
}

static void run_case(const struct xdp_case *c)
{
	uint8_t in[PKT_MAX], got[PKT_MAX], want[PKT_MAX];
	struct pkt_spec in_s, in_q, out_s, out_q;
	struct counters before, after;
	char err[2048] = "";
	bool dump = false;
	int in_len, want_len = -1, saved_cpu = cur_cpu;
	struct fx_run r = { .in = in, .out = got, .out_len = sizeof(got) };

	case_no++;
	if (c->sleep_ms)
		sleep_ms(c->sleep_ms);
	if (c->cpu > 0 && (c->cpu > nr_cpus || pin_cpu(c->cpu - 1))) {
		printf("ok %u - %s: %s # SKIP CPU %d not available\n", case_no, cur_group->name,
		       c->desc, c->cpu - 1);
		return;
	}
	if (c->action == CHECK_ONLY) {
		c->check(c, err, sizeof(err));
		goto out;
	}
	if (resolve(&c->in, &in_s, &in_q, err, sizeof(err)))
		goto out;
	in_len = pkt_build(&in_s, in, sizeof(in));
	if (in_len < 0) {
		errf(err, sizeof(err), "test bug: building input: %s", pkt_build_error());
		goto out;
	}

	snapshot(c, &before);
	r.len = (__u32)in_len;
	r.ifindex = ifindex[c->ifin];
	if (fx_xdp_run(bpf_program__fd(skel->progs.baton_xdp), &r)) {
		errf(err, sizeof(err), "BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		goto out;
	}
	snapshot(c, &after);

	if ((int)r.retval != c->action) {
		/* The output of the wrong path says nothing more: counters only. */
		errf(err, sizeof(err), "action %s, want %s", fx_xdp_action_name(r.retval),
		     fx_xdp_action_name((__u32)c->action));
		goto counters;
	}

	/* The output packet: dropped packets are not looked at. */
	if (c->action == XDP_PASS && c->unchanged) {
		memcpy(want, in, (size_t)in_len);
		want_len = in_len;
	} else if (c->action != XDP_DROP) {
		struct pkt_info pi;

		pkt_parse(got, r.out_len, &pi);
		if (c->out.sport >= NEWSNAT(0) &&
		    learn_port(c, c->out.sport, pi.sport, err, sizeof(err)))
			goto counters;
		if (resolve(&c->out, &out_s, &out_q, err, sizeof(err)))
			goto counters;
		want_len = pkt_build(&out_s, want, sizeof(want));
		if (want_len < 0) {
			errf(err, sizeof(err), "test bug: building output: %s", pkt_build_error());
			goto counters;
		}
	}
	if (want_len >= 0) {
		char verr[256];

		if ((int)r.out_len != want_len || memcmp(got, want, (size_t)want_len)) {
			errf(err, sizeof(err), "output packet differs");
			dump = true;
		}
		/* Packets the program changed must also be right on the wire. */
		if (!(c->action == XDP_PASS && c->unchanged) &&
		    pkt_verify(got, r.out_len, c->out.udp_csum_zero ? PKT_V_UDP0_OK : 0, verr,
			       sizeof(verr)))
			errf(err, sizeof(err), "output checksum: %s", verr);
	}
	if ((c->chk & CHK_FLOW) && want_len >= 0)
		check_flow_pair(c, &in_s, &out_s, err, sizeof(err));

counters:
	check_counters(c, &before, &after, in_len, err, sizeof(err));
	if (c->check)
		c->check(c, err, sizeof(err));
out:
	report(c, err);
	if (dump)
		pkt_hexdiff(stdout, got, r.out_len, want, (size_t)want_len);
	if (c->cpu > 0 && saved_cpu != cur_cpu)
		pin_cpu(saved_cpu);
}

static void run_group(const struct group *g)
{
	size_t i;

	cur_group = g;
	if (pin_cpu(g->cpu < nr_cpus ? g->cpu : 0))
		die("sched_setaffinity");
	common_setup();
	if (g->setup)
		g->setup();
	for (i = 0; i < g->n; i++)
		run_case(&g->cases[i]);
}

#include "test_xdp_cases.h"

int main(void)
{
	int rc;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (network namespace, BPF)\n");
		return FX_SKIP;
	}
	fx_libbpf_print_setup();
	rc = fx_netns_setup(&world, ifindex);
	if (rc)
		return rc;
	rc = probe_bpf();
	if (rc)
		return rc;
	nr_cpus = fx_nr_cpus();

	skel = baton_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "Bail out! loading the XDP program failed: %s\n", strerror(errno));
		return 1;
	}

	build_ports_cases();
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		run_group(&groups[i]);

	ring_buffer__free(neigh_rb);
	baton_bpf__destroy(skel);
	printf("1..%u\n", case_no);
	printf("%u passed, %u failed\n", case_no - failures, failures);
	return failures ? 1 : 0;
}
