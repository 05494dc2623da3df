/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP program under a million random and mutated packets (BPF_PROG_TEST_RUN),
 * checking what must hold whatever arrives:
 *
 *  1. the verdict is XDP_PASS, XDP_TX, XDP_REDIRECT or XDP_DROP, never XDP_ABORTED;
 *  2. every XDP_PASS leaves the frame byte for byte as it came (the program passes
 *     untouched or not at all), and a frame that carries no VIP or SNAT address
 *     anywhere in its bytes is passed: traffic not for Baton is never changed;
 *  3. a forwarded frame goes to a backend of the service its input was addressed to
 *     (client -> VIP:port becomes SNAT -> one of that service's backends), or back from
 *     one of a service's backends to a client as that service's VIP:port, or is an RST
 *     from a VIP:port of a service without backends; or, for TCP to an L7 frontend or
 *     to the SNAT address on one of baton-l7's ports only, the frame unchanged into the
 *     L7 lane; frames built valid (not mutated) leave with correct checksums;
 *  4. the reason counters grow by exactly the number of packets run (every packet
 *     counted under one reason), and per batch the verdicts match the reasons: as many
 *     XDP_PASS as pass_* counts, XDP_TX as fwd_tx + tx_* counts, XDP_REDIRECT as
 *     fwd_redirect + fwd_l7_*, XDP_DROP as drop_* counts.
 *
 * Packets: valid TCP/UDP/ICMP of both families towards VIPs, the SNAT address, the
 * host and elsewhere, from clients and backends, as new flows and as the later
 * packets of flows the program created (both directions, ICMP errors quoting them),
 * and of L7 flows spliced as baton-l7 splices them (seq/ack deltas, window scaling);
 * with IPv4 options, fragments, IPv6 extension headers, one or two VLAN tags (802.1Q,
 * 802.1ad), bad length fields, bad data offsets, UDP checksum 0; then mutated (bytes
 * flipped, checksums broken, cut at a random offset, or cut at every offset), or
 * random bytes after an Ethernet header. A seed makes a run reproducible.
 *
 *   test_xdp_fuzz [PACKETS [SEED]]   (defaults: 1000000, time-based; also
 *                                     BATON_XDP_FUZZ_PACKETS / BATON_XDP_FUZZ_SEED)
 * Exit: 0 all held, 1 a violation (the packet is dumped), 77 skipped (not root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
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

#define IF_A "fz0"
#define IF_B "fz1"
#define IF_LANE "fz2" /* the L7 lane; no packet of the fuzz comes in on it */

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_a_peer[6] = { 0x02, 0, 0, 0, 0x0a, 0x02 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0x0b, 0x01 };
static const uint8_t mac_b_peer[6] = { 0x02, 0, 0, 0, 0x0b, 0x02 };
static const uint8_t mac_router[6] = { 0x02, 0, 0, 0, 0x0a, 0xfe };
static const uint8_t mac_be1[6] = { 0x02, 0, 0, 0, 0x0a, 0x20 };
static const uint8_t mac_be2[6] = { 0x02, 0, 0, 0, 0x0b, 0x20 };
static const uint8_t mac_l[6] = { 0x02, 0, 0, 0, 0x0c, 0x01 };
static const uint8_t mac_l_peer[6] = { 0x02, 0, 0, 0, 0x0c, 0x02 };

static const struct fx_link links[] = {
	{ IF_A, mac_a, mac_a_peer, "10.0.0.1/24", "fd00::1/64" },
	{ IF_B, mac_b, mac_b_peer, "10.1.0.1/24", "fd01::1/64" },
	{ IF_LANE, mac_l, mac_l_peer, "10.2.0.1/24", "fd02::1/64" },
};
static const char *const routes[] = { "default via 10.0.0.254 dev " IF_A,
				      "::/0 via fd00::fe dev " IF_A };
static const struct fx_neigh neighs[] = {
	{ "10.0.0.254", mac_router, IF_A }, { "fd00::fe", mac_router, IF_A },
	{ "10.0.0.20", mac_be1, IF_A },	    { "fd00::20", mac_be1, IF_A },
	{ "10.1.0.20", mac_be2, IF_B },	    { "fd01::20", mac_be2, IF_B },
};
static const struct fx_netns world = { links, 3, routes, 2, neighs, 6 };

/* ---- Services: the tables the invariants are checked against ---- */

#define SNAT4 "10.0.0.3"
#define SNAT6 "fd00::3"

struct fz_backend {
	int family;
	const char *addr;
	int port;
};

static const struct fz_backend backends[] = {
	[1] = { 4, "10.0.0.20", 8080 }, [2] = { 4, "10.1.0.20", 8080 },
	[3] = { 4, "10.0.0.20", 5353 }, [4] = { 6, "fd00::20", 8080 },
	[5] = { 6, "fd01::20", 8080 },	[6] = { 6, "fd00::20", 5353 },
};
#define N_BACKENDS 7

struct fz_service {
	int family;
	const char *vip;
	int port, proto;
	int be[2]; /* backend ids; 0 = none */
	bool l7;   /* an http frontend (BATON_FE_F_L7): unbound TCP goes to the lane */
};

static const struct fz_service services[] = {
	[1] = { 4, "192.0.2.10", 80, IPPROTO_TCP, { 1, 2 } },
	[2] = { 4, "192.0.2.10", 53, IPPROTO_UDP, { 3, 0 } },
	[3] = { 4, "192.0.2.10", 81, IPPROTO_TCP, { 0, 0 } }, /* no backends: RST */
	[4] = { 6, "2001:db8::10", 80, IPPROTO_TCP, { 4, 5 } },
	[5] = { 6, "2001:db8::10", 53, IPPROTO_UDP, { 6, 0 } },
	[6] = { 6, "2001:db8::10", 81, IPPROTO_UDP, { 0, 0 } }, /* no backends: drop */
	[7] = { 4, "192.0.2.10", 8080, IPPROTO_TCP, { 1, 2 }, true },
	[8] = { 6, "2001:db8::10", 8080, IPPROTO_TCP, { 4, 5 }, true },
};
#define N_SERVICES 9
#define L7_PORT_MIN 30000 /* baton-l7's backend legs; disjoint from the SNAT ports */
#define L7_PORT_MAX 30999

static struct baton_bpf *skel;
static int ifindex[3], prog_fd;
static uint8_t vip4[16], vip6[16], snat4[16], snat6[16]; /* fx_addr() writes 16 */

/* ---- Random numbers (xorshift64*), reproducible from the seed ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static bool chance(uint32_t one_in)
{
	return below(one_in) == 0;
}

/* ---- Setup ---- */

static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "Bail out! setup: %s\n", what);
		exit(1);
	}
}

