// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * batond: loads Baton's XDP program, keeps its pinned maps true to the services file,
 * reloads it on SIGHUP. Stopping batond leaves forwarding running on the last state.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "baton_abi.h"
#include "baton.skel.h"
#include "caps.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "maglev.h"
#include "marathon_client.h"
#include "l7.h"
#include "neigh.h"
#include "reconcile.h"
#include "sync.h"

#define MAX_IFACES 8
#define NSEC_PER_SEC 1000000000ull

struct options {
	char *ifaces[MAX_IFACES];
	int n_ifaces;
	const char *config_path;
	/* Marathon mode */
	char *url_buf[MARATHON_MAX_URLS]; /* strdup'd --marathon values, split at ',' */
	struct marathon_client_opts mc;
	struct sync_options sync;
	bool dry_run;
	char *basic_auth, *token; /* read from files; kept out of ps */
	const char *state_dir;
	char vip_state_path[PATH_MAX];
	const char *api_listen; /* "none": no HTTP endpoint */
	const char *api_tokens; /* --api-tokens FILE, or NULL: open API */
	const char *bpffs;
	const char *bpf_object; /* NULL: the embedded program */
	bool generic;
	bool detach;
	bool l2_announce;
	bool have_snat_v4, have_snat_v6;
	struct reconcile_settings set;
	const char *l7_lane;		     /* --l7-lane */
	int fe_fd, l7_routes_fd, l7_meta_fd; /* for l7_publish() */
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
	OPT_MARATHON,
	OPT_AUTH_CREDENTIALS,
	OPT_AUTH_CREDENTIALS_FILE,
	OPT_AUTH_TOKEN_FILE,
	OPT_MARATHON_CA_CERT,
	OPT_MAX_BACKOFF,
	OPT_RESYNC_INTERVAL,
	OPT_STREAM_TIMEOUT,
	OPT_GROUP,
	OPT_STRICT_MODE,
	OPT_HEALTH_CHECK,
	OPT_DRY_RUN,
	OPT_MAGLEV_SIZE,
	OPT_VIP_POOL,
	OPT_STATE_DIR,
	OPT_VIP_DOMAIN,
	OPT_API_LISTEN,
	OPT_API_TOKENS,
	OPT_TCP_SYN_IDLE,
	OPT_L2_ANNOUNCE,
	OPT_BPF_OBJECT,
	OPT_L7_LANE,
	OPT_L7_PORTS,
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
	{ "bpf-object", required_argument, OPT_BPF_OBJECT, "FILE",
	  "load this build of the XDP program instead of the embedded one (upgrades: it "
	  "replaces the attached program and adopts the pinned maps)" },
	{ "tcp-idle", required_argument, OPT_TCP_IDLE, "SEC", "idle timeout of TCP flows (3600)" },
	{ "udp-idle", required_argument, OPT_UDP_IDLE, "SEC", "idle timeout of UDP flows (60)" },
	{ "tcp-close", required_argument, OPT_TCP_CLOSE, "SEC",
	  "grace after FIN/RST before a TCP flow ends (10)" },
	{ "tcp-syn-idle", required_argument, OPT_TCP_SYN_IDLE, "SEC",
	  "idle timeout of TCP flows whose handshake is not complete (30)" },
	{ "l2-announce", no_argument, OPT_L2_ANNOUNCE, NULL,
	  "answer ARP and IPv6 neighbour solicitations for the VIPs on every --iface" },
	{ "marathon", required_argument, OPT_MARATHON, "URL[,URL...]",
	  "follow this Marathon instead of a --config file (repeatable; failover in order)" },
	{ "auth-credentials", required_argument, OPT_AUTH_CREDENTIALS, "USER:PASS",
	  "HTTP basic auth for Marathon (visible in ps: prefer the file)" },
	{ "auth-credentials-file", required_argument, OPT_AUTH_CREDENTIALS_FILE, "FILE",
	  "read USER:PASS from the first line of FILE" },
	{ "auth-token-file", required_argument, OPT_AUTH_TOKEN_FILE, "FILE",
	  "send \"Authorization: token=<first line of FILE>\" (DC/OS)" },
	{ "marathon-ca-cert", required_argument, OPT_MARATHON_CA_CERT, "FILE",
	  "CA certificate(s) to verify Marathon's HTTPS with" },
	{ "max-backoff", required_argument, OPT_MAX_BACKOFF, "SEC",
	  "cap of the reconnect backoff (30)" },
	{ "resync-interval", required_argument, OPT_RESYNC_INTERVAL, "SEC",
	  "full fetch period, even with the event stream up (300)" },
	{ "stream-timeout", required_argument, OPT_STREAM_TIMEOUT, "SEC",
	  "an event stream silent this long is dead (35; Marathon's heartbeat is 10)" },
	{ "group", required_argument, OPT_GROUP, "NAME",
	  "only apps of this HAPROXY_GROUP (repeatable; * = all; default external)" },
	{ "strict-mode", no_argument, OPT_STRICT_MODE, NULL,
	  "a port needs HAPROXY_{n}_ENABLED=true to be served" },
	{ "health-check", no_argument, OPT_HEALTH_CHECK, NULL,
	  "tasks of apps with health checks count only when healthy" },
	{ "maglev-size", required_argument, OPT_MAGLEV_SIZE, "PRIME",
	  "Maglev table size of Marathon services (default: per service, >= 100 slots "
	  "per backend)" },
	{ "vip-pool", required_argument, OPT_VIP_POOL, "CIDR",
	  "pool for named VIP_n labels, one per family (default 11.0.0.0/8 and fd01:c::/64)" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR",
	  "where VIP names and operator drains persist (default /var/lib/baton with "
	  "--marathon; none with --config unless given)" },
	{ "vip-domain", required_argument, OPT_VIP_DOMAIN, "DOMAIN",
	  "names in DIR/vips.hosts: NAME.DOMAIN (default marathon.l4lb.thisdcos.directory)" },
	{ "api-listen", required_argument, OPT_API_LISTEN, "ADDR:PORT",
	  "HTTP API: /v1/..., /healthz, /metrics (default 127.0.0.1:9090; none: off)" },
	{ "api-tokens", required_argument, OPT_API_TOKENS, "FILE",
	  "API bearer tokens with their app-id scopes and VIP pools (JSON; default: "
	  "no tokens, the API is open)" },
	{ "l7-lane", required_argument, OPT_L7_LANE, "IFACE",
	  "the L7 lane: veth whose peer baton-l7 owns; http/https services go through it "
	  "(the program is attached to IFACE too)" },
	{ "l7-ports", required_argument, OPT_L7_PORTS, "MIN-MAX",
	  "source ports of baton-l7's backend legs on the SNAT address (61000-65535)" },
	{ "dry-run", no_argument, OPT_DRY_RUN, NULL,
	  "fetch once, print the services as JSON on stdout, exit" },
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
		   "       batond --iface IFACE --marathon URL[,URL...] [options]\n"
		   "       batond --marathon URL --dry-run\n"
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

static int parse_ports(const char *opt, const char *s, __u16 *min, __u16 *max)
{
	unsigned int lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || lo > hi || hi > 65535) {
		log_err("--%s: \"%s\" is not MIN-MAX within 1-65535", opt, s);
		return -EINVAL;
	}
	*min = lo;
	*max = hi;
	return 0;
}

