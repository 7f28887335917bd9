/*
 * util.h - helpers shared by the local commands.
 */
#ifndef SN_CLI_UTIL_H
#define SN_CLI_UTIL_H

#include <stddef.h>

struct view;

/* Print "sentinel: MESSAGE" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Raise the soft open-file limit to the hard one. */
void cli_raise_nofile(void);

/*
 * Fork; the parent waits until the child calls cli_daemon_ready() (exit
 * 0) or cli_daemon_fail() (prints the child's message, exit 1).  Returns
 * in the child only, which is then a session leader.  Call before any
 * thread is created.
 */
void cli_daemonize(void);
void cli_daemon_ready(void);
void cli_daemon_fail(const char *msg);
int cli_is_daemon(void);

/*
 * Block SIGINT/SIGTERM/SIGHUP (call before any thread starts: every
 * thread inherits the mask) and ignore SIGPIPE.
 */
int cli_block_signals(void);

/*
 * Serve views until a signal arrives (then stop them all, return 0) or
 * until every view has been unmounted from outside (return 0).
 */
int cli_serve_views(struct view **views, size_t n);

#endif
