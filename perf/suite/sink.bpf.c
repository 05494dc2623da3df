// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sinks of perf/suite.sh, on each backend's veth: count every IPv4/IPv6 frame that
 * arrives (per-CPU packets and bytes), then drop it (packet-rate runs: nothing climbs
 * the backend's stack, so the backend costs the same for every system) or pass it (HTTP
 * and iperf3 runs, nginx and iperf3 answer). The program also lets XDP_REDIRECT and
 * XDP_TX into the veth arrive at all (a veth peer needs an XDP program for that).
 * `sink_cfg[0]`: 1 drop, 0 pass, set with bpftool by the suite.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct sink_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_count);
} sink_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sink_cfg SEC(".maps");

SEC("xdp")
int sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct sink_count *c;
	__u32 key = 0, *drop;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) && eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&sink_cnt, &key);
	if (c != NULL) {
		c->packets++;
		c->bytes += end - data;
	}
	drop = bpf_map_lookup_elem(&sink_cfg, &key);
	return drop != NULL && *drop ? XDP_DROP : XDP_PASS;
}
