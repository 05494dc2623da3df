// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VIP allocator: parses VIP_n labels, detects conflicts, allocates named VIPs from
 * pools deterministically and keeps the name -> address map in a small text file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "baton_abi.h"
#include "text.h"
#include "maglev.h"
#include "vip.h"

#define ECHO_MAX 48			    /* user text quoted back in a message */
#define LINE_MAX_LEN 256		    /* longest state file line */
#define VIP_HASH_SEED 0x6261746f6e766970ull /* "batonvip"; changing it moves every VIP */

struct vip_entry {
	char name[VIP_NAME_MAX + 1];
	__u8 family;
	__be32 addr[4];
};

struct vip_state {
	size_t n, cap;
	struct vip_entry *e;
};

/* An address with its family, compared with memcmp: the taken-address set. */
struct addr_key {
	__u8 family;
	__be32 addr[4];
};

struct addr_set {
	size_t n, cap;
	struct addr_key *k;
};

/* What a label parses into. */
struct parsed {
	int ok;
	bool named;
	char name[VIP_NAME_MAX + 1];
	__u8 family;
	__be32 addr[4];
	__u16 port;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '/' || c == '-';
}

static bool name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > VIP_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

int vip_pool_parse(const char *cidr, struct vip_pool *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char tmp[ECHO_MAX], buf[INET6_ADDRSTRLEN + 8];
	const char *slash, *p;
	struct vip_pool pool = { 0 };
	unsigned long len = 0;
	unsigned int max, bit;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cidr == NULL || out == NULL)
		return fail(&e, -EINVAL, "invalid arguments");
	slash = strchr(cidr, '/');
	if (slash == NULL || (size_t)(slash - cidr) >= sizeof(buf))
		return fail(&e, -EINVAL, "VIP pool \"%s\": expected address/prefix-length",
			    TEXT_ECHO(cidr, tmp));
	memcpy(buf, cidr, slash - cidr);
	buf[slash - cidr] = '\0';
	if (!text_parse_addr(buf, &pool.family, pool.base))
		return fail(&e, -EINVAL, "VIP pool \"%s\": \"%s\" is not an IPv4 or IPv6 address",
			    TEXT_ECHO(cidr, tmp), buf);
	max = pool.family == BATON_FAMILY_V4 ? 32 : 128;
	for (p = slash + 1; *p >= '0' && *p <= '9' && len <= max; p++)
		len = len * 10 + (*p - '0');
	if (p == slash + 1 || *p != '\0' || len < 1 || len > max || p - slash > 4)
		return fail(&e, -EINVAL, "VIP pool \"%s\": prefix length must be 1..%u",
			    TEXT_ECHO(cidr, tmp), max);
	pool.prefix_len = len;
	for (bit = len; bit < max; bit++) {
		const __u8 *b = (const __u8 *)pool.base;

		if (b[bit / 8] & (0x80 >> (bit % 8)))
			return fail(&e, -EINVAL, "VIP pool \"%s\": host bits are set",
				    TEXT_ECHO(cidr, tmp));
	}
	*out = pool;
	return 0;
}

/*
 * The usable offsets of a pool are [lo, lo + n). IPv4: all but the network and
 * broadcast addresses (a /31 or /32 uses all). IPv6: the low min(64, host bits) bits,
 * all but offset 0 (the subnet-router anycast address).
 */
static void pool_range(const struct vip_pool *p, __u64 *lo, __u64 *n)
{
	unsigned int hb;

	if (p->family == BATON_FAMILY_V4) {
		hb = 32 - p->prefix_len;
		*lo = hb >= 2 ? 1 : 0;
		*n = (1ull << hb) - (hb >= 2 ? 2 : 0);
		return;
	}
	hb = 128 - p->prefix_len;
	if (hb > 64)
		hb = 64;
	if (hb == 0) {
		*lo = 0;
		*n = 1;
		return;
	}
	*lo = 1;
	*n = hb == 64 ? UINT64_MAX : (1ull << hb) - 1;
}

