// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests for controlplane/marathon_event.c: every Marathon doc example and every
 * captured event of the fixtures decodes with the values read from those files (the
 * captured streams go through the SSE parser first), and bad inputs fail with -EINVAL
 * and a message naming the field and, when known, the app.
 *
 * Usage: test_marathon_event [FIXTURES_DIR]; $BATON_FIXTURES wins over the argument.
 * Missing fixtures: exit 77 (skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fixtures.h"
#include <cjson/cJSON.h>

#include "baton_abi.h"
#include "marathon_event.h"
#include "sse.h"

static char events_dir[4096];

/* ---- helpers ---- */

static char *read_fixture(const char *name, size_t *len)
{
	return fixture_read(events_dir, name, len);
}

/* Test JSON is written with single quotes for readability; this swaps them. */
static char *dq(const char *s)
{
	char *r = strdup(s), *p;

	assert_non_null(r);
	for (p = r; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

/* Decodes type + JSON (single quotes), returns the result; message in err. */
static int decode(const char *type, const char *json, struct marathon_event *ev, char *err,
		  size_t errlen)
{
	char *j = dq(json);
	int r = marathon_event_parse(type, type ? strlen(type) : 0, j, strlen(j), ev, err, errlen);

	free(j);
	return r;
}

static void decode_ok(const char *type, const char *json, struct marathon_event *ev)
{
	char err[512] = "";
	int r = decode(type, json, ev, err, sizeof(err));

	if (r != 0)
		fail_msg("%s %s: %d: %s", type, json, r, err);
}

/* -EINVAL and a message holding each of the given parts. */
static void decode_bad(const char *type, const char *json, const char *part1, const char *part2)
{
	struct marathon_event ev;
	char err[512] = "";
	int r = decode(type, json, &ev, err, sizeof(err));

	if (r != -EINVAL)
		fail_msg("%s %s: got %d, expected -EINVAL", type ? type : "(null)", json, r);
	if (strstr(err, part1) == NULL || (part2 != NULL && strstr(err, part2) == NULL))
		fail_msg("%s %s: message \"%s\" lacks \"%s\"%s%s", type ? type : "(null)", json,
			 err, part1, part2 ? " or " : "", part2 ? part2 : "");
	/* Nothing to act on after a failure. */
	assert_int_equal(ev.kind, MARATHON_EV_OTHER);
	assert_int_equal(ev.alive, -1);
	assert_string_equal(ev.app_id, "");
	assert_int_equal(ev.n_ports, 0);
}

static void check_v4(const struct marathon_ev_ip *ip, const char *text, __u32 host_order)
{
	assert_string_equal(ip->text, text);
	assert_int_equal(ip->family, BATON_FAMILY_V4);
	assert_int_equal(ip->addr[0], htonl(host_order));
	assert_int_equal(ip->addr[1] | ip->addr[2] | ip->addr[3], 0);
}

/* A doc example: the type is its file name. Also decoded through "message" + eventType. */
static void decode_doc(const char *type, struct marathon_event *ev)
{
	struct marathon_event ev2;
	char name[256], err[512] = "";
	size_t len;
	char *b;
	int r;

	snprintf(name, sizeof(name), "marathon-docs_event-bus/%s.json", type);
	b = read_fixture(name, &len);
	r = marathon_event_parse(type, strlen(type), b, len, ev, err, sizeof(err));
	if (r != 0)
		fail_msg("%s: %d: %s", name, r, err);
	assert_string_equal(ev->type, type);
	r = marathon_event_parse("message", 7, b, len, &ev2, err, sizeof(err));
	if (r != 0)
		fail_msg("%s as \"message\": %d: %s", name, r, err);
	/* OTHER events are not parsed when the SSE type names them, only via eventType. */
	if (ev->kind != MARATHON_EV_OTHER)
		assert_memory_equal(ev, &ev2, sizeof(*ev));
	else
		assert_int_equal(ev2.kind, MARATHON_EV_OTHER);
	free(b);
}

/* ---- doc examples ---- */

static void test_docs_kinds(void **state)
{
	static const struct {
		const char *type;
		enum marathon_ev_kind kind;
	} docs[] = {
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
		{ "add_health_check_event", MARATHON_EV_OTHER },
		{ "remove_health_check_event", MARATHON_EV_OTHER },
		{ "failed_health_check_event", MARATHON_EV_OTHER },
		{ "framework_message_event", MARATHON_EV_OTHER },
		{ "group_change_failed", MARATHON_EV_OTHER },
		{ "instance_changed_event", MARATHON_EV_OTHER },
		{ "pod_created_event", MARATHON_EV_OTHER },
		{ "pod_updated_event", MARATHON_EV_OTHER },
		{ "pod_deleted_event", MARATHON_EV_OTHER },
		{ "subscribe_event", MARATHON_EV_OTHER },
		{ "unsubscribe_event", MARATHON_EV_OTHER },
		{ "unhealthy_instance_kill_event", MARATHON_EV_OTHER },
		{ "unhealthy_task_kill_event", MARATHON_EV_OTHER },
		{ "unknown_instance_terminated_event", MARATHON_EV_OTHER },
	};
	const size_t n_docs = sizeof(docs) / sizeof(docs[0]);
	char dir[sizeof(events_dir) + 64], type[256];
	struct marathon_event ev;
	struct dirent *de;
	size_t i, l, seen = 0;
	DIR *d;

	/* Every file of the directory is in the table: a new example fails here first. */
	snprintf(dir, sizeof(dir), "%s/marathon-docs_event-bus", events_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(type, sizeof(type), "%.*s", (int)(l - 5), de->d_name);
		for (i = 0; i < n_docs; i++)
			if (strcmp(docs[i].type, type) == 0)
				break;
		if (i == n_docs)
			fail_msg("doc example %s is not in the table", de->d_name);
		decode_doc(type, &ev);
		if (ev.kind != docs[i].kind)
			fail_msg("%s: kind %s, expected %s", type, marathon_ev_kind_name(ev.kind),
				 marathon_ev_kind_name(docs[i].kind));
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n_docs);
}

static void test_docs_status_update(void **state)
{
	struct marathon_event ev;

	decode_doc("status_update_event", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_STATUS_UPDATE);
	assert_string_equal(ev.app_id, "/my-app");
	assert_string_equal(ev.task_id, "my-app_0-1396592784349");
	assert_string_equal(ev.instance_id, "");
	assert_string_equal(ev.task_status, "TASK_RUNNING");
	assert_int_equal(ev.task_state, MARATHON_EV_TASK_RUNNING);
	assert_string_equal(ev.host, "slave-1234.acme.org");
	assert_int_equal(ev.n_ports, 1);
	assert_int_equal(ev.ports[0], 31372);
	assert_int_equal(ev.n_ips, 0);
	assert_int_equal(ev.alive, -1);
	assert_string_equal(ev.version, "2014-04-04T06:26:23.051Z");
	assert_string_equal(ev.timestamp, "2014-03-01T23:29:30.158Z");
	assert_string_equal(ev.deployment_id, "");
}

static void test_docs_health(void **state)
{
	struct marathon_event ev;
	char err[256];
	size_t len;
	char *b;

	/* Marathon >= 1.4: instanceId. */
	decode_doc("health_status_changed_event", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_HEALTH_CHANGED);
	assert_string_equal(ev.app_id, "/my-app");
	assert_string_equal(ev.instance_id, "my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c");
	assert_string_equal(ev.task_id, "");
	assert_int_equal(ev.alive, 1);
	assert_string_equal(ev.version, "2014-04-04T06:26:23.051Z");
	assert_int_equal(ev.task_state, MARATHON_EV_TASK_NONE);

	/* Marathon < 1.4: taskId, here with alive false. */
	b = read_fixture("marathon-consul_health_status_changed_alive_false.json", &len);
	assert_int_equal(marathon_event_parse("health_status_changed_event", 27, b, len, &ev, err,
					      sizeof(err)),
			 0);
	free(b);
	assert_int_equal(ev.kind, MARATHON_EV_HEALTH_CHANGED);
	assert_string_equal(ev.app_id, "/test/app");
	assert_string_equal(ev.task_id, "test_app.1");
	assert_string_equal(ev.instance_id, "");
	assert_int_equal(ev.alive, 0);
	assert_string_equal(ev.version, "2015-12-07T09:02:48.981Z");
	assert_string_equal(ev.timestamp, "2015-12-07T09:33:50.069Z");

	decode_doc("instance_health_changed_event", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_HEALTH_CHANGED);
	assert_string_equal(ev.app_id, "/app-id");
	assert_string_equal(ev.instance_id, "my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c");
	assert_string_equal(ev.task_id, "");
	assert_int_equal(ev.alive, 1);
	assert_string_equal(ev.version, "2014-03-01T23:29:30.158Z");

	/* healthy may be null (no health checks): unknown. */
	decode_ok("instance_health_changed_event",
		  "{'instanceId':'a.instance-1','runSpecId':'/a','healthy':null}", &ev);
	assert_int_equal(ev.alive, -1);
	decode_ok("instance_health_changed_event",
		  "{'instanceId':'a.instance-1','runSpecId':'/a','healthy':false}", &ev);
	assert_int_equal(ev.alive, 0);
}

static void test_docs_app_changed(void **state)
{
	struct marathon_event ev;

	decode_doc("api_post_event", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(ev.app_id, "/my-app");
	assert_string_equal(ev.timestamp, "2014-03-01T23:29:30.158Z");
	assert_int_equal(ev.n_ports, 0); /* appDefinition.ports is not a task's ports */

	decode_doc("app_terminated_event", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(ev.app_id, "/my-app");

	decode_doc("group_change_success", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(ev.app_id, "/product-a/backend");

	decode_doc("deployment_info", &ev);
	assert_string_equal(ev.deployment_id, "867ed450-f6a8-4d33-9b0e-e11c5513990b");
	decode_doc("deployment_success", &ev);
	assert_string_equal(ev.deployment_id, "867ed450-f6a8-4d33-9b0e-e11c5513990b");
	decode_doc("deployment_failed", &ev);
	assert_string_equal(ev.deployment_id, "867ed450-f6a8-4d33-9b0e-e11c5513990b");
	decode_doc("deployment_step_success", &ev);
	assert_string_equal(ev.deployment_id, "867ed450-f6a8-4d33-9b0e-e11c5513990b");
	decode_doc("deployment_step_failure", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(ev.deployment_id, "867ed450-f6a8-4d33-9b0e-e11c5513990b");
	assert_int_equal(ev.alive, -1);
}

static void test_docs_stream(void **state)
{
	struct marathon_event ev;

	decode_doc("event_stream_attached", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_STREAM_ATTACHED);
	assert_string_equal(ev.host, "1.2.3.4");
	assert_string_equal(ev.timestamp, "2014-03-01T23:29:30.158Z");
	decode_doc("event_stream_detached", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_STREAM_DETACHED);
	assert_string_equal(ev.host, "1.2.3.4");
}

/* The map eventType -> payload of marathon-event-bus-mock (1.4; deployment_* real). */
static void test_event_bus_mock(void **state)
{
	struct marathon_event ev, via_json;
	const cJSON *it;
	size_t len, n = 0;
	char err[512];
	cJSON *root;
	char *b, *js;
	int r;

	b = read_fixture("event-bus-mock_exampleEvents-1.4.json", &len);
	root = cJSON_ParseWithLength(b, len);
	assert_non_null(root);
	cJSON_ArrayForEach(it, root) {
		js = cJSON_PrintUnformatted(it);
		assert_non_null(js);
		r = marathon_event_parse(it->string, strlen(it->string), js, strlen(js), &ev, err,
					 sizeof(err));
		if (r != 0)
			fail_msg("%s: %d: %s", it->string, r, err);
		assert_string_equal(ev.type, it->string);
		r = marathon_event_parse(NULL, 0, js, strlen(js), &via_json, err, sizeof(err));
		if (r != 0)
			fail_msg("%s without SSE type: %d: %s", it->string, r, err);
		assert_string_equal(via_json.type, it->string);
		assert_int_equal(via_json.kind, ev.kind);

		if (strcmp(it->string, "deployment_success") == 0) {
			assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
			assert_string_equal(ev.deployment_id,
					    "f223e02f-09af-49b4-9d6e-428abf09b15d");
			assert_string_equal(ev.timestamp, "2017-06-01T17:06:02.039Z");
		} else if (strcmp(it->string, "deployment_info") == 0) {
			assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
			assert_string_equal(ev.deployment_id,
					    "f223e02f-09af-49b4-9d6e-428abf09b15d");
			assert_string_equal(ev.timestamp, "2017-06-01T17:06:01.751Z");
		} else if (strcmp(it->string, "health_status_changed_event") == 0) {
			assert_int_equal(ev.kind, MARATHON_EV_HEALTH_CHANGED);
			assert_string_equal(ev.instance_id,
					    "my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c");
			assert_int_equal(ev.alive, 1);
		} else if (strcmp(it->string, "status_update_event") == 0) {
			assert_int_equal(ev.kind, MARATHON_EV_STATUS_UPDATE);
			assert_string_equal(ev.task_id, "my-app_0-1396592784349");
			assert_int_equal(ev.ports[0], 31372);
		} else if (strcmp(it->string, "unhealthy_task_kill_event") == 0 ||
			   strcmp(it->string, "failed_health_check_event") == 0 ||
			   strcmp(it->string, "group_change_failed") == 0) {
			assert_int_equal(ev.kind, MARATHON_EV_OTHER);
		}
		free(js);
		n++;
	}
	assert_int_equal(n, 17);
	cJSON_Delete(root);
	free(b);
}

/* ---- captured streams: SSE parser, then the decoder ---- */

struct decoded {
	struct marathon_event ev[64];
	size_t n;
};

static int decode_cb(void *ctx, const struct sse_event *sev)
{
	struct decoded *d = ctx;
	char err[512] = "";
	int r;

	assert_true(d->n < 64);
	r = marathon_event_parse(sev->type, sev->type_len, sev->data, sev->data_len, &d->ev[d->n],
				 err, sizeof(err));
	if (r != 0)
		fail_msg("event %zu (%s): %d: %s", d->n, sev->type, r, err);
	d->n++;
	return 0;
}

/* Strips spaces at line starts when asked (the contrail capture is indented). */
static void decode_stream(const char *name, bool strip_indent, struct decoded *d)
{
	struct sse_parser p;
	size_t len, i, o = 0;
	char *b = read_fixture(name, &len);

	if (strip_indent) {
		for (i = 0; i < len; i++)
			if (b[i] != ' ' || !(i == 0 || b[i - 1] == '\n'))
				b[o++] = b[i];
		len = o;
	}
	memset(d, 0, sizeof(*d));
	assert_int_equal(sse_parser_init(&p, 1024 * 1024, decode_cb, d), 0);
	assert_int_equal(sse_parser_feed(&p, b, len), 0);
	sse_parser_free(&p);
	free(b);
}

static void test_stream_zdd_lab(void **state)
{
	size_t i, counts[MARATHON_EV_OTHER + 1] = { 0 };
	struct decoded *d = malloc(sizeof(*d));
	const struct marathon_event *ev;

	assert_non_null(d);
	decode_stream("zdd-lab_event-bus-log-base-min-over.txt", false, d);
	assert_int_equal(d->n, 25);
	for (i = 0; i < d->n; i++)
		counts[d->ev[i].kind]++;
	assert_int_equal(counts[MARATHON_EV_STATUS_UPDATE], 16);
	assert_int_equal(counts[MARATHON_EV_HEALTH_CHANGED], 4);
	/* deployment_info, group_change_success, api_post_event, deployment_step_success */
	assert_int_equal(counts[MARATHON_EV_APP_CHANGED], 4);
	assert_int_equal(counts[MARATHON_EV_OTHER], 1); /* add_health_check_event */

	ev = &d->ev[0];
	assert_string_equal(ev->type, "deployment_info");
	assert_string_equal(ev->deployment_id, "d36e08e3-a92c-4bbc-a32b-92649229acd1");
	assert_string_equal(d->ev[1].type, "add_health_check_event");
	assert_string_equal(d->ev[2].app_id, "/zdd");
	assert_string_equal(d->ev[3].app_id, "/zdd/base-min-over");

	ev = &d->ev[4];
	assert_int_equal(ev->kind, MARATHON_EV_STATUS_UPDATE);
	assert_string_equal(ev->app_id, "/zdd/base-min-over");
	assert_string_equal(ev->task_id, "zdd_base-min-over.c475e0d3-9141-11e6-aae4-3a4b79075094");
	assert_string_equal(ev->task_status, "TASK_KILLING");
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_KILLING);
	assert_string_equal(ev->host, "10.0.3.192");
	assert_int_equal(ev->n_ips, 1);
	check_v4(&ev->ips[0], "10.0.3.192", 0x0a0003c0);
	assert_int_equal(ev->n_ports, 1);
	assert_int_equal(ev->ports[0], 18107);
	assert_string_equal(ev->version, "2016-10-13T12:36:48.366Z");
	assert_string_equal(ev->timestamp, "2016-10-13T13:31:39.088Z");

	/* TASK_STAGING: ports known, no ipAddresses yet. */
	ev = &d->ev[6];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_STAGING);
	assert_string_equal(ev->task_id, "zdd_base-min-over.5ed13e24-9149-11e6-aae4-3a4b79075094");
	assert_string_equal(ev->host, "10.0.3.193");
	assert_int_equal(ev->n_ips, 0);
	assert_int_equal(ev->n_ports, 1);
	assert_int_equal(ev->ports[0], 16643);

	ev = &d->ev[8];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_RUNNING);
	assert_string_equal(ev->task_id, "zdd_base-min-over.5ed13e24-9149-11e6-aae4-3a4b79075094");
	check_v4(&ev->ips[0], "10.0.3.193", 0x0a0003c1);

	/* Pre-1.4 health: taskId, alive true. */
	ev = &d->ev[9];
	assert_int_equal(ev->kind, MARATHON_EV_HEALTH_CHANGED);
	assert_string_equal(ev->app_id, "/zdd/base-min-over");
	assert_string_equal(ev->task_id, "zdd_base-min-over.5ed13e24-9149-11e6-aae4-3a4b79075094");
	assert_string_equal(ev->instance_id, "");
	assert_int_equal(ev->alive, 1);
	assert_string_equal(ev->timestamp, "2016-10-13T13:31:46.710Z");

	ev = &d->ev[11];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_KILLED);
	assert_string_equal(ev->task_id, "zdd_base-min-over.b5689380-9141-11e6-aae4-3a4b79075094");
	assert_int_equal(ev->ports[0], 31419);

	ev = &d->ev[24];
	assert_string_equal(ev->type, "deployment_step_success");
	assert_string_equal(ev->deployment_id, "d36e08e3-a92c-4bbc-a32b-92649229acd1");
	free(d);
}

static void test_stream_others(void **state)
{
	struct decoded *d = malloc(sizeof(*d));
	const struct marathon_event *ev;

	assert_non_null(d);
	/* The RAML example: attached, TASK_FAILED, TASK_RUNNING. */
	decode_stream("marathon-docs_events.txt", false, d);
	assert_int_equal(d->n, 3);
	assert_int_equal(d->ev[0].kind, MARATHON_EV_STREAM_ATTACHED);
	assert_string_equal(d->ev[0].host, "0:0:0:0:0:0:0:1");
	ev = &d->ev[1];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_FAILED);
	assert_string_equal(ev->app_id, "/foo");
	assert_string_equal(ev->task_id, "foo.0664256e-6771-11e5-94e1-be5b2935a987");
	assert_string_equal(ev->host, "srv5.hw.ca1.mesosphere.com");
	assert_int_equal(ev->n_ports, 1);
	assert_int_equal(ev->ports[0], 31776);
	ev = &d->ev[2];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_RUNNING);
	assert_string_equal(ev->app_id, "/test-app");
	assert_int_equal(ev->ports[0], 31182);
	assert_string_equal(ev->version, "2015-09-11T22:11:03.156Z");

	/* Real CRLF bytes. */
	decode_stream("async-worker_single-event.txt", false, d);
	assert_int_equal(d->n, 1);
	assert_int_equal(d->ev[0].kind, MARATHON_EV_STREAM_ATTACHED);
	assert_string_equal(d->ev[0].host, "172.18.0.1");
	assert_string_equal(d->ev[0].timestamp, "2018-09-03T18:03:45.685Z");

	/* Every SSE type lost to the blank lines: the JSON eventType names them. */
	decode_stream("async-worker_multi-event-blanklines-in-between.txt", false, d);
	assert_int_equal(d->n, 4);
	assert_string_equal(d->ev[0].type, "group_change_success");
	assert_int_equal(d->ev[0].kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(d->ev[0].app_id, "/asgard-dev");
	assert_string_equal(d->ev[1].type, "api_post_event");
	assert_string_equal(d->ev[1].app_id, "/asgard-dev/bla");
	ev = &d->ev[2];
	assert_int_equal(ev->kind, MARATHON_EV_STATUS_UPDATE);
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_KILLED);
	assert_string_equal(ev->task_id, "asgard-dev_bla.0139427f-b042-11e8-9638-0242ac12001f");
	assert_string_equal(ev->host, "172.18.0.51");
	assert_int_equal(ev->n_ips, 1);
	check_v4(&ev->ips[0], "172.17.0.4", 0xac110004);
	assert_int_equal(ev->ports[0], 30989);
	assert_string_equal(d->ev[3].type, "instance_changed_event");
	assert_int_equal(d->ev[3].kind, MARATHON_EV_OTHER);

	/* A pod task on a virtual network: an IP, no ports. Indentation stripped; the
	 * last event lacks its blank line, so two of the three are complete. */
	decode_stream("contrail-specs_pod-events.txt", true, d);
	assert_int_equal(d->n, 2);
	ev = &d->ev[0];
	assert_int_equal(ev->task_state, MARATHON_EV_TASK_KILLING);
	assert_string_equal(ev->app_id, "/pod-with-virtual-network");
	assert_string_equal(ev->task_id, "pod-with-virtual-network.instance-f575f481-caa6-11e8-"
					 "a129-70b3d5800001.sleep1");
	assert_string_equal(ev->host, "192.168.65.111");
	assert_int_equal(ev->n_ports, 0);
	assert_int_equal(ev->n_ips, 1);
	check_v4(&ev->ips[0], "9.0.1.3", 0x09000103);
	assert_string_equal(d->ev[1].type, "instance_changed_event");
	assert_int_equal(d->ev[1].kind, MARATHON_EV_OTHER);

	decode_stream("gradle-marathon-deployer_deployment_success.txt", false, d);
	assert_int_equal(d->n, 1);
	assert_int_equal(d->ev[0].kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(d->ev[0].deployment_id, "bc7b0fbd-a9ad-4045-85bd-41fbad569abe");
	assert_string_equal(d->ev[0].timestamp, "2016-09-04T17:48:50.775Z");
	free(d);
}

/* ---- bad inputs ---- */

static void test_bad_json(void **state)
{
	struct marathon_event ev;
	char err[256];
	size_t len, cut;
	char *b;

	decode_bad("status_update_event", "{", "invalid JSON", NULL);
	decode_bad("status_update_event", "{'appId':}", "invalid JSON", NULL);
	decode_bad("status_update_event", "", "empty", NULL);
	decode_bad("status_update_event", " \r\n", "empty", NULL);
	decode_bad("status_update_event", "[]", "expected a JSON object", NULL);
	decode_bad("status_update_event", "'TASK_RUNNING'", "expected a JSON object", NULL);
	decode_bad("status_update_event", "{} {}", "unexpected data", NULL);
	decode_bad("health_status_changed_event", "{'alive':true} x", "unexpected data", NULL);

	/* The doc example cut anywhere is invalid. */
	b = read_fixture("marathon-docs_event-bus/status_update_event.json", &len);
	for (cut = 1; cut < len - 2; cut++) {
		assert_int_equal(marathon_event_parse("status_update_event", 19, b, cut, &ev, err,
						      sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "invalid JSON"));
	}
	/* Whitespace after the object is fine. */
	assert_int_equal(
		marathon_event_parse("status_update_event", 19, b, len, &ev, err, sizeof(err)), 0);
	free(b);
}

static void test_bad_status_update(void **state)
{
	const char *t = "status_update_event";

	decode_bad(t, "{'taskId':'t','taskStatus':'TASK_RUNNING'}",
		   "missing required field \"appId\"", NULL);
	decode_bad(t, "{'appId':7,'taskId':'t','taskStatus':'TASK_RUNNING'}",
		   "field \"appId\": expected a string", NULL);
	decode_bad(t, "{'appId':'','taskId':'t','taskStatus':'TASK_RUNNING'}",
		   "field \"appId\": empty", NULL);
	/* The app id is named once known. */
	decode_bad(t, "{'appId':'/a','taskStatus':'TASK_RUNNING'}",
		   "missing required field \"taskId\"", "app \"/a\"");
	decode_bad(t, "{'appId':'/a','taskId':5,'taskStatus':'TASK_RUNNING'}",
		   "field \"taskId\": expected a string", "app \"/a\"");
	decode_bad(t, "{'appId':'/a','taskId':null,'taskStatus':'TASK_RUNNING'}",
		   "missing required field \"taskId\"", "app \"/a\"");
	decode_bad(t, "{'appId':'/a','taskId':'t'}", "missing required field \"taskStatus\"", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':['TASK_RUNNING']}",
		   "field \"taskStatus\": expected a string", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','host':1}",
		   "field \"host\": expected a string", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':31000}",
		   "field \"ports\": expected an array", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':['31000']}",
		   "field \"ports\" entry 0", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':[1,70000]}",
		   "field \"ports\" entry 1", NULL);
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':[-1]}",
		   "field \"ports\" entry 0", NULL);
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':[80.5]}",
		   "field \"ports\" entry 0", NULL);
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':{}}",
		   "field \"ipAddresses\": expected an array", "/a");
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':[5]}",
		   "ipAddresses entry 0: expected an object", "/a");
	decode_bad(t,
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'protocol':'IPv4'}]}",
		   "ipAddresses entry 0: missing required field \"ipAddress\"", "/a");
	decode_bad(t,
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'ipAddress':'10.0.0.1'},{'ipAddress':7}]}",
		   "ipAddresses entry 1: field \"ipAddress\": expected a string", NULL);
	decode_bad(t,
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'ipAddress':'300.1.1.1','protocol':'IPv4'}]}",
		   "\"300.1.1.1\" is not an IPv4 or IPv6 address", "/a");
	decode_bad(t,
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'ipAddress':'10.0.0.1','protocol':4}]}",
		   "field \"protocol\": expected a string", NULL);
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','version':1}",
		   "field \"version\": expected a string", NULL);
	decode_bad(t, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','timestamp':{}}",
		   "field \"timestamp\": expected a string", NULL);
}

