/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Marathon /v2/events payloads: one SSE event (type + JSON data) into a plain struct
 * the sync code acts on. Pure: cJSON, no I/O, no logging; errors come back as -errno
 * plus one message naming the event type, the app id when known, and the field.
 *
 * The type is the SSE "event" line; when it is absent ("message", e.g. a capture that
 * lost it) the JSON "eventType" field gives it. When both are present they must agree.
 * Events of kind MARATHON_EV_OTHER are recognised from the SSE type alone and their
 * data is not parsed (nor checked): batond ignores them.
 *
 * Shapes read (Marathon 0.x .. 1.10; unknown fields are ignored, null counts as absent
 * for optional fields):
 *   status_update_event          appId, taskId, taskStatus (required); host, ports[],
 *                                ipAddresses[{ipAddress, protocol}], version, timestamp
 *   health_status_changed_event  appId, alive (required); taskId (Marathon < 1.4) or
 *                                instanceId (>= 1.4), at least one; version, timestamp
 *   instance_health_changed_event runSpecId -> app_id, instanceId (required); healthy
 *                                (true/false/null -> alive 1/0/-1), runSpecVersion ->
 *                                version, timestamp
 *   app_terminated_event         appId (required), timestamp
 *   api_post_event               appDefinition.id -> app_id (optional), timestamp
 *   deployment_info, deployment_success, deployment_failed, deployment_step_success,
 *   deployment_step_failure      id or plan.id -> deployment_id (optional), timestamp
 *   group_change_success         groupId -> app_id (optional), timestamp
 *   event_stream_attached/_detached  remoteAddress or clientIp -> host (optional)
 */
#ifndef BATON_MARATHON_EVENT_H
#define BATON_MARATHON_EVENT_H

#include <stddef.h>
#include <linux/types.h>

#define MARATHON_EV_TYPE_MAX 63	   /* bytes of an event type */
#define MARATHON_EV_ID_MAX 255	   /* bytes of an app, task, instance or group id */
#define MARATHON_EV_STATUS_MAX 31  /* bytes of a taskStatus */
#define MARATHON_EV_HOST_MAX 255   /* bytes of a host name or address */
#define MARATHON_EV_TIME_MAX 63	   /* bytes of a version or timestamp (ISO 8601) */
#define MARATHON_EV_DEPLOY_MAX 63  /* bytes of a deployment id (a UUID) */
#define MARATHON_EV_MAX_PORTS 16   /* entries of ports[] */
#define MARATHON_EV_MAX_IPS 8	   /* entries of ipAddresses[] */
#define MARATHON_EV_IP_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1 */

enum marathon_ev_kind {
	MARATHON_EV_STATUS_UPDATE,  /* status_update_event: a task changed state */
	MARATHON_EV_HEALTH_CHANGED, /* health_status_changed_event, instance_health_changed_event */
	MARATHON_EV_APP_CHANGED,    /* api_post_event, deployment_*, app_terminated_event,
				     * group_change_success: the app set may have changed, refetch */
	MARATHON_EV_STREAM_ATTACHED, /* event_stream_attached */
	MARATHON_EV_STREAM_DETACHED, /* event_stream_detached */
	MARATHON_EV_OTHER,	     /* anything else: not an error, nothing to do */
};

/* Mesos task states (taskStatus); MARATHON_EV_TASK_UNRECOGNIZED for any other string. */
enum marathon_ev_task_state {
	MARATHON_EV_TASK_NONE, /* the event carries no task state */
	MARATHON_EV_TASK_UNRECOGNIZED,
	MARATHON_EV_TASK_STAGING,
	MARATHON_EV_TASK_STARTING,
	MARATHON_EV_TASK_RUNNING,
	MARATHON_EV_TASK_KILLING,
	MARATHON_EV_TASK_FINISHED,
	MARATHON_EV_TASK_FAILED,
	MARATHON_EV_TASK_KILLED,
	MARATHON_EV_TASK_ERROR,
	MARATHON_EV_TASK_LOST,
	MARATHON_EV_TASK_DROPPED,
	MARATHON_EV_TASK_UNREACHABLE,
	MARATHON_EV_TASK_GONE,
	MARATHON_EV_TASK_GONE_BY_OPERATOR,
	MARATHON_EV_TASK_UNKNOWN, /* Mesos' own TASK_UNKNOWN */
};

struct marathon_ev_ip {
	char text[MARATHON_EV_IP_TEXT_MAX + 1]; /* ipAddress as sent */
	__u8 family;				/* BATON_FAMILY_V4 or BATON_FAMILY_V6 */
	__be32 addr[4];				/* be; IPv4 in addr[0], addr[1..3] zero */
};

/* Strings are NUL-terminated and "" when absent. */
struct marathon_event {
	enum marathon_ev_kind kind;
	char type[MARATHON_EV_TYPE_MAX + 1]; /* the event type, e.g. "status_update_event" */
	char app_id[MARATHON_EV_ID_MAX + 1]; /* appId / runSpecId / appDefinition.id / groupId */
	char task_id[MARATHON_EV_ID_MAX + 1];
	char instance_id[MARATHON_EV_ID_MAX + 1];
	char task_status[MARATHON_EV_STATUS_MAX + 1]; /* e.g. "TASK_RUNNING" */
	enum marathon_ev_task_state task_state;	      /* task_status decoded */
	char host[MARATHON_EV_HOST_MAX + 1];	      /* agent host, or the stream client */
	__u16 ports[MARATHON_EV_MAX_PORTS];	      /* host order, in event order */
	size_t n_ports;
	struct marathon_ev_ip ips[MARATHON_EV_MAX_IPS]; /* in event order */
	size_t n_ips;
	int alive; /* health: 1 alive, 0 not, -1 unknown or not a health event */
	char version[MARATHON_EV_TIME_MAX + 1];	  /* app version */
	char timestamp[MARATHON_EV_TIME_MAX + 1]; /* when Marathon emitted the event */
	char deployment_id[MARATHON_EV_DEPLOY_MAX + 1];
};

/*
 * Decodes one event: type[0..type_len-1] is the SSE event type (NULL or empty counts as
 * "message"), data[0..data_len-1] the JSON (neither needs a NUL terminator). Fills *out,
 * which is zeroed first (kind MARATHON_EV_OTHER, alive -1) and left so on failure.
 * Returns 0; or -EINVAL with one message in err (may be NULL)
 * on invalid JSON, a field of the wrong type, a missing required field, a string that
 * does not fit its array, or more ports or addresses than fit; or -ENOMEM. Strings are
 * refused rather than cut.
 */
int marathon_event_parse(const char *type, size_t type_len, const char *data, size_t data_len,
			 struct marathon_event *out, char *err, size_t errlen);

/* "status_update", "health_changed", ... for logs. */
const char *marathon_ev_kind_name(enum marathon_ev_kind kind);

/* "TASK_RUNNING" -> MARATHON_EV_TASK_RUNNING; unknown strings -> ..._UNRECOGNIZED. */
enum marathon_ev_task_state marathon_ev_task_state_parse(const char *s);

#endif /* BATON_MARATHON_EVENT_H */
