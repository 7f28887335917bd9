/*
 * log.h - operator logging (not auditing: audit events have their own
 * interface and schema).
 *
 * Lines go to stderr (or a file set with log_open_file()) as
 *   2026-12-04T21:00:00Z sentinel[pid]: LEVEL func: message
 * The level check happens before any formatting.
 */
#ifndef SN_LOG_H
#define SN_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level_current; /* read without a lock: a plain int */

void log_set_level(int level);
/* Parse "error|warn|info|debug"; returns 0 or SN_EINVAL. */
int log_parse_level(const char *s, int *out);
/* Send lines to path (appended, 0600) instead of stderr. */
int log_open_file(const char *path);
void log_msg(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, ...) \
	do { \
		if ((lvl) <= log_level_current) \
			log_msg((lvl), __func__, __VA_ARGS__); \
	} while (0)
#define log_error(...) log_at(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
