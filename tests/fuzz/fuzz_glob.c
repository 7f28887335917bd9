/*
 * fuzz_glob.c - libFuzzer target for glob_compile() and glob_match().
 *
 *	make fuzz && tests/fuzz/fuzz_glob tests/fuzz/corpus_glob
 *
 * Input: a pattern, a newline, paths separated by newlines.  Besides "no
 * crash, no leak, no timeout" (matching is O(pattern * path)) it checks
 * the contract: a failed compile leaves *out NULL and a one-line reason;
 * a pattern covers everything under what it matches; a subtree moved
 * onto itself keeps everything.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_path(const struct glob *g, const char *path, size_t n)
{
	char *deeper;

	if (glob_match(g, path) && n > 0) {
		/* Everything under a matched path is matched. */
		if ((deeper = malloc(n + 3)) == NULL)
			return;
		memcpy(deeper, path, n);
		memcpy(deeper + n, "/x", 3);
		if (!glob_match(g, deeper))
			abort();
		free(deeper);
	}
	if (!glob_subtree_kept(g, path, path))
		abort();
	(void)glob_subtree_kept(g, path, "a/b");
	(void)glob_subtree_kept(g, "a/b", path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct glob *g = NULL;
	const char *nl;
	char *buf, *path, *pat, err[256];
	size_t plen, i, start;
	int rc;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = memchr(buf, '\n', size);
	plen = nl != NULL ? (size_t)(nl - buf) : size;
	if ((pat = malloc(plen + 1)) == NULL) {
		free(buf);
		return 0;
	}
	memcpy(pat, buf, plen);
	pat[plen] = '\0'; /* a NUL inside just ends the pattern */

	memset(err, 'x', sizeof(err));
	rc = glob_compile(pat, &g, err, sizeof(err));
	if (rc != 0) {
		if (g != NULL || rc != SN_EINVAL || err[0] == '\0' ||
		    memchr(err, '\0', sizeof(err)) == NULL ||
		    strchr(err, '\n') != NULL)
			abort();
		goto out;
	}
	if (g == NULL || strcmp(glob_pattern(g), pat) != 0 ||
	    glob_match(g, "") != 0)
		abort();
	if (nl == NULL)
		goto out;
	/* Each line after the pattern is a path. */
	for (start = plen + 1, i = start; i <= size; i++) {
		if (i < size && buf[i] != '\n')
			continue;
		buf[i] = '\0';
		path = buf + start;
		check_path(g, path, strlen(path));
		start = i + 1;
	}
out:
	glob_free(g);
	free(pat);
	free(buf);
	return 0;
}
