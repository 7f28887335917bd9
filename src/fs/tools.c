/*
 * tools.c - the file tools of the control API (see tools.h).
 *
 * Every tool call goes: arguments checked against the tool's table (an
 * unknown field, a wrong type, a bad path is -EINVAL before anything
 * else), chaos (for the tools that change something: docs/config.md,
 * "reads never fail"), then the tool.  A tool checks the policy on the path it
 * was given before it touches the backing filesystem, resolves it
 * beneath the root with openat2(), and checks the policy again on the
 * path the object really has (readlink of /proc/self/fd/N minus the
 * root's real path).  A change then passes the gates a view's change
 * passes (fs.c: allow_change, allow_size, lease_take): the locks of
 * other agents, the health of the audit trail, max_file_size and quota,
 * an implicit write lease around a write.  After a change every view's
 * kernel caches of what it touched are invalidated and waited for.
 *
 * Nothing here calls a path-based system call on a workspace path: the
 * only paths given to the kernel are resolved by openat2() beneath the
 * root descriptor, single names relative to a descriptor we hold, and
 * /proc/self/fd/N of a descriptor we hold.
 */
#include "autoconf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <cjson/cJSON.h>

#include "core/audit.h"
#include "core/config.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/text.h"
#include "core/lock.h"
#include "core/policy.h"
#include "fs/fs.h"
#include "fs/tools.h"

#define REL_MAX        4095  /* bytes of a workspace-relative path */
#define WALK_PATH      32768 /* path buffer of a tree walk */
#define DELETE_DEPTH   256   /* levels a recursive delete descends */
#define BINARY_PROBE   8192  /* search: a NUL in these bytes = binary */
#define LEASE_GRACE_MS 200   /* as fs.c: a lease being given back */
#define WAIT_MS        1000  /* bound on the wait for the views */
#define DIR_MODE       0755
#define FILE_MODE      0644

const char *const tool_names[] = {
	"read_file",
	"write_file",
	"edit_file",
	"list_dir",
	"stat",
	"delete",
	"move",
	"search",
	NULL,
};

/* One tool call. */
struct tc {
	struct workspace_fs *w;
	const struct tool_caller *c;
	struct tool_result *r;
	const struct policy *pol;
	uint64_t ticket; /* the last invalidation queued */
	int oom;         /* building the reply ran out of memory */
};

/* ---- messages and refusals ---------------------------------------------- */

/* Cut s at its first byte that does not start a valid UTF-8 character. */
static void
utf8_trim(char *s)
{
	size_t i = 0, n = strlen(s), k;
	uint32_t cp;

	while (i < n) {
		k = glob_utf8_char(s + i, n - i, &cp);
		if (k == 0) {
			s[i] = '\0';
			return;
		}
		i += k;
	}
}

static int fail(struct tc *t, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the one-line message; returns e. */
static int
fail(struct tc *t, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->r->message, sizeof(t->r->message), fmt, ap);
	va_end(ap);
	utf8_trim(t->r->message);
	return e;
}

static const char *
disp(const char *path)
{
	return path[0] != '\0' ? path : ".";
}

/* The one message of an absent path, and of a hidden one. */
static int
notfound(struct tc *t, const char *path)
{
	return fail(t, -ENOENT, "%s: no such file or directory", disp(path));
}

/*
 * A refusal by the policy (rule from policy.h) of path (as asked for).
 * A deny rule hides the path: -ENOENT, with the message of an absent
 * path, whatever the decision's errno.
 */
static int
refuse(struct tc *t, int e, const char *rule, const char *path)
{
	struct tool_result *r = t->r;
	const char *role = t->c->role != NULL ? t->c->role : "?";

	r->denied = 1;
	if (rule == NULL)
		rule = "";
	if (strncmp(rule, "role lacks", 10) == 0)
		snprintf(r->rule, sizeof(r->rule), "role %s lacks%s", role,
		    rule + 10);
	else
		snprintf(r->rule, sizeof(r->rule), "%s", rule);
	utf8_trim(r->rule);
	if (strncmp(rule, "deny:", 5) == 0)
		return notfound(t, path);
	switch (e) {
	case -EROFS:
		if (strncmp(rule, "role lacks", 10) == 0)
			return fail(t, e, "%s: role %s may not change files",
			    disp(path), role);
		return fail(t, e, "%s: read-only (%s)", disp(path), r->rule);
	case -EACCES:
		if (strncmp(rule, "role lacks", 10) == 0)
			return fail(t, e, "%s: role %s may not read files",
			    disp(path), role);
		return fail(t, e, "%s: refused (%s)", disp(path), r->rule);
	case -EPERM:
		/* symlinks = inside: not a permission of the role */
		return fail(t, -EACCES,
		    "%s: a symbolic link there would point out of the "
		    "workspace",
		    disp(path));
	case -EFBIG:
		return fail(t, e, "%s: over the workspace's max_file_size (%s)",
		    disp(path), r->rule);
	case -EDQUOT:
		return fail(t, e, "%s: over the workspace's quota (%s)",
		    disp(path), r->rule);
	default:
		return fail(t, e, "%s: %s (%s)", disp(path), strerror(-e),
		    r->rule);
	}
}

/* policy_check(), refused as above. */
static int
check(struct tc *t, enum policy_op op, const char *path)
{
	const char *rule;
	int e = policy_check(t->pol, t->c->perms, op, path, &rule);

	return e < 0 ? refuse(t, e, rule, path) : 0;
}

/*
 * Rules cover every name of a file: the names a multi-linked file had at
 * start (the link map), as fs.c's inode_allowed().
 */
static int
link_check(struct tc *t, enum policy_op op, const char *path,
    const struct stat *st)
{
	unsigned bits;

	if (!t->w->ws.path_rules || S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return 0;
	bits = fs_linkmap_get(&t->w->ws.links, st->st_dev, st->st_ino);
	if (bits & INODE_RULE_DENY)
		return refuse(t, -ENOENT, "deny:(another name of this file)",
		    path);
	if ((bits & INODE_RULE_RO) && policy_op_changes(op))
		return refuse(t, -EROFS, "readonly:(another name of this file)",
		    path);
	return 0;
}

/* Another agent's lock or lease covers path. */
static int
busy(struct tc *t, const char *path, const struct lock_info *li)
{
	struct tool_result *r = t->r;

	r->denied = 1;
	snprintf(r->rule, sizeof(r->rule), "lock:%llu held by %s",
	    (unsigned long long)li->id, li->holder);
	snprintf(r->holder, sizeof(r->holder), "%s", li->holder);
	r->expires_ns = li->lease ? 0 : li->expires_ns;
	return fail(t, -EBUSY, "%s: %s by %s", disp(path),
	    li->lease ? "being written" : "locked", li->holder);
}

/* The identity of the file st (NULL: none), for the lock table. */
static const struct lock_file *
st_file(const struct stat *st, struct lock_file *buf)
{
	return st != NULL ?
	    lock_file_id(st->st_dev, st->st_ino, st->st_mode, buf) :
	    NULL;
}

/*
 * May this change to path go ahead now: no lock of another agent (a
 * conflicting lease is looked at again for LEASE_GRACE_MS, as fs.c's
 * lock_busy()), and an audit trail that can be written.  st: the file
 * changed, if there is one: another agent's write lease on it under
 * another name (a hard link) is a conflict too.
 */
static int
gate(struct tc *t, const char *path, int subtree, const struct stat *st)
{
	struct lock_table *lt = t->w->ws.locks;
	const struct lock_file *f;
	struct lock_file fb;
	struct lock_info li;
	int waited = 0, e = 0;

	f = st_file(st, &fb);
	while (lt != NULL &&
	    (e = lock_check_file(lt, path, f, t->c->agent, subtree, &li)) ==
	        SN_EBUSY) {
		if (!li.lease || waited >= LEASE_GRACE_MS)
			return busy(t, path, &li);
		usleep(5000);
		waited += 5;
	}
	if (e < 0)
		return fail(t, -EINVAL, "%s: not a path that can be locked",
		    disp(path));
	if (t->w->ws.audit != NULL && audit_ok(t->w->ws.audit) < 0) {
		t->r->denied = 1;
		snprintf(t->r->rule, sizeof(t->r->rule), "audit:unwritable");
		return fail(t, -EIO,
		    "the audit trail cannot be written: changes are refused");
	}
	return 0;
}

/* The implicit write lease of a write (fs.c lease_take); st: the file, if
 * it exists. */
static int
lease_take(struct tc *t, const char *path, const struct stat *st, uint64_t *id)
{
	struct lock_table *lt = t->w->ws.locks;
	struct lock_file fb;
	struct lock_info li;
	int waited = 0, e;

	*id = 0;
	if (lt == NULL)
		return 0;
	for (;;) {
		e = lock_lease_acquire_file(lt, path, st_file(st, &fb),
		    t->c->agent, id, &li);
		if (e != SN_EBUSY)
			break;
		if (!li.lease || waited >= LEASE_GRACE_MS)
			return busy(t, path, &li);
		usleep(5000);
		waited += 5;
	}
	if (e < 0) {
		*id = 0;
		return fail(t, -EINVAL, "%s: not a path that can be locked",
		    disp(path));
	}
	return 0;
}

static void
lease_drop(struct tc *t, uint64_t id)
{
	if (id != 0 && t->w->ws.locks != NULL)
		(void)lock_lease_release(t->w->ws.locks, id);
}

/*
 * max_file_size and quota (fs.c allow_size): a file grows from oldsize
 * to newsize and the workspace holds delta bytes more.
 */
static int
size_gate(struct tc *t, const char *path, uint64_t oldsize, uint64_t newsize,
    int64_t delta)
{
	const char *rule = NULL;
	int e = 0;

	if (newsize > oldsize)
		e = policy_size_ok(t->pol, newsize, &rule);
	if (e == 0 && t->w->ws.quota && delta > 0)
		e = policy_quota_ok(t->pol,
		    (uint64_t)atomic_load(&t->w->ws.used), delta, &rule);
	return e < 0 ? refuse(t, e, rule, path) : 0;
}

static void
account(struct tc *t, long long delta)
{
	if (t->w->ws.quota && delta != 0)
		atomic_fetch_add(&t->w->ws.used, delta);
}

/* ---- invalidation of every view's kernel caches ------------------------- */

static void
note_ticket(struct tc *t, uint64_t ticket)
{
	if (ticket > t->ticket)
		t->ticket = ticket;
}

/* The entry (parent, name) and the parent's attributes changed. */
static void
inval_entry(struct tc *t, const struct stat *pst, const char *name)
{
	note_ticket(t,
	    fsgroup_inval_entry(t->w->group, NULL, pst->st_dev, pst->st_ino,
	        name));
	note_ticket(t,
	    fsgroup_inval_inode(t->w->group, NULL, pst->st_dev, pst->st_ino));
}

/* The attributes or data of a file changed. */
static void
inval_inode(struct tc *t, const struct stat *st)
{
	note_ticket(t,
	    fsgroup_inval_inode(t->w->group, NULL, st->st_dev, st->st_ino));
}

/* ---- text: UTF-8 and base64 --------------------------------------------- */

/* 1 if s[0..n) is valid UTF-8 without NUL. */
static int
utf8_valid(const char *s, size_t n)
{
	return text_utf8_valid(s, n, 0);
}

/* Base64 (RFC 4648, padded) of s[0..n); malloc'd, or NULL. */
static char *
b64_encode(const unsigned char *s, size_t n)
{
	char *out = NULL;

	return text_b64_encode(s, n, &out) == 0 ? out : NULL;
}

/*
 * Decode strict base64 (padded, no blanks) into a malloc'd *out of *outlen
 * bytes.  0, -EINVAL, -ENOMEM.
 */
static int
b64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	int r = text_b64_decode(s, strlen(s), out, outlen);

	return r == 0 ? 0 : r == SN_ENOMEM ? -ENOMEM : -EINVAL;
}

