// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * baton-l7: the L7 lane (docs/l7.md). One DPDK port (net_af_xdp on the lane's far end),
 * one lcore, a burst loop that never blocks:
 *
 *   SYN          -> SYN-ACK with a SYN cookie, no state (l7_cookie.h)
 *   ACK + cookie -> a connection; request head gathered and acknowledged
 *   head done    -> route (Host + path, or SNI), backend by Maglev over the route's
 *                   service table, backend leg opened from the SNAT address with the
 *                   client's ISN, the head sent and retransmitted until acknowledged
 *   head acked   -> both flow entries written into the XDP flow table (seq/ack deltas,
 *                   window scaling); from then on XDP carries the connection
 *   sticky       -> (no cookie for the backend) first the response head, Set-Cookie
 *                   inserted, is the lane's until the client acknowledges it (C_RESP)
 *
 * Usage: baton-l7 [EAL options] -- --lane IFACE [--bpffs DIR] [options]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/random.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>

#include <bpf/bpf.h>

#include "baton_abi.h"
#include "l7_cookie.h"
#include "l7_frame.h"
#include "l7_parse.h"
#include "l7_route.h"

#define BURST 32
#define MAX_TRIES 3	 /* backends tried per connection */
#define RETX_MS 200	 /* retransmission interval (SYN, head, responses) */
#define LINGER_MS 100	 /* a spliced connection's state stays for lane stragglers */
#define CLOSE_MS 3000	 /* a closing connection waits this long for the client */
#define POLL_MAPS_MS 100 /* routes / settings / counters */
#define SCAN_MS 10	 /* timers */
#define WS_LB 7		 /* the window scale baton-l7 offers a client that offers one */
#define FD_CACHE 64	 /* Maglev inner map fds kept open */
#define STICKY_SETS 16	 /* Maglev tables whose backends' server ids are kept */
#define STICKY_MAX 1024	 /* backends per table a sticky cookie can name */
#define STICKY_TTL_MS 1000
#define RESP_WAIT_MS 30000 /* a response head later than this goes on without Set-Cookie */
#define REUSE_MS 1000	   /* a leg port is free this long after its flow closed */

struct opts {
	const char *lane;
	const char *bpffs;
	const char *lock;
	unsigned int mbufs;
	unsigned int max_conns;
	unsigned int head_max;
	unsigned int head_timeout_ms;
	unsigned int connect_timeout_ms;
	unsigned int idle_sleep_us;
};

enum cstate {
	C_FREE = 0,
	C_HEAD,
	C_CONNECT,
	C_SEND,
	C_RESP, /* sticky: the response head gets Set-Cookie; the lane relays both ways */
	C_CLOSING,
	C_SPLICED
};

struct l7_key {
	__be32 a[4], b[4];
	__be16 ap, bp;
	__u8 family;
	__u8 pad[3];
};

struct conn {
	enum cstate st;
	bool tls;
	bool has_bkey;
	struct l7_tuple ct; /* client -> frontend */
	uint32_t c_isn, s_isn, rcv_nxt;
	uint32_t l_isn;	     /* the backend leg's ISN: clock-driven, per leg (RFC 6528 style) */
	uint8_t mss_idx, wc; /* wc: the client's window scale, L7_COOKIE_NO_WSCALE = none */
	uint16_t c_win;	     /* the client's last window field */
	uint64_t t_start, t_retx;
	int retx;
	uint32_t head_len; /* the head as sent to the backend: the client's bytes + xff */
	uint32_t xff;	   /* bytes of X-Forwarded-For inserted into it (0 or one header) */
	bool sticky;	   /* the route is sticky (BATON_L7_R_STICKY) */
	bool has_cookie;   /* the head carried a well-formed mesosphere_server_id */
	uint32_t cookie;   /* its server id */
	/*
	 * C_RESP: the backend's first response head (and the rest of the segments that
	 * brought it) is consumed into head[0..rsp_len) and acknowledged to the backend;
	 * with sc bytes of Set-Cookie it is sent to the client and retransmitted until the
	 * client acknowledges all of it (c_acked); meanwhile the lane relays everything
	 * else in both directions as the flow entries will (write_flows()).
	 */
	bool resp_done;	      /* the head is complete, head[0..rsp_len + sc) goes out */
	bool b_fin, c_fin;    /* a FIN relayed before the splice, per direction */
	uint32_t rsp_len, sc; /* backend bytes consumed; Set-Cookie bytes inserted */
	uint32_t c_acked;     /* of head[0..rsp_len + sc), acknowledged by the client */
	uint32_t fwd_nxt;     /* next sequence number towards the backend (leg space) */
	uint32_t c_ack;	      /* what our own segments acknowledge to the client */
	uint16_t b_win;	      /* the backend's window as the client is to see it */
	uint8_t *head;
	/* backend leg */
	uint32_t sid, bid, hash, tried[MAX_TRIES];
	int ntried;
	__be32 baddr[4];
	__be16 bport, lport;
	uint32_t b_isn;
	int8_t wb;
	uint16_t bmss;
	uint64_t t_connect;
	/* a response of our own (503, 301, ...) */
	uint32_t resp_len, snd_nxt;
	bool fin_acked;
	char resp[512];
};

static volatile sig_atomic_t stop;
static struct opts o = { .bpffs = "/sys/fs/bpf",
			 .mbufs = 8191,
			 .max_conns = 4096,
			 .head_max = 8192,
			 .head_timeout_ms = 10000,
			 .connect_timeout_ms = 1000,
			 .idle_sleep_us = 50 };

static struct {
	uint16_t port;
	struct rte_mempool *pool;
	struct rte_mbuf *tx[BURST];
	unsigned int ntx;
	struct rte_hash *h;
	struct conn *conns;
	uint32_t *free_ids;
	uint32_t n_free, high;
	struct l7_cookie_key key;
	int fd_flows, fd_fe, fd_be, fd_maglev, fd_cfg, fd_routes, fd_meta, fd_stats;
	struct baton_config cfg;
	uint64_t meta_version;
	struct baton_l7_route *routes;
	uint32_t n_routes;
	struct {
		__u32 id;
		int fd;
	} fdc[FD_CACHE];
	unsigned int fdc_next;
	/* The backends of recently used Maglev tables with their server ids (cookies). */
	struct sticky_set {
		__u32 inner_id, n;
		uint64_t version, t_ms;
		__u32 bid[STICKY_MAX];
		uint32_t server_id[STICKY_MAX];
	} * sticky;
	unsigned int sticky_next;
	uint16_t next_lport;
	uint64_t now_ms;
	struct baton_l7_stats st;
} g;

#define COUNT(name) (g.st.v[BATON_L7S_##name]++)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* ---- Output ---- */

static void tx_flush(void)
{
	uint16_t sent;

	if (g.ntx == 0)
		return;
	sent = rte_eth_tx_burst(g.port, 0, g.tx, (uint16_t)g.ntx);
	g.st.v[BATON_L7S_tx_frames] += sent;
	for (unsigned int i = sent; i < g.ntx; i++) {
		rte_pktmbuf_free(g.tx[i]);
		COUNT(tx_drops);
	}
	g.ntx = 0;
}

static void send_seg(const struct l7_seg *s)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g.pool);
	uint32_t len;

	if (m == NULL) {
		COUNT(tx_drops);
		return;
	}
	len = l7_seg_build(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), s);
	if (len == 0 || rte_pktmbuf_append(m, (uint16_t)len) == NULL) {
		rte_pktmbuf_free(m);
		COUNT(tx_drops);
		return;
	}
	g.tx[g.ntx++] = m;
	if (g.ntx == BURST)
		tx_flush();
}