static __u8 abi_family(int family)
{
	return family == 4 ? BATON_FAMILY_V4 : BATON_FAMILY_V6;
}

/* Sets BATON_FE_F_L7 on the frontend entry of v. */
static int mark_l7(const struct fz_service *v)
{
	struct baton_frontend_key k = { .port = htons((uint16_t)v->port),
					.proto = (__u8)v->proto,
					.family = abi_family(v->family) };
	struct baton_frontend fe;
	int fd = bpf_map__fd(skel->maps.frontends);

	fx_addr(v->family, v->vip, k.addr);
	if (bpf_map_lookup_elem(fd, &k, &fe))
		return -1;
	fe.flags |= BATON_FE_F_L7;
	return bpf_map_update_elem(fd, &k, &fe, BPF_EXIST);
}

static void setup_maps(void)
{
	struct baton_config cfg;
	__u32 slots[8];

	fx_config_init(&cfg, SNAT4, SNAT6);
	cfg.snat_port_min = 20000;
	cfg.snat_port_max = 29999;
	cfg.l7_lane_ifindex = (__u32)ifindex[2];
	cfg.l7_port_min = L7_PORT_MIN;
	cfg.l7_port_max = L7_PORT_MAX;
	must(fx_put_config(skel, &cfg), "config");
	for (int b = 1; b < N_BACKENDS; b++)
		must(fx_put_backend(skel, b, backends[b].family, backends[b].addr,
				    backends[b].port),
		     "backend");
	for (int s = 1; s < N_SERVICES; s++) {
		const struct fz_service *v = &services[s];

		must(fx_put_frontend(skel, v->family, v->vip, v->port, v->proto, s), "frontend");
		if (v->l7)
			must(mark_l7(v), "L7 frontend");
		must(fx_put_frontend(skel, v->family, v->vip, 0, 0, 0), "address entry");
		if (v->be[0] == 0)
			continue;
		slots[0] = 7; /* M */
		for (int i = 1; i <= 7; i++)
			slots[i] = v->be[v->be[1] ? i % 2 : 0];
		must(fx_put_maglev(skel, s, slots, 8), "maglev");
	}
	fx_addr(4, "192.0.2.10", vip4);
	fx_addr(6, "2001:db8::10", vip6);
	fx_addr(4, SNAT4, snat4);
	fx_addr(6, SNAT6, snat6);
}

