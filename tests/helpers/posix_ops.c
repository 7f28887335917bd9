/*
 * posix_ops.c - one syscall (or one small scenario) per invocation, for
 * the integration tests in tests/integration/, which are shell scripts and
 * cannot make these calls themselves.
 *
 *   posix_ops OP ARGS...                 run OP; exit 0 on success
 *   posix_ops expect-errno ERR[,ERR] OP ARGS...
 *                                        exit 0 iff OP failed with one of
 *                                        the named errnos; otherwise say
 *                                        what happened and exit 1
 *   posix_ops help                       list the operations
 *
 * Exit status: 0 success, 1 the operation failed (an errno, printed as
 * "posix_ops: OP ARG: text (ENAME)" on stderr) or a scenario found wrong
 * behaviour (printed on stderr), 2 usage error.
 *
 * Each operation returns 0, a positive errno (the failing call's), or
 * OP_WRONG (behaviour was wrong; already reported).  Everything is in this
 * one file so the Makefile needs no more than one source per helper.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2, O_TMPFILE, copy_file_range, F_OFD_* */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define OP_WRONG (-1) /* behaviour was wrong; already reported */
#define OP_USAGE (-2) /* bad arguments; already reported */

static const char *progname = "posix_ops";
static const char *cur_op = "";
static int quiet_errors; /* expect-errno prints its own verdict */

/* ---- errno names -------------------------------------------------------- */

struct errname {
	const char *name;
	int num;
};

static const struct errname errnames[] = { { "EPERM", EPERM },
	{ "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINTR", EINTR },
	{ "EIO", EIO }, { "ENXIO", ENXIO }, { "E2BIG", E2BIG },
	{ "ENOEXEC", ENOEXEC }, { "EBADF", EBADF }, { "ECHILD", ECHILD },
	{ "EAGAIN", EAGAIN }, { "EWOULDBLOCK", EWOULDBLOCK },
	{ "ENOMEM", ENOMEM }, { "EACCES", EACCES }, { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "EXDEV", EXDEV },
	{ "ENODEV", ENODEV }, { "ENOTDIR", ENOTDIR }, { "EISDIR", EISDIR },
	{ "EINVAL", EINVAL }, { "ENFILE", ENFILE }, { "EMFILE", EMFILE },
	{ "ENOTTY", ENOTTY }, { "ETXTBSY", ETXTBSY }, { "EFBIG", EFBIG },
	{ "ENOSPC", ENOSPC }, { "ESPIPE", ESPIPE }, { "EROFS", EROFS },
	{ "EMLINK", EMLINK }, { "EPIPE", EPIPE }, { "ERANGE", ERANGE },
	{ "EDEADLK", EDEADLK }, { "ENAMETOOLONG", ENAMETOOLONG },
	{ "ENOLCK", ENOLCK }, { "ENOSYS", ENOSYS }, { "ENOTEMPTY", ENOTEMPTY },
	{ "ELOOP", ELOOP }, { "ENODATA", ENODATA }, { "ENOTSUP", ENOTSUP },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EOVERFLOW", EOVERFLOW },
	{ "ESTALE", ESTALE }, { "EDQUOT", EDQUOT }, { "ENOTSOCK", ENOTSOCK },
	{ "EADDRINUSE", EADDRINUSE }, { "ECONNREFUSED", ECONNREFUSED },
	{ "ETIMEDOUT", ETIMEDOUT }, { "ENOTCONN", ENOTCONN },
	{ "ENOTBLK", ENOTBLK }, { "ENOMSG", ENOMSG }, { "ENOTUNIQ", ENOTUNIQ },
	{ "EBADFD", EBADFD }, { "ENOTRECOVERABLE", ENOTRECOVERABLE },
	{ "EOWNERDEAD", EOWNERDEAD }, { "EUCLEAN", EUCLEAN },
	{ "EREMOTEIO", EREMOTEIO }, { "ECONNABORTED", ECONNABORTED },
	{ "ECONNRESET", ECONNRESET }, { NULL, 0 } };

static const char *
errno_name(int e)
{
	size_t i;

	for (i = 0; errnames[i].name != NULL; i++) {
		if (errnames[i].num == e)
			return errnames[i].name;
	}
	return "E?";
}

/* Parse "ENOENT" or a number; -1 if unknown. */
static int
errno_parse(const char *s)
{
	size_t i;
	char *end;
	long v;

	for (i = 0; errnames[i].name != NULL; i++) {
		if (strcmp(errnames[i].name, s) == 0)
			return errnames[i].num;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 4095)
		return -1;
	return (int)v;
}

/* ---- output helpers ----------------------------------------------------- */

static void wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report wrong behaviour (not an errno). */
static void
wrong(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: WRONG: ", progname, cur_op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: usage: ", progname, cur_op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Record which call failed on what, for the final message. */
static char fail_what[PATH_MAX + 64];

static int
failed(const char *call, const char *arg)
{
	int e = errno;

	snprintf(fail_what, sizeof(fail_what), "%s %s", call,
	    arg != NULL ? arg : "");
	return e != 0 ? e : EIO;
}

/* ---- number parsing ----------------------------------------------------- */

static int
parse_ll(const char *s, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0') {
		usage_err("not a number: '%s'", s);
		return OP_USAGE;
	}
	*out = v;
	return 0;
}

static int
parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || end == s || *end != '\0' || v > 07777) {
		usage_err("not an octal mode: '%s'", s);
		return OP_USAGE;
	}
	*out = (mode_t)v;
	return 0;
}

/* ---- small I/O helpers -------------------------------------------------- */

static int
write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = off >= 0 ? pwrite(fd, p, len, off) : write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

/* Read up to len bytes; returns bytes read or -1. */
static ssize_t
read_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = off >= 0 ? pread(fd, p + got, len - got, off + (off_t)got) :
		               read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static unsigned char
pattern_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = (off / 8) * 0x9E3779B97F4A7C15ULL ^ seed;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return (unsigned char)(x >> (8 * (off % 8)));
}

static const char *
type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	default: return "?";
	}
}

/* Wait for a child; returns its exit status or 255 on a signal. */
static int
wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 255;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 255;
}

/* ---- open flags --------------------------------------------------------- */

struct flagname {
	const char *name;
	int flag;
};

static const struct flagname openflags[] = { { "rdonly", O_RDONLY },
	{ "wronly", O_WRONLY }, { "rdwr", O_RDWR }, { "creat", O_CREAT },
	{ "excl", O_EXCL }, { "trunc", O_TRUNC }, { "append", O_APPEND },
	{ "nofollow", O_NOFOLLOW }, { "directory", O_DIRECTORY },
	{ "path", O_PATH }, { "tmpfile", O_TMPFILE }, { "direct", O_DIRECT },
	{ "sync", O_SYNC }, { "noatime", O_NOATIME }, { "cloexec", O_CLOEXEC },
	{ "nonblock", O_NONBLOCK }, { "noctty", O_NOCTTY }, { NULL, 0 } };

static int
parse_open_flags(const char *s, int *out)
{
	char buf[256];
	char *tok, *save = NULL;
	size_t i;
	int flags = 0, found;

	if (strlen(s) >= sizeof(buf)) {
		usage_err("flags too long");
		return OP_USAGE;
	}
	memcpy(buf, s, strlen(s) + 1);
	for (tok = strtok_r(buf, ",|", &save); tok != NULL;
	     tok = strtok_r(NULL, ",|", &save)) {
		found = 0;
		for (i = 0; openflags[i].name != NULL; i++) {
			if (strcmp(openflags[i].name, tok) == 0) {
				flags |= openflags[i].flag;
				found = 1;
				break;
			}
		}
		if (!found) {
			usage_err("unknown open flag '%s'", tok);
			return OP_USAGE;
		}
	}
	*out = flags;
	return 0;
}