/* ---- arguments ---------------------------------------------------------- */

enum { A_STR = 1, A_BOOL, A_UINT };

struct argspec {
	const char *name;
	int type;
	int required;
};

#define MAX_ARGS 8

static const char *
type_text(int type)
{
	switch (type) {
	case A_STR: return "a string";
	case A_BOOL: return "true or false";
	default: return "a non-negative integer";
	}
}

/* Every field known, of its type, given once; every required one given. */
static int
check_args(struct tc *t, const cJSON *args, const struct argspec *spec)
{
	const cJSON *f, *g;
	const struct argspec *s;

	if (args != NULL && !cJSON_IsObject(args))
		return fail(t, -EINVAL, "the arguments must be a JSON object");
	for (f = args != NULL ? args->child : NULL; f != NULL; f = f->next) {
		if (f->string == NULL)
			return fail(t, -EINVAL, "a field has no name");
		for (s = spec; s->name != NULL; s++)
			if (strcmp(s->name, f->string) == 0)
				break;
		if (s->name == NULL) {
			char name[64];

			snprintf(name, sizeof(name), "%s", f->string);
			utf8_trim(name);
			return fail(t, -EINVAL, "unknown field \"%s\"", name);
		}
		for (g = f->next; g != NULL; g = g->next)
			if (g->string != NULL &&
			    strcmp(g->string, s->name) == 0)
				return fail(t, -EINVAL,
				    "field \"%s\" is given twice", s->name);
		if ((s->type == A_STR && !cJSON_IsString(f)) ||
		    (s->type == A_BOOL && !cJSON_IsBool(f)) ||
		    (s->type == A_UINT &&
		        (!cJSON_IsNumber(f) ||
		            f->valuedouble != f->valuedouble ||
		            f->valuedouble < 0 ||
		            f->valuedouble > 9007199254740992.0 ||
		            f->valuedouble != (double)(int64_t)f->valuedouble)))
			return fail(t, -EINVAL, "field \"%s\" must be %s",
			    s->name, type_text(s->type));
	}
	for (s = spec; s->name != NULL; s++)
		if (s->required &&
		    cJSON_GetObjectItemCaseSensitive(args, s->name) == NULL)
			return fail(t, -EINVAL, "field \"%s\" is missing",
			    s->name);
	return 0;
}

static const char *
arg_str(const cJSON *args, const char *name, const char *def)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(args, name);

	return f != NULL ? f->valuestring : def;
}

static int
arg_bool(const cJSON *args, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, name));
}

/* OUT: *v (def when absent); 1 if given. */
static int
arg_uint(const cJSON *args, const char *name, uint64_t def, uint64_t *v)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(args, name);

	*v = f != NULL ? (uint64_t)f->valuedouble : def;
	return f != NULL;
}

/*
 * A path argument made canonical into out (REL_MAX + 1 bytes): relative,
 * valid UTF-8, no ".." component, at most REL_MAX bytes; "" and "." are
 * the root.
 */
int
tool_path_canon(const char *field, const char *in, char *out, size_t outlen,
    char *msg, size_t msglen)
{
	size_t n = strlen(in);
	int e;

	if (outlen > 0)
		out[0] = '\0';
	if (n > REL_MAX) {
		snprintf(msg, msglen, "field \"%s\": longer than %d bytes",
		    field, REL_MAX);
		return -EINVAL;
	}
	if (in[0] == '/') {
		snprintf(msg, msglen,
		    "field \"%s\": an absolute path (paths are relative to "
		    "the workspace root)",
		    field);
		return -EINVAL;
	}
	if (!utf8_valid(in, n)) {
		snprintf(msg, msglen, "field \"%s\": not valid UTF-8", field);
		return -EINVAL;
	}
	e = policy_canon_path(in, out, outlen);
	if (e == -ENAMETOOLONG) {
		snprintf(msg, msglen,
		    "field \"%s\": a name over 255 bytes, or too long", field);
		return -EINVAL;
	}
	if (e < 0) {
		snprintf(msg, msglen, "field \"%s\": a \"..\" component",
		    field);
		return -EINVAL;
	}
	return 0;
}

static int
canon(struct tc *t, const char *field, const char *in, char *out)
{
	int e = tool_path_canon(field, in, out, REL_MAX + 1, t->r->message,
	    sizeof(t->r->message));

	if (e < 0)
		utf8_trim(t->r->message);
	return e;
}

/* ---- resolution beneath the root ---------------------------------------- */

/* 1: openat2() is missing (an old kernel; valgrind) or tests asked for
 * the walk; resolve by walk_beneath(). */
static atomic_int by_walk;

void
tool_resolve_by_walk(int on)
{
	atomic_store(&by_walk, on);
}

