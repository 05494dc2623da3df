// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Operator drains: the set, its state file, and its effect on a configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_abi.h"
#include "config.h"
#include "drain.h"
#include "text.h"
#include "vip_export.h"

int drain_id_parse(const char *s, __u8 *family, __be32 addr[4], __u16 *port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *d;
	unsigned long p = 0;
	size_t hl;

	if (s == NULL)
		return -EINVAL;
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return -EINVAL;
	for (d = colon + 1; *d >= '0' && *d <= '9' && d - colon <= 5; d++)
		p = p * 10 + (*d - '0');
	if (d == colon + 1 || *d != '\0' || p < 1 || p > 65535)
		return -EINVAL;
	hl = colon - s;
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = '\0';
		memset(addr, 0, 16);
		if (inet_pton(AF_INET6, host + 1, addr) != 1)
			return -EINVAL;
		*family = BATON_FAMILY_V6;
	} else {
		memset(addr, 0, 16);
		if (inet_pton(AF_INET, host, addr) != 1)
			return -EINVAL;
		*family = BATON_FAMILY_V4;
	}
	*port = p;
	return 0;
}

const char *drain_id_format(__u8 family, const __be32 addr[4], __u16 port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	text_fmt_addr(family, addr, a, sizeof(a));
	if (family == BATON_FAMILY_V6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
	return buf;
}

static int cmp_key(const struct drain_entry *e, __u8 family, const __be32 addr[4], __u16 port)
{
	int c;

	if (e->family != family)
		return e->family < family ? -1 : 1;
	c = memcmp(e->addr, addr, 16);
	if (c != 0)
		return c;
	return (e->port > port) - (e->port < port);
}

/* Position of the key, or where it would go; *found says which. */
static size_t pos_of(const struct drain_set *d, __u8 family, const __be32 addr[4], __u16 port,
		     bool *found)
{
	size_t lo = 0, hi = d->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(&d->v[mid], family, addr, port);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct drain_entry *drain_find(const struct drain_set *d, __u8 family, const __be32 addr[4],
				     __u16 port)
{
	bool found;
	size_t i = pos_of(d, family, addr, port, &found);

	return found ? &d->v[i] : NULL;
}

static void set_reason(struct drain_entry *e, const char *reason)
{
	size_t i = 0;

	for (; reason != NULL && reason[i] && i < DRAIN_REASON_MAX; i++)
		e->reason[i] = (reason[i] < 0x20 || reason[i] >= 0x7f) ? '?' : reason[i];
	e->reason[i] = '\0';
}

int drain_add(struct drain_set *d, __u8 family, const __be32 addr[4], __u16 port,
	      const char *reason, long long since)
{
	bool found;
	size_t i = pos_of(d, family, addr, port, &found);

	if (found) {
		if (reason != NULL && reason[0])
			set_reason(&d->v[i], reason);
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct drain_entry *v = realloc(d->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(*d->v));
	memset(&d->v[i], 0, sizeof(d->v[i]));
	d->v[i].family = family;
	memcpy(d->v[i].addr, addr, 16);
	d->v[i].port = port;
	d->v[i].since = since;
	set_reason(&d->v[i], reason);
	d->n++;
	return 1;
}

int drain_remove(struct drain_set *d, __u8 family, const __be32 addr[4], __u16 port)
{
	bool found;
	size_t i = pos_of(d, family, addr, port, &found);

	if (!found)
		return 0;
	memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(*d->v));
	d->n--;
	return 1;
}

size_t drain_apply(const struct drain_set *d, struct config *cfg)
{
	size_t n = 0;

	if (d->n == 0)
		return 0;
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct config_service *s = &cfg->services[i];

		for (size_t j = 0; j < s->n_backends; j++) {
			struct config_backend *b = &s->backends[j];

			if (drain_find(d, b->family, b->addr, b->port) != NULL) {
				b->weight = 0;
				b->drained = true;
				n++;
			}
		}
	}
	return n;
}

int drain_load(struct drain_set *d, const char *path, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char line[512];
	unsigned int lineno = 0;
	FILE *f;
	int r = 0;

	memset(d, 0, sizeof(*d));
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		return fail(&e, r, "%s: %s", path, strerror(-r));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *id, *since, *reason = NULL, *save = NULL, *end;
		__be32 addr[4];
		__u16 port;
		__u8 family;
		long long t;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		id = strtok_r(line, " ", &save);
		since = strtok_r(NULL, " ", &save);
		if (save != NULL && *save)
			reason = save;
		if (id == NULL || drain_id_parse(id, &family, addr, &port) < 0) {
			r = fail(&e, -EINVAL, "%s:%u: expected ADDRESS:PORT", path, lineno);
			break;
		}
		t = since != NULL ? strtoll(since, &end, 10) : 0;
		if (since == NULL || *end != '\0' || t < 0) {
			r = fail(&e, -EINVAL, "%s:%u: expected the time in unix seconds", path,
				 lineno);
			break;
		}
		if (drain_add(d, family, addr, port, reason, t) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	fclose(f);
	if (r)
		drain_set_free(d);
	return r;
}

int drain_save(const struct drain_set *d, const char *path)
{
	size_t cap = 128 + d->n * (DRAIN_ID_MAX + DRAIN_REASON_MAX + 24), off = 0;
	char *text = malloc(cap), id[DRAIN_ID_MAX];
	int r;

	if (text == NULL)
		return -ENOMEM;
	off += snprintf(text, cap, "# baton operator drains: backend since(unix seconds) reason\n");
	for (size_t i = 0; i < d->n; i++) {
		const struct drain_entry *e = &d->v[i];

		off += snprintf(text + off, cap - off, "%s %lld%s%s\n",
				drain_id_format(e->family, e->addr, e->port, id, sizeof(id)),
				e->since, e->reason[0] ? " " : "", e->reason);
	}
	r = vip_export_write(path, text);
	free(text);
	return r;
}

void drain_set_free(struct drain_set *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}
