/*
 * registry.c - the workspaces one server serves (see registry.h).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api/registry.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/db.h"
#include "core/dirs.h"
#include "core/err.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/text.h"
#include "fs/view.h"

#define CLONE_TIMEOUT_S 600
#define REPO_MAX        4096

struct rview {
	char *agent, *role, *mountpoint;
	int from_config;
	int exec; /* the private view the exec tool runs commands in */
	struct view *v;
};

struct rws {
	struct registry *reg;
	char *id, *root, *repo;
	int64_t created_ns;
	int from_config;
	struct workspace_fs *w;
	/* protected by reg->mu */
	char **grants;
	size_t ngrants;
	struct rview *views;
	size_t nviews;
	atomic_int refs;   /* the table's one, plus one per registry_get() */
	atomic_uint execs; /* exec calls running */
	/* the config section, or the defaults for an API workspace */
	const struct sn_cfg_workspace *wcfg;
	struct sn_cfg_workspace defaults;
};

struct registry {
	const struct sn_config *cfg;
	char *state_dir;
	char *views_dir;
	struct audit *audit;
	pthread_mutex_t catmu; /* protects catalog */
	struct db *catalog;
	pthread_rwlock_t mu; /* protects ws, n, and each rws's lists */
	struct rws **ws;
	size_t n;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static void
rview_clear(struct rview *v)
{
	view_free(v->v);
	free(v->agent);
	free(v->role);
	free(v->mountpoint);
	memset(v, 0, sizeof(*v));
}

static void
rws_free(struct rws *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nviews; i++)
		rview_clear(&w->views[i]);
	free(w->views);
	workspace_fs_free(w->w);
	for (i = 0; i < w->ngrants; i++)
		free(w->grants[i]);
	free(w->grants);
	free(w->id);
	free(w->root);
	free(w->repo);
	free(w);
}

void
registry_put(struct rws *w)
{
	if (w != NULL && atomic_fetch_sub(&w->refs, 1) == 1)
		rws_free(w);
}

const char *
rws_id(const struct rws *w)
{
	return w->id;
}

struct workspace_fs *
rws_fs(struct rws *w)
{
	return w->w;
}

struct audit *
registry_audit(struct registry *r)
{
	return r->audit;
}

const char *
registry_state_dir(const struct registry *r)
{
	return r->state_dir;
}

const struct sn_config *
registry_config(const struct registry *r)
{
	return r->cfg;
}

/* Index of id in the table, or -1.  Caller holds mu. */
static ssize_t
find(struct registry *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->ws[i]->id, id) == 0)
			return (ssize_t)i;
	return -1;
}

int
registry_get(struct registry *r, const char *id, struct rws **out)
{
	ssize_t i;

	*out = NULL;
	pthread_rwlock_rdlock(&r->mu);
	i = find(r, id);
	if (i >= 0) {
		*out = r->ws[i];
		atomic_fetch_add(&(*out)->refs, 1);
	}
	pthread_rwlock_unlock(&r->mu);
	return i >= 0 ? 0 : SN_ENOENT;
}

/* Add agent to w's grants (no duplicate).  Caller holds mu for writing
 * (or owns w alone). */
static int
grant_add(struct rws *w, const char *agent)
{
	char **nv;
	size_t i;

	for (i = 0; i < w->ngrants; i++)
		if (strcmp(w->grants[i], agent) == 0)
			return 0;
	nv = realloc(w->grants, (w->ngrants + 1) * sizeof(*nv));
	if (nv == NULL)
		return SN_ENOMEM;
	w->grants = nv;
	if ((nv[w->ngrants] = strdup(agent)) == NULL)
		return SN_ENOMEM;
	w->ngrants++;
	return 0;
}

int
registry_granted(struct registry *r, struct rws *w, const char *agent)
{
	size_t i;
	int yes = 0;

	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < w->ngrants && !yes; i++)
		yes = strcmp(w->grants[i], agent) == 0;
	pthread_rwlock_unlock(&r->mu);
	return yes;
}

