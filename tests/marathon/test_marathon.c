// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon model and services against the shared fixtures
 * (/work/shared/marathon-fixtures, see its SOURCES.md). Every expected service below is
 * written by hand from Marathon-LB's rules (marathon_lb.py get_apps()/config(),
 * utils.py, config.py), not captured from a run: the comment above each table says
 * which rule gives which value.
 *
 * Usage: test_marathon <fixtures dir>; BATON_FIXTURES overrides; exits 77 (skipped)
 * when the directory is missing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fixtures.h"
#include <cjson/cJSON.h>

#include "baton_abi.h"
#include "marathon.h"

static const char *fixtures;

/* ---- helpers ----------------------------------------------------------------------- */

static char *load(const char *rel, size_t *len)
{
	return fixture_read(fixtures, rel, len);
}

struct resolver {
	int calls;
};

/* Agent names used by the fixtures (Marathon docs examples) and by the tests. */
static int fake_resolve(void *ctx, const char *host, __u8 *family, __be32 addr[4])
{
	static const struct {
		const char *name, *addr;
	} t[] = {
		{ "srv4.example.com", "10.0.4.4" },
		{ "srv2.example.com", "10.0.2.2" },
		{ "srv7.hw.ca1.mesosphere.com", "10.0.7.7" },
		{ "agent-v6.example", "2001:db8::6" },
	};
	struct resolver *r = ctx;
	size_t i;

	if (r != NULL)
		r->calls++;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(host, t[i].name) != 0)
			continue;
		memset(addr, 0, 16);
		if (inet_pton(AF_INET, t[i].addr, addr) == 1)
			*family = BATON_FAMILY_V4;
		else if (inet_pton(AF_INET6, t[i].addr, addr) == 1)
			*family = BATON_FAMILY_V6;
		return 0;
	}
	return -ENOENT;
}

static const char *const all_groups[] = { "*" };

static struct marathon_options opts_groups(const char *const *groups, size_t n)
{
	struct marathon_options o = { .groups = groups, .n_groups = n };

	o.resolve = fake_resolve;
	return o;
}

static struct marathon_options opts_all(void)
{
	return opts_groups(all_groups, 1);
}

static void parse_ok(const char *body, size_t len, struct marathon_apps *a,
		     struct marathon_problems *p)
{
	int r = marathon_apps_parse(body, len, a, p);

	if (r != 0)
		fail_msg("parse: %d (%s)", r, p->n ? p->v[0].message : "");
}

static void parse_file(const char *rel, struct marathon_apps *a, struct marathon_problems *p)
{
	size_t len;
	char *body = load(rel, &len);

	parse_ok(body, len, a, p);
	free(body);
}

static void parse_str(const char *s, struct marathon_apps *a, struct marathon_problems *p)
{
	parse_ok(s, strlen(s), a, p);
}

static void build_ok(const struct marathon_apps *a, const struct marathon_options *o,
		     struct marathon_services *s, struct marathon_problems *p)
{
	int r = marathon_services_build(a, o, s, p);

	if (r != 0)
		fail_msg("build: %d", r);
}

static void dump_problems(const struct marathon_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(stderr, "  problem: %s\n", p->v[i].message);
}

/* A problem about app (NULL = any) whose field equals field (NULL = any). */
static bool has_problem(const struct marathon_problems *p, const char *app, const char *field)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (app != NULL && (p->v[i].app_id == NULL || strcmp(p->v[i].app_id, app) != 0))
			continue;
		if (field != NULL && (p->v[i].field == NULL || strcmp(p->v[i].field, field) != 0))
			continue;
		return true;
	}
	return false;
}

static void expect_problem(const struct marathon_problems *p, const char *app, const char *field)
{
	if (!has_problem(p, app, field)) {
		dump_problems(p);
		fail_msg("no problem for app %s field %s", app ? app : "(any)",
			 field ? field : "(any)");
	}
}

static void expect_no_problems(const struct marathon_problems *p)
{
	if (p->n != 0) {
		dump_problems(p);
		fail_msg("%zu unexpected problems", p->n);
	}
}

/* ---- expected services ------------------------------------------------------------- */

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define HTTP MARATHON_MODE_HTTP
#define L4 MARATHON_MODE_TCP

struct eb {
	const char *task, *addr;
	unsigned port, weight;
	bool draining;
};

struct es {
	const char *app_id;
	unsigned idx, port;
	int proto, mode;
	const char *bind;   /* "all" or an address */
	const char *vhosts; /* joined with ",", "" for none */
	const char *path;   /* NULL for none */
	bool sticky;
	const char *groups; /* joined with "," */
	const char *vips;   /* raw values joined with "," */
	size_t nb;
	struct eb b[8];
};

static void join(char *dst, size_t cap, char **v, size_t n)
{
	size_t i, off = 0;

	dst[0] = '\0';
	for (i = 0; i < n && off < cap; i++)
		off += snprintf(dst + off, cap - off, "%s%s", i ? "," : "", v[i]);
}

static void dump_services(const struct marathon_services *s)
{
	char *j = marathon_services_to_json(s, true);

	fprintf(stderr, "%s\n", j ? j : "(no JSON)");
	free(j);
}

#define CHECK(cond, ...)                       \
	do {                                   \
		if (!(cond)) {                 \
			dump_services(s);      \
			fail_msg(__VA_ARGS__); \
		}                              \
	} while (0)

static void expect_services(const struct marathon_services *s, const struct es *e, size_t n)
{
	char buf[1024], a[INET6_ADDRSTRLEN];
	size_t i, j;

	CHECK(s->n == n, "%zu services, expected %zu", s->n, n);
	for (i = 0; i < n; i++) {
		const struct marathon_service *x = &s->v[i];
		const struct es *w = &e[i];

		CHECK(strcmp(x->app_id, w->app_id) == 0, "service %zu: app %s, expected %s", i,
		      x->app_id, w->app_id);
		CHECK(x->port_index == w->idx, "service %zu: index %u, expected %u", i,
		      x->port_index, w->idx);
		CHECK(x->service_port == w->port, "service %zu: port %u, expected %u", i,
		      x->service_port, w->port);
		CHECK(x->protocol == w->proto, "service %zu: protocol %u", i, x->protocol);
		CHECK((int)x->mode == w->mode, "service %zu: mode %d, expected %d", i, x->mode,
		      w->mode);
		if (strcmp(w->bind, "all") == 0) {
			CHECK(x->bind_all, "service %zu: bind not all", i);
		} else {
			CHECK(!x->bind_all, "service %zu: bind all", i);
			inet_ntop(x->bind_family == BATON_FAMILY_V4 ? AF_INET : AF_INET6,
				  x->bind_addr, a, sizeof(a));
			CHECK(strcmp(a, w->bind) == 0, "service %zu: bind %s", i, a);
		}
		join(buf, sizeof(buf), x->vhosts, x->n_vhosts);
		CHECK(strcmp(buf, w->vhosts) == 0, "service %zu: vhosts \"%s\", expected \"%s\"", i,
		      buf, w->vhosts);
		CHECK((x->path == NULL) == (w->path == NULL) &&
			      (w->path == NULL || strcmp(x->path, w->path) == 0),
		      "service %zu: path", i);
		CHECK(x->sticky == w->sticky, "service %zu: sticky", i);
		join(buf, sizeof(buf), x->groups, x->n_groups);
		CHECK(strcmp(buf, w->groups) == 0, "service %zu: groups \"%s\", expected \"%s\"", i,
		      buf, w->groups);
		buf[0] = '\0';
		for (j = 0; j < x->n_vips; j++) {
			strcat(buf, j ? "," : "");
			strcat(buf, x->vips[j].raw);
		}
		CHECK(strcmp(buf, w->vips) == 0, "service %zu: vips \"%s\", expected \"%s\"", i,
		      buf, w->vips);
		CHECK(x->n_backends == w->nb, "service %zu: %zu backends, expected %zu", i,
		      x->n_backends, w->nb);
		for (j = 0; j < w->nb; j++) {
			const struct marathon_backend *b = &x->backends[j];

			inet_ntop(b->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, b->addr, a,
				  sizeof(a));
			CHECK(strcmp(b->task_id, w->b[j].task) == 0,
			      "service %zu backend %zu: task %s, expected %s", i, j, b->task_id,
			      w->b[j].task);
			CHECK(strcmp(a, w->b[j].addr) == 0 && b->port == w->b[j].port,
			      "service %zu backend %zu: %s:%u, expected %s:%u", i, j, a, b->port,
			      w->b[j].addr, w->b[j].port);
			CHECK(b->weight == w->b[j].weight && b->draining == w->b[j].draining,
			      "service %zu backend %zu: weight %u draining %d", i, j, b->weight,
			      b->draining);
		}
	}
}