/* A fresh flow table and SNAT cursors, so new flows keep finding ports. */
static void reset_flows(void)
{
	must(fx_map_clear(bpf_map__fd(skel->maps.flows)), "clear flows");
	for (__u32 b = 0; b < N_BACKENDS; b++)
		must(fx_percpu_zero(bpf_map__fd(skel->maps.snat_cur), b, sizeof(__u32)),
		     "snat_cur");
}

/* ---- Packets ---- */

static const char *const clients4[] = { "198.51.100.7", "198.51.100.8", "203.0.113.99" };
static const char *const clients6[] = { "2001:db8:100::7", "2001:db8:100::8" };
static const char *const others4[] = { "10.0.0.1", "8.8.8.8", "192.0.2.11", "10.0.0.20" };
static const char *const others6[] = { "fd00::1", "2001:db8::11", "ff02::1", "fd00::20" };

#define PICK(a) (a)[below(sizeof(a) / sizeof((a)[0]))]

/* Flows the program created: their later packets, both ways, get sent again. */
struct fz_flow {
	int family, proto;
	char client[64], vip[64], backend[64], snat[64];
	int cport, vport, bport, sport;
};
#define N_FLOWS 256
static struct fz_flow flows[N_FLOWS];
static unsigned int n_flows, n_spliced;

static int pick_port(void)
{
	static const int ports[] = { 80, 53, 81, 8080, 5353, 22, 443 };

	return chance(4) ? (int)below(65536) : PICK(ports);
}

/* A new packet from a client (or anyone) towards a VIP, the SNAT address, or elsewhere. */
static void gen_fresh(struct pkt_spec *s, char *sa, char *da)
{
	bool v6 = chance(2);
	unsigned int d = below(8);

	s->family = v6 ? 6 : 4;
	strcpy(sa, v6 ? PICK(clients6) : PICK(clients4));
	if (d < 4)
		strcpy(da, v6 ? "2001:db8::10" : "192.0.2.10");
	else if (d == 4)
		strcpy(da, v6 ? SNAT6 : SNAT4);
	else
		strcpy(da, v6 ? PICK(others6) : PICK(others4));
	s->saddr = sa;
	s->daddr = da;
	switch (below(8)) {
	case 0:
	case 1:
	case 2:
		s->proto = IPPROTO_TCP;
		break;
	case 3:
	case 4:
		s->proto = IPPROTO_UDP;
		break;
	case 5:
		s->proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		break;
	default:
		s->proto = chance(2) ? IPPROTO_TCP : (uint8_t)below(256);
		break;
	}
	s->sport = chance(8) ? pick_port() : 1024 + (int)below(64000);
	s->dport = pick_port();
	if (d == 4 && chance(2))
		s->dport = L7_PORT_MIN + (int)below(L7_PORT_MAX - L7_PORT_MIN + 1);
	s->tcp_flags = chance(2) ? TH_SYN : (uint8_t)below(64);
	s->seq = (uint32_t)rnd();
	s->ack = (uint32_t)rnd();
	if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		s->icmp_type = (uint8_t)(chance(2) ? (v6 ? 128 : 8) : below(256));
		s->icmp_code = (uint8_t)below(5);
	}
}

/* A later packet of a known flow: from the client, from the backend, or an ICMP error. */
static void gen_flow(struct pkt_spec *s, struct pkt_spec *q, const struct fz_flow *f)
{
	bool reply = chance(2);

	s->family = f->family;
	s->proto = (uint8_t)f->proto;
	s->saddr = reply ? f->backend : f->client;
	s->daddr = reply ? f->snat : f->vip;
	s->sport = reply ? f->bport : f->cport;
	s->dport = reply ? f->sport : f->vport;
	s->tcp_flags = (uint8_t)(chance(3)   ? TH_ACK
				 : chance(2) ? TH_ACK | TH_PSH
					     : (uint8_t)below(64));
	s->seq = (uint32_t)rnd();
	s->ack = (uint32_t)rnd();
	if (!chance(6))
		return;
	/* An ICMP error about a packet the load balancer sent on this flow. */
	*q = *s;
	q->saddr = s->daddr == f->snat ? f->snat : f->vip;
	q->daddr = s->daddr == f->snat ? f->backend : f->client;
	q->sport = s->daddr == f->snat ? f->sport : f->vport;
	q->dport = s->daddr == f->snat ? f->bport : f->cport;
	s->proto = f->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	s->icmp_type = (uint8_t)(f->family == 6 ? 1 + below(3) : (chance(2) ? 3 : 11));
	s->icmp_code = (uint8_t)(f->family == 6 ? 0 : 4);
	s->icmp_info = 1400;
	s->quote = q;
	s->quote_len = chance(3) ? (int)below(60) : 0;
	/* the router between, or the far end itself */
	s->saddr = f->family == 6 ? "fd00::fe" : "10.0.0.254";
}

