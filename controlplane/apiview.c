// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The API's view of the services, its JSON and its Prometheus text; see apiview.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>

#include "apiview.h"
#include "config.h"
#include "drain.h"
#include "prom.h"
#include "sync.h"
#include "tenant.h"
#include "text.h"

struct named {
	char *name;
	size_t idx; /* into cfg->services */
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_backend(const void *a, const void *b)
{
	const struct view_backend *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (x->port > y->port) - (x->port < y->port);
}

static char *service_name(const struct config_service *cs)
{
	char *s;

	if (cs->app_id == NULL)
		return strdup(cs->name);
	if (asprintf(&s, "%s:%u%s", cs->app_id, cs->port_index,
		     cs->proto == IPPROTO_UDP ? "/udp" : "") < 0)
		return NULL;
	return s;
}

static void service_free(struct view_service *s)
{
	free(s->name);
	free(s->app_id);
	free(s->fe);
	for (size_t i = 0; i < s->n_be; i++)
		free(s->be[i].task_id);
	free(s->be);
}

/* One view service from the cfg services named[from..to). */
static int build_one(const struct config *cfg, const struct named *nm, size_t from, size_t to,
		     struct view_service *vs)
{
	const struct config_service *first = &cfg->services[nm[from].idx];
	size_t n_be = 0, k = 0;

