/*
 * cmd-audit.c - `sentinel audit list|verify`: read a state dir's audit
 * trails directly (no server needed; one may be running), or ask a
 * server for them through the control API (server mode).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/util.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define DEFAULT_STATE_DIR "./.sentinel"
#define SERVER_PAGE       1000 /* events per request in server mode */

static const char audit_help[] =
    "Read the audit trails of a state directory directly, as files: no\n"
    "server is needed, and a running one is not disturbed.  Each workspace\n"
    "has one trail, STATE_DIR/workspaces/ID/workspace.db, with its head\n"
    "record beside it (audit.head).  Without --workspace, every workspace\n"
    "found there is read, in name order.\n\n"
    "  list      print events, oldest first\n"
    "  verify    recompute each trail's HMAC chain with the audit key and\n"
    "            compare its end with the head record.  Prints\n"
    "              workspace ID: ok: N events, head seq S\n"
    "            or\n"
    "              workspace ID: chain broken at seq S: WHY\n"
    "            and exits 1 if any trail is broken or cannot be read: an\n"
    "            edited, deleted, inserted or reordered row, a deleted\n"
    "            tail, a changed hash, a missing or forged head, or the\n"
    "            wrong key.\n\n"
    "Options:\n"
    "  --workspace ID     only this workspace\n"
    "  --since SEQ        list: events after SEQ (default 0: all)\n"
    "  --limit N          list: at most N events per workspace (default: "
    "all)\n"
    "  -o text|json       list: one line per event as text (default)\n"
    "                     or one JSON object per line\n"
    "  --state-dir DIR    state directory; overrides [server] state_dir;\n"
    "                     default ./.sentinel (the demo's)\n"
    "  --config FILE      read [server] state_dir and audit_key_file there\n"
    "  -h, --help         show this help\n\n"
    "The audit key is [server] audit_key_file, or by default the file\n"
    "STATE_DIR.audit-key beside the state directory (outside it); it must\n"
    "be mode 0600 and owned by the user running this command.  list needs\n"
    "no key.\n\n"
    "Text output: SEQ TIME WORKSPACE AGENT SOURCE OP RESULT PATH, then\n"
    "\"-> PATH2\", errno=NAME, bytes=N, rule=RULE, trace=ID, injected when\n"
    "they are set.  In strings, control characters, backslash and bytes\n"
    "that are not UTF-8 are written \\xHH.  JSON output has every column,\n"
    "the time both as ns since the epoch (time_ns) and as RFC 3339 (time),\n"
    "and the hash in hex; bytes that are not UTF-8 become U+FFFD.\n\n"
    "Server mode: with --server URL (or SENTINEL_SERVER, or server in\n"
    "client.conf, when neither --state-dir nor --config is given), the\n"
    "same commands ask that server instead (the read_logs permission and\n"
    "a grant of the workspace are needed), and print the same text:\n"
    "  list   GET /v1/workspaces/ID/audit?since=SEQ&limit=N, page by page\n"
    "  verify GET /v1/workspaces/ID/audit/verify: the server checks the\n"
    "         chain with its key\n"
    "--workspace ID is required there, or --server-chain for the server's\n"
    "own chain (GET /v1/audit, /v1/audit/verify: admin too).  In server\n"
    "mode -o json prints each event as the server sent it, one per line\n"
    "(list), or the verify report as it came (verify).\n\n"
    "  --server-chain     server mode: the server-level chain\n\n" CLIENT_HELP_OPTIONS
    "\n"
    "Exit status: 0 success, 1 a broken trail or an error, 2 usage error,\n"
    "3 (server mode) the server cannot be reached or TLS fails.\n";

struct audit_args {
	const char *sub; /* "list" or "verify" */
	const char *ws;
	const char *state_dir;
	const char *config;
	uint64_t since;
	uint64_t limit;
	int json;
	int output_set;   /* -o given */
	int server_chain; /* --server-chain */
	struct client_flags fl;
	int client_flag; /* a connection option was given */
};

