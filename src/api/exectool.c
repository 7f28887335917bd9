/*
 * exectool.c - the exec tool of the control API (docs/api.md): a command
 * run in a sandbox (src/exec/spawn.c) inside the calling agent's private
 * view of the workspace, seen at /workspace, so every file it touches goes
 * through the filesystem's policy, locks and audit as that agent.
 *
 * Order of a call: strict arguments -> an exec slot of the workspace (429
 * when all are taken) -> the agent's exec view (mounted on first use) ->
 * the secrets of the workspace (fail closed) -> the "exec start" audit
 * event, committed (if it cannot be, nothing runs) -> the sandbox ->
 * output redacted, then capped -> the "exec end" audit event -> reply.
 * No secret value ever leaves this file: not in a reply, an event, a log
 * line or an error message.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/api.h"
#include "api/exectool.h"
#include "api/registry.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/redact.h"
#include "core/secrets.h"
#include "core/text.h"
#include "exec/spawn.h"
#include "fs/tools.h"
#include "fs/view.h"

#define EXEC_OUT_MAX     (1u << 20) /* bytes kept of each stream */
#define EXEC_ARGV_MAX    1024
#define EXEC_ARG_MAX     (64u << 10)
#define EXEC_ENV_MAX     256
#define EXEC_DEF_TIMEOUT 60
#define EXEC_PATH        "/usr/local/bin:/usr/bin:/bin"

/* One output stream: redacted, then capped. */
struct stream {
	struct redact *rd; /* NULL: no secret injected */
	char *buf;
	size_t len;
	size_t seen; /* bytes after redaction, kept or not */
	int truncated;
	int failed;
};

struct sinks {
	struct stream s[2]; /* stdout, stderr */
};

static int
cap_emit(void *arg, const char *buf, size_t n)
{
	struct stream *st = arg;
	size_t room = EXEC_OUT_MAX - st->len;

	st->seen += n;
	if (n > room) {
		st->truncated = 1;
		n = room;
	}
	if (n > 0) {
		memcpy(st->buf + st->len, buf, n);
		st->len += n;
	}
	return 0;
}

static int
sink(void *arg, int stream, const char *buf, size_t n)
{
	struct sinks *k = arg;
	struct stream *st = &k->s[stream == 2];

	if (st->rd != NULL) {
		if (redact_feed(st->rd, buf, n, cap_emit, st) < 0)
			st->failed = 1;
	} else {
		cap_emit(st, buf, n);
	}
	return 0; /* keep reading: a full pipe must never stall the child */
}

/* ---- arguments ----------------------------------------------------------- */

static int
env_name_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	        s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_') ||
		    i >= 128)
			return 0;
	return 1;
}

struct exec_args {
	char **argv; /* NULL-terminated, pointing into the body */
	size_t argc;
	const char *cwd;
	const cJSON *env;
	const char *stdin_data;
	long long timeout_s;
	char cwdbuf[4096]; /* cwd, canonical */
};

static int
parse_args(struct api_req *rq, const struct sn_cfg_workspace *wc,
    struct exec_args *a)
{
	const cJSON *it, *argv = NULL, *v;
	size_t i = 0;

