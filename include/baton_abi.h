/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Baton's one shared ABI: every struct that crosses the BPF / user-space boundary,
 * every map size and every counter name. Included by the XDP program (bpf/) and by
 * user space (controlplane/, tests/, perf/). Nothing here is ever copied by hand
 * into another file.
 *
 * Byte order is noted per field: "be" fields are network order as on the wire,
 * everything else is host order. IPv4 addresses live in addr[0] with addr[1..3]
 * zero, so one key layout serves both families.
 *
 * Changing a layout: bump BATON_ABI_VERSION. batond refuses to adopt pinned maps
 * whose recorded version differs (and libbpf refuses maps whose sizes differ).
 */
#ifndef BATON_ABI_H
#define BATON_ABI_H

#include <linux/types.h>

#define BATON_ABI_VERSION 3

/* Capacities. Map sizes are fixed at compile time so pinned maps stay reusable. */
#define BATON_MAX_FRONTENDS 65536
#define BATON_MAX_SERVICES 32768
#define BATON_MAX_BACKENDS 131072
#define BATON_FLOWS_DEFAULT 262144    /* flows; each takes two entries */
#define BATON_SYN_FLOWS_DEFAULT 16384 /* embryonic TCP flows (handshake not complete) */
#define BATON_MAX_L2_IFACES 64	      /* interfaces answering ARP / NDP for the VIPs */
#define BATON_MAGLEV_DEFAULT 65537    /* default lookup table size, a prime */
#define BATON_MAGLEV_MIN 7
#define BATON_MAGLEV_MAX 1048573 /* largest prime below 2^20 */

/* Sentinel for "no backend" in a Maglev table slot or a flow entry. */
#define BATON_NO_BACKEND 0xffffffffu

/* Address families, as stored in keys (not AF_*, which differ across systems). */
#define BATON_FAMILY_V4 4
#define BATON_FAMILY_V6 6

/*
 * Frontend map: (address, port, protocol) -> service.
 * An entry with port 0 and proto 0 marks the address itself as owned by Baton (a VIP
 * address): malformed packets towards it are counted and dropped instead of passed.
 */
struct baton_frontend_key {
	__be32 addr[4]; /* be; IPv4 in addr[0] */
	__be16 port;	/* be; 0 for an address entry */
	__u8 proto;	/* IPPROTO_TCP, IPPROTO_UDP, or 0 for an address entry */
	__u8 family;	/* BATON_FAMILY_* */
};

#define BATON_FE_F_ADDR_ONLY (1u << 0) /* address entry: no service behind it */
#define BATON_FE_F_STICKY (1u << 1)    /* Maglev hashes the client address only */
#define BATON_FE_F_GEN1 (1u << 2)      /* the service's table generation 1 is active */
#define BATON_FE_F_L7 (1u << 3)	       /* http/https frontend: unbound TCP goes to the L7 lane */
#define BATON_FE_F_TLS (1u << 4)       /* with F_L7: the clients speak TLS, route by SNI */

/*
 * Frontend key protocol of an L7 route's own service entry. Several http services
 * share one (address, port); each still needs a service id and a Maglev table, so
 * batond files each under (address, route number, BATON_PROTO_L7_ROUTE). No packet
 * carries this protocol (253 is reserved for experiments, RFC 3692), so XDP never
 * matches such an entry.
 */
#define BATON_PROTO_L7_ROUTE 253

struct baton_frontend {
	__u32 service_id; /* index into the maglev outer map and service counters */
	__u32 flags;	  /* BATON_FE_F_* */
};

/* Backend array: backend id -> where to send. Ids are allocated by batond. */
struct baton_backend {
	__be32 addr[4]; /* be */
	__be16 port;	/* be */
	__u8 family;	/* BATON_FAMILY_*; 0 = unused slot */
	__u8 flags;
};

/*
 * Maglev: each service has two table generations in the outer array of maps, at slots
 * BATON_MAGLEV_SLOT(service id, gen); its frontend's BATON_FE_F_GEN1 says which one is
 * active. Each inner array is one lookup table: slot 0 holds the table size M, slots
 * 1..M backend ids. batond fills the inactive generation completely and then flips the
 * frontend in one update, so a packet sees the old table or the new one, never a
 * half-built one; M travels inside the table, so size and contents change together.
 * (Flipping needs no RCU wait from the kernel, unlike replacing an inner map.)
 */
#define BATON_MAGLEV_SLOT(service_id, gen) ((service_id)*2 + (gen))
#define BATON_MAGLEV_SIZE_SLOT 0

