/*
 * test_tools.c - the file tools of the control API (src/fs/tools.c) on a
 * real workspace root with a real policy, lock table and audit trail:
 * every tool, every refusal (deny, symlinks, bad paths, readonly, roles,
 * locks and leases, max_file_size, quota, chaos), that a refusal changes
 * nothing on disk, several threads at once, and, when FUSE is there,
 * that a mounted view sees a tool's change at once.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/config.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/policy.h"
#include "fs/tools.h"
#include "fs/view.h"
#include "tap.h"

static char topdir[] = "/tmp/sn-test-tools-XXXXXX";
static char root[512], freeroot[512], chaosroot[512], state[512];

static struct tool_result R;
static struct tool_caller alice = { "alice", "Dev", 0 };
static struct tool_caller bob = { "bob", "Dev", 0 };
static struct tool_caller reader = { "rita", "Reader", 0 };
static struct tool_caller auditor = { "aud", "Audit", 0 };

/* ---- helpers ----------------------------------------------------------- */

static void
put(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		diag("put %s: %s", p, strerror(errno));
		abort();
	}
	close(fd);
}

static void
puts_(const char *dir, const char *rel, const char *s)
{
	put(dir, rel, s, strlen(s));
}

static void
mkd(const char *dir, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mkdir(p, 0755) < 0) {
		diag("mkdir %s: %s", p, strerror(errno));
		abort();
	}
}

static void
sym(const char *dir, const char *target, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (symlink(target, p) < 0) {
		diag("symlink %s: %s", p, strerror(errno));
		abort();
	}
}

/* Content of dir/rel (malloc'd, NUL-terminated), or NULL. */
static char *
get(const char *dir, const char *rel, size_t *lenp)
{
	char p[1024], *buf;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

/* 1 if dir/rel holds exactly s. */
static int
holds(const char *dir, const char *rel, const char *s)
{
	char *c = get(dir, rel, NULL);
	int r = c != NULL && strcmp(c, s) == 0;

	free(c);
	return r;
}

static int
exists(const char *dir, const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static struct stat
lst(const char *dir, const char *rel)
{
	char p[1024];
	struct stat st;

	memset(&st, 0, sizeof(st));
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	(void)lstat(p, &st);
	return st;
}

/* A signature of everything under a tree: names, types, modes, owners,
 * sizes, contents, link targets; independent of the listing order. */
static uint64_t sig_acc;
static size_t sig_skip;

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int
sig_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	uint64_t h = 14695981039346656037ULL;
	char buf[4096];
	ssize_t n;
	int fd;

	(void)type;
	(void)f;
	h = fnv(h, path + sig_skip, strlen(path + sig_skip) + 1);
	h = fnv(h, &st->st_mode, sizeof(st->st_mode));
	h = fnv(h, &st->st_uid, sizeof(st->st_uid));
	h = fnv(h, &st->st_size, sizeof(st->st_size));
	h = fnv(h, &st->st_ino, sizeof(st->st_ino));
	if (S_ISREG(st->st_mode) && (fd = open(path, O_RDONLY)) >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			h = fnv(h, buf, (size_t)n);
		close(fd);
	} else if (S_ISLNK(st->st_mode) &&
	    (n = readlink(path, buf, sizeof(buf))) > 0) {
		h = fnv(h, buf, (size_t)n);
	}
	sig_acc += h; /* order-independent */
	return 0;
}

static uint64_t
tree_sig(const char *dir)
{
	sig_acc = 0;
	sig_skip = strlen(dir);
	if (nftw(dir, sig_one, 16, FTW_PHYS) != 0)
		return 0;
	return sig_acc;
}

/* Run tool with the JSON text args; the previous reply is freed. */
static int
run(struct workspace_fs *w, const struct tool_caller *c, const char *tool,
    const char *json)
{
	cJSON *a = NULL;

	cJSON_Delete(R.reply);
	R.reply = NULL;
	if (json != NULL) {
		a = cJSON_Parse(json);
		if (a == NULL) {
			diag("test bug: bad JSON %s", json);
			abort();
		}
	}
	int e = tool_run(w, c, tool, a, &R);
	cJSON_Delete(a);
	return e;
}

/* A refusal with errno want that changes nothing under dir. */
static int
refused(struct workspace_fs *w, const char *dir, const struct tool_caller *c,
    const char *tool, const char *json, int want, const char *desc)
{
	uint64_t before = tree_sig(dir);
	int e = run(w, c, tool, json);
	int okk = e == want && R.reply == NULL && R.message[0] != '\0';

	if (!ok(okk && tree_sig(dir) == before, "%s: %s", desc,
	        strerror(-want)))
		diag("got %d (%s), message '%s', rule '%s'", e, strerror(-e),
		    R.message, R.rule);
	return okk;
}

static const char *
rstr(const char *k)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(R.reply, k);

	return cJSON_IsString(f) ? f->valuestring : NULL;
}

static double
rnum(const char *k)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(R.reply, k);

	return cJSON_IsNumber(f) ? f->valuedouble : -1;
}

static int
rbool(const char *k)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(R.reply, k);

	return cJSON_IsBool(f) ? cJSON_IsTrue(f) : -1;
}

/* The names in a list_dir reply, joined with ',' ("~b64" for name_b64). */
static void
names_of(char *out, size_t len)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(R.reply, "entries");
	const cJSON *e;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *b =
		    cJSON_GetObjectItemCaseSensitive(e, "name_b64");
		int k = snprintf(out + o, len - o, "%s%s%s", o ? "," : "",
		    n != NULL ? "" : "~",
		    n != NULL     ? n->valuestring :
		        b != NULL ? b->valuestring :
		                    "?");

		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
}

/* The matches of a search reply as "path:line" joined with ','. */
static void
matches_of(char *out, size_t len)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(R.reply, "matches");
	const cJSON *m;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(m, arr)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "path");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "line");
		int k = snprintf(out + o, len - o, "%s%s:%d", o ? "," : "",
		    p != NULL ? p->valuestring : "?",
		    l != NULL ? (int)l->valuedouble : -1);

		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
}

static struct sn_config *
cfg_of(const char *text)
{
	struct sn_config *cfg = NULL;
	char err[512];

	if (config_parse(text, strlen(text), "t.conf", &cfg, err,
	        sizeof(err)) != 0) {
		diag("config: %s", err);
		abort();
	}
	return cfg;
}

static struct workspace_fs *
ws_of(struct sn_config *cfg, const char *id, const char *dir)
{
	struct workspace_opts o = {
		.id = id,
		.root = dir,
		.cfg = cfg,
		.wcfg = config_workspace(cfg, id),
		.state_dir = state,
	};
	struct workspace_fs *w = NULL;
	char err[512];

	if (workspace_fs_open(&o, &w, err, sizeof(err)) < 0) {
		diag("workspace_fs_open: %s", err);
		abort();
	}
	return w;
}

