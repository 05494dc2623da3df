// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* batond's HTTP API: routing, authentication, counters from the maps; see api.h. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "baton_abi.h"
#include "baton.skel.h"
#include "config.h"
#include "log.h"
#include "marathon_client.h"
#include "reconcile.h"
#include "sync.h"
#include "text.h"

#define WALK_CACHE_MS 1000	   /* scrapes within a second share one walk of the flow table */
#define WALK_BATCH 4096		   /* entries per BPF_MAP_LOOKUP_BATCH call */
#define API_DISCARD_MAX (4u << 20) /* an undeclared body past this is cut off unanswered */

/* Per connection: the request body as it arrives. */
struct req {
	char body[API_BODY_MAX + 1];
	size_t len;
	size_t dropped; /* bytes past the limit, read and dropped */
	bool too_large;
};

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- counters from the maps ---- */

/* Sums a per-CPU value of n __u64 fields. */
static int percpu_sum(int fd, __u32 key, size_t n_fields, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	memset(sum, 0, n_fields * sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu * n_fields, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) < 0) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < n_fields; f++)
			sum[f] += v[c * n_fields + f];
	free(v);
	return 0;
}

static void count_flow(struct api *a, const struct baton_flow_key *k, const struct baton_flow *f,
		       __u64 now)
{
	__u64 idle = k->proto == IPPROTO_UDP ? a->set->udp_idle_ns : a->set->tcp_idle_ns;

	a->flow_entries++;
	if ((f->flags & BATON_FLOW_F_REPLY) || f->closing_ns != 0 ||
	    (__s64)(now - f->last_seen_ns) > (__s64)idle)
		return;
	a->flows_active++;
	if (f->service_id < BATON_MAX_SERVICES)
		a->svc_active[f->service_id]++;
	if (f->backend_id < BATON_MAX_BACKENDS)
		a->be_active[f->backend_id]++;
}

/*
 * Active flows: computed at scrape time by walking the flow table (the XDP program
 * keeps no open-flow counter: it would need a per-packet atomic on close, and a flow
 * that just expires in the LRU is never seen closing). A flow counts once, by its
 * client -> backend entry, while it is neither closing (FIN both ways / RST) nor idle
 * past its timeout. The walk copies the table in batches of WALK_BATCH entries
 * (BPF_MAP_LOOKUP_BATCH, Linux 5.6; a key-by-key walk where it is missing), is bounded
 * by the table's size (2 x BATON_FLOWS_DEFAULT entries), and is shared by every request
 * within WALK_CACHE_MS, or within ten times its own duration when that is longer (a
 * full table of 524,288 entries took 0.18-0.32 s on the 2-vCPU development VM, 20,000
 * entries 6-8 ms), so walks never take more than a tenth of batond's loop. Entries may move while
 * it runs: the numbers are a snapshot, not a transaction.
 */
static void flow_walk(struct api *a)
{
	int fd = bpf_map__fd(a->skel->maps.flows);
	__u32 max = bpf_map__max_entries(a->skel->maps.flows);
	struct baton_flow_key *keys = NULL;
	struct baton_flow *vals = NULL;
	struct timespec ts;
	__u64 t0 = mono_ms(), now, seen = 0, keep_ms = WALK_CACHE_MS;
	__u32 in = 0, out = 0, count;
	bool first = true;
	int r;

	/* At most a tenth of batond's time goes to walks, however large the table. */
	if (a->walk_seconds * 10000 > keep_ms)
		keep_ms = a->walk_seconds * 10000;
	if (a->walk_ms != 0 && t0 - a->walk_ms < keep_ms)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	memset(a->svc_active, 0, BATON_MAX_SERVICES * sizeof(*a->svc_active));
	memset(a->be_active, 0, BATON_MAX_BACKENDS * sizeof(*a->be_active));
	a->flows_active = a->flow_entries = 0;
	keys = calloc(WALK_BATCH, sizeof(*keys));
	vals = calloc(WALK_BATCH, sizeof(*vals));
	if (keys == NULL || vals == NULL)
		goto out;
	for (;;) {
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

		count = WALK_BATCH;
		r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);
		if (r < 0 && errno != ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			count_flow(a, &keys[i], &vals[i], now);
		seen += count;
		if (r < 0 || seen >= max)
			goto done; /* ENOENT: the end */
		in = out;
		first = false;
	}
	if (!first || (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)) {
		log_warn("API: walking the flow table: %s", strerror(errno));
		goto done;
	}
	/* No batch lookups: key by key, bounded by the table's size. */
	{
		struct baton_flow_key k, next, *prev = NULL;
		struct baton_flow f;

		while (seen < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
			k = next;
			prev = &k;
			seen++;
			if (bpf_map_lookup_elem(fd, &k, &f) == 0)
				count_flow(a, &k, &f, now);
		}
	}
done:
	a->walk_ms = mono_ms();
	a->walk_seconds = (a->walk_ms - t0) / 1e3;
out:
	free(keys);
	free(vals);
}

