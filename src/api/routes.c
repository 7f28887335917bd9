/*
 * routes.c - the control API's one route table and its handlers (see
 * api.h for the pipeline, docs/api.md for the contract).
 *
 * A handler runs once the request is authenticated, has the route's
 * permissions and, for a workspace route, the agent's grant: it checks
 * its arguments strictly (unknown fields and wrong types are 400), does
 * the work through the registry, the tools, the lock table or the audit
 * trail, and fills the reply and the fields of the audit event.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "api/api.h"
#include "api/exectool.h"
#include "api/registry.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/text.h"
#include "fs/tools.h"
#include "fs/view.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX     10000

/* ---- arguments ---------------------------------------------------------- */

/*
 * Every member of the body must be one of names[] (NULL-terminated).
 * 0, or -1 with a 400 reply naming the first unknown field.
 */
static int
only_fields(struct api_req *rq, const char *const *names)
{
	const cJSON *it;
	size_t i;

	cJSON_ArrayForEach(it, rq->body)
	{
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(it->string, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			api_error(rq, 400, "bad_request",
			    "unknown field \"%.64s\"", it->string);
			return -1;
		}
	}
	return 0;
}

/* A required (or optional: *out stays NULL) string field. */
static int
str_field(struct api_req *rq, const char *name, int required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->body, name);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		api_error(rq, 400, "bad_request", "field \"%s\" is required",
		    name);
		return -1;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		api_error(rq, 400, "bad_request",
		    "field \"%s\" must be a string", name);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

/* An optional integer field within [min, max]; *out keeps its default. */
static int
int_field(struct api_req *rq, const char *name, long long min, long long max,
    long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->body, name);
	double d;

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v)) {
		api_error(rq, 400, "bad_request",
		    "field \"%s\" must be an integer", name);
		return -1;
	}
	d = v->valuedouble;
	if (d != (double)(long long)d || d < (double)min || d > (double)max) {
		api_error(rq, 400, "bad_request",
		    "field \"%s\" must be an integer in %lld..%lld", name, min,
		    max);
		return -1;
	}
	*out = (long long)d;
	return 0;
}

static int
bool_field(struct api_req *rq, const char *name, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->body, name);

	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v)) {
		api_error(rq, 400, "bad_request",
		    "field \"%s\" must be a boolean", name);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static int
id_field(struct api_req *rq, const char *name, int required, const char **out)
{
	if (str_field(rq, name, required, out) < 0)
		return -1;
	if (*out != NULL && !config_valid_id(*out)) {
		api_error(rq, 400, "bad_request",
		    "field \"%s\": \"%.64s\" is not a valid id "
		    "([A-Za-z0-9._-]{1,64})",
		    name, *out);
		return -1;
	}
	return 0;
}

/* A workspace path argument, canonical into out; 400 when it is bad. */
static int
path_arg(struct api_req *rq, const char *name, const char *in, char *out,
    size_t outlen)
{
	char msg[256];

	if (tool_path_canon(name, in, out, outlen, msg, sizeof(msg)) < 0) {
		api_error(rq, 400, "bad_request", "%s", msg);
		return -1;
	}
	return 0;
}

static void
rfc3339(int64_t ns, char *buf, size_t len)
{
	text_rfc3339(ns, 3, buf, len);
}

/* ---- ops ---------------------------------------------------------------- */

static void
h_healthz(struct api_req *rq)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	api_json(rq, 200, o);
}

