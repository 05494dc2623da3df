/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Text helpers shared by Baton's pure parsers (config, Marathon model and events, VIP
 * labels): the one-message error buffer, quoting outside text in a message, and
 * addresses in BATON_FAMILY_* form.
 */
#ifndef BATON_TEXT_H
#define BATON_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "baton_abi.h"

/*
 * The error buffer: the caller passes a buffer, the parser writes one message where
 * it decides to fail and returns the negative errno through.
 */
struct errbuf {
	char *buf; /* may be NULL: the message is dropped */
	size_t len;
};

static inline int fail(struct errbuf *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes the one message (when the caller gave a buffer) and passes the code through. */
static inline int fail(struct errbuf *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e->buf != NULL && e->len > 0) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Outside text quoted in a message: printable ASCII, no quote or backslash (they
 * would break the quoting), cut to cap with "..." marking the cut.
 */
static inline const char *text_echo(const char *s, size_t len, char *dst, size_t cap)
{
	size_t i;

	for (i = 0; i < len && i + 4 < cap; i++) {
		unsigned char c = s[i];

		dst[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : c;
	}
	if (i < len) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

/* text_echo() of a NUL-terminated string into an array. */
#define TEXT_ECHO(s, buf) text_echo((s), strlen(s), (buf), sizeof(buf))

/* A plain IPv4 or IPv6 address (no brackets, no port) in BATON_FAMILY_* form. */
static inline bool text_parse_addr(const char *s, __u8 *family, __be32 addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = BATON_FAMILY_V4;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = BATON_FAMILY_V6;
		return true;
	}
	return false;
}

static inline const char *text_fmt_addr(__u8 family, const __be32 addr[4], char *dst, size_t len)
{
	if (inet_ntop(family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, addr, dst, len) == NULL)
		snprintf(dst, len, "?");
	return dst;
}

#endif /* BATON_TEXT_H */
