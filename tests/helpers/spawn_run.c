/*
 * spawn_run - a command-line driver of src/exec/spawn (tests, bench/exec).
 *
 *   spawn_run --ws DIR [--uid N] [--gid N] [--cwd REL] [--rootfs DIR]
 *             [--hide PATH]... [--net] [--cpu F] [--mem BYTES[K|M|G]]
 *             [--pids N] [--timeout MS] [--cgroup NAME] [--stdin TEXT]
 *             [--env K=V]... [--result FILE] [--repeat N] -- ARGV...
 *
 * The command's stdout and stderr are copied to ours as they arrive.  The
 * result is written as key=value lines (rc, err, exited, exit_code,
 * signal, limit, wall_s, user_s, sys_s, peak_memory, cgroup) to FILE, or
 * to stderr.  Without --env the environment is PATH=/usr/bin:/bin only.
 * --repeat N runs the command N times (output discarded) and prints the
 * latency of each call as p50/p90/p99/max in microseconds.
 * Exit status: 0 if spawn_run returned 0, 1 if not, 2 on usage errors.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "exec/spawn.h"

#define MAXLIST 64

static int
sink(void *arg, int stream, const char *buf, size_t n)
{
	(void)arg;
	if (write(stream == 1 ? 1 : 2, buf, n) < 0)
		return 1;
	return 0;
}

static int
sink_null(void *arg, int stream, const char *buf, size_t n)
{
	(void)arg;
	(void)stream;
	(void)buf;
	(void)n;
	return 0;
}

static int
num(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	switch (*end) {
	case 'K':
	case 'k':
		*v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		*v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		*v <<= 30;
		end++;
		break;
	default: break;
	}
	return *end == '\0' ? 0 : -1;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: spawn_run --ws DIR [options] -- ARGV...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct spawn_opts o;
	struct spawn_result r;
	const char *hide[MAXLIST + 1];
	char *env[MAXLIST + 1];
	const char *result = NULL;
	char err[512];
	unsigned long long v, repeat = 0;
	int i, nh = 0, ne = 0, rc;
	FILE *f;

	memset(&o, 0, sizeof(o));
	o.uid = 65534;
	o.gid = 65534;
	o.cgroup_name = "test";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--net") == 0) {
			o.network = 1;
			continue;
		}
		if (n == NULL)
			usage();
		i++;
		if (strcmp(a, "--ws") == 0) {
			o.workspace = n;
		} else if (strcmp(a, "--cwd") == 0) {
			o.cwd = n;
		} else if (strcmp(a, "--rootfs") == 0) {
			o.rootfs = n;
		} else if (strcmp(a, "--cgroup") == 0) {
			o.cgroup_name = n;
		} else if (strcmp(a, "--result") == 0) {
			result = n;
		} else if (strcmp(a, "--stdin") == 0) {
			o.stdin_data = n;
			o.stdin_len = strlen(n);
		} else if (strcmp(a, "--hide") == 0 && nh < MAXLIST) {
			hide[nh++] = n;
		} else if (strcmp(a, "--env") == 0 && ne < MAXLIST) {
			env[ne++] = argv[i];
		} else if (strcmp(a, "--cpu") == 0) {
			o.lim.cpu = strtod(n, NULL);
		} else if (num(n, &v) < 0) {
			usage();
		} else if (strcmp(a, "--uid") == 0) {
			o.uid = (uid_t)v;
		} else if (strcmp(a, "--gid") == 0) {
			o.gid = (gid_t)v;
		} else if (strcmp(a, "--mem") == 0) {
			o.lim.memory = v;
		} else if (strcmp(a, "--pids") == 0) {
			o.lim.pids = (unsigned)v;
		} else if (strcmp(a, "--timeout") == 0) {
			o.lim.timeout_ms = (unsigned)v;
		} else if (strcmp(a, "--repeat") == 0) {
			repeat = v;
		} else {
			usage();
		}
	}
	if (i >= argc || o.workspace == NULL)
		usage();
	hide[nh] = NULL;
	if (ne == 0)
		env[ne++] = "PATH=/usr/bin:/bin";
	env[ne] = NULL;
	o.argv = argv + i;
	o.envp = env;
	o.hide = hide;
	o.sink = repeat > 0 ? sink_null : sink;

	rc = spawn_init(err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "spawn_init: %s (%s)\n", err, err_str(rc));
		return 1;
	}
	if (repeat > 0) {
		double *lat = calloc(repeat, sizeof(double));
		struct timespec a, b;
		unsigned long long k;

		if (lat == NULL)
			return 1;
		for (k = 0; k < repeat; k++) {
			clock_gettime(CLOCK_MONOTONIC, &a);
			rc = spawn_run(&o, &r, err, sizeof(err));
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (rc < 0 || !r.exited || r.exit_code != 0) {
				fprintf(stderr, "call %llu: rc=%d %s exit=%d\n",
				    k, rc, err, r.exit_code);
				free(lat);
				return 1;
			}
			lat[k] = (double)(b.tv_sec - a.tv_sec) * 1e6 +
			    (double)(b.tv_nsec - a.tv_nsec) / 1e3;
		}
		qsort(lat, repeat, sizeof(double), cmp_d);
		printf("calls=%llu p50_us=%.0f p90_us=%.0f p99_us=%.0f "
		       "max_us=%.0f\n",
		    repeat, lat[repeat / 2], lat[repeat * 90 / 100],
		    lat[repeat * 99 / 100], lat[repeat - 1]);
		free(lat);
		return 0;
	}
	rc = spawn_run(&o, &r, err, sizeof(err));
	f = result != NULL ? fopen(result, "we") : stderr;
	if (f == NULL) {
		perror(result);
		return 2;
	}
	fprintf(f,
	    "rc=%d\nerr=%s\nexited=%d\nexit_code=%d\nsignal=%d\nlimit=%s\n"
	    "wall_s=%.3f\nuser_s=%.3f\nsys_s=%.3f\npeak_memory=%llu\n"
	    "cgroup=%d\n",
	    rc, err, r.exited, r.exit_code, r.signal,
	    r.limit != NULL ? r.limit : "", r.wall_s, r.user_s, r.sys_s,
	    (unsigned long long)r.peak_memory, spawn_cgroup_version());
	if (f != stderr)
		fclose(f);
	return rc == 0 ? 0 : 1;
}
