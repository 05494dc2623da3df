// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * reconcile.c against the real maps of a loaded (never attached) XDP program:
 * configuration in, map contents checked. Needs root for BPF; skips with 77 otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton_abi.h"
#include "baton.skel.h"
#include "config.h"
#include "log.h"
#include "reconcile.h"

#define M 1009

static const char cfg_two[] =
	"{\"maglev_size\": 1009, \"services\": ["
	"{\"name\": \"web\", \"vip\": \"10.0.0.100\", \"port\": 80, \"protocol\": \"tcp\","
	" \"backends\": [{\"address\": \"10.1.0.11\", \"port\": 31001, \"weight\": 1},"
	"              {\"address\": \"10.1.0.12\", \"port\": 31002, \"weight\": 1},"
	"              {\"address\": \"10.1.0.13\", \"port\": 31003, \"weight\": 2}]},"
	"{\"name\": \"dns6\", \"vip\": \"fd00::53\", \"port\": 53, \"protocol\": \"udp\","
	" \"backends\": [{\"address\": \"fd01::1\", \"port\": 5353}]}]}";

/* web without 10.1.0.12; dns6 unchanged. */
static const char cfg_less[] =
	"{\"maglev_size\": 1009, \"services\": ["
	"{\"name\": \"web\", \"vip\": \"10.0.0.100\", \"port\": 80, \"protocol\": \"tcp\","
	" \"backends\": [{\"address\": \"10.1.0.11\", \"port\": 31001, \"weight\": 1},"
	"              {\"address\": \"10.1.0.13\", \"port\": 31003, \"weight\": 2}]},"
	"{\"name\": \"dns6\", \"vip\": \"fd00::53\", \"port\": 53, \"protocol\": \"udp\","
	" \"backends\": [{\"address\": \"fd01::1\", \"port\": 5353}]}]}";

static const char cfg_zero[] =
	"{\"maglev_size\": 1009, \"services\": ["
	"{\"name\": \"web\", \"vip\": \"10.0.0.100\", \"port\": 80, \"protocol\": \"tcp\","
	" \"backends\": [{\"address\": \"10.1.0.11\", \"port\": 31001, \"weight\": 0}]}]}";

struct fixture {
	struct baton_bpf *skel;
	struct reconcile rc;
	struct reconcile_settings set;
};

static void parse(const char *text, struct config *c)
{
	char err[256] = "";

	if (config_parse(text, strlen(text), c, err, sizeof(err)) != 0)
		fail_msg("config_parse: %s", err);
}

static void apply(struct fixture *f, const char *text)
{
	struct config c = {};

	parse(text, &c);
	assert_int_equal(reconcile_apply(&f->rc, &c, &f->set), 0);
	config_free(&c);
}

static int fd_of(struct fixture *f, const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(f->skel->obj, name));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->skel = baton_bpf__open_and_load();
	assert_non_null(f->skel);
	assert_int_equal(reconcile_init(&f->rc, fd_of(f, "frontends"), fd_of(f, "backends"),
					fd_of(f, "maglev"), fd_of(f, "config")),
			 0);
	inet_pton(AF_INET, "10.1.0.1", &f->set.snat_v4);
	f->set.snat_port_min = 1024;
	f->set.snat_port_max = 32767;
	f->set.tcp_idle_ns = 3600e9;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	reconcile_free(&f->rc);
	baton_bpf__destroy(f->skel);
	free(f);
	return 0;
}

static struct baton_frontend_key fkey(const char *addr, int port, int proto)
{
	struct baton_frontend_key k = {};

	if (inet_pton(AF_INET, addr, k.addr) == 1) {
		k.family = BATON_FAMILY_V4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, k.addr), 1);
		k.family = BATON_FAMILY_V6;
	}
	k.port = htons(port);
	k.proto = proto;
	return k;
}

static int lookup_frontend(struct fixture *f, const char *addr, int port, int proto,
			   struct baton_frontend *out)
{
	struct baton_frontend_key k = fkey(addr, port, proto);

	return bpf_map_lookup_elem(fd_of(f, "frontends"), &k, out);
}

/* Backend id of addr:port, or -1. */
static int backend_id(struct fixture *f, const char *addr, int port)
{
	for (__u32 id = 0; id < BATON_MAX_BACKENDS; id++) {
		struct baton_backend b;
		__be32 a[4] = {};

		assert_int_equal(bpf_map_lookup_elem(fd_of(f, "backends"), &id, &b), 0);
		if (b.family == 0)
			continue;
		if (inet_pton(b.family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, addr, a) != 1)
			continue;
		if (memcmp(a, b.addr, sizeof(a)) == 0 && b.port == htons(port))
			return id;
	}
	return -1;
}

/* The inner map id (0 if none) in the service's table slot of generation gen. */
static __u32 table_id(struct fixture *f, __u32 sid, __u32 gen)
{
	__u32 slot = BATON_MAGLEV_SLOT(sid, gen), inner_id = 0;

	if (bpf_map_lookup_elem(fd_of(f, "maglev"), &slot, &inner_id) < 0)
		return 0;
	return inner_id;
}

