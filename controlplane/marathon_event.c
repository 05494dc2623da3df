// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon event decoder. Each event is parsed with cJSON, every field read is
 * type-checked, copied into struct marathon_event, and the tree is deleted once.
 * Unknown fields are ignored (Marathon adds fields between versions); a field that is
 * read and is wrong fails the whole event with one message, because acting on half an
 * event (a task without its address, say) is worse than skipping it and letting the
 * periodic full fetch repair the state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>

#include "baton_abi.h"
#include "text.h"
#include "marathon_event.h"

#define LABEL_MAX 384
#define ECHO_MAX 48 /* outside text quoted back in a message */

static const struct {
	const char *type;
	enum marathon_ev_kind kind;
} kinds[] = {
	{ "status_update_event", MARATHON_EV_STATUS_UPDATE },
	{ "health_status_changed_event", MARATHON_EV_HEALTH_CHANGED },
	{ "instance_health_changed_event", MARATHON_EV_HEALTH_CHANGED },
	{ "api_post_event", MARATHON_EV_APP_CHANGED },
	{ "app_terminated_event", MARATHON_EV_APP_CHANGED },
	{ "group_change_success", MARATHON_EV_APP_CHANGED },
	{ "deployment_info", MARATHON_EV_APP_CHANGED },
	{ "deployment_success", MARATHON_EV_APP_CHANGED },
	{ "deployment_failed", MARATHON_EV_APP_CHANGED },
	{ "deployment_step_success", MARATHON_EV_APP_CHANGED },
	{ "deployment_step_failure", MARATHON_EV_APP_CHANGED },
	{ "event_stream_attached", MARATHON_EV_STREAM_ATTACHED },
	{ "event_stream_detached", MARATHON_EV_STREAM_DETACHED },
};

static enum marathon_ev_kind kind_of(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i].type) == 0)
			return kinds[i].kind;
	return MARATHON_EV_OTHER;
}

const char *marathon_ev_kind_name(enum marathon_ev_kind kind)
{
	switch (kind) {
	case MARATHON_EV_STATUS_UPDATE:
		return "status_update";
	case MARATHON_EV_HEALTH_CHANGED:
		return "health_changed";
	case MARATHON_EV_APP_CHANGED:
		return "app_changed";
	case MARATHON_EV_STREAM_ATTACHED:
		return "stream_attached";
	case MARATHON_EV_STREAM_DETACHED:
		return "stream_detached";
	case MARATHON_EV_OTHER:
		return "other";
	}
	return "?";
}

enum marathon_ev_task_state marathon_ev_task_state_parse(const char *s)
{
	static const struct {
		const char *name;
		enum marathon_ev_task_state state;
	} states[] = {
		{ "TASK_STAGING", MARATHON_EV_TASK_STAGING },
		{ "TASK_STARTING", MARATHON_EV_TASK_STARTING },
		{ "TASK_RUNNING", MARATHON_EV_TASK_RUNNING },
		{ "TASK_KILLING", MARATHON_EV_TASK_KILLING },
		{ "TASK_FINISHED", MARATHON_EV_TASK_FINISHED },
		{ "TASK_FAILED", MARATHON_EV_TASK_FAILED },
		{ "TASK_KILLED", MARATHON_EV_TASK_KILLED },
		{ "TASK_ERROR", MARATHON_EV_TASK_ERROR },
		{ "TASK_LOST", MARATHON_EV_TASK_LOST },
		{ "TASK_DROPPED", MARATHON_EV_TASK_DROPPED },
		{ "TASK_UNREACHABLE", MARATHON_EV_TASK_UNREACHABLE },
		{ "TASK_GONE", MARATHON_EV_TASK_GONE },
		{ "TASK_GONE_BY_OPERATOR", MARATHON_EV_TASK_GONE_BY_OPERATOR },
		{ "TASK_UNKNOWN", MARATHON_EV_TASK_UNKNOWN },
	};
	size_t i;