/* Open name in dirfd as a directory to walk through, never following. */
static int
open_step(int dirfd, const char *name)
{
	return openat(dirfd, name,
	    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The directory at the physical path dir (no symlink in it), walked
 * from the root. */
static int
open_chain(struct tc *t, const char *dir, int *out)
{
	char name[NAME_MAX + 1];
	const char *p = dir, *e;
	int fd, next;

	*out = -1;
	fd = open_step(t->w->rootfd, ".");
	while (fd >= 0 && *p != '\0') {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(name, p, (size_t)(e - p));
		name[e - p] = '\0';
		next = open_step(fd, name);
		close(fd);
		fd = next;
		p = *e == '/' ? e + 1 : e;
	}
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

#define WALK_LINKS 40 /* symlinks followed in one resolution (ELOOP) */

/*
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) by
 * hand, one component at a time: every step an openat() of one name
 * with O_NOFOLLOW; a symlink is read and its target put in front of
 * what is left (an absolute one, or a ".." above the root, is -EXDEV);
 * ".." goes back along the physical path walked (cur); another mount is
 * -EXDEV; past WALK_LINKS symlinks, -ELOOP.  The last component is
 * followed unless flags has O_NOFOLLOW.  0 or -errno.
 */
static int
walk_beneath(struct tc *t, const char *rel, int flags, int *out)
{
	char *rest = NULL, *cur = NULL, name[NAME_MAX + 1];
	char target[PATH_MAX + 1];
	size_t pos = 0, clen = 0, n;
	int fd = -1, e = 0, links = 0, last;
	struct statx sx;
	ssize_t k;

	*out = -1;
	rest = malloc(WALK_PATH);
	cur = malloc(WALK_PATH);
	if (rest == NULL || cur == NULL) {
		e = -ENOMEM;
		goto out;
	}
	cur[0] = '\0';
	snprintf(rest, WALK_PATH, "%s", rel);
	fd = open_step(t->w->rootfd, ".");
	if (fd < 0) {
		e = -errno;
		goto out;
	}
	for (;;) {
		while (rest[pos] == '/')
			pos++;
		if (rest[pos] == '\0') {
			/* the directory walked to is the object */
			int r =
			    openat(fd, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);

			e = r < 0 ? -errno : 0;
			close(fd);
			fd = r;
			break;
		}
		n = strcspn(rest + pos, "/");
		if (n > NAME_MAX) {
			e = -ENAMETOOLONG;
			break;
		}
		memcpy(name, rest + pos, n);
		name[n] = '\0';
		pos += n;
		last = rest[pos + strspn(rest + pos, "/")] == '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			char *slash = strrchr(cur, '/');
			int nfd;

			if (clen == 0) {
				e = -EXDEV; /* above the root */
				break;
			}
			clen = slash != NULL ? (size_t)(slash - cur) : 0;
			cur[clen] = '\0';
			e = open_chain(t, cur, &nfd);
			if (e < 0)
				break;
			close(fd);
			fd = nfd;
			continue;
		}
		if (statx(fd, name, AT_SYMLINK_NOFOLLOW,
		        STATX_TYPE | STATX_MNT_ID, &sx) < 0) {
			e = -errno;
			break;
		}
		if (S_ISLNK(sx.stx_mode) && (!last || !(flags & O_NOFOLLOW))) {
			size_t tl, rl = strlen(rest + pos);

			if (++links > WALK_LINKS) {
				e = -ELOOP;
				break;
			}
			k = readlinkat(fd, name, target, sizeof(target) - 1);
			if (k < 0) {
				e = -errno;
				break;
			}
			target[k] = '\0';
			tl = (size_t)k;
			if (target[0] == '/') {
				e = -EXDEV;
				break;
			}
			if (tl + 1 + rl + 1 > WALK_PATH) {
				e = -ENAMETOOLONG;
				break;
			}
			memmove(rest + tl + 1, rest + pos, rl + 1);
			memcpy(rest, target, tl);
			rest[tl] = '/';
			pos = 0;
			continue;
		}
		if ((sx.stx_mask & STATX_MNT_ID) &&
		    sx.stx_mnt_id != t->w->root_mnt) {
			e = -EXDEV;
			break;
		}
		if (!last) {
			int nfd;

			if (!S_ISDIR(sx.stx_mode)) {
				e = -ENOTDIR;
				break;
			}
			if (clen + 1 + n + 1 > WALK_PATH) {
				e = -ENAMETOOLONG;
				break;
			}
			nfd = open_step(fd, name);
			if (nfd < 0) {
				e = -errno;
				break;
			}
			close(fd);
			fd = nfd;
			if (clen > 0)
				cur[clen++] = '/';
			memcpy(cur + clen, name, n + 1);
			clen += n;
			continue;
		}
		/* the last one, never followed here (a symlink was above) */
		{
			int r =
			    openat(fd, name, flags | O_NOFOLLOW | O_CLOEXEC);

			e = r < 0 ? -errno : 0;
			close(fd);
			fd = r;
		}
		break;
	}
	if (e == 0 && fd >= 0 &&
	    (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 ||
	        ((sx.stx_mask & STATX_MNT_ID) &&
	            sx.stx_mnt_id != t->w->root_mnt)))
		e = -EXDEV;
	if (e == 0) {
		*out = fd;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(rest);
	free(cur);
	return e;
}

/* Open rel beneath the root, never out of it: openat2(), or the same by
 * walk_beneath() where there is no openat2.  0 or -errno. */
static int
open_beneath(struct tc *t, const char *rel, int flags, int *out)
{
	struct open_how how;
	long fd = -1;
	int i;

	*out = -1;
	if (atomic_load(&by_walk))
		return walk_beneath(t, rel, flags, out);
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	for (i = 0; i < 16; i++) {
		fd = syscall(SYS_openat2, t->w->rootfd,
		    rel[0] != '\0' ? rel : ".", &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break; /* EAGAIN: a rename raced a ".." check */
	}
	if (fd < 0 && errno == ENOSYS) {
		atomic_store(&by_walk, 1);
		return walk_beneath(t, rel, flags, out);
	}
	if (fd < 0)
		return -errno;
	*out = (int)fd;
	return 0;
}

/* The message of a failed resolution of path. */
static int
resolve_err(struct tc *t, int e, const char *path)
{
	switch (e) {
	case -ENOENT: return notfound(t, path);
	case -EXDEV:
		return fail(t, -ENOENT,
		    "%s: a symbolic link on the way leads out of the workspace",
		    disp(path));
	case -ELOOP:
		return fail(t, -EINVAL, "%s: too many levels of symbolic links",
		    disp(path));
	case -ENOTDIR:
		return fail(t, -ENOTDIR, "%s: a component is not a directory",
		    disp(path));
	case -ENAMETOOLONG:
		return fail(t, -EINVAL, "%s: the path is too long", disp(path));
	case -ENOMEM: return fail(t, -ENOMEM, "out of memory");
	default: return fail(t, -EIO, "%s: %s", disp(path), strerror(-e));
	}
}

/*
 * The workspace-relative path fd really has, into out (REL_MAX + 1
 * bytes).  0, -ENOENT (it lost its last name), -EXDEV (not beneath the
 * root), -ENAMETOOLONG, -EIO.
 */
static int
real_rel(struct tc *t, int fd, char *out)
{
	char pp[64], buf[PATH_MAX * 2];
	const char *root = t->w->root_real, *rel;
	size_t rl = strlen(root), n;
	struct stat st;
	ssize_t k;

	out[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_nlink == 0)
		return -ENOENT;
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", fd);
	k = readlink(pp, buf, sizeof(buf) - 1);
	if (k < 0)
		return errno == ENAMETOOLONG ? -ENAMETOOLONG : -EIO;
	buf[k] = '\0';
	if (rl == 1)
		rl = 0; /* the root is "/" */
	if (strncmp(buf, root, rl) != 0 || (buf[rl] != '\0' && buf[rl] != '/'))
		return -EXDEV;
	rel = buf + rl;
	if (*rel == '/')
		rel++;
	n = strlen(rel);
	if (n > REL_MAX)
		return -ENAMETOOLONG;
	memcpy(out, rel, n + 1);
	return 0;
}

/* Set r->path to the path acted on (the real one, when it is text). */
static void
acted_on(struct tc *t, const char *real)
{
	if (utf8_valid(real, strlen(real)))
		snprintf(t->r->path, sizeof(t->r->path), "%s", real);
}

/*
 * Open path (canonical, as asked for) for op: the policy on path, then
 * openat2 with flags, then the policy on its real path and the rules of
 * its other names.  OUT: *fd, *st, real (REL_MAX + 1 bytes).
 */
static int
open_obj(struct tc *t, enum policy_op op, const char *path, int flags, int *fd,
    struct stat *st, char *real)
{
	int e, tries;

	*fd = -1;
	real[0] = '\0';
	e = check(t, op, path);
	if (e < 0)
		return e;
	for (tries = 0;; tries++) {
		e = open_beneath(t, path, flags, fd);
		if (e < 0)
			return resolve_err(t, e, path);
		e = fstat(*fd, st) < 0 ? -errno : real_rel(t, *fd, real);
		/* -ENOENT: replaced (a write_file) since it was opened */
		if (e != -ENOENT || tries == 3)
			break;
		close(*fd);
	}
	if (e < 0) {
		e = resolve_err(t, e, path);
		goto bad;
	}
	if (strcmp(real, path) != 0 && (e = check(t, op, real)) < 0) {
		/* the message names what was asked for, never the target */
		if (e == -ENOENT)
			(void)notfound(t, path);
		goto bad;
	}
	e = link_check(t, op, path, st);
	if (e < 0)
		goto bad;
	acted_on(t, real);
	return 0;
bad:
	close(*fd);
	*fd = -1;
	return e;
}

/* path = dir + "/" + name (canonical, not the root). */
static void
split(const char *path, char *dir, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		dir[0] = '\0';
		*name = path;
		return;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*name = slash + 1;
}

/* real = dir + "/" + name, at most REL_MAX bytes. */
static int
join(struct tc *t, const char *dir, const char *name, char *real,
    const char *path)
{
	int n = dir[0] != '\0' ?
	    snprintf(real, REL_MAX + 1, "%s/%s", dir, name) :
	    snprintf(real, REL_MAX + 1, "%s", name);

	if (n < 0 || n > REL_MAX)
		return fail(t, -EINVAL, "%s: the path is too long", disp(path));
	return 0;
}

/* Stat name in dirfd, never following; -ENOENT if on another mount. */
static int
stat_name(struct tc *t, int dirfd, const char *name, struct stat *st)
{
	struct statx sx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
	        STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	if ((sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id != t->w->root_mnt)
		return -ENOENT; /* another mount: not in the workspace */
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_nlink = sx.stx_nlink;
	st->st_uid = sx.stx_uid;
	st->st_gid = sx.stx_gid;
	st->st_size = (off_t)sx.stx_size;
	st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	return 0;
}

/*
 * The parent directory of path (canonical, not the root), for a change
 * to its last name: opened beneath the root (symlinks inside followed),
 * its real path + "/" + name into real.  OUT: *pfd (O_PATH), *pst,
 * *name (points into path).
 */
static int
open_parent(struct tc *t, const char *path, int *pfd, struct stat *pst,
    const char **name, char *real)
{
	char dir[REL_MAX + 1], preal[REL_MAX + 1];
	int e;

	*pfd = -1;
	split(path, dir, name);
	e = open_beneath(t, dir, O_PATH | O_DIRECTORY, pfd);
	if (e < 0)
		return resolve_err(t, e, path);
	if (fstat(*pfd, pst) < 0)
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
	else if ((e = real_rel(t, *pfd, preal)) < 0)
		e = resolve_err(t, e, path);
	else
		e = join(t, preal, *name, real, path);
	if (e < 0) {
		close(*pfd);
		*pfd = -1;
	}
	return e;
}

/* Reopen an O_PATH descriptor with flags (never a workspace path). */
static int
reopen(int fd, int flags)
{
	char pp[64];

	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", fd);
	return open(pp, flags | O_CLOEXEC);
}

static const char *
type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "symlink";
	return "other";
}

/* ---- the reply ---------------------------------------------------------- */

static void
add_str(struct tc *t, cJSON *o, const char *k, const char *v)
{
	if (cJSON_AddStringToObject(o, k, v) == NULL)
		t->oom = 1;
}

static void
add_num(struct tc *t, cJSON *o, const char *k, double v)
{
	if (cJSON_AddNumberToObject(o, k, v) == NULL)
		t->oom = 1;
}

static void
add_bool(struct tc *t, cJSON *o, const char *k, int v)
{
	if (cJSON_AddBoolToObject(o, k, v) == NULL)
		t->oom = 1;
}

/* A name: "name" when it is text, else "name_b64". */
static void
add_name(struct tc *t, cJSON *o, const char *k, const char *kb64, const char *v)
{
	char *b;

	if (utf8_valid(v, strlen(v))) {
		add_str(t, o, k, v);
		return;
	}
	b = b64_encode((const unsigned char *)v, strlen(v));
	if (b == NULL) {
		t->oom = 1;
		return;
	}
	add_str(t, o, kb64, b);
	free(b);
}

static cJSON *
reply_new(struct tc *t)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		t->oom = 1;
	t->r->reply = o;
	return o;
}

/* ---- reading a file ----------------------------------------------------- */

/* Read up to len bytes at off into buf; *got = bytes read. */
static int
read_at(int fd, char *buf, size_t len, uint64_t off, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd, buf + *got, len - *got, (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole content of a regular file (O_PATH fd), at most the read cap. */
static int
slurp(struct tc *t, int fd, const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf;
	size_t got;
	int rfd, e;

	*out = NULL;
	*outlen = 0;
	rfd = reopen(fd, O_RDONLY);
	if (rfd < 0)
		return fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
	if (fstat(rfd, &st) < 0) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
		close(rfd);
		return e;
	}
	if (st.st_size > TOOL_READ_MAX) {
		close(rfd);
		return fail(t, -EFBIG, "%s: %lld bytes, over the %d-byte cap",
		    disp(path), (long long)st.st_size, TOOL_READ_MAX);
	}
	/* one byte more tells a file that grew since */
	buf = malloc((size_t)st.st_size + 2);
	if (buf == NULL) {
		close(rfd);
		return fail(t, -ENOMEM, "out of memory");
	}
	e = read_at(rfd, buf, (size_t)st.st_size + 1, 0, &got);
	close(rfd);
	if (e == 0 && got > (size_t)st.st_size)
		e = -EAGAIN;
	if (e < 0) {
		free(buf);
		if (e == -EAGAIN)
			return fail(t, -EIO, "%s: changed while being read",
			    disp(path));
		return fail(t, -EIO, "%s: %s", disp(path), strerror(-e));
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return 0;
}

/* ---- writing a file ----------------------------------------------------- */

/* Give what a tool created to the workspace's owner, when set. */
static int
give_owner(struct tc *t, int fd, const char *path)
{
	unsigned uid = t->w->uid, gid = t->w->gid;

	if (uid == SN_CFG_NO_ID && gid == SN_CFG_NO_ID)
		return 0;
	if (fchown(fd, uid == SN_CFG_NO_ID ? (uid_t)-1 : (uid_t)uid,
	        gid == SN_CFG_NO_ID ? (gid_t)-1 : (gid_t)gid) < 0)
		return fail(t, -EIO, "%s: cannot give it to %d:%d: %s",
		    disp(path), uid == SN_CFG_NO_ID ? -1 : (int)uid,
		    gid == SN_CFG_NO_ID ? -1 : (int)gid, strerror(errno));
	return 0;
}

/* Link the unnamed file fd as name in pfd. */
static int
link_tmp(int fd, int pfd, const char *name)
{
	char pp[64];

	if (linkat(fd, "", pfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, pp, pfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno :
	                                                                0;
}

/*
 * Make name in pfd hold data[0..len): written to an unnamed file in the
 * same directory (O_TMPFILE), then linked in (a new file) or renamed
 * over the old one, so that a failed write leaves the old content whole.
 * old: the file there now (its mode and owner are kept), or NULL.  A
 * filesystem without O_TMPFILE gets a write in place.  OUT: *created.
 */
static int
put_file(struct tc *t, int pfd, const char *name, const struct stat *old,
    const void *data, size_t len, const char *path, int *created)
{
	char tmp[64];
	uint64_t rnd;
	int fd, e, i;

	*created = 0;
	fd = openat(pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 &&
	    (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		goto in_place;
	if (fd < 0)
		return fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
	e = write_all(fd, data, len);
	if (e < 0) {
		close(fd);
		return fail(t, e == -ENOSPC || e == -EDQUOT ? e : -EIO,
		    "%s: %s", disp(path), strerror(-e));
	}
	if (old != NULL)
		(void)!fchown(fd, old->st_uid, old->st_gid); /* root only */
	else if ((e = give_owner(t, fd, path)) < 0) {
		close(fd);
		return e;
	}
	if (fchmod(fd, old != NULL ? old->st_mode & 07777 : FILE_MODE) < 0) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
		close(fd);
		return e;
	}
	if (old == NULL) {
		e = link_tmp(fd, pfd, name);
		if (e == 0) {
			close(fd);
			*created = 1;
			return 0;
		}
		if (e != -EEXIST) {
			close(fd);
			return fail(t, -EIO, "%s: %s", disp(path),
			    strerror(-e));
		}
		/* made meanwhile (by this agent: others see our lease) */
	}
	for (i = 0; i < 8; i++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		snprintf(tmp, sizeof(tmp), ".sentinel-tmp-%016llx",
		    (unsigned long long)rnd);
		e = link_tmp(fd, pfd, tmp);
		if (e != -EEXIST)
			break;
	}
	close(fd);
	if (e < 0)
		return fail(t, -EIO, "%s: %s", disp(path), strerror(-e));
	if (renameat(pfd, tmp, pfd, name) < 0) {
		e = errno;
		(void)unlinkat(pfd, tmp, 0);
		return fail(t, e == EISDIR ? -EISDIR : -EIO, "%s: %s",
		    disp(path), strerror(e));
	}
	return 0;

in_place:
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    FILE_MODE);
	if (fd < 0)
		return fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
	if (old == NULL) {
		*created = 1;
		if ((e = give_owner(t, fd, path)) < 0 ||
		    (fchmod(fd, FILE_MODE) < 0 &&
		        (e = fail(t, -EIO, "%s: %s", disp(path),
		             strerror(errno))) < 0)) {
			close(fd);
			return e;
		}
	}
	e = ftruncate(fd, 0) < 0 ? -errno : write_all(fd, data, len);
	close(fd);
	if (e < 0)
		return fail(t, e == -ENOSPC || e == -EDQUOT ? e : -EIO,
		    "%s: %s", disp(path), strerror(-e));
	return 0;
}

/*
 * Open the directory dir (canonical), creating what is missing of it
 * (each new directory checked as MKDIR, as a view's mkdir is).  OUT:
 * *fd (O_PATH), *st.
 */
static int
make_dirs(struct tc *t, const char *dir, int *fd, struct stat *st)
{
	char prefix[REL_MAX + 1], real[REL_MAX + 1], preal[REL_MAX + 1];
	const char *p = dir, *name;
	int cur = -1, next, e, dfd, made;
	struct stat cst;

	*fd = -1;
	/* the policy on every directory to make, before anything is made */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - dir) : strlen(dir);

		memcpy(prefix, dir, n);
		prefix[n] = '\0';
		if (prefix[0] != '\0' &&
		    (e = check(t, POLICY_OP_MKDIR, prefix)) < 0)
			return e;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	e = open_beneath(t, "", O_PATH | O_DIRECTORY, &cur);
	if (e < 0)
		return resolve_err(t, e, "");
	for (p = dir; *p != '\0';) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - dir) : strlen(dir);

		memcpy(prefix, dir, n);
		prefix[n] = '\0';
		name = prefix + (p - dir);
		p = slash != NULL ? slash + 1 : dir + n;
		e = open_beneath(t, prefix, O_PATH | O_DIRECTORY, &next);
		if (e == 0) {
			close(cur);
			cur = next;
			continue;
		}
		if (e != -ENOENT) {
			close(cur);
			return resolve_err(t, e, prefix);
		}
		/* make name in cur: the checks a view's mkdir makes */
		e = fstat(cur, &cst) < 0 ? -errno : real_rel(t, cur, preal);
		if (e < 0) {
			close(cur);
			return resolve_err(t, e, prefix);
		}
		if ((e = join(t, preal, name, real, prefix)) < 0 ||
		    (e = check(t, POLICY_OP_MKDIR, real)) < 0 ||
		    (e = gate(t, real, 0, NULL)) < 0) {
			if (e == -ENOENT) /* name what was asked for */
				(void)notfound(t, prefix);
			close(cur);
			return e;
		}
		made = mkdirat(cur, name, DIR_MODE) == 0;
		if (!made && errno != EEXIST) {
			e = errno;
			close(cur);
			return fail(t, e == ENOTDIR ? -ENOTDIR : -EIO, "%s: %s",
			    prefix, strerror(e));
		}
		if (made) {
			t->r->changed = 1;
			inval_entry(t, &cst, name);
		}
		dfd = openat(cur, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0) {
			e = errno;
			close(cur);
			return fail(t,
			    e == ENOTDIR || e == ELOOP ? -ENOTDIR : -EIO,
			    "%s: %s", prefix, strerror(e));
		}
		e = made ? give_owner(t, dfd, prefix) : 0;
		if (e == 0 && made && fchmod(dfd, DIR_MODE) < 0)
			e = fail(t, -EIO, "%s: %s", prefix, strerror(errno));
		close(dfd);
		if (e == 0 &&
		    (e = open_beneath(t, prefix, O_PATH | O_DIRECTORY, &next)) <
		        0)
			e = resolve_err(t, e, prefix);
		close(cur);
		if (e < 0)
			return e;
		cur = next;
	}
	if (fstat(cur, st) < 0) {
		e = fail(t, -EIO, "%s: %s", disp(dir), strerror(errno));
		close(cur);
		return e;
	}
	*fd = cur;
	return 0;
}

/* ---- the tools ---------------------------------------------------------- */

static const struct argspec read_args[] = {
	{ "path", A_STR, 1 },
	{ "offset", A_UINT, 0 },
	{ "length", A_UINT, 0 },
	{ NULL, 0, 0 },
};

static int
t_read_file(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1];
	uint64_t off, len;
	struct stat st;
	char *buf = NULL, *b64 = NULL;
	size_t got = 0;
	int fd = -1, rfd = -1, e, has_len;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	(void)arg_uint(args, "offset", 0, &off);
	has_len = arg_uint(args, "length", 0, &len);
	if (has_len && len > TOOL_READ_MAX)
		return fail(t, -EFBIG,
		    "field \"length\": at most %d bytes at a time",
		    TOOL_READ_MAX);
	e = open_obj(t, POLICY_OP_OPEN_READ, path, O_PATH, &fd, &st, real);
	if (e < 0)
		return e;
	if (S_ISDIR(st.st_mode)) {
		e = fail(t, -EISDIR, "%s: a directory", disp(path));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = fail(t, -EINVAL, "%s: not a regular file", disp(path));
		goto out;
	}
	if (!has_len) {
		len =
		    (uint64_t)st.st_size > off ? (uint64_t)st.st_size - off : 0;
		if (len > TOOL_READ_MAX) {
			e = fail(t, -EFBIG,
			    "%s: %llu bytes from offset %llu, over the %d-byte "
			    "cap (give a length)",
			    disp(path), (unsigned long long)len,
			    (unsigned long long)off, TOOL_READ_MAX);
			goto out;
		}
	}
	rfd = reopen(fd, O_RDONLY);
	if (rfd < 0) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
		goto out;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL) {
		e = fail(t, -ENOMEM, "out of memory");
		goto out;
	}
	e = read_at(rfd, buf, (size_t)len, off, &got);
	if (e == 0 && fstat(rfd, &st) < 0)
		e = -errno;
	if (e < 0) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(-e));
		goto out;
	}
	buf[got] = '\0';
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "path", path);
	if (utf8_valid(buf, got)) {
		add_str(t, o, "content", buf);
		add_str(t, o, "encoding", "utf-8");
	} else {
		b64 = b64_encode((unsigned char *)buf, got);
		if (b64 == NULL)
			t->oom = 1;
		else
			add_str(t, o, "content", b64);
		add_str(t, o, "encoding", "base64");
	}
	add_num(t, o, "offset", (double)off);
	add_num(t, o, "length", (double)got);
	add_num(t, o, "size", (double)st.st_size);
	add_bool(t, o, "eof", off + got >= (uint64_t)st.st_size);