/*
 * Flow tables: LRU hashes holding both directions of every flow. The key is the
 * packet's 5-tuple as it arrives; the value says how it leaves. A TCP flow starts in
 * the small embryonic table (syn_flows) and moves to the main one (flows) with the
 * client's first ACK, so a flood of SYNs only churns the embryonic table. UDP flows
 * go straight to the main table.
 */
struct baton_flow_key {
	__be32 saddr[4]; /* be */
	__be32 daddr[4]; /* be */
	__be16 sport;	 /* be */
	__be16 dport;	 /* be */
	__u8 proto;
	__u8 family;
	__u8 pad[2]; /* must be zero */
};

#define BATON_FLOW_F_REPLY (1u << 0)   /* backend -> client direction */
#define BATON_FLOW_F_FIN (1u << 1)     /* this direction has sent a FIN */
#define BATON_FLOW_F_SPLICED (1u << 2) /* L7 lane splice: apply seq/ack deltas */

struct baton_flow {
	/* Rewrite: the packet leaves with these addresses and ports. */
	__be32 saddr[4];   /* be */
	__be32 daddr[4];   /* be */
	__be16 sport;	   /* be */
	__be16 dport;	   /* be */
	__u8 flags;	   /* BATON_FLOW_F_* */
	__s8 wscale_shift; /* L7 splice: advertised window <<= shift (>0) or >>= -shift */
	__u16 pad0;
	/* L7 splice, host order: added to seq / ack of packets in this direction. */
	__u32 seq_delta;
	__u32 ack_delta;
	__u32 service_id;
	__u32 backend_id;
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(); refreshed at most once a second */
	__u64 closing_ns;   /* both FINs or an RST seen at this time; 0 while open */
	/* Next hop, cached from bpf_fib_lookup() and refreshed every fib_cache_ns. */
	__u64 fib_ns; /* 0 = not resolved */
	__u32 fib_ifindex;
	__u8 smac[6];
	__u8 dmac[6];
};

/* Global settings: array map of one entry, rewritten by batond on reload. */
struct baton_config {
	__u32 abi_version;   /* BATON_ABI_VERSION of the writer */
	__u32 nr_cpus;	     /* SNAT ports are partitioned by CPU: no two CPUs pick the same */
	__be32 snat_v4;	     /* be; 0 = no IPv4 SNAT address: IPv4 new flows are dropped */
	__be32 snat_v6[4];   /* be; all zero = none */
	__u16 snat_port_min; /* host order, inclusive */
	__u16 snat_port_max; /* host order, inclusive */
	__u64 tcp_idle_ns;   /* an open TCP flow idle this long is gone */
	__u64 udp_idle_ns;   /* a UDP flow idle this long is gone */
	__u64 tcp_close_ns;  /* grace after both FINs / an RST before the entry ends */
	__u64 port_reuse_ns; /* a SNAT port is not reused towards a backend before this */
	__u64 fib_cache_ns;  /* how long a flow keeps its resolved next hop */
	__u64 tcp_syn_ns;    /* an embryonic TCP flow idle this long is gone; 0: tcp_idle_ns */
	/*
	 * L7 lane: the interface whose far end is baton-l7 (0 = none: L7 frontends drop).
	 * Unbound TCP for an F_L7 frontend, and TCP to a SNAT address on a port in
	 * l7_port_min..max without a flow (baton-l7's backend legs), is redirected into
	 * it; frames coming back in on it are routed by the fib (baton-l7 writes
	 * complete IP packets, XDP only sets the MACs).
	 */
	__u32 l7_lane_ifindex;
	__u16 l7_port_min; /* host order, inclusive; disjoint from snat_port_* */
	__u16 l7_port_max;
};

/*
 * ARP / NDP responder (batond --l2-announce): an interface with an entry here answers
 * ARP requests and neighbour solicitations for every VIP address (the frontend map's
 * address entries) with its MAC. No entry: ARP and NDP pass to the kernel untouched.
 */
struct baton_l2_iface {
	__u8 mac[6]; /* the interface's own address */
	__u8 pad[2];
};

/* Per-CPU counters, per service and per backend. */
struct baton_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/*
 * Why a packet got its verdict. One X-macro so the enum and the names used in logs and
 * metrics cannot drift apart. Every packet the program sees is counted under exactly
 * one reason.
 */
