// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the SSE stream parser with arbitrary chunking, each event decoded as
 * batond does (marathon_event_parse). Input: byte 0 seeds the chunk sizes, byte 1 sets
 * the event size limit, the rest is the stream.
 *
 * Differential check: the stream fed in one piece and fed in the chunks must give the
 * same events (type, data, id), the same counters and the same retry value, since a
 * TCP stream may be cut anywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marathon_event.h"
#include "sse.h"

struct digest {
	uint64_t h;
	uint64_t n;
	int decode;
};

static void mix(uint64_t *h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		*h = (*h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	*h = (*h ^ 0xff) * 0x100000001b3ull; /* a separator no byte value equals */
	*h ^= len;
}

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct digest *d = ctx;

	if (ev->type[ev->type_len] != '\0' || ev->data[ev->data_len] != '\0' ||
	    ev->id[ev->id_len] != '\0' || ev->type_len > SSE_TYPE_MAX || ev->id_len > SSE_ID_MAX)
		abort();
	mix(&d->h, ev->type, ev->type_len);
	mix(&d->h, ev->data, ev->data_len);
	mix(&d->h, ev->id, ev->id_len);
	d->n++;
	if (d->decode) {
		struct marathon_event me;
		char err[256];

		marathon_event_parse(ev->type, ev->type_len, ev->data, ev->data_len, &me, err,
				     sizeof(err));
	}
	return 0;
}

static void run(const char *buf, size_t len, size_t limit, unsigned int seed, int chunked,
		struct digest *d, struct sse_parser *p)
{
	if (sse_parser_init(p, limit, on_event, d) != 0)
		abort();
	if (!chunked) {
		sse_parser_feed(p, buf, len);
		return;
	}
	for (size_t off = 0; off < len;) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 7; /* mostly tiny pieces: every boundary gets cut */
		if ((seed & 0xf) == 0)
			n = 1 + (seed >> 8) % 300;
		if (n > len - off)
			n = len - off;
		sse_parser_feed(p, buf + off, n);
		off += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole = { 0xcbf29ce484222325ull, 0, 1 }, parts = whole;
	struct sse_parser p1, p2;
	size_t limit;

	if (size < 2)
		return 0;
	limit = 1 + (size_t)data[1] * 8;
	parts.decode = 0;
	run((const char *)data + 2, size - 2, limit, data[0], 0, &whole, &p1);
	run((const char *)data + 2, size - 2, limit, data[0], 1, &parts, &p2);
	if (whole.h != parts.h || whole.n != parts.n || p1.stats.events != p2.stats.events ||
	    p1.stats.dropped != p2.stats.dropped || p1.stats.heartbeats != p2.stats.heartbeats ||
	    p1.stats.comments != p2.stats.comments || p1.retry_ms != p2.retry_ms)
		abort();
	/* A reconnect: the parser starts a fresh stream with what it kept. */
	sse_parser_reset(&p2);
	sse_parser_feed(&p2, (const char *)data + 2, size - 2);
	sse_parser_free(&p1);
	sse_parser_free(&p2);
	return 0;
}
