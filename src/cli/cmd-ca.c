/*
 * cmd-ca.c - `sentinel ca init|issue|revoke|crl|dev`: the development PKI
 * (src/core/pki.h), as local files.
 *
 * Each sub-command is a struct cmd_entry of its own (name "ca issue"...),
 * so its --help and its usage errors come out as any command's do.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/util.h"
#include "core/config.h"
#include "core/pki.h"

#define DEFAULT_PKI_DIR "./.sentinel/pki"
#define DIR_MAX         4096

static const char dir_help[] =
    "  --dir DIR          the PKI directory (default ./.sentinel/pki, the\n"
    "                     demo's: `sentinel serve` without --config\n"
    "                     reads its TLS files there)\n"
    "  --state-dir DIR    the PKI directory is DIR/pki\n"
    "  -h, --help         show this help\n";

static const char ca_help[] =
    "A small certificate authority in one directory, so that mutual TLS\n"
    "works at once: the server's certificate and every agent's client\n"
    "certificate are issued here, and the server trusts ca.pem and\n"
    "checks crl.pem.  Keys are EC P-256, mode 0600, never overwritten.\n\n"
    "  init      make a new CA: ca.pem, ca.key, crl.pem, index\n"
    "  issue     issue a client (--ou ROLE) or server (--server) "
    "certificate\n"
    "  revoke    revoke a certificate and remake crl.pem\n"
    "  crl       remake crl.pem (do it before it expires: 30 days)\n"
    "  dev       make what is missing of the development PKI that\n"
    "            the demo uses (CA, server, dev and admin)\n\n"
    "Run 'sentinel ca SUBCOMMAND --help' for its options.  Every\n"
    "subcommand takes --dir DIR (default ./.sentinel/pki) or\n"
    "--state-dir DIR (then DIR/pki).\n\n"
    "Exit status: 0 success, 1 error (nothing changed), 2 usage error.\n";

static const char init_help[] =
    "Make a new CA in DIR (created, mode 0700, if missing): an EC P-256\n"
    "key ca.key (mode 0600), a self-signed certificate ca.pem, an empty\n"
    "revocation list crl.pem (valid 30 days) and its database, index.\n"
    "Refused if DIR holds a CA already (ca.pem or ca.key): nothing is\n"
    "overwritten.\n\n"
    "Options:\n"
    "  --cn NAME          the CA's name (default \"" PKI_DEV_CA_CN "\")\n"
    "  --days N           validity in days (default 3650)\n";

static const char issue_help[] =
    "Issue a certificate signed by the CA in DIR, with a new EC P-256 key.\n"
    "A client certificate (--ou ROLE) has subject CN=NAME, OU=ROLE: the\n"
    "agent NAME with role ROLE (Dev, Reader, Audit, Admin or one of the\n"
    "config's; case matters), and extended key usage clientAuth.  A\n"
    "server certificate (--server) has serverAuth only, and the names it\n"
    "serves as subjectAltName.  Refused if a file exists: nothing is\n"
    "overwritten.\n\n"
    "Options:\n"
    "  --cn NAME          the agent's (or the server's) name: 1-64 of\n"
    "                     A-Z a-z 0-9 . _ -   (required)\n"
    "  --ou ROLE          client: the role, same characters\n"
    "  --server           a server certificate (no --ou)\n"
    "  --san NAME         server: a DNS name or IP address it serves;\n"
    "                     repeat for more (default: localhost, 127.0.0.1,\n"
    "                     ::1)\n"
    "  --days N           validity in days (default 825; never past the\n"
    "                     CA's own end)\n"
    "  --out PREFIX       write PREFIX.pem and PREFIX.key (default\n"
    "                     DIR/NAME.pem and DIR/NAME.key)\n";

static const char revoke_help[] =
    "Revoke CERT, a certificate issued by the CA in DIR (PEM or DER): its\n"
    "serial is added to DIR/index and DIR/crl.pem is made again (valid 30\n"
    "days).  A server with [api] crl = DIR/crl.pem refuses it from its\n"
    "next TLS handshake after it reads the new list.  Refused for a\n"
    "certificate of another CA, the CA's own, or one revoked already.\n\n"
    "Options:\n";

static const char crl_help[] =
    "Make DIR/crl.pem again from DIR/index, signed by the CA, with a\n"
    "larger CRL number.  Clients are refused by a server whose CRL has\n"
    "expired, so remake it before then.\n\n"
    "Options:\n"
    "  --days N           valid for N days (default 30, at most 3650)\n";

static const char dev_help[] =
    "Make whatever is missing of the development PKI in DIR, and keep the\n"
    "rest.  The demo (`sentinel serve` without --config) reads\n"
    "server.pem, server.key, ca.pem and crl.pem from there as [api] cert,\n"
    "key, client_ca and crl; dev and admin are for its clients:\n"
    "  ca.pem ca.key          CA \"" PKI_DEV_CA_CN "\", 825 days\n"
    "  server.pem server.key  CN localhost, SANs localhost 127.0.0.1 ::1\n"
    "  dev.pem dev.key        client CN dev, OU Dev\n"
    "  admin.pem admin.key    client CN admin, OU Admin\n"
    "  crl.pem index          made again when missing, out of date, or\n"
    "                         expiring within 7 days\n"
    "Never overwrites a key; a file from another CA is an error that says\n"
    "what to remove.\n\n"
    "Options:\n";

/* The options a subcommand may take. */
enum {
	OPT_CN = 1 << 0,
	OPT_OU = 1 << 1,
	OPT_SERVER = 1 << 2,
	OPT_SAN = 1 << 3,
	OPT_DAYS = 1 << 4,
	OPT_OUT = 1 << 5,
};

