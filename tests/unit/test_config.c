// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests for controlplane/config.c: a full round trip and every error path. */
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
#include "config.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/unit/fixtures"
#endif

/* Test JSON is written with single quotes for readability; this swaps them. */
static char *dq(const char *s)
{
	char *r = strdup(s), *p;

	assert_non_null(r);
	for (p = r; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static bool is_empty(const struct config *c)
{
	return c->n_services == 0 && c->services == NULL && c->maglev_size == 0;
}

static void check_v4(const __be32 a[4], const char *text)
{
	__be32 want[4] = { 0 };

	assert_int_equal(inet_pton(AF_INET, text, want), 1);
	assert_memory_equal(a, want, sizeof(want));
	assert_int_equal(a[1] | a[2] | a[3], 0);
}

static void check_v6(const __be32 a[4], const char *text)
{
	__be32 want[4];

	assert_int_equal(inet_pton(AF_INET6, text, want), 1);
	assert_memory_equal(a, want, sizeof(want));
}

static void test_valid_file(void **state)
{
	struct config c;
	const struct config_service *s;
	const struct config_backend *b;
	char err[256] = "untouched";

	assert_int_equal(config_load_file(FIXTURES_DIR "/valid.json", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.maglev_size, 1021);
	assert_int_equal(c.n_services, 3);

	s = &c.services[0];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->family, BATON_FAMILY_V4);
	check_v4(s->vip, "10.0.0.100");
	assert_int_equal(s->vip[0], htonl(0x0a000064)); /* network order */
	assert_int_equal(s->port, 80);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_false(s->sticky);
	assert_int_equal(s->maglev_size, 65537);
	assert_int_equal(s->n_backends, 3);
	b = s->backends;
	assert_int_equal(b[0].family, BATON_FAMILY_V4);
	check_v4(b[0].addr, "10.1.0.11");
	assert_int_equal(b[0].port, 31001);
	assert_int_equal(b[0].weight, 1);
	assert_int_equal(b[1].family, BATON_FAMILY_V4);
	check_v4(b[1].addr, "10.1.0.12");
	assert_int_equal(b[1].port, 31002);
	assert_int_equal(b[1].weight, 0);
	assert_int_equal(b[2].family, BATON_FAMILY_V4);
	check_v4(b[2].addr, "10.1.0.11");
	assert_int_equal(b[2].port, 31002);
	assert_int_equal(b[2].weight, 1); /* default */

	s = &c.services[1];
	assert_string_equal(s->name, "dns.v6/primary-1_A");
	assert_int_equal(s->family, BATON_FAMILY_V6);
	check_v6(s->vip, "2001:db8::53");
	assert_int_equal(s->port, 53);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->maglev_size, 1021); /* the file's default */
	assert_int_equal(s->n_backends, 2);
	b = s->backends;
	assert_int_equal(b[0].family, BATON_FAMILY_V6);
	check_v6(b[0].addr, "2001:db8:1::11");
	assert_int_equal(b[0].port, 5353);
	assert_int_equal(b[0].weight, 10000);
	assert_int_equal(b[1].family, BATON_FAMILY_V6);
	check_v6(b[1].addr, "fd00::ffff:1");
	assert_int_equal(b[1].port, 65535);
	assert_int_equal(b[1].weight, 7);

	/* Same vip and port as "web" but another protocol: a different frontend. */
	s = &c.services[2];
	assert_string_equal(s->name, "web-udp");
	assert_int_equal(s->family, BATON_FAMILY_V4);
	check_v4(s->vip, "10.0.0.100");
	assert_int_equal(s->port, 80);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->maglev_size, 7);
	assert_int_equal(s->n_backends, 0);
	assert_null(s->backends);

	config_free(&c);
	assert_true(is_empty(&c));
	config_free(&c); /* twice is harmless */
	config_free(NULL);
}

