// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP_PASS, nothing else. XDP_TX out of a veth only reaches its peer when the peer
 * has an XDP program of its own (PLATFORM-NOTES); the one-arm test attaches this one
 * to the bridge side of the load balancer's veth.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