/* A segment to the client, from the frontend. */
static void to_client(const struct conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
		      const void *data, uint32_t len)
{
	struct l7_seg s = { .family = c->ct.family,
			    .sport = c->ct.dport,
			    .dport = c->ct.sport,
			    .seq = seq,
			    .ack = ack,
			    .flags = flags,
			    .wscale = -1,
			    .payload = data,
			    .plen = len };
	uint32_t room = c->head_len < o.head_max ? o.head_max - c->head_len : 0;

	memcpy(s.saddr, c->ct.daddr, 16);
	memcpy(s.daddr, c->ct.saddr, 16);
	s.win = (uint16_t)((c->wc != L7_COOKIE_NO_WSCALE ? room >> WS_LB : room) & 0xffff);
	if (s.win == 0 && room)
		s.win = 1;
	if (c->st == C_RESP)
		s.win = c->b_win; /* the client's data goes to the backend */
	send_seg(&s);
}

/* A segment to the backend, from the SNAT address. */
static void to_backend(const struct conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
		       const void *data, uint32_t len)
{
	struct l7_seg s = { .family = c->ct.family,
			    .sport = c->lport,
			    .dport = c->bport,
			    .seq = seq,
			    .ack = ack,
			    .flags = flags,
			    .win = c->c_win,
			    .wscale = -1,
			    .payload = data,
			    .plen = len };

	if (c->ct.family == BATON_FAMILY_V4)
		s.saddr[0] = g.cfg.snat_v4;
	else
		memcpy(s.saddr, g.cfg.snat_v6, 16);
	memcpy(s.daddr, c->baddr, 16);
	if (flags & L7_TH_SYN) {
		s.win = 65535;
		s.mss = l7_cookie_mss[c->mss_idx];
		s.wscale = c->wc != L7_COOKIE_NO_WSCALE ? (int8_t)c->wc : -1;
	}
	send_seg(&s);
}

/* ---- Connection table ---- */

static void key_of(struct l7_key *k, __u8 family, const __be32 *a, const __be32 *b, __be16 ap,
		   __be16 bp)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->a, a, 16);
	memcpy(k->b, b, 16);
	k->ap = ap;
	k->bp = bp;
	k->family = family;
}

static void client_key(struct l7_key *k, const struct conn *c)
{
	key_of(k, c->ct.family, c->ct.saddr, c->ct.daddr, c->ct.sport, c->ct.dport);
}

static void backend_key(struct l7_key *k, const struct conn *c)
{
	__be32 snat[4] = { 0 };

	if (c->ct.family == BATON_FAMILY_V4)
		snat[0] = g.cfg.snat_v4;
	else
		memcpy(snat, g.cfg.snat_v6, 16);
	key_of(k, c->ct.family, c->baddr, snat, c->bport, c->lport);
}

static void conn_free(struct conn *c)
{
	struct l7_key k;

	client_key(&k, c);
	rte_hash_del_key(g.h, &k);
	if (c->has_bkey) {
		backend_key(&k, c);
		rte_hash_del_key(g.h, &k);
	}
	c->st = C_FREE;
	c->has_bkey = false;
	g.free_ids[g.n_free++] = (uint32_t)(c - g.conns);
}

static struct conn *conn_new(const struct l7_tuple *t)
{
	struct l7_key k;
	struct conn *c;
	uint8_t *head;
	uint32_t id;

	if (g.n_free == 0) {
		COUNT(table_full);
		return NULL;
	}
	id = g.free_ids[--g.n_free];
	c = &g.conns[id];
	head = c->head;
	memset(c, 0, sizeof(*c));
	c->head = head;
	c->ct = *t;
	key_of(&k, t->family, t->saddr, t->daddr, t->sport, t->dport);
	if (rte_hash_add_key_data(g.h, &k, (void *)(uintptr_t)id) < 0) {
		g.free_ids[g.n_free++] = id;
		COUNT(table_full);
		return NULL;
	}
	if (id + 1 > g.high)
		g.high = id + 1;
	return c;
}

/* ---- Responses of our own: write it, FIN, wait for the client's ACK ---- */

static void respond(struct conn *c, int code)
{
	static const char *const body503 = "No service is available for this request.\n";
	const char *reason = code == 503   ? "Service Unavailable"
			     : code == 408 ? "Request Timeout"
			     : code == 431 ? "Request Header Fields Too Large"
			     : code == 301 ? "Moved Permanently"
					   : "Bad Request";
	int n;

	if (code == 301) {
		struct l7_request r;

		l7_parse_http((const char *)c->head, c->head_len, &r);
		n = snprintf(c->resp, sizeof(c->resp),
			     "HTTP/1.1 301 %s\r\nLocation: https://%s%s\r\nContent-Length: 0\r\n"
			     "Connection: close\r\n\r\n",
			     reason, r.host, r.path);
		COUNT(resp_301);
	} else {
		n = snprintf(c->resp, sizeof(c->resp),
			     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s",
			     code, reason, code == 503 ? strlen(body503) : 0,
			     code == 503 ? body503 : "");
		if (code == 503)
			COUNT(resp_503);
		else if (code == 408)
			COUNT(resp_408);
		else if (code == 431)
			COUNT(resp_431);
		else
			COUNT(resp_400);
	}
	if (n < 0 || (size_t)n >= sizeof(c->resp))
		n = 0;
	/* An https frontend gets no HTTP: just the close. */
	c->resp_len = c->tls ? 0 : (uint32_t)n;
	c->snd_nxt = c->s_isn + 1 + c->resp_len + 1;
	c->st = C_CLOSING;
	c->t_start = g.now_ms;
	c->t_retx = g.now_ms;
	c->retx = 0;
	to_client(c, c->s_isn + 1, c->rcv_nxt, L7_TH_ACK | L7_TH_PSH | L7_TH_FIN, c->resp,
		  c->resp_len);
}

/* ---- Backends ---- */

static int inner_fd(__u32 id)
{
	unsigned int i;
	int fd;

	for (i = 0; i < FD_CACHE; i++)
		if (g.fdc[i].id == id && g.fdc[i].fd >= 0)
			return g.fdc[i].fd;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -1;
	i = g.fdc_next++ % FD_CACHE;
	if (g.fdc[i].fd >= 0)
		close(g.fdc[i].fd);
	g.fdc[i].id = id;
	g.fdc[i].fd = fd;
	return fd;
}

/*
 * The backend of a table (map inner_id, fd, size m) whose server id is id, or
 * BATON_NO_BACKEND. The table's distinct backends and their ids are read once (one
 * batched read of the table) and kept for STICKY_TTL_MS or until the routes change:
 * batond publishes the routes after every apply, tables included.
 */
static __u32 sticky_backend(__u32 inner_id, int fd, __u32 m, uint32_t id)
{
	struct sticky_set *ss = NULL;
	static __u32 keys[4096], vals[4096], seen[2 * STICKY_MAX];
	__u32 out, count, rounds = m / 4096 + 2;
	void *in = NULL;
	int r;

	for (unsigned int i = 0; i < STICKY_SETS; i++)
		if (g.sticky[i].inner_id == inner_id && g.sticky[i].version == g.meta_version &&
		    g.now_ms - g.sticky[i].t_ms < STICKY_TTL_MS)
			ss = &g.sticky[i];
	if (ss == NULL) {
		ss = &g.sticky[g.sticky_next++ % STICKY_SETS];
		ss->inner_id = 0;
		ss->n = 0;
		memset(seen, 0xff, sizeof(seen)); /* an open-addressed set of the ids found */
		do {
			count = 4096;
			r = bpf_map_lookup_batch(fd, in, &out, keys, vals, &count, NULL);
			if (r < 0 && errno != ENOENT)
				return BATON_NO_BACKEND;
			for (__u32 k = 0; k < count; k++) {
				__u32 h = vals[k] * 2654435761u % (2 * STICKY_MAX);
				struct baton_backend be;

				if (keys[k] == BATON_MAGLEV_SIZE_SLOT || keys[k] > m ||
				    vals[k] == BATON_NO_BACKEND || ss->n == STICKY_MAX)
					continue;
				while (seen[h] != BATON_NO_BACKEND && seen[h] != vals[k])
					h = (h + 1) % (2 * STICKY_MAX);
				if (seen[h] == vals[k] ||
				    bpf_map_lookup_elem(g.fd_be, &vals[k], &be) < 0)
					continue;
				seen[h] = vals[k];
				ss->bid[ss->n] = vals[k];
				ss->server_id[ss->n++] = l7_server_id(
					be.family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, be.addr,
					ntohs(be.port));
			}
			in = &out;
		} while (r == 0 && --rounds > 0);
		ss->inner_id = inner_id;
		ss->version = g.meta_version;
		ss->t_ms = g.now_ms;
	}
	for (__u32 j = 0; j < ss->n; j++)
		if (ss->server_id[j] == id)
			return ss->bid[j];
	return BATON_NO_BACKEND;
}

