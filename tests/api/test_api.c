// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the API's pure parts: the tokens file and scopes (tenant.c), the tenant
 * VIP-pool check in the allocator (vip.c), operator drains (drain.c), the view and its
 * JSON, JSON error bodies, and the Prometheus text of /metrics (apiview.c, prom.c),
 * which is parsed back by a strict reader of the exposition format.
 */
#include <ctype.h>
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
#include <cjson/cJSON.h>

#include <cmocka.h>

#include "apiview.h"
#include "baton_abi.h"
#include "config.h"
#include "drain.h"
#include "prom.h"
#include "sync.h"
#include "tenant.h"
#include "vip.h"

#define SECRET_A "team-a-secret-0123456789"
#define SECRET_B "team-b-secret-9876543210"
#define SECRET_ADMIN "admin-secret-abcdefghijkl"

static const char tokens_json[] =
	"{\"tokens\": ["
	" {\"name\": \"team-a\", \"secret\": \"" SECRET_A "\", \"prefixes\": [\"/team-a/\"],"
	"  \"vip_pools\": [\"10.50.0.0/24\", \"fd50::/64\"]},"
	" {\"name\": \"team-b\", \"secret\": \"" SECRET_B "\", \"prefixes\": [\"/team-b\"],"
	"  \"read_only\": true},"
	" {\"name\": \"admin\", \"secret\": \"" SECRET_ADMIN "\", \"prefixes\": [\"/\"]}]}";

static void load_tokens(struct tenant_set *ts)
{
	char err[256];

	assert_int_equal(tenant_parse(tokens_json, strlen(tokens_json), ts, err, sizeof(err)), 0);
}

/* ---- tokens file ---- */

static void test_tokens_parse(void **unused)
{
	struct tenant_set ts;

	load_tokens(&ts);
	assert_int_equal(ts.n, 3);
	assert_string_equal(ts.v[0].name, "team-a");
	assert_int_equal(ts.v[0].n_prefixes, 1);
	assert_int_equal(ts.v[0].n_pools, 2);
	assert_false(ts.v[0].read_only);
	assert_true(ts.v[1].read_only);
	assert_int_equal(ts.v[2].n_pools, 0);
	/* The default public paths. */
	assert_true(tenant_path_public(&ts, "/healthz"));
	assert_true(tenant_path_public(&ts, "/metrics"));
	assert_false(tenant_path_public(&ts, "/v1/services"));
	assert_false(tenant_path_public(&ts, "/_haproxy_health_check"));
	tenant_set_free(&ts);
	assert_int_equal(ts.n, 0);
}

static void test_tokens_public_configurable(void **unused)
{
	static const char j[] = "{\"public\": [\"/_haproxy_health_check\"], \"tokens\": []}";
	struct tenant_set ts;

	assert_int_equal(tenant_parse(j, strlen(j), &ts, NULL, 0), 0);
	assert_true(tenant_path_public(&ts, "/_haproxy_health_check"));
	assert_false(tenant_path_public(&ts, "/metrics"));
	assert_false(tenant_path_public(&ts, "/healthz"));
	tenant_set_free(&ts);
}

static void expect_bad(const char *json, const char *words)
{
	struct tenant_set ts;
	char err[256];

	assert_int_equal(tenant_parse(json, strlen(json), &ts, err, sizeof(err)), -EINVAL);
	if (strstr(err, words) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, words);
	/* A secret is never quoted back. */
	assert_null(strstr(err, "0123456789abcdef"));
	assert_int_equal(ts.n, 0);
}

