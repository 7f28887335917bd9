/*
 * api_load.c - a load generator for an HTTP(S) API: C concurrent clients
 * (threads) make N requests in total (or as many as they can for S
 * seconds) against one URL, and it prints throughput and latency.
 *
 *   api_load --url URL [--method GET|POST] [--body STRING | --body-file F]
 *            [--cert F --key F] [--cacert F] [-c CLIENTS]
 *            [-n TOTAL | --duration S] [--expect STATUS] [--timeout S]
 *            [--max-samples K] [--json]
 *
 *   --url URL         the one URL every request goes to
 *   --method M        GET (default) or POST
 *   --body S          request body (Content-Type: application/json); with
 *   --body-file F     --body-file, the contents of F (at most 64 MiB).
 *                     A body implies POST when --method is not given
 *   --cert F --key F  client certificate and key (PEM), for mutual TLS
 *   --cacert F        CA bundle that verifies the server (PEM); peer and
 *                     host name verification are always on
 *   -c CLIENTS        concurrent clients, one thread each (default 1, at
 *                     most 1024)
 *   -n TOTAL          requests in total, over all clients (default 1000)
 *   --duration S      instead of -n: run for S seconds (decimals allowed)
 *   --expect STATUS   the HTTP status every reply must have (default 200)
 *   --timeout S       per-request timeout in seconds (default 30)
 *   --max-samples K   latencies kept (default 16777216, 4 bytes each); past
 *                     K requests a uniform random sample of K is kept
 *                     (reservoir sampling) and max stays exact
 *   --json            one JSON object on stdout instead of the table
 *
 * Each client owns one libcurl easy handle for the whole run, speaking
 * HTTP/1.1, so its connection (and TLS session) is kept alive and reused;
 * "connections" in the output counts the connections actually opened, so
 * a server that closes keep-alive connections shows up there.  A request's
 * latency is the wall time of curl_easy_perform(), connection set-up
 * included when the request had to open one.
 *
 * An error is a transport error or a reply with another status than
 * --expect; the first few distinct ones are printed on stderr (and in the
 * JSON) with how often each happened.
 *
 * Output: requests, errors, connections, bytes (reply bodies), elapsed
 * seconds, requests/s, latency p50/p90/p99/max in microseconds
 * (nearest-rank percentiles of every latency, sorted at the end).
 *
 * Exit: 0 no error; 1 at least one error; 2 usage or setup error.
 * Memory: the body, one 4-byte slot per kept latency, and per client a
 * curl handle: bounded by --max-samples, whatever -n or --duration.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define ME              "api_load"
#define MAX_CLIENTS     1024
#define MAX_BODY        (64u << 20)
#define DEF_MAX_SAMPLES (16u << 20)
#define MAX_DISTINCT    5   /* distinct errors remembered */
#define ERR_LEN         320 /* one error's text */
#define SNIPPET_LEN     160 /* bytes of an unexpected reply kept */

/* The run's parameters, read-only once the clients start. */
struct opts {
	const char *url;
	int post;
	char *body; /* owned; NULL: no body */
	size_t body_len;
	const char *cert, *key, *cacert;
	unsigned clients;
	uint64_t total;  /* 0 with duration */
	double duration; /* seconds; 0 with total */
	long expect;
	long timeout;
	uint64_t max_samples;
	int json;
};

/* One distinct error and how many times it happened. */
struct err_seen {
	char text[ERR_LEN];
	uint64_t count;
};

/*
 * Shared state.  The clients make their handles, then wait at the gate
 * (gate_mu) until main says go, so the clock starts with every client
 * ready.  next is claimed with atomic adds, one per request; samples[]
 * slots are written with atomic stores (two clients may pick the same
 * reservoir slot: one wins); errors and the errs table are under err_mu.
 * The two locks are never held together.  Everything else is written
 * before the clients start or after they are joined.
 */
struct run {
	const struct opts *o;
	struct curl_slist *hdrs;
	uint64_t next;     /* atomic: next request index */
	uint32_t *samples; /* latency in us, min(total, max_samples) slots */
	uint64_t nslots;
	struct timespec deadline; /* duration mode; set before go */
	pthread_mutex_t gate_mu;
	pthread_cond_t gate_cv;
	unsigned ready; /* gate_mu: clients with their handle made */
	int go;         /* gate_mu: 1 start, -1 give up */
	pthread_mutex_t err_mu;
	uint64_t errors;                    /* err_mu */
	struct err_seen errs[MAX_DISTINCT]; /* err_mu */
	unsigned nerrs;                     /* err_mu */
	uint64_t errs_other;                /* err_mu: not in errs[] */
};