static void pool_addr(const struct vip_pool *p, __u64 off, __be32 addr[4])
{
	memcpy(addr, p->base, 16);
	if (p->family == BATON_FAMILY_V4) {
		addr[0] = htonl(ntohl(p->base[0]) | (__u32)off);
		return;
	}
	addr[2] = htonl(ntohl(p->base[2]) | (__u32)(off >> 32));
	addr[3] = htonl(ntohl(p->base[3]) | (__u32)off);
}

static bool pool_contains(const struct vip_pool *p, __u8 family, const __be32 addr[4])
{
	const __u8 *a = (const __u8 *)addr, *b = (const __u8 *)p->base;
	unsigned int bit;

	if (family != p->family)
		return false;
	for (bit = 0; bit < p->prefix_len; bit++)
		if ((a[bit / 8] ^ b[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* Inside the pool and not one of the addresses allocation skips (e.g. IPv4 broadcast). */
static bool pool_usable(const struct vip_pool *p, __u8 family, const __be32 addr[4])
{
	__u64 lo, n, off;

	if (!pool_contains(p, family, addr))
		return false;
	if (family != BATON_FAMILY_V4)
		return true; /* IPv6: any stored address inside the prefix is kept */
	pool_range(p, &lo, &n);
	off = ntohl(addr[0]) - ntohl(p->base[0]);
	return off >= lo && off - lo < n;
}

bool vip_pools_contain(const struct vip_pool *pools, size_t n, __u8 family, const __be32 addr[4])
{
	for (size_t i = 0; i < n; i++)
		if (pool_contains(&pools[i], family, addr))
			return true;
	return false;
}

const char *vip_status_name(enum vip_status s)
{
	static const char *const names[] = { "ok",	  "bad_label", "conflict",
					     "exhausted", "no_pool",   "refused" };

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static const struct vip_pool *pool_of(const struct vip_pool *pools, size_t n, __u8 family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pools[i].family == family)
			return &pools[i];
	return NULL;
}

/* ---- address set (sorted, for collision checks) ---- */

static int key_cmp(const void *a, const void *b)
{
	const struct addr_key *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static size_t set_pos(const struct addr_set *s, const struct addr_key *k, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(&s->k[mid], k);

		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void make_key(struct addr_key *k, __u8 family, const __be32 addr[4])
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	memcpy(k->addr, addr, sizeof(k->addr));
}

static bool set_has(const struct addr_set *s, __u8 family, const __be32 addr[4])
{
	struct addr_key k;
	bool found;

	make_key(&k, family, addr);
	set_pos(s, &k, &found);
	return found;
}

static int set_add(struct addr_set *s, __u8 family, const __be32 addr[4])
{
	struct addr_key k, *nk;
	bool found;
	size_t pos;

	make_key(&k, family, addr);
	pos = set_pos(s, &k, &found);
	if (found)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		nk = realloc(s->k, cap * sizeof(*nk));
		if (nk == NULL)
			return -ENOMEM;
		s->k = nk;
		s->cap = cap;
	}
	memmove(&s->k[pos + 1], &s->k[pos], (s->n - pos) * sizeof(*s->k));
	s->k[pos] = k;
	s->n++;
	return 0;
}

/* ---- state ---- */

struct vip_state *vip_state_new(void)
{
	return calloc(1, sizeof(struct vip_state));
}

void vip_state_free(struct vip_state *s)
{
	if (s == NULL)
		return;
	free(s->e);
	free(s);
}

size_t vip_state_count(const struct vip_state *s)
{
	return s == NULL ? 0 : s->n;
}

static struct vip_entry *state_find(const struct vip_state *s, const char *name, __u8 family)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->e[i].family == family && strcmp(s->e[i].name, name) == 0)
			return &s->e[i];
	return NULL;
}

int vip_state_lookup(const struct vip_state *s, const char *name, __u8 family, __be32 addr[4])
{
	const struct vip_entry *v;

	if (s == NULL || name == NULL)
		return -EINVAL;
	v = state_find(s, name, family);
	if (v == NULL)
		return -ENOENT;
	memcpy(addr, v->addr, 16);
	return 0;
}

static int state_push(struct vip_state *s, const struct vip_entry *v)
{
	struct vip_entry *ne;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		ne = realloc(s->e, cap * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		s->e = ne;
		s->cap = cap;
	}
	s->e[s->n++] = *v;
	return 0;
}

/* One line "name address"; returns 0, 1 for a line to skip, or -EINVAL with msg. */
static int parse_state_line(char *line, struct vip_entry *v, char *msg, size_t len)
{
	char tmp[ECHO_MAX];
	char *name, *addr, *end;

	line[strcspn(line, "\r\n")] = '\0';
	name = line + strspn(line, " \t");
	if (*name == '\0' || *name == '#')
		return 1;
	end = name + strcspn(name, " \t");
	if (*end == '\0') {
		snprintf(msg, len, "expected \"name address\"");
		return -EINVAL;
	}
	*end = '\0';
	addr = end + 1 + strspn(end + 1, " \t");
	end = addr + strcspn(addr, " \t");
	if (*addr == '\0' || end[strspn(end, " \t")] != '\0') {
		snprintf(msg, len, "expected \"name address\"");
		return -EINVAL;
	}
	*end = '\0';
	if (*name == '/')
		name++;
	if (!name_ok(name, strlen(name))) {
		snprintf(msg, len, "bad name \"%s\"", TEXT_ECHO(name, tmp));
		return -EINVAL;
	}
	memset(v, 0, sizeof(*v));
	strcpy(v->name, name);
	if (!text_parse_addr(addr, &v->family, v->addr)) {
		snprintf(msg, len, "\"%s\" is not an IPv4 or IPv6 address", TEXT_ECHO(addr, tmp));
		return -EINVAL;
	}
	return 0;
}

int vip_state_load(struct vip_state **out, const char *path, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char line[LINE_MAX_LEN + 2], msg[128], a[INET6_ADDRSTRLEN];
	struct addr_set seen = { 0 };
	struct vip_state *s;
	struct vip_entry v;
	unsigned long lineno = 0;
	FILE *f;
	int r = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || path == NULL)
		return fail(&e, -EINVAL, "invalid arguments");
	*out = NULL;
	s = vip_state_new();
	if (s == NULL)
		return fail(&e, -ENOMEM, "out of memory");
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT) {
			*out = s;
			return 0;
		}
		r = -errno;
		vip_state_free(s);
		return fail(&e, r, "%s: %s", path, strerror(-r));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			r = fail(&e, -EINVAL, "%s:%lu: line longer than %d characters", path,
				 lineno, LINE_MAX_LEN);
			goto out;
		}
		r = parse_state_line(line, &v, msg, sizeof(msg));
		if (r == 1) {
			r = 0;
			continue;
		}
		if (r) {
			r = fail(&e, r, "%s:%lu: %s", path, lineno, msg);
			goto out;
		}
		if (state_find(s, v.name, v.family) != NULL) {
			r = fail(&e, -EINVAL, "%s:%lu: name \"%s\" repeated for one family", path,
				 lineno, v.name);
			goto out;
		}
		if (set_has(&seen, v.family, v.addr)) {
			r = fail(&e, -EINVAL, "%s:%lu: address %s already held by another name",
				 path, lineno, text_fmt_addr(v.family, v.addr, a, sizeof(a)));
			goto out;
		}
		if (set_add(&seen, v.family, v.addr) || state_push(s, &v)) {
			r = fail(&e, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		r = fail(&e, -EIO, "%s: read error", path);
		goto out;
	}
out:
	fclose(f);
	free(seen.k);
	if (r) {
		vip_state_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* Makes a rename durable; best effort, the rename itself already happened. */
static void sync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd;

	if (dir == NULL)
		return;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct vip_entry *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	if (r != 0)
		return r;
	return (a->family > b->family) - (a->family < b->family);
}

int vip_state_save(const struct vip_state *s, const char *path, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char a[INET6_ADDRSTRLEN];
	struct vip_entry *sorted = NULL;
	char *tmp = NULL;
	FILE *f = NULL;
	size_t i;
	int fd, r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL || path == NULL)
		return fail(&e, -EINVAL, "invalid arguments");
	/* Sorted, so the file does not depend on the order names arrived in. */
	if (s->n > 0) {
		sorted = malloc(s->n * sizeof(*sorted));
		if (sorted == NULL)
			return fail(&e, -ENOMEM, "out of memory");
		memcpy(sorted, s->e, s->n * sizeof(*sorted));
		qsort(sorted, s->n, sizeof(*sorted), entry_cmp);
	}
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		tmp = NULL;
		r = fail(&e, -ENOMEM, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		r = fail(&e, r, "%s: cannot create temporary file: %s", path, strerror(-r));
		goto out;
	}
	if (fchmod(fd, 0644) < 0 || (f = fdopen(fd, "w")) == NULL) {
		r = -errno;
		close(fd);
		r = fail(&e, r, "%s: %s", tmp, strerror(-r));
		goto out;
	}
	fprintf(f, "# baton VIP state: name address\n");
	for (i = 0; i < s->n; i++)
		fprintf(f, "%s %s\n", sorted[i].name,
			text_fmt_addr(sorted[i].family, sorted[i].addr, a, sizeof(a)));
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		r = -errno;
		r = fail(&e, r ? r : -EIO, "%s: write failed: %s", tmp, strerror(r ? -r : EIO));
		goto out;
	}
	r = fclose(f);
	f = NULL;
	if (r != 0) {
		r = -errno;
		r = fail(&e, r, "%s: close failed: %s", tmp, strerror(-r));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		r = fail(&e, r, "%s: rename to %s failed: %s", tmp, path, strerror(-r));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	r = 0;
	sync_dir(path);
out:
	if (f != NULL)
		fclose(f);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(sorted);
	return r;
}