static void test_tokens_errors(void **unused)
{
	expect_bad("not json", "not valid JSON");
	expect_bad("[]", "JSON object");
	expect_bad("{\"tokens\": {}}", "\"tokens\" must be an array");
	expect_bad("{\"tokens\": [], \"extra\": 1}", "unknown field \"extra\"");
	expect_bad("{\"tokens\": [{\"secret\": \"0123456789abcdef\", \"prefixes\": [\"/\"]}]}",
		   "\"name\"");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"prefixes\": [\"/\"]}]}", "\"secret\"");
	expect_bad(
		"{\"tokens\": [{\"name\": \"a\", \"secret\": \"short\", \"prefixes\": [\"/\"]}]}",
		"16..256 printable");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef \", "
		   "\"prefixes\": [\"/\"]}]}",
		   "printable");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": []}]}",
		   "\"prefixes\" is empty");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"team-a\"]}]}",
		   "must start with '/'");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"], \"vip_pools\": [\"10.0.0.1/24\"]}]}",
		   "host bits");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"], \"read_only\": \"yes\"}]}",
		   "read_only");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"], \"scope\": 1}]}",
		   "unknown field \"scope\"");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"]}, {\"name\": \"a\", \"secret\": \"0123456789abcdeg\", "
		   "\"prefixes\": [\"/\"]}]}",
		   "named twice");
	expect_bad("{\"tokens\": [{\"name\": \"a\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"]}, {\"name\": \"b\", \"secret\": \"0123456789abcdef\", "
		   "\"prefixes\": [\"/\"]}]}",
		   "share a secret");
	expect_bad("{\"public\": [\"healthz\"], \"tokens\": []}", "must start with '/'");
}