/* One client: its handle and what it measured. */
struct client {
	struct run *run;
	pthread_t tid;
	unsigned id;
	uint64_t rng;
	uint64_t max_us;
	uint64_t bytes;
	long connects;
	int setup_failed;
	char errbuf[CURL_ERROR_SIZE];
	char snippet[SNIPPET_LEN]; /* start of the current reply body */
	size_t snip_len;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " ME " --url URL [--method GET|POST] [--body S | "
	    "--body-file F]\n"
	    "       [--cert F --key F] [--cacert F] [-c CLIENTS] "
	    "[-n TOTAL | --duration S]\n"
	    "       [--expect STATUS] [--timeout S] [--max-samples K] "
	    "[--json]\n");
	exit(2);
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, ME ": %s%s%s\n", what, detail ? ": " : "",
	    detail ? detail : "");
	exit(2);
}

/* Decimal unsigned in [lo, hi] -> 0, or -1. */
static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	*out = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Reads all of PATH (at most MAX_BODY bytes) into a new buffer. */
static int
read_file(const char *path, char **out, size_t *out_len)
{
	FILE *f = NULL;
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;
	int r = -1;

	*out = NULL;
	*out_len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	for (;;) {
		if (len == cap) {
			if (cap >= MAX_BODY) {
				errno = EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap + 1);
			if (nb == NULL)
				goto out;
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		errno = EIO;
		goto out;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		goto out;
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return r;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_URL = 256,
		O_METHOD,
		O_BODY,
		O_BODY_FILE,
		O_CERT,
		O_KEY,
		O_CACERT,
		O_EXPECT,
		O_DURATION,
		O_TIMEOUT,
		O_MAX_SAMPLES,
		O_JSON,
	};
	static const struct option lopts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "method", required_argument, NULL, O_METHOD },
		{ "body", required_argument, NULL, O_BODY },
		{ "body-file", required_argument, NULL, O_BODY_FILE },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "cacert", required_argument, NULL, O_CACERT },
		{ "expect", required_argument, NULL, O_EXPECT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "max-samples", required_argument, NULL, O_MAX_SAMPLES },
		{ "json", no_argument, NULL, O_JSON },
		{ "clients", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *method = NULL, *body_file = NULL, *body = NULL;
	uint64_t v;
	char *end;
	int c, have_n = 0;

	memset(o, 0, sizeof(*o));
	o->clients = 1;
	o->total = 1000;
	o->expect = 200;
	o->timeout = 30;
	o->max_samples = DEF_MAX_SAMPLES;
	while ((c = getopt_long(argc, argv, "c:n:h", lopts, NULL)) != -1) {
		switch (c) {
		case O_URL: o->url = optarg; break;
		case O_METHOD: method = optarg; break;
		case O_BODY: body = optarg; break;
		case O_BODY_FILE: body_file = optarg; break;
		case O_CERT: o->cert = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_CACERT: o->cacert = optarg; break;
		case O_JSON: o->json = 1; break;
		case 'c':
			if (parse_u64(optarg, 1, MAX_CLIENTS, &v) != 0)
				die("-c: want 1..1024", optarg);
			o->clients = (unsigned)v;
			break;
		case 'n':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &v) != 0)
				die("-n: want a positive number", optarg);
			o->total = v;
			have_n = 1;
			break;
		case O_EXPECT:
			if (parse_u64(optarg, 100, 599, &v) != 0)
				die("--expect: want an HTTP status", optarg);
			o->expect = (long)v;
			break;
		case O_TIMEOUT:
			if (parse_u64(optarg, 1, 86400, &v) != 0)
				die("--timeout: want 1..86400 seconds", optarg);
			o->timeout = (long)v;
			break;
		case O_MAX_SAMPLES:
			if (parse_u64(optarg, 1, UINT32_MAX, &v) != 0)
				die("--max-samples: want 1..4294967295",
				    optarg);
			o->max_samples = v;
			break;
		case O_DURATION:
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (optarg[0] < '0' || optarg[0] > '9' || errno != 0 ||
			    *end != '\0' || !(o->duration > 0) ||
			    o->duration > 86400 * 365.0)
				die("--duration: want seconds > 0", optarg);
			break;
		case 'h':
		default: usage();
		}
	}
	if (optind != argc || o->url == NULL)
		usage();
	if (have_n && o->duration > 0)
		die("-n and --duration exclude each other", NULL);
	if (o->duration > 0)
		o->total = 0;
	if (body != NULL && body_file != NULL)
		die("--body and --body-file exclude each other", NULL);
	if ((o->cert == NULL) != (o->key == NULL))
		die("--cert and --key go together", NULL);
	if (method == NULL)
		o->post = body != NULL || body_file != NULL;
	else if (strcmp(method, "POST") == 0)
		o->post = 1;
	else if (strcmp(method, "GET") != 0)
		die("--method: want GET or POST", method);
	if (!o->post && (body != NULL || body_file != NULL))
		die("a body needs --method POST", NULL);
	if (body_file != NULL) {
		if (read_file(body_file, &o->body, &o->body_len) != 0)
			die(body_file, strerror(errno));
	} else if (body != NULL) {
		o->body_len = strlen(body);
		if ((o->body = strdup(body)) == NULL)
			die("out of memory", NULL);
	}
	if (o->total > 0 && o->clients > o->total)
		o->clients = (unsigned)o->total;
}

