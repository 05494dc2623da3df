// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "baton_abi.h"
#include "vip_export.h"

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts lines, drops duplicates, joins them with a header. */
static char *join_sorted(char **lines, size_t n, const char *header)
{
	size_t len = strlen(header) + 1;
	char *out, *p;

	qsort(lines, n, sizeof(*lines), cmp_lines);
	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	p = out + sprintf(out, "%s", header);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(lines[i], lines[i - 1]) == 0)
			continue;
		p += sprintf(p, "%s\n", lines[i]);
	}
	return out;
}

static char *render(const struct vip_export_entry *e, size_t n, const char *domain, __u8 family,
		    const char *header)
{
	char **lines = calloc(n ? n : 1, sizeof(*lines)), *out = NULL;
	size_t k = 0;

	if (lines == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];
		int r;

		if (domain != NULL ? e[i].name == NULL : e[i].family != family)
			continue;
		inet_ntop(e[i].family == BATON_FAMILY_V4 ? AF_INET : AF_INET6, e[i].addr, a,
			  sizeof(a));
		if (domain != NULL)
			r = asprintf(&lines[k], "%s %s.%s", a, e[i].name, domain);
		else
			r = asprintf(&lines[k], "route %s/%d blackhole;", a,
				     family == BATON_FAMILY_V4 ? 32 : 128);
		if (r < 0)
			goto out;
		k++;
	}
	out = join_sorted(lines, k, header);
out:
	for (size_t i = 0; i < k; i++)
		free(lines[i]);
	free(lines);
	return out;
}

char *vip_export_hosts(const struct vip_export_entry *e, size_t n, const char *domain)
{
	return render(e, n, domain ? domain : VIP_DOMAIN_DEFAULT, 0,
		      "# Baton VIPs (written by batond; do not edit)\n");
}

char *vip_export_bird(const struct vip_export_entry *e, size_t n, __u8 family)
{
	return render(e, n, NULL, family, "# Baton VIP routes (written by batond; do not edit)\n");
}

int vip_export_write(const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text);
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
