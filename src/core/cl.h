/*
 * certledger core definitions shared by every module: return codes,
 * small helpers and the library version.
 *
 * Conventions (see docs/HACKING.md):
 *  - every non-static function is named cl_<module>_<verb>;
 *  - functions return CL_OK (0) or a negative CL_ERR_* code;
 *  - get0 returns a borrowed pointer, get1 a new reference, set0 takes
 *    ownership of its argument.
 */
#ifndef CL_CORE_H
#define CL_CORE_H

#include <stddef.h>
#include <stdint.h>

#define CL_VERSION "0.1.0"

enum cl_rc {
	CL_OK = 0,
	CL_ERR = -1,          /* generic failure, message already logged */
	CL_ERR_NOMEM = -2,
	CL_ERR_PARSE = -3,    /* malformed input */
	CL_ERR_TOOBIG = -4,   /* a hard cap was hit */
	CL_ERR_IO = -5,
	CL_ERR_NOTFOUND = -6,
	CL_ERR_LOCKED = -7,   /* encrypted container and no password */
	CL_ERR_PASSWORD = -8, /* encrypted container, wrong password */
	CL_ERR_UNSUPPORTED = -9,
	CL_ERR_BUSY = -10,    /* database locked by another process */
	CL_ERR_READONLY = -11,
	CL_ERR_SCHEMA = -12,  /* database from a newer certledger */
	CL_ERR_USAGE = -13,
	CL_ERR_INTERRUPTED = -14,
};

/* Process exit codes, documented in docs/certledger.1.md. */
enum cl_exit {
	CL_EXIT_OK = 0,
	CL_EXIT_NOMATCH = 1,
	CL_EXIT_USAGE = 2,
	CL_EXIT_RUNTIME = 3,
};

/* Returns a static, human readable description of a CL_ERR_* code. */
const char *cl_strerror(int rc);

#define CL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define CL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CL_UNUSED __attribute__((unused))
#else
#define CL_PRINTF(f, a)
#define CL_UNUSED
#endif

#endif