/* Counters of one map slot (id < 0: not in the maps) with its active flows. */
static bool slot_stats(int fd, int id, __u32 active, struct view_stats *st)
{
	__u64 s[3];

	if (id < 0 || percpu_sum(fd, id, 3, s) < 0)
		return false;
	st->packets = s[0];
	st->bytes = s[1];
	st->new_flows = s[2];
	st->active_flows = active;
	return true;
}

static bool frontend_stats(void *ctx, const struct baton_frontend_key *fk, struct view_stats *st)
{
	struct api *a = ctx;
	int sid = reconcile_service_id(a->rc, fk);

	return slot_stats(bpf_map__fd(a->skel->maps.svc_stats), sid,
			  sid >= 0 ? a->svc_active[sid] : 0, st);
}

static bool backend_stats(void *ctx, __u8 family, const __be32 addr[4], __u16 port,
			  struct view_stats *st)
{
	struct api *a = ctx;
	int id = reconcile_backend_id(a->rc, family, addr, port);

	return slot_stats(bpf_map__fd(a->skel->maps.be_stats), id, id >= 0 ? a->be_active[id] : 0,
			  st);
}

static struct view_counters counters_of(struct api *a)
{
	return (struct view_counters){ .frontend = frontend_stats,
				       .backend = backend_stats,
				       .ctx = a };
}

static char *metrics(struct api *a, const struct tenant *scope)
{
	struct view_counters vc = counters_of(a);
	struct metrics_input in = { .view = &a->view, .counters = &vc, .scope = scope };
	int fd = bpf_map__fd(a->skel->maps.reason_stats);

	flow_walk(a);
	in.have_reasons = true;
	for (__u32 r = 0; r < BATON_R_MAX; r++) {
		__u64 s[2];

		if (percpu_sum(fd, r, 2, s) == 0) {
			in.reason_packets[r] = s[0];
			in.reason_bytes[r] = s[1];
		}
	}
	in.n_services = a->rc->n_services;
	in.n_backends = a->rc->n_backends;
	in.have_flows = a->walk_ms != 0;
	in.flows_active = a->flows_active;
	in.flow_entries = a->flow_entries;
	in.flow_capacity = bpf_map__max_entries(a->skel->maps.flows);
	in.flow_walk_seconds = a->walk_seconds;
	in.n_drains = a->drains.n;
	memcpy(in.api_requests, a->requests, sizeof(in.api_requests));
	in.api_auth_failures = a->auth_failures;
	{
		struct baton_l7_stats l7 = {};
		__u32 zero = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.l7_stats), &zero, &l7) == 0) {
			in.have_l7 = true;
			for (int i = 0; i < BATON_L7S_MAX; i++)
				in.l7[i] = l7.v[i];
		}
	}
	if (a->sync != NULL) {
		const struct sync *s = a->sync;

		in.marathon = true;
		in.fetches_applied = s->fetches_applied;
		in.fetches_refused = s->fetches_refused;
		in.events_applied = s->events_applied;
		in.events_bad = s->events_bad;
		in.refetches_asked = s->refetches_asked;
		in.applies = s->applies;
		in.apply_errors = s->apply_errors;
		in.last_fetch_ms = s->last_fetch_ms;
		in.last_event_ms = s->last_event_ms;
		in.event_lag_ms = s->last_event_ms ? s->last_event_lag_ms : -1;
		in.vips = s->vip_report;
		in.n_vips = s->n_vip_report;
	}
	if (a->mc != NULL) {
		in.marathon_connected = a->mc->stream != NULL && a->mc->stream_ok;
		in.mc_fetches = a->mc->fetches;
		in.mc_fetch_errors = a->mc->fetch_errors;
		in.mc_stream_opens = a->mc->stream_opens;
		in.mc_stream_errors = a->mc->stream_errors;
		in.mc_events = a->mc->events;
	}
	return view_metrics(&in);
}

/* ---- replies ---- */

/* Queues body (freed here) with code; allow, if not NULL, becomes the Allow header (405). */
static enum MHD_Result reply_allow(struct api *a, struct MHD_Connection *c, unsigned int code,
				   const char *type, char *body, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body == NULL) {
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		type = "application/json";
		body = strdup("{\"error\":\"internal\",\"reason\":\"out of memory\"}\n");
		if (body == NULL)
			return MHD_NO;
	}
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"baton\"");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	if (code / 100 < 6)
		a->requests[code / 100]++;
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply(struct api *a, struct MHD_Connection *c, unsigned int code,
			     const char *type, char *body)
{
	return reply_allow(a, c, code, type, body, NULL);
}