/* ---- workspaces ----------------------------------------------------------- */

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The ids under state_dir/workspaces that have a database, sorted. */
static int
find_workspaces(const char *state_dir, char ***out, size_t *n)
{
	char path[4096], **v = NULL, **nv;
	struct dirent *de;
	size_t cnt = 0, cap = 0;
	char *db;
	DIR *d;
	int r = 0;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/workspaces", state_dir);
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (audit_workspace_paths(state_dir, de->d_name, &db, NULL) < 0)
			continue; /* ".", "..", not an id */
		if (access(db, F_OK) == 0) {
			if (cnt == cap) {
				cap = cap != 0 ? cap * 2 : 8;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					free(db);
					r = -ENOMEM;
					break;
				}
				v = nv;
			}
			if ((v[cnt] = strdup(de->d_name)) == NULL) {
				free(db);
				r = -ENOMEM;
				break;
			}
			cnt++;
		}
		free(db);
	}
	closedir(d);
	if (r < 0) {
		free_names(v, cnt);
		return r;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), by_name);
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- list ----------------------------------------------------------------- */

static void
format_time(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000000000L;
		sec--;
	}
	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, len, "%" PRId64, ns);
		return;
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", frac);
}

static const char *
errno_name(int64_t e)
{
	const char *s = NULL;

	if (e > 0 && e < 4096)
		s = strerrorname_np((int)e);
	return s != NULL ? s : "?";
}

