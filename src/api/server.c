/*
 * server.c - the control API's listeners and request pipeline (see
 * server.h, api.h, docs/api.md).  The only file with libmicrohttpd's
 * daemon setup; handlers live in routes.c.
 *
 * Every listener is an MHD daemon with its own epoll thread pool.  A
 * connection's identity is established once, on its first request, and
 * kept in its socket context: the client certificate cannot change within
 * a TLS connection (MHD never renegotiates).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "api/api.h"
#include "api/registry.h"
#include "api/server.h"
#include "api/tlsauth.h"
#include "core/audit.h"
#include "exec/spawn.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/text.h"
#include "fs/view.h"

#define PEM_MAX        (1u << 20)
#define TOKEN_MAX      4096
#define TOKEN_MIN      16
#define CONN_MEM_LIMIT (64u * 1024)
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* ---- metrics -------------------------------------------------------------- */

static const int status_codes[] = { 200, 201, 400, 401, 403, 404, 405, 409, 413,
	415, 422, 429, 500, 503, 504, 507 };
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1)
static const double lat_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

struct route_stats {
	atomic_ullong by_status[NSTATUS]; /* last: any other status */
	atomic_ullong buckets[NBUCKETS];  /* cumulative at export */
	atomic_ullong count;
	atomic_ullong sum_us;
};

enum listener { L_TLS, L_PLAIN, L_OPS, L_COUNT_ };

/* What an MHD callback gets: the server and which listener. */
struct lcls {
	struct api_server *s;
	enum listener l;
};

struct api_server {
	struct registry *reg;
	const struct sn_config *cfg;
	struct tlsauth *tls;
	struct MHD_Daemon *d[L_COUNT_];
	struct lcls lcls[L_COUNT_];
	char *token; /* the plain listener's bearer token */
	size_t token_len;
	unsigned char key[AUDIT_KEY_LEN]; /* to verify chains on request */
	uint64_t max_body;
	/* metrics: one row per route, and one for unrouted requests */
	struct route_stats *stats;
	atomic_ullong auth_failures;
	atomic_ullong denials;
	struct secret_store *secrets; /* not owned */
	atomic_int workers;           /* slow handlers running */
	int exec_ok;                  /* spawn_init() succeeded */
	char exec_why[256];           /* or why not */
};

/* Per connection: who it is, decided on its first request. */
struct conn {
	int checked;
	int ok;
	struct sn_identity id;
	char why[256];
};

/* Per request, kept between the calls of the access handler. */
enum { PH_NEW, PH_RUNNING, PH_DONE };

struct req {
	struct api_req rq;
	int phase; /* PH_*: a slow handler runs on a worker thread */
	enum listener l;
	struct timespec t0;
	char *buf;
	size_t len, cap;
	int too_large;
	int bad_type;
	int early; /* a reply decided before the body (401, 413) */
};

static int64_t
elapsed_us(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000;
}

static void
count(struct api_server *s, const struct api_route *route, int status,
    int64_t us)
{
	struct route_stats *st =
	    &s->stats[route != NULL ? (size_t)(route - api_routes) :
	                              api_nroutes];
	size_t i;
	double sec = (double)us / 1e6;

	for (i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status)
			break;
	atomic_fetch_add(&st->by_status[i], 1);
	for (i = 0; i < NBUCKETS; i++)
		if (sec <= lat_bounds[i])
			break;
	if (i < NBUCKETS)
		atomic_fetch_add(&st->buckets[i], 1);
	atomic_fetch_add(&st->count, 1);
	atomic_fetch_add(&st->sum_us, (unsigned long long)(us > 0 ? us : 0));
}

/* printf into a growing buffer; a failure sticks (b->p = NULL). */
struct tbuf {
	char *p;
	size_t len, cap;
};

static void tb_printf(struct tbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tb_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *np;

	if (b->p == NULL && b->cap != 0)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = b->p == NULL ?
		    -1 :
		    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		np = realloc(b->p, b->cap * 2 + 4096);
		if (np == NULL) {
			free(b->p);
			b->p = NULL;
			b->cap = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + 4096;
	}
}

