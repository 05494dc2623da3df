// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "marathon_client.h"

#define APPS_PATH "/v2/apps?embed=apps.tasks"
/* Only the events the sync acts on (Marathon filters server-side). */
#define EVENTS_PATH                                                                        \
	"/v2/events?event_type=status_update_event&event_type=health_status_changed_event" \
	"&event_type=instance_health_changed_event&event_type=api_post_event"              \
	"&event_type=deployment_success&event_type=deployment_failed"                      \
	"&event_type=app_terminated_event&event_type=group_change_success"                 \
	"&event_type=event_stream_attached"
#define BACKOFF_MIN_MS 250
#define REFETCH_DELAY_MS 500 /* after a fetch that raced with events */
#define MAX_EVENT_BYTES (16u << 20)

enum xfer {
	XFER_FETCH = 1,
	XFER_STREAM = 2
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next reconnect delay: doubling, capped, and jittered to [d/2, d) so that many
 * batond nodes do not knock on a recovering Marathon in step. */
static unsigned int next_backoff(struct marathon_client *mc)
{
	unsigned int d;

	mc->backoff_ms = mc->backoff_ms ? mc->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (mc->backoff_ms > mc->o.max_backoff_ms)
		mc->backoff_ms = mc->o.max_backoff_ms;
	d = mc->backoff_ms / 2;
	return d + (d ? (unsigned int)random() % d : 0);
}

static void fail_over(struct marathon_client *mc, const char *why)
{
	size_t from = mc->url;

	if (mc->o.n_urls > 1)
		mc->url = (mc->url + 1) % mc->o.n_urls;
	log_warn("marathon %s: %s; next try %s", mc->o.urls[from], why, mc->o.urls[mc->url]);
}

static int sse_cb(void *ctx, const struct sse_event *ev)
{
	struct marathon_client *mc = ctx;

	mc->events++;
	if (mc->ops->event(mc->ctx, ev) > 0)
		marathon_client_want_fetch(mc);
	return 0;
}

int marathon_client_init(struct marathon_client *mc, const struct marathon_client_opts *o,
			 const struct marathon_client_ops *ops, void *ctx)
{
	char hdr[4096];
	int err;

	memset(mc, 0, sizeof(*mc));
	mc->o = *o;
	mc->ops = ops;
	mc->ctx = ctx;
	if (o->n_urls == 0)
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	mc->multi = curl_multi_init();
	if (mc->multi == NULL)
		return -ENOMEM;
	err = sse_parser_init(&mc->sse, MAX_EVENT_BYTES, sse_cb, mc);
	if (err)
		return err;
	mc->sse_ready = true;

	mc->fetch_hdrs = curl_slist_append(NULL, "Accept: application/json");
	mc->stream_hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
	if (o->token != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: token=%s", o->token);
		mc->fetch_hdrs = curl_slist_append(mc->fetch_hdrs, hdr);
		mc->stream_hdrs = curl_slist_append(mc->stream_hdrs, hdr);
		explicit_bzero(hdr, sizeof(hdr));
	}
	if (mc->fetch_hdrs == NULL || mc->stream_hdrs == NULL)
		return -ENOMEM;
	srandom((unsigned int)now_ms());
	return 0;
}

static void drop_xfer(struct marathon_client *mc, CURL **h)
{
	if (*h == NULL)
		return;
	curl_multi_remove_handle(mc->multi, *h);
	curl_easy_cleanup(*h);
	*h = NULL;
}

void marathon_client_free(struct marathon_client *mc)
{
	drop_xfer(mc, &mc->fetch);
	drop_xfer(mc, &mc->stream);
	if (mc->multi != NULL)
		curl_multi_cleanup(mc->multi);
	curl_slist_free_all(mc->fetch_hdrs);
	curl_slist_free_all(mc->stream_hdrs);
	if (mc->sse_ready)
		sse_parser_free(&mc->sse);
	free(mc->body.data);
	memset(mc, 0, sizeof(*mc));
}

static size_t fetch_write(char *p, size_t size, size_t n, void *ctx)
{
	struct marathon_client *mc = ctx;
	size_t len = size * n;

	if (mc->body.len + len > mc->o.max_body)
		return 0; /* aborts: CURLE_WRITE_ERROR */
	if (mc->body.len + len + 1 > mc->body.cap) {
		size_t cap = mc->body.cap ? mc->body.cap : 65536;
		char *d;

		while (cap < mc->body.len + len + 1)
			cap *= 2;
		d = realloc(mc->body.data, cap);
		if (d == NULL)
			return 0;
		mc->body.data = d;
		mc->body.cap = cap;
	}
	memcpy(mc->body.data + mc->body.len, p, len);
	mc->body.len += len;
	mc->body.data[mc->body.len] = '\0';
	return len;
}

/* The stream's headers: a 200 at the end of the final header block means connected. */
static size_t stream_header(char *p, size_t size, size_t n, void *ctx)
{
	struct marathon_client *mc = ctx;
	size_t len = size * n;
	long code = 0;

	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(mc->stream, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200 && !mc->stream_ok) {
			mc->stream_ok = true;
			mc->backoff_ms = 0;
			log_info("marathon %s: event stream connected", mc->o.urls[mc->url]);
			/* Whatever happened while we were away: a full fetch. */
			marathon_client_want_fetch(mc);
		}
	}
	return len;
}