/* ---- the workspace ------------------------------------------------------ */

static void
populate(void)
{
	unsigned char bin[300];
	char p1[1024], p2[1024];
	size_t i;

	puts_(root, "a.txt", "hello\nworld\n");
	mkd(root, "src");
	puts_(root, "src/main.c", "int main(void)\n{\n\treturn 0;\n}\n");
	puts_(root, "src/util.c", "/* TODO: more */\nint util;\n/* todo */\n");
	mkd(root, "src/deep");
	puts_(root, "src/deep/x.h", "#define TODO 1\n");
	mkd(root, "secrets");
	puts_(root, "secrets/key", "SECRET TODO\n");
	puts_(root, "id.pem", "PEM TODO\n");
	mkd(root, "docs");
	puts_(root, "docs/readme.md", "read me\n");
	sym(root, "secrets/key", "link_secret");
	sym(root, "secrets", "dir_link");
	sym(root, "/etc/passwd", "link_out");
	sym(root, "../outside", "link_up");
	sym(root, "a.txt", "link_ok");
	sym(root, "src", "src_link");
	sym(root, "../a.txt", "src/up");
	sym(root, "../../src/../a.txt", "src/deep/rel");
	sym(root, "loop2", "loop1");
	sym(root, "loop1", "loop2");
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	memcpy(bin + 100, "TODO", 4);
	put(root, "bin.dat", bin, sizeof(bin));
	puts_(root, "bad\xff.txt", "not utf-8 name\n");
	/* a second name of a denied file, made before the workspace opens */
	snprintf(p1, sizeof(p1), "%s/secrets/key", root);
	snprintf(p2, sizeof(p2), "%s/hl_secret", root);
	if (link(p1, p2) < 0)
		abort();
	puts_(topdir, "outside", "OUTSIDE\n");
}

/* ---- the tests ---------------------------------------------------------- */

static void
test_args(struct workspace_fs *w)
{
	size_t i;
	char big[6000], json[6100];

	for (i = 0; tool_names[i] != NULL; i++)
		;
	is_int(i, 8, "eight tools");
	refused(w, root, &alice, "no_such_tool", "{}", -ENOSYS, "unknown tool");
	refused(w, root, &alice, "read_file", "{\"path\":\"a.txt\",\"x\":1}",
	    -EINVAL, "unknown field");
	has_str(R.message, "\"x\"", "the message names the field");
	refused(w, root, &alice, "read_file", "{\"path\":5}", -EINVAL,
	    "path of the wrong type");
	has_str(R.message, "path", "the message names it");
	refused(w, root, &alice, "read_file", "{}", -EINVAL, "path missing");
	refused(w, root, &alice, "read_file", "[\"a.txt\"]", -EINVAL,
	    "arguments not an object");
	refused(w, root, &alice, "read_file",
	    "{\"path\":\"a.txt\",\"path\":\"b\"}", -EINVAL, "a field twice");
	refused(w, root, &alice, "read_file",
	    "{\"path\":\"a.txt\",\"offset\":-1}", -EINVAL, "negative offset");
	refused(w, root, &alice, "read_file",
	    "{\"path\":\"a.txt\",\"offset\":1.5}", -EINVAL,
	    "fractional offset");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"n.txt\",\"content\":\"x\",\"mkdirs\":1}", -EINVAL,
	    "mkdirs not a boolean");

	refused(w, root, &alice, "read_file", "{\"path\":\"../outside\"}",
	    -EINVAL, "\"../x\"");
	refused(w, root, &alice, "read_file", "{\"path\":\"/etc/passwd\"}",
	    -EINVAL, "\"/etc/passwd\"");
	refused(w, root, &alice, "read_file",
	    "{\"path\":\"src/../../outside\"}", -EINVAL, "\"a/../../x\"");
	refused(w, root, &alice, "read_file", "{\"path\":\"src/..\"}", -EINVAL,
	    "a trailing \"..\"");
	refused(w, root, &alice, "read_file", "{\"path\":\"bad\xff.txt\"}",
	    -EINVAL, "invalid UTF-8");
	refused(w, root, &alice, "read_file", "{\"path\":\"a\xc0\xae.txt\"}",
	    -EINVAL, "an overlong UTF-8 form");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"..\",\"content\":\"x\"}", -EINVAL,
	    "write_file to \"..\"");
	refused(w, root, &alice, "move", "{\"from\":\"a.txt\",\"to\":\"../x\"}",
	    -EINVAL, "move to \"../x\"");
	refused(w, root, &alice, "delete", "{\"path\":\"/tmp\"}", -EINVAL,
	    "delete \"/tmp\"");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 100; i < sizeof(big) - 1; i += 101)
		big[i] = '/';
	snprintf(json, sizeof(json), "{\"path\":\"%s\"}", big);
	refused(w, root, &alice, "read_file", json, -EINVAL,
	    "a path over 4095 bytes");
}

