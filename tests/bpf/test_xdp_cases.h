/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The case tables of test_xdp.c (included once, after the harness): one table per
 * group, each group starting from common_setup() with an empty flow table. Within a
 * group cases run in order and may build on each other (a SYN opens the flow its ACK
 * uses); SNAT(n) / NEWSNAT(n) carry the SNAT port the program chose.
 */
#ifndef BATON_TEST_XDP_CASES_H
#define BATON_TEST_XDP_CASES_H

/* ---- Custom checks ---- */

/* The forward entry of case c's input packet; -1 (and err) if there is none. */
static int case_fwd_entry(const struct xdp_case *c, struct baton_flow *f, char *err, size_t errlen)
{
	struct pkt_spec s = c->in;
	struct baton_flow_key k;

	fx_flow_key(&s, false, &k);
	if (lookup_flow(&k, f)) {
		errf(err, errlen, "forward entry missing");
		return -1;
	}
	return 0;
}

/* Flow entries of the client CLIENT4:cport -> VIP4:80 whose SNAT port is in slot. */
static int get_tcp4_pair(int cport, int slot, struct baton_flow *fwd, struct baton_flow *rep,
			 char *err, size_t errlen)
{
	const struct pkt_spec c = { TCP4(CLIENT4, VIP4, cport, 80, 0) };
	const struct pkt_spec b = { TCP4(BE1_4, SNAT4, 8080, slot_port[slot], 0) };
	struct baton_flow_key k;

	fx_flow_key(&c, false, &k);
	if (lookup_flow(&k, fwd)) {
		errf(err, errlen, "forward entry of client port %d missing", cport);
		return -1;
	}
	fx_flow_key(&b, false, &k);
	if (lookup_flow(&k, rep)) {
		errf(err, errlen, "reply entry of SNAT port %u missing", slot_port[slot]);
		return -1;
	}
	return 0;
}

static void expect_state(const char *what, const struct baton_flow *f, bool fin, bool closing,
			 char *err, size_t errlen)
{
	if (!!(f->flags & BATON_FLOW_F_FIN) != fin)
		errf(err, errlen, "%s entry FIN flag %s, want %s", what,
		     f->flags & BATON_FLOW_F_FIN ? "set" : "clear", fin ? "set" : "clear");
	if ((f->closing_ns != 0) != closing)
		errf(err, errlen, "%s entry closing_ns %llu, want %s", what,
		     (unsigned long long)f->closing_ns, closing ? "set" : "0");
}

/* After the client's FIN: forward entry FIN, nothing closing yet. */
static int chk_client_fin(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow fwd, rep;

	if (get_tcp4_pair(41000, 0, &fwd, &rep, err, errlen))
		return -1;
	expect_state("forward", &fwd, true, false, err, errlen);
	expect_state("reply", &rep, false, false, err, errlen);
	return 0;
}

/* After both FINs: both entries FIN and closing. */
static int chk_both_fin(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow fwd, rep;

	if (get_tcp4_pair(41000, 0, &fwd, &rep, err, errlen))
		return -1;
	expect_state("forward", &fwd, true, true, err, errlen);
	expect_state("reply", &rep, true, true, err, errlen);
	return 0;
}

/* After an RST on the second flow (again slot 0's port): both closing at once. */
static int chk_rst(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow fwd, rep;

	if (get_tcp4_pair(41000, 0, &fwd, &rep, err, errlen))
		return -1;
	if (fwd.closing_ns == 0 || rep.closing_ns == 0)
		errf(err, errlen, "after RST closing_ns forward %llu reply %llu, want both set",
		     (unsigned long long)fwd.closing_ns, (unsigned long long)rep.closing_ns);
	return 0;
}

/* The redirected flow's cached next hop is bt1. */
static int chk_fib_b(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow f;

	if (case_fwd_entry(c, &f, err, errlen))
		return -1;
	if (f.fib_ifindex != (__u32)ifindex[IFB])
		errf(err, errlen, "fib_ifindex %u, want %d (%s)", f.fib_ifindex, ifindex[IFB],
		     IF_B);
	if (memcmp(f.dmac, mac_be2, 6) || memcmp(f.smac, mac_b, 6))
		errf(err, errlen, "cached MACs %s -> %s, want %s -> %s", fx_mac_str(f.smac),
		     fx_mac_str(f.dmac), fx_mac_str(mac_b), fx_mac_str(mac_be2));
	return 0;
}

/* One neigh_req record for addr on bt0. */
static void expect_neigh_req(const char *addr, char *err, size_t errlen)
{
	__be32 want[4];
	int n = neigh_req_read();

	fx_addr(4, addr, want);
	if (n != 1) {
		errf(err, errlen, "%d neigh_req records, want 1", n);
		if (n == 0)
			return;
	}
	if (memcmp(neigh_reqs[0].addr, want, sizeof(want)) ||
	    neigh_reqs[0].family != BATON_FAMILY_V4 ||
	    neigh_reqs[0].ifindex != (__u32)ifindex[IFA]) {
		char got[INET6_ADDRSTRLEN] = "?";

		inet_ntop(neigh_reqs[0].family == BATON_FAMILY_V6 ? AF_INET6 : AF_INET,
			  neigh_reqs[0].addr, got, sizeof(got));
		errf(err, errlen, "neigh_req {%s family %u ifindex %u}, want {%s 4 %d}", got,
		     neigh_reqs[0].family, neigh_reqs[0].ifindex, addr, ifindex[IFA]);
	}
}

/* Malformed packets, and packets dropped before a flow is written, open no flow. */
static int chk_no_flows(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow_key k;

	if (bpf_map_get_next_key(map_fd(skel->maps.flows), NULL, &k) == 0 ||
	    bpf_map_get_next_key(map_fd(skel->maps.syn_flows), NULL, &k) == 0)
		errf(err, errlen, "the flow table is not empty (sport %u dport %u)", ntohs(k.sport),
		     ntohs(k.dport));
	return 0;
}

static int chk_neigh_req_direct(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_neigh_req(BE_NONEIGH4, err, errlen);
	return chk_no_flows(c, err, errlen);
}

static int chk_neigh_req_gw(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_neigh_req(GW_NONEIGH4, err, errlen);
	return chk_no_flows(c, err, errlen);
}

/* ---- Common packets ---- */

#define SYN4(cport) FROM_CLIENT, TCP4(CLIENT4, VIP4, cport, 80, TH_SYN), .seq = 1000
#define SYN4_OUT(slot) TO_BE1, TCP4(SNAT4, BE1_4, slot, 8080, TH_SYN), .seq = 1000
#define SYN6(cport) FROM_CLIENT, TCP6(CLIENT6, VIP6, cport, 80, TH_SYN), .seq = 1000
#define SYN6_OUT(slot) TO_BE1, TCP6(SNAT6, BE1_6, slot, 8080, TH_SYN), .seq = 1000

/* A SYN opening a flow to BE1, its SNAT port learned in slot; then check fn (or none). */
#define NEW_TCP4_THEN(d, cport, slot, fn)                                                      \
	{                                                                                      \
		.desc = d, .in = { SYN4(cport) }, .action = XDP_TX,                            \
		.out = { SYN4_OUT(NEWSNAT(slot)) }, .reason = BATON_R_FWD_TX, .sid = SVC_TCP4, \
		.bid = BE_1_TCP4, .new_flow = true, .chk = CHK_FLOW, .check = fn               \
	}
#define NEW_TCP4(d, cport, slot) NEW_TCP4_THEN(d, cport, slot, NULL)
#define NEW_TCP6(d, cport, slot)                                                               \
	{                                                                                      \
		.desc = d, .in = { SYN6(cport) }, .action = XDP_TX,                            \
		.out = { SYN6_OUT(NEWSNAT(slot)) }, .reason = BATON_R_FWD_TX, .sid = SVC_TCP6, \
		.bid = BE_1_TCP6, .new_flow = true, .chk = CHK_FLOW                            \
	}
#define PASS_AS_IS(r) .action = XDP_PASS, .unchanged = true, .reason = BATON_R_##r
#define DROP(r) .action = XDP_DROP, .reason = BATON_R_##r

/* ---- IPv4 TCP: a whole connection ---- */

static const struct xdp_case tcp4_cases[] = {
	NEW_TCP4("SYN to the VIP opens a flow: snat:port -> backend, XDP_TX, both entries", 40000,
		 0),
	{ .desc = "SYN|ACK from the backend to snat:port -> vip:80 -> client",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 40000, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "ACK of the flow: same rewrite, same SNAT port",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 80, TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "data from the client (TTL, TOS, IP id and payload kept)",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 80, TH_PSH | TH_ACK), SEQ_C(1), .ttl = 7,
		  .tos = 0x28, .ip_id = 0xbeef, .payload_len = 333 },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_PSH | TH_ACK), SEQ_C(1), .ttl = 7,
		   .tos = 0x28, .ip_id = 0xbeef, .payload_len = 333 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "data from the backend",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_PSH | TH_ACK), SEQ_B(1),
		  .ip_id = 0x1111, .payload_len = 1000 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 40000, TH_PSH | TH_ACK), SEQ_B(1),
		   .ip_id = 0x1111, .payload_len = 1000 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "ACK padded to a 60-byte frame: forwarded, padding kept",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 80, TH_ACK), SEQ_C(334), .pad_to = 60 },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_ACK), SEQ_C(334), .pad_to = 60 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "retransmitted SYN hits the live flow: same port, no new flow",
	  .in = { SYN4(40000) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(SNAT(0)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "ACK to the VIP from a port without flow: drop_no_flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40099, 80, TH_ACK), SEQ_C(1) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "RST to the VIP without flow: drop_no_flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40098, 80, TH_RST), SEQ_C(1) },
	  DROP(DROP_NO_FLOW) },
	{ .desc = "FIN|ACK to the VIP without flow: drop_no_flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40097, 80, TH_FIN | TH_ACK), SEQ_C(1) },
	  DROP(DROP_NO_FLOW) },
	{ .desc = "SYN with one 802.1Q tag: new flow, forwarded with the tag kept",
	  .in = { SYN4(40001), .nvlan = 1, .vlan_tci = { 100 } },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(1)), .nvlan = 1, .vlan_tci = { 100 } },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "reply with one 802.1Q tag: tag kept",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(1), TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001, .nvlan = 1, .vlan_tci = { 0x2064 } },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 40001, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001, .nvlan = 1, .vlan_tci = { 0x2064 } },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "SYN with one 802.1ad tag: new flow, tag kept",
	  .in = { SYN4(40002), .nvlan = 1, .vlan_tpid = { PKT_ETH_P_8021AD }, .vlan_tci = { 7 } },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(2)), .nvlan = 1, .vlan_tpid = { PKT_ETH_P_8021AD },
		   .vlan_tci = { 7 } },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "SYN with two VLAN tags: pass_l2, unchanged",
	  .in = { SYN4(40003), .nvlan = 2, .vlan_tpid = { PKT_ETH_P_8021AD, PKT_ETH_P_8021Q },
		  .vlan_tci = { 10, 20 } },
	  PASS_AS_IS(PASS_L2_UNSUPPORTED),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
};

/* ---- IPv6 TCP ---- */

static const struct xdp_case tcp6_cases[] = {
	NEW_TCP6("SYN to the VIP opens a flow: snat:port -> backend, XDP_TX, both entries", 40000,
		 0),
	{ .desc = "SYN|ACK from the backend -> vip:80 -> client",
	  .in = { FROM_BE1, TCP6(BE1_6, SNAT6, 8080, SNAT(0), TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP6(VIP6, CLIENT6, 80, 40000, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ACK of the flow: same rewrite, same SNAT port",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6, 40000, 80, TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP6(SNAT6, BE1_6, SNAT(0), 8080, TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "data from the client (hop limit, traffic class, flow label kept)",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6, 40000, 80, TH_PSH | TH_ACK), SEQ_C(1), .ttl = 9,
		  .tos = 0x28, .flow_label = 0xabcde, .payload_len = 777 },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP6(SNAT6, BE1_6, SNAT(0), 8080, TH_PSH | TH_ACK), SEQ_C(1), .ttl = 9,
		   .tos = 0x28, .flow_label = 0xabcde, .payload_len = 777 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "data from the backend",
	  .in = { FROM_BE1, TCP6(BE1_6, SNAT6, 8080, SNAT(0), TH_PSH | TH_ACK), SEQ_B(1),
		  .payload_len = 1200 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP6(VIP6, CLIENT6, 80, 40000, TH_PSH | TH_ACK), SEQ_B(1),
		   .payload_len = 1200 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ACK to the VIP without flow: drop_no_flow",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6, 40099, 80, TH_ACK), SEQ_C(1) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	NEW_TCP6("second client port: a second SNAT port", 40001, 1),
	{ .desc = "SYN with one 802.1Q tag: forwarded with the tag kept",
	  .in = { SYN6(40002), .nvlan = 1, .vlan_tci = { 42 } },
	  .action = XDP_TX,
	  .out = { SYN6_OUT(NEWSNAT(2)), .nvlan = 1, .vlan_tci = { 42 } },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6,
	  .new_flow = true,
	  .chk = CHK_FLOW },
};

/* ---- UDP ---- */

static const struct xdp_case udp4_cases[] = {
	{ .desc = "UDP to the VIP opens a flow: snat:port -> backend:5353",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 40 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(0), 5353), .payload_len = 40 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "UDP reply from the backend -> vip:53 -> client",
	  .in = { FROM_BE1, UDP4(BE1_4, SNAT4, 5353, SNAT(0)), .payload_len = 100 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, UDP4(VIP4, CLIENT4, 53, 5000), .payload_len = 100 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "second datagram of the flow: same port",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 3 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, SNAT(0), 5353), .payload_len = 3 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "UDP with checksum 0: new flow, checksum stays 0",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5001, 53), .udp_csum_zero = true,
		  .payload_len = 21 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(1), 5353), .udp_csum_zero = true,
		   .payload_len = 21 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "reply with checksum 0: stays 0",
	  .in = { FROM_BE1, UDP4(BE1_4, SNAT4, 5353, SNAT(1)), .udp_csum_zero = true,
		  .payload_len = 9 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, UDP4(VIP4, CLIENT4, 53, 5001), .udp_csum_zero = true,
		   .payload_len = 9 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "UDP to the VIP on an unserved port: pass_vip_other",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5002, 54), .payload_len = 8 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "TCP SYN to a UDP-only VIP port: pass_vip_other",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 5003, 53, TH_SYN) },
	  PASS_AS_IS(PASS_VIP_OTHER),
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
};

