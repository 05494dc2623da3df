// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Marathon transport against real HTTP servers on loopback (replay_marathon.py):
 * fetch and stream, failover to the next URL, a standby's redirect, a silent stream,
 * a stream cut mid-event, basic auth, HTTP errors and a refused body.
 *
 * usage: test_client REPLAY_SCRIPT APPS_FIXTURE EVENTS_FILE
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "marathon_client.h"

static const char *replay, *apps_file, *events_file;
static char *apps_body;
static size_t apps_len;

struct server {
	pid_t pid;
	int port;
	char url[64];
};

/* Starts replay_marathon.py on an ephemeral loopback port; waits for "ready PORT". */
static void server_start(struct server *s, const char *mode, const char *leader,
			 const char *credentials)
{
	int out[2];
	char line[64] = "";
	FILE *f;

	assert_int_equal(pipe(out), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		const char *argv[20];
		int n = 0;

		dup2(out[1], 1);
		close(out[0]);
		argv[n++] = "python3";
		argv[n++] = replay;
		argv[n++] = "--port";
		argv[n++] = "0";
		argv[n++] = "--apps";
		argv[n++] = apps_file;
		argv[n++] = "--events";
		argv[n++] = events_file;
		argv[n++] = "--heartbeat";
		argv[n++] = "0.3";
		argv[n++] = "--max-seconds";
		argv[n++] = "20";
		argv[n++] = "--mode";
		argv[n++] = mode;
		if (leader != NULL) {
			argv[n++] = "--leader";
			argv[n++] = leader;
		}
		if (credentials != NULL) {
			argv[n++] = "--credentials";
			argv[n++] = credentials;
		}
		argv[n] = NULL;
		execvp("python3", (char **)argv);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "ready %d", &s->port), 1);
	fclose(f);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* What the client handed over. */
struct seen {
	int apps;
	size_t last_len;
	int apps_equal;
	int events;
	char types[16][64];
	int refuse;		     /* apps() returns -1 */
	int flushes, flushed_events; /* flush() calls; events handed over before the last */
};

static int on_apps(void *ctx, const char *body, size_t len)
{
	struct seen *s = ctx;

	s->apps++;
	s->last_len = len;
	s->apps_equal = len == apps_len && memcmp(body, apps_body, len) == 0;
	return s->refuse ? -1 : 0;
}

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct seen *s = ctx;

	if (s->events < 16)
		snprintf(s->types[s->events], sizeof(s->types[0]), "%.*s", (int)ev->type_len,
			 ev->type);
	s->events++;
	return 0;
}

static void on_flush(void *ctx)
{
	struct seen *s = ctx;

	s->flushes++;
	s->flushed_events = s->events;
}

static const struct marathon_client_ops ops = { .apps = on_apps,
						.event = on_event,
						.flush = on_flush };

static void opts_init(struct marathon_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_backoff_ms = 1000;
	o->resync_ms = 60000;
	o->stream_idle_ms = 1500;
	o->connect_timeout_ms = 1000;
	o->fetch_timeout_ms = 5000;
	o->max_body = 64 << 20;
}

static __u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef int (*cond_fn)(const struct marathon_client *mc, const struct seen *s);

/* Drives the client like batond does until cond holds or ms pass. */
static int run_until(struct marathon_client *mc, struct seen *s, cond_fn cond, int ms)
{
	__u64 end = ms_now() + ms;

	while (ms_now() < end) {
		curl_multi_poll(mc->multi, NULL, 0, marathon_client_timeout_ms(mc), NULL);
		marathon_client_run(mc);
		if (cond(mc, s))
			return 1;
	}
	return 0;
}

static int got_apps_and_events(const struct marathon_client *mc, const struct seen *s)
{
	return s->apps >= 1 && s->events >= 3;
}

