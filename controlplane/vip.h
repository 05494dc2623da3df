/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIP allocator for Marathon `VIP_n` port labels (DC/OS form):
 *   "10.0.0.5:80", "[fd00::5]:80"  claim that address and port (explicit VIP);
 *   "/web:80", "web:80"            named VIP: the name "web" (one leading '/' is dropped)
 *                                  gets an address from the pool of its family.
 *
 * Named allocation is deterministic, so nodes fed by the same Marathon agree without
 * talking: the first candidate is the pool's first usable address plus
 * maglev_hash64(name) mod the number of usable addresses (IPv4 pools skip the network
 * and broadcast addresses, IPv6 pools the subnet-router anycast address); on collision
 * the next address is tried, wrapping around. New names of one call are allocated in
 * sorted name order. An address already held by a name is never moved while the name
 * stays in use (it is moved only if the pool of its family no longer contains it).
 *
 * Pure apart from the state file: no logging; errors come back as -errno plus one
 * message.
 *
 * State file: text, one line per name and family, "name address", e.g.
 *   # baton VIP state: name address
 *   web 11.93.4.17
 *   web fd01:c::8d2e:1c3:77a0:5b1
 * Blank lines and lines starting with '#' are ignored. It is rewritten atomically
 * (temporary file in the same directory, fsync, rename).
 */
#ifndef BATON_VIP_H
#define BATON_VIP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define VIP_NAME_MAX 63 /* characters of a VIP name, leading '/' excluded */
#define VIP_MSG_MAX 256 /* per-request message, NUL included */
#define VIP_POOL_V4_DEFAULT "11.0.0.0/8"
#define VIP_POOL_V6_DEFAULT "fd01:c::/64"

struct vip_pool {
	__u8 family;	/* BATON_FAMILY_* */
	__be32 base[4]; /* be; host bits zero; IPv4 in base[0], base[1..3] zero */
	__u8 prefix_len;
};

/*
 * Parses "a.b.c.d/len" (len 1..32) or "x::/len" (len 1..128). Host bits must be zero.
 * IPv6 pools allocate from the low 64 bits only (a /48 behaves as its first /64 for
 * allocation, but any stored address inside the /48 is kept). Returns 0 or -EINVAL.
 */
int vip_pool_parse(const char *cidr, struct vip_pool *out, char *err, size_t errlen);

struct vip_request {
	const char *app_id; /* Marathon app id, used in messages and copied to the result */
	__u32 port_index;
	const char *label; /* raw value of the VIP_n label */
	bool want_v6;	   /* named VIP: allocate from the IPv6 pool instead of IPv4 */
	/*
	 * Tenant restriction (see tenant.h): when set, a named VIP is allocated from the
	 * first of these pools of its family instead of the global one, and an address
	 * (named or explicit) outside all of them is VIP_REFUSED. A refused explicit
	 * address takes part in no conflict: it cannot take an endpoint from anyone.
	 */
	bool restricted;
	const struct vip_pool *pools;
	size_t n_pools;
	const char *tenant; /* for messages */
};

enum vip_status {
	VIP_OK = 0,
	VIP_BAD_LABEL, /* label does not parse; message says why */
	VIP_CONFLICT,  /* endpoint held by request `holder` */
	VIP_EXHAUSTED, /* no free address left in the pool */
	VIP_NO_POOL,   /* named VIP of a family without a pool */
	VIP_REFUSED,   /* outside the pools of the app's tenant (vip_request.restricted) */
};

/* "ok", "bad_label", "conflict", "exhausted", "no_pool", "refused". */
const char *vip_status_name(enum vip_status s);

/* Is (family, addr) inside one of pools[0..n-1]? */
bool vip_pools_contain(const struct vip_pool *pools, size_t n, __u8 family, const __be32 addr[4]);

struct vip_assignment {
	const char *app_id; /* from the request */
	__u32 port_index;   /* from the request */
	enum vip_status status;
	bool named;		     /* label was "/name:port" */
	char name[VIP_NAME_MAX + 1]; /* named VIP: the name without '/'; else "" */
	__u8 family;		     /* BATON_FAMILY_*; 0 when no address */
	__be32 addr[4];		     /* be; set for VIP_OK and VIP_CONFLICT */
	__u16 port;		     /* host order; 0 for VIP_BAD_LABEL */
	size_t holder;		     /* VIP_CONFLICT: index in req[] of the request that keeps it */
	char message[VIP_MSG_MAX];   /* "" for VIP_OK; names app id and label otherwise */
};

/* name (per family) -> address, kept across calls and persisted. Opaque. */
struct vip_state;

/* An empty state, or NULL on allocation failure. */
struct vip_state *vip_state_new(void);

/*
 * Loads the state file. A missing file gives an empty state. A bad line is -EINVAL
 * with a message "path:LINE: ..."; *out is then NULL and the caller may start with
 * vip_state_new(). Other errors: -ENOMEM or the -errno of a failed open/read.
 */
int vip_state_load(struct vip_state **out, const char *path, char *err, size_t errlen);

/* Writes the state atomically (temp file in the same directory, fsync, rename). */
int vip_state_save(const struct vip_state *s, const char *path, char *err, size_t errlen);

/*
 * Resolves req[0..n-1] into out[0..n-1] (one per request, same order). req is the whole
 * desired set: names no request uses any more are released from the state.
 * pools: at most one per family.
 *
 * Conflicts, decided by request order (the caller sorts, e.g. by app id then port
 * index): the first request of an explicit (address, port) or of a named (name, family,
 * port) keeps it, later ones get VIP_CONFLICT with holder set. An explicit address held
 * by a name kept from an earlier call is a conflict too (the name is never moved); an
 * explicit address inside a pool is otherwise never given to a name. Two requests
 * using one name with different ports share the address.
 *
 * Returns the number of requests whose status is not VIP_OK (0 = all resolved), or
 * -EINVAL (bad arguments, two pools of one family) / -ENOMEM with one message in err;
 * on a negative return the state is unchanged.
 */
int vip_allocate(struct vip_state *s, const struct vip_pool *pools, size_t n_pools,
		 const struct vip_request *req, size_t n, struct vip_assignment *out, char *err,
		 size_t errlen);

/* Number of (name, family) entries held. */
size_t vip_state_count(const struct vip_state *s);

/* Copies the address held by (name, family) into addr; -ENOENT if none. */
int vip_state_lookup(const struct vip_state *s, const char *name, __u8 family, __be32 addr[4]);

void vip_state_free(struct vip_state *s);

#endif /* BATON_VIP_H */
