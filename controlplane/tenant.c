// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* API tenants: the token file, authentication in constant time, scopes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "tenant.h"
#include "text.h"

static const char *const default_public[] = { "/healthz", "/metrics" };

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TENANT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A JSON array of strings, each checked by the caller; -EINVAL names the field. */
static int string_array(const cJSON *arr, const char *field, const char *who, size_t max,
			struct errbuf *e)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(arr))
		return fail(e, -EINVAL, "%s: \"%s\" must be an array of strings", who, field);
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
			return fail(e, -EINVAL, "%s: \"%s\" must hold non-empty strings", who,
				    field);
		if (++n > max)
			return fail(e, -EINVAL, "%s: at most %zu entries in \"%s\"", who, max,
				    field);
	}
	return (int)n;
}

static int parse_token(const cJSON *o, size_t idx, struct tenant *t, struct errbuf *e)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(o, "secret");
	const cJSON *prefixes = cJSON_GetObjectItemCaseSensitive(o, "prefixes");
	const cJSON *pools = cJSON_GetObjectItemCaseSensitive(o, "vip_pools");
	const cJSON *ro = cJSON_GetObjectItemCaseSensitive(o, "read_only");
	const cJSON *it;
	char who[TENANT_NAME_MAX + 32], echo[48];
	size_t len;
	int n;

	if (!cJSON_IsObject(o))
		return fail(e, -EINVAL, "tokens[%zu]: must be an object", idx);
	cJSON_ArrayForEach(it, o) {
		if (strcmp(it->string, "name") && strcmp(it->string, "secret") &&
		    strcmp(it->string, "prefixes") && strcmp(it->string, "vip_pools") &&
		    strcmp(it->string, "read_only"))
			return fail(e, -EINVAL, "tokens[%zu]: unknown field \"%s\"", idx,
				    TEXT_ECHO(it->string, echo));
	}
	if (!cJSON_IsString(name) || !name_ok(name->valuestring))
		return fail(e, -EINVAL, "tokens[%zu]: \"name\" must be 1..%d of [A-Za-z0-9._-]",
			    idx, TENANT_NAME_MAX);
	snprintf(t->name, sizeof(t->name), "%s", name->valuestring);
	snprintf(who, sizeof(who), "token \"%s\"", t->name);
	/* The secret is never quoted back, not even in part. */
	if (!cJSON_IsString(secret))
		return fail(e, -EINVAL, "%s: \"secret\" must be a string", who);
	len = strlen(secret->valuestring);
	if (len < TENANT_SECRET_MIN || len > TENANT_SECRET_MAX || !printable(secret->valuestring))
		return fail(e, -EINVAL, "%s: \"secret\" must be %d..%d printable characters", who,
			    TENANT_SECRET_MIN, TENANT_SECRET_MAX);
	memcpy(t->secret, secret->valuestring, len);
	t->secret_len = len;
	n = string_array(prefixes, "prefixes", who, TENANT_MAX_PREFIXES, e);
	if (n < 0)
		return n;
	if (n == 0)
		return fail(e, -EINVAL, "%s: \"prefixes\" is empty (the token could see nothing)",
			    who);
	cJSON_ArrayForEach(it, prefixes) {
		if (it->valuestring[0] != '/')
			return fail(e, -EINVAL, "%s: prefix \"%s\" must start with '/'", who,
				    TEXT_ECHO(it->valuestring, echo));
		t->prefixes[t->n_prefixes] = strdup(it->valuestring);
		if (t->prefixes[t->n_prefixes] == NULL)
			return -ENOMEM;
		t->n_prefixes++;
	}
	if (pools != NULL) {
		n = string_array(pools, "vip_pools", who, TENANT_MAX_POOLS, e);
		if (n < 0)
			return n;
		cJSON_ArrayForEach(it, pools) {
			char msg[256];

			if (vip_pool_parse(it->valuestring, &t->pools[t->n_pools], msg,
					   sizeof(msg)) < 0)
				return fail(e, -EINVAL, "%s: %s", who, msg);
			t->n_pools++;
		}
	}
	if (ro != NULL && !cJSON_IsBool(ro))
		return fail(e, -EINVAL, "%s: \"read_only\" must be true or false", who);
	t->read_only = cJSON_IsTrue(ro);
	return 0;
}

