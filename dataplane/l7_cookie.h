/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Stateless SYN cookies (pure): the initial sequence number baton-l7 answers a SYN
 * with carries everything it needs to accept the connection when the client's ACK
 * comes back, so a half-open connection costs no memory.
 *
 *   bits 31..27  time counter, 64 s ticks (mod 32); a cookie is good for 1-2 ticks
 *   bits 26..25  index of the client's MSS in l7_cookie_mss[]
 *   bits 24..21  the client's window scale (0..14), 15 = not offered
 *   bits 20..0   SipHash-2-4 (secret key) of the 4-tuple, the client's ISN and the above
 *
 * 21 bits of MAC: a blind forger needs about 2^20 tries per connection. SipHash is
 * written here because neither DPDK nor libc offers a keyed PRF (rte_jhash is not one).
 */
#ifndef BATON_L7_COOKIE_H
#define BATON_L7_COOKIE_H

#include <stdint.h>

#define L7_COOKIE_NO_WSCALE 15
#define L7_COOKIE_TICK_SHIFT 6 /* 64 s */

extern const uint16_t l7_cookie_mss[4];

struct l7_cookie_key {
	uint64_t k0, k1;
};

/* The connection as the client sees it; addresses and ports as on the wire. */
struct l7_tuple {
	uint32_t saddr[4], daddr[4];
	uint16_t sport, dport;
	uint8_t family;
};

uint64_t l7_siphash(const struct l7_cookie_key *k, const void *data, size_t len);

/* The largest table MSS not above the client's (index 0 if the client's is tiny). */
unsigned int l7_cookie_mss_index(uint16_t client_mss);

uint32_t l7_cookie_make(const struct l7_cookie_key *k, const struct l7_tuple *t,
			uint32_t client_isn, uint32_t now_s, unsigned int mss_idx,
			unsigned int wscale);

/*
 * Checks a cookie (the ACK's ack number - 1) against the tuple and the client's ISN (the
 * ACK's seq - 1). Returns 0 with *mss_idx and *wscale decoded, or -1.
 */
int l7_cookie_check(const struct l7_cookie_key *k, const struct l7_tuple *t, uint32_t client_isn,
		    uint32_t cookie, uint32_t now_s, unsigned int *mss_idx, unsigned int *wscale);

#endif /* BATON_L7_COOKIE_H */
