/*
 * cmd-tool.c - `sentinel tool --workspace ID NAME [ARGS]`: call one tool
 * of a workspace through the control API (POST
 * /v1/workspaces/ID/tools/NAME).  Arguments come either as --json (sent
 * as written) or as flags, from which the JSON body is built.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "core/config.h"
#include "core/err.h"

#define READ_CHUNK  (16ULL << 20) /* the server's read_file maximum */
#define MAX_RESULTS 10000ULL

static const char tool_help[] =
    "Call one tool of workspace ID through the control API (POST\n"
    "/v1/workspaces/ID/tools/NAME; see docs/api.md for the arguments and\n"
    "results).  PATHs are relative to the workspace root (\"\" or \".\" is\n"
    "the root).\n\n"
    "  read_file PATH [--offset N] [--length N]\n"
    "      print the content, raw bytes, to stdout (decoded from base64\n"
    "      when the server sends it so); reads in 16 MiB calls to EOF or\n"
    "      to --length bytes\n"
    "  write_file PATH (--content TEXT | --from FILE | -) [--mkdirs]\n"
    "      write TEXT, FILE or standard input (-); sent as UTF-8 when it\n"
    "      is valid UTF-8 without NUL, as base64 otherwise\n"
    "  edit_file PATH --old TEXT --new TEXT\n"
    "      replace the one occurrence of TEXT\n"
    "  list_dir [PATH]                  TYPE SIZE NAME per entry\n"
    "  stat PATH                        one field per line\n"
    "  delete PATH [--recursive]\n"
    "  move FROM TO [--overwrite]\n"
    "  search PATTERN [--regex] [-i|--ignore-case] [--path P] [--glob G]\n"
    "         [--max N]\n"
    "      PATH:LINE:TEXT per match (at most N, default 100, 1..10000)\n\n"
    "Options:\n"
    "  --workspace ID     the workspace (required)\n"
    "  --json JSON        the tool's arguments as one JSON object, sent as\n"
    "                     written; no other argument then\n"
    "  --offset N, --length N, --content TEXT, --from FILE, --mkdirs,\n"
    "  --old TEXT, --new TEXT, --recursive, --overwrite, --regex,\n"
    "  --ignore-case, --path P, --glob G, --max N\n"
    "                     as above; a flag the tool does not take is a\n"
    "                     usage error\n"
    "  -h, --help         show this help\n\n" CLIENT_HELP_OPTIONS "\n"
    "With -o json, the server's reply is printed as it came (read_file\n"
    "then makes one call: its content stays encoded in the reply).\n"
    "Strings in text output are printed with control characters,\n"
    "backslash and bytes that are not UTF-8 written \\xHH; read_file's\n"
    "output is the file's bytes, unchanged.\n\n" CLIENT_HELP_EXIT;

enum {
	F_OFFSET = 1u << 0,
	F_LENGTH = 1u << 1,
	F_CONTENT = 1u << 2,
	F_FROM = 1u << 3,
	F_MKDIRS = 1u << 4,
	F_OLD = 1u << 5,
	F_NEW = 1u << 6,
	F_RECURSIVE = 1u << 7,
	F_OVERWRITE = 1u << 8,
	F_REGEX = 1u << 9,
	F_ICASE = 1u << 10,
	F_PATH = 1u << 11,
	F_GLOB = 1u << 12,
	F_MAX = 1u << 13,
	F_N_ = 14,
};

static const char *const flag_names[F_N_] = {
	"--offset",
	"--length",
	"--content",
	"--from",
	"--mkdirs",
	"--old",
	"--new",
	"--recursive",
	"--overwrite",
	"--regex",
	"--ignore-case",
	"--path",
	"--glob",
	"--max",
};

struct tool_args {
	struct client_opts o;
	int json;              /* -o json */
	const char *ws, *name; /* --workspace, NAME */
	const char *json_args; /* --json */
	char **pos;            /* positionals after NAME */
	int npos;
	unsigned seen; /* F_* given */
	unsigned long long offset, length, max;
	const char *content, *from, *old, *new_, *path, *glob;
	char url[256];
};

