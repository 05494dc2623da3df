/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit check of the test packet builder and verifier (no root, no BPF).
 *
 * The expected frames were produced once by an independent implementation
 * (scapy 2.5.0, Debian python3-scapy), e.g.
 *   Ether(dst=V0, src=R)/IP(src="198.51.100.7", dst="192.0.2.10", id=0x1234,
 *   flags="DF")/TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240)
 * and pasted here as hex, so the builder's layouts and checksums are checked against
 * someone else's. The verifier must accept each of them and reject each of them with
 * one byte changed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

static const uint8_t mac_r[6] = { 0x02, 0, 0, 0, 0x01, 0xfe };
static const uint8_t mac_v0[6] = { 0x02, 0, 0, 0, 0x00, 0xa0 };

#define FROM_R .dmac = mac_v0, .smac = mac_r
#define TO_R .dmac = mac_r, .smac = mac_v0

#define VEC_A                                                                               \
	{                                                                                   \
		FROM_R, .family = 4, .saddr = "198.51.100.7", .daddr = "192.0.2.10",        \
			.ip_id = 0x1234, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, \
			.tcp_flags = TH_SYN, .seq = 1000,                                   \
	}
#define VEC_C                                                                                     \
	{                                                                                         \
		FROM_R, .family = 6, .saddr = "2001:db8:100::7", .daddr = "2001:db8::10",         \
			.proto = IPPROTO_TCP, .sport = 40001, .dport = 80,                        \
			.tcp_flags = TH_PSH | TH_ACK, .seq = 1001, .ack = 5001, .payload_len = 3, \
	}

static const struct pkt_spec vec_a = VEC_A;
static const struct pkt_spec vec_c = VEC_C;

struct vector {
	const char *name;
	struct pkt_spec spec;
	const char *hex;
	unsigned verify_flags;
};

static const struct vector vectors[] = {
	{ "IPv4 TCP SYN", VEC_A,
	  "0200000000a00200000001fe0800450000281234400040063c57c6336407c000020a9c400050000003e8000"
	  "000005002faf028340000",
	  0 },
	{ "IPv4 UDP, one VLAN tag",
	  { FROM_R, .nvlan = 1, .vlan_tci = { 100 }, .family = 4, .saddr = "198.51.100.7",
	    .daddr = "192.0.2.10", .ip_id = 7, .proto = IPPROTO_UDP, .sport = 5000, .dport = 53,
	    .payload_len = 5 },
	  "0200000000a00200000001fe810000640800450000210007400040114e80c6336407c000020a13880035000"
	  "d188ca0a1a2a3a4",
	  0 },
	{ "IPv6 TCP PSH|ACK with payload", VEC_C,
	  "0200000000a00200000001fe86dd600000000017064020010db80100000000000000000000072001"
	  "0db80000000000000000000000109c410050000003e9000013895018faf061aa0000a0a1a2",
	  0 },
	{ "IPv6 UDP",
	  { FROM_R, .family = 6, .saddr = "2001:db8:100::7", .daddr = "2001:db8::10",
	    .proto = IPPROTO_UDP, .sport = 5001, .dport = 53, .payload_len = 7 },
	  "0200000000a00200000001fe86dd60000000000f114020010db80100000000000000000000072001"
	  "0db800000000000000000000001013890035000f019ea0a1a2a3a4a5a6",
	  0 },
	{ "ICMP frag needed quoting an IPv4 TCP SYN",
	  { TO_R, .family = 4, .saddr = "10.0.0.20", .daddr = "10.0.0.3", .ip_id = 9,
	    .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 4, .icmp_info = 1400,
	    .quote = &vec_a },
	  "0200000001fe0200000000a0080045000044000940004001269a0a0000140a0000030304e3e30000057845"
	  "0000281234400040063c57c6336407c000020a9c400050000003e8000000005002faf028340000",
	  0 },
	{ "ICMPv6 packet too big quoting IPv6 TCP",
	  { TO_R, .family = 6, .saddr = "fd00::20", .daddr = "fd00::3", .proto = IPPROTO_ICMPV6,
	    .icmp_type = 2, .icmp_info = 1280, .quote = &vec_c },
	  "0200000001fe0200000000a086dd6000000000473a40fd000000000000000000000000000020fd000000"
	  "0000000000000000000000030200981f00000500600000000017064020010db80100000000000000"
	  "000000072001" /* quoted packet continues */
	  "0db80000000000000000000000109c410050000003e9000013895018faf061aa0000a0a1a2",
	  0 },
	{ "IPv4 with 4 bytes of options, UDP",
	  { FROM_R, .family = 4, .saddr = "198.51.100.7", .daddr = "192.0.2.10", .ip_id = 1,
	    .ip_opt_len = 4, .proto = IPPROTO_UDP, .sport = 5000, .dport = 53, .payload_len = 2 },
	  "0200000000a00200000001fe0800460000220001400040114b84c6336407c000020a0101010013880035000"
	  "a5f36a0a1",
	  0 },
	{ "UDP/IPv4 without checksum",
	  { FROM_R, .family = 4, .saddr = "198.51.100.7", .daddr = "192.0.2.10", .ip_id = 2,
	    .proto = IPPROTO_UDP, .sport = 5002, .dport = 53, .udp_csum_zero = true,
	    .payload_len = 4 },
	  "0200000000a00200000001fe0800450000200002400040114e86c6336407c000020a138a0035000c0000a0a"
	  "1a2a3",
	  PKT_V_UDP0_OK },
};

