// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: label values (HAPROXY_* of the app, VIP_n of a port) on a fixed
 * two-port app with tasks, through the model, services, VIP allocation and exports.
 * Input: lines "KEY=VALUE" are app labels, "@KEY=VALUE" labels of port 0, "#KEY=VALUE"
 * of port 1; a line "POOL=CIDR" goes to vip_pool_parse(). Values may hold any byte but
 * a newline; the JSON is built with cJSON, so every value reaches the label parsers.
 */
#include <stdint.h>
#include <cjson/cJSON.h>

#include "fuzz_common.h"

static const char app_template[] =
	"{\"apps\":[{\"id\":\"/fz/app\",\"instances\":2,\"labels\":{},"
	"\"portDefinitions\":[{\"port\":10000,\"protocol\":\"tcp\",\"labels\":{}},"
	"{\"port\":10001,\"protocol\":\"udp,tcp\",\"labels\":{}}],"
	"\"healthChecks\":[{\"protocol\":\"HTTP\",\"portIndex\":0}],"
	"\"tasks\":[{\"id\":\"fz_app.1\",\"host\":\"10.0.0.5\",\"ports\":[31000,31001],"
	"\"state\":\"TASK_RUNNING\",\"healthCheckResults\":[{\"alive\":true}]},"
	"{\"id\":\"fz_app.2\",\"host\":\"agent-1.example\",\"ports\":[31002,31003],"
	"\"state\":\"TASK_KILLING\"}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_Parse(app_template), *app, *labels[3];
	char *line = malloc(size + 1), *save = NULL, *l, *body;
	struct marathon_problems probs = { 0 };
	struct marathon_apps a;

	if (root == NULL || line == NULL)
		abort();
	app = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "apps"), 0);
	labels[0] = cJSON_GetObjectItem(app, "labels");
	labels[1] = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(app, "portDefinitions"), 0), "labels");
	labels[2] = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(app, "portDefinitions"), 1), "labels");
	memcpy(line, data, size);
	line[size] = '\0';
	for (l = strtok_r(line, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		int where = l[0] == '@' ? 1 : l[0] == '#' ? 2 : 0;
		char *eq = strchr(l + (where != 0), '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (where == 0 && strcmp(l, "POOL") == 0) {
			struct vip_pool pool;

			vip_pool_parse(eq + 1, &pool, NULL, 0);
			continue;
		}
		/* cJSON keeps repeated keys: the model must refuse the app, not crash */
		cJSON_AddItemToObject(labels[where], l + (where != 0), cJSON_CreateString(eq + 1));
	}
	body = cJSON_PrintUnformatted(root);
	if (body != NULL && marathon_apps_parse(body, strlen(body), &a, &probs) == 0) {
		fuzz_services(&a, 0);
		fuzz_services(&a, 15);
		marathon_apps_free(&a);
	}
	marathon_problems_free(&probs);
	free(body);
	free(line);
	cJSON_Delete(root);
	return 0;
}