static void
test_read(struct workspace_fs *w)
{
	char json[256];

	is_int(run(w, &alice, "read_file", "{\"path\":\"a.txt\"}"), 0,
	    "read_file");
	is_str(rstr("content"), "hello\nworld\n", "content");
	is_str(rstr("encoding"), "utf-8", "as UTF-8");
	ok(rnum("size") == 12 && rnum("length") == 12 && rnum("offset") == 0 &&
	        rbool("eof") == 1,
	    "size, length, offset, eof");
	is_str(R.path, "a.txt", "the path acted on");
	ok(!R.changed && !R.denied, "a read changes nothing");
	is_int(run(w, &alice, "read_file",
	           "{\"path\":\"./a.txt\",\"offset\":6,\"length\":3}"),
	    0, "read_file with offset and length");
	ok(strcmp(rstr("content"), "wor") == 0 && rbool("eof") == 0 &&
	        rnum("length") == 3,
	    "a slice, not at eof");
	is_str(rstr("path"), "a.txt", "the reply has the canonical path");
	is_int(run(w, &alice, "read_file",
	           "{\"path\":\"a.txt\",\"offset\":100}"),
	    0, "read past the end");
	ok(strcmp(rstr("content"), "") == 0 && rbool("eof") == 1,
	    "nothing, at eof");
	is_int(run(w, &alice, "read_file", "{\"path\":\"bin.dat\"}"), 0,
	    "read a binary file");
	is_str(rstr("encoding"), "base64", "as base64");
	{
		const char *c = rstr("content");

		ok(c != NULL && strncmp(c, "AAECAwQF", 8) == 0 &&
		        strlen(c) == 400,
		    "base64 of 300 bytes");
	}
	is_int(run(w, &alice, "read_file", "{\"path\":\"link_ok\"}"), 0,
	    "read through a symlink inside the root");
	is_str(rstr("content"), "hello\nworld\n", "the target's content");
	refused(w, root, &alice, "read_file", "{\"path\":\"\"}", -EISDIR,
	    "read the root");
	refused(w, root, &alice, "read_file", "{\"path\":\"src\"}", -EISDIR,
	    "read a directory");
	refused(w, root, &alice, "read_file", "{\"path\":\"nope.txt\"}",
	    -ENOENT, "read an absent file");
	ok(!R.denied, "absent is not denied");
	snprintf(json, sizeof(json), "{\"path\":\"a.txt\",\"length\":%d}",
	    TOOL_READ_MAX + 1);
	refused(w, root, &alice, "read_file", json, -EFBIG,
	    "a length over 16 MiB");

	is_int(run(w, &alice, "stat", "{\"path\":\"a.txt\"}"), 0, "stat");
	ok(strcmp(rstr("type"), "file") == 0 && rnum("size") == 12 &&
	        rnum("mode") == 0644 && rnum("nlink") == 1,
	    "type, size, mode, nlink");
	ok(rstr("mtime") != NULL && strlen(rstr("mtime")) == 30 &&
	        rstr("mtime")[29] == 'Z',
	    "mtime in RFC 3339 UTC (%s)", rstr("mtime"));
	is_int(run(w, &alice, "stat", "{\"path\":\"link_ok\"}"), 0,
	    "stat a symlink");
	is_str(rstr("type"), "symlink", "the link itself");
	is_int(run(w, &alice, "stat", "{\"path\":\".\"}"), 0, "stat the root");
	is_str(rstr("type"), "dir", "a dir");

	is_int(run(w, &alice, "list_dir", "{}"), 0, "list_dir of the root");
	{
		char names[1024];

		names_of(names, sizeof(names));
		is_str(names,
		    "a.txt,~YmFk/y50eHQ=,bin.dat,dir_link,docs,link_ok,"
		    "link_out,link_secret,link_up,loop1,loop2,src,src_link",
		    "sorted; hidden ones left out; a non-UTF-8 name in base64");
	}
	is_int(run(w, &alice, "list_dir", "{\"path\":\"src_link\"}"), 0,
	    "list_dir through a symlinked directory");
	{
		char names[256];

		names_of(names, sizeof(names));
		is_str(names, "deep,main.c,up,util.c", "its entries");
	}
	refused(w, root, &alice, "list_dir", "{\"path\":\"a.txt\"}", -ENOTDIR,
	    "list a file");
}

static void
test_deny(struct workspace_fs *w)
{
	char absent[256];

	refused(w, root, &alice, "read_file", "{\"path\":\"nope/key\"}",
	    -ENOENT, "absent");
	snprintf(absent, sizeof(absent), "%s", R.message);
	refused(w, root, &alice, "read_file", "{\"path\":\"secrets/key\"}",
	    -ENOENT, "read a denied file");
	ok(R.denied && strcmp(R.rule, "deny:secrets") == 0,
	    "denied, by deny:secrets (%s)", R.rule);
	ok(strstr(R.message, "deny") == NULL &&
	        strcmp(R.message + strlen("secrets/key"),
	            absent + strlen("nope/key")) == 0,
	    "the message is an absent path's: '%s'", R.message);
	refused(w, root, &alice, "read_file", "{\"path\":\"id.pem\"}", -ENOENT,
	    "read a denied *.pem");
	refused(w, root, &alice, "stat", "{\"path\":\"secrets\"}", -ENOENT,
	    "stat a denied directory");
	refused(w, root, &alice, "stat", "{\"path\":\"secrets/key\"}", -ENOENT,
	    "stat beneath it");
	refused(w, root, &alice, "list_dir", "{\"path\":\"secrets\"}", -ENOENT,
	    "list a denied directory");
	refused(w, root, &alice, "read_file", "{\"path\":\"hl_secret\"}",
	    -ENOENT, "read another name (hard link) of a denied file");
	has_str(R.rule, "another name", "by the link map");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"hl_secret\",\"content\":\"x\"}", -ENOENT,
	    "write it through that name");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"secrets/new\",\"content\":\"x\"}", -ENOENT,
	    "create in a denied directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"secrets/a/b\",\"content\":\"x\",\"mkdirs\":true}",
	    -ENOENT, "mkdirs into a denied directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"id.pem\",\"content\":\"x\"}", -ENOENT,
	    "overwrite a denied file");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"new.pem\",\"content\":\"x\"}", -ENOENT,
	    "create a denied name");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"secrets/key\",\"old\":\"SECRET\",\"new\":\"x\"}",
	    -ENOENT, "edit a denied file");
	refused(w, root, &alice, "delete", "{\"path\":\"secrets/key\"}",
	    -ENOENT, "delete a denied file");
	refused(w, root, &alice, "delete",
	    "{\"path\":\"secrets\",\"recursive\":true}", -ENOENT,
	    "delete a denied directory");
	refused(w, root, &alice, "move",
	    "{\"from\":\"secrets/key\",\"to\":\"stolen\"}", -ENOENT,
	    "move from a denied path");
	refused(w, root, &alice, "move",
	    "{\"from\":\"a.txt\",\"to\":\"secrets/a.txt\"}", -ENOENT,
	    "move onto a denied path");
	refused(w, root, &alice, "move",
	    "{\"from\":\"a.txt\",\"to\":\"x.pem\"}", -ENOENT,
	    "move to a denied name");
}

static void
test_symlinks(struct workspace_fs *w)
{
	refused(w, root, &alice, "read_file", "{\"path\":\"link_secret\"}",
	    -ENOENT, "a symlink to a denied file");
	ok(strstr(R.message, "secrets") == NULL,
	    "the message does not name the target ('%s')", R.message);
	refused(w, root, &alice, "read_file", "{\"path\":\"dir_link/key\"}",
	    -ENOENT, "through a symlink to a denied directory");
	refused(w, root, &alice, "list_dir", "{\"path\":\"dir_link\"}", -ENOENT,
	    "list a symlink to a denied directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"link_secret\",\"content\":\"pwned\"}", -ENOENT,
	    "write through a symlink to a denied file");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"link_secret\",\"old\":\"SECRET\",\"new\":\"x\"}",
	    -ENOENT, "edit through it");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"dir_link/new\",\"content\":\"x\"}", -ENOENT,
	    "create through a symlink to a denied directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"dir_link/n/f\",\"content\":\"x\",\"mkdirs\":true}",
	    -ENOENT, "mkdirs through a symlink to a denied directory");
	refused(w, root, &alice, "read_file", "{\"path\":\"link_out\"}",
	    -ENOENT, "a symlink to /etc/passwd");
	refused(w, root, &alice, "read_file", "{\"path\":\"link_up\"}", -ENOENT,
	    "a symlink out of the root (../outside)");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"link_up\",\"content\":\"x\"}", -ENOENT,
	    "write through a symlink out of the root");
	ok(holds(topdir, "outside", "OUTSIDE\n"), "outside untouched");
	refused(w, root, &alice, "search",
	    "{\"pattern\":\"x\",\"path\":\"link_up\"}", -ENOENT,
	    "search from a symlink out of the root");
	refused(w, root, &alice, "move", "{\"from\":\"src/up\",\"to\":\"up\"}",
	    -EACCES,
	    "move a symlink where it would point out (symlinks = inside)");
	is_int(run(w, &alice, "read_file", "{\"path\":\"src/up\"}"), 0,
	    "where it is, it points inside");
	is_int(run(w, &alice, "read_file", "{\"path\":\"src/deep/rel\"}"), 0,
	    "a symlink climbing with \"..\" but staying inside");
	is_str(rstr("content"), "hello\nworld\n", "reaches a.txt");
	is_str(R.path, "a.txt", "its real path");
	refused(w, root, &alice, "read_file", "{\"path\":\"loop1\"}", -EINVAL,
	    "a symlink loop");
}