static enum MHD_Result error(struct api *a, struct MHD_Connection *c, unsigned int code,
			     const char *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum MHD_Result error(struct api *a, struct MHD_Connection *c, unsigned int code,
			     const char *err, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return reply(a, c, code, "application/json", view_error_json(err, reason));
}

static enum MHD_Result json(struct api *a, struct MHD_Connection *c, cJSON *o)
{
	return reply(a, c, MHD_HTTP_OK, "application/json", view_print(o));
}

static enum MHD_Result method_not_allowed(struct api *a, struct MHD_Connection *c,
					  const char *method, const char *allow)
{
	char reason[128];

	snprintf(reason, sizeof(reason), "%.16s is not allowed here; use %s", method, allow);
	return reply_allow(a, c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
			   view_error_json("method_not_allowed", reason), allow);
}

/* ---- endpoints ---- */

static void iso_time(__u64 ms, char *buf, size_t len)
{
	time_t t = ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned int)(ms % 1000));
}

static void add_time(cJSON *o, const char *name, __u64 ms)
{
	char t[80];

	if (ms == 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	iso_time(ms, t, sizeof(t));
	cJSON_AddStringToObject(o, name, t);
}

static void add_fill(cJSON *maps, const char *name, unsigned long long used,
		     unsigned long long capacity)
{
	cJSON *m = cJSON_AddObjectToObject(maps, name);

	cJSON_AddNumberToObject(m, "used", (double)used);
	cJSON_AddNumberToObject(m, "capacity", (double)capacity);
	cJSON_AddNumberToObject(m, "fill", capacity ? (double)used / capacity : 0);
}

static cJSON *status_json(struct api *a, const struct tenant *t)
{
	cJSON *o = cJSON_CreateObject(), *m, *maps, *xdp, *ifs, *arr;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	size_t vips[VIP_REFUSED + 1] = {};

	if (o == NULL)
		return NULL;
	flow_walk(a);
	cJSON_AddStringToObject(o, "version", a->o.version ? a->o.version : "?");
	cJSON_AddNumberToObject(o, "abi_version", BATON_ABI_VERSION);
	cJSON_AddStringToObject(o, "mode", a->sync ? "marathon" : "config");
	if (t != NULL)
		cJSON_AddStringToObject(o, "token", t->name);
	else
		cJSON_AddNullToObject(o, "token");
	if (a->sync != NULL) {
		const struct sync *s = a->sync;

		m = cJSON_AddObjectToObject(o, "marathon");
		if (a->mc != NULL) {
			cJSON_AddBoolToObject(m, "connected",
					      a->mc->stream != NULL && a->mc->stream_ok);
			cJSON_AddStringToObject(m, "url", a->mc->o.urls[a->mc->url]);
			arr = cJSON_AddArrayToObject(m, "urls");
			for (size_t i = 0; i < a->mc->o.n_urls; i++)
				cJSON_AddItemToArray(arr, cJSON_CreateString(a->mc->o.urls[i]));
		}
		add_time(m, "last_full_sync", s->last_fetch_ms);
		add_time(m, "last_event", s->last_event_ms);
		add_time(m, "last_apply", s->last_apply_ms);
		if (s->last_event_ms && s->last_event_lag_ms >= 0)
			cJSON_AddNumberToObject(m, "event_lag_ms", (double)s->last_event_lag_ms);
		else
			cJSON_AddNullToObject(m, "event_lag_ms");
		cJSON_AddNumberToObject(m, "apps", s->have_apps ? s->apps.n : 0);
		arr = cJSON_AddObjectToObject(m, "counters");
		cJSON_AddNumberToObject(arr, "fetches_applied", s->fetches_applied);
		cJSON_AddNumberToObject(arr, "fetches_refused", s->fetches_refused);
		cJSON_AddNumberToObject(arr, "events_applied", s->events_applied);
		cJSON_AddNumberToObject(arr, "events_bad", s->events_bad);
		cJSON_AddNumberToObject(arr, "refetches_asked", s->refetches_asked);
		cJSON_AddNumberToObject(arr, "applies", s->applies);
		cJSON_AddNumberToObject(arr, "apply_errors", s->apply_errors);
		if (a->mc != NULL) {
			cJSON_AddNumberToObject(arr, "fetches", a->mc->fetches);
			cJSON_AddNumberToObject(arr, "fetch_errors", a->mc->fetch_errors);
			cJSON_AddNumberToObject(arr, "stream_opens", a->mc->stream_opens);
			cJSON_AddNumberToObject(arr, "stream_errors", a->mc->stream_errors);
			cJSON_AddNumberToObject(arr, "events", a->mc->events);
		}
		for (size_t i = 0; i < s->n_vip_report; i++)
			if (s->vip_report[i].a.status <= VIP_REFUSED)
				vips[s->vip_report[i].a.status]++;
	}
	maps = cJSON_AddObjectToObject(o, "maps");
	add_fill(maps, "services", a->rc->n_services, BATON_MAX_SERVICES);
	add_fill(maps, "backends", a->rc->n_backends, BATON_MAX_BACKENDS);
	add_fill(maps, "flows", a->flow_entries, bpf_map__max_entries(a->skel->maps.flows));
	cJSON_AddNumberToObject(maps, "flows_active", (double)a->flows_active);
	xdp = cJSON_AddObjectToObject(o, "xdp");
	if (bpf_obj_get_info_by_fd(bpf_program__fd(a->skel->progs.baton_xdp), &info, &len) == 0)
		cJSON_AddNumberToObject(xdp, "program_id", info.id);
	else
		cJSON_AddNullToObject(xdp, "program_id");
	ifs = cJSON_AddArrayToObject(xdp, "interfaces");
	for (int i = 0; i < a->o.n_ifaces; i++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		cJSON *f = cJSON_CreateObject();
		int ifindex = if_nametoindex(a->o.ifaces[i]);

		cJSON_AddStringToObject(f, "name", a->o.ifaces[i]);
		cJSON_AddNumberToObject(f, "ifindex", ifindex);
		if (ifindex > 0 && bpf_xdp_query(ifindex, 0, &q) == 0 && q.prog_id != 0) {
			cJSON_AddNumberToObject(f, "program_id", q.prog_id);
			cJSON_AddStringToObject(f, "mode",
						q.attach_mode == XDP_ATTACHED_SKB  ? "generic"
						: q.attach_mode == XDP_ATTACHED_HW ? "offload"
										   : "native");
		} else {
			cJSON_AddNullToObject(f, "program_id");
		}
		cJSON_AddItemToArray(ifs, f);
	}
	cJSON_AddNumberToObject(o, "services", a->view.n);
	cJSON_AddNumberToObject(o, "drains", a->drains.n);
	m = cJSON_AddObjectToObject(o, "vips");
	for (int s = VIP_OK; s <= VIP_REFUSED; s++)
		cJSON_AddNumberToObject(m, vip_status_name(s), vips[s]);
	cJSON_AddBoolToObject(o, "auth", a->have_tenants);
	return o;
}

static enum MHD_Result get_services(struct api *a, struct MHD_Connection *c, const struct tenant *t)
{
	struct view_counters vc = counters_of(a);
	cJSON *o = cJSON_CreateObject(), *arr;

	if (o == NULL)
		return reply(a, c, 500, "application/json", NULL);
	flow_walk(a);
	arr = cJSON_AddArrayToObject(o, "services");
	for (size_t i = 0; i < a->view.n; i++)
		if (tenant_in_scope(t, a->view.v[i].app_id))
			cJSON_AddItemToArray(
				arr, view_service_json(&a->view.v[i], &vc, &a->drains, false));
	return json(a, c, o);
}

/* The service a request names; NULL with the 404 or 403 queued in *ret. */
static const struct view_service *scoped_service(struct api *a, struct MHD_Connection *c,
						 const struct tenant *t, const char *name,
						 enum MHD_Result *ret)
{
	const struct view_service *s = view_lookup(&a->view, name);
	char echo[80];

	if (s == NULL) {
		*ret = error(a, c, MHD_HTTP_NOT_FOUND, "not_found", "no service \"%s\"",
			     TEXT_ECHO(name, echo));
		return NULL;
	}
	if (!tenant_in_scope(t, s->app_id)) {
		*ret = error(a, c, MHD_HTTP_FORBIDDEN, "forbidden",
			     "service \"%s\" is outside the scope of token \"%s\"",
			     TEXT_ECHO(name, echo), t->name);
		return NULL;
	}
	return s;
}

static enum MHD_Result get_service(struct api *a, struct MHD_Connection *c, const struct tenant *t,
				   const char *name)
{
	struct view_counters vc = counters_of(a);
	enum MHD_Result ret = MHD_NO;
	const struct view_service *s = scoped_service(a, c, t, name, &ret);

	if (s == NULL)
		return ret;
	flow_walk(a);
	return json(a, c, view_service_json(s, &vc, &a->drains, true));
}

static enum MHD_Result get_vips(struct api *a, struct MHD_Connection *c, const struct tenant *t)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const char *domain = a->o.vip_domain ? a->o.vip_domain : "marathon.l4lb.thisdcos.directory";

	if (o == NULL)
		return reply(a, c, 500, "application/json", NULL);
	cJSON_AddStringToObject(o, "domain", domain);
	arr = cJSON_AddArrayToObject(o, "vips");
	for (size_t i = 0; a->sync != NULL && i < a->sync->n_vip_report; i++) {
		const struct sync_vip *v = &a->sync->vip_report[i];

		if (tenant_in_scope(t, v->app_id))
			cJSON_AddItemToArray(arr, view_vip_json(v, domain));
	}
	return json(a, c, o);
}