/*
 * The next backend for c by the route's Maglev table (the active generation, as its
 * frontend entry says), skipping backends already tried; first the one its sticky
 * cookie names, when that one is in the table. 0 with c->bid/baddr/bport set.
 */
static int pick_backend(struct conn *c, const struct baton_l7_route *r)
{
	struct baton_frontend_key fk = { .port = r->key_port,
					 .proto = BATON_PROTO_L7_ROUTE,
					 .family = r->family };
	struct baton_frontend fe;
	struct baton_backend be;
	__u32 slot, inner_id, m = 0, zero = 0;
	int fd;

	memcpy(fk.addr, r->addr, 16);
	if (bpf_map_lookup_elem(g.fd_fe, &fk, &fe) < 0)
		return -1;
	slot = BATON_MAGLEV_SLOT(fe.service_id, !!(fe.flags & BATON_FE_F_GEN1));
	if (bpf_map_lookup_elem(g.fd_maglev, &slot, &inner_id) < 0)
		return -1;
	fd = inner_fd(inner_id);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &m) < 0 || m == 0)
		return -1;
	if (c->has_cookie && c->ntried == 0) {
		__u32 bid = sticky_backend(inner_id, fd, m, c->cookie);

		if (bid != BATON_NO_BACKEND && bpf_map_lookup_elem(g.fd_be, &bid, &be) == 0 &&
		    be.family == c->ct.family) {
			c->sid = fe.service_id;
			c->bid = bid;
			memcpy(c->baddr, be.addr, 16);
			c->bport = be.port;
			return 0;
		}
	}
	for (__u32 probe = 0; probe < 64 && probe < m; probe++) {
		__u32 idx = 1 + (c->hash + probe) % m, bid;
		bool tried = false;

		if (bpf_map_lookup_elem(fd, &idx, &bid) < 0 || bid == BATON_NO_BACKEND)
			continue;
		for (int i = 0; i < c->ntried; i++)
			tried |= c->tried[i] == bid;
		if (tried || bpf_map_lookup_elem(g.fd_be, &bid, &be) < 0 ||
		    be.family != c->ct.family)
			continue;
		c->sid = fe.service_id;
		c->bid = bid;
		memcpy(c->baddr, be.addr, 16);
		c->bport = be.port;
		return 0;
	}
	return -1;
}

/*
 * Remove the reply entry rk (f) of a finished leg, and its client's forward entry unless
 * that client port has since been spliced to another leg.
 */
static void flow_forget(const struct baton_flow_key *rk, const struct baton_flow *f)
{
	struct baton_flow_key ck = { .proto = rk->proto, .family = rk->family };
	struct baton_flow fwd;

	memcpy(ck.saddr, f->daddr, 16);
	memcpy(ck.daddr, f->saddr, 16);
	ck.sport = f->dport;
	ck.dport = f->sport;
	bpf_map_delete_elem(g.fd_flows, rk);
	if ((f->flags & BATON_FLOW_F_REPLY) && bpf_map_lookup_elem(g.fd_flows, &ck, &fwd) == 0 &&
	    fwd.sport == rk->dport && fwd.dport == rk->sport &&
	    memcmp(fwd.saddr, rk->daddr, 16) == 0 && memcmp(fwd.daddr, rk->saddr, 16) == 0)
		bpf_map_delete_elem(g.fd_flows, &ck);
}

/* A source port of the l7 range free towards this backend (no live conn, no flow). */
static int pick_lport(struct conn *c)
{
	uint32_t span = (uint32_t)g.cfg.l7_port_max - g.cfg.l7_port_min + 1;
	struct l7_key k;

	if (!g.cfg.l7_port_min || g.cfg.l7_port_max < g.cfg.l7_port_min)
		return -1;
	for (int i = 0; i < 32; i++) {
		struct baton_flow_key fk = { .proto = IPPROTO_TCP, .family = c->ct.family };
		struct baton_flow f;

		c->lport = htons((uint16_t)(g.cfg.l7_port_min + g.next_lport++ % span));
		backend_key(&k, c);
		if (rte_hash_lookup(g.h, &k) >= 0)
			continue;
		memcpy(fk.saddr, k.a, 16);
		memcpy(fk.daddr, k.b, 16);
		fk.sport = k.ap;
		fk.dport = k.bp;
		/*
		 * A flow entry holds the port until it has been closing for REUSE_MS (or went
		 * idle). Not for all of --tcp-close: that would cap new connections at the
		 * range's size per backend per tcp-close (about 450/s by default). The backend
		 * may still hold the port in TIME_WAIT, which the clock-driven leg ISN gets
		 * through. The old entries go first: XDP would pass the backend's SYN|ACK on
		 * by the old reply entry, and the old client's stragglers must not reach the
		 * new leg (without an entry they end in the lane, dropped).
		 */
		if (bpf_map_lookup_elem(g.fd_flows, &fk, &f) == 0) {
			uint64_t now = mono_ns(), reuse = g.cfg.tcp_close_ns;

			if (reuse > REUSE_MS * 1000000ull)
				reuse = REUSE_MS * 1000000ull;
			if (!(f.closing_ns && now - f.closing_ns > reuse) &&
			    now - f.last_seen_ns <= g.cfg.tcp_idle_ns)
				continue;
			flow_forget(&fk, &f);
		}
		return 0;
	}
	return -1;
}

/* Open the leg to the next backend, or answer 503 when there is none left. */
static void connect_next(struct conn *c, const struct baton_l7_route *r)
{
	struct l7_key k;

	if (c->has_bkey) {
		backend_key(&k, c);
		rte_hash_del_key(g.h, &k);
		c->has_bkey = false;
		COUNT(backend_retries);
	}
	if (c->ntried >= MAX_TRIES || pick_backend(c, r) < 0 || pick_lport(c) < 0) {
		respond(c, 503);
		return;
	}
	c->tried[c->ntried++] = c->bid;
	backend_key(&k, c);
	if (rte_hash_add_key_data(g.h, &k, (void *)(uintptr_t)(c - g.conns)) < 0) {
		respond(c, 503);
		return;
	}
	c->has_bkey = true;
	/*
	 * Its own ISN, growing with the clock (one per 64 ns) from a per-leg offset: a port
	 * that comes back to a backend which still holds it in TIME_WAIT opens with a
	 * higher sequence number, which the backend accepts (no timestamps on the leg).
	 */
	c->l_isn = (uint32_t)l7_siphash(&g.key, &k, sizeof(k)) + (uint32_t)(mono_ns() >> 6);
	c->st = C_CONNECT;
	c->t_connect = g.now_ms;
	c->t_retx = g.now_ms;
	c->retx = 0;
	to_backend(c, c->l_isn, 0, L7_TH_SYN, NULL, 0);
}

/* The route of c's (complete) head, or NULL; 1 with a response sent instead. */
static const struct baton_l7_route *route_of(struct conn *c, int *answered)
{
	const char *path = "";
	char host[L7_HOST_MAX];
	struct l7_request req;
	size_t head;
	int i;

	*answered = 0;
	if (c->tls) {
		if (l7_parse_sni(c->head, c->head_len, host, sizeof(host), &head) != L7_OK) {
			respond(c, 400);
			*answered = 1;
			return NULL;
		}
	} else {
		if (l7_parse_http((const char *)c->head, c->head_len, &req) != L7_OK) {
			respond(c, 400);
			*answered = 1;
			return NULL;
		}
		strcpy(host, req.host);
		path = req.path;
	}
	i = l7_route_pick(g.routes, g.n_routes, c->ct.family, c->ct.daddr, c->ct.dport, host, path);
	if (i < 0) {
		respond(c, 503);
		*answered = 1;
		return NULL;
	}
	if ((g.routes[i].flags & BATON_L7_R_REDIRECT_HTTPS) && !c->tls) {
		respond(c, 301);
		*answered = 1;
		return NULL;
	}
	return &g.routes[i];
}