out:
	free(b64);
	free(buf);
	if (rfd >= 0)
		close(rfd);
	close(fd);
	return e;
}

/*
 * The target of a write: the name path has in its parent, or, when that
 * name is a symlink, the file it leads to (beneath the root, checked on
 * its real path).  With mkdirs, missing parents are made, once the new
 * file of len bytes could be written.  OUT: *pfd, *pst, name (NAME_MAX +
 * 1 bytes), real, *exists and *st (the file there now).
 */
static int
write_target(struct tc *t, const char *path, int mkdirs, size_t len, int *pfd,
    struct stat *pst, char *name, char *real, int *exists, struct stat *st)
{
	char dir[REL_MAX + 1], preal[REL_MAX + 1];
	const char *nm;
	int e, fd;

	*exists = 0;
	e = open_parent(t, path, pfd, pst, &nm, real);
	if (e == -ENOENT && mkdirs && strchr(path, '/') != NULL) {
		/* nothing is made before everything that can be is checked */
		t->r->message[0] = '\0';
		if ((e = gate(t, path, 0, NULL)) < 0 ||
		    (e = size_gate(t, path, 0, len, (int64_t)len)) < 0)
			return e;
		split(path, dir, &nm);
		e = make_dirs(t, dir, pfd, pst);
		if (e < 0)
			return e;
		if ((e = real_rel(t, *pfd, preal)) < 0 ||
		    (e = join(t, preal, nm, real, path)) < 0) {
			close(*pfd);
			*pfd = -1;
			return e == -ENOENT || e == -EXDEV ?
			    resolve_err(t, e, path) :
			    e;
		}
	} else if (e < 0) {
		return e;
	}
	snprintf(name, NAME_MAX + 1, "%s", nm);
	e = stat_name(t, *pfd, name, st);
	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return fail(t, -EIO, "%s: %s", disp(path), strerror(-e));
	*exists = 1;
	if (S_ISLNK(st->st_mode)) {
		/* write through the link, to where it leads inside the root */
		e = open_beneath(t, path, O_PATH, &fd);
		if (e < 0)
			return resolve_err(t, e, path);
		e = real_rel(t, fd, real);
		close(fd);
		if (e < 0)
			return resolve_err(t, e, path);
		close(*pfd);
		e = open_parent(t, real, pfd, pst, &nm, dir);
		if (e < 0)
			return e;
		snprintf(name, NAME_MAX + 1, "%s", nm);
		e = stat_name(t, *pfd, name, st);
		if (e < 0 || S_ISLNK(st->st_mode))
			return fail(t, -EIO, "%s: changed while being written",
			    disp(path));
	}
	if (S_ISDIR(st->st_mode))
		return fail(t, -EISDIR, "%s: a directory", disp(path));
	if (!S_ISREG(st->st_mode))
		return fail(t, -EINVAL, "%s: not a regular file", disp(path));
	return 0;
}

