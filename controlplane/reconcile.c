// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "log.h"
#include "maglev.h"
#include "reconcile.h"

int reconcile_init(struct reconcile *rc, int fe_fd, int be_fd, int maglev_fd, int config_fd)
{
	memset(rc, 0, sizeof(*rc));
	rc->fe_fd = fe_fd;
	rc->be_fd = be_fd;
	rc->maglev_fd = maglev_fd;
	rc->config_fd = config_fd;
	rc->be = calloc(BATON_MAX_BACKENDS, sizeof(*rc->be));
	rc->be_index = calloc(BATON_MAX_BACKENDS, sizeof(*rc->be_index));
	rc->new_ids = calloc(BATON_MAX_BACKENDS, sizeof(*rc->new_ids));
	rc->swap_sid = calloc(2 * BATON_MAX_SERVICES, sizeof(*rc->swap_sid));
	rc->svc_index = calloc(BATON_MAX_SERVICES, sizeof(*rc->svc_index));
	rc->new_sids = calloc(BATON_MAX_SERVICES, sizeof(*rc->new_sids));
	rc->swap_fd = calloc(2 * BATON_MAX_SERVICES, sizeof(*rc->swap_fd));
	rc->svc = calloc(BATON_MAX_SERVICES, sizeof(*rc->svc));
	if (rc->be == NULL || rc->be_index == NULL || rc->new_ids == NULL || rc->svc == NULL ||
	    rc->swap_sid == NULL || rc->swap_fd == NULL || rc->svc_index == NULL ||
	    rc->new_sids == NULL) {
		reconcile_free(rc);
		return -ENOMEM;
	}
	return 0;
}

void reconcile_free(struct reconcile *rc)
{
	free(rc->be);
	free(rc->be_index);
	free(rc->new_ids);
	free(rc->swap_sid);
	free(rc->svc_index);
	free(rc->new_sids);
	free(rc->swap_fd);
	free(rc->svc);
	rc->be = NULL;
	rc->be_index = NULL;
	rc->new_ids = NULL;
	rc->swap_sid = NULL;
	rc->svc_index = NULL;
	rc->new_sids = NULL;
	rc->swap_fd = NULL;
	rc->svc = NULL;
}

static void frontend_key(struct baton_frontend_key *fk, const struct config_service *s)
{
	memset(fk, 0, sizeof(*fk));
	memcpy(fk->addr, s->vip, sizeof(fk->addr));
	fk->port = htons(s->port);
	fk->proto = s->proto;
	fk->family = s->family;
}

static void backend_entry(struct baton_backend *b, const struct config_backend *cb)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->addr, cb->addr, sizeof(b->addr));
	b->port = htons(cb->port);
	b->family = cb->family;
}

int reconcile_adopt(struct reconcile *rc)
{
	struct baton_frontend_key key, next, *prev = NULL;
	struct baton_frontend fe;

	for (__u32 id = 0; id < BATON_MAX_BACKENDS; id++) {
		struct baton_backend b;

		if (bpf_map_lookup_elem(rc->be_fd, &id, &b) < 0)
			return log_errno(errno, "cannot read backend %u", id);
		if (b.family == 0)
			continue;
		rc->be[id].b = b;
		rc->be[id].used = true;
		rc->n_backends++;
	}
	while (bpf_map_get_next_key(rc->fe_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(rc->fe_fd, &key, &fe) < 0 ||
		    (fe.flags & BATON_FE_F_ADDR_ONLY))
			continue;
		if (fe.service_id >= BATON_MAX_SERVICES)
			continue;
		rc->svc[fe.service_id].fk = key;
		rc->svc[fe.service_id].used = true;
		rc->svc[fe.service_id].gen = !!(fe.flags & BATON_FE_F_GEN1);
		rc->svc[fe.service_id].fe_flags = fe.flags & (BATON_FE_F_L7 | BATON_FE_F_TLS);
		rc->n_services++;
	}
	log_info("adopted pinned state: %u services, %u backends", rc->n_services, rc->n_backends);
	return 0;
}

/*
 * Backend lookups by address: an index of the used ids sorted by their entry, rebuilt
 * once per apply, so an apply costs O(n log n) rather than a scan of every id per
 * backend. Ids allocated during the apply are not in it; the caller looks among those
 * first (they are few).
 */
static const struct rc_backend *sort_base;