char *
api_metrics_text(struct api_server *s)
{
	struct tbuf b = { NULL, 0, 0 };
	size_t r, i;
	unsigned long long cum;
	char why[256];

	b.p = malloc(4096);
	b.cap = b.p != NULL ? 4096 : 1;
	if (b.p != NULL)
		b.p[0] = '\0';
	tb_printf(&b,
	    "# HELP sentinel_api_requests_total API requests by route and "
	    "status.\n# TYPE sentinel_api_requests_total counter\n");
	for (r = 0; r <= api_nroutes; r++) {
		const char *name =
		    r < api_nroutes ? api_routes[r].name : "none";

		for (i = 0; i < NSTATUS; i++) {
			unsigned long long v =
			    atomic_load(&s->stats[r].by_status[i]);

			if (v == 0)
				continue;
			if (i < NSTATUS - 1)
				tb_printf(&b,
				    "sentinel_api_requests_total{route=\"%s\","
				    "status=\"%d\"} %llu\n",
				    name, status_codes[i], v);
			else
				tb_printf(&b,
				    "sentinel_api_requests_total{route=\"%s\","
				    "status=\"other\"} %llu\n",
				    name, v);
		}
	}
	tb_printf(&b,
	    "# HELP sentinel_api_request_duration_seconds API request "
	    "latency by route.\n"
	    "# TYPE sentinel_api_request_duration_seconds histogram\n");
	for (r = 0; r <= api_nroutes; r++) {
		const char *name =
		    r < api_nroutes ? api_routes[r].name : "none";
		unsigned long long n = atomic_load(&s->stats[r].count);

		if (n == 0)
			continue;
		cum = 0;
		for (i = 0; i < NBUCKETS; i++) {
			cum += atomic_load(&s->stats[r].buckets[i]);
			tb_printf(&b,
			    "sentinel_api_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%g\"} %llu\n",
			    name, lat_bounds[i], cum);
		}
		tb_printf(&b,
		    "sentinel_api_request_duration_seconds_bucket{route=\"%s\","
		    "le=\"+Inf\"} %llu\n"
		    "sentinel_api_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\n"
		    "sentinel_api_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n",
		    name, n, name,
		    (double)atomic_load(&s->stats[r].sum_us) / 1e6, name, n);
	}
	tb_printf(&b,
	    "# HELP sentinel_api_auth_failures_total Requests refused "
	    "before any handler ran (401).\n"
	    "# TYPE sentinel_api_auth_failures_total counter\n"
	    "sentinel_api_auth_failures_total %llu\n"
	    "# HELP sentinel_api_denials_total API requests refused by "
	    "role, grant, policy, lock, size or quota.\n"
	    "# TYPE sentinel_api_denials_total counter\n"
	    "sentinel_api_denials_total %llu\n"
	    "# HELP sentinel_audit_queue_depth Audit events waiting for "
	    "their commit.\n"
	    "# TYPE sentinel_audit_queue_depth gauge\n"
	    "sentinel_audit_queue_depth %zu\n"
	    "# HELP sentinel_ready 1 when every view serves and every "
	    "audit trail is writable.\n"
	    "# TYPE sentinel_ready gauge\n"
	    "sentinel_ready %d\n",
	    atomic_load(&s->auth_failures), atomic_load(&s->denials),
	    registry_audit_queued(s->reg),
	    registry_ready(s->reg, why, sizeof(why)));
	{
		unsigned long long ops[VIEW_NOPS], denials;

		view_op_stats(ops, &denials);
		tb_printf(&b,
		    "# HELP sentinel_fs_requests_total Kernel requests served "
		    "by the views, by FUSE operation.\n"
		    "# TYPE sentinel_fs_requests_total counter\n");
		for (i = 0; i < VIEW_NOPS; i++)
			if (ops[i] != 0 && view_op_name((unsigned)i) != NULL)
				tb_printf(&b,
				    "sentinel_fs_requests_total{op=\"%s\"} "
				    "%llu\n",
				    view_op_name((unsigned)i), ops[i]);
		tb_printf(&b,
		    "# HELP sentinel_fs_denials_total File operations refused "
		    "by role, policy, lock, size, quota or audit.\n"
		    "# TYPE sentinel_fs_denials_total counter\n"
		    "sentinel_fs_denials_total %llu\n",
		    denials);
	}
	return b.p;
}

int
api_ready(struct api_server *s, char *why, size_t whylen)
{
	return registry_ready(s->reg, why, whylen);
}

const unsigned char *
api_audit_key(struct api_server *s)
{
	return s->key;
}

/* ---- replies ---------------------------------------------------------------- */

