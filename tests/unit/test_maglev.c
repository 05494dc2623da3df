// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests for controlplane/maglev.c: coverage, weighted shares, disruption, determinism. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "baton_abi.h"
#include "maglev.h"

#define M_DEFAULT BATON_MAGLEV_DEFAULT

/* A backend key as the lead builds it: family, 16 address bytes, 2 port bytes. */
static void make_key(unsigned int i, unsigned char key[19])
{
	memset(key, 0, 19);
	key[0] = BATON_FAMILY_V4;
	key[1] = 10;
	key[2] = 1;
	key[3] = (i >> 8) & 0xff;
	key[4] = i & 0xff;
	key[17] = (31001 >> 8) & 0xff;
	key[18] = 31001 & 0xff;
}

/* Backend i: key from i, id 1000 + 7 i (sparse ids catch id/index mix-ups). */
static __u32 id_of(unsigned int i)
{
	return 1000 + 7 * i;
}

static void make_backend(struct maglev_backend *b, unsigned int i, __u32 weight)
{
	unsigned char key[19];

	make_key(i, key);
	maglev_backend_init(b, key, sizeof(key), id_of(i), weight);
}

static struct maglev_backend *make_set(unsigned int n, const __u32 *weights)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	unsigned int i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		make_backend(&b[i], i, weights != NULL ? weights[i] : 1);
	return b;
}

static __u32 *build(const struct maglev_backend *b, size_t n, __u32 m)
{
	__u32 *t = malloc(m * sizeof(*t));

	assert_non_null(t);
	assert_int_equal(maglev_build(b, n, m, t), 0);
	return t;
}

static unsigned int index_of(__u32 id, unsigned int n)
{
	assert_true(id >= 1000 && (id - 1000) % 7 == 0);
	assert_true((id - 1000) / 7 < n);
	return (id - 1000) / 7;
}

/* Every slot holds one of the n ids; returns per-backend slot counts (caller frees). */
static size_t *count_slots(const __u32 *t, __u32 m, unsigned int n)
{
	size_t *cnt = calloc(n, sizeof(*cnt));
	__u32 s;

	assert_non_null(cnt);
	for (s = 0; s < m; s++)
		cnt[index_of(t[s], n)]++;
	return cnt;
}

/* |slots_i / M - w_i / W| <= 0.01 for every backend (meaningful for M >= 100 N). */
static void check_shares(unsigned int n, const __u32 *weights, __u32 m)
{
	struct maglev_backend *b = make_set(n, weights);
	__u32 *t = build(b, n, m);
	size_t *cnt = count_slots(t, m, n);
	double total = 0;
	unsigned int i;

	assert_true(m >= 100 * n);
	for (i = 0; i < n; i++)
		total += weights != NULL ? weights[i] : 1;
	for (i = 0; i < n; i++) {
		double want = (weights != NULL ? weights[i] : 1) / total;
		double got = (double)cnt[i] / m;

		if (got - want > 0.01 || want - got > 0.01)
			fail_msg("backend %u: share %.5f, expected %.5f", i, got, want);
		/* A backend with weight owns at least one slot. */
		if (want > 0)
			assert_true(cnt[i] > 0);
	}
	free(cnt);
	free(t);
	free(b);
}

static void test_is_prime(void **state)
{
	static const __u32 primes[] = { 2, 3, 5, 7, 11, 251, 1021, 65537, 1048573, 4294967291u };
	static const __u32 composites[] = {
		0, 1, 4, 9, 25, 1000, 65535, 65536, 1048575, 4294967295u
	};
	size_t i;

	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		assert_true(maglev_is_prime(primes[i]));
	for (i = 0; i < sizeof(composites) / sizeof(composites[0]); i++)
		assert_false(maglev_is_prime(composites[i]));
	assert_true(maglev_is_prime(BATON_MAGLEV_DEFAULT));
	assert_true(maglev_is_prime(BATON_MAGLEV_MIN));
	assert_true(maglev_is_prime(BATON_MAGLEV_MAX));
}

