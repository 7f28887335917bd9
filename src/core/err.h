/*
 * err.h - Sentinel's error codes.
 *
 * Every function that can fail returns int: 0 on success, one of the
 * negative SN_E* codes below on failure.  err_str() turns a code into
 * text.  Translation to an errno (FUSE) or an HTTP status (API) happens
 * once, at the edge, with err_to_errno().
 */
#ifndef SN_ERR_H
#define SN_ERR_H

enum sn_err {
	SN_OK = 0,
	SN_ENOMEM = -1,   /* out of memory */
	SN_EIO = -2,      /* I/O error */
	SN_EINVAL = -3,   /* invalid argument or value */
	SN_ECONFIG = -4,  /* configuration error */
	SN_ENOENT = -5,   /* no such object */
	SN_EEXIST = -6,   /* already exists */
	SN_EPERM = -7,    /* not permitted */
	SN_EBUSY = -8,    /* busy / held by someone else */
	SN_ERANGE = -9,   /* value out of range / too long */
	SN_ESYS = -10,    /* a system call failed (errno has details) */
	SN_ENOTSUP = -11, /* not supported here */
	SN_ESTALE = -12,  /* object changed underneath us */
	SN_ERR_MAX_ = -13
};

/* Text for an SN_E* code (never NULL; unknown codes get a generic text). */
const char *err_str(int code);

/* Best errno for an SN_E* code (positive errno). */
int err_to_errno(int code);

#endif