	vs->name = strdup(nm[from].name);
	vs->app_id = strdup(first->app_id ? first->app_id : first->name);
	vs->marathon = first->app_id != NULL;
	vs->port_index = first->port_index;
	vs->proto = first->proto;
	vs->fe = calloc(to - from, sizeof(*vs->fe));
	for (size_t i = from; i < to; i++)
		n_be += cfg->services[nm[i].idx].n_backends;
	vs->be = calloc(n_be ? n_be : 1, sizeof(*vs->be));
	if (vs->name == NULL || vs->app_id == NULL || vs->fe == NULL || vs->be == NULL)
		return -ENOMEM;
	for (size_t i = from; i < to; i++) {
		const struct config_service *cs = &cfg->services[nm[i].idx];
		struct view_frontend *fe = &vs->fe[vs->n_fe++];

		memcpy(fe->fk.addr, cs->vip, sizeof(fe->fk.addr));
		fe->fk.port = htons(cs->port);
		fe->fk.proto = cs->proto;
		fe->fk.family = cs->family;
		fe->vip = cs->is_vip;
		for (size_t j = 0; j < cs->n_backends; j++) {
			const struct config_backend *cb = &cs->backends[j];
			struct view_backend *b = &vs->be[k++];

			b->family = cb->family;
			memcpy(b->addr, cb->addr, sizeof(b->addr));
			b->port = cb->port;
			b->weight = cb->weight;
			b->drained = cb->drained;
			b->draining = cb->draining;
		}
	}
	/* Unique endpoints (the same tasks sit behind each frontend of a service). */
	qsort(vs->be, k, sizeof(*vs->be), cmp_backend);
	for (size_t i = 0; i < k; i++)
		if (vs->n_be == 0 || cmp_backend(&vs->be[vs->n_be - 1], &vs->be[i]) != 0)
			vs->be[vs->n_be++] = vs->be[i];
	/* Task ids, looked up by endpoint in the first frontend that has it. */
	for (size_t i = from; i < to; i++) {
		const struct config_service *cs = &cfg->services[nm[i].idx];

		for (size_t j = 0; j < cs->n_backends; j++) {
			const struct config_backend *cb = &cs->backends[j];
			struct view_backend key = { .family = cb->family, .port = cb->port }, *b;

			if (cb->task_id == NULL)
				continue;
			memcpy(key.addr, cb->addr, sizeof(key.addr));
			b = bsearch(&key, vs->be, vs->n_be, sizeof(*b), cmp_backend);
			if (b != NULL && b->task_id == NULL &&
			    (b->task_id = strdup(cb->task_id)) == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Bytes of the strings a capture copies; a run of services sharing one app id, once. */
static size_t capture_strings(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct config_service *s = &cfg->services[i];

		if (s->app_id != NULL && (i == 0 || s->app_id != cfg->services[i - 1].app_id))
			n += strlen(s->app_id) + 1;
		for (size_t j = 0; j < s->n_backends; j++)
			if (s->backends[j].task_id != NULL)
				n += strlen(s->backends[j].task_id) + 1;
	}
	return n;
}

static char *arena_copy(char **arena, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = memcpy(*arena, s, n);

	*arena += n;
	return d;
}

int view_capture(const struct config *cfg, struct view_capture *cap)
{
	size_t n_be = 0, hdr = sizeof(struct config), svc, be, total;
	struct config *c;
	struct config_backend *b;
	char *block, *arena;

	for (size_t i = 0; i < cfg->n_services; i++)
		n_be += cfg->services[i].n_backends;
	svc = cfg->n_services * sizeof(*cfg->services);
	be = n_be * sizeof(struct config_backend);
	total = hdr + svc + be + capture_strings(cfg);
	block = malloc(total ? total : 1);
	if (block == NULL)
		return -ENOMEM;
	c = (struct config *)block;
	*c = *cfg;
	c->services = (struct config_service *)(block + hdr);
	if (svc)
		memcpy(c->services, cfg->services, svc);
	b = (struct config_backend *)(block + hdr + svc);
	arena = block + hdr + svc + be;
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct config_service *s = &c->services[i];

		if (s->app_id != NULL)
			s->app_id = i > 0 && cfg->services[i - 1].app_id == cfg->services[i].app_id
					    ? c->services[i - 1].app_id
					    : arena_copy(&arena, s->app_id);
		if (s->n_backends)
			memcpy(b, cfg->services[i].backends, s->n_backends * sizeof(*b));
		s->backends = b;
		for (size_t j = 0; j < s->n_backends; j++)
			if (b[j].task_id != NULL)
				b[j].task_id = arena_copy(&arena, b[j].task_id);
		b += s->n_backends;
	}
	view_capture_free(cap);
	cap->cfg = c;
	cap->block = block;
	return 0;
}

void view_capture_free(struct view_capture *cap)
{
	free(cap->block);
	cap->block = NULL;
	cap->cfg = NULL;
}

int view_build(const struct config *cfg, struct view *out)
{
	struct named *nm;
	size_t n = cfg->n_services, groups = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	nm = calloc(n ? n : 1, sizeof(*nm));
	if (nm == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		nm[i].idx = i;
		nm[i].name = service_name(&cfg->services[i]);
		if (nm[i].name == NULL)
			err = -ENOMEM;
	}
	if (err)
		goto out;
	qsort(nm, n, sizeof(*nm), cmp_named);
	for (size_t i = 0; i < n; i++)
		groups += i == 0 || strcmp(nm[i].name, nm[i - 1].name) != 0;
	out->v = calloc(groups ? groups : 1, sizeof(*out->v));
	if (out->v == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(nm[j].name, nm[i].name) == 0; j++)
			;
		err = build_one(cfg, nm, i, j, &out->v[out->n++]);
		if (err)
			break;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(nm[i].name);
	free(nm);
	if (err)
		view_free(out);
	return err;
}

void view_free(struct view *v)
{
	for (size_t i = 0; i < v->n; i++)
		service_free(&v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static const struct view_service *find_exact(const struct view *v, const char *name)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->v[mid].name, name);

		if (c == 0)
			return &v->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct view_service *view_lookup(const struct view *v, const char *name)
{
	/* Tried in order: as given, "/tcp" dropped (TCP has no suffix), port index 0. */
	static const char *const suffixes[] = { "", ":0", ":0/udp" };
	const struct view_service *s;
	char base[1024], buf[1100];
	size_t nl;

	if (name == NULL || *name == '\0')
		return NULL;
	if (snprintf(base, sizeof(base), "%s%s", name[0] == '/' ? "" : "/", name) >=
	    (int)sizeof(base))
		return NULL;
	nl = strlen(base);
	if (nl > 4 && strcmp(base + nl - 4, "/tcp") == 0)
		base[nl - 4] = '\0';
	/* A services-file name as written ("web4"), before the Marathon forms. */
	if ((s = find_exact(v, name)) != NULL)
		return s;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", base, suffixes[i]);
		if ((s = find_exact(v, buf)) != NULL)
			return s;
	}
	return NULL;
}

static const char *proto_name(__u8 p)
{
	return p == IPPROTO_UDP ? "udp" : p == BATON_PROTO_L7_ROUTE ? "l7route" : "tcp";
}

static void frontend_text(const struct baton_frontend_key *fk, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	text_fmt_addr(fk->family, fk->addr, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u", fk->family == BATON_FAMILY_V6 ? "[" : "", a,
		 fk->family == BATON_FAMILY_V6 ? "]" : "", ntohs(fk->port));
}

static void add_stats(cJSON *o, const struct view_stats *st, bool known)
{
	if (!known) {
		cJSON_AddNullToObject(o, "packets");
		cJSON_AddNullToObject(o, "bytes");
		cJSON_AddNullToObject(o, "new_flows");
		cJSON_AddNullToObject(o, "active_flows");
		return;
	}
	cJSON_AddNumberToObject(o, "packets", (double)st->packets);
	cJSON_AddNumberToObject(o, "bytes", (double)st->bytes);
	cJSON_AddNumberToObject(o, "new_flows", (double)st->new_flows);
	cJSON_AddNumberToObject(o, "active_flows", (double)st->active_flows);
}

cJSON *view_backend_json(const struct view_service *s, const struct view_backend *b,
			 const struct view_counters *c, const struct drain_set *d)
{
	cJSON *o = cJSON_CreateObject();
	char id[DRAIN_ID_MAX], a[INET6_ADDRSTRLEN];
	const struct drain_entry *de = d ? drain_find(d, b->family, b->addr, b->port) : NULL;
	struct view_stats st = {};
	bool known = c && c->backend && c->backend(c->ctx, b->family, b->addr, b->port, &st);

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "id",
				drain_id_format(b->family, b->addr, b->port, id, sizeof(id)));
	cJSON_AddStringToObject(o, "service", s->name);
	cJSON_AddStringToObject(o, "app_id", s->app_id);
	if (b->task_id)
		cJSON_AddStringToObject(o, "task_id", b->task_id);
	else
		cJSON_AddNullToObject(o, "task_id");
	cJSON_AddStringToObject(o, "address", text_fmt_addr(b->family, b->addr, a, sizeof(a)));
	cJSON_AddNumberToObject(o, "port", b->port);
	cJSON_AddNumberToObject(o, "weight", b->weight);
	cJSON_AddBoolToObject(o, "drained", de != NULL || b->drained);
	cJSON_AddBoolToObject(o, "draining", b->draining);
	if (de != NULL) {
		cJSON_AddStringToObject(o, "drained_reason", de->reason);
		cJSON_AddNumberToObject(o, "drained_since", (double)de->since);
	}
	add_stats(o, &st, known);
	return o;
}

cJSON *view_service_json(const struct view_service *s, const struct view_counters *c,
			 const struct drain_set *d, bool with_backends)
{
	cJSON *o = cJSON_CreateObject(), *fes, *bes;
	struct view_stats sum = {};
	size_t active = 0, drained = 0;
	bool known = false;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "app_id", s->app_id);
	if (s->marathon)
		cJSON_AddNumberToObject(o, "port_index", s->port_index);
	cJSON_AddStringToObject(o, "protocol", proto_name(s->proto));
	fes = cJSON_AddArrayToObject(o, "frontends");
	for (size_t i = 0; i < s->n_fe; i++) {
		cJSON *f = cJSON_CreateObject();
		char t[INET6_ADDRSTRLEN + 16];
		struct view_stats st = {};
		bool k = c && c->frontend && c->frontend(c->ctx, &s->fe[i].fk, &st);

		if (f == NULL)
			continue;
		frontend_text(&s->fe[i].fk, t, sizeof(t));
		cJSON_AddStringToObject(f, "address", t);
		cJSON_AddBoolToObject(f, "vip", s->fe[i].vip);
		add_stats(f, &st, k);
		cJSON_AddItemToArray(fes, f);
		if (k) {
			known = true;
			sum.packets += st.packets;
			sum.bytes += st.bytes;
			sum.new_flows += st.new_flows;
			sum.active_flows += st.active_flows;
		}
	}
	for (size_t i = 0; i < s->n_be; i++) {
		active += s->be[i].weight > 0;
		drained += s->be[i].drained;
	}
	cJSON_AddNumberToObject(o, "backends_total", s->n_be);
	cJSON_AddNumberToObject(o, "backends_serving", active);
	cJSON_AddNumberToObject(o, "backends_drained", drained);
	add_stats(o, &sum, known);
	if (with_backends) {
		bes = cJSON_AddArrayToObject(o, "backends");
		for (size_t i = 0; i < s->n_be; i++)
			cJSON_AddItemToArray(bes, view_backend_json(s, &s->be[i], c, d));
	}
	return o;
}

cJSON *view_vip_json(const struct sync_vip *v, const char *domain)
{
	cJSON *o = cJSON_CreateObject();
	char a[INET6_ADDRSTRLEN];

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "app_id", v->app_id);
	cJSON_AddNumberToObject(o, "port_index", v->a.port_index);
	cJSON_AddStringToObject(o, "label", v->label);
	cJSON_AddStringToObject(o, "status", vip_status_name(v->a.status));
	if (v->a.family != 0 && v->a.status != VIP_BAD_LABEL)
		cJSON_AddStringToObject(o, "address",
					text_fmt_addr(v->a.family, v->a.addr, a, sizeof(a)));
	else
		cJSON_AddNullToObject(o, "address");
	cJSON_AddNumberToObject(o, "port", v->a.port);
	if (v->a.named) {
		char *host = NULL;

		cJSON_AddStringToObject(o, "name", v->a.name);
		if (asprintf(&host, "%s.%s", v->a.name, domain) >= 0) {
			cJSON_AddStringToObject(o, "hostname", host);
			free(host);
		}
	}
	if (v->a.status != VIP_OK)
		cJSON_AddStringToObject(o, "reason", v->a.message);
	return o;
}

char *view_print(cJSON *o)
{
	char *s, *t = NULL;

	if (o == NULL)
		return NULL;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		return NULL;
	if (asprintf(&t, "%s\n", s) < 0)
		t = NULL;
	cJSON_free(s);
	return t;
}

char *view_error_json(const char *error, const char *reason)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "error", error);
	if (reason != NULL)
		cJSON_AddStringToObject(o, "reason", reason);
	else
		cJSON_AddNullToObject(o, "reason");
	return view_print(o);
}

