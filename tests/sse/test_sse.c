// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests for controlplane/sse.c: the Marathon stream fixtures fed whole, in chunks
 * of every size up to 300 bytes and in random splits, with LF, CRLF and CR line ends,
 * checked against concrete counts and against a line-based oracle written here; then
 * the edge cases of the WHATWG rules one by one, the size limit and the callback stop.
 *
 * Usage: test_sse [FIXTURES_DIR]; $BATON_FIXTURES wins over the argument. The directory
 * is the one holding events/ (shared/marathon-fixtures). Missing: exit 77 (skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fixtures.h"

#include "sse.h"

#define BIG (1024 * 1024) /* max_event_bytes where the limit is not under test */
#define MAX_CHUNK 300
#define RANDOM_SPLITS 64

static char events_dir[4096];

/* ---- recording ---- */

struct rec_event {
	char *type, *data, *id;
	size_t type_len, data_len, id_len;
};

struct rec {
	struct rec_event *ev;
	size_t n, cap;
	size_t stop_at; /* the callback returns stop_val for event number stop_at (1-based) */
	int stop_val;
};

static char *dup_n(const char *s, size_t n)
{
	char *r = malloc(n + 1);

	assert_non_null(r);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static int rec_cb(void *ctx, const struct sse_event *ev)
{
	struct rec *r = ctx;
	struct rec_event *e;

	/* The promise of sse.h: every string NUL-terminated after its length. */
	assert_int_equal(ev->type[ev->type_len], '\0');
	assert_int_equal(ev->data[ev->data_len], '\0');
	assert_int_equal(ev->id[ev->id_len], '\0');
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
		assert_non_null(r->ev);
	}
	e = &r->ev[r->n++];
	e->type = dup_n(ev->type, ev->type_len);
	e->type_len = ev->type_len;
	e->data = dup_n(ev->data, ev->data_len);
	e->data_len = ev->data_len;
	e->id = dup_n(ev->id, ev->id_len);
	e->id_len = ev->id_len;
	if (r->stop_at != 0 && r->n == r->stop_at)
		return r->stop_val;
	return 0;
}

static void rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->ev[i].type);
		free(r->ev[i].data);
		free(r->ev[i].id);
	}
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

static void rec_add(struct rec *r, const char *type, size_t tl, const char *data, size_t dl,
		    const char *id, size_t il)
{
	struct sse_event ev = { type, tl, data, dl, id, il };
	char *t = dup_n(type, tl), *d = dup_n(data, dl), *i = dup_n(id, il);

	ev.type = t;
	ev.data = d;
	ev.id = i;
	rec_cb(r, &ev);
	free(t);
	free(d);
	free(i);
}

static void assert_rec_equal(const struct rec *a, const struct rec *b, const char *what)
{
	size_t i;

	if (a->n != b->n)
		fail_msg("%s: %zu events, expected %zu", what, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct rec_event *x = &a->ev[i], *y = &b->ev[i];

		if (x->type_len != y->type_len || memcmp(x->type, y->type, x->type_len) != 0 ||
		    x->data_len != y->data_len || memcmp(x->data, y->data, x->data_len) != 0 ||
		    x->id_len != y->id_len || memcmp(x->id, y->id, x->id_len) != 0)
			fail_msg(
				"%s: event %zu differs (type \"%s\" vs \"%s\", %zu vs %zu data bytes)",
				what, i, x->type, y->type, x->data_len, y->data_len);
	}
}

static void assert_stats_equal(const struct sse_stats *a, const struct sse_stats *b,
			       const char *what)
{
	if (a->bytes != b->bytes || a->events != b->events || a->heartbeats != b->heartbeats ||
	    a->comments != b->comments || a->dropped != b->dropped)
		fail_msg("%s: stats differ: bytes %llu/%llu events %llu/%llu heartbeats %llu/%llu "
			 "comments %llu/%llu dropped %llu/%llu",
			 what, (unsigned long long)a->bytes, (unsigned long long)b->bytes,
			 (unsigned long long)a->events, (unsigned long long)b->events,
			 (unsigned long long)a->heartbeats, (unsigned long long)b->heartbeats,
			 (unsigned long long)a->comments, (unsigned long long)b->comments,
			 (unsigned long long)a->dropped, (unsigned long long)b->dropped);
}

/* ---- feeding ---- */

struct run {
	struct sse_parser p;
	struct rec rec;
	int rc; /* first non-zero feed result */
};

static void run_init(struct run *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(sse_parser_init(&r->p, max, rec_cb, &r->rec), 0);
}

static void run_free(struct run *r)
{
	sse_parser_free(&r->p);
	rec_free(&r->rec);
}

static int run_feed(struct run *r, const char *buf, size_t len)
{
	int rc = sse_parser_feed(&r->p, buf, len);

	if (rc != 0 && r->rc == 0)
		r->rc = rc;
	return rc;
}

static int run_str(struct run *r, const char *s)
{
	return run_feed(r, s, strlen(s));
}

static void feed_chunked(struct run *r, const char *buf, size_t len, size_t chunk)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		run_feed(r, buf + off, n);
	}
}

