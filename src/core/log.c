/* Diagnostics to stderr, one write(2) per line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include "core/log.h"
#include "core/util.h"

static enum cl_log_level log_level = CL_LOG_NOTICE;
static bool log_json;

static const char *const level_name[] = { "error", "warning", "notice", "info", "debug" };

void cl_log_set_level(enum cl_log_level lvl) { log_level = lvl; }
void cl_log_set_json(bool on) { log_json = on; }
enum cl_log_level cl_log_get_level(void) { return log_level; }

const char *cl_strerror(int rc)
{
	switch (rc) {
	case CL_OK: return "success";
	case CL_ERR_NOMEM: return "out of memory";
	case CL_ERR_PARSE: return "malformed input";
	case CL_ERR_TOOBIG: return "too large";
	case CL_ERR_IO: return "I/O error";
	case CL_ERR_NOTFOUND: return "not found";
	case CL_ERR_LOCKED: return "encrypted and no password given";
	case CL_ERR_PASSWORD: return "wrong password";
	case CL_ERR_UNSUPPORTED: return "unsupported";
	case CL_ERR_BUSY: return "database is locked by another process";
	case CL_ERR_READONLY: return "database is read-only";
	case CL_ERR_SCHEMA: return "database schema is newer than this certledger";
	case CL_ERR_USAGE: return "usage error";
	case CL_ERR_INTERRUPTED: return "interrupted";
	default: return "failure";
	}
}

static void log_emit(enum cl_log_level lvl, const char *fmt, va_list ap, const char *suffix)
	__attribute__((format(printf, 2, 0)));
static void log_emit(enum cl_log_level lvl, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n, saved = errno;

	if (log_json) {
		char msg[1800], ts[40];
		struct timespec now;
		json_t *o;
		char *txt;

		vsnprintf(msg, sizeof msg, fmt, ap);
		if (suffix && *suffix) {
			size_t m = strlen(msg);
			snprintf(msg + m, sizeof msg - m, ": %s", suffix);
		}
		clock_gettime(CLOCK_REALTIME, &now);
		cl_time_fmt(ts, sizeof ts, (int64_t)now.tv_sec);
		/* one object per line; invalid UTF-8 is replaced, never dropped */
		o = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_name[lvl], "msg", msg);
		if (!o) {
			char *fixed = cl_escape_bytes(msg, strlen(msg));
			o = json_pack("{s:s,s:s,s:s?}", "ts", ts, "level", level_name[lvl], "msg", fixed);
			free(fixed);
		}
		txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (txt) {
			n = snprintf(line, sizeof line, "%s\n", txt);
			free(txt);
			if (n > (int)sizeof line - 1) {
				n = (int)sizeof line - 1;
				line[n - 1] = '\n';
			}
			if (write(STDERR_FILENO, line, (size_t)n) < 0) {
				/* nothing sensible left to do */
			}
		}
		errno = saved;
		return;
	}
	n = snprintf(line, sizeof line, "certledger: %s: ", level_name[lvl]);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	n = (int)strlen(line);
	if (suffix && *suffix)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", suffix);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nothing sensible left to do */
	}
	errno = saved;
}

void cl_log(enum cl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, fmt, ap, NULL);
	va_end(ap);
}

char *cl_ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (e != 0) {
		const char *r = ERR_reason_error_string(e);
		if (r)
			snprintf(buf, len, "%s", r);
		else
			ERR_error_string_n(e, buf, len);
	}
	ERR_clear_error();
	return buf;
}

void cl_log_ossl(enum cl_log_level lvl, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	cl_ossl_reason(reason, sizeof reason);
	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, fmt, ap, reason);
	va_end(ap);
}
