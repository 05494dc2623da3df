// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton_abi.h"
#include "baton.skel.h"
#include "datapath.h"
#include "log.h"

#define PROG_NAME "baton_xdp"

int datapath_mount_bpffs(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_errno(errno, "cannot create %s", dir);
	if (mount("bpf", dir, "bpf", 0, "mode=0700") < 0)
		return log_errno(errno, "cannot mount bpffs on %s", dir);
	log_info("mounted bpffs on %s", dir);
	return 0;
}

/*
 * Maps that are not pinned: per-CPU scratch space and the next-hop cache have no state
 * worth keeping (and their layouts are not part of the ABI).
 */
static bool map_is_pinned(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	return name[0] != '.' && strcmp(name, "scratch") != 0 && strcmp(name, "nh_cache") != 0;
}

/*
 * Sizes and types are checked by libbpf when it reuses a pin; the meaning of the
 * fields is not, so the config map records the ABI version of whoever wrote it.
 */
static int check_pinned_abi(const char *pin_dir)
{
	struct baton_config cfg = {};
	char path[PATH_MAX + 16];
	__u32 zero = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/config", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : log_errno(errno, "cannot open pinned map %s", path);
	if (bpf_map_lookup_elem(fd, &zero, &cfg) < 0) {
		err = log_errno(errno, "cannot read pinned map %s (another layout?)", path);
	} else if (cfg.abi_version != 0 && cfg.abi_version != BATON_ABI_VERSION) {
		log_err("pinned maps in %s have ABI version %u, this batond has %u; refusing to "
			"reuse them (run batond --detach to remove them; established flows are lost)",
			pin_dir, cfg.abi_version, BATON_ABI_VERSION);
		err = -EINVAL;
	}
	close(fd);
	return err;
}

/*
 * The skeleton with another build's ELF in place of the embedded one (batond
 * --bpf-object: the upgrade path, a new program over the pinned maps of the running
 * one). libbpf matches the skeleton's maps and program by name, so an object whose
 * names differ is refused at open; layouts are checked against the pins at load.
 */
static struct baton_bpf *open_object_file(const char *path, void **buf_out)
{
	struct baton_bpf *obj = NULL;
	void *buf = NULL;
	long len;
	int err;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		err = log_errno(errno, "--bpf-object: cannot open %s", path);
		goto fail;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) < 0) {
		err = log_errno(errno ? errno : EINVAL, "--bpf-object: cannot size %s", path);
		goto fail;
	}
	buf = malloc(len);
	if (buf == NULL || fread(buf, 1, len, f) != (size_t)len) {
		err = log_errno(buf ? EIO : ENOMEM, "--bpf-object: cannot read %s", path);
		goto fail;
	}
	obj = calloc(1, sizeof(*obj));
	if (obj == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	err = baton_bpf__create_skeleton(obj);
	if (err)
		goto fail;
	obj->skeleton->data = buf; /* must outlive the object: freed by datapath_close() */
	obj->skeleton->data_sz = len;
	err = bpf_object__open_skeleton(obj->skeleton, NULL);
	if (err) {
		char why[128];

		libbpf_strerror(err, why, sizeof(why)); /* knows libbpf's own codes (-4001...) */
		log_err("--bpf-object: %s is not a build of Baton's XDP program (%s)", path, why);
		goto fail;
	}
	fclose(f);
	*buf_out = buf;
	log_info("XDP object from %s (%ld bytes) instead of the embedded one", path, len);
	return obj;
fail:
	if (obj != NULL)
		baton_bpf__destroy(obj);
	free(buf);
	if (f != NULL)
		fclose(f);
	errno = err < 0 ? -err : EINVAL;
	return NULL;
}

int datapath_open(struct datapath *dp, const char *bpffs_dir, const char *object_path)
{
	struct bpf_map *map;
	char path[PATH_MAX + BPF_OBJ_NAME_LEN + 1];
	int err;

	memset(dp, 0, sizeof(*dp));
	err = datapath_mount_bpffs(bpffs_dir);
	if (err)
		return err;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s/%s", bpffs_dir, BATON_PIN_DIR);
	if (mkdir(dp->pin_dir, 0700) < 0 && errno != EEXIST)
		return log_errno(errno, "cannot create %s", dp->pin_dir);
	err = check_pinned_abi(dp->pin_dir);
	if (err)
		return err;

	if (object_path != NULL) {
		dp->skel = open_object_file(object_path, &dp->obj_buf);
		if (dp->skel == NULL)
			return -errno;
	} else {
		dp->skel = baton_bpf__open();
		if (dp->skel == NULL)
			return log_errno(errno, "cannot open the embedded XDP object");
	}

	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (!map_is_pinned(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, bpf_map__name(map));
		if (access(path, F_OK) == 0)
			dp->adopted = true;
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			log_errno(err, "cannot set pin path %s", path);
			goto fail;
		}
	}

	/* libbpf reuses each existing pin (refusing a layout mismatch) and pins new maps. */
	err = baton_bpf__load(dp->skel);
	if (err) {
		log_errno(
			err, "cannot load the XDP program%s",
			dp->adopted
				? " with the pinned maps (run batond --detach if their layout changed)"
				: "");
		goto fail;
	}
	log_info("XDP program loaded, maps %s %s", dp->adopted ? "adopted from" : "pinned in",
		 dp->pin_dir);
	return 0;
fail:
	datapath_close(dp);
	return err;
}

static int prog_name_by_id(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd, err;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	close(fd);
	if (err)
		return -errno;
	snprintf(name, len, "%s", info.name);
	return 0;
}