int tenant_parse(const char *text, size_t len, struct tenant_set *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	const cJSON *tokens, *pub, *it;
	cJSON *root;
	size_t n = 0, i = 0;
	char echo[48];
	int r = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	root = cJSON_ParseWithLengthOpts(text, len, NULL, false);
	if (root == NULL)
		return fail(&e, -EINVAL, "not valid JSON");
	if (!cJSON_IsObject(root)) {
		r = fail(&e, -EINVAL, "must be a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		if (strcmp(it->string, "tokens") && strcmp(it->string, "public")) {
			r = fail(&e, -EINVAL, "unknown field \"%s\"", TEXT_ECHO(it->string, echo));
			goto out;
		}
	}
	tokens = cJSON_GetObjectItemCaseSensitive(root, "tokens");
	if (!cJSON_IsArray(tokens)) {
		r = fail(&e, -EINVAL, "\"tokens\" must be an array");
		goto out;
	}
	n = cJSON_GetArraySize(tokens);
	if (n > TENANT_MAX_TOKENS) {
		r = fail(&e, -EINVAL, "at most %d tokens", TENANT_MAX_TOKENS);
		goto out;
	}
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (out->v == NULL) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, tokens) {
		r = parse_token(it, i, &out->v[i], &e);
		out->n = ++i;
		if (r)
			goto out;
		for (size_t j = 0; j + 1 < i; j++) {
			if (strcmp(out->v[j].name, out->v[i - 1].name) == 0) {
				r = fail(&e, -EINVAL, "token \"%s\" is named twice",
					 out->v[j].name);
				goto out;
			}
			if (out->v[j].secret_len == out->v[i - 1].secret_len &&
			    memcmp(out->v[j].secret, out->v[i - 1].secret, out->v[j].secret_len) ==
				    0) {
				r = fail(&e, -EINVAL, "tokens \"%s\" and \"%s\" share a secret",
					 out->v[j].name, out->v[i - 1].name);
				goto out;
			}
		}
	}
	pub = cJSON_GetObjectItemCaseSensitive(root, "public");
	if (pub != NULL) {
		r = string_array(pub, "public", "file", TENANT_MAX_PUBLIC, &e);
		if (r < 0)
			goto out;
		r = 0;
		cJSON_ArrayForEach(it, pub) {
			if (it->valuestring[0] != '/') {
				r = fail(&e, -EINVAL, "public path \"%s\" must start with '/'",
					 TEXT_ECHO(it->valuestring, echo));
				goto out;
			}
			out->public_paths[out->n_public] = strdup(it->valuestring);
			if (out->public_paths[out->n_public++] == NULL) {
				r = -ENOMEM;
				goto out;
			}
		}
	} else {
		for (i = 0; i < sizeof(default_public) / sizeof(default_public[0]); i++) {
			out->public_paths[out->n_public] = strdup(default_public[i]);
			if (out->public_paths[out->n_public++] == NULL) {
				r = -ENOMEM;
				goto out;
			}
		}
	}
out:
	cJSON_Delete(root); /* the secrets in cJSON's copy are freed unwiped: cJSON owns them */
	if (r)
		tenant_set_free(out);
	return r;
}

int tenant_load_file(const char *path, struct tenant_set *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	char msg[512], *data = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (f == NULL) {
		r = -errno;
		return fail(&e, r, "%s: %s", path, strerror(-r));
	}
	r = config_read_bounded(f, TENANT_FILE_MAX, &data, &len);
	fclose(f);
	if (r)
		return fail(&e, r, "%s: %s", path,
			    r == -EFBIG ? "larger than the limit of 1 MiB" : strerror(-r));
	r = tenant_parse(data, len, out, msg, sizeof(msg));
	explicit_bzero(data, len);
	free(data);
	if (r)
		return fail(&e, r, "%s: %s", path, msg);
	return 0;
}

void tenant_set_free(struct tenant_set *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		for (size_t j = 0; j < ts->v[i].n_prefixes; j++)
			free(ts->v[i].prefixes[j]);
		explicit_bzero(ts->v[i].secret, sizeof(ts->v[i].secret));
	}
	free(ts->v);
	for (size_t i = 0; i < ts->n_public; i++)
		free(ts->public_paths[i]);
	memset(ts, 0, sizeof(*ts));
}

/*
 * Constant time in the secret's content and length: both sides are compared over the
 * full TENANT_SECRET_MAX bytes (the secret is zero padded, the token read as zero past
 * its end), and the length difference is folded into the same accumulator.
 */
static bool secret_equal(const struct tenant *t, const char *token, size_t len)
{
	volatile unsigned char acc = 0;
	size_t l = len > TENANT_SECRET_MAX ? TENANT_SECRET_MAX : len;

	for (size_t i = 0; i < TENANT_SECRET_MAX; i++) {
		unsigned char a = (unsigned char)t->secret[i];
		unsigned char b = i < l ? (unsigned char)token[i] : 0;

		acc |= a ^ b;
	}
	acc |= (unsigned char)((t->secret_len ^ len) | ((t->secret_len ^ len) >> 8) |
			       (len > TENANT_SECRET_MAX));
	return acc == 0;
}

const struct tenant *tenant_authenticate(const struct tenant_set *ts, const char *token, size_t len)
{
	const struct tenant *found = NULL;

	if (ts == NULL || token == NULL)
		return NULL;
	/* Every secret is compared, match or not. */
	for (size_t i = 0; i < ts->n; i++) {
		bool eq = secret_equal(&ts->v[i], token, len);

		if (eq && found == NULL)
			found = &ts->v[i];
	}
	return found;
}

bool tenant_path_public(const struct tenant_set *ts, const char *path)
{
	for (size_t i = 0; i < ts->n_public; i++)
		if (strcmp(ts->public_paths[i], path) == 0)
			return true;
	return false;
}

bool tenant_prefix_match(const char *prefix, const char *app_id)
{
	size_t n = strlen(prefix);

	if (app_id == NULL || strncmp(prefix, app_id, n) != 0)
		return false;
	return n > 0 && (prefix[n - 1] == '/' || app_id[n] == '\0' || app_id[n] == '/');
}

bool tenant_in_scope(const struct tenant *t, const char *app_id)
{
	if (t == NULL)
		return true;
	for (size_t i = 0; i < t->n_prefixes; i++)
		if (tenant_prefix_match(t->prefixes[i], app_id))
			return true;
	return false;
}

const struct tenant *tenant_for_app(const struct tenant_set *ts, const char *app_id)
{
	const struct tenant *best = NULL;
	size_t best_len = 0;

	if (ts == NULL)
		return NULL;
	for (size_t i = 0; i < ts->n; i++) {
		for (size_t j = 0; j < ts->v[i].n_prefixes; j++) {
			size_t l = strlen(ts->v[i].prefixes[j]);

			if (tenant_prefix_match(ts->v[i].prefixes[j], app_id) &&
			    (best == NULL || l > best_len)) {
				best = &ts->v[i];
				best_len = l;
			}
		}
	}
	return best;
}