/* ---- labels ---- */

static int bad_label(struct vip_assignment *o, const struct vip_request *rq, const char *why)
{
	char l[ECHO_MAX], app[ECHO_MAX];

	snprintf(o->message, sizeof(o->message), "app %s port %u: VIP label \"%s\": %s",
		 TEXT_ECHO(rq->app_id != NULL ? rq->app_id : "?", app), rq->port_index,
		 TEXT_ECHO(rq->label != NULL ? rq->label : "", l), why);
	o->status = VIP_BAD_LABEL;
	return -EINVAL;
}

static int parse_label(const struct vip_request *rq, struct parsed *p, struct vip_assignment *o)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *label = rq->label, *colon, *d;
	unsigned long port = 0;
	size_t hl;

	memset(p, 0, sizeof(*p));
	if (label == NULL || *label == '\0')
		return bad_label(o, rq, "empty label");
	colon = strrchr(label, ':');
	if (colon == NULL)
		return bad_label(o, rq, "expected address:port or /name:port");
	for (d = colon + 1; *d >= '0' && *d <= '9' && d - colon <= 5; d++)
		port = port * 10 + (*d - '0');
	if (d == colon + 1 || *d != '\0' || port < 1 || port > 65535)
		return bad_label(o, rq, "port must be 1..65535");
	p->port = port;
	hl = colon - label;
	if (hl == 0)
		return bad_label(o, rq, "missing address or name before the port");
	if (hl >= sizeof(host))
		return bad_label(o, rq, "address or name too long");
	memcpy(host, label, hl);
	host[hl] = '\0';

	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return bad_label(o, rq, "unbalanced brackets");
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, p->addr) != 1)
			return bad_label(o, rq, "not a valid IPv6 address");
		p->family = BATON_FAMILY_V6;
		return 0;
	}
	if (strchr(host, ':') != NULL)
		return bad_label(o, rq, "an IPv6 address needs brackets: [addr]:port");
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = BATON_FAMILY_V4;
		return 0;
	}
	if (strspn(host, "0123456789.") == hl)
		return bad_label(o, rq, "not a valid IPv4 address");
	/* A name: one leading '/' is the DC/OS form, "web" and "/web" are one VIP. */
	d = host[0] == '/' ? host + 1 : host;
	if (*d == '\0')
		return bad_label(o, rq, "empty name");
	if (!name_ok(d, strlen(d)))
		return bad_label(o, rq, "name must be 1..63 of [A-Za-z0-9._/-]");
	p->named = true;
	p->family = rq->want_v6 ? BATON_FAMILY_V6 : BATON_FAMILY_V4;
	strcpy(p->name, d);
	return 0;
}

