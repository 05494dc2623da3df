// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_sync: the Marathon sync on a synthetic cluster (default 10,000 apps with 10
 * tasks each). Times every stage from the /v2/apps body to the maps, then the latency
 * of one status_update_event from its bytes to the maps, and reports peak RSS.
 *
 * Baseline, measured in the same run on the same body: cJSON_Parse + cJSON_Delete,
 * the floor for any JSON consumer. Each stage is printed as a ratio to it.
 *
 * The map stages need root (the maps of the real XDP program, loaded, never attached);
 * without root they are skipped and the pure stages still run.
 *
 *   bench_sync [--apps N] [--tasks N] [--events N]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <cjson/cJSON.h>
#include <bpf/libbpf.h>

#include "apiview.h"
#include "baton_abi.h"
#include "baton.skel.h"
#include "config.h"
#include "log.h"
#include "marathon.h"
#include "reconcile.h"
#include "sync.h"

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	b->len += n;
}

/* A /v2/apps?embed=apps.tasks body in Marathon 1.5's shape, host networking. */
static char *make_body(int apps, int tasks, size_t *len)
{
	struct sb b = {};

	sb_add(&b, "{\"apps\":[");
	for (int a = 0; a < apps; a++) {
		sb_add(&b,
		       "%s{\"id\":\"/team-%d/app-%d\",\"cmd\":\"run\",\"instances\":%d,"
		       "\"labels\":{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_BALANCE\":"
		       "\"roundrobin\"},\"networks\":[{\"mode\":\"host\"}],\"container\":null,"
		       "\"healthChecks\":[],\"portDefinitions\":[{\"port\":%d,\"protocol\":\"tcp\","
		       "\"name\":\"http\",\"labels\":{}}],\"version\":\"2026-11-25T00:00:00.000Z\","
		       "\"tasks\":[",
		       a ? "," : "", a % 100, a, tasks, 10000 + a % 50000);
		for (int t = 0; t < tasks; t++) {
			int agent = (a * tasks + t) % 5000;

			sb_add(&b,
			       "%s{\"id\":\"app-%d.t%d\",\"appId\":\"/team-%d/app-%d\","
			       "\"host\":\"10.%d.%d.%d\",\"ports\":[%d],\"servicePorts\":[%d],"
			       "\"ipAddresses\":[{\"ipAddress\":\"10.%d.%d.%d\",\"protocol\":\"IPv4\"}],"
			       "\"state\":\"TASK_RUNNING\",\"healthCheckResults\":[],"
			       "\"stagedAt\":\"2026-11-25T00:00:00.000Z\",\"version\":"
			       "\"2026-11-25T00:00:00.000Z\"}",
			       t ? "," : "", a, t, a % 100, a, 100 + agent / 256 % 100, agent % 256,
			       1 + t % 250, 31000 + (a * tasks + t) % 1000, 10000 + a % 50000,
			       100 + agent / 256 % 100, agent % 256, 1 + t % 250);
		}
		sb_add(&b, "]}");
	}
	sb_add(&b, "]}");
	*len = b.len;
	return b.p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n_apps = 10000, n_tasks = 10, n_events = 200;
	struct marathon_problems probs = {};
	struct marathon_apps apps = {};
	struct marathon_services svcs = {};
	struct marathon_options mo = {};
	static const char *groups[] = { "external" };
	struct reconcile_settings set = { .snat_port_min = 1024, .snat_port_max = 32767 };
	struct baton_bpf *skel = NULL;
	struct reconcile rc;
	struct sync sy;
	struct sync_options so = { .groups = { "external" }, .n_groups = 1 };
	struct config cfg = {};
	__be32 addr[1][4] = { { 0x0100000a } };
	__u8 fam[1] = { BATON_FAMILY_V4 };
	double t, base, t_parse, t_build, t_lower, t_apply = 0, t_noop = 0, *lat;
	size_t len, n_backends = 0;
	char *body;
	cJSON *j;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--apps") == 0)
			n_apps = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tasks") == 0)
			n_tasks = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--events") == 0)
			n_events = atoi(argv[i + 1]);
	}
	if (n_apps <= 0 || n_tasks <= 0 || n_events <= 0) {
		fprintf(stderr, "usage: %s [--apps N] [--tasks N] [--events N]\n", argv[0]);
		return 2;
	}
	log_set_level(LOG_LVL_ERR);
	body = make_body(n_apps, n_tasks, &len);
	printf("bench_sync: %d apps x %d tasks, body %.1f MiB, RSS after building it %ld KiB\n",
	       n_apps, n_tasks, len / 1048576.0, peak_rss_kib());

	t = now_s();
	j = cJSON_ParseWithLength(body, len);
	cJSON_Delete(j);
	base = now_s() - t;

	t = now_s();
	if (marathon_apps_parse(body, len, &apps, &probs) != 0 || probs.n != 0) {
		fprintf(stderr, "bench_sync: the synthetic body did not parse cleanly\n");
		return 1;
	}
	t_parse = now_s() - t;

	mo.groups = groups;
	mo.n_groups = 1;
	mo.keep_empty = true;
	t = now_s();
	if (marathon_services_build(&apps, &mo, &svcs, &probs) != 0 || svcs.n != (size_t)n_apps) {
		fprintf(stderr, "bench_sync: %zu services built, want %d\n", svcs.n, n_apps);
		return 1;
	}
	t_build = now_s() - t;

	t = now_s();
	if (sync_lower(&svcs, (const __be32(*)[4])addr, fam, 1, 0, &cfg) != 0) {
		fprintf(stderr, "bench_sync: lowering failed\n");
		return 1;
	}
	t_lower = now_s() - t;
	for (size_t i = 0; i < cfg.n_services; i++)
		n_backends += cfg.services[i].n_backends;

	printf("\n%-44s %10s %10s\n", "stage", "ms", "x baseline");
	printf("%-44s %10.1f %10.2f\n", "baseline: cJSON_Parse + cJSON_Delete of the body",
	       base * 1e3, 1.0);
	printf("%-44s %10.1f %10.2f\n", "marathon_apps_parse (body -> model)", t_parse * 1e3,
	       t_parse / base);
	printf("%-44s %10.1f %10.2f\n", "marathon_services_build (Marathon-LB rules)",
	       t_build * 1e3, t_build / base);
	printf("%-44s %10.1f %10.2f\n", "sync_lower (services -> frontends)", t_lower * 1e3,
	       t_lower / base);
	{
		/* What the HTTP API adds to every apply (a copy), and to a request after one. */
		struct view_capture cap = {};
		struct view v;
		double t_cap, t_view;

		/* Median of 11 (one capture replaces the last, as in batond). */
		double caps[11];

		for (int r = 0; r < 11; r++) {
			t = now_s();
			if (view_capture(&cfg, &cap) != 0) {
				fprintf(stderr, "bench_sync: view_capture failed\n");
				return 1;
			}
			caps[r] = now_s() - t;
		}
		qsort(caps, 11, sizeof(caps[0]), cmp_double);
		t_cap = caps[5];
		t = now_s();
		if (view_build(cap.cfg, &v) != 0) {
			fprintf(stderr, "bench_sync: view_build failed\n");
			return 1;
		}
		t_view = now_s() - t;
		view_free(&v);
		view_capture_free(&cap);
		printf("%-44s %10.1f %10.2f\n", "view_capture (API, every apply; median of 11)",
		       t_cap * 1e3, t_cap / base);
		printf("%-44s %10.1f %10.2f\n", "view_build (API, first request after one)",
		       t_view * 1e3, t_view / base);
	}
	if (geteuid() == 0)
		skel = baton_bpf__open_and_load();
	if (skel == NULL) {
		printf("(map stages skipped: %s)\n",
		       geteuid() ? "not root" : "cannot load the XDP object");
	} else {
		reconcile_init(&rc, bpf_map__fd(skel->maps.frontends),
			       bpf_map__fd(skel->maps.backends), bpf_map__fd(skel->maps.maglev),
			       bpf_map__fd(skel->maps.config));
		/* The daemon's own path: body -> model -> services -> frontends (this host's
		 * addresses) -> maps, as batond does on a full fetch. */
		sync_init(&sy, &so, &rc, &set, NULL);
		t = now_s();
		if (sync_on_apps(&sy, body, len) != 0 || sy.apply_errors) {
			fprintf(stderr, "bench_sync: the full sync failed\n");
			return 1;
		}
		t_apply = now_s() - t;
		t = now_s();
		sync_on_apps(&sy, body, len);
		t_noop = now_s() - t;
		printf("%-44s %10.1f %10.2f\n", "full sync: body -> maps (sync_on_apps)",
		       t_apply * 1e3, t_apply / base);
		printf("%-44s %10.1f %10.2f\n", "full fetch again, nothing changed", t_noop * 1e3,
		       t_noop / base);

		/* Event -> maps: the whole path of sync_on_event, one task draining each time. */
		lat = calloc(n_events, sizeof(*lat));
		for (int e = 0; e < n_events; e++) {
			char data[512];
			int a = (e * 7919) % n_apps;
			struct sse_event ev = { .type = "status_update_event", .type_len = 19 };

			ev.data_len = snprintf(
				data, sizeof(data),
				"{\"eventType\":\"status_update_event\",\"timestamp\":"
				"\"2026-11-25T00:00:01.000Z\",\"slaveId\":\"s\",\"taskId\":\"app-%d.t0\","
				"\"taskStatus\":\"%s\",\"appId\":\"/team-%d/app-%d\",\"host\":\"10.1.1.1\","
				"\"ports\":[31000],\"version\":\"2026-11-25T00:00:00.000Z\"}",
				a, e % 2 ? "TASK_RUNNING" : "TASK_KILLING", a % 100, a);
			ev.data = data;
			t = now_s();
			sync_on_event(&sy, &ev);
			lat[e] = now_s() - t;
		}
		qsort(lat, n_events, sizeof(*lat), cmp_double);
		printf("\nevent -> maps (status_update_event, one task draining or back), %d events:\n"
		       "  median %.2f ms, p90 %.2f ms, max %.2f ms (%.2f x baseline at the median)\n",
		       n_events, lat[n_events / 2] * 1e3, lat[n_events * 9 / 10] * 1e3,
		       lat[n_events - 1] * 1e3, lat[n_events / 2] / base);
		free(lat);
		sync_free(&sy);
	}
	printf("\n%zu services, %zu frontends, %zu backends; peak RSS %ld KiB\n", svcs.n,
	       cfg.n_services, n_backends, peak_rss_kib());
	printf("{\"benchmark\":\"sync\",\"apps\":%d,\"tasks_per_app\":%d,\"baseline_ms\":%.2f,"
	       "\"parse_ms\":%.2f,\"build_ms\":%.2f,\"lower_ms\":%.2f,\"full_sync_ms\":%.2f,"
	       "\"noop_sync_ms\":%.2f,\"peak_rss_kib\":%ld}\n",
	       n_apps, n_tasks, base * 1e3, t_parse * 1e3, t_build * 1e3, t_lower * 1e3,
	       t_apply * 1e3, t_noop * 1e3, peak_rss_kib());
	config_free(&cfg);
	marathon_services_free(&svcs);
	marathon_apps_free(&apps);
	marathon_problems_free(&probs);
	if (skel != NULL) {
		reconcile_free(&rc);
		baton_bpf__destroy(skel);
	}
	free(body);
	return 0;
}
