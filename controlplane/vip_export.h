/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the world needs to reach the VIPs, as files other daemons read:
 * - a hosts file (`ADDRESS NAME.DOMAIN`, DC/OS style names such as
 *   web.marathon.l4lb.thisdcos.directory) that dnsmasq (addn-hosts=) or CoreDNS (hosts
 *   plugin) serves;
 * - a BIRD include with one static route per VIP address, for BGP deployments that
 *   announce the VIPs (docs/marathon.md has the BIRD snippet).
 * Rendering is pure; writing replaces a file atomically (temp file, fsync, rename).
 */
#ifndef BATON_VIP_EXPORT_H
#define BATON_VIP_EXPORT_H

#include <stddef.h>
#include <linux/types.h>

#define VIP_DOMAIN_DEFAULT "marathon.l4lb.thisdcos.directory"

struct vip_export_entry {
	const char *name; /* VIP name without '/', or NULL for an ip:port VIP */
	__u8 family;	  /* BATON_FAMILY_* */
	__be32 addr[4];	  /* be */
};

/* The hosts file: one line per named VIP and family, sorted, duplicates once. */
char *vip_export_hosts(const struct vip_export_entry *e, size_t n, const char *domain);

/* The BIRD include: `route ADDR/32 blackhole;` (or /128), one per address, sorted. */
char *vip_export_bird(const struct vip_export_entry *e, size_t n, __u8 family);

/* Replaces path with text atomically. Returns 0 or -errno. */
int vip_export_write(const char *path, const char *text);

#endif /* BATON_VIP_EXPORT_H */
