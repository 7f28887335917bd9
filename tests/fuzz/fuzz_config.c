/*
 * fuzz_config.c - libFuzzer target for config_parse().
 *
 *	make fuzz && tests/fuzz/fuzz_config tests/fuzz/corpus_config
 *
 * Besides "no crash, no leak" it checks the contract: on success every
 * view names a known workspace and has its required keys, values are in
 * range, every role has permissions; on failure *out is NULL and the
 * message is one non-empty line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_config *cfg = NULL;
	char err[512];
	size_t i;
	int rc;

	rc = config_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err));
	if (rc == 0) {
		if (cfg == NULL)
			abort();
		for (i = 0; i < cfg->n_views; i++) {
			if (cfg->views[i].agent == NULL ||
			    cfg->views[i].role == NULL ||
			    cfg->views[i].mountpoint == NULL ||
			    config_workspace(cfg, cfg->views[i].workspace) ==
			        NULL)
				abort();
			if (cfg->views[i].n_allowed_uids > 0 &&
			    !cfg->views[i].allow_other)
				abort();
		}
		if (cfg->fs.threads < 1 || cfg->fs.threads > 256 ||
		    cfg->fs.fd_cache < 64 || cfg->fs.fd_cache > 100000 ||
		    cfg->fs.cache_timeout > 31536000)
			abort();
		if (!(cfg->chaos.rate >= 0 && cfg->chaos.rate <= 1) ||
		    cfg->chaos.errors == 0 || cfg->chaos.scope == 0)
			abort();
		for (i = 0; i < cfg->n_roles; i++) {
			if (cfg->roles[i].perms == 0 ||
			    config_role(cfg, cfg->roles[i].name) == NULL)
				abort();
		}
	} else {
		if (cfg != NULL || (rc != SN_ECONFIG && rc != SN_ENOMEM) ||
		    err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
	}
	config_free(cfg);
	return 0;
}