static void test_bad_others(void **state)
{
	decode_bad("health_status_changed_event", "{'appId':'/a','taskId':'t'}",
		   "missing required field \"alive\"", "/a");
	decode_bad("health_status_changed_event", "{'appId':'/a','taskId':'t','alive':'true'}",
		   "field \"alive\": expected true or false", "/a");
	decode_bad("health_status_changed_event", "{'appId':'/a','taskId':'t','alive':null}",
		   "missing required field \"alive\"", NULL);
	decode_bad("health_status_changed_event", "{'appId':'/a','alive':true}",
		   "missing required field \"taskId\" or \"instanceId\"", "/a");
	decode_bad("health_status_changed_event", "{'appId':'/a','instanceId':'','alive':true}",
		   "field \"instanceId\": empty", NULL);
	decode_bad("health_status_changed_event", "{'appId':'/a','instanceId':1,'alive':true}",
		   "field \"instanceId\": expected a string", NULL);
	decode_bad("health_status_changed_event", "{'taskId':'t','alive':true}",
		   "missing required field \"appId\"", NULL);
	decode_bad("instance_health_changed_event", "{'instanceId':'i','healthy':true}",
		   "missing required field \"runSpecId\"", NULL);
	decode_bad("instance_health_changed_event", "{'runSpecId':'/a','healthy':true}",
		   "missing required field \"instanceId\"", "/a");
	decode_bad("instance_health_changed_event",
		   "{'runSpecId':'/a','instanceId':'i','healthy':1}",
		   "field \"healthy\": expected true or false", NULL);
	decode_bad("app_terminated_event", "{'timestamp':'x'}", "missing required field \"appId\"",
		   NULL);
	decode_bad("api_post_event", "{'appDefinition':[]}",
		   "field \"appDefinition\": expected an object", NULL);
	decode_bad("api_post_event", "{'appDefinition':{'id':5}}",
		   "field \"id\": expected a string", NULL);
	decode_bad("deployment_info", "{'plan':'p'}", "field \"plan\": expected an object", NULL);
	decode_bad("deployment_success", "{'id':5}", "field \"id\": expected a string", NULL);
	decode_bad("group_change_success", "{'groupId':false}", "field \"groupId\"", NULL);
	decode_bad("event_stream_attached", "{'remoteAddress':1}", "field \"remoteAddress\"", NULL);
	/* The SSE type and eventType must agree. */
	decode_bad("status_update_event", "{'eventType':'api_post_event'}",
		   "\"api_post_event\" differs from the SSE event type", NULL);
	decode_bad("status_update_event", "{'eventType':1}",
		   "field \"eventType\": expected a string", NULL);
	/* Without an SSE type, eventType is required. */
	decode_bad("message", "{'appId':'/a'}", "missing required field \"eventType\"", NULL);
	decode_bad(NULL, "{'eventType':[]}", "field \"eventType\": expected a string", NULL);
	decode_bad(NULL, "{'eventType':''}", "field \"eventType\"", NULL);
	decode_bad(NULL, "{'eventType':'status_update_event','appId':'/b'}",
		   "missing required field \"taskId\"", "app \"/b\"");
}

