/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the Marathon fuzz targets share: services built from a parsed model as batond
 * builds them (several option sets), with the VIP labels allocated and the hosts / BIRD
 * exports rendered, and checks of what the rest of batond relies on.
 */
#ifndef BATON_FUZZ_COMMON_H
#define BATON_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "baton_abi.h"
#include "marathon.h"
#include "vip.h"
#include "vip_export.h"

/* Agent names resolve to a fixed address: no DNS in a fuzzer. */
static int fuzz_resolve(void *ctx, const char *host, __u8 *family, __be32 addr[4])
{
	if (strcmp(host, "agent-1.example") != 0)
		return -2;
	*family = BATON_FAMILY_V4;
	memset(addr, 0, 16);
	addr[0] = htonl(0x0a000001);
	return 0;
}

/* VIP labels of every service through the allocator, as sync.c lowers them. */
static void fuzz_vips(const struct marathon_services *s)
{
	struct vip_pool pools[2];
	struct vip_request *req;
	struct vip_assignment *out;
	struct vip_export_entry *exp;
	struct vip_state *st;
	size_t n = 0, k = 0;
	char err[256];

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].n_vips;
	if (n == 0 || (st = vip_state_new()) == NULL)
		return;
	vip_pool_parse(VIP_POOL_V4_DEFAULT, &pools[0], NULL, 0);
	vip_pool_parse("fd01:c::/120", &pools[1], NULL, 0); /* small: exhaustion is reachable */
	req = calloc(n, sizeof(*req));
	out = calloc(n, sizeof(*out));
	exp = calloc(n, sizeof(*exp));
	if (req != NULL && out != NULL && exp != NULL) {
		for (size_t i = 0; i < s->n; i++)
			for (size_t v = 0; v < s->v[i].n_vips; v++) {
				req[k].app_id = s->v[i].app_id;
				req[k].port_index = s->v[i].port_index;
				req[k].label = s->v[i].vips[v].raw;
				req[k].want_v6 = k & 1;
				k++;
			}
		if (vip_allocate(st, pools, 2, req, n, out, err, sizeof(err)) >= 0) {
			size_t m = 0;

			for (size_t i = 0; i < n; i++) {
				if (out[i].status == VIP_CONFLICT && out[i].holder >= i)
					abort(); /* the holder is an earlier request */
				if (out[i].status != VIP_OK)
					continue;
				exp[m].name = out[i].named ? out[i].name : NULL;
				exp[m].family = out[i].family;
				memcpy(exp[m].addr, out[i].addr, 16);
				m++;
			}
			free(vip_export_hosts(exp, m, VIP_DOMAIN_DEFAULT));
			free(vip_export_bird(exp, m, BATON_FAMILY_V4));
			free(vip_export_bird(exp, m, BATON_FAMILY_V6));
			/* The same requests again: nothing moves. */
			if (vip_allocate(st, pools, 2, req, n, out, err, sizeof(err)) < 0)
				abort();
		}
	}
	free(req);
	free(out);
	free(exp);
	vip_state_free(st);
}

/* Services under a few option sets, checked, rendered as --dry-run does. */
static void fuzz_services(const struct marathon_apps *a, unsigned int variant)
{
	static const char *const all[] = { "*" };
	static const char *const ext[] = { "external", "internal" };
	struct marathon_options o = {
		.groups = (variant & 1) ? ext : all,
		.n_groups = (variant & 1) ? 2 : 1,
		.strict_mode = variant & 2,
		.health_check = variant & 4,
		.keep_empty = variant & 8,
		.ip_per_task_port_min = 10050,
		.ip_per_task_port_max = 10100,
		.framework_name = "marathon-lb",
		.resolve = fuzz_resolve,
	};
	struct marathon_problems probs = { 0 };
	struct marathon_services s;

	if (marathon_services_build(a, &o, &s, &probs) == 0) {
		for (size_t i = 0; i < s.n; i++) {
			const struct marathon_service *v = &s.v[i];

			if (v->protocol != 6 && v->protocol != 17)
				abort();
			for (size_t j = 0; j < v->n_backends; j++)
				if (v->backends[j].weight > 1 ||
				    (v->backends[j].weight == 0) != v->backends[j].draining)
					abort();
		}
		free(marathon_services_to_json(&s, variant & 1));
		fuzz_vips(&s);
		marathon_services_free(&s);
	}
	marathon_problems_free(&probs);
}

#endif /* BATON_FUZZ_COMMON_H */
