// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libFuzzer target: the static services file (config_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[256];

	if (config_parse((const char *)data, size, &c, err, sizeof(err)) == 0) {
		/* What reconcile relies on: the documented bounds of a parsed file. */
		for (size_t i = 0; i < c.n_services; i++) {
			const struct config_service *s = &c.services[i];

			if (s->n_backends > s->maglev_size || strlen(s->name) > CONFIG_NAME_MAX ||
			    (s->n_backends > 0) != (s->backends != NULL))
				abort();
			for (size_t j = 0; j < s->n_backends; j++)
				if (s->backends[j].weight > CONFIG_WEIGHT_MAX ||
				    s->backends[j].family != s->family)
					abort();
		}
		config_free(&c);
	} else if (c.n_services != 0 || c.services != NULL) {
		abort(); /* documented: *out zeroed on failure */
	}
	return 0;
}
