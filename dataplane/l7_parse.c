// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "l7_parse.h"

/* The blank line ending the head: "\r\n\r\n" (or bare "\n\n", which RFC 9112 tolerates). */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* Host header value or authority: [v6] or name, optional :port. Lower case out. */
static int set_host(const char *p, size_t n, char *out)
{
	size_t end = n, k = 0;

	while (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		p++, n--, end--;
	while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	if (end == 0)
		return -1;
	if (p[0] == '[') {
		const char *rb = memchr(p, ']', end);

		if (rb == NULL)
			return -1;
		end = (size_t)(rb - p) + 1;
	} else {
		for (size_t i = 0; i < end; i++)
			if (p[i] == ':') {
				end = i;
				break;
			}
	}
	if (end > 1 && p[end - 1] == '.')
		end--;
	if (end == 0 || end >= L7_HOST_MAX)
		return -1;
	for (size_t i = 0; i < end; i++) {
		int c = (unsigned char)p[i];

		if (!host_char(c) && !(p[0] == '[' && (c == ':' || c == '[' || c == ']')))
			return -1;
		out[k++] = (char)tolower(c);
	}
	out[k] = '\0';
	return 0;
}

static void set_path(const char *p, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n && p[i] != '?' && p[i] != '#' && k < L7_PATH_MAX - 1; i++)
		out[k++] = p[i];
	out[k] = '\0';
}

enum l7_verdict l7_parse_http(const char *buf, size_t len, struct l7_request *r)
{
	const char *line, *sp1, *sp2, *eol, *target;
	size_t end = head_end(buf, len), tlen;
	int have_host = 0;