/*
 * The common end of write_file and edit_file: gates, lease, the write,
 * accounting and invalidation.  exists/st: the file there now.
 */
static int
write_through(struct tc *t, const char *path, int pfd, const struct stat *pst,
    const char *name, const char *real, int exists, const struct stat *st,
    const void *data, size_t len, int *created)
{
	uint64_t lease = 0, oldsize = exists ? (uint64_t)st->st_size : 0;
	int64_t delta = (int64_t)len -
	    (exists && st->st_nlink <= 1 ? (int64_t)st->st_size : 0);
	int e;

	*created = 0;
	if ((e = gate(t, real, 0, exists ? st : NULL)) < 0 ||
	    (e = size_gate(t, path, oldsize, len, delta)) < 0)
		return e;
	e = lease_take(t, real, exists ? st : NULL, &lease);
	if (e < 0)
		return e;
	e = put_file(t, pfd, name, exists ? st : NULL, data, len, path,
	    created);
	lease_drop(t, lease);
	if (e < 0)
		return e;
	t->r->changed = 1;
	t->r->bytes = (int64_t)len;
	account(t, *created ? (long long)len : delta);
	inval_entry(t, pst, name);
	if (exists)
		inval_inode(t, st);
	return 0;
}

static const struct argspec write_args[] = {
	{ "path", A_STR, 1 },
	{ "content", A_STR, 1 },
	{ "encoding", A_STR, 0 },
	{ "mkdirs", A_BOOL, 0 },
	{ NULL, 0, 0 },
};

static int
t_write_file(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1], name[NAME_MAX + 1];
	const char *enc = arg_str(args, "encoding", "utf-8");
	const char *content = arg_str(args, "content", "");
	unsigned char *dec = NULL;
	const void *data = content;
	size_t len = strlen(content);
	struct stat pst, st;
	int pfd = -1, e, exists, created = 0;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	if (strcmp(enc, "base64") == 0) {
		e = b64_decode(content, &dec, &len);
		if (e == -ENOMEM)
			return fail(t, e, "out of memory");
		if (e < 0)
			return fail(t, e,
			    "field \"content\": not valid base64 (RFC 4648, "
			    "padded, no blanks)");
		data = dec;
	} else if (strcmp(enc, "utf-8") != 0) {
		return fail(t, -EINVAL,
		    "field \"encoding\": \"utf-8\" or \"base64\"");
	}
	if (path[0] == '\0') {
		e = fail(t, -EISDIR, "the workspace root is a directory");
		goto out;
	}
	/* the policy of the path asked for, before the filesystem is touched */
	e = check(t, POLICY_OP_OPEN_WRITE, path);
	if (e < 0)
		goto out;
	e = write_target(t, path, arg_bool(args, "mkdirs"), len, &pfd, &pst,
	    name, real, &exists, &st);
	if (e < 0)
		goto out;
	if ((e = check(t, exists ? POLICY_OP_OPEN_WRITE : POLICY_OP_CREATE,
	         real)) < 0 ||
	    (exists &&
	        (e = link_check(t, POLICY_OP_OPEN_WRITE, path, &st)) < 0))
		goto hidden;
	acted_on(t, real);
	e = write_through(t, path, pfd, &pst, name, real, exists, &st, data,
	    len, &created);
	if (e < 0)
		goto out;
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "path", path);
	add_num(t, o, "bytes", (double)len);
	add_bool(t, o, "created", created);
	goto out;
hidden:
	if (e == -ENOENT)
		(void)notfound(t, path);
out:
	if (pfd >= 0)
		close(pfd);
	free(dec);
	return e;
}

static const struct argspec edit_args[] = {
	{ "path", A_STR, 1 },
	{ "old", A_STR, 1 },
	{ "new", A_STR, 1 },
	{ NULL, 0, 0 },
};