static void
test_readonly_roles(struct workspace_fs *w)
{
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"docs/readme.md\",\"content\":\"x\"}", -EROFS,
	    "write a readonly file");
	ok(R.denied && strcmp(R.rule, "readonly:docs") == 0, "rule %s", R.rule);
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"docs/new.md\",\"content\":\"x\"}", -EROFS,
	    "create in a readonly directory");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"docs/readme.md\",\"old\":\"read\",\"new\":\"x\"}",
	    -EROFS, "edit a readonly file");
	refused(w, root, &alice, "delete", "{\"path\":\"docs/readme.md\"}",
	    -EROFS, "delete a readonly file");
	refused(w, root, &alice, "move",
	    "{\"from\":\"docs/readme.md\",\"to\":\"r.md\"}", -EROFS,
	    "move a readonly file away");
	refused(w, root, &alice, "move",
	    "{\"from\":\"a.txt\",\"to\":\"docs/a.txt\"}", -EROFS,
	    "move into a readonly directory");
	is_int(run(w, &alice, "read_file", "{\"path\":\"docs/readme.md\"}"), 0,
	    "a readonly file can be read");

	refused(w, root, &reader, "write_file",
	    "{\"path\":\"r.txt\",\"content\":\"x\"}", -EROFS,
	    "Reader cannot write");
	is_str(R.rule, "role Reader lacks edit_file", "rule: the role");
	refused(w, root, &reader, "delete", "{\"path\":\"a.txt\"}", -EROFS,
	    "Reader cannot delete");
	is_int(run(w, &reader, "read_file", "{\"path\":\"a.txt\"}"), 0,
	    "Reader reads");
	refused(w, root, &auditor, "read_file", "{\"path\":\"a.txt\"}", -EACCES,
	    "Audit cannot read content");
	refused(w, root, &auditor, "list_dir", "{}", -EACCES,
	    "nor list a directory");
	refused(w, root, &auditor, "search", "{\"pattern\":\"TODO\"}", -EACCES,
	    "nor search");
	is_int(run(w, &auditor, "stat", "{\"path\":\"a.txt\"}"), 0,
	    "but may stat (as through a view)");
}

static void
test_locks(struct workspace_fs *w)
{
	struct lock_table *lt = workspace_fs_locks(w);
	struct lock_info li, sub;
	uint64_t lease;

	if (!ok(lt != NULL, "the workspace has a lock table"))
		return;
	is_int(lock_acquire(lt, "src/main.c", "bob", 0, 60000, &li), 0,
	    "bob locks src/main.c");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"src/main.c\",\"content\":\"x\"}", -EBUSY,
	    "alice cannot write it");
	ok(strcmp(R.holder, "bob") == 0 && R.expires_ns == li.expires_ns &&
	        R.denied,
	    "holder and expiry given");
	has_str(R.rule, "held by bob", "rule names the lock");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src/main.c\",\"old\":\"main\",\"new\":\"x\"}", -EBUSY,
	    "nor edit it");
	refused(w, root, &alice, "delete", "{\"path\":\"src/main.c\"}", -EBUSY,
	    "nor delete it");
	refused(w, root, &alice, "move",
	    "{\"from\":\"src/main.c\",\"to\":\"m.c\"}", -EBUSY,
	    "nor move it away");
	refused(w, root, &alice, "move",
	    "{\"from\":\"a.txt\",\"to\":\"src/main.c\",\"overwrite\":true}",
	    -EBUSY, "nor move onto it");
	refused(w, root, &alice, "delete",
	    "{\"path\":\"src\",\"recursive\":true}", -EBUSY,
	    "nor delete its directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"src_link/main.c\",\"content\":\"x\"}", -EBUSY,
	    "nor write it through a symlinked directory");
	is_int(run(w, &alice, "read_file", "{\"path\":\"src/main.c\"}"), 0,
	    "alice may read it");
	is_int(run(w, &bob, "edit_file",
	           "{\"path\":\"src/main.c\",\"old\":\"return 0\","
	           "\"new\":\"return 1\"}"),
	    0, "bob, who holds the lock, may edit it");
	ok(holds(root, "src/main.c", "int main(void)\n{\n\treturn 1;\n}\n"),
	    "edited");
	is_int(lock_release(lt, li.id, "bob"), 0, "bob releases");
	is_int(run(w, &alice, "edit_file",
	           "{\"path\":\"src/main.c\",\"old\":\"return 1\","
	           "\"new\":\"return 0\"}"),
	    0, "then alice may edit it");

	is_int(lock_acquire(lt, "src", "bob", 1, 60000, &sub), 0,
	    "bob locks the subtree src");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"src/deep/new.h\",\"content\":\"x\"}", -EBUSY,
	    "alice cannot create beneath it");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"src/n1/n2/f\",\"content\":\"x\",\"mkdirs\":true}",
	    -EBUSY, "nor make directories beneath it");
	(void)lock_release(lt, sub.id, "bob");

	is_int(lock_lease_acquire(lt, "a.txt", "bob", &lease, NULL), 0,
	    "bob holds a write lease on a.txt (a view's open)");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"a.txt\",\"content\":\"x\"}", -EBUSY,
	    "alice cannot write it");
	ok(strcmp(R.holder, "bob") == 0 && R.expires_ns == 0,
	    "a lease: holder bob, no expiry");
	(void)lock_lease_release(lt, lease);
	ok(holds(root, "a.txt", "hello\nworld\n"), "a.txt untouched");
}