int datapath_attach(struct datapath *dp, const char *ifname, bool generic)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	int ifindex = if_nametoindex(ifname), prog_fd, old_fd = -1, err;
	char name[BPF_OBJ_NAME_LEN];

	if (ifindex == 0)
		return log_errno(errno, "interface %s", ifname);
	prog_fd = bpf_program__fd(dp->skel->progs.baton_xdp);

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return log_errno(err, "cannot query XDP on %s", ifname);
	if (q.attach_mode != XDP_ATTACHED_NONE) {
		__u32 id = q.attach_mode == XDP_ATTACHED_SKB ? q.skb_prog_id : q.drv_prog_id;

		if (id == 0 || prog_name_by_id(id, name, sizeof(name)) < 0 ||
		    strcmp(name, PROG_NAME) != 0) {
			log_err("%s already has an XDP program (id %u) that is not Baton's; "
				"refusing to replace it",
				ifname, id);
			return -EBUSY;
		}
		if ((q.attach_mode == XDP_ATTACHED_SKB) != generic) {
			log_err("%s has Baton attached in %s mode; run batond --detach first to "
				"change to %s mode",
				ifname, generic ? "native" : "generic",
				generic ? "generic" : "native");
			return -EBUSY;
		}
		old_fd = bpf_prog_get_fd_by_id(id);
		if (old_fd < 0)
			return log_errno(errno, "cannot open program %u on %s", id, ifname);
		/* Atomic replace: no packet goes unprocessed, the maps are the same. */
		opts.old_prog_fd = old_fd;
		flags |= XDP_FLAGS_REPLACE;
	}

	err = bpf_xdp_attach(ifindex, prog_fd, flags, &opts);
	if (old_fd >= 0)
		close(old_fd);
	if (err == -EOPNOTSUPP && !generic) {
		log_err("%s does not support native XDP; use --xdp-mode generic", ifname);
		return err;
	}
	if (err)
		return log_errno(err, "cannot attach XDP to %s (%s mode)", ifname,
				 generic ? "generic" : "native");
	log_info("XDP program %s on %s (%s mode)", old_fd >= 0 ? "replaced" : "attached", ifname,
		 generic ? "generic" : "native");
	return 0;
}

/* The interface's MAC, from the kernel of batond's own network namespace. */
static int iface_mac(int fd, const char *ifname, __u8 *mac)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int datapath_l2_announce(struct datapath *dp, char *const *ifnames, int n)
{
	int map_fd = bpf_map__fd(dp->skel->maps.l2_ifaces), fd, err = 0;
	__u32 key, next, *prev = NULL, want[BATON_MAX_L2_IFACES];
	int n_want = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno(errno, "socket");
	for (int i = 0; i < n && n_want < BATON_MAX_L2_IFACES; i++) {
		struct baton_l2_iface li = {};
		__u32 ifindex = if_nametoindex(ifnames[i]);

		if (ifindex == 0 || (err = iface_mac(fd, ifnames[i], li.mac)) < 0) {
			err = log_errno(ifindex ? err : -errno, "--l2-announce: interface %s",
					ifnames[i]);
			break;
		}
		if (bpf_map_update_elem(map_fd, &ifindex, &li, BPF_ANY) < 0) {
			err = log_errno(errno, "--l2-announce: cannot write the l2_ifaces map");
			break;
		}
		want[n_want++] = ifindex;
		log_info("answering ARP and NDP for the VIPs on %s (%02x:%02x:%02x:%02x:%02x:%02x)",
			 ifnames[i], li.mac[0], li.mac[1], li.mac[2], li.mac[3], li.mac[4],
			 li.mac[5]);
	}
	close(fd);
	/* Interfaces of an earlier run (pinned map) that are not wanted now. */
	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		bool keep = false;

		key = next;
		for (int i = 0; i < n_want; i++)
			keep |= want[i] == key;
		if (!keep && bpf_map_delete_elem(map_fd, &key) == 0)
			continue; /* deleted: continue from the same previous key */
		prev = &key;
	}
	return err;
}

void datapath_close(struct datapath *dp)
{
	baton_bpf__destroy(dp->skel);
	dp->skel = NULL;
	free(dp->obj_buf);
	dp->obj_buf = NULL;
}

static int detach_one(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = if_nametoindex(ifname), err;
	char name[BPF_OBJ_NAME_LEN];
	__u32 id, flags;

	if (ifindex == 0)
		return log_errno(errno, "interface %s", ifname);
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return log_errno(err, "cannot query XDP on %s", ifname);
	if (q.attach_mode == XDP_ATTACHED_NONE) {
		log_info("%s: no XDP program attached", ifname);
		return 0;
	}
	id = q.attach_mode == XDP_ATTACHED_SKB ? q.skb_prog_id : q.drv_prog_id;
	if (prog_name_by_id(id, name, sizeof(name)) < 0 || strcmp(name, PROG_NAME) != 0) {
		log_err("%s: XDP program %u is not Baton's; leaving it", ifname, id);
		return -EBUSY;
	}
	flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_detach(ifindex, flags, NULL);
	if (err)
		return log_errno(err, "cannot detach XDP from %s", ifname);
	log_info("%s: XDP program %u detached", ifname, id);
	return 0;
}

int datapath_detach(const char *bpffs_dir, char *const *ifnames, int n_ifnames)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	int err = 0;
	DIR *d;

	for (int i = 0; i < n_ifnames; i++) {
		int r = detach_one(ifnames[i]);

		if (r && !err)
			err = r;
	}

	snprintf(dir, sizeof(dir), "%s/%s", bpffs_dir, BATON_PIN_DIR);
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? err : log_errno(errno, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && !err)
			err = log_errno(errno, "cannot remove %s", path);
	}
	closedir(d);
	if (rmdir(dir) < 0 && !err)
		err = log_errno(errno, "cannot remove %s", dir);
	else
		log_info("removed pinned maps in %s", dir);
	return err;
}