static int
oom(void)
{
	fprintf(stderr, "sentinel: out of memory\n");
	return CLIENT_EXIT_FAIL;
}

/* ---- bodies --------------------------------------------------------------- */

static int
add_str(cJSON *b, const char *k, const char *v)
{
	return cJSON_AddStringToObject(b, k, v) != NULL ? 0 : SN_ENOMEM;
}

static int
add_num(cJSON *b, const char *k, unsigned long long v)
{
	return cJSON_AddNumberToObject(b, k, (double)v) != NULL ? 0 : SN_ENOMEM;
}

static int
add_bool(cJSON *b, const char *k, int v)
{
	return cJSON_AddBoolToObject(b, k, v) != NULL ? 0 : SN_ENOMEM;
}

/* Content as "utf-8" when it is text, "base64" otherwise. */
static int
add_content(cJSON *b, const char *data, size_t len)
{
	char *enc = NULL;
	int r;

	if (client_is_text((const unsigned char *)data, len))
		return add_str(b, "content", data) < 0 ||
		        add_str(b, "encoding", "utf-8") < 0 ?
		    SN_ENOMEM :
		    0;
	r = client_b64_encode((const unsigned char *)data, len, &enc);
	if (r == 0)
		r = add_str(b, "content", enc) < 0 ||
		        add_str(b, "encoding", "base64") < 0 ?
		    SN_ENOMEM :
		    0;
	free(enc);
	return r;
}

static int
build_read(const struct tool_args *a, cJSON *b)
{
	if (add_str(b, "path", a->pos[0]) < 0)
		return SN_ENOMEM;
	if ((a->seen & F_OFFSET) && add_num(b, "offset", a->offset) < 0)
		return SN_ENOMEM;
	if ((a->seen & F_LENGTH) && add_num(b, "length", a->length) < 0)
		return SN_ENOMEM;
	return 0;
}

static int
build_write(const struct tool_args *a, cJSON *b)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if (add_str(b, "path", a->pos[0]) < 0)
		return SN_ENOMEM;
	if (a->seen & F_CONTENT) {
		r = add_content(b, a->content, strlen(a->content));
	} else {
		const char *src = (a->seen & F_FROM) ? a->from : "-";

		r = client_read_file(src, &data, &len);
		if (r == SN_ESYS)
			fprintf(stderr, "sentinel: %s: %m\n",
			    strcmp(src, "-") == 0 ? "standard input" : src);
		else if (r == SN_ERANGE)
			fprintf(stderr, "sentinel: %s: over %lu MiB\n",
			    strcmp(src, "-") == 0 ? "standard input" : src,
			    CLIENT_MAX_INPUT >> 20);
		if (r == 0)
			r = add_content(b, data, len);
		free(data);
		if (r == SN_ESYS || r == SN_ERANGE)
			return SN_EINVAL; /* said */
	}
	if (r == 0 && (a->seen & F_MKDIRS))
		r = add_bool(b, "mkdirs", 1);
	return r;
}

static int
build_edit(const struct tool_args *a, cJSON *b)
{
	return add_str(b, "path", a->pos[0]) < 0 ||
	        add_str(b, "old", a->old) < 0 ||
	        add_str(b, "new", a->new_) < 0 ?
	    SN_ENOMEM :
	    0;
}

static int
build_path_opt(const struct tool_args *a, cJSON *b)
{
	return a->npos > 0 ? add_str(b, "path", a->pos[0]) : 0;
}

static int
build_path(const struct tool_args *a, cJSON *b)
{
	return add_str(b, "path", a->pos[0]);
}

static int
build_delete(const struct tool_args *a, cJSON *b)
{
	if (add_str(b, "path", a->pos[0]) < 0)
		return SN_ENOMEM;
	return (a->seen & F_RECURSIVE) ? add_bool(b, "recursive", 1) : 0;
}

static int
build_move(const struct tool_args *a, cJSON *b)
{
	if (add_str(b, "from", a->pos[0]) < 0 ||
	    add_str(b, "to", a->pos[1]) < 0)
		return SN_ENOMEM;
	return (a->seen & F_OVERWRITE) ? add_bool(b, "overwrite", 1) : 0;
}

