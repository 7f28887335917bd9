/*
 * test_client.c - the client side of the control API (src/cli/client.c):
 * client.conf parsing, the precedence flags > environment > client.conf,
 * server URLs, base64, error messages, raw JSON splitting, and
 * client_call() against real sockets: a refused port, missing
 * credentials, and a one-shot loopback HTTP server that records the
 * request it gets (method, path, version, headers, body) and answers a
 * canned reply.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "core/err.h"
#include "tap.h"

static char topdir[] = "/tmp/sn-test-client-XXXXXX";

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		diag("cannot write %s: %s", path, strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
clear_env(void)
{
	unsetenv("SENTINEL_SERVER");
	unsetenv("SENTINEL_CERT");
	unsetenv("SENTINEL_KEY");
	unsetenv("SENTINEL_CACERT");
	unsetenv("SENTINEL_TOKEN_FILE");
}

/* ---- client.conf ----------------------------------------------------------- */

static int
parse(const char *text, struct client_conf *c, char *err, size_t errlen)
{
	return client_conf_parse(text, strlen(text), "client.conf", c, err,
	    errlen);
}

static void
test_conf_parse(void)
{
	struct client_conf c;
	char err[256];
	static const char nul[] = "server = x\0y";

	is_int(parse("# a comment\n\n  server = https://s:1  \r\n"
	             "cert=c.pem\n\tkey =\tk.pem\ncacert = /ca.pem\n"
	             "token_file = ~/tok\n",
	           &c, err, sizeof(err)),
	    0, "a full file parses");
	is_str(c.vals[CLIENT_K_SERVER], "https://s:1", "server, trimmed, CRLF");
	is_str(c.vals[CLIENT_K_CERT], "c.pem", "cert, no blanks around =");
	is_str(c.vals[CLIENT_K_KEY], "k.pem", "key, tabs");
	is_str(c.vals[CLIENT_K_CACERT], "/ca.pem", "cacert");
	is_str(c.vals[CLIENT_K_TOKEN_FILE], "~/tok", "token_file as written");
	is_int(c.line[CLIENT_K_KEY], 5, "line of key");
	client_conf_clear(&c);

	is_int(parse("server = a\n# x\nsevrer = b\n", &c, err, sizeof(err)),
	    SN_ECONFIG, "an unknown key is an error");
	has_str(err, "client.conf:3:", "... naming FILE:LINE");
	has_str(err, "sevrer", "... and the key");
	ok(c.vals[CLIENT_K_SERVER] == NULL, "... and nothing is kept");
	is_int(parse("cert = a\ncert = b\n", &c, err, sizeof(err)), SN_ECONFIG,
	    "a repeated key is an error");
	has_str(err, "client.conf:2:", "... on its second line");
	is_int(parse("server\n", &c, err, sizeof(err)), SN_ECONFIG,
	    "a line without = is an error");
	is_int(parse("key =   \n", &c, err, sizeof(err)), SN_ECONFIG,
	    "an empty value is an error");
	is_int(parse("Server = x\n", &c, err, sizeof(err)), SN_ECONFIG,
	    "keys are case-sensitive");
	is_int(client_conf_parse(nul, sizeof(nul) - 1, "n", &c, err,
	           sizeof(err)),
	    SN_ECONFIG, "a NUL byte is an error");
	is_int(parse("", &c, err, sizeof(err)), 0, "an empty file is fine");
	client_conf_clear(&c);
}

/* ---- precedence ----------------------------------------------------------- */

