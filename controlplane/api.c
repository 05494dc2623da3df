// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "baton_abi.h"
#include "baton.skel.h"
#include "log.h"
#include "reconcile.h"
#include "sync.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len)
			break;
		{
			size_t cap = b->cap ? b->cap * 2 : 16384;
			char *p;

			while (cap < b->len + n + 1)
				cap *= 2;
			p = realloc(b->p, cap);
			if (p == NULL) {
				b->oom = true;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
	b->len += n;
}

static void addr_text(__u8 family, const __be32 *addr, char *out, size_t len)
{
	inet_ntop(family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, addr, out, len);
}

/* Sums a per-CPU value of n __u64 fields. */
static int percpu_sum(int fd, __u32 key, size_t n_fields, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	memset(sum, 0, n_fields * sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu * n_fields, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) < 0) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < n_fields; f++)
			sum[f] += v[c * n_fields + f];
	free(v);
	return 0;
}

char *api_metrics(const struct api *a)
{
	struct sbuf b = {};
	int fd;

	sb_printf(&b, "# HELP baton_packets_total Packets seen by the XDP program, by verdict "
		      "reason.\n# TYPE baton_packets_total counter\n");
	fd = bpf_map__fd(a->skel->maps.reason_stats);
	for (__u32 r = 0; r < BATON_R_MAX; r++) {
		__u64 s[2];

		if (percpu_sum(fd, r, 2, s) == 0)
			sb_printf(&b, "baton_packets_total{reason=\"%s\"} %llu\n",
				  baton_reason_name(r), (unsigned long long)s[0]);
	}
	sb_printf(&b, "# HELP baton_bytes_total Bytes seen by the XDP program, by verdict "
		      "reason.\n# TYPE baton_bytes_total counter\n");
	for (__u32 r = 0; r < BATON_R_MAX; r++) {
		__u64 s[2];

		if (percpu_sum(fd, r, 2, s) == 0)
			sb_printf(&b, "baton_bytes_total{reason=\"%s\"} %llu\n",
				  baton_reason_name(r), (unsigned long long)s[1]);
	}

	sb_printf(&b, "# HELP baton_service_packets_total Packets forwarded per service "
		      "frontend.\n# TYPE baton_service_packets_total counter\n"
		      "# HELP baton_service_bytes_total Bytes forwarded per service frontend.\n"
		      "# TYPE baton_service_bytes_total counter\n"
		      "# HELP baton_service_new_flows_total New flows per service frontend.\n"
		      "# TYPE baton_service_new_flows_total counter\n");
	fd = bpf_map__fd(a->skel->maps.svc_stats);
	for (__u32 sid = 0; sid < BATON_MAX_SERVICES; sid++) {
		const struct rc_service *rs = &a->rc->svc[sid];
		char addr[INET6_ADDRSTRLEN], label[96];
		__u64 s[3];

		if (!rs->used || percpu_sum(fd, sid, 3, s) != 0)
			continue;
		addr_text(rs->fk.family, rs->fk.addr, addr, sizeof(addr));
		snprintf(label, sizeof(label), "frontend=\"%s%s%s:%u/%s\"",
			 rs->fk.family == BATON_FAMILY_V6 ? "[" : "", addr,
			 rs->fk.family == BATON_FAMILY_V6 ? "]" : "", ntohs(rs->fk.port),
			 rs->fk.proto == IPPROTO_TCP		? "tcp"
			 : rs->fk.proto == BATON_PROTO_L7_ROUTE ? "l7route"
								: "udp");
		sb_printf(&b,
			  "baton_service_packets_total{%s} %llu\n"
			  "baton_service_bytes_total{%s} %llu\n"
			  "baton_service_new_flows_total{%s} %llu\n",
			  label, (unsigned long long)s[0], label, (unsigned long long)s[1], label,
			  (unsigned long long)s[2]);
	}

	sb_printf(&b, "# HELP baton_backend_packets_total Packets forwarded per backend.\n"
		      "# TYPE baton_backend_packets_total counter\n"
		      "# HELP baton_backend_new_flows_total New flows per backend.\n"
		      "# TYPE baton_backend_new_flows_total counter\n");
	fd = bpf_map__fd(a->skel->maps.be_stats);
	for (__u32 id = 0; id < BATON_MAX_BACKENDS; id++) {
		const struct rc_backend *rb = &a->rc->be[id];
		char addr[INET6_ADDRSTRLEN];
		__u64 s[3];

		if (!rb->used || percpu_sum(fd, id, 3, s) != 0)
			continue;
		addr_text(rb->b.family, rb->b.addr, addr, sizeof(addr));
		sb_printf(&b,
			  "baton_backend_packets_total{backend=\"%s%s%s:%u\"} %llu\n"
			  "baton_backend_new_flows_total{backend=\"%s%s%s:%u\"} %llu\n",
			  rb->b.family == BATON_FAMILY_V6 ? "[" : "", addr,
			  rb->b.family == BATON_FAMILY_V6 ? "]" : "", ntohs(rb->b.port),
			  (unsigned long long)s[0], rb->b.family == BATON_FAMILY_V6 ? "[" : "",
			  addr, rb->b.family == BATON_FAMILY_V6 ? "]" : "", ntohs(rb->b.port),
			  (unsigned long long)s[2]);
	}

	/* baton-l7's counters (zero until it has run). */
	{
		struct baton_l7_stats l7 = {};
		__u32 zero = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.l7_stats), &zero, &l7) == 0) {
			sb_printf(&b, "# HELP baton_l7_total Counters of the L7 lane (baton-l7).\n"
				      "# TYPE baton_l7_total counter\n");
			for (__u32 i = 0; i < BATON_L7S_MAX; i++)
				sb_printf(&b, "baton_l7_total{counter=\"%s\"} %llu\n",
					  baton_l7_stat_name(i), (unsigned long long)l7.v[i]);
		}
	}
	sb_printf(&b,
		  "# TYPE baton_services gauge\nbaton_services %u\n"
		  "# TYPE baton_backends gauge\nbaton_backends %u\n",
		  a->rc->n_services, a->rc->n_backends);
	if (a->sync != NULL)
		sb_printf(&b,
			  "# TYPE baton_marathon_fetches_applied_total counter\n"
			  "baton_marathon_fetches_applied_total %llu\n"
			  "# TYPE baton_marathon_fetches_refused_total counter\n"
			  "baton_marathon_fetches_refused_total %llu\n"
			  "# TYPE baton_marathon_events_applied_total counter\n"
			  "baton_marathon_events_applied_total %llu\n"
			  "# TYPE baton_marathon_events_bad_total counter\n"
			  "baton_marathon_events_bad_total %llu\n"
			  "# TYPE baton_marathon_apply_errors_total counter\n"
			  "baton_marathon_apply_errors_total %llu\n",
			  a->sync->fetches_applied, a->sync->fetches_refused,
			  a->sync->events_applied, a->sync->events_bad, a->sync->apply_errors);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct api *a = cls;
	char *body;

	if (strcmp(method, "GET") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
			     strdup("{\"error\":\"method not allowed\"}\n"));
	if (strcmp(url, "/healthz") == 0)
		return reply(c, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
	if (strcmp(url, "/metrics") == 0) {
		body = api_metrics(a);
		if (body == NULL)
			return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
				     strdup("{\"error\":\"out of memory\"}\n"));
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body);
	}
	return reply(c, MHD_HTTP_NOT_FOUND, "application/json",
		     strdup("{\"error\":\"not found\"}\n"));
}