/*
 * Reads the active table of the service behind frontend fe (its generation is in the
 * frontend); returns the inner map id (0 if none) and slot counts.
 */
static __u32 read_table(struct fixture *f, const struct baton_frontend *fe, __u32 *counts,
			size_t n_counts)
{
	__u32 inner_id = table_id(f, fe->service_id, !!(fe->flags & BATON_FE_F_GEN1)), m = 0;
	int fd;

	if (inner_id == 0)
		return 0;
	fd = bpf_map_get_fd_by_id(inner_id);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &(__u32){ 0 }, &m), 0);
	assert_int_equal(m, M);
	memset(counts, 0, n_counts * sizeof(*counts));
	for (__u32 i = 1; i <= m; i++) {
		__u32 id;

		assert_int_equal(bpf_map_lookup_elem(fd, &i, &id), 0);
		assert_true(id < n_counts);
		counts[id]++;
	}
	close(fd);
	return inner_id;
}

static void test_apply_fills_maps(void **state)
{
	struct fixture *f = *state;
	struct baton_frontend fe, addr_fe, fe6;
	struct baton_config cfg;
	__u32 counts[16], zero = 0;
	int b1, b2, b3;

	apply(f, cfg_two);

	assert_int_equal(lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &fe), 0);
	assert_int_equal(fe.flags, 0);
	assert_int_equal(lookup_frontend(f, "10.0.0.100", 0, 0, &addr_fe), 0);
	assert_true(addr_fe.flags & BATON_FE_F_ADDR_ONLY);
	assert_int_equal(lookup_frontend(f, "fd00::53", 53, IPPROTO_UDP, &fe6), 0);
	assert_int_not_equal(fe.service_id, fe6.service_id);
	assert_int_not_equal(lookup_frontend(f, "10.0.0.100", 80, IPPROTO_UDP, &fe), 0);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &fe);

	b1 = backend_id(f, "10.1.0.11", 31001);
	b2 = backend_id(f, "10.1.0.12", 31002);
	b3 = backend_id(f, "10.1.0.13", 31003);
	assert_true(b1 >= 0 && b2 >= 0 && b3 >= 0 && b1 < 16 && b2 < 16 && b3 < 16);
	assert_true(backend_id(f, "fd01::1", 5353) >= 0);

	/* Weights 1:1:2 over 1009 slots. */
	assert_int_not_equal(read_table(f, &fe, counts, 16), 0);
	assert_int_equal(counts[b1] + counts[b2] + counts[b3], M);
	assert_in_range(counts[b3], 2 * counts[b1] - 20, 2 * counts[b1] + 20);

	assert_int_equal(bpf_map_lookup_elem(fd_of(f, "config"), &zero, &cfg), 0);
	assert_int_equal(cfg.abi_version, BATON_ABI_VERSION);
	assert_int_equal(cfg.snat_v4, f->set.snat_v4);
	assert_int_equal(cfg.snat_port_max, 32767);
	assert_true(cfg.nr_cpus >= 1);
}

static void test_backend_removal_keeps_ids(void **state)
{
	struct fixture *f = *state;
	struct baton_frontend before, after;
	__u32 counts[16], id_before, id_after;
	int b1, b2, b3;

	apply(f, cfg_two);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &before);
	b1 = backend_id(f, "10.1.0.11", 31001);
	b2 = backend_id(f, "10.1.0.12", 31002);
	b3 = backend_id(f, "10.1.0.13", 31003);
	id_before = read_table(f, &before, counts, 16);

	apply(f, cfg_less);
	assert_int_equal(lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &after), 0);
	assert_int_equal(after.service_id, before.service_id);
	assert_int_equal(backend_id(f, "10.1.0.11", 31001), b1);
	assert_int_equal(backend_id(f, "10.1.0.13", 31003), b3);
	assert_int_equal(backend_id(f, "10.1.0.12", 31002), -1);
	id_after = read_table(f, &after, counts, 16);
	assert_int_not_equal(id_after, id_before); /* the other generation is active now */
	assert_int_not_equal(after.flags & BATON_FE_F_GEN1, before.flags & BATON_FE_F_GEN1);
	assert_int_equal(counts[b2], 0);
	assert_int_equal(counts[b1] + counts[b3], M);

	/* Applying the same thing again rebuilds nothing and flips nothing. */
	apply(f, cfg_less);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &after);
	assert_int_equal(read_table(f, &after, counts, 16), id_after);

	/* The removed backend comes back soon (a task restarted on the same port): it gets
	 * its old id back, so the XDP program's SNAT port walk towards it goes on. */
	apply(f, cfg_two);
	assert_int_equal(backend_id(f, "10.1.0.12", 31002), b2);
}

