// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* baton-l7's pure parts: HTTP head, ClientHello SNI, SYN cookies, route choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "l7_cookie.h"
#include "l7_parse.h"
#include "l7_route.h"

static enum l7_verdict http(const char *s, struct l7_request *r)
{
	return l7_parse_http(s, strlen(s), r);
}

static void test_http_basic(void **state)
{
	struct l7_request r;
	const char *req =
		"GET /api/v1/x?q=1 HTTP/1.1\r\nUser-Agent: t\r\nHOST: App.Example:8080\r\n"
		"\r\nbody";

	assert_int_equal(http(req, &r), L7_OK);
	assert_string_equal(r.host, "app.example");
	assert_string_equal(r.path, "/api/v1/x");
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.head_len, strlen(req) - 4);
}

static void test_http_incomplete_every_split(void **state)
{
	const char *req = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
	struct l7_request r;
	size_t n = strlen(req);

	/* A head split anywhere is incomplete until its last byte. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l7_parse_http(req, i, &r), L7_INCOMPLETE);
	assert_int_equal(l7_parse_http(req, n, &r), L7_OK);
	assert_string_equal(r.host, "a");
}

static void test_http_10_and_absolute(void **state)
{
	struct l7_request r;

	assert_int_equal(http("GET / HTTP/1.0\r\n\r\n", &r), L7_OK);
	assert_string_equal(r.host, "");
	assert_int_equal(r.minor, 0);
	assert_int_equal(http("GET http://Abs.Example/p/q HTTP/1.1\r\nHost: other\r\n\r\n", &r),
			 L7_OK);
	assert_string_equal(r.host, "abs.example");
	assert_string_equal(r.path, "/p/q");
	assert_int_equal(http("GET / HTTP/1.1\nHost: lf.example.\n\n", &r), L7_OK);
	assert_string_equal(r.host, "lf.example");
	assert_int_equal(http("GET / HTTP/1.1\r\nHost: [fd00::1]:80\r\n\r\n", &r), L7_OK);
	assert_string_equal(r.host, "[fd00::1]");
}

static void test_http_bad(void **state)
{
	struct l7_request r;
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\n\r\n",			/* 1.1 without Host */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two Hosts */
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",		/* version */
		"GET /\r\nHost: a\r\n\r\n",			/* HTTP/0.9 */
		"get / HTTP/1.1\r\nHost: a\r\n\r\n",		/* method case */
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",		/* empty target */
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",		/* host chars */
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", /* obs-fold */
		"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",	/* authority-form */
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n",		/* field */
		"\x16\x03\x01\x02\x05\x01\r\n\r\n",		/* TLS on http */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (http(bad[i], &r) != L7_BAD)
			fail_msg("case %zu accepted: %s", i, bad[i]);
	}
}

/* A ClientHello as OpenSSL sends it, trimmed: one record, SNI after another extension. */
static size_t client_hello(unsigned char *b, const char *name, size_t split_record)
{
	unsigned char hs[512];
	size_t p = 0, n = strlen(name), ext_start, hl;

	hs[p++] = 1; /* ClientHello */
	p += 3;	     /* length, below */
	hs[p++] = 3;
	hs[p++] = 3;
	memset(hs + p, 0xab, 32);
	p += 32;
	hs[p++] = 0; /* session id */
	hs[p++] = 0;
	hs[p++] = 2;
	hs[p++] = 0x13;
	hs[p++] = 0x01; /* TLS_AES_128_GCM_SHA256 */
	hs[p++] = 1;
	hs[p++] = 0; /* null compression */
	ext_start = p;
	p += 2;
	hs[p++] = 0x00;
	hs[p++] = 0x0b; /* ec_point_formats */
	hs[p++] = 0;
	hs[p++] = 2;
	hs[p++] = 1;
	hs[p++] = 0;
	hs[p++] = 0;
	hs[p++] = 0; /* server_name */
	hs[p++] = (unsigned char)((n + 5) >> 8);
	hs[p++] = (unsigned char)(n + 5);
	hs[p++] = (unsigned char)((n + 3) >> 8);
	hs[p++] = (unsigned char)(n + 3);
	hs[p++] = 0;
	hs[p++] = (unsigned char)(n >> 8);
	hs[p++] = (unsigned char)n;
	memcpy(hs + p, name, n);
	p += n;
	hs[ext_start] = (unsigned char)((p - ext_start - 2) >> 8);
	hs[ext_start + 1] = (unsigned char)(p - ext_start - 2);
	hl = p - 4;
	hs[1] = 0;
	hs[2] = (unsigned char)(hl >> 8);
	hs[3] = (unsigned char)hl;
	/* One record, or two with the handshake split at split_record. */
	size_t out = 0,
	       parts[2][2] = { { 0, split_record ? split_record : p }, { split_record, p } };

	for (int i = 0; i < (split_record ? 2 : 1); i++) {
		size_t len = parts[i][1] - parts[i][0];

		b[out++] = 22;
		b[out++] = 3;
		b[out++] = 1;
		b[out++] = (unsigned char)(len >> 8);
		b[out++] = (unsigned char)len;
		memcpy(b + out, hs + parts[i][0], len);
		out += len;
	}
	return out;
}