/* ---- /metrics ---- */

struct endpoint {
	__u8 family;
	__be32 addr[4];
	__u16 port;
	bool drained;
};

static int cmp_endpoint(const void *a, const void *b)
{
	const struct endpoint *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (x->port > y->port) - (x->port < y->port);
}

static void service_families(struct prom *p, const struct metrics_input *in)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "baton_service_packets_total", "counter",
		  "Packets forwarded per service frontend." },
		{ "baton_service_bytes_total", "counter", "Bytes forwarded per service frontend." },
		{ "baton_service_new_flows_total", "counter", "New flows per service frontend." },
		{ "baton_service_active_flows", "gauge",
		  "Open flows per service frontend (client direction entries of the flow table "
		  "that are neither closing nor idle), counted at scrape time." },
	};
	const struct view *v = in->view;

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(p, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; v && i < v->n; i++) {
			const struct view_service *s = &v->v[i];

			if (!tenant_in_scope(in->scope, s->app_id))
				continue;
			for (size_t j = 0; j < s->n_fe; j++) {
				struct view_stats st = {};
				char fe[INET6_ADDRSTRLEN + 24];
				unsigned long long val;

				if (!in->counters->frontend(in->counters->ctx, &s->fe[j].fk, &st))
					continue;
				frontend_text(&s->fe[j].fk, fe, sizeof(fe) - 9);
				strcat(fe, "/");
				strcat(fe, proto_name(s->fe[j].fk.proto));
				val = f == 0   ? st.packets
				      : f == 1 ? st.bytes
				      : f == 2 ? st.new_flows
					       : st.active_flows;
				prom_sample(p, fam[f].name, val, "service", s->name, "frontend", fe,
					    NULL);
			}
		}
	}
}