static void set_conflict(struct vip_assignment *o, const struct vip_request *req, size_t i,
			 size_t holder, const char *what)
{
	char l[ECHO_MAX], app[ECHO_MAX], happ[ECHO_MAX];

	o->status = VIP_CONFLICT;
	o->holder = holder;
	snprintf(o->message, sizeof(o->message),
		 "app %s port %u: VIP label \"%s\": %s already held by app %s port %u",
		 TEXT_ECHO(req[i].app_id != NULL ? req[i].app_id : "?", app), req[i].port_index,
		 TEXT_ECHO(req[i].label, l), what,
		 TEXT_ECHO(req[holder].app_id != NULL ? req[holder].app_id : "?", happ),
		 req[holder].port_index);
}

static void set_refused(struct vip_assignment *o, const struct vip_request *rq, const char *what)
{
	char l[ECHO_MAX], app[ECHO_MAX], t[ECHO_MAX], a[INET6_ADDRSTRLEN];

	o->status = VIP_REFUSED;
	inet_ntop(o->family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, o->addr, a, sizeof(a));
	snprintf(o->message, sizeof(o->message),
		 "app %s port %u: VIP label \"%s\": %s%s outside the VIP pools of tenant %s",
		 TEXT_ECHO(rq->app_id != NULL ? rq->app_id : "?", app), rq->port_index,
		 TEXT_ECHO(rq->label, l), what, o->family ? a : "",
		 TEXT_ECHO(rq->tenant != NULL ? rq->tenant : "?", t));
}

