// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stddef.h>
#include <string.h>

#include "l7_cookie.h"

const uint16_t l7_cookie_mss[4] = { 536, 1220, 1440, 1460 };

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 (Aumasson, Bernstein), little-endian words as in the reference. */
uint64_t l7_siphash(const struct l7_cookie_key *k, const void *data, size_t len)
{
	const unsigned char *in = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ k->k0, v1 = 0x646f72616e646f6dull ^ k->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k->k0, v3 = 0x7465646279746573ull ^ k->k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

unsigned int l7_cookie_mss_index(uint16_t client_mss)
{
	unsigned int i = 3;

	while (i > 0 && l7_cookie_mss[i] > client_mss)
		i--;
	return i;
}

static uint32_t mac(const struct l7_cookie_key *k, const struct l7_tuple *t, uint32_t isn,
		    uint32_t meta)
{
	unsigned char buf[48];

	memcpy(buf, t->saddr, 16);
	memcpy(buf + 16, t->daddr, 16);
	memcpy(buf + 32, &t->sport, 2);
	memcpy(buf + 34, &t->dport, 2);
	memcpy(buf + 36, &isn, 4);
	memcpy(buf + 40, &meta, 4);
	buf[44] = t->family;
	buf[45] = buf[46] = buf[47] = 0;
	return (uint32_t)l7_siphash(k, buf, sizeof(buf)) & 0x1fffff;
}

uint32_t l7_cookie_make(const struct l7_cookie_key *k, const struct l7_tuple *t,
			uint32_t client_isn, uint32_t now_s, unsigned int mss_idx,
			unsigned int wscale)
{
	uint32_t meta = ((now_s >> L7_COOKIE_TICK_SHIFT) & 31) << 27 | (mss_idx & 3) << 25 |
			(wscale & 15) << 21;

	return meta | mac(k, t, client_isn, meta);
}

int l7_cookie_check(const struct l7_cookie_key *k, const struct l7_tuple *t, uint32_t client_isn,
		    uint32_t cookie, uint32_t now_s, unsigned int *mss_idx, unsigned int *wscale)
{
	uint32_t meta = cookie & ~0x1fffffu;
	uint32_t age = ((now_s >> L7_COOKIE_TICK_SHIFT) - (cookie >> 27)) & 31;

	if (age > 1 || mac(k, t, client_isn, meta) != (cookie & 0x1fffff))
		return -1;
	*mss_idx = (cookie >> 25) & 3;
	*wscale = (cookie >> 21) & 15;
	if (*wscale != L7_COOKIE_NO_WSCALE && *wscale > 14)
		return -1;
	return 0;
}