static size_t stream_write(char *p, size_t size, size_t n, void *ctx)
{
	struct marathon_client *mc = ctx;
	size_t len = size * n;

	if (!mc->stream_ok)
		return 0; /* a redirect body or an error page: not a stream */
	mc->stream_seen_ms = now_ms();
	if (sse_parser_feed(&mc->sse, p, len) != 0)
		return 0; /* garbage or an oversized event: reconnect and resync */
	/* Time spent on the events is not silence of the stream. */
	mc->stream_seen_ms = now_ms();
	return len;
}

static CURL *new_xfer(struct marathon_client *mc, enum xfer kind)
{
	char url[2048];
	const char *base = mc->o.urls[mc->url];
	size_t bl = strlen(base);
	CURL *h;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	snprintf(url, sizeof(url), "%.*s%s", (int)bl, base,
		 kind == XFER_FETCH ? APPS_PATH : EVENTS_PATH);
	h = curl_easy_init();
	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)(uintptr_t)kind);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)mc->o.connect_timeout_ms);
	/* A standby Marathon redirects /v2/events to the leader; credentials follow it. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (mc->o.basic_auth != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, mc->o.basic_auth);
	}
	if (mc->o.ca_cert != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, mc->o.ca_cert);
	if (kind == XFER_FETCH) {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, mc->fetch_hdrs);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)mc->o.fetch_timeout_ms);
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, mc->stream_hdrs);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, stream_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, mc);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
	}
	curl_easy_setopt(h, CURLOPT_WRITEDATA, mc);
	if (curl_multi_add_handle(mc->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static void open_stream(struct marathon_client *mc)
{
	mc->stream_at_ms = 0;
	mc->stream_ok = false;
	mc->stream_seen_ms = now_ms();
	sse_parser_reset(&mc->sse);
	mc->stream = new_xfer(mc, XFER_STREAM);
	if (mc->stream == NULL) {
		log_err("marathon: cannot set up the event stream transfer");
		mc->stream_at_ms = now_ms() + next_backoff(mc);
		return;
	}
	mc->stream_opens++;
	log_debug("marathon %s: opening the event stream", mc->o.urls[mc->url]);
}

static void open_fetch(struct marathon_client *mc)
{
	mc->fetch_at_ms = 0;
	mc->fetch_again = false;
	mc->body.len = 0;
	mc->fetch = new_xfer(mc, XFER_FETCH);
	if (mc->fetch == NULL) {
		log_err("marathon: cannot set up the fetch transfer");
		mc->fetch_at_ms = now_ms() + next_backoff(mc);
	}
}

void marathon_client_start(struct marathon_client *mc)
{
	open_stream(mc);
}

void marathon_client_fetch_now(struct marathon_client *mc)
{
	if (mc->fetch == NULL)
		open_fetch(mc);
}

void marathon_client_want_fetch(struct marathon_client *mc)
{
	__u64 now = now_ms();

	if (mc->fetch != NULL) {
		mc->fetch_again = true; /* the running fetch may predate the change */
		return;
	}
	if (mc->fetch_at_ms == 0 || mc->fetch_at_ms > now)
		mc->fetch_at_ms = now;
}

