// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Server-sent events parser. Lines are never buffered whole: a line is read as it
 * arrives, its field name into a few bytes, its value straight into the buffer of that
 * field (data, type, id, retry) or skipped (comments, unknown fields). So memory is the
 * data buffer (at most max_event_bytes + 1) plus fixed arrays, whatever the chunking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* Where in the current line the parser is. */
enum {
	LS_START, /* nothing of the line yet */
	LS_NAME,  /* in the field name */
	LS_SPACE, /* right after the colon: one space there is dropped */
	LS_VALUE, /* in the value */
	LS_SKIP,  /* in a comment */
};

enum {
	F_UNKNOWN,
	F_DATA,
	F_EVENT,
	F_ID,
	F_RETRY,
};

#define RETRY_MAX 0x7fffffffLL /* larger "retry" values are ignored */
#define RETRY_EMPTY -2	       /* retry_new: no digit yet */
#define RETRY_BAD -1	       /* retry_new: not only digits, or too large */

static const unsigned char bom[3] = { 0xef, 0xbb, 0xbf };

int sse_parser_init(struct sse_parser *p, size_t max_event_bytes, sse_event_cb cb, void *ctx)
{
	if (p == NULL)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	if (cb == NULL || max_event_bytes == 0 || max_event_bytes > SSE_EVENT_LIMIT)
		return -EINVAL;
	p->max_event_bytes = max_event_bytes;
	p->cb = cb;
	p->ctx = ctx;
	p->retry_ms = -1;
	return 0;
}

static void clear_line(struct sse_parser *p)
{
	p->line_state = LS_START;
	p->field = F_UNKNOWN;
	p->name_len = 0;
	p->line_len = 0;
}

/* The spec's "set the data buffer and the event type buffer to the empty string". */
static void clear_event(struct sse_parser *p)
{
	p->data_len = 0;
	p->has_data = false;
	p->type_len = 0;
	p->type[0] = '\0';
}

void sse_parser_reset(struct sse_parser *p)
{
	if (p == NULL)
		return;
	free(p->data);
	p->data = NULL;
	p->data_cap = 0;
	clear_event(p);
	clear_line(p);
	p->id_len = 0;
	p->id[0] = '\0';
	p->after_cr = false;
	p->discard = false;
	p->bom = 0;
	p->err = 0;
}

void sse_parser_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/* Drops the current event: the rest of it, up to a blank line, is skipped. */
static void drop(struct sse_parser *p, int code)
{
	p->discard = true;
	p->stats.dropped++;
	if (p->err == 0)
		p->err = code;
}

/*
 * Appends s[0..n-1] to the data buffer when data_len + n <= limit (max_event_bytes for
 * value bytes, one more for the "\n" that ends a value and later becomes the NUL), so
 * the buffer never grows past max_event_bytes + 1.
 */
static void data_append(struct sse_parser *p, const char *s, size_t n, size_t limit)
{
	size_t need, cap;
	char *nd;

	if (p->data_len > limit || n > limit - p->data_len) {
		drop(p, -EMSGSIZE);
		return;
	}
	need = p->data_len + n;
	if (need > p->data_cap) {
		cap = p->data_cap ? p->data_cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > p->max_event_bytes + 1)
			cap = p->max_event_bytes + 1;
		nd = realloc(p->data, cap);
		if (nd == NULL) {
			drop(p, -ENOMEM);
			return;
		}
		p->data = nd;
		p->data_cap = cap;
	}
	memcpy(p->data + p->data_len, s, n);
	p->data_len += n;
}

/* The field named by name[0..name_len-1]; its value starts now. */
static void start_value(struct sse_parser *p)
{
	static const struct {
		const char *name;
		int field;
	} fields[] = {
		{ "data", F_DATA }, { "event", F_EVENT }, { "id", F_ID }, { "retry", F_RETRY }
	};
	size_t i;

	p->field = F_UNKNOWN;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (p->name_len == strlen(fields[i].name) &&
		    memcmp(p->name, fields[i].name, p->name_len) == 0) {
			p->field = fields[i].field;
			break;
		}
	}
	switch (p->field) {
	case F_EVENT:
		p->type_len = 0;
		p->type[0] = '\0';
		break;
	case F_ID:
		p->id_new_len = 0;
		p->id_new_nul = false;
		break;
	case F_RETRY:
		p->retry_new = RETRY_EMPTY;
		break;
	}
}

/*
 * An unknown field's line is bounded like a comment. Checked once the name is known
 * (colon or line end) and on every later piece of the line, so the decision does not
 * depend on where the stream was cut.
 */
static void bound_unknown(struct sse_parser *p)
{
	if (p->field == F_UNKNOWN && p->line_len > p->max_event_bytes)
		drop(p, -EMSGSIZE);
}

/* Value bytes s[0..n-1] (no line end among them) of the current field. */
static void add_value(struct sse_parser *p, const char *s, size_t n)
{
	size_t i;

	switch (p->field) {
	case F_DATA:
		data_append(p, s, n, p->max_event_bytes);
		break;
	case F_EVENT:
		if (n > SSE_TYPE_MAX - p->type_len) {
			drop(p, -EMSGSIZE);
			return;
		}
		memcpy(p->type + p->type_len, s, n);
		p->type_len += n;
		p->type[p->type_len] = '\0';
		break;
	case F_ID:
		if (n > SSE_ID_MAX - p->id_new_len) {
			drop(p, -EMSGSIZE);
			return;
		}
		if (memchr(s, '\0', n) != NULL)
			p->id_new_nul = true;
		memcpy(p->id_new + p->id_new_len, s, n);
		p->id_new_len += n;
		break;
	case F_RETRY:
		for (i = 0; i < n && p->retry_new != RETRY_BAD; i++) {
			if (p->retry_new == RETRY_EMPTY)
				p->retry_new = 0;
			if (s[i] < '0' || s[i] > '9')
				p->retry_new = RETRY_BAD;
			else if (p->retry_new > RETRY_MAX / 10)
				p->retry_new = RETRY_BAD;
			else
				p->retry_new = p->retry_new * 10 + (s[i] - '0');
		}
		if (p->retry_new > RETRY_MAX)
			p->retry_new = RETRY_BAD;
		break;
	default: /* unknown field: skipped, but the line is bounded all the same */
		bound_unknown(p);
		break;
	}
}

