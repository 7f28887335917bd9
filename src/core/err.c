#include "autoconf.h"

#include <errno.h>

#include "core/err.h"

static const char *const texts[] = {
	[0] = "success",
	[1] = "out of memory",
	[2] = "input/output error",
	[3] = "invalid argument",
	[4] = "configuration error",
	[5] = "not found",
	[6] = "already exists",
	[7] = "not permitted",
	[8] = "busy",
	[9] = "out of range",
	[10] = "system call failed",
	[11] = "not supported",
	[12] = "stale object",
};

const char *
err_str(int code)
{
	if (code > 0 || code <= SN_ERR_MAX_)
		return "unknown error";
	return texts[-code];
}

int
err_to_errno(int code)
{
	switch (code) {
	case SN_OK: return 0;
	case SN_ENOMEM: return ENOMEM;
	case SN_EINVAL:
	case SN_ECONFIG: return EINVAL;
	case SN_ENOENT: return ENOENT;
	case SN_EEXIST: return EEXIST;
	case SN_EPERM: return EPERM;
	case SN_EBUSY: return EBUSY;
	case SN_ERANGE: return ERANGE;
	case SN_ENOTSUP: return EOPNOTSUPP;
	case SN_ESYS: return EIO;
	case SN_ESTALE: return ESTALE;
	default: return EIO;
	}
}