#define BATON_REASONS(X)                                                                       \
	X(PASS_NOT_IP, "pass_not_ip")		  /* not IPv4/IPv6 (ARP, LLDP, ...) */         \
	X(PASS_L2_UNSUPPORTED, "pass_l2")	  /* more than one VLAN tag */                 \
	X(PASS_NOT_VIP, "pass_not_vip")		  /* no flow, no frontend: the host's own */   \
	X(PASS_VIP_OTHER, "pass_vip_other")	  /* VIP address, port/proto not served */     \
	X(FWD_TX, "fwd_tx")			  /* forwarded back out the ingress port */    \
	X(FWD_REDIRECT, "fwd_redirect")		  /* forwarded out another port */             \
	X(TX_RST_NO_BACKEND, "tx_rst_no_backend") /* TCP to a service without backends: RST */ \
	X(TX_ARP_REPLY, "tx_arp_reply")		  /* ARP request for a VIP answered */         \
	X(TX_ND_ADVERT, "tx_nd_advert")		  /* neighbour solicitation for a VIP */       \
	X(DROP_TRUNCATED, "drop_truncated")	  /* header cut short or bad length */         \
	X(DROP_IP_OPTIONS, "drop_ip_options")	  /* IPv4 options towards a VIP */             \
	X(DROP_FRAGMENT, "drop_fragment")	  /* fragment towards a VIP */                 \
	X(DROP_IPV6_EXT, "drop_ipv6_ext")	  /* IPv6 extension header towards a VIP */    \
	X(DROP_NO_BACKEND, "drop_no_backend")	  /* service has no backend with weight */     \
	X(DROP_NO_FLOW, "drop_no_flow")		  /* TCP non-SYN for a VIP without a flow */   \
	X(DROP_NO_SNAT, "drop_no_snat")		  /* no SNAT address for the family */         \
	X(DROP_SNAT_EXHAUSTED, "drop_snat_busy")  /* no free SNAT port after probing */        \
	X(DROP_FLOW_INSERT, "drop_flow_insert")	  /* flow table update failed */               \
	X(DROP_FIB, "drop_fib")			  /* no route to the destination */            \
	X(DROP_NO_NEIGH, "drop_no_neigh")	  /* next hop unresolved: batond probes it */  \
	X(DROP_ICMP, "drop_icmp")		  /* ICMP error for a VIP, no matching flow */ \
	X(FWD_L7_LANE, "fwd_l7_lane")		  /* unbound L7 TCP sent into the lane */      \
	X(FWD_L7_OUT, "fwd_l7_out")		  /* a frame of baton-l7 routed out */         \
	X(DROP_NO_LANE, "drop_no_lane")		  /* L7 frontend but no lane configured */

#define BATON_REASON_ENUM(name, str) BATON_R_##name,
enum baton_reason {
	BATON_REASONS(BATON_REASON_ENUM) BATON_R_MAX
};
#undef BATON_REASON_ENUM

struct baton_reason_stats {
	__u64 packets;
	__u64 bytes;
};

/*
 * Ring buffer record: a next hop bpf_fib_lookup() found no neighbour entry for. The
 * packet is dropped (its sender retransmits); batond makes the kernel resolve the
 * neighbour so that the retransmission goes through.
 */
struct baton_neigh_req {
	__be32 addr[4]; /* be; the next hop (gateway or the destination itself) */
	__u32 ifindex;	/* where the next hop is */
	__u8 family;	/* BATON_FAMILY_* */
	__u8 pad[3];
};

/*
 * L7 routing table, written by batond, read by baton-l7: array map l7_routes of
 * 2 * BATON_MAX_L7_ROUTES entries, generation g in [g * MAX, g * MAX + n). batond fills
 * the standby generation, then writes l7_meta (gen, n, version) in one update;
 * baton-l7 rereads the table when version changes. A route matches a request for
 * (addr, port) whose Host equals host (or any Host when host is "") and whose path
 * starts with path; the longest matching path wins, an exact host before "".
 */
#define BATON_MAX_L7_ROUTES 4096
#define BATON_L7_HOST_MAX 128 /* bytes, NUL included */
#define BATON_L7_PATH_MAX 128

#define BATON_L7_R_REDIRECT_HTTPS (1u << 0) /* answer 301 to https://host/path */
#define BATON_L7_R_TLS (1u << 1)	    /* the frontend carries TLS: host is the SNI */
#define BATON_L7_R_XFF (1u << 2)	    /* http: insert X-Forwarded-For: <client> */
#define BATON_L7_R_STICKY (1u << 3) /* http: cookie mesosphere_server_id, else client address */

