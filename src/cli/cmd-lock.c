/*
 * cmd-lock.c - `sentinel lock acquire|release|renew|list`: logical write
 * locks on a workspace's paths, through the control API.
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

#define TTL_DEFAULT 300ULL
#define TTL_MAX     2147483647ULL

static const char lock_help[] =
    "Take, give back, extend and list the write locks of workspace ID\n"
    "through the control API (docs/api.md).  While an agent holds a lock,\n"
    "every change of the path (of everything under it, with --subtree) by\n"
    "anyone else fails: EBUSY through a view, 409 locked through the API.\n\n"
    "  acquire PATH [--ttl SECONDS] [--subtree]\n"
    "      POST /v1/workspaces/ID/locks; prints the lock's id, which\n"
    "      release and renew take\n"
    "  release LOCK_ID     DELETE /v1/workspaces/ID/locks/LOCK_ID\n"
    "  renew LOCK_ID [--ttl SECONDS]\n"
    "      POST /v1/workspaces/ID/locks/LOCK_ID/renew: expires SECONDS\n"
    "      from now\n"
    "  list                GET /v1/workspaces/ID/locks:\n"
    "                      ID HOLDER EXPIRES KIND PATH, KIND one of lock,\n"
    "                      subtree, lease (a write lease: until the\n"
    "                      writer closes the file)\n\n"
    "Options:\n"
    "  --workspace ID     the workspace (required)\n"
    "  --ttl SECONDS      lease time of acquire and renew (default 300)\n"
    "  --subtree          acquire: lock PATH and everything under it\n"
    "  -h, --help         show this help\n\n" CLIENT_HELP_OPTIONS
    "\n" CLIENT_HELP_EXIT;

struct lock_ctx {
	struct client_opts o;
	int json;
	const char *ws;
	char **pos;
	unsigned long long ttl;
	int subtree;
	char path[256];
};

static int
oom(void)
{
	fprintf(stderr, "sentinel: out of memory\n");
	return CLIENT_EXIT_FAIL;
}

static void
put_field(const cJSON *o, const char *k)
{
	client_put_value(stdout, cJSON_GetObjectItemCaseSensitive(o, k));
}

static int
lock_acquire(struct lock_ctx *c)
{
	cJSON *body = cJSON_CreateObject(), *reply = NULL;
	char *raw = NULL;
	int rc;

	if (body == NULL ||
	    cJSON_AddStringToObject(body, "path", c->pos[0]) == NULL ||
	    cJSON_AddNumberToObject(body, "ttl_s", (double)c->ttl) == NULL ||
	    (c->subtree && cJSON_AddTrueToObject(body, "subtree") == NULL)) {
		cJSON_Delete(body);
		return oom();
	}
	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/locks", c->ws);
	rc = client_request(&c->o, "POST", c->path, body, &raw, &reply);
	if (rc == 0 && c->json) {
		rc = client_print_raw(raw);
	} else if (rc == 0) {
		fputs("acquired lock ", stdout);
		put_field(reply, "id");
		fputs(" on ", stdout);
		client_put_safe(stdout, c->pos[0]);
		if (c->subtree)
			fputs(" (subtree)", stdout);
		fputs(" until ", stdout);
		put_field(reply, "expires");
		fputs(", token ", stdout);
		put_field(reply, "token");
		putchar('\n');
	}
	cJSON_Delete(body);
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static int
lock_release(struct lock_ctx *c)
{
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/locks/%s", c->ws,
	    c->pos[0]);
	rc = client_request(&c->o, "DELETE", c->path, NULL, &raw, NULL);
	if (rc == 0 && c->json)
		rc = client_print_raw(raw);
	else if (rc == 0)
		printf("released lock %s\n", c->pos[0]);
	free(raw);
	return rc;
}

static int
lock_renew(struct lock_ctx *c)
{
	cJSON *body = cJSON_CreateObject(), *reply = NULL;
	char *raw = NULL;
	int rc;

	if (body == NULL ||
	    cJSON_AddNumberToObject(body, "ttl_s", (double)c->ttl) == NULL) {
		cJSON_Delete(body);
		return oom();
	}
	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/locks/%s/renew",
	    c->ws, c->pos[0]);
	rc = client_request(&c->o, "POST", c->path, body, &raw, &reply);
	if (rc == 0 && c->json) {
		rc = client_print_raw(raw);
	} else if (rc == 0) {
		printf("renewed lock %s until ", c->pos[0]);
		put_field(reply, "expires");
		putchar('\n');
	}
	cJSON_Delete(body);
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

static int
lock_list(struct lock_ctx *c)
{
	const cJSON *arr, *l;
	cJSON *reply = NULL;
	char *raw = NULL;
	int rc;

	snprintf(c->path, sizeof(c->path), "/v1/workspaces/%s/locks", c->ws);
	rc = client_request(&c->o, "GET", c->path, NULL, &raw, &reply);
	if (rc != 0 || c->json) {
		if (rc == 0)
			rc = client_print_raw(raw);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(reply, "locks");
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "sentinel: the reply has no locks array\n");
		rc = CLIENT_EXIT_FAIL;
		goto out;
	}
	if (cJSON_GetArraySize(arr) == 0) {
		printf("no locks\n");
		goto out;
	}
	printf("ID HOLDER EXPIRES KIND PATH\n");
	cJSON_ArrayForEach(l, arr)
	{
		put_field(l, "id");
		putchar(' ');
		put_field(l, "holder");
		putchar(' ');
		put_field(l, "expires");
		putchar(' ');
		fputs(cJSON_IsTrue(
		          cJSON_GetObjectItemCaseSensitive(l, "lease")) ?
		        "lease" :
		        cJSON_IsTrue(
		            cJSON_GetObjectItemCaseSensitive(l, "subtree")) ?
		        "subtree" :
		        "lock",
		    stdout);
		putchar(' ');
		put_field(l, "path");
		putchar('\n');
	}
out:
	cJSON_Delete(reply);
	free(raw);
	return rc;
}

/* Subcommands: name, argument (for messages), count, flags, handler. */
enum { L_TTL = 1, L_SUBTREE = 2 };
static const struct lock_sub {
	const char *name;
	const char *args;
	int nargs;
	unsigned flags;
	int (*run)(struct lock_ctx *c);
} lock_subs[] = {
	{ "acquire", "PATH", 1, L_TTL | L_SUBTREE, lock_acquire },
	{ "release", "LOCK_ID", 1, 0, lock_release },
	{ "renew", "LOCK_ID", 1, L_TTL, lock_renew },
	{ "list", "no argument", 0, 0, lock_list },
};

