#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/util.h"
#include "core/log.h"
#include "fs/view.h"

static int daemon_fd = -1;

void
cli_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (daemon_fd >= 0) {
		cli_daemon_fail(msg);
		return;
	}
	fprintf(stderr, "sentinel: %s\n", msg);
}

void
cli_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
cli_daemonize(void)
{
	int p[2];
	pid_t pid;
	char msg[1024];
	ssize_t n;
	size_t len = 0;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "sentinel: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sentinel: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		close(p[0]);
		daemon_fd = p[1];
		(void)setsid();
		return;
	}
	close(p[1]);
	while (len < sizeof(msg) - 1) {
		n = read(p[0], msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	msg[len] = '\0';
	if (len >= 2 && memcmp(msg, "OK", 2) == 0)
		exit(0);
	if (len == 0) {
		int st;

		(void)waitpid(pid, &st, 0);
		fprintf(stderr, "sentinel: the daemon exited before serving\n");
	} else {
		fprintf(stderr, "sentinel: %s\n", msg);
	}
	exit(1);
}

void
cli_daemon_ready(void)
{
	int nul;

	if (daemon_fd < 0)
		return;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		close(nul);
	}
	(void)!write(daemon_fd, "OK", 2);
	close(daemon_fd);
	daemon_fd = -1;
}

void
cli_daemon_fail(const char *msg)
{
	if (daemon_fd < 0) {
		fprintf(stderr, "sentinel: %s\n", msg);
		return;
	}
	(void)!write(daemon_fd, msg, strlen(msg));
	close(daemon_fd);
	daemon_fd = -1;
}

int
cli_is_daemon(void)
{
	return daemon_fd >= 0;
}

int
cli_block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int
cli_serve_views(struct view **views, size_t n)
{
	struct pollfd *p;
	sigset_t set;
	size_t i, live = n;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	p = calloc(n + 1, sizeof(*p));
	if (sfd < 0 || p == NULL) {
		log_error("cannot wait for signals: %s", strerror(errno));
		free(p);
		if (sfd >= 0)
			close(sfd);
		for (i = 0; i < n; i++)
			view_stop(views[i]);
		return 1;
	}
	p[0].fd = sfd;
	p[0].events = POLLIN;
	for (i = 0; i < n; i++) {
		p[i + 1].fd = view_done_fd(views[i]);
		p[i + 1].events = POLLIN;
	}
	while (live > 0) {
		if (poll(p, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: unmounting", si.ssi_signo);
			break;
		}
		for (i = 0; i < n; i++) {
			if (p[i + 1].fd >= 0 && (p[i + 1].revents & POLLIN)) {
				log_warn("view at %s was unmounted",
				    view_mountpoint(views[i]));
				p[i + 1].fd = -1;
				live--;
			}
		}
	}
	for (i = 0; i < n; i++)
		view_stop(views[i]);
	free(p);
	close(sfd);
	return 0;
}
