// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "baton_abi.h"
#include "config.h"
#include "log.h"
#include "marathon_event.h"
#include "reconcile.h"
#include "l7.h"
#include "sync.h"
#include "tenant.h"
#include "vip_export.h"

#define HOST_TTL_S 60
#define MAX_LB_ADDRS 64
#define PROBLEMS_LOGGED 20 /* per fetch; the rest are counted */

/*
 * Agent host names -> addresses. getaddrinfo() blocks, so answers are kept for a
 * minute; Marathon usually reports agents by address, which never gets here.
 */
struct host_entry {
	char *host;
	int err; /* 0, or the negative errno of a failed lookup (cached too) */
	__u8 family;
	__be32 addr[4];
	time_t expires;
};

struct sync_host_cache {
	struct host_entry *v;
	size_t n, cap;
};

struct sync_logged {
	char **v;
	size_t n, cap;
};

static bool logged_once(struct sync *s, const char *what)
{
	struct sync_logged *l = s->logged;
	char **v;

	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], what) == 0)
			return true;
	}
	if (l->n == l->cap) {
		v = realloc(l->v, (l->cap ? l->cap * 2 : 64) * sizeof(*v));
		if (v == NULL)
			return false;
		l->v = v;
		l->cap = l->cap ? l->cap * 2 : 64;
	}
	l->v[l->n] = strdup(what);
	if (l->v[l->n] != NULL)
		l->n++;
	return false;
}

static void vip_report_free(struct sync *s);

static int resolve_host(void *ctx, const char *host, __u8 *family, __be32 addr[4])
{
	struct sync_host_cache *c = ctx;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	time_t now = time(NULL);
	struct host_entry *e = NULL;
	int rc;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].host, host) == 0) {
			e = &c->v[i];
			break;
		}
	}
	if (e != NULL && e->expires > now) {
		*family = e->family;
		memcpy(addr, e->addr, sizeof(e->addr));
		return e->err;
	}
	if (e == NULL) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 64;
			struct host_entry *v = realloc(c->v, cap * sizeof(*v));

			if (v == NULL)
				return -ENOMEM;
			c->v = v;
			c->cap = cap;
		}
		e = &c->v[c->n];
		memset(e, 0, sizeof(*e));
		e->host = strdup(host);
		if (e->host == NULL)
			return -ENOMEM;
		c->n++;
	}
	memset(e->addr, 0, sizeof(e->addr));
	e->expires = now + HOST_TTL_S;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		log_warn("agent host %s: %s", host, gai_strerror(rc));
		e->err = -ENOENT;
		return e->err;
	}
	e->err = 0;
	if (res->ai_family == AF_INET) {
		e->family = BATON_FAMILY_V4;
		e->addr[0] = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	} else {
		e->family = BATON_FAMILY_V6;
		memcpy(e->addr, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
	}
	freeaddrinfo(res);
	*family = e->family;
	memcpy(addr, e->addr, sizeof(e->addr));
	return 0;
}

int sync_init(struct sync *s, const struct sync_options *o, struct reconcile *rc,
	      const struct reconcile_settings *set, const struct sync_hooks *hooks)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	s->rc = rc;
	s->set = set;
	if (hooks != NULL)
		s->hooks = *hooks;
	s->hosts = calloc(1, sizeof(*s->hosts));
	s->logged = calloc(1, sizeof(*s->logged));
	if (s->hosts == NULL || s->logged == NULL) {
		sync_free(s);
		return -ENOMEM;
	}
	s->mo.groups = s->o.groups;
	s->mo.n_groups = s->o.n_groups;
	s->mo.strict_mode = o->strict_mode;
	s->mo.health_check = o->health_check;
	/* Baton keeps services without backends: their frontend answers with an RST. */
	s->mo.keep_empty = true;
	s->mo.ip_per_task_port_min = 10050;
	s->mo.ip_per_task_port_max = 10100;
	s->mo.framework_name = NULL; /* Marathon-LB's FRAMEWORK_NAME: no app is skipped */
	s->mo.resolve = resolve_host;
	s->mo.resolve_ctx = s->hosts;
	if (o->vip_state_path != NULL) {
		char err[256];

		if (vip_state_load(&s->vips, o->vip_state_path, err, sizeof(err)) < 0)
			log_warn("%s; VIP names start afresh", err);
	}
	if (s->vips == NULL)
		s->vips = vip_state_new();
	if (s->vips == NULL) {
		sync_free(s);
		return -ENOMEM;
	}
	return 0;
}