static void test_sizes(void **state)
{
	char id[MARATHON_EV_ID_MAX + 2], big[MARATHON_EV_ID_MAX + 600], json[2048];
	struct marathon_event ev;
	size_t i;

	/* The longest id fits; one more byte is refused, not cut. */
	memset(id, 'a', sizeof(id));
	id[0] = '/';
	id[MARATHON_EV_ID_MAX] = '\0';
	snprintf(json, sizeof(json), "{'appId':'%s','taskId':'%s','taskStatus':'TASK_RUNNING'}", id,
		 id + 1);
	decode_ok("status_update_event", json, &ev);
	assert_int_equal(strlen(ev.app_id), MARATHON_EV_ID_MAX);
	assert_int_equal(strlen(ev.task_id), MARATHON_EV_ID_MAX - 1);
	id[MARATHON_EV_ID_MAX] = 'a';
	id[MARATHON_EV_ID_MAX + 1] = '\0';
	snprintf(json, sizeof(json), "{'appId':'%s','taskId':'t','taskStatus':'TASK_RUNNING'}", id);
	decode_bad("status_update_event", json,
		   "field \"appId\": 256 bytes, longer than the limit of 255", NULL);
	snprintf(json, sizeof(json), "{'appId':'/a','taskId':'%s','taskStatus':'TASK_RUNNING'}",
		 id);
	decode_bad("status_update_event", json, "field \"taskId\": 256 bytes", "/a");
	snprintf(json, sizeof(json),
		 "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','host':'%s'}", id);
	decode_bad("status_update_event", json, "field \"host\": 256 bytes", NULL);
	snprintf(json, sizeof(json), "{'appId':'/a','instanceId':'%s','alive':true}", id);
	decode_bad("health_status_changed_event", json, "field \"instanceId\": 256 bytes", NULL);
	/* A long app id is shortened in messages. */
	snprintf(json, sizeof(json), "{'appId':'%.*s','taskStatus':'TASK_RUNNING'}",
		 MARATHON_EV_ID_MAX, id);
	decode_bad("status_update_event", json, "missing required field \"taskId\"", "...\"");

	decode_ok("status_update_event",
		  "{'appId':'/a','taskId':'t','taskStatus':'TASK_GONE_BY_OPERATO'}", &ev);
	assert_int_equal(ev.task_state, MARATHON_EV_TASK_UNRECOGNIZED);
	decode_bad("status_update_event",
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_GONE_BY_OPERATOR_TOO_LONG__'}",
		   "field \"taskStatus\": 32 bytes, longer than the limit of 31", NULL);
	decode_ok("deployment_success",
		  "{'id':'0123456789012345678901234567890123456789012345678901234567890AB'}", &ev);
	decode_bad("deployment_success",
		   "{'id':'0123456789012345678901234567890123456789012345678901234567890ABC'}",
		   "field \"id\": 64 bytes", NULL);
	decode_bad("status_update_event",
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'ipAddress':'0000:0000:0000:0000:0000:ffff:192.168.100.228x'}]}",
		   "field \"ipAddress\": 46 bytes", NULL);
	decode_bad("status_update_event",
		   "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':"
		   "[{'ipAddress':'10.0.0.1','protocol':'IPv4-with-a-long-name'}]}",
		   "field \"protocol\"", NULL);

	/* 16 ports fit, 17 do not; 8 addresses fit, 9 do not. */
	strcpy(big, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':[1");
	for (i = 2; i <= MARATHON_EV_MAX_PORTS; i++)
		sprintf(big + strlen(big), ",%zu", i);
	strcpy(json, big);
	strcat(json, "]}");
	decode_ok("status_update_event", json, &ev);
	assert_int_equal(ev.n_ports, MARATHON_EV_MAX_PORTS);
	assert_int_equal(ev.ports[MARATHON_EV_MAX_PORTS - 1], MARATHON_EV_MAX_PORTS);
	strcpy(json, big);
	strcat(json, ",65535]}");
	decode_bad("status_update_event", json, "field \"ports\": more than 16 ports", "/a");

	strcpy(big, "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ipAddresses':["
		    "{'ipAddress':'10.0.0.1','protocol':'IPv4'}");
	for (i = 2; i <= MARATHON_EV_MAX_IPS; i++)
		sprintf(big + strlen(big), ",{'ipAddress':'fd00::%zu','protocol':'IPv6'}", i);
	strcpy(json, big);
	strcat(json, "]}");
	decode_ok("status_update_event", json, &ev);
	assert_int_equal(ev.n_ips, MARATHON_EV_MAX_IPS);
	check_v4(&ev.ips[0], "10.0.0.1", 0x0a000001);
	assert_int_equal(ev.ips[7].family, BATON_FAMILY_V6);
	assert_string_equal(ev.ips[7].text, "fd00::8");
	assert_int_equal(ev.ips[7].addr[0], htonl(0xfd000000));
	assert_int_equal(ev.ips[7].addr[3], htonl(8));
	strcpy(json, big);
	strcat(json, ",{'ipAddress':'10.0.0.9'}]}");
	decode_bad("status_update_event", json, "field \"ipAddresses\": more than 8 entries", NULL);

	/* SSE types: 63 bytes is a type (unknown: OTHER), 64 is refused. */
	memset(id, 'x', 64);
	assert_int_equal(marathon_event_parse(id, 63, "{", 1, &ev, NULL, 0), 0);
	assert_int_equal(ev.kind, MARATHON_EV_OTHER);
	assert_int_equal(strlen(ev.type), 63);
	assert_int_equal(marathon_event_parse(id, 64, "{}", 2, &ev, json, sizeof(json)), -EINVAL);
	assert_non_null(strstr(json, "event type"));
}

