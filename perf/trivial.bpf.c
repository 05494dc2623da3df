// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor for perf/bench_xdp: two XDP programs that do nothing but return a verdict.
 * Baton's costs are reported as ratios to these, measured in the same run the same way.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int trivial_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int trivial_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}
