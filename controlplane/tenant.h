/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API tenants: bearer tokens from the --api-tokens file, each with the Marathon app-id
 * prefixes it may see and act on and, optionally, the VIP pools its apps may allocate
 * from and claim addresses in. Pure apart from tenant_load_file() reading the file: no
 * logging (secrets never reach a log line); errors come back as -errno plus one message.
 *
 * File shape (JSON):
 *   { "public": ["/healthz", "/metrics"],           (paths answered without a token;
 *                                                    this default when absent)
 *     "tokens": [
 *       { "name": "team-a", "secret": "s3cr3t-a",   (name: [A-Za-z0-9._-], 1..63;
 *                                                    secret: 16..256 printable bytes)
 *         "prefixes": ["/team-a/"],                 (app ids it may see and act on)
 *         "vip_pools": ["10.50.0.0/24"],            (optional: see below)
 *         "read_only": false } ] }                  (optional: no drain/undrain)
 *
 * Prefixes match whole path segments: "/team-a/" and "/team-a" both match "/team-a/web"
 * (and "/team-a" itself) but not "/team-ab/web"; "/" matches every app. In --config mode
 * the services file's service names stand in for app ids.
 *
 * VIP pools: the tenant that governs an app is the one with the longest matching prefix
 * (ties: the first in the file). When it has vip_pools, the app's named VIPs are
 * allocated from its first pool of the family, and an address VIP ("ip:port") or a
 * named VIP whose address lies outside all of its pools is refused (no frontend).
 * A tenant without vip_pools restricts nothing.
 */
#ifndef BATON_TENANT_H
#define BATON_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "vip.h"

#define TENANT_NAME_MAX 63
#define TENANT_SECRET_MIN 16
#define TENANT_SECRET_MAX 256
#define TENANT_MAX_PREFIXES 32
#define TENANT_MAX_POOLS 8
#define TENANT_MAX_PUBLIC 16
#define TENANT_MAX_TOKENS 1024
#define TENANT_FILE_MAX (1024 * 1024)

struct tenant {
	char name[TENANT_NAME_MAX + 1];
	char secret[TENANT_SECRET_MAX]; /* not NUL-terminated: secret_len bytes, zero padded */
	size_t secret_len;
	size_t n_prefixes;
	char *prefixes[TENANT_MAX_PREFIXES];
	size_t n_pools;
	struct vip_pool pools[TENANT_MAX_POOLS];
	bool read_only;
};

struct tenant_set {
	size_t n;
	struct tenant *v;
	size_t n_public;
	char *public_paths[TENANT_MAX_PUBLIC];
};

/* Parses text[0..len-1]; *out is overwritten. Returns 0, -EINVAL (one message), -ENOMEM. */
int tenant_parse(const char *text, size_t len, struct tenant_set *out, char *err, size_t errlen);

/* Reads (at most TENANT_FILE_MAX bytes) and parses; messages start with the path. */
int tenant_load_file(const char *path, struct tenant_set *out, char *err, size_t errlen);

/* Wipes the secrets, frees, zeroes. Safe on a zeroed struct. */
void tenant_set_free(struct tenant_set *ts);

/*
 * The tenant whose secret equals token[0..len-1], or NULL. Every secret is compared in
 * full and in constant time (no early exit on the first differing byte, nor on a
 * match, nor on a length difference), so timing does not tell how much was right.
 */
const struct tenant *tenant_authenticate(const struct tenant_set *ts, const char *token,
					 size_t len);

/* Is path answered without a token? */
bool tenant_path_public(const struct tenant_set *ts, const char *path);

/* Does prefix match app_id (whole path segments, see above)? */
bool tenant_prefix_match(const char *prefix, const char *app_id);

/* May t see and act on app_id? A NULL tenant (open API) may. */
bool tenant_in_scope(const struct tenant *t, const char *app_id);

/* The tenant governing app_id's VIPs: longest matching prefix; NULL when none matches. */
const struct tenant *tenant_for_app(const struct tenant_set *ts, const char *app_id);

/* Does the tenant restrict its apps' VIPs (it has pools)? */
static inline bool tenant_restricts_vips(const struct tenant *t)
{
	return t != NULL && t->n_pools > 0;
}

#endif /* BATON_TENANT_H */