/* Malformations the builder knows how to make, on top of a valid spec. */
static void malform(struct pkt_spec *s)
{
	if (chance(8)) {
		s->nvlan = 1 + (int)below(2);
		for (int i = 0; i < s->nvlan; i++) {
			s->vlan_tpid[i] = chance(2) ? PKT_ETH_P_8021AD : 0;
			s->vlan_tci[i] = (uint16_t)below(4096);
		}
	}
	if (s->family == 4 && chance(16))
		s->ip_opt_len = 4 * (1 + (int)below(10));
	if (s->family == 4 && chance(16)) {
		s->mf = chance(2);
		s->frag_offset = (uint16_t)(chance(2) ? 0 : below(8192));
	}
	if (s->family == 4 && chance(32))
		s->ihl_override = (int)below(16);
	if (chance(24))
		s->tot_len_delta = (int)below(81) - 40;
	if (s->family == 6 && chance(16)) {
		static const uint8_t ext[] = { 0, 43, 44, 60, 51, 50, 59 };

		s->v6_ext = PICK(ext);
		s->v6_ext_set = true;
	}
	if (s->proto == IPPROTO_TCP && chance(24))
		s->doff_override = (int)below(16);
	if (s->proto == IPPROTO_UDP && chance(8))
		s->udp_csum_zero = true;
	if (chance(4))
		s->payload_len = (int)below(1200);
	if (chance(32))
		s->pad_to = 60 + (int)below(200);
}

static bool has_bytes(const uint8_t *p, size_t len, const uint8_t *needle, size_t n)
{
	return memmem(p, len, needle, n) != NULL;
}

/* Carries a VIP or SNAT address anywhere: may legitimately be Baton's business. */
static bool maybe_ours(const uint8_t *p, size_t len)
{
	return has_bytes(p, len, vip4, 4) || has_bytes(p, len, snat4, 4) ||
	       has_bytes(p, len, vip6, 16) || has_bytes(p, len, snat6, 16);
}

/* ---- Invariant 3: where a forwarded frame goes ---- */

static int find_service(int family, const uint8_t *addr, int port, int proto)
{
	uint8_t a[16];

	for (int s = 1; s < N_SERVICES; s++) {
		fx_addr(services[s].family, services[s].vip, a);
		if (services[s].family == family && services[s].port == port &&
		    services[s].proto == proto && !memcmp(a, addr, family == 4 ? 4 : 16))
			return s;
	}
	return 0;
}

static bool is_backend_of(int sid, int family, const uint8_t *addr, int port)
{
	uint8_t a[16];

	for (int i = 0; i < 2; i++) {
		int b = services[sid].be[i];

		if (b == 0)
			continue;
		fx_addr(backends[b].family, backends[b].addr, a);
		if (backends[b].family == family && backends[b].port == port &&
		    !memcmp(a, addr, family == 4 ? 4 : 16))
			return true;
	}
	return false;
}

static bool is_any_backend_addr(int family, const uint8_t *addr)
{
	uint8_t a[16];

	for (int b = 1; b < N_BACKENDS; b++) {
		fx_addr(backends[b].family, backends[b].addr, a);
		if (backends[b].family == family && !memcmp(a, addr, family == 4 ? 4 : 16))
			return true;
	}
	return false;
}

/*
 * Into the L7 lane, unchanged: TCP to an L7 frontend, or to the SNAT address on one of
 * baton-l7's ports (a backend leg). Only those.
 */
static bool lane_allowed(const struct pkt_info *pi)
{
	int sid = find_service(pi->family, pi->daddr, pi->dport, pi->proto);

	if (pi->proto != IPPROTO_TCP)
		return false;
	if (sid && services[sid].l7)
		return true;
	return !memcmp(pi->daddr, pi->family == 4 ? snat4 : snat6, pi->family == 4 ? 4 : 16) &&
	       pi->dport >= L7_PORT_MIN && pi->dport <= L7_PORT_MAX;
}