static __u64 rng_state;

static __u64 rng(void)
{
	/* xorshift64: fixed seeds give the same splits everywhere. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random chunk sizes 0..80, empty feeds included. */
static void feed_random(struct run *r, const char *buf, size_t len, __u64 seed)
{
	size_t off = 0, n;

	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	while (off < len) {
		n = rng() % 81;
		if (n > len - off)
			n = len - off;
		run_feed(r, buf + off, n);
		off += n;
	}
	run_feed(r, buf + len, 0);
}

/* ---- oracle: the WHATWG rules on a whole buffer, line by line ---- */

static size_t line_end(const char *b, size_t len, size_t i, size_t *eol_len)
{
	size_t j;

	for (j = i; j < len; j++) {
		if (b[j] == '\n') {
			*eol_len = 1;
			return j;
		}
		if (b[j] == '\r') {
			*eol_len = j + 1 < len && b[j + 1] == '\n' ? 2 : 1;
			return j;
		}
	}
	*eol_len = 0; /* unterminated: not a line yet */
	return len;
}

static void oracle(const char *b, size_t len, struct rec *out, size_t *heartbeats, size_t *comments)
{
	char *data = malloc(len + 1), type[SSE_TYPE_MAX + 1] = "", id[SSE_ID_MAX + 1] = "";
	size_t i = 0, e, el, dl = 0, tl = 0, il = 0, fl, vl;
	bool has_data = false;
	const char *colon, *v;

	assert_non_null(data);
	*heartbeats = *comments = 0;
	if (len >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < len; i = e + el) {
		e = line_end(b, len, i, &el);
		if (el == 0)
			break;
		if (e == i) {
			if (has_data)
				rec_add(out, tl ? type : "message", tl ? tl : 7, data, dl - 1, id,
					il);
			else
				(*heartbeats)++;
			dl = tl = 0;
			has_data = false;
			continue;
		}
		if (b[i] == ':') {
			(*comments)++;
			continue;
		}
		colon = memchr(b + i, ':', e - i);
		fl = colon ? (size_t)(colon - (b + i)) : e - i;
		v = colon ? colon + 1 : b + e;
		if (v < b + e && *v == ' ')
			v++;
		vl = (b + e) - v;
		if (fl == 4 && memcmp(b + i, "data", 4) == 0) {
			memcpy(data + dl, v, vl);
			dl += vl;
			data[dl++] = '\n';
			has_data = true;
		} else if (fl == 5 && memcmp(b + i, "event", 5) == 0) {
			assert_true(vl <= SSE_TYPE_MAX);
			memcpy(type, v, vl);
			tl = vl;
		} else if (fl == 2 && memcmp(b + i, "id", 2) == 0 && !memchr(v, '\0', vl)) {
			assert_true(vl <= SSE_ID_MAX);
			memcpy(id, v, vl);
			il = vl;
		}
	}
	free(data);
}

/* ---- files ---- */

static char *read_fixture(const char *name, size_t *len)
{
	return fixture_read(events_dir, name, len);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .txt file of events/, sorted. */
static size_t list_streams(char ***names)
{
	DIR *d = opendir(events_dir);
	struct dirent *de;
	size_t n = 0, l;

	assert_non_null(d);
	*names = NULL;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
			continue;
		*names = realloc(*names, (n + 1) * sizeof(**names));
		assert_non_null(*names);
		(*names)[n++] = strdup(de->d_name);
	}
	closedir(d);
	assert_true(n >= 6); /* the six captures of SOURCES.md at least */
	qsort(*names, n, sizeof(**names), name_cmp);
	return n;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The same lines with every line end (CRLF, CR or LF) replaced by eol. */
static char *convert_eol(const char *b, size_t len, const char *eol, size_t *out_len)
{
	char *r = malloc(len * 2 + 1);
	size_t i = 0, o = 0, e, el, k = strlen(eol);

	assert_non_null(r);
	while (i < len) {
		e = line_end(b, len, i, &el);
		memcpy(r + o, b + i, e - i);
		o += e - i;
		if (el == 0)
			break;
		memcpy(r + o, eol, k);
		o += k;
		i = e + el;
	}
	*out_len = o;
	return r;
}

/* Whole feed, checked against the oracle. */
static void parse_whole(const char *b, size_t len, struct run *r, const char *what)
{
	struct rec want = { 0 };
	size_t hb, com;

	run_init(r, BIG);
	run_feed(r, b, len);
	assert_int_equal(r->rc, 0);
	oracle(b, len, &want, &hb, &com);
	assert_rec_equal(&r->rec, &want, what);
	assert_int_equal(r->p.stats.heartbeats, hb);
	assert_int_equal(r->p.stats.comments, com);
	assert_int_equal(r->p.stats.events, r->rec.n);
	assert_int_equal(r->p.stats.bytes, len);
	assert_int_equal(r->p.stats.dropped, 0);
	rec_free(&want);
}

/* Every chunk size 1..max_chunk and RANDOM_SPLITS random splits give the same result. */
static void check_chunkings(const char *b, size_t len, const struct run *whole, size_t max_chunk,
			    const char *what)
{
	char label[512];
	struct run r;
	size_t c;
	__u64 s;

	for (c = 1; c <= max_chunk; c++) {
		snprintf(label, sizeof(label), "%s, chunks of %zu", what, c);
		run_init(&r, BIG);
		feed_chunked(&r, b, len, c);
		assert_int_equal(r.rc, 0);
		assert_rec_equal(&r.rec, &whole->rec, label);
		assert_stats_equal(&r.p.stats, &whole->p.stats, label);
		run_free(&r);
	}
	for (s = 1; s <= RANDOM_SPLITS; s++) {
		snprintf(label, sizeof(label), "%s, random split %llu", what,
			 (unsigned long long)s);
		run_init(&r, BIG);
		feed_random(&r, b, len, s);
		assert_int_equal(r.rc, 0);
		assert_rec_equal(&r.rec, &whole->rec, label);
		assert_stats_equal(&r.p.stats, &whole->p.stats, label);
		run_free(&r);
	}
}

/* ---- the fixtures ---- */

static void test_fixtures_known(void **state)
{
	static const struct {
		const char *name;
		size_t events, heartbeats;
		const char *first_type, *last_type, *first_data_prefix;
	} known[] = {
		/* Jetty framing with CRLF, as on the wire. */
		{ "async-worker_single-event.txt", 1, 0, "event_stream_attached",
		  "event_stream_attached", "{\"remoteAddress\":\"172.18.0.1\"" },
		/* Blank lines between "event:" and "data:" end the event early: each blank
		 * line without data resets the type, so every event arrives as "message". */
		{ "async-worker_multi-event-blanklines-in-between.txt", 4, 13, "message", "message",
		  "{\"groupId\":\"/asgard-dev\"" },
		/* Leading spaces make " event" and " data" unknown fields: only the one
		 * unindented "data:" line makes an event. */
		{ "contrail-specs_pod-events.txt", 1, 1, "message", "message",
		  "{\"slaveId\":\"2275bb07-f40c-4d1e-884a-3d1332aed113-S4\"" },
		{ "gradle-marathon-deployer_deployment_success.txt", 1, 0, "deployment_success",
		  "deployment_success", "{\"id\":\"bc7b0fbd-a9ad-4045-85bd-41fbad569abe\"" },
		{ "marathon-docs_events.txt", 3, 1, "event_stream_attached", "status_update_event",
		  "{\"remoteAddress\":\"0:0:0:0:0:0:0:1\"" },
		/* 26 events recorded, the last (deployment_success) without its final line
		 * end: an incomplete event is never dispatched. */
		{ "zdd-lab_event-bus-log-base-min-over.txt", 25, 6, "deployment_info",
		  "deployment_step_success",
		  "{\"plan\":{\"id\":\"d36e08e3-a92c-4bbc-a32b-92649229acd1\"" },
	};
	size_t i, len;
	struct run r;
	char *b;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		b = read_fixture(known[i].name, &len);
		parse_whole(b, len, &r, known[i].name);
		if (r.rec.n != known[i].events || r.p.stats.heartbeats != known[i].heartbeats)
			fail_msg("%s: %zu events, %llu heartbeats; expected %zu and %zu",
				 known[i].name, r.rec.n, (unsigned long long)r.p.stats.heartbeats,
				 known[i].events, known[i].heartbeats);
		assert_string_equal(r.rec.ev[0].type, known[i].first_type);
		assert_string_equal(r.rec.ev[r.rec.n - 1].type, known[i].last_type);
		assert_memory_equal(r.rec.ev[0].data, known[i].first_data_prefix,
				    strlen(known[i].first_data_prefix));
		assert_int_equal(r.p.stats.comments, 0);
		run_free(&r);
		free(b);
	}
}

static void test_fixture_zdd_lab_details(void **state)
{
	const char *prefix = "{\"slaveId\":\"145f052d-8bcb-457f-b1e6-b1b4e2cdf787-S2\",\"taskId\":"
			     "\"zdd_base-min-over.c475e0d3-9141-11e6-aae4-3a4b79075094\","
			     "\"taskStatus\":\"TASK_KILLING\"";
	size_t len, i, status = 0, health = 0;
	struct run r;
	char *b = read_fixture("zdd-lab_event-bus-log-base-min-over.txt", &len);

	parse_whole(b, len, &r, "zdd-lab");
	for (i = 0; i < r.rec.n; i++) {
		const struct rec_event *e = &r.rec.ev[i];

		/* One-line JSON objects, no "\n" inside, no id. */
		assert_int_equal(e->data[0], '{');
		assert_int_equal(e->data[e->data_len - 1], '}');
		assert_null(memchr(e->data, '\n', e->data_len));
		assert_int_equal(e->id_len, 0);
		status += strcmp(e->type, "status_update_event") == 0;
		health += strcmp(e->type, "health_status_changed_event") == 0;
	}
	assert_int_equal(status, 16);
	assert_int_equal(health, 4);
	assert_string_equal(r.rec.ev[4].type, "status_update_event");
	assert_memory_equal(r.rec.ev[4].data, prefix, strlen(prefix));
	run_free(&r);
	free(b);
}

static void test_fixtures_chunked(void **state)
{
	char **names;
	size_t n = list_streams(&names), i, len;
	struct run whole;
	char *b;

	for (i = 0; i < n; i++) {
		b = read_fixture(names[i], &len);
		parse_whole(b, len, &whole, names[i]);
		assert_true(whole.rec.n > 0);
		check_chunkings(b, len, &whole, MAX_CHUNK, names[i]);
		run_free(&whole);
		free(b);
	}
	free_names(names, n);
}

static void test_fixtures_line_endings(void **state)
{
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	static const char *const eol_names[] = { "LF", "CRLF", "CR" };
	char **names, label[512];
	size_t n = list_streams(&names), i, k, len, clen;
	struct run ref, r;
	char *b, *c;

	for (i = 0; i < n; i++) {
		b = read_fixture(names[i], &len);
		c = convert_eol(b, len, "\n", &clen);
		parse_whole(c, clen, &ref, names[i]);
		free(c);
		for (k = 0; k < 3; k++) {
			snprintf(label, sizeof(label), "%s with %s", names[i], eol_names[k]);
			c = convert_eol(b, len, eols[k], &clen);
			parse_whole(c, clen, &r, label);
			assert_rec_equal(&r.rec, &ref.rec, label);
			assert_int_equal(r.p.stats.heartbeats, ref.p.stats.heartbeats);
			/* A CR at a chunk end before the next chunk's LF must stay one line end. */
			check_chunkings(c, clen, &r, 64, label);
			run_free(&r);
			free(c);
		}
		run_free(&ref);
		free(b);
	}
	free_names(names, n);
}

/* The one capture that kept the wire bytes: "event: X\r\ndata: {...}\r\n\r\n". */
static void test_crlf_capture(void **state)
{
	static const char want[] = "{\"remoteAddress\":\"172.18.0.1\",\"eventType\":"
				   "\"event_stream_attached\",\"timestamp\":"
				   "\"2018-09-03T18:03:45.685Z\"}";
	size_t len, k;
	struct run r;
	char *b = read_fixture("async-worker_single-event.txt", &len);

	assert_int_equal(len, 145);
	assert_memory_equal(b + len - 5, "}\r\n\r\n", 5);
	/* Two pieces split at every offset, the CR|LF splits among them. */
	for (k = 0; k <= len; k++) {
		run_init(&r, BIG);
		run_feed(&r, b, k);
		run_feed(&r, b + k, len - k);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.rec.n, 1);
		assert_string_equal(r.rec.ev[0].type, "event_stream_attached");
		assert_int_equal(r.rec.ev[0].data_len, strlen(want));
		assert_string_equal(r.rec.ev[0].data, want);
		assert_string_equal(r.rec.ev[0].id, "");
		assert_int_equal(r.p.stats.heartbeats, 0);
		assert_int_equal(r.p.stats.events, 1);
		assert_int_equal(r.p.stats.bytes, len);
		run_free(&r);
	}
	free(b);
}