static enum MHD_Result get_backends(struct api *a, struct MHD_Connection *c, const struct tenant *t)
{
	struct view_counters vc = counters_of(a);
	const char *want = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "service");
	const struct view_service *only = NULL;
	enum MHD_Result ret = MHD_NO;
	cJSON *o, *arr;

	if (want != NULL && (only = scoped_service(a, c, t, want, &ret)) == NULL)
		return ret;
	o = cJSON_CreateObject();
	if (o == NULL)
		return reply(a, c, 500, "application/json", NULL);
	flow_walk(a);
	arr = cJSON_AddArrayToObject(o, "backends");
	for (size_t i = 0; i < a->view.n; i++) {
		const struct view_service *s = &a->view.v[i];

		if ((only != NULL && s != only) || !tenant_in_scope(t, s->app_id))
			continue;
		for (size_t j = 0; j < s->n_be; j++)
			cJSON_AddItemToArray(arr, view_backend_json(s, &s->be[j], &vc, &a->drains));
	}
	return json(a, c, o);
}

/* The endpoint named by id: "ADDRESS:PORT", or a Marathon task id of a current backend. */
static bool resolve_backend(const struct api *a, const char *id, __u8 *family, __be32 addr[4],
			    __u16 *port)
{
	if (drain_id_parse(id, family, addr, port) == 0)
		return true;
	for (size_t i = 0; i < a->view.n; i++) {
		const struct view_service *s = &a->view.v[i];

		for (size_t j = 0; j < s->n_be; j++) {
			if (s->be[j].task_id != NULL && strcmp(s->be[j].task_id, id) == 0) {
				*family = s->be[j].family;
				memcpy(addr, s->be[j].addr, 16);
				*port = s->be[j].port;
				return true;
			}
		}
	}
	return false;
}