/* ---- simple operations -------------------------------------------------- */

/* open PATH FLAGS [MODE]: open and close. */
static int
op_open(int argc, char **argv)
{
	int flags, fd, r;
	mode_t mode = 0644;

	r = parse_open_flags(argv[1], &flags);
	if (r != 0)
		return r;
	if (argc > 2 && (r = parse_mode(argv[2], &mode)) != 0)
		return r;
	fd = open(argv[0], flags, mode);
	if (fd < 0)
		return failed("open", argv[0]);
	close(fd);
	return 0;
}

/* write PATH DATA: create/truncate PATH and write DATA (no newline). */
static int
op_write(int argc, char **argv)
{
	int fd;

	(void)argc;
	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	if (write_all(fd, argv[1], strlen(argv[1]), -1) < 0) {
		int e = failed("write", argv[0]);
		close(fd);
		return e;
	}
	if (close(fd) < 0)
		return failed("close", argv[0]);
	return 0;
}

/* cat PATH: print contents (read through one descriptor). */
static int
op_cat(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int fd;

	(void)argc;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = failed("read", argv[0]);
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	}
	close(fd);
	return 0;
}

static int
op_mkdir(int argc, char **argv)
{
	mode_t mode = 0755;
	int r;

	if (argc > 1 && (r = parse_mode(argv[1], &mode)) != 0)
		return r;
	if (mkdir(argv[0], mode) < 0)
		return failed("mkdir", argv[0]);
	return 0;
}

static int
op_rmdir(int argc, char **argv)
{
	(void)argc;
	if (rmdir(argv[0]) < 0)
		return failed("rmdir", argv[0]);
	return 0;
}

static int
op_unlink(int argc, char **argv)
{
	(void)argc;
	if (unlink(argv[0]) < 0)
		return failed("unlink", argv[0]);
	return 0;
}

static int
op_link(int argc, char **argv)
{
	(void)argc;
	if (link(argv[0], argv[1]) < 0)
		return failed("link", argv[1]);
	return 0;
}

/* linkat-fd SRC NEW: linkat(open(SRC), "", NEW, AT_EMPTY_PATH). */
static int
op_linkat_fd(int argc, char **argv)
{
	int fd, e = 0;

	(void)argc;
	fd = open(argv[0], O_PATH);
	if (fd < 0)
		return failed("open", argv[0]);
	if (linkat(fd, "", AT_FDCWD, argv[1], AT_EMPTY_PATH) < 0)
		e = failed("linkat", argv[1]);
	close(fd);
	return e;
}

/* link-procfd SRC NEW: link /proc/self/fd/N (of an open SRC) to NEW. */
static int
op_link_procfd(int argc, char **argv)
{
	char p[64];
	int fd, e = 0;

	(void)argc;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, p, AT_FDCWD, argv[1], AT_SYMLINK_FOLLOW) < 0)
		e = failed("linkat", argv[1]);
	close(fd);
	return e;
}

static int
op_symlink(int argc, char **argv)
{
	(void)argc;
	if (symlink(argv[0], argv[1]) < 0)
		return failed("symlink", argv[1]);
	return 0;
}