/* A copy of s where every byte that is not part of valid UTF-8 is U+FFFD. */
static char *
utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k, o = 0;
	char *out;

	out = malloc(3 * n + 1);
	if (out == NULL)
		return NULL;
	while (i < n) {
		k = client_utf8_len(p + i, n - i);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

static int
add_str(cJSON *o, const char *name, const char *s)
{
	char *c = utf8_clean(s);
	cJSON *v;

	if (c == NULL)
		return -1;
	v = cJSON_AddStringToObject(o, name, c);
	free(c);
	return v != NULL ? 0 : -1;
}

/* Integers as raw text: a double would round ns timestamps. */
static int
add_int(cJSON *o, const char *name, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return cJSON_AddRawToObject(o, name, num) != NULL ? 0 : -1;
}

struct list_ctx {
	int json;
	uint64_t rows;
};

static int
print_json(const struct db_audit_row *r)
{
	char tbuf[64], hex[2 * DB_HASH_LEN + 1];
	size_t i, hl = r->hash_len < DB_HASH_LEN ? r->hash_len : DB_HASH_LEN;
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int bad;

	for (i = 0; i < hl; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->hash[i]);
	hex[2 * hl] = '\0';
	format_time(r->time_ns, tbuf, sizeof(tbuf));
	bad = o == NULL || add_int(o, "seq", (int64_t)r->seq) < 0 ||
	    add_int(o, "time_ns", r->time_ns) < 0 ||
	    add_str(o, "time", tbuf) < 0 ||
	    add_str(o, "workspace", r->workspace) < 0 ||
	    add_str(o, "agent", r->agent) < 0 ||
	    add_str(o, "source", r->source) < 0 ||
	    add_str(o, "op", r->op) < 0 || add_str(o, "path", r->path) < 0 ||
	    add_str(o, "path2", r->path2) < 0 ||
	    add_str(o, "result", r->result) < 0 ||
	    add_int(o, "errno", r->err) < 0 ||
	    add_str(o, "errno_name", r->err != 0 ? errno_name(r->err) : "") <
	        0 ||
	    add_str(o, "rule", r->rule) < 0 ||
	    add_str(o, "trace_id", r->trace_id) < 0 ||
	    add_int(o, "bytes", r->bytes) < 0 ||
	    cJSON_AddBoolToObject(o, "injected", r->injected != 0) == NULL ||
	    add_int(o, "encoding_version", r->encoding_version) < 0 ||
	    add_str(o, "hash", hex) < 0 ||
	    (text = cJSON_PrintUnformatted(o)) == NULL;
	if (!bad)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	return bad ? SN_ENOMEM : 0;
}

/* One event as text: the columns of both modes, as strings. */
struct ev_text {
	const char *seq, *time, *workspace, *agent, *source, *op, *result;
	const char *path, *path2; /* path2 "" or NULL: none */
	const char *err;          /* errno name, NULL: none */
	const char *bytes;        /* NULL: none */
	const char *rule, *trace_id;
	int injected;
};

/*
 * SEQ TIME WORKSPACE AGENT SOURCE OP RESULT PATH [-> PATH2] [errno=E]
 * [bytes=N] [rule=R] [trace=T] [injected]; strings escaped.
 */
static void
print_ev(const struct ev_text *v)
{
	client_put_safe(stdout, v->seq);
	putchar(' ');
	client_put_safe(stdout, v->time);
	putchar(' ');
	client_put_safe(stdout, v->workspace);
	putchar(' ');
	client_put_safe(stdout, v->agent);
	putchar(' ');
	client_put_safe(stdout, v->source);
	putchar(' ');
	client_put_safe(stdout, v->op);
	putchar(' ');
	client_put_safe(stdout, v->result);
	putchar(' ');
	client_put_safe(stdout, v->path);
	if (v->path2 != NULL && v->path2[0] != '\0') {
		fputs(" -> ", stdout);
		client_put_safe(stdout, v->path2);
	}
	if (v->err != NULL) {
		fputs(" errno=", stdout);
		client_put_safe(stdout, v->err);
	}
	if (v->bytes != NULL)
		printf(" bytes=%s", v->bytes);
	if (v->rule != NULL && v->rule[0] != '\0') {
		fputs(" rule=", stdout);
		client_put_safe(stdout, v->rule);
	}
	if (v->trace_id != NULL && v->trace_id[0] != '\0') {
		fputs(" trace=", stdout);
		client_put_safe(stdout, v->trace_id);
	}
	if (v->injected)
		fputs(" injected", stdout);
	putchar('\n');
}

static void
print_text(const struct db_audit_row *r)
{
	char tbuf[64], seq[32], bytes[32];
	struct ev_text v;

	format_time(r->time_ns, tbuf, sizeof(tbuf));
	snprintf(seq, sizeof(seq), "%" PRIu64, r->seq);
	snprintf(bytes, sizeof(bytes), "%" PRId64, r->bytes);
	memset(&v, 0, sizeof(v));
	v.seq = seq;
	v.time = tbuf;
	v.workspace = r->workspace;
	v.agent = r->agent;
	v.source = r->source;
	v.op = r->op;
	v.result = r->result;
	v.path = r->path;
	v.path2 = r->path2;
	v.err = r->err != 0 ? errno_name(r->err) : NULL;
	v.bytes = r->bytes != 0 ? bytes : NULL;
	v.rule = r->rule;
	v.trace_id = r->trace_id;
	v.injected = r->injected != 0;
	print_ev(&v);
}

static int
list_row(const struct db_audit_row *r, void *arg)
{
	struct list_ctx *c = arg;

	c->rows++;
	if (c->json)
		return print_json(r);
	print_text(r);
	return ferror(stdout) ? SN_EIO : 0;
}

static int
list_one(const struct audit_args *a, const char *state_dir, const char *ws)
{
	struct list_ctx ctx = { a->json, 0 };
	struct db *db = NULL;
	char *path = NULL;
	int r;

	if ((r = audit_workspace_paths(state_dir, ws, &path, NULL)) < 0) {
		cli_error("workspace '%s': %s", ws, err_str(r));
		return 1;
	}
	r = db_open(path, 0, &db);
	if (r == 0)
		r = db_audit_each(db, a->since, a->limit, list_row, &ctx);
	if (r < 0)
		cli_error("workspace %s: %s: %s", ws, path,
		    r == SN_EIO && db != NULL ? db_errmsg(db) :
		        r == SN_ESYS          ? strerror(errno) :
		                                err_str(r));
	db_close(db);
	free(path);
	return r < 0 ? 1 : 0;
}

/* ---- verify --------------------------------------------------------------- */

static int
verify_one(const char *state_dir, const char *ws, const unsigned char *key)
{
	struct audit_verify_report rep;
	char *db = NULL, *head = NULL;
	int r;

	if ((r = audit_workspace_paths(state_dir, ws, &db, &head)) < 0) {
		cli_error("workspace '%s': %s", ws, err_str(r));
		return 1;
	}
	r = audit_verify(db, head, key, AUDIT_KEY_LEN, &rep);
	if (r == 0)
		printf("workspace %s: ok: %" PRIu64 " events, head seq %" PRIu64
		       "\n",
		    ws, rep.events, rep.head_seq);
	else if (r == 1 && rep.bad_seq != 0)
		printf("workspace %s: chain broken at seq %" PRIu64 ": %s\n",
		    ws, rep.bad_seq, rep.why);
	else if (r == 1)
		printf("workspace %s: chain broken: %s\n", ws, rep.why);
	else
		cli_error("workspace %s: cannot verify %s: %s", ws, db,
		    r == SN_ESYS ? strerror(errno) : err_str(r));
	free(db);
	free(head);
	return r == 0 ? 0 : 1;
}

static int
load_key(const struct sn_config *cfg, const char *state_dir,
    unsigned char key[AUDIT_KEY_LEN])
{
	char *def = NULL;
	const char *path;
	int r;

	if (cfg != NULL && cfg->audit_key_file != NULL) {
		path = cfg->audit_key_file;
	} else if (audit_key_default_path(state_dir, &def) < 0) {
		cli_error("no default audit key for state dir %s: set "
		          "[server] audit_key_file",
		    state_dir);
		return -1;
	} else {
		path = def;
	}
	r = audit_key_load(path, key);
	if (r == SN_ENOENT)
		cli_error("audit key %s: not found (it is made by the server "
		          "on its first start)",
		    path);
	else if (r < 0)
		cli_error("audit key %s: %s", path,
		    r == SN_ESYS ? strerror(errno) : err_str(r));
	free(def);
	return r < 0 ? -1 : 0;
}

/* ---- server mode ---------------------------------------------------------- */

/* An integer member as decimal text ("" when absent or not a number). */
static const char *
num_text(const cJSON *o, const char *k, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	buf[0] = '\0';
	if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.0f", v->valuedouble);
	return buf;
}

/* One event of the API ({"seq","time",...}) as the local text line. */
static void
print_api_event(const cJSON *ev)
{
	char seq[32], tbuf[64], bytes[32];
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "time");
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(ev, "errno");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(ev, "bytes");
	const cJSON *inj = cJSON_GetObjectItemCaseSensitive(ev, "injected");
	struct ev_text v;

	memset(&v, 0, sizeof(v));
	v.seq = num_text(ev, "seq", seq, sizeof(seq));
	if (cJSON_IsString(t)) {
		v.time = t->valuestring;
	} else {
		if (cJSON_IsNumber(t))
			format_time((int64_t)t->valuedouble, tbuf,
			    sizeof(tbuf));
		else
			snprintf(tbuf, sizeof(tbuf), "-");
		v.time = tbuf;
	}
	v.workspace = client_str(ev, "workspace");
	v.agent = client_str(ev, "agent");
	v.source = client_str(ev, "source");
	v.op = client_str(ev, "op");
	v.result = client_str(ev, "result");
	v.path = client_str(ev, "path");
	v.path2 = client_str(ev, "path2");
	if (cJSON_IsString(en) && en->valuestring[0] != '\0' &&
	    strcmp(en->valuestring, "0") != 0)
		v.err = en->valuestring;
	else if (cJSON_IsNumber(en) && en->valuedouble != 0)
		v.err = errno_name((int64_t)en->valuedouble);
	if (cJSON_IsNumber(b) && b->valuedouble != 0)
		v.bytes = num_text(ev, "bytes", bytes, sizeof(bytes));
	v.rule = client_str(ev, "rule");
	v.trace_id = client_str(ev, "trace_id");
	v.injected =
	    cJSON_IsTrue(inj) || (cJSON_IsNumber(inj) && inj->valuedouble != 0);
	print_ev(&v);
}

