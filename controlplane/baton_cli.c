// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * baton: the command line of batond's HTTP API (libcurl + cJSON).
 *
 *   baton [--api URL] [--token-file F] [--json] COMMAND [ARG]
 *     status | services | service NAME | vips | backends [SERVICE]
 *     drain BACKEND [--reason TEXT] | undrain BACKEND
 *
 * Tables for people; --json prints the API's JSON as it came. Exit status: 0 done,
 * 1 the API answered with an error (printed with its reason), 2 usage, 3 the API could
 * not be reached or did not answer with JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#define DEFAULT_API "http://127.0.0.1:9090"
#define MAX_ANSWER (64u << 20)
#define MAX_COLS 10

enum {
	EXIT_API = 1,
	EXIT_USAGE = 2,
	EXIT_REACH = 3
};

struct buf {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;
	char *p;

	if (b->len + add > MAX_ANSWER) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->p, b->len + add + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, add);
	b->p = p;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

struct cli {
	const char *api;
	char *token;
	bool json;
	long timeout;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: baton [--api URL] [--token-file FILE] [--json] COMMAND [ARG]\n\n"
		"Commands:\n"
		"  status                 batond, Marathon, maps, XDP program\n"
		"  services               every service the token may see\n"
		"  service NAME           one service with its backends (/web:0, /web, web4)\n"
		"  vips                   VIP_n labels: address, name, conflicts and refusals\n"
		"  backends [SERVICE]     backends with weights, drains and counters\n"
		"  drain BACKEND [--reason TEXT]   no new flows to ADDRESS:PORT (or a task id);\n"
		"                         open flows continue; kept until undrained\n"
		"  undrain BACKEND        lift an operator drain\n\n"
		"Options:\n"
		"  --api URL              batond's API (default $BATON_API or %s)\n"
		"  --token-file FILE      bearer token, first line of FILE (default "
		"$BATON_TOKEN_FILE)\n"
		"  --json                 print the API's JSON instead of a table\n"
		"  --timeout SEC          give up after SEC seconds (default 10)\n\n"
		"Exit status: 0 done, 1 the API refused (error printed), 2 usage, 3 the API\n"
		"could not be reached or did not answer with JSON.\n",
		DEFAULT_API);
}

static int read_token(const char *path, char **out)
{
	char line[1024];
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		fprintf(stderr, "baton: cannot read the token file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		fprintf(stderr, "baton: the token file %s is empty\n", path);
		return -1;
	}
	*out = strdup(line);
	return *out ? 0 : -1;
}

/* One request; *code the HTTP status, *root the parsed JSON. Returns 0 or EXIT_REACH. */
static int call(const struct cli *c, const char *method, const char *path, const char *body,
		long *code, cJSON **root, struct buf *raw)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *auth = NULL;
	CURLcode rc;
	int ret = 0;

	*root = NULL;
	memset(raw, 0, sizeof(*raw));
	if (h == NULL || asprintf(&url, "%s%s", c->api, path) < 0)
		return EXIT_REACH;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, raw);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->token != NULL && asprintf(&auth, "Authorization: Bearer %s", c->token) >= 0)
		hdrs = curl_slist_append(hdrs, auth);
	if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "baton: %s: %s\n", c->api,
			raw->too_big ? "answer too large" : curl_easy_strerror(rc));
		ret = EXIT_REACH;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	*root = raw->p ? cJSON_ParseWithLength(raw->p, raw->len) : NULL;
	if (*root == NULL) {
		fprintf(stderr, "baton: %s%s answered HTTP %ld without JSON\n", c->api, path,
			*code);
		ret = EXIT_REACH;
	}
