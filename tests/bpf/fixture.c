/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Network namespace, map and test-run helpers of the XDP tests and the benchmark
 * (see fixture.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton.skel.h"
#include "fixture.h"

/* ---- Network namespace ---- */

static int write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL) {
		fprintf(stderr, "setup: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = fputs(val, f) < 0;
	rc |= fclose(f) != 0;
	if (rc)
		fprintf(stderr, "setup: write %s: %s\n", path, strerror(errno));
	return rc ? -1 : 0;
}

const char *fx_mac_str(const uint8_t *m)
{
	static char buf[4][18];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
	return buf[i];
}

/* The topology as `ip -batch` input. */
static void write_batch(FILE *b, const struct fx_netns *ns)
{
	size_t i;

	fprintf(b, "link set lo up\n");
	for (i = 0; i < ns->nlinks; i++) {
		const struct fx_link *l = &ns->links[i];

		fprintf(b, "link add %s address %s type veth peer name %sp address %s\n", l->name,
			fx_mac_str(l->mac), l->name, fx_mac_str(l->peer_mac));
		fprintf(b, "link set %s up\nlink set %sp up\n", l->name, l->name);
		if (l->addr4 != NULL)
			fprintf(b, "addr add %s dev %s\n", l->addr4, l->name);
		if (l->addr6 != NULL)
			fprintf(b, "addr add %s dev %s nodad\n", l->addr6, l->name);
	}
	for (i = 0; i < ns->nroutes; i++)
		fprintf(b, "route add %s\n", ns->routes[i]);
	for (i = 0; i < ns->nneighs; i++)
		fprintf(b, "neigh add %s lladdr %s dev %s nud permanent\n", ns->neighs[i].addr,
			fx_mac_str(ns->neighs[i].mac), ns->neighs[i].dev);
}

int fx_netns_setup(const struct fx_netns *ns, int *ifindex)
{
	char *batch = NULL;
	size_t batch_len = 0, i;
	FILE *b, *ip;
	int rc;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return FX_SKIP;
	}
	if (system("ip -V >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: iproute2 'ip' not available\n");
		return FX_SKIP;
	}
	if (write_file("/proc/sys/net/ipv4/ip_forward", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1"))
		return 1;

	/* One ip process for the whole world: a batch on its stdin. */
	b = open_memstream(&batch, &batch_len);
	if (b == NULL) {
		fprintf(stderr, "setup: open_memstream: %s\n", strerror(errno));
		return 1;
	}
	write_batch(b, ns);
	if (fclose(b) != 0) {
		fprintf(stderr, "setup: out of memory\n");
		free(batch);
		return 1;
	}
	ip = popen("ip -batch -", "w");
	if (ip == NULL) {
		fprintf(stderr, "setup: popen(ip -batch): %s\n", strerror(errno));
		free(batch);
		return 1;
	}
	fputs(batch, ip);
	rc = pclose(ip);
	if (rc != 0) {
		fprintf(stderr, "setup: ip -batch failed (status %d); the batch was:\n%s", rc,
			batch);
		free(batch);
		return 1;
	}
	free(batch);
	for (i = 0; i < ns->nlinks; i++) {
		ifindex[i] = (int)if_nametoindex(ns->links[i].name);
		if (!ifindex[i]) {
			fprintf(stderr, "setup: no ifindex for %s\n", ns->links[i].name);
			return 1;
		}
	}
	return 0;
}

int fx_ip(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	strcpy(cmd, "ip ");
	va_start(ap, fmt);
	vsnprintf(cmd + 3, sizeof(cmd) - 3, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "setup: '%s' failed (status %d)\n", cmd, rc);
		return -1;
	}
	return 0;
}

void fx_addr(int family, const char *s, void *out)
{
	memset(out, 0, 16);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1) {
		fprintf(stderr, "bug: bad IPv%d address %s\n", family, s);
		exit(1);
	}
}

/* ---- Maps ---- */

int fx_nr_cpus(void)
{
	static int n;

	if (n <= 0) {
		n = libbpf_num_possible_cpus();
		if (n <= 0) {
			fprintf(stderr, "setup: libbpf_num_possible_cpus: %d\n", n);
			exit(1);
		}
	}
	return n;
}

static int map_update(struct bpf_map *m, const void *key, const void *val)
{
	if (bpf_map_update_elem(bpf_map__fd(m), key, val, BPF_ANY)) {
		fprintf(stderr, "setup: update of map %s: %s\n", bpf_map__name(m), strerror(errno));
		return -1;
	}
	return 0;
}

static uint8_t abi_family(int family)
{
	return family == 4 ? BATON_FAMILY_V4 : BATON_FAMILY_V6;
}

void fx_config_init(struct baton_config *cfg, const char *snat4, const char *snat6)
{
	uint8_t a[16];

	memset(cfg, 0, sizeof(*cfg));
	cfg->abi_version = BATON_ABI_VERSION;
	cfg->nr_cpus = (uint32_t)fx_nr_cpus();
	if (snat4 != NULL) {
		fx_addr(4, snat4, a);
		memcpy(&cfg->snat_v4, a, 4);
	}
	if (snat6 != NULL)
		fx_addr(6, snat6, cfg->snat_v6);
	cfg->snat_port_min = 1024;
	cfg->snat_port_max = 32767;
	cfg->tcp_idle_ns = 3600ull * 1000000000ull;
	cfg->udp_idle_ns = 60ull * 1000000000ull;
	cfg->tcp_close_ns = 10ull * 1000000000ull;
	cfg->port_reuse_ns = 120ull * 1000000000ull;
	cfg->fib_cache_ns = 1000000000ull;
	cfg->tcp_syn_ns = 30ull * 1000000000ull;
}