static void test_tokens_file(void **unused)
{
	char path[] = "/tmp/baton-test-tokens-XXXXXX", err[256];
	struct tenant_set ts;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, tokens_json, strlen(tokens_json)), (ssize_t)strlen(tokens_json));
	close(fd);
	assert_int_equal(tenant_load_file(path, &ts, err, sizeof(err)), 0);
	assert_int_equal(ts.n, 3);
	tenant_set_free(&ts);
	unlink(path);
	assert_int_equal(tenant_load_file(path, &ts, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

static void test_authenticate(void **unused)
{
	struct tenant_set ts;
	const struct tenant *t;

	load_tokens(&ts);
	t = tenant_authenticate(&ts, SECRET_A, strlen(SECRET_A));
	assert_non_null(t);
	assert_string_equal(t->name, "team-a");
	t = tenant_authenticate(&ts, SECRET_ADMIN, strlen(SECRET_ADMIN));
	assert_string_equal(t->name, "admin");
	/* A prefix of a secret, a longer string, one wrong byte, nothing: no tenant. */
	assert_null(tenant_authenticate(&ts, SECRET_A, strlen(SECRET_A) - 1));
	assert_null(tenant_authenticate(&ts, SECRET_A "x", strlen(SECRET_A) + 1));
	assert_null(tenant_authenticate(&ts, "team-a-secret-0123456780", 24));
	assert_null(tenant_authenticate(&ts, "", 0));
	{
		char big[600];

		memset(big, 'a', sizeof(big));
		assert_null(tenant_authenticate(&ts, big, sizeof(big)));
	}
	assert_null(tenant_authenticate(NULL, SECRET_A, strlen(SECRET_A)));
	tenant_set_free(&ts);
}

static void test_scopes(void **unused)
{
	struct tenant_set ts;
	const struct tenant *a, *b, *admin;

	load_tokens(&ts);
	a = &ts.v[0];
	b = &ts.v[1];
	admin = &ts.v[2];
	/* Whole path segments: "/team-b" covers /team-b and /team-b/... only. */
	assert_true(tenant_prefix_match("/team-a/", "/team-a/web"));
	assert_true(tenant_prefix_match("/team-b", "/team-b/db"));
	assert_true(tenant_prefix_match("/team-b", "/team-b"));
	assert_false(tenant_prefix_match("/team-b", "/team-bx/db"));
	assert_false(tenant_prefix_match("/team-a/", "/team-a"));
	assert_true(tenant_prefix_match("/", "/anything/at/all"));
	assert_true(tenant_in_scope(a, "/team-a/web"));
	assert_false(tenant_in_scope(a, "/team-b/db"));
	assert_false(tenant_in_scope(b, "/team-a/web"));
	assert_true(tenant_in_scope(admin, "/team-a/web"));
	assert_true(tenant_in_scope(NULL, "/x")); /* open API */
	/* Which tenant's VIP pools bind an app: the longest prefix. */
	assert_ptr_equal(tenant_for_app(&ts, "/team-a/web"), a);
	assert_ptr_equal(tenant_for_app(&ts, "/team-b/db"), b);
	assert_ptr_equal(tenant_for_app(&ts, "/other"), admin);
	assert_true(tenant_restricts_vips(a));
	assert_false(tenant_restricts_vips(admin));
	assert_false(tenant_restricts_vips(NULL));
	tenant_set_free(&ts);
}

/* ---- the tenant VIP-pool check in the allocator ---- */

static void test_tenant_vip_pools(void **unused)
{
	struct tenant_set ts;
	const struct tenant *a;
	struct vip_pool global[2];
	struct vip_state *s = vip_state_new();
	struct vip_request req[6] = {};
	struct vip_assignment out[6];
	char err[128], addr[INET6_ADDRSTRLEN];

	load_tokens(&ts);
	a = tenant_for_app(&ts, "/team-a/web");
	assert_int_equal(vip_pool_parse(VIP_POOL_V4_DEFAULT, &global[0], NULL, 0), 0);
	assert_int_equal(vip_pool_parse(VIP_POOL_V6_DEFAULT, &global[1], NULL, 0), 0);
	/* 0: team-a claims outside its pools -> refused, and it takes nothing from 1. */
	req[0] = (struct vip_request){ .app_id = "/team-a/api", .label = "10.9.9.9:80" };
	/* 1: an unrestricted app claims the same endpoint later: it gets it. */
	req[1] = (struct vip_request){ .app_id = "/team-c/x", .label = "10.9.9.9:80" };
	/* 2: team-a claims inside its pool. */
	req[2] = (struct vip_request){ .app_id = "/team-a/web", .label = "10.50.0.7:80" };
	/* 3: team-a named VIP: from its own pool, not the global one. */
	req[3] = (struct vip_request){ .app_id = "/team-a/web",
				       .port_index = 1,
				       .label = "/web-a:8080" };
	/* 4: team-a named IPv6 VIP: from its IPv6 pool. */
	req[4] = (struct vip_request){ .app_id = "/team-a/v6",
				       .label = "/v6-a:80",
				       .want_v6 = true };
	/* 5: an unrestricted named VIP: the global pool. */
	req[5] = (struct vip_request){ .app_id = "/team-c/y", .label = "/y:80" };
	for (int i = 0; i < 5; i++) {
		if (i == 1)
			continue;
		req[i].restricted = true;
		req[i].pools = a->pools;
		req[i].n_pools = a->n_pools;
		req[i].tenant = a->name;
	}
	assert_int_equal(vip_allocate(s, global, 2, req, 6, out, err, sizeof(err)), 1);
	assert_int_equal(out[0].status, VIP_REFUSED);
	assert_string_equal(vip_status_name(out[0].status), "refused");
	assert_non_null(strstr(out[0].message, "outside the VIP pools of tenant team-a"));
	assert_non_null(strstr(out[0].message, "10.9.9.9"));
	assert_int_equal(out[1].status, VIP_OK);
	assert_int_equal(out[2].status, VIP_OK);
	assert_int_equal(out[3].status, VIP_OK);
	assert_true(vip_pools_contain(a->pools, a->n_pools, out[3].family, out[3].addr));
	inet_ntop(AF_INET, out[3].addr, addr, sizeof(addr));
	assert_int_equal(strncmp(addr, "10.50.0.", 8), 0);
	assert_int_equal(out[4].status, VIP_OK);
	assert_int_equal(out[4].family, BATON_FAMILY_V6);
	assert_true(vip_pools_contain(&a->pools[1], 1, BATON_FAMILY_V6, out[4].addr));
	assert_int_equal(out[5].status, VIP_OK);
	assert_true(vip_pools_contain(global, 1, BATON_FAMILY_V4, out[5].addr));

	/* A tenant with only an IPv4 pool: its IPv6 named VIPs are refused. */
	{
		struct vip_pool only4 = a->pools[0];
		struct vip_request r = { .app_id = "/team-a/v6",
					 .label = "/v6-b:80",
					 .want_v6 = true,
					 .restricted = true,
					 .pools = &only4,
					 .n_pools = 1,
					 .tenant = "team-a" };
		struct vip_assignment o;

		assert_int_equal(vip_allocate(s, global, 2, &r, 1, &o, err, sizeof(err)), 1);
		assert_int_equal(o.status, VIP_REFUSED);
		assert_non_null(strstr(o.message, "IPv6 named VIP"));
	}
	vip_state_free(s);
	tenant_set_free(&ts);
}

/* ---- operator drains ---- */

static void test_drain_ids(void **unused)
{
	__be32 addr[4];
	__u16 port;
	__u8 family;
	char buf[DRAIN_ID_MAX];

	assert_int_equal(drain_id_parse("10.1.0.11:31001", &family, addr, &port), 0);
	assert_int_equal(family, BATON_FAMILY_V4);
	assert_int_equal(port, 31001);
	assert_string_equal(drain_id_format(family, addr, port, buf, sizeof(buf)),
			    "10.1.0.11:31001");
	assert_int_equal(drain_id_parse("[fd00::11]:80", &family, addr, &port), 0);
	assert_int_equal(family, BATON_FAMILY_V6);
	assert_string_equal(drain_id_format(family, addr, port, buf, sizeof(buf)), "[fd00::11]:80");
	assert_int_equal(drain_id_parse("10.1.0.11", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse("10.1.0.11:0", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse("10.1.0.11:65536", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse("fd00::11:80", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse("[fd00::11:80", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse("web.1:80", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse(":80", &family, addr, &port), -EINVAL);
	assert_int_equal(drain_id_parse(NULL, &family, addr, &port), -EINVAL);
}

static struct config two_services(void)
{
	struct config c = {};

	c.n_services = 2;
	c.services = calloc(2, sizeof(*c.services));
	for (int i = 0; i < 2; i++) {
		struct config_service *s = &c.services[i];

		s->family = BATON_FAMILY_V4;
		s->proto = IPPROTO_TCP;
		s->port = 80 + i;
		inet_pton(AF_INET, "10.0.0.100", s->vip);
		s->n_backends = 2;
		s->backends = calloc(2, sizeof(*s->backends));
		for (int j = 0; j < 2; j++) {
			s->backends[j].family = BATON_FAMILY_V4;
			s->backends[j].addr[0] = htonl(0x0a010000 + 11 + j);
			s->backends[j].port = 31000 + j;
			s->backends[j].weight = 1;
		}
	}
	return c;
}

static void test_drain_set_and_apply(void **unused)
{
	struct drain_set d = {};
	struct config c = two_services();
	__be32 a11[4] = { htonl(0x0a01000b) }, a12[4] = { htonl(0x0a01000c) };

	assert_int_equal(drain_add(&d, BATON_FAMILY_V4, a12, 31001, "kernel\nupgrade", 100), 1);
	assert_int_equal(drain_add(&d, BATON_FAMILY_V4, a12, 31001, NULL, 200), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].reason, "kernel?upgrade"); /* control bytes never stored */
	assert_null(drain_find(&d, BATON_FAMILY_V4, a11, 31000));
	assert_non_null(drain_find(&d, BATON_FAMILY_V4, a12, 31001));
	/* The endpoint is drained in every service it serves, nothing else. */
	assert_int_equal(drain_apply(&d, &c), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c.services[i].backends[0].weight, 1);
		assert_false(c.services[i].backends[0].drained);
		assert_int_equal(c.services[i].backends[1].weight, 0);
		assert_true(c.services[i].backends[1].drained);
	}
	assert_int_equal(drain_remove(&d, BATON_FAMILY_V4, a12, 31001), 1);
	assert_int_equal(drain_remove(&d, BATON_FAMILY_V4, a12, 31001), 0);
	assert_int_equal(d.n, 0);
	config_free(&c);
	drain_set_free(&d);
}

static void test_drain_file(void **unused)
{
	char dir[] = "/tmp/baton-test-drains-XXXXXX", path[256], err[256];
	struct drain_set d = {}, back;
	__be32 a[4] = { htonl(0x0a01000b) }, b6[4];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/drains", dir);
	/* Missing file: an empty set. */
	assert_int_equal(drain_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	inet_pton(AF_INET6, "fd00::11", b6);
	assert_int_equal(drain_add(&d, BATON_FAMILY_V4, a, 31001, "kernel upgrade", 1764690000), 1);
	assert_int_equal(drain_add(&d, BATON_FAMILY_V6, b6, 80, "", 5), 1);
	assert_int_equal(drain_save(&d, path), 0);
	assert_int_equal(drain_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[0].reason, "kernel upgrade");
	assert_int_equal(back.v[0].since, 1764690000);
	assert_int_equal(back.v[1].family, BATON_FAMILY_V6);
	assert_int_equal(back.v[1].port, 80);
	drain_set_free(&back);
	/* A bad line is an error naming the line; nothing half-loaded. */
	f = fopen(path, "a");
	fprintf(f, "not-an-endpoint 5\n");
	fclose(f);
	assert_int_equal(drain_load(&back, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":4:"));
	assert_int_equal(back.n, 0);
	unlink(path);
	rmdir(dir);
	drain_set_free(&d);
}

/* ---- the view, its JSON, errors ---- */

/* A Marathon-shaped config: /team-a/web on two frontends (one a VIP), "/team-b/db". */
static struct config marathon_config(void)
{
	struct config c = two_services();

	c.services[0].app_id = "/team-a/web";
	c.services[1].app_id = "/team-a/web";
	c.services[1].is_vip = true;
	c.services[0].backends[0].task_id = "web.t1";
	c.services[1].backends[0].task_id = "web.t1";
	c.services[0].backends[1].draining = true;
	c.services[1].backends[1].draining = true;
	c.services = realloc(c.services, 3 * sizeof(*c.services));
	c.services[2] = (struct config_service){ .family = BATON_FAMILY_V4,
						 .proto = IPPROTO_UDP,
						 .port = 53,
						 .app_id = "/team-b/\"db\"\\x\n",
						 .port_index = 2 };
	c.n_services = 3;
	return c;
}

static bool counters_frontend(void *ctx, const struct baton_frontend_key *fk, struct view_stats *st)
{
	*st = (struct view_stats){ 10, 1000, 3, ntohs(fk->port) == 81 ? 1 : 0 };
	return fk->proto == IPPROTO_TCP; /* the UDP one "has no id" */
}

static bool counters_backend(void *ctx, __u8 family, const __be32 addr[4], __u16 port,
			     struct view_stats *st)
{
	*st = (struct view_stats){ 5, 500, 2, port == 31000 };
	return true;
}

static const struct view_counters counters = { counters_frontend, counters_backend, NULL };

static void test_view(void **unused)
{
	struct config c = marathon_config();
	struct view v;
	const struct view_service *s;
	cJSON *o, *be;
	char *text;

	assert_int_equal(view_build(&c, &v), 0);
	assert_int_equal(v.n, 2); /* two frontends of one service are one service */
	s = view_lookup(&v, "/team-a/web:0");
	assert_non_null(s);
	assert_int_equal(s->n_fe, 2);
	assert_int_equal(s->n_be, 2);
	assert_ptr_equal(view_lookup(&v, "team-a/web"), s);
	assert_ptr_equal(view_lookup(&v, "/team-a/web:0/tcp"), s);
	assert_non_null(view_lookup(&v, "/team-b/\"db\"\\x\n:2/udp"));
	assert_null(view_lookup(&v, "/team-a/web:1"));
	assert_null(view_lookup(&v, ""));

	o = view_service_json(s, &counters, NULL, true);
	assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "/team-a/web:0");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "frontends")), 2);
	assert_int_equal(cJSON_GetObjectItem(o, "active_flows")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(o, "packets")->valueint, 20);
	assert_int_equal(cJSON_GetObjectItem(o, "backends_serving")->valueint, 2);
	be = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "backends"), 0);
	assert_string_equal(cJSON_GetObjectItem(be, "id")->valuestring, "10.1.0.11:31000");
	assert_string_equal(cJSON_GetObjectItem(be, "task_id")->valuestring, "web.t1");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(be, "draining")));
	assert_int_equal(cJSON_GetObjectItem(be, "active_flows")->valueint, 1);
	be = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "backends"), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(be, "draining")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(be, "task_id")));
	cJSON_Delete(o);

	/* A frontend without a map id: counters are null, not zero. */
	s = view_lookup(&v, "/team-b/\"db\"\\x\n:2/udp");
	text = view_print(view_service_json(s, &counters, NULL, false));
	o = cJSON_Parse(text);
	assert_non_null(o);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "packets")));
	cJSON_Delete(o);
	free(text);
	view_free(&v);
	config_free(&c);
}

