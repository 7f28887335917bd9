/*
 * bench/audit.c - audit pipeline throughput: events committed per second.
 *
 *   bench/audit [-t THREADS] [-n EVENTS] [-d DIR]
 *
 * Runs, each on a fresh database under DIR (default
 * /var/tmp/sentinel-bench-audit, removed afterwards):
 *
 *   baseline   1 producer, every event waits for its commit (so one
 *              transaction per event: what a naive design costs)
 *   wait=1     THREADS producers (default 8), every event waits
 *   wait=0     THREADS producers, every event is only queued
 *   mixed      THREADS producers, every other event waits (the FUSE mix:
 *              changes wait, opens do not)
 *   verify     audit_verify() of the mixed trail
 *
 * and prints events/s for each, and the ratio to the baseline.  EVENTS
 * (default 200000) are split between the producers; the baseline runs
 * EVENTS/10.  It is a measurement, not a test: it never fails on a
 * timing, and it is not part of `make check`.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/err.h"
#include "core/log.h"

static const unsigned char key[AUDIT_KEY_LEN] =
    "bench key: not a secret at all.";

struct job {
	struct audit *a;
	int id;
	long n;
	int mode; /* 0: wait=0, 1: wait=1, 2: every other waits */
	int fails;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
produce(void *arg)
{
	struct job *j = arg;
	struct audit_event e;
	char path[96];
	long i;
	int wait;

	memset(&e, 0, sizeof(e));
	e.workspace = "bench";
	e.agent = "agent-007";
	e.source = AUDIT_SRC_FS;
	e.result = AUDIT_RES_OK;
	e.path = path;
	for (i = 0; i < j->n; i++) {
		snprintf(path, sizeof(path), "src/module%d/file%ld.c", j->id,
		    i % 1000);
		wait = j->mode == 2 ? (int)(i & 1) : j->mode;
		e.op = wait ? "write" : "open";
		e.bytes = wait ? 4096 : 0;
		if (audit_emit(j->a, &e, wait) != 0)
			j->fails++;
	}
	return NULL;
}

/* One run; events/s committed (including the final drain), or -1. */
static double
run(const char *dir, const char *name, int threads, long events, int mode)
{
	char db[512], head[512];
	struct job *jobs;
	pthread_t *th;
	struct audit *a;
	struct audit_stats st;
	double t0, t1;
	int i, fails = 0;

	snprintf(db, sizeof(db), "%s/%s.db", dir, name);
	snprintf(head, sizeof(head), "%s/%s.head", dir, name);
	if (audit_open(db, head, key, sizeof(key), 0, &a) < 0) {
		fprintf(stderr, "bench/audit: cannot open %s\n", db);
		return -1;
	}
	jobs = calloc((size_t)threads, sizeof(*jobs));
	th = calloc((size_t)threads, sizeof(*th));
	if (jobs == NULL || th == NULL)
		abort();
	t0 = now_s();
	for (i = 0; i < threads; i++) {
		jobs[i].a = a;
		jobs[i].id = i;
		jobs[i].n = events / threads;
		jobs[i].mode = mode;
		pthread_create(&th[i], NULL, produce, &jobs[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		fails += jobs[i].fails;
	}
	audit_stats(a, &st);
	audit_close(a); /* drains what is still queued */
	t1 = now_s();
	free(jobs);
	free(th);
	if (fails > 0)
		fprintf(stderr, "bench/audit: %d emits failed\n", fails);
	printf("%-10s %3d thr %8ld events %8.3f s %10.0f events/s  "
	       "(%" PRIu64 " transactions before close, %.1f events each)\n",
	    name, threads, (events / threads) * threads, t1 - t0,
	    (double)((events / threads) * threads) / (t1 - t0), st.batches,
	    st.batches ? (double)st.committed / (double)st.batches : 0.0);
	return (double)((events / threads) * threads) / (t1 - t0);
}

int
main(int argc, char **argv)
{
	const char *dir = "/var/tmp/sentinel-bench-audit";
	struct audit_verify_report rep;
	char db[512], head[512];
	long events = 200000, v;
	int threads = 8, c, r;
	double base, w1, w0, mix, t0, t1;
	pid_t pid;

	while ((c = getopt(argc, argv, "t:n:d:h")) != -1) {
		switch (c) {
		case 't':
		case 'n':
			errno = 0;
			v = strtol(optarg, NULL, 10);
			if (errno != 0 || v <= 0 || v > 100000000) {
				fprintf(stderr, "bench/audit: bad -%c\n", c);
				return 2;
			}
			if (c == 't')
				threads = (int)(v > 1024 ? 1024 : v);
			else
				events = v;
			break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr,
			    "usage: bench/audit [-t THREADS] [-n EVENTS] "
			    "[-d DIR]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	log_set_level(LOG_LVL_ERROR);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench/audit: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	base = run(dir, "baseline", 1, events / 10 > 0 ? events / 10 : 1, 1);
	w1 = run(dir, "wait=1", threads, events, 1);
	w0 = run(dir, "wait=0", threads, events, 0);
	mix = run(dir, "mixed", threads, events, 2);
	snprintf(db, sizeof(db), "%s/mixed.db", dir);
	snprintf(head, sizeof(head), "%s/mixed.head", dir);
	t0 = now_s();
	r = audit_verify(db, head, key, sizeof(key), &rep);
	t1 = now_s();
	printf("%-10s %8" PRIu64 " events %8.3f s %10.0f events/s  (%s)\n",
	    "verify", rep.events, t1 - t0, (double)rep.events / (t1 - t0),
	    r == 0 ? "ok" : "BROKEN");
	if (base > 0)
		printf("\nratio to the baseline (1 thread, 1 commit per "
		       "event): wait=1 %.1fx, wait=0 %.1fx, mixed %.1fx\n",
		    w1 / base, w0 / base, mix / base);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return 0;
}