/* Parse a fixture, build with o, compare with e[n]; no problems expected. */
static void check_file(const char *rel, const struct marathon_options *o, const struct es *e,
		       size_t n)
{
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	parse_file(rel, &a, &p);
	build_ok(&a, o, &s, &p);
	expect_services(&s, e, n);
	expect_no_problems(&p);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* ---- apps/ fixtures ---------------------------------------------------------------- */

/*
 * mlb_zdd_apps.json: /nginx-green and /nginx-blue share HAPROXY_DEPLOYMENT_GROUP
 * "nginx", so get_apps() merges them into one app "/nginx". Blue started later
 * (HAPROXY_DEPLOYMENT_STARTED_AT 14:57 > 14:13) so green is "old" and keeps its
 * definition: BRIDGE network -> portMappings servicePort 10000, HAPROXY_0_PORT 10000,
 * HTTP health check on portIndex 0 -> mode http, HAPROXY_GROUP external. No
 * HAPROXY_DEPLOYMENT_NEW_INSTANCES -> target 1; blue has 1 alive task -> healthy 1;
 * drainable = 1 + 3 (green instances) - 1 = 3 -> min(3 old tasks, 1, 3) = 1 old task
 * drains: the first green task by id (0dbabba6). Bridge mode: agent host + host port.
 */
static const struct es zdd_apps[] = {
	{ "/nginx",
	  0,
	  10000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "external",
	  "",
	  4,
	  { { "nginx-blue.3a58a46a-c937-11e5-9836-026ee08d9f6f", "10.0.1.147", 25724, 1, false },
	    { "nginx-green.0dbabba6-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 31184, 0, true },
	    { "nginx-green.1883a887-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 16916, 1, false },
	    { "nginx-green.23532518-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 23336, 1,
	      false } } },
};

static void test_zdd_apps(void **state)
{
	static const char *const external[] = { "external" }, *const internal[] = { "internal" };
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	const struct marathon_app *g;

	check_file("apps/mlb_zdd_apps.json", &o, zdd_apps, 1);
	o = opts_groups(external, 1);
	check_file("apps/mlb_zdd_apps.json", &o, zdd_apps, 1);
	o.health_check = true; /* every task has an alive result */
	check_file("apps/mlb_zdd_apps.json", &o, zdd_apps, 1);
	o = opts_groups(internal, 1);
	check_file("apps/mlb_zdd_apps.json", &o, NULL, 0);
	o = opts_all();
	o.strict_mode = true; /* no HAPROXY_0_ENABLED */
	check_file("apps/mlb_zdd_apps.json", &o, NULL, 0);

	/* The model keeps the two Marathon apps; merging happens when services are built. */
	parse_file("apps/mlb_zdd_apps.json", &a, &p);
	assert_int_equal(a.n, 2);
	g = marathon_apps_find(&a, "/nginx-green");
	assert_non_null(g);
	assert_int_equal(g->mode, MARATHON_NET_BRIDGE);
	assert_int_equal(g->n_tasks, 3);
	assert_int_equal(g->n_port_maps, 1);
	assert_int_equal(g->port_maps[0].port, 10000);
	assert_int_equal(g->port_maps[0].container_port, 8080);
	assert_int_equal(g->n_checks, 1);
	assert_int_equal(g->checks[0].protocol, MARATHON_HC_HTTP);
	assert_int_equal(g->tasks[0].state, MARATHON_TASK_NONE);
	assert_int_equal(g->tasks[0].health, MARATHON_HEALTH_ALIVE);
	build_ok(&a, &o, &s, &p);
	/* Labels Marathon-LB knows and Baton does not use, once each. */
	assert_int_equal(s.n_unused_labels, 3);
	assert_string_equal(s.unused_labels[0], "HAPROXY_APP_ID");
	assert_string_equal(s.unused_labels[1], "HAPROXY_DEPLOYMENT_ALT_PORT");
	assert_string_equal(s.unused_labels[2], "HAPROXY_DEPLOYMENT_COLOUR");
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/*
 * mlb_zdd_app_blue.json (Marathon 1.4 shape) and mlb_zdd_app_blue_marathon1.5.json:
 * one app /nginx-green in deployment group "nginx" -> app "/nginx", nothing to drain.
 * 1.4: container.docker.network BRIDGE + docker.portMappings; 1.5: networks
 * container/bridge + container.portMappings. Both: service port 10000, agent
 * 10.0.6.25 with host ports 16916, 31184, 23336 -> the same frontend and backends.
 * The task ids differ (re-captured), and so does the mode: MarathonService.__init__
 * turns http on only for protocol "HTTP", and the 1.5 capture has "MESOS_HTTP".
 */
static const struct es blue14[] = {
	{ "/nginx",
	  0,
	  10000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "external",
	  "",
	  3,
	  { { "nginx-green.0dbabba6-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 31184, 1, false },
	    { "nginx-green.1883a887-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 16916, 1, false },
	    { "nginx-green.23532518-c931-11e5-9836-026ee08d9f6f", "10.0.6.25", 23336, 1,
	      false } } },
};

static const struct es blue15[] = {
	{ "/nginx",
	  0,
	  10000,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "external",
	  "",
	  3,
	  { { "nginx-green.01bf22d4-68a7-11e7-a229-e6a514ca0c21", "10.0.6.25", 23336, 1, false },
	    { "nginx-green.01da9a15-68a7-11e7-a229-e6a514ca0c21", "10.0.6.25", 16916, 1, false },
	    { "nginx-green.01dc95e6-68a7-11e7-a229-e6a514ca0c21", "10.0.6.25", 31184, 1,
	      false } } },
};

static int endpoint_cmp(const void *pa, const void *pb)
{
	const struct marathon_backend *a = pa, *b = pb;
	int r = memcmp(a->addr, b->addr, 16);

	return r ? r : (int)a->port - (int)b->port;
}

static void test_zdd_blue_14_vs_15(void **state)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s14 = { 0 }, s15 = { 0 };
	struct marathon_apps a14 = { 0 }, a15 = { 0 };
	size_t i;

	check_file("apps/mlb_zdd_app_blue.json", &o, blue14, 1);
	check_file("apps/mlb_zdd_app_blue_marathon1.5.json", &o, blue15, 1);
	o.health_check = true; /* 1.4 results carry taskId, 1.5 instanceId: all alive */
	check_file("apps/mlb_zdd_app_blue.json", &o, blue14, 1);
	check_file("apps/mlb_zdd_app_blue_marathon1.5.json", &o, blue15, 1);

	/* Same frontend, same backend endpoints and weights, whatever the syntax. */
	parse_file("apps/mlb_zdd_app_blue.json", &a14, &p);
	parse_file("apps/mlb_zdd_app_blue_marathon1.5.json", &a15, &p);
	assert_int_equal(marathon_apps_find(&a14, "/nginx-green")->mode, MARATHON_NET_BRIDGE);
	assert_int_equal(marathon_apps_find(&a15, "/nginx-green")->mode, MARATHON_NET_BRIDGE);
	build_ok(&a14, &o, &s14, &p);
	build_ok(&a15, &o, &s15, &p);
	assert_int_equal(s14.n, 1);
	assert_int_equal(s15.n, 1);
	assert_string_equal(s14.v[0].app_id, s15.v[0].app_id);
	assert_int_equal(s14.v[0].service_port, s15.v[0].service_port);
	assert_int_equal(s14.v[0].protocol, s15.v[0].protocol);
	assert_int_equal(s14.v[0].bind_all, s15.v[0].bind_all);
	assert_int_equal(s14.v[0].n_backends, s15.v[0].n_backends);
	qsort(s14.v[0].backends, s14.v[0].n_backends, sizeof(struct marathon_backend),
	      endpoint_cmp);
	qsort(s15.v[0].backends, s15.v[0].n_backends, sizeof(struct marathon_backend),
	      endpoint_cmp);
	for (i = 0; i < s14.v[0].n_backends; i++) {
		assert_int_equal(endpoint_cmp(&s14.v[0].backends[i], &s15.v[0].backends[i]), 0);
		assert_int_equal(s14.v[0].backends[i].weight, s15.v[0].backends[i].weight);
	}
	assert_int_equal(s14.v[0].mode, MARATHON_MODE_HTTP);
	assert_int_equal(s15.v[0].mode, MARATHON_MODE_TCP);
	expect_no_problems(&p);
	marathon_services_free(&s14);
	marathon_services_free(&s15);
	marathon_apps_free(&a14);
	marathon_apps_free(&a15);
	marathon_problems_free(&p);
}

/*
 * mlb_marathon15_apps.json: networks container/bridge, container.portMappings
 * servicePort 10101 -> service port 10101; HAPROXY_0_VHOST and no MODE -> http;
 * HAPROXY_GROUP external; agent 10.0.2.148, host port 1565.
 */
static const struct es m15[] = {
	{ "/pywebserver",
	  0,
	  10101,
	  TCP,
	  HTTP,
	  "all",
	  "myvhost.com",
	  NULL,
	  false,
	  "external",
	  "",
	  1,
	  { { "pywebserver.8cad6a69-6ca8-11e7-beb2-0e2beceebfcc", "10.0.2.148", 1565, 1,
	      false } } },
};

static void test_marathon15_apps(void **state)
{
	static const char *const external[] = { "external" }, *const other[] = { "other" };
	struct marathon_options o = opts_all();

	check_file("apps/mlb_marathon15_apps.json", &o, m15, 1);
	o = opts_groups(external, 1);
	check_file("apps/mlb_marathon15_apps.json", &o, m15, 1);
	o.health_check = true; /* no health checks: not filtered */
	check_file("apps/mlb_marathon15_apps.json", &o, m15, 1);
	o = opts_groups(other, 1);
	check_file("apps/mlb_marathon15_apps.json", &o, NULL, 0);
}

/*
 * marathon-consul_apps.json: BRIDGE with two portMappings; only the first has a
 * servicePort (9000), and get_service_ports() drops the missing one -> one service.
 * HTTP check on portIndex 0 -> http. No HAPROXY_GROUP -> only "*" selects it. Agent
 * 192.168.2.114 + host ports. --health-check: the second task has no
 * healthCheckResults (and no cached result) -> dropped.
 */
static const struct es consul_apps[] = {
	{ "/bridged-webapp",
	  0,
	  9000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  2,
	  { { "test.4453212c-1a81-11e5-bdb6-e6cb6734eaf8", "192.168.2.114", 31797, 1, false },
	    { "test.47de43bd-1a81-11e5-bdb6-e6cb6734eaf8", "192.168.2.114", 31315, 1, false } } },
};

static const struct es consul_apps_hc[] = {
	{ "/bridged-webapp",
	  0,
	  9000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "test.47de43bd-1a81-11e5-bdb6-e6cb6734eaf8", "192.168.2.114", 31315, 1, false } } },
};

static void test_consul_apps(void **state)
{
	static const char *const external[] = { "external" };
	struct marathon_options o = opts_all();

	check_file("apps/marathon-consul_apps.json", &o, consul_apps, 1);
	o.health_check = true;
	check_file("apps/marathon-consul_apps.json", &o, consul_apps_hc, 1);
	o = opts_groups(external, 1);
	check_file("apps/marathon-consul_apps.json", &o, NULL, 0);
}

/*
 * marathon-consul_app.json ({"app": ...}): host networking, legacy "ports"
 * [10002, 1, 2, 3] -> four services. get_health_check(): port 0 finds the check with
 * portIndex 0 (HTTP); ports 1..3 find the second check because it has a "port"
 * (8123), which matches any index -> all http. Agent 10.141.141.10 + task port n.
 */
#define CONSUL_APP(i, sp, p1, p2)                                                                  \
	{                                                                                          \
		"/myapp", i, sp, TCP, HTTP, "all", "", NULL, false, "", "", 2,                     \
		{                                                                                  \
			{ "myapp.c8b449f0-9812-11e5-a06e-56847afe9799", "10.141.141.10", p1, 1,    \
			  false },                                                                 \
			{                                                                          \
				"myapp.cc49ccc1-9812-11e5-a06e-56847afe9799", "10.141.141.10", p2, \
					1, false                                                   \
			}                                                                          \
		}                                                                                  \
	}

static const struct es consul_app[] = {
	CONSUL_APP(0, 10002, 31307, 31678),
	CONSUL_APP(1, 1, 31308, 31679),
	CONSUL_APP(2, 2, 31309, 31680),
	CONSUL_APP(3, 3, 31310, 31681),
};

static void test_consul_app(void **state)
{
	struct marathon_options o = opts_all();

	check_file("apps/marathon-consul_app.json", &o, consul_app, 4);
	o.health_check = true; /* both tasks alive */
	check_file("apps/marathon-consul_app.json", &o, consul_app, 4);
}

/*
 * marathon-docs_app_list.json: legacy ports [10013, 10015] but no tasks: Marathon-LB
 * drops services without backends; keep_empty keeps them (tcp: no checks, no vhost).
 */
static const struct es docs_list_empty[] = {
	{ "/myapp", 0, 10013, TCP, L4, "all", "", NULL, false, "", "", 0, { { 0 } } },
	{ "/myapp", 1, 10015, TCP, L4, "all", "", NULL, false, "", "", 0, { { 0 } } },
};

static void test_docs_app_list(void **state)
{
	struct marathon_options o = opts_all();

	check_file("apps/marathon-docs_app_list.json", &o, NULL, 0);
	o.keep_empty = true;
	check_file("apps/marathon-docs_app_list.json", &o, docs_list_empty, 2);
}

/*
 * HAPROXY_DEPLOYMENT_* rules on a synthetic pair. Blue started first, green is the new
 * deployment with HAPROXY_DEPLOYMENT_NEW_INSTANCES and TARGET_INSTANCES 3: one green
 * task is alive -> healthy 1, drainable 1 + 3 (blue instances) - 3 = 1 -> the first blue
 * task by id drains. The merged app keeps blue's definition (no vhost).
 * With blue's lastScalingAt later than green's, the two swap roles: green is old (its
 * vhost shows), blue new with TARGET 4; the checks counted are green's ("cur"): 3 blue
 * tasks alive, drainable 3 + 2 - 4 = 1 -> g.1 drains.
 */
static const char zdd_pair[] =
	"{\"apps\": ["
	"{\"id\": \"/web-blue\", \"instances\": 3, \"ports\": [10000],"
	" \"labels\": {\"HAPROXY_DEPLOYMENT_GROUP\": \"web\","
	"  \"HAPROXY_DEPLOYMENT_STARTED_AT\": \"2017-01-01T10:00:00+10:00\","
	"  \"HAPROXY_DEPLOYMENT_TARGET_INSTANCES\": \"4\"},"
	" \"versionInfo\": {\"lastScalingAt\": \"%s\"},"
	" \"healthChecks\": [{\"protocol\": \"TCP\", \"portIndex\": 0}],"
	" \"tasks\": ["
	"  {\"id\": \"b.2\", \"host\": \"10.0.0.2\", \"ports\": [2], \"healthCheckResults\": [{\"alive\": true}]},"
	"  {\"id\": \"b.1\", \"host\": \"10.0.0.1\", \"ports\": [1], \"healthCheckResults\": [{\"alive\": true}]},"
	"  {\"id\": \"b.3\", \"host\": \"10.0.0.3\", \"ports\": [3], \"healthCheckResults\": [{\"alive\": true}]}]},"
	"{\"id\": \"/web-green\", \"instances\": 2, \"ports\": [10000],"
	" \"labels\": {\"HAPROXY_DEPLOYMENT_GROUP\": \"/web\", \"HAPROXY_0_VHOST\": \"green.example\","
	"  \"HAPROXY_DEPLOYMENT_STARTED_AT\": \"2017-01-02T00:00:00Z\","
	"  \"HAPROXY_DEPLOYMENT_NEW_INSTANCES\": \"2\", \"HAPROXY_DEPLOYMENT_TARGET_INSTANCES\": \"3\"},"
	" \"versionInfo\": {\"lastScalingAt\": \"2017-01-02T00:00:05.000Z\"},"
	" \"healthChecks\": [{\"protocol\": \"TCP\", \"portIndex\": 0}],"
	" \"tasks\": ["
	"  {\"id\": \"g.1\", \"host\": \"10.0.1.1\", \"ports\": [11], \"healthCheckResults\": [{\"alive\": true}]},"
	"  {\"id\": \"g.2\", \"host\": \"10.0.1.2\", \"ports\": [12], \"healthCheckResults\": [{\"alive\": false}]}]}"
	"]}";

static void test_zdd_merge_rules(void **state)
{
	static const struct es blue_old[] = {
		{ "/web",
		  0,
		  10000,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  5,
		  { { "b.1", "10.0.0.1", 1, 0, true },
		    { "b.2", "10.0.0.2", 2, 1, false },
		    { "b.3", "10.0.0.3", 3, 1, false },
		    { "g.1", "10.0.1.1", 11, 1, false },
		    { "g.2", "10.0.1.2", 12, 1, false } } },
	};
	static const struct es blue_old_hc[] = {
		{ "/web",
		  0,
		  10000,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  4,
		  { { "b.1", "10.0.0.1", 1, 0, true },
		    { "b.2", "10.0.0.2", 2, 1, false },
		    { "b.3", "10.0.0.3", 3, 1, false },
		    { "g.1", "10.0.1.1", 11, 1, false } } },
	};
	static const struct es green_old[] = {
		{ "/web",
		  0,
		  10000,
		  TCP,
		  HTTP,
		  "all",
		  "green.example",
		  NULL,
		  false,
		  "",
		  "",
		  5,
		  { { "b.1", "10.0.0.1", 1, 1, false },
		    { "b.2", "10.0.0.2", 2, 1, false },
		    { "b.3", "10.0.0.3", 3, 1, false },
		    { "g.1", "10.0.1.1", 11, 0, true },
		    { "g.2", "10.0.1.2", 12, 1, false } } },
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	char body[sizeof(zdd_pair) + 64];

	snprintf(body, sizeof(body), zdd_pair, "2017-01-01T00:00:00.000Z");
	parse_str(body, &a, &p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, blue_old, 1);
	marathon_services_free(&s);
	o.health_check = true;
	build_ok(&a, &o, &s, &p);
	expect_services(&s, blue_old_hc, 1);
	marathon_services_free(&s);
	marathon_apps_free(&a);

	snprintf(body, sizeof(body), zdd_pair, "2017-01-03T00:00:00Z");
	parse_str(body, &a, &p);
	o.health_check = false;
	build_ok(&a, &o, &s, &p);
	expect_services(&s, green_old, 1);
	expect_no_problems(&p);
	marathon_services_free(&s);
	marathon_apps_free(&a);

	/* An unreadable lastScalingAt is a problem and does not swap. */
	snprintf(body, sizeof(body), zdd_pair, "yesterday");
	parse_str(body, &a, &p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, blue_old, 1);
	expect_problem(&p, "/web-blue", "versionInfo.lastScalingAt");
	assert_int_equal(p.n, 1);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* ---- groups/ fixtures -------------------------------------------------------------- */

/*
 * dcos-ui_healthy-tasks_groups.json: host networking with portDefinitions, which win
 * over "ports". /confluent-kafka: ports 10001 ("health") and 1 ("api"); its HTTP
 * check (portIndex 0, no "port") makes only port 0 http. /no-healthcheck: 10000 tcp.
 */
static const struct es healthy_groups[] = {
	{ "/confluent-kafka",
	  0,
	  10001,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "confluent-kafka.instance-825e1e2e-d6a6-11e6-a564-8605ecf0a9df._app.1", "10.0.2.121",
	      24348, 1, false } } },
	{ "/confluent-kafka",
	  1,
	  1,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "confluent-kafka.instance-825e1e2e-d6a6-11e6-a564-8605ecf0a9df._app.1", "10.0.2.121",
	      24349, 1, false } } },
	{ "/no-healthcheck",
	  0,
	  10000,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "no-healthcheck.7d61432d-d6a6-11e6-a564-8605ecf0a9df", "10.0.2.121", 29557, 1,
	      false } } },
};