struct raw_ctx {
	uint64_t left; /* events still to print; 0: no limit */
	int limited;
};

static int
print_raw_event(const char *p, size_t n, void *arg)
{
	struct raw_ctx *c = arg;

	if (c->limited && c->left == 0)
		return 1; /* stop */
	fwrite(p, 1, n, stdout);
	putchar('\n');
	if (c->limited)
		c->left--;
	return ferror(stdout) ? -1 : 0;
}

/*
 * list: pages of SERVER_PAGE events, each asked after the last seq of
 * the one before, until a page that is not full (the end of the trail
 * when it was read) or --limit events.  Not until an empty page: every
 * request is itself an event of the trail, so a reader that waited for
 * an empty page could chase its own events for ever.
 */
static int
server_list(const struct audit_args *a, const struct client_opts *o)
{
	struct raw_ctx rc_ctx = { a->limit, a->limit != 0 };
	uint64_t since = a->since, last, want;
	const cJSON *evs, *ev, *seq;
	cJSON *reply = NULL;
	char path[256], *raw = NULL;
	int rc = 0, n;

	for (;;) {
		want = SERVER_PAGE;
		if (rc_ctx.limited && rc_ctx.left < want)
			want = rc_ctx.left;
		snprintf(path, sizeof(path),
		    "%s%s/audit?since=%" PRIu64 "&limit=%" PRIu64,
		    a->ws != NULL ? "/v1/workspaces/" : "/v1",
		    a->ws != NULL ? a->ws : "", since, want);
		rc = client_request(o, "GET", path, NULL, &raw, &reply);
		if (rc != 0)
			break;
		evs = cJSON_GetObjectItemCaseSensitive(reply, "events");
		if (!cJSON_IsArray(evs)) {
			fprintf(stderr,
			    "sentinel: the reply has no events array\n");
			rc = 1;
			break;
		}
		n = cJSON_GetArraySize(evs);
		if (n == 0)
			break;
		last = since;
		cJSON_ArrayForEach(ev, evs)
		{
			seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
			if (!cJSON_IsNumber(seq) || seq->valuedouble < 0) {
				fprintf(stderr,
				    "sentinel: an event without "
				    "seq\n");
				rc = 1;
				goto out;
			}
			last = (uint64_t)seq->valuedouble;
		}
		if (a->json) {
			if (client_json_each_raw(raw, "events", print_raw_event,
			        &rc_ctx) < 0) {
				fprintf(stderr,
				    "sentinel: cannot split the "
				    "events of the reply\n");
				rc = 1;
				break;
			}
		} else {
			cJSON_ArrayForEach(ev, evs)
			{
				if (rc_ctx.limited && rc_ctx.left == 0)
					break;
				print_api_event(ev);
				if (rc_ctx.limited)
					rc_ctx.left--;
			}
		}
		if (ferror(stdout) || (rc_ctx.limited && rc_ctx.left == 0) ||
		    last <= since || (uint64_t)n < want)
			break;
		since = last;
		cJSON_Delete(reply);
		reply = NULL;
		free(raw);
		raw = NULL;
	}
out:
	cJSON_Delete(reply);
	free(raw);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = rc != 0 ? rc : 1;
	return rc;
}