static void test_fetch_and_stream(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server a = {};

	server_start(&a, "normal", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	assert_true(run_until(&mc, &s, got_apps_and_events, 5000));
	assert_true(s.apps_equal);
	assert_string_equal(s.types[0], "event_stream_attached");
	assert_string_equal(s.types[1], "status_update_event");
	assert_string_equal(s.types[2], "health_status_changed_event");
	assert_int_equal(mc.stream_errors, 0);
	/* Each turn ends with a flush, after the events it handed over (batond applies a
	 * burst there, once). */
	assert_true(s.flushes >= 1);
	assert_int_equal(s.flushed_events, s.events);
	marathon_client_free(&mc);
	server_stop(&a);
}

static void test_failover_to_second_url(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server b = {};

	server_start(&b, "normal", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = "http://127.0.0.1:1"; /* nothing listens: refused */
	o.urls[o.n_urls++] = b.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	assert_true(run_until(&mc, &s, got_apps_and_events, 8000));
	assert_true(mc.stream_errors >= 1);
	assert_int_equal(mc.url, 1); /* stays on the URL that works */
	assert_true(s.apps_equal);
	marathon_client_free(&mc);
	server_stop(&b);
}

static void test_standby_redirects_events(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server leader = {}, standby = {};

	server_start(&leader, "normal", NULL, "u:p");
	server_start(&standby, "redirect", leader.url, "u:p");
	opts_init(&o);
	o.urls[o.n_urls++] = standby.url;
	o.basic_auth = "u:p";
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	assert_true(run_until(&mc, &s, got_apps_and_events, 5000));
	assert_int_equal(mc.stream_errors, 0);
	assert_int_equal(mc.url, 0);
	marathon_client_free(&mc);
	server_stop(&standby);
	server_stop(&leader);
}

static int stream_reopened(const struct marathon_client *mc, const struct seen *s)
{
	return mc->stream_errors >= 1 && mc->stream_opens >= 2;
}

static void test_silent_stream_is_dead(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server a = {};
	__u64 t0 = ms_now();

	server_start(&a, "silent", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	assert_true(run_until(&mc, &s, stream_reopened, 6000));
	/* Not before the idle timeout. */
	assert_true(ms_now() - t0 >= o.stream_idle_ms);
	assert_true(s.apps >= 1); /* connected (200) streams still trigger the full fetch */
	marathon_client_free(&mc);
	server_stop(&a);
}

static int refetched_after_cut(const struct marathon_client *mc, const struct seen *s)
{
	return mc->stream_errors >= 2 && s->apps >= 2;
}

static void test_stream_cut_mid_event(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server a = {};

	server_start(&a, "cut", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	assert_true(run_until(&mc, &s, refetched_after_cut, 8000));
	assert_int_equal(s.events, 0); /* half an event is no event */
	marathon_client_free(&mc);
	server_stop(&a);
}

static int fetch_failed_twice(const struct marathon_client *mc, const struct seen *s)
{
	return mc->fetch_errors >= 2 || mc->stream_errors >= 2;
}

static void test_wrong_credentials(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server a = {};

	server_start(&a, "normal", NULL, "u:p");
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	o.basic_auth = "u:wrong";
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	marathon_client_fetch_now(&mc);
	assert_true(run_until(&mc, &s, fetch_failed_twice, 8000));
	assert_int_equal(s.apps, 0);
	assert_int_equal(s.events, 0);
	marathon_client_free(&mc);
	server_stop(&a);
}

static void test_http_errors_back_off(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = {};
	struct server a = {};

	server_start(&a, "http500", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_start(&mc);
	marathon_client_fetch_now(&mc);
	assert_true(run_until(&mc, &s, fetch_failed_twice, 8000));
	assert_int_equal(s.apps, 0);
	assert_true(mc.backoff_ms >= 250 && mc.backoff_ms <= o.max_backoff_ms);
	marathon_client_free(&mc);
	server_stop(&a);
}

static int refused_twice(const struct marathon_client *mc, const struct seen *s)
{
	return mc->refused_bodies >= 2;
}

static void test_refused_body_is_retried(void **state)
{
	struct marathon_client mc;
	struct marathon_client_opts o;
	struct seen s = { .refuse = 1 };
	struct server a = {};

	server_start(&a, "normal", NULL, NULL);
	opts_init(&o);
	o.urls[o.n_urls++] = a.url;
	assert_int_equal(marathon_client_init(&mc, &o, &ops, &s), 0);
	marathon_client_fetch_now(&mc);
	assert_true(run_until(&mc, &s, refused_twice, 8000));
	assert_int_equal(mc.last_fetch_ok_ms, 0);
	marathon_client_free(&mc);
	server_stop(&a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_and_stream),
		cmocka_unit_test(test_failover_to_second_url),
		cmocka_unit_test(test_standby_redirects_events),
		cmocka_unit_test(test_silent_stream_is_dead),
		cmocka_unit_test(test_stream_cut_mid_event),
		cmocka_unit_test(test_wrong_credentials),
		cmocka_unit_test(test_http_errors_back_off),
		cmocka_unit_test(test_refused_body_is_retried),
	};
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: %s REPLAY_SCRIPT APPS_FIXTURE EVENTS_FILE\n", argv[0]);
		return 2;
	}
	replay = argv[1];
	apps_file = argv[2];
	events_file = argv[3];
	f = fopen(apps_file, "rb");
	if (f == NULL) {
		fprintf(stderr, "SKIP: fixture %s: %s\n", apps_file, strerror(errno));
		return 77;
	}
	apps_body = malloc(1 << 20);
	apps_len = fread(apps_body, 1, 1 << 20, f);
	fclose(f);
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
