/*
 * registry.h - the workspaces one server serves: those of the config and
 * those made through the API (kept in <state_dir>/catalog.db), their
 * grants, their views, and the server-level audit chain (events that
 * belong to no workspace: failed authentication, administration).
 *
 * Concurrency: the registry's rwlock protects the table of workspaces,
 * every workspace's grants and views; a struct rws is reference counted
 * (registry_get/registry_put) so a request can use it without the lock,
 * and a deleted workspace is freed only when its last request is done.
 * Lock order: registry->mu, then nothing else of the registry.
 *
 * Ownership: registry_open() returns an object owned by the caller,
 * released by registry_close() (which unmounts every view).  cfg must
 * outlive it.
 */
#ifndef SN_API_REGISTRY_H
#define SN_API_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sn_config;
struct workspace_fs;
struct audit;
struct cJSON;

struct registry;
struct rws; /* one workspace */

int registry_open(const struct sn_config *cfg, const char *state_dir,
    struct registry **out /* OUT */, char *err, size_t errlen);
/* Mount and start the [view]s of the config.  0 or SN_E* with err. */
int registry_mount_config_views(struct registry *r, char *err, size_t errlen);
void registry_close(struct registry *r);

/* The server-level audit chain (never NULL once open). */
struct audit *registry_audit(struct registry *r);
const char *registry_state_dir(const struct registry *r);
const struct sn_config *registry_config(const struct registry *r);

/* A reference to workspace id: 0, or SN_ENOENT. */
int registry_get(struct registry *r, const char *id, struct rws **out);
void registry_put(struct rws *w);
const char *rws_id(const struct rws *w);
struct workspace_fs *rws_fs(struct rws *w);
/* 1 if agent holds a grant on w. */
int registry_granted(struct registry *r, struct rws *w, const char *agent);

/*
 * The JSON of workspaces: one workspace object (docs/api.md), or an array
 * of those agent may see (all when all != 0).  NULL when out of memory.
 */
struct cJSON *registry_ws_json(struct registry *r, struct rws *w);
struct cJSON *registry_list_json(struct registry *r, const char *agent,
    int all);

/*
 * Make a workspace by cloning repo (a local path, file:// or another git
 * URL) into its own root: git clone --no-hardlinks, no hooks, no system
 * or user git config.  0, SN_EEXIST (id taken), SN_EINVAL (bad repo:
 * msg says why), SN_EIO (clone failed: msg holds git's last line).
 */
int registry_create(struct registry *r, const char *id, const char *repo,
    char *msg, size_t msglen);
/*
 * Delete an API-made workspace: unmount its views, close it, remove it
 * from the catalog, move its directory (root and audit trail) to
 * <state_dir>/trash/<id>.<time>.  0, SN_ENOENT, SN_EPERM (declared in the
 * config), SN_EIO.
 */
int registry_delete(struct registry *r, const char *id, char *msg,
    size_t msglen);

/* Grants: 0, SN_ENOENT (no such workspace / grant), SN_EIO. */
int registry_grant(struct registry *r, struct rws *w, const char *agent);
int registry_revoke(struct registry *r, struct rws *w, const char *agent);
struct cJSON *registry_grants_json(struct registry *r, struct rws *w);

/*
 * Views: mount w for agent with role under <views_dir>/<id>/<agent>.
 * 0, SN_EEXIST (agent has a view of w), SN_EINVAL (unknown role), or
 * the view's error with msg.
 */
int registry_view_add(struct registry *r, struct rws *w, const char *agent,
    const char *role, struct cJSON **view /* OUT */, char *msg, size_t msglen);
int registry_view_remove(struct registry *r, struct rws *w, const char *agent);
struct cJSON *registry_views_json(struct registry *r, struct rws *w);

/*
 * Readiness: every view mounted and serving, every audit trail writable.
 * 1 ready, 0 not (why says what).
 */
int registry_ready(struct registry *r, char *why, size_t whylen);

/* ---- exec --------------------------------------------------------------- */

struct sn_cfg_workspace;
/* w's [workspace] section, or the defaults for a workspace of the API. */
const struct sn_cfg_workspace *rws_config(const struct rws *w);
/* Take one of w's exec slots ([workspace] exec_max): 0 or SN_EBUSY. */
int registry_exec_enter(struct rws *w);
void registry_exec_leave(struct rws *w);
/*
 * The host path (into buf) of agent's private exec view of w in role,
 * mounted at <views_dir>/.exec/<id>/<agent>.<role> with allow_other for
 * uid alone on first use, then reused.  0, or SN_E* with msg.
 */
int registry_exec_view(struct registry *r, struct rws *w, const char *agent,
    const char *role, uid_t uid, char *buf, size_t buflen, char *msg,
    size_t msglen);
/*
 * What a command must never see: the state dir, the views, the audit key,
 * the API's key and token, the secrets' directory and Vault token, the
 * config file, every workspace root (real paths, those that exist).
 * NULL-terminated, freed by registry_hide_free(); NULL when out of memory.
 */
char **registry_hide_paths(struct registry *r);
void registry_hide_free(char **v);

/* How many views serve now; *total (may be NULL): how many there are. */
size_t registry_views_serving(struct registry *r, size_t *total);

/* Sum of the audit queues (metrics). */
size_t registry_audit_queued(struct registry *r);

#endif