/* A capture is independent of the original (strings copied) and builds the same view. */
static void test_view_capture(void **unused)
{
	struct config c = marathon_config();
	struct view_capture cap = {};
	struct view v;
	char app[] = "/team-a/web", task[] = "web.t1";
	const struct view_service *s;

	for (int i = 0; i < 2; i++) {
		c.services[i].app_id = app;
		c.services[i].backends[0].task_id = task;
	}
	assert_int_equal(view_capture(&c, &cap), 0);
	assert_int_equal(view_capture(&c, &cap), 0); /* replaces the first one */
	strcpy(app, "/zzzzzz/web");
	strcpy(task, "gone");
	c.services[0].backends[0].weight = 77;
	assert_int_equal(view_build(cap.cfg, &v), 0);
	s = view_lookup(&v, "/team-a/web:0");
	assert_non_null(s);
	assert_string_equal(s->be[0].task_id, "web.t1");
	assert_int_equal(s->be[0].weight, 1);
	assert_int_equal(s->n_fe, 2);
	assert_non_null(view_lookup(&v, "/team-b/\"db\"\\x\n:2/udp"));
	view_free(&v);
	view_capture_free(&cap);
	assert_null(cap.cfg);
	for (int i = 0; i < 2; i++)
		c.services[i].app_id = NULL;
	config_free(&c);
}