static void
h_readyz(struct api_req *rq)
{
	char why[512];
	cJSON *o;

	if (!api_ready(rq->srv, why, sizeof(why))) {
		api_error(rq, 503, "unavailable", "not ready: %s", why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ready");
	api_json(rq, 200, o);
}

static void
h_metrics(struct api_req *rq)
{
	rq->text = api_metrics_text(rq->srv);
	if (rq->text == NULL) {
		api_error(rq, 500, "internal", "out of memory");
		return;
	}
	rq->text_type = "text/plain; version=0.0.4";
	rq->status = 200;
}

static void
h_whoami(struct api_req *rq)
{
	cJSON *o = cJSON_CreateObject(), *a;
	unsigned bit;

	cJSON_AddStringToObject(o, "agent", rq->id.agent);
	cJSON_AddStringToObject(o, "role", rq->id.role);
	a = cJSON_AddArrayToObject(o, "permissions");
	for (bit = 1; bit < PERM_ALL_; bit <<= 1)
		if ((rq->perms & bit) && policy_perm_name(bit) != NULL)
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(policy_perm_name(bit)));
	cJSON_AddStringToObject(o, "credential", rq->auth);
	api_json(rq, 200, o);
}

/* ---- workspaces ----------------------------------------------------------- */

static void
h_ws_list(struct api_req *rq)
{
	api_json(rq, 200,
	    registry_list_json(rq->reg, rq->id.agent,
	        (rq->perms & PERM_ADMIN) != 0));
}

/* The id a repo would get: its last component without ".git". */
static int
id_from_repo(const char *repo, char *out, size_t outlen)
{
	const char *e = repo + strlen(repo), *s;
	size_t n;

	while (e > repo && e[-1] == '/')
		e--;
	s = e;
	while (s > repo && s[-1] != '/' && s[-1] != ':')
		s--;
	n = (size_t)(e - s);
	if (n > 4 && memcmp(e - 4, ".git", 4) == 0)
		n -= 4;
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return config_valid_id(out) ? 0 : -1;
}

static void
h_ws_create(struct api_req *rq)
{
	static const char *const f[] = { "id", "repo", NULL };
	const char *id, *repo;
	char idbuf[SN_ID_MAX + 1], msg[1024];
	struct rws *w;
	int r;

	if (only_fields(rq, f) < 0 || id_field(rq, "id", 0, &id) < 0 ||
	    str_field(rq, "repo", 1, &repo) < 0)
		return;
	if (id == NULL) {
		if (id_from_repo(repo, idbuf, sizeof(idbuf)) < 0) {
			api_error(rq, 400, "bad_request",
			    "cannot name a workspace after this repo: give "
			    "\"id\"");
			return;
		}
		id = idbuf;
	}
	snprintf(rq->path, sizeof(rq->path), "%s", id);
	snprintf(rq->path2, sizeof(rq->path2), "%.4000s", repo);
	rq->changed = 1;
	r = registry_create(rq->reg, id, repo, msg, sizeof(msg));
	if (r == SN_EEXIST) {
		api_error(rq, 409, "conflict", "%s", msg);
		return;
	}
	if (r == SN_EINVAL) {
		api_error(rq, 400, "bad_request", "%s", msg);
		return;
	}
	if (r < 0) {
		api_error(rq, r == SN_EIO ? 422 : 500,
		    r == SN_EIO ? "clone_failed" : "internal", "%s", msg);
		return;
	}
	if (registry_get(rq->reg, id, &w) == 0) {
		api_json(rq, 201, registry_ws_json(rq->reg, w));
		registry_put(w);
	} else {
		api_error(rq, 500, "internal", "the new workspace vanished");
	}
}

static void
h_ws_get(struct api_req *rq)
{
	api_json(rq, 200, registry_ws_json(rq->reg, rq->ws));
}

static void
h_ws_delete(struct api_req *rq)
{
	char msg[1024] = "", id[SN_ID_MAX + 1];
	cJSON *o;
	int r;

	snprintf(id, sizeof(id), "%s", rws_id(rq->ws));
	snprintf(rq->path, sizeof(rq->path), "%s", id);
	/* our own reference must go before the delete waits for others */
	registry_put(rq->ws);
	rq->ws = NULL;
	rq->changed = 1;
	r = registry_delete(rq->reg, id, msg, sizeof(msg));
	if (r == SN_ENOENT) {
		api_error(rq, 404, "not_found", "no workspace %s", id);
		return;
	}
	if (r == SN_EPERM) {
		api_error(rq, 409, "conflict", "%s", msg);
		return;
	}
	if (r < 0) {
		api_error(rq, 500, "internal", "%s", msg);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "deleted", 1);
	api_json(rq, 200, o);
}

/* ---- grants ----------------------------------------------------------------- */

static void
h_grants_list(struct api_req *rq)
{
	api_json(rq, 200, registry_grants_json(rq->reg, rq->ws));
}

static void
h_grant_add(struct api_req *rq)
{
	static const char *const f[] = { "agent", NULL };
	const char *agent;
	cJSON *o;
	int r;

	if (only_fields(rq, f) < 0 || id_field(rq, "agent", 1, &agent) < 0)
		return;
	snprintf(rq->path, sizeof(rq->path), "%s", agent);
	rq->changed = 1;
	r = registry_grant(rq->reg, rq->ws, agent);
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot grant: %s", err_str(r));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "workspace", rws_id(rq->ws));
	cJSON_AddStringToObject(o, "agent", agent);
	api_json(rq, 201, o);
}

static void
h_grant_delete(struct api_req *rq)
{
	const char *agent = rq->params[1];
	cJSON *o;
	int r;

	if (!config_valid_id(agent)) {
		api_error(rq, 400, "bad_request", "\"%.64s\" is not a valid id",
		    agent);
		return;
	}
	snprintf(rq->path, sizeof(rq->path), "%s", agent);
	rq->changed = 1;
	r = registry_revoke(rq->reg, rq->ws, agent);
	if (r == SN_ENOENT) {
		api_error(rq, 404, "not_found",
		    "agent %s holds no grant on workspace %s", agent,
		    rws_id(rq->ws));
		return;
	}
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot revoke: %s", err_str(r));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "workspace", rws_id(rq->ws));
	cJSON_AddStringToObject(o, "agent", agent);
	cJSON_AddBoolToObject(o, "revoked", 1);
	api_json(rq, 200, o);
}

/* ---- views ------------------------------------------------------------------ */

static void
h_views_list(struct api_req *rq)
{
	api_json(rq, 200, registry_views_json(rq->reg, rq->ws));
}

static void
h_view_add(struct api_req *rq)
{
	static const char *const f[] = { "agent", "role", NULL };
	const char *agent, *role;
	char msg[1024] = "";
	cJSON *v = NULL;
	int r;

	if (only_fields(rq, f) < 0 || id_field(rq, "agent", 1, &agent) < 0 ||
	    id_field(rq, "role", 0, &role) < 0)
		return;
	if (role == NULL)
		role = "Dev";
	snprintf(rq->path, sizeof(rq->path), "%s", agent);
	rq->changed = 1;
	r = registry_view_add(rq->reg, rq->ws, agent, role, &v, msg,
	    sizeof(msg));
	if (r == SN_EEXIST) {
		api_error(rq, 409, "conflict", "%s", msg);
		return;
	}
	if (r == SN_EINVAL) {
		api_error(rq, 400, "bad_request", "%s", msg);
		return;
	}
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot mount the view: %s",
		    msg);
		return;
	}
	api_json(rq, 201, v);
}