static void test_lenient(void **state)
{
	struct marathon_event ev;

	/* Optional fields may be null or absent; unknown fields are ignored. */
	decode_ok(
		"status_update_event",
		"{'appId':'/a','taskId':'t','taskStatus':'TASK_STARTING','host':null,'ports':null,"
		"'ipAddresses':null,'version':null,'future':{'x':[1,2]}}",
		&ev);
	assert_int_equal(ev.task_state, MARATHON_EV_TASK_STARTING);
	assert_string_equal(ev.host, "");
	assert_int_equal(ev.n_ports, 0);
	assert_int_equal(ev.n_ips, 0);
	/* Port 0 and empty arrays are taken as they come. */
	decode_ok("status_update_event",
		  "{'appId':'/a','taskId':'t','taskStatus':'TASK_RUNNING','ports':[0,65535],"
		  "'ipAddresses':[]}",
		  &ev);
	assert_int_equal(ev.n_ports, 2);
	assert_int_equal(ev.ports[0], 0);
	assert_int_equal(ev.ports[1], 65535);
	/* Both ids in a health event: both kept. */
	decode_ok("health_status_changed_event",
		  "{'appId':'/a','taskId':'t','instanceId':'i','alive':false}", &ev);
	assert_string_equal(ev.task_id, "t");
	assert_string_equal(ev.instance_id, "i");
	assert_int_equal(ev.alive, 0);
	/* Events batond ignores are not parsed when the SSE type names them. */
	assert_int_equal(decode("instance_changed_event", "{", &ev, NULL, 0), 0);
	assert_int_equal(ev.kind, MARATHON_EV_OTHER);
	assert_string_equal(ev.type, "instance_changed_event");
	/* But via eventType they must be JSON. */
	decode_ok(NULL, "{'eventType':'pod_created_event'}", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_OTHER);
	assert_string_equal(ev.type, "pod_created_event");
	/* An api_post_event for a pod or group has no appDefinition. */
	decode_ok("api_post_event", "{'clientIp':'1.2.3.4','uri':'/v2/groups'}", &ev);
	assert_int_equal(ev.kind, MARATHON_EV_APP_CHANGED);
	assert_string_equal(ev.app_id, "");
	/* Light deployment plan (1.7+): id at the top or in plan. */
	decode_ok("deployment_info", "{'plan':{'id':'p1','steps':[]}}", &ev);
	assert_string_equal(ev.deployment_id, "p1");
	decode_ok("deployment_success", "{'id':'d1','plan':{'id':'p1'}}", &ev);
	assert_string_equal(ev.deployment_id, "d1");
}

