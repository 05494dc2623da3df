/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * batond's logger: one line per message on stderr, with a syslog priority prefix
 * ("<3>") that journald understands when stderr is the journal, plain otherwise.
 * libbpf's output goes through the same function.
 */
#ifndef BATON_LOG_H
#define BATON_LOG_H

#include <errno.h>

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7
};

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs log_libbpf_print as libbpf's print callback (warnings always, debug with -v). */
void log_route_libbpf(void);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Logs "msg: strerror(-err)" once and hands err back, for `return log_errno(r, ...)`. */
#define log_errno(err, fmt, ...)                                                 \
	({                                                                       \
		int _e = (err);                                                  \
		log_err(fmt ": %s", ##__VA_ARGS__, strerror(_e < 0 ? -_e : _e)); \
		_e < 0 ? _e : -_e;                                               \
	})

#endif /* BATON_LOG_H */