/* Open one workspace (not yet in the table). */
static int
ws_open(struct registry *r, const char *id, const char *root,
    const struct sn_cfg_workspace *wcfg, const char *repo, int64_t created,
    struct rws **out, char *err, size_t errlen)
{
	struct workspace_opts wo;
	struct rws *w;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->id = strdup(id)) == NULL ||
	    (w->root = strdup(root)) == NULL ||
	    (w->repo = strdup(repo != NULL ? repo : "")) == NULL) {
		rws_free(w);
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	w->reg = r;
	w->from_config = wcfg != NULL;
	if (wcfg == NULL)
		(void)config_workspace_defaults(&w->defaults);
	w->wcfg = wcfg != NULL ? wcfg : &w->defaults;
	w->created_ns = created;
	atomic_init(&w->refs, 1);
	memset(&wo, 0, sizeof(wo));
	wo.id = id;
	wo.root = root;
	wo.cfg = r->cfg;
	wo.wcfg = wcfg;
	wo.state_dir = r->state_dir;
	rc = workspace_fs_open(&wo, &w->w, err, errlen);
	if (rc < 0) {
		rws_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* Append w to the table.  Caller holds mu for writing. */
static int
table_add(struct registry *r, struct rws *w)
{
	struct rws **nv = realloc(r->ws, (r->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return SN_ENOMEM;
	r->ws = nv;
	r->ws[r->n++] = w;
	return 0;
}

struct load {
	struct registry *r;
	char *err;
	size_t errlen;
	int rc;
};

static int
load_ws(const struct db_ws_row *row, void *arg)
{
	struct load *l = arg;
	struct rws *w;
	int rc;

	if (!config_valid_id(row->id) ||
	    config_workspace(l->r->cfg, row->id) != NULL) {
		log_warn("catalog: workspace %s: skipped (bad id, or declared "
		         "in the config too)",
		    row->id);
		return 0;
	}
	rc = ws_open(l->r, row->id, row->root, NULL, row->repo, row->created_ns,
	    &w, l->err, l->errlen);
	if (rc == 0 && (rc = table_add(l->r, w)) < 0)
		rws_free(w);
	return rc;
}

static int
load_grant(const char *ws, const char *agent, void *arg)
{
	struct load *l = arg;
	ssize_t i = find(l->r, ws);

	if (i < 0 || !config_valid_id(agent))
		return 0;
	return grant_add(l->r->ws[i], agent);
}

int
registry_open(const struct sn_config *cfg, const char *state_dir,
    struct registry **out, char *err, size_t errlen)
{
	struct registry *r;
	unsigned char key[AUDIT_KEY_LEN];
	char *path = NULL, *head = NULL, *keypath = NULL, *root = NULL;
	struct load l;
	struct rws *w;
	size_t i, j;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	pthread_mutex_init(&r->catmu, NULL);
	pthread_rwlock_init(&r->mu, NULL);
	r->cfg = cfg;
	r->state_dir = strdup(state_dir);
	/* absolute: the exec sandbox binds views by their host path */
	{
		char cwd[PATH_MAX];
		const char *vd = cfg->views_dir;

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			snprintf(cwd, sizeof(cwd), "/");
		if (vd != NULL)
			r->views_dir = vd[0] == '/' ?
			    strdup(vd) :
			    xasprintf("%s/%s", cwd, vd);
		else
			r->views_dir = state_dir[0] == '/' ?
			    xasprintf("%s/views", state_dir) :
			    xasprintf("%s/%s/views", cwd, state_dir);
	}
	if (r->state_dir == NULL || r->views_dir == NULL) {
		rc = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	/* the catalog and the server-level chain */
	if ((path = xasprintf("%s/catalog.db", state_dir)) == NULL) {
		rc = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = db_open(path, DB_CREATE, &r->catalog);
	if (rc < 0) {
		snprintf(err, errlen, "catalog %s: %s", path, err_str(rc));
		goto fail;
	}
	free(path);
	keypath =
	    cfg->audit_key_file != NULL ? strdup(cfg->audit_key_file) : NULL;
	if (keypath == NULL && audit_key_default_path(state_dir, &keypath) < 0)
		keypath = NULL;
	path = xasprintf("%s/server.db", state_dir);
	head = xasprintf("%s/server.head", state_dir);
	if (keypath == NULL || path == NULL || head == NULL) {
		rc = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = audit_key_load_or_create(keypath, key);
	if (rc == 0)
		rc = audit_open(path, head, key, sizeof(key), 0, &r->audit);
	explicit_bzero(key, sizeof(key));
	if (rc < 0) {
		snprintf(err, errlen, "server audit trail %s: %s", path,
		    err_str(rc));
		goto fail;
	}

	/* the config's workspaces, then the catalog's */
	for (i = 0; i < cfg->n_workspaces; i++) {
		const struct sn_cfg_workspace *wc = &cfg->workspaces[i];

		free(root);
		root = wc->root != NULL ?
		    strdup(wc->root) :
		    xasprintf("%s/workspaces/%s/root", state_dir, wc->id);
		if (root == NULL) {
			rc = SN_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (wc->root == NULL && (rc = dirs_mkdir_p(root, 0700)) < 0) {
			snprintf(err, errlen, "workspace %s: %s: %s", wc->id,
			    root, strerror(-rc));
			rc = SN_ESYS;
			goto fail;
		}
		rc = ws_open(r, wc->id, root, wc, "", 0, &w, err, errlen);
		if (rc < 0)
			goto fail;
		if ((rc = table_add(r, w)) < 0) {
			rws_free(w);
			goto fail;
		}
		for (j = 0; j < wc->agents.n && rc == 0; j++)
			rc = grant_add(w, wc->agents.v[j]);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	l.r = r;
	l.err = err;
	l.errlen = errlen;
	l.rc = 0;
	pthread_mutex_lock(&r->catmu);
	rc = db_ws_each(r->catalog, load_ws, &l);
	if (rc == 0)
		rc = db_grant_each(r->catalog, load_grant, &l);
	pthread_mutex_unlock(&r->catmu);
	if (rc < 0) {
		if (rc == SN_EIO)
			snprintf(err, errlen, "catalog: %s",
			    db_errmsg(r->catalog));
		goto fail;
	}
	free(root);
	free(path);
	free(head);
	free(keypath);
	*out = r;
	return 0;
fail:
	free(root);
	free(path);
	free(head);
	free(keypath);
	registry_close(r);
	return rc;
}

void
registry_close(struct registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* views first: they use their workspace */
	for (i = 0; i < r->n; i++) {
		struct rws *w = r->ws[i];
		size_t j;

		for (j = 0; j < w->nviews; j++) {
			view_free(w->views[j].v);
			w->views[j].v = NULL;
		}
	}
	for (i = 0; i < r->n; i++)
		registry_put(r->ws[i]);
	free(r->ws);
	db_close(r->catalog);
	audit_close(r->audit);
	pthread_mutex_destroy(&r->catmu);
	pthread_rwlock_destroy(&r->mu);
	free(r->state_dir);
	free(r->views_dir);
	free(r);
}

/* ---- views ------------------------------------------------------------- */

/* Mount a view of w; fills v on success.  Caller holds mu for writing. */
static int
view_mount(struct registry *r, struct rws *w, const char *name,
    const char *agent, const char *role, const char *mountpoint,
    const struct sn_cfg_view *vc, const uid_t *uids, size_t nuids,
    struct rview *v, char *err, size_t errlen)
{
	const struct sn_config *cfg = r->cfg;
	struct view_opts vo;
	int rc;

	memset(v, 0, sizeof(*v));
	memset(&vo, 0, sizeof(vo));
	vo.name = name;
	vo.workspace = w->id;
	vo.agent = agent;
	vo.role = role;
	vo.root = w->root;
	vo.mountpoint = mountpoint;
	if (vc != NULL) {
		vo.allow_other = vc->allow_other;
		vo.allowed_uids = vc->allowed_uids;
		vo.n_allowed_uids = vc->n_allowed_uids;
	} else if (nuids > 0) {
		vo.allow_other = 1;
		vo.allowed_uids = uids;
		vo.n_allowed_uids = nuids;
	}
	vo.cache_timeout = cfg->fs.cache_timeout;
	vo.fd_cache = cfg->fs.fd_cache;
	vo.threads = cfg->fs.threads;
	vo.writeback = cfg->fs.writeback_cache;
	{
		const struct sn_cfg_workspace *wc =
		    config_workspace(cfg, w->id);

		vo.external_writers = wc != NULL && wc->external_writers;
	}
	if ((v->agent = strdup(agent)) == NULL ||
	    (v->role = strdup(role)) == NULL ||
	    (v->mountpoint = strdup(mountpoint)) == NULL) {
		rview_clear(v);
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	rc = view_new(w->w, &vo, &v->v, err, errlen);
	if (rc == 0 && view_start(v->v) < 0) {
		snprintf(err, errlen, "cannot start worker threads");
		rc = SN_ESYS;
	}
	if (rc < 0) {
		rview_clear(v);
		return rc;
	}
	v->from_config = vc != NULL;
	log_info("view %s: workspace %s for agent %s (%s) at %s", name, w->id,
	    agent, role, mountpoint);
	return 0;
}

static int
views_append(struct rws *w, const struct rview *v)
{
	struct rview *nv = realloc(w->views, (w->nviews + 1) * sizeof(*nv));

	if (nv == NULL)
		return SN_ENOMEM;
	w->views = nv;
	w->views[w->nviews++] = *v;
	return 0;
}

int
registry_mount_config_views(struct registry *r, char *err, size_t errlen)
{
	const struct sn_config *cfg = r->cfg;
	char verr[768];
	struct rview v;
	size_t i;
	ssize_t k;
	int rc = 0;

	pthread_rwlock_wrlock(&r->mu);
	for (i = 0; i < cfg->n_views && rc == 0; i++) {
		const struct sn_cfg_view *vc = &cfg->views[i];

		k = find(r, vc->workspace);
		if (k < 0) {
			snprintf(err, errlen, "view %s: unknown workspace %s",
			    vc->name, vc->workspace);
			rc = SN_EINVAL;
			break;
		}
		rc = view_mount(r, r->ws[k], vc->name, vc->agent, vc->role,
		    vc->mountpoint, vc, NULL, 0, &v, verr, sizeof(verr));
		if (rc < 0) {
			snprintf(err, errlen, "view %s: %s", vc->name, verr);
			break;
		}
		if ((rc = views_append(r->ws[k], &v)) < 0) {
			rview_clear(&v);
			snprintf(err, errlen, "out of memory");
		}
	}
	pthread_rwlock_unlock(&r->mu);
	return rc;
}

static cJSON *
view_json(const struct rws *w, const struct rview *v)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL ||
	    cJSON_AddStringToObject(o, "workspace", w->id) == NULL ||
	    cJSON_AddStringToObject(o, "agent", v->agent) == NULL ||
	    cJSON_AddStringToObject(o, "role", v->role) == NULL ||
	    cJSON_AddStringToObject(o, "mountpoint", v->mountpoint) == NULL ||
	    cJSON_AddBoolToObject(o, "serving", !view_finished(v->v)) == NULL ||
	    cJSON_AddStringToObject(o, "source",
	        v->from_config ? "config" :
	            v->exec    ? "exec" :
	                         "api") == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
registry_view_add(struct registry *r, struct rws *w, const char *agent,
    const char *role, cJSON **out, char *msg, size_t msglen)
{
	char *mp = NULL, name[2 * SN_ID_MAX + 2];
	struct rview v;
	unsigned perms;
	size_t i;
	int rc;

	*out = NULL;
	if (policy_role_perms(r->cfg, role, &perms) < 0) {
		snprintf(msg, msglen, "no role named \"%s\"", role);
		return SN_EINVAL;
	}
	mp = xasprintf("%s/%s/%s", r->views_dir, w->id, agent);
	if (mp == NULL)
		return SN_ENOMEM;
	pthread_rwlock_wrlock(&r->mu);
	for (i = 0; i < w->nviews; i++) {
		if (!w->views[i].exec &&
		    strcmp(w->views[i].agent, agent) == 0) {
			snprintf(msg, msglen,
			    "agent %s already has a view of workspace %s at %s",
			    agent, w->id, w->views[i].mountpoint);
			rc = SN_EEXIST;
			goto out;
		}
	}
	if ((rc = dirs_mkdir_p(mp, 0755)) < 0) {
		snprintf(msg, msglen, "cannot make the mountpoint: %s",
		    strerror(-rc));
		rc = SN_ESYS;
		goto out;
	}
	snprintf(name, sizeof(name), "%s/%s", w->id, agent);
	rc = view_mount(r, w, name, agent, role, mp, NULL, NULL, 0, &v, msg,
	    msglen);
	if (rc < 0)
		goto out;
	if ((rc = views_append(w, &v)) < 0) {
		rview_clear(&v);
		goto out;
	}
	*out = view_json(w, &w->views[w->nviews - 1]);
out:
	pthread_rwlock_unlock(&r->mu);
	free(mp);
	return rc;
}

int
registry_view_remove(struct registry *r, struct rws *w, const char *agent)
{
	struct rview v;
	size_t i;
	int rc = SN_ENOENT;

	pthread_rwlock_wrlock(&r->mu);
	for (i = 0; i < w->nviews; i++) {
		if (w->views[i].exec || strcmp(w->views[i].agent, agent) != 0)
			continue;
		v = w->views[i];
		w->views[i] = w->views[--w->nviews];
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&r->mu);
	if (rc == 0) {
		(void)rmdir(v.mountpoint); /* after the unmount in view_free */
		view_free(v.v);
		v.v = NULL;
		(void)rmdir(v.mountpoint);
		rview_clear(&v);
	}
	return rc;
}

cJSON *
registry_views_json(struct registry *r, struct rws *w)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	size_t i;

	if (o == NULL || (a = cJSON_AddArrayToObject(o, "views")) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < w->nviews; i++) {
		if ((e = view_json(w, &w->views[i])) == NULL) {
			cJSON_Delete(o);
			o = NULL;
			break;
		}
		cJSON_AddItemToArray(a, e);
	}
	pthread_rwlock_unlock(&r->mu);
	return o;
}

/* ---- JSON -------------------------------------------------------------- */

static void
rfc3339(int64_t ns, char *buf, size_t len)
{
	text_rfc3339(ns, 0, buf, len);
}

/* Caller holds mu. */
static cJSON *
ws_json_locked(const struct rws *w)
{
	cJSON *o = cJSON_CreateObject();
	char t[40];

	rfc3339(w->created_ns, t, sizeof(t));
	if (o == NULL || cJSON_AddStringToObject(o, "id", w->id) == NULL ||
	    cJSON_AddStringToObject(o, "repo", w->repo) == NULL ||
	    (w->created_ns > 0 ?
	            cJSON_AddStringToObject(o, "created", t) == NULL :
	            cJSON_AddNullToObject(o, "created") == NULL) ||
	    cJSON_AddStringToObject(o, "source",
	        w->from_config ? "config" : "api") == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *
registry_ws_json(struct registry *r, struct rws *w)
{
	cJSON *o;

	pthread_rwlock_rdlock(&r->mu);
	o = ws_json_locked(w);
	pthread_rwlock_unlock(&r->mu);
	return o;
}

cJSON *
registry_list_json(struct registry *r, const char *agent, int all)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	size_t i, j;
	int yes;

	if (o == NULL ||
	    (a = cJSON_AddArrayToObject(o, "workspaces")) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < r->n; i++) {
		struct rws *w = r->ws[i];

		yes = all;
		for (j = 0; j < w->ngrants && !yes; j++)
			yes = strcmp(w->grants[j], agent) == 0;
		if (!yes)
			continue;
		if ((e = ws_json_locked(w)) == NULL) {
			cJSON_Delete(o);
			o = NULL;
			break;
		}
		cJSON_AddItemToArray(a, e);
	}
	pthread_rwlock_unlock(&r->mu);
	return o;
}

/* ---- grants ------------------------------------------------------------ */

int
registry_grant(struct registry *r, struct rws *w, const char *agent)
{
	int rc;

	/* grants made through the API, on any workspace, live in the
	 * catalog (those of the config are read from it at each start) */
	pthread_mutex_lock(&r->catmu);
	rc = db_grant_put(r->catalog, w->id, agent);
	pthread_mutex_unlock(&r->catmu);
	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&r->mu);
	rc = grant_add(w, agent);
	pthread_rwlock_unlock(&r->mu);
	return rc;
}

int
registry_revoke(struct registry *r, struct rws *w, const char *agent)
{
	size_t i;
	int rc = SN_ENOENT, indb;

	pthread_mutex_lock(&r->catmu);
	indb = db_grant_delete(r->catalog, w->id, agent);
	pthread_mutex_unlock(&r->catmu);
	if (indb == SN_EIO)
		return SN_EIO;
	pthread_rwlock_wrlock(&r->mu);
	for (i = 0; i < w->ngrants; i++) {
		if (strcmp(w->grants[i], agent) != 0)
			continue;
		free(w->grants[i]);
		w->grants[i] = w->grants[--w->ngrants];
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&r->mu);
	return rc;
}

cJSON *
registry_grants_json(struct registry *r, struct rws *w)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (o == NULL || (a = cJSON_AddArrayToObject(o, "agents")) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < w->ngrants; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(w->grants[i]));
	pthread_rwlock_unlock(&r->mu);
	return o;
}

/* ---- create and delete ----------------------------------------------------- */

/* A repo argument git cannot mistake for an option or a command. */
static int
repo_ok(const char *repo, char *msg, size_t msglen)
{
	const unsigned char *p;
	size_t n = strlen(repo);

	if (n == 0 || n > REPO_MAX) {
		snprintf(msg, msglen, "repo must be 1..%d bytes", REPO_MAX);
		return 0;
	}
	if (repo[0] == '-') {
		snprintf(msg, msglen, "repo must not start with '-'");
		return 0;
	}
	for (p = (const unsigned char *)repo; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(msg, msglen,
			    "repo must not hold control characters");
			return 0;
		}
	}
	if (strstr(repo, "::") != NULL) {
		snprintf(msg, msglen,
		    "repo: remote helpers (\"transport::address\") are "
		    "not allowed");
		return 0;
	}
	return 1;
}

/* Remove a tree we made (no symlink is followed).  Best effort. */
static void
rm_tree(int dfd, const char *name)
{
	int fd =
	    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0) {
		(void)unlinkat(dfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type == DT_DIR)
			rm_tree(dirfd(d), e->d_name);
		else if (unlinkat(dirfd(d), e->d_name, 0) < 0 &&
		    errno == EISDIR)
			rm_tree(dirfd(d), e->d_name);
	}
	closedir(d);
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* chown -h every entry of the tree at dfd/name (no symlink followed). */
static int
chown_tree(int dfd, const char *name, uid_t uid, gid_t gid, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	if (depth > 256 || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return depth > 256 ? -ELOOP : -errno;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = chown_tree(dirfd(d), e->d_name, uid, gid, depth + 1);
	}
	closedir(d);
	return rc;
}

/*
 * Run git clone repo dest with a clean environment, no hooks, no system or
 * global config, no remote helpers; its output goes to msg (the last
 * line).  0 or SN_EIO.
 */
static int
git_clone(const char *repo, const char *dest, char *msg, size_t msglen)
{
	char *const argv[] = {
		"git",
		"-c",
		"core.hooksPath=/dev/null",
		"-c",
		"protocol.ext.allow=never",
		"-c",
		"protocol.file.allow=always",
		"-c",
		"protocol.fd.allow=never",
		"-c",
		"core.fsmonitor=false",
		"clone",
		"--quiet",
		"--no-hardlinks",
		"--template=",
		"--",
		(char *)repo,
		(char *)dest,
		NULL,
	};
	char *const envp[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/nonexistent",
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false",
		"SSH_ASKPASS=/bin/false",
		"GIT_PROTOCOL_FROM_USER=0",
		NULL,
	};
	char out[4096];
	size_t used = 0;
	struct pollfd pfd;
	int p[2], st = 0, devnull;
	int64_t deadline = now_ns() + (int64_t)CLONE_TIMEOUT_S * 1000000000LL;
	pid_t pid;
	ssize_t k;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return SN_EIO;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (devnull >= 0)
			close(devnull);
		return SN_EIO;
	}
	if (pid == 0) {
		/* only async-signal-safe calls from here */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(127);
		execve("/usr/bin/git", argv, envp);
		_exit(127);
	}
	close(p[1]);
	if (devnull >= 0)
		close(devnull);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		int64_t left = (deadline - now_ns()) / 1000000;

		if (left <= 0) {
			kill(pid, SIGKILL);
			snprintf(out, sizeof(out),
			    "git clone timed out after "
			    "%d s",
			    CLONE_TIMEOUT_S);
			used = strlen(out);
			break;
		}
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		if (used >= sizeof(out) - 1) {
			/* keep the tail: git's last lines say why */
			memmove(out, out + sizeof(out) / 2,
			    sizeof(out) - sizeof(out) / 2);
			used -= sizeof(out) / 2;
		}
		k = read(p[0], out + used, sizeof(out) - 1 - used);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		used += (size_t)k;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[used] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	{
		/* the last non-empty line */
		char *e = out + used, *s;

		while (e > out && (e[-1] == '\n' || e[-1] == '\r'))
			*--e = '\0';
		s = strrchr(out, '\n');
		snprintf(msg, msglen, "git clone failed: %s",
		    *(s != NULL ? s + 1 : out) != '\0' ?
		        (s != NULL ? s + 1 : out) :
		        (WIFEXITED(st) ? "exit status" : "killed"));
	}
	return SN_EIO;
}

int
registry_create(struct registry *r, const char *id, const char *repo, char *msg,
    size_t msglen)
{
	char *wsdir = NULL, *tmp = NULL, *tmproot = NULL, *root = NULL;
	struct db_ws_row row;
	struct rws *w = NULL;
	int64_t created = now_ns();
	int rc, present;
	char err[512];

	if (!repo_ok(repo, msg, msglen))
		return SN_EINVAL;
	pthread_rwlock_rdlock(&r->mu);
	present = find(r, id) >= 0 || config_workspace(r->cfg, id) != NULL;
	pthread_rwlock_unlock(&r->mu);
	if (present) {
		snprintf(msg, msglen, "workspace %s exists", id);
		return SN_EEXIST;
	}
	wsdir = xasprintf("%s/workspaces/%s", r->state_dir, id);
	tmp = xasprintf("%s/workspaces/.new-%s.%lld", r->state_dir, id,
	    (long long)created);
	tmproot = xasprintf("%s/root", tmp != NULL ? tmp : "");
	root = xasprintf("%s/root", wsdir != NULL ? wsdir : "");
	if (wsdir == NULL || tmp == NULL || tmproot == NULL || root == NULL) {
		rc = SN_ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (access(wsdir, F_OK) == 0) {
		snprintf(msg, msglen,
		    "workspace %s: its directory exists already", id);
		rc = SN_EEXIST;
		goto out;
	}
	if ((rc = dirs_mkdir_p(tmp, 0700)) < 0) {
		snprintf(msg, msglen, "cannot make %s: %s", tmp, strerror(-rc));
		rc = SN_EIO;
		goto out;
	}
	rc = git_clone(repo, tmproot, msg, msglen);
	if (rc < 0)
		goto out;
	/* the root must be reachable for the views' callers, and the files
	 * belong to the user the workspace's commands run as */
	if (chmod(tmproot, 0755) < 0 ||
	    (rc = chown_tree(AT_FDCWD, tmproot, SN_EXEC_DEFAULT_ID,
	         SN_EXEC_DEFAULT_ID, 0)) < 0) {
		snprintf(msg, msglen, "cannot give the clone to uid %d: %s",
		    SN_EXEC_DEFAULT_ID, strerror(rc < 0 ? -rc : errno));
		rc = SN_EIO;
		goto out;
	}

	pthread_rwlock_wrlock(&r->mu);
	if (find(r, id) >= 0) {
		pthread_rwlock_unlock(&r->mu);
		snprintf(msg, msglen, "workspace %s exists", id);
		rc = SN_EEXIST;
		goto out;
	}
	if (rename(tmp, wsdir) < 0) {
		pthread_rwlock_unlock(&r->mu);
		snprintf(msg, msglen, "cannot move the clone into place: %s",
		    strerror(errno));
		rc = errno == EEXIST || errno == ENOTEMPTY ? SN_EEXIST : SN_EIO;
		goto out;
	}
	rc = ws_open(r, id, root, NULL, repo, created, &w, err, sizeof(err));
	if (rc == 0) {
		row.id = id;
		row.repo = repo;
		row.root = root;
		row.created_ns = created;
		pthread_mutex_lock(&r->catmu);
		rc = db_ws_put(r->catalog, &row);
		pthread_mutex_unlock(&r->catmu);
		if (rc < 0)
			snprintf(err, sizeof(err), "catalog: %s", err_str(rc));
	}
	if (rc == 0 && (rc = table_add(r, w)) < 0)
		snprintf(err, sizeof(err), "out of memory");
	if (rc < 0) {
		pthread_rwlock_unlock(&r->mu);
		rws_free(w);
		w = NULL;
		snprintf(msg, msglen, "%s", err);
		/* nothing half-made stays: back to a temporary name */
		(void)rename(wsdir, tmp);
		goto out;
	}
	pthread_rwlock_unlock(&r->mu);
out:
	if (rc < 0 && tmp != NULL) {
		int sfd =
		    open(r->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (sfd >= 0) {
			char *rel = tmp + strlen(r->state_dir) + 1;

			rm_tree(sfd, rel);
			close(sfd);
		}
	}
	free(wsdir);
	free(tmp);
	free(tmproot);
	free(root);
	return rc;
}

int
registry_delete(struct registry *r, const char *id, char *msg, size_t msglen)
{
	char *wsdir = NULL, *trash = NULL, *dest = NULL;
	struct rws *w;
	ssize_t i;
	size_t j;
	int rc;

	pthread_rwlock_wrlock(&r->mu);
	i = find(r, id);
	if (i < 0) {
		pthread_rwlock_unlock(&r->mu);
		return SN_ENOENT;
	}
	w = r->ws[i];
	if (w->from_config) {
		pthread_rwlock_unlock(&r->mu);
		snprintf(msg, msglen,
		    "workspace %s is declared in the config; remove it there",
		    id);
		return SN_EPERM;
	}
	r->ws[i] = r->ws[--r->n];
	pthread_rwlock_unlock(&r->mu);

	/* no new request can find it; stop its views now */
	for (j = 0; j < w->nviews; j++) {
		view_free(w->views[j].v);
		w->views[j].v = NULL;
		(void)rmdir(w->views[j].mountpoint);
	}
	pthread_mutex_lock(&r->catmu);
	rc = db_ws_delete(r->catalog, id);
	pthread_mutex_unlock(&r->catmu);
	if (rc < 0 && rc != SN_ENOENT) {
		snprintf(msg, msglen, "catalog: %s", err_str(rc));
		log_error("delete workspace %s: catalog: %s", id,
		    db_errmsg(r->catalog));
	}
	/* wait for the requests still using it, then close it */
	while (atomic_load(&w->refs) > 1)
		usleep(10000);
	registry_put(w);

	wsdir = xasprintf("%s/workspaces/%s", r->state_dir, id);
	trash = xasprintf("%s/trash", r->state_dir);
	dest = xasprintf("%s/trash/%s.%lld", r->state_dir, id,
	    (long long)now_ns());
	if (wsdir == NULL || trash == NULL || dest == NULL) {
		rc = SN_ENOMEM;
	} else if (dirs_mkdir_p(trash, 0700) < 0 || rename(wsdir, dest) < 0) {
		snprintf(msg, msglen, "cannot move %s to %s: %s", wsdir, dest,
		    strerror(errno));
		rc = SN_EIO;
	} else {
		rc = 0;
	}
	free(wsdir);
	free(trash);
	free(dest);
	return rc;
}

/* ---- health ------------------------------------------------------------ */

int
registry_ready(struct registry *r, char *why, size_t whylen)
{
	struct audit *a;
	size_t i, j;
	int ok = 1;

	snprintf(why, whylen, "%s", "");
	if (audit_ok(r->audit) < 0) {
		snprintf(why, whylen, "the server audit trail is unwritable");
		return 0;
	}
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < r->n && ok; i++) {
		struct rws *w = r->ws[i];

		a = workspace_fs_audit(w->w);
		if (a != NULL && audit_ok(a) < 0) {
			snprintf(why, whylen,
			    "workspace %s: audit trail unwritable", w->id);
			ok = 0;
		}
		for (j = 0; j < w->nviews && ok; j++) {
			if (view_finished(w->views[j].v)) {
				snprintf(why, whylen,
				    "workspace %s: the view of %s at %s is "
				    "not serving",
				    w->id, w->views[j].agent,
				    w->views[j].mountpoint);
				ok = 0;
			}
		}
	}
	pthread_rwlock_unlock(&r->mu);
	return ok;
}

size_t
registry_audit_queued(struct registry *r)
{
	struct audit_stats st;
	struct audit *a;
	size_t i, sum = 0;

	audit_stats(r->audit, &st);
	sum += st.queued;
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < r->n; i++) {
		a = workspace_fs_audit(r->ws[i]->w);
		if (a != NULL) {
			audit_stats(a, &st);
			sum += st.queued;
		}
	}
	pthread_rwlock_unlock(&r->mu);
	return sum;
}

size_t
registry_views_serving(struct registry *r, size_t *total)
{
	size_t i, j, n = 0, live = 0;

	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->ws[i]->nviews; j++) {
			n++;
			live += !view_finished(r->ws[i]->views[j].v);
		}
	}
	pthread_rwlock_unlock(&r->mu);
	if (total != NULL)
		*total = n;
	return live;
}

/* ---- exec -------------------------------------------------------------- */

const struct sn_cfg_workspace *
rws_config(const struct rws *w)
{
	return w->wcfg;
}

int
registry_exec_enter(struct rws *w)
{
	unsigned n = atomic_fetch_add(&w->execs, 1);

	if (n >= w->wcfg->exec_max) {
		atomic_fetch_sub(&w->execs, 1);
		return SN_EBUSY;
	}
	return 0;
}

void
registry_exec_leave(struct rws *w)
{
	atomic_fetch_sub(&w->execs, 1);
}

int
registry_exec_view(struct registry *r, struct rws *w, const char *agent,
    const char *role, uid_t uid, char *buf, size_t buflen, char *msg,
    size_t msglen)
{
	char *mp = NULL, name[2 * SN_ID_MAX + 8];
	struct rview v;
	size_t i;
	int rc = 0;

	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < w->nviews; i++) {
		if (w->views[i].exec && strcmp(w->views[i].agent, agent) == 0 &&
		    strcmp(w->views[i].role, role) == 0 &&
		    !view_finished(w->views[i].v)) {
			snprintf(buf, buflen, "%s", w->views[i].mountpoint);
			pthread_rwlock_unlock(&r->mu);
			return 0;
		}
	}
	pthread_rwlock_unlock(&r->mu);

	mp = xasprintf("%s/.exec/%s/%s.%s", r->views_dir, w->id, agent, role);
	if (mp == NULL)
		return SN_ENOMEM;
	pthread_rwlock_wrlock(&r->mu);
	for (i = 0; i < w->nviews; i++) {
		/* another call mounted it meanwhile */
		if (w->views[i].exec &&
		    strcmp(w->views[i].mountpoint, mp) == 0) {
			if (!view_finished(w->views[i].v)) {
				snprintf(buf, buflen, "%s", mp);
				goto out;
			}
			/* unmounted from outside: mount it again */
			v = w->views[i];
			w->views[i] = w->views[--w->nviews];
			rview_clear(&v);
			break;
		}
	}
	if ((rc = dirs_mkdir_p(mp, 0755)) < 0) {
		snprintf(msg, msglen,
		    "cannot make the exec view's mountpoint: %s",
		    strerror(-rc));
		rc = SN_ESYS;
		goto out;
	}
	snprintf(name, sizeof(name), "%s/%s/exec", w->id, agent);
	rc = view_mount(r, w, name, agent, role, mp, NULL, &uid, 1, &v, msg,
	    msglen);
	if (rc < 0)
		goto out;
	v.exec = 1;
	if ((rc = views_append(w, &v)) < 0) {
		rview_clear(&v);
		goto out;
	}
	snprintf(buf, buflen, "%s", mp);
out:
	pthread_rwlock_unlock(&r->mu);
	free(mp);
	return rc;
}

/* Append the real path of p (when it exists) to the list. */
static int
hide_add(char ***v, size_t *n, const char *p)
{
	char real[PATH_MAX], **nv;

	if (p == NULL || realpath(p, real) == NULL)
		return 0;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (nv == NULL)
		return SN_ENOMEM;
	*v = nv;
	if ((nv[*n] = strdup(real)) == NULL)
		return SN_ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

/* Hide the directory that holds file p, unless it is a shared one. */
static int
hide_dir_of(char ***v, size_t *n, const char *p)
{
	static const char *const shared[] = { "/", "/etc", "/etc/ssl",
		"/etc/ssl/certs", "/etc/pki", "/usr/share/ca-certificates",
		"/usr/local/share/ca-certificates", "/tmp", "/var/tmp", "/root",
		"/home", NULL };
	char real[PATH_MAX], *slash;
	size_t i;

	if (p == NULL || realpath(p, real) == NULL)
		return 0;
	slash = strrchr(real, '/');
	if (slash == NULL)
		return 0;
	if (slash == real)
		slash[1] = '\0';
	else
		*slash = '\0';
	for (i = 0; shared[i] != NULL; i++)
		if (strcmp(real, shared[i]) == 0)
			return 0;
	return hide_add(v, n, real);
}

char **
registry_hide_paths(struct registry *r)
{
	const struct sn_config *cfg = r->cfg;
	char **v = NULL, *key = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (cfg->audit_key_file == NULL)
		(void)audit_key_default_path(r->state_dir, &key);
	rc |= hide_add(&v, &n, r->state_dir);
	rc |= hide_add(&v, &n, r->views_dir);
	rc |= hide_add(&v, &n,
	    cfg->audit_key_file != NULL ? cfg->audit_key_file : key);
	rc |= hide_add(&v, &n, cfg->api.key);
	/* The directories of the server's key and of the client CA: a CA
	 * key kept beside its certificate would let a command mint any
	 * identity.  Shared system certificate directories stay visible. */
	rc |= hide_dir_of(&v, &n, cfg->api.key);
	rc |= hide_dir_of(&v, &n, cfg->api.client_ca);
	rc |= hide_dir_of(&v, &n, cfg->api.cert);
	rc |= hide_add(&v, &n, cfg->api.token_file);
	rc |= hide_add(&v, &n, cfg->secrets.dir);
	rc |= hide_add(&v, &n, cfg->secrets.vault_token_file);
	if (strcmp(cfg->path, "(built-in)") != 0)
		rc |= hide_add(&v, &n, cfg->path);
	pthread_rwlock_rdlock(&r->mu);
	for (i = 0; i < r->n && rc == 0; i++)
		rc |= hide_add(&v, &n, r->ws[i]->root);
	pthread_rwlock_unlock(&r->mu);
	free(key);
	if (rc != 0) {
		/* never run a command with less hidden than asked */
		registry_hide_free(v);
		return NULL;
	}
	if (v == NULL)
		v = calloc(1, sizeof(*v));
	return v;
}

void
registry_hide_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
