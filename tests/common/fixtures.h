/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The shared Marathon fixtures (../shared/marathon-fixtures) for the cmocka tests. */
#ifndef BATON_TEST_FIXTURES_H
#define BATON_TEST_FIXTURES_H

#include <stddef.h>

/*
 * The fixtures directory, or its subdirectory sub (NULL: the directory itself):
 * $BATON_FIXTURES if set, else argv[1]. Returns a static path, or NULL after a message
 * on stderr when there is none; the test then exits 77 (skipped).
 */
const char *fixtures_dir(int argc, char **argv, const char *sub);

/* dir/rel, read whole and NUL-terminated; fails the running cmocka test if it cannot. */
char *fixture_read(const char *dir, const char *rel, size_t *len);

#endif /* BATON_TEST_FIXTURES_H */