static int
op_readlink(int argc, char **argv)
{
	char buf[PATH_MAX + 1];
	ssize_t n;

	(void)argc;
	n = readlink(argv[0], buf, sizeof(buf) - 1);
	if (n < 0)
		return failed("readlink", argv[0]);
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

static int
do_rename(char **argv, unsigned flags)
{
	if (renameat2(AT_FDCWD, argv[0], AT_FDCWD, argv[1], flags) < 0)
		return failed("renameat2", argv[1]);
	return 0;
}

static int
op_rename(int argc, char **argv)
{
	(void)argc;
	return do_rename(argv, 0);
}

static int
op_rename_noreplace(int argc, char **argv)
{
	(void)argc;
	return do_rename(argv, RENAME_NOREPLACE);
}

static int
op_rename_exchange(int argc, char **argv)
{
	(void)argc;
	return do_rename(argv, RENAME_EXCHANGE);
}

static int
op_chmod(int argc, char **argv)
{
	mode_t mode;
	int r;

	(void)argc;
	if ((r = parse_mode(argv[1], &mode)) != 0)
		return r;
	if (chmod(argv[0], mode) < 0)
		return failed("chmod", argv[0]);
	return 0;
}

static int
do_chown(char **argv, int nofollow)
{
	long long u, g;
	int r;

	if ((r = parse_ll(argv[1], &u)) != 0 ||
	    (r = parse_ll(argv[2], &g)) != 0)
		return r;
	if (fchownat(AT_FDCWD, argv[0], (uid_t)u, (gid_t)g,
	        nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0)
		return failed("fchownat", argv[0]);
	return 0;
}

static int
op_chown(int argc, char **argv)
{
	(void)argc;
	return do_chown(argv, 0);
}

static int
op_lchown(int argc, char **argv)
{
	(void)argc;
	return do_chown(argv, 1);
}

static int
op_truncate(int argc, char **argv)
{
	long long len;
	int r;

	(void)argc;
	if ((r = parse_ll(argv[1], &len)) != 0)
		return r;
	if (truncate(argv[0], (off_t)len) < 0)
		return failed("truncate", argv[0]);
	return 0;
}

/* ftruncate PATH LEN: through an O_WRONLY descriptor. */
static int
op_ftruncate(int argc, char **argv)
{
	long long len;
	int r, fd, e = 0;

	(void)argc;
	if ((r = parse_ll(argv[1], &len)) != 0)
		return r;
	fd = open(argv[0], O_WRONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	if (ftruncate(fd, (off_t)len) < 0)
		e = failed("ftruncate", argv[0]);
	close(fd);
	return e;
}

static void
print_stat(const struct stat *st)
{
	printf("type=%s ino=%llu nlink=%llu mode=%04o uid=%u gid=%u size=%lld "
	       "blocks=%lld atime=%lld.%09ld mtime=%lld.%09ld "
	       "ctime=%lld.%09ld rdev=%u:%u\n",
	    type_name(st->st_mode), (unsigned long long)st->st_ino,
	    (unsigned long long)st->st_nlink, (unsigned)(st->st_mode & 07777),
	    (unsigned)st->st_uid, (unsigned)st->st_gid, (long long)st->st_size,
	    (long long)st->st_blocks, (long long)st->st_atim.tv_sec,
	    st->st_atim.tv_nsec, (long long)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
	    st->st_ctim.tv_nsec, major(st->st_rdev), minor(st->st_rdev));
}

static int
op_stat(int argc, char **argv)
{
	struct stat st;

	(void)argc;
	if (stat(argv[0], &st) < 0)
		return failed("stat", argv[0]);
	print_stat(&st);
	return 0;
}

static int
op_lstat(int argc, char **argv)
{
	struct stat st;

	(void)argc;
	if (lstat(argv[0], &st) < 0)
		return failed("lstat", argv[0]);
	print_stat(&st);
	return 0;
}

/* fstat-open PATH: open O_RDONLY then fstat (attributes via the handle). */
static int
op_fstat(int argc, char **argv)
{
	struct stat st;
	int fd, e = 0;

	(void)argc;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	if (fstat(fd, &st) < 0)
		e = failed("fstat", argv[0]);
	else
		print_stat(&st);
	close(fd);
	return e;
}

static int
op_access(int argc, char **argv)
{
	int mode = 0;
	const char *p;

	(void)argc;
	for (p = argv[1]; *p != '\0'; p++) {
		switch (*p) {
		case 'r': mode |= R_OK; break;
		case 'w': mode |= W_OK; break;
		case 'x': mode |= X_OK; break;
		case 'f': mode |= F_OK; break;
		default:
			usage_err("access mode is a mix of r, w, x, f");
			return OP_USAGE;
		}
	}
	if (access(argv[0], mode) < 0)
		return failed("access", argv[0]);
	return 0;
}

static int
op_statfs(int argc, char **argv)
{
	struct statfs sf;

	(void)argc;
	if (statfs(argv[0], &sf) < 0)
		return failed("statfs", argv[0]);
	printf("type=0x%llx bsize=%lld blocks=%llu bfree=%llu bavail=%llu "
	       "files=%llu ffree=%llu namelen=%lld\n",
	    (unsigned long long)sf.f_type, (long long)sf.f_bsize,
	    (unsigned long long)sf.f_blocks, (unsigned long long)sf.f_bfree,
	    (unsigned long long)sf.f_bavail, (unsigned long long)sf.f_files,
	    (unsigned long long)sf.f_ffree, (long long)sf.f_namelen);
	return 0;
}

/* utimens PATH ATIME MTIME [nofollow]: each time is now, omit or SEC[.NSEC] */
static int
parse_time(const char *s, struct timespec *ts)
{
	char buf[64];
	char *dot, *end;
	long long sec, nsec = 0;
	size_t i, n;

	if (strcmp(s, "now") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
		return 0;
	}
	if (strcmp(s, "omit") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		goto bad;
	memcpy(buf, s, strlen(s) + 1);
	dot = strchr(buf, '.');
	if (dot != NULL)
		*dot = '\0';
	errno = 0;
	sec = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0')
		goto bad;
	if (dot != NULL) {
		n = strlen(dot + 1);
		if (n == 0 || n > 9)
			goto bad;
		for (i = 0; i < n; i++) {
			if (dot[1 + i] < '0' || dot[1 + i] > '9')
				goto bad;
			nsec = nsec * 10 + (dot[1 + i] - '0');
		}
		for (; i < 9; i++)
			nsec *= 10;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return 0;
bad:
	usage_err("bad time '%s' (now, omit, SEC or SEC.NSEC)", s);
	return OP_USAGE;
}

static int
op_utimens(int argc, char **argv)
{
	struct timespec ts[2];
	int r, flags = 0;

	if ((r = parse_time(argv[1], &ts[0])) != 0 ||
	    (r = parse_time(argv[2], &ts[1])) != 0)
		return r;
	if (argc > 3) {
		if (strcmp(argv[3], "nofollow") != 0) {
			usage_err("4th argument can only be 'nofollow'");
			return OP_USAGE;
		}
		flags = AT_SYMLINK_NOFOLLOW;
	}
	if (utimensat(AT_FDCWD, argv[0], ts, flags) < 0)
		return failed("utimensat", argv[0]);
	return 0;
}

/* futimens PATH ATIME MTIME: through an open descriptor. */
static int
op_futimens(int argc, char **argv)
{
	struct timespec ts[2];
	int r, fd, e = 0;

	(void)argc;
	if ((r = parse_time(argv[1], &ts[0])) != 0 ||
	    (r = parse_time(argv[2], &ts[1])) != 0)
		return r;
	fd = open(argv[0], O_WRONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	if (futimens(fd, ts) < 0)
		e = failed("futimens", argv[0]);
	close(fd);
	return e;
}

/* ---- xattrs ------------------------------------------------------------- */

static int
op_setxattr(int argc, char **argv)
{
	int flags = 0;

	if (argc > 3) {
		if (strcmp(argv[3], "create") == 0)
			flags = XATTR_CREATE;
		else if (strcmp(argv[3], "replace") == 0)
			flags = XATTR_REPLACE;
		else {
			usage_err("flag is create or replace");
			return OP_USAGE;
		}
	}
	if (setxattr(argv[0], argv[1], argv[2], strlen(argv[2]), flags) < 0)
		return failed("setxattr", argv[0]);
	return 0;
}

static int
op_getxattr(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;

	(void)argc;
	n = getxattr(argv[0], argv[1], buf, sizeof(buf) - 1);
	if (n < 0)
		return failed("getxattr", argv[0]);
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

/* getxattr-size PATH NAME: size query (value NULL, size 0) then exact read */
static int
op_getxattr_size(int argc, char **argv)
{
	char *buf;
	ssize_t n, m;

	(void)argc;
	n = getxattr(argv[0], argv[1], NULL, 0);
	if (n < 0)
		return failed("getxattr", argv[0]);
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		return ENOMEM;
	m = getxattr(argv[0], argv[1], buf, (size_t)n);
	if (m < 0) {
		int e = failed("getxattr", argv[0]);
		free(buf);
		return e;
	}
	if (m != n) {
		wrong("size query said %zd, read gave %zd", n, m);
		free(buf);
		return OP_WRONG;
	}
	if (n > 0) {
		/* a buffer one byte too small must give ERANGE */
		m = getxattr(argv[0], argv[1], buf, (size_t)n - 1);
		if (m >= 0 || errno != ERANGE) {
			wrong("getxattr with a too-small buffer gave %zd (%s), "
			      "want ERANGE",
			    m, m < 0 ? errno_name(errno) : "no error");
			free(buf);
			return OP_WRONG;
		}
	}
	printf("%zd\n", n);
	free(buf);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
op_listxattr(int argc, char **argv)
{
	char buf[65536];
	char *names[4096];
	size_t nn = 0, i;
	ssize_t n;
	char *p;

	(void)argc;
	n = listxattr(argv[0], buf, sizeof(buf));
	if (n < 0)
		return failed("listxattr", argv[0]);
	for (p = buf; p < buf + n && nn < 4096; p += strlen(p) + 1)
		names[nn++] = p;
	if (nn > 1)
		qsort(names, nn, sizeof(names[0]), cmp_str);
	for (i = 0; i < nn; i++)
		printf("%s\n", names[i]);
	return 0;
}

static int
op_removexattr(int argc, char **argv)
{
	(void)argc;
	if (removexattr(argv[0], argv[1]) < 0)
		return failed("removexattr", argv[0]);
	return 0;
}

/* ---- special files ------------------------------------------------------ */

static int
op_mknod_fifo(int argc, char **argv)
{
	mode_t mode = 0644;
	int r;

	if (argc > 1 && (r = parse_mode(argv[1], &mode)) != 0)
		return r;
	if (mknod(argv[0], S_IFIFO | mode, 0) < 0)
		return failed("mknod", argv[0]);
	return 0;
}

static int
op_mknod_sock(int argc, char **argv)
{
	mode_t mode = 0755;
	int r;

	if (argc > 1 && (r = parse_mode(argv[1], &mode)) != 0)
		return r;
	if (mknod(argv[0], S_IFSOCK | mode, 0) < 0)
		return failed("mknod", argv[0]);
	return 0;
}

static int
op_mknod_reg(int argc, char **argv)
{
	(void)argc;
	if (mknod(argv[0], S_IFREG | 0644, 0) < 0)
		return failed("mknod", argv[0]);
	return 0;
}

/* mknod-chr PATH MAJOR MINOR */
static int
op_mknod_chr(int argc, char **argv)
{
	long long ma, mi;
	int r;

	(void)argc;
	if ((r = parse_ll(argv[1], &ma)) != 0 ||
	    (r = parse_ll(argv[2], &mi)) != 0)
		return r;
	if (mknod(argv[0], S_IFCHR | 0666,
	        makedev((unsigned)ma, (unsigned)mi)) < 0)
		return failed("mknod", argv[0]);
	return 0;
}

/* fifo-rw PATH: a child writes a message into the FIFO, we read it. */
static int
op_fifo_rw(int argc, char **argv)
{
	static const char msg[] = "through the fifo\n";
	char buf[64];
	pid_t pid;
	ssize_t n;
	int fd, st;

	(void)argc;
	pid = fork();
	if (pid < 0)
		return failed("fork", NULL);
	if (pid == 0) {
		fd = open(argv[0], O_WRONLY);
		if (fd < 0)
			_exit(3);
		if (write_all(fd, msg, sizeof(msg) - 1, -1) < 0)
			_exit(4);
		close(fd);
		_exit(0);
	}
	alarm(20);
	fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		int e = failed("open", argv[0]);
		kill(pid, SIGKILL);
		wait_child(pid);
		return e;
	}
	n = read_all(fd, buf, sizeof(buf) - 1, -1);
	close(fd);
	st = wait_child(pid);
	alarm(0);
	if (st != 0) {
		wrong("writer child exited with %d", st);
		return OP_WRONG;
	}
	if (n != (ssize_t)(sizeof(msg) - 1) ||
	    memcmp(buf, msg, (size_t)n) != 0) {
		wrong("read %zd bytes, not the message", n);
		return OP_WRONG;
	}
	return 0;
}

/* sock-bind PATH: bind a unix socket at PATH, connect to it by PATH. */
static int
op_sock_bind(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct stat st;
	char buf[16];
	int ls, cs, as, e = 0;
	ssize_t n;

	(void)argc;
	if (strlen(argv[0]) >= sizeof(sa.sun_path)) {
		usage_err("path too long for a socket address");
		return OP_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, argv[0], strlen(argv[0]) + 1);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0)
		return failed("socket", NULL);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = failed("bind", argv[0]);
		goto out_ls;
	}
	if (lstat(argv[0], &st) < 0) {
		e = failed("lstat", argv[0]);
		goto out_ls;
	}
	if (!S_ISSOCK(st.st_mode)) {
		wrong("bound path is a %s, not a socket",
		    type_name(st.st_mode));
		e = OP_WRONG;
		goto out_ls;
	}
	if (listen(ls, 1) < 0) {
		e = failed("listen", argv[0]);
		goto out_ls;
	}
	cs = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cs < 0) {
		e = failed("socket", NULL);
		goto out_ls;
	}
	if (connect(cs, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = failed("connect", argv[0]);
		goto out_cs;
	}
	as = accept(ls, NULL, NULL);
	if (as < 0) {
		e = failed("accept", argv[0]);
		goto out_cs;
	}
	if (write_all(cs, "ping", 4, -1) < 0 ||
	    (n = read_all(as, buf, 4, -1)) != 4 ||
	    memcmp(buf, "ping", 4) != 0) {
		wrong("message did not come through the socket");
		e = OP_WRONG;
	}
	close(as);
out_cs:
	close(cs);
out_ls:
	close(ls);
	return e;
}

/* ---- the file-content scenarios ----------------------------------------- */

/* tmpfile DIR [LINKNAME]: O_TMPFILE, write, read back; optionally link it. */
static int
op_tmpfile(int argc, char **argv)
{
	static const char data[] = "anonymous tmpfile content\n";
	char buf[64];
	struct stat st;
	int fd, e = 0;
	ssize_t n;

	fd = open(argv[0], O_TMPFILE | O_RDWR, 0600);
	if (fd < 0)
		return failed("open(O_TMPFILE)", argv[0]);
	if (write_all(fd, data, sizeof(data) - 1, -1) < 0) {
		e = failed("write", argv[0]);
		goto out;
	}
	n = read_all(fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)(sizeof(data) - 1) ||
	    memcmp(buf, data, (size_t)n) != 0) {
		wrong("read back %zd bytes, not what was written", n);
		e = OP_WRONG;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		e = failed("fstat", argv[0]);
		goto out;
	}
	if (st.st_nlink != 0 || !S_ISREG(st.st_mode)) {
		wrong("O_TMPFILE file has nlink %llu type %s, want 0 and reg",
		    (unsigned long long)st.st_nlink, type_name(st.st_mode));
		e = OP_WRONG;
		goto out;
	}
	if (argc > 1) {
		if (linkat(fd, "", AT_FDCWD, argv[1], AT_EMPTY_PATH) < 0) {
			e = failed("linkat(AT_EMPTY_PATH)", argv[1]);
			goto out;
		}
		if (fstat(fd, &st) < 0) {
			e = failed("fstat", argv[1]);
			goto out;
		}
		if (st.st_nlink != 1) {
			wrong("after linkat nlink is %llu, want 1",
			    (unsigned long long)st.st_nlink);
			e = OP_WRONG;
		}
	}
out:
	close(fd);
	return e;
}

/* odirect-rw FILE [SIZE]: O_DIRECT write then O_DIRECT and buffered reads */
static int
op_odirect_rw(int argc, char **argv)
{
	long long size = 1 << 20;
	unsigned char *buf = NULL, *rbuf = NULL;
	size_t i;
	int fd = -1, r, e = 0;
	ssize_t n;

	if (argc > 1 && (r = parse_ll(argv[1], &size)) != 0)
		return r;
	if (size <= 0 || size % 4096 != 0 || size > (64LL << 20)) {
		usage_err(
		    "SIZE must be a positive multiple of 4096, <= 64 MiB");
		return OP_USAGE;
	}
	if (posix_memalign((void **)&buf, 4096, (size_t)size) != 0 ||
	    posix_memalign((void **)&rbuf, 4096, (size_t)size) != 0) {
		free(buf);
		return ENOMEM;
	}
	for (i = 0; i < (size_t)size; i++)
		buf[i] = pattern_byte(7, i);
	fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0) {
		e = failed("open(O_DIRECT)", argv[0]);
		goto out;
	}
	if (write_all(fd, buf, (size_t)size, 0) < 0) {
		e = failed("pwrite(O_DIRECT)", argv[0]);
		goto out;
	}
	memset(rbuf, 0, (size_t)size);
	n = read_all(fd, rbuf, (size_t)size, 0);
	if (n < 0) {
		e = failed("pread(O_DIRECT)", argv[0]);
		goto out;
	}
	if (n != size || memcmp(buf, rbuf, (size_t)size) != 0) {
		wrong("O_DIRECT read back differs (%zd of %lld bytes)", n,
		    size);
		e = OP_WRONG;
		goto out;
	}
	close(fd);
	fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		e = failed("open", argv[0]);
		goto out;
	}
	memset(rbuf, 0, (size_t)size);
	n = read_all(fd, rbuf, (size_t)size, 0);
	if (n != size || memcmp(buf, rbuf, (size_t)size) != 0) {
		wrong("buffered read after O_DIRECT write differs");
		e = OP_WRONG;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(rbuf);
	return e;
}

/* pattern-write FILE SIZE SEED [OFF]: write a reproducible pattern in odd
 * chunk sizes (crossing page and max_write boundaries). */
static int
op_pattern_write(int argc, char **argv)
{
	long long size, seed, off = 0;
	unsigned char *buf;
	size_t done = 0, chunk, i;
	int fd, r, e = 0;
	static const size_t chunks[] = { 1, 4095, 4097, 65536, 131073, 333,
		1048576 };
	unsigned ci = 0;

	if ((r = parse_ll(argv[1], &size)) != 0 ||
	    (r = parse_ll(argv[2], &seed)) != 0)
		return r;
	if (argc > 3 && (r = parse_ll(argv[3], &off)) != 0)
		return r;
	if (size < 0 || size > (1LL << 32)) {
		usage_err("bad size");
		return OP_USAGE;
	}
	buf = malloc(1048576);
	if (buf == NULL)
		return ENOMEM;
	fd = open(argv[0], O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		e = failed("open", argv[0]);
		free(buf);
		return e;
	}
	while (done < (size_t)size) {
		chunk = chunks[ci++ % (sizeof(chunks) / sizeof(chunks[0]))];
		if (chunk > (size_t)size - done)
			chunk = (size_t)size - done;
		for (i = 0; i < chunk; i++)
			buf[i] = pattern_byte((uint64_t)seed,
			    (uint64_t)off + done + i);
		if (write_all(fd, buf, chunk, (off_t)(off + (long long)done)) <
		    0) {
			e = failed("pwrite", argv[0]);
			break;
		}
		done += chunk;
	}
	if (close(fd) < 0 && e == 0)
		e = failed("close", argv[0]);
	free(buf);
	return e;
}

/* pattern-check FILE SIZE SEED [OFF]: the file holds that pattern at OFF
 * (and, with OFF 0, is exactly SIZE bytes long). */
static int
op_pattern_check(int argc, char **argv)
{
	long long size, seed, off = 0;
	unsigned char *buf;
	size_t done = 0, i;
	struct stat st;
	ssize_t n;
	int fd, r, e = 0;

	if ((r = parse_ll(argv[1], &size)) != 0 ||
	    (r = parse_ll(argv[2], &seed)) != 0)
		return r;
	if (argc > 3 && (r = parse_ll(argv[3], &off)) != 0)
		return r;
	buf = malloc(1048576);
	if (buf == NULL)
		return ENOMEM;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		e = failed("open", argv[0]);
		free(buf);
		return e;
	}
	if (fstat(fd, &st) < 0) {
		e = failed("fstat", argv[0]);
		goto out;
	}
	if (argc <= 3 && st.st_size != size) {
		wrong("%s: size %lld, want %lld", argv[0],
		    (long long)st.st_size, size);
		e = OP_WRONG;
		goto out;
	}
	while (done < (size_t)size) {
		size_t want = (size_t)size - done;
		if (want > 1048576)
			want = 1048576;
		n = read_all(fd, buf, want, (off_t)(off + (long long)done));
		if (n < 0) {
			e = failed("pread", argv[0]);
			goto out;
		}
		if ((size_t)n != want) {
			wrong("%s: short read at %zu", argv[0], done);
			e = OP_WRONG;
			goto out;
		}
		for (i = 0; i < want; i++) {
			if (buf[i] !=
			    pattern_byte((uint64_t)seed,
			        (uint64_t)off + done + i)) {
				wrong("%s: byte %lld differs", argv[0],
				    off + (long long)(done + i));
				e = OP_WRONG;
				goto out;
			}
		}
		done += want;
	}
out:
	close(fd);
	free(buf);
	return e;
}

/* mmap-rw FILE [SIZE]: write through a shared mapping, read back by read() */
static int
op_mmap_rw(int argc, char **argv)
{
	long long size = 3 * 4096 + 100;
	unsigned char *map, *buf;
	size_t i;
	ssize_t n;
	int fd, r, e = 0;

	if (argc > 1 && (r = parse_ll(argv[1], &size)) != 0)
		return r;
	if (size <= 0 || size > (64LL << 20)) {
		usage_err("bad size");
		return OP_USAGE;
	}
	fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	if (ftruncate(fd, (off_t)size) < 0) {
		e = failed("ftruncate", argv[0]);
		close(fd);
		return e;
	}
	map =
	    mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		e = failed("mmap", argv[0]);
		close(fd);
		return e;
	}
	for (i = 0; i < (size_t)size; i++)
		map[i] = pattern_byte(11, i);
	if (msync(map, (size_t)size, MS_SYNC) < 0)
		e = failed("msync", argv[0]);
	munmap(map, (size_t)size);
	close(fd);
	if (e != 0)
		return e;
	buf = malloc((size_t)size);
	if (buf == NULL)
		return ENOMEM;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		e = failed("open", argv[0]);
		free(buf);
		return e;
	}
	n = read_all(fd, buf, (size_t)size, 0);
	if (n != size) {
		wrong("read %zd bytes, want %lld", n, size);
		e = OP_WRONG;
	} else {
		for (i = 0; i < (size_t)size; i++) {
			if (buf[i] != pattern_byte(11, i)) {
				wrong("byte %zu differs after mmap write", i);
				e = OP_WRONG;
				break;
			}
		}
	}
	close(fd);
	free(buf);
	return e;
}

