/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Marathon transport: the full state from GET /v2/apps?embed=apps.tasks and the
 * changes from the /v2/events stream, on one curl_multi handle that batond's single
 * thread drives (curl_multi_poll with batond's own fds as extra fds). No thread per
 * request.
 *
 * Failover: a connect error, an HTTP error or a silent stream moves on to the next URL
 * after a jittered exponential backoff (capped); the URL that last worked is kept
 * first. A non-leader's 302 on /v2/events is followed. Every (re)connect of the stream
 * is followed by a full fetch, and a periodic full fetch reconciles missed events.
 */
#ifndef BATON_MARATHON_CLIENT_H
#define BATON_MARATHON_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>
#include <linux/types.h>

#include "sse.h"

#define MARATHON_MAX_URLS 16

struct marathon_client_opts {
	const char *urls[MARATHON_MAX_URLS]; /* base URLs, e.g. http://marathon:8080 */
	size_t n_urls;
	const char *basic_auth;	     /* "user:pass", or NULL */
	const char *token;	     /* sent as "Authorization: token=...", or NULL */
	const char *ca_cert;	     /* PEM file for HTTPS verification, or NULL */
	unsigned int max_backoff_ms; /* cap of the reconnect backoff */
	unsigned int resync_ms;	     /* period of the full fetch */
	unsigned int stream_idle_ms; /* a stream silent this long is dead (heartbeat: 10 s) */
	unsigned int connect_timeout_ms;
	unsigned int fetch_timeout_ms;
	size_t max_body; /* largest /v2/apps body accepted */
};

/* What batond does with what arrives. */
struct marathon_client_ops {
	/* A full /v2/apps body (HTTP 200). Returns 0 when applied, <0 when refused. */
	int (*apps)(void *ctx, const char *body, size_t len);
	/* One stream event. Returns 1 when it calls for a full fetch, 0 otherwise. */
	int (*event)(void *ctx, const struct sse_event *ev);
	/* Optional: called once per marathon_client_run(), after every event it delivered
	 * (a consumer applies a burst of events in one go there). */
	void (*flush)(void *ctx);
};

struct mc_buf {
	char *data;
	size_t len, cap;
};

struct marathon_client {
	struct marathon_client_opts o;
	const struct marathon_client_ops *ops;
	void *ctx;
	CURLM *multi;
	CURL *fetch, *stream;
	struct curl_slist *fetch_hdrs, *stream_hdrs;
	struct mc_buf body;
	struct sse_parser sse;
	bool sse_ready;
	size_t url;		 /* index of the URL in use */
	unsigned int backoff_ms; /* current reconnect delay; 0 after a success */
	__u64 stream_at_ms;	 /* when to (re)open the stream; 0 = open */
	__u64 stream_seen_ms;	 /* last byte on the stream */
	__u64 fetch_at_ms;	 /* when to fetch next; 0 = not scheduled */
	bool fetch_again;	 /* events came in while a fetch was running */
	bool stream_ok;		 /* the stream answered 200 since it was opened */
	/* counters, for logs and metrics */
	__u64 fetches, fetch_errors, stream_opens, stream_errors, events, refused_bodies;
	__u64 last_fetch_ok_ms;
};

/* Sets up (no I/O yet). Returns 0 or -errno. */
int marathon_client_init(struct marathon_client *mc, const struct marathon_client_opts *o,
			 const struct marathon_client_ops *ops, void *ctx);
void marathon_client_free(struct marathon_client *mc);

/* Opens the stream now; the first full fetch follows. */
void marathon_client_start(struct marathon_client *mc);

/* One full fetch now, without the stream (batond --dry-run). */
void marathon_client_fetch_now(struct marathon_client *mc);

/* How long curl_multi_poll() may sleep, in ms. */
int marathon_client_timeout_ms(struct marathon_client *mc);

/* Drives the transfers and the timers; call after every curl_multi_poll(). */
void marathon_client_run(struct marathon_client *mc);

/* Ask for a full fetch as soon as possible (e.g. after an event that needs one). */
void marathon_client_want_fetch(struct marathon_client *mc);

/* True while a transfer is running or scheduled (dry-run waits for the fetch). */
bool marathon_client_fetch_pending(const struct marathon_client *mc);

#endif /* BATON_MARATHON_CLIENT_H */
