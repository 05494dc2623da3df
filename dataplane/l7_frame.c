// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "l7_frame.h"

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int l7_seg_parse(const uint8_t *f, uint32_t len, struct l7_seg *s)
{
	uint32_t off = 14, l4len, doff;
	uint16_t et;
	const uint8_t *th, *o;

	memset(s, 0, sizeof(*s));
	s->wscale = -1;
	if (len < 14)
		return -1;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x8100 && len >= 18) {
		et = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (et == 0x0800) {
		uint32_t ihl, tot;

		if (len < off + 20 || (f[off] >> 4) != 4)
			return -1;
		ihl = (f[off] & 15) * 4u;
		tot = (uint32_t)(f[off + 2] << 8 | f[off + 3]);
		if (ihl < 20 || tot < ihl || off + tot > len || f[off + 9] != IPPROTO_TCP ||
		    (f[off + 6] & 0x3f) || f[off + 7])
			return -1; /* fragments are not ours */
		s->family = BATON_FAMILY_V4;
		memcpy(s->saddr, f + off + 12, 4);
		memcpy(s->daddr, f + off + 16, 4);
		th = f + off + ihl;
		l4len = tot - ihl;
	} else if (et == 0x86dd) {
		uint32_t plen;

		if (len < off + 40 || f[off + 6] != IPPROTO_TCP)
			return -1;
		plen = (uint32_t)(f[off + 4] << 8 | f[off + 5]);
		if (off + 40 + plen > len)
			return -1;
		s->family = BATON_FAMILY_V6;
		memcpy(s->saddr, f + off + 8, 16);
		memcpy(s->daddr, f + off + 24, 16);
		th = f + off + 40;
		l4len = plen;
	} else {
		return -1;
	}
	if (l4len < 20)
		return -1;
	doff = (th[12] >> 4) * 4u;
	if (doff < 20 || doff > l4len)
		return -1;
	memcpy(&s->sport, th, 2);
	memcpy(&s->dport, th + 2, 2);
	s->seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
	s->ack = (uint32_t)th[8] << 24 | (uint32_t)th[9] << 16 | (uint32_t)th[10] << 8 | th[11];
	s->flags = th[13];
	s->win = (uint16_t)(th[14] << 8 | th[15]);
	for (o = th + 20; o < th + doff;) {
		if (o[0] == 0)
			break;
		if (o[0] == 1) {
			o++;
			continue;
		}
		if (o + 2 > th + doff || o[1] < 2 || o + o[1] > th + doff)
			break;
		if (o[0] == 2 && o[1] == 4)
			s->mss = (uint16_t)(o[2] << 8 | o[3]);
		else if (o[0] == 3 && o[1] == 3)
			s->wscale = (int8_t)(o[2] > 14 ? 14 : o[2]);
		o += o[1];
	}
	s->payload = th + doff;
	s->plen = l4len - doff;
	return 0;
}

uint32_t l7_seg_build(uint8_t *buf, uint32_t cap, const struct l7_seg *s)
{
	uint32_t ipl = s->family == BATON_FAMILY_V4 ? 20 : 40, optl = 0, tl, len, sum;
	uint8_t *ip = buf + 14, *th = buf + 14 + ipl;

	optl = (s->mss ? 4 : 0) + (s->wscale >= 0 ? 4 : 0);
	tl = 20 + optl + s->plen;
	len = 14 + ipl + tl;
	if (len > cap)
		return 0;
	/* MACs: placeholders, the XDP program on the lane sets the next hop's. */
	memset(buf, 0, 12);
	buf[0] = 0x02;
	buf[6] = 0x02;
	buf[12] = s->family == BATON_FAMILY_V4 ? 0x08 : 0x86;
	buf[13] = s->family == BATON_FAMILY_V4 ? 0x00 : 0xdd;
	if (s->family == BATON_FAMILY_V4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + tl) >> 8);
		ip[3] = (uint8_t)(20 + tl);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, s->saddr, 4);
		memcpy(ip + 16, s->daddr, 4);
		sum = fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(sum >> 8);
		ip[11] = (uint8_t)sum;
		sum = sum16(ip + 12, 8, 0);
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[4] = (uint8_t)(tl >> 8);
		ip[5] = (uint8_t)tl;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, s->saddr, 16);
		memcpy(ip + 24, s->daddr, 16);
		sum = sum16(ip + 8, 32, 0);
	}
	sum += IPPROTO_TCP + tl;
	memcpy(th, &s->sport, 2);
	memcpy(th + 2, &s->dport, 2);
	for (int i = 0; i < 4; i++) {
		th[4 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
		th[8 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
	}
	th[12] = (uint8_t)(((20 + optl) / 4) << 4);
	th[13] = s->flags;
	th[14] = (uint8_t)(s->win >> 8);
	th[15] = (uint8_t)s->win;
	th[16] = th[17] = th[18] = th[19] = 0;
	optl = 20;
	if (s->mss) {
		th[optl] = 2;
		th[optl + 1] = 4;
		th[optl + 2] = (uint8_t)(s->mss >> 8);
		th[optl + 3] = (uint8_t)s->mss;
		optl += 4;
	}
	if (s->wscale >= 0) {
		th[optl] = 1; /* NOP */
		th[optl + 1] = 3;
		th[optl + 2] = 3;
		th[optl + 3] = (uint8_t)s->wscale;
		optl += 4;
	}
	if (s->plen)
		memcpy(th + optl, s->payload, s->plen);
	sum = fold(sum16(th, tl, sum));
	th[16] = (uint8_t)(sum >> 8);
	th[17] = (uint8_t)sum;
	return len;
}
