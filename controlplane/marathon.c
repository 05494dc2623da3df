// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon model and services. The parser type-checks every field it reads and turns
 * the body into plain structs at once (one cJSON_Delete); a bad app or task is
 * skipped with a problem naming it and the field, the rest of the body still counts.
 * The service rules are Marathon-LB's; each place where Baton chooses differently
 * says so and why.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "baton_abi.h"
#include "marathon.h"
#include "text.h"

#define ECHO_MAX 160 /* user text quoted in a message */
#define PATH_MAX_LEN 160

/* ==== Problems ======================================================================= */

static void problem_free_one(struct marathon_problem *p)
{
	free(p->app_id);
	free(p->task_id);
	free(p->field);
	free(p->message);
}

static void problem_vadd(struct marathon_problems *p, const char *app_id, const char *task_id,
			 const char *field, const char *fmt, va_list ap)
{
	char a[ECHO_MAX], t[ECHO_MAX], f[ECHO_MAX], text[512], msg[1024];
	struct marathon_problem *r, *nv;
	size_t off = 0;

	if (p == NULL)
		return;
	if (p->n >= MARATHON_PROBLEMS_MAX) {
		p->dropped++;
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		nv = realloc(p->v, cap * sizeof(*nv));
		if (nv == NULL) {
			p->dropped++;
			return;
		}
		p->v = nv;
		p->cap = cap;
	}
	vsnprintf(text, sizeof(text), fmt, ap);
	msg[0] = '\0';
	if (app_id != NULL) {
		text_echo(app_id, strlen(app_id), a, sizeof(a));
		off += snprintf(msg + off, sizeof(msg) - off, "app \"%s\"", a);
	}
	if (task_id != NULL && off < sizeof(msg)) {
		text_echo(task_id, strlen(task_id), t, sizeof(t));
		off += snprintf(msg + off, sizeof(msg) - off, "%stask \"%s\"", off ? " " : "", t);
	}
	if (field != NULL && off < sizeof(msg)) {
		text_echo(field, strlen(field), f, sizeof(f));
		off += snprintf(msg + off, sizeof(msg) - off, "%sfield \"%s\"", off ? ": " : "", f);
	}
	if (off < sizeof(msg))
		snprintf(msg + off, sizeof(msg) - off, "%s%s", off ? ": " : "", text);

	r = &p->v[p->n];
	memset(r, 0, sizeof(*r));
	r->app_id = app_id ? strdup(app_id) : NULL;
	r->task_id = task_id ? strdup(task_id) : NULL;
	r->field = field ? strdup(field) : NULL;
	r->message = strdup(msg);
	if (r->message == NULL || (app_id && !r->app_id) || (task_id && !r->task_id) ||
	    (field && !r->field)) {
		problem_free_one(r);
		p->dropped++;
		return;
	}
	p->n++;
}

