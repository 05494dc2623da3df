// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Static config parser. The whole document is checked and converted into a
 * temporary struct config; only a fully valid one is handed to the caller, so a bad
 * reload never touches the running state. One message per error, naming the service
 * (and backend index) and the field, because whoever reads it has the file open.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "baton_abi.h"
#include "text.h"
#include "config.h"
#include "maglev.h"

#define LABEL_MAX 128
#define ECHO_MAX 48 /* user text quoted back in a message */

/*
 * Rejects unknown and repeated keys (cJSON keeps both copies of a repeated key, and
 * quietly using one would hide a mistake), and collects the known ones into found[].
 */
static int check_fields(const cJSON *obj, const char *const *known, size_t n_known,
			const cJSON **found, const char *label, struct errbuf *e)
{
	char tmp[ECHO_MAX];
	const cJSON *it;
	size_t i;

	for (i = 0; i < n_known; i++)
		found[i] = NULL;
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; i < n_known; i++)
			if (strcmp(it->string, known[i]) == 0)
				break;
		if (i == n_known)
			return fail(e, -EINVAL, "%s: unknown field \"%s\"", label,
				    TEXT_ECHO(it->string, tmp));
		if (found[i] != NULL)
			return fail(e, -EINVAL, "%s: duplicate field \"%s\"", label, known[i]);
		found[i] = it;
	}
	return 0;
}

static int missing(struct errbuf *e, const char *label, const char *field)
{
	return fail(e, -EINVAL, "%s: missing required field \"%s\"", label, field);
}

/* JSON numbers are doubles: accept only exact integers in [lo, hi]. */
static bool get_uint(const cJSON *it, __u64 lo, __u64 hi, __u64 *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return false;
	v = it->valuedouble;
	if (!(v >= (double)lo && v <= (double)hi)) /* also rejects NaN */
		return false;
	if ((double)(__u64)v != v)
		return false;
	*out = (__u64)v;
	return true;
}

static int get_port(const cJSON *it, const char *label, __u16 *port, struct errbuf *e)
{
	__u64 v;

	if (it == NULL)
		return missing(e, label, "port");
	if (!get_uint(it, 1, 65535, &v))
		return fail(e, -EINVAL, "%s: field \"port\": expected an integer in 1..65535",
			    label);
	*port = v;
	return 0;
}

static int get_maglev_size(const cJSON *it, const char *label, __u32 *m, struct errbuf *e)
{
	__u64 v;

	if (!get_uint(it, BATON_MAGLEV_MIN, BATON_MAGLEV_MAX, &v) || !maglev_is_prime(v))
		return fail(e, -EINVAL, "%s: field \"maglev_size\": expected a prime in %u..%u",
			    label, BATON_MAGLEV_MIN, BATON_MAGLEV_MAX);
	*m = v;
	return 0;
}

static int get_addr(const cJSON *it, const char *label, const char *field, __u8 *family,
		    __be32 addr[4], struct errbuf *e)
{
	char tmp[ECHO_MAX];

	if (it == NULL)
		return missing(e, label, field);
	if (!cJSON_IsString(it))
		return fail(e, -EINVAL, "%s: field \"%s\": expected a string", label, field);
	if (text_parse_addr(it->valuestring, family, addr))
		return 0;
	return fail(e, -EINVAL, "%s: field \"%s\": \"%s\" is not an IPv4 or IPv6 address", label,
		    field, TEXT_ECHO(it->valuestring, tmp));
}

static const char *family_name(__u8 family)
{
	return family == BATON_FAMILY_V4 ? "IPv4" : "IPv6";
}

/* "10.0.0.1:80" or "[2001:db8::1]:80", for messages. */
static const char *fmt_endpoint(__u8 family, const __be32 addr[4], __u16 port, char *dst,
				size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(dst, len, family == BATON_FAMILY_V4 ? "%s:%u" : "[%s]:%u", a, port);
	return dst;
}

static bool name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= CONFIG_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '/' || c == '-'))
			return false;
	}
	return i > 0;
}

/*
 * Duplicate detection by sorting pointers (n can be large for backends). Among all
 * elements equal to an earlier one, reports the first in array order together with the
 * earliest element it repeats, so the message does not depend on qsort's choices.
 */