struct ca_args {
	const char *dir;
	const char *state_dir;
	const char *cn;
	const char *ou;
	const char *out;
	const char **sans;
	size_t n_sans;
	int server;
	int days;         /* 0: not given */
	const char *cert; /* revoke: the one argument */
	char dirbuf[DIR_MAX];
};

static int ca_init_exec(int argc, char **argv);
static int ca_issue_exec(int argc, char **argv);
static int ca_revoke_exec(int argc, char **argv);
static int ca_crl_exec(int argc, char **argv);
static int ca_dev_exec(int argc, char **argv);

static const struct cmd_entry sub_init = {
	.name = "ca init",
	.usage = "[--dir DIR | --state-dir DIR] [--cn NAME] [--days N]",
	.summary = "Make a new certificate authority",
	.help = init_help,
	.exec = ca_init_exec,
};

static const struct cmd_entry sub_issue = {
	.name = "ca issue",
	.usage = "--cn NAME (--ou ROLE | --server [--san NAME]...) "
	         "[--days N] [--out PREFIX] [--dir DIR | --state-dir DIR]",
	.summary = "Issue a client or server certificate",
	.help = issue_help,
	.exec = ca_issue_exec,
};

static const struct cmd_entry sub_revoke = {
	.name = "ca revoke",
	.usage = "[--dir DIR | --state-dir DIR] CERT",
	.summary = "Revoke a certificate and remake the CRL",
	.help = revoke_help,
	.exec = ca_revoke_exec,
};

static const struct cmd_entry sub_crl = {
	.name = "ca crl",
	.usage = "[--dir DIR | --state-dir DIR] [--days N]",
	.summary = "Remake the certificate revocation list",
	.help = crl_help,
	.exec = ca_crl_exec,
};

static const struct cmd_entry sub_dev = {
	.name = "ca dev",
	.usage = "[--dir DIR | --state-dir DIR]",
	.summary = "Make what is missing of the development PKI",
	.help = dev_help,
	.exec = ca_dev_exec,
};

static const struct cmd_entry *const sub_table[] = {
	&sub_init,
	&sub_issue,
	&sub_revoke,
	&sub_crl,
	&sub_dev,
	NULL,
};

static void
sub_help(const struct cmd_entry *e)
{
	cmd_print_help(e);
	fputs(dir_help, stdout);
}

/*
 * Parse a subcommand's options (argv[0] is its name).  Returns -1 to go
 * on, else the exit status (help: 0, usage error: 2).
 */