static void
test_opts_load(void)
{
	char xdg[512], conf[600], home[512], tok[600], err[512], path[700];
	struct client_flags f;
	struct client_opts o;
	int r;

	snprintf(xdg, sizeof(xdg), "%s/xdg", topdir);
	snprintf(home, sizeof(home), "%s/home", topdir);
	snprintf(path, sizeof(path), "%s/sentinel", xdg);
	mkdir(xdg, 0700);
	mkdir(path, 0700);
	mkdir(home, 0700);
	snprintf(conf, sizeof(conf), "%s/sentinel/client.conf", xdg);
	snprintf(tok, sizeof(tok), "%s/tok", home);
	write_file(tok, "s3cret\n");
	write_file(conf,
	    "server = https://conf.example:8443/\n"
	    "cert = certs/me.pem\nkey = /abs/me.key\n"
	    "cacert = ~/ca.pem\ntoken_file = ~/tok\n");
	clear_env();
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	memset(&f, 0, sizeof(f));

	r = client_opts_load(&o, &f, err, sizeof(err));
	is_int(r, 0, "load from client.conf only");
	if (r < 0)
		diag("%s", err);
	is_str(o.server, "https://conf.example:8443",
	    "server from the file, trailing / dropped");
	snprintf(path, sizeof(path), "%s/sentinel/certs/me.pem", xdg);
	is_str(o.cert, path, "a relative path is relative to the file");
	is_str(o.key, "/abs/me.key", "an absolute path as is");
	snprintf(path, sizeof(path), "%s/ca.pem", home);
	is_str(o.cacert, path, "~/ is $HOME");
	is_str(o.token, "s3cret", "the token, read, newline trimmed");
	is_str(o.conf_path, conf, "conf_path");
	is_int(o.timeout_s, CLIENT_TIMEOUT_DEF, "default timeout");
	client_opts_clear(&o);

	setenv("SENTINEL_SERVER", "https://env.example:1", 1);
	setenv("SENTINEL_CERT", "env.pem", 1);
	setenv("SENTINEL_KEY", "", 1);
	r = client_opts_load(&o, &f, err, sizeof(err));
	is_int(r, 0, "load with the environment");
	is_str(o.server, "https://env.example:1", "the environment wins");
	is_str(o.cert, "env.pem", "... for cert, relative to the cwd");
	is_str(o.key, "/abs/me.key", "an empty variable counts as unset");
	client_opts_clear(&o);

	f.server = "http://127.0.0.1:9";
	f.cert = "flag.pem";
	f.timeout_s = 7;
	r = client_opts_load(&o, &f, err, sizeof(err));
	is_int(r, 0, "load with flags");
	is_str(o.server, "http://127.0.0.1:9", "a flag wins over both");
	is_str(o.cert, "flag.pem", "... for cert");
	is_int(o.timeout_s, 7, "--timeout");
	client_opts_clear(&o);

	write_file(tok, "\n");
	r = client_opts_load(&o, &f, err, sizeof(err));
	is_int(r, SN_EINVAL, "an empty token file is an error");
	has_str(err, "empty", "... saying so");
	ok(o.server == NULL && o.token == NULL, "... and o is cleared");
	write_file(tok, "two words\n");
	is_int(client_opts_load(&o, &f, err, sizeof(err)), SN_EINVAL,
	    "a token with a blank inside is an error");
	f.token_file = "/nonexistent/token";
	r = client_opts_load(&o, &f, err, sizeof(err));
	is_int(r, SN_ESYS, "a missing token file is an error");
	has_str(err, "/nonexistent/token", "... naming it");
	f.token_file = NULL;
	write_file(tok, "s3cret");

	write_file(conf, "server = https://x:1\nbogus = 1\n");
	r = client_opts_load(&o, NULL, err, sizeof(err));
	is_int(r, SN_ECONFIG, "an unknown key in client.conf fails the load");
	snprintf(path, sizeof(path), "%s:2:", conf);
	has_str(err, path, "... naming FILE:LINE");

	write_file(conf, "server = http://example.com:80\n");
	clear_env();
	r = client_opts_load(&o, NULL, err, sizeof(err));
	is_int(r, SN_ECONFIG, "plain http to a remote host is refused");
	has_str(err, "loopback", "... saying why");

	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	snprintf(path, sizeof(path), "%s/.config", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/sentinel", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/sentinel/client.conf", home);
	write_file(path, "server = https://home.example:2\n");
	r = client_opts_load(&o, NULL, err, sizeof(err));
	is_int(r, 0, "a relative XDG_CONFIG_HOME is ignored");
	is_str(o.server, "https://home.example:2",
	    "... ~/.config/sentinel/client.conf is read");
	client_opts_clear(&o);

	unlink(path);
	r = client_opts_load(&o, NULL, err, sizeof(err));
	is_int(r, 0, "no client.conf at all is fine");
	ok(o.server == NULL && o.conf_path == NULL, "... and sets nothing");
	client_opts_clear(&o);
	client_opts_clear(NULL);
	unsetenv("XDG_CONFIG_HOME");
}

