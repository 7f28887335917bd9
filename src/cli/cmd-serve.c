/*
 * cmd-serve.c - `sentinel serve`: the long-running server, in the
 * foreground (container style).  Mounts every [view] of the config; with
 * no config at all, the embedded demo: one workspace, one view at
 * ./workspace.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/util.h"
#include "core/config.h"
#include "core/dirs.h"
#include "core/err.h"
#include "core/log.h"
#include "fs/view.h"

#define DEMO_STATE_DIR  "./.sentinel"
#define DEMO_MOUNTPOINT "./workspace"

static const char serve_help[] =
    "Run Sentinel in the foreground: mount every [view] the config\n"
    "declares (several views of one workspace share one process and see\n"
    "each other's changes at once).  SIGTERM or Ctrl-C unmounts every view\n"
    "and exits 0.\n\n"
    "With no --config, runs the embedded demo: state dir ./.sentinel,\n"
    "workspace \"demo\" (root ./.sentinel/workspaces/demo/root), served to\n"
    "agent \"dev\" with role \"Dev\" at ./workspace.\n\n"
    "Options:\n"
    "  --config FILE       configuration (see docs/config.md)\n"
    "  --state-dir DIR     state directory; overrides [server] state_dir\n"
    "  --log-level LEVEL   error, warn, info (default), debug\n"
    "  --log-file FILE     log there instead of stderr\n"
    "  -h, --help          show this help\n";

static const char demo_readme[] =
    "# Sentinel demo workspace\n\n"
    "This directory is served to agent \"dev\" through a Sentinel view.\n"
    "Everything done here goes through Sentinel.\n";

static int
seed_demo(const char *root)
{
	char path[4096];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/README.md", root);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (fchmod(fd, 0644) < 0 ||
	    write(fd, demo_readme, sizeof(demo_readme) - 1) !=
	        (ssize_t)(sizeof(demo_readme) - 1)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

struct served_ws {
	const struct sn_cfg_workspace *cfg;
	char *root;
	struct workspace_fs *w;
};

static int
cmd_serve_exec(int argc, char **argv)
{
	enum { O_CONFIG = 256, O_STATE, O_LOGLVL, O_LOGFILE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "log-level", required_argument, NULL, O_LOGLVL },
		{ "log-file", required_argument, NULL, O_LOGFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *state_opt = NULL, *log_file = NULL;
	const char *state_dir;
	struct sn_config *cfg = NULL;
	struct served_ws *ws = NULL;
	struct view **views = NULL;
	size_t nviews = 0, i, j;
	char err[1024];
	int c, lvl, r, demo = 0, rc = 1;

	log_set_level(LOG_LVL_INFO);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: config = optarg; break;
		case O_STATE: state_opt = optarg; break;
		case O_LOGLVL:
			if (log_parse_level(optarg, &lvl) < 0)
				return cmd_usage_error(&cmd_serve_entry,
				    "bad log level '%s'", optarg);
			log_set_level(lvl);
			break;
		case O_LOGFILE: log_file = optarg; break;
		case 'h': cmd_print_help(&cmd_serve_entry); return 0;
		default: return cmd_usage_error(&cmd_serve_entry, "bad option");
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_serve_entry,
		    "unexpected argument '%s'", argv[optind]);
	if (log_file != NULL && log_open_file(log_file) < 0) {
		cli_error("log file %s: %s", log_file, strerror(errno));
		return 1;
	}
	if (config != NULL) {
		if (config_load(config, &cfg, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return 1;
		}
		state_dir = state_opt ? state_opt :
		    cfg->state_dir    ? cfg->state_dir :
		                        DEMO_STATE_DIR;
	} else {
		demo = 1;
		state_dir = state_opt ? state_opt : DEMO_STATE_DIR;
		if (config_demo(state_dir, DEMO_MOUNTPOINT, &cfg) < 0) {
			cli_error("out of memory");
			return 1;
		}
	}
	/* before any thread: every thread inherits the blocked mask */
	if (cli_block_signals() < 0) {
		cli_error("cannot block signals");
		goto out;
	}
	cli_raise_nofile();
	r = dirs_mkdir_p(state_dir, 0700);
	if (r < 0) {
		cli_error("state dir %s: %s", state_dir, strerror(-r));
		goto out;
	}
	if (cfg->n_views == 0) {
		cli_error("%s: no [view] to serve", cfg->path);
		goto out;
	}
	ws = calloc(cfg->n_workspaces, sizeof(*ws));
	views = calloc(cfg->n_views, sizeof(*views));
	if ((cfg->n_workspaces > 0 && ws == NULL) || views == NULL) {
		cli_error("out of memory");
		goto out;
	}
	for (i = 0; i < cfg->n_workspaces; i++) {
		const struct sn_cfg_workspace *wc = &cfg->workspaces[i];
		char path[4096];

		ws[i].cfg = wc;
		if (wc->root != NULL) {
			ws[i].root = strdup(wc->root);
		} else {
			r = snprintf(path, sizeof(path),
			    "%s/workspaces/%s/root", state_dir, wc->id);
			if (r < 0 || (size_t)r >= sizeof(path)) {
				cli_error("state dir path too long");
				goto out;
			}
			r = dirs_mkdir_p(path, 0700);
			if (r < 0) {
				cli_error("workspace %s: %s: %s", wc->id, path,
				    strerror(-r));
				goto out;
			}
			ws[i].root = strdup(path);
		}
		if (ws[i].root == NULL) {
			cli_error("out of memory");
			goto out;
		}
	}
	if (demo) {
		r = dirs_mkdir_p(ws[0].root, 0700);
		if (r == 0)
			r = seed_demo(ws[0].root);
		if (r == 0)
			r = dirs_mkdir_p(DEMO_MOUNTPOINT, 0755);
		if (r < 0) {
			cli_error("demo workspace: %s", strerror(-r));
			goto out;
		}
	}
	for (i = 0; i < cfg->n_workspaces; i++) {
		struct workspace_opts wo = {
			.id = ws[i].cfg->id,
			.root = ws[i].root,
			.cfg = cfg,
			.wcfg = ws[i].cfg,
			.state_dir = state_dir,
		};

		if (workspace_fs_open(&wo, &ws[i].w, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			goto out;
		}
	}
	umask(0); /* the kernel applied each caller's umask already */
	for (i = 0; i < cfg->n_views; i++) {
		const struct sn_cfg_view *vc = &cfg->views[i];
		struct view_opts vo;

		for (j = 0; j < cfg->n_workspaces; j++)
			if (strcmp(ws[j].cfg->id, vc->workspace) == 0)
				break;
		if (j == cfg->n_workspaces) {
			cli_error("view %s: unknown workspace %s", vc->name,
			    vc->workspace);
			goto out;
		}
		memset(&vo, 0, sizeof(vo));
		vo.name = vc->name;
		vo.workspace = vc->workspace;
		vo.agent = vc->agent;
		vo.role = vc->role;
		vo.root = ws[j].root;
		vo.mountpoint = vc->mountpoint;
		vo.allow_other = vc->allow_other;
		vo.allowed_uids = vc->allowed_uids;
		vo.n_allowed_uids = vc->n_allowed_uids;
		vo.cache_timeout = cfg->fs.cache_timeout;
		vo.fd_cache = cfg->fs.fd_cache;
		vo.threads = cfg->fs.threads;
		vo.writeback = cfg->fs.writeback_cache;
		vo.external_writers = ws[j].cfg->external_writers;
		if (view_new(ws[j].w, &vo, &views[nviews], err, sizeof(err)) <
		    0) {
			cli_error("view %s: %s", vc->name, err);
			goto out;
		}
		nviews++;
		if (view_start(views[nviews - 1]) < 0) {
			cli_error("view %s: cannot start worker threads",
			    vc->name);
			goto out;
		}
		log_info("view %s: workspace %s for agent %s (%s) at %s",
		    vc->name, vc->workspace, vc->agent, vc->role,
		    vc->mountpoint);
	}
	if (demo)
		fprintf(stderr,
		    "sentinel: demo workspace served at %s "
		    "(Ctrl-C to stop)\n",
		    DEMO_MOUNTPOINT);
	rc = cli_serve_views(views, nviews);
out:
	for (i = 0; i < nviews; i++)
		view_free(views[i]);
	free(views);
	for (i = 0; ws != NULL && i < cfg->n_workspaces; i++) {
		workspace_fs_free(ws[i].w);
		free(ws[i].root);
	}
	free(ws);
	config_free(cfg);
	return rc;
}

const struct cmd_entry cmd_serve_entry = {
	.name = "serve",
	.usage = "[--config FILE] [--state-dir DIR]",
	.summary = "Run the server in the foreground",
	.help = serve_help,
	.exec = cmd_serve_exec,
};
