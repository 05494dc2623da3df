// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "l7_route.h"

int l7_route_pick(const struct baton_l7_route *routes, size_t n, __u8 family, const __be32 addr[4],
		  __be16 port, const char *host, const char *path)
{
	int best = -1;
	size_t best_score = 0;

	for (size_t i = 0; i < n; i++) {
		const struct baton_l7_route *r = &routes[i];
		size_t plen, score;

		if (r->family != family || r->port != port ||
		    memcmp(r->addr, addr, family == BATON_FAMILY_V4 ? 4 : 16) != 0)
			continue;
		if (r->host[0] != '\0' && strcmp(r->host, host) != 0)
			continue;
		plen = strnlen(r->path, sizeof(r->path));
		if (strncmp(r->path, path, plen) != 0)
			continue;
		/* exact host first (bit 16), then the longer path; +1 so a match scores > 0 */
		score = (r->host[0] != '\0' ? 1u << 16 : 0) + plen + 1;
		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	return best;
}