static void problem_add(struct marathon_problems *p, const char *app_id, const char *task_id,
			const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void problem_add(struct marathon_problems *p, const char *app_id, const char *task_id,
			const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_vadd(p, app_id, task_id, field, fmt, ap);
	va_end(ap);
}

void marathon_problems_free(struct marathon_problems *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		problem_free_one(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ==== Small helpers ================================================================== */

/* JSON numbers are doubles: accept only exact integers in [lo, hi]. */
static bool get_int(const cJSON *it, double lo, double hi, long long *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return false;
	v = it->valuedouble;
	if (!(v >= lo && v <= hi)) /* also rejects NaN */
		return false;
	if ((double)(long long)v != v)
		return false;
	*out = (long long)v;
	return true;
}

/* A member, NULL when absent or JSON null (Marathon writes null for "not set"). */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(it) ? NULL : it;
}

/* Python's str.lower() in ["true", "t", "yes", "y"] (Marathon-LB string_to_bool). */
static int label_bool(const char *v)
{
	static const char *const yes[] = { "true", "t", "yes", "y" };
	static const char *const no[] = { "false", "f", "no", "n", "" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1; /* false for Marathon-LB too, but probably not what was meant */
}

/* Python int(): optional blanks and sign around decimal digits. */
static bool label_int(const char *v, long long lo, long long hi, long long *out)
{
	long long x = 0;
	bool neg = false, digits = false;

	while (isspace((unsigned char)*v))
		v++;
	if (*v == '+' || *v == '-')
		neg = *v++ == '-';
	for (; *v >= '0' && *v <= '9'; v++) {
		digits = true;
		x = x * 10 + (*v - '0');
		if (x > 1000000000LL)
			return false;
	}
	while (isspace((unsigned char)*v))
		v++;
	if (!digits || *v != '\0')
		return false;
	x = neg ? -x : x;
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* ==== String hash map (host cache, deployment groups, label names) =================== */

struct smap_entry {
	char *key; /* owned */
	size_t val;
};

struct smap {
	size_t n, cap; /* cap is a power of two */
	struct smap_entry *v;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void smap_free(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static struct smap_entry *smap_find(const struct smap *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = hash_str(key) & (m->cap - 1); m->v[i].key != NULL; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	return NULL;
}

static int smap_grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i, j;
	struct smap_entry *nv = calloc(cap, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (m->v[i].key == NULL)
			continue;
		for (j = hash_str(m->v[i].key) & (cap - 1); nv[j].key != NULL;
		     j = (j + 1) & (cap - 1))
			;
		nv[j] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = cap;
	return 0;
}

/* Inserts key (copied) if absent. *e points at the entry; returns 1 if new, 0, -ENOMEM. */
static int smap_insert(struct smap *m, const char *key, struct smap_entry **e)
{
	size_t i;

	*e = smap_find(m, key);
	if (*e != NULL)
		return 0;
	if ((m->n + 1) * 2 > m->cap && smap_grow(m))
		return -ENOMEM;
	for (i = hash_str(key) & (m->cap - 1); m->v[i].key != NULL; i = (i + 1) & (m->cap - 1))
		;
	m->v[i].key = strdup(key);
	if (m->v[i].key == NULL)
		return -ENOMEM;
	m->v[i].val = 0;
	m->n++;
	*e = &m->v[i];
	return 1;
}

/* ==== Model: freeing ================================================================= */

static void labels_free(struct marathon_label *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

static void ports_free(struct marathon_port *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		labels_free(p[i].labels, p[i].n_labels);
	}
	free(p);
}

static void task_free(struct marathon_task *t)
{
	free(t->id);
	free(t->app_id);
	free(t->host);
	free(t->ports);
	free(t->service_ports);
	free(t->ips);
	memset(t, 0, sizeof(*t));
}

static void app_free(struct marathon_app *a)
{
	size_t i;

	free(a->id);
	labels_free(a->labels, a->n_labels);
	free(a->ports);
	ports_free(a->port_defs, a->n_port_defs);
	ports_free(a->port_maps, a->n_port_maps);
	free(a->discovery_ports);
	for (i = 0; i < a->n_checks; i++)
		free(a->checks[i].protocol_name);
	free(a->checks);
	free(a->last_scaling_at);
	for (i = 0; i < a->n_tasks; i++)
		task_free(&a->tasks[i]);
	free(a->tasks);
	memset(a, 0, sizeof(*a));
}

void marathon_apps_free(struct marathon_apps *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		app_free(&a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void marathon_tasks_free(struct marathon_task_list *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		task_free(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ==== Parsing ======================================================================== */

struct pctx {
	struct marathon_problems *probs;
	const char *app_id;  /* for messages; NULL before the id is known */
	const char *task_id; /* likewise */
	size_t seq;	     /* position of the app in the body ("app #3") */
	size_t next_seq;
};

static int bad(struct pctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the problem and returns -EINVAL: the caller skips the app or task. */
static int bad(struct pctx *c, const char *field, const char *fmt, ...)
{
	char f[PATH_MAX_LEN + 80];
	va_list ap;

	if (c->app_id == NULL && c->task_id == NULL && c->seq != SIZE_MAX) {
		snprintf(f, sizeof(f), "app #%zu%s%s", c->seq, field ? "." : "",
			 field ? field : "");
		field = f;
	}
	va_start(ap, fmt);
	problem_vadd(c->probs, c->app_id, c->task_id, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int enomem(void)
{
	return -ENOMEM;
}

/* "base.key" or "base[i]" field paths for messages. */
/* Paths are for messages only: a long one is cut, which the return value notes. */
static const char *path_key(char *dst, const char *base, const char *key)
{
	if (snprintf(dst, PATH_MAX_LEN, "%s%s%s", base ? base : "", base && *base ? "." : "",
		     key) >= PATH_MAX_LEN)
		dst[PATH_MAX_LEN - 2] = '~';
	return dst;
}

static const char *path_idx(char *dst, const char *base, size_t i)
{
	if (snprintf(dst, PATH_MAX_LEN, "%s[%zu]", base, i) >= PATH_MAX_LEN)
		dst[PATH_MAX_LEN - 2] = '~';
	return dst;
}

static int opt_string(struct pctx *c, const cJSON *obj, const char *key, const char *base,
		      const char **out)
{
	const cJSON *it = member(obj, key);
	char p[PATH_MAX_LEN];

	*out = NULL;
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it))
		return bad(c, path_key(p, base, key), "expected a string");
	*out = it->valuestring;
	return 0;
}

static int dup_string(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int opt_port(struct pctx *c, const cJSON *obj, const char *key, const char *base, bool *has,
		    __u16 *out)
{
	const cJSON *it = member(obj, key);
	char p[PATH_MAX_LEN];
	long long v;

	*has = false;
	*out = 0;
	if (it == NULL)
		return 0;
	if (!get_int(it, 0, 65535, &v))
		return bad(c, path_key(p, base, key), "expected an integer in 0..65535");
	*has = true;
	*out = v;
	return 0;
}

static int count_items(const cJSON *arr)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, arr)
		n++;
	return n;
}

/* An array of port numbers, absent or null meaning empty. */
static int port_array(struct pctx *c, const cJSON *obj, const char *key, const char *base,
		      bool *has, __u16 **out, size_t *n)
{
	const cJSON *arr = member(obj, key), *it;
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	size_t i = 0, cnt;
	long long v;

	*out = NULL;
	*n = 0;
	if (has != NULL)
		*has = arr != NULL;
	if (arr == NULL)
		return 0;
	path_key(p, base, key);
	if (!cJSON_IsArray(arr))
		return bad(c, p, "expected an array of ports");
	cnt = count_items(arr);
	if (cnt == 0)
		return 0;
	*out = calloc(cnt, sizeof(**out));
	if (*out == NULL)
		return enomem();
	cJSON_ArrayForEach(it, arr) {
		if (!get_int(it, 0, 65535, &v))
			return bad(c, path_idx(q, p, i), "expected an integer in 0..65535");
		(*out)[i++] = v;
		*n = i;
	}
	return 0;
}

static int label_cmp(const void *pa, const void *pb)
{
	const struct marathon_label *a = pa, *b = pb;

	return strcmp(a->key, b->key);
}

/* An object of string values, sorted by key. */
static int parse_labels(struct pctx *c, const cJSON *obj, const char *key, const char *base,
			struct marathon_label **out, size_t *n)
{
	const cJSON *js = member(obj, key), *it;
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN + 80];
	size_t cnt, i = 0, j;

	*out = NULL;
	*n = 0;
	if (js == NULL)
		return 0;
	path_key(p, base, key);
	if (!cJSON_IsObject(js))
		return bad(c, p, "expected an object of strings");
	cnt = count_items(js);
	if (cnt == 0)
		return 0;
	*out = calloc(cnt, sizeof(**out));
	if (*out == NULL)
		return enomem();
	cJSON_ArrayForEach(it, js) {
		if (!cJSON_IsString(it)) {
			snprintf(q, sizeof(q), "%s.%s", p, it->string);
			return bad(c, q, "expected a string");
		}
		(*out)[i].key = strdup(it->string);
		(*out)[i].value = strdup(it->valuestring);
		*n = ++i;
		if ((*out)[i - 1].key == NULL || (*out)[i - 1].value == NULL)
			return enomem();
	}
	/*
	 * Marathon never repeats a key; cJSON would keep both copies. Refuse rather than
	 * guess which one Marathon-LB (Python: the last) would have used.
	 */
	qsort(*out, *n, sizeof(**out), label_cmp);
	for (j = 1; j < *n; j++)
		if (strcmp((*out)[j - 1].key, (*out)[j].key) == 0) {
			snprintf(q, sizeof(q), "%s.%s", p, (*out)[j].key);
			return bad(c, q, "repeated key");
		}
	return 0;
}

static const char *label_get(const struct marathon_label *l, size_t n, const char *key)
{
	struct marathon_label k = { .key = (char *)key };
	const struct marathon_label *r;

	if (n == 0)
		return NULL;
	r = bsearch(&k, l, n, sizeof(*l), label_cmp);
	return r ? r->value : NULL;
}

static int parse_protocol(const char *s, __u8 *out)
{
	if (s == NULL)
		*out = MARATHON_PROTO_TCP; /* Marathon's default */
	else if (strcmp(s, "tcp") == 0)
		*out = MARATHON_PROTO_TCP;
	else if (strcmp(s, "udp") == 0)
		*out = MARATHON_PROTO_UDP;
	else if (strcmp(s, "udp,tcp") == 0 || strcmp(s, "tcp,udp") == 0)
		*out = MARATHON_PROTO_TCP | MARATHON_PROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* One portDefinitions (mapping = false) or portMappings (mapping = true) entry. */
static int parse_port(struct pctx *c, const cJSON *js, const char *p, bool mapping,
		      struct marathon_port *out)
{
	const char *proto, *name;
	char q[PATH_MAX_LEN];
	bool has;
	int err;

	if (!cJSON_IsObject(js))
		return bad(c, p, "expected an object");
	if (mapping) {
		err = opt_port(c, js, "servicePort", p, &out->has_port, &out->port);
		if (!err)
			err = opt_port(c, js, "containerPort", p, &out->has_container_port,
				       &out->container_port);
		if (!err)
			err = opt_port(c, js, "hostPort", p, &has, &out->host_port);
	} else {
		err = opt_port(c, js, "port", p, &out->has_port, &out->port);
	}
	if (!err)
		err = opt_string(c, js, "protocol", p, &proto);
	if (!err && parse_protocol(proto, &out->protocols))
		err = bad(c, path_key(q, p, "protocol"),
			  "expected \"tcp\", \"udp\" or \"udp,tcp\"");
	if (!err)
		err = opt_string(c, js, "name", p, &name);
	if (!err)
		err = dup_string(name, &out->name);
	if (!err)
		err = parse_labels(c, js, "labels", p, &out->labels, &out->n_labels);
	return err;
}

static int parse_port_array(struct pctx *c, const cJSON *arr, const char *p, bool mapping,
			    struct marathon_port **out, size_t *n)
{
	char q[PATH_MAX_LEN];
	const cJSON *it;
	size_t cnt, i = 0;
	int err;

	*out = NULL;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(c, p, "expected an array");
	cnt = count_items(arr);
	if (cnt == 0)
		return 0;
	*out = calloc(cnt, sizeof(**out));
	if (*out == NULL)
		return enomem();
	cJSON_ArrayForEach(it, arr) {
		*n = i + 1; /* counted first so the caller frees a half-parsed entry */
		err = parse_port(c, it, path_idx(q, p, i), mapping, &(*out)[i]);
		if (err)
			return err;
		i++;
	}
	return 0;
}

/* "container": docker network and port mappings (Marathon 1.4 and 1.5+ places). */
static int parse_container(struct pctx *c, const cJSON *app, struct marathon_app *a, bool *user,
			   bool *bridge)
{
	const cJSON *ct = member(app, "container"), *dk;
	struct marathon_port *pm = NULL;
	const char *network;
	size_t npm = 0;
	int err;

	*user = *bridge = false;
	if (ct == NULL)
		return 0;
	if (!cJSON_IsObject(ct))
		return bad(c, "container", "expected an object");
	dk = member(ct, "docker");
	if (dk != NULL && !cJSON_IsObject(dk))
		return bad(c, "container.docker", "expected an object");
	if (dk != NULL) {
		err = opt_string(c, dk, "network", "container.docker", &network);
		if (err)
			return err;
		*user = network && strcmp(network, "USER") == 0;
		*bridge = network && strcmp(network, "BRIDGE") == 0;
		err = parse_port_array(c, member(dk, "portMappings"),
				       "container.docker.portMappings", true, &a->port_maps,
				       &a->n_port_maps);
		if (err)
			return err;
	}
	/* utils.py get_app_port_mappings(): docker's list when not empty, else this one. */
	err = parse_port_array(c, member(ct, "portMappings"), "container.portMappings", true, &pm,
			       &npm);
	if (!err && a->n_port_maps == 0) {
		free(a->port_maps);
		a->port_maps = pm;
		a->n_port_maps = npm;
		return 0;
	}
	ports_free(pm, npm);
	return err;
}

/* Marathon 1.4 "ipAddress": returns whether it is a non-empty object (Python truth). */
static int parse_ip_address(struct pctx *c, const cJSON *app, struct marathon_app *a, bool *set)
{
	const cJSON *ip = member(app, "ipAddress"), *disc, *ports, *it;
	char q[PATH_MAX_LEN], r[PATH_MAX_LEN];
	size_t cnt, i = 0;
	long long v;
	bool has;

	*set = false;
	if (ip == NULL)
		return 0;
	if (!cJSON_IsObject(ip))
		return bad(c, "ipAddress", "expected an object");
	*set = ip->child != NULL;
	disc = member(ip, "discovery");
	if (disc == NULL)
		return 0;
	if (!cJSON_IsObject(disc))
		return bad(c, "ipAddress.discovery", "expected an object");
	ports = member(disc, "ports");
	if (ports == NULL)
		return 0;
	if (!cJSON_IsArray(ports))
		return bad(c, "ipAddress.discovery.ports", "expected an array");
	cnt = count_items(ports);
	if (cnt == 0)
		return 0;
	a->discovery_ports = calloc(cnt, sizeof(*a->discovery_ports));
	if (a->discovery_ports == NULL)
		return enomem();
	cJSON_ArrayForEach(it, ports) {
		path_idx(q, "ipAddress.discovery.ports", i++);
		if (!cJSON_IsObject(it))
			return bad(c, q, "expected an object");
		has = member(it, "number") != NULL;
		if (has && !get_int(member(it, "number"), 0, 65535, &v))
			return bad(c, path_key(r, q, "number"), "expected an integer in 0..65535");
		if (has)
			a->discovery_ports[a->n_discovery_ports++] = v;
	}
	return 0;
}

static int parse_mode_name(const char *s, enum marathon_net_mode *m)
{
	if (strcmp(s, "host") == 0)
		*m = MARATHON_NET_HOST;
	else if (strcmp(s, "container/bridge") == 0)
		*m = MARATHON_NET_BRIDGE;
	else if (strcmp(s, "container") == 0)
		*m = MARATHON_NET_CONTAINER;
	else
		return -EINVAL;
	return 0;
}

static int parse_networks(struct pctx *c, const cJSON *app, enum marathon_net_mode *mode)
{
	const cJSON *nets = member(app, "networks"), *it;
	char q[PATH_MAX_LEN], r[PATH_MAX_LEN];
	const char *m, *name;
	size_t i = 0;
	int err;

	if (nets == NULL)
		return 0;
	if (!cJSON_IsArray(nets))
		return bad(c, "networks", "expected an array");
	cJSON_ArrayForEach(it, nets) {
		path_idx(q, "networks", i++);
		if (!cJSON_IsObject(it))
			return bad(c, q, "expected an object");
		err = opt_string(c, it, "mode", q, &m);
		if (!err)
			err = opt_string(c, it, "name", q, &name);
		if (err)
			return err;
		/* "Modes cannot be mixed, so assigning the last mode is fine" (utils.py) */
		if (m == NULL)
			*mode = MARATHON_NET_CONTAINER;
		else if (parse_mode_name(m, mode))
			return bad(c, path_key(r, q, "mode"),
				   "expected \"host\", \"container/bridge\" or \"container\"");
	}
	return 0;
}

static enum marathon_hc_protocol hc_protocol(const char *s)
{
	static const struct {
		const char *name;
		enum marathon_hc_protocol p;
	} t[] = {
		{ "HTTP", MARATHON_HC_HTTP },
		{ "HTTPS", MARATHON_HC_HTTPS },
		{ "TCP", MARATHON_HC_TCP },
		{ "COMMAND", MARATHON_HC_COMMAND },
		{ "MESOS_HTTP", MARATHON_HC_MESOS_HTTP },
		{ "MESOS_HTTPS", MARATHON_HC_MESOS_HTTPS },
		{ "MESOS_TCP", MARATHON_HC_MESOS_TCP },
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].p;
	return MARATHON_HC_OTHER;
}

static int parse_health_checks(struct pctx *c, const cJSON *app, struct marathon_app *a)
{
	const cJSON *arr = member(app, "healthChecks"), *it, *pi;
	char q[PATH_MAX_LEN], r[PATH_MAX_LEN];
	const char *proto;
	size_t cnt, i = 0;
	long long v;
	bool has;
	int err;

	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(c, "healthChecks", "expected an array");
	cnt = count_items(arr);
	if (cnt == 0)
		return 0;
	a->checks = calloc(cnt, sizeof(*a->checks));
	if (a->checks == NULL)
		return enomem();
	cJSON_ArrayForEach(it, arr) {
		struct marathon_health_check *hc = &a->checks[i];

		path_idx(q, "healthChecks", i++);
		if (!cJSON_IsObject(it))
			return bad(c, q, "expected an object");
		a->n_checks = i;
		err = opt_string(c, it, "protocol", q, &proto);
		if (!err)
			err = dup_string(proto, &hc->protocol_name);
		if (!err)
			err = opt_port(c, it, "port", q, &has, &hc->port);
		if (err)
			return err;
		hc->protocol = hc_protocol(proto);
		hc->port_index = -1;
		pi = member(it, "portIndex");
		if (pi != NULL) {
			if (!get_int(pi, 0, 65535, &v))
				return bad(c, path_key(r, q, "portIndex"),
					   "expected an integer in 0..65535");
			hc->port_index = v;
		}
	}
	return 0;
}

static enum marathon_task_state task_state(const char *s)
{
	static const char *const names[] = {
		[MARATHON_TASK_STAGING] = "TASK_STAGING",
		[MARATHON_TASK_STARTING] = "TASK_STARTING",
		[MARATHON_TASK_RUNNING] = "TASK_RUNNING",
		[MARATHON_TASK_KILLING] = "TASK_KILLING",
		[MARATHON_TASK_FINISHED] = "TASK_FINISHED",
		[MARATHON_TASK_FAILED] = "TASK_FAILED",
		[MARATHON_TASK_KILLED] = "TASK_KILLED",
		[MARATHON_TASK_ERROR] = "TASK_ERROR",
		[MARATHON_TASK_LOST] = "TASK_LOST",
		[MARATHON_TASK_DROPPED] = "TASK_DROPPED",
		[MARATHON_TASK_UNREACHABLE] = "TASK_UNREACHABLE",
		[MARATHON_TASK_GONE] = "TASK_GONE",
		[MARATHON_TASK_GONE_BY_OPERATOR] = "TASK_GONE_BY_OPERATOR",
		[MARATHON_TASK_UNKNOWN] = "TASK_UNKNOWN",
	};
	size_t i;

	if (s == NULL)
		return MARATHON_TASK_NONE;
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] != NULL && strcmp(s, names[i]) == 0)
			return i;
	return MARATHON_TASK_OTHER;
}

/* "<base>[i]" or "<base>[i].<key>": field paths are only formatted for a message. */
static const char *path_elem(char *dst, const char *base, size_t i, const char *key)
{
	if (snprintf(dst, PATH_MAX_LEN, "%s[%zu]%s%s", base, i, key ? "." : "", key ? key : "") >=
	    PATH_MAX_LEN)
		dst[PATH_MAX_LEN - 2] = '~';
	return dst;
}

/* Called with c->task_id NULL; sets it once the id is known. One task per app is
 * common, 100,000 in a body happen: nothing here formats unless there is a problem. */
static int parse_task(struct pctx *c, const cJSON *js, size_t idx, struct marathon_task *t)
{
	const cJSON *arr, *it, *alive, *ip;
	const char *s;
	char q[PATH_MAX_LEN];
	size_t cnt, i = 0;
	int err;

	if (!cJSON_IsObject(js))
		return bad(c, path_elem(q, "tasks", idx, NULL), "expected an object");
	it = member(js, "id");
	if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
		return bad(c, path_elem(q, "tasks", idx, "id"), "expected a non-empty string");
	c->task_id = it->valuestring;
	if (dup_string(it->valuestring, &t->id))
		return enomem();

	err = opt_string(c, js, "appId", NULL, &s);
	if (!err)
		err = dup_string(s, &t->app_id);
	if (!err)
		err = opt_string(c, js, "host", NULL, &s);
	if (!err)
		err = dup_string(s ? s : "", &t->host);
	if (!err)
		err = port_array(c, js, "ports", NULL, NULL, &t->ports, &t->n_ports);
	if (!err)
		err = port_array(c, js, "servicePorts", NULL, NULL, &t->service_ports,
				 &t->n_service_ports);
	if (!err)
		err = opt_string(c, js, "state", NULL, &s);
	if (err)
		return err;
	t->state = task_state(s);

	arr = member(js, "ipAddresses");
	if (arr != NULL) {
		if (!cJSON_IsArray(arr))
			return bad(c, "ipAddresses", "expected an array");
		cnt = count_items(arr);
		t->ips = cnt ? calloc(cnt, sizeof(*t->ips)) : NULL;
		if (cnt && t->ips == NULL)
			return enomem();
		cJSON_ArrayForEach(it, arr) {
			if (!cJSON_IsObject(it))
				return bad(c, path_elem(q, "ipAddresses", i, NULL),
					   "expected an object");
			ip = member(it, "ipAddress");
			if (ip != NULL && !cJSON_IsString(ip))
				return bad(c, path_elem(q, "ipAddresses", i, "ipAddress"),
					   "expected a string");
			if (ip == NULL || ip->valuestring[0] == '\0') {
				i++;
				continue; /* Marathon-LB: "" is "no address yet" */
			}
			if (!text_parse_addr(ip->valuestring, &t->ips[t->n_ips].family,
					     t->ips[t->n_ips].addr))
				return bad(c, path_elem(q, "ipAddresses", i, "ipAddress"),
					   "expected an IPv4 or IPv6 address");
			t->n_ips++;
			i++;
		}
	}

	t->health = MARATHON_HEALTH_UNKNOWN;
	arr = member(js, "healthCheckResults");
	if (arr != NULL) {
		if (!cJSON_IsArray(arr))
			return bad(c, "healthCheckResults", "expected an array");
		t->health = MARATHON_HEALTH_DEAD;
		i = 0;
		cJSON_ArrayForEach(it, arr) {
			if (!cJSON_IsObject(it))
				return bad(c, path_elem(q, "healthCheckResults", i, NULL),
					   "expected an object");
			alive = member(it, "alive");
			if (alive != NULL && !cJSON_IsBool(alive))
				return bad(c, path_elem(q, "healthCheckResults", i, "alive"),
					   "expected a boolean");
			/* marathon_lb.py: alive if any result is alive */
			if (cJSON_IsTrue(alive))
				t->health = MARATHON_HEALTH_ALIVE;
			i++;
		}
	}
	return 0;
}

struct task_sort {
	struct marathon_task t;
	size_t pos;
};

static int task_sort_cmp(const void *pa, const void *pb)
{
	const struct task_sort *a = pa, *b = pb;
	int r = strcmp(a->t.id, b->t.id);

	return r ? r : (a->pos > b->pos) - (a->pos < b->pos);
}

/*
 * Parses a "tasks" array. Bad tasks are skipped (problem); with sorted, the result is
 * sorted by id and a repeated id keeps its first occurrence (problem).
 */
static int parse_tasks(struct pctx *c, const cJSON *arr, bool sorted, struct marathon_task **out,
		       size_t *n, size_t *cap)
{
	struct task_sort *ts;
	const cJSON *it;
	size_t cnt, i = 0, k = 0, j;
	int err;

	*out = NULL;
	*n = *cap = 0;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(c, "tasks", "expected an array");
	cnt = count_items(arr);
	if (cnt == 0)
		return 0;
	ts = calloc(cnt, sizeof(*ts));
	if (ts == NULL)
		return enomem();
	cJSON_ArrayForEach(it, arr) {
		c->task_id = NULL;
		err = parse_task(c, it, i++, &ts[k].t);
		if (err == -ENOMEM) {
			for (j = 0; j <= k; j++)
				task_free(&ts[j].t);
			free(ts);
			c->task_id = NULL;
			return err;
		}
		if (err) {
			task_free(&ts[k].t);
			continue;
		}
		ts[k].pos = k;
		k++;
	}
	c->task_id = NULL;
	if (sorted && k > 1) {
		qsort(ts, k, sizeof(*ts), task_sort_cmp);
		for (i = 1, j = 1; i < k; i++) {
			if (strcmp(ts[i].t.id, ts[j - 1].t.id) == 0) {
				problem_add(c->probs, c->app_id, ts[i].t.id, "tasks",
					    "repeated task id; the first one is kept");
				task_free(&ts[i].t);
				continue;
			}
			ts[j++] = ts[i];
		}
		k = j;
	}
	*out = calloc(k ? k : 1, sizeof(**out));
	if (*out == NULL) {
		for (j = 0; j < k; j++)
			task_free(&ts[j].t);
		free(ts);
		return enomem();
	}
	for (j = 0; j < k; j++)
		(*out)[j] = ts[j].t;
	*n = k;
	*cap = k ? k : 1;
	free(ts);
	return 0;
}

static int parse_app(struct pctx *c, const cJSON *js, size_t seq, struct marathon_app *a)
{
	const cJSON *vi, *inst;
	enum marathon_net_mode mode = MARATHON_NET_HOST;
	bool user, bridge, ipaddr;
	const char *id, *s;
	long long v;
	int err;

	a->seq = seq;
	c->seq = seq;
	if (!cJSON_IsObject(js))
		return bad(c, NULL, "expected an object");
	err = opt_string(c, js, "id", NULL, &id);
	if (err)
		return err;
	if (id == NULL || id[0] == '\0')
		return bad(c, "id", "expected a non-empty string");
	c->app_id = id;
	if (dup_string(id, &a->id))
		return enomem();

	err = parse_labels(c, js, "labels", NULL, &a->labels, &a->n_labels);
	if (!err)
		err = parse_container(c, js, a, &user, &bridge);
	if (!err)
		err = parse_ip_address(c, js, a, &ipaddr);
	if (err)
		return err;
	/* utils.py get_app_networking_mode() */
	if (ipaddr)
		mode = MARATHON_NET_CONTAINER;
	if (user)
		mode = MARATHON_NET_CONTAINER;
	else if (bridge)
		mode = MARATHON_NET_BRIDGE;
	err = parse_networks(c, js, &mode);
	if (err)
		return err;
	a->mode = mode;

	err = port_array(c, js, "ports", NULL, &a->has_ports_field, &a->ports, &a->n_ports);
	if (!err) {
		a->has_port_defs_field = member(js, "portDefinitions") != NULL;
		err = parse_port_array(c, member(js, "portDefinitions"), "portDefinitions", false,
				       &a->port_defs, &a->n_port_defs);
	}
	if (!err)
		err = parse_health_checks(c, js, a);
	if (err)
		return err;

	inst = member(js, "instances");
	if (inst != NULL) {
		if (!get_int(inst, 0, 1e9, &v))
			return bad(c, "instances", "expected an integer in 0..1000000000");
		a->instances = v;
	}
	vi = member(js, "versionInfo");
	if (vi != NULL) {
		if (!cJSON_IsObject(vi))
			return bad(c, "versionInfo", "expected an object");
		err = opt_string(c, vi, "lastScalingAt", "versionInfo", &s);
		if (!err)
			err = dup_string(s, &a->last_scaling_at);
		if (err)
			return err;
	}
	return parse_tasks(c, member(js, "tasks"), true, &a->tasks, &a->n_tasks, &a->cap_tasks);
}

struct app_vec {
	size_t n, cap;
	struct marathon_app *v;
};

static int app_vec_add(struct pctx *c, struct app_vec *vec, const cJSON *js)
{
	struct marathon_app *nv;
	size_t seq = c->next_seq++;
	int err;

	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 64;

		nv = realloc(vec->v, cap * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		vec->v = nv;
		vec->cap = cap;
	}
	memset(&vec->v[vec->n], 0, sizeof(vec->v[0]));
	c->app_id = NULL;
	c->task_id = NULL;
	err = parse_app(c, js, seq, &vec->v[vec->n]);
	c->app_id = NULL;
	c->seq = SIZE_MAX;
	if (err) {
		app_free(&vec->v[vec->n]);
		return err == -ENOMEM ? err : 0; /* a bad app is skipped */
	}
	vec->n++;
	return 0;
}

static int app_vec_add_array(struct pctx *c, struct app_vec *vec, const cJSON *arr)
{
	const cJSON *it;
	int err;

	cJSON_ArrayForEach(it, arr) {
		err = app_vec_add(c, vec, it);
		if (err)
			return err;
	}
	return 0;
}

/* A /v2/groups node: its apps, then its groups, depth first (cJSON bounds the depth). */
static int walk_group(struct pctx *c, struct app_vec *vec, const cJSON *g, const char *gid)
{
	const cJSON *apps, *groups, *it;
	const char *id = NULL;
	int err;

	if (!cJSON_IsObject(g)) {
		problem_add(c->probs, NULL, NULL, "groups", "group under \"%s\": not an object",
			    gid);
		return 0;
	}
	if (cJSON_IsString(member(g, "id")))
		id = member(g, "id")->valuestring;
	apps = member(g, "apps");
	groups = member(g, "groups");
	if ((apps != NULL && !cJSON_IsArray(apps)) || (groups != NULL && !cJSON_IsArray(groups))) {
		problem_add(c->probs, NULL, NULL, "groups",
			    "group \"%s\": \"apps\" and \"groups\" must be arrays; group skipped",
			    id ? id : "?");
		return 0;
	}
	if (apps != NULL) {
		err = app_vec_add_array(c, vec, apps);
		if (err)
			return err;
	}
	cJSON_ArrayForEach(it, groups) {
		err = walk_group(c, vec, it, id ? id : "?");
		if (err)
			return err;
	}
	return 0;
}

static int app_sort_cmp(const void *pa, const void *pb)
{
	const struct marathon_app *a = pa, *b = pb;
	int r = strcmp(a->id, b->id);

	return r ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

static int app_cmp(const void *pa, const void *pb)
{
	const struct marathon_app *a = pa, *b = pb;

	return strcmp(a->id, b->id);
}

static bool json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Parses the whole body; NULL with a problem when it is not one JSON document. */
static cJSON *parse_body(const char *json, size_t len, struct marathon_problems *probs, int *err)
{
	const char *end = NULL;
	size_t pos;
	cJSON *root;
	char *buf;

	*err = -EINVAL;
	if (json == NULL && len > 0) {
		problem_add(probs, NULL, NULL, NULL, "invalid arguments");
		return NULL;
	}
	/* A NUL-terminated private copy: some cJSON releases read past the given length. */
	buf = malloc(len + 1);
	if (buf == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if (len > 0)
		memcpy(buf, json, len);
	buf[len] = '\0';
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL) {
		pos = end != NULL && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
		problem_add(probs, NULL, NULL, NULL,
			    len == 0 ? "invalid JSON: empty body"
				     : "invalid JSON near byte %zu of %zu (truncated body?)",
			    pos, len);
		free(buf);
		return NULL;
	}
	for (pos = end - buf; pos < len && json_space(buf[pos]); pos++)
		;
	if (pos < len) {
		problem_add(probs, NULL, NULL, NULL,
			    "invalid JSON: unexpected data after the document at byte %zu", pos);
		cJSON_Delete(root);
		free(buf);
		return NULL;
	}
	free(buf);
	*err = 0;
	return root;
}

static int shape_error(struct marathon_problems *probs, const char *what)
{
	problem_add(probs, NULL, NULL, NULL, "unexpected body: %s", what);
	return -EINVAL;
}

int marathon_apps_parse(const char *json, size_t len, struct marathon_apps *out,
			struct marathon_problems *probs)
{
	struct pctx c = { .probs = probs, .seq = SIZE_MAX };
	struct app_vec vec = { 0 };
	const cJSON *app, *apps;
	size_t i, j;
	cJSON *root;
	int err;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = parse_body(json, len, probs, &err);
	if (root == NULL)
		return err;

	if (!cJSON_IsObject(root)) {
		err = shape_error(probs, "expected a JSON object");
	} else if ((app = cJSON_GetObjectItemCaseSensitive(root, "app")) != NULL) {
		if (!cJSON_IsObject(app))
			err = shape_error(probs, "\"app\" is not an object");
		else
			err = app_vec_add(&c, &vec, app);
	} else if (cJSON_GetObjectItemCaseSensitive(root, "groups") != NULL ||
		   cJSON_GetObjectItemCaseSensitive(root, "id") != NULL) {
		const cJSON *a = member(root, "apps"), *g = member(root, "groups");

		if ((a != NULL && !cJSON_IsArray(a)) || (g != NULL && !cJSON_IsArray(g)))
			err = shape_error(probs, "group: \"apps\" and \"groups\" must be arrays");
		else
			err = walk_group(&c, &vec, root, "/");
	} else {
		apps = cJSON_GetObjectItemCaseSensitive(root, "apps");
		if (!cJSON_IsArray(apps))
			err = shape_error(probs, "expected {\"apps\": [...]}, {\"app\": {...}} or "
						 "a group");
		else
			err = app_vec_add_array(&c, &vec, apps);
	}
	cJSON_Delete(root);
	if (err) {
		for (i = 0; i < vec.n; i++)
			app_free(&vec.v[i]);
		free(vec.v);
		return err;
	}

	/* Sorted by id for lookups; a repeated id keeps the first one in the body. */
	if (vec.n > 1)
		qsort(vec.v, vec.n, sizeof(vec.v[0]), app_sort_cmp);
	for (i = 1, j = vec.n ? 1 : 0; i < vec.n; i++) {
		if (strcmp(vec.v[i].id, vec.v[j - 1].id) == 0) {
			problem_add(probs, vec.v[i].id, NULL, "id",
				    "repeated app id; the first one is kept");
			app_free(&vec.v[i]);
			continue;
		}
		vec.v[j++] = vec.v[i];
	}
	out->n = j;
	out->v = vec.v;
	return 0;
}

int marathon_tasks_parse(const char *json, size_t len, struct marathon_task_list *out,
			 struct marathon_problems *probs)
{
	struct pctx c = { .probs = probs, .seq = SIZE_MAX };
	const cJSON *tasks;
	cJSON *root;
	size_t cap;
	int err;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = parse_body(json, len, probs, &err);
	if (root == NULL)
		return err;
	tasks = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tasks") : NULL;
	if (!cJSON_IsArray(tasks))
		err = shape_error(probs, "expected {\"tasks\": [...]}");
	else
		err = parse_tasks(&c, tasks, false, &out->v, &out->n, &cap);
	cJSON_Delete(root);
	return err;
}

struct marathon_app *marathon_apps_find(const struct marathon_apps *a, const char *id)
{
	struct marathon_app k = { .id = (char *)id };

	if (a == NULL || id == NULL || a->n == 0)
		return NULL;
	return bsearch(&k, a->v, a->n, sizeof(a->v[0]), app_cmp);
}

static struct marathon_task *task_find(const struct marathon_app *app, const char *id, size_t *pos)
{
	size_t lo = 0, hi = app->n_tasks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(app->tasks[mid].id, id);

		if (r == 0) {
			*pos = mid;
			return &app->tasks[mid];
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

void marathon_apps_carry_health(struct marathon_apps *next, const struct marathon_apps *prev)
{
	const struct marathon_task *old;
	struct marathon_app *pa;
	size_t i, j, pos;

	if (next == NULL || prev == NULL)
		return;
	for (i = 0; i < next->n; i++) {
		pa = marathon_apps_find(prev, next->v[i].id);
		if (pa == NULL)
			continue;
		for (j = 0; j < next->v[i].n_tasks; j++) {
			struct marathon_task *t = &next->v[i].tasks[j];

			if (t->health != MARATHON_HEALTH_UNKNOWN)
				continue;
			old = task_find(pa, t->id, &pos);
			if (old != NULL)
				t->health = old->health;
		}
	}
}

/* ==== Events ========================================================================= */

enum task_class {
	TASK_EXCLUDED,
	TASK_SERVING,
	TASK_DRAINING,
};

/*
 * marathon_lb.py EXCLUDED_TASK_STATES lists the states it skips; everything else
 * serves there, TASK_LOST and TASK_UNREACHABLE included ("let's be optimistic").
 * Baton serves TASK_RUNNING and tasks without a state (old Marathon) only, as its
 * Marathon sync issue asks: a task whose agent is lost or unreachable gets no new
 * flows (a backend that may be gone costs a client a timeout; established flows keep
 * going through the flow table). TASK_KILLING stays as a draining backend (weight 0:
 * no new flows, existing ones finish), and a state string Baton does not know is
 * skipped rather than served.
 */
static enum task_class task_class(enum marathon_task_state s)
{
	switch (s) {
	case MARATHON_TASK_NONE:
	case MARATHON_TASK_RUNNING:
		return TASK_SERVING;
	case MARATHON_TASK_KILLING:
		return TASK_DRAINING;
	default:
		return TASK_EXCLUDED;
	}
}

/* States after which Marathon forgets the task: remove it from the model. */
static bool task_terminal(enum marathon_task_state s)
{
	switch (s) {
	case MARATHON_TASK_FINISHED:
	case MARATHON_TASK_FAILED:
	case MARATHON_TASK_KILLED:
	case MARATHON_TASK_ERROR:
	case MARATHON_TASK_DROPPED:
	case MARATHON_TASK_GONE:
	case MARATHON_TASK_GONE_BY_OPERATOR:
		return true;
	default:
		return false;
	}
}

static bool ports_equal(const __u16 *a, size_t na, const __u16 *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool ips_equal(const struct marathon_ip *a, size_t na, const struct marathon_ip *b,
		      size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].family != b[i].family || memcmp(a[i].addr, b[i].addr, 16) != 0)
			return false;
	return true;
}

static int copy_ports(const __u16 *src, size_t n, __u16 **dst)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = malloc(n * sizeof(*src));
	if (*dst == NULL)
		return -ENOMEM;
	memcpy(*dst, src, n * sizeof(*src));
	return 0;
}

static int copy_ips(const struct marathon_ip *src, size_t n, struct marathon_ip **dst)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = malloc(n * sizeof(*src));
	if (*dst == NULL)
		return -ENOMEM;
	memcpy(*dst, src, n * sizeof(*src));
	return 0;
}

static int task_insert(struct marathon_app *app, size_t pos, const struct marathon_status_update *u,
		       enum marathon_task_state st)
{
	struct marathon_task t = { 0 }, *nv;

	if (app->n_tasks == app->cap_tasks) {
		size_t cap = app->cap_tasks ? app->cap_tasks * 2 : 4;

		nv = realloc(app->tasks, cap * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		app->tasks = nv;
		app->cap_tasks = cap;
	}
	t.id = strdup(u->task_id);
	t.host = strdup(u->host ? u->host : "");
	t.state = st;
	t.health = MARATHON_HEALTH_UNKNOWN;
	if (t.id == NULL || t.host == NULL ||
	    copy_ports(u->has_ports ? u->ports : NULL, u->has_ports ? u->n_ports : 0, &t.ports) ||
	    copy_ips(u->has_ips ? u->ips : NULL, u->has_ips ? u->n_ips : 0, &t.ips)) {
		task_free(&t);
		return -ENOMEM;
	}
	t.n_ports = u->has_ports ? u->n_ports : 0;
	t.n_ips = u->has_ips ? u->n_ips : 0;
	memmove(&app->tasks[pos + 1], &app->tasks[pos], (app->n_tasks - pos) * sizeof(t));
	app->tasks[pos] = t;
	app->n_tasks++;
	return 0;
}

int marathon_apply_status(struct marathon_apps *a, const struct marathon_status_update *u)
{
	enum marathon_task_state st;
	struct marathon_app *app;
	struct marathon_task *t;
	enum task_class before;
	bool changed = false;
	size_t pos;

	if (a == NULL || u == NULL || u->app_id == NULL || u->task_id == NULL ||
	    (u->has_ports && u->n_ports && u->ports == NULL) ||
	    (u->has_ips && u->n_ips && u->ips == NULL))
		return -EINVAL;
	app = marathon_apps_find(a, u->app_id);
	if (app == NULL)
		return MARATHON_APPLY_REFETCH;
	st = task_state(u->state);
	t = task_find(app, u->task_id, &pos);

	if (task_terminal(st)) {
		if (t == NULL)
			return MARATHON_APPLY_UNCHANGED;
		before = task_class(t->state);
		task_free(t);
		memmove(&app->tasks[pos], &app->tasks[pos + 1],
			(app->n_tasks - pos - 1) * sizeof(*t));
		app->n_tasks--;
		return before != TASK_EXCLUDED ? MARATHON_APPLY_CHANGED : MARATHON_APPLY_UNCHANGED;
	}
	if (t == NULL) {
		if (task_insert(app, pos, u, st))
			return -ENOMEM;
		return task_class(st) != TASK_EXCLUDED ? MARATHON_APPLY_CHANGED
						       : MARATHON_APPLY_UNCHANGED;
	}

	before = task_class(t->state);
	if (u->host != NULL && strcmp(u->host, t->host) != 0) {
		char *h = strdup(u->host);

		if (h == NULL)
			return -ENOMEM;
		free(t->host);
		t->host = h;
		changed = true;
	}
	if (u->has_ports && !ports_equal(t->ports, t->n_ports, u->ports, u->n_ports)) {
		__u16 *p;

		if (copy_ports(u->ports, u->n_ports, &p))
			return -ENOMEM;
		free(t->ports);
		t->ports = p;
		t->n_ports = u->n_ports;
		changed = true;
	}
	if (u->has_ips && !ips_equal(t->ips, t->n_ips, u->ips, u->n_ips)) {
		struct marathon_ip *ip;

		if (copy_ips(u->ips, u->n_ips, &ip))
			return -ENOMEM;
		free(t->ips);
		t->ips = ip;
		t->n_ips = u->n_ips;
		changed = true;
	}
	t->state = st;
	if (before != task_class(st))
		return MARATHON_APPLY_CHANGED;
	/* Address changes of a task that is not a backend change nothing yet. */
	return changed && before != TASK_EXCLUDED ? MARATHON_APPLY_CHANGED
						  : MARATHON_APPLY_UNCHANGED;
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The last 8-4-4-4-12 hex UUID in a task or instance id, or NULL. */
static const char *find_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t n = strlen(s), i, k;

	if (n < 36)
		return NULL;
	for (i = n - 36 + 1; i-- > 0;) {
		for (k = 0; k < 36; k++)
			if (shape[k] == '-' ? s[i + k] != '-' : !is_hex(s[i + k]))
				break;
		if (k == 36)
			return s + i;
	}
	return NULL;
}

/*
 * Marathon 1.4+ reports health per instance, "<app>.marathon-<uuid>", while task ids
 * are "<app>.<uuid>" or "<app>.instance-<uuid>.<container>": the uuid ties them.
 */
static bool task_of_instance(const char *task_id, const char *uuid)
{
	const char *u = find_uuid(task_id);

	return u != NULL && strncasecmp(u, uuid, 36) == 0;
}

int marathon_apply_health(struct marathon_apps *a, const struct marathon_health_update *u)
{
	enum marathon_health h;
	struct marathon_app *app;
	struct marathon_task *t;
	const char *uuid = NULL;
	bool found = false, changed = false;
	size_t pos, i;

	if (a == NULL || u == NULL || u->app_id == NULL ||
	    (u->task_id == NULL && u->instance_id == NULL))
		return -EINVAL;
	app = marathon_apps_find(a, u->app_id);
	if (app == NULL)
		return MARATHON_APPLY_REFETCH;
	h = u->alive ? MARATHON_HEALTH_ALIVE : MARATHON_HEALTH_DEAD;
	if (u->task_id != NULL) {
		t = task_find(app, u->task_id, &pos);
		if (t != NULL) {
			found = true;
			changed = t->health != h && task_class(t->state) != TASK_EXCLUDED;
			t->health = h;
		}
	} else {
		uuid = find_uuid(u->instance_id);
		for (i = 0; uuid != NULL && i < app->n_tasks; i++) {
			t = &app->tasks[i];
			if (!task_of_instance(t->id, uuid))
				continue;
			found = true;
			changed |= t->health != h && task_class(t->state) != TASK_EXCLUDED;
			t->health = h;
		}
	}
	if (!found)
		return u->alive ? MARATHON_APPLY_REFETCH : MARATHON_APPLY_UNCHANGED;
	/* Health only matters for apps with health checks (and --health-check). */
	return changed && app->n_checks > 0 ? MARATHON_APPLY_CHANGED : MARATHON_APPLY_UNCHANGED;
}

/* ==== SHA-1 (Marathon-LB's service port assignment hashes with it) =================== */

struct sha1 {
	uint32_t h[5];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static uint32_t rol(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static void sha1_block(struct sha1 *s, const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = s->h[0];
	b = s->h[1];
	c = s->h[2];
	d = s->h[3];
	e = s->h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

/* The first 32 bits of SHA-1(data), big-endian: int(sha1(data).hexdigest()[:8], 16). */
static uint32_t sha1_prefix32(const char *data, size_t len)
{
	struct sha1 s = { .h = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 } };
	size_t i;

	for (i = 0; i < len; i++) {
		s.buf[s.n++] = data[i];
		if (s.n == 64) {
			sha1_block(&s, s.buf);
			s.n = 0;
		}
	}
	s.len = (uint64_t)len * 8;
	s.buf[s.n++] = 0x80;
	if (s.n > 56) {
		memset(s.buf + s.n, 0, 64 - s.n);
		sha1_block(&s, s.buf);
		s.n = 0;
	}
	memset(s.buf + s.n, 0, 56 - s.n);
	for (i = 0; i < 8; i++)
		s.buf[56 + i] = s.len >> (56 - 8 * i);
	sha1_block(&s, s.buf);
	return s.h[0];
}

/* ==== Services: arena ================================================================ */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

static void *arena_alloc(void **arena, size_t n)
{
	struct arena_chunk *c = *arena;

	n = (n + 15) & ~(size_t)15;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > 64 * 1024 ? n : 64 * 1024;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->next = *arena;
		c->used = 0;
		c->cap = cap;
		*arena = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static char *arena_strdup(void **arena, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = arena_alloc(arena, n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void arena_free(void *arena)
{
	struct arena_chunk *c = arena, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

void marathon_services_free(struct marathon_services *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s->unused_labels);
	arena_free(s->arena);
	memset(s, 0, sizeof(*s));
}

/* ==== Services: build ================================================================ */

struct task_ref {
	const struct marathon_task *t;
	bool draining; /* drained by a deployment group merge */
};

/* One app as Marathon-LB processes it: possibly two apps merged by a deployment group. */
struct view {
	const struct marathon_app *def; /* definition: labels, ports, network, checks */
	const char *id;			/* def->id, or the deployment group ("/" + label) */
	char *id_owned;
	size_t n_tasks;
	struct task_ref *tasks;
};

struct svc_port {
	bool valid;
	__u16 port;
	const struct marathon_port *origin; /* portMappings / portDefinitions entry, or NULL */
};

struct bvec {
	size_t n, cap;
	struct marathon_backend *v; /* task_id borrowed from the model until emitted */
};

struct svc {
	bool used;
	__u32 index;
	__u16 port;
	const struct marathon_port *origin;
	int mode; /* -1 = not decided yet (Marathon-LB's None) */
	bool has_vhost_label;
	const char *vhost;
	bool enabled;
	struct bvec b;
};

struct host_entry {
	int err;
	__u8 family;
	__be32 addr[4];
	bool reported;
};

struct build {
	const struct marathon_options *o;
	struct marathon_problems *probs;
	struct marathon_services *out;
	size_t cap_out;
	struct smap hosts;
	size_t n_host_entries, cap_host_entries;
	struct host_entry *host_entries;
	/* ServicePortAssigner */
	struct smap assigned;	   /* "<task port>:<app id>" -> port + 1 (0 = none) */
	unsigned char *used_ports; /* 65536 bits */
	size_t n_assigned_keys;
};

static int bvec_add(struct bvec *b, const struct marathon_backend *x)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct marathon_backend *nv = realloc(b->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = *x;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * HAPROXY_DEPLOYMENT_STARTED_AT and lastScalingAt, which Marathon-LB reads with
 * dateutil: ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM]" to
 * microseconds; no zone means UTC.
 */
static bool parse_time(const char *s, long long *us)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, zh, zm, i;
	long long frac = 0, scale = 1000000;

	if (strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	s += 10;
	if (*s == 'T' || *s == ' ') {
		if (!digits(s + 1, 2, &h) || s[3] != ':' || !digits(s + 4, 2, &mi) || h > 23 ||
		    mi > 59)
			return false;
		s += 6;
		if (*s == ':') {
			if (!digits(s + 1, 2, &sec) || sec > 60)
				return false;
			s += 3;
			if (*s == '.') {
				for (s++, i = 0; *s >= '0' && *s <= '9'; s++, i++)
					if (i < 6) {
						scale /= 10;
						frac += (*s - '0') * scale;
					}
				if (i == 0)
					return false;
			}
		}
	}
	*us = ((days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + sec) * 1000000 + frac;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;

		if (!digits(s + 1, 2, &zh))
			return false;
		s += 3;
		if (*s == ':')
			s++;
		if (!digits(s, 2, &zm))
			return false;
		s += 2;
		*us -= sign * (zh * 3600LL + zm * 60) * 1000000;
	}
	return *s == '\0';
}

static const char *app_label(const struct marathon_app *a, const char *key)
{
	return label_get(a->labels, a->n_labels, key);
}

static int tref_cmp(const void *pa, const void *pb)
{
	const struct task_ref *a = pa, *b = pb;

	return strcmp(a->t->id, b->t->id);
}

/* A deployment-group label time; datetime.min when absent, and (Baton) when unreadable. */
static long long dg_time(struct build *bd, const struct view *v, const char *key)
{
	const char *s = app_label(v->def, key);
	long long t;

	if (s == NULL)
		return LLONG_MIN;
	if (parse_time(s, &t))
		return t;
	problem_add(bd->probs, v->def->id, NULL, key, "\"%s\" is not an ISO 8601 time", s);
	return LLONG_MIN;
}

/*
 * marathon_lb.py get_apps(), first pass: apps sharing a HAPROXY_DEPLOYMENT_GROUP become
 * one app named after the group (zero-downtime deployments). The older one (by
 * HAPROXY_DEPLOYMENT_STARTED_AT) keeps its definition; the new app's tasks join it,
 * and as many old tasks as there are healthy new instances drain, within what
 * HAPROXY_DEPLOYMENT_TARGET_INSTANCES leaves. Quirks kept on purpose: the health
 * checks looked at are those of the app being merged in ("cur"), and any
 * HAPROXY_DEPLOYMENT_NEW_INSTANCES value counts as set.
 */
static int dg_merge(struct build *bd, struct view *prev, struct view *cur)
{
	struct view *old, *new;
	long long pd = dg_time(bd, prev, "HAPROXY_DEPLOYMENT_STARTED_AT");
	long long cd = dg_time(bd, cur, "HAPROXY_DEPLOYMENT_STARTED_AT");
	long long target = 1, healthy = 0, drainable, ot, nt;
	const char *s;
	struct task_ref *m;
	size_t i, k;

	if (pd < cd) {
		old = prev;
		new = cur;
	} else {
		new = prev;
		old = cur;
	}
	if (app_label(new->def, "HAPROXY_DEPLOYMENT_NEW_INSTANCES") != NULL) {
		const char *ns = new->def->last_scaling_at, *os = old->def->last_scaling_at;
		bool nok = ns != NULL && parse_time(ns, &nt),
		     ook = os != NULL && parse_time(os, &ot);

		/* Marathon-LB would stop on a missing or unreadable time; Baton does not swap. */
		if (ns != NULL && !nok)
			problem_add(bd->probs, new->def->id, NULL, "versionInfo.lastScalingAt",
				    "\"%s\" is not an ISO 8601 time", ns);
		if (os != NULL && !ook)
			problem_add(bd->probs, old->def->id, NULL, "versionInfo.lastScalingAt",
				    "\"%s\" is not an ISO 8601 time", os);
		if (nok && ook && ot > nt) {
			struct view *tmp = old;

			old = new;
			new = tmp;
		}
		s = app_label(new->def, "HAPROXY_DEPLOYMENT_TARGET_INSTANCES");
		if (s == NULL || !label_int(s, 0, 1000000000, &target)) {
			/* Marathon-LB would stop here; Baton drains nothing for this pair. */
			problem_add(bd->probs, new->def->id, NULL,
				    "HAPROXY_DEPLOYMENT_TARGET_INSTANCES",
				    "expected an integer; no task drained");
			target = LLONG_MAX / 4;
		}
	}
	qsort(old->tasks, old->n_tasks, sizeof(old->tasks[0]), tref_cmp);
	if (cur->def->n_checks > 0) {
		for (i = 0; i < new->n_tasks; i++)
			healthy += new->tasks[i].t->health == MARATHON_HEALTH_ALIVE;
	} else {
		healthy = new->def->instances;
	}
	drainable = healthy + (long long)old->def->instances - target;
	if (drainable < 0)
		drainable = 0;
	for (k = 0; k < old->n_tasks && (long long)k < healthy && (long long)k < drainable; k++)
		old->tasks[k].draining = true;

	m = realloc(old->tasks, (old->n_tasks + new->n_tasks + 1) * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	memcpy(m + old->n_tasks, new->tasks, new->n_tasks * sizeof(*m));
	old->tasks = m;
	old->n_tasks += new->n_tasks;
	free(new->tasks);
	new->tasks = NULL;
	new->n_tasks = 0;
	if (old != prev) { /* the merged app takes prev's slot */
		struct view tmp = *prev;

		*prev = *old;
		*cur = tmp;
	}
	return 0;
}

static void view_free(struct view *v)
{
	free(v->tasks);
	free(v->id_owned);
	memset(v, 0, sizeof(*v));
}

static int seq_cmp(const void *pa, const void *pb)
{
	const struct marathon_app *a = *(const struct marathon_app *const *)pa;
	const struct marathon_app *b = *(const struct marathon_app *const *)pb;

	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Builds the views in Marathon-LB's processing order. */
static int make_views(struct build *bd, const struct marathon_apps *a, struct view **out,
		      size_t *n_out)
{
	const struct marathon_app **order;
	struct view *views, *groups;
	struct smap idx = { 0 };
	struct smap_entry *e;
	size_t i, j, nv = 0, ng = 0;
	int err = 0, r;

	*out = NULL;
	*n_out = 0;
	order = malloc((a->n + 1) * sizeof(*order));
	views = calloc(a->n + 1, sizeof(*views));
	groups = calloc(a->n + 1, sizeof(*groups));
	if (order == NULL || views == NULL || groups == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a->n; i++)
		order[i] = &a->v[i];
	qsort(order, a->n, sizeof(*order), seq_cmp);

	for (i = 0; i < a->n; i++) {
		const struct marathon_app *app = order[i];
		const char *dg = app_label(app, "HAPROXY_DEPLOYMENT_GROUP");
		struct view v = { .def = app, .id = app->id };

		v.tasks = malloc((app->n_tasks + 1) * sizeof(*v.tasks));
		if (v.tasks == NULL) {
			err = -ENOMEM;
			goto out;
		}
		for (j = 0; j < app->n_tasks; j++)
			v.tasks[j] = (struct task_ref){ &app->tasks[j], false };
		v.n_tasks = app->n_tasks;
		if (dg != NULL && dg[0] == '\0') {
			/* Marathon-LB fails on it (dg[0]); Baton treats the app as ungrouped. */
			problem_add(bd->probs, app->id, NULL, "HAPROXY_DEPLOYMENT_GROUP",
				    "empty value ignored");
			dg = NULL;
		}
		if (dg == NULL) {
			views[nv++] = v;
			continue;
		}
		v.id_owned = malloc(strlen(dg) + 2);
		if (v.id_owned == NULL) {
			view_free(&v);
			err = -ENOMEM;
			goto out;
		}
		sprintf(v.id_owned, "%s%s", dg[0] == '/' ? "" : "/", dg);
		v.id = v.id_owned;
		r = smap_insert(&idx, v.id, &e);
		if (r < 0) {
			view_free(&v);
			err = r;
			goto out;
		}
		if (r == 1) {
			e->val = ng;
			groups[ng++] = v;
			continue;
		}
		err = dg_merge(bd, &groups[e->val], &v);
		view_free(&v);
		if (err)
			goto out;
	}
	for (i = 0; i < ng; i++)
		views[nv++] = groups[i];
	ng = 0;
	*out = views;
	*n_out = nv;
	views = NULL;
out:
	if (views != NULL)
		for (i = 0; i < nv; i++)
			view_free(&views[i]);
	for (i = 0; i < ng; i++)
		view_free(&groups[i]);
	free(views);
	free(groups);
	free(order);
	smap_free(&idx);
	return err;
}

/* utils.py get_port_definition_ports() / get_port_mapping_ports() / discovery ports. */
static size_t def_ports(const struct marathon_app *a, __u16 *dst)
{
	size_t i, n = 0;

	for (i = 0; i < a->n_port_defs; i++)
		if (a->port_defs[i].has_port)
			dst[n++] = a->port_defs[i].port;
	return n;
}

static size_t map_container_ports(const struct marathon_app *a, __u16 *dst)
{
	size_t i, n = 0;

	for (i = 0; i < a->n_port_maps; i++)
		if (a->port_maps[i].has_container_port)
			dst[n++] = a->port_maps[i].container_port;
	return n;
}

/* utils.py get_app_task_ports(); scratch holds enough for any list of the app. */
static const __u16 *app_task_ports(const struct marathon_app *a, const struct marathon_task *t,
				   __u16 *scratch, size_t *n)
{
	switch (a->mode) {
	case MARATHON_NET_HOST:
		if (t->n_ports > 0) {
			*n = t->n_ports;
			return t->ports;
		}
		*n = def_ports(a, scratch);
		return scratch;
	case MARATHON_NET_BRIDGE:
		if (t->n_ports > 0) {
			*n = t->n_ports;
			return t->ports;
		}
		*n = def_ports(a, scratch);
		if (*n > 0)
			return scratch; /* "Will only work for Marathon < 1.5" */
		*n = map_container_ports(a, scratch);
		return scratch;
	default:
		if (a->n_discovery_ports > 0) {
			*n = a->n_discovery_ports;
			return a->discovery_ports;
		}
		*n = map_container_ports(a, scratch);
		return scratch;
	}
}

/* ServicePortAssigner._get_service_port(): deterministic, clash-free, per build. */
static int assign_port(struct build *bd, const char *app_id, __u16 task_port, struct svc_port *sp)
{
	unsigned min = bd->o->ip_per_task_port_min, max = bd->o->ip_per_task_port_max;
	unsigned max_ports = max - min + 1, i, port = 0;
	char key[32], hs[PATH_MAX_LEN + 64];
	struct smap_entry *e;
	size_t len;
	int r;

	if (bd->used_ports == NULL) {
		bd->used_ports = calloc(65536 / 8, 1);
		if (bd->used_ports == NULL)
			return -ENOMEM;
	}
	snprintf(key, sizeof(key), "%u:", task_port);
	{
		size_t kl = strlen(key), al = strlen(app_id);
		char *k = malloc(kl + al + 1);

		if (k == NULL)
			return -ENOMEM;
		memcpy(k, key, kl);
		memcpy(k + kl, app_id, al + 1);
		r = smap_insert(&bd->assigned, k, &e);
		free(k);
		if (r < 0)
			return r;
	}
	if (r == 0 && e->val != 0) {
		sp->valid = true;
		sp->port = e->val - 1;
		return 0;
	}
	/* "if self.max_ports <= len(self.ports_by_app)", counted before this key */
	if (max_ports <= bd->n_assigned_keys) {
		bd->n_assigned_keys += r == 1; /* the key is kept with None */
		problem_add(bd->probs, app_id, NULL, NULL,
			    "no service port left in %u..%u for task port %u", min, max, task_port);
		return 0;
	}
	for (i = 0; i < 50; i++) {
		unsigned trial;

		len = snprintf(hs, sizeof(hs), "%s-%u-%u", app_id, task_port, i);
		if (len >= sizeof(hs)) {
			char *big = malloc(len + 1);

			if (big == NULL)
				return -ENOMEM;
			snprintf(big, len + 1, "%s-%u-%u", app_id, task_port, i);
			trial = min + sha1_prefix32(big, len) % max_ports;
			free(big);
		} else {
			trial = min + sha1_prefix32(hs, len) % max_ports;
		}
		if (!(bd->used_ports[trial / 8] & (1u << (trial % 8)))) {
			port = trial;
			break;
		}
	}
	for (i = min; port == 0 && i <= max; i++)
		if (!(bd->used_ports[i / 8] & (1u << (i % 8))))
			port = i;
	if (r == 1)
		bd->n_assigned_keys++;
	if (port == 0)
		return 0;
	bd->used_ports[port / 8] |= 1u << (port % 8);
	e->val = port + 1;
	sp->valid = true;
	sp->port = port;
	return 0;
}

/* utils.py ServicePortAssigner.get_service_ports(); *sp is calloc'd. */
static int service_ports(struct build *bd, const struct view *v, struct svc_port **sp, size_t *n)
{
	const struct marathon_app *a = v->def;
	size_t i, k = 0, cap, nt;
	const __u16 *tp;
	__u16 *scratch;
	int err;

	cap = a->n_port_maps + a->n_port_defs + a->n_ports + a->n_discovery_ports + 1;
	*sp = calloc(cap, sizeof(**sp));
	if (*sp == NULL)
		return -ENOMEM;
	if (a->mode != MARATHON_NET_HOST) {
		for (i = 0; i < a->n_port_maps; i++)
			if (a->port_maps[i].has_port)
				(*sp)[k++] = (struct svc_port){ true, a->port_maps[i].port,
								&a->port_maps[i] };
		if (k > 0) {
			*n = k;
			return 0;
		}
	}
	if (a->has_port_defs_field) {
		for (i = 0; i < a->n_port_defs; i++)
			if (a->port_defs[i].has_port)
				(*sp)[k++] = (struct svc_port){ true, a->port_defs[i].port,
								&a->port_defs[i] };
	} else {
		for (i = 0; i < a->n_ports; i++)
			(*sp)[k++] = (struct svc_port){ true, a->ports[i], NULL };
	}
	/* "This supports legacy ip-per-container for Marathon 1.4.x and prior" */
	if (k == 0 && a->mode == MARATHON_NET_CONTAINER && bd->o->ip_per_task_port_min != 0 &&
	    v->n_tasks > 0) {
		scratch = calloc(cap, sizeof(*scratch));
		if (scratch == NULL)
			return -ENOMEM;
		tp = app_task_ports(a, v->tasks[0].t, scratch, &nt);
		if (nt > cap) { /* cannot happen: container mode lists come from the app */
			free(scratch);
			return -EINVAL;
		}
		for (i = 0; i < nt; i++) {
			err = assign_port(bd, v->id, tp[i], &(*sp)[i]);
			if (err) {
				free(scratch);
				return err;
			}
		}
		k = nt;
		free(scratch);
	}
	*n = k;
	return 0;
}

/* marathon_lb.py get_health_check(): the first check with a port, or with portIndex n. */
static const struct marathon_health_check *health_check_for(const struct marathon_app *a, long n)
{
	size_t i;

	for (i = 0; i < a->n_checks; i++) {
		if (a->checks[i].port != 0)
			return &a->checks[i];
		if (a->checks[i].port_index == n)
			return &a->checks[i];
	}
	return NULL;
}

static const char *port_label(const struct view *v, __u32 n, const char *name, char *key)
{
	snprintf(key, 96, "HAPROXY_%u_%s", n, name);
	return app_label(v->def, key);
}

/* The address a task is reached at, or false (problem recorded when worth one). */
static int task_address(struct build *bd, const struct view *v, const struct marathon_task *t,
			__u8 *family, __be32 addr[4], bool *ok)
{
	struct host_entry *he;
	struct smap_entry *e;
	int r;

	*ok = false;
	if (v->def->mode == MARATHON_NET_CONTAINER) {
		if (t->n_ips == 0) {
			problem_add(bd->probs, v->def->id, t->id, "ipAddresses",
				    "IP-per-task app but the task has no address yet; skipped");
			return 0;
		}
		*family = t->ips[0].family;
		memcpy(addr, t->ips[0].addr, 16);
		*ok = true;
		return 0;
	}
	r = smap_insert(&bd->hosts, t->host, &e);
	if (r < 0)
		return r;
	if (r == 1) {
		if (bd->n_host_entries == bd->cap_host_entries) {
			size_t cap = bd->cap_host_entries ? bd->cap_host_entries * 2 : 64;
			struct host_entry *nv = realloc(bd->host_entries, cap * sizeof(*nv));

			if (nv == NULL)
				return -ENOMEM;
			bd->host_entries = nv;
			bd->cap_host_entries = cap;
		}
		e->val = bd->n_host_entries++;
		he = &bd->host_entries[e->val];
		memset(he, 0, sizeof(*he));
		if (text_parse_addr(t->host, &he->family, he->addr))
			he->err = 0;
		else if (bd->o->resolve == NULL)
			he->err = -ENOENT;
		else
			he->err =
				bd->o->resolve(bd->o->resolve_ctx, t->host, &he->family, he->addr);
		if (he->err == 0 && he->family != BATON_FAMILY_V4 && he->family != BATON_FAMILY_V6)
			he->err = -EAFNOSUPPORT;
	}
	he = &bd->host_entries[e->val];
	if (he->err != 0) {
		if (!he->reported)
			problem_add(bd->probs, v->def->id, t->id, "host",
				    "cannot resolve host \"%s\" (%s); its backends are dropped "
				    "(reported once per host)",
				    t->host, strerror(-he->err));
		he->reported = true;
		return 0;
	}
	*family = he->family;
	memcpy(addr, he->addr, 16);
	*ok = true;
	return 0;
}

static bool has_group(const struct marathon_options *o, char **groups, size_t n)
{
	size_t i, j;

	for (i = 0; i < o->n_groups; i++)
		if (strcmp(o->groups[i], "*") == 0)
			return true;
	for (i = 0; i < o->n_groups; i++)
		for (j = 0; j < n; j++)
			if (strcmp(o->groups[i], groups[j]) == 0)
				return true;
	return false;
}

/* Splits s at ',' into arena strings (Python str.split(',')); lower when asked. */
static int split_list(void **arena, const char *s, bool lower, char ***out, size_t *n)
{
	size_t cnt = 1, i = 0, k;
	const char *p, *q;

	for (p = s; *p; p++)
		cnt += *p == ',';
	*out = arena_alloc(arena, cnt * sizeof(char *));
	if (*out == NULL)
		return -ENOMEM;
	for (p = s;; p = q + 1) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		(*out)[i] = arena_alloc(arena, q - p + 1);
		if ((*out)[i] == NULL)
			return -ENOMEM;
		for (k = 0; k < (size_t)(q - p); k++)
			(*out)[i][k] = lower ? tolower((unsigned char)p[k]) : p[k];
		(*out)[i][k] = '\0';
		i++;
		if (*q == '\0')
			break;
	}
	*n = i;
	return 0;
}

static bool vhost_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A VIP_* port label: "10.0.0.5:80", "[2001:db8::5]:80", "/name:80" or "name:80". */
static bool parse_vip(const char *raw, struct marathon_vip *v, char *host, size_t hostcap)
{
	const char *colon = strrchr(raw, ':');
	size_t hl;
	long long port;

	if (colon == NULL || colon == raw || !label_int(colon + 1, 1, 65535, &port))
		return false;
	hl = colon - raw;
	if (hl + 1 > hostcap)
		return false;
	memcpy(host, raw, hl);
	host[hl] = '\0';
	v->port = port;
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, v->addr) != 1)
			return false;
		v->family = BATON_FAMILY_V6;
		return true;
	}
	if (inet_pton(AF_INET, host, v->addr) == 1) {
		v->family = BATON_FAMILY_V4;
		return true;
	}
	if (strchr(host, ':') != NULL || !vhost_ok(host) || strcmp(host, "/") == 0)
		return false;
	v->is_name = true;
	return true;
}

static int emit_vips(struct build *bd, const struct view *v, const struct marathon_port *origin,
		     struct marathon_service *s)
{
	void **arena = &bd->out->arena;
	char host[256];
	size_t i, k = 0;

	if (origin == NULL || origin->n_labels == 0)
		return 0;
	s->vips = arena_alloc(arena, origin->n_labels * sizeof(*s->vips));
	if (s->vips == NULL)
		return -ENOMEM;
	for (i = 0; i < origin->n_labels; i++) {
		const struct marathon_label *l = &origin->labels[i];
		struct marathon_vip *vip = &s->vips[k];

		if (strncmp(l->key, "VIP_", 4) != 0)
			continue;
		memset(vip, 0, sizeof(*vip));
		if (!parse_vip(l->value, vip, host, sizeof(host))) {
			problem_add(bd->probs, v->def->id, NULL, l->key,
				    "port %u: \"%s\" is not \"<address>:<port>\" or "
				    "\"<name>:<port>\"; ignored",
				    s->port_index, l->value);
			continue;
		}
		vip->raw = arena_strdup(arena, l->value);
		if (vip->raw == NULL)
			return -ENOMEM;
		if (vip->is_name) {
			vip->name = arena_strdup(arena, host);
			if (vip->name == NULL)
				return -ENOMEM;
		}
		k++;
	}
	s->n_vips = k;
	return 0;
}

static int backend_cmp(const void *pa, const void *pb)
{
	const struct marathon_backend *a = pa, *b = pb;
	int r = strcmp(a->task_id, b->task_id);

	return r ? r : (a->port > b->port) - (a->port < b->port);
}

static int backend_addr_cmp(const void *pa, const void *pb)
{
	const struct marathon_backend *a = *(const struct marathon_backend *const *)pa;
	const struct marathon_backend *b = *(const struct marathon_backend *const *)pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, 16);
	if (r)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (a > b) - (a < b); /* array order = task id order */
}

/*
 * Sorted by task id. Baton refuses two backends at one address in one service (a
 * Maglev table needs distinct entries); Marathon-LB would list both. The one with the
 * smaller task id stays.
 */
static int finish_backends(struct build *bd, const struct view *v, struct svc *sv)
{
	const struct marathon_backend **ptrs;
	struct marathon_backend *b = sv->b.v;
	size_t i, j, n = sv->b.n;
	char a[INET6_ADDRSTRLEN];

	if (n < 2)
		return 0;
	qsort(b, n, sizeof(*b), backend_cmp);
	ptrs = malloc(n * sizeof(*ptrs));
	if (ptrs == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		ptrs[i] = &b[i];
	qsort(ptrs, n, sizeof(*ptrs), backend_addr_cmp);
	for (i = 1; i < n; i++) {
		if (ptrs[i]->family != ptrs[i - 1]->family ||
		    memcmp(ptrs[i]->addr, ptrs[i - 1]->addr, 16) != 0 ||
		    ptrs[i]->port != ptrs[i - 1]->port)
			continue;
		problem_add(bd->probs, v->def->id, ptrs[i]->task_id, NULL,
			    "port %u: backend %s:%u already used by task \"%s\"; dropped",
			    sv->index, text_fmt_addr(ptrs[i]->family, ptrs[i]->addr, a, sizeof(a)),
			    ptrs[i]->port, ptrs[i - 1]->task_id);
		((struct marathon_backend *)ptrs[i])->weight = UINT32_MAX; /* mark */
		ptrs[i] = ptrs[i - 1];
	}
	free(ptrs);
	for (i = 0, j = 0; i < n; i++)
		if (b[i].weight != UINT32_MAX)
			b[j++] = b[i];
	sv->b.n = j;
	return 0;
}

static int out_reserve(struct build *bd)
{
	struct marathon_services *o = bd->out;

	if (o->n == bd->cap_out) {
		size_t cap = bd->cap_out ? bd->cap_out * 2 : 64;
		struct marathon_service *nv = realloc(o->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		o->v = nv;
		bd->cap_out = cap;
	}
	return 0;
}

/* Label values that configure the service; each bad one is a problem and is ignored. */
/* HAPROXY_{n}_<name> as a boolean into *out (left alone when absent; bad: false). */
static void port_flag(struct build *bd, const struct view *v, __u32 n, const char *name, bool *out)
{
	char key[96];
	const char *val = port_label(v, n, name, key);
	int b;

	if (val == NULL)
		return;
	b = label_bool(val);
	if (b < 0)
		problem_add(bd->probs, v->def->id, NULL, key,
			    "\"%s\" is not a boolean; taken as false", val);
	*out = b == 1;
}

static int apply_labels(struct build *bd, const struct view *v, struct svc *sv,
			struct marathon_service *s, char **app_groups, size_t n_app_groups)
{
	void **arena = &bd->out->arena;
	const char *val, *id = v->def->id;
	char key[96];
	long long x;
	size_t i, k;
	int b;

	s->service_port = sv->port;
	val = port_label(v, sv->index, "PORT", key);
	if (val != NULL) {
		if (label_int(val, 1, 65535, &x))
			s->service_port = x;
		else
			problem_add(bd->probs, id, NULL, key,
				    "\"%s\" is not a port in 1..65535; the service port %u is used",
				    val, sv->port);
	}

	s->bind_all = true;
	val = port_label(v, sv->index, "BIND_ADDR", key);
	if (val != NULL && strcmp(val, "*") != 0 && val[0] != '\0') {
		char tmp[INET6_ADDRSTRLEN + 2];
		size_t l = strlen(val);
		const char *lit = val;

		if (val[0] == '[' && l > 2 && l < sizeof(tmp) && val[l - 1] == ']') {
			memcpy(tmp, val + 1, l - 2);
			tmp[l - 2] = '\0';
			lit = tmp;
		}
		if (!text_parse_addr(lit, &s->bind_family, s->bind_addr))
			/* Listening everywhere instead is what Marathon-LB cannot do either. */
			problem_add(bd->probs, id, NULL, key,
				    "\"%s\" is not an IP address; bound to all addresses", val);
		else if (!((s->bind_family == BATON_FAMILY_V4 && s->bind_addr[0] == 0) ||
			   (s->bind_family == BATON_FAMILY_V6 &&
			    !(s->bind_addr[0] | s->bind_addr[1] | s->bind_addr[2] |
			      s->bind_addr[3]))))
			s->bind_all = false;
	}
	if (s->bind_all) {
		s->bind_family = 0;
		memset(s->bind_addr, 0, sizeof(s->bind_addr));
	}

	val = port_label(v, sv->index, "MODE", key);
	if (val != NULL) {
		if (strcasecmp(val, "tcp") == 0)
			sv->mode = MARATHON_MODE_TCP;
		else if (strcasecmp(val, "http") == 0)
			sv->mode = MARATHON_MODE_HTTP;
		else
			problem_add(bd->probs, id, NULL, key,
				    "\"%s\" is neither \"tcp\" nor \"http\"; ignored", val);
	}

	val = port_label(v, sv->index, "VHOST", key);
	sv->has_vhost_label = val != NULL && val[0] != '\0';
	if (val != NULL) {
		char **vh;
		size_t n;

		if (split_list(arena, val, true, &vh, &n))
			return -ENOMEM;
		for (i = 0, k = 0; i < n; i++) {
			if (!vhost_ok(vh[i])) {
				problem_add(bd->probs, id, NULL, key,
					    "\"%s\": element %zu is empty or has blanks; ignored",
					    val, i);
				continue;
			}
			vh[k++] = vh[i];
		}
		s->vhosts = vh;
		s->n_vhosts = k;
	}

	val = port_label(v, sv->index, "PATH", key);
	if (val != NULL && val[0] != '\0') {
		s->path = arena_strdup(arena, val);
		if (s->path == NULL)
			return -ENOMEM;
	}

	port_flag(bd, v, sv->index, "STICKY", &s->sticky);
	port_flag(bd, v, sv->index, "REDIRECT_TO_HTTPS", &s->redirect_to_https);

	s->balance = NULL;
	val = port_label(v, sv->index, "BALANCE", key);
	if (val != NULL && val[0] == '\0')
		problem_add(bd->probs, id, NULL, key, "empty; \"roundrobin\" is used");
	else if (val != NULL)
		s->balance = arena_strdup(arena, val);
	if (s->balance == NULL)
		s->balance = arena_strdup(arena, "roundrobin");
	if (s->balance == NULL)
		return -ENOMEM;

	/* MarathonService.enabled = not strictMode, then HAPROXY_{n}_ENABLED. */
	sv->enabled = !bd->o->strict_mode;
	val = port_label(v, sv->index, "ENABLED", key);
	if (val != NULL) {
		b = label_bool(val);
		if (b < 0)
			problem_add(bd->probs, id, NULL, key,
				    "\"%s\" is not a boolean; taken as false", val);
		sv->enabled = b == 1;
	}

	/* HAPROXY_{n}_GROUP replaces HAPROXY_GROUP for its port (config(): haproxy_groups). */
	val = port_label(v, sv->index, "GROUP", key);
	if (val != NULL) {
		if (split_list(arena, val, false, &s->groups, &s->n_groups))
			return -ENOMEM;
	} else {
		s->groups = app_groups;
		s->n_groups = n_app_groups;
	}

	/* A port without its own health check may borrow another port's (issue #198). */
	val = port_label(v, sv->index, "BACKEND_HEALTHCHECK_PORT_INDEX", key);
	if (val != NULL) {
		if (!label_int(val, -1000000, 1000000, &x)) {
			problem_add(bd->probs, id, NULL, key, "\"%s\" is not an integer; ignored",
				    val);
		} else if (health_check_for(v->def, sv->index) == NULL) {
			const struct marathon_health_check *hc = health_check_for(v->def, x);

			if (hc != NULL && (hc->protocol == MARATHON_HC_HTTP ||
					   hc->protocol == MARATHON_HC_HTTPS ||
					   hc->protocol == MARATHON_HC_MESOS_HTTP ||
					   hc->protocol == MARATHON_HC_MESOS_HTTPS))
				sv->mode = MARATHON_MODE_HTTP;
		}
	}
	return 0;
}

/* The services of one view (marathon_lb.py get_apps(), second pass, and config()). */
static int build_view(struct build *bd, const struct view *v)
{
	const struct marathon_app *a = v->def;
	void **arena = &bd->out->arena;
	struct svc_port *sp = NULL;
	struct svc *svcs = NULL;
	char **app_groups = NULL;
	size_t n_app_groups = 0, nsp = 0, i, j, k, ntp;
	const char *val;
	__u16 *scratch = NULL;
	int err;

	val = app_label(a, "HAPROXY_GROUP");
	if (val != NULL && split_list(arena, val, false, &app_groups, &n_app_groups))
		return -ENOMEM;
	err = service_ports(bd, v, &sp, &nsp);
	if (err)
		goto out;
	svcs = calloc(nsp + 1, sizeof(*svcs));
	scratch = calloc(a->n_port_maps + a->n_port_defs + 1, sizeof(*scratch));
	if (svcs == NULL || scratch == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nsp; i++) {
		const struct marathon_health_check *hc;

		if (!sp[i].valid)
			continue; /* "Skipping undefined service port" (problem already given) */
		/*
		 * marathon_app.services is a dict keyed by service port: a later index with
		 * the same port replaces an earlier one. Baton keeps that, but the survivor
		 * only gets its own index's task ports.
		 */
		for (j = i + 1; j < nsp; j++)
			if (sp[j].valid && sp[j].port == sp[i].port)
				break;
		if (j < nsp) {
			problem_add(bd->probs, a->id, NULL, NULL,
				    "port %zu: service port %u repeated at port %zu, which wins", i,
				    sp[i].port, j);
			continue;
		}
		svcs[i].used = true;
		svcs[i].index = i;
		svcs[i].port = sp[i].port;
		svcs[i].origin = sp[i].origin;
		hc = health_check_for(a, i);
		/* MarathonService.__init__: only "HTTP" turns the mode to http here. */
		svcs[i].mode =
			hc != NULL && hc->protocol == MARATHON_HC_HTTP ? MARATHON_MODE_HTTP : -1;
	}

	for (k = 0; k < v->n_tasks; k++) {
		const struct marathon_task *t = v->tasks[k].t;
		enum task_class cls = task_class(t->state);
		const __u16 *tp;
		__u8 family;
		__be32 addr[4];
		bool ok;

		/* Marathon 0.7.6 bug workaround: tasks without a host are ignored. */
		if (t->host[0] == '\0') {
			if (cls != TASK_EXCLUDED)
				problem_add(bd->probs, a->id, t->id, "host",
					    "task without a host; skipped");
			continue;
		}
		if (cls == TASK_EXCLUDED)
			continue;
		if (bd->o->health_check && a->n_checks > 0 && t->health != MARATHON_HEALTH_ALIVE)
			continue;
		err = task_address(bd, v, t, &family, addr, &ok);
		if (err)
			goto out;
		if (!ok)
			continue;
		tp = app_task_ports(a, t, scratch, &ntp);
		/* "if different versions of app have different number of ports, try to
		 * match as many ports as possible" */
		for (i = 0; i < ntp && i < nsp; i++) {
			struct marathon_backend b = { 0 };

			if (!svcs[i].used)
				continue;
			if (tp[i] == 0) {
				problem_add(bd->probs, a->id, t->id, "ports",
					    "port %zu: task port 0; backend skipped", i);
				continue;
			}
			b.task_id = t->id;
			b.family = family;
			memcpy(b.addr, addr, 16);
			b.port = tp[i];
			b.draining = v->tasks[k].draining || cls == TASK_DRAINING;
			b.weight = b.draining ? 0 : 1;
			err = bvec_add(&svcs[i].b, &b);
			if (err)
				goto out;
		}
	}

	for (i = 0; i < nsp; i++) {
		struct svc *sv = &svcs[i];
		struct marathon_service s = { 0 };
		__u8 protos;
		int p;

		if (!sv->used)
			continue;
		err = finish_backends(bd, v, sv);
		if (err)
			goto out;
		s.port_index = i;
		err = apply_labels(bd, v, sv, &s, app_groups, n_app_groups);
		if (err)
			goto out;
		if (!has_group(bd->o, s.groups, s.n_groups) || !sv->enabled)
			continue;
		if (sv->b.n == 0 && !bd->o->keep_empty)
			continue; /* "not valid to generate backend without any server entries" */
		if (s.service_port == 0) {
			problem_add(bd->probs, a->id, NULL, NULL,
				    "port %zu: service port 0 and no HAPROXY_%zu_PORT; skipped", i,
				    i);
			continue;
		}
		/* config(): no mode yet -> http with a vhost, else tcp. */
		if (sv->mode < 0)
			sv->mode = sv->has_vhost_label ? MARATHON_MODE_HTTP : MARATHON_MODE_TCP;

		s.app_id = arena_strdup(arena, v->id);
		s.backends = arena_alloc(arena, (sv->b.n + 1) * sizeof(*s.backends));
		if (s.app_id == NULL || s.backends == NULL) {
			err = -ENOMEM;
			goto out;
		}
		for (j = 0; j < sv->b.n; j++) {
			s.backends[j] = sv->b.v[j];
			s.backends[j].task_id = arena_strdup(arena, sv->b.v[j].task_id);
			if (s.backends[j].task_id == NULL) {
				err = -ENOMEM;
				goto out;
			}
		}
		s.n_backends = sv->b.n;
		err = emit_vips(bd, v, sv->origin, &s);
		if (err)
			goto out;

		/*
		 * Marathon-LB ignores the protocol (HAProxy proxies TCP only). Baton honours
		 * it: "udp" is a UDP frontend, "udp,tcp" one of each. UDP has no L7 lane, so
		 * a UDP frontend is always mode tcp.
		 */
		protos = sv->origin ? sv->origin->protocols : MARATHON_PROTO_TCP;
		for (p = 0; p < 2; p++) {
			if (!(protos & (p == 0 ? MARATHON_PROTO_TCP : MARATHON_PROTO_UDP)))
				continue;
			s.protocol = p == 0 ? IPPROTO_TCP : IPPROTO_UDP;
			s.mode = sv->mode;
			if (p == 1 && sv->mode == MARATHON_MODE_HTTP) {
				if (!(protos & MARATHON_PROTO_TCP))
					problem_add(bd->probs, a->id, NULL, NULL,
						    "port %zu: mode http on a UDP port; "
						    "served as tcp",
						    i);
				s.mode = MARATHON_MODE_TCP;
			}
			err = out_reserve(bd);
			if (err)
				goto out;
			bd->out->v[bd->out->n++] = s;
		}
	}
out:
	for (i = 0; svcs != NULL && i < nsp; i++)
		free(svcs[i].b.v);
	free(svcs);
	free(sp);
	free(scratch);
	return err;
}

/* Label names Marathon-LB knows (or that look like its own) and Baton does not use. */
static const char *const acted_app_labels[] = {
	"HAPROXY_GROUP",
	"HAPROXY_DEPLOYMENT_GROUP",
	"HAPROXY_DEPLOYMENT_STARTED_AT",
	"HAPROXY_DEPLOYMENT_TARGET_INSTANCES",
	"HAPROXY_DEPLOYMENT_NEW_INSTANCES",
};

static const char *const acted_port_labels[] = {
	"PORT",
	"BIND_ADDR",
	"MODE",
	"VHOST",
	"PATH",
	"STICKY",
	"BALANCE",
	"ENABLED",
	"GROUP",
	"REDIRECT_TO_HTTPS",
	"BACKEND_HEALTHCHECK_PORT_INDEX",
};

static int str_ptr_cmp(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

static int collect_unused_labels(struct build *bd, const struct marathon_apps *a)
{
	struct marathon_services *o = bd->out;
	struct smap seen = { 0 };
	struct smap_entry *e;
	char name[256];
	size_t i, j, k;
	int r = 0;

	for (i = 0; i < a->n && r >= 0; i++) {
		for (j = 0; j < a->v[i].n_labels && r >= 0; j++) {
			const char *key = a->v[i].labels[j].key, *p;
			bool acted = false;

			if (strncmp(key, "HAPROXY_", 8) != 0)
				continue;
			/* "HAPROXY_<digits>_<name>" is per port, reported as "HAPROXY_{n}_<name>"
			 */
			for (p = key + 8; *p >= '0' && *p <= '9'; p++)
				;
			if (p > key + 8 && *p == '_') {
				p++;
				for (k = 0; k < sizeof(acted_port_labels) / sizeof(char *); k++)
					acted |= strcmp(p, acted_port_labels[k]) == 0;
				snprintf(name, sizeof(name), "HAPROXY_{n}_%s", p);
			} else {
				for (k = 0; k < sizeof(acted_app_labels) / sizeof(char *); k++)
					acted |= strcmp(key, acted_app_labels[k]) == 0;
				snprintf(name, sizeof(name), "%s", key);
			}
			if (!acted)
				r = smap_insert(&seen, name, &e);
		}
	}
	if (r < 0) {
		smap_free(&seen);
		return r;
	}
	o->unused_labels = calloc(seen.n + 1, sizeof(char *));
	if (o->unused_labels == NULL) {
		smap_free(&seen);
		return -ENOMEM;
	}
	for (i = 0; i < seen.cap; i++) {
		if (seen.v[i].key == NULL)
			continue;
		o->unused_labels[o->n_unused_labels] = arena_strdup(&o->arena, seen.v[i].key);
		if (o->unused_labels[o->n_unused_labels++] == NULL) {
			smap_free(&seen);
			return -ENOMEM;
		}
	}
	smap_free(&seen);
	qsort(o->unused_labels, o->n_unused_labels, sizeof(char *), str_ptr_cmp);
	return 0;
}

static int service_cmp(const void *pa, const void *pb)
{
	const struct marathon_service *a = pa, *b = pb;
	int r = strcmp(a->app_id, b->app_id);

	if (r)
		return r;
	if (a->port_index != b->port_index)
		return a->port_index < b->port_index ? -1 : 1;
	return (a->protocol > b->protocol) - (a->protocol < b->protocol);
}

static int frontend_cmp(const void *pa, const void *pb)
{
	const struct marathon_service *a = *(const struct marathon_service *const *)pa;
	const struct marathon_service *b = *(const struct marathon_service *const *)pb;

	if (a->service_port != b->service_port)
		return a->service_port < b->service_port ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	return (a > b) - (a < b); /* output order */
}

static bool frontends_overlap(const struct marathon_service *a, const struct marathon_service *b)
{
	return a->bind_all || b->bind_all ||
	       (a->bind_family == b->bind_family && memcmp(a->bind_addr, b->bind_addr, 16) == 0);
}

/*
 * Two services cannot own one frontend. HAProxy refuses such a config and
 * Marathon-LB then re-adds apps one at a time, keeping the earlier ones; Baton keeps
 * the service that sorts first and reports the others. A service bound to all
 * addresses overlaps every other address on its port and protocol.
 */
static int drop_clashes(struct build *bd)
{
	struct marathon_services *o = bd->out;
	struct marathon_service **p, **kept;
	bool *drop;
	size_t i, j, start, nk;
	int err = 0;

	if (o->n < 2)
		return 0;
	p = malloc(o->n * sizeof(*p));
	kept = malloc(o->n * sizeof(*kept));
	drop = calloc(o->n, sizeof(*drop));
	if (p == NULL || kept == NULL || drop == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < o->n; i++)
		p[i] = &o->v[i];
	qsort(p, o->n, sizeof(*p), frontend_cmp);
	for (start = 0; start < o->n; start = i) {
		for (i = start + 1; i < o->n && p[i]->service_port == p[start]->service_port &&
				    p[i]->protocol == p[start]->protocol;
		     i++)
			;
		nk = 0;
		for (j = start; j < i; j++) {
			size_t m;

			for (m = 0; m < nk; m++)
				if (frontends_overlap(kept[m], p[j]))
					break;
			if (m == nk) {
				kept[nk++] = p[j];
				continue;
			}
			problem_add(
				bd->probs, p[j]->app_id, NULL, NULL,
				"port %u: frontend %s/%u already belongs to app \"%s\" port %u; "
				"dropped",
				p[j]->port_index, p[j]->protocol == IPPROTO_TCP ? "tcp" : "udp",
				p[j]->service_port, kept[m]->app_id, kept[m]->port_index);
			drop[p[j] - o->v] = true;
		}
	}
	for (i = 0, j = 0; i < o->n; i++)
		if (!drop[i])
			o->v[j++] = o->v[i];
	o->n = j;
out:
	free(p);
	free(kept);
	free(drop);
	return err;
}

int marathon_services_build(const struct marathon_apps *a, const struct marathon_options *o,
			    struct marathon_services *out, struct marathon_problems *probs)
{
	struct build bd = { .o = o, .probs = probs, .out = out };
	struct view *views = NULL;
	size_t nv = 0, i;
	int err;

	if (out == NULL || a == NULL || o == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (o->n_groups == 0 || o->groups == NULL) {
		problem_add(probs, NULL, NULL, "groups",
			    "at least one group is needed (\"*\" for all apps)");
		return -EINVAL;
	}
	for (i = 0; i < o->n_groups; i++)
		if (o->groups[i] == NULL) {
			problem_add(probs, NULL, NULL, "groups", "NULL group name");
			return -EINVAL;
		}
	if ((o->ip_per_task_port_min == 0) != (o->ip_per_task_port_max == 0) ||
	    o->ip_per_task_port_min > o->ip_per_task_port_max) {
		problem_add(probs, NULL, NULL, "ip_per_task_port_min",
			    "give both ends of the range, min <= max, or neither");
		return -EINVAL;
	}

	err = make_views(&bd, a, &views, &nv);
	for (i = 0; !err && i < nv; i++) {
		/* "services with appID matching FRAMEWORK_NAME env var will be skipped" */
		if (o->framework_name != NULL && views[i].id[0] != '\0' &&
		    strcmp(views[i].id + 1, o->framework_name) == 0)
			continue;
		err = build_view(&bd, &views[i]);
	}
	if (!err && out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), service_cmp);
	if (!err)
		err = drop_clashes(&bd);
	if (!err)
		err = collect_unused_labels(&bd, a);

	for (i = 0; i < nv; i++)
		view_free(&views[i]);
	free(views);
	smap_free(&bd.hosts);
	smap_free(&bd.assigned);
	free(bd.host_entries);
	free(bd.used_ports);
	if (err)
		marathon_services_free(out);
	return err;
}

/* ==== JSON output ==================================================================== */

static cJSON *string_array(char **v, size_t n)
{
	cJSON *arr = cJSON_CreateArray(), *s;
	size_t i;

	for (i = 0; arr != NULL && i < n; i++) {
		s = cJSON_CreateString(v[i]);
		if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static bool add(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

static cJSON *service_json(const struct marathon_service *s)
{
	cJSON *o = cJSON_CreateObject(), *vips, *bs, *b;
	char a[INET6_ADDRSTRLEN];
	size_t i;
	bool ok;

	if (o == NULL)
		return NULL;
	ok = add(o, "app_id", cJSON_CreateString(s->app_id)) &&
	     add(o, "port_index", cJSON_CreateNumber(s->port_index)) &&
	     add(o, "service_port", cJSON_CreateNumber(s->service_port)) &&
	     add(o, "protocol", cJSON_CreateString(s->protocol == IPPROTO_UDP ? "udp" : "tcp")) &&
	     add(o, "mode", cJSON_CreateString(s->mode == MARATHON_MODE_HTTP ? "http" : "tcp")) &&
	     add(o, "bind_addr",
		 cJSON_CreateString(s->bind_all ? "all"
						: text_fmt_addr(s->bind_family, s->bind_addr, a,
								sizeof(a)))) &&
	     add(o, "vhosts", string_array(s->vhosts, s->n_vhosts)) &&
	     add(o, "path", s->path ? cJSON_CreateString(s->path) : cJSON_CreateNull()) &&
	     add(o, "sticky", cJSON_CreateBool(s->sticky)) &&
	     add(o, "groups", string_array(s->groups, s->n_groups));
	vips = ok ? cJSON_CreateArray() : NULL;
	ok = add(o, "vips", vips);
	for (i = 0; ok && i < s->n_vips; i++)
		ok = cJSON_AddItemToArray(vips, cJSON_CreateString(s->vips[i].raw));
	bs = ok ? cJSON_CreateArray() : NULL;
	ok = ok && add(o, "backends", bs);
	for (i = 0; ok && i < s->n_backends; i++) {
		const struct marathon_backend *x = &s->backends[i];

		b = cJSON_CreateObject();
		ok = b != NULL && cJSON_AddItemToArray(bs, b);
		if (!ok) {
			cJSON_Delete(b);
			break;
		}
		ok = add(b, "address",
			 cJSON_CreateString(text_fmt_addr(x->family, x->addr, a, sizeof(a)))) &&
		     add(b, "port", cJSON_CreateNumber(x->port)) &&
		     add(b, "task_id", cJSON_CreateString(x->task_id)) &&
		     add(b, "weight", cJSON_CreateNumber(x->weight)) &&
		     add(b, "draining", cJSON_CreateBool(x->draining));
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *marathon_services_to_json(const struct marathon_services *s, bool pretty)
{
	cJSON *root, *arr, *item;
	char *text = NULL;
	size_t i;

	if (s == NULL)
		return NULL;
	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	arr = cJSON_CreateArray();
	if (!add(root, "services", arr))
		goto out;
	for (i = 0; i < s->n; i++) {
		item = service_json(&s->v[i]);
		if (item == NULL || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			goto out;
		}
	}
	text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return text;
}