static void test_groups_healthy(void **state)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_apps a = { 0 };

	check_file("groups/dcos-ui_healthy-tasks_groups.json", &o, healthy_groups, 3);
	o.health_check = true;
	check_file("groups/dcos-ui_healthy-tasks_groups.json", &o, healthy_groups, 3);

	parse_file("groups/dcos-ui_healthy-tasks_groups.json", &a, &p);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.v[0].n_port_defs, 2);
	assert_string_equal(a.v[0].port_defs[0].name, "health");
	assert_int_equal(a.v[0].port_defs[1].protocols, MARATHON_PROTO_TCP);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/*
 * dcos-ui_marathon-1-task_groups.json, apps nested in groups: /net runs on the
 * container network "dcos" (networks mode container) -> IP-per-task: the task address
 * 9.0.2.130 and the container port 10; service port 10000 from portMappings, whose
 * labels carry VIP_0 "notnet:1234" (a named VIP). /sleep (portDefinitions 125 wins over
 * ports 10000) and /unhealthy-sleep (ports 10000) have no tasks.
 */
static const struct es one_task[] = {
	{ "/net",
	  0,
	  10000,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "notnet:1234",
	  1,
	  { { "net.c0a40ad4-b294-11e8-a6fa-e2d3821ae5ef", "9.0.2.130", 10, 1, false } } },
};

static const struct es one_task_empty[] = {
	{ "/net",
	  0,
	  10000,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "notnet:1234",
	  1,
	  { { "net.c0a40ad4-b294-11e8-a6fa-e2d3821ae5ef", "9.0.2.130", 10, 1, false } } },
	{ "/sleep",
	  0,
	  125,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "/new-service-1:126",
	  0,
	  { { 0 } } },
	{ "/unhealthy-sleep", 0, 10000, TCP, L4, "all", "", NULL, false, "", "", 0, { { 0 } } },
};

static void test_groups_one_task(void **state)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	check_file("groups/dcos-ui_marathon-1-task_groups.json", &o, one_task, 1);
	o.health_check = true; /* /net has no health checks: its empty results do not matter */
	check_file("groups/dcos-ui_marathon-1-task_groups.json", &o, one_task, 1);
	o.keep_empty = true;
	/* /sleep and /unhealthy-sleep both claim frontend 10000/tcp with /net: kept first */
	parse_file("groups/dcos-ui_marathon-1-task_groups.json", &a, &p);
	assert_int_equal(a.n, 3);
	assert_int_equal(marathon_apps_find(&a, "/net")->mode, MARATHON_NET_CONTAINER);
	assert_int_equal(marathon_apps_find(&a, "/sleep")->mode, MARATHON_NET_HOST);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, one_task_empty, 2);
	expect_problem(&p, "/unhealthy-sleep", NULL);
	assert_true(s.v[0].vips[0].is_name);
	assert_string_equal(s.v[0].vips[0].name, "notnet");
	assert_int_equal(s.v[0].vips[0].port, 1234);
	assert_true(s.v[1].vips[0].is_name);
	assert_string_equal(s.v[1].vips[0].name, "/new-service-1");
	assert_int_equal(s.v[1].vips[0].port, 126);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* ---- tasks/ fixtures --------------------------------------------------------------- */

static void parse_tasks_str(const char *body, struct marathon_task_list *t)
{
	struct marathon_problems p = { 0 };

	if (marathon_tasks_parse(body, strlen(body), t, &p) != 0)
		fail_msg("tasks parse failed: %s", p.n ? p.v[0].message : "");
	expect_no_problems(&p);
	marathon_problems_free(&p);
}