static int
build_search(const struct tool_args *a, cJSON *b)
{
	if (add_str(b, "pattern", a->pos[0]) < 0 ||
	    ((a->seen & F_REGEX) && add_bool(b, "regex", 1) < 0) ||
	    ((a->seen & F_ICASE) && add_bool(b, "ignore_case", 1) < 0) ||
	    ((a->seen & F_PATH) && add_str(b, "path", a->path) < 0) ||
	    ((a->seen & F_GLOB) && add_str(b, "glob", a->glob) < 0) ||
	    ((a->seen & F_MAX) && add_num(b, "max_results", a->max) < 0))
		return SN_ENOMEM;
	return 0;
}

/* ---- output --------------------------------------------------------------- */

static void
put_num(const cJSON *o, const char *k)
{
	client_put_value(stdout, cJSON_GetObjectItemCaseSensitive(o, k));
}

static int
print_write(const struct tool_args *a, const cJSON *r)
{
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(r, "created");

	fputs("wrote ", stdout);
	put_num(r, "bytes");
	fputs(" bytes to ", stdout);
	client_put_safe(stdout, a->pos[0]);
	if (cJSON_IsTrue(created))
		fputs(" (new file)", stdout);
	putchar('\n');
	return 0;
}

static int
print_edit(const struct tool_args *a, const cJSON *r)
{
	fputs("edited ", stdout);
	client_put_safe(stdout, a->pos[0]);
	fputs(" (", stdout);
	put_num(r, "bytes");
	fputs(" bytes)\n", stdout);
	return 0;
}

static int
print_list(const struct tool_args *a, const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "entries"), *e;
	const cJSON *size;
	const char *type, *name, *b64;
	unsigned char *raw;
	size_t len, tl;

	(void)a;
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "sentinel: the reply has no entries array\n");
		return CLIENT_EXIT_FAIL;
	}
	cJSON_ArrayForEach(e, arr)
	{
		type = client_str(e, "type");
		client_put_safe(stdout, type != NULL ? type : "?");
		for (tl = type != NULL ? strlen(type) : 1; tl < 8; tl++)
			putchar(' ');
		size = cJSON_GetObjectItemCaseSensitive(e, "size");
		if (cJSON_IsNumber(size))
			printf("%12.0f  ", size->valuedouble);
		else
			printf("%12s  ", "-");
		name = client_str(e, "name");
		b64 = client_str(e, "name_b64");
		if (name != NULL) {
			client_put_safe(stdout, name);
		} else if (b64 != NULL &&
		    client_b64_decode(b64, strlen(b64), &raw, &len) == 0) {
			/* not UTF-8: client_put_safe writes such bytes \xHH */
			client_put_safe(stdout, (const char *)raw);
			free(raw);
		} else {
			putchar('?');
		}
		putchar('\n');
	}
	return 0;
}

static int
print_stat(const struct tool_args *a, const cJSON *r)
{
	(void)a;
	client_print_fields(stdout, r, "");
	return 0;
}

static int
print_delete(const struct tool_args *a, const cJSON *r)
{
	(void)r;
	fputs("deleted ", stdout);
	client_put_safe(stdout, a->pos[0]);
	putchar('\n');
	return 0;
}

static int
print_move(const struct tool_args *a, const cJSON *r)
{
	(void)r;
	fputs("moved ", stdout);
	client_put_safe(stdout, a->pos[0]);
	fputs(" -> ", stdout);
	client_put_safe(stdout, a->pos[1]);
	putchar('\n');
	return 0;
}

static int
print_search(const struct tool_args *a, const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "matches"), *m;
	size_t n = 0;

	(void)a;
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "sentinel: the reply has no matches array\n");
		return CLIENT_EXIT_FAIL;
	}
	cJSON_ArrayForEach(m, arr)
	{
		client_put_safe(stdout, client_str(m, "path"));
		putchar(':');
		put_num(m, "line");
		putchar(':');
		client_put_safe(stdout, client_str(m, "text"));
		putchar('\n');
		n++;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "truncated")))
		fprintf(stderr,
		    "sentinel: search: stopped after %zu matches (--max)\n", n);
	return 0;
}

