// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: one Marathon event (marathon_event_parse). Input: the SSE event type
 * up to the first newline, then the JSON data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marathon_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl = memchr(p, '\n', size);
	size_t type_len = nl ? (size_t)(nl - p) : 0;
	const char *json = nl ? nl + 1 : p;
	size_t json_len = nl ? size - type_len - 1 : size;
	struct marathon_event ev;
	char err[256];

	if (marathon_event_parse(p, type_len, json, json_len, &ev, err, sizeof(err)) == 0) {
		if (ev.n_ports > MARATHON_EV_MAX_PORTS || ev.n_ips > MARATHON_EV_MAX_IPS ||
		    strlen(ev.app_id) > MARATHON_EV_ID_MAX || ev.alive < -1 || ev.alive > 1)
			abort();
		(void)marathon_ev_kind_name(ev.kind);
	}
	return 0;
}
