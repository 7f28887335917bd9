/*
 * api.h - internal to src/api: one request as the handlers see it, the
 * route table, and the helpers that build replies.
 *
 * The pipeline of a request (server.c): TLS handshake -> identity (client
 * certificate verified by tlsauth.c, or the plain listener's bearer
 * token) -> route -> permission (the role table) -> workspace grant ->
 * limits (rate limits and budgets: their place, after authorization and
 * before the tool) -> handler -> audit event -> reply.  A handler sees
 * an authenticated, authorized request and fills status and reply.
 */
#ifndef SN_API_H
#define SN_API_H

#include <stddef.h>
#include <stdint.h>

#include "api/tlsauth.h"

struct cJSON;
struct registry;
struct rws;
struct api_server;
struct secret_store;

#define API_MAX_PARAMS 4

struct api_req {
	struct api_server *srv;
	struct registry *reg;
	/* who */
	struct sn_identity id;
	const char *auth; /* fingerprint, or "token" */
	unsigned perms;   /* the role's PERM_* */
	/* what */
	const char *method;
	const char *url;
	const struct api_route *route;
	char *params[API_MAX_PARAMS]; /* {id}, {tool}, ... in pattern order */
	size_t nparams;
	struct cJSON *body; /* the parsed JSON body, or NULL */
	struct MHD_Connection *conn;
	struct rws *ws; /* the workspace of {id}, granted; NULL otherwise */
	/* the answer */
	int status;
	struct cJSON *reply; /* JSON reply (an error object too) */
	char *text;          /* or a text reply (metrics), malloc'd */
	const char *text_type;
	/* for the audit event */
	char op[64];
	char path[4096];
	char path2[4096];
	char rule[256];
	int err;      /* errno behind a failure */
	int denied;   /* refused by a rule (not an error) */
	int changed;  /* something was changed: wait for the event */
	int injected; /* a chaos fault */
	int64_t bytes;
};

enum {
	R_WS = 0x1,    /* the route names a workspace {id}: grant required */
	R_ADMIN = 0x2, /* an admin sees every workspace for this route */
	R_BODY = 0x4,  /* a JSON object body is required */
	R_OPS = 0x8,   /* also served on the ops listener, unauthenticated */
	R_SLOW = 0x10, /* runs on a worker thread, the connection suspended */
};

typedef void (*api_handler)(struct api_req *rq);

struct api_route {
	const char *method;
	const char *pattern; /* "/v1/workspaces/{id}/tools/{tool}" */
	unsigned perms;      /* every PERM_* bit required; 0 = none */
	int flags;
	api_handler fn;
	const char *name; /* metrics label, audit op */
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Replies. */
void api_json(struct api_req *rq, int status, struct cJSON *o);
void api_error(struct api_req *rq, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An errno from core/fs/tools as the documented status and code. */
void api_errno(struct api_req *rq, int err, const char *reason, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* A query argument, or NULL. */
const char *api_query(struct api_req *rq, const char *key);

/* Server facts the handlers need. */
int api_ready(struct api_server *s, char *why, size_t whylen);
char *api_metrics_text(struct api_server *s);
const unsigned char *api_audit_key(struct api_server *s);
/* The secret store (NULL: no [secret] configured). */
struct secret_store *api_secrets(struct api_server *s);
/* 1 if commands can run here (sandbox set up); else 0 and why. */
int api_exec_ready(struct api_server *s, char *why, size_t whylen);

#endif