void
api_json(struct api_req *rq, int status, cJSON *o)
{
	cJSON_Delete(rq->reply);
	rq->reply = o;
	rq->status = status;
}

static const struct {
	int status;
	const char *code;
} errno_map[] = {
	/* one mapping, documented in docs/api.md */
	[EINVAL] = { 400, "bad_request" },
	[EILSEQ] = { 400, "bad_request" },
	[ENAMETOOLONG] = { 400, "bad_request" },
	[ELOOP] = { 400, "bad_request" },
	[EACCES] = { 403, "forbidden" },
	[EPERM] = { 403, "forbidden" },
	[EROFS] = { 403, "readonly" },
	[ENOENT] = { 404, "not_found" },
	[ENOTDIR] = { 404, "not_found" },
	[EBUSY] = { 409, "locked" },
	[EEXIST] = { 409, "conflict" },
	[ENOTEMPTY] = { 409, "conflict" },
	[EISDIR] = { 409, "conflict" },
	[EXDEV] = { 409, "conflict" },
	[EFBIG] = { 413, "too_large" },
	[ENODATA] = { 422, "no_match" },
	[ENOTUNIQ] = { 422, "ambiguous" },
	[ENOSYS] = { 404, "not_found" },
	[EIO] = { 503, "unavailable" },
	[ETIMEDOUT] = { 504, "timeout" },
	[EDQUOT] = { 507, "quota" },
	[ENOSPC] = { 507, "disk_full" },
};

void
api_error(struct api_req *rq, int status, const char *code, const char *fmt,
    ...)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o != NULL && (e = cJSON_AddObjectToObject(o, "error")) != NULL) {
		cJSON_AddStringToObject(e, "code", code);
		cJSON_AddStringToObject(e, "message", msg);
	}
	api_json(rq, status, o);
}

void
api_errno(struct api_req *rq, int err, const char *reason, const char *fmt, ...)
{
	char msg[1024];
	int status = 500;
	const char *code = "internal";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err > 0 && (size_t)err < sizeof(errno_map) / sizeof(errno_map[0]) &&
	    errno_map[err].code != NULL) {
		status = errno_map[err].status;
		code = errno_map[err].code;
	}
	if (reason != NULL) {
		status = 422;
		code = reason;
	}
	rq->err = err;
	api_error(rq, status, code, "%s", msg);
}

const char *
api_query(struct api_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

/* ---- identity ------------------------------------------------------------- */

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static void
notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct conn));
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
	}
}

/* Who is this request?  0 (rq->id, rq->perms set) or -1 with why. */
static int
authenticate(struct api_server *s, struct req *q, char *why, size_t whylen)
{
	struct api_req *rq = &q->rq;
	const struct sn_cfg_api *a = &s->cfg->api;
	struct conn *cn;
	const char *h;
	size_t n;

	if (q->l == L_PLAIN) {
		h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
			snprintf(why, whylen, "a bearer token is required");
			return -1;
		}
		h += 7;
		n = strlen(h);
		if (n != s->token_len || CRYPTO_memcmp(h, s->token, n) != 0) {
			snprintf(why, whylen, "the bearer token is wrong");
			return -1;
		}
		snprintf(rq->id.agent, sizeof(rq->id.agent), "%s",
		    a->plain_agent);
		snprintf(rq->id.role, sizeof(rq->id.role), "%s", a->plain_role);
		rq->auth = "token";
	} else {
		cn = conn_of(rq->conn);
		if (cn == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		if (!cn->checked) {
			const union MHD_ConnectionInfo *ci =
			    MHD_get_connection_info(rq->conn,
			        MHD_CONNECTION_INFO_GNUTLS_SESSION);

			cn->checked = 1;
			cn->ok = ci != NULL &&
			    tlsauth_verify_session(s->tls, ci->tls_session,
			        &cn->id, cn->why, sizeof(cn->why)) == 0;
			if (ci == NULL)
				snprintf(cn->why, sizeof(cn->why),
				    "no TLS session");
		}
		if (!cn->ok) {
			snprintf(why, whylen, "%s", cn->why);
			return -1;
		}
		rq->id = cn->id;
		rq->auth = rq->id.fingerprint;
	}
	if (policy_role_perms(s->cfg, rq->id.role, &rq->perms) < 0) {
		snprintf(why, whylen, "no role named \"%s\"", rq->id.role);
		return -1;
	}
	return 0;
}

