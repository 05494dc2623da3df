/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A growing text buffer and a writer of the Prometheus text exposition format
 * (version 0.0.4): every family's HELP and TYPE lines once, before its samples, and
 * label values escaped (backslash, double quote, newline). Pure; no I/O.
 */
#ifndef BATON_PROM_H
#define BATON_PROM_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);

#define PROM_MAX_FAMILIES 96

struct prom {
	struct sbuf b;
	const char *cur; /* the family whose samples are being written */
	size_t n_seen;
	const char *seen[PROM_MAX_FAMILIES];
	bool misuse; /* a family was opened twice or a sample written outside its family */
};

/*
 * Opens a family: HELP and TYPE (counter, gauge). Opening the same name twice is a
 * programming error: it is recorded in misuse and the lines are not repeated.
 */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);

/*
 * One sample of the open family: name{k1="v1",...} value. Labels are pairs of strings
 * ending with NULL; values are escaped here. The sample name must be the open family.
 */
void prom_sample(struct prom *p, const char *name, unsigned long long value, ...)
	__attribute__((sentinel));

/* The same with a floating value (seconds, ratios). */
void prom_sample_f(struct prom *p, const char *name, double value, ...) __attribute__((sentinel));

/* The text (malloc'd, the caller frees), or NULL on allocation failure or misuse. */
char *prom_finish(struct prom *p);

#endif /* BATON_PROM_H */