static void head_complete(struct conn *c)
{
	const struct baton_l7_route *r;
	int answered;

	r = route_of(c, &answered);
	if (answered)
		return;
	if ((r->flags & BATON_L7_R_XFF) && !c->tls) {
		int n = l7_insert_xff((char *)c->head, c->head_len, o.head_max + L7_XFF_MAX,
				      c->ct.family == BATON_FAMILY_V6 ? AF_INET6 : AF_INET,
				      c->ct.saddr);

		if (n > 0) {
			c->xff = (uint32_t)n;
			c->head_len += c->xff;
		}
	}
	c->sticky = (r->flags & BATON_L7_R_STICKY) && !c->tls;
	if (c->sticky) {
		char v[L7_SERVER_ID_LEN + 1];
		uint8_t ca[17];

		/* A client keeps its backend across connections: its address only. */
		memcpy(ca, c->ct.saddr, 16);
		ca[16] = c->ct.family;
		c->hash = rte_jhash(ca, sizeof(ca), 0); /* no secret: the same after a restart */
		c->has_cookie = l7_find_cookie((const char *)c->head, c->head_len, L7_STICKY_COOKIE,
					       v, sizeof(v)) >= 0 &&
				l7_parse_server_id(v, &c->cookie) == 0;
	} else {
		c->hash = (uint32_t)l7_siphash(&g.key, &c->ct, sizeof(c->ct));
	}
	connect_next(c, r);
}

/* Is the head in c->head[0..head_len) complete? 1 yes, 0 no, -1 answered (error). */
static int head_done(struct conn *c)
{
	enum l7_verdict v;

	if (c->tls) {
		char sni[L7_HOST_MAX];
		size_t hl;

		v = l7_parse_sni(c->head, c->head_len, sni, sizeof(sni), &hl);
	} else {
		struct l7_request r;

		v = l7_parse_http((const char *)c->head, c->head_len, &r);
	}
	if (v == L7_INCOMPLETE && c->head_len >= o.head_max) {
		respond(c, 431);
		return -1;
	}
	return v != L7_INCOMPLETE;
}

/* ---- The splice ---- */

/*
 * Both flow entries of c, written (fwd_out NULL), or only computed into *fwd_out (the
 * client's direction) and *rep_out (the backend's) for the lane's own relaying in
 * C_RESP. With a Set-Cookie inserted (sc bytes), the backend's bytes reach the client
 * sc later.
 */
static int write_flows(struct conn *c, struct baton_flow *fwd_out, struct baton_flow *rep_out)
{
	struct baton_flow_key ck = { .proto = IPPROTO_TCP, .family = c->ct.family },
			      bk = { .proto = IPPROTO_TCP, .family = c->ct.family };
	struct baton_flow fwd = {}, rep = {};
	uint64_t now = mono_ns();
	struct l7_key k;

	backend_key(&k, c);
	memcpy(ck.saddr, c->ct.saddr, 16);
	memcpy(ck.daddr, c->ct.daddr, 16);
	ck.sport = c->ct.sport;
	ck.dport = c->ct.dport;
	memcpy(bk.saddr, k.a, 16);
	memcpy(bk.daddr, k.b, 16);
	bk.sport = k.ap;
	bk.dport = k.bp;

	memcpy(fwd.saddr, k.b, 16);
	memcpy(fwd.daddr, k.a, 16);
	fwd.sport = k.bp;
	fwd.dport = k.ap;
	fwd.flags = BATON_FLOW_F_SPLICED;
	/* The client's bytes, in the leg's space, after the bytes we inserted. */
	fwd.seq_delta = c->l_isn - c->c_isn + c->xff;
	fwd.ack_delta = c->b_isn - c->s_isn - c->sc; /* the client acks in our space */
	fwd.service_id = c->sid;
	fwd.backend_id = c->bid;
	fwd.last_seen_ns = now;

	memcpy(rep.saddr, c->ct.daddr, 16);
	memcpy(rep.daddr, c->ct.saddr, 16);
	rep.sport = c->ct.dport;
	rep.dport = c->ct.sport;
	rep.flags = BATON_FLOW_F_SPLICED | BATON_FLOW_F_REPLY;
	rep.seq_delta = c->s_isn - c->b_isn + c->sc;
	rep.ack_delta = c->c_isn - c->l_isn - c->xff;
	rep.service_id = c->sid;
	rep.backend_id = c->bid;
	rep.last_seen_ns = now;
	/*
	 * Window scales: the client scales by wc and we told the backend wc, so that
	 * direction needs nothing; the backend scales by wb and the client expects WS_LB.
	 * Without scaling on a leg its shift is 0.
	 */
	if (c->wc != L7_COOKIE_NO_WSCALE) {
		if (c->wb >= 0) {
			rep.wscale_shift = (__s8)(c->wb - WS_LB);
		} else {
			fwd.wscale_shift = (__s8)c->wc;
			rep.wscale_shift = -WS_LB;
		}
	}
	/* FINs the lane relayed before the splice (C_RESP). */
	if (c->c_fin)
		fwd.flags |= BATON_FLOW_F_FIN;
	if (c->b_fin)
		rep.flags |= BATON_FLOW_F_FIN;
	if (c->c_fin && c->b_fin)
		fwd.closing_ns = rep.closing_ns = now;
	if (fwd_out != NULL) {
		*fwd_out = fwd;
		*rep_out = rep;
		return 0;
	}
	/* The reply entry first: the backend may answer as soon as the client's ACK flows. */
	if (bpf_map_update_elem(g.fd_flows, &bk, &rep, BPF_ANY) < 0 ||
	    bpf_map_update_elem(g.fd_flows, &ck, &fwd, BPF_ANY) < 0)
		return -1;
	return 0;
}

/* ---- Segments ---- */

static void resp_client_seg(struct conn *c, const struct l7_seg *s);

static void client_seg(struct conn *c, const struct l7_seg *s)
{
	if (c->st == C_RESP) {
		resp_client_seg(c, s);
		return;
	}
	if (s->flags & L7_TH_RST) {
		if (c->st == C_HEAD)
			COUNT(client_resets);
		if (c->has_bkey && c->st != C_SPLICED)
			to_backend(c, c->l_isn + 1, 0, L7_TH_RST, NULL, 0);
		if (c->st != C_SPLICED)
			conn_free(c);
		return;
	}
	c->c_win = s->win;
	if (c->st == C_CLOSING) {
		if ((s->flags & L7_TH_ACK) && s->ack == c->snd_nxt)
			c->fin_acked = true;
		if (s->flags & L7_TH_FIN) {
			to_client(c, c->snd_nxt, s->seq + s->plen + 1, L7_TH_ACK, NULL, 0);
			if (c->fin_acked)
				conn_free(c);
		}
		return;
	}
	if (c->st != C_HEAD) {
		/* Data past the head waits for the splice (the client retransmits it). */
		if (c->st != C_SPLICED && s->plen && (int32_t)(s->seq - c->rcv_nxt) < 0)
			to_client(c, c->s_isn + 1, c->rcv_nxt, L7_TH_ACK, NULL, 0);
		return;
	}
	if (s->flags & L7_TH_FIN) {
		/* Closed before the head was complete: nothing to route. */
		COUNT(client_resets);
		to_client(c, c->s_isn + 1, s->seq + s->plen + 1, L7_TH_RST | L7_TH_ACK, NULL, 0);
		conn_free(c);
		return;
	}
	if (s->plen == 0)
		return;
	if (s->seq != c->rcv_nxt) {
		/* A retransmission or a segment from the future: say where we are. */
		to_client(c, c->s_isn + 1, c->rcv_nxt, L7_TH_ACK, NULL, 0);
		return;
	}
	if (c->head_len + s->plen > o.head_max) {
		respond(c, 431);
		return;
	}
	memcpy(c->head + c->head_len, s->payload, s->plen);
	c->head_len += s->plen;
	c->rcv_nxt += s->plen;
	to_client(c, c->s_isn + 1, c->rcv_nxt, L7_TH_ACK, NULL, 0);
	if (head_done(c) == 1)
		head_complete(c);
}