static int cmp_backend_ids(const void *a, const void *b)
{
	return memcmp(&sort_base[*(const __u32 *)a].b, &sort_base[*(const __u32 *)b].b,
		      sizeof(struct baton_backend));
}

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void index_backends(struct reconcile *rc)
{
	rc->be_index_len = 0;
	for (__u32 id = 0; id < BATON_MAX_BACKENDS; id++) {
		if (rc->be[id].used || rc->be[id].retired_ms)
			rc->be_index[rc->be_index_len++] = id;
	}
	sort_base = rc->be;
	qsort(rc->be_index, rc->be_index_len, sizeof(*rc->be_index), cmp_backend_ids);
}

static int find_backend(const struct reconcile *rc, const struct baton_backend *b)
{
	size_t lo = 0, hi = rc->be_index_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		__u32 id = rc->be_index[mid];
		int c = memcmp(&rc->be[id].b, b, sizeof(*b));

		if (c == 0)
			return rc->be[id].used || rc->be[id].retired_ms ? (int)id : -1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int alloc_backend(struct reconcile *rc)
{
	__u64 now = mono_ms();

	for (__u32 i = 0; i < BATON_MAX_BACKENDS; i++) {
		__u32 id = (rc->be_next + i) % BATON_MAX_BACKENDS;
		struct rc_backend *e = &rc->be[id];

		if (e->used || (e->retired_ms && now - e->retired_ms < RC_RETIRE_MS))
			continue;
		memset(e, 0, sizeof(*e));
		rc->be_next = id + 1;
		return id;
	}
	return -1;
}

/* Services by frontend key: a sorted index like the backends' (rebuilt when one came
 * or went), plus the few allocated by the apply in progress. */
static const struct rc_service *svc_sort_base;

static int cmp_service_ids(const void *a, const void *b)
{
	return memcmp(&svc_sort_base[*(const __u32 *)a].fk, &svc_sort_base[*(const __u32 *)b].fk,
		      sizeof(struct baton_frontend_key));
}

static void index_services(struct reconcile *rc)
{
	rc->svc_index_len = 0;
	for (__u32 id = 0; id < BATON_MAX_SERVICES; id++) {
		if (rc->svc[id].used)
			rc->svc_index[rc->svc_index_len++] = id;
	}
	svc_sort_base = rc->svc;
	qsort(rc->svc_index, rc->svc_index_len, sizeof(*rc->svc_index), cmp_service_ids);
	rc->n_new_svc = 0;
}

static int find_service(const struct reconcile *rc, const struct baton_frontend_key *fk)
{
	size_t lo = 0, hi = rc->svc_index_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		__u32 id = rc->svc_index[mid];
		int c = memcmp(&rc->svc[id].fk, fk, sizeof(*fk));

		if (c == 0)
			return rc->svc[id].used ? (int)id : -1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (__u32 i = 0; i < rc->n_new_svc; i++) {
		__u32 id = rc->new_sids[i];

		if (rc->svc[id].used && memcmp(&rc->svc[id].fk, fk, sizeof(*fk)) == 0)
			return id;
	}
	return -1;
}

int reconcile_service_id(const struct reconcile *rc, const struct baton_frontend_key *fk)
{
	return find_service(rc, fk);
}

int reconcile_backend_id(const struct reconcile *rc, __u8 family, const __be32 addr[4], __u16 port)
{
	struct baton_backend b = { .port = htons(port), .family = family };
	int id;

	memcpy(b.addr, addr, sizeof(b.addr));
	id = find_backend(rc, &b);
	if (id >= 0 && rc->be[id].used)
		return id;
	/* Allocated by the last apply, not yet in the index (rebuilt at the next one). */
	for (__u32 i = 0; i < rc->n_new; i++) {
		const struct rc_backend *e = &rc->be[rc->new_ids[i]];

		if (e->used && memcmp(&e->b, &b, sizeof(b)) == 0)
			return rc->new_ids[i];
	}
	return -1;
}

static int alloc_service(struct reconcile *rc)
{
	for (__u32 i = 0; i < BATON_MAX_SERVICES; i++) {
		__u32 id = (rc->svc_next + i) % BATON_MAX_SERVICES;

		if (!rc->svc[id].used) {
			rc->svc_next = id + 1;
			return id;
		}
	}
	return -1;
}

/* The id of a configured backend, allocating and writing a slot for a new one. */
static int backend_id(struct reconcile *rc, const struct config_backend *cb)
{
	struct baton_backend b;
	int id;

	backend_entry(&b, cb);
	id = find_backend(rc, &b);
	for (__u32 i = 0; id < 0 && i < rc->n_new; i++) {
		if (memcmp(&rc->be[rc->new_ids[i]].b, &b, sizeof(b)) == 0)
			id = rc->new_ids[i];
	}
	if (id >= 0 && !rc->be[id].used) {
		/* A retired backend is back: same id, its SNAT port walk continues. */
		if (bpf_map_update_elem(rc->be_fd, &id, &b, BPF_ANY) < 0)
			return log_errno(errno, "cannot write backend %d", id);
		rc->be[id].used = true;
		rc->be[id].retired_ms = 0;
	}
	if (id < 0) {
		id = alloc_backend(rc);
		if (id < 0) {
			log_err("more than %d backends", BATON_MAX_BACKENDS);
			return -ENOSPC;
		}
		if (bpf_map_update_elem(rc->be_fd, &id, &b, BPF_ANY) < 0)
			return log_errno(errno, "cannot write backend %d", id);
		rc->be[id].b = b;
		rc->be[id].used = true;
		rc->new_ids[rc->n_new++] = id;
		rc->set_changed = true;
	}
	rc->be[id].wanted = true;
	return id;
}

/*
 * What a table is built from: M and the set of (backend, id, weight). Maglev's output
 * depends on nothing else, so an equal fingerprint means an equal table and the build
 * is skipped. A sum of per-backend hashes does not depend on the order.
 */
static __u64 input_fingerprint(const struct maglev_backend *mb, size_t n, __u32 m)
{
	__u64 sum = maglev_hash64(&m, sizeof(m), 0);

	for (size_t i = 0; i < n; i++)
		sum += maglev_hash64(&mb[i], sizeof(mb[i]), 1);
	return sum;
}

#define SWAP_BATCH 256

/*
 * Every update of an array of maps makes the kernel wait for an RCU grace period
 * (tens of ms here), so the tables of one apply are swapped in by one batch update,
 * which waits once (kernels without batch support for it: one update each).
 */
static int flush_swaps(struct reconcile *rc)
{
	__u32 count = rc->n_swap;
	int err = 0;

	if (count &&
	    bpf_map_update_batch(rc->maglev_fd, rc->swap_sid, rc->swap_fd, &count, NULL) < 0) {
		for (size_t i = 0; i < rc->n_swap; i++) {
			if (bpf_map_update_elem(rc->maglev_fd, &rc->swap_sid[i], &rc->swap_fd[i],
						BPF_ANY) < 0 &&
			    !err)
				err = log_errno(errno, "cannot swap in the table of service id %u",
						rc->swap_sid[i]);
		}
	}
	for (size_t i = 0; i < rc->n_swap; i++)
		close(rc->swap_fd[i]);
	rc->n_swap = 0;
	return err;
}

/* Rewrites the standby generation's inner map of service sid with table[0..m]. */
static int refill_standby(struct reconcile *rc, __u32 sid, __u32 *keys, __u32 *table, __u32 m)
{
	__u32 slot = BATON_MAGLEV_SLOT(sid, !rc->svc[sid].gen), id, count = m + 1;
	int fd, err = 0;

	if (bpf_map_lookup_elem(rc->maglev_fd, &slot, &id) < 0)
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_batch(fd, keys, table, &count, NULL) < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * Builds the service's Maglev table into its standby generation (refilled in place, or
 * a new inner map queued for flush_swaps()); the frontend flips to it afterwards. No
 * backend with weight: both generations are emptied (TCP gets an RST, UDP is dropped).
 */
static int install_table(struct reconcile *rc, __u32 sid, const struct config_service *s,
			 const int *ids)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	struct rc_service *rs = &rc->svc[sid];
	struct maglev_backend *mb = NULL;
	__u32 m = s->maglev_size, *table = NULL, *keys = NULL, count;
	__u64 sum;
	int err = 0, fd = -1;

	mb = calloc(s->n_backends ? s->n_backends : 1, sizeof(*mb));
	if (mb == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_backends; i++) {
		const struct config_backend *cb = &s->backends[i];
		/* Identity across nodes: family, address, port; never the local id. */
		__u8 key[19];

		key[0] = cb->family;
		memcpy(key + 1, cb->addr, 16);
		key[17] = cb->port >> 8;
		key[18] = cb->port & 0xff;
		maglev_backend_init(&mb[i], key, sizeof(key), ids[i], cb->weight);
	}

	sum = input_fingerprint(mb, s->n_backends, m);
	if (rs->has_table && rs->input_sum == sum)
		goto out; /* unchanged: no build, no swap */

	table = malloc(((size_t)m + 1) * sizeof(*table));
	keys = malloc(((size_t)m + 1) * sizeof(*keys));
	if (table == NULL || keys == NULL) {
		err = -ENOMEM;
		goto out;
	}

	table[0] = m;
	err = maglev_build(mb, s->n_backends, m, table + 1);
	if (err == -ENOENT) {
		/* No table at all: new flows get an RST (TCP) or are dropped. */
		for (__u32 gen = 0; gen < 2; gen++) {
			__u32 slot = BATON_MAGLEV_SLOT(sid, gen);

			if ((rs->has_table || rs->standby_ok || !rs->fe_ok) &&
			    bpf_map_delete_elem(rc->maglev_fd, &slot) < 0 && errno != ENOENT) {
				err = log_errno(errno, "service %s: cannot remove its table",
						s->name);
				goto out;
			}
		}
		if (rs->has_table || s->n_backends)
			log_warn("service %s: no backend with weight > 0; new TCP connections get "
				 "an RST, UDP is dropped",
				 s->name);
		rs->has_table = false;
		rs->standby_ok = false;
		err = 0;
		goto out;
	}
	if (err) {
		log_errno(err, "service %s: cannot build its Maglev table", s->name);
		goto out;
	}
	for (__u32 i = 0; i <= m; i++)
		keys[i] = i;

	/* The usual case: refill the standby generation in place, then flip to it. */
	if (rs->has_table && rs->standby_ok && rs->standby_m == m &&
	    mono_ms() - rs->flip_ms >= RC_REUSE_MS &&
	    refill_standby(rc, sid, keys, table, m) == 0) {
		rs->pending = true;
		rs->pending_gen = !rs->gen;
		rs->pending_m = m;
		rs->pending_sum = sum;
		log_debug("service %s: standby table refilled", s->name);
		goto out;
	}

	/*
	 * Otherwise new inner maps, swapped in by flush_swaps() (one RCU wait per apply):
	 * into the standby slot, or, for a service without a table yet, into both slots
	 * (the second one is the future standby).
	 */
	for (int copy = 0; copy < (rs->has_table ? 1 : 2); copy++) {
		__u8 gen = rs->has_table ? !rs->gen : copy ? !rs->gen : rs->gen;

		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "maglev_tbl", sizeof(__u32), sizeof(__u32),
				    m + 1, &opts);
		if (fd < 0) {
			err = log_errno(errno, "service %s: cannot create a table of %u slots",
					s->name, m);
			goto out;
		}
		count = m + 1;
		if (bpf_map_update_batch(fd, keys, table, &count, NULL) < 0) {
			err = log_errno(errno, "service %s: cannot fill its table", s->name);
			goto out;
		}
		rc->swap_sid[rc->n_swap] = BATON_MAGLEV_SLOT(sid, gen);
		rc->swap_fd[rc->n_swap] = fd;
		rc->n_swap++;
		fd = -1;
	}
	/* Each queued table holds a file descriptor: swap them in by the few hundred. */
	if (rc->n_swap >= SWAP_BATCH) {
		err = flush_swaps(rc);
		if (err)
			goto out;
	}
	rs->pending = true;
	rs->pending_gen = rs->has_table ? !rs->gen : rs->gen;
	rs->pending_m = m;
	rs->pending_sum = sum;
	if (!rs->has_table) {
		/* Both slots now hold this table: the standby is ready for the next change. */
		rs->standby_ok = true;
		rs->standby_m = m;
		rs->active_m = m;
	}
	log_debug("service %s: Maglev table of %u slots built", s->name, m);
