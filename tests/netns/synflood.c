// SPDX-License-Identifier: GPL-2.0-only
/*
 * synflood: a bounded generator of spoofed TCP SYNs for the netns tests. It writes
 * Ethernet frames on an interface with an AF_PACKET socket (sendmmsg, 64 frames a
 * call): IPv4 SYNs to DST:PORT from random sources in 198.18.0.0/15 and random ports,
 * checksums correct, so whoever receives them treats each as a new connection.
 * xdp-trafficgen would do this but does not run on this kernel (PLATFORM-NOTES).
 *
 * usage: synflood IFACE DST_MAC SRC_MAC DST_IP PORT COUNT SECONDS
 * Stops after COUNT frames or SECONDS, whichever comes first; prints
 * "sent=N seconds=S rate=R" (frames per second). Exit 0, or 1 on an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_LEN (14 + 20 + 20)

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const uint16_t *w = p;

	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6
		       ? 0
		       : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift: cheap randomness for spoofed sources, no libc state shared. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void build(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t daddr,
		  uint16_t dport, uint64_t *rs)
{
	struct iphdr *ip = (struct iphdr *)(f + 14);
	struct tcphdr *th = (struct tcphdr *)(ip + 1);
	uint32_t r = rnd(rs);

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 40);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(40);
	ip->id = (uint16_t)r;
	ip->frag_off = htons(0x4000);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htonl(0xc6120000u | (rnd(rs) & 0x1ffff)); /* 198.18.0.0/15 */
	ip->daddr = daddr;
	ip->check = csum(ip, 20, 0);
	th->source = htons((uint16_t)(1024 + r % 64000));
	th->dest = dport;
	th->seq = htonl(rnd(rs));
	th->doff = 5;
	th->syn = 1;
	th->window = htons(64240);
	/* Pseudo-header: addresses, protocol, TCP length (words as they lie in memory). */
	th->check = csum(th, 20,
			 (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) +
				 (ip->daddr >> 16) + htons(IPPROTO_TCP) + htons(20));
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint8_t dmac[6], smac[6];
	struct in_addr dst;
	unsigned long count, seconds, sent = 0;
	uint64_t rs = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	uint16_t port;
	double t0, el;
	int fd;

	if (argc != 8 || parse_mac(argv[2], dmac) || parse_mac(argv[3], smac) ||
	    inet_pton(AF_INET, argv[4], &dst) != 1) {
		fprintf(stderr, "usage: %s IFACE DST_MAC SRC_MAC DST_IP PORT COUNT SECONDS\n",
			argv[0]);
		return 1;
	}
	port = htons((uint16_t)strtoul(argv[5], NULL, 10));
	count = strtoul(argv[6], NULL, 10);
	seconds = strtoul(argv[7], NULL, 10);
	if (count == 0 || count > 100000000 || seconds == 0 || seconds > 60) {
		fprintf(stderr, "COUNT must be in 1..1e8, SECONDS in 1..60\n");
		return 1;
	}
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);
	if (sll.sll_ifindex == 0) {
		fprintf(stderr, "interface %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = frames[i];
		iov[i].iov_len = FRAME_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
	}
	t0 = now_s();
	while (sent < count && now_s() - t0 < (double)seconds) {
		unsigned int n = count - sent < BATCH ? (unsigned int)(count - sent) : BATCH;
		int r;

		for (unsigned int i = 0; i < n; i++)
			build(frames[i], dmac, smac, dst.s_addr, port, &rs);
		r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			perror("sendmmsg");
			close(fd);
			return 1;
		}
		sent += (unsigned long)r;
	}
	el = now_s() - t0;
	close(fd);
	printf("sent=%lu seconds=%.2f rate=%.0f\n", sent, el, el > 0 ? sent / el : 0.0);
	return 0;
}