/* NULL when the forward is allowed, else why not. */
static const char *check_forward(const uint8_t *in, size_t in_len, const uint8_t *out,
				 size_t out_len)
{
	struct pkt_info pi, po;
	const uint8_t *snat;
	int sid, alen;

	pkt_parse(in, in_len, &pi);
	pkt_parse(out, out_len, &po);
	/* A NAT forward always rewrites an address: an unchanged frame went to the lane. */
	if (out_len == in_len && !memcmp(in, out, in_len))
		return lane_allowed(&pi) ? NULL : "unchanged frame forwarded (into the lane?)";
	if (po.family != 4 && po.family != 6)
		return "forwarded frame is not IP";
	if (pi.family != po.family)
		return "family changed";
	alen = po.family == 4 ? 4 : 16;
	snat = po.family == 4 ? snat4 : snat6;
	if (po.proto == IPPROTO_ICMP || po.proto == IPPROTO_ICMPV6) {
		/* A translated error goes from SNAT to a backend, or from a VIP to a client. */
		if (!memcmp(po.saddr, snat, alen))
			return is_any_backend_addr(po.family, po.daddr)
				       ? NULL
				       : "ICMP from SNAT to a non-backend";
		return memcmp(po.saddr, po.family == 4 ? vip4 : vip6, alen)
			       ? "ICMP error leaves from neither SNAT nor a VIP"
			       : NULL;
	}
	/* client -> VIP:port  =>  SNAT -> backend of that service */
	sid = find_service(pi.family, pi.daddr, pi.dport, pi.proto);
	if (sid && !memcmp(po.saddr, snat, alen)) {
		if (!is_backend_of(sid, po.family, po.daddr, po.dport))
			return "forwarded to a backend not in the service's table";
		return NULL;
	}
	/* backend -> SNAT  =>  VIP:port -> client, the backend being the service's */
	sid = find_service(po.family, po.saddr, po.sport, po.proto);
	if (sid && !memcmp(pi.daddr, snat, alen)) {
		if (!is_backend_of(sid, pi.family, pi.saddr, pi.sport))
			return "reply of a backend that is not the service's";
		return NULL;
	}
	/* The RST of a service without backends: VIP:port -> the client, ports swapped. */
	if (sid && services[sid].be[0] == 0 && !memcmp(po.daddr, pi.saddr, alen) &&
	    po.dport == pi.sport && !memcmp(po.saddr, pi.daddr, alen))
		return NULL;
	return "forwarded frame matches no service";
}

/* ---- Running and checking ---- */

struct tally {
	unsigned long long act[5];
	unsigned long long packets;
};

static unsigned long long seed;

static void fail_packet(const char *why, unsigned long long n, const uint8_t *in, size_t in_len,
			const uint8_t *out, size_t out_len, uint32_t verdict)
{
	printf("not ok - packet %llu: %s (verdict %s); seed %llu reproduces it\n", n, why,
	       fx_xdp_action_name(verdict), seed);
	pkt_hexdiff(stdout, out, out_len, in, in_len);
	exit(1);
}

static uint8_t out[PKT_MAX + 256];
static uint32_t out_len;

/* Runs one frame, checks invariants 1-3; returns the verdict (output in out[]). */
static int run_one(const uint8_t *in, size_t len, bool valid, struct tally *t)
{
	struct fx_run r = { .in = in,
			    .len = (uint32_t)len,
			    .ifindex = ifindex[chance(4)],
			    .out = out,
			    .out_len = sizeof(out) };
	const char *why = NULL;
	char verr[256];

	if (fx_xdp_run(prog_fd, &r)) {
		/* The kernel refuses frames shorter than an Ethernet header. */
		if (len < 14 && errno == EINVAL)
			return -1;
		fprintf(stderr, "Bail out! BPF_PROG_TEST_RUN (%zu bytes): %s\n", len,
			strerror(errno));
		exit(1);
	}
	out_len = r.out_len;
	t->packets++;
	if (r.retval > XDP_REDIRECT || r.retval == XDP_ABORTED)
		fail_packet("verdict out of range", t->packets, in, len, out, r.out_len, r.retval);
	t->act[r.retval]++;
	if (r.retval == XDP_PASS) {
		if (r.out_len != len || memcmp(in, out, len))
			why = "passed frame was changed";
	} else if (!maybe_ours(in, len)) {
		why = "frame without a VIP or SNAT address was not passed";
	} else if (r.retval == XDP_TX || r.retval == XDP_REDIRECT) {
		why = check_forward(in, len, out, r.out_len);
		if (why == NULL && valid &&
		    pkt_verify(out, r.out_len, PKT_V_UDP0_OK, verr, sizeof(verr)))
			why = verr;
	}
	if (why != NULL)
		fail_packet(why, t->packets, in, len, out, r.out_len, r.retval);
	return (int)r.retval;
}