out:
	if (fd >= 0)
		close(fd);
	free(mb);
	free(table);
	free(keys);
	return err;
}

/* The frontend and the VIP address entry; after flush_swaps(), so the table exists. */
static int write_frontend(struct reconcile *rc, const struct config_service *s, __u32 sid, __u8 gen)
{
	struct baton_frontend fe = { .service_id = sid,
				     .flags = (s->sticky ? BATON_FE_F_STICKY : 0) |
					      (gen ? BATON_FE_F_GEN1 : 0) | s->fe_flags },
			      addr_fe = { .flags = BATON_FE_F_ADDR_ONLY };
	struct baton_frontend_key fk, ak;

	frontend_key(&fk, s);
	if (bpf_map_update_elem(rc->fe_fd, &fk, &fe, BPF_ANY) < 0)
		return log_errno(errno, "service %s: cannot write its frontend", s->name);
	ak = fk;
	ak.port = 0;
	ak.proto = 0;
	if (bpf_map_update_elem(rc->fe_fd, &ak, &addr_fe, BPF_ANY) < 0)
		return log_errno(errno, "service %s: cannot mark its VIP address", s->name);
	return 0;
}

/* Ids and the service's table (queued for flush_swaps()); *sid_out its service id. */
static int apply_service(struct reconcile *rc, const struct config_service *s, __u32 *sid_out)
{
	struct baton_frontend_key fk;
	int sid, err = 0, *ids;

	frontend_key(&fk, s);
	sid = find_service(rc, &fk);
	if (sid < 0) {
		sid = alloc_service(rc);
		if (sid < 0) {
			log_err("more than %d services", BATON_MAX_SERVICES);
			return -ENOSPC;
		}
		rc->svc[sid].fk = fk;
		rc->svc[sid].used = true;
		rc->new_sids[rc->n_new_svc++] = sid;
		rc->set_changed = true;
		rc->svc[sid].has_table = false;
	}
	rc->svc[sid].wanted = true;

	ids = calloc(s->n_backends ? s->n_backends : 1, sizeof(*ids));
	if (ids == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_backends; i++) {
		ids[i] = backend_id(rc, &s->backends[i]);
		if (ids[i] < 0) {
			err = ids[i];
			goto out;
		}
	}
	err = install_table(rc, sid, s, ids);
	*sid_out = sid;
out:
	free(ids);
	return err;
}

