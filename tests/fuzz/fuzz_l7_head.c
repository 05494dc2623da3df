// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: baton-l7's request-head parsers (dataplane/l7_parse.c), the bytes a
 * client sends before the lane has chosen a backend. The first byte picks the parser
 * (HTTP/1.x head or TLS ClientHello SNI); the rest is the input. Checks what baton-l7
 * relies on: a verdict for every prefix of the input, never a claim to have parsed
 * more bytes than there are, NUL-terminated host / SNI within their bounds, and a
 * complete head that stays parsed the same when more bytes follow it, and a sticky
 * cookie value (l7_find_cookie) within its bounds; the same bytes as a response head
 * (l7_response_head) measured within them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7_parse.h"

/* The sticky cookie of a complete head: within its bounds, NUL-terminated, or none. */
static void check_cookie(const char *buf, size_t head_len)
{
	char v[16];
	uint32_t id;
	int n;

	memset(v, 0xaa, sizeof(v));
	n = l7_find_cookie(buf, head_len, L7_STICKY_COOKIE, v, sizeof(v));
	if (n < -1 || n >= (int)sizeof(v) || (n >= 0 && v[n] != '\0') || (n < 0 && v[0] != '\0'))
		abort();
	if (n >= 0 && l7_parse_server_id(v, &id) == 0 && n != L7_SERVER_ID_LEN)
		abort();
}

static void check_http(const char *buf, size_t len)
{
	struct l7_request r, again;
	enum l7_verdict v;
	int status;
	long rl;

	/* The same bytes as a backend's response head (sticky: Set-Cookie goes into it). */
	status = 0;
	rl = l7_response_head(buf, len, &status);
	if (rl < 0 || (size_t)rl > len || (rl == 0 && status != -1) || status < -1 || status > 999)
		abort();
	memset(&r, 0xaa, sizeof(r));
	v = l7_parse_http(buf, len, &r);
	if (v != L7_OK && v != L7_INCOMPLETE && v != L7_BAD)
		abort();
	if (v != L7_OK)
		return;
	if (r.head_len == 0 || r.head_len > len || memchr(r.host, '\0', L7_HOST_MAX) == NULL ||
	    memchr(r.path, '\0', L7_PATH_MAX) == NULL)
		abort();
	/* Bytes after the head (a body, a pipelined request) do not change the head. */
	memset(&again, 0x55, sizeof(again));
	if (l7_parse_http(buf, r.head_len, &again) != L7_OK || again.head_len != r.head_len ||
	    strcmp(again.host, r.host) != 0 || strcmp(again.path, r.path) != 0 ||
	    again.minor != r.minor)
		abort();
	check_cookie(buf, r.head_len);
}

static void check_sni(const unsigned char *buf, size_t len)
{
	char sni[L7_HOST_MAX];
	size_t head_len = 0;
	enum l7_verdict v;

	memset(sni, 0xaa, sizeof(sni));
	v = l7_parse_sni(buf, len, sni, sizeof(sni), &head_len);
	if (v != L7_OK && v != L7_INCOMPLETE && v != L7_BAD)
		abort();
	if (v == L7_OK &&
	    (head_len == 0 || head_len > len || memchr(sni, '\0', sizeof(sni)) == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(n ? n : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, n);
	if (data[0] & 1) {
		check_sni(copy, n);
	} else {
		/* Every cut of the input, as segments arrive: a verdict, never a crash. */
		for (size_t cut = n > 64 ? n - 64 : 0; cut < n; cut++)
			check_http((const char *)copy, cut);
		check_http((const char *)copy, n);
	}
	free(copy);
	return 0;
}
