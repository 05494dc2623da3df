/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 lane's side of batond: http/https services lowered for the maps, and the
 * routing table baton-l7 reads (include/baton_abi.h, docs/l7.md).
 *
 * Several http services share one frontend (address, port); the XDP program only needs
 * to know that the frontend is L7 (BATON_FE_F_L7), while each service still needs its
 * own service id, Maglev table and counters. l7_lower() therefore files each http
 * service under a synthetic frontend key (address, a port derived from its name,
 * BATON_PROTO_L7_ROUTE), which no packet matches, and adds one backend-less service
 * per real L7 frontend that carries the flag. The reconciler then treats them all as it
 * treats L4 services.
 */
#ifndef BATON_L7_H
#define BATON_L7_H

#include <stddef.h>

struct config;

/*
 * Rewrites cfg in place as described above (pure). Returns 0, or -EINVAL with a message
 * in err (a TCP service on an L7 frontend, a Host and path claimed twice), or -ENOMEM.
 * cfg is left valid either way.
 */
int l7_lower(struct config *cfg, char *err, size_t errlen);

/*
 * Writes the routes of a lowered cfg into the standby half of l7_routes and flips
 * l7_meta to it. Service ids come from the frontends map (after reconcile_apply()).
 * Returns the number of routes, or a negative errno (the active half keeps serving).
 */
int l7_publish(int fe_fd, int routes_fd, int meta_fd, const struct config *cfg);

#endif /* BATON_L7_H */
