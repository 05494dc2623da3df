/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * batond's HTTP API (libmicrohttpd), driven by batond's single thread: the daemon runs
 * without threads of its own (MHD_USE_EPOLL, external polling) and its epoll fd joins
 * batond's poll loop. docs/api.md describes every endpoint:
 *   GET  /healthz, /_haproxy_health_check, /metrics (Prometheus text)
 *   GET  /v1/status, /v1/services, /v1/services/{name}, /v1/vips, /v1/backends[?service=]
 *   POST /v1/backends/{ADDRESS:PORT}/drain, /v1/backends/{ADDRESS:PORT}/undrain
 * With --api-tokens, requests need "Authorization: Bearer TOKEN" (tenant.h) except the
 * file's public paths; a token sees and acts on its own apps only (403 otherwise).
 *
 * Operator drains (drain.h) live here too, because they must hold before the first
 * apply and whether or not the HTTP endpoint listens: api_init() loads them and
 * api_before_apply() applies them to every configuration batond hands the reconciler.
 */
#ifndef BATON_API_H
#define BATON_API_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#include "apiview.h"
#include "drain.h"
#include "tenant.h"

#define API_BODY_MAX 4096 /* bytes of a request body; more is 413 */

struct baton_bpf;
struct config;
struct reconcile;
struct reconcile_settings;
struct sync;
struct marathon_client;
struct MHD_Daemon;

struct api_options {
	const char *listen;	 /* "ADDR:PORT"; NULL or "none": no HTTP endpoint */
	const char *tokens_path; /* --api-tokens; NULL: the API is open (keep it on loopback) */
	const char *state_dir;	 /* drains persist in DIR/drains; NULL: in memory only */
	const char *version;
	const char *vip_domain;
	char *const *ifaces; /* the interfaces batond attaches to, for /v1/status */
	int n_ifaces;
};

/* What batond does when the drains changed: apply again (Marathon model or the file). */
typedef int (*api_reapply_fn)(void *ctx);

struct api {
	struct api_options o;
	struct MHD_Daemon *mhd;
	struct baton_bpf *skel;
	const struct reconcile *rc;
	const struct reconcile_settings *set;
	const struct sync *sync;	  /* NULL with a services file */
	const struct marathon_client *mc; /* NULL with a services file */
	api_reapply_fn reapply;
	void *reapply_ctx;
	bool have_tenants;
	struct tenant_set tenants;
	struct drain_set drains;
	char drains_path[PATH_MAX];  /* "" without a state dir */
	struct view_capture applied; /* the configuration last handed to the reconciler */
	bool view_stale;	     /* view is older than applied: rebuilt on demand */
	struct view view;	     /* what the API shows, built from applied */
	/* Active flows per service / backend id, from the last walk of the flow table. */
	__u32 *svc_active, *be_active;
	__u64 walk_ms; /* CLOCK_MONOTONIC ms of the last walk; 0 = none */
	unsigned long long flows_active, flow_entries;
	double walk_seconds;
	unsigned long long requests[6], auth_failures;
};

/* Loads the tokens file and the drains. No socket yet. 0 or -errno (logged). */
int api_init(struct api *a, const struct api_options *o);

/* SIGHUP: reads the tokens file again; a bad file keeps the tokens in force. */
int api_reload_tokens(struct api *a);

/* Before every apply: drains set weights to 0; the view is rebuilt from cfg. */
void api_before_apply(struct api *a, struct config *cfg);

/* Starts listening (unless o.listen is NULL/"none"). 0 or -errno (logged). */
int api_start(struct api *a, struct baton_bpf *skel, const struct reconcile *rc,
	      const struct reconcile_settings *set, const struct sync *sync,
	      const struct marathon_client *mc, api_reapply_fn reapply, void *reapply_ctx);

/* The fd to poll for readability (-1 when not listening); then call api_run(). */
int api_fd(const struct api *a);
void api_run(struct api *a);
/* How long batond's loop may sleep for the API's sake: max_ms, or less. */
int api_timeout_ms(const struct api *a, int max_ms);
void api_stop(struct api *a);
void api_free(struct api *a);

#endif /* BATON_API_H */