static uint64_t
ts_us(const struct timespec *a, const struct timespec *b)
{
	int64_t d = (int64_t)(b->tv_sec - a->tv_sec) * 1000000 +
	    (b->tv_nsec - a->tv_nsec) / 1000;

	return d < 0 ? 0 : (uint64_t)d;
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* xorshift64*: each client's reservoir choices. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Counts the reply body and keeps its start (for an error message). */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct client *cl = arg;
	size_t n = size * nmemb, room;

	cl->bytes += n;
	room = sizeof(cl->snippet) - 1 - cl->snip_len;
	if (room > 0) {
		if (room > n)
			room = n;
		memcpy(cl->snippet + cl->snip_len, data, room);
		cl->snip_len += room;
	}
	return n;
}

/* Counts one error, and remembers its text if it is one of the first. */
static void
record_error(struct run *run, const char *text)
{
	unsigned i;

	pthread_mutex_lock(&run->err_mu);
	run->errors++;
	for (i = 0; i < run->nerrs; i++)
		if (strcmp(run->errs[i].text, text) == 0)
			break;
	if (i < run->nerrs) {
		run->errs[i].count++;
	} else if (run->nerrs < MAX_DISTINCT) {
		snprintf(run->errs[i].text, sizeof(run->errs[i].text), "%s",
		    text);
		run->errs[i].count = 1;
		run->nerrs++;
	} else {
		run->errs_other++;
	}
	pthread_mutex_unlock(&run->err_mu);
}

/* The reply snippet, on one line: printable ASCII, blanks squeezed. */
static void
clean_snippet(struct client *cl)
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < cl->snip_len; i++) {
		c = (unsigned char)cl->snippet[i];
		if (c < 0x20 || c > 0x7e)
			c = ' ';
		if (c == ' ' && (n == 0 || cl->snippet[n - 1] == ' '))
			continue;
		cl->snippet[n++] = (char)c;
	}
	cl->snippet[n] = '\0';
}

static CURL *
client_handle(struct client *cl)
{
	const struct opts *o = cl->run->o;
	CURL *h;
	int bad = 0;

	h = curl_easy_init();
	if (h == NULL)
		return NULL;
#define SET(opt, val) bad |= curl_easy_setopt(h, opt, val) != CURLE_OK
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_TIMEOUT, o->timeout);
	SET(CURLOPT_ERRORBUFFER, cl->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, cl);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_MAXCONNECTS, 1L);
	if (o->cacert != NULL)
		SET(CURLOPT_CAINFO, o->cacert);
	if (o->cert != NULL) {
		SET(CURLOPT_SSLCERT, o->cert);
		SET(CURLOPT_SSLKEY, o->key);
	}
	if (o->post) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, o->body != NULL ? o->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		SET(CURLOPT_HTTPHEADER, cl->run->hdrs);
	}