static const struct xdp_case udp6_cases[] = {
	{ .desc = "UDP to the VIP opens a flow: snat:port -> backend:5353",
	  .in = { FROM_CLIENT, UDP6(CLIENT6, VIP6, 5000, 53), .payload_len = 40 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP6(SNAT6, BE1_6, NEWSNAT(0), 5353), .payload_len = 40 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP6,
	  .bid = BE_1_UDP6,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "UDP reply from the backend -> vip:53 -> client",
	  .in = { FROM_BE1, UDP6(BE1_6, SNAT6, 5353, SNAT(0)), .payload_len = 512 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, UDP6(VIP6, CLIENT6, 53, 5000), .payload_len = 512 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP6,
	  .bid = BE_1_UDP6 },
	{ .desc = "odd-length datagram of the flow",
	  .in = { FROM_CLIENT, UDP6(CLIENT6, VIP6, 5000, 53), .payload_len = 1 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP6(SNAT6, BE1_6, SNAT(0), 5353), .payload_len = 1 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP6,
	  .bid = BE_1_UDP6 },
	{ .desc = "UDP to the VIP on an unserved port: pass_vip_other",
	  .in = { FROM_CLIENT, UDP6(CLIENT6, VIP6, 5002, 54), .payload_len = 8 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
};

/* ---- Redirect: the backend is behind the other interface ---- */

static const struct xdp_case redirect_cases[] = {
	{ .desc = "SYN to a VIP whose backend is behind bt1: XDP_REDIRECT, bt1's MACs",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4B, 40000, 80, TH_SYN), .seq = 1000 },
	  .action = XDP_REDIRECT,
	  .out = { TO_BE2, TCP4(SNAT4, BE2_4, NEWSNAT(0), 8080, TH_SYN), .seq = 1000 },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP4B,
	  .bid = BE_2_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW,
	  .check = chk_fib_b }, /* the first packet already caches the next hop */
	{ .desc = "its reply arriving on bt1: XDP_REDIRECT to the client via bt0",
	  .ifin = IFB,
	  .in = { FROM_BE2, TCP4(BE2_4, SNAT4, 8080, SNAT(0), TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_REDIRECT,
	  .out = { TO_CLIENT_FROM_B, TCP4(VIP4B, CLIENT4, 80, 40000, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP4B,
	  .bid = BE_2_TCP4 },
	{ .desc = "ACK of the flow: XDP_REDIRECT again; the entry caches bt1 and its MACs",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4B, 40000, 80, TH_ACK), SEQ_C(1) },
	  .action = XDP_REDIRECT,
	  .out = { TO_BE2, TCP4(SNAT4, BE2_4, SNAT(0), 8080, TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP4B,
	  .bid = BE_2_TCP4,
	  .check = chk_fib_b },
	{ .desc = "IPv6 SYN to a VIP whose backend is behind bt1: XDP_REDIRECT",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6B, 40000, 80, TH_SYN), .seq = 1000 },
	  .action = XDP_REDIRECT,
	  .out = { TO_BE2, TCP6(SNAT6, BE2_6, NEWSNAT(1), 8080, TH_SYN), .seq = 1000 },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP6B,
	  .bid = BE_2_TCP6,
	  .new_flow = true,
	  .chk = CHK_FLOW,
	  .check = chk_fib_b }, /* the first packet already caches the next hop */
	{ .desc = "its IPv6 reply arriving on bt1: XDP_REDIRECT via bt0",
	  .ifin = IFB,
	  .in = { FROM_BE2, TCP6(BE2_6, SNAT6, 8080, SNAT(1), TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_REDIRECT,
	  .out = { TO_CLIENT_FROM_B, TCP6(VIP6B, CLIENT6, 80, 40000, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP6B,
	  .bid = BE_2_TCP6 },
	{ .desc = "IPv6 ACK of the flow: XDP_REDIRECT; the entry caches bt1 and its MACs",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6B, 40000, 80, TH_ACK), SEQ_C(1) },
	  .action = XDP_REDIRECT,
	  .out = { TO_BE2, TCP6(SNAT6, BE2_6, SNAT(1), 8080, TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_REDIRECT,
	  .sid = SVC_TCP6B,
	  .bid = BE_2_TCP6,
	  .check = chk_fib_b },
};

/* ---- Not ours: passed untouched ---- */

static const uint8_t arp_req[28] = { 0,	 1, 8, 0,   6, 4, 0, 1, 2, 0, 0,   0, 0x0a, 0xfe,
				     10, 0, 0, 254, 0, 0, 0, 0, 0, 0, 192, 0, 2,    10 };

static const struct xdp_case pass_cases[] = {
	{ .desc = "TCP SYN to the host's own address: pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_SYN) },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "TCP ACK to the host's own address: pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_ACK), .payload_len = 10 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "UDP to the host's own address: pass_not_vip",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, HOST4, 5000, 53), .payload_len = 10 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "TCP to a port in the SNAT range of the SNAT address, no flow: pass_not_vip",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, PORT_MIN_DEFAULT, TH_SYN | TH_ACK) },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "TCP to some other address (transit): pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, "198.51.100.99", 40000, 80, TH_SYN) },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "IPv6 TCP to the host's own address: pass_not_vip",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, HOST6, 40000, 22, TH_SYN) },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "IPv6 UDP to the host's own address: pass_not_vip",
	  .in = { FROM_CLIENT, UDP6(CLIENT6, HOST6, 5000, 53), .payload_len = 10 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "ARP request for the VIP: pass_not_ip",
	  .in = { .dmac = mac_a,
		  .smac = mac_router,
		  .ethertype = 0x0806,
		  .payload = arp_req,
		  .payload_len = sizeof(arp_req) },
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ARP with one VLAN tag: pass_not_ip",
	  .in = { .dmac = mac_a,
		  .smac = mac_router,
		  .nvlan = 1,
		  .vlan_tci = { 5 },
		  .ethertype = 0x0806,
		  .payload = arp_req,
		  .payload_len = sizeof(arp_req) },
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "LLDP: pass_not_ip",
	  .in = { .dmac = mac_a, .smac = mac_router, .ethertype = 0x88cc, .payload_len = 46 },
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ICMP echo request to the VIP: pass_vip_other",
	  .in = { FROM_CLIENT, ICMP4(CLIENT4, VIP4, 8, 0), .icmp_info = 0x12340001,
		  .payload_len = 56 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "ICMPv6 echo request to the VIP: pass_vip_other",
	  .in = { FROM_CLIENT, ICMP6(CLIENT6, VIP6, 128, 0), .icmp_info = 0x12340001,
		  .payload_len = 56 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "ICMP echo request to the host: pass_not_vip",
	  .in = { FROM_CLIENT, ICMP4(CLIENT4, HOST4, 8, 0), .icmp_info = 0x12340001,
		  .payload_len = 56 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "ICMPv6 neighbour solicitation: pass_not_vip",
	  .in = { .dmac = mac_a,
		  .smac = mac_router,
		  ICMP6("fe80::1", "ff02::1:ff00:1", 135, 0),
		  .ttl = 255,
		  .payload_len = 16 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "TCP SYN to the VIP on an unserved port (ssh): pass_vip_other",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 22, TH_SYN) },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "TCP ACK to the VIP on an unserved port: pass_vip_other (not drop_no_flow)",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 22, TH_ACK) },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "IPv6 TCP SYN to the VIP on an unserved port: pass_vip_other",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, VIP6, 40000, 22, TH_SYN) },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "GRE to the VIP: pass_vip_other",
	  .in = { FROM_CLIENT, .family = 4, .saddr = CLIENT4, .daddr = VIP4, .proto = 47,
		  .payload_len = 24 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
	{ .desc = "two VLAN tags towards the host: pass_l2",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_SYN), .nvlan = 2,
		  .vlan_tci = { 1, 2 } },
	  PASS_AS_IS(PASS_L2_UNSUPPORTED) },
	{ .desc = "two 802.1Q tags, ARP inside: pass_l2",
	  .in = { .dmac = mac_a,
		  .smac = mac_router,
		  .nvlan = 2,
		  .vlan_tci = { 1, 2 },
		  .ethertype = 0x0806,
		  .payload = arp_req,
		  .payload_len = sizeof(arp_req) },
	  PASS_AS_IS(PASS_L2_UNSUPPORTED) },
};

/* ---- Malformed and unsupported packets, towards a VIP and towards the host ---- */

/* IPv4 SYN: 54 bytes (14 + 20 + 20). IPv6 SYN: 74 bytes (14 + 40 + 20). */
#define TRUNC4(d, dst, n, act)                                                                   \
	{                                                                                        \
		.desc = d,                                                                       \
		.in = { FROM_CLIENT, TCP4(CLIENT4, dst, 40000, 80, TH_SYN), .truncate = n }, act \
	}
#define TRUNC6(d, dst, n, act)                                                                   \
	{                                                                                        \
		.desc = d,                                                                       \
		.in = { FROM_CLIENT, TCP6(CLIENT6, dst, 40000, 80, TH_SYN), .truncate = n }, act \
	}
/* Cut before the destination address can be read: nobody can tell it is for a VIP. */
#define PASS_ANY .action = XDP_PASS, .unchanged = true, .reasons_ok = ANY_PASS

static const struct xdp_case malformed_cases[] = {
	/* (BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header.) */
	TRUNC4("VIP, Ethernet header only (14 bytes): passed", VIP4, 14, PASS_ANY),
	{ .desc = "VIP, VLAN tag without inner ethertype (16 bytes): passed",
	  .in = { SYN4(40000), .nvlan = 1, .vlan_tci = { 3 }, .truncate = 16 },
	  PASS_ANY },
	{ .desc = "VIP, VLAN tag, inner ethertype cut (17 bytes): passed",
	  .in = { SYN4(40000), .nvlan = 1, .vlan_tci = { 3 }, .truncate = 17 },
	  PASS_ANY },
	TRUNC4("VIP, IPv4 header cut before daddr (26 bytes): passed", VIP4, 26, PASS_ANY),
	TRUNC4("VIP, IPv4 header whole, no TCP (34 bytes): drop_truncated", VIP4, 34,
	       DROP(DROP_TRUNCATED)),
	TRUNC4("VIP, cut inside the TCP header (40 bytes): drop_truncated", VIP4, 40,
	       DROP(DROP_TRUNCATED)),
	TRUNC4("VIP, TCP header one byte short (53 bytes): drop_truncated", VIP4, 53,
	       DROP(DROP_TRUNCATED)),
	TRUNC4("host, IPv4 header whole, no TCP: pass_not_vip", HOST4, 34,
	       PASS_AS_IS(PASS_NOT_VIP)),
	TRUNC4("host, cut inside the TCP header: pass_not_vip", HOST4, 40,
	       PASS_AS_IS(PASS_NOT_VIP)),
	TRUNC4("host, TCP header one byte short: pass_not_vip", HOST4, 53,
	       PASS_AS_IS(PASS_NOT_VIP)),
	TRUNC4("host, Ethernet header only: passed", HOST4, 14, PASS_ANY),
	TRUNC6("VIP, IPv6 header cut before daddr (40 bytes): passed", VIP6, 40, PASS_ANY),
	TRUNC6("VIP, IPv6 header whole, no TCP (54 bytes): drop_truncated", VIP6, 54,
	       DROP(DROP_TRUNCATED)),
	TRUNC6("VIP, IPv6, cut inside the TCP header (60 bytes): drop_truncated", VIP6, 60,
	       DROP(DROP_TRUNCATED)),
	TRUNC6("VIP, IPv6, TCP header one byte short (73 bytes): drop_truncated", VIP6, 73,
	       DROP(DROP_TRUNCATED)),
	TRUNC6("host, IPv6, cut inside the TCP header: pass_not_vip", HOST6, 60,
	       PASS_AS_IS(PASS_NOT_VIP)),
	{ .desc = "VIP, UDP header cut (38 bytes): drop_truncated",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 8, .truncate = 38 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, VLAN-tagged, cut inside the TCP header: drop_truncated",
	  .in = { SYN4(40000), .nvlan = 1, .vlan_tci = { 3 }, .truncate = 48 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv4 tot_len beyond the frame: drop_truncated",
	  .in = { SYN4(40000), .payload_len = 10, .tot_len_delta = 20 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv4 tot_len shorter than IP + TCP headers: drop_truncated",
	  .in = { SYN4(40000), .tot_len_delta = -10 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv6 payload_len shorter than the TCP header: drop_truncated",
	  .in = { SYN6(40000), .tot_len_delta = -10 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv4 tot_len shorter than IP + UDP headers: drop_truncated",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 8,
		  .tot_len_delta = -12 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv4 ihl 4: drop_truncated",
	  .in = { SYN4(40000), .ihl_override = 4 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, TCP data offset 4: drop_truncated",
	  .in = { SYN4(40000), .doff_override = 4 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "VIP, IPv6 payload_len beyond the frame: drop_truncated",
	  .in = { SYN6(40000), .tot_len_delta = 8 },
	  DROP(DROP_TRUNCATED) },
	{ .desc = "host, IPv4 tot_len beyond the frame: pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_SYN), .tot_len_delta = 20 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "host, TCP data offset 4: pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_SYN), .doff_override = 4 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "VIP, IPv4 options: drop_ip_options",
	  .in = { SYN4(40000), .ip_opt_len = 4 },
	  DROP(DROP_IP_OPTIONS) },
	{ .desc = "VIP on an unserved port, IPv4 options: drop_ip_options",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 22, TH_SYN), .ip_opt_len = 8 },
	  DROP(DROP_IP_OPTIONS) },
	{ .desc = "host, IPv4 options: pass_not_vip",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, HOST4, 40000, 22, TH_SYN), .ip_opt_len = 4 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "VIP, first fragment (MF): drop_fragment",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .no_df = true, .mf = true,
		  .payload_len = 64 },
	  DROP(DROP_FRAGMENT) },
	{ .desc = "VIP, later fragment (offset 185): drop_fragment",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .no_df = true, .frag_offset = 185,
		  .payload_len = 64 },
	  DROP(DROP_FRAGMENT) },
	{ .desc = "VIP, TCP SYN with MF: drop_fragment",
	  .in = { SYN4(40000), .mf = true },
	  DROP(DROP_FRAGMENT) },
	{ .desc = "host, fragment: pass_not_vip",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, HOST4, 5000, 53), .no_df = true, .mf = true,
		  .payload_len = 64 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "VIP, IPv6 hop-by-hop header: drop_ipv6_ext",
	  .in = { SYN6(40000), .v6_ext_set = true, .v6_ext = 0 },
	  DROP(DROP_IPV6_EXT) },
	{ .desc = "VIP, IPv6 destination options header: drop_ipv6_ext",
	  .in = { SYN6(40000), .v6_ext_set = true, .v6_ext = 60 },
	  DROP(DROP_IPV6_EXT) },
	{ .desc = "VIP, IPv6 routing header: drop_ipv6_ext",
	  .in = { SYN6(40000), .v6_ext_set = true, .v6_ext = 43 },
	  DROP(DROP_IPV6_EXT) },
	{ .desc = "VIP, IPv6 fragment header: drop_ipv6_ext",
	  .in = { SYN6(40000), .v6_ext_set = true, .v6_ext = 44 },
	  DROP(DROP_IPV6_EXT) },
	{ .desc = "host, IPv6 hop-by-hop header: pass_not_vip",
	  .in = { FROM_CLIENT, TCP6(CLIENT6, HOST6, 40000, 22, TH_SYN), .v6_ext_set = true,
		  .v6_ext = 0 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "nothing above opened a flow", .action = CHECK_ONLY, .check = chk_no_flows },
};

/* ---- No backend, no route ---- */

static const struct xdp_case nobackend_cases[] = {
	{ .desc = "SYN to a service without Maglev table (all weights 0): an RST|ACK back "
		  "(XDP_TX), options cut, ack = seq + 1",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 81, TH_SYN), .seq = 1000,
		  .payload_len = 12 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 81, 40000, TH_RST | TH_ACK), .seq = 0,
		   .ack = 1000 + 12 + 1, .window_zero = true },
	  .reason = BATON_R_TX_RST_NO_BACKEND,
	  .sid = SVC_EMPTY },
	{ .desc = "SYN to a service whose table holds BATON_NO_BACKEND: RST|ACK",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 84, TH_SYN), .seq = 7 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 84, 40000, TH_RST | TH_ACK), .seq = 0, .ack = 8,
		   .window_zero = true },
	  .reason = BATON_R_TX_RST_NO_BACKEND,
	  .sid = SVC_NOBE_SLOTS },
	{ .desc = "IPv6 SYN with a VLAN tag to a service without backends: RST|ACK, tag kept",
	  .in = { FROM_CLIENT, .nvlan = 1, .vlan_tci = { 42 },
		  TCP6(CLIENT6, VIP6, 40000, 81, TH_SYN), .seq = 0xfffffffe },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, .nvlan = 1, .vlan_tci = { 42 },
		   TCP6(VIP6, CLIENT6, 81, 40000, TH_RST | TH_ACK), .seq = 0, .ack = 0xffffffff,
		   .window_zero = true },
	  .reason = BATON_R_TX_RST_NO_BACKEND,
	  .sid = SVC_EMPTY6 },
	{ .desc = "UDP to a service without backends: drop_no_backend",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 40000, 81), .payload_len = 4 },
	  DROP(DROP_NO_BACKEND),
	  .sid = SVC_EMPTY_UDP },
	{ .desc = "an RST to a service without backends is not answered: drop_no_backend",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 81, TH_RST | TH_SYN) },
	  DROP(DROP_NO_BACKEND),
	  .sid = SVC_EMPTY },
	{ .desc = "ACK to the backendless service: drop_no_flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40000, 81, TH_ACK) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_EMPTY },
	{ .desc = "SYN to an on-link backend without neighbour entry: drop_no_neigh, "
		  "backend's address in neigh_req, no flow written",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40001, 82, TH_SYN), .seq = 1000 },
	  DROP(DROP_NO_NEIGH),
	  .sid = SVC_NONEIGH,
	  .bid = BE_NONEIGH,
	  .new_flow = false,
	  .check = chk_neigh_req_direct },
	{ .desc = "SYN to a backend behind a gateway without neighbour entry: drop_no_neigh, "
		  "gateway in neigh_req, no flow written",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40002, 85, TH_SYN), .seq = 1000 },
	  DROP(DROP_NO_NEIGH),
	  .sid = SVC_GW_NONEIGH,
	  .bid = BE_GW_NONEIGH,
	  .new_flow = false,
	  .check = chk_neigh_req_gw },
	{ .desc = "the retransmitted SYN: again drop_no_neigh, still no flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40002, 85, TH_SYN), .seq = 1000 },
	  DROP(DROP_NO_NEIGH),
	  .sid = SVC_GW_NONEIGH,
	  .bid = BE_GW_NONEIGH,
	  .check = chk_neigh_req_gw },
	{ .desc = "SYN to a backend behind an unreachable route: drop_fib, no flow written",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 40002, 83, TH_SYN) },
	  DROP(DROP_FIB),
	  .sid = SVC_UNREACH,
	  .bid = BE_UNREACH,
	  .new_flow = false,
	  .check = chk_no_flows },
};