static void backend_families(struct prom *p, const struct metrics_input *in)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "baton_backend_packets_total", "counter", "Packets forwarded per backend." },
		{ "baton_backend_bytes_total", "counter", "Bytes forwarded per backend." },
		{ "baton_backend_new_flows_total", "counter", "New flows per backend." },
		{ "baton_backend_active_flows", "gauge",
		  "Open flows per backend, counted at scrape time like the services'." },
		{ "baton_backend_drained", "gauge", "1 when an operator drained the backend." },
	};
	const struct view *v = in->view;
	struct endpoint *ep = NULL;
	size_t n = 0, cap = 0, u = 0;

	for (size_t i = 0; v && i < v->n; i++)
		cap += v->v[i].n_be;
	ep = calloc(cap ? cap : 1, sizeof(*ep));
	if (ep == NULL) {
		p->b.oom = true;
		return;
	}
	for (size_t i = 0; v && i < v->n; i++) {
		const struct view_service *s = &v->v[i];

		if (!tenant_in_scope(in->scope, s->app_id))
			continue;
		for (size_t j = 0; j < s->n_be; j++) {
			ep[n].family = s->be[j].family;
			memcpy(ep[n].addr, s->be[j].addr, sizeof(ep[n].addr));
			ep[n].port = s->be[j].port;
			ep[n++].drained = s->be[j].drained;
		}
	}
	qsort(ep, n, sizeof(*ep), cmp_endpoint);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || cmp_endpoint(&ep[u - 1], &ep[i]) != 0)
			ep[u++] = ep[i];
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(p, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < u; i++) {
			struct view_stats st = {};
			char id[DRAIN_ID_MAX];
			unsigned long long val;

			if (!in->counters->backend(in->counters->ctx, ep[i].family, ep[i].addr,
						   ep[i].port, &st))
				continue;
			val = f == 0   ? st.packets
			      : f == 1 ? st.bytes
			      : f == 2 ? st.new_flows
			      : f == 3 ? st.active_flows
				       : ep[i].drained;
			prom_sample(p, fam[f].name, val, "backend",
				    drain_id_format(ep[i].family, ep[i].addr, ep[i].port, id,
						    sizeof(id)),
				    NULL);
		}
	}
	free(ep);
}