static void test_invalid_args(void **state)
{
	struct maglev_backend *b = make_set(8, NULL);
	__u32 t[16];

	/* 1048583 is the first prime above BATON_MAGLEV_MAX, 5 a prime below the minimum. */
	assert_true(maglev_is_prime(1048583));
	assert_int_equal(maglev_build(b, 1, 65536, t), -EINVAL);
	assert_int_equal(maglev_build(b, 1, 9, t), -EINVAL);
	assert_int_equal(maglev_build(b, 1, 5, t), -EINVAL);
	assert_int_equal(maglev_build(b, 1, 0, t), -EINVAL);
	assert_int_equal(maglev_build(b, 1, 1048583, t), -EINVAL);
	assert_int_equal(maglev_build(b, 8, 7, t), -EINVAL); /* n > m */
	assert_int_equal(maglev_build(b, 1, 7, NULL), -EINVAL);
	assert_int_equal(maglev_build(NULL, 1, 7, t), -EINVAL);
	assert_int_equal(maglev_build(b, 7, 7, t), 0);
	free(b);
}

static void test_equal_weights(void **state)
{
	check_shares(1, NULL, 101);
	check_shares(100, NULL, M_DEFAULT);
	check_shares(655, NULL, M_DEFAULT);
}

static void test_unequal_weights(void **state)
{
	static const __u32 w1234[] = { 1, 2, 3, 4 };
	static const __u32 w10_1[] = { 10, 1 };
	static const __u32 w1_10[] = { 1, 10 };
	__u32 w[100];
	unsigned int i;

	check_shares(4, w1234, M_DEFAULT);
	check_shares(2, w10_1, M_DEFAULT);
	check_shares(2, w1_10, M_DEFAULT);
	for (i = 0; i < 100; i++)
		w[i] = 1 + i % 7;
	check_shares(100, w, M_DEFAULT);
	/* Extreme spread: one heavy backend among light ones, each light one still has a slot. */
	for (i = 0; i < 100; i++)
		w[i] = i == 0 ? 10000 : 1;
	check_shares(100, w, M_DEFAULT);
}

/* The smallest table with as many backends as slots: one slot each. */
static void test_one_slot_each(void **state)
{
	struct maglev_backend *b = make_set(7, NULL);
	__u32 *t = build(b, 7, 7);
	size_t *cnt = count_slots(t, 7, 7);
	unsigned int i;

	for (i = 0; i < 7; i++)
		assert_int_equal(cnt[i], 1);
	free(cnt);
	free(t);
	free(b);
}

static void test_large_table(void **state)
{
	check_shares(1000, NULL, BATON_MAGLEV_MAX);
}

static void test_weight_zero(void **state)
{
	__u32 w[10] = { 1, 0, 1, 1, 0, 1, 1, 1, 1, 0 };
	struct maglev_backend *b = make_set(10, w), live[7];
	__u32 *t = build(b, 10, M_DEFAULT), *t2;
	size_t *cnt = count_slots(t, M_DEFAULT, 10);
	unsigned int i, n = 0;

	for (i = 0; i < 10; i++) {
		if (w[i] == 0)
			assert_int_equal(cnt[i], 0);
		else
			live[n++] = b[i];
	}
	/* Draining a backend (weight 0) builds the same table as removing it. */
	t2 = build(live, n, M_DEFAULT);
	assert_memory_equal(t, t2, M_DEFAULT * sizeof(*t));
	free(t2);
	free(cnt);
	free(t);
	free(b);
}

static void test_all_zero(void **state)
{
	__u32 w[3] = { 0, 0, 0 };
	struct maglev_backend *b = make_set(3, w);
	__u32 t[7];
	unsigned int i;

	memset(t, 0xab, sizeof(t));
	assert_int_equal(maglev_build(b, 3, 7, t), -ENOENT);
	assert_int_equal(maglev_build(b, 0, 7, t), -ENOENT);
	for (i = 0; i < 7; i++)
		assert_int_equal(t[i], 0xabababab); /* untouched */
	free(b);
}

static double changed_fraction(const __u32 *a, const __u32 *b, __u32 m)
{
	size_t changed = 0;
	__u32 s;

	for (s = 0; s < m; s++)
		changed += a[s] != b[s];
	return (double)changed / m;
}