static void test_sni(void **state)
{
	unsigned char b[1024];
	char sni[128];
	size_t head, n = client_hello(b, "Secure.Example", 0);

	assert_int_equal(l7_parse_sni(b, n, sni, sizeof(sni), &head), L7_OK);
	assert_string_equal(sni, "secure.example");
	assert_int_equal(head, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l7_parse_sni(b, i, sni, sizeof(sni), &head), L7_INCOMPLETE);
	/* Split over two records. */
	n = client_hello(b, "two.example", 20);
	assert_int_equal(l7_parse_sni(b, n, sni, sizeof(sni), &head), L7_OK);
	assert_string_equal(sni, "two.example");
	/* Not TLS: an HTTP request on an https frontend. */
	assert_int_equal(l7_parse_sni((const unsigned char *)"GET / HTTP/1.1\r\n", 16, sni,
				      sizeof(sni), &head),
			 L7_BAD);
	/* A length that runs past the extensions. */
	n = client_hello(b, "x.example", 0);
	b[5 + 4 + 2 + 32 + 1 + 4 + 2 + 1] = 0xff;
	assert_int_equal(l7_parse_sni(b, n, sni, sizeof(sni), &head), L7_BAD);
}

static void test_siphash_vector(void **state)
{
	/* The reference test vector of the SipHash paper (key 00..0f, message 00..0e). */
	struct l7_cookie_key k = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	unsigned char m[15];

	for (int i = 0; i < 15; i++)
		m[i] = (unsigned char)i;
	assert_true(l7_siphash(&k, m, sizeof(m)) == 0xa129ca6149be45e5ull);
}

static void test_cookie(void **state)
{
	struct l7_cookie_key k = { 0x1234, 0x5678 }, other = { 0x1234, 0x5679 };
	struct l7_tuple t = { .family = 4, .sport = htons(40000), .dport = htons(80) };
	unsigned int mss, ws, bad = 0;
	uint32_t c, now = 1000000;

	t.saddr[0] = htonl(0x0a000001);
	t.daddr[0] = htonl(0x0a000064);
	c = l7_cookie_make(&k, &t, 12345, now, 3, 7);
	assert_int_equal(l7_cookie_check(&k, &t, 12345, c, now, &mss, &ws), 0);
	assert_int_equal(mss, 3);
	assert_int_equal(ws, 7);
	assert_int_equal(l7_cookie_check(&k, &t, 12345, c, now + 64, &mss, &ws), 0);   /* 1 tick */
	assert_int_equal(l7_cookie_check(&k, &t, 12345, c, now + 200, &mss, &ws), -1); /* old */
	assert_int_equal(l7_cookie_check(&k, &t, 12346, c, now, &mss, &ws), -1);       /* ISN */
	assert_int_equal(l7_cookie_check(&other, &t, 12345, c, now, &mss, &ws), -1);   /* key */
	t.sport = htons(40001);
	assert_int_equal(l7_cookie_check(&k, &t, 12345, c, now, &mss, &ws), -1); /* tuple */
	t.sport = htons(40000);
	c = l7_cookie_make(&k, &t, 1, now, 0, L7_COOKIE_NO_WSCALE);
	assert_int_equal(l7_cookie_check(&k, &t, 1, c, now, &mss, &ws), 0);
	assert_int_equal(ws, L7_COOKIE_NO_WSCALE);
	/* Every single-bit flip of a cookie fails. */
	for (int b = 0; b < 32; b++)
		bad += l7_cookie_check(&k, &t, 1, c ^ (1u << b), now, &mss, &ws) != 0;
	assert_true(bad >= 31); /* the tick bit flip to the previous tick may still pass */
	assert_int_equal(l7_cookie_mss_index(1460), 3);
	assert_int_equal(l7_cookie_mss_index(1448), 2);
	assert_int_equal(l7_cookie_mss_index(100), 0);
}