/* Line content s[0..n-1], n > 0, holding no CR or LF. */
static void add_bytes(struct sse_parser *p, const char *s, size_t n)
{
	const char *colon;
	size_t k;

	p->line_len += n;
	while (n > 0 && !p->discard) {
		switch (p->line_state) {
		case LS_START:
			if (*s == ':') {
				p->stats.comments++;
				p->line_state = LS_SKIP;
			} else {
				p->line_state = LS_NAME;
			}
			break;
		case LS_NAME:
			colon = memchr(s, ':', n);
			k = colon != NULL ? (size_t)(colon - s) : n;
			/* A longer name is unknown: keep one byte too many to tell. */
			if (p->name_len < sizeof(p->name)) {
				size_t c = sizeof(p->name) - p->name_len;

				c = c < k ? c : k;
				memcpy(p->name + p->name_len, s, c);
				p->name_len += c;
			}
			if (colon == NULL) {
				/* Longer than "event" and "retry": unknown whatever follows. */
				if (p->name_len > 5 && p->line_len > p->max_event_bytes)
					drop(p, -EMSGSIZE);
				return;
			}
			start_value(p);
			bound_unknown(p);
			if (p->discard)
				return;
			p->line_state = LS_SPACE;
			s += k + 1;
			n -= k + 1;
			break;
		case LS_SPACE:
			p->line_state = LS_VALUE;
			if (*s == ' ') {
				s++;
				n--;
			}
			if (n == 0) /* "name: " cut after the space: the line may be long already */
				bound_unknown(p);
			break;
		case LS_VALUE:
			add_value(p, s, n);
			return;
		default: /* LS_SKIP */
			if (p->line_len > p->max_event_bytes)
				drop(p, -EMSGSIZE);
			return;
		}
	}
}

static int dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	int r;

	if (!p->has_data) {
		p->stats.heartbeats++;
		clear_event(p);
		return 0;
	}
	/* The last value's "\n" becomes the terminator. */
	p->data[--p->data_len] = '\0';
	ev.type = p->type_len > 0 ? p->type : "message";
	ev.type_len = p->type_len > 0 ? p->type_len : strlen("message");
	ev.data = p->data;
	ev.data_len = p->data_len;
	ev.id = p->id;
	ev.id_len = p->id_len;
	p->stats.events++;
	r = p->cb(p->ctx, &ev);
	clear_event(p);
	return r;
}

/* The current line is complete. */
static int end_line(struct sse_parser *p)
{
	bool blank = p->line_len == 0;

	if (p->discard) {
		if (blank) {
			p->discard = false;
			clear_event(p);
		}
		clear_line(p);
		return 0;
	}
	if (blank)
		return dispatch(p);
	if (p->line_state == LS_NAME) { /* no colon: the whole line names a field */
		start_value(p);
		bound_unknown(p);
		if (p->discard) {
			clear_line(p);
			return 0;
		}
	}
	if (p->line_state != LS_SKIP) {
		switch (p->field) {
		case F_DATA:
			data_append(p, "\n", 1, p->max_event_bytes + 1);
			p->has_data = !p->discard;
			break;
		case F_ID:
			if (!p->id_new_nul) {
				memcpy(p->id, p->id_new, p->id_new_len);
				p->id_len = p->id_new_len;
				p->id[p->id_len] = '\0';
			}
			break;
		case F_RETRY:
			/* An empty value is not "only ASCII digits". */
			if (p->retry_new >= 0)
				p->retry_ms = p->retry_new;
			break;
		}
	}
	clear_line(p);
	return 0;
}

/* Bytes after the BOM check. */
static int parse(struct sse_parser *p, const char *buf, size_t len)
{
	const char *lf, *cr;
	size_t i = 0, n;
	int r;

	while (i < len) {
		if (p->after_cr) {
			p->after_cr = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		if (buf[i] == '\r' || buf[i] == '\n') {
			p->after_cr = buf[i] == '\r';
			i++;
			r = end_line(p);
			if (r)
				return r;
			continue;
		}
		/* The run of line content up to the next CR or LF, handled at once. */
		lf = memchr(buf + i, '\n', len - i);
		n = lf != NULL ? (size_t)(lf - (buf + i)) : len - i;
		cr = memchr(buf + i, '\r', n);
		if (cr != NULL)
			n = cr - (buf + i);
		if (p->discard)
			p->line_len += n;
		else
			add_bytes(p, buf + i, n);
		i += n;
	}
	return 0;
}

int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len)
{
	unsigned int held;
	size_t i = 0;
	int r;

	if (p == NULL || p->cb == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	p->stats.bytes += len;
	p->err = 0;
	/* A BOM may arrive split over several calls: hold the matching prefix. */
	while (p->bom < 3 && i < len) {
		if ((unsigned char)buf[i] == bom[p->bom]) {
			p->bom++;
			i++;
			continue;
		}
		/* Not a BOM after all: what was held is ordinary line content. */
		held = p->bom;
		p->bom = 3;
		r = parse(p, (const char *)bom, held);
		if (r)
			return r;
	}
	r = parse(p, buf + i, len - i);
	if (r)
		return r;
	return p->err;
}