/* ---- ICMP errors ---- */

/* The packets quoted by the ICMP errors, as each side saw them. */
static const struct pkt_spec q_syn4_client = { TCP4(CLIENT4, VIP4, 40000, 80, TH_SYN),
					       .seq = 1000 };
static const struct pkt_spec q_syn4_nat = { TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_SYN),
					    .seq = 1000 };
static const struct pkt_spec q_synack4_lb = { TCP4(VIP4, CLIENT4, 80, 40000, TH_SYN | TH_ACK),
					      .seq = 5000, .ack = 1001, .ip_id = 77 };
static const struct pkt_spec q_synack4_be = { TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_SYN | TH_ACK),
					      .seq = 5000, .ack = 1001, .ip_id = 77 };
static const struct pkt_spec q_udp4_client = { UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 12 };
static const struct pkt_spec q_udp4_nat = { UDP4(SNAT4, BE1_4, SNAT(1), 5353), .payload_len = 12 };
static const struct pkt_spec q_udp0_client = { UDP4(CLIENT4, VIP4, 5001, 53), .payload_len = 12,
					       .udp_csum_zero = true };
static const struct pkt_spec q_udp0_nat = { UDP4(SNAT4, BE1_4, SNAT(2), 5353), .payload_len = 12,
					    .udp_csum_zero = true };
static const struct pkt_spec q_unknown4 = { TCP4(VIP4, "198.51.100.99", 80, 4444,
						 TH_SYN | TH_ACK) };
static const struct pkt_spec q_unknown4_snat = { TCP4(SNAT4, BE1_4, 29999, 8080, TH_SYN) };
static const struct pkt_spec q_syn6_client = { TCP6(CLIENT6, VIP6, 40000, 80, TH_SYN),
					       .seq = 1000 };
static const struct pkt_spec q_syn6_nat = { TCP6(SNAT6, BE1_6, SNAT(3), 8080, TH_SYN),
					    .seq = 1000 };
static const struct pkt_spec q_data6_client = { TCP6(CLIENT6, VIP6, 40000, 80, TH_ACK), SEQ_C(1),
						.payload_len = 1400 };
static const struct pkt_spec q_data6_nat = { TCP6(SNAT6, BE1_6, SNAT(3), 8080, TH_ACK), SEQ_C(1),
					     .payload_len = 1400 };
static const struct pkt_spec q_unknown6 = { TCP6(VIP6, "2001:db8:100::99", 80, 4444,
						 TH_SYN | TH_ACK) };