void sync_free(struct sync *s)
{
	if (s->hosts != NULL) {
		for (size_t i = 0; i < s->hosts->n; i++)
			free(s->hosts->v[i].host);
		free(s->hosts->v);
		free(s->hosts);
	}
	if (s->logged != NULL) {
		for (size_t i = 0; i < s->logged->n; i++)
			free(s->logged->v[i]);
		free(s->logged->v);
		free(s->logged);
	}
	vip_state_free(s->vips);
	vip_report_free(s);
	if (s->have_apps)
		marathon_apps_free(&s->apps);
	if (s->have_services)
		marathon_services_free(&s->services);
	memset(s, 0, sizeof(*s));
}

static void log_problems(const char *what, const struct marathon_problems *p)
{
	for (size_t i = 0; i < p->n && i < PROBLEMS_LOGGED; i++)
		log_warn("%s: %s", what, p->v[i].message);
	if (p->n + p->dropped > PROBLEMS_LOGGED)
		log_warn("%s: %zu more problems not shown", what,
			 p->n + p->dropped - PROBLEMS_LOGGED);
}

/* This host's addresses, for services bound to "all": no loopback, no link-local. */
static size_t lb_addresses(__be32 (*addrs)[4], __u8 *families, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i != NULL && n < max; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		memset(addrs[n], 0, sizeof(addrs[n]));
		if (i->ifa_addr->sa_family == AF_INET) {
			struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;

			if ((ntohl(a.s_addr) >> 24) == 127)
				continue;
			addrs[n][0] = a.s_addr;
			families[n++] = BATON_FAMILY_V4;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
			    IN6_IS_ADDR_MULTICAST(a))
				continue;
			memcpy(addrs[n], a, 16);
			families[n++] = BATON_FAMILY_V6;
		}
	}
	freeifaddrs(ifa);
	return n;
}

/*
 * Table size for a service of n backends when none is configured: the smallest prime
 * of a fixed ladder with at least 100 slots per backend (Maglev's balance needs
 * M >> N; 100 x N keeps each backend within 1 % of its share). A fixed ladder means
 * the size, and so the table, changes only when a service crosses a rung; thousands
 * of small services then cost kilobytes each instead of 256 KiB.
 */
__u32 sync_maglev_size(size_t n_backends)
{
	static const __u32 ladder[] = { 1021,  2039,   4093,   8191,   16381,  32749,
					65521, 131071, 262139, 524287, 1048573 };
	size_t want = 100 * (n_backends ? n_backends : 1);

	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		if (ladder[i] >= want)
			return ladder[i];
	}
	return ladder[sizeof(ladder) / sizeof(ladder[0]) - 1];
}

static int lower_one(const struct marathon_service *ms, __u8 family, const __be32 *addr,
		     __u32 maglev_size, struct config_service *cs)
{
	size_t n = 0;

	memset(cs, 0, sizeof(*cs));
	snprintf(cs->name, sizeof(cs->name), "%s:%u", ms->app_id, ms->port_index);
	cs->app_id = ms->app_id;
	cs->port_index = ms->port_index;
	cs->family = family;
	memcpy(cs->vip, addr, sizeof(cs->vip));
	cs->port = ms->service_port;
	cs->proto = ms->protocol;
	cs->sticky = ms->sticky; /* HAPROXY_{n}_STICKY: for L4, the client address only */
	cs->maglev_size = maglev_size ? maglev_size : sync_maglev_size(ms->n_backends);
	cs->backends = calloc(ms->n_backends ? ms->n_backends : 1, sizeof(*cs->backends));
	if (cs->backends == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < ms->n_backends; i++) {
		const struct marathon_backend *mb = &ms->backends[i];

		if (mb->family != family)
			continue;
		cs->backends[n].family = mb->family;
		memcpy(cs->backends[n].addr, mb->addr, sizeof(mb->addr));
		cs->backends[n].port = mb->port;
		cs->backends[n].weight = mb->weight;
		cs->backends[n].task_id = mb->task_id;
		cs->backends[n].draining = mb->draining;
		n++;
	}
	cs->n_backends = n;
	return 0;
}