static void vip_family(struct prom *p, const struct metrics_input *in)
{
	unsigned long long count[VIP_REFUSED + 1] = {};

	for (size_t i = 0; i < in->n_vips; i++)
		if (tenant_in_scope(in->scope, in->vips[i].app_id) &&
		    in->vips[i].a.status <= VIP_REFUSED)
			count[in->vips[i].a.status]++;
	prom_family(p, "baton_vip_labels", "gauge",
		    "VIP_n labels by what became of them: ok (a frontend), conflict, bad_label, "
		    "exhausted, no_pool, refused (outside the tenant's VIP pools).");
	for (int s = VIP_OK; s <= VIP_REFUSED; s++)
		prom_sample(p, "baton_vip_labels", count[s], "status", vip_status_name(s), NULL);
}

static void marathon_families(struct prom *p, const struct metrics_input *in)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
#define C(n, h, f) { "baton_marathon_" n, h, offsetof(struct metrics_input, f) }
		C("fetches_total", "Full fetches of /v2/apps started.", mc_fetches),
		C("fetch_errors_total", "Full fetches that failed (connection, HTTP, timeout).",
		  mc_fetch_errors),
		C("fetches_applied_total", "Full fetches applied.", fetches_applied),
		C("fetches_refused_total", "Full fetch bodies refused (bad, or empty).",
		  fetches_refused),
		C("stream_opens_total", "Event stream (re)connections.", mc_stream_opens),
		C("stream_errors_total", "Event stream failures.", mc_stream_errors),
		C("events_total", "Events received.", mc_events),
		C("events_applied_total", "Events applied to the model.", events_applied),
		C("events_bad_total", "Events that could not be parsed or applied.", events_bad),
		C("refetches_asked_total", "Events that called for a full fetch.", refetches_asked),
		C("applies_total", "Applies of the model to the maps.", applies),
		C("apply_errors_total", "Applies that failed (the last good state kept serving).",
		  apply_errors),
