/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP program and its pinned maps: load (or adopt the pins of an earlier batond),
 * attach to interfaces, detach. The program object is embedded (libbpf skeleton), or
 * read from a file for an upgrade (batond --bpf-object).
 */
#ifndef BATON_DATAPATH_H
#define BATON_DATAPATH_H

#include <limits.h>
#include <stdbool.h>

struct baton_bpf;

struct datapath {
	struct baton_bpf *skel;
	char pin_dir[PATH_MAX]; /* <bpffs>/baton */
	bool adopted;		/* the maps came from an earlier batond's pins */
	void *obj_buf;		/* ELF read from --bpf-object (NULL: the embedded one) */
};

/*
 * Mounts bpffs on bpffs_dir if it is not one, then loads the program with every map
 * pinned under <bpffs_dir>/baton/, reusing pins that exist. Pins of another ABI
 * version or layout are refused with an error, never reused. object_path: another build
 * of the program to load instead of the embedded one (NULL: the embedded one).
 */
int datapath_open(struct datapath *dp, const char *bpffs_dir, const char *object_path);

/* Attaches (or atomically replaces an earlier Baton program) on ifname. */
int datapath_attach(struct datapath *dp, const char *ifname, bool generic);

/*
 * The ARP / NDP responder: makes the l2_ifaces map list exactly these interfaces with
 * their MACs (n = 0: none, the responder is off). Returns 0 or a negative errno.
 */
int datapath_l2_announce(struct datapath *dp, char *const *ifnames, int n);

/* Frees the skeleton; the program stays attached and the maps stay pinned. */
void datapath_close(struct datapath *dp);

/* batond --detach: removes Baton's program from each interface, then the pins. */
int datapath_detach(const char *bpffs_dir, char *const *ifnames, int n_ifnames);

/* Mounts bpffs on dir (creating it) unless dir already is a bpffs. */
int datapath_mount_bpffs(const char *dir);

#endif /* BATON_DATAPATH_H */