static const struct xdp_case icmp_cases[] = {
	NEW_TCP4("IPv4 flow for the errors below", 40000, 0),
	{ .desc = "frag needed from the backend, whole SYN quoted: to the client, quote restored",
	  .in = { FROM_BE1, ICMP4(BE1_4, SNAT4, 3, 4), .icmp_info = 1400, .ip_id = 0x4242,
		  .quote = &q_syn4_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP4(VIP4, CLIENT4, 3, 4), .icmp_info = 1400, .ip_id = 0x4242,
		   .quote = &q_syn4_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "frag needed quoting IP header + 8 bytes only",
	  .in = { FROM_BE1, ICMP4(BE1_4, SNAT4, 3, 4), .icmp_info = 1280, .quote = &q_syn4_nat,
		  .quote_len = 28 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP4(VIP4, CLIENT4, 3, 4), .icmp_info = 1280,
		   .quote = &q_syn4_client, .quote_len = 28 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "time exceeded from a router on the backend side",
	  .in = { FROM_CLIENT, ICMP4(ROUTER4, SNAT4, 11, 0), .ttl = 250, .quote = &q_syn4_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP4(VIP4, CLIENT4, 11, 0), .ttl = 250, .quote = &q_syn4_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "frag needed from the client side quoting our reply: to the backend",
	  .in = { FROM_CLIENT, ICMP4(ROUTER4, VIP4, 3, 4), .icmp_info = 1300,
		  .quote = &q_synack4_lb },
	  .action = XDP_TX,
	  .out = { TO_BE1, ICMP4(SNAT4, BE1_4, 3, 4), .icmp_info = 1300, .quote = &q_synack4_be },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "UDP flow for the errors below",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 12 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(1), 5353), .payload_len = 12 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "port unreachable quoting a whole UDP datagram (quoted UDP checksum restored)",
	  .in = { FROM_BE1, ICMP4(BE1_4, SNAT4, 3, 3), .quote = &q_udp4_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP4(VIP4, CLIENT4, 3, 3), .quote = &q_udp4_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "UDP flow without checksum",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5001, 53), .payload_len = 12,
		  .udp_csum_zero = true },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(2), 5353), .payload_len = 12,
		   .udp_csum_zero = true },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "port unreachable quoting it: quoted UDP checksum stays 0",
	  .in = { FROM_BE1, ICMP4(BE1_4, SNAT4, 3, 3), .quote = &q_udp0_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP4(VIP4, CLIENT4, 3, 3), .quote = &q_udp0_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "ICMP error to the VIP quoting no known flow: drop_icmp",
	  .in = { FROM_CLIENT, ICMP4(ROUTER4, VIP4, 3, 1), .quote = &q_unknown4 },
	  DROP(DROP_ICMP) },
	{ .desc = "ICMP error to the SNAT address quoting no known flow: passed",
	  .in = { FROM_BE1, ICMP4(BE1_4, SNAT4, 3, 1), .quote = &q_unknown4_snat },
	  PASS_AS_IS(PASS_NOT_VIP) },
	NEW_TCP6("IPv6 flow for the errors below", 40000, 3),
	{ .desc = "ICMPv6 packet too big from the backend, whole SYN quoted",
	  .in = { FROM_BE1, ICMP6(BE1_6, SNAT6, 2, 0), .icmp_info = 1280, .quote = &q_syn6_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP6(VIP6, CLIENT6, 2, 0), .icmp_info = 1280,
		   .quote = &q_syn6_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ICMPv6 packet too big quoting 1232 bytes of a data segment",
	  .in = { FROM_BE1, ICMP6(BE1_6, SNAT6, 2, 0), .icmp_info = 1280, .quote = &q_data6_nat,
		  .quote_len = 1232 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP6(VIP6, CLIENT6, 2, 0), .icmp_info = 1280,
		   .quote = &q_data6_client, .quote_len = 1232 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ICMPv6 port unreachable quoting IPv6 header + 8 bytes",
	  .in = { FROM_BE1, ICMP6(BE1_6, SNAT6, 1, 4), .quote = &q_syn6_nat, .quote_len = 48 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP6(VIP6, CLIENT6, 1, 4), .quote = &q_syn6_client,
		   .quote_len = 48 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ICMPv6 time exceeded from a router on the backend side",
	  .in = { FROM_CLIENT, ICMP6(ROUTER6, SNAT6, 3, 0), .quote = &q_syn6_nat },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, ICMP6(VIP6, CLIENT6, 3, 0), .quote = &q_syn6_client },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
	{ .desc = "ICMPv6 error to the VIP quoting no known flow: drop_icmp",
	  .in = { FROM_CLIENT, ICMP6(ROUTER6, VIP6, 1, 0), .quote = &q_unknown6 },
	  DROP(DROP_ICMP) },
};

/* ---- TCP close: FINs, RST, reuse of the client port ---- */

static const struct xdp_case close_cases[] = {
	NEW_TCP4("SYN opens the flow", 41000, 0),
	{ .desc = "client FIN: forwarded, forward entry marked FIN",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, 80, TH_FIN | TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_FIN | TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_client_fin },
	{ .desc = "backend FIN: forwarded, both entries closing",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_FIN | TH_ACK), SEQ_B(1) },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 41000, TH_FIN | TH_ACK), SEQ_B(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_both_fin },
	{ .desc = "last ACK during the grace: still forwarded",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, 80, TH_ACK), SEQ_C(2) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_ACK), SEQ_C(2) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "SYN from the same client port, same backend: the closing flow's SNAT port",
	  .in = { SYN4(41000) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(SNAT(0)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "reply of the new flow goes to the client",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_SYN | TH_ACK), .seq = 9000,
		  .ack = 1001 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 41000, TH_SYN | TH_ACK), .seq = 9000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "late FIN of the old flow to that SNAT port is still forwarded (grace)",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_FIN | TH_ACK), SEQ_B(1) },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 41000, TH_FIN | TH_ACK), SEQ_B(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "client RST: forwarded, both entries closing at once",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, 80, TH_RST | TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_RST | TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_rst },
	{ .desc = "SYN after the RST of a handshake (no entry in flows): another SNAT port",
	  .in = { SYN4(41000) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(1)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
};

/* ---- Timeouts: idle flows and the close grace end ---- */

static void setup_short_timeouts(void)
{
	cfg.tcp_idle_ns = 5000000; /* 5 ms */
	cfg.tcp_syn_ns = 5000000;
	cfg.udp_idle_ns = 5000000;
	cfg.tcp_close_ns = 5000000;
	write_config();
}

static const struct xdp_case timeout_cases[] = {
	{ .desc = "UDP opens a flow",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 6000, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(0), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "after the UDP idle timeout the same client opens a new flow",
	  .sleep_ms = 50,
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 6000, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(1), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "a reply to the dead flow's SNAT port is not ours: pass_not_vip",
	  .sleep_ms = 50,
	  .in = { FROM_BE1, UDP4(BE1_4, SNAT4, 5353, SNAT(0)), .payload_len = 4 },
	  PASS_AS_IS(PASS_NOT_VIP) },
	NEW_TCP4("TCP opens a flow", 6001, 2),
	{ .desc = "after the TCP idle timeout its ACK has no flow: drop_no_flow",
	  .sleep_ms = 50,
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 6001, 80, TH_ACK), SEQ_C(1) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "a SYN on the dead entry opens a new flow",
	  .in = { SYN4(6001) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(3)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
};

static void setup_short_close(void)
{
	cfg.tcp_close_ns = 5000000; /* 5 ms; idle timeouts stay long */
	write_config();
}

static const struct xdp_case grace_cases[] = {
	NEW_TCP4("SYN opens the flow", 6002, 0),
	{ .desc = "client FIN",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 6002, 80, TH_FIN | TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_FIN | TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "backend FIN",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_FIN | TH_ACK), SEQ_B(1) },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 6002, TH_FIN | TH_ACK), SEQ_B(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "after the close grace the last ACK has no flow: drop_no_flow",
	  .sleep_ms = 50,
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 6002, 80, TH_ACK), SEQ_C(2) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "and the backend's retransmitted FIN is not ours any more: pass_not_vip",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_FIN | TH_ACK), SEQ_B(1) },
	  PASS_AS_IS(PASS_NOT_VIP) },
};

/* ---- SNAT ports ---- */

#define NPORTS_CASES 64
static struct xdp_case ports_cases[NPORTS_CASES];
static char ports_desc[NPORTS_CASES][80];

/* 64 SYNs from distinct client ports to one backend, run on CPU 1 (if there is one). */
static void build_ports_cases(void)
{
	int i;

	for (i = 0; i < NPORTS_CASES; i++) {
		struct xdp_case c = NEW_TCP4(ports_desc[i], 50000 + i, i);

		snprintf(ports_desc[i], sizeof(ports_desc[i]),
			 "SYN %d from client port %d: distinct SNAT port of this CPU", i + 1,
			 50000 + i);
		c.desc = ports_desc[i];
		ports_cases[i] = c;
	}
}

static void setup_port_range(void)
{
	cfg.snat_port_min = 40000;
	cfg.snat_port_max = 40999;
	write_config();
}

/* 10 ports, 2 CPUs: 5 per CPU. */
static void setup_tiny_port_range(void)
{
	cfg.snat_port_min = 30000;
	cfg.snat_port_max = 30009;
	write_config();
}

static const struct xdp_case busy_cases[] = {
	NEW_TCP4("port 1 of this CPU's 5", 42000, 0),
	NEW_TCP4("port 2 of this CPU's 5", 42001, 1),
	NEW_TCP4("port 3 of this CPU's 5", 42002, 2),
	NEW_TCP4("port 4 of this CPU's 5", 42003, 3),
	NEW_TCP4("port 5 of this CPU's 5", 42004, 4),
	{ .desc = "sixth SYN: every port of this CPU is live towards the backend: drop_snat_busy",
	  .in = { SYN4(42005) },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "the same SYN on the other CPU gets a port of its own partition",
	  .cpu = 2,
	  .in = { SYN4(42005) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(5)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
};

static void setup_no_snat(void)
{
	cfg.snat_v4 = 0;
	memset(cfg.snat_v6, 0, sizeof(cfg.snat_v6));
	write_config();
}

static const struct xdp_case nosnat_cases[] = {
	{ .desc = "IPv4 SYN without an IPv4 SNAT address: drop_no_snat",
	  .in = { SYN4(40000) },
	  DROP(DROP_NO_SNAT),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "IPv4 UDP without an IPv4 SNAT address: drop_no_snat",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 5000, 53), .payload_len = 4 },
	  DROP(DROP_NO_SNAT),
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "IPv6 SYN without an IPv6 SNAT address: drop_no_snat",
	  .in = { SYN6(40000) },
	  DROP(DROP_NO_SNAT),
	  .sid = SVC_TCP6,
	  .bid = BE_1_TCP6 },
};

/* ---- SNAT port reuse: dead entries, closed entries and port_reuse_ns ---- */

/*
 * 4 ports, 2 CPUs: CPU 0 owns 2. TCP closes after 5 ms; UDP idles out after 200 ms: the
 * cases between two UDP packets that must find the flow live take longer than 5 ms on a
 * loaded machine, and bpf_ktime_get_coarse_ns() moves in jiffies (up to 10 ms).
 */
static void setup_reuse(bool short_reuse)
{
	cfg.snat_port_min = 30000;
	cfg.snat_port_max = 30003;
	cfg.tcp_close_ns = 5000000;
	cfg.udp_idle_ns = 200000000;
	cfg.port_reuse_ns = short_reuse ? 10000000 : 70ull * 1000000000ull;
	write_config();
}

static void setup_reuse_long(void)
{
	setup_reuse(false);
}

static void setup_reuse_short(void)
{
	setup_reuse(true);
}

#define RST4(cport, slot)                                                                  \
	{                                                                                  \
		.desc = "client RST",                                                      \
		.in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, cport, 80, TH_RST), SEQ_C(1) },   \
		.action = XDP_TX,                                                          \
		.out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(slot), 8080, TH_RST), SEQ_C(1) }, \
		.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4                \
	}

static const struct xdp_case reuse_long_cases[] = {
	NEW_TCP4("first of this CPU's 2 ports", 43000, 0),
	NEW_TCP4("second of this CPU's 2 ports", 43001, 1),
	RST4(43000, 0),
	RST4(43001, 1),
	{ .desc = "both flows closed (and dead) less than port_reuse_ns ago: drop_snat_busy",
	  .sleep_ms = 50,
	  .in = { SYN4(43002) },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "UDP to another backend is not affected (cursor and ports per backend)",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43003, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(2), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "second UDP flow to that backend",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43004, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(3), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "third UDP flow while both are live: drop_snat_busy",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43005, 53), .payload_len = 4 },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "once they idled out (dead, never closed) their ports are reused at once",
	  .sleep_ms = 300,
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43005, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(4), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .reuse_ok = true,
	  .chk = CHK_FLOW },
};

static const struct xdp_case reuse_short_cases[] = {
	NEW_TCP4("first of this CPU's 2 ports", 43000, 0),
	NEW_TCP4("second of this CPU's 2 ports", 43001, 1),
	RST4(43000, 0),
	RST4(43001, 1),
	{ .desc = "both closed longer than port_reuse_ns (10 ms) ago: a port is reused",
	  .sleep_ms = 50,
	  .in = { SYN4(43002) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(2)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .reuse_ok = true,
	  .chk = CHK_FLOW },
};

/*
 * A client reopening its own tuple (conntrack's rule): 4 ports, 2 CPUs, CPU 0 owns 2;
 * a closed flow stays in its grace for 200 ms, its port guarded for 70 s.
 */
static void setup_reuse_client(void)
{
	setup_reuse(false);
	cfg.tcp_close_ns = 200000000;
	write_config();
}

static int step_tcp4_to_be2(const struct xdp_case *c, char *err, size_t errlen)
{
	maglev_ready = false; /* the next group's common_setup() puts the tables back */
	put_maglev(SVC_TCP4, BE_2_TCP4);
	return 0;
}

#define C4(cport, fl, n) FROM_CLIENT, TCP4(CLIENT4, VIP4, cport, 80, fl), SEQ_C(n)
#define B4(slot, fl, n) TCP4(SNAT4, BE1_4, SNAT(slot), 8080, fl), SEQ_C(n)
#define FWD4(d, in_, out_)                                                           \
	{                                                                            \
		.desc = d, .in = { in_ }, .action = XDP_TX, .out = { TO_BE1, out_ }, \
		.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4          \
	}
#define SYNACK_T4(d, cport, slot)                                                                 \
	{                                                                                         \
		.desc = d,                                                                        \
		.in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(slot), TH_SYN | TH_ACK),          \
			.seq = 5000, .ack = 1001 },                                               \
		.action = XDP_TX,                                                                 \
		.out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, cport, TH_SYN | TH_ACK), .seq = 5000, \
			 .ack = 1001 },                                                           \
		.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4                       \
	}
/* A SYN from cport that gets the port of slot (no NEWSNAT: it may be an old one). */
#define REOPEN4(d, cport, slot, ms, chk_)                                                   \
	{                                                                                   \
		.desc = d, .sleep_ms = ms, .in = { SYN4(cport) }, .action = XDP_TX,         \
		.out = { SYN4_OUT(SNAT(slot)) }, .reason = BATON_R_FWD_TX, .sid = SVC_TCP4, \
		.bid = BE_1_TCP4, .new_flow = true, .chk = chk_                             \
	}
/* A whole handshake from cport, its SNAT port learned in slot. */
#define ESTABLISH4(d, cport, slot)                                       \
	NEW_TCP4(d, cport, slot), SYNACK_T4("its SYN|ACK", cport, slot), \
		FWD4("its ACK: established", C4(cport, TH_ACK, 1), B4(slot, TH_ACK, 1))
