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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/util.h"
#include "core/config.h"
#include "core/dirs.h"
#include "core/err.h"
#include "core/log.h"
#include "api/registry.h"
#include "api/server.h"
#include "core/pki.h"
#include "core/secrets.h"
#include "fs/view.h"

#define DEMO_STATE_DIR  "./.sentinel"
#define DEMO_MOUNTPOINT "./workspace"

static const char serve_help[] =
    "Run Sentinel in the foreground: mount every [view] the config\n"
    "declares (several views of one workspace share one process and see\n"
    "each other's changes at once), and serve the control API when the\n"
    "config has an [api] section (docs/api.md).  SIGTERM or Ctrl-C stops\n"
    "the API, unmounts every view and exits 0.\n\n"
    "With no --config, runs the embedded demo: state dir ./.sentinel,\n"
    "workspace \"demo\" (root ./.sentinel/workspaces/demo/root), served to\n"
    "agent \"dev\" with role \"Dev\" at ./workspace, and the API on\n"
    "https://127.0.0.1:8443 (ops on 127.0.0.1:9090) with a development\n"
    "CA made in ./.sentinel/pki: ca.pem, server.pem, dev.pem/dev.key\n"
    "(agent dev, role Dev) and admin.pem/admin.key (role Admin).\n\n"
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
	/*
	 * The demo's files belong to the user its commands run as (the exec
	 * tool), and its root can be entered by it; the state dir around it
	 * stays 0700 and is hidden from commands anyway.
	 */
	if (chmod(root, 0755) < 0 ||
	    lchown(root, SN_EXEC_DEFAULT_ID, SN_EXEC_DEFAULT_ID) < 0)
		return -errno;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (fchmod(fd, 0644) < 0 ||
	    fchown(fd, SN_EXEC_DEFAULT_ID, SN_EXEC_DEFAULT_ID) < 0 ||
	    write(fd, demo_readme, sizeof(demo_readme) - 1) !=
	        (ssize_t)(sizeof(demo_readme) - 1)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/*
 * Wait for SIGINT, SIGTERM or SIGHUP (blocked in every thread, read from a
 * signalfd).  Without the API, also return once every view was unmounted
 * from outside: there is nothing left to serve.
 */
static int
cli_wait(struct registry *reg, int api)
{
	struct signalfd_siginfo si;
	struct pollfd p;
	sigset_t set;
	size_t total, serving;
	int sfd, warned = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("cannot wait for signals: %s", strerror(errno));
		return 1;
	}
	p.fd = sfd;
	p.events = POLLIN;
	for (;;) {
		int n = poll(&p, 1, 200);

		if (n < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (p.revents & POLLIN)) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: stopping", si.ssi_signo);
			break;
		}
		serving = registry_views_serving(reg, &total);
		if (serving < total && !warned) {
			log_warn("%zu of %zu views were unmounted from outside",
			    total - serving, total);
			warned = 1;
		}
		if (!api && total > 0 && serving == 0) {
			log_info("every view was unmounted: stopping");
			break;
		}
	}
	close(sfd);
	return 0;
}

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
	struct registry *reg = NULL;
	struct api_server *api = NULL;
	struct secret_store *secrets = NULL;
	char err[1024], pki[4096];
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
	if (cfg->n_views == 0 && !cfg->api.enabled) {
		cli_error("%s: no [view] to serve and no [api]", cfg->path);
		goto out;
	}
	if (demo) {
		r = snprintf(pki, sizeof(pki), "%s/pki", state_dir);
		if (r < 0 || (size_t)r >= sizeof(pki)) {
			cli_error("state dir path too long");
			goto out;
		}
		if (pki_ensure_dev(pki, err, sizeof(err)) < 0) {
			cli_error("development PKI %s: %s", pki, err);
			goto out;
		}
		r = dirs_mkdir_p(cfg->workspaces[0].root, 0700);
		if (r == 0)
			r = seed_demo(cfg->workspaces[0].root);
		if (r == 0)
			r = dirs_mkdir_p(DEMO_MOUNTPOINT, 0755);
		if (r < 0) {
			cli_error("demo workspace: %s", strerror(-r));
			goto out;
		}
	}
	/* before any thread: the Vault provider initialises libcurl */
	if (cfg->n_secret_defs > 0 &&
	    secrets_open(cfg, &secrets, err, sizeof(err)) < 0) {
		cli_error("secrets: %s", err);
		goto out;
	}
	if (registry_open(cfg, state_dir, &reg, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out;
	}
	umask(0); /* the kernel applied each caller's umask already */
	if (registry_mount_config_views(reg, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (cfg->api.enabled &&
	    api_server_start(reg, cfg, secrets, &api, err, sizeof(err)) < 0) {
		cli_error("api: %s", err);
		goto out;
	}
	if (demo)
		fprintf(stderr,
		    "sentinel: demo workspace served at %s; API at "
		    "https://%s (certificates in %s)  (Ctrl-C to stop)\n",
		    DEMO_MOUNTPOINT, cfg->api.listen, pki);
	rc = cli_wait(reg, api != NULL);
out:
	/* the API first: its requests use the workspaces */
	api_server_stop(api);
	registry_close(reg);
	secrets_close(secrets);
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