	if (s == NULL)
		return MARATHON_EV_TASK_UNRECOGNIZED;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(s, states[i].name) == 0)
			return states[i].state;
	return MARATHON_EV_TASK_UNRECOGNIZED;
}

/* Present and not null. */
static bool given(const cJSON *it)
{
	return it != NULL && !cJSON_IsNull(it);
}

/*
 * Copies the string field name of obj into dst[size]. Absent or null: dst stays "" and
 * the call fails only when required. Empty strings count as absent for required fields.
 */
static int get_str(const cJSON *obj, const char *name, bool required, char *dst, size_t size,
		   const char *label, struct errbuf *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t len;

	dst[0] = '\0';
	if (!given(it)) {
		if (required)
			return fail(e, -EINVAL, "%s: missing required field \"%s\"", label, name);
		return 0;
	}
	if (!cJSON_IsString(it))
		return fail(e, -EINVAL, "%s: field \"%s\": expected a string", label, name);
	len = strlen(it->valuestring);
	if (len == 0 && required)
		return fail(e, -EINVAL, "%s: field \"%s\": empty", label, name);
	if (len >= size)
		return fail(e, -EINVAL, "%s: field \"%s\": %zu bytes, longer than the limit of %zu",
			    label, name, len, size - 1);
	memcpy(dst, it->valuestring, len + 1);
	return 0;
}

/* The first field of names[] that is present (not null), or NULL. */
static const cJSON *first_given(const cJSON *obj, const char *const *names, size_t n, size_t *which)
{
	const cJSON *it;
	size_t i;

	for (i = 0; i < n; i++) {
		it = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
		if (given(it)) {
			*which = i;
			return it;
		}
	}
	return NULL;
}

/* Optional boolean; null or absent gives -1. */
static int get_bool(const cJSON *obj, const char *name, bool required, int *out, const char *label,
		    struct errbuf *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = -1;
	if (!given(it)) {
		if (required)
			return fail(e, -EINVAL, "%s: missing required field \"%s\"", label, name);
		return 0;
	}
	if (!cJSON_IsBool(it))
		return fail(e, -EINVAL, "%s: field \"%s\": expected true or false", label, name);
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return 0;
}