/* The optional body of a drain: {"reason": "..."}; 0, or -EINVAL with a message. */
static int drain_body(const struct req *r, char *reason, size_t rlen, char *msg, size_t mlen)
{
	const cJSON *it;
	cJSON *root;
	int ret = 0;

	reason[0] = '\0';
	if (r->len == 0 || strspn(r->body, " \t\r\n") == r->len)
		return 0;
	root = cJSON_ParseWithLengthOpts(r->body, r->len, NULL, false);
	if (root == NULL) {
		snprintf(msg, mlen, "the body is not valid JSON");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(msg, mlen, "the body must be a JSON object");
		ret = -EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		char echo[40];

		if (strcmp(it->string, "reason") != 0) {
			snprintf(msg, mlen, "unknown field \"%s\" (only \"reason\")",
				 TEXT_ECHO(it->string, echo));
			ret = -EINVAL;
			goto out;
		}
		if (!cJSON_IsString(it) || strlen(it->valuestring) > DRAIN_REASON_MAX) {
			snprintf(msg, mlen, "\"reason\" must be a string of at most %d bytes",
				 DRAIN_REASON_MAX);
			ret = -EINVAL;
			goto out;
		}
		snprintf(reason, rlen, "%s", it->valuestring);
	}
out:
	cJSON_Delete(root);
	return ret;
}