static void
test_write(struct workspace_fs *w)
{
	struct stat st;
	char big[1100], json[1300];

	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"new.txt\",\"content\":\"fresh\\n\"}"),
	    0, "write_file creates");
	ok(rbool("created") == 1 && rnum("bytes") == 6 && R.changed &&
	        R.bytes == 6,
	    "created, 6 bytes, changed");
	ok(holds(root, "new.txt", "fresh\n"), "on disk");
	st = lst(root, "new.txt");
	is_int(st.st_mode & 07777, 0644, "mode 0644");
	if (geteuid() == 0)
		ok(st.st_uid == 1234 && st.st_gid == 2345,
		    "owned by the workspace's uid:gid (%d:%d)", (int)st.st_uid,
		    (int)st.st_gid);
	else
		skip(1, "not root: no chown");
	{
		char p[1024];

		snprintf(p, sizeof(p), "%s/new.txt", root);
		(void)chmod(p, 0750);
	}
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"new.txt\",\"content\":\"again\"}"),
	    0, "write_file replaces");
	ok(rbool("created") == 0 && holds(root, "new.txt", "again"),
	    "not created; new content");
	is_int(lst(root, "new.txt").st_mode & 07777, 0750, "mode kept");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"b64.bin\",\"content\":\"AAEC/w==\","
	           "\"encoding\":\"base64\"}"),
	    0, "write base64");
	{
		size_t n = 0;
		char *c = get(root, "b64.bin", &n);

		ok(c != NULL && n == 4 && memcmp(c, "\0\1\2\377", 4) == 0,
		    "4 bytes decoded");
		free(c);
	}
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"x.bin\",\"content\":\"AA=A\",\"encoding\":\"base64\"}",
	    -EINVAL, "bad base64");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"x.bin\",\"content\":\"x\",\"encoding\":\"latin1\"}",
	    -EINVAL, "unknown encoding");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"no/such/dir/f\",\"content\":\"x\"}", -ENOENT,
	    "a missing parent without mkdirs");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"made/a/b/f.txt\",\"content\":\"deep\","
	           "\"mkdirs\":true}"),
	    0, "mkdirs makes the parents");
	ok(holds(root, "made/a/b/f.txt", "deep") &&
	        (lst(root, "made/a").st_mode & 07777) == 0755,
	    "there, directories 0755");
	if (geteuid() == 0)
		ok(lst(root, "made/a").st_uid == 1234,
		    "directories owned by the workspace's uid");
	else
		skip(1, "not root");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"src\",\"content\":\"x\"}", -EISDIR,
	    "write onto a directory");
	refused(w, root, &alice, "write_file",
	    "{\"path\":\"a.txt/x\",\"content\":\"x\"}", -ENOTDIR,
	    "write beneath a file");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"link_ok\",\"content\":\"via link\\n\"}"),
	    0, "write through a symlink inside the root");
	ok(holds(root, "a.txt", "via link\n") &&
	        S_ISLNK(lst(root, "link_ok").st_mode),
	    "the target changed, the link stays");
	is_str(R.path, "a.txt", "the path acted on is the target's");
	puts_(root, "a.txt", "hello\nworld\n");

	memset(big, 'x', sizeof(big));
	snprintf(json, sizeof(json),
	    "{\"path\":\"big.txt\",\"content\":\"%.*s\"}", 1001, big);
	refused(w, root, &alice, "write_file", json, -EFBIG,
	    "over max_file_size");
	is_str(R.rule, "max_file_size:1000", "rule");
	snprintf(json, sizeof(json),
	    "{\"path\":\"big.txt\",\"content\":\"%.*s\"}", 1000, big);
	is_int(run(w, &alice, "write_file", json), 0, "at max_file_size");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"big.txt\",\"old\":\"xxxxxxxxxx\",\"new\":\"yy\"}",
	    -ENOTUNIQ, "edit: ambiguous");
	is_str(R.reason, "ambiguous", "reason ambiguous");
}

static void
test_edit(struct workspace_fs *w)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/src/util.c", root);
	(void)chmod(p, 0600);
	is_int(run(w, &alice, "edit_file",
	           "{\"path\":\"src/util.c\",\"old\":\"int util;\","
	           "\"new\":\"long util;\"}"),
	    0, "edit_file");
	ok(holds(root, "src/util.c",
	       "/* TODO: more */\nlong util;\n/* todo */\n"),
	    "one occurrence replaced");
	ok(rnum("bytes") == 39 && R.changed, "bytes: the new size");
	is_int(lst(root, "src/util.c").st_mode & 07777, 0600, "mode kept");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src/util.c\",\"old\":\"absent text\",\"new\":\"x\"}",
	    -ENODATA, "no match");
	is_str(R.reason, "no_match", "reason no_match");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src/util.c\",\"old\":\"*/\",\"new\":\"x\"}", -ENOTUNIQ,
	    "two matches");
	is_str(R.reason, "ambiguous", "reason ambiguous");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src/util.c\",\"old\":\"\",\"new\":\"x\"}", -EINVAL,
	    "empty old");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src/util.c\",\"old\":\"x\"}", -EINVAL, "new missing");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"src\",\"old\":\"x\",\"new\":\"y\"}", -EISDIR,
	    "edit a directory");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"nope.c\",\"old\":\"x\",\"new\":\"y\"}", -ENOENT,
	    "edit an absent file");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"e.txt\",\"content\":\"" /* 992 bytes */
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789"
	           "01234567890123456789012345678END\"}"),
	    0, "a 992-byte file");
	refused(w, root, &alice, "edit_file",
	    "{\"path\":\"e.txt\",\"old\":\"END\",\"new\":\"THE END, THE END, THE END\"}",
	    -EFBIG, "an edit over max_file_size");
}

static void
test_move_delete(struct workspace_fs *w)
{
	puts_(root, "m1.txt", "one");
	puts_(root, "m2.txt", "two");
	refused(w, root, &alice, "move",
	    "{\"from\":\"m1.txt\",\"to\":\"m2.txt\"}", -EEXIST,
	    "move onto an existing file");
	is_int(run(w, &alice, "move",
	           "{\"from\":\"m1.txt\",\"to\":\"m2.txt\","
	           "\"overwrite\":true}"),
	    0, "with overwrite");
	ok(!exists(root, "m1.txt") && holds(root, "m2.txt", "one") && R.changed,
	    "moved over it");
	ok(strcmp(rstr("from"), "m1.txt") == 0 &&
	        strcmp(rstr("to"), "m2.txt") == 0 &&
	        strcmp(R.path, "m1.txt") == 0 && strcmp(R.path2, "m2.txt") == 0,
	    "from, to");
	is_int(run(w, &alice, "move",
	           "{\"from\":\"made\",\"to\":\"src/made\"}"),
	    0, "move a directory");
	ok(holds(root, "src/made/a/b/f.txt", "deep"), "with what it holds");
	refused(w, root, &alice, "move",
	    "{\"from\":\"src\",\"to\":\"src/made/in\"}", -EINVAL,
	    "move a directory into itself");
	refused(w, root, &alice, "move", "{\"from\":\"gone\",\"to\":\"x\"}",
	    -ENOENT, "move an absent file");
	refused(w, root, &alice, "move", "{\"from\":\"\",\"to\":\"x\"}",
	    -EINVAL, "move the root");

	refused(w, root, &alice, "delete", "{\"path\":\"src/made\"}",
	    -ENOTEMPTY, "delete a non-empty directory");
	refused(w, root, &alice, "delete", "{\"path\":\"\"}", -EINVAL,
	    "delete the root");
	mkd(root, "mixed");
	puts_(root, "mixed/x.txt", "x");
	mkd(root, "mixed/sub");
	puts_(root, "mixed/sub/k.pem", "k");
	refused(w, root, &alice, "delete",
	    "{\"path\":\"mixed\",\"recursive\":true}", -ENOTEMPTY,
	    "recursive delete over a hidden file");
	ok(exists(root, "mixed/x.txt") && strcmp(R.rule, "deny:*.pem") == 0,
	    "nothing went (rule %s)", R.rule);
	is_int(run(w, &alice, "delete",
	           "{\"path\":\"src/made\",\"recursive\":true}"),
	    0, "recursive delete");
	ok(!exists(root, "src/made") && rbool("deleted") == 1, "gone");
	is_int(run(w, &alice, "delete", "{\"path\":\"m2.txt\"}"), 0,
	    "delete a file");
	ok(!exists(root, "m2.txt"), "gone");
	is_int(run(w, &alice, "delete", "{\"path\":\"link_up\"}"), 0,
	    "delete a symlink (not what it points to)");
	ok(!exists(root, "link_up") && holds(topdir, "outside", "OUTSIDE\n"),
	    "the link went, its target stayed");
	refused(w, root, &alice, "delete", "{\"path\":\"m2.txt\"}", -ENOENT,
	    "delete an absent file");
}

