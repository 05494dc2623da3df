// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drops 1 % of the frames at random, passes the rest: the L7 test attaches it to the
 * client's veth so that spliced transfers must recover from loss (retransmissions then
 * travel through the XDP splice like any other segment).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_drop1(struct xdp_md *ctx)
{
	return bpf_get_prandom_u32() % 100 == 0 ? XDP_DROP : XDP_PASS;
}