/* Remembers the flow a new-flow packet created, from its forwarded output. */
static void learn_flow(const struct pkt_spec *s)
{
	struct fz_flow *f = &flows[n_flows % N_FLOWS];
	int af = s->family == 4 ? AF_INET : AF_INET6;
	struct pkt_info po;

	pkt_parse(out, out_len, &po);
	/* Into the L7 lane (unchanged): baton-l7's business, not a flow of the program. */
	if (po.family != s->family || po.proto != s->proto ||
	    memcmp(po.saddr, s->family == 4 ? snat4 : snat6, s->family == 4 ? 4 : 16))
		return;
	f->family = s->family;
	f->proto = s->proto;
	snprintf(f->client, sizeof(f->client), "%s", s->saddr);
	snprintf(f->vip, sizeof(f->vip), "%s", s->daddr);
	inet_ntop(af, po.daddr, f->backend, sizeof(f->backend));
	inet_ntop(af, po.saddr, f->snat, sizeof(f->snat));
	f->cport = s->sport;
	f->vport = s->dport;
	f->bport = po.dport;
	f->sport = po.sport;
	n_flows++;
}

/*
 * An L7 SYN went into the lane: splice it as baton-l7 would once the backend answered
 * (both entries in the main table, random deltas and window shifts), so that its later
 * packets take XDP's splice path. Its client -> VIP packets must then reach the
 * service's backend from SNAT:leg port, and the backend's come back as VIP:port.
 */
