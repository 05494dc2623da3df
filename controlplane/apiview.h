/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the HTTP API shows, kept apart from the HTTP server so it is tested without
 * root: the view (services, their frontends and backends as last applied, rebuilt from
 * the configuration handed to the reconciler), its JSON (cJSON), the Prometheus text of
 * /metrics, and the JSON error bodies. Pure: counters come in through callbacks (batond
 * reads them from the per-CPU maps), nothing here does I/O.
 *
 * Service names: a Marathon service is "APP_ID:PORT_INDEX" ("/web:0"), with "/udp"
 * appended for a UDP one ("/dns:0/udp"); a services-file service keeps its name.
 * view_lookup() also takes "APP_ID" for port index 0, and ids without the leading '/'.
 */
#ifndef BATON_APIVIEW_H
#define BATON_APIVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "baton_abi.h"

struct cJSON;
struct config;
struct drain_set;
struct sync_vip;
struct tenant;

struct view_stats {
	unsigned long long packets, bytes, new_flows, active_flows;
};

/* Where the numbers come from; a callback returns false when the thing has no map id. */
struct view_counters {
	bool (*frontend)(void *ctx, const struct baton_frontend_key *fk, struct view_stats *st);
	bool (*backend)(void *ctx, __u8 family, const __be32 addr[4], __u16 port,
			struct view_stats *st);
	void *ctx;
};

struct view_backend {
	__u8 family;
	__be32 addr[4];
	__u16 port;
	__u32 weight;  /* as written to the maps (0 when drained or draining) */
	bool drained;  /* operator */
	bool draining; /* Marathon */
	char *task_id; /* or NULL */
};

struct view_frontend {
	struct baton_frontend_key fk;
	bool vip;
};

struct view_service {
	char *name;
	char *app_id; /* the Marathon app id; the name for a services-file service */
	bool marathon;
	__u32 port_index;
	__u8 proto;
	size_t n_fe;
	struct view_frontend *fe;
	size_t n_be;
	struct view_backend *be; /* unique endpoints, in configuration order */
};

struct view {
	size_t n;
	struct view_service *v; /* sorted by name */
};

/*
 * A copy of a configuration in three blocks (services, backends, strings), taken at
 * every apply because it is cheap (memcpy speed); the view is built from it only when a
 * request needs one. Strings borrowed by the original (app and task ids) are copied.
 */
struct view_capture {
	struct config *cfg; /* NULL: nothing captured */
	void *block;	    /* owns cfg, its services, backends and strings */
};

/* Replaces *cap with a copy of cfg. 0, or -ENOMEM with *cap unchanged. */
int view_capture(const struct config *cfg, struct view_capture *cap);
void view_capture_free(struct view_capture *cap);

/* Builds the view of cfg (after drains were applied). 0 or -ENOMEM; *out overwritten. */
int view_build(const struct config *cfg, struct view *out);
void view_free(struct view *v);

const struct view_service *view_lookup(const struct view *v, const char *name);

/* {"name", "app_id", "port_index", "protocol", "frontends": [...], counters, backends...} */
struct cJSON *view_service_json(const struct view_service *s, const struct view_counters *c,
				const struct drain_set *d, bool with_backends);

/* One backend of one service: id, service, address, port, weight, drained, draining, ... */
struct cJSON *view_backend_json(const struct view_service *s, const struct view_backend *b,
				const struct view_counters *c, const struct drain_set *d);

/* One VIP label: app, label, status, address, port, name, hostname, message. */
struct cJSON *view_vip_json(const struct sync_vip *v, const char *domain);

/* {"error": error, "reason": reason} and a newline; malloc'd. */
char *view_error_json(const char *error, const char *reason);

/* The JSON text of o (deleted here) with a trailing newline; NULL on ENOMEM. */
char *view_print(struct cJSON *o);

/* What /metrics shows beyond the view. Plain numbers, filled by batond. */
struct metrics_input {
	const struct view *view;
	const struct view_counters *counters;
	const struct tenant *scope; /* a tenant's token: its services only, no global families */
	bool have_reasons;
	unsigned long long reason_packets[BATON_R_MAX], reason_bytes[BATON_R_MAX];
	unsigned int n_services, n_backends; /* map entries in use */
	bool have_flows;		     /* the flow walk ran */
	unsigned long long flows_active, flow_entries, flow_capacity;
	double flow_walk_seconds;
	bool marathon;
	bool marathon_connected;
	unsigned long long mc_fetches, mc_fetch_errors, mc_stream_opens, mc_stream_errors,
		mc_events;
	unsigned long long fetches_applied, fetches_refused, events_applied, events_bad,
		refetches_asked, applies, apply_errors;
	unsigned long long last_fetch_ms, last_event_ms;
	long long event_lag_ms; /* < 0 unknown */
	const struct sync_vip *vips;
	size_t n_vips;
	size_t n_drains;
	unsigned long long api_requests[6]; /* by status class: [2] = 2xx ... [5] = 5xx */
	unsigned long long api_auth_failures;
	bool have_l7; /* l7_stats read (baton-l7's counters, zero until it ran) */
	unsigned long long l7[BATON_L7S_MAX]; /* by BATON_L7S_* */
};

/* The /metrics body (malloc'd), or NULL on ENOMEM. */
char *view_metrics(const struct metrics_input *in);

#endif /* BATON_APIVIEW_H */