/* ---- routing -------------------------------------------------------------- */

/*
 * Match url against pattern; captures go to rq->params.  1 if it
 * matches.
 */
static int
match(const char *pattern, const char *url, struct api_req *rq)
{
	const char *p = pattern, *u = url, *pe, *ue;
	size_t n = 0, i;

	for (;;) {
		if (*p != '/' || *u != '/')
			break;
		p++;
		u++;
		pe = strchrnul(p, '/');
		ue = strchrnul(u, '/');
		if (*p == '{') {
			if (ue == u || n >= API_MAX_PARAMS)
				goto no;
			rq->params[n] = strndup(u, (size_t)(ue - u));
			if (rq->params[n] == NULL)
				goto no;
			n++;
		} else if ((size_t)(pe - p) != (size_t)(ue - u) ||
		    memcmp(p, u, (size_t)(pe - p)) != 0) {
			goto no;
		}
		p = pe;
		u = ue;
		if (*p == '\0' && *u == '\0') {
			rq->nparams = n;
			return 1;
		}
	}
no:
	for (i = 0; i < n; i++) {
		free(rq->params[i]);
		rq->params[i] = NULL;
	}
	return 0;
}

/* The route for method+url: 0, 404 (no path) or 405 (other method). */
static int
route(struct api_req *rq, enum listener l)
{
	size_t i;
	int path_ok = 0;

	for (i = 0; i < api_nroutes; i++) {
		const struct api_route *r = &api_routes[i];

		if (l == L_OPS && !(r->flags & R_OPS))
			continue;
		if (!match(r->pattern, rq->url, rq))
			continue;
		if (strcmp(r->method, rq->method) == 0) {
			rq->route = r;
			return 0;
		}
		path_ok = 1;
		for (size_t k = 0; k < rq->nparams; k++) {
			free(rq->params[k]);
			rq->params[k] = NULL;
		}
		rq->nparams = 0;
	}
	return path_ok ? 405 : 404;
}

/* ---- the audit event of a request ------------------------------------- */

static void
record(struct api_server *s, struct api_req *rq)
{
	struct audit_event ev;
	struct audit *a = NULL;
	const char *ws = "";
	int wait = rq->changed, r;

	if (rq->ws != NULL) {
		a = workspace_fs_audit(rws_fs(rq->ws));
		ws = rws_id(rq->ws);
	}
	if (a == NULL)
		a = registry_audit(s->reg);
	memset(&ev, 0, sizeof(ev));
	ev.workspace = ws;
	ev.agent = rq->id.agent;
	ev.role = rq->id.role;
	ev.auth = rq->auth != NULL ? rq->auth : "";
	ev.source = AUDIT_SRC_API;
	ev.op = rq->op[0] != '\0' ? rq->op :
	    rq->route != NULL     ? rq->route->name :
	                            "request";
	ev.path = rq->path;
	ev.path2 = rq->path2;
	ev.status = rq->status;
	ev.result = rq->status < 400 ? AUDIT_RES_OK :
	    rq->denied || rq->status == 401 || rq->status == 403 ?
	                               AUDIT_RES_DENIED :
	                               AUDIT_RES_ERROR;
	ev.err = rq->err;
	ev.rule = rq->rule;
	ev.trace_id = "";
	ev.bytes = rq->bytes;
	ev.injected = rq->injected;
	r = audit_emit(a, &ev, wait);
	if (r < 0) {
		log_error("audit of %s %s by %s: %s", rq->method, rq->url,
		    rq->id.agent, err_str(r));
		if (wait && rq->status < 400) {
			/* applied but not recorded: say so, never "ok" */
			rq->changed = 0;
			api_error(rq, 503, "unavailable",
			    "the change was made but its audit event could "
			    "not be committed: %s",
			    err_str(r));
		}
	}
}

/* ---- the request pipeline ----------------------------------------------- */

/* 1 if the JSON text holds the escape \u0000 (an escaped backslash
 * before it does not count). */
static int
has_nul_escape(const char *p, size_t n)
{
	size_t i, bs = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			bs++;
			continue;
		}
		if (bs % 2 == 1 && p[i] == 'u' && n - i >= 5 &&
		    memcmp(p + i + 1, "0000", 4) == 0)
			return 1;
		bs = 0;
	}
	return 0;
}

