// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The VIP hosts file and BIRD includes: content, order, duplicates, atomic writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "baton_abi.h"
#include "vip_export.h"

static struct vip_export_entry entry(const char *name, const char *addr)
{
	struct vip_export_entry e = { .name = name };

	if (inet_pton(AF_INET, addr, e.addr) == 1) {
		e.family = BATON_FAMILY_V4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, e.addr), 1);
		e.family = BATON_FAMILY_V6;
	}
	return e;
}

static void test_hosts(void **state)
{
	struct vip_export_entry e[] = {
		entry("web", "11.109.162.33"), entry(NULL, "10.0.0.5"),
		entry("cache", "11.1.2.3"),    entry("web", "11.109.162.33"), /* a 2nd port */
		entry("web", "fd01:c::7"),
	};
	char *t = vip_export_hosts(e, 5, NULL);

	assert_non_null(t);
	assert_string_equal(t, "# Baton VIPs (written by batond; do not edit)\n"
			       "11.1.2.3 cache.marathon.l4lb.thisdcos.directory\n"
			       "11.109.162.33 web.marathon.l4lb.thisdcos.directory\n"
			       "fd01:c::7 web.marathon.l4lb.thisdcos.directory\n");
	free(t);
	t = vip_export_hosts(e, 1, "vips.example");
	assert_non_null(strstr(t, "11.109.162.33 web.vips.example\n"));
	free(t);
}

static void test_bird(void **state)
{
	struct vip_export_entry e[] = {
		entry("web", "11.109.162.33"),
		entry(NULL, "10.0.0.5"),
		entry("web", "fd01:c::7"),
		entry(NULL, "10.0.0.5"),
	};
	char *t4 = vip_export_bird(e, 4, BATON_FAMILY_V4),
	     *t6 = vip_export_bird(e, 4, BATON_FAMILY_V6);

	assert_string_equal(t4, "# Baton VIP routes (written by batond; do not edit)\n"
				"route 10.0.0.5/32 blackhole;\n"
				"route 11.109.162.33/32 blackhole;\n");
	assert_string_equal(t6, "# Baton VIP routes (written by batond; do not edit)\n"
				"route fd01:c::7/128 blackhole;\n");
	free(t4);
	free(t6);
}

static void test_write_atomic(void **state)
{
	char dir[] = "/tmp/baton-vipexp-XXXXXX", path[128], tmp[160], buf[64] = "";
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vips.hosts", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(vip_export_write(path, "one\n"), 0);
	assert_int_equal(vip_export_write(path, "two\n"), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "two\n");
	assert_int_not_equal(access(tmp, F_OK), 0); /* no temp file left */
	snprintf(path, sizeof(path), "%s/missing/vips.hosts", dir);
	assert_int_equal(vip_export_write(path, "x"), -ENOENT);
	snprintf(path, sizeof(path), "%s/vips.hosts", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_bird),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
