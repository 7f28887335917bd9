/*
 * tools.h - the file tools of the control API (docs/api.md, "Tools"):
 * read_file, write_file, edit_file, list_dir, stat, delete, move, search.
 *
 * A tool works on a struct workspace_fs (view.h), the state that every
 * view of the workspace shares, and makes exactly the decisions a view
 * makes for the same change: the same policy (deny, readonly, roles,
 * max_file_size, quota, chaos), the same locks and implicit write lease,
 * the same refusal when the audit trail cannot be written.  Every change
 * invalidates what it touched in the kernel caches of every view of the
 * workspace before tool_run() returns.
 *
 * Paths are resolved beneath the workspace root with openat2()
 * (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV; see
 * tool_resolve_by_walk() for systems without it), and the
 * policy is checked on the path asked for and on the path the object
 * really has, so a symlink (or a hard link known at start) to a denied
 * file is as denied as the file.  Names that a change creates, removes
 * or moves are acted on with *at() calls on their parent directory, the
 * last component never followed.  Reads (read_file, list_dir, edit_file,
 * write_file of an existing name) follow a symlink inside the root;
 * stat, delete and move act on the symlink itself.
 *
 * write_file and edit_file replace a file whole: the new content goes to
 * an unnamed file (O_TMPFILE) in the same directory, which is then linked
 * in or renamed over the old one, keeping its mode and owner; a reader
 * never sees half a file and a failed write leaves the old content.
 * Another hard link of the old file keeps the old content; extended
 * attributes are not carried over.  New files are 0644, new directories
 * 0755, given to [workspace] uid/gid when set.
 *
 * Audit: tool_run() emits no audit event.  The caller records one per
 * call, from r->path, r->path2, r->rule, r->bytes, r->injected, and waits
 * for its commit before replying when r->changed.
 *
 * Threads: tool_run() may be called from any number of threads at once,
 * on one workspace or several.  It keeps no state between calls but the
 * workspace's chaos counter and quota counter (atomics).
 */
#ifndef SN_TOOLS_H
#define SN_TOOLS_H

#include <stdint.h>

struct cJSON;
struct workspace_fs;

struct tool_caller {
	const char *agent; /* the lock holder; who it is attributed to */
	const char *role;
	/* PERM_* of the role (the API already checked the tool's permission) */
	unsigned perms;
};

/* Every field is OUT, set by tool_run(). */
struct tool_result {
	/* the JSON reply object on success (the caller frees it with
	 * cJSON_Delete), else NULL */
	struct cJSON *reply;
	/* canonical workspace-relative path acted on ("" = the root): the
	 * real path once resolved, for the audit event */
	char path[4096];
	char path2[4096]; /* move: the destination */
	/* what refused it: "deny:*.pem", "readonly:docs", "lock:42 held by
	 * bob", "role Reader lacks edit_file", "max_file_size:100",
	 * "quota:N", "chaos:timeout", "audit:unwritable"; or "" */
	char rule[256];
	/* an API error code overriding the errno mapping: "no_match",
	 * "ambiguous", or NULL */
	const char *reason;
	/* one line (UTF-8) for the error body: what and why; never file
	 * contents, never whether a path is absent or hidden */
	char message[256];
	char holder[65];    /* with -EBUSY: the lock holder */
	int64_t expires_ns; /* with -EBUSY: when that lock expires
	                       (CLOCK_REALTIME ns; 0: a write lease) */
	int64_t bytes;      /* bytes written */
	/* 1 if the workspace was changed (the API then waits for the audit
	 * commit before replying); may be 1 on an error too (mkdirs made
	 * directories, a recursive delete stopped half way) */
	int changed;
	/* 1 if refused by policy, lock, role, size, quota, chaos or the
	 * audit's health (vs. an ordinary error) */
	int denied;
	int injected; /* 1 if chaos injected the error */
};

/* Names of the tools this module implements (NULL-terminated), for the
 * route table. */
extern const char *const tool_names[];

/* Bounds (docs/api.md). */
#define TOOL_READ_MAX     (16 * 1024 * 1024) /* read_file, edit_file, search */
#define TOOL_LIST_MAX     100000 /* list_dir entries, then "truncated" */
#define TOOL_SEARCH_DEPTH 64     /* directories beneath the search path */
#define TOOL_RESULTS_MAX  10000  /* search max_results */
#define TOOL_LINE_MAX     1000   /* bytes of a matching line returned */

/*
 * Run tool on w for caller c with args (a JSON object; NULL is {}).
 * Every OUT field of r is set (r->reply is NULL unless 0 is returned).
 * Returns 0, or a negative errno:
 *   -EINVAL     bad argument: unknown or missing field, wrong JSON type, a
 *               value out of range, a bad path ("..", absolute, bad UTF-8,
 *               over 4095 bytes), a bad regex (message: regerror's text),
 *               a symlink loop, the root where a name is needed
 *   -ENOENT     absent, or hidden by a deny rule (the message is the same
 *               and does not say which), or reached through a symlink
 *               that leaves the root
 *   -EROFS      readonly rule, or the role lacks edit_file
 *   -EACCES     the role lacks read_file, or a symlink moved there would
 *               point out of the root (symlinks = inside)
 *   -EBUSY      another agent holds a lock or write lease (r->holder,
 *               r->expires_ns)
 *   -EEXIST     move onto an existing name without overwrite
 *   -ENOTEMPTY  delete of a non-empty directory without recursive (or
 *               holding entries hidden from the caller)
 *   -EISDIR / -ENOTDIR  the object is not of the kind the tool needs
 *   -EFBIG      over max_file_size, or over the 16 MiB read cap
 *   -EDQUOT     over the workspace quota
 *   -ENODATA    edit_file: old does not occur (r->reason "no_match")
 *   -ENOTUNIQ   edit_file: old occurs more than once (r->reason
 *               "ambiguous")
 *   -ETIMEDOUT / -ENOSPC  injected by chaos, scope api, into the tools
 *               that change something (r->injected = 1); a real ENOSPC
 *               or EDQUOT of the backing filesystem is passed on too
 *   -EIO        the audit trail cannot be written (rule
 *               "audit:unwritable", nothing changed), the workspace root
 *               is unavailable, or an I/O error
 *   -ENOMEM     out of memory
 *   -ENOSYS     unknown tool
 * A refusal changes nothing on disk.
 *
 * NUL: cJSON ends a string at an escaped NUL ("\u0000") without saying
 * so; the caller must refuse a body that holds one before parsing it.
 */
/*
 * The one rule for a workspace path argument (the tools', the locks', the
 * exec tool's cwd): relative, valid UTF-8 without NUL, no ".." component,
 * at most 4095 bytes; made canonical into out ("" for the root).  0, or
 * -EINVAL with a one-line msg naming field.
 */
int tool_path_canon(const char *field, const char *in, char *out, size_t outlen,
    char *msg, size_t msglen);

int tool_run(struct workspace_fs *w, const struct tool_caller *c,
    const char *tool, const struct cJSON *args, struct tool_result *r);

/*
 * Resolve paths by walking them one component at a time (openat() with
 * O_NOFOLLOW, symlinks read and followed by hand, with the rules of
 * openat2's RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
 * instead of with openat2().  That is what happens by itself where
 * openat2() is missing (ENOSYS: kernels before 5.6, valgrind); tests
 * turn it on to check both ways.  Process-wide.
 */
void tool_resolve_by_walk(int on);

#endif