int api_start(struct api *a, const char *listen, struct baton_bpf *skel, const struct reconcile *rc,
	      const struct sync *sync)
{
	struct sockaddr_storage ss = {};
	char host[128];
	const char *colon = strrchr(listen, ':');
	unsigned int port;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	memset(a, 0, sizeof(*a));
	a->skel = skel;
	a->rc = rc;
	a->sync = sync;
	if (colon == NULL || colon - listen >= (long)sizeof(host) ||
	    sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	}
	a->mhd = MHD_start_daemon(flags, port, NULL, NULL, handle, a, MHD_OPTION_SOCK_ADDR, &ss,
				  MHD_OPTION_CONNECTION_LIMIT, 64U, MHD_OPTION_CONNECTION_TIMEOUT,
				  10U, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				  MHD_OPTION_END);
	if (a->mhd == NULL)
		return log_errno(errno ? errno : EADDRINUSE, "cannot listen on %s", listen);
	log_info("API listening on %s (/healthz, /metrics)", listen);
	return 0;
bad:
	log_err("--api-listen: \"%s\" is not ADDRESS:PORT", listen);
	return -EINVAL;
}

int api_fd(const struct api *a)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i != NULL ? i->epoll_fd : -1;
}

void api_run(struct api *a)
{
	MHD_run(a->mhd);
}

void api_stop(struct api *a)
{
	if (a->mhd != NULL)
		MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
}