#define NEW_BE2(d, cport, slot)                                                                  \
	{                                                                                        \
		.desc = d, .in = { SYN4(cport) }, .action = XDP_REDIRECT,                        \
		.out = { TO_BE2, TCP4(SNAT4, BE2_4, NEWSNAT(slot), 8080, TH_SYN), .seq = 1000 }, \
		.reason = BATON_R_FWD_REDIRECT, .sid = SVC_TCP4, .bid = BE_2_TCP4,               \
		.new_flow = true, .reuse_ok = true, .chk = CHK_FLOW                              \
	}
#define RST_BE2(cport, slot)                                                                  \
	{                                                                                     \
		.desc = "client RST", .in = { C4(cport, TH_RST, 1) }, .action = XDP_REDIRECT, \
		.out = { TO_BE2, TCP4(SNAT4, BE2_4, SNAT(slot), 8080, TH_RST), SEQ_C(1) },    \
		.reason = BATON_R_FWD_REDIRECT, .sid = SVC_TCP4, .bid = BE_2_TCP4             \
	}

static const struct xdp_case reuse_client_cases[] = {
	ESTABLISH4("client T opens a flow", 45000, 0),
	FWD4("client FIN", C4(45000, TH_FIN | TH_ACK, 1), B4(0, TH_FIN | TH_ACK, 1)),
	{ .desc = "backend FIN (the backend holds TIME_WAIT): both entries closing",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_FIN | TH_ACK), SEQ_B(1) },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 45000, TH_FIN | TH_ACK), SEQ_B(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	FWD4("client's last ACK", C4(45000, TH_ACK, 2), B4(0, TH_ACK, 2)),
	ESTABLISH4("client U takes this CPU's other port (and keeps it)", 45001, 1),
	REOPEN4("T reopens its tuple in the grace: same backend, same SNAT port", 45000, 0, 0,
		CHK_FLOW),
	SYNACK_T4("the new flow's SYN|ACK", 45000, 0),
	FWD4("its ACK", C4(45000, TH_ACK, 1), B4(0, TH_ACK, 1)),
	FWD4("client T resets it", C4(45000, TH_RST, 1), B4(0, TH_RST, 1)),
	REOPEN4("past the grace (entries dead, port guarded) T reopens: same SNAT port", 45000, 0,
		300, CHK_FLOW),
	FWD4("client T resets the handshake", C4(45000, TH_RST, 1), B4(0, TH_RST, 1)),
	{ .desc = "another client tuple inside the guard: not T's port, drop_snat_busy",
	  .sleep_ms = 300,
	  .in = { SYN4(45002) },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "step: Maglev now sends VIP4:80 to BE2",
	  .action = CHECK_ONLY,
	  .check = step_tcp4_to_be2 },
	NEW_BE2("client V to BE2: one of this CPU's ports", 45003, 2),
	RST_BE2(45003, 2),
	NEW_BE2("client W to BE2: the other one", 45004, 3),
	RST_BE2(45004, 3),
	{ .desc = "T reopens, now to BE2: its old port is not taken towards BE2, drop_snat_busy",
	  .in = { SYN4(45000) },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_TCP4,
	  .bid = BE_2_TCP4 },
};

/*
 * The port T's dead entry remembers went to another client X since (T's guard, 10 ms
 * here, was over) and X's flow just closed: X's guard holds against T as well.
 */
static int step_long_reuse(const struct xdp_case *c, char *err, size_t errlen)
{
	cfg.port_reuse_ns = 70ull * 1000000000ull;
	write_config();
	return 0;
}

static const struct xdp_case reuse_taken_cases[] = {
	ESTABLISH4("client T opens a flow", 46000, 0),
	FWD4("client T resets it", C4(46000, TH_RST, 1), B4(0, TH_RST, 1)),
	ESTABLISH4("client U takes this CPU's other port (and keeps it)", 46001, 1),
	/* No CHK_FLOW: the main table still holds T's dead reply entry on that port. */
	REOPEN4("T's guard over: client X gets T's old port", 46002, 0, 50, 0),
	FWD4("client X resets it", C4(46002, TH_RST, 1), B4(0, TH_RST, 1)),
	{ .desc = "step: port_reuse_ns back to 70 s",
	  .action = CHECK_ONLY,
	  .check = step_long_reuse },
	{ .desc = "T reopens its tuple: the port is in X's guard, drop_snat_busy",
	  .in = { SYN4(46000) },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
};

/*
 * One-way UDP (syslog, metrics): the backend never answers, so the reply entry idles
 * out while the forward entry, which still sends from that SNAT port, lives on. The
 * port must stay taken.
 */
static void setup_reuse_oneway(void)
{
	setup_reuse(false);
	cfg.udp_idle_ns = 60ull * 1000000000ull;
	write_config();
}

/* Step: every UDP reply entry idles out; the forward entries stay fresh. */
static int step_age_udp_replies(const struct xdp_case *c, char *err, size_t errlen)
{
	int fd = map_fd(skel->maps.flows);
	struct baton_flow_key k, next, *prev = NULL;
	struct baton_flow f;
	int aged = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &f) || !(f.flags & BATON_FLOW_F_REPLY) ||
		    k.proto != IPPROTO_UDP)
			continue;
		f.last_seen_ns = 1;
		if (bpf_map_update_elem(fd, &k, &f, BPF_EXIST) == 0)
			aged++;
	}
	if (aged != 2)
		errf(err, errlen, "aged %d UDP reply entries, want 2", aged);
	return 0;
}

static const struct xdp_case reuse_oneway_cases[] = {
	{ .desc = "one-way UDP flow A takes the first of this CPU's 2 ports",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43003, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(0), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "one-way UDP flow B takes the second",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43004, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(1), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "step: both reply entries idle out (no answer ever came)",
	  .action = CHECK_ONLY,
	  .check = step_age_udp_replies },
	{ .desc = "a third flow: the ports are still sent from, so drop_snat_busy",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43005, 53), .payload_len = 4 },
	  DROP(DROP_SNAT_EXHAUSTED),
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "flow A still leaves from its own port",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 43003, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, SNAT(0), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
};

/* ---- Draining: a flow outlives its frontend ---- */

static int step_remove_service(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_frontend_key k;

	memset(&k, 0, sizeof(k));
	fx_addr(4, VIP4, k.addr);
	k.port = htons(80);
	k.proto = IPPROTO_TCP;
	k.family = BATON_FAMILY_V4;
	if (bpf_map_delete_elem(map_fd(skel->maps.frontends), &k))
		errf(err, errlen, "deleting the frontend: %s", strerror(errno));
	del_maglev(SVC_TCP4);
	return 0;
}

static const struct xdp_case drain_cases[] = {
	NEW_TCP4("SYN opens the flow", 44000, 0),
	{ .desc = "step: batond removes VIP4:80 (frontend and Maglev table)",
	  .action = CHECK_ONLY,
	  .check = step_remove_service },
	{ .desc = "the flow's ACK is still forwarded (flow table first)",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 44000, 80, TH_ACK), SEQ_C(1) },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_ACK), SEQ_C(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "and its reply",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(0), TH_ACK), SEQ_B(1) },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, 44000, TH_ACK), SEQ_B(1) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "a new SYN to the removed port: pass_vip_other",
	  .in = { SYN4(44001) },
	  PASS_AS_IS(PASS_VIP_OTHER) },
};

/* ---- Keepalive: last_seen refresh, next hop cache expiry ---- */

static const uint8_t mac_be1_new[6] = { 0x02, 0, 0, 0, 0x0a, 0x21 };

static void setup_keepalive(void)
{
	/*
	 * 2 s: alive past 2.2 s only if refreshed at 1.1 s, with 0.9 s of slack between
	 * the last two packets for a slow machine (qemu's emulation in tests/verifier).
	 */
	cfg.udp_idle_ns = 2000000000ull;
	write_config();
}

static int step_be1_new_mac(const struct xdp_case *c, char *err, size_t errlen)
{
	if (fx_ip("neigh replace %s lladdr %s dev %s nud permanent", BE1_4, fx_mac_str(mac_be1_new),
		  IF_A))
		errf(err, errlen, "ip neigh replace failed");
	return 0;
}

static int step_be1_old_mac(const struct xdp_case *c, char *err, size_t errlen)
{
	if (fx_ip("neigh replace %s lladdr %s dev %s nud permanent", BE1_4, fx_mac_str(mac_be1),
		  IF_A))
		errf(err, errlen, "ip neigh replace failed");
	return 0;
}

