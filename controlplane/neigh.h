/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Neighbour resolution for the XDP program. bpf_fib_lookup() only reads the kernel's
 * neighbour table; XDP cannot make the kernel resolve a next hop. batond does, by
 * sending an ICMP echo to the next hop: the kernel then resolves it (ARP/NDP) and
 * keeps the entry, and the next lookup succeeds.
 */
#ifndef BATON_NEIGH_H
#define BATON_NEIGH_H

#include <linux/types.h>

struct neigh_prober {
	int fd4, fd6;
	__u16 seq;
	/* Recently probed next hops: a burst of drops for one next hop costs one probe. */
	struct neigh_recent {
		__be32 addr[4];
		__u32 ifindex;
		__u8 family;
		__u64 at_ms;
	} recent[64];
};

int neigh_prober_init(struct neigh_prober *np);
void neigh_prober_free(struct neigh_prober *np);

/* Probes family/addr (BATON_FAMILY_*), out of ifindex when it is non-zero. */
void neigh_probe(struct neigh_prober *np, __u8 family, const __be32 *addr, __u32 ifindex);

#endif /* BATON_NEIGH_H */