#undef SET
	if (bad) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	struct run *run = cl->run;
	const struct opts *o = run->o;
	struct timespec t0, t1;
	char text[ERR_LEN];
	uint64_t i, us, j;
	long status, nconn;
	CURLcode rc;
	CURL *h;
	int go;

	h = client_handle(cl);
	if (h == NULL)
		cl->setup_failed = 1;
	pthread_mutex_lock(&run->gate_mu);
	run->ready++;
	pthread_cond_broadcast(&run->gate_cv);
	while (run->go == 0)
		pthread_cond_wait(&run->gate_cv, &run->gate_mu);
	go = run->go;
	pthread_mutex_unlock(&run->gate_mu);
	if (h == NULL)
		return NULL;
	if (go < 0)
		goto out;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (o->total == 0 && !ts_before(&t0, &run->deadline))
			break;
		i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED);
		if (o->total > 0 && i >= o->total)
			break;
		cl->errbuf[0] = '\0';
		cl->snip_len = 0;
		rc = curl_easy_perform(h);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = ts_us(&t0, &t1);
		if (us > cl->max_us)
			cl->max_us = us;
		if (us > UINT32_MAX)
			us = UINT32_MAX;
		if (i < run->nslots) {
			__atomic_store_n(&run->samples[i], (uint32_t)us,
			    __ATOMIC_RELAXED);
		} else {
			j = rng_next(&cl->rng) % (i + 1);
			if (j < run->nslots)
				__atomic_store_n(&run->samples[j], (uint32_t)us,
				    __ATOMIC_RELAXED);
		}
		nconn = 0;
		if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn) ==
		    CURLE_OK)
			cl->connects += nconn;
		if (rc != CURLE_OK) {
			snprintf(text, sizeof(text), "transport: %s%s%s",
			    curl_easy_strerror(rc), cl->errbuf[0] ? ": " : "",
			    cl->errbuf);
			record_error(run, text);
			continue;
		}
		status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (status != o->expect) {
			clean_snippet(cl);
			snprintf(text, sizeof(text), "HTTP %ld (want %ld): %s",
			    status, o->expect, cl->snippet);
			record_error(run, text);
		}
	}
out:
	curl_easy_cleanup(h);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile P of the sorted S[0..N). */
static uint64_t
pct(const uint32_t *s, uint64_t n, double p)
{
	uint64_t k;

	if (n == 0)
		return 0;
	k = (uint64_t)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return s[k - 1];
}

/* TEXT as a JSON string, on stdout. */
static void
json_str(const char *text)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