/* The pool a named request allocates from: its tenant's, or the global one. */
static const struct vip_pool *req_pool(const struct vip_request *rq, const struct vip_pool *pools,
				       size_t n_pools, __u8 family)
{
	if (rq->restricted)
		return pool_of(rq->pools, rq->n_pools, family);
	return pool_of(pools, n_pools, family);
}

/* Two requests claim one endpoint: (family, addr, port) or (name, family, port). */
static bool same_endpoint(const struct parsed *a, const struct parsed *b)
{
	if (a->named != b->named || a->family != b->family || a->port != b->port)
		return false;
	if (a->named)
		return strcmp(a->name, b->name) == 0;
	return memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Sort of request indexes: named ones by (name, family), index breaking ties. */
static int named_order(const void *pa, const void *pb, void *ctx)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const struct parsed *x = (const struct parsed *)ctx + a,
			    *y = (const struct parsed *)ctx + b;
	int r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return (a > b) - (a < b);
}

static int endpoint_order(const void *pa, const void *pb, void *ctx)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const struct parsed *x = (const struct parsed *)ctx + a,
			    *y = (const struct parsed *)ctx + b;
	int r;

	if (x->named != y->named)
		return x->named ? 1 : -1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = x->named ? strcmp(x->name, y->name) : memcmp(x->addr, y->addr, sizeof(x->addr));
	if (r != 0)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (a > b) - (a < b);
}

