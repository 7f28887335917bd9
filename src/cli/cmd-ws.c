/*
 * cmd-ws.c - `sentinel ws create|list|show|rm|grants|grant|revoke`:
 * workspaces and their grants, through the control API.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "core/config.h"

static const char ws_help[] =
    "Manage workspaces through a Sentinel server's control API\n"
    "(docs/api.md).  Creating, removing and granting need the admin\n"
    "permission; list and show answer with the workspaces granted to you\n"
    "(all of them for an admin).\n\n"
    "  create REPO [--id ID]  POST /v1/workspaces; prints the new id\n"
    "  list                   GET /v1/workspaces: ID SOURCE CREATED REPO\n"
    "  show ID                GET /v1/workspaces/ID: one field per line\n"
    "  rm ID                  DELETE /v1/workspaces/ID\n"
    "  grants ID              GET /v1/workspaces/ID/grants: one agent per\n"
    "                         line\n"
    "  grant ID AGENT         POST /v1/workspaces/ID/grants\n"
    "  revoke ID AGENT        DELETE /v1/workspaces/ID/grants/AGENT\n\n"
    "Ids and agents match [A-Za-z0-9._-]{1,64}.\n\n"
    "Options:\n"
    "  --id ID            create: the new workspace's id (default: the\n"
    "                     server picks one)\n"
    "  -h, --help         show this help\n\n" CLIENT_HELP_OPTIONS
    "\n" CLIENT_HELP_EXIT;

struct ws_ctx {
	struct client_opts o;
	int json;
	const char *id; /* --id */
	char **pos;     /* positional arguments after the subcommand */
	char path[256];
};

static int
print_reply(struct ws_ctx *c, const char *raw)
{
	return c->json ? client_print_raw(raw) : 0;
}

static int
ws_create(struct ws_ctx *c)
{
	cJSON *body = cJSON_CreateObject(), *reply = NULL;
	const char *id;
	char *raw = NULL;
	int rc;

	if (body == NULL ||
	    (c->id != NULL &&
	        cJSON_AddStringToObject(body, "id", c->id) == NULL) ||
	    cJSON_AddStringToObject(body, "repo", c->pos[0]) == NULL) {
		cJSON_Delete(body);
		fprintf(stderr, "sentinel: out of memory\n");
		return CLIENT_EXIT_FAIL;
	}
	rc =
	    client_request(&c->o, "POST", "/v1/workspaces", body, &raw, &reply);
	if (rc == 0 && c->json) {
		rc = client_print_raw(raw);
	} else if (rc == 0) {
		id = client_str(reply, "id");
		fputs("created workspace ", stdout);
		client_put_safe(stdout, id != NULL ? id : c->id);
		fputs(" (", stdout);
		client_put_safe(stdout, c->pos[0]);
		fputs(")\n", stdout);
	}
	cJSON_Delete(body);
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static void
pad(size_t have, size_t want)
{
	while (have++ < want)
		putchar(' ');
}

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) : 1;
}

static int
ws_list(struct ws_ctx *c)
{
	const cJSON *arr, *w;
	cJSON *reply = NULL;
	char *raw = NULL;
	size_t wid = 2, wsrc = 6, wcr = 7;
	int rc;

	rc = client_request(&c->o, "GET", "/v1/workspaces", NULL, &raw, &reply);
	if (rc != 0 || c->json) {
		if (rc == 0)
			rc = client_print_raw(raw);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(reply, "workspaces");
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr,
		    "sentinel: the reply has no workspaces array\n");
		rc = CLIENT_EXIT_FAIL;
		goto out;
	}
	if (cJSON_GetArraySize(arr) == 0) {
		printf("no workspaces\n");
		goto out;
	}
	cJSON_ArrayForEach(w, arr)
	{
		if (slen(client_str(w, "id")) > wid)
			wid = slen(client_str(w, "id"));
		if (slen(client_str(w, "source")) > wsrc)
			wsrc = slen(client_str(w, "source"));
		if (slen(client_str(w, "created")) > wcr)
			wcr = slen(client_str(w, "created"));
	}
	printf("ID");
	pad(2, wid + 2);
	printf("SOURCE");
	pad(6, wsrc + 2);
	printf("CREATED");
	pad(7, wcr + 2);
	printf("REPO\n");
	cJSON_ArrayForEach(w, arr)
	{
		client_put_safe(stdout, client_str(w, "id"));
		pad(slen(client_str(w, "id")), wid + 2);
		client_put_safe(stdout, client_str(w, "source"));
		pad(slen(client_str(w, "source")), wsrc + 2);
		client_put_safe(stdout, client_str(w, "created"));
		pad(slen(client_str(w, "created")), wcr + 2);
		client_put_safe(stdout, client_str(w, "repo"));
		putchar('\n');
	}
out:
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static int
ws_show(struct ws_ctx *c)
{
	cJSON *reply = NULL;
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s", c->pos[0]);
	rc = client_request(&c->o, "GET", c->path, NULL, &raw, &reply);
	if (rc == 0 && c->json)
		rc = client_print_raw(raw);
	else if (rc == 0)
		client_print_fields(stdout, reply, "");
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static int
ws_rm(struct ws_ctx *c)
{
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s", c->pos[0]);
	rc = client_request(&c->o, "DELETE", c->path, NULL, &raw, NULL);
	if (rc == 0 && c->json)
		rc = print_reply(c, raw);
	else if (rc == 0)
		printf("deleted workspace %s\n", c->pos[0]);
	free(raw);
	return rc;
}

static int
ws_grants(struct ws_ctx *c)
{
	const cJSON *arr, *a;
	cJSON *reply = NULL;
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/grants",
	    c->pos[0]);
	rc = client_request(&c->o, "GET", c->path, NULL, &raw, &reply);
	if (rc != 0 || c->json) {
		if (rc == 0)
			rc = client_print_raw(raw);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(reply, "agents");
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "sentinel: the reply has no agents array\n");
		rc = CLIENT_EXIT_FAIL;
		goto out;
	}
	cJSON_ArrayForEach(a, arr)
	{
		client_put_value(stdout, a);
		putchar('\n');
	}