static int
parse(const struct cmd_entry *e, unsigned allowed, int nargs, int argc,
    char **argv, struct ca_args *a)
{
	enum {
		O_DIR = 256,
		O_STATE,
		O_CN,
		O_OU,
		O_SERVER,
		O_SAN,
		O_DAYS,
		O_OUT
	};
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "cn", required_argument, NULL, O_CN },
		{ "ou", required_argument, NULL, O_OU },
		{ "server", no_argument, NULL, O_SERVER },
		{ "san", required_argument, NULL, O_SAN },
		{ "days", required_argument, NULL, O_DAYS },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int opt;
		unsigned bit;
		const char *name;
	} need[] = {
		{ O_CN, OPT_CN, "--cn" },
		{ O_OU, OPT_OU, "--ou" },
		{ O_SERVER, OPT_SERVER, "--server" },
		{ O_SAN, OPT_SAN, "--san" },
		{ O_DAYS, OPT_DAYS, "--days" },
		{ O_OUT, OPT_OUT, "--out" },
	};
	int max_days = e == &sub_crl ? 3650 : PKI_MAX_DAYS;
	unsigned long long v;
	const char **ns;
	size_t i;
	int c, n;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			if (need[i].opt == c && !(allowed & need[i].bit))
				return cmd_usage_error(e, "no %s here",
				    need[i].name);
		switch (c) {
		case O_DIR: a->dir = optarg; break;
		case O_STATE: a->state_dir = optarg; break;
		case O_CN:
		case O_OU:
		case O_OUT:
			if ((c == O_CN && a->cn != NULL) ||
			    (c == O_OU && a->ou != NULL) ||
			    (c == O_OUT && a->out != NULL))
				return cmd_usage_error(e, "%s given twice",
				    argv[optind - 1]);
			if (c == O_CN)
				a->cn = optarg;
			else if (c == O_OU)
				a->ou = optarg;
			else
				a->out = optarg;
			break;
		case O_SERVER: a->server = 1; break;
		case O_SAN:
			if (a->n_sans >= PKI_MAX_SANS)
				return cmd_usage_error(e, "more than %d --san",
				    PKI_MAX_SANS);
			ns = realloc(a->sans, (a->n_sans + 1) * sizeof(*ns));
			if (ns == NULL) {
				cli_error("out of memory");
				return 1;
			}
			a->sans = ns;
			a->sans[a->n_sans++] = optarg;
			break;
		case O_DAYS:
			if (config_parse_uint(optarg, 1, (unsigned)max_days,
			        &v) < 0)
				return cmd_usage_error(e,
				    "--days '%s': expected 1 to %d", optarg,
				    max_days);
			a->days = (int)v;
			break;
		case 'h': sub_help(e); return 0;
		case ':':
			return cmd_usage_error(e, "%s needs a value",
			    argv[optind - 1]);
		default:
			return cmd_usage_error(e, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != nargs)
		return argc - optind > nargs ?
		    cmd_usage_error(e, "unexpected argument '%s'",
		        argv[optind + nargs]) :
		    cmd_usage_error(e, "expected a certificate file");
	if (nargs == 1)
		a->cert = argv[optind];
	if (a->dir != NULL && a->state_dir != NULL)
		return cmd_usage_error(e, "--dir and --state-dir: choose one");
	if (a->dir != NULL && a->dir[0] == '\0')
		return cmd_usage_error(e, "--dir: empty");
	if (a->state_dir != NULL) {
		n = snprintf(a->dirbuf, sizeof(a->dirbuf), "%s/pki",
		    a->state_dir);
		if (a->state_dir[0] == '\0' || n < 0 ||
		    (size_t)n >= sizeof(a->dirbuf))
			return cmd_usage_error(e, "--state-dir: bad path");
		a->dir = a->dirbuf;
	}
	if (a->dir == NULL)
		a->dir = DEFAULT_PKI_DIR;
	return -1;
}

/* ---- the subcommands ------------------------------------------------------ */