int sync_lower(const struct marathon_services *svcs, const __be32 (*addrs)[4], const __u8 *families,
	       size_t n_addrs, __u32 maglev_size, struct config *out)
{
	size_t cap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	out->maglev_size = maglev_size;
	for (size_t i = 0; i < svcs->n; i++) {
		const struct marathon_service *ms = &svcs->v[i];

		if (ms->mode != MARATHON_MODE_TCP)
			continue; /* http: the L7 lane's, not forwarded by L4 */
		cap += ms->bind_all ? n_addrs : 1;
	}
	out->services = calloc(cap ? cap : 1, sizeof(*out->services));
	if (out->services == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < svcs->n; i++) {
		const struct marathon_service *ms = &svcs->v[i];

		if (ms->mode != MARATHON_MODE_TCP)
			continue;
		if (!ms->bind_all) {
			err = lower_one(ms, ms->bind_family, ms->bind_addr, maglev_size,
					&out->services[out->n_services]);
			if (err)
				goto fail;
			out->n_services++;
			continue;
		}
		for (size_t a = 0; a < n_addrs; a++) {
			err = lower_one(ms, families[a], addrs[a], maglev_size,
					&out->services[out->n_services]);
			if (err)
				goto fail;
			out->n_services++;
		}
	}
	return 0;
fail:
	config_free(out);
	return err;
}

/*
 * VIP_n labels: each L4 service's VIPs become frontends of their own with the
 * service's backends of the VIP's family, appended to cfg. Named VIPs get addresses
 * from the pools (deterministic from the name, stable, persisted); conflicts and bad
 * labels are logged once each and get no frontend.
 */
/* The hosts file and the BIRD includes for the VIPs in use, rewritten atomically. */
static void export_vips(struct sync *s, const struct vip_export_entry *e, size_t n)
{
	static const char *const files[] = { "vips.hosts", "bird-vips4.conf", "bird-vips6.conf" };
	char path[4096];

	for (int f = 0; f < 3; f++) {
		char *text =
			f == 0 ? vip_export_hosts(e, n, s->o.vip_domain)
			       : vip_export_bird(e, n, f == 1 ? BATON_FAMILY_V4 : BATON_FAMILY_V6);
		int err;

		if (text == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->o.state_dir, files[f]);
		err = vip_export_write(path, text);
		if (err)
			log_warn("cannot write %s: %s", path, strerror(-err));
		free(text);
	}
}

static void vip_report_free(struct sync *s)
{
	for (size_t i = 0; i < s->n_vip_report; i++) {
		free(s->vip_report[i].app_id);
		free(s->vip_report[i].label);
	}
	free(s->vip_report);
	s->vip_report = NULL;
	s->n_vip_report = 0;
}

/* Keeps what the allocator said about every label, for the API and metrics. */
static void vip_report_keep(struct sync *s, const struct vip_request *req,
			    const struct vip_assignment *out, size_t n)
{
	struct sync_vip *v = calloc(n ? n : 1, sizeof(*v));

	vip_report_free(s);
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i].app_id = strdup(req[i].app_id);
		v[i].label = strdup(req[i].label);
		v[i].a = out[i];
		v[i].a.app_id = v[i].app_id;
		if (v[i].app_id == NULL || v[i].label == NULL) {
			s->vip_report = v;
			s->n_vip_report = i + 1;
			vip_report_free(s);
			return;
		}
	}
	s->vip_report = v;
	s->n_vip_report = n;
}