out:
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static int
ws_grant(struct ws_ctx *c)
{
	cJSON *body = cJSON_CreateObject();
	char *raw = NULL;
	int rc;

	if (body == NULL ||
	    cJSON_AddStringToObject(body, "agent", c->pos[1]) == NULL) {
		cJSON_Delete(body);
		fprintf(stderr, "sentinel: out of memory\n");
		return CLIENT_EXIT_FAIL;
	}
	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/grants",
	    c->pos[0]);
	rc = client_request(&c->o, "POST", c->path, body, &raw, NULL);
	if (rc == 0 && c->json)
		rc = print_reply(c, raw);
	else if (rc == 0)
		printf("granted workspace %s to %s\n", c->pos[0], c->pos[1]);
	cJSON_Delete(body);
	free(raw);
	return rc;
}

static int
ws_revoke(struct ws_ctx *c)
{
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/grants/%s",
	    c->pos[0], c->pos[1]);
	rc = client_request(&c->o, "DELETE", c->path, NULL, &raw, NULL);
	if (rc == 0 && c->json)
		rc = print_reply(c, raw);
	else if (rc == 0)
		printf("revoked the grant of workspace %s to %s\n", c->pos[0],
		    c->pos[1]);
	free(raw);
	return rc;
}

/* Subcommands: name, arguments (for messages), count, handler. */
static const struct ws_sub {
	const char *name;
	const char *args;
	int nargs;
	int (*run)(struct ws_ctx *c);
} ws_subs[] = {
	{ "create", "REPO", 1, ws_create },
	{ "list", "", 0, ws_list },
	{ "show", "ID", 1, ws_show },
	{ "rm", "ID", 1, ws_rm },
	{ "grants", "ID", 1, ws_grants },
	{ "grant", "ID AGENT", 2, ws_grant },
	{ "revoke", "ID AGENT", 2, ws_revoke },
};

static int
cmd_ws_exec(int argc, char **argv)
{
	enum { O_ID = 256 };
	static const struct option opts[] = {
		{ "id", required_argument, NULL, O_ID },
		{ "help", no_argument, NULL, 'h' },
		CLIENT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_ws_entry;
	const struct ws_sub *sub = NULL;
	struct client_flags fl;
	struct ws_ctx c;
	char err[1024];
	size_t i;
	int ch, n, r, rc;

	memset(&fl, 0, sizeof(fl));
	memset(&c, 0, sizeof(c));
	if (argc < 2)
		return cmd_usage_error(e, "expected a subcommand");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cmd_print_help(e);
		return 0;
	}
	for (i = 0; i < sizeof(ws_subs) / sizeof(ws_subs[0]); i++)
		if (strcmp(argv[1], ws_subs[i].name) == 0)
			sub = &ws_subs[i];
	if (sub == NULL)
		return cmd_usage_error(e, "unknown subcommand '%s'", argv[1]);
	optind = 1;
	while (
	    (ch = getopt_long(argc - 1, argv + 1, "o:h", opts, NULL)) != -1) {
		if (ch == 'h') {
			cmd_print_help(e);
			return 0;
		}
		if (ch == O_ID) {
			if (strcmp(sub->name, "create") != 0)
				return cmd_usage_error(e, "%s takes no --id",
				    sub->name);
			c.id = optarg;
			continue;
		}
		if (ch == '?' || ch == ':')
			return cmd_usage_error(e, "bad option");
		r = client_flags_opt(&fl, ch, optarg, err, sizeof(err));
		if (r < 0)
			return cmd_usage_error(e, "%s", err);
		if (r == 0)
			return cmd_usage_error(e, "bad option");
	}
	n = argc - 1 - optind;
	if (n != sub->nargs)
		return cmd_usage_error(e, "%s expects %s%s", sub->name,
		    sub->nargs == 0 ? "no argument" : sub->args,
		    n > sub->nargs ? "; too many arguments" : "");
	c.pos = argv + 1 + optind;
	if (c.id != NULL && !config_valid_id(c.id))
		return cmd_usage_error(e,
		    "--id '%s': expected 1-64 of [A-Za-z0-9._-]", c.id);
	if (strcmp(sub->name, "create") != 0 && n >= 1 &&
	    !config_valid_id(c.pos[0]))
		return cmd_usage_error(e,
		    "workspace '%s': expected 1-64 of [A-Za-z0-9._-]",
		    c.pos[0]);
	if (n >= 2 && !config_valid_id(c.pos[1]))
		return cmd_usage_error(e,
		    "agent '%s': expected 1-64 of [A-Za-z0-9._-]", c.pos[1]);
	if (strcmp(sub->name, "create") == 0 && c.pos[0][0] == '\0')
		return cmd_usage_error(e, "empty REPO");
	c.json = fl.json;
	rc = client_open(e, &fl, &c.o);
	if (rc != 0)
		return rc;
	rc = sub->run(&c);
	client_opts_clear(&c.o);
	return rc;
}

const struct cmd_entry cmd_ws_entry = {
	.name = "ws",
	.usage = "create REPO [--id ID] | list | show ID | rm ID | grants ID "
	         "| grant ID AGENT | revoke ID AGENT  [connection options]",
	.summary = "Create, list, show, remove and grant workspaces (API)",
	.help = ws_help,
	.exec = cmd_ws_exec,
};
