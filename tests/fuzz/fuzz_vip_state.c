// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the VIP allocator's state file (vip_state_load), then an allocation
 * against the loaded state, the save (into a private temp dir) and a reload that must
 * give the same state.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>

#include <stdlib.h>
#include "baton_abi.h"
#include "vip.h"

static char dir[64];

static void remove_dir(void)
{
	char p[96];

	snprintf(p, sizeof(p), "%s/vips", dir);
	unlink(p);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vip_request req[] = {
		{ "/a", 0, "/web:80", false },	   { "/b", 0, "web:81", true },
		{ "/c", 1, "/db:5432", false },	   { "/d", 0, "10.0.0.5:80", false },
		{ "/e", 0, "11.0.0.9:80", false },
	};
	struct vip_assignment out[5];
	struct vip_pool pools[2];
	struct vip_state *s, *again;
	char path[96], saved[96], err[512];
	int fd;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/baton-fuzz-vip.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(remove_dir);
	}
	fd = memfd_create("vips", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vip_state_load(&s, path, err, sizeof(err)) != 0) {
		close(fd);
		return 0;
	}
	close(fd);
	vip_pool_parse(VIP_POOL_V4_DEFAULT, &pools[0], NULL, 0);
	vip_pool_parse(VIP_POOL_V6_DEFAULT, &pools[1], NULL, 0);
	if (vip_allocate(s, pools, 2, req, 5, out, err, sizeof(err)) < 0)
		abort();
	snprintf(saved, sizeof(saved), "%s/vips", dir);
	if (vip_state_save(s, saved, err, sizeof(err)) != 0)
		abort();
	/* What was saved loads again, to the same number of names. */
	if (vip_state_load(&again, saved, err, sizeof(err)) != 0 ||
	    vip_state_count(again) != vip_state_count(s))
		abort();
	vip_state_free(again);
	vip_state_free(s);
	return 0;
}