/* ---- the rules, one by one ---- */

static void test_cr_lf_split(void **state)
{
	struct run r;

	/* CR ends a chunk, LF starts the next: one line end, not a line end and a blank. */
	run_init(&r, BIG);
	run_str(&r, "event: a\r");
	run_str(&r, "\ndata: x\r");
	run_str(&r, "\n\r");
	assert_int_equal(r.rec.n, 1);
	run_str(&r, "\n");
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "a");
	assert_string_equal(r.rec.ev[0].data, "x");
	assert_int_equal(r.p.stats.heartbeats, 0);
	/* CR CR LF is a line end (CR), then a blank line (CRLF). */
	run_str(&r, "data: y\r\r\n");
	assert_int_equal(r.rec.n, 2);
	assert_string_equal(r.rec.ev[1].data, "y");
	assert_string_equal(r.rec.ev[1].type, "message");
	/* LF CR: two line ends, the CR one blank. */
	run_str(&r, "data: z\n\r");
	assert_int_equal(r.rec.n, 3);
	assert_string_equal(r.rec.ev[2].data, "z");
	/* That CR and this LF are one CRLF; only the LF after is another (blank) line. */
	run_str(&r, "\n");
	assert_int_equal(r.p.stats.heartbeats, 0);
	run_str(&r, "\n");
	assert_int_equal(r.p.stats.heartbeats, 1);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_heartbeats(void **state)
{
	const char *s1 = "event: lonely\r\n\r\ndata: d\r\n\r\n";
	const char *s2 = "event: e\r\ndata: {}\r\n\r\n";
	struct run r;

	run_init(&r, BIG);
	/* Marathon's heartbeat: a bare CRLF every 10 s. */
	run_str(&r, "\r\n");
	run_str(&r, "\r\n\r\n");
	assert_int_equal(r.p.stats.heartbeats, 3);
	assert_int_equal(r.rec.n, 0);
	/* An "event:" line and a blank line without data: no event, and the type is gone. */
	run_str(&r, s1);
	assert_int_equal(r.p.stats.heartbeats, 4);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "message");
	/* The blank line that ends an event is not a heartbeat. */
	run_str(&r, s2);
	assert_int_equal(r.p.stats.heartbeats, 4);
	assert_int_equal(r.p.stats.events, 2);
	assert_int_equal(r.p.stats.bytes, 2 + 4 + strlen(s1) + strlen(s2));
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_multiline_data(void **state)
{
	struct run r;

	run_init(&r, BIG);
	run_str(&r, "event: multi\ndata: a\ndata:b\ndata:  c\ndata\ndata: \n\n");
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "multi");
	/* One space dropped after the colon, not two; "data" alone and "data: " are "". */
	assert_string_equal(r.rec.ev[0].data, "a\nb\n c\n\n");
	assert_int_equal(r.rec.ev[0].data_len, 8);
	/* "data:" with an empty value still makes an event, with empty data. */
	run_str(&r, "data:\n\n");
	assert_int_equal(r.rec.n, 2);
	assert_int_equal(r.rec.ev[1].data_len, 0);
	assert_string_equal(r.rec.ev[1].type, "message");
	/* Data may hold NUL bytes: lengths, not strings. */
	run_feed(&r, "data: a\0b\n\n", 11);
	assert_int_equal(r.rec.n, 3);
	assert_int_equal(r.rec.ev[2].data_len, 3);
	assert_memory_equal(r.rec.ev[2].data, "a\0b", 3);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_fields(void **state)
{
	struct run r;

	run_init(&r, BIG);
	/* Case-sensitive names; a space before the colon is part of the name; unknown
	 * fields are ignored; a value keeps its colons. */
	run_str(&r, "Data: no\ndata : no\nevent: t\nfoo: bar\nEVENT: no\ndata: x:y: z\n\n");
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "t");
	assert_string_equal(r.rec.ev[0].data, "x:y: z");
	/* The last "event" line wins; "event" alone sets the empty type: "message". */
	run_str(&r, "event: one\nevent: two\ndata: 1\n\nevent: x\nevent\ndata: 2\n\n");
	assert_int_equal(r.rec.n, 3);
	assert_string_equal(r.rec.ev[1].type, "two");
	assert_string_equal(r.rec.ev[2].type, "message");
	/* A long field name is an unknown field. */
	run_str(&r, "datadatadata: no\nevent_type_is_long: no\ndata: ok\n\n");
	assert_int_equal(r.rec.n, 4);
	assert_string_equal(r.rec.ev[3].data, "ok");
	assert_string_equal(r.rec.ev[3].type, "message");
	/* The type is reset after each event. */
	run_str(&r, "event: once\ndata: a\n\ndata: b\n\n");
	assert_string_equal(r.rec.ev[4].type, "once");
	assert_string_equal(r.rec.ev[5].type, "message");
	assert_int_equal(r.p.stats.heartbeats, 0);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_comments(void **state)
{
	struct run r;

	run_init(&r, BIG);
	run_str(&r, ":hello\n: data: not data\ndata: a\n:\n:more\ndata: b\n\n");
	assert_int_equal(r.p.stats.comments, 4);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].data, "a\nb");
	/* A comment alone then a blank line: a heartbeat, no event. */
	run_str(&r, ": keep-alive\r\n\r\n");
	assert_int_equal(r.rec.n, 1);
	assert_int_equal(r.p.stats.heartbeats, 1);
	assert_int_equal(r.p.stats.comments, 5);
	run_free(&r);
}

