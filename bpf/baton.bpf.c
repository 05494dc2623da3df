// SPDX-License-Identifier: GPL-2.0-only
/*
 * Baton's XDP fast path: L4 full-NAT load balancing with Maglev and a flow table.
 * The rules this file implements are written down in docs/xdp.md.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "baton_abi.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"

#define AF_INET 2
#define AF_INET6 10
#define NSEC_PER_SEC 1000000000ull
#define SNAT_PROBES 8

#ifdef BATON_DEBUG
#define dbg(fmt, ...) bpf_printk(fmt, ##__VA_ARGS__)
#else
#define dbg(fmt, ...)
#endif

char LICENSE[] SEC("license") = "GPL";

/*
 * For perf/bench_xdp --breakdown only (perf/meson.build builds such objects next to the
 * real one; batond's never sets them): BATON_BENCH_X2 is a mask of BENCH_* steps of the
 * new-flow path that the object does twice, BATON_BENCH_SKIP a mask of steps it leaves
 * out (replaced by what the benchmark's setup would have given), so that a step's cost
 * is its object's time minus the unmodified program's, measured in the same run on the
 * same packets. Zero (the default): every X2() / SKIP() is a constant 0, compiled away.
 */
#ifndef BATON_BENCH_X2
#define BATON_BENCH_X2 0
#endif
#ifndef BATON_BENCH_SKIP
#define BATON_BENCH_SKIP 0
#endif
#define BENCH_PARSE 0x1	      /* Ethernet, IP and L4 headers */
#define BENCH_FLOW_LOOKUP 0x2 /* the packet's key in flows and syn_flows (misses for a SYN) */
#define BENCH_FRONTEND 0x4    /* the frontend lookup */
#define BENCH_MAGLEV 0x8      /* flow hash, outer and inner Maglev lookups, the backend */
#define BENCH_SNAT 0x10	      /* the chosen port's reply key in flows and syn_flows */
#define BENCH_FIB 0x20	      /* bpf_fib_lookup() */
#define BENCH_INSERT 0x40     /* the two inserts of a new flow, or of a promotion */
#define BENCH_COUNTERS 0x80   /* the service and backend counters */
#define X2(step) (BATON_BENCH_X2 & (step))
#define SKIP(step) (BATON_BENCH_SKIP & (step))

static __always_inline void count(__u32 reason, const struct pkt *p)
{
	struct baton_reason_stats *s = bpf_map_lookup_elem(&reason_stats, &reason);

	if (s != NULL) {
		s->packets++;
		s->bytes += p->len;
	}
}

static __always_inline int pass(__u32 reason, const struct pkt *p)
{
	count(reason, p);
	return XDP_PASS;
}

static __always_inline int drop(__u32 reason, const struct pkt *p)
{
	count(reason, p);
	return XDP_DROP;
}

static __always_inline int addr_words(__u8 family)
{
	return family == BATON_FAMILY_V4 ? 1 : 4;
}

/* Is this destination address one of Baton's VIP addresses? */
static __always_inline int is_vip_addr(const struct baton_flow_key *k)
{
	struct baton_frontend_key fk = {};

	__builtin_memcpy(fk.addr, k->daddr, sizeof(fk.addr));
	fk.family = k->family;
	return bpf_map_lookup_elem(&frontends, &fk) != NULL;
}

/* A malformed packet: dropped (and counted) if aimed at a VIP, else not our business. */
static __always_inline int malformed(__u32 reason, struct pkt *p, struct xdp_md *ctx)
{
	if (reason == BATON_R_PASS_NOT_VIP || !is_vip_addr(&p->key))
		return pass(BATON_R_PASS_NOT_VIP, p);
	return drop(reason, p);
}

static __always_inline int not_served(struct pkt *p, struct xdp_md *ctx)
{
	return pass(is_vip_addr(&p->key) ? BATON_R_PASS_VIP_OTHER : BATON_R_PASS_NOT_VIP, p);
}

static __always_inline int entry_live(const struct baton_flow *f, const struct baton_config *cfg,
				      __u64 idle, __u64 now)
{
	if ((__s64)(now - f->last_seen_ns) > (__s64)idle)
		return 0;
	if (f->closing_ns && (__s64)(now - f->closing_ns) > (__s64)cfg->tcp_close_ns)
		return 0;
	return 1;
}

/* An entry of the main flow table. */
static __always_inline int flow_live(const struct baton_flow *f, const struct baton_config *cfg,
				     __u8 proto, __u64 now)
{
	return entry_live(f, cfg, proto == IPPROTO_TCP ? cfg->tcp_idle_ns : cfg->udp_idle_ns, now);
}

/* An entry of the embryonic table (TCP, handshake not complete). */
static __always_inline int syn_live(const struct baton_flow *f, const struct baton_config *cfg,
				    __u64 now)
{
	/* 0 (a writer that does not know the field): the open flows' timeout. */
	return entry_live(f, cfg, cfg->tcp_syn_ns ? cfg->tcp_syn_ns : cfg->tcp_idle_ns, now);
}

/* The key of the other direction's entry, derived from an entry's rewrite. */
static __always_inline void peer_key(struct baton_flow_key *pk, const struct baton_flow *f,
				     const struct baton_flow_key *k)
{
	__builtin_memcpy(pk->saddr, f->daddr, sizeof(pk->saddr));
	__builtin_memcpy(pk->daddr, f->saddr, sizeof(pk->daddr));
	pk->sport = f->dport;
	pk->dport = f->sport;
	pk->proto = k->proto;
	pk->family = k->family;
	pk->pad[0] = 0;
	pk->pad[1] = 0;
}

/* FIN/RST bookkeeping; only packets carrying those flags get here. tbl: f's table. */
static __always_inline void tcp_track_close(struct baton_flow *f, const struct baton_flow_key *k,
					    __u8 flags, __u64 now, void *tbl)
{
	struct baton_flow_key pk;
	struct baton_flow *peer;

	if (!(flags & TCP_RST) && (f->flags & BATON_FLOW_F_FIN))
		return;
	peer_key(&pk, f, k);
	peer = bpf_map_lookup_elem(tbl, &pk);
	if (flags & TCP_RST) {
		if (!f->closing_ns)
			f->closing_ns = now;
		if (peer != NULL && !peer->closing_ns)
			peer->closing_ns = now;
		return;
	}
	f->flags |= BATON_FLOW_F_FIN;
	if (peer != NULL && (peer->flags & BATON_FLOW_F_FIN)) {
		f->closing_ns = now;
		peer->closing_ns = now;
	}
}

/* Rewrite addresses and ports as the entry says, fixing checksums incrementally. */
static __always_inline int rewrite(struct pkt *p, const struct baton_flow *f)
{
	int words = addr_words(p->key.family);
	__u32 d_addr = 0, d_l4;

	d_addr = csum_acc_addr(d_addr, p->key.saddr, f->saddr, words);
	d_addr = csum_acc_addr(d_addr, p->key.daddr, f->daddr, words);
	d_l4 = csum_acc16(d_addr, p->key.sport, f->sport);
	d_l4 = csum_acc16(d_l4, p->key.dport, f->dport);

	if (p->ip4 != NULL) {
		struct iphdr *iph = p->ip4;

		if ((void *)(iph + 1) > p->data_end)
			return -1;
		iph->saddr = f->saddr[0];
		iph->daddr = f->daddr[0];
		csum_apply(&iph->check, d_addr);
	} else {
		struct ipv6hdr *ip6h = p->ip6;

		if (ip6h == NULL || (void *)(ip6h + 1) > p->data_end)
			return -1;
		__builtin_memcpy(&ip6h->saddr, f->saddr, 16);
		__builtin_memcpy(&ip6h->daddr, f->daddr, 16);
	}

	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > p->data_end)
			return -1;
		th->source = f->sport;
		th->dest = f->dport;
		csum_apply(&th->check, d_l4);
	} else {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > p->data_end)
			return -1;
		uh->source = f->sport;
		uh->dest = f->dport;
		csum_apply_udp(&uh->check, d_l4);
	}
	return 0;
}