int fx_put_config(struct baton_bpf *skel, const struct baton_config *cfg)
{
	uint32_t zero = 0;

	return map_update(skel->maps.config, &zero, cfg);
}

int fx_put_frontend(struct baton_bpf *skel, int family, const char *addr, int port, int proto,
		    uint32_t sid)
{
	struct baton_frontend_key k;
	struct baton_frontend v = { .service_id = sid, .flags = port ? 0 : BATON_FE_F_ADDR_ONLY };

	memset(&k, 0, sizeof(k));
	fx_addr(family, addr, k.addr);
	k.port = htons((uint16_t)port);
	k.proto = (uint8_t)proto;
	k.family = abi_family(family);
	return map_update(skel->maps.frontends, &k, &v);
}

int fx_put_backend(struct baton_bpf *skel, uint32_t id, int family, const char *addr, int port)
{
	struct baton_backend b;

	memset(&b, 0, sizeof(b));
	fx_addr(family, addr, b.addr);
	b.port = htons((uint16_t)port);
	b.family = abi_family(family);
	return map_update(skel->maps.backends, &id, &b);
}

int fx_put_maglev(struct baton_bpf *skel, uint32_t sid, const uint32_t *slots, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	uint32_t count = n, slot, *keys = calloc(n, sizeof(*keys));
	int fd = -1, rc = -1;

	if (keys == NULL) {
		fprintf(stderr, "setup: out of memory\n");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fx_maglev", 4, 4, n, &opts);
	if (fd < 0) {
		fprintf(stderr, "setup: creating a Maglev table: %s\n", strerror(errno));
		goto out;
	}
	if (bpf_map_update_batch(fd, keys, slots, &count, NULL)) {
		for (uint32_t i = 0; i < n; i++) {
			if (bpf_map_update_elem(fd, &keys[i], &slots[i], BPF_ANY)) {
				fprintf(stderr, "setup: filling a Maglev table: %s\n",
					strerror(errno));
				goto out;
			}
		}
	}
	/* Generation 0 (frontends are written without BATON_FE_F_GEN1); the outer map
	 * holds the table. */
	slot = BATON_MAGLEV_SLOT(sid, 0);
	rc = map_update(skel->maps.maglev, &slot, &fd);
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	return rc;
}

void fx_del_maglev(struct baton_bpf *skel, uint32_t sid)
{
	for (uint32_t gen = 0; gen < 2; gen++) {
		uint32_t slot = BATON_MAGLEV_SLOT(sid, gen);

		bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev), &slot);
	}
}

int fx_map_clear(int fd)
{
	uint8_t key[64]; /* larger than any key of Baton's */

	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key)) {
			fprintf(stderr, "setup: map delete: %s\n", strerror(errno));
			return -1;
		}
	return 0;
}

/* Per-CPU values are laid out 8-byte aligned, one per possible CPU. */
static size_t percpu_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

int fx_percpu_sum(int fd, uint32_t key, size_t value_size, __u64 *sum, size_t nfields)
{
	size_t stride = percpu_stride(value_size), ncpu = (size_t)fx_nr_cpus();
	uint8_t *buf = calloc(ncpu, stride);

	if (buf == NULL || bpf_map_lookup_elem(fd, &key, buf)) {
		fprintf(stderr, "per-CPU map lookup: %s\n", strerror(errno));
		free(buf);
		return -1;
	}
	memset(sum, 0, nfields * sizeof(*sum));
	for (size_t c = 0; c < ncpu; c++)
		for (size_t i = 0; i < nfields; i++) {
			__u64 v;

			memcpy(&v, buf + c * stride + i * sizeof(v), sizeof(v));
			sum[i] += v;
		}
	free(buf);
	return 0;
}

int fx_percpu_zero(int fd, uint32_t key, size_t value_size)
{
	void *zero = calloc((size_t)fx_nr_cpus(), percpu_stride(value_size));
	int rc = zero == NULL || bpf_map_update_elem(fd, &key, zero, BPF_ANY) ? -1 : 0;

	if (rc)
		fprintf(stderr, "per-CPU map reset: %s\n", strerror(errno));
	free(zero);
	return rc;
}

void fx_flow_key(const struct pkt_spec *s, bool reverse, struct baton_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	fx_addr(s->family, reverse ? s->daddr : s->saddr, k->saddr);
	fx_addr(s->family, reverse ? s->saddr : s->daddr, k->daddr);
	k->sport = htons((uint16_t)(reverse ? s->dport : s->sport));
	k->dport = htons((uint16_t)(reverse ? s->sport : s->dport));
	k->proto = s->proto;
	k->family = abi_family(s->family);
}

/* ---- Running the program ---- */

int fx_xdp_run(int prog_fd, struct fx_run *r)
{
	struct xdp_md ctx = { .data_end = r->len, .ingress_ifindex = (uint32_t)r->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = r->in, .data_size_in = r->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = (int)r->repeat);

	if (r->out != NULL) {
		topts.data_out = r->out;
		topts.data_size_out = r->out_len;
	}
	if (bpf_prog_test_run_opts(prog_fd, &topts))
		return -1;
	r->out_len = r->out != NULL ? topts.data_size_out : 0;
	r->retval = topts.retval;
	r->duration = topts.duration;
	return 0;
}

const char *fx_xdp_action_name(uint32_t a)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT" };

	return a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && getenv("BATON_TEST_DEBUG") == NULL)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void fx_libbpf_print_setup(void)
{
	libbpf_set_print(libbpf_print);
}
