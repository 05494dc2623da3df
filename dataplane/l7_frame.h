/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP segments in Ethernet frames, IPv4 or IPv6 (pure): parse what comes out of the
 * lane, build what goes into it with every checksum computed (AF_XDP on veth offers
 * no offload). The XDP program sets the MACs of frames that leave the lane.
 */
#ifndef BATON_L7_FRAME_H
#define BATON_L7_FRAME_H

#include <stdint.h>

#include "baton_abi.h"

#define L7_TH_FIN 0x01
#define L7_TH_SYN 0x02
#define L7_TH_RST 0x04
#define L7_TH_PSH 0x08
#define L7_TH_ACK 0x10

struct l7_seg {
	__u8 family;		   /* BATON_FAMILY_* */
	__be32 saddr[4], daddr[4]; /* IPv4 in [0], the rest zero */
	__be16 sport, dport;
	uint32_t seq, ack; /* host order */
	uint8_t flags;
	uint16_t win;  /* host order, as on the wire (unscaled) */
	uint16_t mss;  /* option; 0 = absent (parse) / not sent (build) */
	int8_t wscale; /* option; -1 = absent / not sent */
	const uint8_t *payload;
	uint32_t plen;
};

/* 0, or -1 for anything that is not a well-formed TCP segment over IPv4/IPv6. */
int l7_seg_parse(const uint8_t *frame, uint32_t len, struct l7_seg *s);

/* Builds the frame into buf; returns its length, or 0 if cap is too small. */
uint32_t l7_seg_build(uint8_t *buf, uint32_t cap, const struct l7_seg *s);

#endif /* BATON_L7_FRAME_H */
