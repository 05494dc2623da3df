/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * baton-l7's pure parsers: the HTTP/1.x request head (request line and Host) and the
 * TLS ClientHello's server_name. Bytes in, a verdict and a struct out; no I/O, no
 * allocation, unit-tested in tests/l7.
 */
#ifndef BATON_L7_PARSE_H
#define BATON_L7_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define L7_HOST_MAX 128 /* as BATON_L7_HOST_MAX, NUL included */
#define L7_PATH_MAX 256

enum l7_verdict {
	L7_INCOMPLETE = 0, /* need more bytes */
	L7_OK = 1,
	L7_BAD = -1, /* not a request we can route: 400 (or a close for TLS) */
};

struct l7_request {
	size_t head_len;	/* bytes up to and including the blank line */
	int minor;		/* HTTP/1.<minor> */
	char host[L7_HOST_MAX]; /* lower case, port and trailing dot removed; "" = none */
	char path[L7_PATH_MAX]; /* the target's path, without query; cut at L7_PATH_MAX - 1 */
};

/*
 * Parses the request head at buf[0..len). L7_INCOMPLETE until the blank line has
 * arrived (the caller bounds the size); then L7_OK with *r filled, or L7_BAD for a
 * malformed request line, a version other than HTTP/1.0 or 1.1, a Host header that is
 * repeated or not a host name, or an HTTP/1.1 request without Host. An absolute-form
 * target (http://host/path) supplies the host too, and wins over the header (RFC 9112).
 */
enum l7_verdict l7_parse_http(const char *buf, size_t len, struct l7_request *r);

/*
 * Parses a TLS ClientHello at buf[0..len) (one or more handshake records). L7_OK with
 * sni set (lower case; "" when the hello has no server_name), L7_INCOMPLETE while the
 * hello is not complete, L7_BAD if this is not a TLS handshake starting with a
 * ClientHello. On L7_OK *head_len is the length of the records that held the hello.
 */
enum l7_verdict l7_parse_sni(const unsigned char *buf, size_t len, char *sni, size_t sni_len,
			     size_t *head_len);

#define L7_XFF_MAX 64 /* "X-Forwarded-For: " + an IPv6 address + CRLF, rounded up */

/*
 * Inserts "X-Forwarded-For: <addr>\r\n" (addr: 4 or 16 bytes, network order, of family
 * AF_INET or AF_INET6) after the request line of the HTTP head at buf[0..len); buf has
 * room for cap bytes. Returns the bytes inserted, or -1 (no complete request line, or
 * no room) with buf unchanged.
 */
int l7_insert_xff(char *buf, size_t len, size_t cap, int family, const void *addr);

/*
 * Sticky sessions (docs/l7.md "Sticky sessions"). The cookie is Marathon-LB's name, so
 * clients moving from Marathon-LB keep it; its value names a backend by a hash of its
 * address and port that anyone can compute: FNV-1a (32 bits) of the text
 * "10.0.0.5:8080" (IPv4) or "[fd00::5]:8080" (IPv6, inet_ntop form), as 8 lower-case
 * hex digits.
 */
#define L7_STICKY_COOKIE "mesosphere_server_id"
#define L7_SERVER_ID_LEN 8

/* The server id of a backend: addr 4 or 16 bytes, network order; port host order. */
uint32_t l7_server_id(int family, const void *addr, unsigned int port);

/*
 * The value of the cookie named name in the Cookie header fields of the head at
 * buf[0..len) (up to its blank line; bytes after it are not read): pairs "name=value" separated
 * by ';' with optional spaces, a value optionally in double quotes; pairs without '='
 * are skipped; the first pair with the name wins, across several Cookie fields.
 * Returns the value's length with the value NUL-terminated in out, or -1: no such
 * cookie, or a value of cap bytes or more (out is then "").
 */
int l7_find_cookie(const char *buf, size_t len, const char *name, char *out, size_t cap);

/*
 * Inserts "Set-Cookie: mesosphere_server_id=<server id>; path=/\r\n" after the status
 * line of the response head at buf[0..len) (room for cap bytes). Returns the bytes
 * inserted, or -1 (no complete status line, or no room) with buf unchanged.
 */
int l7_insert_set_cookie(char *buf, size_t len, size_t cap, uint32_t server_id);

/*
 * The response head at buf[0..len): 0 while its blank line has not arrived, else its
 * length, with *status the status code of an "HTTP/1.x NNN" status line, -1 for
 * anything else.
 */
long l7_response_head(const char *buf, size_t len, int *status);

/* A server id written as a cookie value (8 hex digits, either case): 0 with *id set, or -1. */
int l7_parse_server_id(const char *s, uint32_t *id);

#endif /* BATON_L7_PARSE_H */
