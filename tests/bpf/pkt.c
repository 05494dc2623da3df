/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder and independent checksum verifier (see pkt.h).
 *
 * The builder lays every header out byte by byte (no struct iphdr & co.), so the
 * layouts here do not silently agree with the program's because both included the
 * same kernel header.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

static char build_err[256];

const char *pkt_build_error(void)
{
	return build_err;
}

static int build_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(build_err, sizeof(build_err), fmt, ap);
	va_end(ap);
	return -1;
}

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	/* Keep the accumulator from overflowing on long inputs. */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Pseudo-header sum: addresses, upper-layer length and protocol (RFC 793 / 8200). */
static uint32_t pseudo_sum(int family, const uint8_t *saddr, const uint8_t *daddr, uint32_t len,
			   uint8_t proto)
{
	size_t alen = family == 4 ? 4 : 16;
	uint32_t sum = 0;
	uint8_t tail[8];

	sum = pkt_csum_add(sum, saddr, alen);
	sum = pkt_csum_add(sum, daddr, alen);
	if (family == 4) {
		tail[0] = 0;
		tail[1] = proto;
		put16(tail + 2, (uint16_t)len);
		return pkt_csum_add(sum, tail, 4);
	}
	put32(tail, len);
	tail[4] = tail[5] = tail[6] = 0;
	tail[7] = proto;
	return pkt_csum_add(sum, tail, 8);
}

static int parse_addr(int family, const char *s, uint8_t *out)
{
	if (s == NULL)
		return build_fail("missing address");
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1)
		return build_fail("bad IPv%d address '%s'", family, s);
	return 0;
}

static void fill_payload(const struct pkt_spec *s, uint8_t *p)
{
	int i;

	for (i = 0; i < s->payload_len; i++)
		p[i] = s->payload ? s->payload[i] : (uint8_t)(0xa0 + i);
}

static int build_frame(const struct pkt_spec *s, uint8_t *f, size_t cap, size_t *l3_off);

/* The L4 part (without its checksum) into p; returns its length or -1. */
static int build_l4(const struct pkt_spec *s, uint8_t *p, size_t cap)
{
	size_t n;

	if (s->payload_len < 0 || (size_t)s->payload_len + 64 > cap)
		return build_fail("payload too long");
	switch (s->proto) {
	case IPPROTO_TCP_:
		memset(p, 0, 20);
		put16(p, (uint16_t)s->sport);
		put16(p + 2, (uint16_t)s->dport);
		put32(p + 4, s->seq);
		put32(p + 8, s->ack);
		p[12] = (uint8_t)((s->doff_override ? s->doff_override : 5) << 4);
		p[13] = s->tcp_flags;
		put16(p + 14, s->window_zero ? 0 : s->window ? s->window : 64240);
		fill_payload(s, p + 20);
		return 20 + s->payload_len;
	case IPPROTO_UDP_:
		memset(p, 0, 8);
		put16(p, (uint16_t)s->sport);
		put16(p + 2, (uint16_t)s->dport);
		put16(p + 4, (uint16_t)(8 + s->payload_len));
		fill_payload(s, p + 8);
		return 8 + s->payload_len;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		memset(p, 0, 8);
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		put32(p + 4, s->icmp_info);
		n = 8;
		if (s->quote != NULL) {
			uint8_t q[PKT_MAX];
			size_t q_l3;
			int qlen = build_frame(s->quote, q, sizeof(q), &q_l3);

			if (qlen < 0)
				return -1;
			qlen -= (int)q_l3;
			if (s->quote_len > 0 && s->quote_len < qlen)
				qlen = s->quote_len;
			if (n + (size_t)qlen > cap)
				return build_fail("quote too long");
			memcpy(p + n, q + q_l3, (size_t)qlen);
			n += (size_t)qlen;
		} else {
			fill_payload(s, p + n);
			n += (size_t)s->payload_len;
		}
		return (int)n;
	default:
		fill_payload(s, p);
		return s->payload_len;
	}
}

static void set_l4_csum(const struct pkt_spec *s, int family, const uint8_t *sa, const uint8_t *da,
			uint8_t *l4, size_t len)
{
	uint32_t sum;
	uint16_t c;

	switch (s->proto) {
	case IPPROTO_TCP_:
		sum = pseudo_sum(family, sa, da, (uint32_t)len, s->proto);
		put16(l4 + 16, (uint16_t)~pkt_csum_fold(pkt_csum_add(sum, l4, len)));
		break;
	case IPPROTO_UDP_:
		if (s->udp_csum_zero)
			break;
		sum = pseudo_sum(family, sa, da, (uint32_t)len, s->proto);
		c = (uint16_t)~pkt_csum_fold(pkt_csum_add(sum, l4, len));
		put16(l4 + 6, c == 0 ? 0xffff : c); /* RFC 768: 0 is sent as all ones */
		break;
	case IPPROTO_ICMP_:
		if (family != 4)
			break;
		put16(l4 + 2, (uint16_t)~pkt_csum_fold(pkt_csum_add(0, l4, len)));
		break;
	case IPPROTO_ICMPV6_:
		if (family != 6)
			break;
		sum = pseudo_sum(family, sa, da, (uint32_t)len, s->proto);
		put16(l4 + 2, (uint16_t)~pkt_csum_fold(pkt_csum_add(sum, l4, len)));
		break;
	}
}

