/*
 * secrets_get - print the secrets a workspace's exec would get, as
 * hashes (never the values themselves): for t-secrets.sh.
 *
 *   secrets_get CONFIG WORKSPACE [COUNT]
 *
 * Loads CONFIG, opens the secret store, calls secrets_for_exec() COUNT
 * times (default 1; the Vault cache is seen from outside), and prints
 * "NAME=SHA256HEX" per secret of the last call.  Exit 0; 1 with the
 * error on stderr when a call fails; 2 for a bad config or usage.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/secrets.h"

int
main(int argc, char **argv)
{
	struct sn_config *cfg = NULL;
	struct secret_store *s = NULL;
	struct secret_value *v = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen, j;
	unsigned long long count = 1, k;
	char err[1024];
	size_t n = 0, i;
	int rc, ret = 2;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && config_parse_uint(argv[3], 1, 1000, &count) != 0)) {
		fprintf(stderr,
		    "usage: secrets_get CONFIG WORKSPACE [COUNT]\n");
		return 2;
	}
	if ((rc = config_load(argv[1], &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "secrets_get: %s\n", err);
		goto out;
	}
	if ((rc = secrets_open(cfg, &s, err, sizeof(err))) != 0) {
		fprintf(stderr, "secrets_get: %s\n", err);
		goto out;
	}
	ret = 1;
	for (k = 0; k < count; k++) {
		secrets_free_values(v, n);
		v = NULL;
		n = 0;
		rc = secrets_for_exec(s, argv[2], &v, &n, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "secrets_get: %s (%s)\n", err,
			    err_str(rc));
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (EVP_Digest(v[i].value, v[i].len, md, &mdlen, EVP_sha256(),
		        NULL) != 1)
			goto out;
		printf("%s=", v[i].name);
		for (j = 0; j < mdlen; j++)
			printf("%02x", md[j]);
		printf("\n");
	}
	ret = 0;
out:
	secrets_free_values(v, n);
	secrets_close(s);
	config_free(cfg);
	return ret;
}