static void send_head(struct conn *c, uint32_t from)
{
	uint32_t mss = c->bmss ? c->bmss : 536;

	for (uint32_t off = from; off < c->head_len; off += mss) {
		uint32_t n = c->head_len - off < mss ? c->head_len - off : mss;

		to_backend(c, c->l_isn + 1 + off, c->b_isn + 1, L7_TH_ACK | L7_TH_PSH,
			   c->head + off, n);
	}
}

/* s as the flow entry f sends it on (XDP's rewrite: addresses, ports, deltas, window). */
static void rewrite(const struct l7_seg *s, const struct baton_flow *f, struct l7_seg *out)
{
	int shift;

	*out = *s;
	memcpy(out->saddr, f->saddr, 16);
	memcpy(out->daddr, f->daddr, 16);
	out->sport = f->sport;
	out->dport = f->dport;
	out->mss = 0;
	out->wscale = -1;
	if (f->flags & BATON_FLOW_F_SPLICED) {
		out->seq += f->seq_delta;
		if (s->flags & L7_TH_ACK)
			out->ack += f->ack_delta;
		shift = f->wscale_shift;
		if (shift >= 0) {
			uint32_t w = (uint32_t)s->win << shift;

			out->win = (uint16_t)(w > 0xffff ? 0xffff : w);
		} else {
			out->win = (uint16_t)(s->win >> -shift);
		}
	}
}

/*
 * A segment of a spliced connection that reached the lane anyway (it was queued in the
 * lane while the entries were being written, or is the backend's answer that completed
 * the splice): rewritten by its flow entry exactly as XDP would, FIN/RST bookkeeping
 * included, and sent on. Returns 0, or -1 when there is no entry for it.
 */
static int relay(const struct l7_seg *s)
{
	struct baton_flow_key k = { .proto = IPPROTO_TCP, .family = s->family }, pk;
	struct baton_flow f, p;
	struct l7_seg out;

	memcpy(k.saddr, s->saddr, 16);
	memcpy(k.daddr, s->daddr, 16);
	k.sport = s->sport;
	k.dport = s->dport;
	if (bpf_map_lookup_elem(g.fd_flows, &k, &f) < 0)
		return -1;
	rewrite(s, &f, &out);
	if (s->flags & (L7_TH_FIN | L7_TH_RST)) {
		uint64_t now = mono_ns();
		bool have_peer;

		memcpy(pk.saddr, f.daddr, 16);
		memcpy(pk.daddr, f.saddr, 16);
		pk.sport = f.dport;
		pk.dport = f.sport;
		pk.proto = IPPROTO_TCP;
		pk.family = s->family;
		pk.pad[0] = pk.pad[1] = 0;
		have_peer = bpf_map_lookup_elem(g.fd_flows, &pk, &p) == 0;
		if (s->flags & L7_TH_RST) {
			f.closing_ns = f.closing_ns ? f.closing_ns : now;
			p.closing_ns = have_peer && p.closing_ns ? p.closing_ns : now;
		} else {
			f.flags |= BATON_FLOW_F_FIN;
			if (have_peer && (p.flags & BATON_FLOW_F_FIN) && !f.closing_ns)
				f.closing_ns = p.closing_ns = now;
		}
		bpf_map_update_elem(g.fd_flows, &k, &f, BPF_EXIST);
		if (have_peer)
			bpf_map_update_elem(g.fd_flows, &pk, &p, BPF_EXIST);
	}
	send_seg(&out);
	return 0;
}

/* ---- Sticky: the first response head with Set-Cookie (C_RESP) ---- */

/* The server id (the sticky cookie's value) of c's backend. */
static uint32_t conn_server_id(const struct conn *c)
{
	return l7_server_id(c->ct.family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, c->baddr,
			    ntohs(c->bport));
}

/* head[from..rsp_len + sc) to the client, in segments of its MSS. */
static void resp_send(struct conn *c, uint32_t from)
{
	uint32_t end = c->rsp_len + c->sc, mss = l7_cookie_mss[c->mss_idx];

	for (uint32_t off = from; off < end; off += mss) {
		uint32_t n = end - off < mss ? end - off : mss;

		to_client(c, c->s_isn + 1 + off, c->c_ack, L7_TH_ACK | L7_TH_PSH, c->head + off, n);
	}
}

/* Both legs reset: the connection cannot go on. */
static void resp_abort(struct conn *c)
{
	to_client(c, c->s_isn + 1 + c->c_acked, c->c_ack, L7_TH_RST | L7_TH_ACK, NULL, 0);
	to_backend(c, c->fwd_nxt, 0, L7_TH_RST, NULL, 0);
	conn_free(c);
}

/* The client has all of the head: the entries (with sc) take over. */
static void resp_splice(struct conn *c)
{
	if (write_flows(c, NULL, NULL) < 0) {
		resp_abort(c);
		return;
	}
	COUNT(offloaded);
	c->st = C_SPLICED;
	c->t_start = g.now_ms;
}

/*
 * The head in head[0..rsp_len) is complete (or will not be: too large, the backend
 * closed, too late): Set-Cookie after the status line of a final (not 1xx) response,
 * then out to the client. Nothing consumed: splice right away.
 */
static void resp_finish(struct conn *c)
{
	int status, n;

	c->resp_done = true;
	if (l7_response_head((const char *)c->head, c->rsp_len, &status) > 0 && status >= 200) {
		n = l7_insert_set_cookie((char *)c->head, c->rsp_len, o.head_max + L7_XFF_MAX,
					 conn_server_id(c));
		c->sc = n > 0 ? (uint32_t)n : 0;
	}
	if (c->rsp_len + c->sc == 0) {
		resp_splice(c);
		return;
	}
	c->t_retx = g.now_ms;
	c->retx = 0;
	resp_send(c, 0);
}

static void resp_backend_seg(struct conn *c, const struct l7_seg *s)
{
	uint32_t own_end = c->b_isn + 1 + c->rsp_len; /* backend bytes the lane consumed */
	struct baton_flow fwd, rep;
	struct l7_seg t = *s, out;
	int32_t old;

	if (s->flags & L7_TH_SYN)
		return; /* a stale SYN-ACK: the leg is established */
	write_flows(c, &fwd, &rep);
	if (s->flags & L7_TH_RST) {
		rewrite(s, &rep, &out);
		out.seq = c->s_isn + 1 + c->c_acked;
		send_seg(&out);
		to_backend(c, c->fwd_nxt, 0, L7_TH_RST, NULL, 0);
		conn_free(c);
		return;
	}
	if (s->flags & L7_TH_ACK) {
		uint32_t a = s->ack + rep.ack_delta;

		if ((int32_t)(a - c->c_ack) > 0)
			c->c_ack = a;
	}
	rewrite(s, &rep, &out);
	c->b_win = out.win;
	if (!c->resp_done && s->plen) {
		if (s->seq != own_end) {
			/* Out of order or again: where we are (fast retransmit, if anything). */
			to_backend(c, c->fwd_nxt, own_end, L7_TH_ACK, NULL, 0);
			return;
		}
		if (c->rsp_len + s->plen <= o.head_max) {
			memcpy(c->head + c->rsp_len, s->payload, s->plen);
			c->rsp_len += s->plen;
			own_end += s->plen;
			to_backend(c, c->fwd_nxt, own_end, L7_TH_ACK, NULL, 0);
			if (l7_response_head((const char *)c->head, c->rsp_len, &(int){ 0 }) > 0 ||
			    (s->flags & L7_TH_FIN))
				resp_finish(c);
			if (!(s->flags & L7_TH_FIN) || c->st != C_RESP)
				return;
			t.seq += t.plen; /* the FIN is relayed below */
			t.plen = 0;
		} else {
			resp_finish(c); /* a head past --head-max: on without Set-Cookie */
			if (c->st != C_RESP)
				return;
		}
	} else if (!c->resp_done && (s->flags & L7_TH_FIN)) {
		resp_finish(c); /* closed without a head: spliced when nothing was consumed */
		if (c->st == C_SPLICED)
			relay(s);
		if (c->st != C_RESP)
			return;
	}
	/* Bytes the lane consumed are the lane's to deliver: only what follows goes on. */
	old = (int32_t)(own_end - t.seq);
	if (t.plen && old > 0) {
		if ((uint32_t)old >= t.plen) {
			to_backend(c, c->fwd_nxt, own_end, L7_TH_ACK, NULL, 0);
			if (!(t.flags & L7_TH_FIN))
				return;
			t.seq += t.plen;
			t.plen = 0;
		} else {
			t.seq += (uint32_t)old;
			t.payload += old;
			t.plen -= (uint32_t)old;
		}
	}
	if (t.flags & L7_TH_FIN)
		c->b_fin = true;
	write_flows(c, &fwd, &rep); /* resp_finish() may have inserted */
	rewrite(&t, &rep, &out);
	send_seg(&out);
}

