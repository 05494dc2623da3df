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

/* Writes text to dir/name; the path is returned in out. */
static void write_file(const char *dir, const char *name, const char *text, char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "%s/%s", dir, name);
	f = fopen(out, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * docs/bird-baton.conf with the includes batond writes, checked by BIRD itself
 * (bird -p: parse the configuration and exit). meson passes bird's path and the
 * snippet; without them (no bird2 installed) the test fails rather than pass unseen.
 */
static void test_bird_parses(void **state)
{
	const char *bird = getenv("BATON_BIRD"), *snippet = getenv("BATON_BIRD_SNIPPET");
	struct vip_export_entry e[] = { entry("web", "11.109.162.33"), entry(NULL, "10.0.0.5"),
					entry("web", "fd01:c::7") };
	char dir[] = "/tmp/baton-bird-XXXXXX", p4[128], p6[128], conf[128], cmd[512];
	char *t4, *t6, *text = NULL, *at, *p;
	size_t cap = 0, n;
	FILE *f;

	if (bird == NULL || bird[0] == '\0' || snippet == NULL)
		fail_msg("BATON_BIRD / BATON_BIRD_SNIPPET not set (is bird2 installed?)");
	assert_non_null(mkdtemp(dir));
	t4 = vip_export_bird(e, 3, BATON_FAMILY_V4);
	t6 = vip_export_bird(e, 3, BATON_FAMILY_V6);
	write_file(dir, "bird-vips4.conf", t4, p4, sizeof(p4));
	write_file(dir, "bird-vips6.conf", t6, p6, sizeof(p6));
	f = fopen(snippet, "r");
	assert_non_null(f);
	n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	assert_true(n > 0);
	/* The snippet's includes point at the default state dir; point them at ours. */
	snprintf(conf, sizeof(conf), "%s/bird.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	p = text;
	while ((at = strstr(p, "/var/lib/baton")) != NULL) {
		fwrite(p, 1, at - p, f);
		fputs(dir, f);
		p = at + strlen("/var/lib/baton");
	}
	fputs(p, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "'%s' -p -c '%s'", bird, conf);
	assert_int_equal(system(cmd), 0);
	/* and BIRD does refuse a broken include: the check has teeth */
	write_file(dir, "bird-vips4.conf", "route 11.0.0.1/33 blackhole;\n", p4, sizeof(p4));
	snprintf(cmd, sizeof(cmd), "'%s' -p -c '%s' 2>/dev/null", bird, conf);
	assert_int_not_equal(system(cmd), 0);
	unlink(p4);
	unlink(p6);
	unlink(conf);
	rmdir(dir);
	free(text);
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
		cmocka_unit_test(test_bird_parses),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
