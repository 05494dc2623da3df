// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "baton_abi.h"
#include "log.h"
#include "neigh.h"

#define PROBE_INTERVAL_MS 500

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int neigh_prober_init(struct neigh_prober *np)
{
	memset(np, 0, sizeof(*np));
	np->fd4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	np->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (np->fd4 < 0 || np->fd6 < 0) {
		int err = log_errno(errno, "cannot open ICMP sockets for neighbour probes");

		neigh_prober_free(np);
		return err;
	}
	/* We only send; never queue the echo replies. */
	shutdown(np->fd4, SHUT_RD);
	shutdown(np->fd6, SHUT_RD);
	return 0;
}

void neigh_prober_free(struct neigh_prober *np)
{
	if (np->fd4 > 0)
		close(np->fd4);
	if (np->fd6 > 0)
		close(np->fd6);
	np->fd4 = np->fd6 = -1;
}

static __u16 icmp_csum(const void *buf, size_t len)
{
	const __u16 *w = buf;
	__u32 sum = 0;

	for (size_t i = 0; i < len / 2; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	return ~sum;
}

static int recently_probed(struct neigh_prober *np, __u8 family, const __be32 *addr, __u32 ifindex)
{
	__u64 now = now_ms();
	struct neigh_recent *oldest = &np->recent[0];

	for (size_t i = 0; i < sizeof(np->recent) / sizeof(np->recent[0]); i++) {
		struct neigh_recent *r = &np->recent[i];

		if (r->family == family && r->ifindex == ifindex &&
		    memcmp(r->addr, addr, sizeof(r->addr)) == 0) {
			if (now - r->at_ms < PROBE_INTERVAL_MS)
				return 1;
			r->at_ms = now;
			return 0;
		}
		if (r->at_ms < oldest->at_ms)
			oldest = r;
	}
	memcpy(oldest->addr, addr, sizeof(oldest->addr));
	oldest->family = family;
	oldest->ifindex = ifindex;
	oldest->at_ms = now;
	return 0;
}

void neigh_probe(struct neigh_prober *np, __u8 family, const __be32 *addr, __u32 ifindex)
{
	char ifname[IF_NAMESIZE] = "", text[INET6_ADDRSTRLEN];
	struct icmphdr echo = { .type = ICMP_ECHO };
	__be32 a[4] = {};
	ssize_t r;

	memcpy(a, addr, family == BATON_FAMILY_V4 ? 4 : 16);
	if (recently_probed(np, family, a, ifindex))
		return;
	if (ifindex)
		if_indextoname(ifindex, ifname);
	echo.un.echo.id = htons(0xba70);
	echo.un.echo.sequence = htons(++np->seq);

	if (family == BATON_FAMILY_V4) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = a[0] };

		echo.checksum = icmp_csum(&echo, sizeof(echo));
		r = sendto(np->fd4, &echo, sizeof(echo), 0, (struct sockaddr *)&sin, sizeof(sin));
		inet_ntop(AF_INET, a, text, sizeof(text));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_scope_id = ifindex };

		/* The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. */
		echo.type = ICMP6_ECHO_REQUEST;
		memcpy(&sin6.sin6_addr, a, 16);
		r = sendto(np->fd6, &echo, sizeof(echo), 0, (struct sockaddr *)&sin6, sizeof(sin6));
		inet_ntop(AF_INET6, a, text, sizeof(text));
	}
	if (r < 0)
		log_debug("neighbour probe to %s%s%s failed: %s", text, ifname[0] ? " on " : "",
			  ifname, strerror(errno));
	else
		log_debug("neighbour probe to %s%s%s", text, ifname[0] ? " on " : "", ifname);
}