static void test_task_states(void **state)
{
	assert_int_equal(marathon_ev_task_state_parse("TASK_STAGING"), MARATHON_EV_TASK_STAGING);
	assert_int_equal(marathon_ev_task_state_parse("TASK_RUNNING"), MARATHON_EV_TASK_RUNNING);
	assert_int_equal(marathon_ev_task_state_parse("TASK_KILLING"), MARATHON_EV_TASK_KILLING);
	assert_int_equal(marathon_ev_task_state_parse("TASK_KILLED"), MARATHON_EV_TASK_KILLED);
	assert_int_equal(marathon_ev_task_state_parse("TASK_FAILED"), MARATHON_EV_TASK_FAILED);
	assert_int_equal(marathon_ev_task_state_parse("TASK_LOST"), MARATHON_EV_TASK_LOST);
	assert_int_equal(marathon_ev_task_state_parse("TASK_FINISHED"), MARATHON_EV_TASK_FINISHED);
	assert_int_equal(marathon_ev_task_state_parse("TASK_UNREACHABLE"),
			 MARATHON_EV_TASK_UNREACHABLE);
	assert_int_equal(marathon_ev_task_state_parse("TASK_GONE_BY_OPERATOR"),
			 MARATHON_EV_TASK_GONE_BY_OPERATOR);
	assert_int_equal(marathon_ev_task_state_parse("TASK_UNKNOWN"), MARATHON_EV_TASK_UNKNOWN);
	assert_int_equal(marathon_ev_task_state_parse("task_running"),
			 MARATHON_EV_TASK_UNRECOGNIZED);
	assert_int_equal(marathon_ev_task_state_parse(""), MARATHON_EV_TASK_UNRECOGNIZED);
	assert_int_equal(marathon_ev_task_state_parse(NULL), MARATHON_EV_TASK_UNRECOGNIZED);
	assert_string_equal(marathon_ev_kind_name(MARATHON_EV_STATUS_UPDATE), "status_update");
	assert_string_equal(marathon_ev_kind_name(MARATHON_EV_OTHER), "other");
}

