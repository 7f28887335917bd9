/*
 * test_err.c - err_str() and err_to_errno().
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "core/err.h"
#include "tap.h"

static const struct {
	int code;
	const char *text;
	int err;
} cases[] = {
	{ SN_OK, "success", 0 },
	{ SN_ENOMEM, "out of memory", ENOMEM },
	{ SN_EIO, "input/output error", EIO },
	{ SN_EINVAL, "invalid argument", EINVAL },
	{ SN_ECONFIG, "configuration error", EINVAL },
	{ SN_ENOENT, "not found", ENOENT },
	{ SN_EEXIST, "already exists", EEXIST },
	{ SN_EPERM, "not permitted", EPERM },
	{ SN_EBUSY, "busy", EBUSY },
	{ SN_ERANGE, "out of range", ERANGE },
	{ SN_ESYS, "system call failed", EIO },
	{ SN_ENOTSUP, "not supported", EOPNOTSUPP },
	{ SN_ESTALE, "stale object", ESTALE },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

int
main(void)
{
	/* INT_MIN is left out: err_str() negates its argument. */
	static const int unknown[] = { SN_ERR_MAX_, -100, 1, 42, INT_MAX,
		INT_MIN + 1 };
	size_t i, j;
	int distinct = 1;

	is_int(NCASES, -SN_ERR_MAX_, "every code is covered");
	for (i = 0; i < NCASES; i++) {
		is_str(err_str(cases[i].code), cases[i].text, "err_str(%d)",
		    cases[i].code);
		is_int(err_to_errno(cases[i].code), cases[i].err,
		    "err_to_errno(%d)", cases[i].code);
		for (j = 0; j < i; j++) {
			if (strcmp(err_str(cases[i].code),
			        err_str(cases[j].code)) == 0)
				distinct = 0;
		}
	}
	ok(distinct, "all texts differ");
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		is_str(err_str(unknown[i]), "unknown error",
		    "err_str(%d) is generic", unknown[i]);
		is_int(err_to_errno(unknown[i]), EIO, "err_to_errno(%d) is EIO",
		    unknown[i]);
	}
	for (i = 1; i < NCASES; i++)
		ok(err_to_errno(cases[i].code) > 0,
		    "err_to_errno(%d) is a positive errno", cases[i].code);
	return done_testing();
}