static void test_id(void **state)
{
	struct run r;

	run_init(&r, BIG);
	run_str(&r, "data: a\n\n");
	assert_string_equal(r.rec.ev[0].id, "");
	/* The last event ID stays for later events until an "id" line changes it. */
	run_str(&r, "id: 42\ndata: b\n\ndata: c\n\n");
	assert_string_equal(r.rec.ev[1].id, "42");
	assert_string_equal(r.rec.ev[2].id, "42");
	/* An id with a NUL is ignored; "id" alone clears it. */
	run_feed(&r, "id: 4\0003\ndata: d\n\n", 17);
	assert_string_equal(r.rec.ev[3].id, "42");
	run_str(&r, "id\ndata: e\n\n");
	assert_int_equal(r.rec.ev[4].id_len, 0);
	/* An id line after data, before the blank line, applies to that event. */
	run_str(&r, "data: f\nid: 7\n\n");
	assert_string_equal(r.rec.ev[5].id, "7");
	/* An id set without an event still counts later. */
	run_str(&r, "id: 8\n\ndata: g\n\n");
	assert_string_equal(r.rec.ev[6].id, "8");
	assert_int_equal(r.p.stats.heartbeats, 1);
	/* A new stream starts without one. */
	sse_parser_reset(&r.p);
	run_str(&r, "data: h\n\n");
	assert_string_equal(r.rec.ev[7].id, "");
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_retry(void **state)
{
	struct run r;

	run_init(&r, BIG);
	assert_int_equal(r.p.retry_ms, -1);
	run_str(&r, "retry: 3000\n");
	assert_int_equal(r.p.retry_ms, 3000);
	/* Not only digits, empty, or too large: ignored. */
	run_str(&r,
		"retry: 30a0\nretry:\nretry\nretry: -5\nretry:  7\nretry: 99999999999999999999\n");
	assert_int_equal(r.p.retry_ms, 3000);
	run_str(&r, "retry:0\n");
	assert_int_equal(r.p.retry_ms, 0);
	/* Split over chunks, and kept across a reset. */
	run_str(&r, "retry: 12");
	run_str(&r, "34\r");
	assert_int_equal(r.p.retry_ms, 1234);
	sse_parser_reset(&r.p);
	assert_int_equal(r.p.retry_ms, 1234);
	assert_int_equal(r.rec.n, 0);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

static void test_bom(void **state)
{
	static const char s[] = "\xef\xbb\xbf"
				"data: a\n\n";
	struct run whole, r;
	size_t k;

	run_init(&whole, BIG);
	run_str(&whole, s);
	assert_int_equal(whole.rec.n, 1);
	assert_string_equal(whole.rec.ev[0].data, "a");
	/* The BOM split over calls is still one BOM. */
	for (k = 1; k <= 4; k++) {
		run_init(&r, BIG);
		feed_chunked(&r, s, strlen(s), k);
		assert_rec_equal(&r.rec, &whole.rec, "BOM in chunks");
		run_free(&r);
	}
	/* Only at the start: a second BOM is part of the field name. */
	run_str(&whole, "\xef\xbb\xbf"
			"data: b\n\n");
	assert_int_equal(whole.rec.n, 1);
	assert_int_equal(whole.p.stats.heartbeats, 1);
	run_free(&whole);

	/* Two BOMs at the start: the second is a name byte sequence. */
	run_init(&r, BIG);
	run_str(&r, "\xef\xbb\xbf\xef\xbb\xbf"
		    "data: c\n\n");
	assert_int_equal(r.rec.n, 0);
	run_free(&r);

	/* Half a BOM is not one: its bytes stay in the line, in any chunking. */
	for (k = 1; k <= 3; k++) {
		run_init(&r, BIG);
		feed_chunked(&r,
			     "\xef\xbb"
			     "data: d\n\ndata: e\n\n",
			     20, k);
		assert_int_equal(r.rec.n, 1);
		assert_string_equal(r.rec.ev[0].data, "e");
		assert_int_equal(r.p.stats.heartbeats, 1);
		run_free(&r);
	}
	run_init(&r, BIG);
	run_str(&r, "\xef");
	run_str(&r, "data: f\n\n");
	assert_int_equal(r.rec.n, 0);
	/* After a reset the new stream may start with a BOM again. */
	sse_parser_reset(&r.p);
	run_str(&r, "\xef\xbb\xbf"
		    "data: g\n\n");
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].data, "g");
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

/* Makes "data: " + n bytes of 'x' + "\n\n". */
static char *data_event(size_t n, size_t *len)
{
	char *s = malloc(n + 9);

	assert_non_null(s);
	memcpy(s, "data: ", 6);
	memset(s + 6, 'x', n);
	memcpy(s + 6 + n, "\n\n", 3);
	*len = n + 8;
	return s;
}

static void test_size_limit_exact(void **state)
{
	struct run r;
	size_t len;
	char *s;

	/* Exactly max bytes of data: dispatched; the buffer stays within max + 1. */
	run_init(&r, 64);
	s = data_event(64, &len);
	assert_int_equal(run_feed(&r, s, len), 0);
	free(s);
	assert_int_equal(r.rec.n, 1);
	assert_int_equal(r.rec.ev[0].data_len, 64);
	assert_true(r.p.data_cap <= 65);
	/* Several lines: the joining "\n" count, the final one does not. */
	assert_int_equal(run_str(&r, "data: 0123456789012345678901234567890\n"
				     "data: 01234567890123456789012345678901\n\n"),
			 0);
	assert_int_equal(r.rec.n, 2);
	assert_int_equal(r.rec.ev[1].data_len, 64);
	assert_int_equal(run_str(&r, "data: 0123456789012345678901234567890\n"
				     "data: 012345678901234567890123456789012\n\n"),
			 -EMSGSIZE);
	assert_int_equal(r.rec.n, 2);
	/* An empty data line after a full buffer is one byte too many too. */
	s = data_event(64, &len);
	s[len - 1] = '\0';
	len--;
	assert_int_equal(run_feed(&r, s, len), 0);
	assert_int_equal(run_feed(&r, "data\n\n", 6), -EMSGSIZE);
	free(s);
	assert_int_equal(r.rec.n, 2);
	assert_int_equal(r.p.stats.dropped, 2);
	assert_true(r.p.data_cap <= 65);
	run_free(&r);
}

static void test_oversized_resume(void **state)
{
	const char *next = "event: next\r\ndata: {\"ok\":1}\r\n\r\n";
	struct run r, ref;
	size_t len, all_len, c;
	char *big, *all;
	int rc;

	/* An oversized event, then a good one, in one buffer: -EMSGSIZE, the good one
	 * is dispatched all the same. */
	run_init(&r, 100);
	big = data_event(150, &len);
	all = malloc(len + strlen(next) + 1);
	assert_non_null(all);
	memcpy(all, big, len);
	strcpy(all + len, next);
	all_len = len + strlen(next);
	assert_int_equal(run_feed(&r, all, all_len), -EMSGSIZE);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "next");
	assert_string_equal(r.rec.ev[0].data, "{\"ok\":1}");
	assert_int_equal(r.p.stats.dropped, 1);
	assert_int_equal(r.p.stats.heartbeats, 0);
	/* Later feeds are clean again. */
	assert_int_equal(run_feed(&r, next, strlen(next)), 0);
	assert_int_equal(r.rec.n, 2);
	run_free(&r);

	/* The same in every chunking: exactly one feed reports it, same events. */
	run_init(&ref, 100);
	run_feed(&ref, all, all_len);
	for (c = 1; c <= all_len; c++) {
		size_t off, n, errors = 0;

		run_init(&r, 100);
		for (off = 0; off < all_len; off += n) {
			n = all_len - off < c ? all_len - off : c;
			rc = run_feed(&r, all + off, n);
			if (rc != 0) {
				assert_int_equal(rc, -EMSGSIZE);
				errors++;
			}
		}
		assert_int_equal(errors, 1);
		assert_rec_equal(&r.rec, &ref.rec, "oversized, chunked");
		assert_stats_equal(&r.p.stats, &ref.p.stats, "oversized, chunked");
		run_free(&r);
	}
	run_free(&ref);

	/* -EMSGSIZE mid-event, then a reset (the reconnect) and a new stream. */
	run_init(&r, 100);
	assert_int_equal(run_feed(&r, big, 120), -EMSGSIZE);
	sse_parser_reset(&r.p);
	assert_int_equal(run_feed(&r, next, strlen(next)), 0);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "next");
	assert_true(r.p.data == NULL || r.p.data_cap <= 101);
	run_free(&r);

	/* Without a reset, the rest of the oversized event is skipped, even when it looks
	 * like fields; the blank line ends it. */
	run_init(&r, 100);
	assert_int_equal(run_feed(&r, big, 120), -EMSGSIZE);
	run_str(&r, "xxx\nevent: inside\ndata: inside\n\n");
	assert_int_equal(r.rec.n, 0);
	run_str(&r, next);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].type, "next");
	run_free(&r);
	free(big);
	free(all);
}