static int
cmd_lock_exec(int argc, char **argv)
{
	enum { O_WS = 256, O_TTL, O_SUBTREE };
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, O_WS },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "subtree", no_argument, NULL, O_SUBTREE },
		{ "help", no_argument, NULL, 'h' },
		CLIENT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_lock_entry;
	const struct lock_sub *sub = NULL;
	struct client_flags fl;
	struct lock_ctx c;
	char err[1024];
	size_t i;
	int ch, r, rc, n;

	memset(&fl, 0, sizeof(fl));
	memset(&c, 0, sizeof(c));
	c.ttl = TTL_DEFAULT;
	if (argc < 2)
		return cmd_usage_error(e, "expected a subcommand");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cmd_print_help(e);
		return 0;
	}
	for (i = 0; i < sizeof(lock_subs) / sizeof(lock_subs[0]); i++)
		if (strcmp(argv[1], lock_subs[i].name) == 0)
			sub = &lock_subs[i];
	if (sub == NULL)
		return cmd_usage_error(e, "unknown subcommand '%s'", argv[1]);
	optind = 1;
	while (
	    (ch = getopt_long(argc - 1, argv + 1, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': cmd_print_help(e); return 0;
		case O_WS: c.ws = optarg; continue;
		case O_TTL:
			if (!(sub->flags & L_TTL))
				return cmd_usage_error(e, "%s takes no --ttl",
				    sub->name);
			if (client_parse_num("--ttl", optarg, 1, TTL_MAX,
			        &c.ttl, err, sizeof(err)) < 0)
				return cmd_usage_error(e, "%s", err);
			continue;
		case O_SUBTREE:
			if (!(sub->flags & L_SUBTREE))
				return cmd_usage_error(e,
				    "%s takes no --subtree", sub->name);
			c.subtree = 1;
			continue;
		case '?':
		case ':': return cmd_usage_error(e, "bad option");
		default: break;
		}
		r = client_flags_opt(&fl, ch, optarg, err, sizeof(err));
		if (r < 0)
			return cmd_usage_error(e, "%s", err);
		if (r == 0)
			return cmd_usage_error(e, "bad option");
	}
	n = argc - 1 - optind;
	c.pos = argv + 1 + optind;
	if (n != sub->nargs)
		return cmd_usage_error(e, "%s expects %s", sub->name,
		    sub->args);
	if (c.ws == NULL)
		return cmd_usage_error(e, "--workspace ID is required");
	if (!config_valid_id(c.ws))
		return cmd_usage_error(e,
		    "--workspace '%s': expected 1-64 of [A-Za-z0-9._-]", c.ws);
	if (n == 1 && strcmp(sub->args, "LOCK_ID") == 0 &&
	    !config_valid_id(c.pos[0]))
		return cmd_usage_error(e,
		    "lock id '%s': expected 1-64 of [A-Za-z0-9._-]", c.pos[0]);
	c.json = fl.json;
	rc = client_open(e, &fl, &c.o);
	if (rc != 0)
		return rc;
	rc = sub->run(&c);
	client_opts_clear(&c.o);
	return rc;
}

const struct cmd_entry cmd_lock_entry = {
	.name = "lock",
	.usage = "acquire|release|renew|list --workspace ID [PATH|LOCK_ID] "
	         "[--ttl SECONDS] [--subtree] [options]",
	.summary = "Acquire, release, renew and list write locks (API)",
	.help = lock_help,
	.exec = cmd_lock_exec,
};