static void parse_tasks_file(const char *rel, struct marathon_task_list *t)
{
	size_t len;
	char *body = load(rel, &len);

	parse_tasks_str(body, t);
	free(body);
}

static const char *ip_str(const struct marathon_ip *ip, char *dst)
{
	return inet_ntop(ip->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, ip->addr, dst,
			 INET6_ADDRSTRLEN);
}

/* Feeds tasks into a model as status updates (and health events), as batond would. */
static void feed_tasks(struct marathon_apps *a, const struct marathon_task_list *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		static const char *const names[] = {
			[MARATHON_TASK_NONE] = "TASK_RUNNING",
			[MARATHON_TASK_STAGING] = "TASK_STAGING",
			[MARATHON_TASK_RUNNING] = "TASK_RUNNING",
			[MARATHON_TASK_LOST] = "TASK_LOST",
		};
		struct marathon_status_update u = {
			.app_id = t->v[i].app_id,
			.task_id = t->v[i].id,
			.state = names[t->v[i].state],
			.host = t->v[i].host,
			.ports = t->v[i].ports,
			.n_ports = t->v[i].n_ports,
			.has_ports = true,
			.ips = t->v[i].ips,
			.n_ips = t->v[i].n_ips,
			.has_ips = true,
		};
		struct marathon_health_update h = {
			.app_id = t->v[i].app_id,
			.task_id = t->v[i].id,
			.alive = t->v[i].health == MARATHON_HEALTH_ALIVE,
		};

		assert_non_null(u.state);
		assert_true(marathon_apply_status(a, &u) >= 0);
		if (t->v[i].health != MARATHON_HEALTH_UNKNOWN)
			assert_true(marathon_apply_health(a, &h) >= 0);
	}
}

/*
 * openwhisk: /myapp (host networking, agent 192.168.99.100). Marathon-LB would serve
 * the three TASK_LOST tasks too ("let's be optimistic"); Baton serves TASK_RUNNING
 * only, as its Marathon sync issue asks, with or without --health-check (the lost
 * ones are dead anyway).
 */
static const struct es openwhisk_all[] = {
	{ "/myapp",
	  0,
	  10000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  3,
	  { { "myapp.87c04dc5-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11089, 1, false },
	    { "myapp.87e1b876-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11170, 1, false },
	    { "myapp.87e42977-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11199, 1, false } } },
};

static const struct es openwhisk_hc[] = {
	{ "/myapp",
	  0,
	  10000,
	  TCP,
	  HTTP,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  3,
	  { { "myapp.87c04dc5-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11089, 1, false },
	    { "myapp.87e1b876-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11170, 1, false },
	    { "myapp.87e42977-c8a7-11e7-88f7-426b1ccedef6", "192.168.99.100", 11199, 1, false } } },
};

/*
 * marathon-docs_tasks.json: agents by name, resolved through the callback (fake:
 * srv4 -> 10.0.4.4, srv2 -> 10.0.2.2); the apps only exist in the model below.
 */
static const struct es docs_tasks[] = {
	{ "/frontend-foosball",
	  0,
	  10019,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b", "10.0.4.4", 31292, 1,
	      false } } },
	{ "/tools/docker/registry",
	  0,
	  5000,
	  TCP,
	  L4,
	  "all",
	  "",
	  NULL,
	  false,
	  "",
	  "",
	  1,
	  { { "tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed", "10.0.2.2", 31721, 1,
	      false } } },
};

static void test_tasks_fixtures(void **state)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_task_list t = { 0 };
	struct marathon_apps a = { 0 };
	struct resolver rc = { 0 };
	char ip[INET6_ADDRSTRLEN], *body, *wrapped;
	const char *end;
	cJSON *root, *tasks, *one, *task;
	size_t len, i;

	parse_tasks_file("tasks/marathon-consul_tasks.json", &t);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.v[0].id, "test.47de43bd-1a81-11e5-bdb6-e6cb6734eaf8");
	assert_string_equal(t.v[0].app_id, "/test");
	assert_string_equal(t.v[0].host, "192.168.2.114");
	assert_int_equal(t.v[0].n_ports, 1);
	assert_int_equal(t.v[0].ports[0], 31315);
	assert_int_equal(t.v[0].state, MARATHON_TASK_NONE);
	assert_int_equal(t.v[0].health, MARATHON_HEALTH_ALIVE);
	assert_int_equal(t.v[1].health, MARATHON_HEALTH_UNKNOWN);
	marathon_tasks_free(&t);

	parse_tasks_file("tasks/marathon-docs_app_tasks.json", &t);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].state, MARATHON_TASK_STAGING);
	assert_string_equal(t.v[0].host, "srv7.hw.ca1.mesosphere.com");
	marathon_tasks_free(&t);

	parse_tasks_file("tasks/openwhisk_v2_apps_myapp_tasks.json", &t);
	assert_int_equal(t.n, 6);
	for (i = 0; i < t.n; i++) {
		bool lost = t.v[i].state == MARATHON_TASK_LOST;

		assert_true(lost || t.v[i].state == MARATHON_TASK_RUNNING);
		assert_int_equal(t.v[i].health,
				 lost ? MARATHON_HEALTH_DEAD : MARATHON_HEALTH_ALIVE);
		assert_int_equal(t.v[i].n_ips, lost ? 0 : 1);
	}
	assert_string_equal(ip_str(&t.v[2].ips[0], ip), "172.17.0.4");
	parse_str("{\"apps\":[{\"id\":\"/myapp\",\"ports\":[10000],\"healthChecks\":"
		  "[{\"protocol\":\"HTTP\",\"portIndex\":0}]}]}",
		  &a, &p);
	feed_tasks(&a, &t);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, openwhisk_all, 1);
	marathon_services_free(&s);
	o.health_check = true;
	build_ok(&a, &o, &s, &p);
	expect_services(&s, openwhisk_hc, 1);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_tasks_free(&t);
	expect_no_problems(&p);

	parse_tasks_file("tasks/marathon-docs_tasks.json", &t);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].n_service_ports, 1);
	assert_int_equal(t.v[0].service_ports[0], 10019);
	parse_str("{\"apps\":[{\"id\":\"/frontend-foosball\",\"ports\":[10019]},"
		  "{\"id\":\"/tools/docker/registry\",\"ports\":[5000]}]}",
		  &a, &p);
	feed_tasks(&a, &t);
	o = opts_all();
	o.resolve_ctx = &rc;
	build_ok(&a, &o, &s, &p);
	expect_services(&s, docs_tasks, 2);
	assert_int_equal(rc.calls, 2); /* once per distinct host */
	marathon_services_free(&s);
	/* Without a resolver, named agents cannot be reached: dropped, reported per host. */
	o.resolve = NULL;
	build_ok(&a, &o, &s, &p);
	assert_int_equal(s.n, 0);
	expect_problem(&p, "/frontend-foosball", "host");
	expect_problem(&p, "/tools/docker/registry", "host");
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_tasks_free(&t);
	marathon_problems_free(&p);

	/* A single task object (dcos task show), wrapped into a list. */
	body = load("tasks/zdd-lab_task_show.json", &len);
	wrapped = malloc(len + 32);
	assert_non_null(wrapped);
	sprintf(wrapped, "{\"tasks\":[%s]}", body);
	parse_tasks_str(wrapped, &t);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].state, MARATHON_TASK_RUNNING);
	assert_string_equal(t.v[0].host, "10.0.3.193");
	assert_int_equal(t.v[0].ports[0], 1765);
	assert_int_equal(t.v[0].service_ports[0], 10000);
	assert_string_equal(ip_str(&t.v[0].ips[0], ip), "10.0.3.193");
	marathon_tasks_free(&t);
	free(wrapped);
	free(body);

	/* Concatenated healthCheckResults objects: each becomes a task with that result. */
	body = load("tasks/zdd-lab_healthCheckResults_stream.jsonl-ish.txt", &len);
	root = cJSON_CreateObject();
	tasks = cJSON_AddArrayToObject(root, "tasks");
	for (end = body; *end != '\0';) {
		while (*end == '\n' || *end == ' ')
			end++;
		if (*end == '\0')
			break;
		one = cJSON_ParseWithOpts(end, &end, 0);
		assert_non_null(one);
		task = cJSON_CreateObject();
		cJSON_AddStringToObject(task, "id",
					cJSON_GetObjectItem(one, "taskId")->valuestring);
		cJSON_AddItemToObject(task, "healthCheckResults", cJSON_CreateArray());
		cJSON_AddItemToArray(cJSON_GetObjectItem(task, "healthCheckResults"), one);
		cJSON_AddItemToArray(tasks, task);
	}
	wrapped = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	parse_tasks_str(wrapped, &t);
	assert_int_equal(t.n, 4);
	for (i = 0; i < t.n; i++)
		assert_int_equal(t.v[i].health, MARATHON_HEALTH_ALIVE);
	marathon_tasks_free(&t);
	free(wrapped);
	free(body);
}

/* ---- app-definitions/ (POST bodies: network forms and labels) ---------------------- */

static void parse_definition(const char *rel, struct marathon_apps *a)
{
	struct marathon_problems p = { 0 };
	size_t len;
	char *body = load(rel, &len), *wrapped = malloc(len + 16);

	assert_non_null(wrapped);
	sprintf(wrapped, "{\"app\":%s}", body);
	parse_str(wrapped, a, &p);
	assert_int_equal(a->n, 1);
	expect_no_problems(&p);
	marathon_problems_free(&p);
	free(wrapped);
	free(body);
}

