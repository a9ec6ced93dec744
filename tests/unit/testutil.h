/* Helpers shared by the cmocka unit tests. */
#ifndef CL_TESTUTIL_H
#define CL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/*
 * Creates a fresh empty directory for this test process under
 * $CL_TEST_TMP (or /tmp) and returns its path (static storage).
 */
const char *tu_tmpdir(void);

/* Runs a shell command (e.g. an openssl invocation); fails the test on a non-zero exit. */
void tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file into a new buffer (NUL terminated); fails the test on error. */
unsigned char *tu_read(const char *path, size_t *len);

#endif