/* unlinked-rw DIR: an open file keeps working after its name is gone. */
static int
op_unlinked_rw(int argc, char **argv)
{
	char path[PATH_MAX];
	char buf[32];
	struct stat st;
	int fd, e = 0;
	ssize_t n;

	(void)argc;
	if ((size_t)snprintf(path, sizeof(path), "%s/.unlinked.%ld", argv[0],
	        (long)getpid()) >= sizeof(path)) {
		usage_err("path too long");
		return OP_USAGE;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return failed("open", path);
	if (write_all(fd, "before", 6, -1) < 0) {
		e = failed("write", path);
		goto out;
	}
	if (unlink(path) < 0) {
		e = failed("unlink", path);
		goto out;
	}
	if (write_all(fd, "-after", 6, -1) < 0) {
		e = failed("write after unlink", path);
		goto out;
	}
	n = read_all(fd, buf, sizeof(buf), 0);
	if (n != 12 || memcmp(buf, "before-after", 12) != 0) {
		wrong("read back %zd bytes, not 'before-after'", n);
		e = OP_WRONG;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		e = failed("fstat after unlink", path);
		goto out;
	}
	if (st.st_nlink != 0 || st.st_size != 12) {
		wrong("after unlink nlink=%llu size=%lld, want 0 and 12",
		    (unsigned long long)st.st_nlink, (long long)st.st_size);
		e = OP_WRONG;
		goto out;
	}
	if (ftruncate(fd, 3) < 0) {
		e = failed("ftruncate after unlink", path);
		goto out;
	}
	if (fchmod(fd, 0600) < 0) {
		e = failed("fchmod after unlink", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		e = failed("fstat after unlink", path);
		goto out;
	}
	if (st.st_size != 3 || (st.st_mode & 07777) != 0600) {
		wrong("after ftruncate/fchmod size=%lld mode=%04o",
		    (long long)st.st_size, (unsigned)(st.st_mode & 07777));
		e = OP_WRONG;
		goto out;
	}
	if (access(path, F_OK) == 0) {
		wrong("the name came back after unlink");
		e = OP_WRONG;
	}
out:
	close(fd);
	return e;
}

/* append FILE N: two processes append N records each with O_APPEND; no
 * record may be lost or torn. */
#define REC 64
static int
append_writer(const char *path, long long n, char tag)
{
	char rec[REC];
	long long i;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return 1;
	for (i = 0; i < n; i++) {
		memset(rec, tag, sizeof(rec));
		snprintf(rec, sizeof(rec), "%c%08lld", tag, i);
		rec[9] = tag;
		rec[REC - 1] = '\n';
		if (write(fd, rec, REC) != REC)
			return 1;
	}
	return close(fd) < 0 ? 1 : 0;
}

static int
op_append(int argc, char **argv)
{
	long long n, got[2] = { 0, 0 };
	char rec[REC];
	pid_t pid;
	struct stat st;
	int fd, r, st1, st2, e = 0;
	ssize_t k;

	(void)argc;
	if ((r = parse_ll(argv[1], &n)) != 0)
		return r;
	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	close(fd);
	pid = fork();
	if (pid < 0)
		return failed("fork", NULL);
	if (pid == 0)
		_exit(append_writer(argv[0], n, 'A'));
	st1 = append_writer(argv[0], n, 'B');
	st2 = wait_child(pid);
	if (st1 != 0 || st2 != 0) {
		wrong("a writer failed (%d, %d)", st1, st2);
		return OP_WRONG;
	}
	if (stat(argv[0], &st) < 0)
		return failed("stat", argv[0]);
	if (st.st_size != 2 * n * REC) {
		wrong("size %lld, want %lld: appends were lost or overlapped",
		    (long long)st.st_size, 2 * n * REC);
		return OP_WRONG;
	}
	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	while ((k = read_all(fd, rec, REC, -1)) == REC) {
		if ((rec[0] != 'A' && rec[0] != 'B') || rec[REC - 1] != '\n' ||
		    rec[9] != rec[0] || rec[REC - 2] != rec[0]) {
			wrong("torn record");
			e = OP_WRONG;
			break;
		}
		got[rec[0] == 'B']++;
	}
	close(fd);
	if (e == 0 && (got[0] != n || got[1] != n)) {
		wrong("records A=%lld B=%lld, want %lld each", got[0], got[1],
		    n);
		e = OP_WRONG;
	}
	return e;
}

/* ---- fallocate, holes, copy_file_range ---------------------------------- */

static int
do_fallocate(char **argv, int mode)
{
	long long off, len;
	int fd, r, e = 0;

	if ((r = parse_ll(argv[1], &off)) != 0 ||
	    (r = parse_ll(argv[2], &len)) != 0)
		return r;
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	if (fallocate(fd, mode, (off_t)off, (off_t)len) < 0)
		e = failed("fallocate", argv[0]);
	close(fd);
	return e;
}

/* fallocate FILE OFF LEN [keep] */
static int
op_fallocate(int argc, char **argv)
{
	int mode = 0;

	if (argc > 3) {
		if (strcmp(argv[3], "keep") != 0) {
			usage_err("4th argument can only be 'keep'");
			return OP_USAGE;
		}
		mode = FALLOC_FL_KEEP_SIZE;
	}
	return do_fallocate(argv, mode);
}

static int
op_punch_hole(int argc, char **argv)
{
	(void)argc;
	return do_fallocate(argv, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

static int
op_zero_range(int argc, char **argv)
{
	(void)argc;
	return do_fallocate(argv, FALLOC_FL_ZERO_RANGE);
}

static int
do_seek(char **argv, int whence)
{
	long long off;
	off_t r;
	int fd, e;

	if ((e = parse_ll(argv[1], &off)) != 0)
		return e;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	r = lseek(fd, (off_t)off, whence);
	if (r < 0) {
		e = failed("lseek", argv[0]);
		close(fd);
		return e;
	}
	printf("%lld\n", (long long)r);
	close(fd);
	return 0;
}

static int
op_seek_data(int argc, char **argv)
{
	(void)argc;
	return do_seek(argv, SEEK_DATA);
}

static int
op_seek_hole(int argc, char **argv)
{
	(void)argc;
	return do_seek(argv, SEEK_HOLE);
}

/* copy-range SRC DST [LEN]: copy_file_range the whole file (or LEN). */
static int
op_copy_range(int argc, char **argv)
{
	struct stat st;
	long long len = -1, total = 0;
	ssize_t n;
	int in, out, r, e = 0;

	if (argc > 2 && (r = parse_ll(argv[2], &len)) != 0)
		return r;
	in = open(argv[0], O_RDONLY);
	if (in < 0)
		return failed("open", argv[0]);
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		e = failed("open", argv[1]);
		close(in);
		return e;
	}
	if (len < 0) {
		if (fstat(in, &st) < 0) {
			e = failed("fstat", argv[0]);
			goto out;
		}
		len = st.st_size;
	}
	while (total < len) {
		n = copy_file_range(in, NULL, out, NULL, (size_t)(len - total),
		    0);
		if (n < 0) {
			e = failed("copy_file_range", argv[1]);
			goto out;
		}
		if (n == 0)
			break;
		total += n;
	}
	printf("%lld\n", total);
out:
	if (close(out) < 0 && e == 0)
		e = failed("close", argv[1]);
	close(in);
	return e;
}

/* ---- locks -------------------------------------------------------------- */

/*
 * flock FILE: an exclusive flock() held by us makes a LOCK_NB attempt on a
 * separate open of FILE (in a child) fail with EWOULDBLOCK; after we unlock
 * it succeeds; two shared locks coexist.
 */
static int
child_flock(const char *path, int how)
{
	int fd, r;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 3;
	r = flock(fd, how | LOCK_NB);
	if (r == 0)
		/* cppcheck-suppress resourceLeak ; the lock lives until exit */
		return 0;
	/* cppcheck-suppress resourceLeak ; the lock lives until exit */
	return errno == EWOULDBLOCK ? 1 : 2;
}

static int
op_flock(int argc, char **argv)
{
	pid_t pid;
	int fd, st;

	(void)argc;
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	if (flock(fd, LOCK_EX) < 0) {
		st = failed("flock", argv[0]);
		close(fd);
		return st;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_flock(argv[0], LOCK_EX));
	st = wait_child(pid);
	if (st != 1) {
		wrong("while we hold LOCK_EX, another LOCK_EX|LOCK_NB gave %s",
		    st == 0 ? "success" : "an error other than EWOULDBLOCK");
		close(fd);
		return OP_WRONG;
	}
	flock(fd, LOCK_UN);
	pid = fork();
	if (pid == 0)
		_exit(child_flock(argv[0], LOCK_EX));
	st = wait_child(pid);
	if (st != 0) {
		wrong("after LOCK_UN another LOCK_EX failed (%d)", st);
		close(fd);
		return OP_WRONG;
	}
	if (flock(fd, LOCK_SH) < 0) {
		st = failed("flock(LOCK_SH)", argv[0]);
		close(fd);
		return st;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_flock(argv[0], LOCK_SH));
	st = wait_child(pid);
	close(fd);
	if (st != 0) {
		wrong("two LOCK_SH did not coexist (%d)", st);
		return OP_WRONG;
	}
	return 0;
}

/* In a child: try F_SETLK on [start, start+len); report via exit code.
 * Also F_GETLK must name the holder. */
static int
child_posix(const char *path, off_t start, off_t len, pid_t holder)
{
	struct flock fl;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return 3;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if (holder > 0) {
		if (fcntl(fd, F_GETLK, &fl) < 0)
			/* cppcheck-suppress resourceLeak ; the lock lives until exit */
			return 4;
		if (fl.l_type != F_WRLCK || fl.l_pid != holder)
			/* cppcheck-suppress resourceLeak ; the lock lives until exit */
			return 5;
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = start;
		fl.l_len = len;
	}
	if (fcntl(fd, F_SETLK, &fl) == 0)
		/* cppcheck-suppress resourceLeak ; the lock lives until exit */
		return 0;
	/* cppcheck-suppress resourceLeak ; the lock lives until exit */
	return (errno == EAGAIN || errno == EACCES) ? 1 : 2;
}

static int
op_posix_lock(int argc, char **argv)
{
	struct flock fl;
	pid_t pid;
	int fd, st;

	(void)argc;
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return failed("open", argv[0]);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 100;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		st = failed("fcntl(F_SETLK)", argv[0]);
		close(fd);
		return st;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_posix(argv[0], 50, 10, getppid()));
	st = wait_child(pid);
	if (st != 1) {
		wrong("conflicting F_SETLK in another process: %s",
		    st == 0     ? "succeeded" :
		        st == 5 ? "F_GETLK did not report our lock and pid" :
		                  "unexpected error");
		close(fd);
		return OP_WRONG;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_posix(argv[0], 200, 10, 0));
	st = wait_child(pid);
	if (st != 0) {
		wrong("a lock on a disjoint range failed (%d)", st);
		close(fd);
		return OP_WRONG;
	}
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		st = failed("fcntl(F_UNLCK)", argv[0]);
		close(fd);
		return st;
	}
	pid = fork();
	if (pid == 0)
		_exit(child_posix(argv[0], 50, 10, 0));
	st = wait_child(pid);
	close(fd);
	if (st != 0) {
		wrong("after unlock the range could not be locked (%d)", st);
		return OP_WRONG;
	}
	return 0;
}

/* ofd-lock FILE: open-file-description locks conflict within one process */
static int
op_ofd_lock(int argc, char **argv)
{
	struct flock fl;
	int a, b, e = 0;

	(void)argc;
	a = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (a < 0)
		return failed("open", argv[0]);
	b = open(argv[0], O_RDWR);
	if (b < 0) {
		e = failed("open", argv[0]);
		close(a);
		return e;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 10;
	if (fcntl(a, F_OFD_SETLK, &fl) < 0) {
		e = failed("fcntl(F_OFD_SETLK)", argv[0]);
		goto out;
	}
	fl.l_pid = 0;
	if (fcntl(b, F_OFD_SETLK, &fl) == 0) {
		wrong(
		    "second open file description got a conflicting OFD lock");
		e = OP_WRONG;
	} else if (errno != EAGAIN) {
		e = failed("fcntl(F_OFD_SETLK) on second fd", argv[0]);
	}
out:
	close(b);
	close(a);
	return e;
}

/* ---- directories -------------------------------------------------------- */

/* readdir-unlink DIR: unlink each entry while reading the directory (what
 * rm -r does); afterwards the directory must be empty. Prints the count. */
static int
op_readdir_unlink(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	long n = 0, left = 0;
	int dfd;

	(void)argc;
	d = opendir(argv[0]);
	if (d == NULL)
		return failed("opendir", argv[0]);
	dfd = dirfd(d);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0) {
			int e = failed("unlinkat", de->d_name);
			closedir(d);
			return e;
		}
		n++;
	}
	if (errno != 0) {
		int e = failed("readdir", argv[0]);
		closedir(d);
		return e;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			left++;
	}
	closedir(d);
	if (left != 0) {
		wrong("%ld entries left after unlinking %ld while reading",
		    left, n);
		return OP_WRONG;
	}
	printf("%ld\n", n);
	return 0;
}

