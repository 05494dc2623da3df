/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Operator drains: backends an operator took out of new-flow selection (weight 0;
 * existing flows continue until they end), kept across Marathon syncs and batond
 * restarts until undone.
 *
 * A backend is identified by "ADDRESS:PORT" ("10.1.0.11:31001", "[fd00::11]:31001"):
 * what the load balancer actually sends to, the same in --config and --marathon mode,
 * and stable while Marathon restarts, re-fetches or reorders tasks. A new task that
 * lands on a drained address and port is drained too (the drain is on the endpoint,
 * not on the task). Draining affects every service the endpoint serves.
 *
 * Pure apart from the state file (DIR/drains): text, one drain per line,
 *   # baton operator drains: backend since(unix seconds) reason
 *   10.1.0.11:31001 1764690000 kernel upgrade
 * rewritten atomically (temporary file, fsync, rename).
 */
#ifndef BATON_DRAIN_H
#define BATON_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define DRAIN_REASON_MAX 200 /* bytes of a reason, printable ASCII */
#define DRAIN_ID_MAX 56	     /* "[v6]:port" and NUL */

struct config;

struct drain_entry {
	__u8 family; /* BATON_FAMILY_* */
	__be32 addr[4];
	__u16 port;
	long long since; /* unix seconds */
	char reason[DRAIN_REASON_MAX + 1];
};

struct drain_set {
	size_t n, cap;
	struct drain_entry *v; /* sorted by (family, addr, port) */
};

/* "a.b.c.d:port" or "[v6]:port" -> 0, or -EINVAL. */
int drain_id_parse(const char *s, __u8 *family, __be32 addr[4], __u16 *port);

/* The id text of an endpoint (buf of DRAIN_ID_MAX). */
const char *drain_id_format(__u8 family, const __be32 addr[4], __u16 port, char *buf, size_t len);

const struct drain_entry *drain_find(const struct drain_set *d, __u8 family, const __be32 addr[4],
				     __u16 port);

/*
 * Adds (or updates the reason of) a drain. The reason is cut to DRAIN_REASON_MAX and
 * anything but printable ASCII becomes '?'. Returns 1 added, 0 already drained, -ENOMEM.
 */
int drain_add(struct drain_set *d, __u8 family, const __be32 addr[4], __u16 port,
	      const char *reason, long long since);

/* Returns 1 removed, 0 not drained. */
int drain_remove(struct drain_set *d, __u8 family, const __be32 addr[4], __u16 port);

/* Sets weight 0 and drained on every backend of cfg that is drained; returns how many. */
size_t drain_apply(const struct drain_set *d, struct config *cfg);

/* A missing file is an empty set; a bad line is -EINVAL with "path:LINE: ...". */
int drain_load(struct drain_set *d, const char *path, char *err, size_t errlen);

/* Rewrites the file atomically. 0 or -errno. */
int drain_save(const struct drain_set *d, const char *path);

void drain_set_free(struct drain_set *d);

#endif /* BATON_DRAIN_H */