static void test_app_definitions(void **state)
{
	/* utils.py get_app_networking_mode(): the last of ipAddress, docker.network, networks */
	static const struct {
		const char *file;
		enum marathon_net_mode mode;
	} t[] = {
		{ "mlb_ci_backends_docker_bridge.json", MARATHON_NET_BRIDGE },
		{ "mlb_ci_backends_docker_host.json", MARATHON_NET_HOST },
		{ "mlb_ci_backends_docker_ippc.json", MARATHON_NET_CONTAINER },
		{ "mlb_ci_backends_ucr_bridge.json", MARATHON_NET_BRIDGE },
		{ "mlb_ci_backends_ucr_host.json", MARATHON_NET_HOST },
		{ "mlb_ci_backends_ucr_ippc.json", MARATHON_NET_CONTAINER },
		{ "mlb_ci_backends_1.9_docker_bridge.json", MARATHON_NET_BRIDGE },
		/* networks [container/bridge] comes last and wins over docker HOST / USER */
		{ "mlb_ci_backends_1.9_docker_host.json", MARATHON_NET_BRIDGE },
		{ "mlb_ci_backends_1.9_docker_ippc.json", MARATHON_NET_BRIDGE },
		{ "mlb_ci_backends_1.9_ucr_host.json", MARATHON_NET_BRIDGE },
		{ "mlb_tests_1-nginx.json", MARATHON_NET_BRIDGE },
		{ "mlb_tests_1-nginx-marathon1.5.json", MARATHON_NET_BRIDGE },
		{ "dcos-vagrant_oinker.json", MARATHON_NET_BRIDGE },
		{ "dcos-vagrant_minuteman.json", MARATHON_NET_HOST },
		/* ipAddress says container, then docker.network BRIDGE */
		{ "marathon-docs_app.json", MARATHON_NET_BRIDGE },
	};
	static const __u16 port31000[] = { 31000 };
	struct marathon_ip task_ip = { BATON_FAMILY_V4, { 0 } };
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	struct marathon_status_update u = {
		.task_id = "t.1",
		.state = "TASK_RUNNING",
		.host = "10.0.0.1",
		.ports = port31000,
		.n_ports = 1,
		.has_ports = true,
		.ips = &task_ip,
		.n_ips = 1,
		.has_ips = true,
	};
	char path[256];
	size_t i;

	inet_pton(AF_INET, "10.0.0.5", task_ip.addr);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(path, sizeof(path), "app-definitions/%s", t[i].file);
		parse_definition(path, &a);
		if (a.v[0].mode != t[i].mode)
			fail_msg("%s: mode %d, expected %d", t[i].file, a.v[0].mode, t[i].mode);
		marathon_apps_free(&a);
	}

	/*
	 * docker_host: portDefinitions port 0 (unassigned), HAPROXY_0_PORT 10300 gives the
	 * frontend, HAPROXY_0_VHOST -> http, HAPROXY_0_ENABLED true passes --strict-mode.
	 */
	{
		static const struct es e[] = {
			{ "/nginx-docker-host",
			  0,
			  10300,
			  TCP,
			  HTTP,
			  "all",
			  "nginx-docker-host.test",
			  NULL,
			  false,
			  "external",
			  "",
			  1,
			  { { "t.1", "10.0.0.1", 31000, 1, false } } },
		};

		parse_definition("app-definitions/mlb_ci_backends_docker_host.json", &a);
		u.app_id = "/nginx-docker-host";
		assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
		o.strict_mode = true;
		build_ok(&a, &o, &s, &p);
		expect_services(&s, e, 1);
		marathon_services_free(&s);
		marathon_apps_free(&a);
	}
	/*
	 * docker_ippc (1.4): ipAddress -> IP-per-task; portMappings have no servicePort and
	 * there are no port definitions, so the service port comes from the assigner
	 * (hidden here behind HAPROXY_0_PORT 10200); backends: task address + containerPort.
	 */
	{
		static const struct es e[] = {
			{ "/nginx-docker-ippc",
			  0,
			  10200,
			  TCP,
			  HTTP,
			  "all",
			  "nginx-docker-ippc.test",
			  NULL,
			  false,
			  "external",
			  "",
			  1,
			  { { "t.1", "10.0.0.5", 80, 1, false } } },
		};

		parse_definition("app-definitions/mlb_ci_backends_docker_ippc.json", &a);
		u.app_id = "/nginx-docker-ippc";
		assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
		build_ok(&a, &o, &s, &p);
		assert_int_equal(s.n, 0); /* no assigner range: no service port */
		marathon_services_free(&s);
		o.ip_per_task_port_min = 10050;
		o.ip_per_task_port_max = 10100;
		build_ok(&a, &o, &s, &p);
		expect_services(&s, e, 1);
		marathon_services_free(&s);
		marathon_apps_free(&a);
	}
	/* 1.9 docker_bridge: no service port anywhere and not IP-per-task: nothing. */
	parse_definition("app-definitions/mlb_ci_backends_1.9_docker_bridge.json", &a);
	u.app_id = "/nginx-docker-bridge";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	build_ok(&a, &o, &s, &p);
	assert_int_equal(s.n, 0);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	expect_no_problems(&p);
	marathon_problems_free(&p);
}

/* ---- bad input --------------------------------------------------------------------- */

static void expect_body_error(const char *body, size_t len)
{
	struct marathon_problems p = { 0 };
	struct marathon_apps a = { 0 };

	assert_int_equal(marathon_apps_parse(body, len, &a, &p), -EINVAL);
	assert_int_equal(a.n, 0);
	assert_null(a.v);
	assert_int_equal(p.n, 1);
	assert_null(p.v[0].app_id);
	assert_non_null(p.v[0].message);
	marathon_problems_free(&p);
}

static void test_bad_bodies(void **state)
{
	static const char *const bodies[] = {
		"",
		"{",
		"[]",
		"null",
		"{\"apps\": 5}",
		"{\"foo\": []}",
		"{\"app\": []}",
		"{\"id\": \"/\", \"apps\": {}}",
		"{\"apps\": []} trailing",
		"{\"apps\": [}",
	};
	struct marathon_task_list t = { 0 };
	struct marathon_problems p = { 0 };
	size_t i, len;
	char *body;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		expect_body_error(bodies[i], strlen(bodies[i]));
	/* Truncated real bodies. */
	body = load("apps/mlb_zdd_apps.json", &len);
	expect_body_error(body, len / 2);
	expect_body_error(body, len - 2);
	free(body);
	body = load("groups/dcos-ui_marathon-1-task_groups.json", &len);
	expect_body_error(body, 1000);
	free(body);
	assert_int_equal(marathon_tasks_parse("{\"apps\":[]}", 11, &t, &p), -EINVAL);
	assert_int_equal(p.n, 1);
	marathon_problems_free(&p);
}

/* Each bad app is named with its field; the good ones still make services. */
static const char bad_apps_body[] =
	"{\"apps\": ["
	"{\"id\": \"/good\", \"ports\": [10000], \"tasks\": ["
	"  {\"id\": \"good.1\", \"host\": \"10.0.0.1\", \"ports\": [31000]}]},"
	"{\"id\": \"/bad-labels\", \"labels\": \"x\"},"
	"{\"id\": \"/bad-label-value\", \"labels\": {\"A\": 1}},"
	"{\"id\": \"/bad-port-70000\", \"portDefinitions\": [{\"port\": 70000}]},"
	"{\"id\": \"/bad-port-neg\", \"ports\": [-1]},"
	"{\"id\": \"/bad-port-frac\", \"ports\": [80.5]},"
	"{\"id\": \"/bad-hostport\", \"container\": {\"docker\": {\"network\": \"BRIDGE\","
	"  \"portMappings\": [{\"containerPort\": 80, \"hostPort\": \"x\"}]}}},"
	"{\"id\": \"/bad-protocol\", \"portDefinitions\": [{\"port\": 1, \"protocol\": \"sctp\"}]},"
	"{\"id\": \"/bad-instances\", \"instances\": 1.5},"
	"{\"id\": \"/bad-network\", \"networks\": [{\"mode\": \"overlay\"}]},"
	"{\"id\": \"/bad-tasks\", \"tasks\": {}},"
	"{\"id\": 42},"
	"\"not an app\","
	"{\"id\": \"/bad-task\", \"ports\": [10001], \"tasks\": ["
	"  {\"id\": \"bt.1\", \"host\": \"10.0.0.1\", \"ports\": [70000]},"
	"  {\"id\": \"bt.2\", \"host\": \"10.0.0.2\", \"ports\": [31002],"
	"   \"ipAddresses\": [{\"ipAddress\": \"not-an-ip\"}]},"
	"  {\"id\": \"bt.3\", \"host\": \"10.0.0.3\", \"ports\": [31003],"
	"   \"healthCheckResults\": [{\"alive\": \"yes\"}]},"
	"  {\"id\": \"bt.4\", \"host\": \"10.0.0.4\", \"ports\": [31004]},"
	"  {\"host\": \"10.0.0.5\"}]},"
	"{\"id\": \"/dup-tasks\", \"ports\": [10002], \"tasks\": ["
	"  {\"id\": \"d.1\", \"host\": \"10.0.0.1\", \"ports\": [31001]},"
	"  {\"id\": \"d.1\", \"host\": \"10.0.0.9\", \"ports\": [31009]}]},"
	"{\"id\": \"/good\", \"ports\": [10009]}"
	"]}";

static void test_bad_apps(void **state)
{
	static const struct es e[] = {
		{ "/bad-task",
		  0,
		  10001,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "bt.4", "10.0.0.4", 31004, 1, false } } },
		{ "/dup-tasks",
		  0,
		  10002,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "d.1", "10.0.0.1", 31001, 1, false } } },
		{ "/good",
		  0,
		  10000,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "good.1", "10.0.0.1", 31000, 1, false } } },
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	parse_str(bad_apps_body, &a, &p);
	assert_int_equal(a.n, 3);
	expect_problem(&p, "/bad-labels", "labels");
	expect_problem(&p, "/bad-label-value", "labels.A");
	expect_problem(&p, "/bad-port-70000", "portDefinitions[0].port");
	expect_problem(&p, "/bad-port-neg", "ports[0]");
	expect_problem(&p, "/bad-port-frac", "ports[0]");
	expect_problem(&p, "/bad-hostport", "container.docker.portMappings[0].hostPort");
	expect_problem(&p, "/bad-protocol", "portDefinitions[0].protocol");
	expect_problem(&p, "/bad-instances", "instances");
	expect_problem(&p, "/bad-network", "networks[0].mode");
	expect_problem(&p, "/bad-tasks", "tasks");
	expect_problem(&p, NULL, "app #11.id");
	expect_problem(&p, NULL, "app #12");
	expect_problem(&p, "/bad-task", "ports[0]");
	expect_problem(&p, "/bad-task", "ipAddresses[0].ipAddress");
	expect_problem(&p, "/bad-task", "healthCheckResults[0].alive");
	expect_problem(&p, "/bad-task", "tasks[4].id");
	expect_problem(&p, "/dup-tasks", "tasks");
	expect_problem(&p, "/good", "id");
	assert_true(p.v[0].message != NULL && strstr(p.v[0].message, "/bad-labels") != NULL);
	assert_int_equal(p.n, 18);
	assert_int_equal(marathon_apps_find(&a, "/bad-task")->n_tasks, 1);
	assert_int_equal(marathon_apps_find(&a, "/good")->ports[0], 10000); /* first kept */
	marathon_problems_free(&p);

	build_ok(&a, &o, &s, &p);
	expect_services(&s, e, 3);
	expect_no_problems(&p);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* Bad label values: a problem each, and the service is still built without them. */
