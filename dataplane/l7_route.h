/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which L7 route serves a request (pure): among the routes of the frontend (address,
 * port), those whose host equals the request's (or is "" = any) and whose path is a
 * prefix of the request's path; an exact host beats "any", then the longest path wins.
 * Linear in the number of routes: the lookup runs once per connection, not per packet.
 */
#ifndef BATON_L7_ROUTE_H
#define BATON_L7_ROUTE_H

#include <stddef.h>

#include "baton_abi.h"

/* Index into routes[0..n) of the route, or -1. addr and port as on the wire. */
int l7_route_pick(const struct baton_l7_route *routes, size_t n, __u8 family, const __be32 addr[4],
		  __be16 port, const char *host, const char *path);

#endif /* BATON_L7_ROUTE_H */