static int
t_edit_file(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1], preal[REL_MAX + 1];
	const char *old = arg_str(args, "old", ""),
	           *new = arg_str(args, "new", "");
	size_t olen = strlen(old), nlen = strlen(new), clen = 0, outlen;
	char *content = NULL, *nb = NULL, *hit, *again;
	const char *name;
	struct stat st, pst, nst;
	uint64_t lease = 0;
	int fd = -1, pfd = -1, e, created;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	if (olen == 0)
		return fail(t, -EINVAL, "field \"old\": empty");
	e = open_obj(t, POLICY_OP_OPEN_WRITE, path, O_PATH, &fd, &st, real);
	if (e < 0)
		return e;
	if (S_ISDIR(st.st_mode)) {
		e = fail(t, -EISDIR, "%s: a directory", disp(path));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = fail(t, -EINVAL, "%s: not a regular file", disp(path));
		goto out;
	}
	if (real[0] == '\0') {
		e = fail(t, -EISDIR, "the workspace root is a directory");
		goto out;
	}
	/* the name the file really has, to replace it there */
	e = open_parent(t, real, &pfd, &pst, &name, preal);
	if (e < 0)
		goto out;
	if (stat_name(t, pfd, name, &nst) < 0 || nst.st_ino != st.st_ino ||
	    nst.st_dev != st.st_dev) {
		e = fail(t, -EIO, "%s: changed while being edited", disp(path));
		goto out;
	}
	/* the lease before the read: no other agent writes in between */
	if ((e = gate(t, real, 0, &st)) < 0 ||
	    (e = lease_take(t, real, &st, &lease)) < 0)
		goto out;
	e = slurp(t, fd, path, &content, &clen);
	if (e < 0)
		goto out;
	hit = memmem(content, clen, old, olen);
	if (hit == NULL) {
		t->r->reason = "no_match";
		e = fail(t, -ENODATA, "%s: the old text does not occur",
		    disp(path));
		goto out;
	}
	again = memmem(hit + 1, clen - (size_t)(hit + 1 - content), old, olen);
	if (again != NULL) {
		t->r->reason = "ambiguous";
		e = fail(t, -ENOTUNIQ,
		    "%s: the old text occurs more than once (give more context)",
		    disp(path));
		goto out;
	}
	outlen = clen - olen + nlen;
	nb = malloc(outlen + 1);
	if (nb == NULL) {
		e = fail(t, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(nb, content, (size_t)(hit - content));
	memcpy(nb + (hit - content), new, nlen);
	memcpy(nb + (hit - content) + nlen, hit + olen,
	    clen - (size_t)(hit - content) - olen);
	st.st_size = (off_t)clen; /* what was read is what is replaced */
	e = write_through(t, path, pfd, &pst, name, real, 1, &st, nb, outlen,
	    &created);
	if (e < 0)
		goto out;
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "path", path);
	add_num(t, o, "bytes", (double)outlen);
out:
	lease_drop(t, lease);
	free(nb);
	free(content);
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return e;
}

static const struct argspec list_args[] = {
	{ "path", A_STR, 0 },
	{ NULL, 0, 0 },
};

struct dent {
	char *name;
	mode_t mode;
	off_t size;
};

static int
dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name,
	    ((const struct dent *)b)->name);
}

static int
t_list_dir(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1], *ep = NULL;
	struct dent *v = NULL;
	size_t n = 0, cap = 0, i, rl, epcap = 0;
	struct dirent *de;
	struct stat st;
	int fd = -1, e, truncated = 0;
	DIR *d = NULL;
	cJSON *o, *arr;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	e = open_obj(t, POLICY_OP_LIST, path, O_RDONLY | O_DIRECTORY, &fd, &st,
	    real);
	if (e == -ENOTDIR)
		e = fail(t, e, "%s: not a directory", disp(path));
	if (e < 0)
		return e;
	d = fdopendir(fd);
	if (d == NULL) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
		close(fd);
		return e;
	}
	rl = strlen(real);
	while ((errno = 0, de = readdir(d)) != NULL) {
		size_t k = strlen(de->d_name);
		struct stat est;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rl + k + 2 > epcap) {
			char *np = realloc(ep, rl + k + 2);

			if (np == NULL) {
				e = fail(t, -ENOMEM, "out of memory");
				goto out;
			}
			ep = np;
			epcap = rl + k + 2;
		}
		snprintf(ep, epcap, "%s%s%s", real, rl > 0 ? "/" : "",
		    de->d_name);
		/* hidden entries are left out; nothing says they exist */
		if (policy_check(t->pol, t->c->perms, POLICY_OP_READDIR_ENTRY,
		        ep, NULL) == -ENOENT)
			continue;
		if (stat_name(t, dirfd(d), de->d_name, &est) < 0)
			continue; /* gone, or another mount */
		if (t->w->ws.path_rules && !S_ISDIR(est.st_mode) &&
		    est.st_nlink > 1 &&
		    (fs_linkmap_get(&t->w->ws.links, est.st_dev, est.st_ino) &
		        INODE_RULE_DENY))
			continue;
		if (n == TOOL_LIST_MAX) {
			truncated = 1;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct dent *nv = realloc(v, nc * sizeof(*v));

			if (nv == NULL) {
				e = fail(t, -ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
			cap = nc;
		}
		v[n].name = strdup(de->d_name);
		if (v[n].name == NULL) {
			e = fail(t, -ENOMEM, "out of memory");
			goto out;
		}
		v[n].mode = est.st_mode;
		v[n].size = est.st_size;
		n++;
	}
	if (de == NULL && errno != 0) {
		e = fail(t, -EIO, "%s: %s", disp(path), strerror(errno));
		goto out;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), dent_cmp);
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "path", path);
	arr = cJSON_AddArrayToObject(o, "entries");
	if (arr == NULL)
		t->oom = 1;
	for (i = 0; i < n && !t->oom; i++) {
		cJSON *en = cJSON_CreateObject();

		if (en == NULL || !cJSON_AddItemToArray(arr, en)) {
			cJSON_Delete(en);
			t->oom = 1;
			break;
		}
		add_name(t, en, "name", "name_b64", v[i].name);
		add_str(t, en, "type", type_name(v[i].mode));
		add_num(t, en, "size", (double)v[i].size);
	}
	if (truncated)
		add_bool(t, o, "truncated", 1);
out:
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	free(ep);
	closedir(d);
	return e;
}

static const struct argspec stat_args[] = {
	{ "path", A_STR, 1 },
	{ NULL, 0, 0 },
};

static int
t_stat(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1], when[64];
	struct stat st;
	int fd, e;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	e = open_obj(t, POLICY_OP_STAT, path, O_PATH | O_NOFOLLOW, &fd, &st,
	    real);
	if (e < 0)
		return e;
	close(fd);
	text_rfc3339((int64_t)st.st_mtim.tv_sec * 1000000000LL +
	        st.st_mtim.tv_nsec,
	    9, when, sizeof(when));
	o = reply_new(t);
	if (o == NULL)
		return 0;
	add_str(t, o, "path", path);
	add_str(t, o, "type", type_name(st.st_mode));
	add_num(t, o, "size", (double)st.st_size);
	add_num(t, o, "mode", (double)(st.st_mode & 07777));
	add_str(t, o, "mtime", when);
	add_num(t, o, "nlink", (double)st.st_nlink);
	return 0;
}

/*
 * Everything beneath the directory dfd (path[0..plen) its real path):
 * checked (doit 0: may each entry go, as a view's unlink/rmdir of it
 * would be asked), or removed (doit 1, checking again).  A hidden entry
 * makes the directory not empty, as it would through a view.  *freed:
 * bytes of the regular files removed.
 */
static int
rm_tree(struct tc *t, int dfd, const struct stat *dst, char *path, size_t plen,
    int depth, int doit, long long *freed)
{
	struct dirent *de;
	const char *rule;
	int fd, e = 0;
	DIR *d;

	if (depth > DELETE_DEPTH)
		return fail(t, -EINVAL, "%s: more than %d levels deep",
		    t->r->path, DELETE_DEPTH);
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return fail(t, -EIO, "%s: %s", t->r->path, strerror(e));
	}
	while (e == 0 && (de = readdir(d)) != NULL) {
		size_t k = strlen(de->d_name);
		enum policy_op op;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (plen + 1 + k + 1 > WALK_PATH) {
			e = fail(t, -EINVAL, "%s: a path beneath is too long",
			    t->r->path);
			break;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, k + 1);
		e = stat_name(t, dirfd(d), de->d_name, &st);
		if (e == -ENOENT) {
			/* gone, or a mount: a mount cannot be removed */
			e = 0;
			if (statx(dirfd(d), de->d_name, AT_SYMLINK_NOFOLLOW, 0,
			        &(struct statx){ 0 }) == 0)
				e = fail(t, -ENOTEMPTY,
				    "%s: a mount point beneath", t->r->path);
			continue;
		}
		if (e < 0) {
			e = fail(t, -EIO, "%s: %s", t->r->path, strerror(-e));
			break;
		}
		op = S_ISDIR(st.st_mode) ? POLICY_OP_RMDIR : POLICY_OP_UNLINK;
		e = policy_check(t->pol, t->c->perms, op, path, &rule);
		if (e == 0 && t->w->ws.path_rules && !S_ISDIR(st.st_mode) &&
		    st.st_nlink > 1) {
			unsigned bits = fs_linkmap_get(&t->w->ws.links,
			    st.st_dev, st.st_ino);

			if (bits & INODE_RULE_DENY)
				e = -ENOENT,
				rule = "deny:(another name of this file)";
			else if (bits & INODE_RULE_RO)
				e = -EROFS,
				rule = "readonly:(another name of this file)";
		}
		if (e < 0) {
			if (rule != NULL && strncmp(rule, "deny:", 5) == 0) {
				t->r->denied = 1;
				snprintf(t->r->rule, sizeof(t->r->rule), "%s",
				    rule);
				utf8_trim(t->r->rule);
				e = fail(t, -ENOTEMPTY,
				    "%s: directory not empty", t->r->path);
			} else {
				e = refuse(t, e, rule, t->r->path);
			}
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				e = fail(t, -EIO, "%s: %s", t->r->path,
				    strerror(errno));
				break;
			}
			e = rm_tree(t, sub, &st, path, plen + 1 + k, depth + 1,
			    doit, freed);
			close(sub);
			path[plen + 1 + k] = '\0';
		}
		if (e == 0 && doit) {
			if (unlinkat(dirfd(d), de->d_name,
			        S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
				int err = errno;

				e = fail(t,
				    err == ENOTEMPTY ? -ENOTEMPTY : -EIO,
				    "%s: %s", t->r->path, strerror(err));
				break;
			}
			t->r->changed = 1;
			if (S_ISREG(st.st_mode) && st.st_nlink <= 1)
				*freed += st.st_size;
			inval_entry(t, dst, de->d_name);
			inval_inode(t, &st);
		}
	}
	path[plen] = '\0';
	closedir(d);
	return e;
}

