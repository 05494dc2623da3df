/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Marathon sync: keeps the model of Marathon's apps and tasks (marathon.c) true to the
 * full fetches and the events that marathon_client delivers, computes Marathon-LB's
 * services from it, lowers the L4 ones to frontends and backends, and hands them to
 * the reconciler. A bad body or event is logged and skipped; the last good state keeps
 * serving. An empty app list never wipes services that exist (Marathon answering with
 * nothing is not "all apps deleted").
 */
#ifndef BATON_SYNC_H
#define BATON_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "marathon.h"
#include "sse.h"
#include "vip.h"

struct reconcile;
struct reconcile_settings;
struct config;
struct tenant_set;

struct sync_options {
	const char *groups[32];
	size_t n_groups;
	bool strict_mode;
	bool health_check;
	__u32 maglev_size; /* 0: sized per service by sync_maglev_size() */
	/* VIP_n labels: pools for named VIPs (one per family) and where names persist. */
	struct vip_pool vip_pools[2];
	size_t n_vip_pools;
	const char *vip_state_path;	  /* NULL: allocations are not persisted */
	const char *state_dir;		  /* hosts file and BIRD includes go here; NULL: none */
	const char *vip_domain;		  /* names in the hosts file: NAME.vip_domain */
	const struct tenant_set *tenants; /* API tenants: their VIP pools bind their apps */
	bool l7; /* an L7 lane exists (--l7-lane): http services are lowered for it */
};

/* One VIP_n label as the last lowering resolved it, for the API and metrics. */
struct sync_vip {
	char *app_id;		 /* owned */
	char *label;		 /* owned; the label as written */
	struct vip_assignment a; /* a.app_id points at app_id */
};

/* batond's steps around each apply: default SNAT addresses, neighbour probes. */
struct sync_hooks {
	void (*before_apply)(void *ctx, struct config *cfg);
	void (*after_apply)(void *ctx, const struct config *cfg);
	void *ctx;
};

struct sync_host_cache;
struct sync_logged;

struct sync {
	struct sync_options o;
	struct marathon_options mo;
	struct reconcile *rc; /* NULL in --dry-run */
	const struct reconcile_settings *set;
	struct sync_hooks hooks;
	struct marathon_apps apps;
	bool have_apps;
	struct marathon_services services; /* from the last build */
	bool have_services;
	struct sync_host_cache *hosts;
	struct sync_logged *logged;  /* names already reported once (labels, http services) */
	struct vip_state *vips;	     /* VIP name -> address, persisted in o.vip_state_path */
	struct sync_vip *vip_report; /* every VIP label of the last lowering, request order */
	size_t n_vip_report;
	/*
	 * defer_rebuild: events change the model only; sync_flush() applies them, once per
	 * turn of the loop. Every apply that changes a Maglev table waits for an RCU grace
	 * period (tens of ms), so a burst of 1,000 task changes applied one by one kept
	 * batond busy for tens of seconds; applied per turn, it is a few applies.
	 */
	bool defer_rebuild;
	unsigned int pending; /* events applied to the model, not yet to the maps */
	char pending_why[64]; /* their type ("mixed" for several types) */
	/* counters */
	unsigned long long fetches_applied, fetches_refused, events_applied, events_bad,
		refetches_asked, applies, apply_errors;
	/* wall clock, ms since the epoch; 0 = never */
	__u64 last_fetch_ms, last_event_ms, last_apply_ms;
	long long last_event_lag_ms; /* receive time - the event's timestamp; -1 unknown */
};

/* rc, set and hooks are NULL for --dry-run. */
int sync_init(struct sync *s, const struct sync_options *o, struct reconcile *rc,
	      const struct reconcile_settings *set, const struct sync_hooks *hooks);
void sync_free(struct sync *s);

/* marathon_client_ops.apps: a full /v2/apps body. 0 applied, -1 refused. */
int sync_on_apps(void *ctx, const char *body, size_t len);

/* marathon_client_ops.event: 1 when a full fetch is needed. */
int sync_on_event(void *ctx, const struct sse_event *ev);

/* Rebuilds and applies from the model (e.g. operator drains changed). 0, or -errno. */
int sync_reapply(struct sync *s, const char *why);
/* marathon_client_ops.flush: applies the events deferred by defer_rebuild, if any. */
void sync_flush(void *ctx);

/*
 * Lowers services to the reconciler's input: one frontend per (bind address, port,
 * protocol) for each L4 (mode tcp) service with the backends of that address family;
 * "bind all" means every address of this host outside loopback and link-local.
 * Exposed for tests.
 */
int sync_lower(const struct marathon_services *svcs, const __be32 (*addrs)[4], const __u8 *families,
	       size_t n_addrs, __u32 maglev_size, struct config *out);

/* The Maglev table size of a service of n backends when none is configured. */
__u32 sync_maglev_size(size_t n_backends);

#endif /* BATON_SYNC_H */