	memset(r, 0, sizeof(*r));
	if (end == 0)
		return L7_INCOMPLETE;
	r->head_len = end;
	/* Request line: METHOD SP target SP HTTP/1.x CRLF (RFC 9112 3). */
	line = buf;
	eol = memchr(line, '\n', end);
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	if (sp1 == NULL || sp1 == line)
		return L7_BAD;
	for (const char *m = line; m < sp1; m++)
		if (!isupper((unsigned char)*m) && *m != '-')
			return L7_BAD;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (sp2 == NULL || sp2 == target)
		return L7_BAD;
	tlen = (size_t)(sp2 - target);
	if (eol - sp2 - 1 < 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return L7_BAD;
	if (!(sp2 + 9 == eol || (sp2 + 9 == eol - 1 && sp2[9] == '\r')))
		return L7_BAD;
	r->minor = sp2[8] - '0';
	if (tlen > 7 && strncasecmp(target, "http://", 7) == 0) {
		const char *auth = target + 7, *slash = memchr(auth, '/', tlen - 7);
		size_t alen = slash ? (size_t)(slash - auth) : tlen - 7;

		if (set_host(auth, alen, r->host) < 0)
			return L7_BAD;
		have_host = 2;
		if (slash != NULL)
			set_path(slash, tlen - (size_t)(slash - target), r->path);
		else
			strcpy(r->path, "/");
	} else if (target[0] == '/') {
		set_path(target, tlen, r->path);
	} else if (tlen == 1 && target[0] == '*') {
		strcpy(r->path, "*");
	} else {
		return L7_BAD; /* authority-form (CONNECT) is not routed */
	}
	/* Header fields: only Host matters. */
	for (line = eol + 1; line < buf + end;) {
		const char *colon;

		eol = memchr(line, '\n', (size_t)(buf + end - line));
		if (eol == NULL || eol == line || (eol == line + 1 && line[0] == '\r'))
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
			return L7_BAD; /* no obsolete line folding either */
		if (colon - line == 4 && strncasecmp(line, "host", 4) == 0) {
			char h[L7_HOST_MAX];
			size_t vlen = (size_t)(eol - colon - 1);

			if (vlen > 0 && colon[vlen] == '\r')
				vlen--;
			if (have_host == 1 || set_host(colon + 1, vlen, h) < 0)
				return L7_BAD;
			if (have_host == 0)
				strcpy(r->host, h);
			if (have_host == 0)
				have_host = 1;
		}
		line = eol + 1;
	}
	if (r->minor == 1 && have_host == 0)
		return L7_BAD;
	return L7_OK;
}

static unsigned int be16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static unsigned int be24(const unsigned char *p)
{
	return (unsigned int)p[0] << 16 | (unsigned int)p[1] << 8 | p[2];
}

/*
 * The handshake bytes of the records at buf (type 22), concatenated into hs (the
 * ClientHello may span records). Returns the bytes gathered; *records_len the bytes
 * of whole records consumed; -1 for a record that is not a handshake.
 */
static long gather(const unsigned char *buf, size_t len, unsigned char *hs, size_t cap,
		   size_t *records_len)
{
	size_t off = 0, n = 0;

	while (off + 5 <= len) {
		size_t rl = be16(buf + off + 3);

		if (buf[off] != 22 || buf[off + 1] != 3)
			return -1;
		if (off + 5 + rl > len)
			break;
		if (n + rl > cap)
			rl = cap - n;
		memcpy(hs + n, buf + off + 5, rl);
		n += rl;
		off += 5 + be16(buf + off + 3);
		*records_len = off;
		if (n == cap)
			break;
	}
	return (long)n;
}

enum l7_verdict l7_parse_sni(const unsigned char *buf, size_t len, char *sni, size_t sni_len,
			     size_t *head_len)
{
	unsigned char hs[16384];
	size_t rec_len = 0, hl, p, end;
	long n;

	sni[0] = '\0';
	*head_len = 0;
	if (len >= 1 && buf[0] != 22)
		return L7_BAD;
	if (len >= 2 && buf[1] != 3)
		return L7_BAD;
	n = gather(buf, len, hs, sizeof(hs), &rec_len);
	if (n < 0)
		return L7_BAD;
	if (n < 4)
		return L7_INCOMPLETE;
	if (hs[0] != 1) /* ClientHello */
		return L7_BAD;
	hl = be24(hs + 1);
	if (hl + 4 > sizeof(hs))
		return L7_BAD;
	if ((size_t)n < hl + 4)
		return L7_INCOMPLETE;
	*head_len = rec_len;
	end = hl + 4;
	/* version(2) random(32) session_id<1> cipher_suites<2> compression<1> ext<2> */
	p = 4 + 2 + 32;
	if (p + 1 > end)
		return L7_BAD;
	p += 1 + hs[p];
	if (p + 2 > end)
		return L7_BAD;
	p += 2 + be16(hs + p);
	if (p + 1 > end)
		return L7_BAD;
	p += 1 + hs[p];
	if (p == end)
		return L7_OK; /* no extensions */
	if (p + 2 > end || p + 2 + be16(hs + p) > end)
		return L7_BAD;
	end = p + 2 + be16(hs + p);
	p += 2;
	while (p + 4 <= end) {
		unsigned int type = be16(hs + p), elen = be16(hs + p + 2);
		size_t q = p + 4, qend = p + 4 + elen;

		if (qend > end)
			return L7_BAD;
		if (type == 0) { /* server_name: list<2> of (type<1>, name<2>) */
			if (q + 2 > qend)
				return L7_BAD;
			q += 2;
			while (q + 3 <= qend) {
				unsigned int nt = hs[q], nl = be16(hs + q + 1);

				if (q + 3 + nl > qend)
					return L7_BAD;
				if (nt == 0) {
					if (nl == 0 || nl >= sni_len)
						return L7_BAD;
					for (unsigned int i = 0; i < nl; i++) {
						int c = hs[q + 3 + i];

						if (!host_char(c))
							return L7_BAD;
						sni[i] = (char)tolower(c);
					}
					sni[nl] = '\0';
					return L7_OK;
				}
				q += 3 + nl;
			}
		}
		p = qend;
	}
	return L7_OK;
}

/* Inserts the header line hdr (k bytes from snprintf) after the head's first line. */
static int insert_after_first_line(char *buf, size_t len, size_t cap, const char *hdr, int k)
{
	const char *eol = memchr(buf, '\n', len);
	size_t at, n;

	if (eol == NULL || k < 0 || (size_t)k >= L7_XFF_MAX || len + (size_t)k > cap)
		return -1;
	n = (size_t)k;
	at = (size_t)(eol - buf) + 1;
	memmove(buf + at + n, buf + at, len - at);
	memcpy(buf + at, hdr, n);
	return (int)n;
}

int l7_insert_xff(char *buf, size_t len, size_t cap, int family, const void *addr)
{
	char a[INET6_ADDRSTRLEN], hdr[L7_XFF_MAX];

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		return -1;
	return insert_after_first_line(buf, len, cap, hdr,
				       snprintf(hdr, sizeof(hdr), "X-Forwarded-For: %s\r\n", a));
}

int l7_insert_set_cookie(char *buf, size_t len, size_t cap, uint32_t server_id)
{
	char hdr[L7_XFF_MAX];

	return insert_after_first_line(buf, len, cap, hdr,
				       snprintf(hdr, sizeof(hdr),
						"Set-Cookie: " L7_STICKY_COOKIE "=%08x; path=/\r\n",
						server_id));
}

long l7_response_head(const char *buf, size_t len, int *status)
{
	size_t end = head_end(buf, len);

	*status = -1;
	if (end == 0)
		return 0;
	/* Status line: HTTP/1.x SP 3DIGIT (RFC 9112 4). */
	if (end >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && isdigit((unsigned char)buf[7]) &&
	    buf[8] == ' ' && isdigit((unsigned char)buf[9]) && isdigit((unsigned char)buf[10]) &&
	    isdigit((unsigned char)buf[11]) &&
	    (end == 12 || buf[12] == ' ' || buf[12] == '\r' || buf[12] == '\n'))
		*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return (long)end;
}

uint32_t l7_server_id(int family, const void *addr, unsigned int port)
{
	char a[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 10];
	uint32_t h = 2166136261u;
	int n;

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		return 0;
	n = snprintf(text, sizeof(text), family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	for (int i = 0; i < n && (size_t)i < sizeof(text); i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	return h;
}

int l7_parse_server_id(const char *s, uint32_t *id)
{
	uint32_t v = 0;

	for (int i = 0; i < L7_SERVER_ID_LEN; i++) {
		int c = (unsigned char)s[i];

		if (!isxdigit(c))
			return -1;
		v = v << 4 | (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	if (s[L7_SERVER_ID_LEN] != '\0')
		return -1;
	*id = v;
	return 0;
}

/* The pairs of one Cookie field value p[0..n): value length + 1 (out set), 0 none, -1 too long. */
static int cookie_in(const char *p, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		size_t start, end, eq, vs, ve;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ';'))
			i++;
		start = i;
		while (i < n && p[i] != ';')
			i++;
		end = i;
		while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		for (eq = start; eq < end && p[eq] != '='; eq++)
			;
		if (eq == end)
			continue; /* no '=': not a pair */
		ve = eq;
		while (ve > start && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		if (ve - start != nl || memcmp(p + start, name, nl) != 0)
			continue;
		vs = eq + 1;
		while (vs < end && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		ve = end;
		if (ve - vs >= 2 && p[vs] == '"' && p[ve - 1] == '"')
			vs++, ve--;
		if (ve - vs >= cap)
			return -1;
		memcpy(out, p + vs, ve - vs);
		out[ve - vs] = '\0';
		return (int)(ve - vs) + 1;
	}
	return 0;
}

int l7_find_cookie(const char *buf, size_t len, const char *name, char *out, size_t cap)
{
	const char *line = memchr(buf, '\n', len), *end = buf + len;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	/* Header fields start after the request line. */
	for (line = line ? line + 1 : end; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line)), *v;
		size_t vlen;
		int r;

		if (eol == NULL)
			eol = end;
		if (eol == line || (eol - line == 1 && line[0] == '\r'))
			break; /* the blank line: the head ends, a body is not looked at */
		if ((size_t)(eol - line) > 7 && strncasecmp(line, "cookie:", 7) == 0) {
			v = line + 7;
			vlen = (size_t)(eol - v);
			if (vlen > 0 && v[vlen - 1] == '\r')
				vlen--;
			r = cookie_in(v, vlen, name, out, cap);
			if (r < 0) {
				out[0] = '\0';
				return -1;
			}
			if (r > 0)
				return r - 1;
		}
		line = eol + 1;
	}
	return -1;
}
