/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Static configuration: a JSON file of services and their backends, parsed with
 * cJSON and converted at once into plain structs. Pure apart from config_load_file()
 * reading the file: no logging; errors come back as -errno plus one message.
 *
 * File shape:
 *   { "maglev_size": 65537,
 *     "services": [ { "name": "web", "vip": "10.0.0.100", "port": 80,
 *                     "protocol": "tcp", "maglev_size": 65537,
 *                     "mode": "tcp" | "http" | "https",  (http/https: the L7 lane)
 *                     "vhosts": ["a.example"], "path": "/api", "redirect_to_https": false,
 *                     "forwarded_for": false,  (http: insert X-Forwarded-For)
 *                     "backends": [ { "address": "10.1.0.11", "port": 31001,
 *                                     "weight": 1 } ] } ] }
 */
#ifndef BATON_CONFIG_H
#define BATON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define CONFIG_NAME_MAX 63		    /* characters of a service name */
#define CONFIG_WEIGHT_MAX 10000		    /* largest backend weight */
#define CONFIG_FILE_MAX (16u * 1024 * 1024) /* larger files are refused unread */

struct config_backend {
	__u8 family;	/* BATON_FAMILY_* */
	__be32 addr[4]; /* be; IPv4 in addr[0], addr[1..3] zero */
	__u16 port;	/* host order */
	__u32 weight;	/* 0..CONFIG_WEIGHT_MAX; 0 = no new flows */
	/* Set by the Marathon sync and drain_apply(), for the API; not from the file. */
	const char *task_id; /* borrowed from the Marathon model for the apply; or NULL */
	bool draining;	     /* Marathon drains it (TASK_KILLING, deployment merge) */
	bool drained;	     /* an operator drain (drain.h) set its weight to 0 */
};

enum config_mode {
	CONFIG_MODE_TCP = 0, /* L4 in XDP */
	CONFIG_MODE_HTTP,    /* L7 lane: routed by Host and path */
	CONFIG_MODE_HTTPS,   /* L7 lane: routed by the TLS ClientHello's SNI, not terminated */
};

#define CONFIG_VHOSTS_MAX 16

struct config_service {
	char name[CONFIG_NAME_MAX + 1];
	__u8 family;	   /* BATON_FAMILY_*, shared by the vip and every backend */
	__be32 vip[4];	   /* be; IPv4 in vip[0], vip[1..3] zero */
	__u16 port;	   /* host order */
	__u8 proto;	   /* IPPROTO_TCP or IPPROTO_UDP */
	bool sticky;	   /* new flows hash on the client address only */
	__u32 maglev_size; /* prime; the service's own or the file's default */
	/* Marathon services: the app and port (borrowed for the apply); NULL from a file. */
	const char *app_id;
	__u32 port_index;
	bool is_vip;			 /* the frontend of a VIP_n label */
	size_t n_backends;		 /* <= maglev_size */
	struct config_backend *backends; /* in file order; NULL when n_backends is 0 */
	/* L7 (controlplane/l7.h): mode, and which requests on the frontend are this service's. */
	enum config_mode mode;
	__u32 fe_flags; /* extra BATON_FE_F_* of its frontend entry (set by l7_lower()) */
	size_t n_vhosts;
	char vhosts[CONFIG_VHOSTS_MAX][128]; /* lower case; none = any Host */
	char path[128];			     /* path prefix; "" = any */
	bool redirect_to_https;		     /* answer 301 to the https URL */
	bool forwarded_for;		     /* http: insert X-Forwarded-For (docs/l7.md) */
	__u16 l7_port; /* set by l7_lower(): the real frontend port (port is then synthetic) */
};

struct config {
	__u32 maglev_size; /* the file's default, BATON_MAGLEV_DEFAULT if absent */
	size_t n_services;
	struct config_service *services; /* in file order; NULL when n_services is 0 */
};

/*
 * Parses text[0..len-1] (need not be NUL-terminated) into *out, which is overwritten
 * without being freed: pass a fresh struct, not the running config. Returns 0, or
 * -EINVAL with one message in err (may be NULL) and *out zeroed, or -ENOMEM.
 */
int config_parse(const char *text, size_t len, struct config *out, char *err, size_t errlen);

/*
 * Reads and parses a file of at most CONFIG_FILE_MAX bytes. Messages start with the
 * path. Returns 0, -EINVAL (bad content), -EFBIG (too large), -ENOMEM, or the -errno of
 * a failed open/read.
 */
int config_load_file(const char *path, struct config *out, char *err, size_t errlen);

/*
 * Reads a whole file of at most max bytes (max + 1 are read at most, so a pipe or
 * /dev/zero cannot exhaust memory) into a malloc'd buffer. 0, -EFBIG, -ENOMEM, -errno.
 * Shared with the other files batond reads (API tokens).
 */
int config_read_bounded(FILE *f, size_t max, char **data, size_t *len);

/* Frees what config_parse() allocated and zeroes *c. Safe on a zeroed struct and NULL. */
void config_free(struct config *c);

#endif /* BATON_CONFIG_H */