static int
server_verify(const struct audit_args *a, const struct client_opts *o)
{
	char path[256], *raw = NULL, n1[32], n2[32];
	const cJSON *ok, *bad;
	cJSON *reply = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s%s/audit/verify",
	    a->ws != NULL ? "/v1/workspaces/" : "/v1",
	    a->ws != NULL ? a->ws : "");
	rc = client_request(o, "GET", path, NULL, &raw, &reply);
	if (rc != 0)
		goto out;
	ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsBool(ok)) {
		fprintf(stderr, "sentinel: the verify report has no ok\n");
		rc = 1;
		goto out;
	}
	if (a->json) {
		rc = client_print_raw(raw);
		if (rc == 0 && !cJSON_IsTrue(ok))
			rc = 1;
		goto out;
	}
	if (a->ws != NULL)
		printf("workspace %s: ", a->ws);
	else
		printf("server: ");
	bad = cJSON_GetObjectItemCaseSensitive(reply, "bad_seq");
	if (cJSON_IsTrue(ok)) {
		printf("ok: %s events, head seq %s\n",
		    num_text(reply, "events", n1, sizeof(n1)),
		    num_text(reply, "head_seq", n2, sizeof(n2)));
	} else {
		if (cJSON_IsNumber(bad) && bad->valuedouble > 0)
			printf("chain broken at seq %s: ",
			    num_text(reply, "bad_seq", n1, sizeof(n1)));
		else
			printf("chain broken: ");
		client_put_safe(stdout, client_str(reply, "why"));
		putchar('\n');
		rc = 1;
	}
	if (fflush(stdout) != 0)
		rc = 1;
