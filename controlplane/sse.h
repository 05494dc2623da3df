/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Server-sent events (text/event-stream) parser, as the WHATWG HTML standard's
 * EventSource parses a stream ("Interpreting an event stream"). Pure: bytes in,
 * events out through a callback, no I/O, no logging.
 *
 * Marathon's /v2/events (Jetty EventSourceServlet) writes
 *   "event: <type>\r\ndata: <one-line JSON>\r\n\r\n"
 * per event and a bare "\r\n" every 10 s as a heartbeat.
 *
 * Rules implemented: lines end with CRLF, LF or CR (a CR ending one chunk and an LF
 * starting the next are one line end); "field: value" with one optional space after the
 * colon removed; a line without a colon is a field with an empty value; "data" lines
 * append to the data buffer, joined with "\n"; "event" sets the type; "id" sets the last
 * event ID unless the value contains a NUL, and that ID stays for later events until an
 * "id" line changes it; "retry" with only ASCII digits sets retry_ms; lines starting with
 * ':' are comments; other fields are ignored; a blank line dispatches the event when at
 * least one "data" line came (type "message" when no "event" line came), and is a
 * heartbeat otherwise; one UTF-8 BOM at the start of the stream is skipped. Bytes are
 * passed through as they are (no UTF-8 validation).
 *
 * Memory is bounded: an event whose data would exceed max_event_bytes, an "event" value
 * longer than SSE_TYPE_MAX, an "id" value longer than SSE_ID_MAX, or a comment or
 * unknown-field line longer than max_event_bytes makes the parser drop that event: it
 * skips everything up to the next blank line, counts a drop, goes on with the rest of the
 * buffer (later events in it are dispatched), and sse_parser_feed() returns -EMSGSIZE.
 * So a caller may keep feeding after -EMSGSIZE, or reconnect and call sse_parser_reset().
 */
#ifndef BATON_SSE_H
#define BATON_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SSE_TYPE_MAX 127		      /* bytes of an "event" value */
#define SSE_ID_MAX 255			      /* bytes of an "id" value */
#define SSE_EVENT_LIMIT (1024u * 1024 * 1024) /* largest max_event_bytes accepted */

/* Valid only during the callback. Each string is NUL-terminated after its length. */
struct sse_event {
	const char *type; /* "message" when the event had no "event" line */
	size_t type_len;
	const char *data; /* the "data" values joined with "\n"; may hold NUL bytes */
	size_t data_len;
	const char *id; /* the last event ID; "" when none was set */
	size_t id_len;
};

/* Non-zero stops sse_parser_feed(), which returns that value. */
typedef int (*sse_event_cb)(void *ctx, const struct sse_event *ev);

/* Monotonic counters for liveness and metrics; sse_parser_reset() keeps them. */
struct sse_stats {
	__u64 bytes;	  /* passed to sse_parser_feed(), all of them */
	__u64 events;	  /* dispatched to the callback */
	__u64 heartbeats; /* blank lines that ended no event (no "data" line before them) */
	__u64 comments;	  /* lines starting with ':' */
	__u64 dropped;	  /* events dropped as too large (-EMSGSIZE) or for memory (-ENOMEM) */
};

/* Read stats and retry_ms; the rest is private. */
struct sse_parser {
	struct sse_stats stats;
	long long retry_ms; /* last valid "retry" value (ms); -1 before one */

	size_t max_event_bytes;
	sse_event_cb cb;
	void *ctx;

	char *data; /* data buffer: values, each followed by "\n"; NULL until needed */
	size_t data_len, data_cap;
	bool has_data; /* a "data" line came since the last blank line */
	char type[SSE_TYPE_MAX + 1];
	size_t type_len;
	char id[SSE_ID_MAX + 1]; /* last event ID buffer */
	size_t id_len;
	char id_new[SSE_ID_MAX + 1]; /* the "id" line being read */
	size_t id_new_len;
	bool id_new_nul;
	long long retry_new; /* the "retry" line being read (digits so far, or <0) */

	/* Current line. */
	int line_state;
	int field;
	char name[8]; /* field name so far; long names are unknown fields anyway */
	size_t name_len;
	size_t line_len;
	bool after_cr;	  /* the last line ended with CR: an LF right after it is skipped */
	bool discard;	  /* dropping an oversized event up to the next blank line */
	unsigned int bom; /* BOM bytes matched at the stream start; 3 = past the start */
	int err;	  /* first -EMSGSIZE / -ENOMEM of the current sse_parser_feed() */
};

/*
 * Sets up *p (no allocation yet). max_event_bytes bounds the data of one event (1 ..
 * SSE_EVENT_LIMIT). Returns 0, or -EINVAL for a NULL p or cb or a bad limit.
 */
int sse_parser_init(struct sse_parser *p, size_t max_event_bytes, sse_event_cb cb, void *ctx);

/*
 * Parses buf[0..len-1], which may end anywhere (mid-line, mid-CRLF, mid-BOM), calling the
 * callback for each complete event. Returns 0; or the callback's non-zero value, at once
 * and without parsing the rest of buf (call sse_parser_reset() before feeding a new
 * stream); or -EMSGSIZE / -ENOMEM after parsing all of buf when an event was dropped
 * (see the top of this file).
 */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len);

/*
 * Starts a new stream (after a reconnect): forgets the partial line and event, the last
 * event ID and the BOM state, and frees the data buffer. Keeps the callback, the limit,
 * stats and retry_ms.
 */
void sse_parser_reset(struct sse_parser *p);

/* Frees the buffer; *p can be initialised again. Safe on NULL. */
void sse_parser_free(struct sse_parser *p);

#endif /* BATON_SSE_H */