/*
 * Everything before the handler: identity, route, permission, grant,
 * body.  Returns 1 when the handler is to run, 0 when the reply is made.
 */
static int
prepare(struct api_server *s, struct req *q)
{
	struct api_req *rq = &q->rq;
	const struct api_route *r;
	char why[512];
	int st;

	if (q->l != L_OPS && authenticate(s, q, why, sizeof(why)) < 0) {
		atomic_fetch_add(&s->auth_failures, 1);
		snprintf(rq->op, sizeof(rq->op), "authenticate");
		snprintf(rq->rule, sizeof(rq->rule), "auth:%.240s", why);
		api_error(rq, 401, "unauthenticated", "%s", why);
		return 0;
	}
	st = route(rq, q->l);
	if (st != 0) {
		if (st == 405)
			api_error(rq, 405, "method_not_allowed",
			    "%s is not allowed on %s", rq->method, rq->url);
		else
			api_error(rq, 404, "not_found", "no route %s %s",
			    rq->method, rq->url);
		return 0;
	}
	r = rq->route;
	if (q->l == L_OPS)
		return 1;
	/* permission */
	if ((rq->perms & r->perms) != r->perms) {
		unsigned missing = r->perms & ~rq->perms, bit;

		for (bit = 1; bit != 0 && !(missing & bit); bit <<= 1)
			;
		snprintf(rq->rule, sizeof(rq->rule), "role %s lacks %s",
		    rq->id.role, policy_perm_name(bit));
		rq->denied = 1;
		api_error(rq, 403, "forbidden",
		    "role %s lacks the %s permission", rq->id.role,
		    policy_perm_name(bit));
		return 0;
	}
	/* the workspace, and the agent's grant on it */
	if (r->flags & R_WS) {
		const char *id = rq->params[0];
		int admin = (r->flags & R_ADMIN) && (rq->perms & PERM_ADMIN);

		if (!config_valid_id(id)) {
			api_error(rq, 400, "bad_request",
			    "\"%.64s\" is not a valid workspace id", id);
			return 0;
		}
		if (registry_get(s->reg, id, &rq->ws) < 0 ||
		    (!admin &&
		        !registry_granted(s->reg, rq->ws, rq->id.agent))) {
			/* an ungranted workspace does not exist for the agent */
			registry_put(rq->ws);
			rq->ws = NULL;
			snprintf(rq->rule, sizeof(rq->rule), "grant:none");
			rq->denied = 1;
			api_error(rq, 404, "not_found", "no workspace %s", id);
			return 0;
		}
	}
	/* the body */
	if (r->flags & R_BODY) {
		if (q->bad_type) {
			api_error(rq, 415, "unsupported_media_type",
			    "the body must be application/json");
			return 0;
		}
		if (q->len == 0) {
			api_error(rq, 400, "bad_request",
			    "a JSON object body is required");
			return 0;
		}
		if (!text_utf8_valid(q->buf, q->len, 1)) {
			api_error(rq, 400, "bad_request",
			    "the body is not valid UTF-8");
			return 0;
		}
		if (has_nul_escape(q->buf, q->len)) {
			api_error(rq, 400, "bad_request",
			    "a string in the body holds a NUL (\\u0000)");
			return 0;
		}
		rq->body = cJSON_ParseWithLength(q->buf, q->len);
		if (rq->body == NULL || !cJSON_IsObject(rq->body)) {
			api_error(rq, 400, "bad_request",
			    rq->body == NULL ?
			        "the body is not valid JSON" :
			        "the body must be a JSON object");
			return 0;
		}
	} else if (q->len > 0) {
		api_error(rq, 400, "bad_request", "%s %s takes no body",
		    rq->method, r->pattern);
		return 0;
	}
	/*
	 * Limits (rate limits, budgets) go here: after authorization,
	 * before the tool.
	 */
	return 1;
}