bool marathon_client_fetch_pending(const struct marathon_client *mc)
{
	return mc->fetch != NULL || mc->fetch_at_ms != 0;
}

static void fetch_done(struct marathon_client *mc, CURLcode rc)
{
	long code = 0;
	__u64 now = now_ms();
	char why[160];

	curl_easy_getinfo(mc->fetch, CURLINFO_RESPONSE_CODE, &code);
	drop_xfer(mc, &mc->fetch);
	mc->fetches++;
	if (rc == CURLE_OK && code == 200) {
		if (mc->ops->apps(mc->ctx, mc->body.data ? mc->body.data : "", mc->body.len) < 0) {
			/* Bad body: the last good state keeps serving; try again later. */
			mc->refused_bodies++;
			mc->fetch_at_ms = now + next_backoff(mc);
			return;
		}
		mc->last_fetch_ok_ms = now;
		mc->fetch_at_ms = now + (mc->fetch_again ? REFETCH_DELAY_MS : mc->o.resync_ms);
		mc->fetch_again = false;
		return;
	}
	mc->fetch_errors++;
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "fetch failed: %s", curl_easy_strerror(rc));
	else
		snprintf(why, sizeof(why), "fetch answered HTTP %ld", code);
	fail_over(mc, why);
	mc->fetch_at_ms = now + next_backoff(mc);
}

static void stream_done(struct marathon_client *mc, const char *why)
{
	drop_xfer(mc, &mc->stream);
	mc->stream_errors++;
	fail_over(mc, why);
	mc->stream_at_ms = now_ms() + next_backoff(mc);
}

void marathon_client_run(struct marathon_client *mc)
{
	int running, left;
	CURLMsg *msg;
	__u64 now;

	curl_multi_perform(mc->multi, &running);
	while ((msg = curl_multi_info_read(mc->multi, &left)) != NULL) {
		void *priv = NULL;
		char why[160];
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&priv);
		if ((uintptr_t)priv == XFER_FETCH) {
			fetch_done(mc, msg->data.result);
			continue;
		}
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK && code != 0 && code != 200)
			snprintf(why, sizeof(why), "event stream answered HTTP %ld", code);
		else if (msg->data.result != CURLE_OK)
			snprintf(why, sizeof(why), "event stream: %s",
				 curl_easy_strerror(msg->data.result));
		else
			snprintf(why, sizeof(why), "event stream ended (HTTP %ld)", code);
		stream_done(mc, why);
	}

	now = now_ms();
	if (mc->stream != NULL && now - mc->stream_seen_ms > mc->o.stream_idle_ms) {
		char why[96];

		snprintf(why, sizeof(why), "event stream silent for %u ms (no heartbeat)",
			 mc->o.stream_idle_ms);
		stream_done(mc, why);
	}
	if (mc->stream == NULL && mc->stream_at_ms != 0 && now >= mc->stream_at_ms)
		open_stream(mc);
	if (mc->fetch == NULL && mc->fetch_at_ms != 0 && now >= mc->fetch_at_ms)
		open_fetch(mc);
	if (mc->stream != NULL || mc->fetch != NULL)
		curl_multi_perform(mc->multi, &running);
	if (mc->ops->flush != NULL)
		mc->ops->flush(mc->ctx);
}

int marathon_client_timeout_ms(struct marathon_client *mc)
{
	long curl_ms = -1;
	__u64 now = now_ms(), next = UINT64_MAX;

	curl_multi_timeout(mc->multi, &curl_ms);
	if (mc->stream == NULL && mc->stream_at_ms != 0)
		next = mc->stream_at_ms;
	if (mc->fetch == NULL && mc->fetch_at_ms != 0 && mc->fetch_at_ms < next)
		next = mc->fetch_at_ms;
	if (mc->stream != NULL && mc->stream_seen_ms + mc->o.stream_idle_ms < next)
		next = mc->stream_seen_ms + mc->o.stream_idle_ms + 1;
	if (next != UINT64_MAX) {
		long ms = next > now ? (long)(next - now) : 0;

		if (curl_ms < 0 || ms < curl_ms)
			curl_ms = ms;
	}
	if (curl_ms < 0 || curl_ms > 1000)
		curl_ms = 1000;
	return (int)curl_ms;
}
