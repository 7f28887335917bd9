/*
 * dirs.h - directories Sentinel makes for itself (state dir, workspace
 * roots, mount points of the demo).
 */
#ifndef SN_DIRS_H
#define SN_DIRS_H

/*
 * mkdir -p: make path and its missing parents with mode (existing ones
 * are left as they are).  0, or a negative errno.
 */
int dirs_mkdir_p(const char *path, unsigned mode);

#endif