static int get_ports(const cJSON *obj, struct marathon_event *ev, const char *label,
		     struct errbuf *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "ports"), *it;
	double v;

	if (!given(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(e, -EINVAL, "%s: field \"ports\": expected an array", label);
	cJSON_ArrayForEach(it, arr) {
		if (ev->n_ports == MARATHON_EV_MAX_PORTS)
			return fail(e, -EINVAL, "%s: field \"ports\": more than %u ports", label,
				    MARATHON_EV_MAX_PORTS);
		v = cJSON_IsNumber(it) ? it->valuedouble : -1;
		/* JSON numbers are doubles: only exact integers in range; also rejects NaN. */
		if (!(v >= 0 && v <= 65535) || (double)(__u16)v != v)
			return fail(
				e, -EINVAL,
				"%s: field \"ports\" entry %zu: expected an integer in 0..65535",
				label, ev->n_ports);
		ev->ports[ev->n_ports++] = (__u16)v;
	}
	return 0;
}

static int get_ips(const cJSON *obj, struct marathon_event *ev, const char *label, struct errbuf *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "ipAddresses"), *it;
	char elabel[LABEL_MAX + 48], tmp[ECHO_MAX], proto[16];
	struct marathon_ev_ip *ip;
	int err;

	if (!given(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(e, -EINVAL, "%s: field \"ipAddresses\": expected an array", label);
	cJSON_ArrayForEach(it, arr) {
		if (ev->n_ips == MARATHON_EV_MAX_IPS)
			return fail(e, -EINVAL, "%s: field \"ipAddresses\": more than %u entries",
				    label, MARATHON_EV_MAX_IPS);
		snprintf(elabel, sizeof(elabel), "%s: ipAddresses entry %zu", label, ev->n_ips);
		if (!cJSON_IsObject(it))
			return fail(e, -EINVAL, "%s: expected an object", elabel);
		ip = &ev->ips[ev->n_ips];
		err = get_str(it, "ipAddress", true, ip->text, sizeof(ip->text), elabel, e);
		if (err)
			return err;
		/* Only type-checked: the address itself says which family it is. */
		err = get_str(it, "protocol", false, proto, sizeof(proto), elabel, e);
		if (err)
			return err;
		memset(ip->addr, 0, sizeof(ip->addr));
		if (inet_pton(AF_INET, ip->text, ip->addr) == 1)
			ip->family = BATON_FAMILY_V4;
		else if (inet_pton(AF_INET6, ip->text, ip->addr) == 1)
			ip->family = BATON_FAMILY_V6;
		else
			return fail(
				e, -EINVAL,
				"%s: field \"ipAddress\": \"%s\" is not an IPv4 or IPv6 address",
				elabel, TEXT_ECHO(ip->text, tmp));
		ev->n_ips++;
	}
	return 0;
}

/* "status_update_event" or "status_update_event for app \"/foo\"", for messages. */
static void set_label(char *label, const struct marathon_event *ev)
{
	char tmp[ECHO_MAX];

	if (ev->app_id[0] != '\0')
		snprintf(label, LABEL_MAX, "%s for app \"%s\"", ev->type,
			 TEXT_ECHO(ev->app_id, tmp));
	else
		snprintf(label, LABEL_MAX, "%s", ev->type);
}

/* Reads an app id first, so later messages can name the app. */
static int get_app_id(const cJSON *root, const char *name, bool required, struct marathon_event *ev,
		      char *label, struct errbuf *e)
{
	int err = get_str(root, name, required, ev->app_id, sizeof(ev->app_id), label, e);

	if (err)
		return err;
	set_label(label, ev);
	return 0;
}

static int parse_status_update(const cJSON *root, struct marathon_event *ev, char *label,
			       struct errbuf *e)
{
	int err;

	err = get_app_id(root, "appId", true, ev, label, e);
	if (!err)
		err = get_str(root, "taskId", true, ev->task_id, sizeof(ev->task_id), label, e);
	if (!err)
		err = get_str(root, "taskStatus", true, ev->task_status, sizeof(ev->task_status),
			      label, e);
	if (!err)
		err = get_str(root, "host", false, ev->host, sizeof(ev->host), label, e);
	if (!err)
		err = get_ports(root, ev, label, e);
	if (!err)
		err = get_ips(root, ev, label, e);
	if (!err)
		err = get_str(root, "version", false, ev->version, sizeof(ev->version), label, e);
	if (err)
		return err;
	ev->task_state = marathon_ev_task_state_parse(ev->task_status);
	return 0;
}

static int parse_health_status(const cJSON *root, struct marathon_event *ev, char *label,
			       struct errbuf *e)
{
	static const char *const ids[] = { "taskId", "instanceId" };
	size_t which;
	int err;

	err = get_app_id(root, "appId", true, ev, label, e);
	if (err)
		return err;
	if (first_given(root, ids, 2, &which) == NULL)
		return fail(e, -EINVAL, "%s: missing required field \"taskId\" or \"instanceId\"",
			    label);
	err = get_str(root, "taskId", false, ev->task_id, sizeof(ev->task_id), label, e);
	if (!err)
		err = get_str(root, "instanceId", false, ev->instance_id, sizeof(ev->instance_id),
			      label, e);
	if (!err && ev->task_id[0] == '\0' && ev->instance_id[0] == '\0')
		err = fail(e, -EINVAL, "%s: field \"%s\": empty", label, ids[which]);
	if (!err)
		err = get_bool(root, "alive", true, &ev->alive, label, e);
	if (!err)
		err = get_str(root, "version", false, ev->version, sizeof(ev->version), label, e);
	return err;
}

static int parse_instance_health(const cJSON *root, struct marathon_event *ev, char *label,
				 struct errbuf *e)
{
	int err;

	err = get_app_id(root, "runSpecId", true, ev, label, e);
	if (!err)
		err = get_str(root, "instanceId", true, ev->instance_id, sizeof(ev->instance_id),
			      label, e);
	if (!err)
		err = get_bool(root, "healthy", false, &ev->alive, label, e);
	if (!err)
		err = get_str(root, "runSpecVersion", false, ev->version, sizeof(ev->version),
			      label, e);
	return err;
}

static int parse_api_post(const cJSON *root, struct marathon_event *ev, char *label,
			  struct errbuf *e)
{
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "appDefinition");

	if (!given(def))
		return 0;
	if (!cJSON_IsObject(def))
		return fail(e, -EINVAL, "%s: field \"appDefinition\": expected an object", label);
	return get_app_id(def, "id", false, ev, label, e);
}

static int parse_deployment(const cJSON *root, struct marathon_event *ev, char *label,
			    struct errbuf *e)
{
	const cJSON *plan = cJSON_GetObjectItemCaseSensitive(root, "plan");
	int err;

	err = get_str(root, "id", false, ev->deployment_id, sizeof(ev->deployment_id), label, e);
	if (err || ev->deployment_id[0] != '\0' || !given(plan))
		return err;
	if (!cJSON_IsObject(plan))
		return fail(e, -EINVAL, "%s: field \"plan\": expected an object", label);
	return get_str(plan, "id", false, ev->deployment_id, sizeof(ev->deployment_id), label, e);
}

static int parse_stream(const cJSON *root, struct marathon_event *ev, char *label, struct errbuf *e)
{
	static const char *const names[] = { "remoteAddress", "clientIp" };
	size_t which;

	if (first_given(root, names, 2, &which) == NULL)
		return 0;
	return get_str(root, names[which], false, ev->host, sizeof(ev->host), label, e);
}

static int parse_fields(const cJSON *root, struct marathon_event *ev, struct errbuf *e)
{
	char label[LABEL_MAX];
	int err;

	set_label(label, ev);
	if (strcmp(ev->type, "status_update_event") == 0)
		err = parse_status_update(root, ev, label, e);
	else if (strcmp(ev->type, "health_status_changed_event") == 0)
		err = parse_health_status(root, ev, label, e);
	else if (strcmp(ev->type, "instance_health_changed_event") == 0)
		err = parse_instance_health(root, ev, label, e);
	else if (strcmp(ev->type, "app_terminated_event") == 0)
		err = get_app_id(root, "appId", true, ev, label, e);
	else if (strcmp(ev->type, "api_post_event") == 0)
		err = parse_api_post(root, ev, label, e);
	else if (strcmp(ev->type, "group_change_success") == 0)
		err = get_app_id(root, "groupId", false, ev, label, e);
	else if (strncmp(ev->type, "deployment_", strlen("deployment_")) == 0)
		err = parse_deployment(root, ev, label, e);
	else if (ev->kind == MARATHON_EV_STREAM_ATTACHED || ev->kind == MARATHON_EV_STREAM_DETACHED)
		err = parse_stream(root, ev, label, e);
	else
		err = 0;
	if (err)
		return err;
	return get_str(root, "timestamp", false, ev->timestamp, sizeof(ev->timestamp), label, e);
}

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Sets ev->type from the JSON "eventType" (when sse_type is NULL) or checks it agrees. */
static int check_event_type(const cJSON *root, struct marathon_event *ev, bool from_json,
			    struct errbuf *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "eventType");
	char tmp[ECHO_MAX], tmp2[ECHO_MAX];
	size_t len;

	if (!given(it)) {
		if (from_json)
			return fail(
				e, -EINVAL,
				"event without an SSE type: missing required field \"eventType\"");
		return 0;
	}
	if (!cJSON_IsString(it))
		return fail(e, -EINVAL, "%s: field \"eventType\": expected a string",
			    from_json ? "event without an SSE type" : ev->type);
	if (!from_json) {
		if (strcmp(it->valuestring, ev->type) != 0)
			return fail(
				e, -EINVAL,
				"%s: field \"eventType\": \"%s\" differs from the SSE event type",
				ev->type, TEXT_ECHO(it->valuestring, tmp));
		return 0;
	}
	len = strlen(it->valuestring);
	if (len == 0 || len > MARATHON_EV_TYPE_MAX)
		return fail(e, -EINVAL, "field \"eventType\": \"%s\": expected 1..%u bytes",
			    TEXT_ECHO(it->valuestring, tmp2), MARATHON_EV_TYPE_MAX);
	memcpy(ev->type, it->valuestring, len + 1);
	ev->kind = kind_of(ev->type);
	return 0;
}