static const struct xdp_case keepalive_cases[] = {
	{ .desc = "UDP opens a flow (UDP idle timeout 2 s)",
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 7000, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, NEWSNAT(0), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "1.1 s later: same flow (and last_seen is refreshed, being over 1 s old)",
	  .sleep_ms = 1100,
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 7000, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { TO_BE1, UDP4(SNAT4, BE1_4, SNAT(0), 5353), .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "step: the backend's MAC address changes",
	  .action = CHECK_ONLY,
	  .check = step_be1_new_mac },
	{ .desc = "2.2 s after the first packet: still the same flow; cache expired, new MAC",
	  .sleep_ms = 1100,
	  .in = { FROM_CLIENT, UDP4(CLIENT4, VIP4, 7000, 53), .payload_len = 4 },
	  .action = XDP_TX,
	  .out = { .dmac = mac_be1_new,
		   .smac = mac_a,
		   UDP4(SNAT4, BE1_4, SNAT(0), 5353),
		   .payload_len = 4 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_UDP4,
	  .bid = BE_1_UDP4 },
	{ .desc = "step: the backend's MAC address is restored",
	  .action = CHECK_ONLY,
	  .check = step_be1_old_mac },
};

/*
 * ---- Next-hop cache per backend (nh_cache): new flows skip bpf_fib_lookup() ----
 *
 * A new flow takes the next hop the previous new flow to its backend resolved, with that
 * result's age, while it is fresh (fib_cache_ns); not once it is stale, nor when the
 * backend id now names another address.
 */

static struct baton_flow nh_first; /* the first flow's forward entry */

static int chk_nh_first(const struct xdp_case *c, char *err, size_t errlen)
{
	if (case_fwd_entry(c, &nh_first, err, errlen) == 0 && nh_first.fib_ns == 0)
		errf(err, errlen, "forward entry without a resolved next hop");
	sleep_ms(20); /* the coarse clock moves on: a new lookup would show as a new fib_ns */
	return 0;
}

/* The second flow's next hop is the first's: same fib_ns (its age), same MACs. */
static int chk_nh_taken_over(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow f;

	if (case_fwd_entry(c, &f, err, errlen))
		return -1;
	if (f.fib_ns != nh_first.fib_ns || memcmp(f.dmac, mac_be1, 6) ||
	    f.fib_ifindex != nh_first.fib_ifindex)
		errf(err, errlen, "fib_ns %llu dmac %s, want the first flow's %llu %s",
		     (unsigned long long)f.fib_ns, fx_mac_str(f.dmac),
		     (unsigned long long)nh_first.fib_ns, fx_mac_str(mac_be1));
	return 0;
}

static int step_nh_stale(const struct xdp_case *c, char *err, size_t errlen)
{
	cfg.fib_cache_ns = 0; /* every cached next hop is stale from now on */
	write_config();
	return 0;
}

static int step_nh_restore(const struct xdp_case *c, char *err, size_t errlen)
{
	step_be1_old_mac(c, err, errlen);
	put_backend(BE_1_TCP4, 4, BE1_4, 8080);
	neigh_req_drain();
	default_config();
	write_config();
	return 0;
}

/* Backend id BE_1_TCP4 now names an address without neighbour entry. */
static int step_nh_readdress(const struct xdp_case *c, char *err, size_t errlen)
{
	default_config(); /* next hops fresh for a second again */
	write_config();
	put_backend(BE_1_TCP4, 4, BE_NONEIGH4, 8080);
	return 0;
}

static int chk_nh_neigh_req(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_neigh_req(BE_NONEIGH4, err, errlen);
	return 0;
}

static const struct xdp_case nhcache_cases[] = {
	NEW_TCP4_THEN("SYN: a new flow resolves its backend's next hop", 45000, 0, chk_nh_first),
	{ .desc = "step: the backend's MAC address changes",
	  .action = CHECK_ONLY,
	  .check = step_be1_new_mac },
	NEW_TCP4_THEN("the next new flow to it within fib_cache_ns takes that next hop over, "
		      "with its age (old MAC, first flow's fib_ns): no lookup of its own",
		      45001, 1, chk_nh_taken_over),
	{ .desc = "step: fib_cache_ns 0, every cached next hop is stale",
	  .action = CHECK_ONLY,
	  .check = step_nh_stale },
	{ .desc = "a new flow with the cached next hop stale resolves it: the new MAC",
	  .in = { SYN4(45002) },
	  .action = XDP_TX,
	  .out = { .dmac = mac_be1_new,
		   .smac = mac_a,
		   TCP4(SNAT4, BE1_4, NEWSNAT(2), 8080, TH_SYN),
		   .seq = 1000 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW },
	{ .desc = "step: fib_cache_ns 1 s again; backend id BE_1_TCP4 moves to an address "
		  "without neighbour entry",
	  .action = CHECK_ONLY,
	  .check = step_nh_readdress },
	{ .desc = "a new flow to the moved backend does not take the cached next hop of its "
		  "old address: drop_no_neigh, its new address in neigh_req",
	  .in = { SYN4(45003) },
	  DROP(DROP_NO_NEIGH),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_nh_neigh_req },
	{ .desc = "step: the backend's address and MAC are restored",
	  .action = CHECK_ONLY,
	  .check = step_nh_restore },
};

/* ---- Maglev: slot 0 is M, backends spread, a lost flow finds its backend again ---- */

#define MAGLEV_FLOWS 32

/*
 * VIP4:8000 -> a table of M = 7 slots alternating BE_1_TCP4 / BE_2_TCP4, in an inner
 * map of 15 entries whose slots past M name an unreachable backend: a program that
 * ignored slot 0 would pick them.
 */
static void setup_maglev_multi(void)
{
	__u32 i, m = 7, slots[2 * 7 + 1];

	for (i = 0; i <= 2 * m; i++)
		slots[i] = i == 0 ? m : i > m ? BE_UNREACH : i % 2 ? BE_1_TCP4 : BE_2_TCP4;
	must(fx_put_maglev(skel, SVC_MULTI, slots, 2 * m + 1));
	put_frontend(4, VIP4, 8000, IPPROTO_TCP, SVC_MULTI);
	/* The same table behind a sticky frontend (HAPROXY_{n}_STICKY). */
	{
		struct baton_frontend_key k = { .port = htons(8001),
						.proto = IPPROTO_TCP,
						.family = BATON_FAMILY_V4 };
		struct baton_frontend fe = { .service_id = SVC_MULTI, .flags = BATON_FE_F_STICKY };

		fx_addr(4, VIP4, k.addr);
		must(bpf_map_update_elem(map_fd(skel->maps.frontends), &k, &fe, BPF_ANY));
	}
}

/* Which backend a SYN from cport to dport went to: 1, 2, or -1 with err set. */
static int maglev_syn_to(int cport, int dport, char *err, size_t errlen)
{
	const struct pkt_spec syn = { FROM_CLIENT, TCP4(CLIENT4, VIP4, cport, dport, TH_SYN) };
	uint8_t out[PKT_MAX];
	uint32_t len = sizeof(out);
	struct pkt_info pi;
	char daddr[INET_ADDRSTRLEN] = "";
	int act = xdp_run(IFA, &syn, out, &len);

	pkt_parse(out, len, &pi);
	if (pi.family == 4)
		inet_ntop(AF_INET, pi.daddr, daddr, sizeof(daddr));
	if (act == XDP_TX && strcmp(daddr, BE1_4) == 0)
		return 1;
	if (act == XDP_REDIRECT && strcmp(daddr, BE2_4) == 0)
		return 2;
	errf(err, errlen, "SYN from port %d: %s to %s", cport, fx_xdp_action_name((__u32)act),
	     daddr);
	return -1;
}

static int maglev_syn(int cport, char *err, size_t errlen)
{
	return maglev_syn_to(cport, 8000, err, errlen);
}

static int maglev_first[MAGLEV_FLOWS];

/* Sticky: the same client from any port lands on one backend. */
static int chk_maglev_sticky(const struct xdp_case *c, char *err, size_t errlen)
{
	int i, first = -1;

	for (i = 0; i < MAGLEV_FLOWS; i++) {
		int b = maglev_syn_to(47000 + i, 8001, err, errlen);

		if (b < 0)
			return -1;
		if (first < 0)
			first = b;
		if (b != first) {
			errf(err, errlen, "sticky: port %d went to backend %d, port 47000 to %d",
			     47000 + i, b, first);
			return 0;
		}
	}
	return 0;
}

static int chk_maglev_spread(const struct xdp_case *c, char *err, size_t errlen)
{
	int i, n[3] = { 0 };

	for (i = 0; i < MAGLEV_FLOWS; i++) {
		maglev_first[i] = maglev_syn(46000 + i, err, errlen);
		if (maglev_first[i] < 0)
			return -1;
		n[maglev_first[i]]++;
	}
	if (n[1] == 0 || n[2] == 0)
		errf(err, errlen, "%d SYNs from distinct ports: %d to backend 1, %d to backend 2",
		     MAGLEV_FLOWS, n[1], n[2]);
	return 0;
}

static int chk_maglev_again(const struct xdp_case *c, char *err, size_t errlen)
{
	int i;

	must(fx_map_clear(map_fd(skel->maps.flows)));
	for (i = 0; i < MAGLEV_FLOWS; i++) {
		int b = maglev_syn(46000 + i, err, errlen);

		if (b < 0)
			return -1;
		if (b != maglev_first[i])
			errf(err, errlen, "port %d: backend %d, first time %d", 46000 + i, b,
			     maglev_first[i]);
	}
	return 0;
}

static const struct xdp_case maglev_cases[] = {
	{ .desc = "32 SYNs from distinct ports use both backends, never a slot past M",
	  .action = CHECK_ONLY,
	  .check = chk_maglev_spread },
	{ .desc = "flow table lost: the same SYNs pick the same backends again",
	  .action = CHECK_ONLY,
	  .check = chk_maglev_again },
	{ .desc = "sticky frontend: 32 SYNs of one client from distinct ports, one backend",
	  .action = CHECK_ONLY,
	  .check = chk_maglev_sticky },
};

/* ---- The L7 lane: unbound L7 TCP into the lane, lane frames routed, spliced flows ---- */

#define L7_PORT 8080 /* VIP4:8080/tcp is an L7 frontend */
#define L7_LEG 61001 /* a spliced flow's backend leg source port */
#define L7_ACK_DELTA 0x10000000u
#define L7_SEQ_DELTA ((uint32_t)-4096) /* the reply's seq wraps below zero */
#define L7_FWD_SEQ_DELTA 0x01000000u   /* the leg's ISN minus the client's */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_l7_flow(const char *csrc, int cport, const char *vip, int vport, const char *snat,
			int lport, const char *be, int bport, uint32_t seq_delta,
			uint32_t ack_delta, int8_t wscale, uint8_t flags)
{
	struct baton_flow_key k = { .proto = IPPROTO_TCP, .family = BATON_FAMILY_V4 };
	struct baton_flow f = { .flags = flags | BATON_FLOW_F_SPLICED,
				.seq_delta = seq_delta,
				.ack_delta = ack_delta,
				.wscale_shift = wscale,
				.service_id = SVC_TCP4,
				.backend_id = BE_1_TCP4,
				.last_seen_ns = mono_ns() };

	fx_addr(4, csrc, k.saddr);
	fx_addr(4, vip, k.daddr);
	k.sport = htons(cport);
	k.dport = htons(vport);
	fx_addr(4, snat, f.saddr);
	fx_addr(4, be, f.daddr);
	f.sport = htons(lport);
	f.dport = htons(bport);
	must(bpf_map_update_elem(map_fd(skel->maps.flows), &k, &f, BPF_ANY));
}

static void setup_l7(void)
{
	struct baton_frontend_key fk = { .proto = IPPROTO_TCP, .family = BATON_FAMILY_V4 };
	struct baton_frontend fe = { .service_id = SVC_TCP4, .flags = BATON_FE_F_L7 };

	cfg.l7_lane_ifindex = ifindex[IFB];
	cfg.l7_port_min = 61000;
	cfg.l7_port_max = 61999;
	write_config();
	fx_addr(4, VIP4, fk.addr);
	fk.port = htons(L7_PORT);
	must(bpf_map_update_elem(map_fd(skel->maps.frontends), &fk, &fe, BPF_ANY));
	/* client CLIENT4:42000 <-> VIP4:8080 spliced to SNAT4:61001 <-> BE1_4:8080 */
	put_l7_flow(CLIENT4, 42000, VIP4, L7_PORT, SNAT4, L7_LEG, BE1_4, 8080, L7_FWD_SEQ_DELTA,
		    L7_ACK_DELTA, 0, 0);
	put_l7_flow(BE1_4, 8080, SNAT4, L7_LEG, VIP4, L7_PORT, CLIENT4, 42000, L7_SEQ_DELTA, 0, 2,
		    BATON_FLOW_F_REPLY);
}

/* baton-l7 answers with SYN cookies: nothing of an L7 handshake is embryonic in XDP. */
static int chk_no_embryonic(const struct xdp_case *c, char *err, size_t errlen)
{
	struct baton_flow_key k;

	if (bpf_map_get_next_key(map_fd(skel->maps.syn_flows), NULL, &k) == 0)
		errf(err, errlen, "syn_flows has an entry (sport %u dport %u)", ntohs(k.sport),
		     ntohs(k.dport));
	return 0;
}

static int step_no_lane(const struct xdp_case *c, char *err, size_t errlen)
{
	cfg.l7_lane_ifindex = 0;
	write_config();
	return 0;
}

static const struct xdp_case l7_cases[] = {
	{ .desc = "SYN to an L7 frontend: redirected into the lane untouched",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, L7_PORT, TH_SYN), .seq = 1000 },
	  .action = XDP_REDIRECT,
	  .out = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, L7_PORT, TH_SYN), .seq = 1000 },
	  .reason = BATON_R_FWD_L7_LANE,
	  .check = chk_no_embryonic },
	{ .desc = "request segment of an unbound L7 connection: into the lane too",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, L7_PORT, TH_ACK | TH_PSH), SEQ_C(1),
		  .payload_len = 60 },
	  .action = XDP_REDIRECT,
	  .out = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41000, L7_PORT, TH_ACK | TH_PSH), SEQ_C(1),
		   .payload_len = 60 },
	  .reason = BATON_R_FWD_L7_LANE },
	{ .desc = "baton-l7's SYN-ACK in on the lane: routed to the client, MACs set",
	  .ifin = IFB,
	  .in = { FROM_BE2, TCP4(VIP4, CLIENT4, L7_PORT, 41000, TH_SYN | TH_ACK), .seq = 777,
		  .ack = 1001 },
	  .action = XDP_REDIRECT,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, L7_PORT, 41000, TH_SYN | TH_ACK), .seq = 777,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_L7_OUT },
	{ .desc = "baton-l7's backend-leg SYN in on the lane: routed to the backend",
	  .ifin = IFB,
	  .in = { FROM_BE2, TCP4(SNAT4, BE1_4, 61005, 8080, TH_SYN), .seq = 1000 },
	  .action = XDP_REDIRECT,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, 61005, 8080, TH_SYN), .seq = 1000 },
	  .reason = BATON_R_FWD_L7_OUT },
	{ .desc = "the backend's SYN-ACK to a SNAT port of baton-l7, no flow: into the lane",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, 61005, TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_REDIRECT,
	  .out = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, 61005, TH_SYN | TH_ACK), .seq = 5000,
		   .ack = 1001 },
	  .reason = BATON_R_FWD_L7_LANE,
	  .check = chk_no_embryonic },
	{ .desc = "TCP to the SNAT address outside baton-l7's ports: not ours, passed",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, 62000, TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  .action = XDP_PASS,
	  .unchanged = true,
	  .reason = BATON_R_PASS_NOT_VIP },
	{ .desc = "spliced, client -> backend: NAT, seq + delta, ack + delta, window kept",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 42000, L7_PORT, TH_ACK | TH_PSH), .seq = 2000,
		  .ack = 9001, .window = 1000, .payload_len = 100 },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, L7_LEG, 8080, TH_ACK | TH_PSH),
		   .seq = 2000 + L7_FWD_SEQ_DELTA, .ack = 9001 + L7_ACK_DELTA, .window = 1000,
		   .payload_len = 100 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "spliced, backend -> client: NAT, seq + delta (wrapping), window << 2",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, L7_LEG, TH_ACK), .seq = 5000, .ack = 2100,
		  .window = 300, .payload_len = 200 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, L7_PORT, 42000, TH_ACK), .seq = 5000 - 4096,
		   .ack = 2100, .window = 1200, .payload_len = 200 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "spliced, backend -> client: a scaled window past 16 bits is capped",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, L7_LEG, TH_ACK), .seq = 5200, .ack = 2100,
		  .window = 40000 },
	  .action = XDP_TX,
	  .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, L7_PORT, 42000, TH_ACK), .seq = 5200 - 4096,
		   .ack = 2100, .window = 65535 },
	  .reason = BATON_R_FWD_TX },
	{ .desc = "spliced, client RST without ACK: seq + delta, ack left alone",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 42000, L7_PORT, TH_RST), .seq = 2100,
		  .ack = 1234, .window_zero = true },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, L7_LEG, 8080, TH_RST), .seq = 2100 + L7_FWD_SEQ_DELTA,
		   .ack = 1234, .window_zero = true },
	  .reason = BATON_R_FWD_TX },
	{ .desc = "step: no lane configured", .action = CHECK_ONLY, .check = step_no_lane },
	{ .desc = "SYN to an L7 frontend without a lane: dropped, counted",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 41001, L7_PORT, TH_SYN), .seq = 1000 },
	  .action = XDP_DROP,
	  .reason = BATON_R_DROP_NO_LANE },
};