static int unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
	}
	return (int)n;
}

int main(void)
{
	/* RFC 1071 / the classic example header: checksum 0xb861. */
	static const uint8_t hdr[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
	};
	unsigned n = 0, failed = 0;
	uint16_t csum;
	size_t i;

	n++;
	csum = (uint16_t)~pkt_csum_fold(pkt_csum_add(0, hdr, sizeof(hdr)));
	if (csum != 0xb861) {
		printf("not ok %u - one's complement sum of the example IPv4 header\n", n);
		failed++;
	} else {
		printf("ok %u - one's complement sum of the example IPv4 header\n", n);
	}

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint8_t got[PKT_MAX], want[PKT_MAX], bad[PKT_MAX];
		char err[256];
		int glen = pkt_build(&v->spec, got, sizeof(got));
		int wlen = unhex(v->hex, want, sizeof(want));
		struct pkt_info pi;
		uint8_t sa[16], da[16];
		int j, caught = 0;

		n++;
		if (glen < 0 || glen != wlen || memcmp(got, want, (size_t)wlen)) {
			printf("not ok %u - build %s%s%s\n", n, v->name, glen < 0 ? ": " : "",
			       glen < 0 ? pkt_build_error() : "");
			if (glen >= 0)
				pkt_hexdiff(stdout, got, (size_t)glen, want, (size_t)wlen);
			failed++;
		} else {
			printf("ok %u - build %s\n", n, v->name);
		}

		n++;
		if (pkt_verify(want, (size_t)wlen, v->verify_flags, err, sizeof(err))) {
			printf("not ok %u - verify %s: %s\n", n, v->name, err);
			failed++;
		} else {
			printf("ok %u - verify %s\n", n, v->name);
		}

		/* The parser finds the addresses and ports the spec names. */
		pkt_parse(want, (size_t)wlen, &pi);
		memset(sa, 0, sizeof(sa));
		memset(da, 0, sizeof(da));
		inet_pton(v->spec.family == 4 ? AF_INET : AF_INET6, v->spec.saddr, sa);
		inet_pton(v->spec.family == 4 ? AF_INET : AF_INET6, v->spec.daddr, da);
		n++;
		if (pi.family != v->spec.family || memcmp(pi.saddr, sa, 16) ||
		    memcmp(pi.daddr, da, 16) ||
		    ((v->spec.proto == IPPROTO_TCP || v->spec.proto == IPPROTO_UDP) &&
		     (pi.sport != v->spec.sport || pi.dport != v->spec.dport))) {
			printf("not ok %u - parse %s\n", n, v->name);
			failed++;
		} else {
			printf("ok %u - parse %s\n", n, v->name);
		}

		/* A flipped bit in an address or a port (what NAT rewrites) must be caught
		 * (ports of a UDP datagram without checksum are covered by nothing). */
		for (j = pi.l3_off; j < wlen; j++) {
			bool addr = pi.family == 4 ? j >= pi.l3_off + 12 && j < pi.l3_off + 20
						   : j >= pi.l3_off + 8 && j < pi.l3_off + 40;
			bool port = pi.l4_off >= 0 && j >= pi.l4_off && j < pi.l4_off + 4 &&
				    !v->spec.udp_csum_zero;

			if (!addr && !port)
				continue;
			memcpy(bad, want, (size_t)wlen);
			bad[j] ^= 0x01;
			if (!pkt_verify(bad, (size_t)wlen, v->verify_flags, err, sizeof(err)))
				break;
			caught++;
		}
		n++;
		if (j < wlen) {
			printf("not ok %u - verify catches a flipped bit in %s: offset %d missed\n",
			       n, v->name, j);
			failed++;
		} else {
			printf("ok %u - verify catches a flipped bit in %s (%d offsets)\n", n,
			       v->name, caught);
		}
	}
	printf("1..%u\n", n);
	return failed ? 1 : 0;
}
