/*
 * Small helpers without a better home: hex, time, durations, globs,
 * UTF-8 hygiene and whole-file reading.
 */
#ifndef CL_UTIL_H
#define CL_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include "core/cl.h"

/* Writes 2*n lowercase hex digits and a NUL to out (size >= 2*n+1). */
void cl_hex(char *out, const unsigned char *p, size_t n);

/*
 * Formats t (Unix seconds, UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" into
 * out (size >= 32; years beyond 9999 are written as they are).
 * Returns out.
 */
char *cl_time_fmt(char *out, size_t len, int64_t t);

/*
 * Parses an RFC 3339 timestamp ("2027-03-15", "2027-03-15T10:00:00Z",
 * "2027-03-15T10:00:00+02:00", fractional seconds allowed) or "now".
 * Returns CL_OK and sets *out to Unix seconds, or CL_ERR_PARSE.
 */
int cl_time_parse(const char *s, int64_t *out);

/*
 * Parses a duration such as "30d", "12h", "90m", "45s", "2w", "1y" (365d)
 * or a bare number of days. Compound forms ("1d12h") are accepted.
 * Returns CL_OK and sets *out to seconds (>= 0), or CL_ERR_PARSE.
 */
int cl_duration_parse(const char *s, int64_t *out);

/* Unix seconds for a UTC calendar date and time (no range checks). */
int64_t cl_time_from_civil(int64_t y, unsigned mo, unsigned d, unsigned h,
                           unsigned mi, unsigned s);

/* floor(a / b) for b > 0, also for negative a. */
int64_t cl_floordiv(int64_t a, int64_t b);

/* Current time in Unix seconds; CL_NOW in the environment overrides it (tests). */
int64_t cl_now(void);
/* Shifts the clock cl_now() reads by seconds (a rehearsal: `serve --now`
 * on a running daemon, whose clock must still move). */
void cl_now_set_offset(int64_t seconds);

/* Case-insensitive shell glob match (fnmatch without FNM_PATHNAME). */
bool cl_glob(const char *pattern, const char *s);

/* Returns true when s[0..n) is valid UTF-8 without NUL bytes. */
bool cl_utf8_valid(const char *s, size_t n);

/* Printable text: valid UTF-8 without NUL or other control characters. */
bool cl_text_valid(const char *s, size_t n);

/* Optimal string alignment distance, case-insensitive; SIZE_MAX when a
 * string is longer than 32 bytes. For "did you mean" suggestions. */
size_t cl_edit_distance(const char *a, const char *b);

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255. */
bool cl_env_name_valid(const char *s);

/*
 * Reads a secret from a regular file of at most max bytes: the content
 * without a final line break, or with first_line only what comes before
 * the first line break. Returns CL_OK and *out (a new string; free it
 * with cl_secret_free), CL_ERR_NOMEM, or CL_ERR_IO / CL_ERR_PARSE with
 * *why saying what was wrong (never the content): not readable, not a
 * regular file, too large, empty, a NUL byte in the first line, or (whole
 * files) a control character before the end. Buffers are cleared before they are freed.
 */
int cl_secret_read_file(const char *path, size_t max, bool first_line, char **out,
                        const char **why);

/* Clears and frees a secret string (NULL is fine). */
void cl_secret_free(char *s);

/*
 * Returns a newly allocated copy of s[0..n) in which every byte that is
 * not part of valid UTF-8 (and every backslash) is written as \xNN, so
 * that any byte string, e.g. a file name, becomes printable and
 * JSON-safe while staying reversible with cl_unescape_bytes.
 * Returns NULL on allocation failure.
 */
char *cl_escape_bytes(const char *s, size_t n);

/* Reverses cl_escape_bytes. Returns a new string or NULL. */
char *cl_unescape_bytes(const char *s);

/*
 * Writes data to path atomically: a temporary file in the same directory
 * created with the given mode, written, fsync'd, renamed over path, and
 * the directory fsync'd. Returns CL_OK or CL_ERR_IO (errno set).
 */
int cl_write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* Writes all len bytes to fd (retrying short writes and EINTR); CL_OK or
 * CL_ERR_IO with errno set. */
int cl_write_all(int fd, const void *data, size_t len);

/* fsync(2) of a directory, so the names created or renamed in it last. */
int cl_fsync_dir(const char *dir);

/*
 * Makes the array *arrp (of elements of elem bytes, capacity *cap) hold at
 * least need elements, doubling as it grows. Returns CL_OK, or
 * CL_ERR_NOMEM leaving the array as it was. Use through CL_GROW.
 */
int cl_grow_impl(void *arrp, size_t *cap, size_t need, size_t elem);
#define CL_GROW(arr, cap, need) cl_grow_impl(&(arr), &(cap), (need), sizeof *(arr))

/*
 * Decodes exactly 2*n hex digits into out. Returns CL_OK or CL_ERR_PARSE.
 */
int cl_unhex(const char *hex, unsigned char *out, size_t n);

/* strdup that aborts on allocation failure is deliberately absent: callers check. */

#endif