static void
h_view_delete(struct api_req *rq)
{
	const char *agent = rq->params[1];
	cJSON *o;

	if (!config_valid_id(agent)) {
		api_error(rq, 400, "bad_request", "\"%.64s\" is not a valid id",
		    agent);
		return;
	}
	snprintf(rq->path, sizeof(rq->path), "%s", agent);
	rq->changed = 1;
	if (registry_view_remove(rq->reg, rq->ws, agent) < 0) {
		api_error(rq, 404, "not_found",
		    "agent %s has no view of workspace %s", agent,
		    rws_id(rq->ws));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "workspace", rws_id(rq->ws));
	cJSON_AddStringToObject(o, "agent", agent);
	cJSON_AddBoolToObject(o, "unmounted", 1);
	api_json(rq, 200, o);
}

/* ---- tools ------------------------------------------------------------------ */

/* Which permission each tool needs: the one table. */
static const struct {
	const char *name;
	unsigned perm;
	int changes;
} tool_perms[] = {
	{ "read_file", PERM_READ_FILE, 0 },
	{ "list_dir", PERM_READ_FILE, 0 },
	{ "stat", PERM_READ_FILE, 0 },
	{ "search", PERM_READ_FILE, 0 },
	{ "write_file", PERM_EDIT_FILE, 1 },
	{ "edit_file", PERM_EDIT_FILE, 1 },
	{ "delete", PERM_EDIT_FILE, 1 },
	{ "move", PERM_EDIT_FILE, 1 },
};