int marathon_event_parse(const char *type, size_t type_len, const char *data, size_t data_len,
			 struct marathon_event *out, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct marathon_event ev;
	bool from_json;
	const char *end = NULL;
	char tmp[ECHO_MAX];
	cJSON *root;
	size_t pos;
	char *buf;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || (type == NULL && type_len > 0) || (data == NULL && data_len > 0))
		return fail(&e, -EINVAL, "invalid arguments");
	/* On failure *out stays like this: nothing to act on. */
	memset(out, 0, sizeof(*out));
	out->kind = MARATHON_EV_OTHER;
	out->alive = -1;
	memset(&ev, 0, sizeof(ev));
	ev.alive = -1;

	from_json = type == NULL || type_len == 0 ||
		    (type_len == strlen("message") && memcmp(type, "message", type_len) == 0);
	if (!from_json) {
		if (type_len > MARATHON_EV_TYPE_MAX || memchr(type, '\0', type_len) != NULL)
			return fail(&e, -EINVAL, "event type \"%s\": expected 1..%u bytes",
				    text_echo(type, type_len, tmp, sizeof(tmp)),
				    MARATHON_EV_TYPE_MAX);
		memcpy(ev.type, type, type_len);
		ev.kind = kind_of(ev.type);
		if (ev.kind == MARATHON_EV_OTHER) {
			*out = ev;
			return 0;
		}
	}

	/*
	 * A NUL-terminated private copy: some cJSON releases read past the given length
	 * on malformed input (CVE-2023-53154), and the terminator stops them.
	 */
	buf = malloc(data_len + 1);
	if (buf == NULL)
		return fail(&e, -ENOMEM, "out of memory");
	if (data_len > 0)
		memcpy(buf, data, data_len);
	buf[data_len] = '\0';

	for (pos = 0; pos < data_len && json_space(buf[pos]); pos++)
		;
	if (pos == data_len) {
		free(buf);
		return fail(&e, -EINVAL, "%s: invalid JSON: empty data",
			    from_json ? "event without an SSE type" : ev.type);
	}
	root = cJSON_ParseWithLengthOpts(buf, data_len, &end, 0);
	if (root == NULL) {
		pos = end != NULL && end >= buf && end <= buf + data_len ? (size_t)(end - buf) : 0;
		free(buf);
		return fail(&e, -EINVAL, "%s: invalid JSON at byte %zu",
			    from_json ? "event without an SSE type" : ev.type, pos);
	}
	for (pos = end - buf; pos < data_len && json_space(buf[pos]); pos++)
		;
	free(buf);
	if (pos < data_len) {
		cJSON_Delete(root);
		return fail(&e, -EINVAL,
			    "%s: invalid JSON: unexpected data after the object at byte %zu",
			    from_json ? "event without an SSE type" : ev.type, pos);
	}

	if (!cJSON_IsObject(root))
		r = fail(&e, -EINVAL, "%s: expected a JSON object",
			 from_json ? "event without an SSE type" : ev.type);
	else
		r = check_event_type(root, &ev, from_json, &e);
	if (!r && ev.kind != MARATHON_EV_OTHER)
		r = parse_fields(root, &ev, &e);
	cJSON_Delete(root);
	if (r)
		return r;
	*out = ev;
	return 0;
}