static void test_error_json(void **unused)
{
	char *t = view_error_json("not_found", "no service \"x\"");
	cJSON *o = cJSON_Parse(t);

	assert_non_null(o);
	assert_int_equal(t[strlen(t) - 1], '\n');
	assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring, "not_found");
	assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, "no service \"x\"");
	assert_int_equal(cJSON_GetArraySize(o), 2);
	cJSON_Delete(o);
	free(t);
	t = view_error_json("internal", NULL);
	o = cJSON_Parse(t);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "reason")));
	cJSON_Delete(o);
	free(t);
}

/* ---- Prometheus text ---- */

struct family {
	char name[128];
	char type[16];
	bool help, samples_done;
	int samples;
};

struct parsed {
	int n;
	struct family f[128];
};

static struct family *family_of(struct parsed *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->f[i].name, name) == 0)
			return &p->f[i];
	return NULL;
}

static bool metric_name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/*
 * A strict reader of the text format (0.0.4): every line is "# HELP name text",
 * "# TYPE name type" or a sample "name{label="value",...} number"; HELP and TYPE once
 * per family and before its samples; a family's samples in one run; label values only
 * with the escapes \\ \" \n. Returns the number of samples; fails the test otherwise.
 */
static int parse_prom(const char *text, struct parsed *p)
{
	struct family *cur = NULL;
	const char *line = text;
	int samples = 0, lineno = 0;

	memset(p, 0, sizeof(*p));
	assert_int_equal(text[strlen(text) - 1], '\n');
	while (*line) {
		const char *end = strchr(line, '\n'), *q;
		char name[128];
		size_t n;

		lineno++;
		assert_non_null(end);
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';
			struct family *f;

			q = line + 7;
			n = strcspn(q, " \n");
			assert_true(metric_name_ok(q, n));
			snprintf(name, sizeof(name), "%.*s", (int)n, q);
			f = family_of(p, name);
			if (f == NULL) {
				assert_true(p->n < 128);
				f = &p->f[p->n++];
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			if (f->samples > 0)
				fail_msg("line %d: %s %s after its samples", lineno,
					 help ? "HELP" : "TYPE", name);
			if (help) {
				if (f->help)
					fail_msg("line %d: second HELP for %s", lineno, name);
				f->help = true;
			} else {
				if (f->type[0])
					fail_msg("line %d: second TYPE for %s", lineno, name);
				snprintf(f->type, sizeof(f->type), "%.*s", (int)(end - q - n - 1),
					 q + n + 1);
				assert_true(strcmp(f->type, "counter") == 0 ||
					    strcmp(f->type, "gauge") == 0);
			}
			if (cur != NULL && cur != f)
				cur->samples_done = true;
			cur = f;
			line = end + 1;
			continue;
		}
		assert_true(line[0] != '#');
		n = strcspn(line, "{ ");
		assert_true(metric_name_ok(line, n));
		snprintf(name, sizeof(name), "%.*s", (int)n, line);
		if (cur == NULL || strcmp(cur->name, name) != 0)
			fail_msg("line %d: sample %s outside its family", lineno, name);
		if (cur->samples_done)
			fail_msg("line %d: samples of %s split", lineno, name);
		if (!cur->type[0])
			fail_msg("line %d: %s has no TYPE", lineno, name);
		q = line + n;
		if (*q == '{') {
			q++;
			for (;;) {
				size_t k = strcspn(q, "=");

				assert_true(metric_name_ok(q, k));
				q += k;
				assert_int_equal(*q++, '=');
				assert_int_equal(*q++, '"');
				while (*q != '"') {
					assert_true(*q != '\n' && *q != '\0');
					if (*q == '\\') {
						q++;
						assert_true(*q == '\\' || *q == '"' || *q == 'n');
					}
					q++;
				}
				q++;
				if (*q == ',') {
					q++;
					continue;
				}
				assert_int_equal(*q++, '}');
				break;
			}
		}
		assert_int_equal(*q++, ' ');
		{
			char *e;

			strtod(q, &e);
			assert_ptr_equal(e, end);
		}
		cur->samples++;
		samples++;
		line = end + 1;
	}
	for (int i = 0; i < p->n; i++)
		if (!p->f[i].help || !p->f[i].type[0])
			fail_msg("%s lacks HELP or TYPE", p->f[i].name);
	return samples;
}

