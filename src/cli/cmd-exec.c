/*
 * cmd-exec.c - `sentinel exec`: run a command in a workspace through the
 * control API's exec tool (a sandbox inside the agent's view).
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "core/config.h"

static const char exec_help[] =
    "Run COMMAND [ARGS...] in workspace ID through the control API's exec\n"
    "tool (POST /v1/workspaces/ID/tools/exec, docs/api.md): in a sandbox,\n"
    "inside your view of the workspace, seen at /workspace, with the\n"
    "workspace's limits and no network unless its config allows it.  The\n"
    "command's stdout and stderr are written to ours (secrets Sentinel\n"
    "injected come back as [REDACTED:NAME]); the exit status is the\n"
    "command's, 128+N when signal N ended it, 124 when a limit did (the\n"
    "limit is named on stderr).\n\n"
    "Options:\n"
    "  --workspace ID     the workspace (required)\n"
    "  --cwd DIR          working directory, relative to /workspace\n"
    "  --env NAME=VALUE   set a variable (repeatable)\n"
    "  --stdin            send our standard input to the command\n"
    "  --time-limit S     seconds before the command is killed (default:\n"
    "                     the server's, 60)\n"
    "  -h, --help         show this help\n\n" CLIENT_HELP_OPTIONS "\n"
    "Exit status: the command's (see above); 1 the server answered an\n"
    "error; 2 usage error; 3 the server cannot be reached.\n";

/* Write a stream of the reply (text or base64) to f. */
static void
put_stream(FILE *f, const cJSON *reply, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, name);
	char key[32];
	const cJSON *enc;
	unsigned char *bin = NULL;
	size_t n = 0;

	if (!cJSON_IsString(v))
		return;
	snprintf(key, sizeof(key), "%s_encoding", name);
	enc = cJSON_GetObjectItemCaseSensitive(reply, key);
	if (cJSON_IsString(enc) && strcmp(enc->valuestring, "base64") == 0) {
		if (client_b64_decode(v->valuestring, strlen(v->valuestring),
		        &bin, &n) == 0)
			fwrite(bin, 1, n, f);
		free(bin);
	} else {
		fputs(v->valuestring, f);
	}
	fflush(f);
}

static int
cmd_exec_exec(int argc, char **argv)
{
	enum { O_WS = 256, O_CWD, O_ENV, O_STDIN, O_TLIM };
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, O_WS },
		{ "cwd", required_argument, NULL, O_CWD },
		{ "env", required_argument, NULL, O_ENV },
		{ "stdin", no_argument, NULL, O_STDIN },
		{ "time-limit", required_argument, NULL, O_TLIM },
		{ "help", no_argument, NULL, 'h' },
		CLIENT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_exec_entry;
	struct client_flags fl;
	struct client_opts o;
	const char *ws = NULL, *cwd = NULL;
	unsigned long long tlim = 0;
	cJSON *body = NULL, *env = NULL, *av, *reply = NULL;
	const cJSON *v;
	char err[1024], path[128], *raw = NULL, *in = NULL;
	size_t inlen = 0;
	int ch, r, rc = CLIENT_EXIT_FAIL, use_stdin = 0, i;

	memset(&fl, 0, sizeof(fl));
	memset(&o, 0, sizeof(o));
	body = cJSON_CreateObject();
	env = cJSON_CreateObject();
	if (body == NULL || env == NULL)
		goto oom;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cmd_print_help(e);
			rc = 0;
			goto out;
		case O_WS: ws = optarg; continue;
		case O_CWD: cwd = optarg; continue;
		case O_STDIN: use_stdin = 1; continue;
		case O_TLIM:
			if (client_parse_num("--time-limit", optarg, 1, 86400,
			        &tlim, err, sizeof(err)) < 0) {
				rc = cmd_usage_error(e, "%s", err);
				goto out;
			}
			continue;
		case O_ENV: {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg) {
				rc = cmd_usage_error(e,
				    "--env '%s': expected NAME=VALUE", optarg);
				goto out;
			}
			*eq = '\0';
			if (cJSON_AddStringToObject(env, optarg, eq + 1) ==
			    NULL) {
				*eq = '=';
				goto oom;
			}
			*eq = '=';
			continue;
		}
		case '?':
		case ':': rc = cmd_usage_error(e, "bad option"); goto out;
		default: break;
		}
		r = client_flags_opt(&fl, ch, optarg, err, sizeof(err));
		if (r <= 0) {
			rc = cmd_usage_error(e, "%s",
			    r < 0 ? err : "bad option");
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cmd_usage_error(e, "expected a command (after --)");
		goto out;
	}
	if (ws == NULL || !config_valid_id(ws)) {
		rc = cmd_usage_error(e,
		    "--workspace ID is required "
		    "(1-64 of [A-Za-z0-9._-])");
		goto out;
	}
	if ((av = cJSON_AddArrayToObject(body, "argv")) == NULL)
		goto oom;
	for (i = optind; i < argc; i++)
		cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
	if (cwd != NULL && cJSON_AddStringToObject(body, "cwd", cwd) == NULL)
		goto oom;
	if (cJSON_GetArraySize(env) > 0) {
		cJSON_AddItemToObject(body, "env", env);
		env = NULL;
	}
	if (tlim > 0 &&
	    cJSON_AddNumberToObject(body, "timeout_s", (double)tlim) == NULL)
		goto oom;
	if (use_stdin) {
		if (client_read_file("-", &in, &inlen) < 0) {
			fprintf(stderr, "sentinel: cannot read stdin\n");
			goto out;
		}
		if (cJSON_AddStringToObject(body, "stdin", in) == NULL)
			goto oom;
	}
	rc = client_open(e, &fl, &o);
	if (rc != 0)
		goto out;
	snprintf(path, sizeof(path), "/v1/workspaces/%s/tools/exec", ws);
	rc = client_request(&o, "POST", path, body, &raw, &reply);
	if (rc != 0)
		goto out;
	if (fl.json) {
		rc = client_print_raw(raw);
		goto out;
	}
	put_stream(stdout, reply, "stdout");
	put_stream(stderr, reply, "stderr");
	v = cJSON_GetObjectItemCaseSensitive(reply, "limit");
	if (cJSON_IsString(v)) {
		fprintf(stderr,
		    "sentinel: the command was stopped by its %s "
		    "limit\n",
		    v->valuestring);
		rc = 124;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(reply, "signal");
	if (cJSON_IsNumber(v)) {
		rc = 128 + v->valueint;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(reply, "exit_code");
	rc = cJSON_IsNumber(v) ? v->valueint : CLIENT_EXIT_FAIL;
	goto out;
oom:
	fprintf(stderr, "sentinel: out of memory\n");
	rc = CLIENT_EXIT_FAIL;
out:
	cJSON_Delete(body);
	cJSON_Delete(env);
	cJSON_Delete(reply);
	free(raw);
	free(in);
	client_opts_clear(&o);
	return rc;
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.usage = "--workspace ID [--cwd DIR] [--env NAME=VALUE]... [--stdin] "
	         "[options] -- COMMAND [ARGS...]",
	.summary = "Run a command in a workspace's sandbox (API)",
	.help = exec_help,
	.exec = cmd_exec_exec,
};