/* The first line of a file, for secrets that must stay out of the command line. */
static int read_secret(const char *opt, const char *path, char **out)
{
	char buf[4096], *nl;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return log_errno(errno, "--%s: cannot read %s", opt, path);
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	nl = strpbrk(buf, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	if (buf[0] == '\0') {
		log_err("--%s: %s is empty", opt, path);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/*
 * "http://user:pass@host:8080" -> "http://host:8080", the credentials (percent-decoded)
 * becoming the basic auth unless --auth-credentials(-file) gave one: URLs are logged,
 * credentials never are.
 */
static int take_userinfo(struct options *o, char *url)
{
	char *auth = strstr(url, "://") + 3, *end = auth + strcspn(auth, "/?#"), *at, *d;

	at = memrchr(auth, '@', end - auth);
	if (at == NULL)
		return 0;
	if (o->basic_auth == NULL) {
		o->basic_auth = strndup(auth, at - auth);
		if (o->basic_auth == NULL)
			return -ENOMEM;
		for (char *s = d = o->basic_auth; *s; s++, d++) {
			if (s[0] == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
				*d = (char)(hexval(s[1]) * 16 + hexval(s[2]));
				s += 2;
			} else {
				*d = *s;
			}
		}
		*d = '\0';
	}
	explicit_bzero(auth, at - auth);
	memmove(auth, at + 1, strlen(at + 1) + 1);
	return 0;
}

/*
 * Overwrites every copy of secret in the command line with 'x' (/proc/PID/cmdline, ps):
 * what reaches argv stays visible only between exec and here. Files are the safe way.
 */
static void scrub_argv(int argc, char **argv, const char *secret)
{
	size_t n = secret != NULL ? strlen(secret) : 0;

	for (int i = 1; i < argc && n > 0; i++)
		for (char *p = strstr(argv[i], secret); p != NULL; p = strstr(p + n, secret))
			memset(p, 'x', n);
}

/* The user:pass@ of every URL in the command line, overwritten the same way. */
static void scrub_argv_userinfo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		for (char *u = strstr(argv[i], "://"); u != NULL; u = strstr(u, "://")) {
			char *auth = u + 3, *end = auth + strcspn(auth, "/?#,"), *at;

			at = memrchr(auth, '@', end - auth);
			if (at != NULL)
				memset(auth, 'x', at - auth);
			u = end;
		}
	}
}

static int add_urls(struct options *o, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *u;

	if (copy == NULL)
		return -ENOMEM;
	for (u = strtok_r(copy, ",", &save); u != NULL; u = strtok_r(NULL, ",", &save)) {
		if (o->mc.n_urls == MARATHON_MAX_URLS) {
			log_err("--marathon: at most %d URLs", MARATHON_MAX_URLS);
			free(copy);
			return -EINVAL;
		}
		if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
			log_err("--marathon: \"%s\" is not an http:// or https:// URL", u);
			free(copy);
			return -EINVAL;
		}
		o->url_buf[o->mc.n_urls] = strdup(u);
		if (o->url_buf[o->mc.n_urls] == NULL ||
		    take_userinfo(o, o->url_buf[o->mc.n_urls]) < 0) {
			free(copy);
			return -ENOMEM;
		}
		o->mc.urls[o->mc.n_urls] = o->url_buf[o->mc.n_urls];
		o->mc.n_urls++;
	}
	free(copy);
	return 0;
}