static int lower_vips(struct sync *s, struct config *cfg, bool persist)
{
	struct vip_export_entry *exp = NULL;
	size_t n_exp = 0;
	struct vip_request *req = NULL;
	struct vip_assignment *out = NULL;
	const struct marathon_service **owner = NULL;
	struct config_service *grown;
	size_t n = 0, k = 0;
	char err[256];
	int r, ret = 0;

	for (size_t i = 0; i < s->services.n; i++)
		n += s->services.v[i].mode == MARATHON_MODE_TCP ? s->services.v[i].n_vips : 0;
	if (n == 0) {
		vip_report_free(s);
		return 0;
	}
	req = calloc(n, sizeof(*req));
	out = calloc(n, sizeof(*out));
	owner = calloc(n, sizeof(*owner));
	exp = calloc(n, sizeof(*exp));
	grown = realloc(cfg->services, (cfg->n_services + n) * sizeof(*cfg->services));
	if (req == NULL || out == NULL || owner == NULL || exp == NULL || grown == NULL) {
		if (grown != NULL)
			cfg->services = grown;
		ret = -ENOMEM;
		goto done;
	}
	cfg->services = grown;
	/* Services come sorted by app id and port index: the first claimant wins. */
	for (size_t i = 0; i < s->services.n; i++) {
		const struct marathon_service *ms = &s->services.v[i];

		if (ms->mode != MARATHON_MODE_TCP)
			continue;
		for (size_t v = 0; v < ms->n_vips; v++) {
			req[k].app_id = ms->app_id;
			req[k].port_index = ms->port_index;
			req[k].label = ms->vips[v].raw;
			req[k].want_v6 =
				ms->n_backends > 0 && ms->backends[0].family == BATON_FAMILY_V6;
			/* The tenant governing the app binds its VIPs to the tenant's pools. */
			{
				const struct tenant *t = tenant_for_app(s->o.tenants, ms->app_id);

				if (tenant_restricts_vips(t)) {
					req[k].restricted = true;
					req[k].pools = t->pools;
					req[k].n_pools = t->n_pools;
					req[k].tenant = t->name;
				}
			}
			owner[k++] = ms;
		}
	}
	r = vip_allocate(s->vips, s->o.vip_pools, s->o.n_vip_pools, req, n, out, err, sizeof(err));
	if (r < 0) {
		log_err("VIP allocation: %s", err);
		ret = r;
		goto done;
	}
	vip_report_keep(s, req, out, n);
	for (size_t i = 0; i < n; i++) {
		struct config_service *cs = &cfg->services[cfg->n_services];
		char text[INET6_ADDRSTRLEN];

		if (out[i].status != VIP_OK) {
			if (!logged_once(s, out[i].message))
				log_warn("%s", out[i].message);
			continue;
		}
		ret = lower_one(owner[i], out[i].family, out[i].addr, s->o.maglev_size, cs);
		if (ret)
			goto done;
		cs->port = out[i].port;
		cs->is_vip = true;
		snprintf(cs->name, sizeof(cs->name), "%s:%u vip", owner[i]->app_id,
			 owner[i]->port_index);
		cfg->n_services++;
		exp[n_exp].name = out[i].named ? out[i].name : NULL;
		exp[n_exp].family = out[i].family;
		memcpy(exp[n_exp].addr, out[i].addr, sizeof(exp[n_exp].addr));
		n_exp++;
		inet_ntop(out[i].family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, out[i].addr, text,
			  sizeof(text));
		snprintf(err, sizeof(err), "VIP %s of %s port %u: %s:%u", req[i].label,
			 owner[i]->app_id, owner[i]->port_index, text, out[i].port);
		if (!logged_once(s, err))
			log_info("%s", err);
	}
	if (persist && s->o.vip_state_path != NULL &&
	    vip_state_save(s->vips, s->o.vip_state_path, err, sizeof(err)) < 0)
		log_warn("%s; VIP names are not persisted", err);
	if (persist && s->o.state_dir != NULL)
		export_vips(s, exp, n_exp);
done:
	free(exp);
	free(req);
	free(out);
	free(owner);
	return ret;
}