static void route(struct baton_l7_route *r, const char *host, const char *path, __u32 sid)
{
	memset(r, 0, sizeof(*r));
	r->family = BATON_FAMILY_V4;
	r->addr[0] = htonl(0x0a000064);
	r->port = htons(80);
	r->service_id = sid;
	strcpy(r->host, host);
	strcpy(r->path, path);
}

static void test_route_pick(void **state)
{
	struct baton_l7_route r[5];
	__be32 a[4] = { htonl(0x0a000064) }, b[4] = { htonl(0x0a000065) };

	route(&r[0], "a.example", "", 1);
	route(&r[1], "a.example", "/api", 2);
	route(&r[2], "", "/static", 3);
	route(&r[3], "b.example", "/", 4);
	route(&r[4], "", "", 5);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "a.example", "/x"), 0);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "a.example", "/api/v1"), 1);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "a.example", "/static/x"), 0);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "c.example", "/static/x"), 2);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "b.example", "/q"), 3);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(80), "c.example", "/q"), 4);
	assert_int_equal(l7_route_pick(r, 4, 4, a, htons(80), "c.example", "/q"), -1);
	assert_int_equal(l7_route_pick(r, 5, 4, a, htons(81), "a.example", "/"), -1);
	assert_int_equal(l7_route_pick(r, 5, 4, b, htons(80), "a.example", "/"), -1);
}

static void test_insert_xff(void **state)
{
	static const char req[] = "GET /x?y HTTP/1.1\r\nHost: a.example\r\n\r\nGET /2";
	uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
	__be32 v4 = htonl(0x0a3c0102);
	char buf[128];
	struct l7_request r;
	size_t len = strlen(req);
	int n;

	(void)state;
	memcpy(buf, req, len);
	n = l7_insert_xff(buf, len, sizeof(buf), AF_INET, &v4);
	assert_int_equal(n, (int)strlen("X-Forwarded-For: 10.60.1.2\r\n"));
	assert_memory_equal(buf,
			    "GET /x?y HTTP/1.1\r\nX-Forwarded-For: 10.60.1.2\r\n"
			    "Host: a.example\r\n\r\nGET /2",
			    len + (size_t)n);
	assert_int_equal(l7_parse_http(buf, len + (size_t)n, &r), L7_OK);
	assert_string_equal(r.host, "a.example");
	assert_int_equal(r.head_len, strlen(req) - strlen("GET /2") + (size_t)n);

	memcpy(buf, req, len);
	n = l7_insert_xff(buf, len, sizeof(buf), AF_INET6, v6);
	assert_int_equal(n, (int)strlen("X-Forwarded-For: fd00::a\r\n"));
	assert_memory_equal(buf + 19, "X-Forwarded-For: fd00::a\r\nHost", 30);

	/* No room, no request line: -1 and the head unchanged. */
	memcpy(buf, req, len);
	assert_int_equal(l7_insert_xff(buf, len, len + 10, AF_INET, &v4), -1);
	assert_memory_equal(buf, req, len);
	assert_int_equal(l7_insert_xff(buf, 10, sizeof(buf), AF_INET, &v4), -1);
	assert_memory_equal(buf, req, len);
}