/*
 * Removing backend `gone` of n: the slots that change are the removed backend's own
 * (about 1/n) plus those reshuffled among the others, which Maglev keeps small.
 */
static void check_remove(unsigned int n, unsigned int gone)
{
	struct maglev_backend *all = make_set(n, NULL), *rest = make_set(n, NULL);
	__u32 *before, *after;
	unsigned int i, k = 0;
	double frac;

	for (i = 0; i < n; i++)
		if (i != gone)
			rest[k++] = all[i];
	before = build(all, n, M_DEFAULT);
	after = build(rest, n - 1, M_DEFAULT);
	frac = changed_fraction(before, after, M_DEFAULT);
	if (frac > 1.0 / n + 0.01)
		fail_msg("remove 1 of %u: %.4f of slots moved, limit %.4f", n, frac,
			 1.0 / n + 0.01);
	for (i = 0; i < M_DEFAULT; i++)
		assert_int_not_equal(after[i], id_of(gone));
	free(before);
	free(after);
	free(rest);
	free(all);
}

static void test_remove_one(void **state)
{
	static const unsigned int sizes[] = { 10, 50, 100 };
	size_t i;

	for (i = 0; i < 3; i++) {
		check_remove(sizes[i], 0);
		check_remove(sizes[i], sizes[i] / 2);
		check_remove(sizes[i], sizes[i] - 1);
	}
}

static void test_add_one(void **state)
{
	static const unsigned int sizes[] = { 10, 50, 100 };
	size_t i;

	for (i = 0; i < 3; i++) {
		unsigned int n = sizes[i];
		struct maglev_backend *b = make_set(n + 1, NULL);
		__u32 *before = build(b, n, M_DEFAULT), *after = build(b, n + 1, M_DEFAULT);
		size_t *cnt = count_slots(after, M_DEFAULT, n + 1);
		double frac = changed_fraction(before, after, M_DEFAULT);

		if (frac > 1.0 / (n + 1) + 0.01)
			fail_msg("add 1 to %u: %.4f of slots moved, limit %.4f", n, frac,
				 1.0 / (n + 1) + 0.01);
		assert_true(cnt[n] > 0);
		free(cnt);
		free(before);
		free(after);
		free(b);
	}
}

static void shuffle(struct maglev_backend *b, size_t n, __u64 *rng)
{
	size_t i;

	for (i = n - 1; i > 0; i--) {
		struct maglev_backend tmp;
		size_t j;

		*rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
		j = (*rng >> 33) % (i + 1);
		tmp = b[i];
		b[i] = b[j];
		b[j] = tmp;
	}
}

static void test_order_independent(void **state)
{
	__u32 w[50];
	struct maglev_backend *b;
	__u32 *ref, *t;
	__u64 rng = 42;
	unsigned int i, round;

	for (i = 0; i < 50; i++)
		w[i] = i % 3; /* some zero weights too */
	b = make_set(50, w);
	ref = build(b, 50, 1021);
	for (round = 0; round < 20; round++) {
		shuffle(b, 50, &rng);
		t = build(b, 50, 1021);
		assert_memory_equal(ref, t, 1021 * sizeof(*t));
		free(t);
	}
	free(ref);
	free(b);
}

/* Scaling every weight by the same factor changes nothing. */
static void test_weight_scale(void **state)
{
	static const __u32 w[] = { 1, 2, 3, 4 }, w3[] = { 3, 6, 9, 12 };
	struct maglev_backend *a = make_set(4, w), *b = make_set(4, w3);
	__u32 *ta = build(a, 4, 1021), *tb = build(b, 4, 1021);

	assert_memory_equal(ta, tb, 1021 * sizeof(*ta));
	free(ta);
	free(tb);
	free(a);
	free(b);
}