static int build_frame(const struct pkt_spec *s, uint8_t *f, size_t cap, size_t *l3_off)
{
	static const uint8_t zero_mac[6];
	uint8_t sa[16], da[16], l4[PKT_MAX];
	size_t n = 0, hl;
	uint16_t et;
	int i, l4len;

	if (cap < 64 || s->nvlan < 0 || s->nvlan > 2)
		return build_fail("bad frame parameters");
	memcpy(f, s->dmac ? s->dmac : zero_mac, 6);
	memcpy(f + 6, s->smac ? s->smac : zero_mac, 6);
	n = 12;
	for (i = 0; i < s->nvlan; i++) {
		put16(f + n, s->vlan_tpid[i] ? s->vlan_tpid[i] : PKT_ETH_P_8021Q);
		put16(f + n + 2, s->vlan_tci[i]);
		n += 4;
	}
	et = s->ethertype;
	if (et == 0)
		et = s->family == 4 ? 0x0800 : s->family == 6 ? 0x86dd : 0x88b5;
	put16(f + n, et);
	n += 2;
	*l3_off = n;

	if (s->family == 0) {
		if (n + (size_t)s->payload_len > cap)
			return build_fail("payload too long");
		fill_payload(s, f + n);
		return (int)(n + (size_t)s->payload_len);
	}
	if (parse_addr(s->family, s->saddr, sa) || parse_addr(s->family, s->daddr, da))
		return -1;
	l4len = build_l4(s, l4, sizeof(l4));
	if (l4len < 0)
		return -1;
	set_l4_csum(s, s->family, sa, da, l4, (size_t)l4len);

	if (s->family == 4) {
		uint8_t *ip = f + n;
		uint16_t frag;

		if (s->ip_opt_len < 0 || s->ip_opt_len % 4 || s->ip_opt_len > 40)
			return build_fail("bad IPv4 option length");
		hl = 20 + (size_t)s->ip_opt_len;
		if (n + hl + (size_t)l4len > cap)
			return build_fail("frame too long");
		memset(ip, 0, hl);
		ip[0] = (uint8_t)(0x40 | (s->ihl_override ? s->ihl_override : (int)hl / 4));
		ip[1] = s->tos;
		put16(ip + 2, (uint16_t)(hl + (size_t)l4len + s->tot_len_delta));
		put16(ip + 4, s->ip_id);
		frag = (uint16_t)((s->no_df ? 0 : 0x4000) | (s->mf ? 0x2000 : 0) |
				  (s->frag_offset & 0x1fff));
		put16(ip + 6, frag);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, sa, 4);
		memcpy(ip + 16, da, 4);
		for (i = 0; i < s->ip_opt_len; i++)
			ip[20 + i] = i == s->ip_opt_len - 1 ? 0 /* EOL */ : 1 /* NOP */;
		put16(ip + 10, (uint16_t)~pkt_csum_fold(pkt_csum_add(0, ip, hl)));
	} else if (s->family == 6) {
		uint8_t *ip = f + n;
		size_t ext = s->v6_ext_set ? 8 : 0;

		hl = 40 + ext;
		if (n + hl + (size_t)l4len > cap)
			return build_fail("frame too long");
		memset(ip, 0, hl);
		put32(ip, 6u << 28 | (uint32_t)s->tos << 20 | (s->flow_label & 0xfffff));
		put16(ip + 4, (uint16_t)(ext + (size_t)l4len + s->tot_len_delta));
		ip[6] = s->v6_ext_set ? s->v6_ext : s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, sa, 16);
		memcpy(ip + 24, da, 16);
		if (ext) {
			ip[40] = s->proto; /* next header */
			ip[41] = 0;	   /* length: 8 bytes */
			ip[42] = 1;	   /* PadN option covering the rest */
			ip[43] = 4;
		}
	} else {
		return build_fail("bad family %d", s->family);
	}
	memcpy(f + n + hl, l4, (size_t)l4len);
	return (int)(n + hl + (size_t)l4len);
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	size_t l3;
	int n;

	build_err[0] = '\0';
	n = build_frame(s, buf, cap, &l3);
	if (n < 0)
		return -1;
	if (s->pad_to > n) {
		if ((size_t)s->pad_to > cap)
			return build_fail("pad_to too long");
		memset(buf + n, 0, (size_t)(s->pad_to - n));
		n = s->pad_to;
	}
	if (s->truncate > 0 && s->truncate < n)
		n = s->truncate;
	return n;
}

