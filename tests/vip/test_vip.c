// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests for controlplane/vip.c: labels, allocation, conflicts, the state file. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "baton_abi.h"
#include "maglev.h"
#include "vip.h"

#define SEED 0x6261746f6e766970ull /* the allocator's hash seed, pinned here on purpose */
#define MAXREQ 16
#define GOLDEN_HASH 0xbd4948382fda3c9cull /* maglev_hash64("web", 3, SEED) */
#define GOLDEN_V4 "11.109.162.33"	  /* "/web:80" in 11.0.0.0/8 */

static struct vip_pool pool4, pool6;

static void pools_default(void)
{
	char err[128];

	assert_int_equal(vip_pool_parse(VIP_POOL_V4_DEFAULT, &pool4, err, sizeof(err)), 0);
	assert_int_equal(vip_pool_parse(VIP_POOL_V6_DEFAULT, &pool6, err, sizeof(err)), 0);
}

static const char *str(const struct vip_assignment *a, char buf[INET6_ADDRSTRLEN])
{
	inet_ntop(a->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, a->addr, buf,
		  INET6_ADDRSTRLEN);
	return buf;
}

/* Allocates one named VIP per name ("/<name>:80", app "/<name>") from pool p. */
static int alloc_names(struct vip_state *s, const struct vip_pool *p, const char *const *names,
		       size_t n, struct vip_assignment *out)
{
	struct vip_request req[MAXREQ];
	char labels[MAXREQ][80];
	char err[128];
	size_t i;

	assert_true(n <= MAXREQ);
	for (i = 0; i < n; i++) {
		snprintf(labels[i], sizeof(labels[i]), "/%s:80", names[i]);
		req[i] = (struct vip_request){ .app_id = names[i],
					       .port_index = 0,
					       .label = labels[i],
					       .want_v6 = p->family == BATON_FAMILY_V6 };
	}
	return vip_allocate(s, p, 1, req, n, out, err, sizeof(err));
}

/* The address the hash picks first for name in an IPv4 pool, host order. */
static __u32 first_v4(const struct vip_pool *p, const char *name)
{
	unsigned int hb = 32 - p->prefix_len;
	__u64 usable = (1ull << hb) - 2;

	return ntohl(p->base[0]) + 1 + maglev_hash64(name, strlen(name), SEED) % usable;
}