static void
h_tool(struct api_req *rq)
{
	const char *tool = rq->params[1];
	struct tool_caller who;
	struct tool_result *res;
	size_t i;
	int r;

	for (i = 0; i < sizeof(tool_perms) / sizeof(tool_perms[0]); i++)
		if (strcmp(tool_perms[i].name, tool) == 0)
			break;
	if (i == sizeof(tool_perms) / sizeof(tool_perms[0])) {
		api_error(rq, 404, "not_found", "no tool named \"%.64s\"",
		    tool);
		return;
	}
	snprintf(rq->op, sizeof(rq->op), "%s", tool);
	if (!(rq->perms & tool_perms[i].perm)) {
		snprintf(rq->rule, sizeof(rq->rule), "role %s lacks %s",
		    rq->id.role, policy_perm_name(tool_perms[i].perm));
		rq->denied = 1;
		api_error(rq, 403, "forbidden",
		    "role %s lacks the %s permission (tool %s)", rq->id.role,
		    policy_perm_name(tool_perms[i].perm), tool);
		return;
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL) {
		api_error(rq, 500, "internal", "out of memory");
		return;
	}
	memset(&who, 0, sizeof(who));
	who.agent = rq->id.agent;
	who.role = rq->id.role;
	who.perms = rq->perms;
	r = tool_run(rws_fs(rq->ws), &who, tool, rq->body, res);
	snprintf(rq->path, sizeof(rq->path), "%s", res->path);
	snprintf(rq->path2, sizeof(rq->path2), "%s", res->path2);
	snprintf(rq->rule, sizeof(rq->rule), "%s", res->rule);
	rq->bytes = res->bytes;
	rq->changed = res->changed;
	rq->injected = res->injected;
	rq->denied = res->denied;
	if (r < 0) {
		api_errno(rq, -r, res->reason, "%s",
		    res->message[0] != '\0' ? res->message : strerror(-r));
		if (-r == EBUSY && rq->reply != NULL) {
			cJSON *e = cJSON_GetObjectItem(rq->reply, "error");
			char t[40];

			cJSON_AddStringToObject(e, "holder", res->holder);
			if (res->expires_ns > 0) {
				rfc3339(res->expires_ns, t, sizeof(t));
				cJSON_AddStringToObject(e, "expires", t);
			} else {
				cJSON_AddNullToObject(e, "expires");
			}
		}
		cJSON_Delete(res->reply);
	} else {
		api_json(rq, 200, res->reply);
	}
	free(res);
}

/* ---- locks ------------------------------------------------------------------ */

static cJSON *
lock_json(const struct lock_info *li)
{
	cJSON *o = cJSON_CreateObject();
	char t[40];

	cJSON_AddNumberToObject(o, "id", (double)li->id);
	cJSON_AddNumberToObject(o, "token", (double)li->token);
	cJSON_AddStringToObject(o, "path", li->path);
	cJSON_AddStringToObject(o, "holder", li->holder);
	cJSON_AddBoolToObject(o, "subtree", li->subtree);
	cJSON_AddBoolToObject(o, "lease", li->lease);
	if (li->expires_ns > 0) {
		rfc3339(li->expires_ns, t, sizeof(t));
		cJSON_AddStringToObject(o, "expires", t);
	} else {
		cJSON_AddNullToObject(o, "expires");
	}
	return o;
}

static struct lock_table *
locks_of(struct api_req *rq)
{
	struct lock_table *t = workspace_fs_locks(rws_fs(rq->ws));

	if (t == NULL)
		api_error(rq, 503, "unavailable",
		    "workspace %s has no lock table", rws_id(rq->ws));
	return t;
}

static void
lock_conflict(struct api_req *rq, const struct lock_info *li)
{
	cJSON *e;
	char t[40];

	snprintf(rq->rule, sizeof(rq->rule), "lock:%" PRIu64 " held by %s",
	    li->id, li->holder);
	rq->denied = 1;
	rq->err = EBUSY;
	api_error(rq, 409, "locked", "%s is locked by %s", li->path,
	    li->holder);
	e = cJSON_GetObjectItem(rq->reply, "error");
	if (e == NULL)
		return;
	cJSON_AddStringToObject(e, "holder", li->holder);
	cJSON_AddStringToObject(e, "path", li->path);
	if (li->expires_ns > 0) {
		rfc3339(li->expires_ns, t, sizeof(t));
		cJSON_AddStringToObject(e, "expires", t);
	} else {
		cJSON_AddNullToObject(e, "expires");
	}
}