static void
test_search(struct workspace_fs *w)
{
	char m[2048];

	is_int(run(w, &alice, "search", "{\"pattern\":\"TODO\"}"), 0,
	    "search a fixed string");
	matches_of(m, sizeof(m));
	is_str(m, "src/deep/x.h:1,src/util.c:1",
	    "not in binary, hidden or linked-to-hidden files, not through "
	    "symlinks");
	ok(rbool("truncated") == 0, "not truncated");
	{
		const cJSON *a =
		    cJSON_GetObjectItemCaseSensitive(R.reply, "matches");
		const cJSON *t =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 1),
		        "text");

		is_str(t != NULL ? t->valuestring : NULL, "/* TODO: more */",
		    "the line's text");
	}
	is_int(run(w, &alice, "search",
	           "{\"pattern\":\"todo\",\"ignore_case\":true}"),
	    0, "ignore_case");
	matches_of(m, sizeof(m));
	is_str(m, "src/deep/x.h:1,src/util.c:1,src/util.c:3", "three lines");
	is_int(run(w, &alice, "search",
	           "{\"pattern\":\"^int +main\\\\(\",\"regex\":true}"),
	    0, "a regex");
	matches_of(m, sizeof(m));
	is_str(m, "src/main.c:1", "anchored at the line");
	is_int(run(w, &alice, "search",
	           "{\"pattern\":\"todo|TODO\",\"regex\":true,"
	           "\"glob\":\"src/*.c\"}"),
	    0, "a glob");
	matches_of(m, sizeof(m));
	is_str(m, "src/util.c:1,src/util.c:3", "only src/*.c");
	is_int(run(w, &alice, "search",
	           "{\"pattern\":\"o\",\"path\":\"src\",\"max_results\":2}"),
	    0, "max_results");
	ok(cJSON_GetArraySize(
	       cJSON_GetObjectItemCaseSensitive(R.reply, "matches")) == 2 &&
	        rbool("truncated") == 1,
	    "two, truncated");
	refused(w, root, &alice, "search", "{\"pattern\":\"(\",\"regex\":true}",
	    -EINVAL, "a bad regex");
	has_str(R.message, "pattern", "the message says why");
	refused(w, root, &alice, "search",
	    "{\"pattern\":\"x\",\"max_results\":0}", -EINVAL, "max_results 0");
	refused(w, root, &alice, "search",
	    "{\"pattern\":\"x\",\"max_results\":10001}", -EINVAL,
	    "max_results 10001");
	refused(w, root, &alice, "search",
	    "{\"pattern\":\"x\",\"glob\":\"a//b\"}", -EINVAL, "a bad glob");
	refused(w, root, &alice, "search", "{\"pattern\":\"\"}", -EINVAL,
	    "an empty pattern");
	refused(w, root, &alice, "search",
	    "{\"pattern\":\"x\",\"path\":\"secrets\"}", -ENOENT,
	    "search a denied directory");
}

static void
test_quota(struct workspace_fs *w)
{
	char json[1200], content[901], name[32];
	int i, e = 0;

	memset(content, 'q', 900);
	content[900] = '\0';
	for (i = 0; i < 20; i++) {
		snprintf(json, sizeof(json),
		    "{\"path\":\"q%d.txt\",\"content\":\"%s\"}", i, content);
		snprintf(name, sizeof(name), "q%d.txt", i);
		e = run(w, &alice, "write_file", json);
		if (e != 0)
			break;
	}
	is_int(e, -EDQUOT, "900-byte files until the quota (%d written)", i);
	ok(R.denied && strncmp(R.rule, "quota:", 6) == 0 && !exists(root, name),
	    "rule %s; the refused file is not there", R.rule);
	is_int(run(w, &alice, "delete", "{\"path\":\"q0.txt\"}"), 0,
	    "delete one");
	is_int(run(w, &alice, "write_file", json), 0,
	    "then the write fits again");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"q1.txt\",\"content\":\"small\"}"),
	    0, "shrinking a file is allowed");
}

static void
test_chaos(struct sn_config *cfg)
{
	struct workspace_fs *w = ws_of(cfg, "c", chaosroot);
	int e;

	puts_(chaosroot, "f.txt", "chaos\n");
	e = run(w, &alice, "write_file",
	    "{\"path\":\"f.txt\",\"content\":\"x\"}");
	ok((e == -ETIMEDOUT || e == -ENOSPC) && R.injected && R.denied &&
	        strncmp(R.rule, "chaos:", 6) == 0,
	    "chaos (rate 1, scope api) fails a write: %s (%s)", strerror(-e),
	    R.rule);
	ok(holds(chaosroot, "f.txt", "chaos\n"), "nothing written");
	is_int(run(w, &alice, "read_file", "{\"path\":\"f.txt\"}"), 0,
	    "reads never fail");
	cJSON_Delete(R.reply);
	R.reply = NULL;
	workspace_fs_free(w);
}

/* ---- threads ------------------------------------------------------------ */

struct thr {
	struct workspace_fs *w;
	int id;
	atomic_int *bad;
};

