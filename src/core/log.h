/*
 * Diagnostics. Messages go to stderr as "certledger: LEVEL: text" on a
 * terminal and as one JSON object per line when CL_LOG_JSON is selected
 * (used later by the daemon). Thread safe: one line is written with one
 * write(2).
 */
#ifndef CL_LOG_H
#define CL_LOG_H

#include <stdbool.h>
#include "core/cl.h"

enum cl_log_level { CL_LOG_ERROR, CL_LOG_WARN, CL_LOG_NOTICE, CL_LOG_INFO, CL_LOG_DEBUG };

/* Sets the most verbose level printed (default CL_LOG_NOTICE). */
void cl_log_set_level(enum cl_log_level lvl);
/* One JSON object per line ({"ts", "level", "msg"}) instead of text:
 * for the daemon when stderr is not a terminal. */
void cl_log_set_json(bool on);
enum cl_log_level cl_log_get_level(void);

void cl_log(enum cl_log_level lvl, const char *fmt, ...) CL_PRINTF(2, 3);

/*
 * Logs fmt followed by the first reason on OpenSSL's error queue, then
 * clears the queue.
 */
void cl_log_ossl(enum cl_log_level lvl, const char *fmt, ...) CL_PRINTF(2, 3);

/*
 * Copies OpenSSL's first queued reason into buf (always NUL terminated)
 * and clears the queue. Returns buf.
 */
char *cl_ossl_reason(char *buf, size_t len);

#endif
