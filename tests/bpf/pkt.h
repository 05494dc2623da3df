/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test packet builder and checksum verifier for the XDP tests.
 *
 * pkt_build() turns a declarative description (struct pkt_spec) into a frame with
 * every checksum computed from scratch. pkt_verify() parses a frame on its own
 * (it shares no code with the builder except the one's complement sum) and checks
 * every checksum it can see, so a packet the program rewrote incrementally is judged
 * against the wire rules, not against the builder.
 *
 * No I/O, no BPF: unit-tested without root by test_pkt.c.
 */
#ifndef BATON_TEST_PKT_H
#define BATON_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PKT_MAX 2048

#define PKT_ETH_P_8021Q 0x8100
#define PKT_ETH_P_8021AD 0x88a8

/* TCP flags (host order, as in the header's 13th byte). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct pkt_spec {
	/* L2. NULL MACs are all zero. */
	const uint8_t *dmac;
	const uint8_t *smac;
	int nvlan;	       /* 0, 1 or 2 tags */
	uint16_t vlan_tpid[2]; /* 0 = 802.1Q */
	uint16_t vlan_tci[2];
	uint16_t ethertype; /* 0 = from family; with family 0: raw payload follows */
	/* L3. */
	int family;	   /* 4, 6, or 0 for a non-IP frame (payload only) */
	const char *saddr; /* numeric address strings */
	const char *daddr;
	uint8_t ttl;	      /* 0 = 64 (IPv4 TTL, IPv6 hop limit) */
	uint8_t tos;	      /* IPv4 TOS / IPv6 traffic class */
	uint16_t ip_id;	      /* IPv4 */
	bool no_df;	      /* IPv4: DF is set unless this is true */
	bool mf;	      /* IPv4 more-fragments */
	uint16_t frag_offset; /* IPv4, in 8-byte units */
	int ip_opt_len;	      /* IPv4 options, bytes (multiple of 4), NOPs then EOL */
	int ihl_override;     /* IPv4: write this ihl instead of the real one (0 = none) */
	int tot_len_delta;    /* IPv4 tot_len / IPv6 payload_len += this (after csum) */
	uint32_t flow_label;  /* IPv6 */
	uint8_t v6_ext;	      /* IPv6: insert one 8-byte extension header of this type */
	bool v6_ext_set;      /* (v6_ext 0 = hop-by-hop is valid, hence the flag) */
	uint8_t proto;	      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, other = raw payload */
	/* L4. Ports are int so test tables can carry sentinels; built values are 16-bit. */
	int sport;
	int dport;
	uint8_t tcp_flags;
	uint32_t seq;
	uint32_t ack;
	uint16_t window;    /* 0 = 64240 */
	bool window_zero;   /* TCP: a window of 0 (as in an RST) */
	int doff_override;  /* TCP: write this data offset instead of 5 (0 = none) */
	bool udp_csum_zero; /* UDP: checksum field 0 (IPv4 "no checksum") */
	/* ICMP / ICMPv6. */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint32_t icmp_info;	      /* the 4 bytes after the checksum (host order): MTU, id/seq */
	const struct pkt_spec *quote; /* quoted packet: its L3 part is the ICMP payload */
	int quote_len;		      /* bytes of the quoted L3 packet; 0 = all of it */
	/* Payload of TCP/UDP/raw, bytes of a fixed pattern (or payload if set). */
	int payload_len;
	const uint8_t *payload;
	/* Frame post-processing. */
	int truncate; /* > 0: cut the frame to this many bytes */
	int pad_to;   /* > 0: pad the frame with zeros to this many bytes */
};

/* Build the frame described by s into buf. Returns its length, or -1 (errmsg set). */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);
const char *pkt_build_error(void);

/* Layer offsets of a frame as pkt_parse() found them. -1 = absent / cut. */
struct pkt_info {
	int nvlan;
	uint16_t ethertype; /* after the VLAN tags */
	int l3_off;
	int family;    /* 4, 6 or 0 */
	uint8_t proto; /* L4 protocol */
	int l4_off;
	int l3_end;	   /* end of the IP packet per its length field (may exceed len) */
	uint8_t saddr[16]; /* as on the wire; IPv4 in the first 4 bytes, the rest zero */
	uint8_t daddr[16];
	uint16_t sport, dport; /* host order, when the L4 header has them */
};

/* Parse Ethernet / VLAN / IPv4 / IPv6 / L4: offsets, addresses, ports. Never fails. */
void pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi);

/*
 * Verify every checksum in the frame from scratch: IPv4 header, TCP/UDP/ICMPv6 with
 * the pseudo-header, ICMP, and inside an ICMP error the quoted IPv4 header and the
 * quoted L4 checksum when the quoted segment is complete. Returns 0, or -1 with a
 * description in err.
 */
#define PKT_V_UDP0_OK (1u << 0) /* a UDP/IPv4 checksum of 0 is accepted */
int pkt_verify(const uint8_t *buf, size_t len, unsigned flags, char *err, size_t errlen);

/* One's complement helpers (RFC 1071). */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);

/* Hex dump of two frames side by side, marking differing bytes. */
void pkt_hexdiff(FILE *f, const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen);

#endif /* BATON_TEST_PKT_H */