static enum MHD_Result post_drain(struct api *a, struct MHD_Connection *c, const struct tenant *t,
				  const char *id, bool drain, const struct req *r)
{
	char echo[80], reason[DRAIN_REASON_MAX + 1], msg[160], idtext[DRAIN_ID_MAX];
	const struct view_service *first = NULL;
	__be32 addr[4];
	__u16 port;
	__u8 family;
	cJSON *o, *arr;
	int changed, err;

	if (t != NULL && t->read_only)
		return error(a, c, MHD_HTTP_FORBIDDEN, "forbidden", "token \"%s\" is read-only",
			     t->name);
	if (drain_body(r, reason, sizeof(reason), msg, sizeof(msg)) < 0)
		return error(a, c, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", msg);
	if (!resolve_backend(a, id, &family, addr, &port))
		return error(a, c, MHD_HTTP_NOT_FOUND, "not_found",
			     "\"%s\" is neither ADDRESS:PORT nor the task id of a backend",
			     TEXT_ECHO(id, echo));
	drain_id_format(family, addr, port, idtext, sizeof(idtext));
	/* Every service the endpoint serves must be the token's: a drain hits them all. */
	for (size_t i = 0; i < a->view.n; i++) {
		const struct view_service *s = &a->view.v[i];

		for (size_t j = 0; j < s->n_be; j++) {
			const struct view_backend *b = &s->be[j];

			if (b->family != family || b->port != port || memcmp(b->addr, addr, 16))
				continue;
			if (!tenant_in_scope(t, s->app_id))
				return error(a, c, MHD_HTTP_FORBIDDEN, "forbidden",
					     "backend %s serves %s, outside the scope of token "
					     "\"%s\"",
					     idtext, s->name, t->name);
			first = s;
		}
	}
	if (first == NULL && (drain || drain_find(&a->drains, family, addr, port) == NULL))
		return error(a, c, MHD_HTTP_NOT_FOUND, "not_found", "no backend %s", idtext);
	/* A drain whose backend is gone: only a token that sees every app may lift it. */
	if (first == NULL && !tenant_in_scope(t, "/"))
		return error(a, c, MHD_HTTP_FORBIDDEN, "forbidden",
			     "backend %s serves nothing now; only a token for \"/\" may undrain it",
			     idtext);
	if (drain)
		changed = drain_add(&a->drains, family, addr, port, reason, (long long)time(NULL));
	else
		changed = drain_remove(&a->drains, family, addr, port);
	if (changed < 0)
		return reply(a, c, 500, "application/json", NULL);
	if (a->drains_path[0] && (changed || (drain && reason[0]))) {
		err = drain_save(&a->drains, a->drains_path);
		if (err) {
			log_err("API: cannot write %s: %s; the %s of %s is not persisted",
				a->drains_path, strerror(-err), drain ? "drain" : "undrain",
				idtext);
			/* Not in force either: what is in force must survive a restart. */
			if (changed && drain)
				drain_remove(&a->drains, family, addr, port);
			else if (changed)
				drain_add(&a->drains, family, addr, port, NULL,
					  (long long)time(NULL));
			return error(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				     "cannot persist the change: %s", strerror(-err));
		}
	}
	if (changed) {
		log_info("API: %s %s (token %s)%s%s", drain ? "drained" : "undrained", idtext,
			 t ? t->name : "-", reason[0] ? ": " : "", reason);
		err = a->reapply ? a->reapply(a->reapply_ctx) : 0;
		if (err)
			return error(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				     "the %s is recorded but the apply failed (%s); it is retried "
				     "with the next one",
				     drain ? "drain" : "undrain", strerror(err < 0 ? -err : err));
	}
	o = cJSON_CreateObject();
	if (o == NULL)
		return reply(a, c, 500, "application/json", NULL);
	cJSON_AddStringToObject(o, "id", idtext);
	cJSON_AddBoolToObject(o, "drained", drain);
	cJSON_AddBoolToObject(o, "changed", changed > 0);
	arr = cJSON_AddArrayToObject(o, "services");
	for (size_t i = 0; i < a->view.n; i++) {
		const struct view_service *s = &a->view.v[i];

		for (size_t j = 0; j < s->n_be; j++)
			if (s->be[j].family == family && s->be[j].port == port &&
			    memcmp(s->be[j].addr, addr, 16) == 0)
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->name));
	}
	return json(a, c, o);
}

/* The view of the last apply, built now if it is not yet. */
static void view_fresh(struct api *a)
{
	struct view next;

	if (!a->view_stale || a->applied.cfg == NULL)
		return;
	if (view_build(a->applied.cfg, &next) != 0) {
		log_warn("API: out of memory; the API shows the previous state");
		return;
	}
	view_free(&a->view);
	a->view = next;
	a->view_stale = false;
}

/* ---- routing ---- */

/* The path after prefix ("/v1/services/" + rest), or NULL. */
static const char *after(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(url, prefix, n) == 0 ? url + n : NULL;
}

static bool is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* Authentication: the tenant, NULL for an open API or a public path; false: refused. */
static bool authenticate(struct api *a, struct MHD_Connection *c, const char *url,
			 const struct tenant **t, enum MHD_Result *ret)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	*t = NULL;
	if (!a->have_tenants)
		return true;
	if (h == NULL) {
		if (tenant_path_public(&a->tenants, url))
			return true;
		a->auth_failures++;
		*ret = error(a, c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
			     "this path needs \"Authorization: Bearer TOKEN\"");
		return false;
	}
	if (strncasecmp(h, "Bearer ", 7) == 0)
		*t = tenant_authenticate(&a->tenants, h + 7, strlen(h + 7));
	if (*t == NULL) {
		/* The token is never echoed nor logged. */
		a->auth_failures++;
		*ret = error(a, c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
			     "unknown token (expected \"Authorization: Bearer TOKEN\")");
		return false;
	}
	return true;
}

