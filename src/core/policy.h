/*
 * policy.h - what an agent may do to a path: the one decision that the
 * filesystem and the API share.
 *
 * Pure: no system call, no global state, no allocation after
 * policy_new().  A struct policy is immutable once made, so every FUSE
 * worker thread and every API thread may use one without a lock.
 *
 * Return values.  policy_new() returns an SN_E* code (err.h).  The
 * decisions (policy_check, policy_rename_ok, policy_symlink_target_ok,
 * policy_size_ok, policy_quota_ok, policy_chaos*, policy_canon_path,
 * policy_role_perms) return 0 or a NEGATIVE errno: exactly what the
 * filesystem replies; the API maps it to an HTTP status.  A decision
 * that refuses also names the rule that refused in *rule (a static or
 * policy-owned string that lives as long as the policy), so the audit
 * event can say why: "deny:*.pem", "readonly:.git", "role lacks
 * edit_file", "symlinks:inside", "max_file_size:1048576",
 * "quota:1073741824", "chaos:timeout".
 *
 * The errno table (first rule that applies wins, in this order):
 *
 *   1. deny (a deny pattern covers the path): the path does not exist.
 *        ENOENT  LOOKUP STAT READDIR_ENTRY (left out of the listing)
 *                OPEN_READ OPEN_WRITE LIST GETXATTR LISTXATTR READLINK
 *                UNLINK RMDIR SETATTR TRUNCATE WRITE SETXATTR REMOVEXATTR
 *        EACCES  CREATE MKDIR MKNOD SYMLINK LINK_TO LINK_FROM
 *                RENAME_TO RENAME_FROM
 *   2. readonly (a readonly pattern covers the path):
 *        EROFS   every change (the ops marked "change" below)
 *   3. the role lacks edit_file:
 *        EROFS   every change
 *   4. the role lacks read_file:
 *        EACCES  OPEN_READ OPEN_WRITE CREATE LIST READDIR_ENTRY GETXATTR
 *                LISTXATTR.  LOOKUP, STAT and READLINK stay allowed, so
 *                the tree can be walked and stat'ed (names and
 *                attributes), but no file content, directory listing or
 *                extended attribute can be read.
 *
 * Changes: OPEN_WRITE CREATE MKDIR MKNOD SYMLINK LINK_TO LINK_FROM UNLINK
 * RMDIR RENAME_FROM RENAME_TO SETATTR TRUNCATE WRITE SETXATTR REMOVEXATTR.
 * LINK_FROM is a change of the existing file: a new name for a readonly
 * or denied file would be a way around the rule.
 */
#ifndef SN_POLICY_H
#define SN_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct sn_config;
struct sn_cfg_workspace;

/* Permissions of a role.  Names in policy.c's one table. */
enum policy_perm {
	PERM_READ_FILE = 1u << 0,
	PERM_EDIT_FILE = 1u << 1,
	PERM_EXEC = 1u << 2,
	PERM_LOCK = 1u << 3,
	PERM_READ_LOGS = 1u << 4,
	PERM_ADMIN = 1u << 5,
	PERM_LLM = 1u << 6,
	PERM_ALL_ = (1u << 7) - 1
};

enum policy_op {
	POLICY_OP_LOOKUP,        /* a name in a directory */
	POLICY_OP_STAT,          /* getattr */
	POLICY_OP_READDIR_ENTRY, /* may this entry be listed? */
	POLICY_OP_LIST,          /* opendir/readdir of the directory */
	POLICY_OP_OPEN_READ,
	POLICY_OP_OPEN_WRITE, /* an open that can write (O_WRONLY, O_RDWR) */
	POLICY_OP_READLINK,
	POLICY_OP_GETXATTR,
	POLICY_OP_LISTXATTR,
	POLICY_OP_CREATE, /* create and open a file */
	POLICY_OP_MKDIR,
	POLICY_OP_MKNOD,
	POLICY_OP_SYMLINK,   /* the new link's own path */
	POLICY_OP_LINK_TO,   /* the new name of a hard link */
	POLICY_OP_LINK_FROM, /* the existing file of a hard link */
	POLICY_OP_UNLINK,
	POLICY_OP_RMDIR,
	POLICY_OP_RENAME_FROM,
	POLICY_OP_RENAME_TO,
	POLICY_OP_SETATTR, /* chmod, chown, utimes */
	POLICY_OP_TRUNCATE,
	POLICY_OP_WRITE, /* write/fallocate to an open file */
	POLICY_OP_SETXATTR,
	POLICY_OP_REMOVEXATTR,
	POLICY_OP_COUNT_
};

/* Chaos scopes: where policy_chaos_enabled() says chaos applies. */
#define POLICY_CHAOS_FS  0x1u /* policy_chaos() */
#define POLICY_CHAOS_API 0x2u /* policy_chaos_api() */

struct policy;

/*
 * Make the policy of workspace ws, with the chaos settings of cfg.  Either
 * may be NULL: policy_new(NULL, NULL, ...) is the empty policy of
 * `sentinel mount` without a config (no rules, symlinks = inside, no
 * size limits, no chaos).  0, SN_ECONFIG (a pattern does not compile;
 * err says which) or SN_ENOMEM.  OUT: *out, NULL on failure; the caller
 * frees it with policy_free().  The policy keeps no pointer into cfg or ws.
 */