static void resp_client_seg(struct conn *c, const struct l7_seg *s)
{
	uint32_t own_end = c->b_isn + 1 + c->rsp_len, total = c->rsp_len + c->sc;
	struct baton_flow fwd, rep;
	struct l7_seg out;

	if (s->flags & L7_TH_SYN)
		return;
	write_flows(c, &fwd, &rep);
	c->c_win = s->win;
	if (s->flags & L7_TH_RST) {
		rewrite(s, &fwd, &out);
		out.seq = c->fwd_nxt;
		send_seg(&out);
		conn_free(c);
		return;
	}
	if (c->resp_done && (s->flags & L7_TH_ACK)) {
		uint32_t a = s->ack - (c->s_isn + 1);

		if ((int32_t)(a - total) >= 0)
			c->c_acked = total;
		else if ((int32_t)(a - c->c_acked) > 0)
			c->c_acked = a;
		if (c->c_acked == total) {
			/* The client has the head: the entries carry on, this segment too. */
			resp_splice(c);
			if (c->st == C_SPLICED &&
			    (s->plen || (s->flags & L7_TH_FIN) || (int32_t)(a - total) > 0))
				relay(s);
			return;
		}
	}
	rewrite(s, &fwd, &out);
	/* The client acknowledges the head in our space: the backend had it from us. */
	if ((s->flags & L7_TH_ACK) && (int32_t)(out.ack - own_end) <= 0) {
		if (s->plen == 0 && !(s->flags & L7_TH_FIN))
			return;
		out.ack = own_end;
	}
	if (s->flags & L7_TH_FIN)
		c->c_fin = true;
	if ((int32_t)(out.seq + out.plen + !!(s->flags & L7_TH_FIN) - c->fwd_nxt) > 0)
		c->fwd_nxt = out.seq + out.plen + !!(s->flags & L7_TH_FIN);
	send_seg(&out);
}

/* Backend chosen and the head acknowledged: the response head comes through the lane. */
static void resp_start(struct conn *c, const struct l7_seg *s)
{
	COUNT(bound);
	c->st = C_RESP;
	c->t_start = g.now_ms;
	c->fwd_nxt = c->l_isn + 1 + c->head_len;
	c->c_ack = c->rcv_nxt;
	resp_backend_seg(c, s);
}

static void backend_seg(struct conn *c, const struct l7_seg *s)
{
	uint32_t acked;

	if (c->st == C_RESP) {
		resp_backend_seg(c, s);
		return;
	}
	if (c->st != C_CONNECT && c->st != C_SEND)
		return;
	if (s->flags & L7_TH_RST) {
		if (c->st == C_CONNECT && s->ack == c->l_isn + 1) {
			const struct baton_l7_route *r;
			int answered;

			r = route_of(c, &answered); /* the table may have moved meanwhile */
			if (!answered)
				connect_next(c, r);
		} else if (c->st == C_SEND) {
			respond(c, 503);
		}
		return;
	}
	if (c->st == C_CONNECT) {
		if ((s->flags & (L7_TH_SYN | L7_TH_ACK)) != (L7_TH_SYN | L7_TH_ACK) ||
		    s->ack != c->l_isn + 1)
			return;
		c->b_isn = s->seq;
		c->wb = s->wscale;
		c->bmss = s->mss ? s->mss : 536;
		if (c->bmss > l7_cookie_mss[c->mss_idx])
			c->bmss = l7_cookie_mss[c->mss_idx];
		c->st = C_SEND;
		c->t_retx = g.now_ms;
		c->retx = 0;
		send_head(c, 0);
		return;
	}
	if ((s->flags & L7_TH_SYN) && s->seq == c->b_isn) {
		/* Our ACK was lost: the SYN-ACK again. */
		send_head(c, 0);
		return;
	}
	if (!(s->flags & L7_TH_ACK))
		return;
	acked = s->ack - (c->l_isn + 1);
	if (acked < c->head_len || acked > c->head_len)
		return; /* partly acknowledged: the timer sends the rest */
	/* Sticky without a cookie for this backend: the response gets Set-Cookie. */
	if (c->sticky && !(c->has_cookie && c->cookie == conn_server_id(c))) {
		resp_start(c, s);
		return;
	}
	if (write_flows(c, NULL, NULL) < 0) {
		respond(c, 503);
		return;
	}
	COUNT(bound);
	COUNT(offloaded);
	/* Whatever this segment carries (the response, a FIN) is the client's: pass it on. */
	if (s->plen || (s->flags & L7_TH_FIN))
		relay(s);
	c->st = C_SPLICED;
	c->t_start = g.now_ms;
}

static void new_client_seg(const struct l7_seg *s)
{
	struct l7_tuple t = { .family = s->family, .sport = s->sport, .dport = s->dport };
	uint32_t now_s = (uint32_t)(g.now_ms / 1000);
	unsigned int mss_idx, ws;
	struct conn *c;

	memcpy(t.saddr, s->saddr, 16);
	memcpy(t.daddr, s->daddr, 16);
	if ((s->flags & (L7_TH_SYN | L7_TH_ACK | L7_TH_RST)) == L7_TH_SYN) {
		struct l7_seg a = { .family = s->family,
				    .sport = s->dport,
				    .dport = s->sport,
				    .ack = s->seq + 1,
				    .flags = L7_TH_SYN | L7_TH_ACK,
				    .win = 65535,
				    .mss = s->family == BATON_FAMILY_V4 ? 1460 : 1440,
				    .wscale = s->wscale >= 0 ? WS_LB : -1 };

		mss_idx = l7_cookie_mss_index(s->mss ? s->mss : 536);
		ws = s->wscale >= 0 ? (unsigned int)s->wscale : L7_COOKIE_NO_WSCALE;
		a.seq = l7_cookie_make(&g.key, &t, s->seq, now_s, mss_idx, ws);
		memcpy(a.saddr, s->daddr, 16);
		memcpy(a.daddr, s->saddr, 16);
		send_seg(&a);
		COUNT(syn_cookies);
		return;
	}
	if ((s->flags & (L7_TH_SYN | L7_TH_ACK | L7_TH_RST)) != L7_TH_ACK)
		return;
	if (l7_cookie_check(&g.key, &t, s->seq - 1, s->ack - 1, now_s, &mss_idx, &ws) < 0) {
		/* Dropped, not reset: it may be a straggler of a spliced connection. */
		COUNT(cookie_fail);
		return;
	}
	c = conn_new(&t);
	if (c == NULL)
		return;
	COUNT(accepted);
	c->st = C_HEAD;
	c->c_isn = s->seq - 1;
	c->s_isn = s->ack - 1;
	c->rcv_nxt = s->seq;
	c->mss_idx = (uint8_t)mss_idx;
	c->wc = (uint8_t)ws;
	c->wb = -1;
	c->t_start = g.now_ms;
	/* https frontends: the routes of the frontend say TLS. */
	for (uint32_t i = 0; i < g.n_routes; i++) {
		const struct baton_l7_route *r = &g.routes[i];

		if (r->family == t.family && r->port == t.dport &&
		    memcmp(r->addr, t.daddr, 16) == 0) {
			c->tls = !!(r->flags & BATON_L7_R_TLS);
			break;
		}
	}
	client_seg(c, s);
}

