// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The guest side of the verifier test (run.sh boots it under qemu on an older kernel):
 * loads Baton's XDP object through batond's own code and reports every step on stdout
 * as "VERIFIER: ..." lines for the host to parse.
 *
 *   datapath_open     bpffs, every map pinned, the program through the verifier
 *   reconcile_apply   a services file: frontends, backends, the config map and the
 *                     Maglev inner maps (BPF_F_INNER_MAP arrays of their own sizes)
 *                     created, batch-filled and put into the array of maps
 *   ring_buffer__new  the neighbour request ring buffer, as batond opens it
 *   datapath_attach   generic XDP on lo, datapath_l2_announce on lo
 *   BPF_PROG_TEST_RUN one frame through the loaded program
 *
 * Usage: BATON_VERIFIER_GUEST=1 load_check OBJECT SERVICES.json (in the guest only)
 * On a failed load libbpf's warning carries the verifier log (stderr, via log.c).
 * Exits 0 only when every step passed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baton.skel.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "reconcile.h"

static int steps_failed;

static void step(const char *what, int err)
{
	if (err)
		steps_failed++;
	printf("VERIFIER: step %s %s%s%s\n", what, err ? "FAILED (" : "ok",
	       err ? strerror(err < 0 ? -err : err) : "", err ? ")" : "");
	fflush(stdout);
}

static int report_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int n = 0, bad = 0;

	bpf_object__for_each_program(prog, obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		n++;
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
			bad++;
			printf("VERIFIER: prog %s FAILED\n", bpf_program__name(prog));
			continue;
		}
		printf("VERIFIER: prog %s ok id=%u xlated=%u jited=%u verified_insns=%u\n",
		       bpf_program__name(prog), info.id, info.xlated_prog_len, info.jited_prog_len,
		       info.verified_insns);
	}
	printf("VERIFIER: programs %d loaded %d\n", n, n - bad);
	return n > 0 && bad == 0 ? 0 : -1;
}

static int report_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int n = 0, bad = 0;

	bpf_object__for_each_map(map, obj)
	{
		int fd = bpf_map__fd(map);

		n++;
		bad += fd < 0;
		printf("VERIFIER: map %s type=%d max_entries=%u %s\n", bpf_map__name(map),
		       bpf_map__type(map), bpf_map__max_entries(map), fd < 0 ? "FAILED" : "ok");
	}
	printf("VERIFIER: maps %d created %d\n", n, n - bad);
	return bad == 0 ? 0 : -1;
}

/*
 * libbpf's messages whole on stderr: batond's logger (log.c) cuts long lines, and the
 * verifier log of a failed load is one message of any length.
 */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static int on_neigh_req(void *ctx, void *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	return 0;
}

/* One Ethernet/IPv4/TCP SYN through the program: the run itself must succeed. */
static int test_run(int prog_fd)
{
	static const unsigned char frame[54] = {
		0x02, 0,    0, 0,   0, 1, 0x02, 0, 0,  0, 0, 2, 0x08, 0x00,	     /* Ethernet */
		0x45, 0,    0, 40,  0, 1, 0x40, 0, 64, 6, 0, 0, 10,   9,    0,	  1, /* IPv4 ... */
		10,   0,    0, 100,						     /* VIP */
		0x9c, 0x40, 0, 80,  0, 0, 0,	1, 0,  0, 0, 0, 0x50, 0x02, 0xff,    /* TCP SYN */
		0xff, 0,    0, 0,   0,
	};
	unsigned char out[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err == 0)
		printf("VERIFIER: test_run action=%u\n", opts.retval);
	return err ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct reconcile_settings set = { .snat_port_min = 20000, .snat_port_max = 29999 };
	struct reconcile rc = {};
	struct datapath dp = {};
	struct config cfg = {};
	struct ring_buffer *rb;
	struct utsname u;
	char why[256];
	char *lo = "lo";
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJECT SERVICES.json\n", argv[0]);
		return 2;
	}
	/* It attaches to lo and pins in /sys/fs/bpf: only in run.sh's guest, never a host. */
	if (getenv("BATON_VERIFIER_GUEST") == NULL) {
		fprintf(stderr, "%s: runs only inside tests/verifier/run.sh's qemu guest\n",
			argv[0]);
		return 2;
	}
	libbpf_set_print(print_libbpf);
	uname(&u);
	printf("VERIFIER: kernel %s %s\n", u.release, u.version);

	err = datapath_open(&dp, "/sys/fs/bpf", argv[1]);
	step("load", err);
	if (err) {
		printf("VERIFIER: RESULT FAIL (the object did not load; the verifier log is above)\n");
		return 1;
	}
	err = report_programs(dp.skel->obj);
	err |= report_maps(dp.skel->obj);
	step("report", err ? -EINVAL : 0);

	err = config_load_file(argv[2], &cfg, why, sizeof(why));
	if (err)
		printf("VERIFIER: %s: %s\n", argv[2], why);
	else
		err = reconcile_init(&rc, bpf_map__fd(dp.skel->maps.frontends),
				     bpf_map__fd(dp.skel->maps.backends),
				     bpf_map__fd(dp.skel->maps.maglev),
				     bpf_map__fd(dp.skel->maps.config));
	if (!err)
		err = reconcile_apply(&rc, &cfg, &set);
	step("reconcile", err);

	rb = ring_buffer__new(bpf_map__fd(dp.skel->maps.neigh_req), on_neigh_req, NULL, NULL);
	step("ringbuf", rb == NULL ? -errno : 0);
	ring_buffer__free(rb);

	step("attach", datapath_attach(&dp, "lo", true));
	step("l2_announce", datapath_l2_announce(&dp, &lo, 1));
	step("test_run", test_run(bpf_program__fd(dp.skel->progs.baton_xdp)));
	step("detach", datapath_detach("/sys/fs/bpf", &lo, 1));

	reconcile_free(&rc);
	config_free(&cfg);
	datapath_close(&dp);
	printf("VERIFIER: RESULT %s\n", steps_failed ? "FAIL" : "PASS");
	return steps_failed ? 1 : 0;
}