/* ---- ARP / NDP responder (batond --l2-announce): bt0 answers, bt1 does not ---- */

static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_sn_vip6[6] = { 0x33, 0x33, 0xff, 0, 0, 0x10 }; /* ff02::1:ff00:10 */
static const uint8_t mac_all_nodes[6] = { 0x33, 0x33, 0, 0, 0, 1 };

#define ARP_HDR(op) 0, 1, 8, 0, 6, 4, 0, op
/* Router 10.0.0.254 asks who has VIP4 192.0.2.10; the answer; and other questions. */
static const uint8_t arp_who_vip[28] = { ARP_HDR(1), 2, 0, 0, 0, 0x0a, 0xfe, 10, 0, 0, 254,
					 0,	     0, 0, 0, 0, 0,    192,  0,	 2, 10 };
static const uint8_t arp_is_vip[28] = { ARP_HDR(2), 2, 0, 0, 0,	   0x0a, 0x01, 192, 0, 2,  10,
					2,	    0, 0, 0, 0x0a, 0xfe, 10,   0,   0, 254 };
static const uint8_t arp_who_host[28] = { ARP_HDR(1), 2, 0, 0, 0, 0x0a, 0xfe, 10, 0, 0, 254,
					  0,	      0, 0, 0, 0, 0,	10,   0,  0, 1 };
static const uint8_t arp_garp_vip[28] = { ARP_HDR(1), 2, 0, 0, 0, 0x0a, 0xfe, 192, 0, 2, 10,
					  0,	      0, 0, 0, 0, 0,	192,  0,   2, 10 };
static const uint8_t arp_reply_vip[28] = { ARP_HDR(2), 2, 0, 0, 0, 0x0a, 0xfe, 10, 0, 0, 254,
					   0,	       0, 0, 0, 0, 0,	 192,  0,  2, 10 };
static const uint8_t arp_probe_vip[28] = { ARP_HDR(1), 2, 0, 0, 0, 0x0a, 0xfe, 0, 0, 0, 0,
					   0,	       0, 0, 0, 0, 0,	 192,  0, 2, 10 };
static const uint8_t arp_probe_ans[28] = { ARP_HDR(2), 2, 0, 0, 0,    0x0a, 0x01, 192, 0, 2, 10,
					   2,	       0, 0, 0, 0x0a, 0xfe, 0,	  0,   0, 0 };
/* Token ring hardware type (6), IPv6-sized protocol address: not Ethernet/IPv4 ARP. */
static const uint8_t arp_bad_htype[28] = { 0,  6, 8, 0,	  6, 4, 0, 1, 2, 0, 0,	 0, 0x0a, 0xfe,
					   10, 0, 0, 254, 0, 0, 0, 0, 0, 0, 192, 0, 2,	  10 };

/* The neighbour solicitation's body: target VIP6, source link-layer option (router). */
static const uint8_t ns_vip6[24] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,    0,
				     0,	   0,	 0,    0x10, 1, 1, 2, 0, 0, 0, 0x0a, 0xfe };
static const uint8_t na_vip6[24] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,    0,
				     0,	   0,	 0,    0x10, 2, 1, 2, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t ns_host6[24] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0,
				      0,    0, 0, 1, 1, 1, 2, 0, 0, 0, 0x0a, 0xfe };

static void setup_l2(void)
{
	struct baton_l2_iface li = {};
	__u32 k = (__u32)ifindex[IFA];

	memcpy(li.mac, mac_a, 6);
	if (bpf_map_update_elem(map_fd(skel->maps.l2_ifaces), &k, &li, BPF_ANY))
		die("l2_ifaces update");
	neigh_req_drain();
}

/* The answer asked batond to resolve the asker (the replies to its flows will need it). */
static int chk_learn_router4(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_neigh_req(ROUTER4, err, errlen);
	return 0;
}

/* An IPv6 answer asks for its asker too (one record). */
static int chk_learn_one(const struct xdp_case *c, char *err, size_t errlen)
{
	int n = neigh_req_read();

	if (n != 1)
		errf(err, errlen, "%d neigh_req records, want 1", n);
	return 0;
}

static int chk_no_learn(const struct xdp_case *c, char *err, size_t errlen)
{
	int n = neigh_req_read();

	if (n)
		errf(err, errlen, "%d neigh_req records, want none", n);
	return 0;
}

#define ARP_IN(pl, ...)              \
	.in = { .dmac = mac_bcast,   \
		.smac = mac_router,  \
		.ethertype = 0x0806, \
		.payload = pl,       \
		.payload_len = 28,   \
		__VA_ARGS__ }
#define ARP_OUT(pl, ...)              \
	.out = { .dmac = mac_router,  \
		 .smac = mac_a,       \
		 .ethertype = 0x0806, \
		 .payload = pl,       \
		 .payload_len = 28,   \
		 __VA_ARGS__ }
#define NS_IN(src, dst, dm, pl, n, ...) NS_IN_TTL(src, dst, dm, pl, n, 255, __VA_ARGS__)
#define NS_IN_TTL(src, dst, dm, pl, n, hl, ...) \
	.in = { .dmac = dm,                     \
		.smac = mac_router,             \
		ICMP6(src, dst, 135, 0),        \
		.ttl = hl,                      \
		.payload = pl,                  \
		.payload_len = n,               \
		__VA_ARGS__ }
#define NA_OUT(dst, dm, flags)             \
	.out = { .dmac = dm,               \
		 .smac = mac_a,            \
		 ICMP6(VIP6, dst, 136, 0), \
		 .ttl = 255,               \
		 .icmp_info = flags,       \
		 .payload = na_vip6,       \
		 .payload_len = 24 }

static const struct xdp_case l2_cases[] = {
	{ .desc = "ARP request for the VIP: reply from bt0's MAC (XDP_TX), asker to resolve",
	  ARP_IN(arp_who_vip),
	  .action = XDP_TX,
	  ARP_OUT(arp_is_vip),
	  .reason = BATON_R_TX_ARP_REPLY,
	  .check = chk_learn_router4 },
	{ .desc = "ARP request padded to 60 bytes: reply of 60 bytes",
	  ARP_IN(arp_who_vip, .pad_to = 60),
	  .action = XDP_TX,
	  ARP_OUT(arp_is_vip, .pad_to = 60),
	  .reason = BATON_R_TX_ARP_REPLY,
	  .check = chk_learn_router4 },
	{ .desc = "ARP request for the VIP with one VLAN tag: reply, tag kept",
	  ARP_IN(arp_who_vip, .nvlan = 1, .vlan_tci = { 7 }),
	  .action = XDP_TX,
	  ARP_OUT(arp_is_vip, .nvlan = 1, .vlan_tci = { 7 }),
	  .reason = BATON_R_TX_ARP_REPLY,
	  .check = chk_learn_router4 },
	{ .desc = "ARP probe for the VIP (sender 0.0.0.0): answered (the address is taken)",
	  ARP_IN(arp_probe_vip),
	  .action = XDP_TX,
	  ARP_OUT(arp_probe_ans),
	  .reason = BATON_R_TX_ARP_REPLY,
	  .check = chk_no_learn },
	{ .desc = "ARP request for the host's own address: passed untouched",
	  ARP_IN(arp_who_host),
	  PASS_AS_IS(PASS_NOT_IP),
	  .check = chk_no_learn },
	{ .desc = "ARP request for the VIP on bt1 (not announcing): passed untouched",
	  .ifin = IFB,
	  ARP_IN(arp_who_vip),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ARP reply about the VIP: passed untouched",
	  ARP_IN(arp_reply_vip),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "gratuitous ARP for the VIP (sender = target): passed untouched",
	  ARP_IN(arp_garp_vip),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ARP that is not Ethernet/IPv4 (hardware type 6): passed untouched",
	  ARP_IN(arp_bad_htype),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ARP request cut after 27 bytes: passed untouched",
	  ARP_IN(arp_who_vip, .truncate = 14 + 27),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "ARP request cut after 8 bytes: passed untouched",
	  ARP_IN(arp_who_vip, .truncate = 14 + 8),
	  PASS_AS_IS(PASS_NOT_IP) },
	{ .desc = "NS for the VIP (solicited-node multicast, source LL option): solicited NA "
		  "with target LL option, checksum verified",
	  NS_IN("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 24),
	  .action = XDP_TX,
	  NA_OUT("fe80::fe", mac_router, 0x60000000),
	  .reason = BATON_R_TX_ND_ADVERT,
	  .check = chk_learn_one },
	{ .desc = "NS for the VIP without options (frame grows by 8 bytes): NA",
	  NS_IN("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 16),
	  .action = XDP_TX,
	  NA_OUT("fe80::fe", mac_router, 0x60000000),
	  .reason = BATON_R_TX_ND_ADVERT,
	  .check = chk_learn_one },
	{ .desc = "NS for the VIP padded to 100 bytes (frame shrinks): NA",
	  NS_IN("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 24, .pad_to = 100),
	  .action = XDP_TX,
	  NA_OUT("fe80::fe", mac_router, 0x60000000),
	  .reason = BATON_R_TX_ND_ADVERT,
	  .check = chk_learn_one },
	{ .desc = "unicast NS (reachability probe) to the VIP: NA",
	  NS_IN(ROUTER6, VIP6, mac_a, ns_vip6, 24),
	  .action = XDP_TX,
	  NA_OUT(ROUTER6, mac_router, 0x60000000),
	  .reason = BATON_R_TX_ND_ADVERT,
	  .check = chk_learn_one },
	{ .desc = "duplicate address detection NS (from ::) for the VIP: NA to all nodes, "
		  "not solicited",
	  NS_IN("::", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 16),
	  .action = XDP_TX,
	  NA_OUT("ff02::1", mac_all_nodes, 0x20000000),
	  .reason = BATON_R_TX_ND_ADVERT,
	  .check = chk_no_learn },
	{ .desc = "NS for the host's own address: passed untouched",
	  NS_IN("fe80::fe", "ff02::1:ff00:1", mac_sn_vip6, ns_host6, 24),
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "NS for the VIP with hop limit 64 (not from the link): passed untouched",
	  NS_IN_TTL("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 24, 64),
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "NS for the VIP on bt1 (not announcing): passed untouched",
	  .ifin = IFB,
	  NS_IN("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 24),
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "NS whose target is cut short (payload 12 bytes): passed untouched",
	  NS_IN("fe80::fe", "ff02::1:ff00:10", mac_sn_vip6, ns_vip6, 8),
	  PASS_AS_IS(PASS_NOT_VIP) },
	{ .desc = "unicast NS to the VIP, frame cut inside the target: dropped as truncated",
	  NS_IN(ROUTER6, VIP6, mac_a, ns_vip6, 24, .truncate = 14 + 40 + 8 + 10),
	  DROP(DROP_TRUNCATED) },
	{ .desc = "neighbour advertisement about the VIP: passed untouched",
	  .in = { .dmac = mac_a,
		  .smac = mac_router,
		  ICMP6("fe80::fe", VIP6, 136, 0),
		  .ttl = 255,
		  .payload = ns_vip6,
		  .payload_len = 24 },
	  PASS_AS_IS(PASS_VIP_OTHER) },
};

/* ---- Embryonic flows and SYN floods ---- */

/* Which table holds the entries of client port cport (VIP4:80, backend 1, SNAT slot)? */
static void expect_tables(int cport, int slot, bool embryonic, char *err, size_t errlen)
{
	const struct pkt_spec c = { TCP4(CLIENT4, VIP4, cport, 80, 0) };
	const struct pkt_spec b = { TCP4(BE1_4, SNAT4, 8080, slot_port[slot], 0) };
	int main_fd = map_fd(skel->maps.flows), syn_fd = map_fd(skel->maps.syn_flows);
	struct baton_flow_key k[2];
	struct baton_flow v;

	fx_flow_key(&c, false, &k[0]);
	fx_flow_key(&b, false, &k[1]);
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "reply" : "forward";
		bool in_main = bpf_map_lookup_elem(main_fd, &k[i], &v) == 0;
		bool in_syn = bpf_map_lookup_elem(syn_fd, &k[i], &v) == 0;

		if (in_main == embryonic || in_syn != embryonic)
			errf(err, errlen, "%s entry in %s, want only in %s", what,
			     in_main && in_syn ? "both tables"
			     : in_main	       ? "the main table"
			     : in_syn	       ? "the embryonic table"
					       : "neither table",
			     embryonic ? "the embryonic table" : "the main table");
	}
}

static int chk_embryonic0(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_tables(45000, 0, true, err, errlen);
	return 0;
}

static int chk_established0(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_tables(45000, 0, false, err, errlen);
	return 0;
}

static int chk_embryonic1(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_tables(45001, 1, true, err, errlen);
	return 0;
}

static int chk_established1(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_tables(45001, 1, false, err, errlen);
	return 0;
}

static int chk_established2(const struct xdp_case *c, char *err, size_t errlen)
{
	expect_tables(45002, 2, false, err, errlen);
	return 0;
}

/* Step: the embryonic reply entry of slot 1 is evicted (as a flood would). */
static int step_evict_reply1(const struct xdp_case *c, char *err, size_t errlen)
{
	const struct pkt_spec b = { TCP4(BE1_4, SNAT4, 8080, slot_port[1], 0) };
	struct baton_flow_key k;

	fx_flow_key(&b, false, &k);
	if (bpf_map_delete_elem(map_fd(skel->maps.syn_flows), &k))
		errf(err, errlen, "deleting the embryonic reply entry: %s", strerror(errno));
	return 0;
}

static int count_entries(int fd)
{
	struct baton_flow_key k, next;
	int n = 0;

	if (bpf_map_get_next_key(fd, NULL, &next))
		return 0;
	do {
		k = next;
		n++;
	} while (bpf_map_get_next_key(fd, &k, &next) == 0);
	return n;
}

#define FLOOD_SYNS (3 * BATON_SYN_FLOWS_DEFAULT) /* three times the embryonic table */

/*
 * Step: FLOOD_SYNS SYNs from distinct spoofed sources (198.18.0.0/15, random ports),
 * each forwarded as a new flow; then the main table must hold exactly the flows that
 * completed their handshake, and the embryonic table no more than its size.
 */
static int step_flood(const struct xdp_case *c, char *err, size_t errlen)
{
	int main_fd = map_fd(skel->maps.flows), syn_fd = map_fd(skel->maps.syn_flows);
	int before = count_entries(main_fd), tx = 0, other = 0, n_syn, n_main;
	uint8_t out[PKT_MAX];
	char src[32];

	for (int i = 0; i < FLOOD_SYNS; i++) {
		struct pkt_spec s = { SYN4(1024 + (i * 7919) % 60000) };
		uint32_t out_len = sizeof(out);

		snprintf(src, sizeof(src), "198.%d.%d.%d", 18 + (i >> 16), (i >> 8) & 0xff,
			 i & 0xff);
		s.saddr = src;
		if (xdp_run(IFA, &s, out, &out_len) == XDP_TX)
			tx++;
		else
			other++;
	}
	n_syn = count_entries(syn_fd);
	n_main = count_entries(main_fd);
	printf("# flood: %d SYNs, %d forwarded, %d not; embryonic table %d entries (max %d), "
	       "main table %d entries (%d before)\n",
	       FLOOD_SYNS, tx, other, n_syn, 2 * BATON_SYN_FLOWS_DEFAULT, n_main, before);
	if (tx != FLOOD_SYNS)
		errf(err, errlen, "%d of %d flood SYNs not forwarded as new flows", other,
		     FLOOD_SYNS);
	if (n_main != before)
		errf(err, errlen, "the main flow table went from %d to %d entries", before, n_main);
	if (n_syn > 2 * BATON_SYN_FLOWS_DEFAULT)
		errf(err, errlen, "embryonic table holds %d entries", n_syn);
	return 0;
}

static void setup_synflood(void)
{
	cfg.snat_port_min = 1024; /* 32,256 ports per CPU, towards the one backend */
	cfg.snat_port_max = 65535;
	write_config();
}

/* A SYN from cport opening a new flow (SNAT port learned in slot), then more fields. */
#define NEW_SYN4(d, cport, slot, ...)                                                           \
	.desc = d, .in = { SYN4(cport) }, .action = XDP_TX, .out = { SYN4_OUT(NEWSNAT(slot)) }, \
	.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4, .new_flow = true, __VA_ARGS__
#define EST4(cport, slot, fl, ...)                                                          \
	.in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, cport, 80, fl), SEQ_C(1), __VA_ARGS__ },   \
	.action = XDP_TX,                                                                   \
	.out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(slot), 8080, fl), SEQ_C(1), __VA_ARGS__ }, \
	.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4