static bool is_leg(const struct l7_seg *s)
{
	uint16_t p = ntohs(s->dport);

	if (!g.cfg.l7_port_min || p < g.cfg.l7_port_min || p > g.cfg.l7_port_max)
		return false;
	if (s->family == BATON_FAMILY_V4)
		return s->daddr[0] == g.cfg.snat_v4;
	return memcmp(s->daddr, g.cfg.snat_v6, 16) == 0;
}

static void on_frame(const uint8_t *f, uint32_t len)
{
	struct l7_seg s;
	struct l7_key k;
	void *data;

	if (l7_seg_parse(f, len, &s) < 0)
		return;
	key_of(&k, s.family, s.saddr, s.daddr, s.sport, s.dport);
	if (rte_hash_lookup_data(g.h, &k, &data) >= 0) {
		struct conn *c = &g.conns[(uintptr_t)data];

		if (c->st == C_SPLICED) {
			relay(&s);
			return;
		}
		if (is_leg(&s))
			backend_seg(c, &s);
		else
			client_seg(c, &s);
		return;
	}
	/* A late segment of a connection spliced a while ago: XDP's entry says where. */
	if (!(s.flags & L7_TH_SYN) && relay(&s) == 0)
		return;
	if (is_leg(&s)) {
		/* A backend answering a leg we gave up: reset it. */
		if (!(s.flags & L7_TH_RST)) {
			struct l7_seg r = { .family = s.family,
					    .sport = s.dport,
					    .dport = s.sport,
					    .seq = s.ack,
					    .flags = L7_TH_RST,
					    .wscale = -1 };

			memcpy(r.saddr, s.daddr, 16);
			memcpy(r.daddr, s.saddr, 16);
			send_seg(&r);
		}
		return;
	}
	new_client_seg(&s);
}

/* ---- Timers ---- */

static void scan(void)
{
	for (uint32_t i = 0; i < g.high; i++) {
		struct conn *c = &g.conns[i];

		switch (c->st) {
		case C_FREE:
			break;
		case C_HEAD:
			if (g.now_ms - c->t_start > o.head_timeout_ms)
				respond(c, 408);
			break;
		case C_CONNECT:
			if (g.now_ms - c->t_connect > o.connect_timeout_ms) {
				const struct baton_l7_route *r;
				int answered;

				r = route_of(c, &answered);
				if (!answered)
					connect_next(c, r);
			} else if (g.now_ms - c->t_retx >= (uint64_t)RETX_MS << c->retx) {
				c->t_retx = g.now_ms;
				c->retx++;
				to_backend(c, c->l_isn, 0, L7_TH_SYN, NULL, 0);
			}
			break;
		case C_SEND:
			if (c->retx >= 5) {
				to_backend(c, c->l_isn + 1, 0, L7_TH_RST, NULL, 0);
				respond(c, 503);
			} else if (g.now_ms - c->t_retx >= (uint64_t)RETX_MS << c->retx) {
				c->t_retx = g.now_ms;
				c->retx++;
				send_head(c, 0);
			}
			break;
		case C_RESP:
			if (!c->resp_done) {
				if (g.now_ms - c->t_start > RESP_WAIT_MS)
					resp_finish(c);
			} else if (c->retx >= 6) {
				resp_abort(c);
			} else if (g.now_ms - c->t_retx >= (uint64_t)RETX_MS << c->retx) {
				c->t_retx = g.now_ms;
				c->retx++;
				resp_send(c, c->c_acked);
			}
			break;
		case C_CLOSING:
			if (g.now_ms - c->t_start > CLOSE_MS) {
				conn_free(c);
			} else if (!c->fin_acked && c->retx < 4 &&
				   g.now_ms - c->t_retx >= (uint64_t)RETX_MS << c->retx) {
				c->t_retx = g.now_ms;
				c->retx++;
				to_client(c, c->s_isn + 1, c->rcv_nxt,
					  L7_TH_ACK | L7_TH_PSH | L7_TH_FIN, c->resp, c->resp_len);
			}
			break;
		case C_SPLICED:
			if (g.now_ms - c->t_start > LINGER_MS)
				conn_free(c);
			break;
		}
	}
	while (g.high > 0 && g.conns[g.high - 1].st == C_FREE)
		g.high--;
}

/* ---- Maps ---- */

static int open_pin(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", o.bpffs, BATON_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		rte_exit(EXIT_FAILURE, "cannot open %s (is batond running?): %s\n", path,
			 strerror(errno));
	return fd;
}

static void poll_maps(void)
{
	struct baton_l7_meta m, m2;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(g.fd_cfg, &zero, &g.cfg) < 0)
		memset(&g.cfg, 0, sizeof(g.cfg));
	bpf_map_update_elem(g.fd_stats, &zero, &g.st, BPF_ANY);
	if (bpf_map_lookup_elem(g.fd_meta, &zero, &m) < 0 || m.version == g.meta_version ||
	    m.abi_version != BATON_ABI_VERSION)
		return;
	if (m.n_routes > BATON_MAX_L7_ROUTES)
		return;
	for (__u32 i = 0; i < m.n_routes; i++) {
		__u32 idx = m.gen * BATON_MAX_L7_ROUTES + i;

		if (bpf_map_lookup_elem(g.fd_routes, &idx, &g.routes[i]) < 0)
			return;
	}
	/* The meta unchanged over the copy: the copy is of one generation. */
	if (bpf_map_lookup_elem(g.fd_meta, &zero, &m2) < 0 || m2.version != m.version)
		return;
	g.n_routes = m.n_routes;
	g.meta_version = m.version;
	printf("baton-l7: routes version %llu: %u routes\n", (unsigned long long)m.version,
	       m.n_routes);
}

/* ---- Setup ---- */

/* One table for every option: it drives getopt_long, the parsing and --help. */
static const struct opt_desc {
	const char *name;
	const char **str;  /* string option, or */
	unsigned int *num; /* number option in [lo, hi] */
	unsigned int lo, hi;
	const char *help;
} opt_table[] = {
	{ "lane", &o.lane, NULL, 0, 0, "IFACE  the lane's far end (its net_af_xdp port is added)" },
	{ "bpffs", &o.bpffs, NULL, 0, 0,
	  "DIR  where batond pinned the maps (DIR/baton; /sys/fs/bpf)" },
	{ "lock", &o.lock, NULL, 0, 0, "FILE  single-instance lock (/run/baton-l7.IFACE.lock)" },
	{ "mbufs", NULL, &o.mbufs, 255, 1u << 22, "N  mbufs in the pool (8191)" },
	{ "max-conns", NULL, &o.max_conns, 16, 1u << 20,
	  "N  connections being bound at once (4096)" },
	{ "head-max", NULL, &o.head_max, 256, 65536,
	  "BYTES  request head limit, 431 past it (8192)" },
	{ "head-timeout-ms", NULL, &o.head_timeout_ms, 100, 600000,
	  "MS  request head deadline, 408 past it (10000)" },
	{ "connect-timeout-ms", NULL, &o.connect_timeout_ms, 50, 60000,
	  "MS  per backend before the next one is tried (1000)" },
	{ "idle-sleep-us", NULL, &o.idle_sleep_us, 0, 100000,
	  "US  sleep after a run of empty polls, 0 = pure busy polling (50)" },
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: baton-l7 [EAL options] -- --lane IFACE [options]\n");
	for (size_t i = 0; i < N_OPTS; i++)
		fprintf(f, "  --%s %s\n", opt_table[i].name, opt_table[i].help);
}

