// SPDX-License-Identifier: GPL-2.0-only
/*
 * baton-pktgen: a small DPDK packet generator for Baton's benchmarks (perf/suite.sh).
 *
 * It sends on one DPDK port and optionally counts what arrives on another, with the
 * conventions of Pktgen-DPDK and TRex: frame size including the 4-byte FCS (64 B up),
 * rate in packets per second or "max", a duration and/or a packet count, IPv4 or IPv6,
 * TCP SYN (every packet opens a new flow), established-flow TCP ACK, or UDP, a number
 * of distinct 5-tuples from source address and port ranges, one destination VIP:port.
 *
 *   baton-pktgen EAL-ARGS -- --dst-mac MAC --dst VIP:PORT [options]
 *   baton-pktgen -l 1 -n 1 --no-pci --in-memory --no-huge -m 256 \
 *       --vdev net_af_xdp0,iface=g0 -- --dst-mac 02:..:01 --dst 10.50.100.1:80 --duration 3
 *
 * Kernel pktgen is not built into the kernels this runs on and xdp-trafficgen does not
 * run on them (PLATFORM-NOTES), hence a generator of our own.
 *
 * Rules it keeps: every frame is written completely right after it is allocated (mbufs
 * come back from the pool with whatever the last user left); the burst loop never blocks
 * (a burst the TX ring does not take is kept and offered again, and counted) and never
 * logs per packet; the run always ends at its duration or count. One lcore does it all.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#define PG_MAX_BURST 256
#define PG_FCS_LEN 4
#define PG_MAX_FRAME 1518 /* with FCS */

enum pg_proto {
	PG_SYN,
	PG_ACK,
	PG_UDP,
};

static const char *const pg_proto_names[] = { "syn", "ack", "udp" };

struct pg_opts {
	uint16_t tx_port;
	int rx_port;	   /* -1: none */
	unsigned int size; /* frame size including FCS */
	uint64_t rate_pps; /* 0: max */
	double duration_s;
	uint64_t count; /* 0: no limit but the duration */
	bool ipv6;
	enum pg_proto proto;
	uint8_t src_ip[16];
	uint32_t src_ips;
	uint16_t src_port;
	uint32_t src_ports;
	uint8_t dst_ip[16];
	uint16_t dst_port;
	struct rte_ether_addr src_mac, dst_mac;
	bool have_src_mac, have_dst_mac, have_dst;
	unsigned int burst;
	unsigned int mbufs;
	unsigned int ring;
	const char *json_path;
	bool quiet;
};

struct pg_counters {
	uint64_t tx_pkts, tx_bytes, tx_full, rx_pkts, rx_bytes;
};

static volatile bool pg_stop;

static void pg_on_signal(int sig)
{
	(void)sig;
	pg_stop = true;
}