static void *
worker(void *arg)
{
	struct thr *th = arg;
	struct tool_caller me = { th->id % 2 ? "alice" : "bob", "Dev", 0 };
	char json[1024], want[600], path[32];
	struct tool_result r;
	int i;

	me.perms = alice.perms;
	for (i = 0; i < 30; i++) {
		cJSON *a;
		int e, n = 50 + (i * 7 + th->id) % 400;
		const cJSON *c;

		memset(want, 'a' + (th->id + i) % 26, (size_t)n);
		want[n] = '\0';
		snprintf(path, sizeof(path), "t%d.txt", th->id);
		snprintf(json, sizeof(json),
		    "{\"path\":\"%s\",\"content\":\"%s\"}", path, want);
		a = cJSON_Parse(json);
		e = tool_run(th->w, &me, "write_file", a, &r);
		cJSON_Delete(a);
		cJSON_Delete(r.reply);
		if (e != 0) {
			diag("write %s: %s", path, r.message);
			atomic_fetch_add(th->bad, 1);
		}
		snprintf(json, sizeof(json), "{\"path\":\"%s\"}", path);
		a = cJSON_Parse(json);
		e = tool_run(th->w, &me, "read_file", a, &r);
		cJSON_Delete(a);
		c = cJSON_GetObjectItemCaseSensitive(r.reply, "content");
		if (e != 0 || !cJSON_IsString(c) ||
		    strcmp(c->valuestring, want) != 0) {
			diag("read %s: %s", path, e ? r.message : "differs");
			atomic_fetch_add(th->bad, 1);
		}
		cJSON_Delete(r.reply);

		/* one file for all: whole versions only, never a mix */
		memset(want, 'A' + th->id, 500);
		want[500] = '\0';
		snprintf(json, sizeof(json),
		    "{\"path\":\"shared.txt\",\"content\":\"%s\"}", want);
		a = cJSON_Parse(json);
		e = tool_run(th->w, &me, "write_file", a, &r);
		cJSON_Delete(a);
		cJSON_Delete(r.reply);
		if (e != 0 && e != -EBUSY) { /* the other agent's lease */
			diag("write shared.txt: %s", r.message);
			atomic_fetch_add(th->bad, 1);
		}
		a = cJSON_Parse("{\"path\":\"shared.txt\"}");
		e = tool_run(th->w, &me, "read_file", a, &r);
		cJSON_Delete(a);
		c = cJSON_GetObjectItemCaseSensitive(r.reply, "content");
		if (e != 0 || !cJSON_IsString(c) ||
		    strlen(c->valuestring) != 500 ||
		    strspn(c->valuestring, (char[]){ c->valuestring[0], 0 }) !=
		        500) {
			diag("read shared.txt: %s", e ? r.message : "torn");
			atomic_fetch_add(th->bad, 1);
		}
		cJSON_Delete(r.reply);
	}
	return NULL;
}

static void
test_threads(struct workspace_fs *w)
{
	enum { N = 4 };
	pthread_t tid[N];
	struct thr th[N];
	atomic_int bad = 0;
	int i;

	for (i = 0; i < N; i++) {
		th[i].w = w;
		th[i].id = i;
		th[i].bad = &bad;
		pthread_create(&tid[i], NULL, worker, &th[i]);
	}
	for (i = 0; i < N; i++)
		pthread_join(tid[i], NULL);
	is_int(atomic_load(&bad), 0,
	    "%d threads writing and reading their own and one shared file", N);
	ok(!exists(freeroot, "shared.txt") ||
	        lst(freeroot, "shared.txt").st_size == 500,
	    "the shared file is whole");
}

static void
test_free(struct workspace_fs *w)
{
	char p[1024], m[256];
	int fd;

	/* a sparse file over the search cap */
	snprintf(p, sizeof(p), "%s/huge.txt", freeroot);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "TODO\n", 5) != 5 ||
	    ftruncate(fd, TOOL_READ_MAX + 1) < 0)
		abort();
	close(fd);
	puts_(freeroot, "small.txt", "TODO\n");
	is_int(run(w, &alice, "search", "{\"pattern\":\"TODO\"}"), 0,
	    "search a root with a file over 16 MiB");
	matches_of(m, sizeof(m));
	is_str(m, "small.txt:1", "the big one is skipped");
	refused(w, freeroot, &alice, "read_file", "{\"path\":\"huge.txt\"}",
	    -EFBIG, "read_file of it whole");
	is_int(run(w, &alice, "read_file",
	           "{\"path\":\"huge.txt\",\"length\":5}"),
	    0, "a slice of it");
	is_str(rstr("content"), "TODO\n", "its first bytes");
	unlink(p);
}

/* ---- a race against the boundary --------------------------------------- */

struct swapper {
	char d[600], x[600];
	atomic_int stop;
	long swaps;
};

static void *
swap_loop(void *arg)
{
	struct swapper *sw = arg;

	/* bounded, and yielding: a race, not a CPU hog (nor, under
	 * valgrind, a thread that starves the others) */
	while (!atomic_load(&sw->stop) && sw->swaps < 2000000) {
		if (renameat2(AT_FDCWD, sw->d, AT_FDCWD, sw->x,
		        RENAME_EXCHANGE) == 0)
			sw->swaps++;
		if (sw->swaps % 16 == 0)
			sched_yield();
	}
	return NULL;
}

/*
 * race/d is, in turn and as fast as another thread can swap it, a real
 * directory and a symlink to a directory outside the root: a tool must
 * never read or write outside.
 */
static void
test_race(struct workspace_fs *w, int by_walk)
{
	struct swapper sw;
	pthread_t tid;
	char odir[600], names[256];
	int i, outside = 0, inside = 0, wrote_out = 0;

	tool_resolve_by_walk(by_walk);
	snprintf(odir, sizeof(odir), "%s/odir", topdir);
	(void)mkdir(odir, 0755);
	puts_(topdir, "odir/secret.txt", "OUTSIDE");
	puts_(topdir, "odir/only_outside", "x");
	memset(&sw, 0, sizeof(sw));
	snprintf(sw.d, sizeof(sw.d), "%s/race/d", freeroot);
	snprintf(sw.x, sizeof(sw.x), "%s/race/x", freeroot);
	if (!exists(freeroot, "race")) {
		mkd(freeroot, "race");
		mkd(freeroot, "race/d");
		puts_(freeroot, "race/d/secret.txt", "inside");
		sym(freeroot, odir, "race/x");
	}
	pthread_create(&tid, NULL, swap_loop, &sw);
	for (i = 0; i < 400; i++) {
		const char *c;

		if (run(w, &alice, "read_file",
		        "{\"path\":\"race/d/secret.txt\"}") == 0) {
			c = rstr("content");
			if (c != NULL && strcmp(c, "OUTSIDE") == 0)
				outside++;
			else
				inside++;
		}
		(void)run(w, &alice, "write_file",
		    "{\"path\":\"race/d/w.txt\",\"content\":\"x\"}");
		if (exists(topdir, "odir/w.txt"))
			wrote_out++;
		if (run(w, &alice, "list_dir", "{\"path\":\"race/d\"}") == 0) {
			names_of(names, sizeof(names));
			if (strstr(names, "only_outside") != NULL)
				outside++;
		}
	}
	atomic_store(&sw.stop, 1);
	pthread_join(tid, NULL);
	ok(outside == 0 && wrote_out == 0,
	    "%s: %ld swaps, %d reads inside, none outside (reads, lists), "
	    "nothing written outside",
	    by_walk ? "walk" : "openat2", sw.swaps, inside);
	tool_resolve_by_walk(0);
}