/*
 * HAPROXY_{n}_MODE http services for the L7 lane (l7.h): each gets a route on its own
 * frontend port (any Host, HAPROXY_{n}_PATH), and with HAPROXY_{n}_VHOST one on port 80
 * of the same address for those hosts, as Marathon-LB's shared marathon_http_in
 * frontend does. Port 443 (Marathon-LB terminates TLS there) is not offered: Baton
 * routes TLS by SNI without terminating it, which is a different service.
 */
static int lower_http(struct sync *s, struct config *cfg, const __be32 (*addrs)[4],
		      const __u8 *families, size_t n_addrs)
{
	struct config_service *grown;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < s->services.n; i++) {
		const struct marathon_service *ms = &s->services.v[i];

		if (ms->mode == MARATHON_MODE_HTTP && ms->protocol == IPPROTO_TCP)
			n += (ms->bind_all ? n_addrs : 1) * (ms->n_vhosts ? 2 : 1);
	}
	if (n == 0)
		return 0;
	grown = realloc(cfg->services, (cfg->n_services + n) * sizeof(*cfg->services));
	if (grown == NULL)
		return -ENOMEM;
	cfg->services = grown;
	for (size_t i = 0; i < s->services.n; i++) {
		const struct marathon_service *ms = &s->services.v[i];
		size_t na = ms->bind_all ? n_addrs : 1;

		if (ms->mode != MARATHON_MODE_HTTP || ms->protocol != IPPROTO_TCP)
			continue;
		for (size_t a = 0; a < na; a++) {
			__u8 fam = ms->bind_all ? families[a] : ms->bind_family;
			const __be32 *addr = ms->bind_all ? addrs[a] : ms->bind_addr;

			for (int vh = 0; vh < (ms->n_vhosts ? 2 : 1); vh++) {
				struct config_service *cs = &cfg->services[cfg->n_services];

				err = lower_one(ms, fam, addr, s->o.maglev_size, cs);
				if (err)
					return err;
				cfg->n_services++;
				cs->mode = CONFIG_MODE_HTTP;
				/* Marathon-LB's http backends carry "option forwardfor". */
				cs->forwarded_for = true;
				cs->redirect_to_https = ms->redirect_to_https;
				if (ms->path != NULL)
					snprintf(cs->path, sizeof(cs->path), "%s", ms->path);
				if (vh == 0)
					continue;
				cs->port = 80;
				snprintf(cs->name, sizeof(cs->name), "%s:%u vhost", ms->app_id,
					 ms->port_index);
				for (size_t h = 0; h < ms->n_vhosts && h < CONFIG_VHOSTS_MAX; h++)
					snprintf(cs->vhosts[cs->n_vhosts++], sizeof(cs->vhosts[0]),
						 "%s", ms->vhosts[h]);
			}
		}
	}
	return 0;
}

static void report_once(struct sync *s, const struct marathon_services *svcs)
{
	char what[512];

	for (size_t i = 0; i < svcs->n_unused_labels; i++) {
		snprintf(what, sizeof(what), "label %s", svcs->unused_labels[i]);
		if (!logged_once(s, what))
			log_info("label %s is accepted but Baton does not act on it",
				 svcs->unused_labels[i]);
	}
	for (size_t i = 0; i < svcs->n; i++) {
		const struct marathon_service *ms = &svcs->v[i];

		if (ms->mode != MARATHON_MODE_HTTP || s->o.l7)
			continue;
		snprintf(what, sizeof(what), "http %s:%u", ms->app_id, ms->port_index);
		if (!logged_once(s, what))
			log_warn("service %s port %u is mode http: recorded, not forwarded "
				 "(batond has no --l7-lane)",
				 ms->app_id, ms->port_index);
	}
}

