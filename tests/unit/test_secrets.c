/*
 * test_secrets.c - the secret providers (src/core/secrets.c) on real
 * files: a Kubernetes-style Secret volume (KEY -> ..data/KEY, ..data ->
 * a timestamped directory), symlinks that leave the directory, files too
 * large, FIFOs, directories, loops; the env provider; workspace
 * filtering; fail-closed calls; errors that never show a value.  Every
 * file case runs twice: with openat2(RESOLVE_BENEATH) and with the
 * portable walk used where openat2 is missing.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/secrets.h"
#include "tap.h"

static char top[256]; /* temp dir: top/dir is [secrets] dir */

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
put(const char *rel, const void *data, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n || close(fd) != 0)
		die(path);
}

static void
link_(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (symlink(target, path) != 0)
		die(path);
}

static void
mkdir_(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (mkdir(path, 0700) != 0)
		die(path);
}

static void
setup(void)
{
	char path[512], *big;

	snprintf(top, sizeof(top), "%s/sn-secrets.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	mkdir_("dir");
	mkdir_("outside");
	put("outside/x", "OUTSIDE-VALUE\n", 14);
	/* the Kubernetes layout */
	mkdir_("dir/..2024_01_01_00_00_00.1");
	put("dir/..2024_01_01_00_00_00.1/TOKEN", "k8s-token-1\n", 12);
	put("dir/..2024_01_01_00_00_00.1/RAW", "raw\n\n", 5);
	link_("..2024_01_01_00_00_00.1", "dir/..data");
	link_("..data/TOKEN", "dir/TOKEN");
	link_("..data/RAW", "dir/RAW");
	/* inside, the long way round */
	mkdir_("dir/sub");
	link_("sub/../..data/TOKEN", "dir/updown");
	link_("./sub/../TOKEN", "dir/chain");
	/* escapes */
	link_("../outside/x", "dir/escape");
	link_("sub/../../outside/x", "dir/sneaky");
	snprintf(path, sizeof(path), "%s/outside/x", top);
	link_(path, "dir/absolute");
	link_("..data/../../outside/x", "dir/viadata");
	link_("loop", "dir/loop");
	/* bad files */
	if ((big = malloc(SECRETS_FILE_MAX + 1)) == NULL)
		die("malloc");
	memset(big, 'b', SECRETS_FILE_MAX + 1);
	put("dir/big", big, SECRETS_FILE_MAX + 1);
	put("dir/exact", big, SECRETS_FILE_MAX); /* the limit itself */
	big[SECRETS_FILE_MAX] = '\n';
	put("dir/exactnl", big, SECRETS_FILE_MAX + 1); /* limit + newline */
	free(big);
	put("dir/empty", "", 0);
	put("dir/newline", "\n", 1);
	put("dir/nul", "a\0b", 3);
	snprintf(path, sizeof(path), "%s/dir/fifo", top);
	if (mkfifo(path, 0600) != 0)
		die("mkfifo");
	put("dir/plain", "plain-value", 11);
}

static void
rm_rf(void)
{
	char cmd[600];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s", top);
	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static struct sn_config *cfg_of(const char *fmtx, ...)
    __attribute__((format(printf, 1, 2)));

static struct sn_config *
cfg_of(const char *fmtx, ...)
{
	struct sn_config *cfg = NULL;
	char text[4096], err[512];
	va_list ap;

	va_start(ap, fmtx);
	vsnprintf(text, sizeof(text), fmtx, ap);
	va_end(ap);
	if (config_parse(text, strlen(text), "t.conf", &cfg, err,
	        sizeof(err)) != 0) {
		diag("config: %s", err);
		return NULL;
	}
	return cfg;
}

/*
 * One file secret KEY for workspace w: want rc; on success the value
 * want[0..wantlen); on failure err must hold why and never a value.
 */
static void
file_case(const char *key, int want_rc, const char *want, size_t wantlen,
    const char *why, const char *mode)
{
	struct sn_config *cfg;
	struct secret_store *s = NULL;
	struct secret_value *v = (struct secret_value *)1;
	char err[512];
	size_t n = 99;
	int rc;

	cfg = cfg_of("[secrets]\ndir = %s/dir\n"
	             "[secret \"S\"]\nprovider = file\nkey = %s\n"
	             "workspaces = w\n",
	    top, key);
	if (!ok(cfg != NULL, "%s: config for %s", mode, key))
		return;
	rc = secrets_open(cfg, &s, err, sizeof(err));
	config_free(cfg);
	if (!ok(rc == 0, "%s: open for %s", mode, key)) {
		diag("%s", err);
		return;
	}
	rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
	if (want_rc == 0) {
		if (ok(rc == 0 && n == 1 && v != NULL, "%s: %s read", mode,
		        key)) {
			ok(strcmp(v[0].name, "S") == 0 && v[0].len == wantlen &&
			        memcmp(v[0].value, want, wantlen) == 0 &&
			        v[0].value[wantlen] == '\0',
			    "%s: %s: the value, NUL-terminated", mode, key);
		} else
			diag("rc=%d err=%s", rc, err);
		secrets_free_values(v, n);
	} else {
		ok(rc == want_rc && v == NULL && n == 0,
		    "%s: %s refused (rc %d, want %d)", mode, key, rc, want_rc);
		has_str(err, why, "%s: %s: the reason", mode, key);
		has_str(err, "secret S (file)", "%s: %s: names the secret",
		    mode, key);
		ok(strstr(err, "OUTSIDE") == NULL &&
		        strstr(err, "bbbb") == NULL,
		    "%s: %s: no value in the message", mode, key);
	}
	secrets_close(s);
}

static void
test_files(const char *mode)
{
	static char exact[SECRETS_FILE_MAX];

	memset(exact, 'b', sizeof(exact));
	file_case("TOKEN", 0, "k8s-token-1", 11, NULL, mode);
	file_case("RAW", 0, "raw\n", 4, NULL, mode);
	file_case("plain", 0, "plain-value", 11, NULL, mode);
	file_case("updown", 0, "k8s-token-1", 11, NULL, mode);
	file_case("chain", 0, "k8s-token-1", 11, NULL, mode);
	file_case("exact", 0, exact, sizeof(exact), NULL, mode);
	file_case("exactnl", SN_ERANGE, NULL, 0, "larger than 64 KiB", mode);
	file_case("escape", SN_EPERM, NULL, 0, "outside", mode);
	file_case("sneaky", SN_EPERM, NULL, 0, "outside", mode);
	file_case("absolute", SN_EPERM, NULL, 0, "outside", mode);
	file_case("viadata", SN_EPERM, NULL, 0, "outside", mode);
	file_case("big", SN_ERANGE, NULL, 0, "larger than 64 KiB", mode);
	file_case("missing", SN_ENOENT, NULL, 0, "no such file", mode);
	file_case("loop", SN_EIO, NULL, 0, "cannot open", mode);
	file_case("fifo", SN_EINVAL, NULL, 0, "not a regular file", mode);
	file_case("sub", SN_EINVAL, NULL, 0, "not a regular file", mode);
	file_case("empty", SN_EINVAL, NULL, 0, "empty", mode);
	file_case("newline", SN_EINVAL, NULL, 0, "empty", mode);
	file_case("nul", SN_EINVAL, NULL, 0, "NUL byte", mode);
}

/* A rotated Kubernetes Secret: ..data swapped; the next call sees it. */
static void
test_rotation(void)
{
	struct sn_config *cfg;
	struct secret_store *s = NULL;
	struct secret_value *v = NULL;
	char err[512], from[512], to[512];
	size_t n = 0;

	cfg = cfg_of("[secrets]\ndir = %s/dir\n[secret \"T\"]\nprovider = "
	             "file\nkey = TOKEN\nworkspaces = *\n",
	    top);
	if (cfg == NULL || secrets_open(cfg, &s, err, sizeof(err)) != 0) {
		ok(0, "rotation: open");
		config_free(cfg);
		return;
	}
	config_free(cfg);
	mkdir_("dir/..2024_02_02_00_00_00.2");
	put("dir/..2024_02_02_00_00_00.2/TOKEN", "k8s-token-2\n", 12);
	link_("..2024_02_02_00_00_00.2", "dir/..data_tmp");
	snprintf(from, sizeof(from), "%s/dir/..data_tmp", top);
	snprintf(to, sizeof(to), "%s/dir/..data", top);
	if (rename(from, to) != 0)
		die("rename");
	if (ok(secrets_for_exec(s, "any", &v, &n, err, sizeof(err)) == 0 &&
	            n == 1,
	        "rotation: read after the swap"))
		ok(v[0].len == 11 && memcmp(v[0].value, "k8s-token-2", 11) == 0,
		    "rotation: the new value");
	secrets_free_values(v, n);
	secrets_close(s);
}

static void
test_env(void)
{
	struct sn_config *cfg;
	struct secret_store *s = NULL;
	struct secret_value *v = NULL;
	char err[512];
	size_t n = 0;
	int rc;

	setenv("SN_TEST_SECRET_ENV", "env-value-1", 1);
	cfg =
	    cfg_of("[secret \"E\"]\nprovider = env\nkey = SN_TEST_SECRET_ENV\n"
	           "workspaces = w\n");
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (!ok(rc == 0, "env: open"))
		return;
	setenv("SN_TEST_SECRET_ENV", "changed-later", 1);
	rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
	ok(rc == 0 && n == 1 && v[0].len == 11 &&
	        memcmp(v[0].value, "env-value-1", 12) == 0,
	    "env: the value as it was at open");
	secrets_free_values(v, n);
	secrets_close(s);

	unsetenv("SN_TEST_SECRET_ENV");
	cfg =
	    cfg_of("[secret \"E\"]\nprovider = env\nkey = SN_TEST_SECRET_ENV\n"
	           "workspaces = w\n");
	s = (struct secret_store *)1;
	rc = secrets_open(cfg, &s, err, sizeof(err));
	ok(rc == SN_ENOENT && s == NULL, "env: unset variable fails open");
	has_str(err, "secret E (env): SN_TEST_SECRET_ENV is not set",
	    "env: why");
	config_free(cfg);

	setenv("SN_TEST_SECRET_ENV", "", 1);
	cfg =
	    cfg_of("[secret \"E\"]\nprovider = env\nkey = SN_TEST_SECRET_ENV\n"
	           "workspaces = w\n");
	rc = secrets_open(cfg, &s, err, sizeof(err));
	ok(rc == SN_EINVAL && s == NULL, "env: empty variable fails open");
	has_str(err, "empty", "env: empty: why");
	config_free(cfg);
}

static void
want_names(struct secret_store *s, const char *ws, const char *want)
{
	struct secret_value *v = (struct secret_value *)1;
	char err[512], got[256] = "";
	size_t n = 99, i;
	int rc;

	rc = secrets_for_exec(s, ws, &v, &n, err, sizeof(err));
	for (i = 0; rc == 0 && i < n; i++) {
		if (strlen(got) + strlen(v[i].name) + 2 < sizeof(got)) {
			if (i > 0)
				memcpy(got + strlen(got), ",", 2);
			memcpy(got + strlen(got), v[i].name,
			    strlen(v[i].name) + 1);
		}
	}
	if (!ok(rc == 0 && strcmp(got, want) == 0 && (n > 0 || v == NULL),
	        "workspace %s gets [%s]", ws, want))
		diag("rc=%d got [%s] err=%s", rc, got, err);
	secrets_free_values(v, n);
}

static void
test_filter(void)
{
	struct sn_config *cfg;
	struct secret_store *s = NULL;
	struct secret_value *v = (struct secret_value *)1;
	char err[512];
	size_t n = 99;
	int rc;

	setenv("SN_TEST_A", "aaaa", 1);
	cfg = cfg_of("[secrets]\ndir = %s/dir\n"
	             "[secret \"ALL\"]\nprovider = env\nkey = SN_TEST_A\n"
	             "workspaces = *\n"
	             "[secret \"W12\"]\nprovider = file\nkey = plain\n"
	             "workspaces = w1, w2\n"
	             "[secret \"W3\"]\nprovider = file\nkey = TOKEN\n"
	             "workspaces = w3\nworkspaces = w4\n"
	             "[secret \"BROKEN\"]\nprovider = file\nkey = missing\n"
	             "workspaces = w5\n",
	    top);
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (!ok(rc == 0, "filter: open"))
		return;
	want_names(s, "w1", "ALL,W12");
	want_names(s, "w2", "ALL,W12");
	want_names(s, "w3", "ALL,W3");
	want_names(s, "w4", "ALL,W3");
	want_names(s, "w", "ALL");
	want_names(s, "w12", "ALL");
	/* a failing provider fails the whole call */
	rc = secrets_for_exec(s, "w5", &v, &n, err, sizeof(err));
	ok(rc == SN_ENOENT && v == NULL && n == 0,
	    "fail closed: one missing secret, nothing returned");
	has_str(err, "secret BROKEN (file): missing", "fail closed: why");
	ok(secrets_for_exec(s, NULL, &v, &n, err, sizeof(err)) == SN_EINVAL,
	    "NULL workspace");
	secrets_close(s);

	cfg = cfg_of("[secret \"ONLY\"]\nprovider = env\nkey = SN_TEST_A\n"
	             "workspaces = x\n");
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (ok(rc == 0, "filter: open 2")) {
		v = (struct secret_value *)1;
		rc = secrets_for_exec(s, "y", &v, &n, err, sizeof(err));
		ok(rc == 0 && v == NULL && n == 0, "no secret: NULL, 0");
		secrets_close(s);
	}
	/* no secrets at all: an empty store */
	cfg = cfg_of("[workspace \"w\"]\n");
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (ok(rc == 0, "empty store")) {
		rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
		ok(rc == 0 && n == 0, "empty store: nothing");
		secrets_close(s);
	}
	secrets_close(NULL);
	secrets_free_values(NULL, 3);
}

static void
test_open_errors(void)
{
	struct sn_config *cfg;
	struct secret_store *s = NULL;
	struct secret_value *v = NULL;
	char err[512];
	size_t n = 0;
	int rc;

	cfg = cfg_of("[secrets]\ndir = %s/nonexistent\n", top);
	rc = secrets_open(cfg, &s, err, sizeof(err));
	ok(rc != 0 && s == NULL, "a missing dir fails open");
	has_str(err, "[secrets] dir", "missing dir: why");
	config_free(cfg);

	/* Vault down (nothing listens on port 1): names secret and
	 * provider, never the token */
	put("token", "hvs.TOPSECRETTOKEN\n", 19);
	cfg = cfg_of("[secrets]\nvault_addr = http://127.0.0.1:1\n"
	             "vault_token_file = %s/token\n"
	             "[secret \"V\"]\nprovider = vault\nkey = app/db#pw\n"
	             "workspaces = *\n",
	    top);
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (ok(rc == 0, "vault: open (nothing is fetched yet)")) {
		rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
		ok(rc != 0 && v == NULL && n == 0, "vault down: fails");
		has_str(err, "secret V (vault): GET app/db", "vault down: why");
		ok(strstr(err, "TOPSECRET") == NULL, "vault down: no token");
		secrets_close(s);
	}
	cfg = cfg_of("[secrets]\nvault_addr = http://127.0.0.1:1\n"
	             "vault_token_file = %s/notoken\n"
	             "[secret \"V\"]\nprovider = vault\nkey = app/db#pw\n"
	             "workspaces = *\n",
	    top);
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (ok(rc == 0, "vault: open without a token file")) {
		rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
		ok(rc == SN_EIO, "no token file: fails");
		has_str(err, "secret V (vault): cannot open vault_token_file",
		    "no token file: why");
		secrets_close(s);
	}
	put("token", "two words\n", 10);
	cfg = cfg_of("[secrets]\nvault_addr = http://127.0.0.1:1\n"
	             "vault_token_file = %s/token\n"
	             "[secret \"V\"]\nprovider = vault\nkey = app/db#pw\n"
	             "workspaces = *\n",
	    top);
	rc = cfg != NULL ? secrets_open(cfg, &s, err, sizeof(err)) : -1;
	config_free(cfg);
	if (ok(rc == 0, "vault: open with a bad token file")) {
		rc = secrets_for_exec(s, "w", &v, &n, err, sizeof(err));
		ok(rc == SN_EINVAL, "a token with a blank (header injection)");
		has_str(err, "holds no token", "bad token: why");
		ok(strstr(err, "words") == NULL, "bad token: not shown");
		secrets_close(s);
	}
}

int
main(void)
{
	setup();
	test_files("openat2");
	secrets_test_force_walk(1);
	test_files("walk");
	secrets_test_force_walk(0);
	test_rotation();
	test_env();
	test_filter();
	test_open_errors();
	rm_rf();
	return done_testing();
}