static void
h_locks_list(struct api_req *rq)
{
	struct lock_table *t = locks_of(rq);
	struct lock_info *v = NULL;
	size_t n = 0, i;
	cJSON *o, *a;
	int r;

	if (t == NULL)
		return;
	r = lock_list(t, &v, &n);
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot list locks: %s",
		    err_str(r));
		return;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "locks");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, lock_json(&v[i]));
	free(v);
	api_json(rq, 200, o);
}

static void
h_lock_acquire(struct api_req *rq)
{
	static const char *const f[] = { "path", "ttl_s", "subtree", NULL };
	struct lock_table *t;
	struct lock_info li;
	const char *path;
	long long ttl = 300;
	int subtree = 0, r;

	if (only_fields(rq, f) < 0 || str_field(rq, "path", 1, &path) < 0 ||
	    int_field(rq, "ttl_s", 1, LOCK_TTL_MAX_MS / 1000, &ttl) < 0 ||
	    bool_field(rq, "subtree", &subtree) < 0 ||
	    path_arg(rq, "path", path, rq->path, sizeof(rq->path)) < 0)
		return;
	if ((t = locks_of(rq)) == NULL)
		return;
	memset(&li, 0, sizeof(li));
	r = lock_acquire(t, rq->path, rq->id.agent, subtree, ttl * 1000, &li);
	if (r == SN_EBUSY) {
		lock_conflict(rq, &li);
		return;
	}
	if (r < 0) {
		api_error(rq, r == SN_EINVAL || r == SN_ERANGE ? 400 : 500,
		    r == SN_EINVAL || r == SN_ERANGE ? "bad_request" :
		                                       "internal",
		    "cannot take the lock: %s", err_str(r));
		return;
	}
	rq->changed = 1;
	snprintf(rq->rule, sizeof(rq->rule), "lock:%" PRIu64, li.id);
	api_json(rq, 201, lock_json(&li));
}

/* The {lock_id} of the URL, or 0 with a 400 reply. */
static uint64_t
lock_id_arg(struct api_req *rq)
{
	unsigned long long v;

	if (config_parse_uint(rq->params[1], 1, INT64_MAX, &v) != 0) {
		api_error(rq, 400, "bad_request", "\"%.32s\" is not a lock id",
		    rq->params[1]);
		return 0;
	}
	return v;
}

static void
h_lock_renew(struct api_req *rq)
{
	static const char *const f[] = { "ttl_s", NULL };
	struct lock_table *t;
	struct lock_info li;
	long long ttl = 300;
	uint64_t id;
	int r;

	if ((id = lock_id_arg(rq)) == 0 || only_fields(rq, f) < 0 ||
	    int_field(rq, "ttl_s", 1, LOCK_TTL_MAX_MS / 1000, &ttl) < 0 ||
	    (t = locks_of(rq)) == NULL)
		return;
	snprintf(rq->rule, sizeof(rq->rule), "lock:%" PRIu64, id);
	r = lock_renew(t, id, rq->id.agent, ttl * 1000, &li);
	if (r == SN_ENOENT) {
		api_error(rq, 404, "not_found", "no live lock %" PRIu64, id);
		return;
	}
	if (r == SN_EPERM) {
		rq->denied = 1;
		api_error(rq, 403, "forbidden",
		    "lock %" PRIu64 " is held by another agent", id);
		return;
	}
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot renew: %s", err_str(r));
		return;
	}
	rq->changed = 1;
	snprintf(rq->path, sizeof(rq->path), "%s", li.path);
	api_json(rq, 200, lock_json(&li));
}

static void
h_lock_release(struct api_req *rq)
{
	struct lock_table *t;
	uint64_t id;
	cJSON *o;
	int r;

	if ((id = lock_id_arg(rq)) == 0 || (t = locks_of(rq)) == NULL)
		return;
	snprintf(rq->rule, sizeof(rq->rule), "lock:%" PRIu64, id);
	/* an admin may drop anyone's lock */
	r = lock_release(t, id, (rq->perms & PERM_ADMIN) ? NULL : rq->id.agent);
	if (r == SN_ENOENT) {
		api_error(rq, 404, "not_found", "no live lock %" PRIu64, id);
		return;
	}
	if (r == SN_EPERM) {
		rq->denied = 1;
		api_error(rq, 403, "forbidden",
		    "lock %" PRIu64 " is held by another agent", id);
		return;
	}
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot release: %s",
		    err_str(r));
		return;
	}
	rq->changed = 1;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddBoolToObject(o, "released", 1);
	api_json(rq, 200, o);
}