static int cookie(const char *head, char *out, size_t cap)
{
	return l7_find_cookie(head, strlen(head), L7_STICKY_COOKIE, out, cap);
}

static void test_find_cookie(void **state)
{
	char v[16], big[600];
	uint32_t id;

	(void)state;
	/* Several cookies, spaces around them and around '=', a quoted value. */
	assert_int_equal(cookie("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; "
				"mesosphere_server_id=0a1b2c3d;b=2\r\n\r\n",
				v, sizeof(v)),
			 8);
	assert_string_equal(v, "0a1b2c3d");
	assert_int_equal(cookie("GET / HTTP/1.1\r\ncookie:x=1 ;  mesosphere_server_id = "
				"\"ABCDEF01\" \r\n\r\n",
				v, sizeof(v)),
			 8);
	assert_string_equal(v, "ABCDEF01");
	/* Several Cookie fields: the first pair with the name wins; bare "\n" ends lines too. */
	assert_int_equal(cookie("GET / HTTP/1.1\nCookie: a=1\nCOOKIE: mesosphere_server_id=11\n"
				"Cookie: mesosphere_server_id=22\n\n",
				v, sizeof(v)),
			 2);
	assert_string_equal(v, "11");
	/* Missing: no Cookie field, other cookies only, a prefix or suffix of the name. */
	assert_int_equal(cookie("GET / HTTP/1.1\r\nHost: a\r\n\r\n", v, sizeof(v)), -1);
	assert_string_equal(v, "");
	assert_int_equal(cookie("GET / HTTP/1.1\r\nCookie: a=1; b=2\r\n\r\n", v, sizeof(v)), -1);
	assert_int_equal(cookie("GET / HTTP/1.1\r\nCookie: xmesosphere_server_id=1; "
				"mesosphere_server_idx=2\r\n\r\n",
				v, sizeof(v)),
			 -1);
	/* Not a Cookie field: the request line, Set-Cookie, a field named Cookies. */
	assert_int_equal(cookie("GET /Cookie:mesosphere_server_id=1 HTTP/1.1\r\nSet-Cookie: "
				"mesosphere_server_id=1\r\nCookies: mesosphere_server_id=1\r\n\r\n",
				v, sizeof(v)),
			 -1);
	/* Malformed pairs (no '=', empty) are skipped; an empty value is found, empty. */
	assert_int_equal(
		cookie("GET / HTTP/1.1\r\nCookie: ;;junk; =x; mesosphere_server_id=\r\n\r\n", v,
		       sizeof(v)),
		0);
	assert_string_equal(v, "");
	assert_int_equal(
		cookie("GET / HTTP/1.1\r\nCookie: mesosphere_server_id\r\n\r\n", v, sizeof(v)), -1);
	/* Oversized: a value that does not fit is not found (and not cut). */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nCookie: mesosphere_server_id=");
	memset(big + strlen(big), 'a', 500);
	strcat(big, "\r\n\r\n");
	assert_int_equal(cookie(big, v, sizeof(v)), -1);
	assert_string_equal(v, "");
	assert_int_equal(
		cookie("GET / HTTP/1.1\r\nCookie: mesosphere_server_id=0123456789abcdef\r\n\r\n", v,
		       sizeof(v)),
		-1);
	assert_int_equal(
		cookie("GET / HTTP/1.1\r\nCookie: mesosphere_server_id=0123456789abcde\r\n\r\n", v,
		       sizeof(v)),
		15);
	/* The head ends at its blank line: a Cookie line in the body that follows is not one. */
	assert_int_equal(cookie("POST / HTTP/1.1\r\nHost: a\r\n\r\nCookie: "
				"mesosphere_server_id=0a1b2c3d\r\n",
				v, sizeof(v)),
			 -1);
	assert_int_equal(
		cookie("POST / HTTP/1.0\n\nCookie: mesosphere_server_id=0a1b2c3d\n", v, sizeof(v)),
		-1);
	/* Cut short: only what is inside len counts. */
	assert_int_equal(l7_find_cookie("GET / HTTP/1.1\r\nCookie: mesosphere_server_id=ab", 20,
					L7_STICKY_COOKIE, v, sizeof(v)),
			 -1);

	/* Server ids: 8 hex digits, either case, nothing else. */
	assert_int_equal(l7_parse_server_id("0a1B2c3D", &id), 0);
	assert_int_equal(id, 0x0a1b2c3d);
	assert_int_equal(l7_parse_server_id("0a1b2c3", &id), -1);
	assert_int_equal(l7_parse_server_id("0a1b2c3d4", &id), -1);
	assert_int_equal(l7_parse_server_id("0a1b2c3g", &id), -1);
	assert_int_equal(l7_parse_server_id("", &id), -1);
}

