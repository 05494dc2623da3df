// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Prometheus text format writer; see prom.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len)
			break;
		{
			size_t cap = b->cap ? b->cap * 2 : 16384;
			char *p;

			while (cap < b->len + n + 1)
				cap *= 2;
			p = realloc(b->p, cap);
			if (p == NULL) {
				b->oom = true;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
	b->len += n;
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	for (size_t i = 0; i < p->n_seen; i++) {
		if (strcmp(p->seen[i], name) == 0) {
			p->misuse = true;
			return;
		}
	}
	if (p->n_seen == PROM_MAX_FAMILIES) {
		p->misuse = true;
		return;
	}
	p->seen[p->n_seen++] = name;
	p->cur = name;
	/* HELP text escapes backslash and newline (not quotes). */
	sb_printf(&p->b, "# HELP %s ", name);
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			sb_printf(&p->b, "\\\\");
		else if (*c == '\n')
			sb_printf(&p->b, "\\n");
		else
			sb_printf(&p->b, "%c", *c);
	}
	sb_printf(&p->b, "\n# TYPE %s %s\n", name, type);
}

static void labels(struct prom *p, va_list ap)
{
	const char *k, *v;
	bool first = true;

	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		sb_printf(&p->b, "%s%s=\"", first ? "{" : ",", k);
		for (const char *c = v ? v : ""; *c; c++) {
			if (*c == '\\')
				sb_printf(&p->b, "\\\\");
			else if (*c == '"')
				sb_printf(&p->b, "\\\"");
			else if (*c == '\n')
				sb_printf(&p->b, "\\n");
			else
				sb_printf(&p->b, "%c", *c);
		}
		sb_printf(&p->b, "\"");
		first = false;
	}
	if (!first)
		sb_printf(&p->b, "}");
}

/* The name and labels of a sample; false (misuse) outside its family. */
static bool sample_head(struct prom *p, const char *name, va_list ap)
{
	if (p->cur == NULL || strcmp(p->cur, name) != 0) {
		p->misuse = true;
		return false;
	}
	sb_printf(&p->b, "%s", name);
	labels(p, ap);
	return true;
}

void prom_sample(struct prom *p, const char *name, unsigned long long value, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, value);
	ok = sample_head(p, name, ap);
	va_end(ap);
	if (ok)
		sb_printf(&p->b, " %llu\n", value);
}

void prom_sample_f(struct prom *p, const char *name, double value, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, value);
	ok = sample_head(p, name, ap);
	va_end(ap);
	if (ok)
		sb_printf(&p->b, " %.3f\n", value);
}

char *prom_finish(struct prom *p)
{
	if (p->b.oom || p->misuse) {
		sb_free(&p->b);
		return NULL;
	}
	if (p->b.p == NULL)
		sb_printf(&p->b, "%s", "");
	return p->b.oom ? NULL : p->b.p;
}
