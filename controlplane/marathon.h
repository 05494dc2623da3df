/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Marathon model and services, with Marathon-LB's semantics. Pure: bytes in, structs
 * out; no I/O, no logging, no clock. Problems come back in a list the caller logs.
 *
 * Three steps:
 *   1. marathon_apps_parse(): a GET /v2/apps?embed=apps.tasks body ({"apps":[...]}),
 *      a GET /v2/apps/{id}?embed=app.tasks body ({"app":{...}}) or a GET /v2/groups
 *      body (apps nested in groups) -> struct marathon_apps, the plain model of apps
 *      and their tasks. A bad app is skipped with a problem; a body that is not JSON
 *      or not one of those shapes is an error for the whole body (-EINVAL), and the
 *      caller keeps its last good model.
 *   2. marathon_apply_status() / marathon_apply_health(): events applied to the model
 *      without a refetch.
 *   3. marathon_services_build(): model + options -> services, the frontends and
 *      weighted backends Baton programs, in a deterministic order.
 *
 * The rules follow mesosphere/marathon-lb (marathon_lb.py get_apps(), config(),
 * get_health_check(), has_group(); utils.py get_app_networking_mode(),
 * get_task_ip_and_ports(), ServicePortAssigner; config.py label handlers), including
 * the HAPROXY_DEPLOYMENT_GROUP merge of blue/green pairs. Where Baton departs from
 * them (marathon.c says so next to the code):
 *   - protocol: Marathon-LB ignores it (HAProxy is TCP only); "udp" is a UDP frontend
 *     here, "udp,tcp" one of each, and a UDP frontend is always mode tcp;
 *   - TASK_KILLING: Marathon-LB drops the task, Baton keeps it draining (weight 0);
 *     a state string Baton does not know is skipped, not served;
 *   - a label value that cannot be used is a problem and is ignored (Marathon-LB
 *     stops, or writes a config HAProxy refuses); a repeated label key refuses the app;
 *   - two services on one frontend: the first in service order stays (Marathon-LB
 *     keeps the first in Marathon's order); two backends of one service at one
 *     address: the smaller task id stays;
 *   - keep_empty can keep services without backends, which Marathon-LB drops.
 */
#ifndef BATON_MARATHON_H
#define BATON_MARATHON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* ---- Problems ---------------------------------------------------------------------- */

#define MARATHON_PROBLEMS_MAX 1000 /* records kept per list; later ones are only counted */

struct marathon_problem {
	char *app_id;  /* the app it is about; NULL when about the whole body or the options */
	char *task_id; /* the task it is about, or NULL */
	char *field;   /* JSON field path or label name, or NULL */
	char *message; /* one sentence naming app, task and field: ready to log */
};

struct marathon_problems {
	size_t n;
	size_t dropped; /* problems beyond MARATHON_PROBLEMS_MAX, counted only */
	struct marathon_problem *v;
	size_t cap;
};

/* Frees the records and zeroes *p. Safe on a zeroed struct and NULL. */
void marathon_problems_free(struct marathon_problems *p);

/* ---- Model ------------------------------------------------------------------------- */

/*
 * Marathon-LB's get_app_networking_mode(), in this order, the last match winning: host
 * by default; "ipAddress" a non-empty object -> container; container.docker.network
 * "USER" -> container, "BRIDGE" -> container/bridge; each networks[] entry -> its "mode"
 * ("container" when absent). Marathon 1.4 IP-per-task ("ipAddress") is container mode.
 */
enum marathon_net_mode {
	MARATHON_NET_HOST,	/* agent address + host ports */
	MARATHON_NET_BRIDGE,	/* "container/bridge": agent address + host ports */
	MARATHON_NET_CONTAINER, /* IP-per-task: task address + container ports */
};

enum marathon_task_state {
	MARATHON_TASK_NONE, /* no "state" field (Marathon before 1.x) */
	MARATHON_TASK_STAGING,
	MARATHON_TASK_STARTING,
	MARATHON_TASK_RUNNING,
	MARATHON_TASK_KILLING,
	MARATHON_TASK_FINISHED,
	MARATHON_TASK_FAILED,
	MARATHON_TASK_KILLED,
	MARATHON_TASK_ERROR,
	MARATHON_TASK_LOST,
	MARATHON_TASK_DROPPED,
	MARATHON_TASK_UNREACHABLE,
	MARATHON_TASK_GONE,
	MARATHON_TASK_GONE_BY_OPERATOR,
	MARATHON_TASK_UNKNOWN, /* Mesos' TASK_UNKNOWN */
	MARATHON_TASK_OTHER,   /* a string Baton does not know */
};

enum marathon_health {
	MARATHON_HEALTH_UNKNOWN, /* no "healthCheckResults" field and no event seen */
	MARATHON_HEALTH_ALIVE,	 /* some result has "alive": true */
	MARATHON_HEALTH_DEAD,	 /* results present, none alive (an empty list too) */
};

enum marathon_hc_protocol {
	MARATHON_HC_OTHER,
	MARATHON_HC_HTTP,
	MARATHON_HC_HTTPS,
	MARATHON_HC_TCP,
	MARATHON_HC_COMMAND,
	MARATHON_HC_MESOS_HTTP,
	MARATHON_HC_MESOS_HTTPS,
	MARATHON_HC_MESOS_TCP,
};

#define MARATHON_PROTO_TCP (1u << 0)
#define MARATHON_PROTO_UDP (1u << 1)

struct marathon_label {
	char *key;
	char *value;
};

struct marathon_ip {
	__u8 family;	/* BATON_FAMILY_* */
	__be32 addr[4]; /* be; IPv4 in addr[0] */
};

/* One entry of portDefinitions or of portMappings. */
struct marathon_port {
	bool has_port;		 /* portDefinitions "port" / portMappings "servicePort" given */
	__u16 port;		 /* that port (a service port); 0 = "assign one" */
	bool has_container_port; /* portMappings only */
	__u16 container_port;
	__u16 host_port;	       /* portMappings only; 0 = random */
	__u8 protocols;		       /* MARATHON_PROTO_*; "tcp" when absent */
	char *name;		       /* or NULL */
	size_t n_labels;	       /* sorted by key */
	struct marathon_label *labels; /* VIP_n labels live here */
};

struct marathon_health_check {
	enum marathon_hc_protocol protocol;
	char *protocol_name; /* as written */
	long port_index;     /* -1 when absent */
	__u16 port;	     /* 0 when absent */
};

struct marathon_task {
	char *id;
	char *app_id; /* the task's own "appId", or NULL; not used for matching */
	char *host;   /* agent host name or address; "" when absent */
	size_t n_ports;
	__u16 *ports; /* host ports, or container ports on some networks */
	size_t n_service_ports;
	__u16 *service_ports;
	size_t n_ips;
	struct marathon_ip *ips; /* ipAddresses[], in order */
	enum marathon_task_state state;
	enum marathon_health health;
};

struct marathon_app {
	char *id;
	size_t seq; /* position in the body, the order Marathon-LB processes apps in */
	size_t n_labels;
	struct marathon_label *labels; /* sorted by key */
	enum marathon_net_mode mode;
	bool has_ports_field; /* legacy "ports" */
	size_t n_ports;
	__u16 *ports;
	bool has_port_defs_field; /* "portDefinitions" present (even empty) */
	size_t n_port_defs;
	struct marathon_port *port_defs;
	size_t n_port_maps; /* container.docker.portMappings, else container.portMappings */
	struct marathon_port *port_maps;
	size_t n_discovery_ports; /* ipAddress.discovery.ports[].number (Marathon 1.4) */
	__u16 *discovery_ports;
	size_t n_checks;
	struct marathon_health_check *checks;
	__u32 instances;
	char *last_scaling_at; /* versionInfo.lastScalingAt, or NULL */
	size_t n_tasks;	       /* sorted by id, unique */
	size_t cap_tasks;
	struct marathon_task *tasks;
};

struct marathon_apps {
	size_t n; /* sorted by id, unique */
	struct marathon_app *v;
};

/* A GET /v2/tasks or /v2/apps/{id}/tasks body: the same task parser, apps not needed. */
struct marathon_task_list {
	size_t n; /* in body order */
	struct marathon_task *v;
};

/*
 * Parses json[0..len-1] (need not be NUL-terminated) into *out, which is overwritten
 * without being freed. The shape is recognised by its keys: "app" (one app), "groups"
 * or "id" (a group tree, walked recursively), else "apps". Returns 0 (skipped apps and
 * tasks are in probs, which may be NULL), -EINVAL for a body that is not JSON or not
 * one of those shapes (one problem in probs, *out zeroed), or -ENOMEM.
 */
int marathon_apps_parse(const char *json, size_t len, struct marathon_apps *out,
			struct marathon_problems *probs);

/* Parses {"tasks":[...]} with the task parser of marathon_apps_parse(). Same returns. */
int marathon_tasks_parse(const char *json, size_t len, struct marathon_task_list *out,
			 struct marathon_problems *probs);

void marathon_apps_free(struct marathon_apps *a);
void marathon_tasks_free(struct marathon_task_list *t);

/* Binary search by app id; NULL when absent. */
struct marathon_app *marathon_apps_find(const struct marathon_apps *a, const char *id);

/*
 * Marathon-LB keeps a task's last health result when a later fetch shows the task
 * without "healthCheckResults" (healthCheckResultCache). Call this after a refetch:
 * each task of next whose health is UNKNOWN takes its health from the same task in
 * prev, if prev knew it.
 */
void marathon_apps_carry_health(struct marathon_apps *next, const struct marathon_apps *prev);

/* ---- Events ------------------------------------------------------------------------ */

enum marathon_apply_result {
	MARATHON_APPLY_UNCHANGED = 0, /* the model may have changed, the services cannot */
	MARATHON_APPLY_CHANGED = 1,   /* rebuild the services */
	MARATHON_APPLY_REFETCH = 2,   /* the model cannot follow (unknown app): refetch */
};

/* A status_update_event. Pointers are borrowed for the call only. */
struct marathon_status_update {
	const char *app_id;
	const char *task_id;
	const char *state; /* "TASK_RUNNING", ... */
	const char *host;  /* NULL keeps the known host */
	const __u16 *ports;
	size_t n_ports;
	bool has_ports; /* false keeps the known ports */
	const struct marathon_ip *ips;
	size_t n_ips;
	bool has_ips; /* false keeps the known addresses */
};

/*
 * Terminal states remove the task; other states insert or update it. Returns
 * MARATHON_APPLY_* or -EINVAL (no app or task id) / -ENOMEM.
 */
int marathon_apply_status(struct marathon_apps *a, const struct marathon_status_update *u);

/* A health_status_changed_event: taskId before Marathon 1.4, instanceId since. */
struct marathon_health_update {
	const char *app_id;
	const char *task_id;	 /* or NULL */
	const char *instance_id; /* or NULL: "<app>.marathon-<uuid>" matches the task(s) */
	bool alive;		 /* with that uuid */
};

/*
 * Sets the health of the matching task(s). An unknown app, or an unknown task
 * reported alive, returns MARATHON_APPLY_REFETCH; an unknown task reported dead is
 * MARATHON_APPLY_UNCHANGED (it is usually one that was just removed). -EINVAL when
 * app_id or both task ids are missing.
 */
int marathon_apply_health(struct marathon_apps *a, const struct marathon_health_update *u);

/* ---- Services ---------------------------------------------------------------------- */

/*
 * options.resolve: resolves an agent host name. Returns 0 with *family (BATON_FAMILY_*) and addr[]
 * (be) filled, or a negative errno. Host strings that are already IP addresses never reach it.
 * Called at most once per distinct host per marathon_services_build().
 */
struct marathon_options {
	const char *const *groups; /* --group; "*" = all, also apps without a group. >= 1 */
	size_t n_groups;
	bool strict_mode;  /* --strict-mode: a port needs HAPROXY_{n}_ENABLED=true */
	bool health_check; /* --health-check: tasks of apps with health checks need alive */
	bool keep_empty;   /* keep services without backends (Marathon-LB drops them) */
	/*
	 * --min/max-serv-port-ip-per-task: service ports assigned to IP-per-task apps that
	 * have none. Marathon-LB's defaults are 10050..10100; 0..0 disables.
	 */
	__u16 ip_per_task_port_min;
	__u16 ip_per_task_port_max;
	const char *framework_name; /* skip the app "/<framework_name>" (FRAMEWORK_NAME) */
	/* see above; NULL resolves only hosts that are addresses already */
	int (*resolve)(void *ctx, const char *host, __u8 *family, __be32 addr[4]);
	void *resolve_ctx;
};

enum marathon_mode {
	MARATHON_MODE_TCP,
	MARATHON_MODE_HTTP,
};

struct marathon_vip {
	char *raw;    /* the label value as written, e.g. "/web:80" or "10.0.0.5:80" */
	bool is_name; /* named VIP; name holds the part before the port */
	char *name;   /* "/web" or "web"; NULL for an address VIP */
	__u8 family;  /* address VIP: BATON_FAMILY_*, addr be */
	__be32 addr[4];
	__u16 port;
};

struct marathon_backend {
	char *task_id;
	__u8 family; /* BATON_FAMILY_* */
	__be32 addr[4];
	__u16 port;    /* host order */
	__u32 weight;  /* 1, or 0 when draining */
	bool draining; /* TASK_KILLING, or drained by a HAPROXY_DEPLOYMENT_GROUP merge */
};

struct marathon_service {
	char *app_id;	    /* the app id, or the HAPROXY_DEPLOYMENT_GROUP of a merged pair */
	__u32 port_index;   /* n of HAPROXY_{n}_* */
	__u16 service_port; /* the frontend port: HAPROXY_{n}_PORT, else the service port */
	__u8 protocol;	    /* IPPROTO_TCP or IPPROTO_UDP */
	enum marathon_mode mode;
	bool bind_all;	  /* HAPROXY_{n}_BIND_ADDR absent, "*", "", 0.0.0.0 or :: */
	__u8 bind_family; /* else the address: BATON_FAMILY_*, be */
	__be32 bind_addr[4];
	size_t n_vhosts;
	char **vhosts; /* HAPROXY_{n}_VHOST split at ",", lower case */
	char *path;    /* HAPROXY_{n}_PATH, or NULL */
	bool sticky;
	bool redirect_to_https; /* HAPROXY_{n}_REDIRECT_TO_HTTPS: the L7 lane answers 301 */
	char *balance;		/* HAPROXY_{n}_BALANCE, default "roundrobin"; recorded only */
	size_t n_groups;
	char **groups; /* HAPROXY_{n}_GROUP, else HAPROXY_GROUP, split at "," */
	size_t n_vips;
	struct marathon_vip *vips; /* VIP_* labels of the port, sorted by label key */
	size_t n_backends;
	struct marathon_backend *backends; /* sorted by task id */
};

struct marathon_services {
	size_t n; /* sorted by app id, port index, protocol */
	struct marathon_service *v;
	size_t n_unused_labels;
	char **unused_labels; /* HAPROXY_* label names Baton does not act on, sorted; */
	void *arena;	      /* "HAPROXY_{n}_..." for per-port ones. Owns every string. */
};

/*
 * Computes the services of every app of a that the options select. *out is
 * overwritten without being freed. Label values that cannot be used, unresolvable
 * hosts and clashing frontends are problems; the rest is still built. Returns 0,
 * -EINVAL for unusable options (a problem says why), or -ENOMEM.
 */
int marathon_services_build(const struct marathon_apps *a, const struct marathon_options *o,
			    struct marathon_services *out, struct marathon_problems *probs);

void marathon_services_free(struct marathon_services *s);

/*
 * The services as JSON, for `batond --dry-run`; a malloc'd string or NULL (ENOMEM).
 * Schema (field names fixed):
 *   { "services": [ {
 *       "app_id": "/web",            "port_index": 0,
 *       "service_port": 10000,       "protocol": "tcp" | "udp",
 *       "mode": "tcp" | "http",      "bind_addr": "all" | "<IPv4 or IPv6 address>",
 *       "vhosts": ["a.example"],     "path": "/api" | null,
 *       "sticky": false,             "groups": ["external"],
 *       "vips": ["/web:80", "10.0.0.5:80"],   (label values as written)
 *       "backends": [ { "address": "10.0.1.5", "port": 31000, "task_id": "web.1",
 *                       "weight": 1, "draining": false } ] } ] }
 * Order as in struct marathon_services.
 */
char *marathon_services_to_json(const struct marathon_services *s, bool pretty);

#endif /* BATON_MARATHON_H */
