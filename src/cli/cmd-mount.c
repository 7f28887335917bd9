/*
 * cmd-mount.c - `sentinel mount ROOT MOUNTPOINT`: one view, like sshfs or
 * bindfs; returns once the view is mounted and serving (-f: stays).
 */
#include "autoconf.h"

#include <errno.h>
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

static const char mount_help[] =
    "Serve directory ROOT at MOUNTPOINT through a Sentinel view.  Returns\n"
    "once the view is mounted and serving; the daemon exits 0 when the view\n"
    "is unmounted (`sentinel umount`, `fusermount3 -u`) or on SIGTERM.\n\n"
    "Options:\n"
    "  -f, --foreground        stay in the foreground\n"
    "  --agent NAME            agent the view's requests are attributed to\n"
    "                          (default: local)\n"
    "  --workspace ID          workspace id (default: local)\n"
    "  --config FILE           read [fs] defaults and the workspace's\n"
    "                          settings from FILE (see docs/config.md)\n"
    "  --state-dir DIR         state directory (created 0700 if missing)\n"
    "  --external-writers      ROOT is also changed by others: trade the\n"
    "                          long kernel caches for 1-second ones\n"
    "  -o OPT[,OPT...]         allow_other            let other users in\n"
    "                          cache_timeout=SECONDS  kernel cache lifetime\n"
    "                                                 (default 86400)\n"
    "                          fd_cache=N             descriptors kept open\n"
    "                                                 (default 4096)\n"
    "                          threads=N              idle worker threads\n"
    "                          writeback|nowriteback  kernel writeback cache\n"
    "                                                 (default: off)\n"
    "                          debug                  trace every request\n"
    "  --log-level LEVEL       error, warn (default), info, debug\n"
    "  --log-file FILE         log there (default: stderr with -f, else\n"
    "                          nowhere)\n"
    "  -h, --help              show this help\n\n"
    "Errors (missing ROOT or MOUNTPOINT, MOUNTPOINT inside ROOT or already\n"
    "a mount, no /dev/fuse, no privilege) print one line and exit 1 with\n"
    "nothing mounted.\n";

struct mount_args {
	struct view_opts vo;
	int foreground;
	const char *config;
	const char *state_dir;
	const char *log_file;
	int ext_flag;
};

