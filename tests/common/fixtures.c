// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fixtures.h"

const char *fixtures_dir(int argc, char **argv, const char *sub)
{
	static char path[4096];
	const char *env = getenv("BATON_FIXTURES");
	const char *dir = env != NULL && env[0] != '\0' ? env : argc > 1 ? argv[1] : NULL;
	struct stat st;

	if (dir == NULL) {
		fprintf(stderr, "SKIP: no fixtures directory: pass it or set BATON_FIXTURES\n");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "SKIP: Marathon fixtures not found at %s\n", path);
		return NULL;
	}
	return path;
}

char *fixture_read(const char *dir, const char *rel, size_t *len)
{
	char path[8192];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}