static __u64 wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Marathon's event timestamp ("2026-11-25T00:00:02.000Z") in ms since the epoch; 0: none. */
static __u64 event_time_ms(const char *ts)
{
	struct tm tm = {};
	const char *p = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned int ms = 0;

	if (p == NULL)
		return 0;
	if (*p == '.') {
		int digits = 0;

		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 3)
				ms = ms * 10 + (*p - '0');
		while (digits > 0 && digits < 3) {
			ms *= 10;
			digits++;
		}
	}
	if (*p != 'Z')
		return 0;
	return (__u64)timegm(&tm) * 1000 + ms;
}

/* Services from the model, lowered and applied; why: "fetch" or the event's type. */
static int rebuild(struct sync *s, const char *why)
{
	struct marathon_problems probs = {};
	struct marathon_services next = {};
	__be32 addrs[MAX_LB_ADDRS][4];
	__u8 families[MAX_LB_ADDRS];
	struct config cfg = {};
	size_t n_addrs, n_backends = 0;
	int err;

	s->pending = 0; /* the model as it is now, deferred events included */
	err = marathon_services_build(&s->apps, &s->mo, &next, &probs);
	log_problems("services", &probs);
	marathon_problems_free(&probs);
	if (err) {
		log_errno(err, "cannot compute the services; keeping the running state");
		return err;
	}
	report_once(s, &next);
	if (s->have_services)
		marathon_services_free(&s->services);
	s->services = next;
	s->have_services = true;
	if (s->rc == NULL)
		return 0; /* --dry-run */

	n_addrs = lb_addresses(addrs, families, MAX_LB_ADDRS);
	err = sync_lower(&s->services, (const __be32(*)[4])addrs, families, n_addrs,
			 s->o.maglev_size, &cfg);
	if (!err)
		err = lower_vips(s, &cfg, strcmp(why, "fetch") == 0);
	if (!err && s->o.l7)
		err = lower_http(s, &cfg, (const __be32(*)[4])addrs, families, n_addrs);
	if (!err && s->o.l7) {
		char msg[512];

		err = l7_lower(&cfg, msg, sizeof(msg));
		if (err == -EINVAL)
			log_err("%s", msg);
	}
	if (err) {
		config_free(&cfg);
		return log_errno(err, "cannot lower the services");
	}
	if (s->hooks.before_apply != NULL)
		s->hooks.before_apply(s->hooks.ctx, &cfg);
	err = reconcile_apply(s->rc, &cfg, s->set);
	s->applies++;
	s->last_apply_ms = wall_ms();
	if (err) {
		s->apply_errors++;
	} else {
		for (size_t i = 0; i < cfg.n_services; i++)
			n_backends += cfg.services[i].n_backends;
		log_info("applied marathon state (%s): %zu apps, %zu services, %zu frontends, "
			 "%zu backends",
			 why, s->apps.n, s->services.n, cfg.n_services, n_backends);
		if (s->hooks.after_apply != NULL)
			s->hooks.after_apply(s->hooks.ctx, &cfg);
	}
	config_free(&cfg);
	return err;
}

int sync_reapply(struct sync *s, const char *why)
{
	if (!s->have_apps || s->rc == NULL)
		return 0; /* nothing applied yet: the first fetch will carry the drains */
	return rebuild(s, why);
}

int sync_on_apps(void *ctx, const char *body, size_t len)
{
	struct sync *s = ctx;
	struct marathon_problems probs = {};
	struct marathon_apps next = {};
	int err;

	err = marathon_apps_parse(body, len, &next, &probs);
	log_problems("marathon apps", &probs);
	marathon_problems_free(&probs);
	if (err) {
		s->fetches_refused++;
		log_err("marathon apps body refused (%zu bytes); keeping the running state", len);
		return -1;
	}
	if (next.n == 0 && s->have_services && s->services.n > 0) {
		s->fetches_refused++;
		log_warn("marathon returned no apps; keeping the %zu services that run (an empty "
			 "answer is not taken for \"all apps deleted\")",
			 s->services.n);
		marathon_apps_free(&next);
		return -1;
	}
	if (s->have_apps) {
		marathon_apps_carry_health(&next, &s->apps);
		marathon_apps_free(&s->apps);
	}
	s->apps = next;
	s->have_apps = true;
	s->fetches_applied++;
	s->last_fetch_ms = wall_ms();
	rebuild(s, "fetch");
	return 0;
}