static void test_prometheus(void **unused)
{
	struct config c = marathon_config();
	struct view v;
	struct sync_vip vips[2] = {};
	struct metrics_input in = {};
	struct parsed p;
	struct tenant_set ts;
	char *text;

	assert_int_equal(view_build(&c, &v), 0);
	vips[0].app_id = "/team-a/web";
	vips[0].a.status = VIP_OK;
	vips[1].app_id = "/team-b/db";
	vips[1].a.status = VIP_REFUSED;
	in.view = &v;
	in.counters = &counters;
	in.have_reasons = true;
	in.reason_packets[BATON_R_FWD_TX] = 7;
	in.have_flows = true;
	in.flows_active = 3;
	in.marathon = true;
	in.marathon_connected = true;
	in.fetches_applied = 4;
	in.last_event_ms = 1764690000123ull;
	in.event_lag_ms = 12;
	in.vips = vips;
	in.n_vips = 2;
	in.n_drains = 1;
	in.api_requests[4] = 9;
	in.have_l7 = true;
	in.l7[BATON_L7S_syn_cookies] = 5;
	text = view_metrics(&in);
	assert_non_null(text);
	parse_prom(text, &p);
	assert_non_null(strstr(text, "baton_packets_total{reason=\"fwd_tx\"} 7\n"));
	assert_non_null(strstr(text, "baton_service_active_flows{service=\"/team-a/web:0\","
				     "frontend=\"10.0.0.100:81/tcp\"} 1\n"));
	assert_non_null(
		strstr(text, "baton_backend_active_flows{backend=\"10.1.0.11:31000\"} 1\n"));
	assert_non_null(strstr(text, "baton_vip_labels{status=\"refused\"} 1\n"));
	assert_non_null(strstr(text, "baton_marathon_fetches_applied_total 4\n"));
	assert_non_null(strstr(text, "baton_marathon_event_lag_seconds 0.012\n"));
	assert_non_null(strstr(text, "baton_api_requests_total{code=\"4xx\"} 9\n"));
	assert_non_null(strstr(text, "baton_drains 1\n"));
	assert_non_null(strstr(text, "baton_l7_total{counter=\"syn_cookies\"} 5\n"));
	assert_int_equal(family_of(&p, "baton_l7_total")->samples, BATON_L7S_MAX);
	assert_string_equal(family_of(&p, "baton_service_active_flows")->type, "gauge");
	assert_string_equal(family_of(&p, "baton_backend_packets_total")->type, "counter");
	/* Backends once each, though two frontends share them. */
	assert_int_equal(family_of(&p, "baton_backend_packets_total")->samples, 2);
	free(text);

	/* A tenant's token: its own services, no global families. */
	load_tokens(&ts);
	in.scope = &ts.v[1]; /* team-b */
	text = view_metrics(&in);
	parse_prom(text, &p);
	assert_null(strstr(text, "team-a"));
	assert_null(family_of(&p, "baton_packets_total"));
	assert_null(family_of(&p, "baton_marathon_fetches_applied_total"));
	assert_null(family_of(&p, "baton_l7_total"));
	assert_non_null(strstr(text, "baton_vip_labels{status=\"refused\"} 1\n"));
	assert_non_null(strstr(text, "baton_vip_labels{status=\"ok\"} 0\n"));
	free(text);
	tenant_set_free(&ts);
	view_free(&v);
	config_free(&c);
}