out:
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(url);
	return ret;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool flag(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A number cell, "-" when the API has none (null). */
static char *num_cell(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	char *s = NULL;

	if (!cJSON_IsNumber(v))
		return strdup("-");
	if (asprintf(&s, "%.0f", v->valuedouble) < 0)
		return NULL;
	return s;
}

/* ---- aligned tables ---- */

struct table {
	size_t cols, rows, cap;
	char **cell; /* rows x cols, row 0 the header */
};

static void t_row(struct table *t, ...)
{
	va_list ap;

	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cell = realloc(t->cell, t->cap * t->cols * sizeof(*t->cell));
		if (t->cell == NULL)
			exit(EXIT_REACH);
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->cols; i++) {
		char *s = va_arg(ap, char *); /* owned */

		t->cell[t->rows * t->cols + i] = s ? s : strdup("?");
	}
	va_end(ap);
	t->rows++;
}

static void t_print(struct table *t)
{
	size_t w[MAX_COLS] = {};

	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->cols; c++) {
			size_t l = strlen(t->cell[r * t->cols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++) {
			const char *s = t->cell[r * t->cols + c];

			if (c + 1 == t->cols)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[c], s);
			free(t->cell[r * t->cols + c]);
		}
	}
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

static char *dup(const char *s)
{
	return strdup(s);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* ---- commands ---- */

static void show_status(const cJSON *o)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "marathon");
	const cJSON *maps = cJSON_GetObjectItemCaseSensitive(o, "maps");
	const cJSON *xdp = cJSON_GetObjectItemCaseSensitive(o, "xdp");
	const cJSON *vips = cJSON_GetObjectItemCaseSensitive(o, "vips");
	const cJSON *it;
	struct table t = { .cols = 2 };

	t_row(&t, dup("version"), fmt("%s (ABI %.0f)", str(o, "version"), num(o, "abi_version")));
	t_row(&t, dup("mode"), dup(str(o, "mode")));
	if (cJSON_IsObject(m)) {
		const cJSON *lag = cJSON_GetObjectItemCaseSensitive(m, "event_lag_ms");

		t_row(&t, dup("marathon"),
		      fmt("%s %s", flag(m, "connected") ? "connected to" : "NOT connected, trying",
			  str(m, "url")));
		t_row(&t, dup("apps"), fmt("%.0f", num(m, "apps")));
		t_row(&t, dup("last full sync"), dup(str(m, "last_full_sync")));
		if (cJSON_IsNumber(lag))
			t_row(&t, dup("last event"),
			      fmt("%s (lag %.0f ms)", str(m, "last_event"), lag->valuedouble));
		else
			t_row(&t, dup("last event"), dup(str(m, "last_event")));
		it = cJSON_GetObjectItemCaseSensitive(m, "counters");
		t_row(&t, dup("sync"),
		      fmt("%.0f fetches applied, %.0f refused, %.0f fetch errors; %.0f events "
			  "applied, %.0f bad; %.0f apply errors",
			  num(it, "fetches_applied"), num(it, "fetches_refused"),
			  num(it, "fetch_errors"), num(it, "events_applied"), num(it, "events_bad"),
			  num(it, "apply_errors")));
	}
	cJSON_ArrayForEach(it, maps) {
		if (cJSON_IsObject(it))
			t_row(&t, fmt("map %s", it->string),
			      fmt("%.0f / %.0f (%.1f %%)", num(it, "used"), num(it, "capacity"),
				  100 * num(it, "fill")));
	}
	t_row(&t, dup("flows active"), fmt("%.0f", num(maps, "flows_active")));
	t_row(&t, dup("xdp program"), num_cell(xdp, "program_id"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(xdp, "interfaces")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "program_id");

		t_row(&t, fmt("interface %s", str(it, "name")),
		      cJSON_IsNumber(id) ? fmt("program %.0f, %s", id->valuedouble, str(it, "mode"))
					 : dup("no XDP program attached"));
	}
	t_row(&t, dup("services"), fmt("%.0f", num(o, "services")));
	t_row(&t, dup("operator drains"), fmt("%.0f", num(o, "drains")));
	if (cJSON_IsObject(vips))
		t_row(&t, dup("vip labels"),
		      fmt("%.0f ok, %.0f conflict, %.0f refused, %.0f bad, %.0f exhausted/no pool",
			  num(vips, "ok"), num(vips, "conflict"), num(vips, "refused"),
			  num(vips, "bad_label"), num(vips, "exhausted") + num(vips, "no_pool")));
	t_row(&t, dup("token"), dup(flag(o, "auth") ? str(o, "token") : "(API open)"));
	t_print(&t);
}