/* ---- Independent parser and verifier ---- */

void pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi)
{
	size_t off = 12;
	uint16_t et;

	memset(pi, 0, sizeof(*pi));
	pi->l3_off = pi->l4_off = pi->l3_end = -1;
	if (len < 14)
		return;
	et = get16(buf + off);
	while ((et == PKT_ETH_P_8021Q || et == PKT_ETH_P_8021AD) && off + 6 <= len) {
		pi->nvlan++;
		off += 4;
		et = get16(buf + off);
	}
	pi->ethertype = et;
	off += 2;
	if (off > len)
		return;
	pi->l3_off = (int)off;
	if (et == 0x0800 && len >= off + 20 && (buf[off] >> 4) == 4) {
		size_t ihl = (size_t)(buf[off] & 0xf) * 4;

		pi->family = 4;
		pi->proto = buf[off + 9];
		memcpy(pi->saddr, buf + off + 12, 4);
		memcpy(pi->daddr, buf + off + 16, 4);
		pi->l3_end = (int)(off + get16(buf + off + 2));
		if (ihl >= 20 && len >= off + ihl)
			pi->l4_off = (int)(off + ihl);
	} else if (et == 0x86dd && len >= off + 40 && (buf[off] >> 4) == 6) {
		pi->family = 6;
		pi->proto = buf[off + 6];
		memcpy(pi->saddr, buf + off + 8, 16);
		memcpy(pi->daddr, buf + off + 24, 16);
		pi->l3_end = (int)(off + 40 + get16(buf + off + 4));
		pi->l4_off = (int)(off + 40);
	}
	if (pi->l4_off >= 0 && (pi->proto == IPPROTO_TCP_ || pi->proto == IPPROTO_UDP_) &&
	    len >= (size_t)pi->l4_off + 4) {
		pi->sport = get16(buf + pi->l4_off);
		pi->dport = get16(buf + pi->l4_off + 2);
	}
}

static int vfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Check one checksum: the receiver's rule (the sum over everything, the stored
 * checksum included, folds to all ones), and on failure also compute what the field
 * should hold, for the message.
 */
static int check_sum(uint32_t pseudo, const uint8_t *p, size_t len, size_t field, const char *what,
		     char *err, size_t errlen)
{
	uint8_t tmp[PKT_MAX];
	uint16_t stored, want;

	if (pkt_csum_fold(pkt_csum_add(pseudo, p, len)) == 0xffff)
		return 0;
	if (len > sizeof(tmp))
		return vfail(err, errlen, "%s checksum wrong (segment too long to recompute)",
			     what);
	memcpy(tmp, p, len);
	tmp[field] = tmp[field + 1] = 0;
	stored = get16(p + field);
	want = (uint16_t)~pkt_csum_fold(pkt_csum_add(pseudo, tmp, len));
	return vfail(err, errlen, "%s checksum is 0x%04x, computed from scratch 0x%04x", what,
		     stored, want);
}

static int check_l4(int family, const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t l4len,
		    unsigned flags, const char *where, char *err, size_t errlen);

/* The quoted packet of an ICMP error: its IPv4 header, and its L4 checksum if whole. */
static int check_quote(int outer_family, const uint8_t *q, size_t qlen, unsigned flags, char *err,
		       size_t errlen)
{
	char what[64];

	if (outer_family == 4) {
		size_t ihl, tot;

		if (qlen < 20 || (q[0] >> 4) != 4)
			return vfail(err, errlen, "ICMP quote: no IPv4 header");
		ihl = (size_t)(q[0] & 0xf) * 4;
		if (ihl < 20 || ihl > qlen)
			return vfail(err, errlen, "ICMP quote: bad ihl");
		snprintf(what, sizeof(what), "quoted IPv4 header");
		if (check_sum(0, q, ihl, 10, what, err, errlen))
			return -1;
		tot = get16(q + 2);
		if (tot > qlen || tot < ihl || (get16(q + 6) & 0x3fff))
			return 0; /* L4 not quoted whole: its checksum cannot be checked */
		return check_l4(4, q, q[9], q + ihl, tot - ihl, flags | PKT_V_UDP0_OK, "quoted ",
				err, errlen);
	}
	if (qlen < 40 || (q[0] >> 4) != 6)
		return vfail(err, errlen, "ICMPv6 quote: no IPv6 header");
	if ((size_t)get16(q + 4) + 40 > qlen)
		return 0;
	return check_l4(6, q, q[6], q + 40, get16(q + 4), flags, "quoted ", err, errlen);
}

