// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The services file's L7 fields and l7_lower(): http services for the maps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "baton_abi.h"
#include "config.h"
#include "l7.h"

static int parse(const char *json, struct config *c, char *err)
{
	return config_parse(json, strlen(json), c, err, 256);
}

#define BE "\"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8080}]"

static void test_parse_fields(void **state)
{
	struct config c = {};
	char err[256];

	assert_int_equal(
		parse("{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, "
		      "\"protocol\": \"tcp\", \"mode\": \"http\", \"vhosts\": [\"A.Example\", "
		      "\"b.example\"], \"path\": \"/api\", \"redirect_to_https\": true, "
		      "\"forwarded_for\": true, " BE
		      "}, {\"name\": \"b\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		      "\"tcp\", \"mode\": \"http\", " BE "}]}",
		      &c, err),
		0);
	assert_int_equal(c.n_services, 2);
	assert_int_equal(c.services[0].mode, CONFIG_MODE_HTTP);
	assert_int_equal(c.services[0].n_vhosts, 2);
	assert_string_equal(c.services[0].vhosts[0], "a.example");
	assert_string_equal(c.services[0].path, "/api");
	assert_true(c.services[0].redirect_to_https);
	assert_true(c.services[0].forwarded_for);
	assert_false(c.services[1].forwarded_for); /* off unless configured */
	config_free(&c);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		/* vhosts without an L7 mode */
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"tcp\", \"vhosts\": [\"x\"], " BE "}]}",
		/* an unknown mode */
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"tcp\", \"mode\": \"grpc\", " BE "}]}",
		/* http over UDP */
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"udp\", \"mode\": \"http\", " BE "}]}",
		/* a path not starting with / */
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"tcp\", \"mode\": \"http\", \"path\": \"api\", " BE "}]}",
		/* forwarded_for not a boolean, and without an L7 mode */
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"tcp\", \"mode\": \"http\", \"forwarded_for\": 1, " BE "}]}",
		"{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		"\"tcp\", \"forwarded_for\": true, " BE "}]}",
	};
	struct config c = {};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &c, err) != -EINVAL)
			fail_msg("case %zu accepted", i);
	}
}

static void test_lower(void **state)
{
	struct config c = {};
	char err[256];
	size_t n_fe = 0, n_route = 0;

	assert_int_equal(
		parse("{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, "
		      "\"protocol\": \"tcp\", \"mode\": \"http\", \"vhosts\": [\"a\"], " BE
		      "}, {\"name\": \"b\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		      "\"tcp\", \"mode\": \"http\", \"vhosts\": [\"b\"], " BE
		      "}, {\"name\": \"t\", \"vip\": \"10.0.0.1\", \"port\": 443, \"protocol\": "
		      "\"tcp\", \"mode\": \"https\", \"vhosts\": [\"s\"], " BE
		      "}, {\"name\": \"l4\", \"vip\": \"10.0.0.1\", \"port\": 22, \"protocol\": "
		      "\"tcp\", " BE "}]}",
		      &c, err),
		0);
	assert_int_equal(l7_lower(&c, err, sizeof(err)), 0);
	/* 4 services + one L7 frontend per (address, port): 80 and 443 */
	assert_int_equal(c.n_services, 6);
	for (size_t i = 0; i < c.n_services; i++) {
		const struct config_service *s = &c.services[i];

		if (s->proto == BATON_PROTO_L7_ROUTE) {
			n_route++;
			assert_int_not_equal(s->port, 0);
			assert_true(s->l7_port == 80 || s->l7_port == 443);
		} else if (s->fe_flags & BATON_FE_F_L7) {
			n_fe++;
			assert_int_equal(s->n_backends, 0);
			assert_int_equal(!!(s->fe_flags & BATON_FE_F_TLS), s->port == 443);
		} else {
			assert_string_equal(s->name, "l4");
		}
	}
	assert_int_equal(n_route, 3);
	assert_int_equal(n_fe, 2);
	/* The two routes on port 80 got different synthetic ports. */
	assert_int_not_equal(c.services[0].port, c.services[1].port);
	config_free(&c);
}

static void test_lower_conflicts(void **state)
{
	struct config c = {};
	char err[256];

	/* A TCP service on an L7 frontend. */
	assert_int_equal(
		parse("{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, "
		      "\"protocol\": \"tcp\", \"mode\": \"http\", " BE
		      "}, {\"name\": \"b\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		      "\"tcp\", " BE "}]}",
		      &c, err),
		-EINVAL); /* the config parser already sees the shared frontend */
	config_free(&c);
	/* The same host and path twice. */
	assert_int_equal(
		parse("{\"services\": [{\"name\": \"a\", \"vip\": \"10.0.0.1\", \"port\": 80, "
		      "\"protocol\": \"tcp\", \"mode\": \"http\", \"vhosts\": [\"x\", \"y\"], " BE
		      "}, {\"name\": \"b\", \"vip\": \"10.0.0.1\", \"port\": 80, \"protocol\": "
		      "\"tcp\", \"mode\": \"http\", \"vhosts\": [\"y\"], " BE "}]}",
		      &c, err),
		0);
	assert_int_equal(l7_lower(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"y\""));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_lower_conflicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
