/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * batond's HTTP endpoint (libmicrohttpd), driven by batond's single thread: the daemon
 * runs without threads of its own (MHD_USE_EPOLL, external polling) and its epoll fd
 * joins batond's poll loop. First part of the API: GET /healthz and GET /metrics
 * (Prometheus text format, summed from the per-CPU maps without stopping traffic).
 */
#ifndef BATON_API_H
#define BATON_API_H

#include <stdbool.h>

struct baton_bpf;
struct reconcile;
struct sync;
struct MHD_Daemon;

struct api {
	struct MHD_Daemon *mhd;
	struct baton_bpf *skel;
	const struct reconcile *rc;
	const struct sync *sync; /* NULL with a services file */
};

/* Listens on addr:port ("127.0.0.1:9090", "[::1]:9090"). Returns 0 or -errno. */
int api_start(struct api *a, const char *listen, struct baton_bpf *skel, const struct reconcile *rc,
	      const struct sync *sync);

/* The fd to poll for readability; then call api_run(). */
int api_fd(const struct api *a);
void api_run(struct api *a);
void api_stop(struct api *a);

/* The /metrics body (malloc'd), also used by tests. */
char *api_metrics(const struct api *a);

#endif /* BATON_API_H */