	memset(a, 0, sizeof(*a));
	a->timeout_s = EXEC_DEF_TIMEOUT < wc->exec_timeout ? EXEC_DEF_TIMEOUT :
	                                                     wc->exec_timeout;
	cJSON_ArrayForEach(it, rq->body)
	{
		if (strcmp(it->string, "argv") == 0) {
			argv = it;
		} else if (strcmp(it->string, "cwd") == 0) {
			if (!cJSON_IsString(it))
				goto type;
			a->cwd = it->valuestring;
		} else if (strcmp(it->string, "env") == 0) {
			if (!cJSON_IsObject(it))
				goto type;
			a->env = it;
		} else if (strcmp(it->string, "stdin") == 0) {
			if (!cJSON_IsString(it))
				goto type;
			a->stdin_data = it->valuestring;
		} else if (strcmp(it->string, "timeout_s") == 0) {
			double d = it->valuedouble;

			if (!cJSON_IsNumber(it) || d != (double)(long long)d ||
			    d < 1 || d > (double)wc->exec_timeout) {
				api_error(rq, 400, "bad_request",
				    "field \"timeout_s\" must be an integer in "
				    "1..%u (the workspace's exec_timeout)",
				    wc->exec_timeout);
				return -1;
			}
			a->timeout_s = (long long)d;
		} else {
			api_error(rq, 400, "bad_request",
			    "unknown field \"%.64s\"", it->string);
			return -1;
		}
	}
	if (argv == NULL || !cJSON_IsArray(argv) ||
	    cJSON_GetArraySize(argv) < 1 ||
	    cJSON_GetArraySize(argv) > EXEC_ARGV_MAX) {
		api_error(rq, 400, "bad_request",
		    "field \"argv\" must be an array of 1..%d strings",
		    EXEC_ARGV_MAX);
		return -1;
	}
	a->argc = (size_t)cJSON_GetArraySize(argv);
	a->argv = calloc(a->argc + 1, sizeof(*a->argv));
	if (a->argv == NULL) {
		api_error(rq, 500, "internal", "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(v, argv)
	{
		if (!cJSON_IsString(v) ||
		    strlen(v->valuestring) > EXEC_ARG_MAX ||
		    (i == 0 && v->valuestring[0] == '\0')) {
			api_error(rq, 400, "bad_request",
			    "argv[%zu] must be a string of at most %u bytes "
			    "(argv[0] not empty)",
			    i, EXEC_ARG_MAX);
			return -1;
		}
		a->argv[i++] = v->valuestring;
	}
	if (a->env != NULL) {
		if (cJSON_GetArraySize(a->env) > EXEC_ENV_MAX) {
			api_error(rq, 400, "bad_request",
			    "field \"env\" has more than %d variables",
			    EXEC_ENV_MAX);
			return -1;
		}
		cJSON_ArrayForEach(v, a->env)
		{
			if (!env_name_ok(v->string) || !cJSON_IsString(v)) {
				api_error(rq, 400, "bad_request",
				    "env: \"%.64s\" must be a variable name "
				    "([A-Za-z_][A-Za-z0-9_]*) with a string "
				    "value",
				    v->string);
				return -1;
			}
		}
	}
	if (a->cwd != NULL) {
		char msg[256];

		if (tool_path_canon("cwd", a->cwd, a->cwdbuf, sizeof(a->cwdbuf),
		        msg, sizeof(msg)) < 0) {
			api_error(rq, 400, "bad_request", "%s", msg);
			return -1;
		}
		a->cwd = a->cwdbuf;
	}
	return 0;
type:
	api_error(rq, 400, "bad_request", "field \"%.64s\" has the wrong type",
	    it->string);
	return -1;
}

/* The environment: a clean base, the caller's, then the secrets. */
static char **
build_env(struct api_req *rq, const struct exec_args *a,
    const struct secret_value *sv, size_t nsv)
{
	static const char *const base[] = {
		"PATH=" EXEC_PATH,
		"HOME=/tmp",
		"LANG=C.UTF-8",
		"TERM=dumb",
		"PWD=/workspace",
	};
	size_t nbase = sizeof(base) / sizeof(base[0]), n = 0, i, k;
	size_t nenv = a->env != NULL ? (size_t)cJSON_GetArraySize(a->env) : 0;
	const cJSON *v;
	char **envp;

	envp = calloc(nbase + nenv + nsv + 1, sizeof(*envp));
	if (envp == NULL)
		return NULL;
	for (i = 0; i < nbase; i++) {
		const char *eq = strchr(base[i], '=');
		int overridden = 0;

		cJSON_ArrayForEach(v, a->env)
		{
			if (strlen(v->string) == (size_t)(eq - base[i]) &&
			    strncmp(v->string, base[i],
			        (size_t)(eq - base[i])) == 0)
				overridden = 1;
		}
		if (!overridden && (envp[n++] = strdup(base[i])) == NULL)
			goto fail;
	}
	cJSON_ArrayForEach(v, a->env)
	{
		for (k = 0; k < nsv; k++)
			if (strcmp(sv[k].name, v->string) == 0)
				break;
		if (k < nsv) {
			api_error(rq, 400, "bad_request",
			    "env: %s is a secret Sentinel injects; it cannot be "
			    "set",
			    v->string);
			goto fail;
		}
		if (asprintf(&envp[n], "%s=%s", v->string, v->valuestring) <
		    0) {
			envp[n] = NULL;
			goto fail;
		}
		n++;
	}
	for (k = 0; k < nsv; k++) {
		size_t nl = strlen(sv[k].name);

		envp[n] = malloc(nl + 1 + sv[k].len + 1);
		if (envp[n] == NULL)
			goto fail;
		memcpy(envp[n], sv[k].name, nl);
		envp[n][nl] = '=';
		memcpy(envp[n] + nl + 1, sv[k].value, sv[k].len);
		envp[n][nl + 1 + sv[k].len] = '\0';
		n++;
	}
	return envp;
fail:
	for (i = 0; i < n; i++) {
		explicit_bzero(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
	return NULL;
}

static void
free_env(char **envp)
{
	size_t i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		explicit_bzero(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
}

/* ---- the reply --------------------------------------------------------- */

static void
add_stream(cJSON *o, const char *name, const struct stream *st)
{
	char key[32];

	snprintf(key, sizeof(key), "%s_truncated", name);
	if (text_utf8_valid(st->buf, st->len, 0)) {
		char *t = strndup(st->buf, st->len);

		cJSON_AddStringToObject(o, name, t != NULL ? t : "");
		free(t);
		snprintf(key, sizeof(key), "%s_encoding", name);
		cJSON_AddStringToObject(o, key, "utf-8");
	} else {
		char *out = NULL;

		(void)text_b64_encode((const unsigned char *)st->buf, st->len,
		    &out);
		cJSON_AddStringToObject(o, name, out != NULL ? out : "");
		free(out);
		snprintf(key, sizeof(key), "%s_encoding", name);
		cJSON_AddStringToObject(o, key, "base64");
	}
	snprintf(key, sizeof(key), "%s_truncated", name);
	cJSON_AddBoolToObject(o, key, st->truncated);
	snprintf(key, sizeof(key), "%s_bytes", name);
	cJSON_AddNumberToObject(o, key, (double)st->seen);
}

/* ---- the call ------------------------------------------------------------- */

static int
exec_event(struct api_req *rq, struct audit *a, const char *rule,
    enum audit_result res, int64_t bytes, int wait)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.workspace = rws_id(rq->ws);
	ev.agent = rq->id.agent;
	ev.role = rq->id.role;
	ev.auth = rq->auth;
	ev.source = AUDIT_SRC_EXEC;
	ev.op = "exec";
	ev.path = rq->path;   /* cwd */
	ev.path2 = rq->path2; /* argv, as JSON */
	ev.result = res;
	ev.rule = rule;
	ev.trace_id = "";
	ev.bytes = bytes;
	return a != NULL ? audit_emit(a, &ev, wait) : 0;
}

void
h_exec(struct api_req *rq)
{
	const struct sn_cfg_workspace *wc = rws_config(rq->ws);
	struct secret_store *ss = api_secrets(rq->srv);
	struct audit *au = workspace_fs_audit(rws_fs(rq->ws));
	struct secret_value *sv = NULL;
	struct redact_secret *rs = NULL;
	struct spawn_opts so;
	struct spawn_result res;
	struct exec_args a;
	struct sinks k;
	char view[4096], msg[768], cg[SN_ID_MAX + 8], rule[200], **envp = NULL;
	char **hide = NULL, *argv_json;
	size_t nsv = 0, i;
	uid_t uid;
	gid_t gid;
	int slot = 0, r;
	cJSON *o;

	memset(&k, 0, sizeof(k));
	snprintf(rq->op, sizeof(rq->op), "exec");
	if (!api_exec_ready(rq->srv, msg, sizeof(msg))) {
		api_error(rq, 503, "unavailable", "exec is not available: %s",
		    msg);
		return;
	}
	if (parse_args(rq, wc, &a) < 0)
		goto out;
	snprintf(rq->path, sizeof(rq->path), "%s", a.cwd != NULL ? a.cwd : "");
	argv_json = cJSON_PrintUnformatted(
	    cJSON_GetObjectItemCaseSensitive(rq->body, "argv"));
	snprintf(rq->path2, sizeof(rq->path2), "%s",
	    argv_json != NULL ? argv_json : "");
	free(argv_json);

	if (registry_exec_enter(rq->ws) < 0) {
		snprintf(rq->rule, sizeof(rq->rule), "exec_max:%u",
		    wc->exec_max);
		rq->denied = 1;
		api_error(rq, 429, "too_many_requests",
		    "workspace %s already runs %u commands (exec_max)",
		    rws_id(rq->ws), wc->exec_max);
		goto out;
	}
	slot = 1;
	uid = wc->uid != SN_CFG_NO_ID ? wc->uid : SN_EXEC_DEFAULT_ID;
	gid = wc->gid != SN_CFG_NO_ID ? wc->gid : SN_EXEC_DEFAULT_ID;
	if (uid == 0 || gid == 0) {
		api_error(rq, 500, "internal",
		    "workspace %s: commands never run as uid or gid 0",
		    rws_id(rq->ws));
		goto out;
	}
	r = registry_exec_view(rq->reg, rq->ws, rq->id.agent, rq->id.role, uid,
	    view, sizeof(view), msg, sizeof(msg));
	if (r < 0) {
		api_error(rq, 500, "internal", "cannot mount the exec view: %s",
		    msg);
		goto out;
	}
	/* secrets: fail closed */
	if (ss != NULL) {
		r = secrets_for_exec(ss, rws_id(rq->ws), &sv, &nsv, msg,
		    sizeof(msg));
		if (r < 0) {
			api_error(rq, 503, "unavailable",
			    "a secret of this workspace is unavailable: %s",
			    msg);
			goto out;
		}
	}
	if (nsv > 0) {
		rs = calloc(nsv, sizeof(*rs));
		if (rs == NULL) {
			api_error(rq, 500, "internal", "out of memory");
			goto out;
		}
		for (i = 0; i < nsv; i++) {
			rs[i].name = sv[i].name;
			rs[i].value = sv[i].value;
			rs[i].len = sv[i].len;
		}
		if (redact_new(rs, nsv, &k.s[0].rd) < 0 ||
		    redact_new(rs, nsv, &k.s[1].rd) < 0) {
			api_error(rq, 500, "internal",
			    "a secret of this workspace cannot be redacted "
			    "(values need at least %d bytes): nothing runs",
			    REDACT_MIN_LEN);
			goto out;
		}
	}
	k.s[0].buf = malloc(EXEC_OUT_MAX);
	k.s[1].buf = malloc(EXEC_OUT_MAX);
	envp = build_env(rq, &a, sv, nsv);
	hide = registry_hide_paths(rq->reg);
	if (k.s[0].buf == NULL || k.s[1].buf == NULL || envp == NULL ||
	    hide == NULL) {
		if (rq->reply == NULL)
			api_error(rq, 500, "internal", "out of memory");
		goto out;
	}
	snprintf(cg, sizeof(cg), "ws-%s", rws_id(rq->ws));

	/* recorded before it starts; if that fails, it does not start */
	r = exec_event(rq, au, "start", AUDIT_RES_OK, 0, 1);
	if (r < 0) {
		snprintf(rq->rule, sizeof(rq->rule), "audit:unwritable");
		api_error(rq, 503, "unavailable",
		    "the audit trail cannot be written: nothing runs");
		goto out;
	}

	memset(&so, 0, sizeof(so));
	so.argv = a.argv;
	so.envp = envp;
	so.workspace = view;
	so.cwd = a.cwd;
	so.hide = (const char *const *)hide;
	so.uid = uid;
	so.gid = gid;
	so.network = wc->network;
	so.stdin_data = a.stdin_data;
	so.stdin_len = a.stdin_data != NULL ? strlen(a.stdin_data) : 0;
	so.lim.cpu = wc->cpu;
	so.lim.memory = wc->memory;
	so.lim.pids = wc->pids;
	so.lim.timeout_ms = (unsigned)a.timeout_s * 1000u;
	so.cgroup_name = cg;
	so.sink = sink;
	so.sink_arg = &k;
	memset(&res, 0, sizeof(res));
	r = spawn_run(&so, &res, msg, sizeof(msg));
	for (i = 0; i < 2; i++)
		if (k.s[i].rd != NULL &&
		    redact_finish(k.s[i].rd, cap_emit, &k.s[i]) < 0)
			k.s[i].failed = 1;
	if (r == SN_EINVAL) {
		(void)exec_event(rq, au, "refused", AUDIT_RES_ERROR, 0, 0);
		api_error(rq, 400, "bad_request", "%s", msg);
		goto out;
	}
	if (r < 0 && !(r == SN_ENOENT || r == SN_EPERM)) {
		(void)exec_event(rq, au, "setup failed", AUDIT_RES_ERROR, 0, 0);
		log_error("exec in %s for %s: %s", rws_id(rq->ws), rq->id.agent,
		    msg);
		api_error(rq, 500, "internal", "%s", msg);
		goto out;
	}
	if (k.s[0].failed || k.s[1].failed) {
		/* never send output that may not be redacted */
		(void)exec_event(rq, au, "redaction failed", AUDIT_RES_ERROR, 0,
		    0);
		api_error(rq, 500, "internal",
		    "the output could not be redacted; it is withheld");
		goto out;
	}
	if (res.limit != NULL)
		snprintf(rule, sizeof(rule), "limit:%s", res.limit);
	else if (res.exited)
		snprintf(rule, sizeof(rule), "exit:%d", res.exit_code);
	else
		snprintf(rule, sizeof(rule), "signal:%d", res.signal);
	{
		size_t l = strlen(rule);

		snprintf(rule + l, sizeof(rule) - l,
		    " wall_ms:%.0f cpu_ms:%.0f peak_memory:%" PRIu64,
		    res.wall_s * 1000, (res.user_s + res.sys_s) * 1000,
		    res.peak_memory);
	}
	if (k.s[0].rd != NULL &&
	    redact_count(k.s[0].rd) + redact_count(k.s[1].rd) > 0) {
		size_t l = strlen(rule);

		snprintf(rule + l, sizeof(rule) - l, " redacted:%" PRIu64,
		    redact_count(k.s[0].rd) + redact_count(k.s[1].rd));
	}
	(void)exec_event(rq, au, rule, AUDIT_RES_OK,
	    (int64_t)(k.s[0].seen + k.s[1].seen), 0);
	snprintf(rq->rule, sizeof(rq->rule), "%s", rule);

	o = cJSON_CreateObject();
	if (res.exited)
		cJSON_AddNumberToObject(o, "exit_code", res.exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (res.signal != 0)
		cJSON_AddNumberToObject(o, "signal", res.signal);
	else
		cJSON_AddNullToObject(o, "signal");
	if (res.limit != NULL)
		cJSON_AddStringToObject(o, "limit", res.limit);
	else
		cJSON_AddNullToObject(o, "limit");
	add_stream(o, "stdout", &k.s[0]);
	add_stream(o, "stderr", &k.s[1]);
	cJSON_AddNumberToObject(o, "wall_s", res.wall_s);
	cJSON_AddNumberToObject(o, "user_s", res.user_s);
	cJSON_AddNumberToObject(o, "sys_s", res.sys_s);
	cJSON_AddNumberToObject(o, "cpu_s", res.user_s + res.sys_s);
	cJSON_AddNumberToObject(o, "peak_memory", (double)res.peak_memory);
	if (r < 0)
		cJSON_AddStringToObject(o, "error", msg);
	api_json(rq, 200, o);
out:
	for (i = 0; i < 2; i++) {
		redact_free(k.s[i].rd);
		if (k.s[i].buf != NULL)
			explicit_bzero(k.s[i].buf, k.s[i].len);
		free(k.s[i].buf);
	}
	free(rs);
	if (sv != NULL)
		secrets_free_values(sv, nsv);
	free_env(envp);
	registry_hide_free(hide);
	free(a.argv);
	if (slot)
		registry_exec_leave(rq->ws);
}