/* ---- URLs, flags ---------------------------------------------------------- */

static void
test_urls(void)
{
	static const char *const good[] = {
		"https://127.0.0.1:8443",
		"https://sentinel.internal.corp",
		"https://[::1]:8443",
		"https://h:1/prefix/v",
		"http://127.0.0.1:8080",
		"http://127.9.8.7",
		"http://localhost:80",
		"http://[::1]:80",
	};
	static const char *const bad[] = {
		"ftp://x",
		"127.0.0.1:8443",
		"https://",
		"https://:80",
		"https://h:0",
		"https://h:65536",
		"https://h:12a",
		"https://h:",
		"https://user@h",
		"https://h/x?y=1",
		"https://h/#f",
		"https://h/a b",
		"https://h/%2e%2e",
		"http://10.0.0.1:80",
		"http://128.0.0.1",
		"http://localhost.evil.com",
		"http://127.0.0.1.evil.com",
		"https://[zz]:1",
		"HTTPS://h",
	};
	struct client_flags f;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(client_url_check(good[i], err, sizeof(err)), 0,
		    "accepted: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(client_url_check(bad[i], err, sizeof(err)), SN_EINVAL,
		    "refused: %s", bad[i]);

	memset(&f, 0, sizeof(f));
	is_int(client_flags_opt(&f, CLIENT_O_SERVER, "http://10.1.1.1", err,
	           sizeof(err)),
	    SN_EINVAL, "--server is checked when given");
	is_int(client_flags_opt(&f, CLIENT_O_TIMEOUT, "0", err, sizeof(err)),
	    SN_EINVAL, "--timeout 0 is refused");
	is_int(client_flags_opt(&f, 'o', "yaml", err, sizeof(err)), SN_EINVAL,
	    "-o yaml is refused");
	is_int(client_flags_opt(&f, 'o', "json", err, sizeof(err)), 1,
	    "-o json");
	ok(f.json && f.output_set, "... is recorded");
	is_int(client_flags_opt(&f, 'x', "", err, sizeof(err)), 0,
	    "another option is not ours");
}

/* ---- base64, text --------------------------------------------------------- */