/* Probes from the hash of the name; 0, or -ENOSPC when every usable address is taken. */
static int probe(const struct vip_pool *pool, const struct addr_set *taken, const char *name,
		 __be32 addr[4])
{
	__u64 lo, n, h, k;

	pool_range(pool, &lo, &n);
	h = maglev_hash64(name, strlen(name), VIP_HASH_SEED) % n;
	/* At most taken->n + 1 iterations find a free address when one exists. */
	for (k = 0; k < n; k++) {
		__u64 off; /* (h + k) mod n without overflowing 64 bits */

		if (h >= n - k)
			off = h - (n - k);
		else
			off = h + k;
		pool_addr(pool, lo + off, addr);
		if (!set_has(taken, pool->family, addr))
			return 0;
	}
	return -ENOSPC;
}

int vip_allocate(struct vip_state *s, const struct vip_pool *pools, size_t n_pools,
		 const struct vip_request *req, size_t n, struct vip_assignment *out, char *err,
		 size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct vip_state next = { 0 };
	struct addr_set taken = { 0 };
	struct parsed *p = NULL;
	size_t *idx = NULL, i, j, k, m;
	int r = 0, bad = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL || (n > 0 && (req == NULL || out == NULL)) || (n_pools > 0 && pools == NULL))
		return fail(&e, -EINVAL, "invalid arguments");
	for (i = 0; i < n_pools; i++) {
		if (pools[i].family != BATON_FAMILY_V4 && pools[i].family != BATON_FAMILY_V6)
			return fail(&e, -EINVAL, "VIP pool %zu: bad family", i);
		for (j = 0; j < i; j++)
			if (pools[j].family == pools[i].family)
				return fail(&e, -EINVAL, "two VIP pools of one family");
	}
	if (n > 0) {
		p = calloc(n, sizeof(*p));
		idx = calloc(n, sizeof(*idx));
		if (p == NULL || idx == NULL) {
			r = fail(&e, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* 1. Parse every label. */
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].app_id = req[i].app_id;
		out[i].port_index = req[i].port_index;
		if (parse_label(&req[i], &p[i], &out[i]) == 0) {
			p[i].ok = 1;
			out[i].named = p[i].named;
			out[i].port = p[i].port;
			out[i].family = p[i].family;
			memcpy(out[i].addr, p[i].addr, sizeof(out[i].addr));
			strcpy(out[i].name, p[i].name);
		}
		if (!p[i].ok || !req[i].restricted)
			continue;
		if (!p[i].named &&
		    !vip_pools_contain(req[i].pools, req[i].n_pools, p[i].family, p[i].addr)) {
			set_refused(&out[i], &req[i], "address ");
			p[i].ok = 0;
		} else if (p[i].named &&
			   pool_of(req[i].pools, req[i].n_pools, p[i].family) == NULL) {
			out[i].family = 0;
			set_refused(&out[i], &req[i],
				    p[i].family == BATON_FAMILY_V4
					    ? "IPv4 named VIP: every address is"
					    : "IPv6 named VIP: every address is");
			p[i].ok = 0;
		}
	}

	/* 2. One endpoint, several requests: the first in request order keeps it. */
	m = 0;
	for (i = 0; i < n; i++)
		if (p[i].ok)
			idx[m++] = i;
	if (m > 1) /* idx is NULL when there is no request: qsort_r() wants an array */
		qsort_r(idx, m, sizeof(*idx), endpoint_order, p);
	for (i = 1; i < m; i++) {
		for (j = i; j > 0 && same_endpoint(&p[idx[j - 1]], &p[idx[i]]); j--)
			;
		if (j != i) /* idx[j] is the earliest request of this endpoint */
			set_conflict(&out[idx[i]], req, idx[i], idx[j],
				     p[idx[i]].named ? "named VIP and port" : "address and port");
	}

	/* 3. Names still in use keep their address if their pool still holds it. */
	for (i = 0; i < n; i++) {
		const struct vip_pool *pool;
		struct vip_entry *old;

		if (!p[i].ok || !p[i].named || state_find(&next, p[i].name, p[i].family))
			continue;
		pool = req_pool(&req[i], pools, n_pools, p[i].family);
		old = state_find(s, p[i].name, p[i].family);
		if (old == NULL || pool == NULL || !pool_usable(pool, old->family, old->addr))
			continue;
		if (state_push(&next, old) || set_add(&taken, old->family, old->addr)) {
			r = fail(&e, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* 4. Explicit addresses block named allocation; a kept name is never moved. */
	for (i = 0; i < n; i++) {
		if (!p[i].ok || p[i].named || out[i].status != VIP_OK)
			continue;
		for (k = 0; k < next.n; k++)
			if (next.e[k].family == p[i].family &&
			    memcmp(next.e[k].addr, p[i].addr, sizeof(p[i].addr)) == 0)
				break;
		if (k < next.n) {
			for (j = 0; j < n; j++) /* the first request of the name holds it */
				if (p[j].ok && p[j].named && p[j].family == next.e[k].family &&
				    strcmp(p[j].name, next.e[k].name) == 0)
					break;
			set_conflict(&out[i], req, i, j, "address (named VIP)");
			continue;
		}
		if (set_add(&taken, p[i].family, p[i].addr)) {
			r = fail(&e, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* 5. New names, in sorted name order so collisions resolve alike on every node. */
	m = 0;
	for (i = 0; i < n; i++)
		if (p[i].ok && p[i].named)
			idx[m++] = i;
	if (m > 1)
		qsort_r(idx, m, sizeof(*idx), named_order, p);
	for (i = 0; i < m; i++) {
		const struct parsed *q = &p[idx[i]];
		const struct vip_pool *pool = req_pool(&req[idx[i]], pools, n_pools, q->family);
		struct vip_entry v = { 0 };

		if (pool == NULL || state_find(&next, q->name, q->family) != NULL)
			continue;
		if (probe(pool, &taken, q->name, v.addr) != 0)
			continue;
		strcpy(v.name, q->name);
		v.family = q->family;
		if (state_push(&next, &v) || set_add(&taken, v.family, v.addr)) {
			r = fail(&e, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* 6. Named results. */
	for (i = 0; i < n; i++) {
		struct vip_entry *v;
		char l[ECHO_MAX], app[ECHO_MAX];

		if (!p[i].ok || !p[i].named)
			continue;
		v = state_find(&next, p[i].name, p[i].family);
		if (v != NULL) {
			memcpy(out[i].addr, v->addr, sizeof(out[i].addr));
			/* The name's first request chose the pool; another tenant's may not. */
			if (out[i].status == VIP_OK && req[i].restricted &&
			    !vip_pools_contain(req[i].pools, req[i].n_pools, v->family, v->addr))
				set_refused(&out[i], &req[i], "named VIP at ");
			continue;
		}
		if (out[i].status != VIP_OK)
			continue;
		TEXT_ECHO(req[i].app_id != NULL ? req[i].app_id : "?", app);
		TEXT_ECHO(req[i].label, l);
		if (req_pool(&req[i], pools, n_pools, p[i].family) == NULL) {
			out[i].status = VIP_NO_POOL;
			snprintf(out[i].message, sizeof(out[i].message),
				 "app %s port %u: VIP label \"%s\": no %s VIP pool", app,
				 req[i].port_index, l,
				 p[i].family == BATON_FAMILY_V4 ? "IPv4" : "IPv6");
		} else {
			out[i].status = VIP_EXHAUSTED;
			snprintf(out[i].message, sizeof(out[i].message),
				 "app %s port %u: VIP label \"%s\": %s VIP pool exhausted", app,
				 req[i].port_index, l,
				 p[i].family == BATON_FAMILY_V4 ? "IPv4" : "IPv6");
		}
	}
	for (i = 0; i < n; i++)
		if (out[i].status != VIP_OK)
			bad++;

	/* 7. Commit: only now is the caller's state replaced. */
	free(s->e);
	*s = next;
	next.e = NULL;
	r = bad;
out:
	free(next.e);
	free(taken.k);
	free(p);
	free(idx);
	return r;
}