/* ls-types DIR: "name type" per entry but . and .. (d_type as readdir
 * reports it), sorted; an unknown d_type is looked up with fstatat. */
static int
op_ls_types(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	char **lines = NULL, **nl;
	size_t n = 0, cap = 0, i, len;
	const char *t;
	struct stat st;
	int e = 0;

	(void)argc;
	d = opendir(argv[0]);
	if (d == NULL)
		return failed("opendir", argv[0]);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		switch (de->d_type) {
		case DT_REG: t = "reg"; break;
		case DT_DIR: t = "dir"; break;
		case DT_LNK: t = "lnk"; break;
		case DT_FIFO: t = "fifo"; break;
		case DT_SOCK: t = "sock"; break;
		case DT_CHR: t = "chr"; break;
		case DT_BLK: t = "blk"; break;
		default:
			if (fstatat(dirfd(d), de->d_name, &st,
			        AT_SYMLINK_NOFOLLOW) == 0)
				t = type_name(st.st_mode);
			else
				t = "?";
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nl = realloc(lines, cap * sizeof(*lines));
			if (nl == NULL) {
				e = ENOMEM;
				goto out;
			}
			lines = nl;
		}
		len = strlen(de->d_name) + strlen(t) + 3;
		lines[n] = malloc(len);
		if (lines[n] == NULL) {
			e = ENOMEM;
			goto out;
		}
		snprintf(lines[n], len, "%s %s", de->d_name, t);
		n++;
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (i = 0; i < n; i++)
		printf("%s\n", lines[i]);
out:
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	closedir(d);
	return e;
}