static void parse_opts(int argc, char **argv)
{
	struct option lo[N_OPTS + 2] = {};
	int ch, idx;

	for (size_t i = 0; i < N_OPTS; i++)
		lo[i] = (struct option){ opt_table[i].name, required_argument, NULL, 0 };
	lo[N_OPTS] = (struct option){ "help", no_argument, NULL, 'h' };
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		const struct opt_desc *d = &opt_table[idx];
		unsigned long n;
		char *end;

		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch != 0) {
			usage(stderr);
			exit(2);
		}
		if (d->str != NULL) {
			*d->str = optarg;
			continue;
		}
		n = strtoul(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || n < d->lo || n > d->hi) {
			fprintf(stderr, "baton-l7: --%s: \"%s\" is not a number in %u..%u\n",
				d->name, optarg, d->lo, d->hi);
			exit(2);
		}
		*d->num = (unsigned int)n;
	}
	if (o.lane == NULL) {
		usage(stderr);
		exit(2);
	}
}

/*
 * One instance per lane: a second net_af_xdp port on the same interface fails and its
 * cleanup detaches the first one's program (PLATFORM-NOTES). Taken before EAL init.
 */
static int take_lock(void)
{
	static char path[4096];
	int fd;

	if (o.lock == NULL) {
		snprintf(path, sizeof(path), "/run/baton-l7.%s.lock", o.lane);
		o.lock = path;
	}
	fd = open(o.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "baton-l7: cannot open %s: %s\n", o.lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "baton-l7: %s is locked: another baton-l7 serves %s\n", o.lock,
			o.lane);
		return -1;
	}
	return fd;
}

static void port_init(void)
{
	struct rte_eth_conf conf = {};
	struct rte_eth_dev_info info;
	uint16_t nrx = 1024, ntx = 1024;
	int r;

	if (rte_eth_dev_count_avail() < 1)
		rte_exit(EXIT_FAILURE, "no DPDK port (the net_af_xdp vdev on %s failed?)\n",
			 o.lane);
	g.port = 0;
	r = rte_eth_dev_info_get(g.port, &info);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "port info: %s\n", rte_strerror(-r));
	r = rte_eth_dev_configure(g.port, 1, 1, &conf);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "port configure: %s\n", rte_strerror(-r));
	r = rte_eth_dev_adjust_nb_rx_tx_desc(g.port, &nrx, &ntx);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "port descriptors: %s\n", rte_strerror(-r));
	r = rte_eth_rx_queue_setup(g.port, 0, nrx, rte_eth_dev_socket_id(g.port), NULL, g.pool);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "rx queue: %s\n", rte_strerror(-r));
	r = rte_eth_tx_queue_setup(g.port, 0, ntx, rte_eth_dev_socket_id(g.port), NULL);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "tx queue: %s\n", rte_strerror(-r));
	r = rte_eth_dev_start(g.port);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "port start: %s\n", rte_strerror(-r));
}

static void state_init(void)
{
	struct rte_hash_parameters hp = {
		.name = "l7_conns",
		.entries = 2 * o.max_conns,
		.key_len = sizeof(struct l7_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
	};

	g.h = rte_hash_create(&hp);
	g.conns = calloc(o.max_conns, sizeof(*g.conns));
	g.free_ids = calloc(o.max_conns, sizeof(*g.free_ids));
	g.routes = calloc(BATON_MAX_L7_ROUTES, sizeof(*g.routes));
	g.sticky = calloc(STICKY_SETS, sizeof(*g.sticky));
	if (g.h == NULL || g.conns == NULL || g.free_ids == NULL || g.routes == NULL ||
	    g.sticky == NULL)
		rte_exit(EXIT_FAILURE, "out of memory for %u connections\n", o.max_conns);
	for (uint32_t i = 0; i < o.max_conns; i++) {
		g.conns[i].head = malloc(o.head_max + L7_XFF_MAX);
		if (g.conns[i].head == NULL)
			rte_exit(EXIT_FAILURE, "out of memory for request heads\n");
		g.free_ids[i] = o.max_conns - 1 - i;
	}
	g.n_free = o.max_conns;
	for (int i = 0; i < FD_CACHE; i++)
		g.fdc[i].fd = -1;
	if (getrandom(&g.key, sizeof(g.key), 0) != sizeof(g.key))
		rte_exit(EXIT_FAILURE, "getrandom failed\n");
	g.next_lport = (uint16_t)(g.key.k0 >> 48);
}

int main(int argc, char **argv)
{
	struct rte_mbuf *rx[BURST];
	char vdev[256], *eal_argv[128];
	int eal_argc = 0, sep = argc, lock_fd, r;
	uint64_t last_scan = 0, last_poll = 0;
	unsigned int idle = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	/* Our options (after "--") first: the lock must be held before EAL touches the lane. */
	{
		char *ours[128];
		int n = 0;

		ours[n++] = argv[0];
		for (int i = sep + 1; i < argc && n < 127; i++)
			ours[n++] = argv[i];
		ours[n] = NULL;
		parse_opts(n, ours);
	}
	lock_fd = take_lock();
	if (lock_fd < 0)
		return 1;
	for (int i = 0; i < sep && eal_argc < 120; i++)
		eal_argv[eal_argc++] = argv[i];
	snprintf(vdev, sizeof(vdev), "--vdev=net_af_xdp0,iface=%s,start_queue=0,queue_count=1",
		 o.lane);
	eal_argv[eal_argc++] = vdev;
	eal_argv[eal_argc] = NULL;
	r = rte_eal_init(eal_argc, eal_argv);
	if (r < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed: %s\n", rte_strerror(rte_errno));

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	g.fd_flows = open_pin("flows");
	g.fd_fe = open_pin("frontends");
	g.fd_be = open_pin("backends");
	g.fd_maglev = open_pin("maglev");
	g.fd_cfg = open_pin("config");
	g.fd_routes = open_pin("l7_routes");
	g.fd_meta = open_pin("l7_meta");
	g.fd_stats = open_pin("l7_stats");

	/* Explicitly sized: o.mbufs of 2 KB, a per-lcore cache of 256. */
	g.pool = rte_pktmbuf_pool_create("l7_mbufs", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (g.pool == NULL)
		rte_exit(EXIT_FAILURE, "mempool of %u mbufs: %s\n", o.mbufs,
			 rte_strerror(rte_errno));
	state_init();
	{
		__u32 zero = 0;

		/* Counters continue from an earlier instance's: /metrics stays monotonic. */
		if (bpf_map_lookup_elem(g.fd_stats, &zero, &g.st) < 0)
			memset(&g.st, 0, sizeof(g.st));
	}
	port_init();
	g.now_ms = mono_ns() / 1000000;
	poll_maps();
	printf("baton-l7: serving lane %s (port %u), %u connections, head limit %u bytes\n", o.lane,
	       g.port, o.max_conns, o.head_max);

	while (!stop) {
		uint16_t n = rte_eth_rx_burst(g.port, 0, rx, BURST);

		g.now_ms = mono_ns() / 1000000;
		for (uint16_t i = 0; i < n; i++) {
			on_frame(rte_pktmbuf_mtod(rx[i], const uint8_t *),
				 rte_pktmbuf_data_len(rx[i]));
			rte_pktmbuf_free(rx[i]);
		}
		g.st.v[BATON_L7S_rx_frames] += n;
		if (g.now_ms - last_scan >= SCAN_MS) {
			last_scan = g.now_ms;
			scan();
		}
		if (g.now_ms - last_poll >= POLL_MAPS_MS) {
			last_poll = g.now_ms;
			poll_maps();
		}
		tx_flush();
		/* A shared machine: after a run of empty polls, yield the CPU briefly. */
		if (n == 0 && o.idle_sleep_us && ++idle > 64) {
			usleep(o.idle_sleep_us);
		} else if (n) {
			idle = 0;
		}
	}
	printf("baton-l7: stopping\n");
	poll_maps(); /* the last counters */
	rte_eth_dev_stop(g.port);
	rte_eth_dev_close(g.port);
	rte_eal_cleanup();
	close(lock_fd);
	return 0;
}