static void test_bad_labels(void **state)
{
	static const char body[] =
		"{\"apps\": [{\"id\": \"/lbl\", \"labels\": {"
		"  \"HAPROXY_0_PORT\": \"abc\", \"HAPROXY_0_MODE\": \"udp\","
		"  \"HAPROXY_0_BIND_ADDR\": \"nonsense\", \"HAPROXY_0_STICKY\": \"maybe\","
		"  \"HAPROXY_0_VHOST\": \"A.example,,b.example\", \"HAPROXY_0_BALANCE\": \"\","
		"  \"HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX\": \"x\","
		"  \"HAPROXY_1_PORT\": \"70000\", \"HAPROXY_1_ENABLED\": \"sure\","
		"  \"HAPROXY_2_PORT\": \" 8080 \", \"HAPROXY_0_REDIRECT_TO_HTTPS\": \"maybe\"},"
		" \"portDefinitions\": ["
		"  {\"port\": 10000, \"labels\": {\"VIP_0\": \"nonsense\", \"VIP_1\": \"1.2.3.4:80\"}},"
		"  {\"port\": 10001}, {\"port\": 10002}],"
		" \"tasks\": [{\"id\": \"l.1\", \"host\": \"10.0.0.1\", \"ports\": [1, 2, 3]}]}]}";
	/* Port 1: ENABLED "sure" is not true -> disabled, as string_to_bool() says. */
	static const struct es e[] = {
		{ "/lbl",
		  0,
		  10000,
		  TCP,
		  HTTP,
		  "all",
		  "a.example,b.example",
		  NULL,
		  false,
		  "",
		  "1.2.3.4:80",
		  1,
		  { { "l.1", "10.0.0.1", 1, 1, false } } },
		{ "/lbl",
		  2,
		  8080,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "l.1", "10.0.0.1", 3, 1, false } } },
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	parse_str(body, &a, &p);
	expect_no_problems(&p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, e, 2);
	assert_string_equal(s.v[0].balance, "roundrobin");
	expect_problem(&p, "/lbl", "HAPROXY_0_PORT");
	expect_problem(&p, "/lbl", "HAPROXY_0_MODE");
	expect_problem(&p, "/lbl", "HAPROXY_0_BIND_ADDR");
	expect_problem(&p, "/lbl", "HAPROXY_0_STICKY");
	expect_problem(&p, "/lbl", "HAPROXY_0_VHOST");
	expect_problem(&p, "/lbl", "HAPROXY_0_BALANCE");
	expect_problem(&p, "/lbl", "HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX");
	expect_problem(&p, "/lbl", "HAPROXY_1_ENABLED");
	expect_problem(&p, "/lbl", "HAPROXY_1_PORT"); /* checked although port 1 is disabled */
	expect_problem(&p, "/lbl", "VIP_0");
	expect_problem(&p, "/lbl", "HAPROXY_0_REDIRECT_TO_HTTPS");
	assert_false(s.v[0].redirect_to_https);
	assert_int_equal(p.n, 11);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* ---- labels and options ------------------------------------------------------------ */

static const char multi_body[] =
	"{\"apps\": [{\"id\": \"/multi\", \"labels\": {"
	"  \"HAPROXY_GROUP\": \"external,internal\", \"HAPROXY_1_GROUP\": \"dns\","
	"  \"HAPROXY_0_ENABLED\": \"true\", \"HAPROXY_1_ENABLED\": \"Y\","
	"  \"HAPROXY_2_ENABLED\": \"false\", \"HAPROXY_0_BIND_ADDR\": \"10.1.2.3\","
	"  \"HAPROXY_0_STICKY\": \"yes\", \"HAPROXY_0_PATH\": \"/api\","
	"  \"HAPROXY_0_REDIRECT_TO_HTTPS\": \"true\","
	"  \"HAPROXY_0_BALANCE\": \"leastconn\", \"HAPROXY_0_VHOST\": \"A.example.com,b.example.com\","
	"  \"HAPROXY_1_PORT\": \"5353\", \"HAPROXY_1_BIND_ADDR\": \"*\","
	"  \"HAPROXY_0_BACKEND_HEAD\": \"x\", \"HAPROXY_1_FRONTEND_HEAD\": \"x\","
	"  \"HAPROXY_0_SSL_CERT\": \"/c.pem\", \"DCOS_SERVICE_NAME\": \"m\"},"
	" \"portDefinitions\": ["
	"  {\"port\": 10000, \"protocol\": \"tcp\","
	"   \"labels\": {\"VIP_1\": \"/multi:8080\", \"VIP_0\": \"10.9.9.9:80\", \"x\": \"y\"}},"
	"  {\"port\": 10001, \"protocol\": \"udp,tcp\"}, {\"port\": 10002, \"protocol\": \"udp\"}],"
	" \"tasks\": [{\"id\": \"m.1\", \"host\": \"10.0.0.1\", \"ports\": [31000, 31001, 31002],"
	"   \"state\": \"TASK_RUNNING\"}]}]}";

#define MULTI0                                                                                    \
	{                                                                                         \
		"/multi", 0, 10000, TCP, HTTP, "10.1.2.3", "a.example.com,b.example.com", "/api", \
			true, "external,internal", "10.9.9.9:80,/multi:8080", 1,                  \
		{                                                                                 \
			{                                                                         \
				"m.1", "10.0.0.1", 31000, 1, false                                \
			}                                                                         \
		}                                                                                 \
	}
#define MULTI1(proto)                                                               \
	{                                                                           \
		"/multi", 1, 5353, proto, L4, "all", "", NULL, false, "dns", "", 1, \
		{                                                                   \
			{                                                           \
				"m.1", "10.0.0.1", 31001, 1, false                  \
			}                                                           \
		}                                                                   \
	}

static void test_labels_and_options(void **state)
{
	static const char *const internal[] = { "internal" }, *const dns[] = { "dns" },
				 *const two[] = { "nope", "dns" };
	/* Port 2 is disabled by HAPROXY_2_ENABLED=false even without --strict-mode. */
	static const struct es all[] = { MULTI0, MULTI1(TCP), MULTI1(UDP) };
	static const struct es only0[] = { MULTI0 };
	static const struct es only1[] = { MULTI1(TCP), MULTI1(UDP) };
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	parse_str(multi_body, &a, &p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, all, 3);
	assert_string_equal(s.v[0].balance, "leastconn");
	assert_true(s.v[0].redirect_to_https);
	assert_false(s.v[1].redirect_to_https);
	assert_false(s.v[0].vips[0].is_name);
	assert_int_equal(s.v[0].vips[0].family, BATON_FAMILY_V4);
	assert_int_equal(s.v[0].vips[0].addr[0], htonl(0x0a090909));
	assert_int_equal(s.v[0].vips[0].port, 80);
	assert_true(s.v[0].vips[1].is_name);
	assert_string_equal(s.v[0].vips[1].name, "/multi");
	assert_int_equal(s.v[0].vips[1].port, 8080);
	assert_int_equal(s.n_unused_labels, 3);
	assert_string_equal(s.unused_labels[0], "HAPROXY_{n}_BACKEND_HEAD");
	assert_string_equal(s.unused_labels[1], "HAPROXY_{n}_FRONTEND_HEAD");
	assert_string_equal(s.unused_labels[2], "HAPROXY_{n}_SSL_CERT");
	marathon_services_free(&s);

	o.strict_mode = true; /* ports 0 and 1 say ENABLED true ("Y" counts) */
	build_ok(&a, &o, &s, &p);
	expect_services(&s, all, 3);
	marathon_services_free(&s);

	o = opts_groups(internal, 1); /* HAPROXY_1_GROUP replaces HAPROXY_GROUP for port 1 */
	build_ok(&a, &o, &s, &p);
	expect_services(&s, only0, 1);
	marathon_services_free(&s);
	o = opts_groups(dns, 1);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, only1, 2);
	marathon_services_free(&s);
	o = opts_groups(two, 2);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, only1, 2);
	marathon_services_free(&s);

	/* Options that cannot work. */
	o.n_groups = 0;
	assert_int_equal(marathon_services_build(&a, &o, &s, &p), -EINVAL);
	expect_problem(&p, NULL, "groups");
	o = opts_all();
	o.ip_per_task_port_min = 10100;
	o.ip_per_task_port_max = 10050;
	assert_int_equal(marathon_services_build(&a, &o, &s, &p), -EINVAL);
	assert_int_equal(s.n, 0);
	marathon_problems_free(&p);

	/* FRAMEWORK_NAME: Marathon-LB skips its own app. */
	o = opts_all();
	o.framework_name = "multi";
	build_ok(&a, &o, &s, &p);
	assert_int_equal(s.n, 0);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	expect_no_problems(&p);
}

/*
 * Frontend clashes: /a and /b both take 8080 on all addresses; /c binds 10.0.0.1:8080,
 * inside /a's "all". The first in service order stays. /d and /e bind different
 * addresses on 9090 and may share it; /f uses 9090 over UDP, another frontend.
 */
static void test_frontend_clashes(void **state)
{
	static const char body[] =
		"{\"apps\": ["
		"{\"id\": \"/c\", \"labels\": {\"HAPROXY_0_PORT\": \"8080\","
		"  \"HAPROXY_0_BIND_ADDR\": \"10.0.0.1\"}, \"ports\": [1],"
		"  \"tasks\": [{\"id\": \"c.1\", \"host\": \"10.1.0.1\", \"ports\": [31000]}]},"
		"{\"id\": \"/b\", \"labels\": {\"HAPROXY_0_PORT\": \"8080\"}, \"ports\": [2],"
		"  \"tasks\": [{\"id\": \"b.1\", \"host\": \"10.1.0.1\", \"ports\": [31001]}]},"
		"{\"id\": \"/a\", \"ports\": [8080],"
		"  \"tasks\": [{\"id\": \"a.1\", \"host\": \"10.1.0.1\", \"ports\": [31002]}]},"
		"{\"id\": \"/d\", \"labels\": {\"HAPROXY_0_BIND_ADDR\": \"10.0.0.2\"}, \"ports\": [9090],"
		"  \"tasks\": [{\"id\": \"d.1\", \"host\": \"10.1.0.1\", \"ports\": [31003]}]},"
		"{\"id\": \"/e\", \"labels\": {\"HAPROXY_0_BIND_ADDR\": \"2001:db8::3\"},"
		"  \"ports\": [9090],"
		"  \"tasks\": [{\"id\": \"e.1\", \"host\": \"agent-v6.example\", \"ports\": [31004]}]},"
		"{\"id\": \"/f\", \"portDefinitions\": [{\"port\": 9090, \"protocol\": \"udp\"}],"
		"  \"tasks\": [{\"id\": \"f.1\", \"host\": \"10.1.0.1\", \"ports\": [31005]}]}"
		"]}";
	static const struct es e[] = {
		{ "/a",
		  0,
		  8080,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "a.1", "10.1.0.1", 31002, 1, false } } },
		{ "/d",
		  0,
		  9090,
		  TCP,
		  L4,
		  "10.0.0.2",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "d.1", "10.1.0.1", 31003, 1, false } } },
		{ "/e",
		  0,
		  9090,
		  TCP,
		  L4,
		  "2001:db8::3",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "e.1", "2001:db8::6", 31004, 1, false } } },
		{ "/f",
		  0,
		  9090,
		  UDP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "f.1", "10.1.0.1", 31005, 1, false } } },
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	parse_str(body, &a, &p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, e, 4);
	expect_problem(&p, "/b", NULL);
	expect_problem(&p, "/c", NULL);
	assert_int_equal(p.n, 2);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/*
 * IP-per-task without service ports (Marathon 1.4 ipAddress.discovery): the assigner
 * hashes "<app id>-<task port>-<i>" with SHA-1 and takes 10050 + first 32 bits % 51,
 * skipping ports taken earlier in the same pass (computed by hand with Python's
 * hashlib): /ippc 8080 -> 10087, /ippc 9090 -> 10050, /x149 80 -> 10087 taken ->
 * i = 1 -> 10068. Backends: the task address and the discovery port.
 */
