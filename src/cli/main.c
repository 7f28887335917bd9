/*
 * main.c - `sentinel`: one binary, git-style subcommands from one table.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd.h"
#include "core/log.h"
#include "fs/view.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_serve_entry,
	&cmd_mount_entry,
	&cmd_umount_entry,
	&cmd_ws_entry,
	&cmd_tool_entry,
	&cmd_exec_entry,
	&cmd_lock_entry,
	&cmd_audit_entry,
	&cmd_ca_entry,
	&cmd_version_entry,
	NULL,
};

void
cmd_print_help(const struct cmd_entry *e)
{
	printf("usage: sentinel %s %s\n\n%s\n", e->name, e->usage, e->summary);
	if (e->help != NULL && e->help[0] != '\0')
		printf("\n%s", e->help);
}

int
cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sentinel %s: ", e->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: sentinel %s %s\n", e->name, e->usage);
	fprintf(stderr, "Try 'sentinel %s --help'.\n", e->name);
	return 2;
}

static void
print_overview(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: sentinel [--version] [--help] <command> [<args>]\n\n"
	    "Sentinel serves workspaces to AI coding agents through FUSE views\n"
	    "that enforce, record and isolate everything they do.\n\n"
	    "Commands:\n");
	for (i = 0; cmd_table[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fprintf(f, "  %-10s %s\n", "help", "Show help for a command");
	fprintf(f,
	    "\nRun 'sentinel <command> --help' for a command's options.\n");
}

static const struct cmd_entry *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *e;

	umask(077);
	view_log_init();
	if (argc < 2) {
		print_overview(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version_entry.exec(1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_overview(stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			print_overview(stdout);
			return 0;
		}
		e = find_cmd(argv[2]);
		if (e == NULL) {
			fprintf(stderr, "sentinel: unknown command '%s'\n",
			    argv[2]);
			return 2;
		}
		cmd_print_help(e);
		return 0;
	}
	e = find_cmd(argv[1]);
	if (e == NULL) {
		fprintf(stderr,
		    "sentinel: unknown command '%s'; see "
		    "'sentinel help'\n",
		    argv[1]);
		return 2;
	}
	return e->exec(argc - 1, argv + 1);
}