static void
test_b64(void)
{
	static const char *const vec[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=", "Zg",
		"Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "=Zm9", "Zm=v",
		"Zm9*" };
	unsigned char bin[256], *d;
	char *e;
	size_t i, n;
	int good = 1;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		is_int(client_b64_encode((const unsigned char *)vec[i][0],
		           strlen(vec[i][0]), &e),
		    0, "encode '%s'", vec[i][0]);
		is_str(e, vec[i][1], "... is %s", vec[i][1]);
		free(e);
		is_int(client_b64_decode(vec[i][1], strlen(vec[i][1]), &d, &n),
		    0, "decode %s", vec[i][1]);
		ok(n == strlen(vec[i][0]) && memcmp(d, vec[i][0], n) == 0,
		    "... is '%s'", vec[i][0]);
		free(d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(client_b64_decode(bad[i], strlen(bad[i]), &d, &n),
		    SN_EINVAL, "not base64: '%s'", bad[i]);
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	for (i = 0; i <= sizeof(bin) && good; i++) {
		if (client_b64_encode(bin, i, &e) < 0 ||
		    client_b64_decode(e, strlen(e), &d, &n) < 0) {
			good = 0;
			break;
		}
		good = n == i && memcmp(d, bin, n) == 0;
		free(e);
		free(d);
	}
	ok(good, "binary round trips of 0..256 bytes");

	ok(client_is_text((const unsigned char *)"h\xc3\xa9llo", 6),
	    "UTF-8 is text");
	ok(!client_is_text((const unsigned char *)"a\0b", 3),
	    "a NUL is not text");
	ok(!client_is_text((const unsigned char *)"\xff", 1),
	    "a bad byte is not text");
	ok(!client_is_text((const unsigned char *)"\xc0\xaf", 2),
	    "an overlong sequence is not text");
	ok(!client_is_text((const unsigned char *)"\xed\xa0\x80", 3),
	    "a surrogate is not text");
}

static void
test_error_text(void)
{
	char out[512];

	client_error_text(404,
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no workspace "
	    "w9\"}}",
	    out, sizeof(out));
	is_str(out, "HTTP 404 not_found: no workspace w9", "a JSON error");
	client_error_text(409,
	    "{\"error\":{\"code\":\"locked\",\"message\":\"a is locked\","
	    "\"holder\":\"bob\",\"expires\":\"2030-01-01T00:00:00Z\"}}",
	    out, sizeof(out));
	is_str(out,
	    "HTTP 409 locked: a is locked (held by bob until "
	    "2030-01-01T00:00:00Z)",
	    "locked: holder and expiry");
	client_error_text(409,
	    "{\"error\":{\"code\":\"locked\",\"message\":\"m\",\"holder\":"
	    "\"bob\",\"expires\":null}}",
	    out, sizeof(out));
	has_str(out, "held by bob until its writer closes the file",
	    "locked by a write lease");
	client_error_text(400,
	    "{\"error\":{\"code\":\"bad_request\",\"message\":\"x\\u001b[2J"
	    "\\ny\"}}",
	    out, sizeof(out));
	is_str(out, "HTTP 400 bad_request: x\\x1b[2J\\x0ay",
	    "control characters in a message are escaped");
	client_error_text(502, "<html>\nbad gateway</html>", out, sizeof(out));
	is_str(out, "HTTP 502: <html>", "not JSON: the first line");
	client_error_text(500, "", out, sizeof(out));
	is_str(out, "HTTP 500 (no body)", "no body");
	client_error_text(301, "", out, sizeof(out));
	has_str(out, "not followed", "a redirect");
	client_error_text(400, "{\"error\":\"flat\"}", out, sizeof(out));
	is_str(out, "HTTP 400: {\"error\":\"flat\"}",
	    "an error that is not an object: the body");
}

/* ---- raw JSON ------------------------------------------------------------- */

struct collect {
	char buf[1024];
	size_t n;
	int stop_after;
};

static int
collect(const char *p, size_t n, void *arg)
{
	struct collect *c = arg;
	size_t used = strlen(c->buf);

	snprintf(c->buf + used, sizeof(c->buf) - used, "%s%.*s",
	    used != 0 ? "|" : "", (int)n, p);
	c->n++;
	return c->stop_after != 0 && (int)c->n >= c->stop_after ? 7 : 0;
}

static void
test_json_raw(void)
{
	struct collect c;

	memset(&c, 0, sizeof(c));
	is_int(client_json_each_raw(
	           "{\"a\": {\"events\": [9]}, \"s\": \"]\\\"[\", "
	           "\"events\" : [ {\"t\": 1714557600000000001, \"p\": "
	           "\"x]}\\\\\"}, [1,2] ,\"s\", 1.5e3, true, null ], "
	           "\"next\": 3}",
	           "events", collect, &c),
	    0, "the events of a reply");
	is_str(c.buf,
	    "{\"t\": 1714557600000000001, \"p\": \"x]}\\\\\"}|[1,2]|\"s\"|"
	    "1.5e3|true|null",
	    "each element's text as written (a nested key, strings with "
	    "brackets, a ns time that a double would round)");
	memset(&c, 0, sizeof(c));
	is_int(client_json_each_raw("{\"events\":[]}", "events", collect, &c),
	    0, "an empty array");
	is_int(c.n, 0, "... calls nothing");
	is_int(client_json_each_raw("{\"other\":[1]}", "events", collect, &c),
	    SN_ENOENT, "no such member");
	is_int(client_json_each_raw("{\"events\":{}}", "events", collect, &c),
	    SN_ENOENT, "not an array");
	is_int(client_json_each_raw("[1]", "events", collect, &c), SN_EINVAL,
	    "not an object");
	is_int(client_json_each_raw("{\"events\":[1,", "events", collect, &c),
	    SN_EINVAL, "cut short");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	is_int(client_json_each_raw("{\"events\":[1,2,3]}", "events", collect,
	           &c),
	    7, "fn's non-zero stops the walk and is returned");
	is_int(c.n, 2, "... after 2");
}

/* ---- calls ---------------------------------------------------------------- */

struct one_shot {
	int fd;
	const char *reply; /* whole HTTP response */
	char req[65536];   /* what arrived */
	size_t req_len;
	int conns;
};

/* Accept one connection, read one request, answer, close. */
static void *
serve_one(void *arg)
{
	struct one_shot *s = arg;
	const char *hend, *cl;
	size_t need = 0;
	ssize_t n;
	int c;

	c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	s->conns++;
	for (;;) {
		n = read(c, s->req + s->req_len,
		    sizeof(s->req) - 1 - s->req_len);
		if (n <= 0)
			break;
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		hend = strstr(s->req, "\r\n\r\n");
		if (hend == NULL)
			continue;
		cl = strcasestr(s->req, "\r\nContent-Length:");
		need = (size_t)(hend + 4 - s->req);
		if (cl != NULL && cl < hend)
			need += strtoul(cl + 17, NULL, 10);
		if (s->req_len >= need)
			break;
	}
	(void)!write(c, s->reply, strlen(s->reply));
	close(c);
	return NULL;
}

static int
listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* One call against a one-shot server answering reply; s is filled. */
static int
call_one(struct one_shot *s, const char *reply, const char *token,
    const char *method, const char *path, const char *json, long *status,
    char **body, char *err, size_t errlen)
{
	struct client_opts o;
	char url[64];
	pthread_t t;
	int port = 0, r;

	memset(s, 0, sizeof(*s));
	memset(&o, 0, sizeof(o));
	s->reply = reply;
	s->fd = listen_any(&port);
	if (s->fd < 0)
		return -1000;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	o.server = url;
	o.token = token;
	o.timeout_s = 10;
	pthread_create(&t, NULL, serve_one, s);
	r = client_call(&o, method, path, json, status, body, err, errlen);
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s->fd);
	return r;
}

