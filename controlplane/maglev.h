/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI'16): fills a lookup table
 * of M slots (M prime) with backend ids so that each backend owns a share of slots
 * proportional to its weight, and a change of one backend moves few slots.
 *
 * Pure: no I/O, no global state. The table depends only on the set of (key, id,
 * weight) triples, never on the order of the input array or on the machine, so every
 * batond node fed the same backends builds the same table.
 */
#ifndef BATON_MAGLEV_H
#define BATON_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct maglev_backend {
	__u64 offset_hash; /* from the key: where the backend's permutation starts */
	__u64 skip_hash;   /* from the key: the permutation's stride */
	__u32 id;	   /* value written into the table */
	__u32 weight;	   /* 0 = owns no slot */
};

/*
 * key: bytes that identify the backend across nodes and restarts (e.g. family byte,
 * 16 address bytes, 2 port bytes). The permutation depends on the key only.
 */
void maglev_backend_init(struct maglev_backend *b, const void *key, size_t key_len, __u32 id,
			 __u32 weight);

/*
 * Fills table[0..m-1] with backend ids. Backends with weight 0 get no slot.
 * Returns 0; -EINVAL if m is not a prime in [BATON_MAGLEV_MIN, BATON_MAGLEV_MAX], if
 * n > m, or on a NULL pointer; -ENOENT if no backend has weight > 0; -ENOMEM.
 * The table is written only on success.
 */
int maglev_build(const struct maglev_backend *b, size_t n, __u32 m, __u32 *table);

bool maglev_is_prime(__u32 m);

/*
 * The 64-bit hash used for the permutations: FNV-1a over the seed and key bytes, then
 * the murmur3 fmix64 finaliser. Exposed for tests and for anyone who needs the same
 * stable hash.
 */
__u64 maglev_hash64(const void *key, size_t key_len, __u64 seed);

#endif /* BATON_MAGLEV_H */