/* FNV-1a 64 over the table's ids as little-endian bytes, whatever the host order. */
static __u64 table_checksum(const __u32 *t, __u32 m)
{
	__u64 h = 0xcbf29ce484222325ull;
	__u32 s;
	int k;

	for (s = 0; s < m; s++) {
		for (k = 0; k < 4; k++) {
			h ^= (t[s] >> (8 * k)) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}

/*
 * Recorded values: a change here means every deployed node would build different
 * tables than before (all flows without state would move), so it must be deliberate.
 */
static void test_golden(void **state)
{
	static const __u32 w[] = { 1, 2, 3, 4, 0, 5, 1, 1, 10, 7 };
	struct maglev_backend *b = make_set(10, w);
	__u32 *t = build(b, 10, 65537);

	assert_int_equal(maglev_hash64("baton", 5, 0), 0x092697ab70960078ull);
	assert_int_equal(maglev_hash64("", 0, 1), 0x4a3a3a4ba6523826ull);
	assert_int_equal(table_checksum(t, 65537), 0x558730102be27b94ull);
	assert_int_equal(t[0], 1021);
	assert_int_equal(t[65536], 1021);
	free(t);
	free(b);
}

/*
 * The documented algorithm written the slow, obvious way: weight-0 backends out, sort
 * by (offset hash, skip hash, id, weight), then each turn goes to the backend with the
 * smallest placed / weight (lowest index on ties), which takes its next free slot.
 */
static int ref_cmp(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;

	if (a->offset_hash != b->offset_hash)
		return a->offset_hash < b->offset_hash ? -1 : 1;
	if (a->skip_hash != b->skip_hash)
		return a->skip_hash < b->skip_hash ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (a->weight > b->weight) - (a->weight < b->weight);
}

static void reference_build(const struct maglev_backend *in, size_t n, __u32 m, __u32 *table)
{
	struct maglev_backend *live = calloc(n, sizeof(*live));
	__u64 *placed = calloc(n, sizeof(*placed)), *next = calloc(n, sizeof(*next));
	unsigned char *taken = calloc(m, 1);
	size_t i, k = 0, filled;

	assert_true(live != NULL && placed != NULL && next != NULL && taken != NULL);
	for (i = 0; i < n; i++)
		if (in[i].weight > 0)
			live[k++] = in[i];
	qsort(live, k, sizeof(*live), ref_cmp);
	for (filled = 0; filled < m; filled++) {
		size_t best = 0;
		__u64 pos;

		for (i = 1; i < k; i++)
			if (placed[i] * live[best].weight < placed[best] * live[i].weight)
				best = i;
		do {
			pos = (live[best].offset_hash % m +
			       next[best] * (live[best].skip_hash % (m - 1) + 1)) %
			      m;
			next[best]++;
		} while (taken[pos]);
		taken[pos] = 1;
		table[pos] = live[best].id;
		placed[best]++;
	}
	free(taken);
	free(next);
	free(placed);
	free(live);
}

static void test_reference_model(void **state)
{
	static const __u32 sets[][8] = {
		{ 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 5, 5, 5, 5, 5, 5, 5, 5 },
		{ 1, 2, 3, 4, 5, 6, 7, 8 },
		{ 0, 3, 0, 3, 1, 0, 10000, 2 },
		{ 0xffffffffu, 1, 0xfffffffeu, 2, 1, 1, 1, 1 },
	};
	static const __u32 sizes[] = { 7, 13, 1021 };
	__u32 got[1021], want[1021];
	size_t i, j;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			struct maglev_backend *b = make_set(7, sets[i]);
			__u32 m = sizes[j];

			assert_int_equal(maglev_build(b, 7, m, got), 0);
			reference_build(b, 7, m, want);
			assert_memory_equal(got, want, m * sizeof(*got));
			free(b);
		}
	}
}

static void test_speed(void **state)
{
	struct maglev_backend *b = make_set(100, NULL);
	__u32 *t = malloc(M_DEFAULT * sizeof(*t));
	struct timespec t0, t1;

	assert_non_null(t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(maglev_build(b, 100, M_DEFAULT, t), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("maglev_build(N=100, M=%u): %.2f ms\n", M_DEFAULT,
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	free(t);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_equal_weights),
		cmocka_unit_test(test_unequal_weights),
		cmocka_unit_test(test_one_slot_each),
		cmocka_unit_test(test_large_table),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_all_zero),
		cmocka_unit_test(test_remove_one),
		cmocka_unit_test(test_add_one),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_weight_scale),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_reference_model),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
