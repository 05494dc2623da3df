/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet (one VLAN tag), IPv4 without options, IPv6, TCP, UDP. */
#ifndef BATON_BPF_PARSE_H
#define BATON_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "baton_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/*
 * bpf_ntohs() for a length added to a packet pointer. The 6.1 verifier keeps no range
 * across a byte swap (BPF_END: the result is an unknown 64-bit scalar there), and
 * rejects "math between pkt pointer and register with unbounded min value". The mask,
 * which clang cannot drop behind the empty asm, gives the verifier back 0..0xffff.
 */
static __always_inline __u32 ntohs_bounded(__be16 v)
{
	__u32 h = bpf_ntohs(v);

	asm volatile("" : "+r"(h));
	return h & 0xffff;
}

/*
 * <linux/icmp.h> pulls in libc's <sys/socket.h>, which does not build for the BPF
 * target; the few ICMPv4 definitions needed are spelled out here instead.
 */
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 un;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* What parsing found out about a packet. */
struct pkt {
	void *data_end;
	__u32 len;    /* frame length, for byte counters */
	__u32 l4_len; /* bytes from the L4 header to the end of the IP packet */
	__u32 l3_off; /* 14, or 18 behind a VLAN tag */
	struct ethhdr *eth;
	struct iphdr *ip4; /* exactly one of ip4 / ip6 is set */
	struct ipv6hdr *ip6;
	void *l4;
	struct baton_flow_key key; /* 5-tuple as it arrived */
	__u8 tcp_flags; /* TCP: the flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
	/* A SYN reopening the tuple of a closed flow: that flow's SNAT port (0: none) and
	 * backend (handle_l4() -> new_flow()); in what was padding, so no stack grows. */
	__be16 reuse_port;
	__u32 reuse_bid;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Offset of the flags byte in struct tcphdr. */
#define TCP_FLAGS_OFF 13

/*
 * Parse TCP or UDP ports into p->key. Returns 0, or a BATON_R_DROP_* reason when the
 * header is cut short.
 */
static __always_inline int parse_l4_ports(struct pkt *p)
{
	void *end = p->data_end;

	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > end || th->doff < 5 || th->doff * 4 > p->l4_len ||
		    (void *)th + th->doff * 4 > end)
			return BATON_R_DROP_TRUNCATED;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[TCP_FLAGS_OFF];
	} else {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > end || p->l4_len < sizeof(*uh))
			return BATON_R_DROP_TRUNCATED;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
	}
	return 0;
}

/*
 * IPv4: returns 0 and fills p, or a reason. A reason of BATON_R_PASS_NOT_VIP means
 * the header is too short to even read the destination address.
 */
static __always_inline int parse_ipv4(struct pkt *p, void *l3)
{
	struct iphdr *iph = l3;
	void *end = p->data_end;

	if ((void *)(iph + 1) > end)
		return BATON_R_PASS_NOT_VIP;
	p->ip4 = iph;
	p->key.family = BATON_FAMILY_V4;
	p->key.saddr[0] = iph->saddr;
	p->key.daddr[0] = iph->daddr;
	p->key.proto = iph->protocol;

	if (iph->version != 4 || iph->ihl < 5)
		return BATON_R_DROP_TRUNCATED;
	if (iph->ihl != 5)
		return BATON_R_DROP_IP_OPTIONS;
	if (ntohs_bounded(iph->tot_len) < sizeof(*iph) || l3 + ntohs_bounded(iph->tot_len) > end)
		return BATON_R_DROP_TRUNCATED;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return BATON_R_DROP_FRAGMENT;
	p->l4 = iph + 1;
	p->l4_len = bpf_ntohs(iph->tot_len) - sizeof(*iph);
	return 0;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	switch (nh) {
	case 0:	  /* hop-by-hop */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253:
	case 254:
		return 1;
	}
	return 0;
}

static __always_inline int parse_ipv6(struct pkt *p, void *l3)
{
	struct ipv6hdr *ip6h = l3;
	void *end = p->data_end;

	if ((void *)(ip6h + 1) > end)
		return BATON_R_PASS_NOT_VIP;
	p->ip6 = ip6h;
	p->key.family = BATON_FAMILY_V6;
	__builtin_memcpy(p->key.saddr, &ip6h->saddr, 16);
	__builtin_memcpy(p->key.daddr, &ip6h->daddr, 16);
	p->key.proto = ip6h->nexthdr;

	if (ip6h->version != 6 || (void *)(ip6h + 1) + ntohs_bounded(ip6h->payload_len) > end)
		return BATON_R_DROP_TRUNCATED;
	if (ipv6_is_ext(ip6h->nexthdr))
		return BATON_R_DROP_IPV6_EXT;
	p->l4 = ip6h + 1;
	p->l4_len = bpf_ntohs(ip6h->payload_len);
	return 0;
}

#endif /* BATON_BPF_PARSE_H */