static enum MHD_Result route(struct api *a, struct MHD_Connection *c, const char *url,
			     const char *method, const struct req *r)
{
	const struct tenant *t;
	enum MHD_Result ret = MHD_NO;
	const char *rest;
	char echo[80];

	if (!authenticate(a, c, url, &t, &ret))
		return ret;
	view_fresh(a);
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/_haproxy_health_check") == 0) {
		if (!is_get(method))
			return method_not_allowed(a, c, method, "GET, HEAD");
		if (url[1] == '_') /* what Marathon-LB's HAProxy monitor-uri answers */
			return reply(a, c, MHD_HTTP_OK, "text/html",
				     strdup("<html><body><h1>200 OK</h1>\nService ready.\n"
					    "</body></html>\n"));
		return reply(a, c, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
	}
	if (strcmp(url, "/metrics") == 0) {
		if (!is_get(method))
			return method_not_allowed(a, c, method, "GET, HEAD");
		return reply(a, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
			     metrics(a, t));
	}
	if (strcmp(url, "/v1/status") == 0 || strcmp(url, "/v1/services") == 0 ||
	    strcmp(url, "/v1/vips") == 0 || strcmp(url, "/v1/backends") == 0) {
		if (!is_get(method))
			return method_not_allowed(a, c, method, "GET, HEAD");
		if (url[4] == 's' && url[5] == 't')
			return json(a, c, status_json(a, t));
		if (url[4] == 's')
			return get_services(a, c, t);
		if (url[4] == 'v')
			return get_vips(a, c, t);
		return get_backends(a, c, t);
	}
	if ((rest = after(url, "/v1/services/")) != NULL && *rest) {
		if (!is_get(method))
			return method_not_allowed(a, c, method, "GET, HEAD");
		return get_service(a, c, t, rest);
	}
	if ((rest = after(url, "/v1/backends/")) != NULL && *rest) {
		const char *slash = strrchr(rest, '/');
		char id[256];
		bool drain;

		if (slash == NULL || slash == rest ||
		    (strcmp(slash, "/drain") != 0 && strcmp(slash, "/undrain") != 0))
			return error(a, c, MHD_HTTP_NOT_FOUND, "not_found",
				     "no such path (POST /v1/backends/ADDRESS:PORT/drain or "
				     "/undrain)");
		if (strcmp(method, "POST") != 0)
			return method_not_allowed(a, c, method, "POST");
		drain = strcmp(slash, "/drain") == 0;
		if ((size_t)(slash - rest) >= sizeof(id))
			return error(a, c, MHD_HTTP_NOT_FOUND, "not_found", "backend id too long");
		memcpy(id, rest, slash - rest);
		id[slash - rest] = '\0';
		return post_drain(a, c, t, id, drain, r);
	}
	return error(a, c, MHD_HTTP_NOT_FOUND, "not_found", "no such path: %s",
		     TEXT_ECHO(url, echo));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct api *a = cls;
	struct req *r = *con_cls;

	if (r == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		/* A declared body over the limit is refused before a byte of it is read. */
		if (cl != NULL && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			r->too_large = true;
			return error(a, c, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
				     "request bodies are limited to %d bytes", API_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_size != 0) {
		/*
		 * A body without a declared length (chunked) past the limit: the rest is read
		 * and dropped, and the 413 goes out when it ends (libmicrohttpd 0.9.75 cannot
		 * answer in the middle of an upload). One that keeps coming past
		 * API_DISCARD_MAX is cut off without an answer.
		 */
		if (!r->too_large && r->len + *upload_size <= API_BODY_MAX) {
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
		} else {
			r->too_large = true;
			r->dropped += *upload_size;
			if (r->dropped > API_DISCARD_MAX)
				return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_large)
		return error(a, c, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
			     "request bodies are limited to %d bytes", API_BODY_MAX);
	r->body[r->len] = '\0';
	return route(a, c, url, method, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

/* ---- lifecycle ---- */

int api_init(struct api *a, const struct api_options *o)
{
	char err[512];
	int r;

	memset(a, 0, sizeof(*a));
	a->o = *o;
	if (o->tokens_path != NULL) {
		r = tenant_load_file(o->tokens_path, &a->tenants, err, sizeof(err));
		if (r) {
			log_err("--api-tokens: %s", err);
			return r;
		}
		a->have_tenants = true;
		log_info("API tokens: %zu from %s", a->tenants.n, o->tokens_path);
	}
	if (o->state_dir != NULL) {
		snprintf(a->drains_path, sizeof(a->drains_path), "%s/drains", o->state_dir);
		r = drain_load(&a->drains, a->drains_path, err, sizeof(err));
		if (r) {
			log_err("%s", err);
			return r;
		}
		if (a->drains.n)
			log_info("operator drains in force: %zu (from %s)", a->drains.n,
				 a->drains_path);
	}
	return 0;
}

int api_reload_tokens(struct api *a)
{
	struct tenant_set next;
	char err[512];
	int r;

	if (!a->have_tenants)
		return 0;
	r = tenant_load_file(a->o.tokens_path, &next, err, sizeof(err));
	if (r) {
		log_err("--api-tokens: %s; keeping the %zu tokens in force", err, a->tenants.n);
		return r;
	}
	/* In place: the Marathon sync holds a pointer to the set itself. */
	tenant_set_free(&a->tenants);
	a->tenants = next;
	log_info("API tokens: %zu from %s (reloaded)", a->tenants.n, a->o.tokens_path);
	return 0;
}

/*
 * Every apply (each Marathon event) is copied, which is cheap; the view is built from
 * the copy only when a request needs it (building it on every apply cost about half
 * of an event's time on 1,000 apps with 10 tasks each: perf/bench_sync).
 */
void api_before_apply(struct api *a, struct config *cfg)
{
	drain_apply(&a->drains, cfg);
	if (a->o.listen == NULL || strcmp(a->o.listen, "none") == 0)
		return;
	if (view_capture(cfg, &a->applied) == 0)
		a->view_stale = true;
	else
		log_warn("API: out of memory; the API shows the previous state");
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, unsigned int *flags)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	unsigned int port;
	char tail;

	if (colon == NULL || colon - listen >= (long)sizeof(host) ||
	    sscanf(colon + 1, "%u%c", &port, &tail) != 1 || port == 0 || port > 65535)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*flags |= MHD_USE_IPv6;
		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
}

int api_start(struct api *a, struct baton_bpf *skel, const struct reconcile *rc,
	      const struct reconcile_settings *set, const struct sync *sync,
	      const struct marathon_client *mc, api_reapply_fn reapply, void *reapply_ctx)
{
	struct sockaddr_storage ss = {};
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int loopback;

	a->skel = skel;
	a->rc = rc;
	a->set = set;
	a->sync = sync;
	a->mc = mc;
	a->reapply = reapply;
	a->reapply_ctx = reapply_ctx;
	if (a->o.listen == NULL || strcmp(a->o.listen, "none") == 0)
		return 0;
	loopback = parse_listen(a->o.listen, &ss, &flags);
	if (loopback < 0) {
		log_err("--api-listen: \"%s\" is not ADDRESS:PORT", a->o.listen);
		return -EINVAL;
	}
	a->svc_active = calloc(BATON_MAX_SERVICES, sizeof(*a->svc_active));
	a->be_active = calloc(BATON_MAX_BACKENDS, sizeof(*a->be_active));
	if (a->svc_active == NULL || a->be_active == NULL)
		return -ENOMEM;
	a->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, a, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_CONNECTION_LIMIT, 64U, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32U,
		MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, completed, a, MHD_OPTION_END);
	if (a->mhd == NULL)
		return log_errno(errno ? errno : EADDRINUSE, "cannot listen on %s", a->o.listen);
	if (!a->have_tenants && !loopback)
		log_warn("API on %s without --api-tokens: anyone who reaches it may drain "
			 "backends",
			 a->o.listen);
	log_info("API listening on %s (%s)", a->o.listen,
		 a->have_tenants ? "tokens required" : "open, no --api-tokens");
	return 0;
}

int api_fd(const struct api *a)
{
	const union MHD_DaemonInfo *i;

	if (a->mhd == NULL)
		return -1;
	i = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return i != NULL ? i->epoll_fd : -1;
}

/*
 * MHD in epoll mode handles one read or write per connection per MHD_run() and keeps
 * connections with more to do on a ready list, which its epoll fd does not signal
 * again: run it until that list is empty (bounded, so that a client pouring data in
 * cannot hold batond's loop; api_timeout_ms() then asks for the next turn at once).
 */
void api_run(struct api *a)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (a->mhd == NULL)
		return;
	for (int i = 0; i < 64; i++) {
		MHD_run(a->mhd);
		if (MHD_get_timeout(a->mhd, &t) != MHD_YES || t > 0)
			break;
	}
}

int api_timeout_ms(const struct api *a, int max_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (a->mhd == NULL || MHD_get_timeout(a->mhd, &t) != MHD_YES)
		return max_ms;
	return t < (MHD_UNSIGNED_LONG_LONG)max_ms ? (int)t : max_ms;
}

void api_stop(struct api *a)
{
	if (a->mhd != NULL)
		MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
}

void api_free(struct api *a)
{
	api_stop(a);
	tenant_set_free(&a->tenants);
	drain_set_free(&a->drains);
	view_free(&a->view);
	view_capture_free(&a->applied);
	free(a->svc_active);
	free(a->be_active);
	a->svc_active = a->be_active = NULL;
}