static enum MHD_Result
queue_reply(struct MHD_Connection *c, struct api_req *rq)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text;
	size_t n;

	if (rq->text != NULL) {
		text = rq->text;
		rq->text = NULL;
	} else {
		if (rq->reply == NULL)
			api_error(rq, 500, "internal", "out of memory");
		text = rq->reply != NULL ? cJSON_PrintUnformatted(rq->reply) :
		                           NULL;
		if (text == NULL) {
			rq->status = 500;
			text = strdup("{\"error\":{\"code\":\"internal\","
			              "\"message\":\"out of memory\"}}");
			if (text == NULL)
				return MHD_NO;
		}
		rq->text_type = "application/json";
	}
	n = strlen(text);
	if (rq->text_type != NULL &&
	    strcmp(rq->text_type, "application/json") == 0) {
		/* a final newline, for humans with curl */
		char *t2 = realloc(text, n + 2);

		if (t2 != NULL) {
			text = t2;
			text[n++] = '\n';
			text[n] = '\0';
		}
	}
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    rq->text_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned)rq->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL)
		return 0;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/*
 * Slow handlers (a command, a clone) run on a thread of their own while
 * the connection is suspended, so they never hold a listener thread, which
 * serves every other connection that landed on it.
 */
struct worker {
	struct api_server *s;
	struct req *q;
	struct MHD_Connection *c;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->q->rq.route->fn(&w->q->rq);
	w->q->phase = PH_DONE;
	MHD_resume_connection(w->c);
	atomic_fetch_sub(&w->s->workers, 1);
	free(w);
	return NULL;
}

static int
start_worker(struct api_server *s, struct req *q, struct MHD_Connection *c)
{
	struct worker *w = malloc(sizeof(*w));
	pthread_attr_t at;
	pthread_t t;
	int r;

	if (w == NULL)
		return -1;
	w->s = s;
	w->q = q;
	w->c = c;
	q->phase = PH_RUNNING;
	atomic_fetch_add(&s->workers, 1);
	MHD_suspend_connection(c);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &at, worker_main, w);
	pthread_attr_destroy(&at);
	if (r != 0) {
		MHD_resume_connection(c);
		atomic_fetch_sub(&s->workers, 1);
		q->phase = PH_NEW;
		free(w);
		return -1;
	}
	return 0;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct lcls *lc = cls;
	struct api_server *s = lc->s;
	struct req *q = *req_cls;
	const char *h;
	enum MHD_Result ret;

	(void)version;
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &q->t0);
		q->l = lc->l;
		q->rq.srv = s;
		q->rq.reg = s->reg;
		q->rq.conn = c;
		q->rq.method = method;
		q->rq.url = url;
		*req_cls = q;
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (h != NULL) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(h, &end, 10);
			if (errno != 0 || *end != '\0' || v > s->max_body)
				q->too_large = 1;
		}
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE);
		q->bad_type = h != NULL && !is_json_type(h);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (q->too_large || n > s->max_body - q->len) {
			q->too_large = 1;
			free(q->buf);
			q->buf = NULL;
			q->len = q->cap = 0;
			return MHD_YES;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : 4096;
			char *nb;

			while (cap < q->len + n)
				cap *= 2;
			if (cap > s->max_body)
				cap = (size_t)s->max_body;
			nb = realloc(q->buf, cap);
			if (nb == NULL)
				return MHD_NO;
			q->buf = nb;
			q->cap = cap;
		}
		memcpy(q->buf + q->len, upload_data, n);
		q->len += n;
		return MHD_YES;
	}
	/* the whole request is here */
	if (q->phase == PH_DONE)
		goto reply; /* a worker ran the handler */
	if (q->phase == PH_RUNNING)
		return MHD_YES; /* not done yet (resumed early) */
	if (q->too_large) {
		if (q->l != L_OPS) {
			char why[512];

			if (authenticate(s, q, why, sizeof(why)) < 0) {
				atomic_fetch_add(&s->auth_failures, 1);
				snprintf(q->rq.op, sizeof(q->rq.op),
				    "authenticate");
				snprintf(q->rq.rule, sizeof(q->rq.rule),
				    "auth:%.240s", why);
				api_error(&q->rq, 401, "unauthenticated", "%s",
				    why);
				goto reply;
			}
		}
		api_error(&q->rq, 413, "too_large",
		    "the body is over the limit of %llu bytes",
		    (unsigned long long)s->max_body);
		snprintf(q->rq.rule, sizeof(q->rq.rule), "max_body:%llu",
		    (unsigned long long)s->max_body);
	} else if (prepare(s, q)) {
		if ((q->rq.route->flags & R_SLOW) && start_worker(s, q, c) == 0)
			return MHD_YES; /* suspended until the worker is done */
		q->rq.route->fn(&q->rq);
	}