static void splice_l7(const struct pkt_spec *s)
{
	struct fz_flow *f = &flows[n_flows % N_FLOWS];
	struct baton_flow_key kc = { .proto = IPPROTO_TCP }, kb = { .proto = IPPROTO_TCP };
	struct baton_flow fc = { 0 }, fb = { 0 };
	uint8_t vip[16], client[16], be[16], snat[16];
	int fd = bpf_map__fd(skel->maps.flows), sid, b, lport;
	struct timespec ts;

	fx_addr(s->family, s->daddr, vip);
	sid = find_service(s->family, vip, s->dport, IPPROTO_TCP);
	if (!sid || !services[sid].l7)
		return;
	b = services[sid].be[below(2)];
	lport = L7_PORT_MIN + (int)below(L7_PORT_MAX - L7_PORT_MIN + 1);
	fx_addr(s->family, s->saddr, client);
	fx_addr(s->family, backends[b].addr, be);
	memcpy(snat, s->family == 4 ? snat4 : snat6, 16);
	clock_gettime(CLOCK_MONOTONIC, &ts);

	kc.family = kb.family = abi_family(s->family);
	memcpy(kc.saddr, client, 16);
	memcpy(kc.daddr, vip, 16);
	kc.sport = htons((uint16_t)s->sport);
	kc.dport = htons((uint16_t)s->dport);
	memcpy(kb.saddr, be, 16);
	memcpy(kb.daddr, snat, 16);
	kb.sport = htons((uint16_t)backends[b].port);
	kb.dport = htons((uint16_t)lport);

	fc.flags = fb.flags = BATON_FLOW_F_SPLICED;
	fb.flags |= BATON_FLOW_F_REPLY;
	fc.service_id = fb.service_id = (__u32)sid;
	fc.backend_id = fb.backend_id = (__u32)b;
	/* a second back: the kernel's coarse clock may lag this one */
	fc.last_seen_ns = fb.last_seen_ns =
		(__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec - 1000000000ull;
	memcpy(fc.saddr, snat, 16);
	memcpy(fc.daddr, be, 16);
	fc.sport = kb.dport;
	fc.dport = kb.sport;
	memcpy(fb.saddr, vip, 16);
	memcpy(fb.daddr, client, 16);
	fb.sport = kc.dport;
	fb.dport = kc.sport;
	fc.seq_delta = (__u32)rnd();
	fc.ack_delta = (__u32)rnd();
	fb.seq_delta = -fc.ack_delta;
	fb.ack_delta = -fc.seq_delta;
	fc.wscale_shift = (__s8)((int)below(9) - 4);
	fb.wscale_shift = (__s8)-fc.wscale_shift;
	if (bpf_map_update_elem(fd, &kb, &fb, BPF_ANY) ||
	    bpf_map_update_elem(fd, &kc, &fc, BPF_ANY))
		return;

	f->family = s->family;
	f->proto = IPPROTO_TCP;
	snprintf(f->client, sizeof(f->client), "%s", s->saddr);
	snprintf(f->vip, sizeof(f->vip), "%s", s->daddr);
	snprintf(f->backend, sizeof(f->backend), "%s", backends[b].addr);
	snprintf(f->snat, sizeof(f->snat), "%s", s->family == 4 ? SNAT4 : SNAT6);
	f->cport = s->sport;
	f->vport = s->dport;
	f->bport = backends[b].port;
	f->sport = lport;
	n_flows++;
	n_spliced++;
}

static void reason_sums(__u64 *pk)
{
	for (__u32 r = 0; r < BATON_R_MAX; r++) {
		__u64 v[2];

		must(fx_percpu_sum(bpf_map__fd(skel->maps.reason_stats), r,
				   sizeof(struct baton_reason_stats), v, 2),
		     "reason_stats");
		pk[r] = v[0];
	}
}

/* The verdict a reason stands for; a reason this test does not know stops it. */
static int reason_verdict(int r)
{
	const char *n = baton_reason_name((unsigned int)r);

	switch (r) {
	case BATON_R_FWD_TX:
	case BATON_R_TX_RST_NO_BACKEND:
	case BATON_R_TX_ARP_REPLY:
	case BATON_R_TX_ND_ADVERT:
		return XDP_TX;
	case BATON_R_FWD_REDIRECT:
	case BATON_R_FWD_L7_LANE:
	case BATON_R_FWD_L7_OUT:
		return XDP_REDIRECT;
	}
	if (strncmp(n, "pass_", 5) == 0)
		return XDP_PASS;
	if (strncmp(n, "drop_", 5) == 0)
		return XDP_DROP;
	fprintf(stderr, "Bail out! reason %s: which verdict?\n", n);
	exit(1);
}

/* Invariant 4 over a batch. */
static void check_batch(const __u64 *before, const struct tally *t0, const struct tally *t1)
{
	__u64 after[BATON_R_MAX], d[BATON_R_MAX], sum = 0, v[5] = { 0 }, pass, tx, redir, drop;
	unsigned long long n = t1->packets - t0->packets;
	unsigned long long a[5];

	reason_sums(after);
	for (int r = 0; r < BATON_R_MAX; r++) {
		d[r] = after[r] - before[r];
		sum += d[r];
		v[reason_verdict(r)] += d[r];
	}
	for (int i = 0; i < 5; i++)
		a[i] = t1->act[i] - t0->act[i];
	pass = v[XDP_PASS];
	tx = v[XDP_TX];
	redir = v[XDP_REDIRECT];
	drop = v[XDP_DROP];
	if (sum != n || pass != a[XDP_PASS] || tx != a[XDP_TX] || redir != a[XDP_REDIRECT] ||
	    drop != a[XDP_DROP]) {
		printf("not ok - counters: %llu packets, reasons sum %llu; PASS %llu/%llu TX "
		       "%llu/%llu REDIRECT %llu/%llu DROP %llu/%llu (verdicts/reasons); seed %llu\n",
		       n, (unsigned long long)sum, a[XDP_PASS], (unsigned long long)pass, a[XDP_TX],
		       (unsigned long long)tx, a[XDP_REDIRECT], (unsigned long long)redir,
		       a[XDP_DROP], (unsigned long long)drop, seed);
		exit(1);
	}
}

/* Bytes flipped, a checksum broken, the frame cut, or its tail randomised. */
static void mutate(uint8_t *p, size_t *len)
{
	switch (below(4)) {
	case 0:
		for (unsigned int k = 1 + below(4); k > 0 && *len > 0; k--)
			p[below((uint32_t)*len)] ^= (uint8_t)(1 + below(255));
		break;
	case 1: /* a checksum field, wherever it is: somewhere past the IP header */
		if (*len > 40)
			p[34 + below((uint32_t)*len - 34)] ^= 0xff;
		break;
	case 2:
		*len = below((uint32_t)*len + 1);
		break;
	default:
		for (size_t i = 14 + below(40); i < *len; i++)
			p[i] = (uint8_t)rnd();
		break;
	}
}

static unsigned long long env_or(const char *name, const char *arg, unsigned long long dflt)
{
	const char *v = arg != NULL ? arg : getenv(name);

	return v != NULL ? strtoull(v, NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
	unsigned long long total =
		env_or("BATON_XDP_FUZZ_PACKETS", argc > 1 ? argv[1] : NULL, 1000000);
	struct tally t = { 0 }, t0;
	__u64 before[BATON_R_MAX];
	struct timespec ts0, ts1;
	cpu_set_t cpu0;
	int rc;

	seed = env_or("BATON_XDP_FUZZ_SEED", argc > 2 ? argv[2] : NULL,
		      (unsigned long long)time(NULL));
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# seed %llu, %llu packets (rerun: %s %llu %llu)\n", seed, total, argv[0], total,
	       seed);
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (network namespace, BPF)\n");
		return FX_SKIP;
	}
	/* One CPU: the per-CPU SNAT partition and counters are the ones read back. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	fx_libbpf_print_setup();
	rc = fx_netns_setup(&world, ifindex);
	if (rc)
		return rc;
	skel = baton_bpf__open_and_load();
	if (skel == NULL) {
		fprintf(stderr, "Bail out! loading the XDP program failed: %s\n", strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.baton_xdp);
	setup_maps();
	clock_gettime(CLOCK_MONOTONIC, &ts0);

	while (t.packets < total) {
		t0 = t;
		reason_sums(before);
		if (chance(20))
			reset_flows();
		for (int i = 0; i < 2000; i++) {
			uint8_t buf[PKT_MAX];
			char sa[64], da[64];
			struct pkt_spec s = { .dmac = mac_a, .smac = mac_router }, q;
			bool valid = true;
			int len;

			if (chance(50)) { /* random bytes after an Ethernet header */
				size_t n = below(200);

				for (size_t k = 0; k < n; k++)
					buf[k] = (uint8_t)rnd();
				if (n >= 14 && chance(2)) {
					buf[12] = 0x08;
					buf[13] = chance(2) ? 0x00 : 0xdd;
					if (buf[13] == 0xdd)
						buf[12] = 0x86;
				}
				run_one(buf, n, false, &t);
				continue;
			}
			if (n_flows > 0 && chance(2))
				gen_flow(&s, &q,
					 &flows[below(n_flows < N_FLOWS ? n_flows : N_FLOWS)]);
			else
				gen_fresh(&s, sa, da);
			if (chance(3)) {
				malform(&s);
				valid = false;
			}
			len = pkt_build(&s, buf, sizeof(buf));
			if (len < 0)
				continue;  /* a combination the builder refuses */
			if (chance(200)) { /* cut at every offset */
				for (int cut = 0; cut <= len && t.packets < total; cut++)
					run_one(buf, (size_t)cut, cut == len && valid, &t);
				continue;
			}
			if (chance(3)) {
				size_t n = (size_t)len;

				mutate(buf, &n);
				run_one(buf, n, false, &t);
				continue;
			}
			rc = run_one(buf, (size_t)len, valid, &t);
			/* A new flow through the program: its later packets come next. */
			if (valid && !s.quote && s.daddr == da &&
			    (rc == XDP_TX || rc == XDP_REDIRECT) &&
			    (s.proto == IPPROTO_UDP ||
			     (s.proto == IPPROTO_TCP &&
			      (s.tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN))) {
				learn_flow(&s);
				if (rc == XDP_REDIRECT && s.proto == IPPROTO_TCP && chance(2))
					splice_l7(&s);
			}
		}
		check_batch(before, &t0, &t);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	printf("# %llu packets in %.1f s: PASS %llu, TX %llu, REDIRECT %llu, DROP %llu; %u "
	       "flows followed, %u of them L7 splices\n",
	       t.packets, (ts1.tv_sec - ts0.tv_sec) + (ts1.tv_nsec - ts0.tv_nsec) / 1e9,
	       t.act[XDP_PASS], t.act[XDP_TX], t.act[XDP_REDIRECT], t.act[XDP_DROP], n_flows,
	       n_spliced);
	{
		__u64 all[BATON_R_MAX];

		reason_sums(all);
		for (int r = 0; r < BATON_R_MAX; r++)
			printf("#   %-18s %llu\n", baton_reason_name(r),
			       (unsigned long long)all[r]);
	}
	printf("ok - every packet: a valid verdict, PASS unchanged, no forward outside the "
	       "service, counters = verdicts\n");
	baton_bpf__destroy(skel);
	return 0;
}
