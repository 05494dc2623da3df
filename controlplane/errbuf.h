/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one-message error buffer of Baton's pure parsers (config, Marathon events):
 * the caller passes a buffer, the parser writes one message where it decides to fail
 * and returns the negative errno through.
 */
#ifndef BATON_ERRBUF_H
#define BATON_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

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

#endif /* BATON_ERRBUF_H */