static bool find_dup(const void **ptrs, size_t n, int (*sort_cmp)(const void *, const void *),
		     int (*key_cmp)(const void *, const void *), const void **orig,
		     const void **dup)
{
	size_t i, start = 0;

	*orig = *dup = NULL;
	qsort(ptrs, n, sizeof(*ptrs), sort_cmp);
	for (i = 1; i < n; i++) {
		if (key_cmp(ptrs[start], ptrs[i]) != 0) {
			start = i;
			continue;
		}
		/* ptrs[i] repeats ptrs[start], the earliest of its run. */
		if (*dup == NULL || (const char *)ptrs[i] < (const char *)*dup) {
			*orig = ptrs[start];
			*dup = ptrs[i];
		}
	}
	return *dup != NULL;
}

/* Breaks ties by position in the array, which is what find_dup() relies on. */
static int addr_order(const void *a, const void *b)
{
	return ((const char *)a > (const char *)b) - ((const char *)a < (const char *)b);
}

static int backend_key_cmp(const void *pa, const void *pb)
{
	const struct config_backend *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (r != 0)
		return r;
	return (a->port > b->port) - (a->port < b->port);
}

static int backend_sort_cmp(const void *pa, const void *pb)
{
	const void *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int r = backend_key_cmp(a, b);

	return r != 0 ? r : addr_order(a, b);
}

static int name_key_cmp(const void *pa, const void *pb)
{
	const struct config_service *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

static int name_sort_cmp(const void *pa, const void *pb)
{
	const void *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int r = name_key_cmp(a, b);

	return r != 0 ? r : addr_order(a, b);
}

static int frontend_key_cmp(const void *pa, const void *pb)
{
	const struct config_service *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->vip, b->vip, sizeof(a->vip));
	if (r != 0)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return (a->proto > b->proto) - (a->proto < b->proto);
	/* L7 services share their frontend, told apart by Host and path (l7.c checks those). */
	if (a->mode != CONFIG_MODE_TCP && b->mode != CONFIG_MODE_TCP)
		return strcmp(a->name, b->name);
	return 0;
}

static int frontend_sort_cmp(const void *pa, const void *pb)
{
	const void *a = *(const void *const *)pa, *b = *(const void *const *)pb;
	int r = frontend_key_cmp(a, b);

	return r != 0 ? r : addr_order(a, b);
}

static int parse_backend(const cJSON *js, const struct config_service *s, const char *label,
			 struct config_backend *b, struct errbuf *e)
{
	static const char *const known[] = { "address", "port", "weight" };
	const cJSON *f[3];
	__u64 w = 1;
	int err;

	if (!cJSON_IsObject(js))
		return fail(e, -EINVAL, "%s: expected an object", label);
	err = check_fields(js, known, 3, f, label, e);
	if (err)
		return err;
	err = get_addr(f[0], label, "address", &b->family, b->addr, e);
	if (err)
		return err;
	if (b->family != s->family)
		return fail(e, -EINVAL, "%s: field \"address\": %s address but the vip is %s",
			    label, family_name(b->family), family_name(s->family));
	err = get_port(f[1], label, &b->port, e);
	if (err)
		return err;
	if (f[2] != NULL && !get_uint(f[2], 0, CONFIG_WEIGHT_MAX, &w))
		return fail(e, -EINVAL, "%s: field \"weight\": expected an integer in 0..%u", label,
			    CONFIG_WEIGHT_MAX);
	b->weight = w;
	return 0;
}

static int parse_backends(const cJSON *arr, struct config_service *s, const char *label,
			  struct errbuf *e)
{
	char blabel[LABEL_MAX + 32], a[INET6_ADDRSTRLEN + 8];
	const struct config_backend *b, *orig;
	const void **ptrs, *p1, *p2;
	const cJSON *it;
	size_t n = 0, i = 0;
	bool found;
	int err;

	if (arr == NULL)
		return missing(e, label, "backends");
	if (!cJSON_IsArray(arr))
		return fail(e, -EINVAL, "%s: field \"backends\": expected an array", label);
	cJSON_ArrayForEach(it, arr)
		n++;
	/* Checked before allocating: also bounds the memory a hostile file can ask for. */
	if (n > s->maglev_size)
		return fail(e, -EINVAL, "%s: %zu backends, more than maglev_size %u", label, n,
			    s->maglev_size);
	if (n == 0)
		return 0;
	s->backends = calloc(n, sizeof(*s->backends));
	if (s->backends == NULL)
		return fail(e, -ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		snprintf(blabel, sizeof(blabel), "%s backend %zu", label, i);
		err = parse_backend(it, s, blabel, &s->backends[i], e);
		if (err)
			return err;
		s->n_backends = ++i;
	}