/*
 * The kernel has no neighbour entry for the next hop. Handing the packet to the stack
 * does not help (its source is the load balancer's own address: a martian), so it is
 * dropped and batond is asked to resolve the neighbour; the sender's retransmission
 * finds it.
 */
static __noinline int no_neigh(struct bpf_fib_lookup *fl, const struct pkt *p)
{
	struct baton_neigh_req req = {};

	req.ifindex = fl->ifindex;
	if (fl->family == AF_INET) {
		req.family = BATON_FAMILY_V4;
		req.addr[0] = fl->ipv4_dst;
	} else {
		req.family = BATON_FAMILY_V6;
		__builtin_memcpy(req.addr, fl->ipv6_dst, 16);
	}
	bpf_ringbuf_output(&neigh_req, &req, sizeof(req), 0);
	return drop(BATON_R_DROP_NO_NEIGH, p);
}

/*
 * Send a rewritten packet towards f->daddr: next hop from the entry's cache or from
 * bpf_fib_lookup(), then XDP_TX or redirect. Counts the packet for its service and
 * backend.
 */
/*
 * Make sure f carries a fresh next hop towards f->daddr (cached in the entry for
 * fib_cache_ns). Returns 0, or the verdict for a packet that cannot be sent.
 */
static __always_inline int resolve_next_hop(struct xdp_md *ctx, struct pkt *p, struct baton_flow *f,
					    const struct baton_config *cfg, __u64 now)
{
	struct bpf_fib_lookup fl = {};
	long rc;

	if (f->fib_ns && now - f->fib_ns <= cfg->fib_cache_ns)
		return 0;
	fl.ifindex = ctx->ingress_ifindex;
	fl.l4_protocol = p->key.proto;
	fl.sport = f->sport;
	fl.dport = f->dport;
	if (p->key.family == BATON_FAMILY_V4) {
		fl.family = AF_INET;
		fl.ipv4_src = f->saddr[0];
		fl.ipv4_dst = f->daddr[0];
	} else {
		fl.family = AF_INET6;
		__builtin_memcpy(fl.ipv6_src, f->saddr, 16);
		__builtin_memcpy(fl.ipv6_dst, f->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fl, sizeof(fl), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return no_neigh(&fl, p);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		dbg("baton: fib lookup failed: %ld", rc);
		return drop(BATON_R_DROP_FIB, p);
	}
	f->fib_ifindex = fl.ifindex;
	__builtin_memcpy(f->smac, fl.smac, ETH_ALEN);
	__builtin_memcpy(f->dmac, fl.dmac, ETH_ALEN);
	f->fib_ns = now;
	return 0;
}

/*
 * Send a rewritten packet by f's resolved next hop; count it for service and backend
 * (and, for the first packet of a flow, the new flow: new_flow = 1).
 */
static __always_inline int send(struct xdp_md *ctx, struct pkt *p, const struct baton_flow *f,
				int new_flow)
{
	struct baton_stats *s;
	struct ethhdr *eth = p->eth;

	if ((void *)(eth + 1) > p->data_end)
		return drop(BATON_R_DROP_TRUNCATED, p);
	__builtin_memcpy(eth->h_source, f->smac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, f->dmac, ETH_ALEN);

	s = SKIP(BENCH_COUNTERS) ? NULL : bpf_map_lookup_elem(&svc_stats, &f->service_id);
	if (s != NULL) {
		s->packets++;
		s->bytes += p->len;
		s->new_flows += new_flow;
	}
	s = SKIP(BENCH_COUNTERS) ? NULL : bpf_map_lookup_elem(&be_stats, &f->backend_id);
	if (s != NULL) {
		s->packets++;
		s->bytes += p->len;
		s->new_flows += new_flow;
	}

	if (f->fib_ifindex == ctx->ingress_ifindex) {
		count(BATON_R_FWD_TX, p);
		return XDP_TX;
	}
	count(BATON_R_FWD_REDIRECT, p);
	return bpf_redirect(f->fib_ifindex, 0);
}

/*
 * A new flow's next hop (f: its forward entry, rewrite filled in): taken over from
 * nh_cache (maps.h) while fresh and resolved for the same backend, addresses and
 * ingress, with its age; else resolved, and cached. Returns as resolve_next_hop.
 */
static __always_inline int new_flow_next_hop(struct xdp_md *ctx, struct pkt *p,
					     struct baton_flow *f, const struct baton_config *cfg,
					     __u64 now)
{
	__u32 slot = f->backend_id % NH_CACHE_SLOTS;
	struct nh_cache_entry *c = bpf_map_lookup_elem(&nh_cache, &slot);
	int r;

	if (c != NULL && c->fib_ns && now - c->fib_ns <= cfg->fib_cache_ns &&
	    c->backend_id == f->backend_id && c->in_ifindex == ctx->ingress_ifindex &&
	    ((c->daddr[0] ^ f->daddr[0]) | (c->daddr[1] ^ f->daddr[1]) |
	     (c->daddr[2] ^ f->daddr[2]) | (c->daddr[3] ^ f->daddr[3]) |
	     (c->saddr[0] ^ f->saddr[0]) | (c->saddr[1] ^ f->saddr[1]) |
	     (c->saddr[2] ^ f->saddr[2]) | (c->saddr[3] ^ f->saddr[3])) == 0) {
		f->fib_ns = c->fib_ns;
		f->fib_ifindex = c->fib_ifindex;
		__builtin_memcpy(f->smac, c->smac, ETH_ALEN);
		__builtin_memcpy(f->dmac, c->dmac, ETH_ALEN);
		return 0;
	}
	r = resolve_next_hop(ctx, p, f, cfg, now);
	if (r || c == NULL)
		return r;
	c->fib_ns = f->fib_ns;
	__builtin_memcpy(c->saddr, f->saddr, 16);
	__builtin_memcpy(c->daddr, f->daddr, 16);
	c->backend_id = f->backend_id;
	c->in_ifindex = ctx->ingress_ifindex;
	c->fib_ifindex = f->fib_ifindex;
	__builtin_memcpy(c->smac, f->smac, ETH_ALEN);
	__builtin_memcpy(c->dmac, f->dmac, ETH_ALEN);
	return 0;
}

static __always_inline int emit(struct xdp_md *ctx, struct pkt *p, struct baton_flow *f,
				const struct baton_config *cfg, __u64 now)
{
	int r = resolve_next_hop(ctx, p, f, cfg, now);

	return r ? r : send(ctx, p, f, 0);
}

/*
 * An L7 splice: the two legs of the connection have their own sequence spaces and
 * window scales (docs/l7.md), so a spliced entry adds its deltas to seq and ack and
 * rescales the window. SACK and timestamps are never negotiated on either leg, so no
 * option needs translating. Checksum fixed incrementally.
 */
static __always_inline int splice(struct pkt *p, const struct baton_flow *f)
{
	struct tcphdr *th = p->l4;
	__u32 d = 0, v;
	__be32 old32;
	__be16 old16;

	if ((void *)(th + 1) > p->data_end)
		return -1;
	if (f->seq_delta) {
		old32 = th->seq;
		th->seq = bpf_htonl(bpf_ntohl(old32) + f->seq_delta);
		d = csum_acc32(d, old32, th->seq);
	}
	if ((p->tcp_flags & TCP_ACK) && f->ack_delta) {
		old32 = th->ack_seq;
		th->ack_seq = bpf_htonl(bpf_ntohl(old32) + f->ack_delta);
		d = csum_acc32(d, old32, th->ack_seq);
	}
	if (f->wscale_shift) {
		old16 = th->window;
		v = bpf_ntohs(old16);
		if (f->wscale_shift > 0)
			v <<= f->wscale_shift & 15;
		else
			v >>= (-f->wscale_shift) & 15;
		th->window = bpf_htons(v > 0xffff ? 0xffff : v);
		d = csum_acc16(d, old16, th->window);
	}
	if (d)
		csum_apply(&th->check, d);
	return 0;
}

/* Forward by entry f of table tbl (flows or syn_flows). */
static __always_inline int forward(struct xdp_md *ctx, struct pkt *p, struct baton_flow *f,
				   const struct baton_config *cfg, __u64 now, void *tbl)
{
	if (p->tcp_flags & (TCP_FIN | TCP_RST))
		tcp_track_close(f, &p->key, p->tcp_flags, now, tbl);
	if (now - f->last_seen_ns > NSEC_PER_SEC)
		f->last_seen_ns = now;
	if ((f->flags & BATON_FLOW_F_SPLICED) && p->key.proto == IPPROTO_TCP && splice(p, f) < 0)
		return drop(BATON_R_DROP_TRUNCATED, p);
	if (rewrite(p, f) < 0)
		return drop(BATON_R_DROP_TRUNCATED, p);
	return emit(ctx, p, f, cfg, now);
}

/* Unbound TCP of an L7 frontend, or of a backend leg of baton-l7: into the lane. */
static __always_inline int to_lane(struct pkt *p, const struct baton_config *cfg)
{
	if (!cfg->l7_lane_ifindex)
		return drop(BATON_R_DROP_NO_LANE, p);
	count(BATON_R_FWD_L7_LANE, p);
	return bpf_redirect(cfg->l7_lane_ifindex, 0);
}

/* TCP towards a SNAT address on one of baton-l7's ports (a backend leg, not spliced)? */
static __always_inline int is_l7_leg(const struct pkt *p, const struct baton_config *cfg)
{
	__u16 port = bpf_ntohs(p->key.dport);

	if (p->key.proto != IPPROTO_TCP || port < cfg->l7_port_min || port > cfg->l7_port_max ||
	    !cfg->l7_port_min)
		return 0;
	if (p->key.family == BATON_FAMILY_V4)
		return p->key.daddr[0] == cfg->snat_v4;
	return ((p->key.daddr[0] ^ cfg->snat_v6[0]) | (p->key.daddr[1] ^ cfg->snat_v6[1]) |
		(p->key.daddr[2] ^ cfg->snat_v6[2]) | (p->key.daddr[3] ^ cfg->snat_v6[3])) == 0;
}

/*
 * A frame baton-l7 sent: a complete IP packet (addresses, ports, sequence numbers,
 * checksums all final). Only the MACs of the next hop are missing: fib lookup, send.
 */
static __always_inline int lane_out(struct xdp_md *ctx, struct pkt *p)
{
	struct bpf_fib_lookup fl = {};
	struct ethhdr *eth = p->eth;
	long rc;

	fl.ifindex = ctx->ingress_ifindex;
	fl.l4_protocol = p->key.proto;
	fl.sport = p->key.sport;
	fl.dport = p->key.dport;
	if (p->key.family == BATON_FAMILY_V4) {
		fl.family = AF_INET;
		fl.ipv4_src = p->key.saddr[0];
		fl.ipv4_dst = p->key.daddr[0];
	} else {
		fl.family = AF_INET6;
		__builtin_memcpy(fl.ipv6_src, p->key.saddr, 16);
		__builtin_memcpy(fl.ipv6_dst, p->key.daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fl, sizeof(fl), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return no_neigh(&fl, p);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return drop(BATON_R_DROP_FIB, p);
	if ((void *)(eth + 1) > p->data_end)
		return drop(BATON_R_DROP_TRUNCATED, p);
	__builtin_memcpy(eth->h_source, fl.smac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, fl.dmac, ETH_ALEN);
	count(BATON_R_FWD_L7_OUT, p);
	return bpf_redirect(fl.ifindex, 0);
}

/*
 * Client side of the flow: a retransmitted SYN hashes to the same backend. A sticky
 * service leaves the port out, so all of a client's connections go to one backend.
 */
static __always_inline __u32 flow_hash(const struct baton_flow_key *k, int sticky)
{
	__u32 h = 0x9e3779b9u ^ ((sticky ? 0 : (__u32)k->sport) | ((__u32)k->proto << 16));

#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 w = k->saddr[i] * 0xcc9e2d51u;

		w = (w << 15) | (w >> 17);
		h ^= w * 0x1b873593u;
		h = ((h << 13) | (h >> 19)) * 5 + 0xe6546b64u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Does the forward entry no longer send from the reply key's port to its backend? */
static __always_inline int fwd_moved(const struct baton_flow *fwd,
				     const struct baton_flow_key *rkey)
{
	return fwd->sport != rkey->dport || fwd->dport != rkey->sport ||
	       ((fwd->daddr[0] ^ rkey->saddr[0]) | (fwd->daddr[1] ^ rkey->saddr[1]) |
		(fwd->daddr[2] ^ rkey->saddr[2]) | (fwd->daddr[3] ^ rkey->saddr[3])) != 0;
}

/*
 * May a SNAT port whose reply key holds this entry be taken again? Not while the flow
 * lives in either direction: a one-way UDP flow never refreshes its reply entry, so
 * the forward entry, which still sends from this port, is asked too (only here, on
 * the new-flow path). Not either until a closed flow's TIME_WAIT is surely over.
 */
static __always_inline int snat_port_free(const struct baton_flow_key *rkey,
					  const struct baton_flow *old,
					  const struct baton_config *cfg, __u64 now)
{
	struct baton_flow_key fkey;
	struct baton_flow *fwd;

	if (flow_live(old, cfg, rkey->proto, now))
		return 0;
	if (old->closing_ns && (__s64)(now - old->closing_ns) < (__s64)cfg->port_reuse_ns)
		return 0;
	peer_key(&fkey, old, rkey);
	fwd = bpf_map_lookup_elem(&flows, &fkey);
	/* ... unless that client has since moved on to another port or backend. */
	if (fwd == NULL || !flow_live(fwd, cfg, rkey->proto, now))
		return 1;
	return fwd_moved(fwd, rkey);
}

/*
 * The same question for a reply key found in the embryonic table. An entry whose
 * forward entry is gone (evicted by newer SYNs) or has moved on belongs to a handshake
 * that can no longer complete here, so its port is free at once, unless it was reset
 * less than port_reuse_ns ago. Without this a SYN flood, whose SYN|ACKs keep reply
 * entries fresh while it evicts their forward entries, would pin the SNAT ports.
 */
static __always_inline int syn_port_free(const struct baton_flow_key *rkey,
					 const struct baton_flow *old,
					 const struct baton_config *cfg, __u64 now)
{
	struct baton_flow_key fkey;
	struct baton_flow *fwd;

	if (old->closing_ns && (__s64)(now - old->closing_ns) < (__s64)cfg->port_reuse_ns)
		return 0;
	peer_key(&fkey, old, rkey);
	fwd = bpf_map_lookup_elem(&syn_flows, &fkey);
	if (fwd == NULL || !syn_live(fwd, cfg, now))
		return 1;
	return fwd_moved(fwd, rkey);
}

/*
 * A SYN on the tuple of a client's closed flow (conntrack's rule for a SYN on a
 * TIME_WAIT entry): that flow's SNAT port and backend, noted for new_flow() from the
 * old forward entry before it is deleted or replaced.
 */
static __always_inline void note_reuse(struct pkt *p, const struct baton_flow *f)
{
	p->reuse_port = f->sport;
	p->reuse_bid = f->backend_id;
}

/*
 * Is the reply entry r the one of the client in k (a forward key)? It sends back to
 * k's source from k's destination: client address and port, frontend address and port.
 */
static __always_inline int reply_of(const struct baton_flow *r, const struct baton_flow_key *k)
{
	return r->dport == k->sport && r->sport == k->dport &&
	       ((r->daddr[0] ^ k->saddr[0]) | (r->daddr[1] ^ k->saddr[1]) |
		(r->daddr[2] ^ k->saddr[2]) | (r->daddr[3] ^ k->saddr[3]) |
		(r->saddr[0] ^ k->daddr[0]) | (r->saddr[1] ^ k->daddr[1]) |
		(r->saddr[2] ^ k->daddr[2]) | (r->saddr[3] ^ k->daddr[3])) == 0;
}

/*
 * May the client in k (a forward key) take the SNAT port of its previous flow again,
 * inside port_reuse_ns? Only if the reply entry there is gone or still that same
 * client's (reply_of), and no longer open: dead, or closing.
 */
static __always_inline int reuse_entry_ok(const struct baton_flow *r,
					  const struct baton_flow_key *k, int live)
{
	return (!live || r->closing_ns) && reply_of(r, k);
}

/*
 * The client reopens the tuple of a closed flow (it reuses its port) and Maglev picks
 * that flow's backend (bid) again: its old SNAT port, even inside port_reuse_ns, if
 * nobody else took it since (reuse_entry_ok) and it is still this CPU's. The backend
 * then sees exactly the 4-tuple of the previous connection, from the same client TCP
 * stack (same ISN and timestamp clocks), so its TIME_WAIT accepts the SYN as it would
 * without a load balancer; Linux conntrack does the same for NAT (a SYN on a
 * TIME_WAIT entry reopens it, mapping unchanged). Another client never gets a port
 * inside the guard. Returns 1 with rkey->dport set to that port, else 0.
 * Not inlined: inlined, it cost new_flow() a spill slot, and baton_xdp's stack plus
 * its deepest subprogram's (handle_ns) is at the verifier's 512-byte limit.
 */
static __noinline int snat_reuse(struct pkt *p, struct baton_flow_key *rkey,
				 const struct baton_config *cfg, __u64 now, __u32 bid)
{
	struct baton_flow *old;
	__u32 port = ntohs_bounded(p->reuse_port), ncpu = cfg->nr_cpus ? cfg->nr_cpus : 1;

	if (p->reuse_bid != bid || port < cfg->snat_port_min || port > cfg->snat_port_max ||
	    (port - cfg->snat_port_min) % ncpu != bpf_get_smp_processor_id() % ncpu)
		return 0;
	rkey->dport = p->reuse_port;
	old = bpf_map_lookup_elem(&flows, rkey);
	if (old != NULL && !reuse_entry_ok(old, &p->key, flow_live(old, cfg, IPPROTO_TCP, now)))
		return 0;
	old = bpf_map_lookup_elem(&syn_flows, rkey);
	return old == NULL || reuse_entry_ok(old, &p->key, syn_live(old, cfg, now));
}

/* One's complement sum of n 16-bit words at p (bounded, unrolled). */
static __always_inline __u32 csum_words(const __u16 *w, int n, __u32 sum)
{
#pragma unroll
	for (int i = 0; i < 20; i++) {
		if (i < n)
			sum += w[i];
	}
	return sum;
}

/*
 * A service with no backend answers a TCP segment with an RST (as a port without a
 * listener would), so clients fail fast instead of retrying into silence and a
 * scaled-to-zero app does not fall through to the host. Built in place: the frame is
 * cut to its headers (options dropped), addresses and ports swapped, sequence numbers
 * set as RFC 9293 3.10.7.1 says, checksums computed afresh, and sent back (XDP_TX).
 */
static __noinline int tcp_reset(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data, *end;
	__u32 l3_off, l4_off, hdr_len, seq, ack, seg_len, sum;
	__u8 flags = p->tcp_flags, mac[ETH_ALEN];
	struct ethhdr *eth;
	struct tcphdr *th;
	__be32 tmp[4];
	__be16 port;
	int v4 = p->ip4 != NULL;

	l3_off = p->l3_off == sizeof(*eth) ? sizeof(*eth) : sizeof(*eth) + sizeof(struct vlan_hdr);
	th = p->l4;
	if ((void *)(th + 1) > p->data_end)
		return drop(BATON_R_DROP_TRUNCATED, p);
	seq = bpf_ntohl(th->seq);
	ack = bpf_ntohl(th->ack_seq);
	seg_len = p->l4_len - th->doff * 4 + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	l4_off = l3_off + (v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
	hdr_len = l4_off + sizeof(*th);
	if (bpf_xdp_adjust_tail(ctx, (int)hdr_len - (int)(p->data_end - data)))
		return drop(BATON_R_DROP_NO_BACKEND, p);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	th = data + l4_off;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	if (v4) {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > end)
			return XDP_DROP;
		tmp[0] = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = tmp[0];
		iph->tot_len = bpf_htons(sizeof(*iph) + sizeof(*th));
		iph->ttl = 64;
		iph->id = 0;
		iph->frag_off = bpf_htons(0x4000); /* DF */
		iph->tos = 0;
		iph->check = 0;
		iph->check = ~csum_fold(csum_words((__u16 *)iph, 10, 0));
		sum = csum_words((__u16 *)&iph->saddr, 4, 0);
	} else {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > end)
			return XDP_DROP;
		__builtin_memcpy(tmp, &ip6h->saddr, 16);
		__builtin_memcpy(&ip6h->saddr, &ip6h->daddr, 16);
		__builtin_memcpy(&ip6h->daddr, tmp, 16);
		ip6h->payload_len = bpf_htons(sizeof(*th));
		ip6h->hop_limit = 64;
		sum = csum_words((__u16 *)&ip6h->saddr, 16, 0);
	}
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*th));

	port = th->source;
	th->source = th->dest;
	th->dest = port;
	((__u16 *)th)[6] = 0; /* doff, flags */
	th->doff = 5;
	th->rst = 1;
	if (flags & TCP_ACK) {
		th->seq = bpf_htonl(ack);
		th->ack_seq = 0;
	} else {
		th->seq = 0;
		th->ack_seq = bpf_htonl(seq + seg_len);
		th->ack = 1;
	}
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;
	th->check = ~csum_fold(csum_words((__u16 *)th, 10, sum));
	count(BATON_R_TX_RST_NO_BACKEND, p);
	return XDP_TX;
}

static __always_inline int no_backend(struct xdp_md *ctx, struct pkt *p, __u32 service_id)
{
	struct baton_stats *s;

	/* UDP has no reset; an RST is never answered. */
	if (p->key.proto != IPPROTO_TCP || (p->tcp_flags & TCP_RST))
		return drop(BATON_R_DROP_NO_BACKEND, p);
	/* Demand for a scaled-to-zero service shows in its counters. */
	s = bpf_map_lookup_elem(&svc_stats, &service_id);
	if (s != NULL) {
		s->packets++;
		s->bytes += p->len;
	}
	return tcp_reset(ctx, p);
}

static __always_inline int new_flow(struct xdp_md *ctx, struct pkt *p,
				    const struct baton_frontend *fe, const struct baton_config *cfg,
				    __u64 now)
{
	struct new_flow_scratch *sc;
	struct baton_flow *fwd, *rep;
	struct baton_flow_key rkey = {};
	struct baton_backend *be;
	struct baton_stats *s;
	__u32 zero = 0, idx, bid, *slot, *m, *cur, gen_slot;
	__u32 cpu, ncpu, range, per_cpu;
	void *table;
	int found = 0, r, tcp = p->key.proto == IPPROTO_TCP;

	gen_slot = BATON_MAGLEV_SLOT(fe->service_id, !!(fe->flags & BATON_FE_F_GEN1));
	if (X2(BENCH_MAGLEV)) {
		table = bpf_map_lookup_elem(&maglev, &gen_slot);
		m = table ? bpf_map_lookup_elem(table, &zero) : NULL;
		if (m != NULL && *m) {
			idx = 1 + flow_hash(&p->key, fe->flags & BATON_FE_F_STICKY) % *m;
			slot = bpf_map_lookup_elem(table, &idx);
			if (slot != NULL)
				bpf_map_lookup_elem(&backends, slot);
		}
		asm volatile("" ::: "memory");
	}
	if (SKIP(BENCH_MAGLEV)) {
		bid = bpf_ntohs(p->key.sport) % 16; /* bench_xdp: its IPv4 backends are 0-15 */
		goto backend;
	}
	table = bpf_map_lookup_elem(&maglev, &gen_slot);
	if (table == NULL)
		return no_backend(ctx, p, fe->service_id);
	m = bpf_map_lookup_elem(table, &zero);
	if (m == NULL || *m == 0)
		return no_backend(ctx, p, fe->service_id);
	idx = 1 + flow_hash(&p->key, fe->flags & BATON_FE_F_STICKY) % *m;
	slot = bpf_map_lookup_elem(table, &idx);
	if (slot == NULL || *slot == BATON_NO_BACKEND)
		return no_backend(ctx, p, fe->service_id);
	bid = *slot;
backend:
	be = bpf_map_lookup_elem(&backends, &bid);
	if (be == NULL || be->family != p->key.family)
		return drop(BATON_R_DROP_NO_BACKEND, p);

	/* The reply entry's key: backend -> SNAT address and port. */
	if (p->key.family == BATON_FAMILY_V4) {
		if (!cfg->snat_v4)
			return drop(BATON_R_DROP_NO_SNAT, p);
		rkey.daddr[0] = cfg->snat_v4;
	} else {
		if (!(cfg->snat_v6[0] | cfg->snat_v6[1] | cfg->snat_v6[2] | cfg->snat_v6[3]))
			return drop(BATON_R_DROP_NO_SNAT, p);
		__builtin_memcpy(rkey.daddr, cfg->snat_v6, 16);
	}
	__builtin_memcpy(rkey.saddr, be->addr, 16);
	rkey.sport = be->port;
	rkey.proto = p->key.proto;
	rkey.family = p->key.family;

	/* The client reopens a closed flow's tuple: that flow's port, if it may. */
	if (p->reuse_port && snat_reuse(p, &rkey, cfg, now, bid))
		goto snat_found;

	/*
	 * SNAT port: this CPU's share of the range, walked in order per backend, so a port
	 * comes back towards a backend as late as possible (its TIME_WAIT, PAWS).
	 */
	cur = bpf_map_lookup_elem(&snat_cur, &bid);
	if (cur == NULL)
		return drop(BATON_R_DROP_NO_BACKEND, p);
	ncpu = cfg->nr_cpus ? cfg->nr_cpus : 1;
	cpu = bpf_get_smp_processor_id() % ncpu;
	range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1;
	if (cfg->snat_port_max < cfg->snat_port_min || range <= cpu)
		return drop(BATON_R_DROP_SNAT_EXHAUSTED, p);
	per_cpu = (range - cpu + ncpu - 1) / ncpu;

	/*
	 * Unrolled: clang rotates this loop so that its back edge is a fall-through, which
	 * the verifiers before 6.2 (check_cfg: loop_ok only on jumps) reject as "back-edge
	 * from insn N to N+1" (tests/verifier, docs/xdp.md).
	 */
#pragma unroll
	for (int i = 0; i < SNAT_PROBES; i++) {
		__u32 port = cfg->snat_port_min + cpu + (*cur % per_cpu) * ncpu;
		struct baton_flow *old;

		*cur += 1;
		rkey.dport = bpf_htons((__u16)port);
		if (SKIP(BENCH_SNAT)) {
			found = 1;
			break;
		}
		old = bpf_map_lookup_elem(&flows, &rkey);
		if (old != NULL && !snat_port_free(&rkey, old, cfg, now))
			continue;
		if (tcp) {
			old = bpf_map_lookup_elem(&syn_flows, &rkey);
			if (old != NULL && !syn_port_free(&rkey, old, cfg, now))
				continue;
		}
		if (X2(BENCH_SNAT)) {
			bpf_map_lookup_elem(&flows, &rkey);
			if (tcp)
				bpf_map_lookup_elem(&syn_flows, &rkey);
		}
		found = 1;
		break;
	}
	if (!found)
		return drop(BATON_R_DROP_SNAT_EXHAUSTED, p);
snat_found:
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (sc == NULL)
		return drop(BATON_R_DROP_FLOW_INSERT, p);
	fwd = &sc->fwd;
	rep = &sc->rep;
	__builtin_memset(sc, 0, sizeof(*sc));

	__builtin_memcpy(rep->saddr, p->key.daddr, 16);
	__builtin_memcpy(rep->daddr, p->key.saddr, 16);
	rep->sport = p->key.dport;
	rep->dport = p->key.sport;
	rep->flags = BATON_FLOW_F_REPLY;
	rep->service_id = fe->service_id;
	rep->backend_id = bid;
	rep->last_seen_ns = now;

	__builtin_memcpy(fwd->saddr, rkey.daddr, 16);
	__builtin_memcpy(fwd->daddr, rkey.saddr, 16);
	fwd->sport = rkey.dport;
	fwd->dport = rkey.sport;
	fwd->service_id = fe->service_id;
	fwd->backend_id = bid;
	fwd->last_seen_ns = now;

	if (X2(BENCH_FIB)) {
		r = resolve_next_hop(ctx, p, fwd, cfg, now);
		if (r)
			return r;
		fwd->fib_ns = 0;
	}
	if (SKIP(BENCH_FIB)) { /* bench_xdp: out of bt0, to backend bid's MAC */
		struct ethhdr *eth = p->eth;

		if ((void *)(eth + 1) > p->data_end)
			return XDP_DROP;
		__builtin_memcpy(fwd->smac, eth->h_dest, ETH_ALEN);
		fwd->dmac[0] = 2;
		fwd->dmac[4] = 0x0b;
		fwd->dmac[5] = (__u8)bid;
		fwd->fib_ifindex = ctx->ingress_ifindex;
		fwd->fib_ns = now;
	}
	/* No next hop, no flow: the retransmission will create it. */
	r = SKIP(BENCH_FIB) ? 0 : new_flow_next_hop(ctx, p, fwd, cfg, now);
	if (r)
		return r;

	/*
	 * Ports are partitioned by CPU, so no other CPU races for this reply key. A TCP
	 * flow starts embryonic; UDP has no handshake and goes to the main table.
	 */
	if (X2(BENCH_INSERT) && tcp) { /* the same keys again: replaced, not added */
		bpf_map_update_elem(&syn_flows, &rkey, rep, BPF_ANY);
		bpf_map_update_elem(&syn_flows, &p->key, fwd, BPF_ANY);
	}
	if (SKIP(BENCH_INSERT)) {
	} else if (tcp) {
		if (bpf_map_update_elem(&syn_flows, &rkey, rep, BPF_ANY) ||
		    bpf_map_update_elem(&syn_flows, &p->key, fwd, BPF_ANY))
			return drop(BATON_R_DROP_FLOW_INSERT, p);
	} else if (bpf_map_update_elem(&flows, &rkey, rep, BPF_ANY) ||
		   bpf_map_update_elem(&flows, &p->key, fwd, BPF_ANY)) {
		return drop(BATON_R_DROP_FLOW_INSERT, p);
	}

	if (X2(BENCH_COUNTERS)) { /* as many updates as in send() */
		s = bpf_map_lookup_elem(&svc_stats, &fe->service_id);
		if (s != NULL)
			s->packets++;
		s = bpf_map_lookup_elem(&be_stats, &bid);
		if (s != NULL)
			s->packets++;
	}
	if (rewrite(p, fwd) < 0)
		return drop(BATON_R_DROP_TRUNCATED, p);
	return send(ctx, p, fwd, 1); /* counts the new flow with the packet */
}

/*
 * The client's ACK of an embryonic flow: both entries move to the main table; the
 * caller forwards the packet from there. A reply entry evicted meanwhile is rebuilt
 * from the forward entry (everything in it follows from the flow's tuple), unless its
 * SNAT port went to another flow since: then the handshake cannot complete. Returns
 * PROMOTED, or the verdict of a packet that could not be promoted.
 */
#define PROMOTED (-1)
static __noinline int promote(struct pkt *p, struct baton_flow *e, const struct baton_config *cfg,
			      __u64 now)
{
	struct new_flow_scratch *sc;
	struct baton_flow_key rkey;
	struct baton_flow *r;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (sc == NULL)
		return drop(BATON_R_DROP_FLOW_INSERT, p);
	__builtin_memcpy(&sc->fwd, e, sizeof(sc->fwd));
	peer_key(&rkey, e, &p->key);
	bpf_map_delete_elem(&syn_flows, &p->key);
	r = bpf_map_lookup_elem(&syn_flows, &rkey);
	if (r != NULL && reply_of(r, &p->key)) {
		__builtin_memcpy(&sc->rep, r, sizeof(sc->rep));
		bpf_map_delete_elem(&syn_flows, &rkey);
	} else {
		if (r == NULL || !syn_live(r, cfg, now)) {
			r = bpf_map_lookup_elem(&flows, &rkey);
			if (r != NULL &&
			    (reply_of(r, &p->key) || !flow_live(r, cfg, IPPROTO_TCP, now)))
				r = NULL;
		}
		/* The SNAT port went to another flow meanwhile: this one cannot complete. */
		if (r != NULL)
			return drop(BATON_R_DROP_NO_FLOW, p);
		__builtin_memset(&sc->rep, 0, sizeof(sc->rep));
		__builtin_memcpy(sc->rep.saddr, p->key.daddr, 16);
		__builtin_memcpy(sc->rep.daddr, p->key.saddr, 16);
		sc->rep.sport = p->key.dport;
		sc->rep.dport = p->key.sport;
		sc->rep.flags = BATON_FLOW_F_REPLY;
		sc->rep.service_id = sc->fwd.service_id;
		sc->rep.backend_id = sc->fwd.backend_id;
		sc->rep.last_seen_ns = now;
	}
	if (X2(BENCH_INSERT)) { /* the same keys again: replaced, not added */
		bpf_map_update_elem(&flows, &rkey, &sc->rep, BPF_ANY);
		bpf_map_update_elem(&flows, &p->key, &sc->fwd, BPF_ANY);
	}
	if (bpf_map_update_elem(&flows, &rkey, &sc->rep, BPF_ANY) ||
	    bpf_map_update_elem(&flows, &p->key, &sc->fwd, BPF_ANY))
		return drop(BATON_R_DROP_FLOW_INSERT, p);
	return PROMOTED;
}

static __always_inline int handle_l4(struct xdp_md *ctx, struct pkt *p)
{
	struct baton_frontend_key fk = {};
	struct baton_frontend *fe;
	struct baton_flow *f;
	const struct baton_config *cfg;
	__u32 zero = 0;
	__u64 now;
	int syn = (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN, vip = 0;
	void *tbl = &flows; /* the table of the entry a packet is forwarded by */

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (cfg == NULL)
		return pass(BATON_R_PASS_NOT_VIP, p);
	now = bpf_ktime_get_coarse_ns();
	if (cfg->l7_lane_ifindex && ctx->ingress_ifindex == cfg->l7_lane_ifindex)
		return lane_out(ctx, p);

	if (X2(BENCH_FLOW_LOOKUP)) {
		bpf_map_lookup_elem(&flows, &p->key);
		bpf_map_lookup_elem(&syn_flows, &p->key);
	}
	f = SKIP(BENCH_FLOW_LOOKUP) && syn ? NULL : bpf_map_lookup_elem(&flows, &p->key);
	if (f != NULL && flow_live(f, cfg, p->key.proto, now)) {
		if (!(syn && f->closing_ns && !(f->flags & BATON_FLOW_F_REPLY)))
			goto fwd;
		/* A SYN on a closing flow: the client reuses its port for a new connection,
		 * which starts embryonic; the old entry must not catch its ACK. */
		note_reuse(p, f);
		bpf_map_delete_elem(&flows, &p->key);
	} else if (syn && f != NULL && f->closing_ns && !(f->flags & BATON_FLOW_F_REPLY)) {
		note_reuse(p, f); /* closed longer than tcp_close_ns ago */
	}
	if (is_l7_leg(p, cfg))
		return to_lane(p, cfg);

	__builtin_memcpy(fk.addr, p->key.daddr, sizeof(fk.addr));
	fk.port = p->key.dport;
	fk.proto = p->key.proto;
	fk.family = p->key.family;
	if (X2(BENCH_FRONTEND))
		bpf_map_lookup_elem(&frontends, &fk);
	fe = bpf_map_lookup_elem(&frontends, &fk);
	if (fe == NULL) {
		vip = is_vip_addr(&p->key);
		/*
		 * Past here only for the embryonic table: the backend's SYN|ACK or RST, and
		 * the client's packets of a handshake whose frontend was removed meanwhile
		 * (a flow outlives its frontend).
		 */
		if (p->key.proto != IPPROTO_TCP || !(vip || (p->tcp_flags & (TCP_SYN | TCP_RST))))
			return pass(vip ? BATON_R_PASS_VIP_OTHER : BATON_R_PASS_NOT_VIP, p);
	} else if (p->key.proto != IPPROTO_TCP) {
		return new_flow(ctx, p, fe, cfg, now);
	} else if (fe->flags & BATON_FE_F_L7) {
		/* baton-l7 answers SYNs with cookies: its handshakes never become embryonic. */
		return to_lane(p, cfg);
	}

	f = SKIP(BENCH_FLOW_LOOKUP) && syn ? NULL : bpf_map_lookup_elem(&syn_flows, &p->key);
	if (f != NULL && syn_live(f, cfg, now) && !(syn && f->closing_ns)) {
		/* The client's ACK completes the handshake: the flow is established. */
		if ((p->tcp_flags & (TCP_SYN | TCP_RST | TCP_ACK)) == TCP_ACK &&
		    !(f->flags & BATON_FLOW_F_REPLY)) {
			int r = promote(p, f, cfg, now);

			if (r != PROMOTED)
				return r;
			f = bpf_map_lookup_elem(&flows, &p->key);
			if (f == NULL)
				return drop(BATON_R_DROP_FLOW_INSERT, p);
			goto fwd;
		}
		/* SYN|ACK, a retransmitted SYN, an RST: still embryonic. */
		tbl = &syn_flows;
		goto fwd;
	}
	if (fe == NULL)
		return pass(vip ? BATON_R_PASS_VIP_OTHER : BATON_R_PASS_NOT_VIP, p);
	if (!syn)
		return drop(BATON_R_DROP_NO_FLOW, p);
	return new_flow(ctx, p, fe, cfg, now);
fwd:
	/* One call site for both tables keeps the program (and its hot path) compact. */
	return forward(ctx, p, f, cfg, now, tbl);
}

/*
 * ICMP errors quoting a packet the load balancer sent: find the entry of the quoted
 * packet's reverse and translate outer and quoted headers as that entry says.
 * q points at the quoted IP header; qkey is the quoted tuple reversed.
 */
static __always_inline int handle_icmp_error(struct xdp_md *ctx, struct pkt *p, void *q,
					     struct baton_flow_key *qkey, __sum16 *icmp_csum)
{
	const struct baton_config *cfg;
	struct baton_flow *f;
	int words = addr_words(p->key.family);
	void *end = p->data_end;
	void *ql4;
	__u32 d_outer = 0, d_qaddr = 0, d_q = 0, zero = 0;
	__u64 now;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (cfg == NULL)
		return pass(BATON_R_PASS_NOT_VIP, p);
	now = bpf_ktime_get_coarse_ns();
	f = bpf_map_lookup_elem(&flows, qkey);
	if (f == NULL || !flow_live(f, cfg, qkey->proto, now)) {
		f = bpf_map_lookup_elem(&syn_flows, qkey);
		if (f != NULL && !syn_live(f, cfg, now))
			f = NULL;
	}
	if (f == NULL) {
		if (is_vip_addr(&p->key))
			return drop(BATON_R_DROP_ICMP, p);
		return pass(BATON_R_PASS_NOT_VIP, p);
	}

	/* Outer header: leaves as the entry's packets do. */
	d_outer = csum_acc_addr(d_outer, p->key.saddr, f->saddr, words);
	d_outer = csum_acc_addr(d_outer, p->key.daddr, f->daddr, words);

	/* Quoted header: becomes the reverse of the entry's packets. */
	d_qaddr = csum_acc_addr(d_qaddr, qkey->daddr, f->daddr, words);
	d_qaddr = csum_acc_addr(d_qaddr, qkey->saddr, f->saddr, words);
	d_q = d_qaddr;
	if (p->ip4 != NULL) {
		struct iphdr *outer = p->ip4, *qip = q;
		__u16 old;

		if ((void *)(outer + 1) > end || (void *)(qip + 1) > end)
			return drop(BATON_R_DROP_TRUNCATED, p);
		outer->saddr = f->saddr[0];
		outer->daddr = f->daddr[0];
		csum_apply(&outer->check, d_outer);
		qip->saddr = f->daddr[0];
		qip->daddr = f->saddr[0];
		old = qip->check;
		csum_apply(&qip->check, d_qaddr);
		d_q = csum_acc16(d_q, old, qip->check);
		ql4 = qip + 1;
	} else {
		struct ipv6hdr *outer = p->ip6, *qip = q;

		if (outer == NULL || (void *)(outer + 1) > end || (void *)(qip + 1) > end)
			return drop(BATON_R_DROP_TRUNCATED, p);
		__builtin_memcpy(&outer->saddr, f->saddr, 16);
		__builtin_memcpy(&outer->daddr, f->daddr, 16);
		__builtin_memcpy(&qip->saddr, f->daddr, 16);
		__builtin_memcpy(&qip->daddr, f->saddr, 16);
		ql4 = qip + 1;
	}

	/* Quoted ports (the first 4 bytes of TCP and UDP alike) and L4 checksum. */
	{
		__be16 *ports = ql4;
		__u32 d_ql4;

		if ((void *)(ports + 4) > end)
			return drop(BATON_R_DROP_TRUNCATED, p);
		d_ql4 = csum_acc16(d_qaddr, ports[0], f->dport);
		d_ql4 = csum_acc16(d_ql4, ports[1], f->sport);
		d_q = csum_acc16(d_q, ports[0], f->dport);
		d_q = csum_acc16(d_q, ports[1], f->sport);
		ports[0] = f->dport;
		ports[1] = f->sport;
		if (qkey->proto == IPPROTO_UDP) {
			__u16 old = ports[3];

			csum_apply_udp(&ports[3], d_ql4);
			d_q = csum_acc16(d_q, old, ports[3]);
		} else if ((void *)(ports + 9) <= end) {
			/* TCP checksum at offset 16, when the error quoted that much. */
			__u16 old = ports[8];

			csum_apply(&ports[8], d_ql4);
			d_q = csum_acc16(d_q, old, ports[8]);
		}
	}

	/* ICMP checksum: the quoted changes, and for ICMPv6 the outer pseudo-header too. */
	if ((void *)(icmp_csum + 1) > end)
		return drop(BATON_R_DROP_TRUNCATED, p);
	if (p->ip6 != NULL)
		d_q = csum_add(d_q, d_outer);
	csum_apply(icmp_csum, d_q);

	return emit(ctx, p, f, cfg, now);
}

static __always_inline int handle_icmp4(struct xdp_md *ctx, struct pkt *p)
{
	struct icmphdr *ic = p->l4;
	struct baton_flow_key qkey = {};
	struct iphdr *qip;
	__be16 *ports;

	if ((void *)(ic + 1) > p->data_end)
		return malformed(BATON_R_DROP_TRUNCATED, p, ctx);
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_TIME_EXCEEDED)
		return not_served(p, ctx);
	qip = (void *)(ic + 1);
	ports = (void *)(qip + 1);
	if ((void *)(ports + 4) > p->data_end || qip->ihl != 5)
		return malformed(BATON_R_DROP_TRUNCATED, p, ctx);
	if (qip->protocol != IPPROTO_TCP && qip->protocol != IPPROTO_UDP)
		return not_served(p, ctx);
	qkey.family = BATON_FAMILY_V4;
	qkey.proto = qip->protocol;
	qkey.saddr[0] = qip->daddr;
	qkey.daddr[0] = qip->saddr;
	qkey.sport = ports[1];
	qkey.dport = ports[0];
	return handle_icmp_error(ctx, p, qip, &qkey, &ic->checksum);
}

/*
 * ARP / NDP responder for the VIP addresses (batond --l2-announce), for deployments
 * where clients or the router reach the VIPs on the load balancer's L2 segment instead
 * of by a route. Only on interfaces listed in l2_ifaces, only for addresses with an
 * address entry in the frontend map; everything else passes to the kernel untouched,
 * so the host's own addresses keep their own ARP and NDP. Answers are built in place
 * and sent back out of the ingress interface (XDP_TX); a VLAN tag stays as it came.
 */

/* RFC 826 for Ethernet and IPv4. */
struct arp_eth {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define ND_SOLICIT 135
#define ND_ADVERT 136
#define ND_OPT_TARGET_LL 2
#define ND_NA_SOLICITED 0x40000000u
#define ND_NA_OVERRIDE 0x20000000u

/* Is addr (family f) a VIP address this interface announces? Its MAC into mac. */
static __always_inline int l2_announced(struct xdp_md *ctx, const void *addr, int len, __u8 f,
					__u8 *mac)
{
	struct baton_frontend_key fk = {};
	struct baton_l2_iface *li;
	__u32 ifindex = ctx->ingress_ifindex;

	li = bpf_map_lookup_elem(&l2_ifaces, &ifindex);
	if (li == NULL)
		return 0;
	__builtin_memcpy(fk.addr, addr, len == 4 ? 4 : 16);
	fk.family = f;
	if (bpf_map_lookup_elem(&frontends, &fk) == NULL)
		return 0;
	__builtin_memcpy(mac, li->mac, ETH_ALEN);
	return 1;
}

/* Ask batond to resolve the asker: the answers to its connections will need it. */
static __always_inline void l2_learn(struct xdp_md *ctx, const void *addr, __u8 family)
{
	struct baton_neigh_req req = {};

	req.ifindex = ctx->ingress_ifindex;
	req.family = family;
	__builtin_memcpy(req.addr, addr, family == BATON_FAMILY_V4 ? 4 : 16);
	bpf_ringbuf_output(&neigh_req, &req, sizeof(req), 0);
}

static __noinline int handle_arp(struct xdp_md *ctx, struct pkt *p, struct arp_eth *a)
{
	__u8 mac[ETH_ALEN];
	struct ethhdr *eth = p->eth;
	__be32 vip, spa;

	if ((void *)(a + 1) > p->data_end || (void *)(eth + 1) > p->data_end ||
	    a->htype != bpf_htons(ARPHRD_ETHER) || a->ptype != bpf_htons(ETH_P_IP) ||
	    a->hlen != ETH_ALEN || a->plen != 4 || a->op != bpf_htons(ARPOP_REQUEST))
		return pass(BATON_R_PASS_NOT_IP, p);
	__builtin_memcpy(&vip, a->tpa, 4);
	__builtin_memcpy(&spa, a->spa, 4);
	/* A gratuitous request (sender = target) announces, it does not ask. */
	if (vip == spa || !l2_announced(ctx, &vip, 4, BATON_FAMILY_V4, mac))
		return pass(BATON_R_PASS_NOT_IP, p);

	a->op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(a->tha, a->sha, ETH_ALEN);
	__builtin_memcpy(a->tpa, &spa, 4);
	__builtin_memcpy(a->sha, mac, ETH_ALEN);
	__builtin_memcpy(a->spa, &vip, 4);
	__builtin_memcpy(eth->h_dest, a->tha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	if (spa != 0) /* not an RFC 5227 probe */
		l2_learn(ctx, &spa, BATON_FAMILY_V4);
	count(BATON_R_TX_ARP_REPLY, p);
	return XDP_TX;
}

/*
 * A neighbour solicitation (RFC 4861 7.1.1: hop limit 255, code 0, at least the
 * target) for a VIP: a solicited advertisement with the target link-layer address
 * option, to the asker, or to all nodes (solicited flag clear) when it asks from the
 * unspecified address (duplicate address detection). The frame is resized to exactly
 * the advertisement. The solicitation's checksum is not verified (the answer is the
 * same whatever its options say).
 */
static __noinline int handle_ns(struct xdp_md *ctx, struct pkt *p)
{
	__u8 mac[ETH_ALEN], peer_mac[ETH_ALEN];
	__be32 vip[4], to[4];
	struct ipv6hdr *ip6h = p->ip6;
	struct icmp6hdr *ic = p->l4;
	struct ethhdr *eth = p->eth;
	void *data, *end;
	__u32 l3_off, sum, *opt;
	int dad, len;

	if (ip6h == NULL || (void *)(ip6h + 1) > p->data_end || (void *)(eth + 1) > p->data_end ||
	    (void *)ic + sizeof(*ic) + 16 > p->data_end || p->l4_len < sizeof(*ic) + 16 ||
	    ip6h->hop_limit != 255 || ic->icmp6_code != 0)
		return not_served(p, ctx);
	__builtin_memcpy(vip, ic + 1, 16);
	if (!l2_announced(ctx, vip, 16, BATON_FAMILY_V6, mac))
		return not_served(p, ctx);
	__builtin_memcpy(to, &ip6h->saddr, 16);
	__builtin_memcpy(peer_mac, eth->h_source, ETH_ALEN);
	dad = (to[0] | to[1] | to[2] | to[3]) == 0;
	if (dad) {
		to[0] = bpf_htonl(0xff020000);
		to[3] = bpf_htonl(1);
		peer_mac[0] = 0x33;
		peer_mac[1] = 0x33;
		peer_mac[2] = 0;
		peer_mac[3] = 0;
		peer_mac[4] = 0;
		peer_mac[5] = 1;
	}

	l3_off = p->l3_off == sizeof(*eth) ? sizeof(*eth) : sizeof(*eth) + sizeof(struct vlan_hdr);
	len = (int)(l3_off + sizeof(*ip6h) + 32);
	if (bpf_xdp_adjust_tail(ctx, len - (int)p->len)) /* p->len: the frame as it came */
		return not_served(p, ctx);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip6h = data + l3_off;
	ic = (void *)(ip6h + 1);
	if ((void *)(eth + 1) > end || (void *)ic + 32 > end)
		return XDP_DROP;

	__builtin_memcpy(eth->h_dest, peer_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	*(__be32 *)ip6h = bpf_htonl(0x60000000); /* version 6, no class, no flow label */
	ip6h->payload_len = bpf_htons(32);
	ip6h->nexthdr = IPPROTO_ICMPV6;
	ip6h->hop_limit = 255;
	__builtin_memcpy(&ip6h->saddr, vip, 16);
	__builtin_memcpy(&ip6h->daddr, to, 16);

	ic->icmp6_type = ND_ADVERT;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	*((__be32 *)ic + 1) = bpf_htonl(ND_NA_OVERRIDE | (dad ? 0 : ND_NA_SOLICITED));
	__builtin_memcpy((void *)(ic + 1), vip, 16);
	opt = (void *)(ic + 1) + 16;
	((__u8 *)opt)[0] = ND_OPT_TARGET_LL;
	((__u8 *)opt)[1] = 1; /* 8 bytes */
	__builtin_memcpy((__u8 *)opt + 2, mac, ETH_ALEN);

	sum = csum_words((__u16 *)&ip6h->saddr, 16, 0);
	sum += bpf_htons(32) + bpf_htons(IPPROTO_ICMPV6);
	ic->icmp6_cksum = ~csum_fold(csum_words((__u16 *)ic, 16, sum));
	if (!dad)
		l2_learn(ctx, to, BATON_FAMILY_V6);
	count(BATON_R_TX_ND_ADVERT, p);
	return XDP_TX;
}

static __always_inline int handle_icmp6(struct xdp_md *ctx, struct pkt *p)
{
	struct icmp6hdr *ic = p->l4;
	struct baton_flow_key qkey = {};
	struct ipv6hdr *qip;
	__be16 *ports;

	if ((void *)(ic + 1) > p->data_end)
		return malformed(BATON_R_DROP_TRUNCATED, p, ctx);
	if (ic->icmp6_type == ND_SOLICIT)
		return handle_ns(ctx, p);
	if (ic->icmp6_type != ICMPV6_DEST_UNREACH && ic->icmp6_type != ICMPV6_PKT_TOOBIG &&
	    ic->icmp6_type != ICMPV6_TIME_EXCEED)
		return not_served(p, ctx);
	qip = (void *)(ic + 1);
	ports = (void *)(qip + 1);
	if ((void *)(ports + 4) > p->data_end)
		return malformed(BATON_R_DROP_TRUNCATED, p, ctx);
	if (qip->nexthdr != IPPROTO_TCP && qip->nexthdr != IPPROTO_UDP)
		return not_served(p, ctx);
	qkey.family = BATON_FAMILY_V6;
	qkey.proto = qip->nexthdr;
	__builtin_memcpy(qkey.saddr, &qip->daddr, 16);
	__builtin_memcpy(qkey.daddr, &qip->saddr, 16);
	qkey.sport = ports[1];
	qkey.dport = ports[0];
	return handle_icmp_error(ctx, p, qip, &qkey, &ic->icmp6_cksum);
}

SEC("xdp")
int baton_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct pkt p = {};
	__u16 h_proto;
	void *l3;
	int r;

	p.data_end = (void *)(long)ctx->data_end;
	p.len = p.data_end - data;
	p.eth = data;
	p.l3_off = sizeof(struct ethhdr);
	if ((void *)(p.eth + 1) > p.data_end)
		return pass(BATON_R_PASS_NOT_IP, &p);
	h_proto = p.eth->h_proto;
	l3 = p.eth + 1;
	if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > p.data_end)
			return pass(BATON_R_PASS_NOT_IP, &p);
		h_proto = vh->encap_proto;
		l3 = vh + 1;
		p.l3_off += sizeof(*vh);
		if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD))
			return pass(BATON_R_PASS_L2_UNSUPPORTED, &p);
	}

	if (h_proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(&p, l3);
	else if (h_proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(&p, l3);
	else if (h_proto == bpf_htons(ETH_P_ARP))
		return handle_arp(ctx, &p, l3);
	else
		return pass(BATON_R_PASS_NOT_IP, &p);
	if (X2(BENCH_PARSE) && !r) {
		asm volatile("" ::: "memory");
		r = h_proto == bpf_htons(ETH_P_IP) ? parse_ipv4(&p, l3) : parse_ipv6(&p, l3);
	}
	if (r)
		return malformed(r, &p, ctx);

	switch (p.key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		r = parse_l4_ports(&p);
		if (X2(BENCH_PARSE) && !r) {
			asm volatile("" ::: "memory");
			r = parse_l4_ports(&p);
		}
		if (r)
			return malformed(r, &p, ctx);
		return handle_l4(ctx, &p);
	case IPPROTO_ICMP:
		if (p.ip4 == NULL)
			return not_served(&p, ctx);
		return handle_icmp4(ctx, &p);
	case IPPROTO_ICMPV6:
		if (p.ip6 == NULL)
			return not_served(&p, ctx);
		return handle_icmp6(ctx, &p);
	}
	return not_served(&p, ctx);
}