static void to_model_ips(const struct marathon_event *ev, struct marathon_ip *ips)
{
	for (size_t i = 0; i < ev->n_ips; i++) {
		ips[i].family = ev->ips[i].family;
		memcpy(ips[i].addr, ev->ips[i].addr, sizeof(ips[i].addr));
	}
}

int sync_on_event(void *ctx, const struct sse_event *sev)
{
	struct sync *s = ctx;
	struct marathon_event ev;
	struct marathon_ip ips[MARATHON_EV_MAX_IPS];
	char err_msg[256];
	int r;

	if (marathon_event_parse(sev->type, sev->type_len, sev->data, sev->data_len, &ev, err_msg,
				 sizeof(err_msg)) != 0) {
		/* The state may have moved without us: a full fetch catches up. */
		s->events_bad++;
		log_warn("event %.*s skipped: %s; asking for a full fetch", (int)sev->type_len,
			 sev->type, err_msg);
		return 1;
	}
	s->last_event_ms = wall_ms();
	{
		__u64 t = event_time_ms(ev.timestamp);

		s->last_event_lag_ms = t ? (long long)(s->last_event_ms - t) : -1;
	}
	switch (ev.kind) {
	case MARATHON_EV_APP_CHANGED:
		s->refetches_asked++;
		log_debug("event %s (%s): full fetch", ev.type, ev.app_id);
		return 1;
	case MARATHON_EV_STATUS_UPDATE: {
		struct marathon_status_update u = {
			.app_id = ev.app_id,
			.task_id = ev.task_id,
			.state = ev.task_status,
			.host = ev.host[0] ? ev.host : NULL,
			.ports = ev.ports,
			.n_ports = ev.n_ports,
			.has_ports = ev.n_ports > 0,
			.ips = ips,
			.n_ips = ev.n_ips,
			.has_ips = ev.n_ips > 0,
		};

		if (!s->have_apps)
			return 1;
		to_model_ips(&ev, ips);
		r = marathon_apply_status(&s->apps, &u);
		break;
	}
	case MARATHON_EV_HEALTH_CHANGED: {
		struct marathon_health_update u = {
			.app_id = ev.app_id,
			.task_id = ev.task_id[0] ? ev.task_id : NULL,
			.instance_id = ev.instance_id[0] ? ev.instance_id : NULL,
			.alive = ev.alive == 1,
		};

		if (!s->have_apps || ev.alive < 0)
			return 1;
		r = marathon_apply_health(&s->apps, &u);
		break;
	}
	default:
		return 0;
	}
	if (r < 0) {
		s->events_bad++;
		log_warn("event %s for app %s task %s not applied: %s", ev.type, ev.app_id,
			 ev.task_id, strerror(-r));
		return 0;
	}
	s->events_applied++;
	if (r == MARATHON_APPLY_REFETCH) {
		s->refetches_asked++;
		return 1;
	}
	if (r == MARATHON_APPLY_CHANGED) {
		log_debug("event %s: app %s task %s %s", ev.type, ev.app_id, ev.task_id,
			  ev.task_status);
		if (!s->defer_rebuild) {
			rebuild(s, ev.type);
		} else {
			if (s->pending == 0)
				snprintf(s->pending_why, sizeof(s->pending_why), "%s", ev.type);
			else if (strcmp(s->pending_why, ev.type) != 0)
				snprintf(s->pending_why, sizeof(s->pending_why), "mixed");
			s->pending++;
		}
	}
	return 0;
}

void sync_flush(void *ctx)
{
	struct sync *s = ctx;
	char why[80];

	if (s->pending == 0)
		return;
	/* One event: "(status_update_event)", as when applied at once; more: "(TYPE xN)". */
	if (s->pending == 1)
		snprintf(why, sizeof(why), "%s", s->pending_why);
	else
		snprintf(why, sizeof(why), "%s x%u", s->pending_why, s->pending);
	rebuild(s, why);
}