static void test_defaults_and_edges(void **state)
{
	char *j = dq(
		"{'services':[{'name':'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123',"
		"'vip':'::ffff:10.0.0.1','port':65535,'protocol':'udp','backends':"
		"[{'address':'::1','port':1,'weight':0}]}]}  \n\t");
	struct config c;
	char err[256];

	assert_int_equal(config_parse(j, strlen(j), &c, err, sizeof(err)), 0);
	assert_int_equal(c.maglev_size, BATON_MAGLEV_DEFAULT);
	assert_int_equal(c.n_services, 1);
	assert_int_equal(strlen(c.services[0].name), 63);
	assert_int_equal(c.services[0].family, BATON_FAMILY_V6); /* v4-mapped stays v6 */
	assert_int_equal(c.services[0].maglev_size, BATON_MAGLEV_DEFAULT);
	assert_int_equal(c.services[0].backends[0].weight, 0);
	config_free(&c);
	free(j);

	/* No services at all is a valid (empty) config. */
	j = dq("{'services':[],'maglev_size':7}");
	assert_int_equal(config_parse(j, strlen(j), &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_services, 0);
	assert_null(c.services);
	assert_int_equal(c.maglev_size, 7);
	config_free(&c);
	free(j);

	/* Only len bytes are read: what follows is ignored, no NUL needed. */
	j = dq("{'services':[]}garbage");
	assert_int_equal(config_parse(j, strlen(j) - 7, &c, err, sizeof(err)), 0);
	config_free(&c);
	free(j);

	/* Integral floats are integers; NULL err is allowed. */
	j = dq("{'services':[{'name':'a','vip':'1.2.3.4','port':8e1,'protocol':'tcp',"
	       "'maglev_size':7.0,'backends':[{'address':'1.2.3.5','port':80.0}]}]}");
	assert_int_equal(config_parse(j, strlen(j), &c, NULL, 0), 0);
	assert_int_equal(c.services[0].port, 80);
	assert_int_equal(c.services[0].maglev_size, 7);
	config_free(&c);
	free(j);

	/* sticky: hash on the client address only. */
	j = dq("{'services':[{'name':'a','vip':'1.2.3.4','port':80,'protocol':'tcp',"
	       "'sticky':true,'backends':[]}]}");
	assert_int_equal(config_parse(j, strlen(j), &c, err, sizeof(err)), 0);
	assert_true(c.services[0].sticky);
	config_free(&c);
	free(j);
}

struct bad_case {
	const char *json;
	const char *want; /* substring of the message */
};

#define WEB "'name':'web','vip':'10.0.0.100','port':80,'protocol':'tcp'"
#define SVC(fields) "{'services':[{" fields "}]}"
#define WEB_BE(backends) SVC(WEB ",'backends':[" backends "]")
#define V6_BE(backends) \
	SVC("'name':'v6','vip':'2001:db8::1','port':80,'protocol':'tcp','backends':[" backends "]")
#define BE(addr, port) "{'address':'" addr "','port':" #port "}"
#define EIGHT_BACKENDS                                                     \
	"{'address':'10.1.0.1','port':1},{'address':'10.1.0.2','port':1}," \
	"{'address':'10.1.0.3','port':1},{'address':'10.1.0.4','port':1}," \
	"{'address':'10.1.0.5','port':1},{'address':'10.1.0.6','port':1}," \
	"{'address':'10.1.0.7','port':1},{'address':'10.1.0.8','port':1}"

static const struct bad_case bad_cases[] = {
	{ SVC(WEB ",'sticky':'yes','backends':[]"),
	  "service \"web\": field \"sticky\": expected true or false" },
	/* JSON syntax */
	{ "", "invalid JSON: empty document" },
	{ "  \n ", "invalid JSON: empty document" },
	{ "{'services': [}", "invalid JSON at line 1 column" },
	{ "{\n 'services': [\n  ,\n ]\n}", "invalid JSON at line 3 column" },
	{ "{'services':[]} x", "unexpected data after the document at line 1 column 17" },
	{ "{'services':[]}{}", "unexpected data after the document" },
	/* top level */
	{ "[]", "top level: expected an object" },
	{ "{}", "top level: missing required field \"services\"" },
	{ "{'services':{}}", "top level: field \"services\": expected an array" },
	{ "{'services':[],'servics':[]}", "top level: unknown field \"servics\"" },
	{ "{'services':[],'services':[]}", "top level: duplicate field \"services\"" },
	{ "{'services':[],'maglev_size':65536}",
	  "top level: field \"maglev_size\": expected a prime" },
	{ "{'services':[],'maglev_size':5}", "top level: field \"maglev_size\"" },
	{ "{'services':[],'maglev_size':1048583}", "top level: field \"maglev_size\"" },
	{ "{'services':[],'maglev_size':65537.5}", "top level: field \"maglev_size\"" },
	{ "{'services':[],'maglev_size':'65537'}", "top level: field \"maglev_size\"" },
	/* service: name */
	{ "{'services':[1]}", "service 0: expected an object" },
	{ "{'services':[{'vip':'10.0.0.1'}]}", "service 0: missing required field \"name\"" },
	{ "{'services':[{'name':5}]}", "service 0: field \"name\": expected a string" },
	{ "{'services':[{'name':''}]}", "service 0: field \"name\"" },
	{ "{'services':[{'name':'we b'}]}", "service 0: field \"name\"" },
	{ "{'services':[{'name':'web!'}]}", "service 0: field \"name\"" },
	{ "{'services':[{'name':'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234'}]}",
	  "service 0: field \"name\"" },
	{ "{'services':["
	  "{" WEB ",'backends':[]},{'name':'x y'}]}",
	  "service 1: field \"name\"" },
	/* service: fields */
	{ SVC(WEB ",'prot':'tcp','backends':[]"), "service \"web\": unknown field \"prot\"" },
	{ SVC(WEB ",'port':81,'backends':[]"), "service \"web\": duplicate field \"port\"" },
	{ SVC(WEB ",'x\\u0001\\\"y':1,'backends':[]"), "service \"web\": unknown field \"x??y\"" },
	{ SVC("'name':'web','port':80,'protocol':'tcp','backends':[]"),
	  "service \"web\": missing required field \"vip\"" },
	{ SVC("'name':'web','vip':167772161,'port':80,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"vip\": expected a string" },
	{ SVC("'name':'web','vip':'10.0.0.300','port':80,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"vip\": \"10.0.0.300\" is not an IPv4 or IPv6 address" },
	{ SVC("'name':'web','vip':'web.example','port':80,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"vip\"" },
	{ SVC("'name':'web','vip':'fe80::1%eth0','port':80,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"vip\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','protocol':'tcp','backends':[]"),
	  "service \"web\": missing required field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':0,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\": expected an integer in 1..65535" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':65536,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':-80,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':80.5,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':'80','protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':true,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':1e400,'protocol':'tcp','backends':[]"),
	  "service \"web\": field \"port\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':80,'backends':[]"),
	  "service \"web\": missing required field \"protocol\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':80,'protocol':'sctp','backends':[]"),
	  "service \"web\": field \"protocol\": expected \"tcp\" or \"udp\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':80,'protocol':'TCP','backends':[]"),
	  "service \"web\": field \"protocol\"" },
	{ SVC("'name':'web','vip':'10.0.0.1','port':80,'protocol':6,'backends':[]"),
	  "service \"web\": field \"protocol\"" },
	{ SVC(WEB ",'maglev_size':4,'backends':[]"), "service \"web\": field \"maglev_size\"" },
	{ SVC(WEB ",'maglev_size':1048583,'backends':[]"),
	  "service \"web\": field \"maglev_size\"" },
	{ SVC(WEB ",'maglev_size':null,'backends':[]"), "service \"web\": field \"maglev_size\"" },
	{ SVC(WEB), "service \"web\": missing required field \"backends\"" },
	{ SVC(WEB ",'backends':{}"), "service \"web\": field \"backends\": expected an array" },
	{ SVC(WEB ",'maglev_size':7,'backends':[" EIGHT_BACKENDS "]"),
	  "service \"web\": 8 backends, more than maglev_size 7" },
	/* backends */
	{ WEB_BE("1"), "service \"web\" backend 0: expected an object" },
	{ WEB_BE(BE("10.1.0.1", 1) ",{'address':'10.1.0.2','port':2,'wieght':1}"),
	  "service \"web\" backend 1: unknown field \"wieght\"" },
	{ WEB_BE("{'address':'10.1.0.2','port':2,'port':3}"),
	  "service \"web\" backend 0: duplicate field \"port\"" },
	{ WEB_BE("{'port':2}"), "service \"web\" backend 0: missing required field \"address\"" },
	{ WEB_BE("{'address':['10.1.0.1'],'port':2}"),
	  "service \"web\" backend 0: field \"address\": expected a string" },
	{ WEB_BE(BE("10.1.0.1", 1) "," BE("10.1.0.2", 1) "," BE("10.1.0", 1)),
	  "service \"web\" backend 2: field \"address\": \"10.1.0\" is not an IPv4 or IPv6" },
	{ WEB_BE(BE("2001:db8::1", 1)),
	  "service \"web\" backend 0: field \"address\": IPv6 address but the vip is IPv4" },
	{ V6_BE(BE("10.0.0.1", 1)),
	  "service \"v6\" backend 0: field \"address\": IPv4 address but the vip is IPv6" },
	{ WEB_BE("{'address':'10.1.0.1'}"),
	  "service \"web\" backend 0: missing required field \"port\"" },
	{ WEB_BE(BE("10.1.0.1", 0)),
	  "service \"web\" backend 0: field \"port\": expected an integer" },
	{ WEB_BE(BE("10.1.0.1", 70000)), "service \"web\" backend 0: field \"port\"" },
	{ WEB_BE("{'address':'10.1.0.1','port':1,'weight':-1}"),
	  "service \"web\" backend 0: field \"weight\": expected an integer in 0..10000" },
	{ WEB_BE("{'address':'10.1.0.1','port':1,'weight':10001}"),
	  "service \"web\" backend 0: field \"weight\"" },
	{ WEB_BE("{'address':'10.1.0.1','port':1,'weight':1.5}"),
	  "service \"web\" backend 0: field \"weight\"" },
	{ WEB_BE("{'address':'10.1.0.1','port':1,'weight':'1'}"),
	  "service \"web\" backend 0: field \"weight\"" },
	{ WEB_BE(BE("10.1.0.11", 31001) "," BE("10.1.0.12", 31001) "," BE("10.1.0.11", 31001)),
	  "service \"web\" backend 2: duplicate of backend 0 (10.1.0.11:31001)" },
	{ V6_BE(BE("2001:db8::11", 8080) "," BE("2001:db8:0:0::11", 8080)),
	  "service \"v6\" backend 1: duplicate of backend 0 ([2001:db8::11]:8080)" },
	/* across services */
	{ "{'services':[{" WEB ",'backends':[]},{'name':'api','vip':'10.0.0.1','port':1,"
	  "'protocol':'tcp','backends':[]},{'name':'web','vip':'10.0.0.2','port':81,"
	  "'protocol':'tcp','backends':[]}]}",
	  "service 2: duplicate service name \"web\" (also service 0)" },
	{ "{'services':[{'name':'a','vip':'10.0.0.100','port':80,'protocol':'tcp','backends':[]},"
	  "{'name':'b','vip':'10.0.0.100','port':80,'protocol':'tcp','backends':[]}]}",
	  "service \"b\": frontend 10.0.0.100:80/tcp already used by service \"a\"" },
	{ "{'services':[{'name':'a','vip':'2001:db8::1','port':53,'protocol':'udp','backends':[]},"
	  "{'name':'b','vip':'10.0.0.1','port':53,'protocol':'udp','backends':[]},"
	  "{'name':'c','vip':'2001:DB8:0::1','port':53,'protocol':'udp','backends':[]}]}",
	  "service \"c\": frontend [2001:db8::1]:53/udp already used by service \"a\"" },
};

static void test_bad_cases(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *j = dq(bad_cases[i].json);
		struct config c;
		char err[256];
		int r;

		memset(&c, 0x5a, sizeof(c)); /* must come back zeroed */
		r = config_parse(j, strlen(j), &c, err, sizeof(err));
		if (r != -EINVAL || strstr(err, bad_cases[i].want) == NULL || !is_empty(&c))
			fail_msg("case %zu: %s\n  got %d \"%s\"\n  want -EINVAL \"%s\"", i, j, r,
				 err, bad_cases[i].want);
		free(j);
	}
}

/* A long generated document, built with a printf-like appender. */
struct sbuf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->len + n < b->cap)
			break;
		b->cap = b->cap * 2 + n + 1;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->len += n;
}