static int parse_ms(const char *name, const char *s, unsigned int *ms)
{
	__u64 ns;
	int err = parse_seconds(name, s, &ns);

	if (!err)
		*ms = ns / 1000000;
	return err;
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
	o->api_listen = "127.0.0.1:9090";
	o->set.snat_port_min = 1024;
	o->set.snat_port_max = 32767;
	o->set.l7_port_min = 61000; /* above the kernel's ephemeral range (32768-60999) */
	o->set.l7_port_max = 65535;
	o->set.tcp_idle_ns = 3600 * NSEC_PER_SEC;
	o->set.udp_idle_ns = 60 * NSEC_PER_SEC;
	o->set.tcp_close_ns = 10 * NSEC_PER_SEC;
	o->set.port_reuse_ns = 70 * NSEC_PER_SEC; /* TIME_WAIT is 60 s */
	o->set.fib_cache_ns = NSEC_PER_SEC;
	o->set.tcp_syn_ns = 30 * NSEC_PER_SEC;
	o->mc.max_backoff_ms = 30000;
	o->mc.resync_ms = 300000;
	o->mc.stream_idle_ms = 35000;
	o->mc.connect_timeout_ms = 5000;
	o->mc.fetch_timeout_ms = 60000;
	o->mc.max_body = 512u << 20;

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
			err = parse_ports("snat-ports", optarg, &o->set.snat_port_min,
					  &o->set.snat_port_max);
			break;
		case OPT_L7_LANE:
			o->l7_lane = optarg;
			break;
		case OPT_L7_PORTS:
			err = parse_ports("l7-ports", optarg, &o->set.l7_port_min,
					  &o->set.l7_port_max);
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
		case OPT_BPF_OBJECT:
			o->bpf_object = optarg;
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
		case OPT_TCP_SYN_IDLE:
			err = parse_seconds("tcp-syn-idle", optarg, &o->set.tcp_syn_ns);
			break;
		case OPT_L2_ANNOUNCE:
			o->l2_announce = true;
			break;
		case OPT_DETACH:
			o->detach = true;
			break;
		case OPT_MARATHON:
			err = add_urls(o, optarg);
			break;
		case OPT_AUTH_CREDENTIALS:
			free(o->basic_auth);
			o->basic_auth = strdup(optarg);
			break;
		case OPT_AUTH_CREDENTIALS_FILE:
			err = read_secret("auth-credentials-file", optarg, &o->basic_auth);
			break;
		case OPT_AUTH_TOKEN_FILE:
			err = read_secret("auth-token-file", optarg, &o->token);
			break;
		case OPT_MARATHON_CA_CERT:
			o->mc.ca_cert = optarg;
			break;
		case OPT_MAX_BACKOFF:
			err = parse_ms("max-backoff", optarg, &o->mc.max_backoff_ms);
			break;
		case OPT_RESYNC_INTERVAL:
			err = parse_ms("resync-interval", optarg, &o->mc.resync_ms);
			break;
		case OPT_STREAM_TIMEOUT:
			err = parse_ms("stream-timeout", optarg, &o->mc.stream_idle_ms);
			break;
		case OPT_GROUP:
			if (o->sync.n_groups ==
			    sizeof(o->sync.groups) / sizeof(o->sync.groups[0])) {
				log_err("too many --group");
				err = -EINVAL;
				break;
			}
			o->sync.groups[o->sync.n_groups++] = optarg;
			break;
		case OPT_STRICT_MODE:
			o->sync.strict_mode = true;
			break;
		case OPT_HEALTH_CHECK:
			o->sync.health_check = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_VIP_POOL: {
			char msg[256];
			struct vip_pool pool;

			if (vip_pool_parse(optarg, &pool, msg, sizeof(msg)) < 0) {
				log_err("--vip-pool: %s", msg);
				err = -EINVAL;
				break;
			}
			for (size_t i = 0; i < o->sync.n_vip_pools; i++) {
				if (o->sync.vip_pools[i].family == pool.family) {
					log_err("--vip-pool: one pool per address family");
					err = -EINVAL;
				}
			}
			if (!err)
				o->sync.vip_pools[o->sync.n_vip_pools++] = pool;
			break;
		}
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_VIP_DOMAIN:
			o->sync.vip_domain = optarg;
			break;
		case OPT_API_LISTEN:
			o->api_listen = optarg;
			break;
		case OPT_API_TOKENS:
			o->api_tokens = optarg;
			break;
		case OPT_MAGLEV_SIZE: {
			char *end;
			unsigned long m = strtoul(optarg, &end, 10);

			if (*end || m < BATON_MAGLEV_MIN || m > BATON_MAGLEV_MAX ||
			    !maglev_is_prime(m)) {
				log_err("--maglev-size: \"%s\" is not a prime in %u..%u", optarg,
					BATON_MAGLEV_MIN, BATON_MAGLEV_MAX);
				err = -EINVAL;
			}
			o->sync.maglev_size = m;
			break;
		}
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
	o->mc.basic_auth = o->basic_auth;
	o->mc.token = o->token;
	if (o->sync.n_vip_pools == 0) {
		vip_pool_parse(VIP_POOL_V4_DEFAULT, &o->sync.vip_pools[0], NULL, 0);
		vip_pool_parse(VIP_POOL_V6_DEFAULT, &o->sync.vip_pools[1], NULL, 0);
		o->sync.n_vip_pools = 2;
	}
	if (!o->dry_run && !o->detach && o->mc.n_urls == 0 && o->state_dir != NULL &&
	    mkdir(o->state_dir, 0700) < 0 && errno != EEXIST)
		return log_errno(errno, "--state-dir: cannot create %s", o->state_dir);
	if (!o->dry_run && o->mc.n_urls > 0) {
		if (o->state_dir == NULL)
			o->state_dir = "/var/lib/baton";
		struct stat st;

		if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST)
			return log_errno(errno, "--state-dir: cannot create %s", o->state_dir);
		/* Others could replace the VIP state or the exports other daemons read. */
		if (stat(o->state_dir, &st) < 0)
			return log_errno(errno, "--state-dir: %s", o->state_dir);
		if (!S_ISDIR(st.st_mode) || (st.st_mode & 022)) {
			log_err("--state-dir: %s is not a directory that only its owner can write "
				"(mode %03o)",
				o->state_dir, st.st_mode & 0777);
			return -EPERM;
		}
		snprintf(o->vip_state_path, sizeof(o->vip_state_path), "%s/vips", o->state_dir);
		o->sync.vip_state_path = o->vip_state_path;
		o->sync.state_dir = o->state_dir;
	}
	if (o->sync.n_groups == 0)
		o->sync.groups[o->sync.n_groups++] = "external"; /* Marathon-LB's default */
	if (o->dry_run) {
		if (o->mc.n_urls == 0) {
			log_err("--dry-run needs --marathon");
			return -EINVAL;
		}
		return 0;
	}
	if (o->n_ifaces == 0) {
		log_err("no --iface given");
		return -EINVAL;
	}
	if (!o->detach && (o->config_path == NULL) == (o->mc.n_urls == 0)) {
		log_err("give either --config FILE or --marathon URL");
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
/*
 * Have the kernel resolve backends (or their gateways) before their first packet: all
 * of them after the first apply, then only those an apply added, so that an event on
 * a large cluster does not send a probe to every backend.
 */
static void probe_backends(struct neigh_prober *np, const struct reconcile *rc,
			   const struct config *cfg, bool all)
{
	if (!all) {
		for (__u32 i = 0; i < rc->n_new; i++) {
			const struct baton_backend *b = &rc->be[rc->new_ids[i]].b;

			neigh_probe(np, b->family, b->addr, 0);
		}
		return;
	}
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

static int load_and_apply(struct options *o, struct reconcile *rc, struct neigh_prober *np,
			  struct api *api)
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
	err = l7_lower(&next, err_msg, sizeof(err_msg));
	if (err) {
		log_err("%s: %s; keeping the running configuration", o->config_path, err_msg);
		config_free(&next);
		return err;
	}
	default_snat(o, &next);
	api_before_apply(api, &next); /* operator drains, the API's view */
	err = reconcile_apply(rc, &next, &o->set);
	if (!err && o->l7_routes_fd >= 0) {
		int n = l7_publish(o->fe_fd, o->l7_routes_fd, o->l7_meta_fd, &next);

		if (n < 0)
			log_errno(-n, "cannot publish the L7 routes");
		else if (n > 0 || o->l7_lane != NULL)
			log_info("L7 routes published: %d", n);
	}
	if (err) {
		log_err("configuration from %s only partly applied; fix it and send SIGHUP",
			o->config_path);
	} else {
		probe_backends(np, rc, &next, true); /* a file is small: probe all of it */
		summarize(&next, &n_backends);
		log_info("applied config: %zu services, %zu backends (%u backend ids in use)",
			 next.n_services, n_backends, rc->n_backends);
	}
	/* The reconciler keeps what it needs; the parsed file is not kept. */
	config_free(&next);
	return err;
}

static void options_free(struct options *o)
{
	for (size_t i = 0; i < o->mc.n_urls; i++)
		free(o->url_buf[i]);
	free(o->basic_auth);
	free(o->token);
}

/* Around each Marathon apply, what load_and_apply() does around a file's. */
struct hook_ctx {
	struct options *o;
	struct neigh_prober *np;
	struct reconcile *rc;
	struct api *api;
	struct sync *sy; /* NULL with a services file */
	bool probed_all;
};

static void hook_before_apply(void *ctx, struct config *cfg)
{
	struct hook_ctx *hc = ctx;

	default_snat(hc->o, cfg);
	api_before_apply(hc->api, cfg);
}

/* The API changed the operator drains: apply again (the file is read again too). */
static int api_reapply(void *ctx)
{
	struct hook_ctx *hc = ctx;

	if (hc->sy != NULL)
		return sync_reapply(hc->sy, "drain");
	return load_and_apply(hc->o, hc->rc, hc->np, hc->api);
}

static void hook_after_apply(void *ctx, const struct config *cfg)
{
	struct hook_ctx *hc = ctx;

	probe_backends(hc->np, hc->rc, cfg, !hc->probed_all);
	hc->probed_all = true;
	if (hc->o->l7_lane != NULL) {
		int n = l7_publish(hc->o->fe_fd, hc->o->l7_routes_fd, hc->o->l7_meta_fd, cfg);

		if (n < 0)
			log_errno(-n, "cannot publish the L7 routes");
	}
}

/* batond --marathon URL --dry-run: one fetch, the services as JSON, no BPF at all. */
static int dry_run(struct options *o)
{
	static const struct marathon_client_ops ops = { .apps = sync_on_apps,
							.event = sync_on_event };
	struct marathon_client mc;
	struct sync sy;
	char *json;
	int err;

	err = sync_init(&sy, &o->sync, NULL, NULL, NULL);
	if (err)
		return 1;
	err = marathon_client_init(&mc, &o->mc, &ops, &sy);
	if (err) {
		log_errno(err, "cannot set up the Marathon client");
		sync_free(&sy);
		return 1;
	}
	marathon_client_fetch_now(&mc);
	/* Every URL gets one try; a refused body ends it too. */
	while (sy.fetches_applied == 0 && mc.fetch_errors < o->mc.n_urls &&
	       mc.refused_bodies == 0) {
		curl_multi_poll(mc.multi, NULL, 0, marathon_client_timeout_ms(&mc), NULL);
		marathon_client_run(&mc);
	}
	if (sy.fetches_applied == 0) {
		log_err("dry run: no usable answer from %s%s", o->mc.urls[0],
			o->mc.n_urls > 1 ? " or the other URLs" : "");
		err = 1;
	} else {
		json = marathon_services_to_json(&sy.services, true);
		if (json == NULL) {
			log_err("dry run: out of memory");
			err = 1;
		} else {
			printf("%s\n", json);
			free(json);
		}
	}
	marathon_client_free(&mc);
	sync_free(&sy);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct marathon_client_ops ops = { .apps = sync_on_apps,
							.event = sync_on_event,
							.flush = sync_flush };
	struct options o = {};
	struct datapath dp = {};
	struct reconcile rc = {};
	struct neigh_prober np = { .fd4 = -1, .fd6 = -1 };
	struct marathon_client mc = {};
	struct sync sy = {};
	struct api api = {};
	struct hook_ctx hc = { .o = &o, .np = &np, .rc = &rc, .api = &api };
	bool marathon;
	struct ring_buffer *rb = NULL;
	sigset_t mask;
	int sfd = -1, err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	log_route_libbpf();
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	scrub_argv(argc, argv, o.basic_auth);
	scrub_argv_userinfo(argc, argv);
	if (o.dry_run) {
		err = dry_run(&o);
		options_free(&o);
		return err;
	}
	marathon = o.mc.n_urls > 0;

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
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_errno(errno, "signalfd");
		return 1;
	}

	{
		struct api_options ao = { .listen = o.api_listen,
					  .tokens_path = o.api_tokens,
					  .state_dir = o.state_dir,
					  .version = BATON_VERSION,
					  .vip_domain = o.sync.vip_domain,
					  .ifaces = o.ifaces,
					  .n_ifaces = o.n_ifaces };

		err = api_init(&api, &ao);
		if (err)
			goto out;
		if (api.have_tenants)
			o.sync.tenants = &api.tenants;
	}
	err = datapath_open(&dp, o.bpffs, o.bpf_object);
	if (err)
		goto out;
	o.fe_fd = bpf_map__fd(dp.skel->maps.frontends);
	o.l7_routes_fd = bpf_map__fd(dp.skel->maps.l7_routes);
	o.l7_meta_fd = bpf_map__fd(dp.skel->maps.l7_meta);
	if (o.l7_lane != NULL) {
		o.sync.l7 = true;
		o.set.l7_lane_ifindex = if_nametoindex(o.l7_lane);
		if (o.set.l7_lane_ifindex == 0) {
			err = log_errno(errno, "--l7-lane %s", o.l7_lane);
			goto out;
		}
		if (o.set.l7_port_min <= o.set.snat_port_max &&
		    o.set.snat_port_min <= o.set.l7_port_max) {
			log_err("--l7-ports overlap --snat-ports");
			err = -EINVAL;
			goto out;
		}
	}
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

	if (marathon) {
		/* The pinned state (if any) serves until the first fetch replaces it. */
		struct sync_hooks hooks = { .before_apply = hook_before_apply,
					    .after_apply = hook_after_apply,
					    .ctx = &hc };

		hc.sy = &sy;
		err = sync_init(&sy, &o.sync, &rc, &o.set, &hooks);
		sy.defer_rebuild = true; /* a burst of events: one apply per loop turn */
		if (!err)
			err = marathon_client_init(&mc, &o.mc, &ops, &sy);
		if (err) {
			log_errno(err, "cannot set up the Marathon sync");
			goto out;
		}
		marathon_client_start(&mc);
	} else {
		/* Maps first, program second: an attached program never sees empty maps. */
		err = load_and_apply(&o, &rc, &np, &api);
		if (err && !dp.adopted)
			goto out;
	}
	for (int i = 0; i < o.n_ifaces; i++) {
		err = datapath_attach(&dp, o.ifaces[i], o.generic);
		if (err)
			goto out;
	}
	/* Frames of baton-l7 come back in on the lane: the program routes them. */
	if (o.l7_lane != NULL) {
		err = datapath_attach(&dp, o.l7_lane, o.generic);
		if (err)
			goto out;
	}
	err = datapath_l2_announce(&dp, o.ifaces, o.l2_announce ? o.n_ifaces : 0);
	if (err)
		goto out;
	err = api_start(&api, dp.skel, &rc, &o.set, marathon ? &sy : NULL, marathon ? &mc : NULL,
			api_reapply, &hc);
	if (err)
		goto out;
	/* Setup is over: what the loop does not need goes (docs/batond.8, SECURITY). */
	if (caps_drop_after_setup() < 0)
		log_warn("running with the capabilities batond started with");
	if (marathon)
		log_info("running; following Marathon at %s%s", o.mc.urls[0],
			 o.mc.n_urls > 1 ? " (and failover URLs)" : "");
	else
		log_info("running; SIGHUP reloads %s", o.config_path);

	for (;;) {
		struct curl_waitfd fds[3] = {
			{ .fd = sfd, .events = CURL_WAIT_POLLIN },
			{ .fd = ring_buffer__epoll_fd(rb), .events = CURL_WAIT_POLLIN },
			{ .fd = api.mhd ? api_fd(&api) : -1, .events = CURL_WAIT_POLLIN },
		};
		unsigned int nfds = api.mhd ? 3 : 2;
		struct signalfd_siginfo si;

		if (marathon) {
			curl_multi_poll(mc.multi, fds, nfds,
					api_timeout_ms(&api, marathon_client_timeout_ms(&mc)),
					NULL);
		} else {
			struct pollfd pfds[3];

			for (unsigned int i = 0; i < nfds; i++)
				pfds[i] = (struct pollfd){ .fd = fds[i].fd, .events = POLLIN };
			/* 1 s at most: the HTTP endpoint's connection timeouts need turns. */
			if (poll(pfds, nfds, api_timeout_ms(&api, 1000)) < 0 && errno != EINTR) {
				err = log_errno(errno, "poll");
				break;
			}
			for (unsigned int i = 0; i < nfds; i++)
				fds[i].revents = pfds[i].revents;
		}
		if (fds[1].revents)
			ring_buffer__consume(rb);
		if (api.mhd != NULL)
			api_run(&api);
		if (marathon)
			marathon_client_run(&mc);
		if (!fds[0].revents || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			api_reload_tokens(&api);
			if (marathon) {
				log_info("SIGHUP: full fetch from Marathon");
				marathon_client_want_fetch(&mc);
			} else {
				log_info("SIGHUP: reloading %s", o.config_path);
				load_and_apply(&o, &rc, &np, &api);
			}
			/* An interface's MAC may have changed. */
			datapath_l2_announce(&dp, o.ifaces, o.l2_announce ? o.n_ifaces : 0);
			continue;
		}
		log_info("signal %d: exiting; the XDP program stays attached with the last state",
			 si.ssi_signo);
		err = 0;
		break;
	}
out:
	api_free(&api);
	if (marathon) {
		marathon_client_free(&mc);
		sync_free(&sy);
	}
	ring_buffer__free(rb);
	neigh_prober_free(&np);
	reconcile_free(&rc);
	if (dp.skel != NULL)
		datapath_close(&dp);
	if (sfd >= 0)
		close(sfd);
	options_free(&o);
	return err ? 1 : 0;
}