/* mkfiles DIR N [PER_DIR]: create N empty files, PER_DIR (default 1000)
 * to a subdirectory d00000, d00001, ... of DIR. */
static int
op_mkfiles(int argc, char **argv)
{
	long long n, per = 1000, i;
	char p[PATH_MAX];
	int fd, r;

	if ((r = parse_ll(argv[1], &n)) != 0)
		return r;
	if (argc > 2 && (r = parse_ll(argv[2], &per)) != 0)
		return r;
	if (per <= 0 || n < 0) {
		usage_err("N >= 0, PER_DIR > 0");
		return OP_USAGE;
	}
	if (mkdir(argv[0], 0755) < 0 && errno != EEXIST)
		return failed("mkdir", argv[0]);
	for (i = 0; i < n; i++) {
		if (i % per == 0) {
			snprintf(p, sizeof(p), "%s/d%05lld", argv[0], i / per);
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return failed("mkdir", p);
		}
		snprintf(p, sizeof(p), "%s/d%05lld/f%07lld", argv[0], i / per,
		    i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return failed("open", p);
		if (i % 97 == 0 && write_all(fd, p, strlen(p), -1) < 0) {
			r = failed("write", p);
			close(fd);
			return r;
		}
		if (close(fd) < 0)
			return failed("close", p);
	}
	return 0;
}

static int
op_fsync(int argc, char **argv)
{
	int fd, e = 0;
	struct stat st;

	(void)argc;
	if (stat(argv[0], &st) < 0)
		return failed("stat", argv[0]);
	fd = open(argv[0],
	    S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_WRONLY);
	if (fd < 0)
		return failed("open", argv[0]);
	if (fsync(fd) < 0)
		e = failed("fsync", argv[0]);
	else if (!S_ISDIR(st.st_mode) && fdatasync(fd) < 0)
		e = failed("fdatasync", argv[0]);
	close(fd);
	return e;
}

/* atomic-save FILE DATA: what editors do: write FILE.tmp~, fsync, rename
 * over FILE, fsync the directory. */
static int
op_atomic_save(int argc, char **argv)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd, e = 0;

	(void)argc;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp~", argv[0]) >=
	    sizeof(tmp)) {
		usage_err("path too long");
		return OP_USAGE;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return failed("open", tmp);
	if (write_all(fd, argv[1], strlen(argv[1]), -1) < 0) {
		e = failed("write", tmp);
		close(fd);
		return e;
	}
	if (fsync(fd) < 0) {
		e = failed("fsync", tmp);
		close(fd);
		return e;
	}
	if (close(fd) < 0)
		return failed("close", tmp);
	if (rename(tmp, argv[0]) < 0)
		return failed("rename", argv[0]);
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return failed("open", dir);
	if (fsync(fd) < 0)
		e = failed("fsync", dir);
	close(fd);
	return e;
}

