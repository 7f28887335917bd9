/*
 * cmd.h - the sentinel command table.
 *
 * One file per command (cmd-NAME.c), each exporting one const entry,
 * gathered into one table in main.c.  A handler returns the process exit
 * status: 0 success, 1 failure (with a one-line message on stderr),
 * 2 usage error; the client commands (client.h) also 3, the server
 * cannot be reached.
 */
#ifndef SN_CMD_H
#define SN_CMD_H

struct cmd_entry {
	const char *name;
	const char *usage;   /* arguments after the command name */
	const char *summary; /* one line for `sentinel help` */
	const char *help;    /* the rest of `sentinel NAME --help` */
	int (*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_audit_entry;
extern const struct cmd_entry cmd_ca_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_lock_entry;
extern const struct cmd_entry cmd_mount_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_tool_entry;
extern const struct cmd_entry cmd_umount_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_ws_entry;

/* Print "usage: sentinel NAME USAGE" and the help text to stdout. */
void cmd_print_help(const struct cmd_entry *e);
/* Print a usage error for e to stderr; returns 2. */
int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