	ptrs = malloc(n * sizeof(*ptrs));
	if (ptrs == NULL)
		return fail(e, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		ptrs[i] = &s->backends[i];
	found = find_dup(ptrs, n, backend_sort_cmp, backend_key_cmp, &p1, &p2);
	free(ptrs);
	if (!found)
		return 0;
	orig = p1;
	b = p2;
	return fail(e, -EINVAL, "%s backend %zu: duplicate of backend %zu (%s)", label,
		    (size_t)(b - s->backends), (size_t)(orig - s->backends),
		    fmt_endpoint(b->family, b->addr, b->port, a, sizeof(a)));
}

/* An optional true/false field of an http/https service. */
static int get_l7_bool(const cJSON *v, const char *field, bool *out, const char *label,
		       struct errbuf *e)
{
	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return fail(e, -EINVAL, "%s: field \"%s\": expected true or false", label, field);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* mode, vhosts, path, redirect_to_https, forwarded_for: the L7 lane's fields (docs/l7.md). */
static int parse_l7_fields(const cJSON *mode, const cJSON *vhosts, const cJSON *path,
			   const cJSON *redirect, const cJSON *xff, struct config_service *s,
			   const char *label, struct errbuf *e)
{
	const cJSON *it;

	s->mode = CONFIG_MODE_TCP;
	if (mode != NULL) {
		const char *m = cJSON_IsString(mode) ? mode->valuestring : "";

		if (strcmp(m, "tcp") == 0)
			s->mode = CONFIG_MODE_TCP;
		else if (strcmp(m, "http") == 0)
			s->mode = CONFIG_MODE_HTTP;
		else if (strcmp(m, "https") == 0)
			s->mode = CONFIG_MODE_HTTPS;
		else
			return fail(e, -EINVAL,
				    "%s: field \"mode\": expected \"tcp\", \"http\" or \"https\"",
				    label);
	}
	if (s->mode == CONFIG_MODE_TCP) {
		if (vhosts != NULL || path != NULL || redirect != NULL || xff != NULL)
			return fail(e, -EINVAL,
				    "%s: vhosts, path, redirect_to_https and forwarded_for need "
				    "mode http or https",
				    label);
		return 0;
	}
	if (s->proto != IPPROTO_TCP)
		return fail(e, -EINVAL, "%s: mode http/https needs protocol tcp", label);
	if (vhosts != NULL) {
		if (!cJSON_IsArray(vhosts))
			return fail(e, -EINVAL, "%s: field \"vhosts\": expected an array", label);
		cJSON_ArrayForEach(it, vhosts) {
			size_t len;

			if (!cJSON_IsString(it) || (len = strlen(it->valuestring)) == 0 ||
			    len >= sizeof(s->vhosts[0]))
				return fail(e, -EINVAL,
					    "%s: field \"vhosts\": expected strings of 1..%zu "
					    "characters",
					    label, sizeof(s->vhosts[0]) - 1);
			if (s->n_vhosts == CONFIG_VHOSTS_MAX)
				return fail(e, -EINVAL, "%s: more than %d vhosts", label,
					    CONFIG_VHOSTS_MAX);
			for (size_t i = 0; i <= len; i++)
				s->vhosts[s->n_vhosts][i] =
					(char)tolower((unsigned char)it->valuestring[i]);
			s->n_vhosts++;
		}
	}
	if (path != NULL) {
		if (!cJSON_IsString(path) || path->valuestring[0] != '/' ||
		    strlen(path->valuestring) >= sizeof(s->path))
			return fail(e, -EINVAL,
				    "%s: field \"path\": expected a string starting with / of at "
				    "most %zu characters",
				    label, sizeof(s->path) - 1);
		strcpy(s->path, path->valuestring);
	}
	if (get_l7_bool(redirect, "redirect_to_https", &s->redirect_to_https, label, e) ||
	    get_l7_bool(xff, "forwarded_for", &s->forwarded_for, label, e))
		return -EINVAL;
	return 0;
}

static int parse_service(const cJSON *js, size_t idx, __u32 default_m, struct config_service *s,
			 struct errbuf *e)
{
	static const char *const known[] = {
		"name",	  "vip",  "port",   "protocol", "maglev_size",	     "backends",
		"sticky", "mode", "vhosts", "path",	"redirect_to_https", "forwarded_for"
	};
	enum {
		F_NAME,
		F_VIP,
		F_PORT,
		F_PROTO,
		F_MAGLEV,
		F_BACKENDS,
		F_STICKY,
		F_MODE,
		F_VHOSTS,
		F_PATH,
		F_REDIRECT,
		F_XFF,
		F_N
	};
	const cJSON *f[F_N];
	char label[LABEL_MAX];
	const cJSON *name;
	int err;

