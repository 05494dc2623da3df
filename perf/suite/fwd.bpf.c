// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bare forwarder of perf/suite.sh: the ceiling of XDP forwarding on the machine.
 * Every frame is redirected to one of two sinks, chosen by the low bit of the frame's
 * last source-port byte, with the Ethernet addresses of that sink: no parsing beyond
 * one byte, no flow or service lookup, no rewrite of IP or ports, no checksum. The
 * suite fills `fwd_tgt` (bpftool map update) with the egress ifindex and the MACs.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct fwd_target {
	__u32 ifindex;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u32 reserved; /* 20 bytes, no implicit padding */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct fwd_target);
} fwd_tgt SEC(".maps");

/* offset of the low byte of the TCP/UDP source port behind IPv4 (20 B) and IPv6 headers */
#define SPORT_LO_V4 (ETH_HLEN + 20 + 1)
#define SPORT_LO_V6 (ETH_HLEN + 40 + 1)

SEC("xdp")
int fwd(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	struct fwd_target *t;
	__u32 key = 0;

	if (data + SPORT_LO_V6 + 1 <= end)
		key = data[data[12] == 0x86 ? SPORT_LO_V6 : SPORT_LO_V4] & 1;
	else if (data + SPORT_LO_V4 + 1 <= end)
		key = data[SPORT_LO_V4] & 1;
	t = bpf_map_lookup_elem(&fwd_tgt, &key);
	if (t == NULL || t->ifindex == 0 || data + ETH_HLEN > end)
		return XDP_DROP;
	__builtin_memcpy(data, t->dmac, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, t->smac, ETH_ALEN);
	return bpf_redirect(t->ifindex, 0);
}