static int
ca_init_exec(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[1024];
	int r;

	if ((r = parse(&sub_init, OPT_CN | OPT_DAYS, 0, argc, argv, &a)) >= 0)
		return r;
	if (a.cn == NULL)
		a.cn = PKI_DEV_CA_CN;
	if (a.days == 0)
		a.days = PKI_CA_DAYS;
	if (pki_init(a.dir, a.cn, a.days, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	printf("made CA \"%s\" in %s, valid %d days:\n"
	       "  %s/ca.pem   its certificate: trust it ([api] client_ca, "
	       "curl --cacert)\n"
	       "  %s/ca.key   its private key: keep it there\n"
	       "  %s/crl.pem  revocation list ([api] crl), valid %d days\n",
	    a.cn, a.dir, a.days, a.dir, a.dir, a.dir, PKI_CRL_DAYS);
	return 0;
}

static int
ca_issue_exec(int argc, char **argv)
{
	struct ca_args a = { 0 };
	struct pki_issue_opts o;
	char err[1024], cert[DIR_MAX], key[DIR_MAX];
	int r, n;

	r = parse(&sub_issue,
	    OPT_CN | OPT_OU | OPT_SERVER | OPT_SAN | OPT_DAYS | OPT_OUT, 0,
	    argc, argv, &a);
	if (r >= 0)
		goto out;
	r = 2;
	if (a.cn == NULL) {
		cmd_usage_error(&sub_issue, "--cn is required");
		goto out;
	}
	if (a.server == (a.ou != NULL)) {
		cmd_usage_error(&sub_issue,
		    a.server ?
		        "--server takes no --ou (a role is for clients)" :
		        "give --ou ROLE (a client) or --server");
		goto out;
	}
	if (a.n_sans > 0 && !a.server) {
		cmd_usage_error(&sub_issue, "--san is for --server");
		goto out;
	}
	/* the files, for the message; pki_issue picks the same by default */
	n = a.out != NULL ?
	    snprintf(cert, sizeof(cert), "%s.pem", a.out) :
	    snprintf(cert, sizeof(cert), "%s/%s.pem", a.dir, a.cn);
	if ((a.out != NULL && a.out[0] == '\0') || n < 0 ||
	    (size_t)n + 1 >= sizeof(cert)) {
		cmd_usage_error(&sub_issue, "%s: path too long or empty",
		    a.out != NULL ? "--out" : "--dir");
		goto out;
	}
	if (a.out != NULL)
		snprintf(key, sizeof(key), "%s.key", a.out);
	else
		snprintf(key, sizeof(key), "%s/%s.key", a.dir, a.cn);
	memset(&o, 0, sizeof(o));
	o.cn = a.cn;
	o.ou = a.ou;
	o.days = a.days != 0 ? a.days : PKI_LEAF_DAYS;
	o.server = a.server;
	o.sans = a.sans;
	o.n_sans = a.n_sans;
	o.out_cert = a.out != NULL ? cert : NULL;
	o.out_key = a.out != NULL ? key : NULL;
	r = 1;
	if (pki_issue(a.dir, &o, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (a.server)
		printf("issued server certificate CN=%s (serverAuth), "
		       "valid %d days at most:\n",
		    a.cn, o.days);
	else
		printf("issued client certificate CN=%s OU=%s (clientAuth), "
		       "valid %d days at most:\n",
		    a.cn, a.ou, o.days);
	printf("  %s\n  %s\n", cert, key);
	r = 0;
out:
	free(a.sans);
	return r;
}

static int
ca_revoke_exec(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[1024];
	int r;

	if ((r = parse(&sub_revoke, 0, 1, argc, argv, &a)) >= 0)
		return r;
	if (pki_revoke(a.dir, a.cert, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	printf("revoked %s; %s/crl.pem made again\n", a.cert, a.dir);
	return 0;
}

static int
ca_crl_exec(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[1024];
	int r;

	if ((r = parse(&sub_crl, OPT_DAYS, 0, argc, argv, &a)) >= 0)
		return r;
	if (a.days == 0)
		a.days = PKI_CRL_DAYS;
	if (pki_crl(a.dir, a.days, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	printf("%s/crl.pem made, valid %d days\n", a.dir, a.days);
	return 0;
}

static int
ca_dev_exec(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[1024];
	int r;

	if ((r = parse(&sub_dev, 0, 0, argc, argv, &a)) >= 0)
		return r;
	if (pki_ensure_dev(a.dir, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	printf(
	    "development PKI in %s:\n"
	    "  ca.pem                 the CA (trust it)\n"
	    "  server.pem server.key  the server (localhost, 127.0.0.1, "
	    "::1)\n"
	    "  dev.pem dev.key        agent dev, role Dev\n"
	    "  admin.pem admin.key    agent admin, role Admin\n"
	    "  crl.pem                the revocation list\n"
	    "try: curl --cacert %s/ca.pem --cert %s/dev.pem --key %s/dev.key "
	    "https://127.0.0.1:8443/v1/whoami\n",
	    a.dir, a.dir, a.dir, a.dir);
	return 0;
}

/* ---- the command ---------------------------------------------------------- */

static int
cmd_ca_exec(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cmd_usage_error(&cmd_ca_entry,
		    "expected init, issue, revoke, crl or dev");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cmd_print_help(&cmd_ca_entry);
		return 0;
	}
	for (i = 0; sub_table[i] != NULL; i++)
		if (strcmp(sub_table[i]->name + 3, argv[1]) == 0)
			return sub_table[i]->exec(argc - 1, argv + 1);
	return cmd_usage_error(&cmd_ca_entry, "unknown subcommand '%s'",
	    argv[1]);
}

const struct cmd_entry cmd_ca_entry = {
	.name = "ca",
	.usage = "init|issue|revoke|crl|dev [options]",
	.summary = "Make and run the development PKI (mTLS certificates)",
	.help = ca_help,
	.exec = cmd_ca_exec,
};