	snprintf(label, sizeof(label), "service %zu", idx);
	if (!cJSON_IsObject(js))
		return fail(e, -EINVAL, "%s: expected an object", label);
	/* The name first, so every later message can say which service it is about. */
	name = cJSON_GetObjectItemCaseSensitive(js, "name");
	if (name == NULL)
		return missing(e, label, "name");
	if (!cJSON_IsString(name) || !name_ok(name->valuestring))
		return fail(e, -EINVAL,
			    "%s: field \"name\": expected a string of 1..%u characters from "
			    "[A-Za-z0-9._/-]",
			    label, CONFIG_NAME_MAX);
	strcpy(s->name, name->valuestring);
	snprintf(label, sizeof(label), "service \"%s\"", s->name);

	err = check_fields(js, known, F_N, f, label, e);
	if (err)
		return err;
	err = get_addr(f[F_VIP], label, "vip", &s->family, s->vip, e);
	if (err)
		return err;
	err = get_port(f[F_PORT], label, &s->port, e);
	if (err)
		return err;
	if (f[F_PROTO] == NULL)
		return missing(e, label, "protocol");
	if (cJSON_IsString(f[F_PROTO]) && strcmp(f[F_PROTO]->valuestring, "tcp") == 0)
		s->proto = IPPROTO_TCP;
	else if (cJSON_IsString(f[F_PROTO]) && strcmp(f[F_PROTO]->valuestring, "udp") == 0)
		s->proto = IPPROTO_UDP;
	else
		return fail(e, -EINVAL, "%s: field \"protocol\": expected \"tcp\" or \"udp\"",
			    label);
	if (f[F_STICKY] != NULL) {
		if (!cJSON_IsBool(f[F_STICKY]))
			return fail(e, -EINVAL, "%s: field \"sticky\": expected true or false",
				    label);
		s->sticky = cJSON_IsTrue(f[F_STICKY]);
	}
	err = parse_l7_fields(f[F_MODE], f[F_VHOSTS], f[F_PATH], f[F_REDIRECT], f[F_XFF], s, label,
			      e);
	if (err)
		return err;
	s->maglev_size = default_m;
	if (f[F_MAGLEV] != NULL) {
		err = get_maglev_size(f[F_MAGLEV], label, &s->maglev_size, e);
		if (err)
			return err;
	}
	return parse_backends(f[F_BACKENDS], s, label, e);
}

static int check_services(const struct config *c, struct errbuf *e)
{
	const struct config_service *orig, *dup;
	char a[INET6_ADDRSTRLEN + 8];
	const void **ptrs, *p1, *p2;
	size_t i;
	bool found;

	if (c->n_services < 2)
		return 0;
	ptrs = malloc(c->n_services * sizeof(*ptrs));
	if (ptrs == NULL)
		return fail(e, -ENOMEM, "out of memory");

	for (i = 0; i < c->n_services; i++)
		ptrs[i] = &c->services[i];
	found = find_dup(ptrs, c->n_services, name_sort_cmp, name_key_cmp, &p1, &p2);
	if (found) {
		free(ptrs);
		orig = p1;
		dup = p2;
		return fail(e, -EINVAL,
			    "service %zu: duplicate service name \"%s\" (also service %zu)",
			    (size_t)(dup - c->services), dup->name, (size_t)(orig - c->services));
	}

	for (i = 0; i < c->n_services; i++)
		ptrs[i] = &c->services[i];
	found = find_dup(ptrs, c->n_services, frontend_sort_cmp, frontend_key_cmp, &p1, &p2);
	free(ptrs);
	if (!found)
		return 0;
	orig = p1;
	dup = p2;
	return fail(e, -EINVAL, "service \"%s\": frontend %s/%s already used by service \"%s\"",
		    dup->name, fmt_endpoint(dup->family, dup->vip, dup->port, a, sizeof(a)),
		    dup->proto == IPPROTO_TCP ? "tcp" : "udp", orig->name);
}

static int parse_root(const cJSON *root, struct config *c, struct errbuf *e)
{
	static const char *const known[] = { "services", "maglev_size" };
	const cJSON *f[2], *it;
	size_t n = 0, i = 0;
	int err;

	if (!cJSON_IsObject(root))
		return fail(e, -EINVAL, "top level: expected an object");
	err = check_fields(root, known, 2, f, "top level", e);
	if (err)
		return err;
	c->maglev_size = BATON_MAGLEV_DEFAULT;
	if (f[1] != NULL) {
		err = get_maglev_size(f[1], "top level", &c->maglev_size, e);
		if (err)
			return err;
	}
	if (f[0] == NULL)
		return missing(e, "top level", "services");
	if (!cJSON_IsArray(f[0]))
		return fail(e, -EINVAL, "top level: field \"services\": expected an array");
	cJSON_ArrayForEach(it, f[0])
		n++;
	if (n > BATON_MAX_SERVICES)
		return fail(e, -EINVAL, "top level: %zu services, more than the limit of %u", n,
			    BATON_MAX_SERVICES);
	if (n == 0)
		return 0;
	c->services = calloc(n, sizeof(*c->services));
	if (c->services == NULL)
		return fail(e, -ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, f[0]) {
		/* Counted first so config_free() releases a half-parsed service too. */
		c->n_services = i + 1;
		err = parse_service(it, i, c->maglev_size, &c->services[i], e);
		if (err)
			return err;
		i++;
	}
	return check_services(c, e);
}

static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int config_parse(const char *text, size_t len, struct config *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct config c = { 0 };
	const char *end = NULL;
	size_t line, col, pos;
	cJSON *root;
	char *buf;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || (text == NULL && len > 0))
		return fail(&e, -EINVAL, "invalid arguments");
	memset(out, 0, sizeof(*out));

