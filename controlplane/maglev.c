// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Weighted Maglev. Each backend walks its own permutation of the slots
 * (offset + j * skip mod M, M prime so every stride visits every slot) and takes the
 * next free slot when its turn comes. Turns are handed out by weight: a backend's k-th
 * slot is due at virtual time (k - 1) / weight, earliest first, ties to the backend that
 * sorts first. With equal weights this is the paper's round robin; with unequal ones it
 * is the same credit idea as Katran's MaglevV2, but driven by a heap so the cost is
 * O(M log N) whatever the weight spread, instead of one pass over all N backends per
 * credit round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "baton_abi.h"
#include "maglev.h"

/* Arbitrary fixed seeds ("maglev-o", "maglev-s"): the two hashes must be independent. */
#define MAGLEV_OFFSET_SEED 0x6d61676c65762d6full
#define MAGLEV_SKIP_SEED 0x6d61676c65762d73ull

#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

/*
 * A local hash because the table must come out the same on every node, after every
 * restart and upgrade: no seed from the process, no dependence on byte order (bytes are
 * fed one at a time), and no library whose hash could change under us. FNV-1a alone
 * mixes the last bytes poorly, so murmur3's fmix64 finishes it.
 */
__u64 maglev_hash64(const void *key, size_t key_len, __u64 seed)
{
	const unsigned char *p = key;
	__u64 h = FNV64_BASIS;
	size_t i;

	for (i = 0; i < 8; i++) {
		h ^= (seed >> (8 * i)) & 0xff;
		h *= FNV64_PRIME;
	}
	for (i = 0; i < key_len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

void maglev_backend_init(struct maglev_backend *b, const void *key, size_t key_len, __u32 id,
			 __u32 weight)
{
	b->offset_hash = maglev_hash64(key, key_len, MAGLEV_OFFSET_SEED);
	b->skip_hash = maglev_hash64(key, key_len, MAGLEV_SKIP_SEED);
	b->id = id;
	b->weight = weight;
}

bool maglev_is_prime(__u32 m)
{
	__u64 d;

	if (m < 2)
		return false;
	if (m % 2 == 0)
		return m == 2;
	for (d = 3; d * d <= m; d += 2)
		if (m % d == 0)
			return false;
	return true;
}

/* Sort order that makes the table independent of the input order. */
static int backend_cmp(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;

	if (a->offset_hash != b->offset_hash)
		return a->offset_hash < b->offset_hash ? -1 : 1;
	if (a->skip_hash != b->skip_hash)
		return a->skip_hash < b->skip_hash ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
	return 0;
}

/* Where a backend is in its permutation. */
struct walk {
	__u32 pos; /* next slot to try */
	__u32 skip;
	__u32 id;
};

/* A heap node carries its own ordering key, so sifting touches only the heap. */
struct turn {
	__u64 placed; /* slots taken so far */
	__u32 weight;
	__u32 idx; /* into the sorted backends; breaks ties */
};

/*
 * Is a's next turn due before b's? Compares placed_a / w_a with placed_b / w_b without
 * division; placed <= 2^20 and weight < 2^32, so the products fit in 64 bits.
 */
static bool turn_before(const struct turn *a, const struct turn *b)
{
	__u64 ta = a->placed * b->weight, tb = b->placed * a->weight;

	if (ta != tb)
		return ta < tb;
	return a->idx < b->idx;
}

/* Restores the heap after the root's key grew. */
static void heap_sift_down(struct turn *heap, size_t len)
{
	struct turn top = heap[0];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < len) {
		if (c + 1 < len && turn_before(&heap[c + 1], &heap[c]))
			c++;
		if (!turn_before(&heap[c], &top))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = top;
}

/* Takes the next free slot on backend w's permutation. */
static void place(struct walk *w, unsigned char *taken, __u32 *table, __u32 m)
{
	/* Terminates: the stride is coprime with M, so the walk visits every slot. */
	while (taken[w->pos]) {
		w->pos += w->skip;
		if (w->pos >= m)
			w->pos -= m;
	}
	taken[w->pos] = 1;
	table[w->pos] = w->id;
}

int maglev_build(const struct maglev_backend *b, size_t n, __u32 m, __u32 *table)
{
	struct maglev_backend *live = NULL;
	struct walk *walk = NULL;
	struct turn *heap = NULL;
	unsigned char *taken = NULL;
	size_t i, n_live = 0, filled;
	bool equal = true;
	int err = -ENOMEM;

	if (table == NULL || (b == NULL && n > 0))
		return -EINVAL;
	if (m < BATON_MAGLEV_MIN || m > BATON_MAGLEV_MAX || !maglev_is_prime(m) || n > m)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (b[i].weight > 0)
			n_live++;
	if (n_live == 0)
		return -ENOENT;

	live = malloc(n_live * sizeof(*live));
	walk = malloc(n_live * sizeof(*walk));
	heap = malloc(n_live * sizeof(*heap));
	taken = calloc(m, 1);
	if (live == NULL || walk == NULL || heap == NULL || taken == NULL)
		goto out;

	/*
	 * Weight-0 backends are left out before anything else, so draining one gives the
	 * same table as removing it.
	 */
	n_live = 0;
	for (i = 0; i < n; i++)
		if (b[i].weight > 0)
			live[n_live++] = b[i];
	qsort(live, n_live, sizeof(*live), backend_cmp);

	for (i = 0; i < n_live; i++) {
		walk[i].pos = live[i].offset_hash % m;
		walk[i].skip = live[i].skip_hash % (m - 1) + 1;
		walk[i].id = live[i].id;
		heap[i].placed = 0;
		heap[i].weight = live[i].weight;
		heap[i].idx = i; /* all due at time 0, in index order: already a heap */
		equal = equal && live[i].weight == live[0].weight;
	}

	if (equal) {
		/* Equal weights: the heap would yield plain round robin, so skip it. */
		for (filled = 0; filled < m; filled++)
			place(&walk[filled % n_live], taken, table, m);
	} else {
		for (filled = 0; filled < m; filled++) {
			place(&walk[heap[0].idx], taken, table, m);
			heap[0].placed++;
			heap_sift_down(heap, n_live);
		}
	}
	err = 0;
out:
	free(taken);
	free(heap);
	free(walk);
	free(live);
	return err;
}