static void test_oversized_lines(void **state)
{
	char type[SSE_TYPE_MAX + 32], id[SSE_ID_MAX + 32], line[200];
	struct run r;

	run_init(&r, 100);
	/* The longest type and id fit. */
	snprintf(type, sizeof(type), "event: %0*d\ndata: a\n\n", SSE_TYPE_MAX, 0);
	assert_int_equal(run_feed(&r, type, strlen(type)), 0);
	assert_int_equal(r.rec.n, 1);
	assert_int_equal(r.rec.ev[0].type_len, SSE_TYPE_MAX);
	snprintf(id, sizeof(id), "id: %0*d\ndata: b\n\n", SSE_ID_MAX, 0);
	assert_int_equal(run_feed(&r, id, strlen(id)), 0);
	assert_int_equal(r.rec.ev[1].id_len, SSE_ID_MAX);
	/* One more byte drops the event. */
	snprintf(type, sizeof(type), "event: %0*d\ndata: a\n\n", SSE_TYPE_MAX + 1, 0);
	assert_int_equal(run_feed(&r, type, strlen(type)), -EMSGSIZE);
	snprintf(id, sizeof(id), "id: %0*d\ndata: b\n\n", SSE_ID_MAX + 1, 0);
	assert_int_equal(run_feed(&r, id, strlen(id)), -EMSGSIZE);
	assert_int_equal(r.rec.n, 2);
	assert_int_equal(r.p.stats.dropped, 2);
	/* Comments and unknown fields are not stored but are bounded all the same. */
	memset(line, 'c', sizeof(line));
	line[0] = ':';
	assert_int_equal(run_feed(&r, line, 100), 0);
	assert_int_equal(run_feed(&r, line, 1), -EMSGSIZE);
	run_str(&r, "\n\ndata: after\n\n");
	assert_int_equal(r.rec.n, 3);
	assert_string_equal(r.rec.ev[2].data, "after");
	memset(line, 'u', sizeof(line));
	assert_int_equal(run_feed(&r, line, sizeof(line)), -EMSGSIZE);
	run_str(&r, ": value\n\ndata: after2\n\n");
	assert_int_equal(r.rec.n, 4);
	assert_int_equal(r.p.stats.dropped, 4);
	run_free(&r);
}