static int check_l4(int family, const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t l4len,
		    unsigned flags, const char *where, char *err, size_t errlen)
{
	const uint8_t *sa = family == 4 ? ip + 12 : ip + 8;
	const uint8_t *da = family == 4 ? ip + 16 : ip + 24;
	uint32_t pseudo = pseudo_sum(family, sa, da, (uint32_t)l4len, proto);
	char what[64];

	switch (proto) {
	case IPPROTO_TCP_:
		if (l4len < 20)
			return vfail(err, errlen, "%sTCP segment shorter than its header", where);
		snprintf(what, sizeof(what), "%sTCP", where);
		return check_sum(pseudo, l4, l4len, 16, what, err, errlen);
	case IPPROTO_UDP_:
		if (l4len < 8)
			return vfail(err, errlen, "%sUDP datagram shorter than its header", where);
		if (get16(l4 + 4) != l4len)
			return vfail(err, errlen, "%sUDP length %u, IP says %zu", where,
				     get16(l4 + 4), l4len);
		if (get16(l4 + 6) == 0) {
			if (family == 4 && (flags & PKT_V_UDP0_OK))
				return 0;
			return vfail(err, errlen, "%sUDP checksum 0 not allowed here", where);
		}
		snprintf(what, sizeof(what), "%sUDP", where);
		return check_sum(pseudo, l4, l4len, 6, what, err, errlen);
	case IPPROTO_ICMP_:
		if (family != 4 || l4len < 8)
			return vfail(err, errlen, "%sbad ICMP", where);
		snprintf(what, sizeof(what), "%sICMP", where);
		if (check_sum(0, l4, l4len, 2, what, err, errlen))
			return -1;
		if (*where == '\0' && (l4[0] == 3 || l4[0] == 11 || l4[0] == 12))
			return check_quote(4, l4 + 8, l4len - 8, flags, err, errlen);
		return 0;
	case IPPROTO_ICMPV6_:
		if (family != 6 || l4len < 8)
			return vfail(err, errlen, "%sbad ICMPv6", where);
		snprintf(what, sizeof(what), "%sICMPv6", where);
		if (check_sum(pseudo, l4, l4len, 2, what, err, errlen))
			return -1;
		if (*where == '\0' && l4[0] >= 1 && l4[0] <= 4)
			return check_quote(6, l4 + 8, l4len - 8, flags, err, errlen);
		return 0;
	default:
		return 0;
	}
}

int pkt_verify(const uint8_t *buf, size_t len, unsigned flags, char *err, size_t errlen)
{
	struct pkt_info pi;
	const uint8_t *ip;

	err[0] = '\0';
	pkt_parse(buf, len, &pi);
	if (pi.family == 0)
		return 0; /* nothing with a checksum */
	ip = buf + pi.l3_off;
	if (pi.l3_end > (int)len)
		return vfail(err, errlen, "IP length field %d beyond frame of %zu bytes",
			     pi.l3_end - pi.l3_off, len);
	if (pi.family == 4) {
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;

		if (ihl < 20 || pi.l4_off < 0)
			return vfail(err, errlen, "bad IPv4 ihl");
		if (check_sum(0, ip, ihl, 10, "IPv4 header", err, errlen))
			return -1;
		if (get16(ip + 6) & 0x3fff)
			return 0; /* fragment: no whole L4 segment */
	}
	if (pi.l4_off > pi.l3_end)
		return vfail(err, errlen, "IP length shorter than its header");
	return check_l4(pi.family, ip, pi.proto, buf + pi.l4_off, (size_t)(pi.l3_end - pi.l4_off),
			flags, "", err, errlen);
}

void pkt_hexdiff(FILE *f, const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
	size_t max = glen > wlen ? glen : wlen, off, i;

	fprintf(f, "#   got %zu bytes, want %zu bytes; differing bytes marked ^\n", glen, wlen);
	for (off = 0; off < max; off += 16) {
		char g[64], w[64], m[64];
		size_t gp = 0, wp = 0, mp = 0;

		for (i = off; i < off + 16 && i < max; i++) {
			bool gin = i < glen, win = i < wlen;
			bool diff = gin != win || (gin && got[i] != want[i]);

			gp += (size_t)(gin ? snprintf(g + gp, 4, "%02x ", got[i])
					   : snprintf(g + gp, 4, "-- "));
			wp += (size_t)(win ? snprintf(w + wp, 4, "%02x ", want[i])
					   : snprintf(w + wp, 4, "-- "));
			mp += (size_t)snprintf(m + mp, 4, "%s", diff ? "^^ " : "   ");
		}
		fprintf(f, "#   %04zx got  %s\n", off, g);
		fprintf(f, "#        want %s\n", w);
		if (strchr(m, '^'))
			fprintf(f, "#             %s\n", m);
	}
}