/* ---- the tools ------------------------------------------------------------ */

static const struct tool_def {
	const char *name;
	const char *args; /* positionals, for messages */
	int min, max;     /* how many positionals */
	unsigned flags;   /* F_* it takes */
	int (*build)(const struct tool_args *a, cJSON *body);
	int (*print)(const struct tool_args *a, const cJSON *reply);
} tools[] = {
	{ "read_file", "PATH", 1, 1, F_OFFSET | F_LENGTH, build_read, NULL },
	{ "write_file", "PATH [-]", 1, 2, F_CONTENT | F_FROM | F_MKDIRS,
	    build_write, print_write },
	{ "edit_file", "PATH", 1, 1, F_OLD | F_NEW, build_edit, print_edit },
	{ "list_dir", "[PATH]", 0, 1, 0, build_path_opt, print_list },
	{ "stat", "PATH", 1, 1, 0, build_path, print_stat },
	{ "delete", "PATH", 1, 1, F_RECURSIVE, build_delete, print_delete },
	{ "move", "FROM TO", 2, 2, F_OVERWRITE, build_move, print_move },
	{ "search", "PATTERN", 1, 1,
	    F_REGEX | F_ICASE | F_PATH | F_GLOB | F_MAX, build_search,
	    print_search },
};

static const struct tool_def *
find_tool(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

/* The bytes of a read_file reply's content, decoded. */
static int
read_content(const cJSON *r, unsigned char **data, size_t *len)
{
	const char *content = client_str(r, "content");
	const char *enc = client_str(r, "encoding");

	*data = NULL;
	*len = 0;
	if (content == NULL) {
		fprintf(stderr,
		    "sentinel: read_file: the reply has no "
		    "content\n");
		return CLIENT_EXIT_FAIL;
	}
	if (enc != NULL && strcmp(enc, "base64") == 0) {
		if (client_b64_decode(content, strlen(content), data, len) <
		    0) {
			fprintf(stderr,
			    "sentinel: read_file: content is not "
			    "base64\n");
			return CLIENT_EXIT_FAIL;
		}
		return 0;
	}
	if (enc != NULL && strcmp(enc, "utf-8") != 0) {
		fprintf(stderr, "sentinel: read_file: unknown encoding '");
		client_put_safe(stderr, enc);
		fprintf(stderr, "'\n");
		return CLIENT_EXIT_FAIL;
	}
	*len = strlen(content);
	*data = (unsigned char *)strdup(content);
	return *data != NULL ? 0 : oom();
}

/*
 * read_file without -o json: read in calls of at most 16 MiB, from
 * --offset, to EOF or until --length bytes, writing the bytes out.
 */
static int
run_read(struct tool_args *a)
{
	unsigned long long off = a->offset, want, got_total = 0;
	int limited = (a->seen & F_LENGTH) != 0, rc = 0;
	cJSON *body = NULL, *reply = NULL;
	unsigned char *data = NULL;
	size_t len;

	for (;;) {
		want = READ_CHUNK;
		if (limited && a->length - got_total < want)
			want = a->length - got_total;
		body = cJSON_CreateObject();
		if (body == NULL || add_str(body, "path", a->pos[0]) < 0 ||
		    add_num(body, "offset", off) < 0 ||
		    add_num(body, "length", want) < 0) {
			rc = oom();
			break;
		}
		rc = client_request(&a->o, "POST", a->url, body, NULL, &reply);
		if (rc != 0)
			break;
		rc = read_content(reply, &data, &len);
		if (rc != 0)
			break;
		if (len > 0 && fwrite(data, 1, len, stdout) != len) {
			fprintf(stderr, "sentinel: standard output: %m\n");
			rc = CLIENT_EXIT_FAIL;
			break;
		}
		off += len;
		got_total += len;
		if (cJSON_IsTrue(
		        cJSON_GetObjectItemCaseSensitive(reply, "eof")) ||
		    len == 0 || (limited && got_total >= a->length))
			break;
		free(data);
		data = NULL;
		cJSON_Delete(body);
		body = NULL;
		cJSON_Delete(reply);
		reply = NULL;
	}
	free(data);
	cJSON_Delete(body);
	cJSON_Delete(reply);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "sentinel: standard output: %m\n");
		rc = CLIENT_EXIT_FAIL;
	}
	return rc;
}

