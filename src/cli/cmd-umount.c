#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/util.h"
#include "core/config.h"

static const char umount_help[] =
    "Unmount a view that `sentinel mount` made.  The daemon serving it\n"
    "exits with status 0.  Works without privilege through fusermount3.\n\n"
    "Options:\n"
    "  -z, --lazy         detach even if files are still open in the view\n"
    "  --config FILE      accepted like every local command (checked)\n"
    "  --state-dir DIR    accepted like every local command (unused)\n"
    "  -h, --help         show this help\n";

static int
cmd_umount_exec(int argc, char **argv)
{
	enum { O_CONFIG = 256, O_STATE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "lazy", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mp;
	struct statx sx;
	int c, lazy = 0, st;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+zh", opts, NULL)) != -1) {
		switch (c) {
		case 'z': lazy = 1; break;
		case O_CONFIG: {
			struct sn_config *cfg = NULL;
			char err[1024];

			if (config_load(optarg, &cfg, err, sizeof(err)) < 0) {
				cli_error("%s", err);
				return 1;
			}
			config_free(cfg);
			break;
		}
		case O_STATE: break;
		case 'h': cmd_print_help(&cmd_umount_entry); return 0;
		default:
			return cmd_usage_error(&cmd_umount_entry, "bad option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error(&cmd_umount_entry,
		    "expected one MOUNTPOINT");
	mp = argv[optind];
	if (statx(AT_FDCWD, mp, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) <
	    0) {
		cli_error("%s: %s", mp, strerror(errno));
		return 1;
	}
	if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		cli_error("%s: not mounted", mp);
		return 1;
	}
	if (geteuid() == 0) {
		if (umount2(mp, lazy ? MNT_DETACH : 0) == 0)
			return 0;
		cli_error("cannot unmount %s: %s", mp, strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", mp,
			    (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", mp,
			    (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		cli_error("cannot unmount %s", mp);
		return 1;
	}
	return 0;
}

const struct cmd_entry cmd_umount_entry = {
	.name = "umount",
	.usage = "[-z] MOUNTPOINT",
	.summary = "Unmount a view",
	.help = umount_help,
	.exec = cmd_umount_exec,
};