/* ---- a mounted view sees a tool's change at once ----------------------- */

/*
 * What another process sees at path through the view: its size (-1 when
 * absent) and content, from stat(1) and cat(1).  Another process, for
 * valgrind holds its one lock across this process's stat(2), which the
 * view's threads of this same process would have to answer.
 */
static long
peek(const char *path, char *buf, size_t len)
{
	char out[256];
	size_t got = 0;
	ssize_t n;
	long size;
	pid_t pid;
	int pfd[2];
	char *nl;

	buf[0] = '\0';
	if (pipe(pfd) < 0)
		return -2;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execlp("sh", "sh", "-c",
		    "stat -c %s -- \"$1\" 2>/dev/null || echo -1; "
		    "cat -- \"$1\" 2>/dev/null",
		    "sh", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && got < sizeof(out) - 1 &&
	    (n = read(pfd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	close(pfd[0]);
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
	out[got] = '\0';
	nl = strchr(out, '\n');
	if (pid < 0 || nl == NULL)
		return -2;
	*nl = '\0';
	size = strtol(out, NULL, 10);
	snprintf(buf, len, "%s", nl + 1);
	return size;
}

static void
test_view(struct workspace_fs *w)
{
	char mnt[600], p[700], buf[64];
	struct view_opts vo;
	struct view *v = NULL;
	char err[512];

	snprintf(mnt, sizeof(mnt), "%s/mnt", topdir);
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0 ||
	    mkdir(mnt, 0755) < 0) {
		skip(9, "no FUSE here");
		return;
	}
	memset(&vo, 0, sizeof(vo));
	vo.name = "v";
	vo.workspace = "f";
	vo.agent = "viewer";
	vo.role = "Dev";
	vo.root = freeroot;
	vo.mountpoint = mnt;
	vo.cache_timeout = 3600; /* long caches: only invalidation helps */
	vo.threads = 2;
	if (view_new(w, &vo, &v, err, sizeof(err)) < 0 || view_start(v) < 0) {
		diag("view: %s", err);
		view_free(v);
		skip(9, "cannot mount a view");
		return;
	}
	puts_(freeroot, "vis.txt", "v1\n");
	snprintf(p, sizeof(p), "%s/vis.txt", mnt);
	is_int(peek(p, buf, sizeof(buf)), 3, "the view sees vis.txt");
	is_str(buf, "v1\n", "and reads it (now in its caches)");
	is_int(run(w, &alice, "write_file",
	           "{\"path\":\"vis.txt\",\"content\":\"version two\\n\"}"),
	    0, "a tool rewrites it");
	ok(peek(p, buf, sizeof(buf)) == 12 && strcmp(buf, "version two\n") == 0,
	    "the view sees the new size and content at once ('%s')", buf);
	snprintf(p, sizeof(p), "%s/born.txt", mnt);
	is_int(peek(p, buf, sizeof(buf)), -1,
	    "born.txt absent (a negative entry cached)");
	(void)run(w, &alice, "write_file",
	    "{\"path\":\"born.txt\",\"content\":\"b\"}");
	is_int(peek(p, buf, sizeof(buf)), 1,
	    "a tool creates it: the view sees it");
	(void)run(w, &alice, "move",
	    "{\"from\":\"born.txt\",\"to\":\"moved.txt\"}");
	ok(peek(p, buf, sizeof(buf)) == -1, "moved: the old name is gone");
	snprintf(p, sizeof(p), "%s/moved.txt", mnt);
	is_int(peek(p, buf, sizeof(buf)), 1, "and the new name is there");
	(void)run(w, &alice, "delete", "{\"path\":\"moved.txt\"}");
	is_int(peek(p, buf, sizeof(buf)), -1, "deleted: gone in the view");
	cJSON_Delete(R.reply);
	R.reply = NULL;
	view_free(v);
	rmdir(mnt);
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int
main(void)
{
	struct sn_config *cfg, *chaos;
	struct workspace_fs *w, *wf;
	char text[2048];

	log_set_level(LOG_LVL_WARN);
	if (mkdtemp(topdir) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s/root", topdir);
	snprintf(freeroot, sizeof(freeroot), "%s/free", topdir);
	snprintf(chaosroot, sizeof(chaosroot), "%s/chaos", topdir);
	snprintf(state, sizeof(state), "%s/state", topdir);
	if (mkdir(root, 0755) < 0 || mkdir(freeroot, 0755) < 0 ||
	    mkdir(chaosroot, 0755) < 0 || mkdir(state, 0700) < 0)
		return 1;
	populate();
	snprintf(text, sizeof(text),
	    "[workspace \"w\"]\nroot = %s\ndeny = secrets, *.pem\n"
	    "readonly = docs\nmax_file_size = 1000\nquota = 8000\n"
	    "uid = 1234\ngid = 2345\n"
	    "[workspace \"f\"]\nroot = %s\n",
	    root, freeroot);
	cfg = cfg_of(text);
	snprintf(text, sizeof(text),
	    "[workspace \"c\"]\nroot = %s\n"
	    "[chaos]\nrate = 1\nscope = api\n",
	    chaosroot);
	chaos = cfg_of(text);
	if (policy_role_perms(cfg, "Dev", &alice.perms) < 0 ||
	    policy_role_perms(cfg, "Dev", &bob.perms) < 0 ||
	    policy_role_perms(cfg, "Reader", &reader.perms) < 0 ||
	    policy_role_perms(cfg, "Audit", &auditor.perms) < 0)
		return 1;
	w = ws_of(cfg, "w", root);
	wf = ws_of(cfg, "f", freeroot);

	test_args(w);
	test_read(w);
	test_deny(w);
	test_symlinks(w);
	diag("again, resolving by walking components (no openat2)");
	tool_resolve_by_walk(1);
	test_read(w);
	test_deny(w);
	test_symlinks(w);
	tool_resolve_by_walk(0);
	test_readonly_roles(w);
	test_locks(w);
	test_write(w);
	test_edit(w);
	test_move_delete(w);
	test_search(w);
	test_quota(w);
	test_chaos(chaos);
	test_free(wf);
	test_threads(wf);
	test_race(wf, 0);
	test_race(wf, 1);
	test_view(wf);

	cJSON_Delete(R.reply);
	workspace_fs_free(wf);
	workspace_fs_free(w);
	config_free(chaos);
	config_free(cfg);
	(void)nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	{
		char key[600];

		snprintf(key, sizeof(key), "%s.audit-key", state);
		unlink(key);
	}
	return done_testing();
}
