// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * batond: loads Baton's XDP program, keeps its pinned maps true to the services file,
 * reloads it on SIGHUP. Stopping batond leaves forwarding running on the last state.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>

#include "baton_abi.h"
#include "baton.skel.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "neigh.h"
#include "reconcile.h"

#define MAX_IFACES 8
#define NSEC_PER_SEC 1000000000ull

struct options {
	char *ifaces[MAX_IFACES];
	int n_ifaces;
	const char *config_path;
	const char *bpffs;
	bool generic;
	bool detach;
	bool have_snat_v4, have_snat_v6;
	struct reconcile_settings set;
};

/*
 * One table describes every option: name, argument, default, help. It drives
 * getopt_long and --help, so the two cannot disagree.
 */
enum opt_id {
	OPT_IFACE = 'i',
	OPT_CONFIG = 'c',
	OPT_VERBOSE = 'v',
	OPT_HELP = 'h',
	OPT_SNAT_ADDR = 256,
	OPT_SNAT_PORTS,
	OPT_XDP_MODE,
	OPT_BPFFS,
	OPT_DETACH,
	OPT_TCP_IDLE,
	OPT_UDP_IDLE,
	OPT_TCP_CLOSE,
	OPT_VERSION,
};

static const struct option_desc {
	const char *name;
	int has_arg;
	int id;
	const char *arg;
	const char *help;
} option_table[] = {
	{ "iface", required_argument, OPT_IFACE, "IFACE",
	  "interface to attach to (repeatable: two-arm deployments)" },
	{ "config", required_argument, OPT_CONFIG, "FILE",
	  "services file (JSON), reread on SIGHUP" },
	{ "snat-addr", required_argument, OPT_SNAT_ADDR, "ADDR",
	  "source address for NAT, IPv4 and/or IPv6 (repeatable; default: the primary "
	  "address of the interface that routes to the first backend)" },
	{ "snat-ports", required_argument, OPT_SNAT_PORTS, "MIN-MAX",
	  "source ports for NAT (default 1024-32767, below the kernel's ephemeral range)" },
	{ "xdp-mode", required_argument, OPT_XDP_MODE, "MODE", "native (default) or generic" },
	{ "bpffs", required_argument, OPT_BPFFS, "DIR",
	  "bpffs mount, mounted if needed; maps are pinned in DIR/baton (default /sys/fs/bpf)" },
	{ "tcp-idle", required_argument, OPT_TCP_IDLE, "SEC", "idle timeout of TCP flows (3600)" },
	{ "udp-idle", required_argument, OPT_UDP_IDLE, "SEC", "idle timeout of UDP flows (60)" },
	{ "tcp-close", required_argument, OPT_TCP_CLOSE, "SEC",
	  "grace after FIN/RST before a TCP flow ends (10)" },
	{ "detach", no_argument, OPT_DETACH, NULL,
	  "remove the program from the --iface interfaces and the pinned maps, then exit" },
	{ "verbose", no_argument, OPT_VERBOSE, NULL, "debug logging (libbpf's too)" },
	{ "version", no_argument, OPT_VERSION, NULL, "print the version and exit" },
	{ "help", no_argument, OPT_HELP, NULL, "this help" },
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: batond --iface IFACE [--iface IFACE2] --config FILE [options]\n"
		   "       batond --detach --iface IFACE [--iface IFACE2] [--bpffs DIR]\n\n"
		   "Baton's control plane: loads the XDP load balancer, keeps its pinned maps\n"
		   "true to the services file, reloads it on SIGHUP. SIGTERM leaves the program\n"
		   "attached and forwarding; a new batond adopts the pinned maps.\n\nOptions:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_desc *o = &option_table[i];
		char left[48];

		if (o->id < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->id, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
}

static int parse_seconds(const char *name, const char *s, __u64 *ns)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > 7 * 24 * 3600) {
		log_err("--%s: \"%s\" is not a number of seconds in 1..604800", name, s);
		return -EINVAL;
	}
	*ns = v * NSEC_PER_SEC;
	return 0;
}

static int parse_snat_addr(struct options *o, const char *s)
{
	if (inet_pton(AF_INET, s, &o->set.snat_v4) == 1) {
		o->have_snat_v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, s, o->set.snat_v6) == 1) {
		o->have_snat_v6 = true;
		return 0;
	}
	log_err("--snat-addr: \"%s\" is not an IPv4 or IPv6 address", s);
	return -EINVAL;
}