static void test_prom_escapes_and_misuse(void **unused)
{
	struct prom p = {};
	struct parsed parsed;
	char *text;

	prom_family(&p, "x_total", "counter", "Help with a \\ and a\nnewline.");
	prom_sample(&p, "x_total", 1, "l", "a\"b\\c\nd", "m", "", NULL);
	prom_family(&p, "y", "gauge", "Y.");
	prom_sample_f(&p, "y", 0.5, NULL);
	text = prom_finish(&p);
	assert_non_null(text);
	assert_int_equal(parse_prom(text, &parsed), 2);
	assert_non_null(strstr(text, "x_total{l=\"a\\\"b\\\\c\\nd\",m=\"\"} 1\n"));
	assert_non_null(strstr(text, "# HELP x_total Help with a \\\\ and a\\nnewline.\n"));
	free(text);

	/* A family opened twice or a sample outside its family is refused, not emitted. */
	memset(&p, 0, sizeof(p));
	prom_family(&p, "x", "gauge", "X.");
	prom_family(&p, "x", "gauge", "X.");
	assert_null(prom_finish(&p));
	memset(&p, 0, sizeof(p));
	prom_family(&p, "x", "gauge", "X.");
	prom_sample(&p, "y", 1, NULL);
	assert_null(prom_finish(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_parse),
		cmocka_unit_test(test_tokens_public_configurable),
		cmocka_unit_test(test_tokens_errors),
		cmocka_unit_test(test_tokens_file),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_tenant_vip_pools),
		cmocka_unit_test(test_drain_ids),
		cmocka_unit_test(test_drain_set_and_apply),
		cmocka_unit_test(test_drain_file),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_view_capture),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_prom_escapes_and_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
