/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Dropping privileges after setup: batond keeps only the capabilities its running
 * loop needs (docs/batond.8, CAPABILITIES, says which and why).
 */
#ifndef BATON_CAPS_H
#define BATON_CAPS_H

/*
 * Reduces the bounding, permitted, effective and inheritable sets to CAP_BPF,
 * CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN (those the process has), clears the
 * ambient set and sets no_new_privs. Returns 0 or -errno (the sets may then be
 * partly reduced).
 */
int caps_drop_after_setup(void);

#endif /* BATON_CAPS_H */