static int
run_tool(struct tool_args *a, const struct tool_def *t)
{
	cJSON *body = NULL, *reply = NULL;
	unsigned char *data = NULL;
	char *raw = NULL;
	size_t len;
	int rc, r;

	if (a->json_args != NULL) {
		rc = client_request_text(&a->o, "POST", a->url, a->json_args,
		    &raw, &reply);
	} else if (t->print == NULL && !a->json) {
		return run_read(a);
	} else {
		body = cJSON_CreateObject();
		if (body == NULL)
			return oom();
		r = t->build(a, body);
		if (r < 0) {
			cJSON_Delete(body);
			return r == SN_ENOMEM ? oom() : CLIENT_EXIT_FAIL;
		}
		rc = client_request(&a->o, "POST", a->url, body, &raw, &reply);
	}
	if (rc != 0)
		goto out;
	if (a->json) {
		rc = client_print_raw(raw);
	} else if (t->print != NULL) {
		rc = t->print(a, reply);
		if (fflush(stdout) != 0 && rc == 0)
			rc = CLIENT_EXIT_FAIL;
	} else {
		rc = read_content(reply, &data, &len);
		if (rc == 0 && len > 0 && fwrite(data, 1, len, stdout) != len)
			rc = CLIENT_EXIT_FAIL;
		if (fflush(stdout) != 0)
			rc = CLIENT_EXIT_FAIL;
	}
out:
	free(data);
	free(raw);
	cJSON_Delete(body);
	cJSON_Delete(reply);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

static int
cmd_tool_exec(int argc, char **argv)
{
	enum { O_WS = 256, O_JSON, O_FLAG0 };
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, O_WS },
		{ "json", required_argument, NULL, O_JSON },
		{ "offset", required_argument, NULL, O_FLAG0 + 0 },
		{ "length", required_argument, NULL, O_FLAG0 + 1 },
		{ "content", required_argument, NULL, O_FLAG0 + 2 },
		{ "from", required_argument, NULL, O_FLAG0 + 3 },
		{ "mkdirs", no_argument, NULL, O_FLAG0 + 4 },
		{ "old", required_argument, NULL, O_FLAG0 + 5 },
		{ "new", required_argument, NULL, O_FLAG0 + 6 },
		{ "recursive", no_argument, NULL, O_FLAG0 + 7 },
		{ "overwrite", no_argument, NULL, O_FLAG0 + 8 },
		{ "regex", no_argument, NULL, O_FLAG0 + 9 },
		{ "ignore-case", no_argument, NULL, O_FLAG0 + 10 },
		{ "path", required_argument, NULL, O_FLAG0 + 11 },
		{ "glob", required_argument, NULL, O_FLAG0 + 12 },
		{ "max", required_argument, NULL, O_FLAG0 + 13 },
		{ "help", no_argument, NULL, 'h' },
		CLIENT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_tool_entry;
	const struct tool_def *t;
	struct client_flags fl;
	struct tool_args a;
	char err[1024];
	unsigned bit, extra;
	cJSON *j;
	int ch, r, rc, i;

	memset(&fl, 0, sizeof(fl));
	memset(&a, 0, sizeof(a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:hi", opts, NULL)) != -1) {
		if (ch == 'i')
			ch = O_FLAG0 + 10; /* -i, --ignore-case */
		if (ch == 'h') {
			cmd_print_help(e);
			return 0;
		}
		if (ch >= O_FLAG0 && ch < O_FLAG0 + F_N_) {
			bit = 1u << (ch - O_FLAG0);
			if (a.seen & bit)
				return cmd_usage_error(e, "%s given twice",
				    flag_names[ch - O_FLAG0]);
			a.seen |= bit;
		}
		switch (ch) {
		case O_WS: a.ws = optarg; continue;
		case O_JSON: a.json_args = optarg; continue;
		case O_FLAG0 + 0:
		case O_FLAG0 + 1:
		case O_FLAG0 + 13:
			if (client_parse_num(flag_names[ch - O_FLAG0], optarg,
			        ch == O_FLAG0 + 13 ? 1 : 0,
			        ch == O_FLAG0 + 13 ?
			            MAX_RESULTS :
			            (unsigned long long)INT64_MAX,
			        ch == O_FLAG0 + 0     ? &a.offset :
			            ch == O_FLAG0 + 1 ? &a.length :
			                                &a.max,
			        err, sizeof(err)) < 0)
				return cmd_usage_error(e, "%s", err);
			continue;
		case O_FLAG0 + 2: a.content = optarg; continue;
		case O_FLAG0 + 3: a.from = optarg; continue;
		case O_FLAG0 + 5: a.old = optarg; continue;
		case O_FLAG0 + 6: a.new_ = optarg; continue;
		case O_FLAG0 + 11: a.path = optarg; continue;
		case O_FLAG0 + 12: a.glob = optarg; continue;
		case O_FLAG0 + 4:
		case O_FLAG0 + 7:
		case O_FLAG0 + 8:
		case O_FLAG0 + 9:
		case O_FLAG0 + 10: continue;
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
	if (optind >= argc)
		return cmd_usage_error(e, "expected a tool name");
	a.name = argv[optind];
	a.pos = argv + optind + 1;
	a.npos = argc - optind - 1;
	t = find_tool(a.name);
	if (t == NULL)
		return cmd_usage_error(e,
		    "unknown tool '%s' (read_file, write_file, edit_file, "
		    "list_dir, stat, delete, move, search)",
		    a.name);
	if (a.ws == NULL)
		return cmd_usage_error(e, "--workspace ID is required");
	if (!config_valid_id(a.ws))
		return cmd_usage_error(e,
		    "--workspace '%s': expected 1-64 of [A-Za-z0-9._-]", a.ws);
	if (a.json_args != NULL) {
		if (a.npos > 0 || a.seen != 0)
			return cmd_usage_error(e,
			    "--json replaces every other argument of %s",
			    t->name);
		j = cJSON_Parse(a.json_args);
		r = cJSON_IsObject(j);
		cJSON_Delete(j);
		if (!r)
			return cmd_usage_error(e, "--json: not a JSON object");
	} else {
		extra = a.seen & ~t->flags;
		if (extra != 0) {
			for (i = 0; !(extra & (1u << i)); i++)
				;
			return cmd_usage_error(e, "%s takes no %s", t->name,
			    flag_names[i]);
		}
		if (a.npos < t->min || a.npos > t->max)
			return cmd_usage_error(e, "%s expects %s", t->name,
			    t->args);
		if (strcmp(t->name, "write_file") == 0) {
			int srcs = !!(a.seen & F_CONTENT) +
			    !!(a.seen & F_FROM) + (a.npos == 2);

			if (a.npos == 2 && strcmp(a.pos[1], "-") != 0)
				return cmd_usage_error(e,
				    "write_file: unexpected argument '%s' "
				    "(- reads standard input)",
				    a.pos[1]);
			if (srcs != 1)
				return cmd_usage_error(e,
				    "write_file takes one of --content TEXT, "
				    "--from FILE or -");
		}
		if (strcmp(t->name, "edit_file") == 0 &&
		    (a.old == NULL || a.new_ == NULL))
			return cmd_usage_error(e,
			    "edit_file needs --old TEXT and --new TEXT");
	}
	a.json = fl.json;
	snprintf(a.url, sizeof(a.url), "/v1/workspaces/%s/tools/%s", a.ws,
	    t->name);
	rc = client_open(e, &fl, &a.o);
	if (rc != 0)
		return rc;
	rc = run_tool(&a, t);
	client_opts_clear(&a.o);
	return rc;
}

const struct cmd_entry cmd_tool_entry = {
	.name = "tool",
	.usage = "--workspace ID NAME [ARGS] [--json JSON] [options]",
	.summary =
	    "Call a workspace tool: read, write, edit, list, search (API)",
	.help = tool_help,
	.exec = cmd_tool_exec,
};