static void test_ip_per_task_ports(void **state)
{
	static const char body[] =
		"{\"apps\": ["
		"{\"id\": \"/ippc\", \"ipAddress\": {\"networkName\": \"dcos\", \"discovery\":"
		"  {\"ports\": [{\"number\": 8080, \"name\": \"a\", \"protocol\": \"tcp\"},"
		"               {\"number\": 9090, \"name\": \"b\", \"protocol\": \"tcp\"}]}},"
		"  \"tasks\": [{\"id\": \"i.1\", \"host\": \"10.0.0.1\", \"ports\": [],"
		"   \"ipAddresses\": [{\"ipAddress\": \"9.0.0.5\", \"protocol\": \"IPv4\"}]}]},"
		"{\"id\": \"/x149\", \"container\": {\"type\": \"DOCKER\", \"docker\":"
		"  {\"network\": \"USER\", \"portMappings\": [{\"containerPort\": 80}]}},"
		"  \"ipAddress\": {\"networkName\": \"dcos\"},"
		"  \"tasks\": [{\"id\": \"x.1\", \"host\": \"10.0.0.2\","
		"   \"ipAddresses\": [{\"ipAddress\": \"fd00::7\", \"protocol\": \"IPv6\"}]}]}"
		"]}";
	static const struct es e[] = {
		{ "/ippc",
		  0,
		  10087,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "i.1", "9.0.0.5", 8080, 1, false } } },
		{ "/ippc",
		  1,
		  10050,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "i.1", "9.0.0.5", 9090, 1, false } } },
		{ "/x149",
		  0,
		  10068,
		  TCP,
		  L4,
		  "all",
		  "",
		  NULL,
		  false,
		  "",
		  "",
		  1,
		  { { "x.1", "fd00::7", 80, 1, false } } },
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };

	o.ip_per_task_port_min = 10050;
	o.ip_per_task_port_max = 10100;
	parse_str(body, &a, &p);
	build_ok(&a, &o, &s, &p);
	expect_services(&s, e, 3);
	marathon_services_free(&s);
	/* A range of two ports: the third request finds none ("Service ports are exhausted") */
	o.ip_per_task_port_max = 10051;
	build_ok(&a, &o, &s, &p);
	assert_int_equal(s.n, 2);
	expect_problem(&p, "/x149", NULL);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* ---- events ------------------------------------------------------------------------ */

static const char web_body[] =
	"{\"apps\": [{\"id\": \"/web\", \"ports\": [10000], \"instances\": 2,"
	" \"healthChecks\": [{\"protocol\": \"TCP\", \"portIndex\": 0}],"
	" \"tasks\": ["
	"  {\"id\": \"web.1\", \"host\": \"10.0.0.1\", \"ports\": [31001], \"state\": \"TASK_RUNNING\","
	"   \"healthCheckResults\": [{\"alive\": true}]},"
	"  {\"id\": \"web.2\", \"host\": \"10.0.0.2\", \"ports\": [31002], \"state\": \"TASK_RUNNING\","
	"   \"healthCheckResults\": [{\"alive\": false}, {\"alive\": true}]}]},"
	" {\"id\": \"/other\", \"ports\": [10001], \"tasks\": ["
	"  {\"id\": \"other.1\", \"host\": \"10.0.0.9\", \"ports\": [31009]}]}]}";

static void build_web(const struct marathon_apps *a, bool hc, struct marathon_services *s)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };

	o.health_check = hc;
	build_ok(a, &o, s, &p);
	expect_no_problems(&p);
	marathon_problems_free(&p);
}

/* The backends of /web port 0 as "task@addr:port/weight" joined by spaces. */
static void web_backends(const struct marathon_services *s, char *dst, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, j, off = 0;

	dst[0] = '\0';
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].app_id, "/web") != 0)
			continue;
		for (j = 0; j < s->v[i].n_backends; j++) {
			const struct marathon_backend *b = &s->v[i].backends[j];

			inet_ntop(AF_INET, b->addr, a, sizeof(a));
			off += snprintf(dst + off, cap - off, "%s%s@%s:%u/%u", off ? " " : "",
					b->task_id, a, b->port, b->weight);
		}
	}
}

static void expect_web_only(const struct marathon_apps *a, bool hc, const char *want)
{
	struct marathon_services s = { 0 };
	char got[1024];

	build_web(a, hc, &s);
	web_backends(&s, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("backends \"%s\", expected \"%s\"", got, want);
	marathon_services_free(&s);
}

static void expect_web(const struct marathon_apps *a, bool hc, const char *want)
{
	struct marathon_services s = { 0 };
	char got[1024];

	build_web(a, hc, &s);
	web_backends(&s, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("backends \"%s\", expected \"%s\"", got, want);
	/* /other is never touched by /web's events. */
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].app_id, "/other");
	assert_int_equal(s.v[0].n_backends, 1);
	marathon_services_free(&s);
}

static void test_events(void **state)
{
	static const __u16 p3[] = { 31003 }, p2b[] = { 31222 };
	struct marathon_problems p = { 0 };
	struct marathon_apps a = { 0 };
	struct marathon_status_update u = {
		.app_id = "/web",
		.task_id = "web.3",
		.state = "TASK_STAGING",
		.host = "10.0.0.3",
		.ports = p3,
		.n_ports = 1,
		.has_ports = true,
	};
	struct marathon_health_update h = { .app_id = "/web", .task_id = "web.3", .alive = true };

	parse_str(web_body, &a, &p);
	expect_web(&a, false, "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1");
	expect_web(&a, true, "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1");

	/* A staging task is stored but serves nothing. */
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_UNCHANGED);
	assert_int_equal(marathon_apps_find(&a, "/web")->n_tasks, 3);
	expect_web(&a, false, "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1");
	u.state = "TASK_STARTING";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_UNCHANGED);
	/* Running: a backend, unless --health-check waits for its first result. */
	u.state = "TASK_RUNNING";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false,
		   "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1 web.3@10.0.0.3:31003/1");
	expect_web(&a, true, "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1");
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_CHANGED);
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_UNCHANGED);
	expect_web(&a, true,
		   "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1 web.3@10.0.0.3:31003/1");
	/* The same status again changes nothing. */
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_UNCHANGED);

	/* Health lost: gone with --health-check only. */
	h.task_id = "web.2";
	h.alive = false;
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_CHANGED);
	expect_web(&a, true, "web.1@10.0.0.1:31001/1 web.3@10.0.0.3:31003/1");
	expect_web(&a, false,
		   "web.1@10.0.0.1:31001/1 web.2@10.0.0.2:31002/1 web.3@10.0.0.3:31003/1");

	/* Killing: kept with weight 0 (draining); killed: removed. */
	u.task_id = "web.1";
	u.state = "TASK_KILLING";
	u.host = NULL; /* the event may omit what is known */
	u.has_ports = false;
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false,
		   "web.1@10.0.0.1:31001/0 web.2@10.0.0.2:31002/1 web.3@10.0.0.3:31003/1");
	u.state = "TASK_KILLED";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false, "web.2@10.0.0.2:31002/1 web.3@10.0.0.3:31003/1");
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_UNCHANGED);
	assert_int_equal(marathon_apps_find(&a, "/web")->n_tasks, 2);

	/* A moved port changes exactly that backend. */
	u.task_id = "web.2";
	u.state = "TASK_RUNNING";
	u.ports = p2b;
	u.has_ports = true;
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false, "web.2@10.0.0.2:31222/1 web.3@10.0.0.3:31003/1");

	/* An unreachable task gets no new flows (Marathon-LB would be optimistic). */
	u.state = "TASK_UNREACHABLE";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false, "web.3@10.0.0.3:31003/1");
	u.state = "TASK_RUNNING";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	u.state = "TASK_SOMETHING_NEW";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_CHANGED);
	expect_web(&a, false, "web.3@10.0.0.3:31003/1");

	/* What the model cannot follow. */
	u.app_id = "/unknown";
	assert_int_equal(marathon_apply_status(&a, &u), MARATHON_APPLY_REFETCH);
	h.app_id = "/unknown";
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_REFETCH);
	h.app_id = "/web";
	h.task_id = "web.99";
	h.alive = true;
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_REFETCH);
	h.alive = false;
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_UNCHANGED);
	u.task_id = NULL;
	assert_int_equal(marathon_apply_status(&a, &u), -EINVAL);
	h.task_id = NULL;
	assert_int_equal(marathon_apply_health(&a, &h), -EINVAL);
	/* Health of an app without checks changes nothing. */
	h.app_id = "/other";
	h.task_id = "other.1";
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_UNCHANGED);

	marathon_apps_free(&a);
	marathon_problems_free(&p);
}

/* Marathon 1.4+ reports health per instance: "<app>.marathon-<uuid>" finds the task. */
static void test_instance_health(void **state)
{
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	struct marathon_health_update h = {
		.app_id = "/nginx-green",
		.instance_id = "nginx-green.marathon-01da9a15-68a7-11e7-a229-e6a514ca0c21",
		.alive = false,
	};
	size_t i;

	parse_file("apps/mlb_zdd_app_blue_marathon1.5.json", &a, &p);
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_CHANGED);
	o.health_check = true;
	build_ok(&a, &o, &s, &p);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].n_backends, 2);
	for (i = 0; i < s.v[0].n_backends; i++)
		assert_true(strstr(s.v[0].backends[i].task_id, "01da9a15") == NULL);
	marathon_services_free(&s);
	marathon_apps_free(&a);

	/* Pod-style task ids ("instance-<uuid>._app.1") from the groups fixture. */
	parse_file("groups/dcos-ui_healthy-tasks_groups.json", &a, &p);
	h.app_id = "/confluent-kafka";
	h.instance_id = "confluent-kafka.marathon-825e1e2e-d6a6-11e6-a564-8605ecf0a9df";
	assert_int_equal(marathon_apply_health(&a, &h), MARATHON_APPLY_CHANGED);
	assert_int_equal(marathon_apps_find(&a, "/confluent-kafka")->tasks[0].health,
			 MARATHON_HEALTH_DEAD);
	marathon_apps_free(&a);
	expect_no_problems(&p);
}