static int parse_ports(struct options *o, const char *s)
{
	unsigned int lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || lo > hi || hi > 65535) {
		log_err("--snat-ports: \"%s\" is not MIN-MAX within 1-65535", s);
		return -EINVAL;
	}
	o->set.snat_port_min = lo;
	o->set.snat_port_max = hi;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	struct option longopts[N_OPTIONS + 1];
	int c, err;

	memset(longopts, 0, sizeof(longopts));
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longopts[i].name = option_table[i].name;
		longopts[i].has_arg = option_table[i].has_arg;
		longopts[i].val = option_table[i].id;
	}
	o->bpffs = "/sys/fs/bpf";
	o->set.snat_port_min = 1024;
	o->set.snat_port_max = 32767;
	o->set.tcp_idle_ns = 3600 * NSEC_PER_SEC;
	o->set.udp_idle_ns = 60 * NSEC_PER_SEC;
	o->set.tcp_close_ns = 10 * NSEC_PER_SEC;
	o->set.port_reuse_ns = 70 * NSEC_PER_SEC; /* TIME_WAIT is 60 s */
	o->set.fib_cache_ns = NSEC_PER_SEC;

	while ((c = getopt_long(argc, argv, "i:c:vh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case OPT_IFACE:
			if (o->n_ifaces == MAX_IFACES) {
				log_err("at most %d --iface", MAX_IFACES);
				return -EINVAL;
			}
			o->ifaces[o->n_ifaces++] = optarg;
			break;
		case OPT_CONFIG:
			o->config_path = optarg;
			break;
		case OPT_SNAT_ADDR:
			err = parse_snat_addr(o, optarg);
			break;
		case OPT_SNAT_PORTS:
			err = parse_ports(o, optarg);
			break;
		case OPT_XDP_MODE:
			if (strcmp(optarg, "native") == 0) {
				o->generic = false;
			} else if (strcmp(optarg, "generic") == 0) {
				o->generic = true;
			} else {
				log_err("--xdp-mode: \"%s\" is neither native nor generic", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_BPFFS:
			o->bpffs = optarg;
			break;
		case OPT_TCP_IDLE:
			err = parse_seconds("tcp-idle", optarg, &o->set.tcp_idle_ns);
			break;
		case OPT_UDP_IDLE:
			err = parse_seconds("udp-idle", optarg, &o->set.udp_idle_ns);
			break;
		case OPT_TCP_CLOSE:
			err = parse_seconds("tcp-close", optarg, &o->set.tcp_close_ns);
			break;
		case OPT_DETACH:
			o->detach = true;
			break;
		case OPT_VERBOSE:
			log_set_level(LOG_LVL_DEBUG);
			break;
		case OPT_VERSION:
			printf("batond %s (ABI %d)\n", BATON_VERSION, BATON_ABI_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (err)
			return err;
	}
	if (optind < argc) {
		log_err("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (o->n_ifaces == 0) {
		log_err("no --iface given");
		return -EINVAL;
	}
	if (!o->detach && o->config_path == NULL) {
		log_err("no --config given");
		return -EINVAL;
	}
	return 0;
}

/*
 * The primary address of the interface the kernel would use towards addr: connect()
 * on a UDP socket picks the route and source without sending anything.
 */
static int source_towards(int family, const __be32 *addr, __be32 *out)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd, err = 0;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		sin->sin_addr.s_addr = addr[0];
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err = -errno;
	} else if (family == AF_INET) {
		out[0] = ((struct sockaddr_in *)&ss)->sin_addr.s_addr;
	} else {
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
	close(fd);
	return err;
}

/* Default SNAT addresses: the source the kernel uses towards a backend of each family. */
static void default_snat(struct options *o, const struct config *cfg)
{
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct config_service *s = &cfg->services[i];
		bool v4 = s->family == BATON_FAMILY_V4;

		if (s->n_backends == 0 || (v4 ? o->have_snat_v4 : o->have_snat_v6))
			continue;
		if (v4 && source_towards(AF_INET, s->backends[0].addr, &o->set.snat_v4) == 0) {
			o->have_snat_v4 = true;
			log_info("SNAT address (IPv4): %s",
				 inet_ntop(AF_INET, &o->set.snat_v4, buf, sizeof(buf)));
		} else if (!v4 &&
			   source_towards(AF_INET6, s->backends[0].addr, o->set.snat_v6) == 0) {
			o->have_snat_v6 = true;
			log_info("SNAT address (IPv6): %s",
				 inet_ntop(AF_INET6, o->set.snat_v6, buf, sizeof(buf)));
		}
	}
}

static void summarize(const struct config *cfg, size_t *n_backends)
{
	*n_backends = 0;
	for (size_t i = 0; i < cfg->n_services; i++)
		*n_backends += cfg->services[i].n_backends;
}

/* Have the kernel resolve every backend (or its gateway) before the first packet. */
static void probe_backends(struct neigh_prober *np, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct config_service *s = &cfg->services[i];

		for (size_t j = 0; j < s->n_backends; j++)
			neigh_probe(np, s->backends[j].family, s->backends[j].addr, 0);
	}
}

static int on_neigh_req(void *ctx, void *data, size_t len)
{
	const struct baton_neigh_req *req = data;

	if (len >= sizeof(*req))
		neigh_probe(ctx, req->family, req->addr, req->ifindex);
	return 0;
}

static int load_and_apply(struct options *o, struct reconcile *rc, struct config *running,
			  struct neigh_prober *np)
{
	struct config next = {};
	char err_msg[512];
	size_t n_backends;
	int err;

	err = config_load_file(o->config_path, &next, err_msg, sizeof(err_msg));
	if (err) {
		log_err("%s; keeping the running configuration", err_msg);
		return err;
	}
	default_snat(o, &next);
	err = reconcile_apply(rc, &next, &o->set);
	if (err) {
		log_err("configuration from %s only partly applied; fix it and send SIGHUP",
			o->config_path);
		config_free(&next);
		return err;
	}
	config_free(running);
	*running = next;
	probe_backends(np, running);
	summarize(running, &n_backends);
	log_info("applied config: %zu services, %zu backends (%u backend ids in use)",
		 running->n_services, n_backends, rc->n_backends);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {};
	struct datapath dp = {};
	struct reconcile rc = {};
	struct config running = {};
	struct neigh_prober np = { .fd4 = -1, .fd6 = -1 };
	struct ring_buffer *rb = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int sfd = -1, efd = -1, err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	log_route_libbpf();
	if (parse_args(argc, argv, &o) < 0)
		return 2;

	if (o.detach) {
		err = datapath_mount_bpffs(o.bpffs);
		if (!err)
			err = datapath_detach(o.bpffs, o.ifaces, o.n_ifaces);
		return err ? 1 : 0;
	}

	/* Signals are read from a signalfd in the main loop, never handled async. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_errno(errno, "signalfd");
		return 1;
	}

	err = datapath_open(&dp, o.bpffs);
	if (err)
		goto out;
	err = reconcile_init(&rc, bpf_map__fd(dp.skel->maps.frontends),
			     bpf_map__fd(dp.skel->maps.backends), bpf_map__fd(dp.skel->maps.maglev),
			     bpf_map__fd(dp.skel->maps.config));
	if (err)
		goto out;
	if (dp.adopted) {
		err = reconcile_adopt(&rc);
		if (err)
			goto out;
	}

	err = neigh_prober_init(&np);
	if (err)
		goto out;
	rb = ring_buffer__new(bpf_map__fd(dp.skel->maps.neigh_req), on_neigh_req, &np, NULL);
	if (rb == NULL) {
		err = log_errno(errno, "cannot open the neighbour request ring buffer");
		goto out;
	}
	efd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = sfd;
	if (efd < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev) < 0) {
		err = log_errno(errno, "epoll");
		goto out;
	}
	ev.data.fd = ring_buffer__epoll_fd(rb);
	if (epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
		err = log_errno(errno, "epoll");
		goto out;
	}

	/* Maps first, program second: an attached program never sees empty maps. */
	err = load_and_apply(&o, &rc, &running, &np);
	if (err && !dp.adopted)
		goto out;
	for (int i = 0; i < o.n_ifaces; i++) {
		err = datapath_attach(&dp, o.ifaces[i], o.generic);
		if (err)
			goto out;
	}
	log_info("running; SIGHUP reloads %s", o.config_path);

	for (;;) {
		struct signalfd_siginfo si;
		struct epoll_event events[2];
		bool sig = false;
		int n;

		n = epoll_wait(efd, events, 2, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = log_errno(errno, "epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == sfd)
				sig = true;
			else
				ring_buffer__consume(rb);
		}
		if (!sig)
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = log_errno(errno, "signalfd read");
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading %s", o.config_path);
			load_and_apply(&o, &rc, &running, &np);
			continue;
		}
		log_info("signal %d: exiting; the XDP program stays attached with the last state",
			 si.ssi_signo);
		err = 0;
		break;
	}
out:
	ring_buffer__free(rb);
	neigh_prober_free(&np);
	if (efd >= 0)
		close(efd);
	config_free(&running);
	reconcile_free(&rc);
	if (dp.skel != NULL)
		datapath_close(&dp);
	if (sfd >= 0)
		close(sfd);
	return err ? 1 : 0;
}