static bool addr_wanted(const struct config *cfg, const struct baton_frontend_key *ak)
{
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct config_service *s = &cfg->services[i];

		if (s->family == ak->family && memcmp(s->vip, ak->addr, sizeof(ak->addr)) == 0)
			return true;
	}
	return false;
}

/* Breaks after makes: frontends, then tables, then backend slots that nobody uses. */
static int remove_stale(struct reconcile *rc, const struct config *cfg)
{
	struct baton_frontend_key key, next, *prev = NULL;
	struct baton_frontend fe;
	int err = 0;

	while (bpf_map_get_next_key(rc->fe_fd, prev, &next) == 0) {
		bool stale;

		key = next;
		if (bpf_map_lookup_elem(rc->fe_fd, &key, &fe) < 0) {
			prev = &key;
			continue;
		}
		if (fe.flags & BATON_FE_F_ADDR_ONLY)
			stale = !addr_wanted(cfg, &key);
		else
			stale = fe.service_id >= BATON_MAX_SERVICES ||
				!rc->svc[fe.service_id].wanted ||
				memcmp(&rc->svc[fe.service_id].fk, &key, sizeof(key)) != 0;
		if (!stale) {
			prev = &key;
			continue;
		}
		/* Deleting the current key: continue from the previous one. */
		if (bpf_map_delete_elem(rc->fe_fd, &key) < 0 && errno != ENOENT) {
			err = log_errno(errno, "cannot remove a stale frontend");
			prev = &key;
		}
	}

	/*
	 * Tables of removed services. Each delete waits for an RCU grace period, and this
	 * kernel has no batch delete for arrays of maps (ENOTSUPP), but removals are few
	 * per apply; adopted services are included (has_table is unknown for them).
	 */
	for (__u32 sid = 0; sid < BATON_MAX_SERVICES; sid++) {
		struct rc_service *rs = &rc->svc[sid];

		if (!rs->used || rs->wanted)
			continue;
		for (__u32 gen = 0; gen < 2; gen++) {
			__u32 slot = BATON_MAGLEV_SLOT(sid, gen);

			if (bpf_map_delete_elem(rc->maglev_fd, &slot) < 0 && errno != ENOENT)
				err = log_errno(errno, "cannot remove a table of service id %u",
						sid);
		}
		memset(rs, 0, sizeof(*rs));
	}

	for (__u32 id = 0; id < BATON_MAX_BACKENDS; id++) {
		struct baton_backend empty = {};

		if (!rc->be[id].used || rc->be[id].wanted)
			continue;
		/* Flows to it keep their rewrite; only new flows stop (no table has it). */
		if (bpf_map_update_elem(rc->be_fd, &id, &empty, BPF_ANY) < 0)
			err = log_errno(errno, "cannot clear backend %u", id);
		rc->be[id].used = false;
		rc->be[id].retired_ms = mono_ms();
	}
	return err;
}