/* healthCheckResultCache: a later fetch without results keeps the last known result. */
static void test_carry_health(void **state)
{
	static const char second[] =
		"{\"apps\": [{\"id\": \"/web\", \"ports\": [10000],"
		" \"healthChecks\": [{\"protocol\": \"TCP\", \"portIndex\": 0}],"
		" \"tasks\": ["
		"  {\"id\": \"web.1\", \"host\": \"10.0.0.1\", \"ports\": [31001]},"
		"  {\"id\": \"web.2\", \"host\": \"10.0.0.2\", \"ports\": [31002],"
		"   \"healthCheckResults\": [{\"alive\": false}]},"
		"  {\"id\": \"web.4\", \"host\": \"10.0.0.4\", \"ports\": [31004]}]}]}";
	struct marathon_problems p = { 0 };
	struct marathon_apps prev = { 0 }, next = { 0 };
	const struct marathon_app *w;

	parse_str(web_body, &prev, &p);
	parse_str(second, &next, &p);
	marathon_apps_carry_health(&next, &prev);
	w = marathon_apps_find(&next, "/web");
	assert_int_equal(w->tasks[0].health, MARATHON_HEALTH_ALIVE);   /* carried */
	assert_int_equal(w->tasks[1].health, MARATHON_HEALTH_DEAD);    /* its own result */
	assert_int_equal(w->tasks[2].health, MARATHON_HEALTH_UNKNOWN); /* never known */
	expect_web_only(&next, true, "web.1@10.0.0.1:31001/1");
	marathon_apps_free(&prev);
	marathon_apps_free(&next);
	expect_no_problems(&p);
}

/* ---- output ------------------------------------------------------------------------ */

static void test_json_schema(void **state)
{
	static const char *const svc_keys[] = {
		"app_id", "port_index", "service_port", "protocol", "mode", "bind_addr",
		"vhosts", "path",	"sticky",	"groups",   "vips", "backends"
	};
	static const char *const be_keys[] = { "address", "port", "task_id", "weight", "draining" };
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	cJSON *root, *svcs, *svc, *b, *it;
	char *text;
	size_t i, n;

	parse_str(multi_body, &a, &p);
	build_ok(&a, &o, &s, &p);
	text = marathon_services_to_json(&s, false);
	assert_non_null(text);
	root = cJSON_Parse(text);
	assert_non_null(root);
	svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
	assert_true(cJSON_IsArray(svcs));
	assert_int_equal(cJSON_GetArraySize(svcs), 3);
	svc = cJSON_GetArrayItem(svcs, 0);
	n = 0;
	cJSON_ArrayForEach(it, svc)
		assert_string_equal(it->string, svc_keys[n++]);
	assert_int_equal(n, sizeof(svc_keys) / sizeof(svc_keys[0]));
	assert_string_equal(cJSON_GetObjectItem(svc, "app_id")->valuestring, "/multi");
	assert_int_equal(cJSON_GetObjectItem(svc, "service_port")->valueint, 10000);
	assert_string_equal(cJSON_GetObjectItem(svc, "protocol")->valuestring, "tcp");
	assert_string_equal(cJSON_GetObjectItem(svc, "mode")->valuestring, "http");
	assert_string_equal(cJSON_GetObjectItem(svc, "bind_addr")->valuestring, "10.1.2.3");
	assert_string_equal(cJSON_GetObjectItem(svc, "path")->valuestring, "/api");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(svc, "sticky")));
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(svc, "vips"), 1)->valuestring,
			    "/multi:8080");
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(svc, "backends"), 0);
	n = 0;
	cJSON_ArrayForEach(it, b)
		assert_string_equal(it->string, be_keys[n++]);
	assert_int_equal(n, sizeof(be_keys) / sizeof(be_keys[0]));
	assert_string_equal(cJSON_GetObjectItem(b, "address")->valuestring, "10.0.0.1");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(b, "draining")));
	svc = cJSON_GetArrayItem(svcs, 2);
	assert_string_equal(cJSON_GetObjectItem(svc, "protocol")->valuestring, "udp");
	assert_string_equal(cJSON_GetObjectItem(svc, "bind_addr")->valuestring, "all");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(svc, "path")));
	cJSON_Delete(root);
	free(text);
	marathon_services_free(&s);

	/* An empty set is still a document. */
	text = marathon_services_to_json(&s, true);
	assert_non_null(text);
	root = cJSON_Parse(text);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "services")), 0);
	cJSON_Delete(root);
	free(text);
	for (i = 0; i < 1; i++)
		marathon_apps_free(&a);
	expect_no_problems(&p);
}

static char *services_json(const char *body, const struct marathon_options *o)
{
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	char *text;

	parse_str(body, &a, &p);
	build_ok(&a, o, &s, &p);
	text = marathon_services_to_json(&s, false);
	assert_non_null(text);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	marathon_problems_free(&p);
	return text;
}

/* The same apps in another body order, and with tasks in another order: same output. */
static void test_deterministic(void **state)
{
	static const char a1[] =
		"{\"apps\": ["
		"{\"id\": \"/z\", \"ports\": [20000], \"tasks\": ["
		"  {\"id\": \"z.2\", \"host\": \"10.0.0.2\", \"ports\": [2]},"
		"  {\"id\": \"z.1\", \"host\": \"10.0.0.1\", \"ports\": [1]}]},"
		"{\"id\": \"/a\", \"ports\": [20001, 20002], \"tasks\": ["
		"  {\"id\": \"a.1\", \"host\": \"10.0.0.1\", \"ports\": [3, 4]}]}]}";
	static const char a2[] =
		"{\"id\": \"/\", \"apps\": [], \"groups\": [{\"id\": \"/g\", \"apps\": ["
		"{\"id\": \"/a\", \"ports\": [20001, 20002], \"tasks\": ["
		"  {\"id\": \"a.1\", \"host\": \"10.0.0.1\", \"ports\": [3, 4]}]},"
		"{\"id\": \"/z\", \"ports\": [20000], \"tasks\": ["
		"  {\"id\": \"z.1\", \"host\": \"10.0.0.1\", \"ports\": [1]},"
		"  {\"id\": \"z.2\", \"host\": \"10.0.0.2\", \"ports\": [2]}]}]}]}";
	struct marathon_options o = opts_all();
	char *j1 = services_json(a1, &o), *j2 = services_json(a2, &o), *j3;
	size_t len;
	char *body;

	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	body = load("groups/dcos-ui_healthy-tasks_groups.json", &len);
	j1 = services_json(body, &o);
	j2 = services_json(body, &o);
	assert_string_equal(j1, j2);
	free(body);
	body = load("apps/mlb_zdd_apps.json", &len);
	j3 = services_json(body, &o);
	assert_non_null(strstr(j3, "\"draining\":true"));
	free(body);
	free(j1);
	free(j2);
	free(j3);
}

/* ---- scale ------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_scale(void **state)
{
	enum {
		APPS = 10000,
		TASKS = 10
	};
	struct marathon_options o = opts_all();
	struct marathon_problems p = { 0 };
	struct marathon_services s = { 0 };
	struct marathon_apps a = { 0 };
	size_t cap = (size_t)APPS * TASKS * 300 + APPS * 400, off = 0, i, j, total = 0;
	char *body = malloc(cap);
	double t0, t1, t2;

	assert_non_null(body);
	off += snprintf(body + off, cap - off, "{\"apps\":[");
	for (i = 0; i < APPS; i++) {
		off += snprintf(body + off, cap - off,
				"%s{\"id\":\"/team%zu/app%zu\",\"labels\":{\"HAPROXY_GROUP\":"
				"\"external\",\"HAPROXY_0_VHOST\":\"app%zu.example.com\"},"
				"\"portDefinitions\":[{\"port\":%zu,\"protocol\":\"tcp\"}],"
				"\"healthChecks\":[{\"protocol\":\"HTTP\",\"portIndex\":0}],"
				"\"tasks\":[",
				i ? "," : "", i % 97, i, i, 10000 + i);
		for (j = 0; j < TASKS; j++)
			off += snprintf(
				body + off, cap - off,
				"%s{\"id\":\"app%zu.%08zx-0000-0000-0000-000000000000\","
				"\"host\":\"10.%zu.%zu.%zu\",\"ports\":[%zu],"
				"\"state\":\"TASK_RUNNING\",\"ipAddresses\":[{\"ipAddress\":"
				"\"10.%zu.%zu.%zu\",\"protocol\":\"IPv4\"}],"
				"\"healthCheckResults\":[{\"alive\":true}]}",
				j ? "," : "", i, j * 7919 % TASKS, (i >> 8) & 255, i & 255, j,
				20000 + j, (i >> 8) & 255, i & 255, j);
		off += snprintf(body + off, cap - off, "]}");
		assert_true(off < cap);
	}
	off += snprintf(body + off, cap - off, "]}");

	o.health_check = true;
	t0 = now();
	parse_ok(body, off, &a, &p);
	t1 = now();
	build_ok(&a, &o, &s, &p);
	t2 = now();
	for (i = 0; i < s.n; i++)
		total += s.v[i].n_backends;
	printf("scale: %d apps, %d tasks, %.1f MB: parse %.3f s, build %.3f s\n", APPS,
	       APPS * TASKS, off / 1e6, t1 - t0, t2 - t1);
	assert_int_equal(a.n, APPS);
	assert_int_equal(s.n, APPS);
	assert_int_equal(total, APPS * TASKS);
	expect_no_problems(&p);
	marathon_services_free(&s);
	marathon_apps_free(&a);
	free(body);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zdd_apps),
		cmocka_unit_test(test_zdd_blue_14_vs_15),
		cmocka_unit_test(test_zdd_merge_rules),
		cmocka_unit_test(test_marathon15_apps),
		cmocka_unit_test(test_consul_apps),
		cmocka_unit_test(test_consul_app),
		cmocka_unit_test(test_docs_app_list),
		cmocka_unit_test(test_groups_healthy),
		cmocka_unit_test(test_groups_one_task),
		cmocka_unit_test(test_tasks_fixtures),
		cmocka_unit_test(test_app_definitions),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_bad_apps),
		cmocka_unit_test(test_bad_labels),
		cmocka_unit_test(test_labels_and_options),
		cmocka_unit_test(test_frontend_clashes),
		cmocka_unit_test(test_ip_per_task_ports),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_instance_health),
		cmocka_unit_test(test_carry_health),
		cmocka_unit_test(test_json_schema),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_scale),
	};

	fixtures = fixtures_dir(argc, argv, NULL);
	if (fixtures == NULL)
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