static void test_args(void **state)
{
	struct marathon_event ev;
	char err[16];

	assert_int_equal(marathon_event_parse("x", 1, "{}", 2, NULL, NULL, 0), -EINVAL);
	assert_int_equal(marathon_event_parse(NULL, 3, "{}", 2, &ev, NULL, 0), -EINVAL);
	assert_int_equal(marathon_event_parse("x", 1, NULL, 2, &ev, NULL, 0), -EINVAL);
	/* A short buffer gets a cut, terminated message. */
	assert_int_equal(
		marathon_event_parse("status_update_event", 19, "{}", 2, &ev, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	/* A type with a NUL byte is refused. */
	assert_int_equal(marathon_event_parse("a\0b", 3, "{}", 2, &ev, NULL, 0), -EINVAL);
}

static bool find_fixtures(int argc, char **argv)
{
	const char *dir = fixtures_dir(argc, argv, "events");

	if (dir == NULL)
		return false;
	snprintf(events_dir, sizeof(events_dir), "%s", dir);
	return true;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docs_kinds),     cmocka_unit_test(test_docs_status_update),
		cmocka_unit_test(test_docs_health),    cmocka_unit_test(test_docs_app_changed),
		cmocka_unit_test(test_docs_stream),    cmocka_unit_test(test_event_bus_mock),
		cmocka_unit_test(test_stream_zdd_lab), cmocka_unit_test(test_stream_others),
		cmocka_unit_test(test_bad_json),       cmocka_unit_test(test_bad_status_update),
		cmocka_unit_test(test_bad_others),     cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_lenient),	       cmocka_unit_test(test_task_states),
		cmocka_unit_test(test_args),
	};

	if (!find_fixtures(argc, argv))
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