int
main(int argc, char **argv)
{
	struct client *cls = NULL;
	struct opts o;
	struct run run;
	struct timespec start, end;
	uint64_t requests, nsamp, max_us = 0, bytes = 0, p50, p90, p99;
	long connects = 0;
	double elapsed, rps;
	unsigned i, started = 0;
	int status = 2, setup_failed = 0, sync = 0, cinit = 0;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	memset(&run, 0, sizeof(run));
	run.o = &o;
	if (curl_global_init(CURL_GLOBAL_ALL) != 0) {
		fprintf(stderr, ME ": curl_global_init failed\n");
		goto out;
	}
	cinit = 1;
	if (o.post) {
		struct curl_slist *l;

		l = curl_slist_append(NULL, "Content-Type: application/json");
		run.hdrs = l;
		if (l != NULL)
			l = curl_slist_append(l, "Expect:");
		if (l == NULL) {
			fprintf(stderr, ME ": out of memory\n");
			goto out;
		}
	}
	run.nslots = o.max_samples;
	if (o.total > 0 && o.total < run.nslots)
		run.nslots = o.total;
	/* calloc of a large block maps it lazily: only used slots cost. */
	run.samples = calloc(run.nslots, sizeof(*run.samples));
	cls = calloc(o.clients, sizeof(*cls));
	if (run.samples == NULL || cls == NULL) {
		fprintf(stderr, ME ": out of memory\n");
		goto out;
	}
	if (pthread_mutex_init(&run.err_mu, NULL) != 0 ||
	    pthread_mutex_init(&run.gate_mu, NULL) != 0 ||
	    pthread_cond_init(&run.gate_cv, NULL) != 0) {
		fprintf(stderr, ME ": cannot make a lock\n");
		goto out;
	}
	sync = 1;
	for (i = 0; i < o.clients; i++) {
		cls[i].run = &run;
		cls[i].id = i;
		cls[i].rng =
		    (0x9E3779B97F4A7C15ULL * (i + 1)) ^ (uint64_t)time(NULL);
		if (cls[i].rng == 0)
			cls[i].rng = 1;
		if (pthread_create(&cls[i].tid, NULL, client_main, &cls[i]) !=
		    0) {
			fprintf(stderr, ME ": cannot start client %u\n", i);
			break;
		}
		started++;
	}
	pthread_mutex_lock(&run.gate_mu);
	while (run.ready < started)
		pthread_cond_wait(&run.gate_cv, &run.gate_mu);
	if (started < o.clients) {
		run.go = -1;
		pthread_cond_broadcast(&run.gate_cv);
		pthread_mutex_unlock(&run.gate_mu);
		for (i = 0; i < started; i++)
			pthread_join(cls[i].tid, NULL);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (o.duration > 0) {
		double whole = floor(o.duration);

		run.deadline = start;
		run.deadline.tv_sec += (time_t)whole;
		run.deadline.tv_nsec += (long)((o.duration - whole) * 1e9);
		if (run.deadline.tv_nsec >= 1000000000L) {
			run.deadline.tv_sec++;
			run.deadline.tv_nsec -= 1000000000L;
		}
	}
	run.go = 1;
	pthread_cond_broadcast(&run.gate_cv);
	pthread_mutex_unlock(&run.gate_mu);
	for (i = 0; i < started; i++)
		pthread_join(cls[i].tid, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);

	for (i = 0; i < o.clients; i++) {
		setup_failed |= cls[i].setup_failed;
		if (cls[i].max_us > max_us)
			max_us = cls[i].max_us;
		bytes += cls[i].bytes;
		connects += cls[i].connects;
	}
	if (setup_failed) {
		fprintf(stderr, ME ": cannot set up a curl handle\n");
		goto out;
	}
	requests = run.next;
	if (o.total > 0 && requests > o.total)
		requests = o.total;
	nsamp = requests < run.nslots ? requests : run.nslots;
	qsort(run.samples, nsamp, sizeof(*run.samples), cmp_u32);
	p50 = pct(run.samples, nsamp, 50);
	p90 = pct(run.samples, nsamp, 90);
	p99 = pct(run.samples, nsamp, 99);
	elapsed = (double)ts_us(&start, &end) / 1e6;
	rps = elapsed > 0 ? (double)requests / elapsed : 0;

	if (o.json) {
		printf("{\"url\":");
		json_str(o.url);
		printf(",\"clients\":%u,\"requests\":%" PRIu64
		       ",\"errors\":%" PRIu64 ",\"connections\":%ld"
		       ",\"bytes\":%" PRIu64 ",\"elapsed_s\":%.6f"
		       ",\"req_per_s\":%.1f,\"latency_samples\":%" PRIu64
		       ",\"latency_us\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
		       ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64
		       "},\"first_errors\":[",
		    o.clients, requests, run.errors, connects, bytes, elapsed,
		    rps, nsamp, p50, p90, p99, max_us);
		for (i = 0; i < run.nerrs; i++) {
			printf("%s{\"count\":%" PRIu64 ",\"error\":",
			    i ? "," : "", run.errs[i].count);
			json_str(run.errs[i].text);
			putchar('}');
		}
		printf("]}\n");
	} else {
		printf("url          %s\n", o.url);
		printf("clients      %u\n", o.clients);
		printf("requests     %" PRIu64 "\n", requests);
		printf("errors       %" PRIu64 "\n", run.errors);
		printf("connections  %ld\n", connects);
		printf("bytes        %" PRIu64 "\n", bytes);
		printf("elapsed_s    %.3f\n", elapsed);
		printf("req_per_s    %.1f\n", rps);
		printf("latency_us   p50 %" PRIu64 "  p90 %" PRIu64
		       "  p99 %" PRIu64 "  max %" PRIu64 "%s\n",
		    p50, p90, p99, max_us,
		    nsamp < requests ? "  (percentiles of a sample)" : "");
	}
	for (i = 0; i < run.nerrs; i++)
		fprintf(stderr, ME ": error x%" PRIu64 ": %s\n",
		    run.errs[i].count, run.errs[i].text);
	if (run.errs_other > 0)
		fprintf(stderr, ME ": and %" PRIu64 " other error(s)\n",
		    run.errs_other);
	status = run.errors == 0 ? 0 : 1;
out:
	if (sync) {
		pthread_cond_destroy(&run.gate_cv);
		pthread_mutex_destroy(&run.gate_mu);
		pthread_mutex_destroy(&run.err_mu);
	}
	free(cls);
	free(run.samples);
	curl_slist_free_all(run.hdrs);
	free(o.body);
	if (cinit)
		curl_global_cleanup();
	return status;
}