static char *many_services(size_t n)
{
	struct sbuf b = { malloc(64), 0, 64 };
	size_t i;

	assert_non_null(b.p);
	sb_add(&b, "{\"services\":[");
	for (i = 0; i < n; i++)
		sb_add(&b,
		       "%s{\"name\":\"s%zu\",\"vip\":\"10.0.0.1\",\"port\":%zu,\"protocol\":\"tcp\","
		       "\"backends\":[]}",
		       i ? "," : "", i, i + 1);
	sb_add(&b, "]}");
	return b.p;
}

static void test_service_limit(void **state)
{
	char *j = many_services(BATON_MAX_SERVICES);
	struct config c;
	char err[256], want[96];

	assert_int_equal(config_parse(j, strlen(j), &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_services, BATON_MAX_SERVICES);
	config_free(&c);
	free(j);

	j = many_services(BATON_MAX_SERVICES + 1);
	assert_int_equal(config_parse(j, strlen(j), &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%d services, more than the limit of %d",
		 BATON_MAX_SERVICES + 1, BATON_MAX_SERVICES);
	assert_non_null(strstr(err, want));
	assert_true(is_empty(&c));
	free(j);
}

/* Many backends: duplicates are still found, and reported by their first repeat. */
static void test_many_backends(void **state)
{
	struct sbuf b = { malloc(64), 0, 64 };
	const size_t n = 20000;
	struct config c;
	char err[256];
	size_t i, body;

	assert_non_null(b.p);
	sb_add(&b, "{\"services\":[{\"name\":\"big\",\"vip\":\"10.0.0.1\",\"port\":80,"
		   "\"protocol\":\"tcp\",\"backends\":[");
	for (i = 0; i < n; i++)
		sb_add(&b, "%s{\"address\":\"10.%zu.%zu.1\",\"port\":80}", i ? "," : "", i / 256,
		       i % 256);
	body = b.len;
	sb_add(&b, "]}]}");
	assert_int_equal(config_parse(b.p, b.len, &c, err, sizeof(err)), 0);
	assert_int_equal(c.services[0].n_backends, n);
	assert_int_equal(c.services[0].backends[n - 1].addr[0],
			 htonl(0x0a000001 | (78 << 16) | (31 << 8)));
	config_free(&c);

	/* Backend n repeats 7, n + 1 repeats 3: the first repeat in file order is n. */
	b.len = body;
	sb_add(&b, ",{\"address\":\"10.0.7.1\",\"port\":80},{\"address\":\"10.0.3.1\",\"port\":80}"
		   "]}]}");
	assert_int_equal(config_parse(b.p, b.len, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "service \"big\" backend 20000: duplicate of backend 7 "
				    "(10.0.7.1:80)"));
	assert_true(is_empty(&c));
	free(b.p);
}

static void test_load_errors(void **state)
{
	char path[] = "/tmp/baton-test-config-XXXXXX";
	struct config c;
	char err[512];
	int fd;

	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(
		config_load_file(FIXTURES_DIR "/does-not-exist.json", &c, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "does-not-exist.json: "));
	assert_true(is_empty(&c));

	/* Content errors carry the path in front of the parser's message. */
	assert_int_equal(config_load_file(FIXTURES_DIR "/unknown_field.json", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown_field.json: service \"web\": unknown field \"prot\""));
	assert_true(is_empty(&c));

	assert_true(config_load_file(FIXTURES_DIR, &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, FIXTURES_DIR ": "));

	/* Oversized regular file: refused by its size, without reading it. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, CONFIG_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(config_load_file(path, &c, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "larger than the limit"));
	assert_true(is_empty(&c));
	unlink(path);

	/* Endless stream: reading stops just past the limit. */
	if (access("/dev/zero", R_OK) == 0) {
		assert_int_equal(config_load_file("/dev/zero", &c, err, sizeof(err)), -EFBIG);
		assert_non_null(strstr(err, "/dev/zero: larger than the limit"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file),    cmocka_unit_test(test_defaults_and_edges),
		cmocka_unit_test(test_bad_cases),     cmocka_unit_test(test_service_limit),
		cmocka_unit_test(test_many_backends), cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