static int write_settings(struct reconcile *rc, const struct reconcile_settings *set)
{
	struct baton_config c = {
		.abi_version = BATON_ABI_VERSION,
		.nr_cpus = libbpf_num_possible_cpus(),
		.snat_v4 = set->snat_v4,
		.snat_port_min = set->snat_port_min,
		.snat_port_max = set->snat_port_max,
		.tcp_idle_ns = set->tcp_idle_ns,
		.udp_idle_ns = set->udp_idle_ns,
		.tcp_close_ns = set->tcp_close_ns,
		.port_reuse_ns = set->port_reuse_ns,
		.fib_cache_ns = set->fib_cache_ns,
		.tcp_syn_ns = set->tcp_syn_ns,
		.l7_lane_ifindex = set->l7_lane_ifindex,
		.l7_port_min = set->l7_port_min,
		.l7_port_max = set->l7_port_max,
	};
	__u32 zero = 0;

	memcpy(c.snat_v6, set->snat_v6, sizeof(c.snat_v6));
	if (bpf_map_update_elem(rc->config_fd, &zero, &c, BPF_ANY) < 0)
		return log_errno(errno, "cannot write the settings map");
	return 0;
}

int reconcile_apply(struct reconcile *rc, const struct config *cfg,
		    const struct reconcile_settings *set)
{
	__u32 *sids;
	int err;

	err = write_settings(rc, set);
	if (err)
		return err;
	for (__u32 i = 0; i < BATON_MAX_BACKENDS; i++)
		rc->be[i].wanted = false;
	/* The index stays valid while no backend came or went. */
	if (rc->set_changed || rc->be_index_len == 0 || rc->svc_index_len == 0) {
		index_backends(rc);
		index_services(rc);
	}
	rc->n_new = 0;
	rc->set_changed = false;
	for (__u32 i = 0; i < BATON_MAX_SERVICES; i++)
		rc->svc[i].wanted = false;

	sids = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*sids));
	if (sids == NULL)
		return -ENOMEM;
	/* Tables first (all swapped in at once), then the frontends that use them. */
	for (size_t i = 0; i < cfg->n_services && !err; i++) {
		err = apply_service(rc, &cfg->services[i], &sids[i]);
		if (err)
			log_err("service %s not applied", cfg->services[i].name);
	}
	if (!err)
		err = flush_swaps(rc);
	else
		flush_swaps(rc); /* what was built still serves its services */
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct rc_service *rs = &rc->svc[sids[i]];
		__u8 gen = rs->pending ? rs->pending_gen : rs->gen;

		if (!err && (!rs->fe_ok || rs->sticky != cfg->services[i].sticky ||
			     gen != rs->gen || rs->fe_flags != cfg->services[i].fe_flags)) {
			/* The flip: from here on new flows use the new table. */
			err = write_frontend(rc, &cfg->services[i], sids[i], gen);
			rs->fe_ok = !err;
			rs->sticky = cfg->services[i].sticky;
			rs->fe_flags = cfg->services[i].fe_flags;
		}
		if (!rs->pending)
			continue;
		rs->pending = false;
		if (err)
			continue; /* the frontend still names the old generation: nothing moved */
		if (gen != rs->gen) {
			rs->standby_ok = rs->has_table;
			rs->standby_m = rs->active_m;
			rs->gen = gen;
			rs->flip_ms = mono_ms();
		}
		rs->active_m = rs->pending_m;
		rs->has_table = true;
		rs->input_sum = rs->pending_sum;
	}
	free(sids);
	if (err) {
		/* Keep what serves: remove nothing while the new state is incomplete. */
		log_err("configuration not fully applied; stale entries kept until a good apply");
		return err;
	}
	/* Something to remove only when a service or backend in use is no longer wanted. */
	for (__u32 i = 0; i < BATON_MAX_SERVICES && !rc->set_changed; i++)
		rc->set_changed = rc->svc[i].used && !rc->svc[i].wanted;
	for (__u32 i = 0; i < BATON_MAX_BACKENDS && !rc->set_changed; i++)
		rc->set_changed = rc->be[i].used && !rc->be[i].wanted;
	if (rc->set_changed)
		err = remove_stale(rc, cfg);

	rc->n_backends = rc->n_services = 0;
	for (__u32 i = 0; i < BATON_MAX_BACKENDS; i++)
		rc->n_backends += rc->be[i].used;
	for (__u32 i = 0; i < BATON_MAX_SERVICES; i++)
		rc->n_services += rc->svc[i].used;
	return err;
}
