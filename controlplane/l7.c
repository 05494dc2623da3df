// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>

#include "baton_abi.h"
#include "config.h"
#include "l7.h"

static bool is_l7(const struct config_service *s)
{
	return s->mode != CONFIG_MODE_TCP;
}

static bool same_frontend(const struct config_service *a, __u16 a_port,
			  const struct config_service *b, __u16 b_port)
{
	return a->family == b->family && memcmp(a->vip, b->vip, sizeof(a->vip)) == 0 &&
	       a_port == b_port;
}

/* FNV-1a of the name folded to 16 bits, never 0: a port that stays put across applies. */
static __u16 name_port(const char *name, unsigned int probe)
{
	__u32 h = 2166136261u;

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	h = ((h >> 16) ^ h) + probe;
	return (__u16)(h % 65535u + 1);
}

int l7_lower(struct config *cfg, char *err, size_t errlen)
{
	size_t n = cfg->n_services, n_fe = 0;
	struct config_service *grown;
	char a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++)
		n_fe += is_l7(&cfg->services[i]);
	if (n_fe == 0)
		return 0;
	grown = realloc(cfg->services, (n + n_fe) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	cfg->services = grown;
	n_fe = 0;
	for (size_t i = 0; i < n; i++) {
		struct config_service *s = &cfg->services[i], *fe = NULL;
		unsigned int probe = 0;

		if (!is_l7(s))
			continue;
		s->l7_port = s->port;
		for (size_t j = 0; j < n; j++) {
			const struct config_service *t = &cfg->services[j];

			if (!is_l7(t) && t->proto == IPPROTO_TCP &&
			    same_frontend(s, s->port, t, t->port)) {
				inet_ntop(s->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, s->vip,
					  a, sizeof(a));
				snprintf(
					err, errlen,
					"service \"%s\": frontend %s:%u is mode tcp in service \"%s\"",
					s->name, a, s->port, t->name);
				return -EINVAL;
			}
		}
		/* One L7 frontend service per (address, port). */
		for (size_t k = 0; k < n_fe && fe == NULL; k++) {
			struct config_service *f = &cfg->services[n + k];

			if (same_frontend(s, s->l7_port, f, f->port))
				fe = f;
		}
		if (fe == NULL) {
			fe = &cfg->services[n + n_fe++];
			memset(fe, 0, sizeof(*fe));
			inet_ntop(s->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, s->vip, a,
				  sizeof(a));
			snprintf(fe->name, sizeof(fe->name), "l7:%s:%u", a, s->l7_port);
			fe->family = s->family;
			memcpy(fe->vip, s->vip, sizeof(fe->vip));
			fe->port = s->l7_port;
			fe->proto = IPPROTO_TCP;
			fe->maglev_size = BATON_MAGLEV_MIN;
			fe->mode = s->mode;
			fe->fe_flags = BATON_FE_F_L7;
			cfg->n_services = n + n_fe;
		}
		if (s->mode == CONFIG_MODE_HTTPS)
			fe->fe_flags |= BATON_FE_F_TLS;
		/* The service's own entry: a port no other L7 service of the address has. */
		s->proto = BATON_PROTO_L7_ROUTE;
		for (;;) {
			bool taken = false;

			s->port = name_port(s->name, probe++);
			for (size_t j = 0; j < i && !taken; j++) {
				const struct config_service *t = &cfg->services[j];

				taken = t->proto == BATON_PROTO_L7_ROUTE &&
					same_frontend(s, s->port, t, t->port);
			}
			if (!taken)
				break;
		}
	}
	/* Each (frontend, host, path) belongs to one service. */
	for (size_t i = 0; i < n; i++) {
		const struct config_service *s = &cfg->services[i];

		for (size_t j = i + 1; j < n && is_l7(s); j++) {
			const struct config_service *t = &cfg->services[j];

			if (!is_l7(t) || !same_frontend(s, s->l7_port, t, t->l7_port) ||
			    strcmp(s->path, t->path) != 0)
				continue;
			for (size_t h = 0; h < (s->n_vhosts ? s->n_vhosts : 1); h++)
				for (size_t g = 0; g < (t->n_vhosts ? t->n_vhosts : 1); g++) {
					const char *hs = s->n_vhosts ? s->vhosts[h] : "";
					const char *ht = t->n_vhosts ? t->vhosts[g] : "";

					if (strcmp(hs, ht) != 0)
						continue;
					snprintf(err, errlen,
						 "service \"%s\": host \"%s\" path \"%s\" already "
						 "routed to service \"%s\"",
						 t->name, ht, t->path, s->name);
					return -EINVAL;
				}
		}
	}
	return 0;
}

int l7_publish(int fe_fd, int routes_fd, int meta_fd, const struct config *cfg)
{
	struct baton_l7_meta meta = {};
	__u32 zero = 0, n = 0, gen, base;
	int err = 0;

	if (bpf_map_lookup_elem(meta_fd, &zero, &meta) < 0)
		return -errno;
	gen = meta.abi_version == BATON_ABI_VERSION ? !meta.gen : 0;
	base = gen * BATON_MAX_L7_ROUTES;
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct config_service *s = &cfg->services[i];
		struct baton_frontend_key fk = {};
		struct baton_frontend fe;

		if (s->proto != BATON_PROTO_L7_ROUTE)
			continue;
		memcpy(fk.addr, s->vip, sizeof(fk.addr));
		fk.port = htons(s->port);
		fk.proto = BATON_PROTO_L7_ROUTE;
		fk.family = s->family;
		if (bpf_map_lookup_elem(fe_fd, &fk, &fe) < 0)
			continue; /* not applied (the reconciler said why) */
		for (size_t h = 0; h < (s->n_vhosts ? s->n_vhosts : 1); h++) {
			struct baton_l7_route r = {};
			__u32 idx = base + n;

			if (n == BATON_MAX_L7_ROUTES) {
				err = -ENOSPC;
				break;
			}
			memcpy(r.addr, s->vip, sizeof(r.addr));
			r.port = htons(s->l7_port);
			r.family = s->family;
			r.flags = (s->redirect_to_https ? BATON_L7_R_REDIRECT_HTTPS : 0) |
				  (s->forwarded_for ? BATON_L7_R_XFF : 0) |
				  (s->sticky ? BATON_L7_R_STICKY : 0) |
				  (s->mode == CONFIG_MODE_HTTPS ? BATON_L7_R_TLS : 0);
			r.service_id = fe.service_id;
			r.key_port = fk.port;
			if (s->n_vhosts)
				snprintf(r.host, sizeof(r.host), "%s", s->vhosts[h]);
			snprintf(r.path, sizeof(r.path), "%s", s->path);
			if (bpf_map_update_elem(routes_fd, &idx, &r, BPF_ANY) < 0)
				return -errno;
			n++;
		}
	}
	meta.abi_version = BATON_ABI_VERSION;
	meta.gen = gen;
	meta.n_routes = n;
	meta.version++;
	if (bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY) < 0)
		return -errno;
	return err ? err : (int)n;
}