/* ---- audit ------------------------------------------------------------------ */

/* The database and head of the trail this request reads. */
static int
trail_paths(struct api_req *rq, char **db, char **head)
{
	const char *sd = registry_state_dir(rq->reg);
	int n;

	*db = *head = NULL;
	if (rq->ws != NULL)
		return audit_workspace_paths(sd, rws_id(rq->ws), db, head);
	n = asprintf(db, "%s/server.db", sd);
	if (n < 0) {
		*db = NULL;
		return SN_ENOMEM;
	}
	n = asprintf(head, "%s/server.head", sd);
	if (n < 0) {
		free(*db);
		*db = *head = NULL;
		return SN_ENOMEM;
	}
	return 0;
}

static int
event_json(const struct db_audit_row *r, void *arg)
{
	cJSON *a = arg, *o = cJSON_CreateObject();
	char t[40];

	if (o == NULL)
		return SN_ENOMEM;
	rfc3339(r->time_ns, t, sizeof(t));
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "workspace", r->workspace);
	cJSON_AddStringToObject(o, "agent", r->agent);
	cJSON_AddStringToObject(o, "role", r->role != NULL ? r->role : "");
	cJSON_AddStringToObject(o, "auth", r->auth != NULL ? r->auth : "");
	cJSON_AddStringToObject(o, "source", r->source);
	cJSON_AddStringToObject(o, "op", r->op);
	cJSON_AddStringToObject(o, "path", r->path);
	cJSON_AddStringToObject(o, "path2", r->path2);
	cJSON_AddStringToObject(o, "result", r->result);
	cJSON_AddNumberToObject(o, "status", (double)r->status);
	cJSON_AddNumberToObject(o, "errno", (double)r->err);
	cJSON_AddStringToObject(o, "rule", r->rule);
	cJSON_AddStringToObject(o, "trace_id", r->trace_id);
	cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
	cJSON_AddBoolToObject(o, "injected", r->injected != 0);
	cJSON_AddItemToArray(a, o);
	return 0;
}

static void
h_audit_list(struct api_req *rq)
{
	const char *qs = api_query(rq, "since"), *ql = api_query(rq, "limit");
	unsigned long long since = 0, limit = AUDIT_LIMIT_DEFAULT;
	char *dbp = NULL, *head = NULL;
	struct db *db = NULL;
	cJSON *o = NULL, *a, *last;
	int r;

	if ((qs != NULL && config_parse_uint(qs, 0, INT64_MAX, &since) != 0) ||
	    (ql != NULL &&
	        config_parse_uint(ql, 1, AUDIT_LIMIT_MAX, &limit) != 0)) {
		api_error(rq, 400, "bad_request",
		    "since must be a seq (0..) and limit 1..%d",
		    AUDIT_LIMIT_MAX);
		return;
	}
	if ((r = trail_paths(rq, &dbp, &head)) < 0 ||
	    (r = db_open(dbp, 0, &db)) < 0) {
		api_error(rq, 500, "internal",
		    "cannot open the audit trail: %s", err_str(r));
		goto out;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "events");
	r = db_audit_each(db, since, limit, event_json, a);
	if (r < 0) {
		api_error(rq, 500, "internal",
		    "cannot read the audit trail: %s", err_str(r));
		goto out;
	}
	last = cJSON_GetArrayItem(a, cJSON_GetArraySize(a) - 1);
	cJSON_AddNumberToObject(o, "next",
	    last != NULL ? cJSON_GetObjectItem(last, "seq")->valuedouble :
	                   (double)since);
	api_json(rq, 200, o);
	o = NULL;
out:
	cJSON_Delete(o);
	db_close(db);
	free(dbp);
	free(head);
}

