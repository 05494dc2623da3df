/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Makes the maps say what the configuration says: backend and service ids, Maglev
 * tables, frontends and the global settings. Changes are made before breaks: a new
 * table is complete before a frontend points at it, and a frontend is gone before its
 * table is. Flow entries are never touched, so established flows keep their backend.
 */
#ifndef BATON_RECONCILE_H
#define BATON_RECONCILE_H

#include <stdbool.h>
#include <linux/types.h>

#include "baton_abi.h"

struct config;

/* Settings that come from the command line rather than the services file. */
struct reconcile_settings {
	__be32 snat_v4;
	__be32 snat_v6[4];
	__u16 snat_port_min, snat_port_max;
	__u64 tcp_idle_ns, udp_idle_ns, tcp_close_ns, port_reuse_ns, fib_cache_ns, tcp_syn_ns;
	__u32 l7_lane_ifindex; /* --l7-lane; 0 = none */
	__u16 l7_port_min, l7_port_max;
};

/*
 * A removed backend keeps its id, retired, for RC_RETIRE_MS: if the same address and
 * port come back meanwhile (a task restarted on the same agent port) they get the same
 * id, so the XDP program's per-backend SNAT port walk goes on where it was instead of
 * starting over on ports whose connections the backend may still hold in TIME_WAIT.
 */
#define RC_RETIRE_MS 120000

struct rc_backend {
	struct baton_backend b;
	bool used;	  /* the map slot holds b */
	bool wanted;	  /* scratch during an apply */
	__u64 retired_ms; /* removed at this time (CLOCK_MONOTONIC ms); 0 = not retired */
};

/*
 * A table generation that was active is rewritten in place only after it has been
 * standby this long: far past the end of any XDP program that still read it (they run
 * for microseconds inside an RCU read section; a grace period here is ~15 ms). Sooner,
 * a new inner map is swapped in instead, whose update waits for the grace period.
 */
#define RC_REUSE_MS 1000

struct rc_service {
	struct baton_frontend_key fk;
	bool used;
	bool wanted;
	bool has_table;	 /* the active generation holds the table built from input_sum */
	bool fe_ok;	 /* its frontend and VIP address entry are in the map */
	bool sticky;	 /* as written in its frontend */
	__u32 fe_flags;	 /* the config's fe_flags, as written in its frontend */
	__u8 gen;	 /* the active generation, as written in its frontend */
	bool standby_ok; /* the other generation holds an inner map of standby_m slots */
	__u32 active_m, standby_m;
	__u64 flip_ms;	 /* when gen last changed (CLOCK_MONOTONIC ms) */
	__u64 input_sum; /* fingerprint of what built the active table (backends, M) */
	/* Set by the apply in progress, committed when the frontend is written. */
	bool pending;
	__u8 pending_gen;
	__u32 pending_m;
	__u64 pending_sum;
};

struct reconcile {
	int fe_fd, be_fd, maglev_fd, config_fd;
	struct rc_backend *be; /* BATON_MAX_BACKENDS, indexed by backend id */
	__u32 be_next;	       /* ids are handed out round-robin, so a freed id rests */
	__u32 *be_index;       /* used ids sorted by their entry, for bsearch */
	__u32 be_index_len;
	__u32 *new_ids; /* ids allocated by the apply in progress */
	__u32 n_new;
	__u32 *swap_sid; /* outer slots of the new tables of the apply in progress */
	int *swap_fd;
	size_t n_swap;
	bool set_changed;	/* a service or backend came or went: reindex, look for stale */
	struct rc_service *svc; /* BATON_MAX_SERVICES, indexed by service id */
	__u32 svc_next;
	__u32 *svc_index; /* used service ids sorted by frontend key, for bsearch */
	__u32 svc_index_len;
	__u32 *new_sids; /* service ids allocated since the index was built */
	__u32 n_new_svc;
	__u32 n_backends, n_services; /* in use after the last apply */
};

/* Takes the map fds (not owned). Returns 0 or -ENOMEM. */
int reconcile_init(struct reconcile *rc, int fe_fd, int be_fd, int maglev_fd, int config_fd);
void reconcile_free(struct reconcile *rc);

/* Learns the ids an earlier batond left in pinned maps, so they stay stable. */
int reconcile_adopt(struct reconcile *rc);

/* Applies cfg. On error the maps keep serving (each step is make-before-break). */
int reconcile_apply(struct reconcile *rc, const struct config *cfg,
		    const struct reconcile_settings *set);

/* Read-only lookups for the API: the id in use for a frontend / a backend, or -1. */
int reconcile_service_id(const struct reconcile *rc, const struct baton_frontend_key *fk);
int reconcile_backend_id(const struct reconcile *rc, __u8 family, const __be32 addr[4], __u16 port);

#endif /* BATON_RECONCILE_H */