/*
 * An unknown field's over-long line is dropped wherever the stream is cut: also when the
 * limit is passed only by the colon or by the one space after it (found by fuzz_sse).
 */
static void test_oversized_unknown_any_cut(void **state)
{
	static const char s0[] = "\0\0\0\x02:\n\ndata: ok\n\n"; /* 5 bytes, limit 4, ends at ':' */
	static const char s1[] =
		"\0\0coup15: \r\n\r\ndata: ok\n\n"; /* 10 bytes, limit 9, ends at ' ' */
	static const char *const streams[] = { s0, s1 };
	static const size_t lens[] = { sizeof(s0) - 1, sizeof(s1) - 1 }, limits[] = { 4, 9 };

	for (size_t i = 0; i < 2; i++) {
		for (size_t c = 1; c <= lens[i]; c++) {
			struct run r;

			run_init(&r, limits[i]);
			feed_chunked(&r, streams[i], lens[i], c);
			assert_int_equal(r.rc, -EMSGSIZE);
			assert_int_equal(r.p.stats.dropped, 1);
			assert_int_equal(r.rec.n, 1);
			assert_string_equal(r.rec.ev[0].data, "ok");
			run_free(&r);
		}
	}
}

static void test_callback_stop(void **state)
{
	const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct run r;

	run_init(&r, BIG);
	r.rec.stop_at = 2;
	r.rec.stop_val = 7;
	/* Stops at once: the third event is not parsed. */
	assert_int_equal(run_feed(&r, s, strlen(s)), 7);
	assert_int_equal(r.rec.n, 2);
	assert_int_equal(r.p.stats.events, 2);
	/* Negative values too, and they win over a pending -EMSGSIZE. */
	sse_parser_free(&r.p);
	rec_free(&r.rec);
	assert_int_equal(sse_parser_init(&r.p, 10, rec_cb, &r.rec), 0);
	r.rec.stop_at = 1;
	r.rec.stop_val = -ECANCELED;
	assert_int_equal(run_str(&r, "data: 0123456789abc\n\ndata: 1\n\ndata: 2\n\n"), -ECANCELED);
	assert_int_equal(r.rec.n, 1);
	assert_string_equal(r.rec.ev[0].data, "1");
	assert_int_equal(r.p.stats.dropped, 1);
	/* After a reset a new stream parses from scratch. */
	sse_parser_reset(&r.p);
	r.rec.stop_at = 0;
	assert_int_equal(sse_parser_feed(&r.p, "data: 3\n\n", 9), 0);
	assert_int_equal(r.rec.n, 2);
	assert_string_equal(r.rec.ev[1].data, "3");
	run_free(&r);
}