static void
h_audit_verify(struct api_req *rq)
{
	struct audit_verify_report rep;
	char *dbp = NULL, *head = NULL;
	cJSON *o;
	int r;

	if ((r = trail_paths(rq, &dbp, &head)) < 0) {
		api_error(rq, 500, "internal", "%s", err_str(r));
		return;
	}
	memset(&rep, 0, sizeof(rep));
	r = audit_verify(dbp, head, api_audit_key(rq->srv), AUDIT_KEY_LEN,
	    &rep);
	free(dbp);
	free(head);
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot verify: %s", err_str(r));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", r == 0);
	cJSON_AddNumberToObject(o, "events", (double)rep.events);
	cJSON_AddNumberToObject(o, "last_seq", (double)rep.last_seq);
	cJSON_AddNumberToObject(o, "head_seq", (double)rep.head_seq);
	cJSON_AddNumberToObject(o, "bad_seq", (double)rep.bad_seq);
	cJSON_AddStringToObject(o, "why", rep.why);
	api_json(rq, 200, o);
}

/* ---- the table ---------------------------------------------------------- */

#define P_READ  PERM_READ_FILE
#define P_LOCK  PERM_LOCK
#define P_LOGS  PERM_READ_LOGS
#define P_ADMIN PERM_ADMIN
#define WS      "/v1/workspaces/{id}"

/* clang-format off */
const struct api_route api_routes[] = {
	/* method  pattern                       perms    flags  handler  name */
	{ "GET",    "/healthz",                   0, R_OPS, h_healthz, "healthz" },
	{ "GET",    "/readyz",                    0, R_OPS, h_readyz, "readyz" },
	{ "GET",    "/metrics",                   0, R_OPS, h_metrics, "metrics" },
	{ "GET",    "/v1/whoami",                 0, 0, h_whoami, "whoami" },
	{ "GET",    "/v1/workspaces",             0, 0, h_ws_list, "ws_list" },
	{ "POST",   "/v1/workspaces",             P_ADMIN, R_BODY | R_SLOW, h_ws_create, "ws_create" },
	{ "GET",    WS,                           0, R_WS | R_ADMIN, h_ws_get, "ws_get" },
	{ "DELETE", WS,                           P_ADMIN, R_WS | R_ADMIN, h_ws_delete, "ws_delete" },
	{ "GET",    WS "/grants",                 P_ADMIN, R_WS | R_ADMIN, h_grants_list, "grants_list" },
	{ "POST",   WS "/grants",                 P_ADMIN, R_WS | R_ADMIN | R_BODY, h_grant_add, "grant_add" },
	{ "DELETE", WS "/grants/{agent}",         P_ADMIN, R_WS | R_ADMIN, h_grant_delete, "grant_delete" },
	{ "GET",    WS "/views",                  0, R_WS | R_ADMIN, h_views_list, "views_list" },
	{ "POST",   WS "/views",                  P_ADMIN, R_WS | R_ADMIN | R_BODY, h_view_add, "view_add" },
	{ "DELETE", WS "/views/{agent}",          P_ADMIN, R_WS | R_ADMIN, h_view_delete, "view_delete" },
	{ "POST",   WS "/tools/exec",             PERM_EXEC, R_WS | R_BODY | R_SLOW, h_exec, "exec" },
	{ "POST",   WS "/tools/{tool}",           0, R_WS | R_BODY, h_tool, "tool" },
	{ "GET",    WS "/locks",                  0, R_WS, h_locks_list, "locks_list" },
	{ "POST",   WS "/locks",                  P_LOCK, R_WS | R_BODY, h_lock_acquire, "lock_acquire" },
	{ "POST",   WS "/locks/{lock}/renew",     P_LOCK, R_WS | R_BODY, h_lock_renew, "lock_renew" },
	{ "DELETE", WS "/locks/{lock}",           P_LOCK, R_WS, h_lock_release, "lock_release" },
	{ "GET",    WS "/audit",                  P_LOGS, R_WS, h_audit_list, "audit_list" },
	{ "GET",    WS "/audit/verify",           P_LOGS, R_WS, h_audit_verify, "audit_verify" },
	{ "GET",    "/v1/audit",                  P_LOGS | P_ADMIN, 0, h_audit_list, "server_audit_list" },
	{ "GET",    "/v1/audit/verify",           P_LOGS | P_ADMIN, 0, h_audit_verify, "server_audit_verify" },
};
/* clang-format on */
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