static int
op_strerror(int argc, char **argv)
{
	int e;

	(void)argc;
	e = errno_parse(argv[0]);
	if (e < 0) {
		usage_err("unknown errno '%s'", argv[0]);
		return OP_USAGE;
	}
	printf("%s\n", strerror(e));
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

struct op {
	const char *name;
	int min_args, max_args;
	int (*fn)(int argc, char **argv);
	const char *args;
};

static const struct op ops[] = {
	{ "open", 2, 3, op_open, "PATH FLAGS[,FLAG...] [MODE]" },
	{ "write", 2, 2, op_write, "PATH DATA" },
	{ "cat", 1, 1, op_cat, "PATH" },
	{ "mkdir", 1, 2, op_mkdir, "PATH [MODE]" },
	{ "rmdir", 1, 1, op_rmdir, "PATH" },
	{ "unlink", 1, 1, op_unlink, "PATH" },
	{ "link", 2, 2, op_link, "OLD NEW" },
	{ "linkat-fd", 2, 2, op_linkat_fd, "SRC NEW" },
	{ "link-procfd", 2, 2, op_link_procfd, "SRC NEW" },
	{ "symlink", 2, 2, op_symlink, "TARGET PATH" },
	{ "readlink", 1, 1, op_readlink, "PATH" },
	{ "rename", 2, 2, op_rename, "OLD NEW" },
	{ "rename-noreplace", 2, 2, op_rename_noreplace, "OLD NEW" },
	{ "rename-exchange", 2, 2, op_rename_exchange, "A B" },
	{ "chmod", 2, 2, op_chmod, "PATH MODE" },
	{ "chown", 3, 3, op_chown, "PATH UID GID" },
	{ "lchown", 3, 3, op_lchown, "PATH UID GID" },
	{ "truncate", 2, 2, op_truncate, "PATH LEN" },
	{ "ftruncate", 2, 2, op_ftruncate, "PATH LEN" },
	{ "stat", 1, 1, op_stat, "PATH" }, { "lstat", 1, 1, op_lstat, "PATH" },
	{ "fstat", 1, 1, op_fstat, "PATH" },
	{ "access", 2, 2, op_access, "PATH rwxf" },
	{ "statfs", 1, 1, op_statfs, "PATH" },
	{ "utimens", 3, 4, op_utimens, "PATH ATIME MTIME [nofollow]" },
	{ "futimens", 3, 3, op_futimens, "PATH ATIME MTIME" },
	{ "setxattr", 3, 4, op_setxattr, "PATH NAME VALUE [create|replace]" },
	{ "getxattr", 2, 2, op_getxattr, "PATH NAME" },
	{ "getxattr-size", 2, 2, op_getxattr_size, "PATH NAME" },
	{ "listxattr", 1, 1, op_listxattr, "PATH" },
	{ "removexattr", 2, 2, op_removexattr, "PATH NAME" },
	{ "mknod-fifo", 1, 2, op_mknod_fifo, "PATH [MODE]" },
	{ "mknod-sock", 1, 2, op_mknod_sock, "PATH [MODE]" },
	{ "mknod-reg", 1, 1, op_mknod_reg, "PATH" },
	{ "mknod-chr", 3, 3, op_mknod_chr, "PATH MAJOR MINOR" },
	{ "fifo-rw", 1, 1, op_fifo_rw, "FIFO" },
	{ "sock-bind", 1, 1, op_sock_bind, "PATH" },
	{ "tmpfile", 1, 2, op_tmpfile, "DIR [LINKNAME]" },
	{ "odirect-rw", 1, 2, op_odirect_rw, "FILE [SIZE]" },
	{ "pattern-write", 3, 4, op_pattern_write, "FILE SIZE SEED [OFF]" },
	{ "pattern-check", 3, 4, op_pattern_check, "FILE SIZE SEED [OFF]" },
	{ "mmap-rw", 1, 2, op_mmap_rw, "FILE [SIZE]" },
	{ "unlinked-rw", 1, 1, op_unlinked_rw, "DIR" },
	{ "append", 2, 2, op_append, "FILE N" },
	{ "fallocate", 3, 4, op_fallocate, "FILE OFF LEN [keep]" },
	{ "punch-hole", 3, 3, op_punch_hole, "FILE OFF LEN" },
	{ "zero-range", 3, 3, op_zero_range, "FILE OFF LEN" },
	{ "seek-data", 2, 2, op_seek_data, "FILE OFF" },
	{ "seek-hole", 2, 2, op_seek_hole, "FILE OFF" },
	{ "copy-range", 2, 3, op_copy_range, "SRC DST [LEN]" },
	{ "flock", 1, 1, op_flock, "FILE" },
	{ "posix-lock", 1, 1, op_posix_lock, "FILE" },
	{ "ofd-lock", 1, 1, op_ofd_lock, "FILE" },
	{ "readdir-unlink", 1, 1, op_readdir_unlink, "DIR" },
	{ "ls-types", 1, 1, op_ls_types, "DIR" },
	{ "mkfiles", 2, 3, op_mkfiles, "DIR N [PER_DIR]" },
	{ "fsync", 1, 1, op_fsync, "PATH" },
	{ "atomic-save", 2, 2, op_atomic_save, "FILE DATA" },
	{ "strerror", 1, 1, op_strerror, "ENAME" }, { NULL, 0, 0, NULL, NULL }
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: %s OP ARGS...\n"
	    "       %s expect-errno ENAME[,ENAME...] OP ARGS...\n"
	    "operations:\n",
	    progname, progname);
	for (i = 0; ops[i].name != NULL; i++)
		fprintf(f, "  %-18s %s\n", ops[i].name, ops[i].args);
}