static void test_pool_parse(void **unused)
{
	static const char *const bad[] = { "11.0.0.0",	  "11.0.0.1/8",	   "11.0.0.0/33",
					   "11.0.0.0/0",  "eleven/8",	   "fd01:c::/129",
					   "11.0.0.0/8x", "11.0.0.0/",	   "fd01:c::1/64",
					   "/8",	  "11.0.0.0/0008", "" };
	struct vip_pool p;
	char err[128];
	size_t i;

	pools_default();
	assert_int_equal(pool4.family, BATON_FAMILY_V4);
	assert_int_equal(pool4.prefix_len, 8);
	assert_int_equal(ntohl(pool4.base[0]), 0x0b000000);
	assert_int_equal(pool6.family, BATON_FAMILY_V6);
	assert_int_equal(pool6.prefix_len, 64);
	assert_int_equal(ntohl(pool6.base[0]), 0xfd01000c);
	assert_int_equal(vip_pool_parse("10.1.2.0/29", &p, err, sizeof(err)), 0);
	assert_int_equal(vip_pool_parse("10.1.2.3/32", &p, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(vip_pool_parse(bad[i], &p, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(vip_pool_parse("11.0.0.1/8", &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(vip_pool_parse(NULL, &p, NULL, 0), -EINVAL);
}

/* A change of hash, seed or offset rule moves every VIP: caught here. */
static void test_golden(void **unused)
{
	static const char *const names[] = { "web" };
	struct vip_state *s = vip_state_new();
	struct vip_assignment out[1];
	char a[INET6_ADDRSTRLEN];

	pools_default();
	assert_int_equal(maglev_hash64("web", 3, SEED), GOLDEN_HASH);
	assert_int_equal(alloc_names(s, &pool4, names, 1, out), 0);
	assert_int_equal(out[0].status, VIP_OK);
	assert_true(out[0].named);
	assert_string_equal(out[0].name, "web");
	assert_int_equal(out[0].port, 80);
	assert_int_equal(ntohl(out[0].addr[0]), first_v4(&pool4, "web"));
	assert_string_equal(str(&out[0], a), GOLDEN_V4);
	vip_state_free(s);
}

static void test_determinism(void **unused)
{
	static const char *const fwd[] = { "web", "api", "db", "cache", "/grp/svc", "queue" };
	static const char *const rev[] = { "queue", "/grp/svc", "cache", "db", "api", "web" };
	struct vip_assignment o1[6], o2[6];
	struct vip_state *s1 = vip_state_new(), *s2 = vip_state_new();
	size_t i, j;

	pools_default();
	assert_int_equal(alloc_names(s1, &pool4, fwd, 6, o1), 0);
	assert_int_equal(alloc_names(s2, &pool4, rev, 6, o2), 0);
	for (i = 0; i < 6; i++) {
		j = 5 - i;
		assert_string_equal(o1[i].name, o2[j].name);
		assert_memory_equal(o1[i].addr, o2[j].addr, 16);
		/* A big pool and few names: every one gets its first candidate. */
		assert_int_equal(ntohl(o1[i].addr[0]), first_v4(&pool4, o1[i].name));
	}
	assert_int_equal(vip_state_count(s1), 6);
	vip_state_free(s1);
	vip_state_free(s2);
}

/* Reference model of probing in sorted name order in an IPv4 pool. */
static void model_v4(const struct vip_pool *p, const char *const *sorted, size_t n, __u32 *want)
{
	__u32 usable = (1u << (32 - p->prefix_len)) - 2;
	bool taken[256] = { false };
	size_t i;

	assert_true(usable <= 256);
	for (i = 0; i < n; i++) {
		__u32 off = first_v4(p, sorted[i]) - ntohl(p->base[0]) - 1;

		while (taken[off])
			off = (off + 1) % usable;
		taken[off] = true;
		want[i] = ntohl(p->base[0]) + 1 + off;
	}
}

static void test_collision_probe(void **unused)
{
	static const char *const names[] = { "f", "e", "d", "c", "b", "a" };
	static const char *const sorted[] = { "a", "b", "c", "d", "e", "f" };
	static const char *const seven[] = { "f", "e", "d", "c", "b", "a", "g" };
	struct vip_assignment out[7];
	struct vip_state *s = vip_state_new();
	struct vip_pool p;
	__u32 want[6], got;
	bool seen[8] = { false };
	size_t i, j;
	int collisions = 0;
	char err[128];

	assert_int_equal(vip_pool_parse("10.9.0.8/29", &p, err, sizeof(err)), 0);
	assert_int_equal(alloc_names(s, &p, names, 6, out), 0);
	model_v4(&p, sorted, 6, want);
	for (i = 0; i < 6; i++) {
		got = ntohl(out[i].addr[0]);
		/* usable .9 .. .14: never the network (.8) or broadcast (.15) address */
		assert_in_range(got, 0x0a090009, 0x0a09000e);
		assert_false(seen[got & 7]);
		seen[got & 7] = true;
		for (j = 0; j < 6; j++)
			if (strcmp(sorted[j], out[i].name) == 0)
				assert_int_equal(got, want[j]);
		if (got != first_v4(&p, out[i].name))
			collisions++;
	}
	assert_true(collisions > 0); /* 6 names in 6 addresses: the test really probes */
	/* The pool is full now: a seventh name is reported, the others are unchanged. */
	assert_int_equal(alloc_names(s, &p, seven, 7, out), 1);
	assert_int_equal(out[6].status, VIP_EXHAUSTED);
	assert_non_null(strstr(out[6].message, "exhausted"));
	assert_non_null(strstr(out[6].message, "/g:80"));
	for (i = 0; i < 6; i++) {
		assert_int_equal(out[i].status, VIP_OK);
		for (j = 0; j < 6; j++)
			if (strcmp(sorted[j], out[i].name) == 0)
				assert_int_equal(ntohl(out[i].addr[0]), want[j]);
	}
	vip_state_free(s);
}

static void test_stability(void **unused)
{
	static const char *const ab[] = { "alpha", "beta" };
	static const char *const bc[] = { "gamma", "beta" };
	struct vip_assignment o1[2], o2[2], o3[2];
	struct vip_state *s = vip_state_new(), *t = NULL;
	char path[] = "/tmp/test_vip_XXXXXX", file[64], err[256];
	__be32 addr[4];

	pools_default();
	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/vip.state", path);
	assert_int_equal(alloc_names(s, &pool4, ab, 2, o1), 0);
	assert_int_equal(alloc_names(s, &pool4, bc, 2, o2), 0);
	assert_memory_equal(o1[1].addr, o2[1].addr, 16); /* beta unchanged */
	assert_int_equal(vip_state_count(s), 2);	 /* alpha released */
	assert_int_equal(vip_state_lookup(s, "alpha", BATON_FAMILY_V4, addr), -ENOENT);
	assert_int_equal(vip_state_lookup(s, "gamma", BATON_FAMILY_V4, addr), 0);
	assert_memory_equal(addr, o2[0].addr, 16);

	assert_int_equal(vip_state_save(s, file, err, sizeof(err)), 0);
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), 0);
	assert_int_equal(vip_state_count(t), 2);
	assert_int_equal(alloc_names(t, &pool4, bc, 2, o3), 0);
	assert_memory_equal(o2[0].addr, o3[0].addr, 16);
	assert_memory_equal(o2[1].addr, o3[1].addr, 16);
	vip_state_free(s);
	vip_state_free(t);
	unlink(file);
	rmdir(path);
}

/* A name that already holds an address keeps it when a new name hashes onto it. */
static void test_never_moved(void **unused)
{
	static const char *const zed[] = { "zed" };
	const char *pair[2];
	struct vip_assignment out[2], fresh[2];
	struct vip_state *s = vip_state_new(), *f = vip_state_new();
	struct vip_pool p;
	char err[128], cand[16];
	__u32 zaddr;
	int i;

	assert_int_equal(vip_pool_parse("10.9.0.0/29", &p, err, sizeof(err)), 0);
	assert_int_equal(alloc_names(s, &p, zed, 1, out), 0);
	zaddr = ntohl(out[0].addr[0]);
	/* a name sorting before "zed" whose first candidate is zed's address */
	for (i = 0; i < 1000; i++) {
		snprintf(cand, sizeof(cand), "a%d", i);
		if (first_v4(&p, cand) == zaddr)
			break;
	}
	assert_true(i < 1000);
	pair[0] = "zed";
	pair[1] = cand;
	assert_int_equal(alloc_names(s, &p, pair, 2, out), 0);
	assert_int_equal(ntohl(out[0].addr[0]), zaddr);
	assert_int_not_equal(ntohl(out[1].addr[0]), zaddr);
	/* From scratch, sorted order gives the address to the new name instead. */
	assert_int_equal(alloc_names(f, &p, pair, 2, fresh), 0);
	assert_int_equal(ntohl(fresh[1].addr[0]), zaddr);
	vip_state_free(s);
	vip_state_free(f);
}

static void test_explicit_conflict(void **unused)
{
	const struct vip_request req[] = {
		{ "/a", 0, "10.0.0.1:80", false },  { "/b", 0, "10.0.0.1:80", false },
		{ "/c", 0, "10.0.0.1:81", false },  { "/x", 0, "/web:80", false },
		{ "/y", 1, "web:80", false },	    { "/z", 0, "web:8080", false },
		{ "/w", 0, "[fd00::1]:80", false }, { "/v", 0, "[fd00::1]:80", false },
	};
	struct vip_assignment out[8];
	struct vip_state *s = vip_state_new();
	char err[128], a[INET6_ADDRSTRLEN];

	pools_default();
	struct vip_pool pools[2] = { pool4, pool6 };
	assert_int_equal(vip_allocate(s, pools, 2, req, 8, out, err, sizeof(err)), 3);
	assert_int_equal(out[0].status, VIP_OK);
	assert_false(out[0].named);
	assert_string_equal(str(&out[0], a), "10.0.0.1");
	assert_int_equal(out[1].status, VIP_CONFLICT);
	assert_int_equal(out[1].holder, 0);
	assert_non_null(strstr(out[1].message, "/b"));
	assert_non_null(strstr(out[1].message, "held by app /a port 0"));
	assert_int_equal(out[2].status, VIP_OK);
	assert_int_equal(out[3].status, VIP_OK);
	assert_int_equal(out[4].status, VIP_CONFLICT);
	assert_int_equal(out[4].holder, 3);
	assert_string_equal(out[4].name, "web");
	assert_int_equal(out[5].status, VIP_OK);
	assert_memory_equal(out[3].addr, out[5].addr, 16); /* one name, one address */
	assert_int_equal(out[5].port, 8080);
	assert_int_equal(out[6].status, VIP_OK);
	assert_int_equal(out[6].family, BATON_FAMILY_V6);
	assert_int_equal(out[7].status, VIP_CONFLICT);
	assert_int_equal(out[7].holder, 6);
	assert_int_equal(vip_state_count(s), 1);
	vip_state_free(s);
}

static void test_explicit_in_pool(void **unused)
{
	const struct vip_request r1[] = { { "/n", 0, "/web:80", false },
					  { "/e", 0, "10.8.0.1:80", false },
					  { "/m", 0, "/web2:80", false } };
	const struct vip_request r2[] = { { "/e", 0, "10.8.0.2:443", false },
					  { "/n", 0, "/web:80", false } };
	struct vip_assignment out[3];
	struct vip_state *s = vip_state_new();
	struct vip_pool p;
	char err[128], a[INET6_ADDRSTRLEN];

	/* usable: .1 and .2 */
	assert_int_equal(vip_pool_parse("10.8.0.0/30", &p, err, sizeof(err)), 0);
	assert_int_equal(vip_allocate(s, &p, 1, r1, 3, out, err, sizeof(err)), 1);
	assert_int_equal(out[1].status, VIP_OK);
	assert_int_equal(out[0].status, VIP_OK);
	assert_string_equal(str(&out[0], a), "10.8.0.2");
	assert_int_equal(out[2].status, VIP_EXHAUSTED);
	/* An explicit claim on an address a name already holds: the name is not moved. */
	assert_int_equal(vip_allocate(s, &p, 1, r2, 2, out, err, sizeof(err)), 1);
	assert_int_equal(out[1].status, VIP_OK);
	assert_string_equal(str(&out[1], a), "10.8.0.2");
	assert_int_equal(out[0].status, VIP_CONFLICT);
	assert_int_equal(out[0].holder, 1);
	assert_non_null(strstr(out[0].message, "10.8.0.2:443"));
	vip_state_free(s);
}

static void test_bad_labels(void **unused)
{
	static const char *const bad[] = {
		"10.0.0.300:80", ":80",		"/web:0",
		"/web:70000",	 "/:80",	"",
		"web",		 "fd00::1:80",	"[fd00::1:80",
		"web:8a",	 "we b:80",	"[zz::1]:80",
		"web:-1",	 "/web:080000",
	};
	enum {
		NB = sizeof(bad) / sizeof(bad[0])
	};
	struct vip_request req[NB + 1];
	struct vip_assignment out[NB + 1];
	struct vip_state *s = vip_state_new();
	char err[128];
	size_t i;

	pools_default();
	for (i = 0; i < NB; i++)
		req[i] = (struct vip_request){ "/bad/app", i, bad[i], false };
	req[NB] = (struct vip_request){ "/good", 0, "/web:80", false };
	assert_int_equal(vip_allocate(s, &pool4, 1, req, NB + 1, out, err, sizeof(err)), NB);
	for (i = 0; i < NB; i++) {
		char port[32];

		assert_int_equal(out[i].status, VIP_BAD_LABEL);
		assert_non_null(strstr(out[i].message, "/bad/app"));
		assert_non_null(strstr(out[i].message, bad[i]));
		snprintf(port, sizeof(port), "port %zu:", i);
		assert_non_null(strstr(out[i].message, port));
	}
	assert_non_null(strstr(out[0].message, "IPv4"));
	assert_non_null(strstr(out[2].message, "1..65535"));
	assert_non_null(strstr(out[4].message, "empty name"));
	assert_int_equal(out[NB].status, VIP_OK);
	assert_int_equal(out[NB].message[0], '\0');
	vip_state_free(s);
}

static void test_ipv6(void **unused)
{
	const struct vip_request req[] = { { "/a", 0, "/web:80", true },
					   { "/b", 0, "/web:80", false },
					   { "/c", 0, "[2001:db8::5]:443", false } };
	struct vip_assignment out[3];
	struct vip_state *s = vip_state_new();
	__u64 want;
	char err[128];

	pools_default();
	struct vip_pool pools[2] = { pool6, pool4 };
	/* same name and port in two families: two VIPs, no conflict */
	assert_int_equal(vip_allocate(s, pools, 2, req, 3, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].family, BATON_FAMILY_V6);
	assert_memory_equal(out[0].addr, pool6.base, 8);
	want = 1 + maglev_hash64("web", 3, SEED) % UINT64_MAX;
	assert_int_equal(ntohl(out[0].addr[2]), (__u32)(want >> 32));
	assert_int_equal(ntohl(out[0].addr[3]), (__u32)want);
	assert_int_equal(out[1].family, BATON_FAMILY_V4);
	assert_int_equal(out[2].family, BATON_FAMILY_V6);
	assert_int_equal(vip_state_count(s), 2);
	/* without an IPv6 pool */
	assert_int_equal(vip_allocate(s, &pool4, 1, req, 3, out, err, sizeof(err)), 1);
	assert_int_equal(out[0].status, VIP_NO_POOL);
	assert_non_null(strstr(out[0].message, "IPv6"));
	assert_int_equal(out[2].status, VIP_OK);
	vip_state_free(s);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_state_file(void **unused)
{
	static const char *const names[] = { "web", "api" };
	struct vip_assignment out[2];
	struct vip_state *s = vip_state_new(), *t = NULL;
	char dir[] = "/tmp/test_vip_XXXXXX", file[64], err[256], text[512], line[80];
	char a[INET6_ADDRSTRLEN];
	FILE *f;
	size_t got;

	pools_default();
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/vip.state", dir);

	/* missing file: empty state */
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), 0);
	assert_int_equal(vip_state_count(t), 0);
	vip_state_free(t);

	assert_int_equal(alloc_names(s, &pool4, names, 2, out), 0);
	assert_int_equal(vip_state_save(s, file, err, sizeof(err)), 0);
	assert_int_equal(vip_state_save(s, file, err, sizeof(err)), 0); /* rewrite */
	assert_int_equal(count_dir(dir), 1);				/* no temporary file left */
	f = fopen(file, "r");
	assert_non_null(f);
	got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[got] = '\0';
	/* sorted by name, "name address", after a comment line */
	snprintf(line, sizeof(line), "\napi %s\n", str(&out[1], a));
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line), "\nweb %s\n", str(&out[0], a));
	assert_non_null(strstr(text, line));
	assert_true(strstr(text, "\napi ") < strstr(text, "\nweb "));
	assert_int_equal(text[0], '#');

	/* corrupt line 3: an error naming the line, no state */
	write_file(file, "# comment\nweb 11.0.0.5\napi 11.0.0.300\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, ":3:"));
	assert_non_null(strstr(err, "11.0.0.300"));
	write_file(file, "\nweb 11.0.0.5 extra\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	write_file(file, "web 11.0.0.5\nweb 11.0.0.6\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	write_file(file, "web 11.0.0.5\napi 11.0.0.5\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	write_file(file, "web\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1:"));
	/* both families of one name, and a v6 address */
	write_file(file, "web 11.0.0.5\nweb fd01:c::5\n");
	assert_int_equal(vip_state_load(&t, file, err, sizeof(err)), 0);
	assert_int_equal(vip_state_count(t), 2);
	vip_state_free(t);

	/* saving into a missing directory fails cleanly */
	snprintf(file, sizeof(file), "%s/no/such/vip.state", dir);
	assert_true(vip_state_save(s, file, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "no/such"));

	snprintf(file, sizeof(file), "%s/vip.state", dir);
	unlink(file);
	rmdir(dir);
	vip_state_free(s);
}

/* A stored address the current pool no longer offers is reallocated; others stay. */
static void test_pool_change(void **unused)
{
	static const char *const names[] = { "bcast", "outside", "kept" };
	struct vip_assignment out[3];
	struct vip_state *s = NULL;
	struct vip_pool p;
	char dir[] = "/tmp/test_vip_XXXXXX", file[64], err[256], a[INET6_ADDRSTRLEN];
	__u32 got;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/vip.state", dir);
	write_file(file, "bcast 10.8.0.7\noutside 10.9.0.1\nkept 10.8.0.4\n");
	assert_int_equal(vip_state_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(vip_pool_parse("10.8.0.0/29", &p, err, sizeof(err)), 0);
	assert_int_equal(alloc_names(s, &p, names, 3, out), 0);
	assert_string_equal(str(&out[2], a), "10.8.0.4");
	got = ntohl(out[0].addr[0]);
	assert_in_range(got, 0x0a080001, 0x0a080006);
	got = ntohl(out[1].addr[0]);
	assert_in_range(got, 0x0a080001, 0x0a080006);
	assert_int_not_equal(ntohl(out[0].addr[0]), 0x0a080004);
	assert_int_not_equal(ntohl(out[1].addr[0]), 0x0a080004);
	vip_state_free(s);
	unlink(file);
	rmdir(dir);
}

static void test_invalid_args(void **unused)
{
	const struct vip_request req[] = { { "/a", 0, "/web:80", false } };
	struct vip_assignment out[1];
	struct vip_state *s = vip_state_new();
	struct vip_pool two[2];
	char err[128];

	pools_default();
	two[0] = pool4;
	two[1] = pool4;
	assert_int_equal(vip_allocate(s, two, 2, req, 1, out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "two VIP pools"));
	assert_int_equal(vip_allocate(NULL, two, 1, req, 1, out, err, sizeof(err)), -EINVAL);
	assert_int_equal(vip_state_count(s), 0);
	assert_int_equal(vip_allocate(s, two, 1, NULL, 0, NULL, err, sizeof(err)), 0);
	vip_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_parse),	  cmocka_unit_test(test_golden),
		cmocka_unit_test(test_determinism),	  cmocka_unit_test(test_collision_probe),
		cmocka_unit_test(test_stability),	  cmocka_unit_test(test_never_moved),
		cmocka_unit_test(test_explicit_conflict), cmocka_unit_test(test_explicit_in_pool),
		cmocka_unit_test(test_bad_labels),	  cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_state_file),	  cmocka_unit_test(test_pool_change),
		cmocka_unit_test(test_invalid_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