static void show_services(const cJSON *arr)
{
	struct table t = { .cols = 8 };
	const cJSON *s;

	t_row(&t, dup("SERVICE"), dup("PROTO"), dup("FRONTENDS"), dup("BACKENDS"), dup("DRAINED"),
	      dup("ACTIVE"), dup("NEW_FLOWS"), dup("BYTES"));
	cJSON_ArrayForEach(s, arr) {
		const cJSON *fe;
		char *fes = strdup(""), *n;

		cJSON_ArrayForEach(fe, cJSON_GetObjectItemCaseSensitive(s, "frontends")) {
			n = fmt("%s%s%s%s", fes, fes[0] ? "," : "", str(fe, "address"),
				flag(fe, "vip") ? "(vip)" : "");
			free(fes);
			fes = n;
		}
		t_row(&t, dup(str(s, "name")), dup(str(s, "protocol")), fes,
		      fmt("%.0f/%.0f", num(s, "backends_serving"), num(s, "backends_total")),
		      fmt("%.0f", num(s, "backends_drained")), num_cell(s, "active_flows"),
		      num_cell(s, "new_flows"), num_cell(s, "bytes"));
	}
	t_print(&t);
}

static void show_backends(const cJSON *arr)
{
	struct table t = { .cols = 8 };
	const cJSON *b;

	t_row(&t, dup("BACKEND"), dup("SERVICE"), dup("TASK"), dup("WEIGHT"), dup("STATE"),
	      dup("ACTIVE"), dup("NEW_FLOWS"), dup("BYTES"));
	cJSON_ArrayForEach(b, arr) {
		const char *state = flag(b, "drained")	   ? "drained"
				    : flag(b, "draining")  ? "draining"
				    : num(b, "weight") > 0 ? "serving"
							   : "weight 0";

		t_row(&t, dup(str(b, "id")), dup(str(b, "service")), dup(str(b, "task_id")),
		      fmt("%.0f", num(b, "weight")), dup(state), num_cell(b, "active_flows"),
		      num_cell(b, "new_flows"), num_cell(b, "bytes"));
	}
	t_print(&t);
}

static void show_vips(const cJSON *arr)
{
	struct table t = { .cols = 6 };
	const cJSON *v;

	t_row(&t, dup("APP"), dup("LABEL"), dup("STATUS"), dup("ADDRESS"), dup("NAME"),
	      dup("REASON"));
	cJSON_ArrayForEach(v, arr) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "address");

		t_row(&t, fmt("%s:%.0f", str(v, "app_id"), num(v, "port_index")),
		      dup(str(v, "label")), dup(str(v, "status")),
		      cJSON_IsString(a) ? fmt(strchr(a->valuestring, ':') ? "[%s]:%.0f" : "%s:%.0f",
					      a->valuestring, num(v, "port"))
					: dup("-"),
		      dup(str(v, "hostname")), dup(str(v, "reason")));
	}
	t_print(&t);
}

