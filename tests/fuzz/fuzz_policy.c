/*
 * fuzz_policy.c - libFuzzer target for config text -> policy decisions.
 *
 *	make fuzz && tests/fuzz/fuzz_policy tests/fuzz/corpus_policy
 *
 * Every config that parses must give a policy for each of its workspaces,
 * a known role for each view, and decisions that keep the contract: 0 or
 * one of the documented errnos, a rule named exactly when refused, a
 * deny pattern with no wildcard hiding the path it spells.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_ops(const struct policy *p, unsigned perms, const char *path)
{
	const char *rule;
	int op, rc;

	for (op = 0; op < POLICY_OP_COUNT_; op++) {
		rule = "untouched";
		rc = policy_check(p, perms, (enum policy_op)op, path, &rule);
		if (rc != 0 && rc != -ENOENT && rc != -EACCES && rc != -EROFS)
			abort();
		if ((rc == 0) != (rule == NULL))
			abort();
		if (rc == -EROFS && !policy_op_changes((enum policy_op)op))
			abort();
		rc = policy_chaos(p, "v", (enum policy_op)op, path, 7, &rule);
		if (rc != 0 && rc != -ETIMEDOUT && rc != -ENOSPC)
			abort();
		if (rc != 0 && !policy_op_changes((enum policy_op)op))
			abort();
	}
	rc = policy_rename_ok(p, perms, path, "x/y", 1, &rule);
	if ((rc == 0) != (rule == NULL))
		abort();
	rc = policy_symlink_target_ok(p, path, path, &rule);
	if (rc != 0 && rc != -EPERM && rc != -ENOENT)
		abort();
}

static void
check_workspace(const struct sn_config *cfg, const struct sn_cfg_workspace *ws)
{
	static const char *const paths[] = { "", "a", "a/b.pem", ".git/x",
		"secrets/k", "src/main.c" };
	struct policy *p = NULL;
	char err[256], canon[4096];
	const char *rule;
	size_t i;
	unsigned perms;

	if (policy_new(cfg, ws, &p, err, sizeof(err)) != 0)
		abort(); /* config checked every pattern */
	policy_role_perms(cfg, "Dev", &perms);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		check_ops(p, perms, paths[i]);
		check_ops(p, PERM_READ_FILE, paths[i]);
	}
	for (i = 0; i < ws->deny.n; i++) {
		if (policy_canon_path(ws->deny.v[i], canon, sizeof(canon)) != 0)
			continue;
		check_ops(p, perms, canon);
		/* A pattern with no special character hides what it spells. */
		if (canon[0] != '\0' &&
		    strpbrk(ws->deny.v[i], "*?[\\") == NULL &&
		    policy_check(p, perms, POLICY_OP_LOOKUP, canon, &rule) !=
		        -ENOENT)
			abort();
	}
	for (i = 0; i < ws->readonly.n; i++) {
		if (policy_canon_path(ws->readonly.v[i], canon,
		        sizeof(canon)) == 0)
			check_ops(p, perms, canon);
	}
	(void)policy_size_ok(p, ws->max_file_size, &rule);
	if (policy_size_ok(p, ws->max_file_size, &rule) != 0)
		abort();
	(void)policy_quota_ok(p, ws->quota, 1, &rule);
	policy_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_cfg_workspace none;
	struct sn_config *cfg = NULL;
	char err[512];
	unsigned perms;
	size_t i;

	if (config_parse((const char *)data, size, "fuzz", &cfg, err,
	        sizeof(err)) != 0)
		return 0;
	for (i = 0; i < cfg->n_views; i++) {
		if (policy_role_perms(cfg, cfg->views[i].role, &perms) != 0)
			abort(); /* config checked every role */
	}
	for (i = 0; i < cfg->n_workspaces; i++)
		check_workspace(cfg, &cfg->workspaces[i]);
	if (cfg->n_workspaces == 0) {
		memset(&none, 0, sizeof(none));
		check_workspace(cfg, &none);
	}
	config_free(cfg);
	return 0;
}