static const struct argspec delete_args[] = {
	{ "path", A_STR, 1 },
	{ "recursive", A_BOOL, 0 },
	{ NULL, 0, 0 },
};

static int
t_delete(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], real[REL_MAX + 1], *walk = NULL;
	const char *name;
	struct stat pst, st;
	long long freed = 0;
	int pfd = -1, dfd = -1, e, isdir;
	enum policy_op op;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	if (path[0] == '\0')
		return fail(t, -EINVAL, "the workspace root cannot be deleted");
	if ((e = check(t, POLICY_OP_UNLINK, path)) < 0)
		return e;
	e = open_parent(t, path, &pfd, &pst, &name, real);
	if (e < 0)
		return e;
	e = stat_name(t, pfd, name, &st);
	if (e < 0) {
		e = e == -ENOENT ? notfound(t, path) :
		                   fail(t, -EIO, "%s: %s", path, strerror(-e));
		goto out;
	}
	isdir = S_ISDIR(st.st_mode);
	op = isdir ? POLICY_OP_RMDIR : POLICY_OP_UNLINK;
	if ((e = check(t, op, real)) < 0 ||
	    (e = link_check(t, op, path, &st)) < 0) {
		if (e == -ENOENT)
			(void)notfound(t, path);
		goto out;
	}
	acted_on(t, real);
	if ((e = gate(t, real, isdir, &st)) < 0)
		goto out;
	if (isdir && arg_bool(args, "recursive")) {
		size_t rl = strlen(real);

		walk = malloc(WALK_PATH);
		if (walk == NULL) {
			e = fail(t, -ENOMEM, "out of memory");
			goto out;
		}
		memcpy(walk, real, rl + 1);
		dfd = openat(pfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0) {
			e = fail(t, -EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		/* everything beneath may go, or nothing goes */
		e = rm_tree(t, dfd, &st, walk, rl, 0, 0, &freed);
		if (e == 0)
			e = rm_tree(t, dfd, &st, walk, rl, 0, 1, &freed);
		account(t, -freed);
		if (e < 0)
			goto out;
	}
	if (unlinkat(pfd, name, isdir ? AT_REMOVEDIR : 0) < 0) {
		int err = errno;

		if (err == ENOTEMPTY || err == EEXIST)
			e = fail(t, -ENOTEMPTY,
			    "%s: directory not empty (give recursive)", path);
		else
			e = fail(t, err == ENOENT ? -ENOENT : -EIO, "%s: %s",
			    path, strerror(err));
		goto out;
	}
	t->r->changed = 1;
	if (S_ISREG(st.st_mode) && st.st_nlink <= 1)
		account(t, -(long long)st.st_size);
	inval_entry(t, &pst, name);
	inval_inode(t, &st);
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "path", path);
	add_bool(t, o, "deleted", 1);
out:
	free(walk);
	if (dfd >= 0)
		close(dfd);
	close(pfd);
	return e;
}

static const struct argspec move_args[] = {
	{ "from", A_STR, 1 },
	{ "to", A_STR, 1 },
	{ "overwrite", A_BOOL, 0 },
	{ NULL, 0, 0 },
};

static int
t_move(struct tc *t, const cJSON *args)
{
	char from[REL_MAX + 1], to[REL_MAX + 1];
	char rfrom[REL_MAX + 1], rto[REL_MAX + 1], target[PATH_MAX + 1];
	const char *n1, *n2, *rule;
	struct stat p1, p2, sst, tst;
	int pfd1 = -1, pfd2 = -1, e, exists, sdir, overwrite;
	ssize_t k;
	cJSON *o;

	if ((e = canon(t, "from", arg_str(args, "from", ""), from)) < 0 ||
	    (e = canon(t, "to", arg_str(args, "to", ""), to)) < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", from);
	snprintf(t->r->path2, sizeof(t->r->path2), "%s", to);
	overwrite = arg_bool(args, "overwrite");
	if (from[0] == '\0' || to[0] == '\0')
		return fail(t, -EINVAL,
		    "the workspace root cannot be moved "
		    "or replaced");
	if ((e = check(t, POLICY_OP_RENAME_FROM, from)) < 0 ||
	    (e = check(t, POLICY_OP_RENAME_TO, to)) < 0)
		goto out;
	e = open_parent(t, from, &pfd1, &p1, &n1, rfrom);
	if (e < 0)
		goto out;
	e = open_parent(t, to, &pfd2, &p2, &n2, rto);
	if (e < 0)
		goto out;
	e = stat_name(t, pfd1, n1, &sst);
	if (e < 0) {
		e = e == -ENOENT ? notfound(t, from) :
		                   fail(t, -EIO, "%s: %s", from, strerror(-e));
		goto out;
	}
	sdir = S_ISDIR(sst.st_mode);
	e = stat_name(t, pfd2, n2, &tst);
	if (e < 0 && e != -ENOENT) {
		e = fail(t, -EIO, "%s: %s", to, strerror(-e));
		goto out;
	}
	exists = e == 0;
	/* the policy on the real paths: both names, and what a moved
	 * directory holds */
	e = policy_rename_ok(t->pol, t->c->perms, rfrom, rto, sdir, &rule);
	if (e < 0) {
		e = refuse(t, e, rule, from);
		goto out;
	}
	if ((e = link_check(t, POLICY_OP_RENAME_FROM, from, &sst)) < 0 ||
	    (exists && (e = link_check(t, POLICY_OP_RENAME_TO, to, &tst)) < 0))
		goto out;
	if (S_ISLNK(sst.st_mode) &&
	    (k = readlinkat(pfd1, n1, target, sizeof(target) - 1)) >= 0) {
		target[k] = '\0';
		e = policy_symlink_target_ok(t->pol, rto, target, &rule);
		if (e < 0) {
			e = refuse(t, e, rule, to);
			goto out;
		}
	}
	acted_on(t, rfrom);
	if (utf8_valid(rto, strlen(rto)))
		snprintf(t->r->path2, sizeof(t->r->path2), "%s", rto);
	if (exists && !overwrite) {
		e = fail(t, -EEXIST, "%s: exists (give overwrite)", to);
		goto out;
	}
	if ((e = gate(t, rfrom, sdir, &sst)) < 0 ||
	    (e = gate(t, rto, sdir || (exists && S_ISDIR(tst.st_mode)),
	         exists ? &tst : NULL)) < 0)
		goto out;
	if (renameat2(pfd1, n1, pfd2, n2, overwrite ? 0 : RENAME_NOREPLACE) <
	    0) {
		int err = errno;

		switch (err) {
		case EEXIST:
			e = fail(t, overwrite ? -ENOTEMPTY : -EEXIST, "%s: %s",
			    to, overwrite ? "directory not empty" : "exists");
			break;
		case ENOTEMPTY:
			e = fail(t, -ENOTEMPTY, "%s: %s", to, strerror(err));
			break;
		case EISDIR:
		case ENOTDIR:
			e = fail(t, -err, "%s: %s", to, strerror(err));
			break;
		case EINVAL:
			e = fail(t, -EINVAL,
			    "%s: cannot move a directory into itself", from);
			break;
		case ENOENT: e = notfound(t, from); break;
		default: e = fail(t, -EIO, "%s: %s", from, strerror(err));
		}
		goto out;
	}
	t->r->changed = 1;
	if (exists && !(tst.st_dev == sst.st_dev && tst.st_ino == sst.st_ino)) {
		if (S_ISREG(tst.st_mode) && tst.st_nlink <= 1)
			account(t, -(long long)tst.st_size);
		inval_inode(t, &tst);
	}
	if (t->w->ws.locks != NULL)
		(void)lock_rename(t->w->ws.locks, rfrom, rto);
	inval_entry(t, &p1, n1);
	inval_entry(t, &p2, n2);
	inval_inode(t, &sst);
	o = reply_new(t);
	if (o == NULL)
		goto out;
	add_str(t, o, "from", from);
	add_str(t, o, "to", to);
out:
	/* absent or hidden, either name: one message that says not which */
	if (e == -ENOENT)
		(void)fail(t, e, "%s -> %s: no such file or directory", from,
		    to);
	if (pfd2 >= 0)
		close(pfd2);
	if (pfd1 >= 0)
		close(pfd1);
	return e;
}

/* ---- search ------------------------------------------------------------- */

static const struct argspec search_args[] = {
	{ "pattern", A_STR, 1 },
	{ "regex", A_BOOL, 0 },
	{ "ignore_case", A_BOOL, 0 },
	{ "path", A_STR, 0 },
	{ "glob", A_STR, 0 },
	{ "max_results", A_UINT, 0 },
	{ NULL, 0, 0 },
};

struct search {
	struct tc *t;
	struct glob *g;
	regex_t re;
	int use_re;
	const char *pat;
	size_t plen;
	int icase;
	uint64_t max, n;
	int truncated;
	cJSON *matches;
	char *buf; /* the file being searched */
	size_t cap;
	char path[WALK_PATH];
};

/* ASCII-case-insensitive memmem. */
static int
has_icase(const char *s, size_t n, const char *p, size_t m)
{
	size_t i, j;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++)
			if (tolower((unsigned char)s[i + j]) !=
			    tolower((unsigned char)p[j]))
				break;
		if (j == m)
			return 1;
	}
	return 0;
}

/* The line as text: at most TOOL_LINE_MAX bytes of it, invalid bytes
 * as U+FFFD.  out has room for 3 * TOOL_LINE_MAX + 1 bytes. */