static void test_args(void **state)
{
	struct sse_parser p;
	struct rec rec = { 0 };

	assert_int_equal(sse_parser_init(NULL, 10, rec_cb, &rec), -EINVAL);
	assert_int_equal(sse_parser_init(&p, 0, rec_cb, &rec), -EINVAL);
	assert_int_equal(sse_parser_init(&p, (size_t)SSE_EVENT_LIMIT + 1, rec_cb, &rec), -EINVAL);
	assert_int_equal(sse_parser_init(&p, 10, NULL, &rec), -EINVAL);
	assert_int_equal(sse_parser_feed(NULL, "x", 1), -EINVAL);
	assert_int_equal(sse_parser_init(&p, SSE_EVENT_LIMIT, rec_cb, &rec), 0);
	assert_int_equal(sse_parser_feed(&p, NULL, 1), -EINVAL);
	assert_int_equal(sse_parser_feed(&p, NULL, 0), 0);
	assert_int_equal(sse_parser_feed(&p, "", 0), 0);
	assert_int_equal(p.stats.bytes, 0);
	sse_parser_free(&p);
	sse_parser_free(&p); /* zeroed: a second free is harmless */
	sse_parser_free(NULL);
	sse_parser_reset(NULL);
	/* Stats survive a reset. */
	assert_int_equal(sse_parser_init(&p, 100, rec_cb, &rec), 0);
	assert_int_equal(sse_parser_feed(&p, "data: a\n\n\n", 10), 0);
	sse_parser_reset(&p);
	assert_int_equal(p.stats.events, 1);
	assert_int_equal(p.stats.heartbeats, 1);
	assert_int_equal(p.stats.bytes, 10);
	assert_null(p.data);
	sse_parser_free(&p);
	rec_free(&rec);
}

static bool find_fixtures(int argc, char **argv)
{
	const char *dir = fixtures_dir(argc, argv, "events");

	if (dir == NULL)
		return false;
	snprintf(events_dir, sizeof(events_dir), "%s", dir);
	return true;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_known),
		cmocka_unit_test(test_fixture_zdd_lab_details),
		cmocka_unit_test(test_fixtures_chunked),
		cmocka_unit_test(test_fixtures_line_endings),
		cmocka_unit_test(test_crlf_capture),
		cmocka_unit_test(test_cr_lf_split),
		cmocka_unit_test(test_heartbeats),
		cmocka_unit_test(test_multiline_data),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_size_limit_exact),
		cmocka_unit_test(test_oversized_resume),
		cmocka_unit_test(test_oversized_lines),
		cmocka_unit_test(test_oversized_unknown_any_cut),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_args),
	};

	if (!find_fixtures(argc, argv))
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
