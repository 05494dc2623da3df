// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static int journal_prefix = -1;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

/* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
static int use_prefix(void)
{
	if (journal_prefix < 0)
		journal_prefix = getenv("JOURNAL_STREAM") != NULL;
	return journal_prefix;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_LVL_ERR] = "error",
		[LOG_LVL_WARN] = "warning",
		[LOG_LVL_INFO] = "info",
		[LOG_LVL_DEBUG] = "debug",
	};
	char buf[1024];
	size_t n;

	if (lvl > cur_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (use_prefix())
		fprintf(stderr, "<%d>%s\n", lvl, buf);
	else
		fprintf(stderr, "batond: %s: %s\n", names[lvl], buf);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN   ? LOG_LVL_WARN
			     : level == LIBBPF_INFO ? LOG_LVL_INFO
						    : LOG_LVL_DEBUG;

	/* libbpf is chatty at INFO; only -v shows it. */
	if (lvl == LOG_LVL_INFO)
		lvl = LOG_LVL_DEBUG;
	vlog(lvl, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