static void test_server_id(void **state)
{
	uint8_t v6[16] = { 0xfd, 0x60, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11 };
	__be32 v4 = htonl(0x0a3c020b); /* 10.60.2.11 */

	(void)state;
	/* FNV-1a 32 of the text, as docs/l7.md says (the netns test computes it in Python). */
	assert_int_equal(l7_server_id(AF_INET, &v4, 31001), 0x810f39b9);
	assert_int_equal(l7_server_id(AF_INET6, v6, 31001), 0xb8b3f356);
	assert_int_not_equal(l7_server_id(AF_INET, &v4, 31002), l7_server_id(AF_INET, &v4, 31001));
}

static void test_response_head(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	char buf[128];
	size_t len = strlen(resp);
	int status, n;

	(void)state;
	assert_int_equal(l7_response_head(resp, len, &status), (long)(len - 3));
	assert_int_equal(status, 200);
	for (size_t cut = 0; cut < len - 3; cut++)
		assert_int_equal(l7_response_head(resp, cut, &status), 0);
	assert_int_equal(l7_response_head("HTTP/1.1 100 Continue\r\n\r\n", 25, &status), 25);
	assert_int_equal(status, 100);
	assert_int_equal(l7_response_head("HTTP/1.0 404\n\n", 14, &status), 14);
	assert_int_equal(status, 404);
	/* Not a status line: complete, status -1. */
	assert_int_equal(l7_response_head("HTTP/2 200 OK\r\n\r\n", 17, &status), 17);
	assert_int_equal(status, -1);
	assert_int_equal(l7_response_head("HTTP/1.1 20x OK\r\n\r\n", 19, &status), 19);
	assert_int_equal(status, -1);
	assert_int_equal(l7_response_head("HTTP/1.1 2000\r\n\r\n", 17, &status), 17);
	assert_int_equal(status, -1);

	memcpy(buf, resp, len);
	n = l7_insert_set_cookie(buf, len, sizeof(buf), 0x0a1b2c3d);
	assert_int_equal(n, (int)strlen("Set-Cookie: mesosphere_server_id=0a1b2c3d; path=/\r\n"));
	assert_memory_equal(buf,
			    "HTTP/1.1 200 OK\r\nSet-Cookie: mesosphere_server_id=0a1b2c3d; "
			    "path=/\r\nContent-Length: 3\r\n\r\nabc",
			    len + (size_t)n);
	assert_int_equal(l7_response_head(buf, len + (size_t)n, &status),
			 (long)(len + (size_t)n - 3));
	/* No room, no status line: -1, unchanged. */
	memcpy(buf, resp, len);
	assert_int_equal(l7_insert_set_cookie(buf, len, len + 20, 1), -1);
	assert_int_equal(l7_insert_set_cookie(buf, 10, sizeof(buf), 1), -1);
	assert_memory_equal(buf, resp, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_basic),
		cmocka_unit_test(test_http_incomplete_every_split),
		cmocka_unit_test(test_http_10_and_absolute),
		cmocka_unit_test(test_http_bad),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_route_pick),
		cmocka_unit_test(test_insert_xff),
		cmocka_unit_test(test_find_cookie),
		cmocka_unit_test(test_server_id),
		cmocka_unit_test(test_response_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