static void
test_calls(void)
{
	struct one_shot *s = calloc(1, sizeof(*s));
	struct client_opts o;
	char err[512], url[64];
	char *body = NULL;
	long status = -1;
	int fd, port = 0, r;

	/* a port nobody listens on: bind one, then close it */
	fd = listen_any(&port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	memset(&o, 0, sizeof(o));
	o.server = url;
	o.timeout_s = 5;
	r = client_call(&o, "GET", "/v1/workspaces", NULL, &status, &body, err,
	    sizeof(err));
	is_int(r, SN_EIO, "a refused port: SN_EIO");
	is_int(client_exit_status(r), 3, "... exit status 3");
	has_str(err, "cannot connect to http://127.0.0.1:", "... message");
	has_str(err, "Connection refused", "... with the reason");
	ok(body == NULL, "... no body");

	o.server = "https://127.0.0.1:1";
	o.cert = "/nonexistent/me.pem";
	r = client_call(&o, "GET", "/v1/workspaces", NULL, &status, &body, err,
	    sizeof(err));
	is_int(r, SN_EIO, "a missing client certificate: SN_EIO");
	is_str(err,
	    "client certificate /nonexistent/me.pem: No such file or "
	    "directory",
	    "... naming the file and the cause");
	o.cert = NULL;
	o.cacert = "/nonexistent/ca.pem";
	r = client_call(&o, "GET", "/v1/workspaces", NULL, &status, &body, err,
	    sizeof(err));
	is_int(r, SN_EIO, "a missing CA file: SN_EIO");
	has_str(err, "CA file /nonexistent/ca.pem", "... naming it");

	if (s == NULL)
		return;
	r = call_one(s,
	    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 12\r\nConnection: close\r\n\r\n{\"id\":\"w1\"}\n",
	    "tok-123", "POST", "/v1/workspaces", "{\"repo\":\"r\"}", &status,
	    &body, err, sizeof(err));
	is_int(r, 0, "POST to a one-shot server");
	if (r != 0)
		diag("%s", err);
	is_int(status, 201, "... status 201");
	is_str(body, "{\"id\":\"w1\"}\n", "... the body");
	free(body);
	body = NULL;
	ok(strncmp(s->req, "POST /v1/workspaces HTTP/1.1\r\n", 30) == 0,
	    "request line: POST /v1/workspaces HTTP/1.1");
	has_str(s->req, "\r\nAuthorization: Bearer tok-123\r\n",
	    "the bearer token");
	has_str(s->req, "\r\nContent-Type: application/json\r\n",
	    "Content-Type: application/json");
	has_str(s->req, "\r\nContent-Length: 12\r\n", "Content-Length");
	ok(s->req_len > 12 &&
	        strcmp(s->req + s->req_len - 12, "{\"repo\":\"r\"}") == 0,
	    "the body, as given");

	r = call_one(s,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
	    "\r\n{}",
	    NULL, "DELETE", "/v1/workspaces/w1/grants/bob", NULL, &status,
	    &body, err, sizeof(err));
	is_int(r, 0, "DELETE");
	ok(strncmp(s->req, "DELETE /v1/workspaces/w1/grants/bob HTTP/1.1\r\n",
	       46) == 0,
	    "... request line");
	ok(strcasestr(s->req, "Authorization:") == NULL,
	    "... no Authorization header without a token");
	ok(strcasestr(s->req, "Content-Type:") == NULL,
	    "... no Content-Type without a body");
	free(body);
	body = NULL;

	r = call_one(s,
	    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    "tok", "GET", "/v1/workspaces", NULL, &status, &body, err,
	    sizeof(err));
	is_int(r, 0, "a redirect is an answer");
	is_int(status, 302, "... 302, not followed");
	is_int(s->conns, 1, "... one connection");
	is_str(body, "", "... an empty body is \"\"");
	free(body);
	body = NULL;

	r = call_one(s,
	    "HTTP/1.1 200 OK\r\nContent-Length: 314572800\r\n"
	    "Connection: close\r\n\r\n{",
	    NULL, "GET", "/v1/workspaces", NULL, &status, &body, err,
	    sizeof(err));
	is_int(r, SN_ERANGE, "a reply announced over 256 MiB: SN_ERANGE");
	has_str(err, "256 MiB", "... saying so");
	ok(body == NULL, "... no body");
	free(s);
}

/* Remove the few files this test made. */
static void
cleanup(void)
{
	static const char *const rel[] = {
		"xdg/sentinel/client.conf",
		"xdg/sentinel",
		"xdg",
		"home/tok",
		"home/.config/sentinel/client.conf",
		"home/.config/sentinel",
		"home/.config",
		"home",
		"",
	};
	char p[700];
	size_t i;

	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", topdir, rel[i]);
		if (remove(p) < 0 && errno != ENOENT)
			diag("cannot remove %s: %s", p, strerror(errno));
	}
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_conf_parse();
	test_opts_load();
	test_urls();
	test_b64();
	test_error_text();
	test_json_raw();
	test_calls();
	cleanup();
	return done_testing();
}