#undef C
	};

	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++) {
		prom_family(p, ctr[i].name, "counter", ctr[i].help);
		prom_sample(p, ctr[i].name,
			    *(const unsigned long long *)((const char *)in + ctr[i].off), NULL);
	}
	prom_family(p, "baton_marathon_connected", "gauge",
		    "1 while the event stream is connected.");
	prom_sample(p, "baton_marathon_connected", in->marathon_connected, NULL);
	prom_family(p, "baton_marathon_last_fetch_timestamp_seconds", "gauge",
		    "When the last full fetch was applied (0: never).");
	prom_sample_f(p, "baton_marathon_last_fetch_timestamp_seconds", in->last_fetch_ms / 1e3,
		      NULL);
	prom_family(p, "baton_marathon_last_event_timestamp_seconds", "gauge",
		    "When the last event was received (0: never).");
	prom_sample_f(p, "baton_marathon_last_event_timestamp_seconds", in->last_event_ms / 1e3,
		      NULL);
	if (in->event_lag_ms >= 0 && in->last_event_ms) {
		prom_family(p, "baton_marathon_event_lag_seconds", "gauge",
			    "Receive time minus Marathon's timestamp of the last event.");
		prom_sample_f(p, "baton_marathon_event_lag_seconds", in->event_lag_ms / 1e3, NULL);
	}
}

char *view_metrics(const struct metrics_input *in)
{
	struct prom p = {};
	static const char *const classes[] = { NULL, NULL, "2xx", "3xx", "4xx", "5xx" };

	if (in->scope == NULL && in->have_reasons) {
		prom_family(&p, "baton_packets_total", "counter",
			    "Packets seen by the XDP program, by verdict reason.");
		for (int r = 0; r < BATON_R_MAX; r++)
			prom_sample(&p, "baton_packets_total", in->reason_packets[r], "reason",
				    baton_reason_name(r), NULL);
		prom_family(&p, "baton_bytes_total", "counter",
			    "Bytes seen by the XDP program, by verdict reason.");
		for (int r = 0; r < BATON_R_MAX; r++)
			prom_sample(&p, "baton_bytes_total", in->reason_bytes[r], "reason",
				    baton_reason_name(r), NULL);
	}
	service_families(&p, in);
	backend_families(&p, in);
	vip_family(&p, in);
	if (in->scope != NULL)
		return prom_finish(&p);
	prom_family(&p, "baton_services", "gauge", "Service frontends in the maps.");
	prom_sample(&p, "baton_services", in->n_services, NULL);
	prom_family(&p, "baton_backends", "gauge", "Backends in the maps.");
	prom_sample(&p, "baton_backends", in->n_backends, NULL);
	prom_family(&p, "baton_drains", "gauge", "Operator drains in force.");
	prom_sample(&p, "baton_drains", in->n_drains, NULL);
	if (in->have_flows) {
		prom_family(&p, "baton_flows_active", "gauge",
			    "Open flows (client direction), counted at scrape time.");
		prom_sample(&p, "baton_flows_active", in->flows_active, NULL);
		prom_family(&p, "baton_flow_entries", "gauge",
			    "Entries in the flow table (two per flow, closing and idle ones too).");
		prom_sample(&p, "baton_flow_entries", in->flow_entries, NULL);
		prom_family(&p, "baton_flow_table_size", "gauge", "Capacity of the flow table.");
		prom_sample(&p, "baton_flow_table_size", in->flow_capacity, NULL);
		prom_family(&p, "baton_flow_walk_seconds", "gauge",
			    "How long the last walk of the flow table took.");
		prom_sample_f(&p, "baton_flow_walk_seconds", in->flow_walk_seconds, NULL);
	}
	if (in->have_l7) {
		prom_family(&p, "baton_l7_total", "counter", "Counters of the L7 lane (baton-l7).");
		for (int i = 0; i < BATON_L7S_MAX; i++)
			prom_sample(&p, "baton_l7_total", in->l7[i], "counter",
				    baton_l7_stat_name(i), NULL);
	}
	if (in->marathon)
		marathon_families(&p, in);
	prom_family(&p, "baton_api_requests_total", "counter",
		    "HTTP API requests answered, by status class.");
	for (int c = 2; c <= 5; c++)
		prom_sample(&p, "baton_api_requests_total", in->api_requests[c], "code", classes[c],
			    NULL);
	prom_family(&p, "baton_api_auth_failures_total", "counter",
		    "API requests refused for a missing or unknown token.");
	prom_sample(&p, "baton_api_auth_failures_total", in->api_auth_failures, NULL);
	return prom_finish(&p);
}