reply:
	if (q->rq.status >= 400 && q->rq.status != 401 && q->rq.denied)
		atomic_fetch_add(&s->denials, 1);
	if (q->l != L_OPS)
		record(s, &q->rq);
	ret = queue_reply(c, &q->rq);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct lcls *lc = cls;
	struct req *q = *req_cls;
	size_t i;

	(void)c;
	(void)toe;
	if (q == NULL)
		return;
	count(lc->s, q->rq.route, q->rq.status, elapsed_us(&q->t0));
	for (i = 0; i < q->rq.nparams; i++)
		free(q->rq.params[i]);
	cJSON_Delete(q->rq.body);
	cJSON_Delete(q->rq.reply);
	free(q->rq.text);
	registry_put(q->rq.ws);
	free(q->buf);
	free(q);
	*req_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

/* ---- start and stop ----------------------------------------------------- */

/* Read a whole small file (at most max bytes) as a NUL-terminated text. */
static int
read_small(const char *path, size_t max, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	char *buf;
	ssize_t k;

	*out = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SN_ESYS;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	while ((k = read(fd, buf + len, max + 1 - len)) > 0)
		if ((len += (size_t)k) > max)
			break;
	close(fd);
	if (k < 0 || len > max) {
		snprintf(err, errlen, "%s: %s", path,
		    k < 0 ? strerror(errno) : "too large");
		explicit_bzero(buf, len);
		free(buf);
		return SN_EINVAL;
	}
	buf[len] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

static int
sockaddr_of(const char *addr, struct sockaddr_storage *ss, char *err,
    size_t errlen)
{
	char host[256];
	unsigned port;

	memset(ss, 0, sizeof(*ss));
	if (config_parse_addr(addr, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "bad address %s", addr);
		return SN_EINVAL;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &s4->sin_addr);
	}
	return 0;
}

static int
start_one(struct api_server *s, enum listener l, const char *addr,
    const char *cert, const char *key, const char *ca, char *err, size_t errlen)
{
	const struct sn_cfg_api *a = &s->cfg->api;
	struct sockaddr_storage ss;
	struct MHD_OptionItem o[24];
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	unsigned threads = l == L_OPS ? 1 : a->threads;
	size_t n = 0;
	int rc;

#define OPT(opt, v, p) \
	do { \
		o[n].option = (opt); \
		o[n].value = (intptr_t)(v); \
		o[n].ptr_value = (p); \
		n++; \
	} while (0)
	if ((rc = sockaddr_of(addr, &ss, err, errlen)) < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->lcls[l].s = s;
	s->lcls[l].l = l;
	OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
	if (threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, l == L_OPS ? 64u : a->max_connections,
	    NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, l == L_OPS ? 64u : a->per_ip,
	    NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, a->timeout, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEM_LIMIT, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, &s->lcls[l]);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL);
	if (l == L_TLS) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_conn, NULL);
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key);
		/* makes GnuTLS ask for a client certificate; tlsauth.c
		 * verifies it (MHD itself never does) */
		OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)ca);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	s->d[l] = MHD_start_daemon(flags, 0, NULL, NULL, handler, &s->lcls[l],
	    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	if (s->d[l] == NULL) {
		snprintf(err, errlen,
		    "cannot listen on %s (in use, or no "
		    "such address)",
		    addr);
		return SN_ESYS;
	}
	log_info("api: %s listener on %s",
	    l == L_TLS       ? "https (mTLS)" :
	        l == L_PLAIN ? "plain (bearer token, loopback)" :
	                       "ops",
	    addr);
	return 0;
}

struct secret_store *
api_secrets(struct api_server *s)
{
	return s->secrets;
}

int
api_exec_ready(struct api_server *s, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", s->exec_why);
	return s->exec_ok;
}

