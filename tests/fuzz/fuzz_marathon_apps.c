// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: a Marathon /v2/apps, /v2/apps/{id} or /v2/groups body (and the same
 * bytes as a /v2/tasks body) -> model -> events applied -> services, VIPs, exports, the
 * --dry-run JSON. The last byte picks the option set.
 */
#include <stdint.h>

#include "fuzz_common.h"

/* Status and health events on the model's own tasks, as the event stream sends them. */
static void fuzz_events(struct marathon_apps *a, unsigned int variant)
{
	static const char *const states[] = { "TASK_RUNNING", "TASK_KILLING", "TASK_KILLED",
					      "TASK_STAGING", "TASK_bogus" };
	struct marathon_ip ip = { BATON_FAMILY_V4, { htonl(0x0a000002) } };
	__u16 ports[2] = { 31000, 0 };

	for (size_t i = 0; i < a->n && i < 4; i++) {
		struct marathon_app *app = &a->v[i];
		char *app_id = strdup(app->id), *task_id;
		struct marathon_status_update u = { .app_id = app_id,
						    .state = states[(variant + i) % 5],
						    .host = (i & 1) ? "agent-1.example" : NULL,
						    .ports = ports,
						    .n_ports = i % 3,
						    .has_ports = i & 1,
						    .ips = &ip,
						    .n_ips = 1,
						    .has_ips = i & 2 };

		if (app_id == NULL)
			return;
		task_id = strdup(app->n_tasks ? app->tasks[0].id : "new.task");
		if (task_id != NULL) {
			struct marathon_health_update h = { .app_id = app_id,
							    .task_id = task_id,
							    .alive = variant & 1 };

			u.task_id = task_id;
			marathon_apply_health(a, &h);
			marathon_apply_status(a, &u);
			h.task_id = NULL;
			h.instance_id = task_id;
			marathon_apply_health(a, &h);
		}
		/* app may have moved: the strings are copies */
		free(task_id);
		free(app_id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct marathon_problems probs = { 0 };
	struct marathon_apps a, b;
	struct marathon_task_list t;
	unsigned int variant = size ? data[size - 1] : 0;

	if (marathon_tasks_parse((const char *)data, size, &t, &probs) == 0)
		marathon_tasks_free(&t);
	marathon_problems_free(&probs);
	if (marathon_apps_parse((const char *)data, size, &a, &probs) != 0) {
		if (a.n != 0 || a.v != NULL)
			abort();
		marathon_problems_free(&probs);
		return 0;
	}
	for (size_t i = 1; i < a.n; i++)
		if (strcmp(a.v[i - 1].id, a.v[i].id) >= 0)
			abort(); /* sorted and unique: marathon_apps_find() relies on it */
	fuzz_services(&a, variant);
	if (marathon_apps_parse((const char *)data, size, &b, NULL) == 0) {
		fuzz_events(&b, variant);
		marathon_apps_carry_health(&b, &a);
		fuzz_services(&b, variant >> 4);
		marathon_apps_free(&b);
	}
	marathon_apps_free(&a);
	marathon_problems_free(&probs);
	return 0;
}
