/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624) without helper calls.
 *
 * A change is accumulated as a 32-bit one's complement sum d = sum(~old) + sum(new)
 * over the words that changed, then applied to each checksum that covers them:
 * new = ~fold(~old + d). Words are taken as they sit in memory, so network-order data
 * and a network-order checksum need no byte swapping.
 */
#ifndef BATON_BPF_CSUM_H
#define BATON_BPF_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u32 csum_add(__u32 acc, __u32 v)
{
	acc += v;
	return acc + (acc < v);
}

/* Account for one 32-bit word changing from old to new. */
static __always_inline __u32 csum_acc32(__u32 acc, __u32 old, __u32 new)
{
	return csum_add(csum_add(acc, ~old), new);
}

/* Account for one 16-bit word changing from old to new. */
static __always_inline __u32 csum_acc16(__u32 acc, __u16 old, __u16 new)
{
	return csum_add(csum_add(acc, (__u16)~old), new);
}

/* Account for a 16-byte (IPv6) or 4-byte address changing. */
static __always_inline __u32 csum_acc_addr(__u32 acc, const __be32 *old, const __be32 *new,
					   int words)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i < words)
			acc = csum_acc32(acc, old[i], new[i]);
	}
	return acc;
}

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* Apply an accumulated change to a checksum field. */
static __always_inline void csum_apply(__sum16 *field, __u32 d)
{
	*field = (__sum16)~csum_fold(csum_add((__u16) ~*field, d));
}

/* UDP: 0 means "no checksum" (IPv4); a computed 0 is sent as 0xffff. */
static __always_inline void csum_apply_udp(__sum16 *field, __u32 d)
{
	if (*field == 0)
		return;
	csum_apply(field, d);
	if (*field == 0)
		*field = (__sum16)0xffff;
}

#endif /* BATON_BPF_CSUM_H */