int
api_server_start(struct registry *reg, const struct sn_config *cfg,
    struct secret_store *secrets, struct api_server **out, char *err,
    size_t errlen)
{
	const struct sn_cfg_api *a = &cfg->api;
	struct api_server *s;
	char *cert = NULL, *key = NULL, *ca = NULL, *keypath = NULL;
	size_t klen = 0;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL ||
	    (s->stats = calloc(api_nroutes + 1, sizeof(*s->stats))) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	s->reg = reg;
	s->cfg = cfg;
	s->secrets = secrets;
	s->max_body = a->max_body;
	/* the sandbox of the exec tool: without it, exec answers 503 */
	s->exec_ok = spawn_init(s->exec_why, sizeof(s->exec_why)) == 0;
	if (!s->exec_ok)
		log_warn("api: the exec tool is off: %s", s->exec_why);
	keypath =
	    cfg->audit_key_file != NULL ? strdup(cfg->audit_key_file) : NULL;
	if (keypath == NULL &&
	    audit_key_default_path(registry_state_dir(reg), &keypath) < 0)
		keypath = NULL;
	if (keypath == NULL || audit_key_load(keypath, s->key) < 0) {
		snprintf(err, errlen, "audit key %s: cannot read it",
		    keypath != NULL ? keypath : "?");
		rc = SN_EINVAL;
		goto fail;
	}
	if (strcmp(a->listen, "off") != 0) {
		if ((rc = read_small(a->cert, PEM_MAX, &cert, NULL, err,
		         errlen)) < 0 ||
		    (rc = read_small(a->key, PEM_MAX, &key, &klen, err,
		         errlen)) < 0 ||
		    (rc = read_small(a->client_ca, PEM_MAX, &ca, NULL, err,
		         errlen)) < 0)
			goto fail;
		rc = tlsauth_new(a->client_ca, a->crl, &s->tls, err, errlen);
		if (rc < 0)
			goto fail;
		rc = start_one(s, L_TLS, a->listen, cert, key, ca, err, errlen);
		if (rc < 0)
			goto fail;
	}
	if (strcmp(a->plain_listen, "off") != 0) {
		rc = read_small(a->token_file, TOKEN_MAX, &s->token,
		    &s->token_len, err, errlen);
		if (rc < 0)
			goto fail;
		while (s->token_len > 0 &&
		    (s->token[s->token_len - 1] == '\n' ||
		        s->token[s->token_len - 1] == '\r'))
			s->token[--s->token_len] = '\0';
		if (s->token_len < TOKEN_MIN ||
		    strlen(s->token) != s->token_len) {
			snprintf(err, errlen,
			    "%s: the token must be at least %d bytes of text",
			    a->token_file, TOKEN_MIN);
			rc = SN_EINVAL;
			goto fail;
		}
		if (policy_role_perms(cfg, a->plain_role, &(unsigned){ 0 }) <
		    0) {
			snprintf(err, errlen,
			    "[api] plain_role: no role \"%s\"", a->plain_role);
			rc = SN_EINVAL;
			goto fail;
		}
		rc = start_one(s, L_PLAIN, a->plain_listen, NULL, NULL, NULL,
		    err, errlen);
		if (rc < 0)
			goto fail;
	}
	if (strcmp(a->ops_listen, "off") != 0) {
		rc = start_one(s, L_OPS, a->ops_listen, NULL, NULL, NULL, err,
		    errlen);
		if (rc < 0)
			goto fail;
	}
	if (key != NULL)
		explicit_bzero(key, klen);
	free(key);
	free(cert);
	free(ca);
	free(keypath);
	*out = s;
	return 0;
fail:
	if (key != NULL)
		explicit_bzero(key, klen);
	free(key);
	free(cert);
	free(ca);
	free(keypath);
	api_server_stop(s);
	return rc;
}

void
api_server_stop(struct api_server *s)
{
	MHD_socket lfd[L_COUNT_];
	int l;

	if (s == NULL)
		return;
	/* no new connection; then let the slow handlers finish (each is
	 * bounded: a command by its timeout, a clone by its own), since MHD
	 * must not be stopped with a connection suspended */
	for (l = 0; l < L_COUNT_; l++)
		lfd[l] = s->d[l] != NULL ? MHD_quiesce_daemon(s->d[l]) :
		                           MHD_INVALID_SOCKET;
	while (atomic_load(&s->workers) > 0)
		usleep(10000);
	for (l = 0; l < L_COUNT_; l++) {
		if (s->d[l] != NULL)
			MHD_stop_daemon(s->d[l]);
		/* a quiesced daemon leaves its listening socket to us */
		if (lfd[l] != MHD_INVALID_SOCKET)
			close(lfd[l]);
	}
	tlsauth_free(s->tls);
	if (s->token != NULL)
		explicit_bzero(s->token, s->token_len);
	free(s->token);
	explicit_bzero(s->key, sizeof(s->key));
	free(s->stats);
	free(s);
}
