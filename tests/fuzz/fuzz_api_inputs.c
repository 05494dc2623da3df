// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: what the HTTP API reads from outside and parses itself (the
 * requests' routing and bodies are libmicrohttpd's and cJSON's; tests/netns/api_fuzz.py
 * throws random requests at a live batond). The first byte picks the input:
 *   0: an --api-tokens file (tenant_parse), then every parsed token authenticates as
 *      itself, a wrong token never does, and scope checks on a few app ids;
 *   1: a backend id as in POST /v1/backends/{id}/drain (drain_id_parse), which must
 *      format back to a string that parses to the same endpoint;
 *   2: a drains state file (drain_load), saved and loaded again to the same set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "baton_abi.h"
#include "drain.h"
#include "tenant.h"

static char dir[64];

static void remove_dir(void)
{
	char p[96];

	snprintf(p, sizeof(p), "%s/drains", dir);
	unlink(p);
	rmdir(dir);
}

static void fuzz_tokens(const char *text, size_t len)
{
	static const char *const apps[] = { "/team-a/web", "/team-b/db", "/", "/team-a", "" };
	struct tenant_set ts = {};
	char err[512];

	if (tenant_parse(text, len, &ts, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); /* a refusal always says why */
		return;
	}
	for (size_t i = 0; i < ts.n; i++) {
		const struct tenant *t = &ts.v[i];
		const struct tenant *got = tenant_authenticate(&ts, t->secret, t->secret_len);

		/* Another token may share the secret only if the parser allowed duplicates. */
		if (got == NULL || got->secret_len != t->secret_len ||
		    memcmp(got->secret, t->secret, t->secret_len) != 0)
			abort();
		for (size_t a = 0; a < sizeof(apps) / sizeof(apps[0]); a++)
			(void)tenant_in_scope(t, apps[a]);
	}
	if (tenant_authenticate(&ts, "not-a-token-of-this-file!", 25) != NULL) {
		bool listed = false;

		for (size_t i = 0; i < ts.n; i++)
			listed |= ts.v[i].secret_len == 25 &&
				  memcmp(ts.v[i].secret, "not-a-token-of-this-file!", 25) == 0;
		if (!listed)
			abort();
	}
	for (size_t a = 0; a < sizeof(apps) / sizeof(apps[0]); a++) {
		(void)tenant_for_app(&ts, apps[a]);
		(void)tenant_path_public(&ts, apps[a]);
	}
	tenant_set_free(&ts);
}

static void fuzz_id(const char *s)
{
	__be32 addr[4], addr2[4];
	__u8 family, family2;
	__u16 port, port2;
	char buf[DRAIN_ID_MAX];

	if (drain_id_parse(s, &family, addr, &port) != 0)
		return;
	drain_id_format(family, addr, port, buf, sizeof(buf));
	if (drain_id_parse(buf, &family2, addr2, &port2) != 0 || family2 != family ||
	    port2 != port || memcmp(addr, addr2, family == BATON_FAMILY_V4 ? 4 : 16) != 0)
		abort();
}

static void fuzz_drains(const uint8_t *data, size_t size)
{
	struct drain_set d = {}, again = {};
	char path[96], saved[96], err[512];
	int fd;

	fd = memfd_create("drains", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (drain_load(&d, path, err, sizeof(err)) != 0) {
		close(fd);
		if (err[0] == '\0')
			abort();
		return;
	}
	close(fd);
	snprintf(saved, sizeof(saved), "%s/drains", dir);
	if (drain_save(&d, saved) != 0)
		abort();
	if (drain_load(&again, saved, err, sizeof(err)) != 0 || again.n != d.n)
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (drain_find(&again, d.v[i].family, d.v[i].addr, d.v[i].port) == NULL)
			abort();
	drain_set_free(&again);
	drain_set_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/baton-fuzz-api.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(remove_dir);
	}
	switch (data[0] % 3) {
	case 0:
		fuzz_tokens((const char *)data + 1, size - 1);
		break;
	case 1:
		s = malloc(size);
		if (s == NULL)
			abort();
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		fuzz_id(s);
		free(s);
		break;
	default:
		fuzz_drains(data + 1, size - 1);
		break;
	}
	return 0;
}