#define SYNACK4(cport, slot)                                                                  \
	.in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(slot), TH_SYN | TH_ACK), .seq = 5000, \
		.ack = 1001 },                                                                \
	.action = XDP_TX,                                                                     \
	.out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, cport, TH_SYN | TH_ACK), .seq = 5000,     \
		 .ack = 1001 },                                                               \
	.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4
#define REPLY4(cport, slot)                                                                       \
	.in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, SNAT(slot), TH_ACK), SEQ_B(1) },               \
	.action = XDP_TX, .out = { TO_CLIENT, TCP4(VIP4, CLIENT4, 80, cport, TH_ACK), SEQ_B(1) }, \
	.reason = BATON_R_FWD_TX, .sid = SVC_TCP4, .bid = BE_1_TCP4

static const struct xdp_case synflood_cases[] = {
	{ .desc = "SYN: a new flow, both entries in the embryonic table only",
	  .in = { SYN4(45000) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(NEWSNAT(0)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .new_flow = true,
	  .chk = CHK_FLOW,
	  .check = chk_embryonic0 },
	{ .desc = "retransmitted SYN: the same SNAT port, no new flow, still embryonic",
	  .in = { SYN4(45000) },
	  .action = XDP_TX,
	  .out = { SYN4_OUT(SNAT(0)) },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_embryonic0 },
	{ .desc = "the backend's SYN|ACK: forwarded to the client by the embryonic reply entry",
	  SYNACK4(45000, 0),
	  .check = chk_embryonic0 },
	{ .desc = "the client's ACK: forwarded, the flow moves to the main table",
	  EST4(45000, 0, TH_ACK),
	  .check = chk_established0 },
	{ .desc = "data, and the backend's answer, from the main table",
	  EST4(45000, 0, TH_PSH | TH_ACK, .payload_len = 100),
	  .check = chk_established0 },
	{ .desc = "the backend's answer", REPLY4(45000, 0) },
	{ .desc = "step: a flood of spoofed SYNs, three times the embryonic table",
	  .action = CHECK_ONLY,
	  .check = step_flood },
	{ .desc = "after the flood the established flow still goes to its backend and SNAT port",
	  EST4(45000, 0, TH_PSH | TH_ACK, .payload_len = 10),
	  .check = chk_established0 },
	{ .desc = "and its replies still come back", REPLY4(45000, 0) },
	{ NEW_SYN4("a real client's handshake after the flood: SYN", 45002, 2, .reuse_ok = true) },
	{ .desc = "its SYN|ACK", SYNACK4(45002, 2) },
	{ .desc = "its ACK: established", EST4(45002, 2, TH_ACK), .check = chk_established2 },
	{ NEW_SYN4("a second handshake: SYN", 45001, 1, .reuse_ok = true,
		   .check = chk_embryonic1) },
	{ .desc = "step: its embryonic reply entry is evicted",
	  .action = CHECK_ONLY,
	  .check = step_evict_reply1 },
	{ .desc = "its ACK: established anyway, the reply entry rebuilt from the forward one",
	  EST4(45001, 1, TH_ACK),
	  .check = chk_established1 },
	{ .desc = "and the backend's answer finds the rebuilt reply entry", REPLY4(45001, 1) },
	{ .desc = "an ACK of a handshake never seen: drop_no_flow",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 45003, 80, TH_ACK), SEQ_C(1) },
	  DROP(DROP_NO_FLOW),
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4 },
	{ .desc = "a SYN|ACK to a SNAT port of no flow: passed to the host",
	  .in = { FROM_BE1, TCP4(BE1_4, SNAT4, 8080, 1023, TH_SYN | TH_ACK), .seq = 5000,
		  .ack = 1001 },
	  PASS_AS_IS(PASS_NOT_VIP) },
};

/* A client RST ends a handshake: forwarded, the flow is not promoted. */
static int chk_rst_embryonic(const struct xdp_case *c, char *err, size_t errlen)
{
	const struct pkt_spec cl = { TCP4(CLIENT4, VIP4, 45010, 80, 0) };
	struct baton_flow_key k;
	struct baton_flow v;

	fx_flow_key(&cl, false, &k);
	if (bpf_map_lookup_elem(map_fd(skel->maps.flows), &k, &v) == 0)
		errf(err, errlen, "an RST promoted the flow to the main table");
	else if (bpf_map_lookup_elem(map_fd(skel->maps.syn_flows), &k, &v))
		errf(err, errlen, "embryonic entry gone");
	else if (v.closing_ns == 0)
		errf(err, errlen, "embryonic entry not closing after the RST");
	return 0;
}

static const struct xdp_case synrst_cases[] = {
	{ NEW_SYN4("SYN", 45010, 0) },
	{ .desc = "the client's RST: forwarded by the embryonic entry, not promoted",
	  .in = { FROM_CLIENT, TCP4(CLIENT4, VIP4, 45010, 80, TH_RST), .seq = 1001 },
	  .action = XDP_TX,
	  .out = { TO_BE1, TCP4(SNAT4, BE1_4, SNAT(0), 8080, TH_RST), .seq = 1001 },
	  .reason = BATON_R_FWD_TX,
	  .sid = SVC_TCP4,
	  .bid = BE_1_TCP4,
	  .check = chk_rst_embryonic },
	{ NEW_SYN4("a SYN after the RST: a new flow (another SNAT port)", 45010, 1) },
};

static const struct group groups[] = {
	{ "tcp4", NULL, tcp4_cases, sizeof(tcp4_cases) / sizeof(tcp4_cases[0]), 0 },
	{ "tcp6", NULL, tcp6_cases, sizeof(tcp6_cases) / sizeof(tcp6_cases[0]), 0 },
	{ "udp4", NULL, udp4_cases, sizeof(udp4_cases) / sizeof(udp4_cases[0]), 0 },
	{ "udp6", NULL, udp6_cases, sizeof(udp6_cases) / sizeof(udp6_cases[0]), 0 },
	{ "redirect", NULL, redirect_cases, sizeof(redirect_cases) / sizeof(redirect_cases[0]), 0 },
	{ "pass", NULL, pass_cases, sizeof(pass_cases) / sizeof(pass_cases[0]), 0 },
	{ "malformed", NULL, malformed_cases, sizeof(malformed_cases) / sizeof(malformed_cases[0]),
	  0 },
	{ "nobackend", NULL, nobackend_cases, sizeof(nobackend_cases) / sizeof(nobackend_cases[0]),
	  0 },
	{ "icmp", NULL, icmp_cases, sizeof(icmp_cases) / sizeof(icmp_cases[0]), 0 },
	{ "close", NULL, close_cases, sizeof(close_cases) / sizeof(close_cases[0]), 0 },
	{ "timeout", setup_short_timeouts, timeout_cases,
	  sizeof(timeout_cases) / sizeof(timeout_cases[0]), 0 },
	{ "close-grace", setup_short_close, grace_cases,
	  sizeof(grace_cases) / sizeof(grace_cases[0]), 0 },
	{ "snat-ports", setup_port_range, ports_cases, NPORTS_CASES, 1 },
	{ "snat-busy", setup_tiny_port_range, busy_cases,
	  sizeof(busy_cases) / sizeof(busy_cases[0]), 0 },
	{ "no-snat", setup_no_snat, nosnat_cases, sizeof(nosnat_cases) / sizeof(nosnat_cases[0]),
	  0 },
	{ "reuse-long", setup_reuse_long, reuse_long_cases,
	  sizeof(reuse_long_cases) / sizeof(reuse_long_cases[0]), 0 },
	{ "reuse-short", setup_reuse_short, reuse_short_cases,
	  sizeof(reuse_short_cases) / sizeof(reuse_short_cases[0]), 0 },
	{ "reuse-client", setup_reuse_client, reuse_client_cases,
	  sizeof(reuse_client_cases) / sizeof(reuse_client_cases[0]), 0 },
	{ "reuse-taken", setup_reuse_short, reuse_taken_cases,
	  sizeof(reuse_taken_cases) / sizeof(reuse_taken_cases[0]), 0 },
	{ "reuse-oneway", setup_reuse_oneway, reuse_oneway_cases,
	  sizeof(reuse_oneway_cases) / sizeof(reuse_oneway_cases[0]), 0 },
	{ "keepalive", setup_keepalive, keepalive_cases,
	  sizeof(keepalive_cases) / sizeof(keepalive_cases[0]), 0 },
	{ "nh-cache", NULL, nhcache_cases, sizeof(nhcache_cases) / sizeof(nhcache_cases[0]), 0 },
	{ "maglev", setup_maglev_multi, maglev_cases,
	  sizeof(maglev_cases) / sizeof(maglev_cases[0]), 0 },
	{ "drain", NULL, drain_cases, sizeof(drain_cases) / sizeof(drain_cases[0]), 0 },
	{ "l2", setup_l2, l2_cases, sizeof(l2_cases) / sizeof(l2_cases[0]), 0 },
	{ "syn-flood", setup_synflood, synflood_cases,
	  sizeof(synflood_cases) / sizeof(synflood_cases[0]), 0 },
	{ "syn-rst", NULL, synrst_cases, sizeof(synrst_cases) / sizeof(synrst_cases[0]), 0 },
	{ "l7", setup_l7, l7_cases, sizeof(l7_cases) / sizeof(l7_cases[0]), 0 },
};

#endif /* BATON_TEST_XDP_CASES_H */