int policy_new(const struct sn_config *cfg, const struct sn_cfg_workspace *ws,
    struct policy **out, char *err, size_t errlen);

void policy_free(struct policy *p);

/* 1 if p has any deny or readonly rule (a path must be computed). */
int policy_has_path_rules(const struct policy *p);

/* Which rules cover relpath (first matching of each kind). */
struct policy_path {
	int deny;
	int readonly;
	const char *deny_rule; /* "deny:PATTERN", or NULL */
	const char *ro_rule;   /* "readonly:PATTERN", or NULL */
};

/* OUT: *out.  p may be NULL (nothing covered). */
void policy_classify(const struct policy *p, const char *relpath,
    struct policy_path *out);

/*
 * May a view whose role has role_perms do op on relpath (canonical, "" =
 * the root)?  0, or a negative errno from the table above with *rule
 * naming the rule (*rule NULL when allowed; rule may be NULL).  -EINVAL
 * for an unknown op or a NULL relpath.
 */
int policy_check(const struct policy *p, unsigned role_perms, enum policy_op op,
    const char *relpath, const char **rule);

/*
 * A rename of from to to: policy_check() of RENAME_FROM on from and
 * RENAME_TO on to, and, when is_dir, that no deny or readonly rule loses
 * anything under from by the move (with deny = "secrets/id_rsa", renaming
 * the directory "secrets" would uncover the key): -EACCES naming the
 * deny rule, -EROFS naming the readonly rule.  Rules that follow a name
 * wherever it is ("*.pem", ".env") never stop a rename.
 */
int policy_rename_ok(const struct policy *p, unsigned role_perms,
    const char *from, const char *to, int is_dir, const char **rule);

/*
 * May a symlink at link_relpath point to target?  With symlinks = any,
 * always 0.  With symlinks = inside, target is resolved lexically from
 * the link's directory: an absolute target, or one whose ".." climbs
 * above the root, is -EPERM with *rule "symlinks:inside".  A target that
 * lands on a denied path is allowed: the kernel follows it through the
 * view, where the deny applies.  An empty target is -ENOENT (as
 * symlink(2)), rule NULL.
 */
int policy_symlink_target_ok(const struct policy *p, const char *link_relpath,
    const char *target, const char **rule);

/* A file may grow to new_size: 0 or -EFBIG ("max_file_size:N"). */
int policy_size_ok(const struct policy *p, uint64_t new_size,
    const char **rule);

/*
 * The workspace holds used_bytes and an operation adds delta (negative:
 * frees): 0 or -EDQUOT ("quota:N").  Freeing space is always allowed,
 * even over the quota.
 */
int policy_quota_ok(const struct policy *p, uint64_t used_bytes, int64_t delta,
    const char **rule);

/*
 * Chaos.  policy_chaos_enabled() is 0 when chaos is off (rate 0, the
 * default), else the POLICY_CHAOS_* scopes it covers: check it first and
 * skip the rest on the hot path.
 *
 * policy_chaos() decides for one filesystem operation: 0, or -ETIMEDOUT
 * / -ENOSPC (*what "chaos:timeout" / "chaos:disk_full") for a `rate`
 * fraction of changing ops, when the fs scope is on.  The decision is a
 * SipHash-2-4, keyed by the seed, of (view, op, relpath, counter): the
 * same seed and the same sequence of operations give the same faults.
 * counter is the caller's per-view operation count.  Reads never fail.
 *
 * policy_chaos_api() is the same for one API call (a tool call that
 * changes something; the API decides which) when the api scope is on.
 */
unsigned policy_chaos_enabled(const struct policy *p);
int policy_chaos(const struct policy *p, const char *view, enum policy_op op,
    const char *relpath, uint64_t counter, const char **what);
int policy_chaos_api(const struct policy *p, const char *agent,
    const char *call, uint64_t counter, const char **what);

/*
 * The permissions of a role: a [role "NAME"] in cfg (cfg may be NULL),
 * else a built-in (Dev, Reader, Audit, Admin).  0, or -ENOENT for a role
 * nobody defined (deny by default).  OUT: *perms, 0 on failure.
 */
int policy_role_perms(const struct sn_config *cfg, const char *role,
    unsigned *perms);

/* The built-in role name's permissions: 0, or -ENOENT. OUT: *perms. */
int policy_role_builtin(const char *name, unsigned *perms);

/* The PERM_* bit named s[0..n): 0, or -ENOENT.  OUT: *bit. */
int policy_perm_from_name(const char *s, size_t n, unsigned *bit);

/* The name of one PERM_* bit ("read_file"), or NULL. */
const char *policy_perm_name(unsigned bit);

/* The name of an op ("open_write"), or "?". */
const char *policy_op_name(enum policy_op op);

/* 1 if op changes something (see the list above). */
int policy_op_changes(enum policy_op op);

/*
 * Make an API path canonical: in is relative, valid UTF-8, without ".."
 * components; "." components, repeated and trailing slashes go.  ""
 * and "." give "" (the root).  0; -EINVAL for an absolute path, a ".."
 * component, invalid UTF-8 or NULL; -ENAMETOOLONG when a component is
 * over 255 bytes or the result does not fit out[0..outlen) (or is over
 * 4095 bytes).  OUT: out (empty on failure).
 */
int policy_canon_path(const char *in, char *out, size_t outlen);

#endif