static void test_service_removal(void **state)
{
	struct fixture *f = *state;
	struct baton_frontend fe6, fe;
	__u32 counts[16];

	apply(f, cfg_two);
	assert_int_equal(lookup_frontend(f, "fd00::53", 53, IPPROTO_UDP, &fe6), 0);
	apply(f, cfg_zero); /* dns6 gone, web left with a weight-0 backend */
	assert_int_not_equal(lookup_frontend(f, "fd00::53", 53, IPPROTO_UDP, &fe), 0);
	assert_int_not_equal(lookup_frontend(f, "fd00::53", 0, 0, &fe), 0);
	assert_int_equal(table_id(f, fe6.service_id, 0), 0);
	assert_int_equal(table_id(f, fe6.service_id, 1), 0);
	assert_int_equal(backend_id(f, "fd01::1", 5353), -1);

	/* No backend with weight: frontend stays (counted drops), no table. */
	assert_int_equal(lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &fe), 0);
	assert_int_equal(read_table(f, &fe, counts, 16), 0);
}

/*
 * A change flips the service to its other table generation. Within RC_REUSE_MS of a
 * flip the standby gets a new inner map (the kernel waits for readers); after it the
 * standby map is refilled in place (no wait) and the frontend flips back to it.
 */
static void test_generations(void **state)
{
	struct fixture *f = *state;
	struct baton_frontend a, b, c, d;
	__u32 counts[16], id0, id1, sid;
	int b2;

	apply(f, cfg_two);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &a);
	sid = a.service_id;
	id0 = table_id(f, sid, 0);
	id1 = table_id(f, sid, 1);
	assert_int_not_equal(id0, 0); /* both generations exist from the start */
	assert_int_not_equal(id1, 0);
	b2 = backend_id(f, "10.1.0.12", 31002);

	/* The standby was never active: refilled in place, then the flip. */
	apply(f, cfg_less);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &b);
	assert_int_not_equal(b.flags & BATON_FE_F_GEN1, a.flags & BATON_FE_F_GEN1);
	assert_int_equal(table_id(f, sid, 0), id0);
	assert_int_equal(table_id(f, sid, 1), id1);
	read_table(f, &b, counts, 16);
	assert_int_equal(counts[b2], 0);

	/* At once again: the standby was active a moment ago, so it gets a new map. */
	apply(f, cfg_two);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &c);
	assert_int_not_equal(c.flags & BATON_FE_F_GEN1, b.flags & BATON_FE_F_GEN1);
	assert_int_not_equal(table_id(f, sid, !!(c.flags & BATON_FE_F_GEN1)),
			     !!(c.flags & BATON_FE_F_GEN1) ? id1 : id0);
	read_table(f, &c, counts, 16);
	assert_true(counts[b2] > 0);

	/* Past RC_REUSE_MS: the standby map is refilled in place, no map replaced. */
	usleep((RC_REUSE_MS + 100) * 1000);
	id0 = table_id(f, sid, 0);
	id1 = table_id(f, sid, 1);
	apply(f, cfg_less);
	lookup_frontend(f, "10.0.0.100", 80, IPPROTO_TCP, &d);
	assert_int_not_equal(d.flags & BATON_FE_F_GEN1, c.flags & BATON_FE_F_GEN1);
	assert_int_equal(table_id(f, sid, 0), id0);
	assert_int_equal(table_id(f, sid, 1), id1);
	read_table(f, &d, counts, 16);
	assert_int_equal(counts[b2], 0);
}

static void test_adopt_keeps_ids(void **state)
{
	struct fixture *f = *state;
	struct reconcile second;
	struct baton_frontend fe_before, fe_after;
	struct config c = {};
	int b3;

	apply(f, cfg_two);
	lookup_frontend(f, "fd00::53", 53, IPPROTO_UDP, &fe_before);
	b3 = backend_id(f, "10.1.0.13", 31003);

	/* A restarted batond: fresh state, same maps. */
	assert_int_equal(reconcile_init(&second, fd_of(f, "frontends"), fd_of(f, "backends"),
					fd_of(f, "maglev"), fd_of(f, "config")),
			 0);
	assert_int_equal(reconcile_adopt(&second), 0);
	assert_int_equal(second.n_services, 2);
	assert_int_equal(second.n_backends, 4);
	parse(cfg_two, &c);
	assert_int_equal(reconcile_apply(&second, &c, &f->set), 0);
	config_free(&c);
	lookup_frontend(f, "fd00::53", 53, IPPROTO_UDP, &fe_after);
	assert_int_equal(fe_after.service_id, fe_before.service_id);
	assert_int_equal(backend_id(f, "10.1.0.13", 31003), b3);
	assert_int_equal(second.n_backends, 4);
	reconcile_free(&second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_fills_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_removal_keeps_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_keeps_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
	};
	struct baton_bpf *probe;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root to load BPF maps\n");
		return 77;
	}
	log_set_level(LOG_LVL_WARN);
	probe = baton_bpf__open_and_load();
	if (probe == NULL) {
		fprintf(stderr, "SKIP: cannot load the XDP object here: %s\n", strerror(errno));
		return 77;
	}
	baton_bpf__destroy(probe);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