static void usage(const char *prog)
{
	printf("usage: %s EAL-ARGS -- --dst-mac MAC --dst ADDR:PORT [options]\n"
	       "  --tx-port N         DPDK port to send on (default 0)\n"
	       "  --rx-port N         DPDK port to count received packets on (default: none)\n"
	       "  --size B            frame size including the 4-byte FCS, 64..1518 (default 64;\n"
	       "                      raised to the headers' minimum, 78 for IPv6 TCP)\n"
	       "  --rate PPS|max      packets per second (token bucket on the TSC) or max (default)\n"
	       "  --duration S        seconds to send (default 5; the run always ends)\n"
	       "  --count N           packets to send (ends at whichever comes first)\n"
	       "  --proto syn|ack|udp TCP SYN (new flows), TCP ACK of established flows, UDP\n"
	       "  --ipv6              IPv6 (addresses in IPv6 form)\n"
	       "  --src ADDR          first source address (default 10.0.0.2 / fd00::2)\n"
	       "  --src-ips N         source addresses, counting up from --src (default 1)\n"
	       "  --src-port P        first source port (default 1024)\n"
	       "  --src-ports N       source ports, counting up (default 1); flows = ips x ports\n"
	       "  --dst ADDR:PORT     destination (VIP) address and port, [v6]:port for IPv6\n"
	       "  --src-mac MAC       source MAC (default: the port's)\n"
	       "  --dst-mac MAC       destination MAC (the load balancer's interface)\n"
	       "  --burst N           packets per burst (default 32, max %d)\n"
	       "  --mbufs N           mbufs in the mempool (default 8191)\n"
	       "  --ring N            descriptors per RX/TX ring (default 1024)\n"
	       "  --json FILE         also write the final summary to FILE\n"
	       "  --quiet             no per-second lines\n"
	       "Per second: tx/rx Mpps and Gbit/s (frame bits, FCS included), tx_full (packets the\n"
	       "TX ring did not take at once, offered again), oerrors, imissed. Last line: JSON.\n",
	       prog, PG_MAX_BURST);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max || *s == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_addr(const char *s, bool v6, uint8_t out[16])
{
	memset(out, 0, 16);
	return inet_pton(v6 ? AF_INET6 : AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* ADDR:PORT or [ADDR]:PORT; the family is decided after all options are read */
static int parse_dst(const char *s, struct pg_opts *o, char *addr, size_t len)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (colon == NULL || parse_u64(colon + 1, 1, 65535, &port))
		return -EINVAL;
	size_t n = colon - s;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = 0;
	o->dst_port = port;
	return 0;
}

enum {
	OPT_TX_PORT = 256,
	OPT_RX_PORT,
	OPT_SIZE,
	OPT_RATE,
	OPT_DURATION,
	OPT_COUNT,
	OPT_PROTO,
	OPT_IPV6,
	OPT_SRC,
	OPT_SRC_IPS,
	OPT_SRC_PORT,
	OPT_SRC_PORTS,
	OPT_DST,
	OPT_SRC_MAC,
	OPT_DST_MAC,
	OPT_BURST,
	OPT_MBUFS,
	OPT_RING,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option pg_longopts[] = {
	{ "tx-port", required_argument, NULL, OPT_TX_PORT },
	{ "rx-port", required_argument, NULL, OPT_RX_PORT },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "ipv6", no_argument, NULL, OPT_IPV6 },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "src-ips", required_argument, NULL, OPT_SRC_IPS },
	{ "src-port", required_argument, NULL, OPT_SRC_PORT },
	{ "src-ports", required_argument, NULL, OPT_SRC_PORTS },
	{ "dst", required_argument, NULL, OPT_DST },
	{ "src-mac", required_argument, NULL, OPT_SRC_MAC },
	{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	{ "ring", required_argument, NULL, OPT_RING },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, 1 for --help, or -EINVAL after printing what is wrong. */
static int parse_args(int argc, char **argv, struct pg_opts *o)
{
	char src[INET6_ADDRSTRLEN + 1] = "", dst[INET6_ADDRSTRLEN + 1] = "";
	uint64_t v;
	int c;

	*o = (struct pg_opts){ .rx_port = -1,
			       .size = 64,
			       .duration_s = 5,
			       .proto = PG_SYN,
			       .src_ips = 1,
			       .src_port = 1024,
			       .src_ports = 1,
			       .burst = 32,
			       .mbufs = 8191,
			       .ring = 1024 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", pg_longopts, NULL)) != -1) {
		const char *a = optarg;
		int err = 0;

		switch (c) {
		case OPT_TX_PORT:
			err = parse_u64(a, 0, RTE_MAX_ETHPORTS - 1, &v);
			o->tx_port = v;
			break;
		case OPT_RX_PORT:
			err = parse_u64(a, 0, RTE_MAX_ETHPORTS - 1, &v);
			o->rx_port = (int)v;
			break;
		case OPT_SIZE:
			err = parse_u64(a, 64, PG_MAX_FRAME, &v);
			o->size = v;
			break;
		case OPT_RATE:
			if (strcmp(a, "max") == 0)
				o->rate_pps = 0;
			else
				err = parse_u64(a, 1, 1000000000ull, &o->rate_pps);
			break;
		case OPT_DURATION: {
			char *end;
			o->duration_s = strtod(a, &end);
			if (end == a || *end || !(o->duration_s > 0 && o->duration_s <= 3600))
				err = -EINVAL;
			break;
		}
		case OPT_COUNT:
			err = parse_u64(a, 1, UINT64_MAX, &o->count);
			break;
		case OPT_PROTO:
			if (strcmp(a, "syn") == 0)
				o->proto = PG_SYN;
			else if (strcmp(a, "ack") == 0)
				o->proto = PG_ACK;
			else if (strcmp(a, "udp") == 0)
				o->proto = PG_UDP;
			else
				err = -EINVAL;
			break;
		case OPT_IPV6:
			o->ipv6 = true;
			break;
		case OPT_SRC:
			if (strlen(a) >= sizeof(src))
				err = -EINVAL;
			else
				strcpy(src, a);
			break;
		case OPT_SRC_IPS:
			err = parse_u64(a, 1, 1u << 24, &v);
			o->src_ips = v;
			break;
		case OPT_SRC_PORT:
			err = parse_u64(a, 1, 65535, &v);
			o->src_port = v;
			break;
		case OPT_SRC_PORTS:
			err = parse_u64(a, 1, 65535, &v);
			o->src_ports = v;
			break;
		case OPT_DST:
			err = parse_dst(a, o, dst, sizeof(dst));
			o->have_dst = err == 0;
			break;
		case OPT_SRC_MAC:
			err = rte_ether_unformat_addr(a, &o->src_mac) ? -EINVAL : 0;
			o->have_src_mac = true;
			break;
		case OPT_DST_MAC:
			err = rte_ether_unformat_addr(a, &o->dst_mac) ? -EINVAL : 0;
			o->have_dst_mac = true;
			break;
		case OPT_BURST:
			err = parse_u64(a, 1, PG_MAX_BURST, &v);
			o->burst = v;
			break;
		case OPT_MBUFS:
			err = parse_u64(a, 1023, 1u << 20, &v);
			o->mbufs = v;
			break;
		case OPT_RING:
			err = parse_u64(a, 64, 4096, &v);
			o->ring = v;
			break;
		case OPT_JSON:
			o->json_path = a;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_HELP:
			usage(argv[0]);
			return 1;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
		if (err) {
			fprintf(stderr, "baton-pktgen: invalid value for --%s: '%s'\n",
				pg_longopts[c - OPT_TX_PORT].name, a);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "baton-pktgen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->have_dst || !o->have_dst_mac) {
		fprintf(stderr, "baton-pktgen: --dst ADDR:PORT and --dst-mac MAC are required\n");
		return -EINVAL;
	}
	if (parse_addr(dst, o->ipv6, o->dst_ip)) {
		fprintf(stderr, "baton-pktgen: --dst '%s' is not an IPv%d address\n", dst,
			o->ipv6 ? 6 : 4);
		return -EINVAL;
	}
	if (!src[0])
		strcpy(src, o->ipv6 ? "fd00::2" : "10.0.0.2");
	if (parse_addr(src, o->ipv6, o->src_ip)) {
		fprintf(stderr, "baton-pktgen: --src '%s' is not an IPv%d address\n", src,
			o->ipv6 ? 6 : 4);
		return -EINVAL;
	}
	if ((uint32_t)o->src_port + o->src_ports - 1 > 65535) {
		fprintf(stderr, "baton-pktgen: --src-port + --src-ports runs past port 65535\n");
		return -EINVAL;
	}
	return 0;
}

/* Header lengths of one frame (without FCS) */
struct pg_layout {
	unsigned int frame;   /* bytes in the mbuf: size - FCS */
	unsigned int l3, l4;  /* header lengths */
	unsigned int payload; /* L4 payload bytes */
};

static struct pg_layout pg_layout(struct pg_opts *o)
{
	struct pg_layout l;

	l.l3 = o->ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
	l.l4 = o->proto == PG_UDP ? sizeof(struct rte_udp_hdr) : sizeof(struct rte_tcp_hdr);
	unsigned int min = RTE_ETHER_HDR_LEN + l.l3 + l.l4;
	if (min < RTE_ETHER_MIN_LEN - PG_FCS_LEN)
		min = RTE_ETHER_MIN_LEN - PG_FCS_LEN;
	if (o->size - PG_FCS_LEN < min) {
		printf("baton-pktgen: --size %u raised to %u, the minimum for these headers\n",
		       o->size, min + PG_FCS_LEN);
		o->size = min + PG_FCS_LEN;
	}
	l.frame = o->size - PG_FCS_LEN;
	int pay = (int)l.frame - RTE_ETHER_HDR_LEN - (int)l.l3 - (int)l.l4;
	/* a SYN carries no data: the rest of a short frame is Ethernet padding */
	l.payload = (o->proto == PG_SYN || pay < 0) ? 0 : pay;
	return l;
}

/* Flow number -> source address and port: ports vary fastest */
static void pg_flow(const struct pg_opts *o, uint64_t flow, uint8_t saddr[16], uint16_t *sport)
{
	uint32_t ip_i = (flow / o->src_ports) % o->src_ips;

	*sport = o->src_port + flow % o->src_ports;
	memcpy(saddr, o->src_ip, 16);
	/* add ip_i to the address as a big-endian number (last 4 bytes of the family's form) */
	unsigned int last = o->ipv6 ? 15 : 3;
	uint32_t carry = ip_i;
	for (int i = last; i >= 0 && carry; i--) {
		uint32_t s = saddr[i] + (carry & 0xff);
		saddr[i] = s & 0xff;
		carry = (carry >> 8) + (s >> 8);
	}
}

/* Write a whole frame into m: Ethernet, IP, TCP/UDP, zeroed payload and padding. */
static void pg_write_frame(const struct pg_opts *o, const struct pg_layout *l, struct rte_mbuf *m,
			   uint64_t flow, uint64_t seq_no)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint8_t saddr[16];
	uint16_t sport;
	void *l3 = p + RTE_ETHER_HDR_LEN;
	uint8_t *l4 = p + RTE_ETHER_HDR_LEN + l->l3;
	uint16_t l4len = l->l4 + l->payload;

	pg_flow(o, flow, saddr, &sport);
	memset(p, 0, l->frame);
	rte_ether_addr_copy(&o->dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&o->src_mac, &eth->src_addr);
	if (o->ipv6) {
		struct rte_ipv6_hdr *ip6 = l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16(l4len);
		ip6->proto = o->proto == PG_UDP ? IPPROTO_UDP : IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, saddr, 16);
		memcpy(ip6->dst_addr, o->dst_ip, 16);
	} else {
		struct rte_ipv4_hdr *ip = l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(l->l3 + l4len);
		ip->packet_id = rte_cpu_to_be_16((uint16_t)seq_no);
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = o->proto == PG_UDP ? IPPROTO_UDP : IPPROTO_TCP;
		memcpy(&ip->src_addr, saddr, 4);
		memcpy(&ip->dst_addr, o->dst_ip, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (o->proto == PG_UDP) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;

		udp->src_port = rte_cpu_to_be_16(sport);
		udp->dst_port = rte_cpu_to_be_16(o->dst_port);
		udp->dgram_len = rte_cpu_to_be_16(l4len);
	} else {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4;
		/* per-flow sequence numbers: an established flow keeps its own, advancing */
		uint32_t isn = (uint32_t)(flow * 2654435761u);

		tcp->src_port = rte_cpu_to_be_16(sport);
		tcp->dst_port = rte_cpu_to_be_16(o->dst_port);
		tcp->data_off = (sizeof(*tcp) / 4) << 4;
		tcp->rx_win = rte_cpu_to_be_16(65535);
		if (o->proto == PG_SYN) {
			tcp->sent_seq = rte_cpu_to_be_32(isn ^ (uint32_t)seq_no);
			tcp->tcp_flags = RTE_TCP_SYN_FLAG;
		} else {
			tcp->sent_seq = rte_cpu_to_be_32(isn + 1);
			tcp->recv_ack = rte_cpu_to_be_32(~isn);
			tcp->tcp_flags = RTE_TCP_ACK_FLAG;
		}
	}
	/* L4 checksums in software: the PMDs here (af_xdp, af_packet on veth) offload none */
	uint16_t ck = o->ipv6 ? rte_ipv6_udptcp_cksum(l3, l4) : rte_ipv4_udptcp_cksum(l3, l4);
	if (o->proto == PG_UDP)
		((struct rte_udp_hdr *)l4)->dgram_cksum = ck;
	else
		((struct rte_tcp_hdr *)l4)->cksum = ck;
	m->data_len = l->frame;
	m->pkt_len = l->frame;
}

static int pg_port_init(uint16_t port, struct rte_mempool *pool, unsigned int ring)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nrx = ring, ntx = ring;
	int ret;

	if (!rte_eth_dev_is_valid_port(port))
		return -ENODEV;
	ret = rte_eth_dev_info_get(port, &info);
	if (ret)
		return ret;
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (ret)
		return ret;
	ret = rte_eth_rx_queue_setup(port, 0, nrx, rte_eth_dev_socket_id(port), NULL, pool);
	if (ret)
		return ret;
	ret = rte_eth_tx_queue_setup(port, 0, ntx, rte_eth_dev_socket_id(port), NULL);
	if (ret)
		return ret;
	ret = rte_eth_dev_start(port);
	if (ret)
		return ret;
	rte_eth_promiscuous_enable(port); /* not every PMD has it: the result is ignored */
	return 0;
}

static double pg_gbps(uint64_t pkts, uint64_t bytes, double s)
{
	/* frame bits with the FCS the mbuf does not hold, as Pktgen-DPDK reports them */
	return s > 0 ? (bytes + (double)pkts * PG_FCS_LEN) * 8 / s / 1e9 : 0;
}

struct pg_port_stats {
	uint64_t oerrors, imissed, ierrors;
};

static void pg_read_stats(int port, struct pg_port_stats *s)
{
	struct rte_eth_stats st;

	memset(s, 0, sizeof(*s));
	if (port < 0 || rte_eth_stats_get(port, &st))
		return;
	s->oerrors = st.oerrors;
	s->imissed = st.imissed;
	s->ierrors = st.ierrors;
}

static uint16_t pg_rx(int port, struct pg_counters *c)
{
	struct rte_mbuf *rx[PG_MAX_BURST];
	uint16_t n;

	if (port < 0)
		return 0;
	n = rte_eth_rx_burst(port, 0, rx, PG_MAX_BURST);
	for (uint16_t i = 0; i < n; i++) {
		c->rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
		rte_pktmbuf_free(rx[i]);
	}
	c->rx_pkts += n;
	return n;
}

static void pg_summary(FILE *f, const struct pg_opts *o, const struct pg_counters *c, double secs,
		       const struct pg_port_stats *tx_st, const struct pg_port_stats *rx_st,
		       uint64_t flows)
{
	fprintf(f,
		"{\"tool\":\"baton-pktgen\",\"proto\":\"%s\",\"ipv6\":%s,\"size\":%u,"
		"\"rate_pps\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"burst\":%u,"
		"\"duration_s\":%.3f,\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ","
		"\"tx_mpps\":%.4f,\"tx_gbps\":%.4f,\"tx_full\":%" PRIu64 ",\"oerrors\":%" PRIu64 ","
		"\"rx_port\":%d,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ","
		"\"rx_mpps\":%.4f,\"rx_gbps\":%.4f,\"imissed\":%" PRIu64 ",\"ierrors\":%" PRIu64
		"}\n",
		pg_proto_names[o->proto], o->ipv6 ? "true" : "false", o->size, o->rate_pps, flows,
		o->burst, secs, c->tx_pkts, c->tx_bytes, secs > 0 ? c->tx_pkts / secs / 1e6 : 0,
		pg_gbps(c->tx_pkts, c->tx_bytes, secs), c->tx_full, tx_st->oerrors, o->rx_port,
		c->rx_pkts, c->rx_bytes, secs > 0 ? c->rx_pkts / secs / 1e6 : 0,
		pg_gbps(c->rx_pkts, c->rx_bytes, secs), rx_st->imissed, rx_st->ierrors);
}

int main(int argc, char **argv)
{
	struct rte_mbuf *pending[PG_MAX_BURST];
	struct pg_counters c = { 0 }, last = { 0 };
	struct pg_port_stats tx_st, rx_st;
	struct pg_opts o;
	unsigned int npending = 0, pend_off = 0;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "baton-pktgen: EAL init failed (see the lines above)\n");
	argc -= ret;
	argv += ret;
	argv[0] = "baton-pktgen";
	ret = parse_args(argc, argv, &o);
	if (ret) {
		rte_eal_cleanup();
		return ret > 0 ? 0 : 2;
	}
	signal(SIGINT, pg_on_signal);
	signal(SIGTERM, pg_on_signal);

	/* Sized explicitly: the TX rings, the RX rings and what is in flight, with room. */
	unsigned int need = 2 * o.ring + 2 * PG_MAX_BURST + 512;
	if (o.rx_port >= 0 && o.rx_port != o.tx_port)
		need += 2 * o.ring;
	if (o.mbufs < need) {
		printf("baton-pktgen: --mbufs %u raised to %u (rings and bursts)\n", o.mbufs, need);
		o.mbufs = need;
	}
	struct rte_mempool *pool = rte_pktmbuf_pool_create(
		"pg_pool", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL)
		rte_exit(EXIT_FAILURE, "baton-pktgen: mempool of %u mbufs: %s\n", o.mbufs,
			 rte_strerror(rte_errno));
	ret = pg_port_init(o.tx_port, pool, o.ring);
	if (ret)
		rte_exit(EXIT_FAILURE, "baton-pktgen: port %u: %s\n", o.tx_port, strerror(-ret));
	if (o.rx_port >= 0 && o.rx_port != o.tx_port) {
		ret = pg_port_init(o.rx_port, pool, o.ring);
		if (ret)
			rte_exit(EXIT_FAILURE, "baton-pktgen: rx port %d: %s\n", o.rx_port,
				 strerror(-ret));
	}
	if (!o.have_src_mac)
		rte_eth_macaddr_get(o.tx_port, &o.src_mac);

	struct pg_layout lay = pg_layout(&o);
	uint64_t flows = (uint64_t)o.src_ips * o.src_ports;
	uint64_t hz = rte_get_tsc_hz();
	uint64_t start = rte_rdtsc();
	uint64_t end = start + (uint64_t)(o.duration_s * hz);
	uint64_t next_report = start + hz, last_report = start;
	uint64_t tokens_at = start; /* rate mode: the TSC up to which tokens were credited */
	uint64_t last_tx = start;
	/* up to 1 ms of tokens (at least a burst): a short preemption on a shared CPU is made
	 * up for, a long stall is not turned into a flood */
	double tokens = 0, burst_cap = RTE_MAX((double)o.burst, o.rate_pps / 1000.0);
	uint64_t flow = 0, seq_no = 0;
	int rx_port = o.rx_port;
	struct pg_port_stats tx0, rx0;

	pg_read_stats(o.tx_port, &tx0);
	pg_read_stats(rx_port, &rx0);
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &o.dst_mac);
	char rate[32] = "max";
	if (o.rate_pps)
		snprintf(rate, sizeof(rate), "%" PRIu64 " pps", o.rate_pps);
	printf("baton-pktgen: port %u -> %s, %s%s, %u B frames, %" PRIu64 " flows, rate %s,"
	       " up to %.1f s%s\n",
	       o.tx_port, mac, pg_proto_names[o.proto], o.ipv6 ? "/IPv6" : "/IPv4", o.size, flows,
	       rate, o.duration_s, o.count ? " or the packet count" : "");
	fflush(stdout);

	for (;;) {
		uint64_t now = rte_rdtsc();

		if (pg_stop || now >= end || (o.count && c.tx_pkts >= o.count))
			break;
		if (now >= next_report) {
			double s = (double)(now - last_report) / hz;
			pg_read_stats(o.tx_port, &tx_st);
			pg_read_stats(rx_port, &rx_st);
			if (!o.quiet)
				printf("t=%.0f tx %.3f Mpps %.3f Gbit/s  rx %.3f Mpps %.3f Gbit/s  "
				       "tx_full %" PRIu64 " oerrors %" PRIu64 " imissed %" PRIu64
				       "\n",
				       (double)(now - start) / hz,
				       (c.tx_pkts - last.tx_pkts) / s / 1e6,
				       pg_gbps(c.tx_pkts - last.tx_pkts, c.tx_bytes - last.tx_bytes,
					       s),
				       (c.rx_pkts - last.rx_pkts) / s / 1e6,
				       pg_gbps(c.rx_pkts - last.rx_pkts, c.rx_bytes - last.rx_bytes,
					       s),
				       c.tx_full - last.tx_full, tx_st.oerrors - tx0.oerrors,
				       rx_st.imissed - rx0.imissed);
			fflush(stdout);
			last = c;
			last_report = now;
			next_report += hz;
		}
		pg_rx(rx_port, &c);

		/* What the TX ring did not take last time goes first; it is complete already. */
		if (npending == 0) {
			unsigned int want = o.burst;
			if (o.rate_pps) {
				tokens += (double)(now - tokens_at) * o.rate_pps / hz;
				tokens_at = now;
				if (tokens > burst_cap)
					tokens = burst_cap; /* no catching up after a long stall */
				want = tokens < o.burst ? (unsigned int)tokens : o.burst;
				/* every burst costs a kick (a syscall for af_xdp): gather a whole
				 * burst unless the tokens of 100 us make less */
				if (want == 0 || (want < o.burst && now - last_tx < hz / 10000))
					continue;
			}
			if (o.count && c.tx_pkts + want > o.count)
				want = o.count - c.tx_pkts;
			if (rte_pktmbuf_alloc_bulk(pool, pending, want) != 0)
				continue; /* pool empty for a moment: the PMD frees as it sends */
			if (o.rate_pps)
				tokens -= want;
			last_tx = now;
			for (unsigned int i = 0; i < want; i++) {
				pg_write_frame(&o, &lay, pending[i], flow, seq_no++);
				if (++flow == flows)
					flow = 0;
			}
			npending = want;
			pend_off = 0;
		}
		uint16_t sent = rte_eth_tx_burst(o.tx_port, 0, pending + pend_off, npending);
		for (uint16_t i = 0; i < sent; i++)
			c.tx_bytes += pending[pend_off + i]->pkt_len;
		c.tx_pkts += sent;
		npending -= sent;
		pend_off += sent;
		c.tx_full += npending;
	}
	uint64_t stop_tsc = rte_rdtsc();
	if (npending)
		rte_pktmbuf_free_bulk(pending + pend_off, npending);
	/* Count what is still on its way to the RX port for a moment (bounded: 200 ms). */
	if (rx_port >= 0) {
		uint64_t until = rte_rdtsc() + hz / 5;
		while (rte_rdtsc() < until)
			pg_rx(rx_port, &c);
	}
	double secs = (double)(stop_tsc - start) / hz;
	pg_read_stats(o.tx_port, &tx_st);
	pg_read_stats(rx_port, &rx_st);
	tx_st.oerrors -= tx0.oerrors;
	rx_st.imissed -= rx0.imissed;
	rx_st.ierrors -= rx0.ierrors;
	pg_summary(stdout, &o, &c, secs, &tx_st, &rx_st, flows);
	fflush(stdout);
	if (o.json_path) {
		FILE *f = fopen(o.json_path, "w");
		if (f == NULL) {
			fprintf(stderr, "baton-pktgen: %s: %s\n", o.json_path, strerror(errno));
		} else {
			pg_summary(f, &o, &c, secs, &tx_st, &rx_st, flows);
			fclose(f);
		}
	}
	rte_eth_dev_stop(o.tx_port);
	rte_eth_dev_close(o.tx_port);
	if (rx_port >= 0 && rx_port != o.tx_port) {
		rte_eth_dev_stop(rx_port);
		rte_eth_dev_close(rx_port);
	}
	rte_eal_cleanup();
	return 0;
}
