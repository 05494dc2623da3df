// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * capset(2) and prctl(2) directly rather than libcap: three system calls on fixed
 * masks do not need a library, nor batond a new dependency for them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "caps.h"
#include "log.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/*
 * What the running loop needs (docs/batond.8, CAPABILITIES):
 *   CAP_BPF        bpf() itself (map updates, new Maglev inner maps, ring buffer);
 *   CAP_SYS_ADMIN  BPF_MAP_GET_FD_BY_ID (refilling a service's standby Maglev table),
 *                  and all of bpf() on kernels older than CAP_BPF (5.8);
 *   CAP_NET_ADMIN  XDP attach and query (netlink);
 *   CAP_NET_RAW    the ICMP sockets of neighbour probes.
 */
static const int keep[] = { CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW };

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

int caps_drop_after_setup(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	__u64 mask = 0, perm;
	int top = last_cap();

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i] <= top)
			mask |= 1ull << keep[i];
	/*
	 * The bounding set first: dropping from it needs CAP_SETPCAP, dropped below. Under
	 * the systemd unit's CapabilityBoundingSet there is nothing left to drop there.
	 */
	for (int c = 0; c <= top; c++)
		if (!(mask & (1ull << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return log_errno(errno, "cannot drop capability %d from the bounding set",
					 c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return log_errno(errno, "cannot clear the ambient capabilities");
	/* Zeroed first: valgrind's capget() knows only the one-struct (v1) layout. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return log_errno(errno, "capget");
	perm = ((__u64)data[1].permitted << 32 | data[0].permitted) & mask;
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (__u32)perm;
	data[1].permitted = data[1].effective = (__u32)(perm >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return log_errno(errno, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_errno(errno, "cannot set no_new_privs");
	log_info("capabilities after setup: cap_bpf cap_sys_admin cap_net_admin cap_net_raw "
		 "(effective 0x%llx); the rest dropped",
		 (unsigned long long)perm);
	return 0;
}