static int
parse_uint_opt(const char *name, const char *val, unsigned long long min,
    unsigned long long max, unsigned *out)
{
	unsigned long long v;

	if (val == NULL || config_parse_uint(val, min, max, &v) < 0) {
		cli_error("-o %s: expected a number from %llu to %llu", name,
		    min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Parse one -o list into a. */
static int
parse_o(struct mount_args *a, char *list)
{
	char *save = NULL, *opt;

	for (opt = strtok_r(list, ",", &save); opt != NULL;
	     opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		const char *val = NULL;

		if (eq != NULL) {
			*eq = '\0';
			val = eq + 1;
		}
		if (strcmp(opt, "allow_other") == 0 && val == NULL)
			a->vo.allow_other = 1;
		else if (strcmp(opt, "default_permissions") == 0 && val == NULL)
			; /* always on */
		else if (strcmp(opt, "writeback") == 0 && val == NULL)
			a->vo.writeback = 1;
		else if (strcmp(opt, "nowriteback") == 0 && val == NULL)
			a->vo.writeback = 0;
		else if (strcmp(opt, "debug") == 0 && val == NULL)
			a->vo.debug = 1;
		else if (strcmp(opt, "external_writers") == 0 && val == NULL)
			a->ext_flag = 1;
		else if (strcmp(opt, "cache_timeout") == 0) {
			if (parse_uint_opt(opt, val, 0, 31536000,
			        &a->vo.cache_timeout) < 0)
				return -1;
		} else if (strcmp(opt, "fd_cache") == 0) {
			if (parse_uint_opt(opt, val, 64, 100000,
			        &a->vo.fd_cache) < 0)
				return -1;
		} else if (strcmp(opt, "threads") == 0) {
			if (parse_uint_opt(opt, val, 1, 256, &a->vo.threads) <
			    0)
				return -1;
		} else {
			cli_error("unknown mount option '%s'", opt);
			return -1;
		}
	}
	return 0;
}

static int
cmd_mount_exec(int argc, char **argv)
{
	enum {
		O_AGENT = 256,
		O_WS,
		O_CONFIG,
		O_STATE,
		O_EXT,
		O_LOGLVL,
		O_LOGFILE
	};
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "workspace", required_argument, NULL, O_WS },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "external-writers", no_argument, NULL, O_EXT },
		{ "log-level", required_argument, NULL, O_LOGLVL },
		{ "log-file", required_argument, NULL, O_LOGFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mount_args a;
	struct sn_config *cfg = NULL;
	struct workspace_fs *w = NULL;
	struct view *v = NULL;
	char *olist[16];
	char err[1024];
	size_t nol = 0, i;
	int c, lvl, rc = 1;

	memset(&a, 0, sizeof(a));
	a.vo.agent = "local";
	a.vo.workspace = "local";
	a.vo.role = "Dev";
	a.vo.cache_timeout = 86400;
	a.vo.fd_cache = 4096;
	a.vo.threads = 8;
	a.vo.writeback = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+fo:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': a.foreground = 1; break;
		case 'o':
			if (nol == sizeof(olist) / sizeof(olist[0]))
				return cmd_usage_error(&cmd_mount_entry,
				    "too many -o");
			olist[nol++] = optarg;
			break;
		case O_AGENT: a.vo.agent = optarg; break;
		case O_WS: a.vo.workspace = optarg; break;
		case O_CONFIG: a.config = optarg; break;
		case O_STATE: a.state_dir = optarg; break;
		case O_EXT: a.ext_flag = 1; break;
		case O_LOGLVL:
			if (log_parse_level(optarg, &lvl) < 0)
				return cmd_usage_error(&cmd_mount_entry,
				    "bad log level '%s'", optarg);
			log_set_level(lvl);
			break;
		case O_LOGFILE: a.log_file = optarg; break;
		case 'h': cmd_print_help(&cmd_mount_entry); return 0;
		default: return cmd_usage_error(&cmd_mount_entry, "bad option");
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error(&cmd_mount_entry,
		    "expected ROOT and MOUNTPOINT");
	a.vo.root = argv[optind];
	a.vo.mountpoint = argv[optind + 1];
	if (!config_valid_id(a.vo.agent)) {
		cli_error("--agent '%s': expected 1-64 of [A-Za-z0-9._-]",
		    a.vo.agent);
		return 1;
	}
	if (!config_valid_id(a.vo.workspace)) {
		cli_error("--workspace '%s': expected 1-64 of [A-Za-z0-9._-]",
		    a.vo.workspace);
		return 1;
	}
	if (a.config != NULL) {
		const struct sn_cfg_workspace *ws;

		if (config_load(a.config, &cfg, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return 1;
		}
		a.vo.cache_timeout = cfg->fs.cache_timeout;
		a.vo.fd_cache = cfg->fs.fd_cache;
		a.vo.threads = cfg->fs.threads;
		a.vo.writeback = cfg->fs.writeback_cache;
		ws = config_workspace(cfg, a.vo.workspace);
		if (ws != NULL && ws->external_writers)
			a.ext_flag = 1;
		if (a.state_dir == NULL)
			a.state_dir = cfg->state_dir;
	}
	for (i = 0; i < nol; i++)
		if (parse_o(&a, olist[i]) < 0)
			goto out;
	a.vo.external_writers = a.ext_flag;
	a.vo.name = a.vo.agent;
	if (a.state_dir != NULL) {
		int r = dirs_mkdir_p(a.state_dir, 0700);

		if (r < 0) {
			cli_error("state dir %s: %s", a.state_dir,
			    strerror(-r));
			goto out;
		}
	}
	if (a.log_file != NULL && log_open_file(a.log_file) < 0) {
		cli_error("log file %s: %s", a.log_file, strerror(errno));
		goto out;
	}
	cli_raise_nofile();
	umask(0); /* the kernel applied the caller's umask already */
	if (!a.foreground)
		cli_daemonize(); /* before any thread */
	if (cli_block_signals() < 0) {
		cli_error("cannot block signals");
		goto out;
	}
	{
		struct workspace_opts wo = {
			.id = a.vo.workspace,
			.root = a.vo.root,
			.cfg = cfg,
			.wcfg = cfg != NULL ?
			    config_workspace(cfg, a.vo.workspace) :
			    NULL,
			.state_dir = a.state_dir,
		};

		if (workspace_fs_open(&wo, &w, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			goto out;
		}
	}
	if (view_new(w, &a.vo, &v, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (view_start(v) < 0) {
		cli_error("cannot start worker threads");
		goto out;
	}
	log_info("serving %s at %s", a.vo.root, a.vo.mountpoint);
	cli_daemon_ready();
	rc = cli_serve_views(&v, 1);
out:
	view_free(v);
	workspace_fs_free(w);
	config_free(cfg);
	return rc;
}

const struct cmd_entry cmd_mount_entry = {
	.name = "mount",
	.usage = "[options] ROOT MOUNTPOINT",
	.summary = "Serve a directory through a Sentinel view",
	.help = mount_help,
	.exec = cmd_mount_exec,
};