static int
run_op(int argc, char **argv)
{
	size_t i;
	int nargs = argc - 1, r;

	for (i = 0; ops[i].name != NULL; i++) {
		if (strcmp(ops[i].name, argv[0]) != 0)
			continue;
		cur_op = ops[i].name;
		if (nargs < ops[i].min_args || nargs > ops[i].max_args) {
			usage_err("%s %s", ops[i].name, ops[i].args);
			return OP_USAGE;
		}
		fail_what[0] = '\0';
		r = ops[i].fn(nargs, argv + 1);
		if (r > 0 && !quiet_errors)
			fprintf(stderr, "%s: %s: %s: %s (%s)\n", progname,
			    ops[i].name, fail_what, strerror(r), errno_name(r));
		return r;
	}
	fprintf(stderr, "%s: unknown operation '%s' (try: %s help)\n", progname,
	    argv[0], progname);
	return OP_USAGE;
}

static int
exit_code(int r)
{
	if (r == 0)
		return 0;
	if (r == OP_USAGE)
		return 2;
	return 1;
}

int
main(int argc, char **argv)
{
	int want[16];
	char list[256];
	char *tok, *save = NULL;
	size_t nwant = 0, i;
	int r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "expect-errno") != 0)
		return exit_code(run_op(argc - 1, argv + 1));

	if (argc < 4) {
		usage(stderr);
		return 2;
	}
	if (strlen(argv[2]) >= sizeof(list)) {
		fprintf(stderr, "%s: errno list too long\n", progname);
		return 2;
	}
	memcpy(list, argv[2], strlen(argv[2]) + 1);
	for (tok = strtok_r(list, ",|", &save); tok != NULL && nwant < 16;
	     tok = strtok_r(NULL, ",|", &save)) {
		want[nwant] = errno_parse(tok);
		if (want[nwant] < 0) {
			fprintf(stderr, "%s: unknown errno '%s'\n", progname,
			    tok);
			return 2;
		}
		nwant++;
	}
	quiet_errors = 1;
	r = run_op(argc - 3, argv + 3);
	if (r == OP_USAGE)
		return 2;
	for (i = 0; i < nwant; i++) {
		if (r == want[i])
			return 0;
	}
	if (r == 0)
		fprintf(stderr, "%s: %s: expected %s, but it succeeded\n",
		    progname, argv[3], argv[2]);
	else if (r == OP_WRONG)
		fprintf(stderr,
		    "%s: %s: expected %s, but the scenario failed "
		    "(see above)\n",
		    progname, argv[3], argv[2]);
	else
		fprintf(stderr, "%s: %s: expected %s, got %s (%s) from %s\n",
		    progname, argv[3], argv[2], errno_name(r), strerror(r),
		    fail_what);
	return 1;
}