static char *escape(const char *s)
{
	CURL *h = curl_easy_init();
	char *e = h ? curl_easy_escape(h, s, 0) : NULL, *r = e ? strdup(e) : NULL;

	curl_free(e);
	curl_easy_cleanup(h);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { .api = getenv("BATON_API"), .timeout = 10 };
	const char *token_file = getenv("BATON_TOKEN_FILE"), *cmd, *arg = NULL, *reason = NULL;
	char *path = NULL, *body = NULL, *esc = NULL;
	const char *method = "GET";
	struct buf raw;
	cJSON *root = NULL;
	long code = 0;
	int o, ret;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			c.api = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'T':
			c.timeout = strtol(optarg, NULL, 10);
			if (c.timeout <= 0) {
				fprintf(stderr, "baton: --timeout: a number of seconds\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	/* "drain BACKEND --reason TEXT": options after the command too. */
	while (optind < argc) {
		if (strcmp(argv[optind], "--reason") == 0 && optind + 1 < argc) {
			reason = argv[optind + 1];
			optind += 2;
		} else if (strcmp(argv[optind], "--json") == 0) {
			c.json = true;
			optind++;
		} else if (arg == NULL) {
			arg = argv[optind++];
		} else {
			fprintf(stderr, "baton: unexpected argument \"%s\"\n", argv[optind]);
			return EXIT_USAGE;
		}
	}
	if (c.api == NULL || c.api[0] == '\0')
		c.api = DEFAULT_API;
	if (token_file != NULL && token_file[0] && read_token(token_file, &c.token) < 0)
		return EXIT_USAGE;
	if (arg != NULL && (esc = escape(arg)) == NULL)
		return EXIT_REACH;

	if (strcmp(cmd, "status") == 0 && arg == NULL) {
		path = strdup("/v1/status");
	} else if (strcmp(cmd, "services") == 0 && arg == NULL) {
		path = strdup("/v1/services");
	} else if (strcmp(cmd, "service") == 0 && arg != NULL) {
		path = fmt("/v1/services/%s", esc);
	} else if (strcmp(cmd, "vips") == 0 && arg == NULL) {
		path = strdup("/v1/vips");
	} else if (strcmp(cmd, "backends") == 0) {
		path = arg ? fmt("/v1/backends?service=%s", esc) : strdup("/v1/backends");
	} else if ((strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0) && arg != NULL) {
		cJSON *b = cJSON_CreateObject();

		method = "POST";
		path = fmt("/v1/backends/%s/%s", esc, cmd);
		if (reason != NULL)
			cJSON_AddStringToObject(b, "reason", reason);
		body = cJSON_PrintUnformatted(b);
		cJSON_Delete(b);
	} else {
		fprintf(stderr, "baton: unknown command or missing argument: %s\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = call(&c, method, path, body, &code, &root, &raw);
	if (ret == 0 && c.json)
		fwrite(raw.p, 1, raw.len, stdout);
	if (ret == 0 && code / 100 != 2) {
		if (!c.json)
			fprintf(stderr, "baton: HTTP %ld %s: %s\n", code, str(root, "error"),
				str(root, "reason"));
		ret = EXIT_API;
	} else if (ret == 0 && !c.json) {
		if (strcmp(cmd, "status") == 0)
			show_status(root);
		else if (strcmp(cmd, "services") == 0)
			show_services(cJSON_GetObjectItemCaseSensitive(root, "services"));
		else if (strcmp(cmd, "service") == 0) {
			cJSON *arr = cJSON_CreateArray();

			cJSON_AddItemReferenceToArray(arr, root);
			show_services(arr);
			cJSON_Delete(arr);
			printf("\n");
			show_backends(cJSON_GetObjectItemCaseSensitive(root, "backends"));
		} else if (strcmp(cmd, "vips") == 0)
			show_vips(cJSON_GetObjectItemCaseSensitive(root, "vips"));
		else if (strcmp(cmd, "backends") == 0)
			show_backends(cJSON_GetObjectItemCaseSensitive(root, "backends"));
		else {
			const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(root, "services"), *s;

			printf("%s %s%s", str(root, "id"),
			       flag(root, "changed")
				       ? (strcmp(cmd, "drain") == 0 ? "drained" : "undrained")
				       : (strcmp(cmd, "drain") == 0 ? "was already drained"
								    : "was not drained"),
			       cJSON_GetArraySize(svcs) ? " (services:" : "\n");
			cJSON_ArrayForEach(s, svcs)
				printf(" %s", cJSON_IsString(s) ? s->valuestring : "?");
			if (cJSON_GetArraySize(svcs))
				printf(")\n");
		}
	}
	cJSON_Delete(root);
	free(raw.p);
	free(path);
	free(esc);
	cJSON_free(body);
	if (c.token != NULL) {
		explicit_bzero(c.token, strlen(c.token));
		free(c.token);
	}
	curl_global_cleanup();
	return ret;
}