struct baton_l7_route {
	__be32 addr[4];	  /* be; the frontend */
	__be16 port;	  /* be */
	__u8 family;	  /* BATON_FAMILY_*; 0 = unused */
	__u8 flags;	  /* BATON_L7_R_* */
	__u32 service_id; /* its Maglev tables and counters */
	__be16 key_port;  /* be; its own frontend entry: (addr, key_port, BATON_PROTO_L7_ROUTE) */
	__u16 pad;
	char host[BATON_L7_HOST_MAX]; /* lower case, NUL-terminated; "" = any */
	char path[BATON_L7_PATH_MAX]; /* prefix, NUL-terminated; "" = any */
};

struct baton_l7_meta {
	__u32 abi_version;
	__u32 gen;	/* 0 or 1: the active half of l7_routes */
	__u32 n_routes; /* in the active half */
	__u32 pad;
	__u64 version; /* bumped on every publish */
};

/*
 * baton-l7's counters: array map l7_stats of one entry, written by baton-l7 (it owns
 * it; one writer), read by batond for /metrics. Totals; a restarted baton-l7 goes on from the
 * values it finds.
 */
#define BATON_L7_STATS(X)                                                                     \
	X(syn_cookies, "syn_cookies")	      /* SYN answered with a cookie SYN-ACK */        \
	X(cookie_fail, "cookie_failures")     /* ACK whose cookie did not validate */         \
	X(accepted, "connections_accepted")   /* valid cookie: connection state created */    \
	X(bound, "connections_bound")	      /* backend chosen and its leg established */    \
	X(offloaded, "connections_offloaded") /* spliced into the XDP flow table */           \
	X(resp_503, "responses_503")	      /* no service or no backend answered */         \
	X(resp_408, "responses_408")	      /* request head not complete in time */         \
	X(resp_431, "responses_431")	      /* request head too large */                    \
	X(resp_400, "responses_400")	      /* unparsable request */                        \
	X(resp_301, "responses_301")	      /* redirect to https */                         \
	X(backend_retries, "backend_retries") /* backend refused or silent: next one tried */ \
	X(client_resets, "client_resets")     /* client reset before the head was complete */ \
	X(rx_frames, "rx_frames")	      /* frames received from the lane */             \
	X(tx_frames, "tx_frames")	      /* frames sent into the lane */                 \
	X(tx_drops, "tx_drops")		      /* frames the lane did not take */              \
	X(table_full, "table_full")	      /* connection table full: SYN dropped */

#define BATON_L7_STAT_ENUM(name, str) BATON_L7S_##name,
enum baton_l7_stat {
	BATON_L7_STATS(BATON_L7_STAT_ENUM) BATON_L7S_MAX
};
#undef BATON_L7_STAT_ENUM

struct baton_l7_stats {
	__u64 v[BATON_L7S_MAX];
};

/* Map names (the kernel keeps 15 characters) and where batond pins them. */
#define BATON_PIN_DIR "baton" /* under the bpffs mount */

#ifndef __bpf__
/* User space only. */
static inline const char *baton_reason_name(unsigned int r)
{
#define BATON_REASON_STR(name, str) str,
	static const char *const names[] = { BATON_REASONS(BATON_REASON_STR) };
#undef BATON_REASON_STR
	return r < BATON_R_MAX ? names[r] : "unknown";
}

static inline const char *baton_l7_stat_name(unsigned int s)
{
#define BATON_L7_STAT_STR(name, str) str,
	static const char *const names[] = { BATON_L7_STATS(BATON_L7_STAT_STR) };
#undef BATON_L7_STAT_STR
	return s < BATON_L7S_MAX ? names[s] : "unknown";
}

_Static_assert(sizeof(struct baton_frontend_key) == 20, "frontend key layout");
_Static_assert(sizeof(struct baton_frontend) == 8, "frontend layout");
_Static_assert(sizeof(struct baton_backend) == 20, "backend layout");
_Static_assert(sizeof(struct baton_flow_key) == 40, "flow key layout");
_Static_assert(sizeof(struct baton_flow) == 96, "flow layout");
_Static_assert(sizeof(struct baton_config) == 88, "config layout");
_Static_assert(sizeof(struct baton_l7_route) == 284, "l7 route layout");
_Static_assert(sizeof(struct baton_l7_meta) == 24, "l7 meta layout");
_Static_assert(sizeof(struct baton_l2_iface) == 8, "l2 interface layout");
_Static_assert(sizeof(struct baton_stats) == 24, "stats layout");
_Static_assert(sizeof(struct baton_neigh_req) == 24, "neigh request layout");
#endif

#endif /* BATON_ABI_H */