	/*
	 * A NUL-terminated private copy: some cJSON releases read past the given length
	 * on malformed input (CVE-2023-53154), and the terminator stops them.
	 */
	buf = malloc(len + 1);
	if (buf == NULL)
		return fail(&e, -ENOMEM, "out of memory");
	if (len > 0)
		memcpy(buf, text, len);
	buf[len] = '\0';

	for (pos = 0; pos < len && json_space(buf[pos]); pos++)
		;
	if (pos == len) {
		free(buf);
		return fail(&e, -EINVAL, "invalid JSON: empty document");
	}
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL) {
		pos = end != NULL && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
		line_col(buf, pos, &line, &col);
		free(buf);
		return fail(&e, -EINVAL, "invalid JSON at line %zu column %zu", line, col);
	}
	for (pos = end - buf; pos < len && json_space(buf[pos]); pos++)
		;
	if (pos < len) {
		line_col(buf, pos, &line, &col);
		cJSON_Delete(root);
		free(buf);
		return fail(&e, -EINVAL,
			    "invalid JSON: unexpected data after the document at line "
			    "%zu column %zu",
			    line, col);
	}

	r = parse_root(root, &c, &e);
	cJSON_Delete(root);
	free(buf);
	if (r) {
		config_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

int config_read_bounded(FILE *f, size_t max, char **data, size_t *len)
{
	size_t want = 64 * 1024, have = 0, n = 0, got;
	char *buf = NULL, *nb;
	struct stat st;

	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > max)
			return -EFBIG;
		want = st.st_size + 1; /* one spare byte: EOF shows without growing */
	}
	for (;;) {
		if (n == want) {
			if (want > max)
				break;
			want = want * 2 > max + 1 ? max + 1 : want * 2;
		}
		if (have < want) {
			nb = realloc(buf, want);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			have = want;
		}
		got = fread(buf + n, 1, want - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				int r = errno ? -errno : -EIO;

				free(buf);
				return r;
			}
			break;
		}
	}
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	*data = buf;
	*len = n;
	return 0;
}

int config_load_file(const char *path, struct config *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char msg[512];
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || path == NULL)
		return fail(&e, -EINVAL, "invalid arguments");
	memset(out, 0, sizeof(*out));

	f = fopen(path, "re");
	if (f == NULL) {
		r = -errno;
		return fail(&e, r, "%s: %s", path, strerror(-r));
	}
	r = config_read_bounded(f, CONFIG_FILE_MAX, &data, &len);
	fclose(f);
	if (r == -EFBIG)
		return fail(&e, r, "%s: larger than the limit of %u bytes", path, CONFIG_FILE_MAX);
	if (r)
		return fail(&e, r, "%s: %s", path, strerror(-r));

	r = config_parse(data, len, out, msg, sizeof(msg));
	free(data);
	if (r)
		return fail(&e, r, "%s: %s", path, msg);
	return 0;
}

void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_services; i++)
		free(c->services[i].backends);
	free(c->services);
	memset(c, 0, sizeof(*c));
}