out:
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

static int
parse_args(int argc, char **argv, struct audit_args *a)
{
	enum { O_WS = 256, O_SINCE, O_LIMIT, O_STATE, O_CONFIG, O_CHAIN };
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, O_WS },
		{ "since", required_argument, NULL, O_SINCE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "server-chain", no_argument, NULL, O_CHAIN },
		{ "help", no_argument, NULL, 'h' },
		CLIENT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_audit_entry;
	unsigned long long v;
	char err[256];
	int c, list, r;

	memset(a, 0, sizeof(*a));
	if (argc < 2)
		return cmd_usage_error(e, "expected list or verify");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cmd_print_help(e);
		return 0;
	}
	if (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "verify") != 0)
		return cmd_usage_error(e, "unknown subcommand '%s'", argv[1]);
	a->sub = argv[1];
	list = strcmp(a->sub, "list") == 0;
	optind = 1;
	while (
	    (c = getopt_long(argc - 1, argv + 1, "+o:h", opts, NULL)) != -1) {
		if (!list && (c == O_SINCE || c == O_LIMIT))
			return cmd_usage_error(e, "verify takes no %s",
			    c == O_SINCE ? "--since" : "--limit");
		switch (c) {
		case O_WS: a->ws = optarg; break;
		case O_SINCE:
		case O_LIMIT:
			if (config_parse_uint(optarg, c == O_LIMIT ? 1 : 0,
			        INT64_MAX, &v) < 0)
				return cmd_usage_error(e, "bad %s '%s'",
				    c == O_SINCE ? "--since" : "--limit",
				    optarg);
			if (c == O_SINCE)
				a->since = v;
			else
				a->limit = v;
			break;
		case O_STATE: a->state_dir = optarg; break;
		case O_CONFIG: a->config = optarg; break;
		case O_CHAIN: a->server_chain = 1; break;
		case 'h': cmd_print_help(e); return 0;
		case '?':
		case ':': return cmd_usage_error(e, "bad option");
		default:
			r = client_flags_opt(&a->fl, c, optarg, err,
			    sizeof(err));
			if (r < 0)
				return cmd_usage_error(e, "%s", err);
			if (r == 0)
				return cmd_usage_error(e, "bad option");
			if (c == 'o') {
				a->json = a->fl.json;
				a->output_set = 1;
			} else {
				a->client_flag = 1;
			}
			break;
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(e, "unexpected argument '%s'",
		    argv[optind + 1]);
	if (a->ws != NULL && !config_valid_id(a->ws))
		return cmd_usage_error(e,
		    "--workspace '%s': expected 1-64 of [A-Za-z0-9._-]", a->ws);
	if ((a->state_dir != NULL || a->config != NULL) &&
	    (a->client_flag || a->server_chain))
		return cmd_usage_error(e,
		    "--state-dir and --config read local files; %s is for "
		    "a server",
		    a->server_chain ? "--server-chain" : "a connection option");
	return -1; /* go on */
}

/*
 * Server mode: --server, or a server from the environment or client.conf
 * when neither --state-dir nor --config is given.  Returns -1 to go on in
 * local mode, else the exit status.
 */
static int
audit_server(const struct audit_args *a)
{
	const struct cmd_entry *e = &cmd_audit_entry;
	struct client_opts o;
	char err[1024];
	int rc;

	if (a->state_dir != NULL || a->config != NULL)
		return -1;
	if (client_opts_load(&o, &a->fl, err, sizeof(err)) < 0) {
		fprintf(stderr, "sentinel: %s\n", err);
		return 1;
	}
	if (o.server == NULL) {
		if (a->client_flag || a->server_chain) {
			rc = client_need_server(e->name, e->usage, &o);
			goto out;
		}
		client_opts_clear(&o);
		return -1;
	}
	if (a->ws != NULL && a->server_chain) {
		rc = cmd_usage_error(e,
		    "--workspace and --server-chain "
		    "exclude each other");
		goto out;
	}
	if (a->ws == NULL && !a->server_chain) {
		rc = cmd_usage_error(e,
		    "with a server, --workspace ID (or "
		    "--server-chain) is required");
		goto out;
	}
	if (strcmp(a->sub, "verify") == 0)
		rc = server_verify(a, &o);
	else
		rc = server_list(a, &o);
out:
	client_opts_clear(&o);
	return rc;
}

static int
cmd_audit_exec(int argc, char **argv)
{
	unsigned char key[AUDIT_KEY_LEN];
	struct audit_args a;
	struct sn_config *cfg = NULL;
	const char *state_dir;
	char err[1024], **names = NULL;
	size_t n = 0, i;
	struct stat st;
	int r, rc = 1, verify;

	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	r = audit_server(&a);
	if (r >= 0)
		return r;
	if (a.output_set && strcmp(a.sub, "verify") == 0)
		return cmd_usage_error(&cmd_audit_entry, "verify takes no -o");
	verify = strcmp(a.sub, "verify") == 0;
	if (a.config != NULL &&
	    config_load(a.config, &cfg, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	state_dir = a.state_dir != NULL           ? a.state_dir :
	    cfg != NULL && cfg->state_dir != NULL ? cfg->state_dir :
	                                            DEFAULT_STATE_DIR;
	if (stat(state_dir, &st) < 0) {
		cli_error("state dir %s: %s", state_dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("state dir %s: not a directory", state_dir);
		goto out;
	}
	if (verify && load_key(cfg, state_dir, key) < 0)
		goto out;
	if (a.ws != NULL) {
		names = calloc(1, sizeof(*names));
		if (names == NULL || (names[0] = strdup(a.ws)) == NULL) {
			cli_error("out of memory");
			goto out;
		}
		n = 1;
	} else if ((r = find_workspaces(state_dir, &names, &n)) < 0 || n == 0) {
		cli_error("no workspace audit database under %s/workspaces%s%s",
		    state_dir, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		goto out;
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		if (verify)
			rc |= verify_one(state_dir, names[i], key);
		else
			rc |= list_one(&a, state_dir, names[i]);
	}
	if (fflush(stdout) != 0)
		rc = 1;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free_names(names, n);
	config_free(cfg);
	return rc;
}

const struct cmd_entry cmd_audit_entry = {
	.name = "audit",
	.usage = "list|verify [--workspace ID] [--since SEQ] [--limit N] "
	         "[-o text|json] [--state-dir DIR] [--config FILE] | "
	         "[--server URL ...] [--server-chain]",
	.summary = "List or verify the audit trails (state dir or server)",
	.help = audit_help,
	.exec = cmd_audit_exec,
};