static void
line_text(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0, k;
	uint32_t cp;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > TOOL_LINE_MAX)
		n = TOOL_LINE_MAX;
	while (i < n) {
		unsigned char ch = (unsigned char)s[i];

		if (ch != 0 && ch < 0x80) {
			out[o++] = (char)ch;
			i++;
			continue;
		}
		k = ch != 0 ? glob_utf8_char(s + i, n - i, &cp) : 0;
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

/* 1 to go on, 0 when max_results is reached and one more was found. */
static int
add_match(struct search *s, uint64_t line, const char *text, size_t n)
{
	struct tc *t = s->t;
	char out[3 * TOOL_LINE_MAX + 1];
	cJSON *m;

	if (s->n >= s->max) {
		s->truncated = 1;
		return 0;
	}
	m = cJSON_CreateObject();
	if (m == NULL || !cJSON_AddItemToArray(s->matches, m)) {
		cJSON_Delete(m);
		t->oom = 1;
		return 0;
	}
	line_text(text, n, out);
	add_name(t, m, "path", "path_b64", s->path);
	add_num(t, m, "line", (double)line);
	add_str(t, m, "text", out);
	s->n++;
	return !t->oom;
}

static int
line_matches(struct search *s, char *line, size_t n)
{
	int hit;
	char save;

	if (!s->use_re)
		return s->icase ? has_icase(line, n, s->pat, s->plen) :
		                  memmem(line, n, s->pat, s->plen) != NULL;
	save = line[n];
	line[n] = '\0';
	hit = regexec(&s->re, line, 0, NULL, 0) == 0;
	line[n] = save;
	return hit;
}

/* Search the regular file name in dfd.  1 to go on, 0 to stop. */
static int
search_file(struct search *s, int dfd, const char *name, const struct stat *st)
{
	struct stat fst;
	size_t got = 0;
	char *p, *end, *nl;
	uint64_t line = 1;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) ||
	    fst.st_ino != st->st_ino || fst.st_size > TOOL_READ_MAX) {
		close(fd);
		return 1;
	}
	if ((size_t)fst.st_size + 1 > s->cap) {
		char *nb = realloc(s->buf, (size_t)fst.st_size + 1);

		if (nb == NULL) {
			close(fd);
			s->t->oom = 1;
			return 0;
		}
		s->buf = nb;
		s->cap = (size_t)fst.st_size + 1;
	}
	if (read_at(fd, s->buf, (size_t)fst.st_size, 0, &got) < 0) {
		close(fd);
		return 1;
	}
	close(fd);
	s->buf[got] = '\0';
	if (memchr(s->buf, '\0', got < BINARY_PROBE ? got : BINARY_PROBE))
		return 1; /* binary */
	end = s->buf + got;
	for (p = s->buf; p < end; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (line_matches(s, p, (size_t)(nl - p)) &&
		    !add_match(s, line, p, (size_t)(nl - p)))
			return 0;
	}
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Search beneath the directory dfd, whose real path is s->path[0..plen),
 * in name order, never following a symlink, leaving out what is hidden.
 * 1 to go on, 0 to stop.
 */
static int
search_dir(struct search *s, int dfd, size_t plen, int depth)
{
	struct tc *t = s->t;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int fd, more = 1;
	DIR *d;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nv = realloc(names, nc * sizeof(*names));

			if (nv == NULL)
				break;
			names = nv;
			cap = nc;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL)
			break;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && more; i++) {
		size_t k = strlen(names[i]), len = plen;
		struct stat st;

		if (plen + 1 + k + 1 > WALK_PATH)
			continue;
		if (len > 0)
			s->path[len++] = '/';
		memcpy(s->path + len, names[i], k + 1);
		len += k;
		if (stat_name(t, dirfd(d), names[i], &st) < 0) {
			/* gone, or another mount */
		} else if (S_ISDIR(st.st_mode)) {
			int sub;

			if (depth < TOOL_SEARCH_DEPTH &&
			    policy_check(t->pol, t->c->perms, POLICY_OP_LIST,
			        s->path, NULL) == 0 &&
			    (sub = openat(dirfd(d), names[i],
			         O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			             O_CLOEXEC)) >= 0) {
				more = search_dir(s, sub, len, depth + 1);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode) && st.st_size <= TOOL_READ_MAX &&
		    policy_check(t->pol, t->c->perms, POLICY_OP_OPEN_READ,
		        s->path, NULL) == 0 &&
		    !(t->w->ws.path_rules && st.st_nlink > 1 &&
		        (fs_linkmap_get(&t->w->ws.links, st.st_dev, st.st_ino) &
		            INODE_RULE_DENY)) &&
		    glob_match(s->g, s->path)) {
			more = search_file(s, dirfd(d), names[i], &st);
		}
		s->path[plen] = '\0';
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return more;
}

static int
t_search(struct tc *t, const cJSON *args)
{
	char path[REL_MAX + 1], gerr[128];
	const char *pattern = arg_str(args, "pattern", "");
	const char *globpat = arg_str(args, "glob", "**");
	struct search *s;
	struct stat st;
	int fd = -1, e, flags;
	cJSON *o;

	e = canon(t, "path", arg_str(args, "path", ""), path);
	if (e < 0)
		return e;
	snprintf(t->r->path, sizeof(t->r->path), "%s", path);
	if (pattern[0] == '\0')
		return fail(t, -EINVAL, "field \"pattern\": empty");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fail(t, -ENOMEM, "out of memory");
	s->t = t;
	s->pat = pattern;
	s->plen = strlen(pattern);
	s->icase = arg_bool(args, "ignore_case");
	(void)arg_uint(args, "max_results", 100, &s->max);
	if (s->max < 1 || s->max > TOOL_RESULTS_MAX) {
		e = fail(t, -EINVAL, "field \"max_results\": 1 to %d",
		    TOOL_RESULTS_MAX);
		goto out;
	}
	if (glob_compile(globpat, &s->g, gerr, sizeof(gerr)) < 0) {
		e = fail(t, -EINVAL, "field \"glob\": %s", gerr);
		goto out;
	}
	if (arg_bool(args, "regex")) {
		flags = REG_EXTENDED | REG_NOSUB | REG_NEWLINE |
		    (s->icase ? REG_ICASE : 0);
		e = regcomp(&s->re, pattern, flags);
		if (e != 0) {
			char rerr[160];

			regerror(e, &s->re, rerr, sizeof(rerr));
			e = fail(t, -EINVAL, "field \"pattern\": %s", rerr);
			goto out;
		}
		s->use_re = 1;
	}
	e = open_obj(t, POLICY_OP_LIST, path, O_RDONLY | O_DIRECTORY, &fd, &st,
	    s->path);
	if (e == -ENOTDIR)
		e = fail(t, e, "%s: not a directory", disp(path));
	if (e < 0)
		goto out;
	o = reply_new(t);
	if (o == NULL)
		goto out;
	s->matches = cJSON_AddArrayToObject(o, "matches");
	if (s->matches == NULL) {
		t->oom = 1;
		goto out;
	}
	(void)search_dir(s, fd, strlen(s->path), 0);
	add_bool(t, o, "truncated", s->truncated);
out:
	if (fd >= 0)
		close(fd);
	if (s->use_re)
		regfree(&s->re);
	glob_free(s->g);
	free(s->buf);
	free(s);
	return e;
}

/* ---- the table and the entry point -------------------------------------- */

static const struct tool {
	const char *name;
	const struct argspec *args;
	int (*run)(struct tc *t, const cJSON *args);
	int changes; /* chaos may fail it (docs/config.md: reads never fail) */
} tools[] = {
	{ "read_file", read_args, t_read_file, 0 },
	{ "write_file", write_args, t_write_file, 1 },
	{ "edit_file", edit_args, t_edit_file, 1 },
	{ "list_dir", list_args, t_list_dir, 0 },
	{ "stat", stat_args, t_stat, 0 },
	{ "delete", delete_args, t_delete, 1 },
	{ "move", move_args, t_move, 1 },
	{ "search", search_args, t_search, 0 },
};

int
tool_run(struct workspace_fs *w, const struct tool_caller *c, const char *tool,
    const struct cJSON *args, struct tool_result *r)
{
	const struct tool *tl = NULL;
	struct tc t;
	size_t i;
	int e;

	memset(r, 0, sizeof(*r));
	memset(&t, 0, sizeof(t));
	t.w = w;
	t.c = c;
	t.r = r;
	if (w == NULL || c == NULL || c->agent == NULL || tool == NULL)
		return fail(&t, -EINVAL, "no workspace, caller or tool");
	t.pol = w->ws.policy;
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (strcmp(tools[i].name, tool) == 0)
			tl = &tools[i];
	if (tl == NULL)
		return fail(&t, -ENOSYS, "no such tool");
	e = check_args(&t, args, tl->args);
	if (e < 0)
		return e;
	if (tl->changes && (policy_chaos_enabled(t.pol) & POLICY_CHAOS_API)) {
		const char *what;

		e = policy_chaos_api(t.pol, c->agent, tool,
		    atomic_fetch_add(&w->api_ctr, 1), &what);
		if (e < 0) {
			r->denied = 1;
			r->injected = 1;
			snprintf(r->rule, sizeof(r->rule), "%s",
			    what != NULL ? what : "chaos");
			return fail(&t, e, "%s: injected fault (%s)", tool,
			    r->rule);
		}
	}
	if (w->rootfd < 0 || w->root_real == NULL)
		return fail(&t, -EIO, "the workspace root is unavailable");
	e = tl->run(&t, args);
	if (e == 0 && t.oom)
		e = fail(&t, -ENOMEM, "out of memory");
	if (e < 0) {
		cJSON_Delete(r->reply);
		r->reply = NULL;
		if (r->message[0] == '\0')
			(void)fail(&t, e, "%s: %s", tool, strerror(-e));
	}
	/* every view sees the change before the reply */
	fsgroup_wait(w->group, t.ticket, WAIT_MS);
	return e;
}
