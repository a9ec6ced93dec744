/*
 * A growable byte buffer with a hard cap, in the spirit of curl's dynbuf.
 * The contents are always NUL terminated so they can be used as a string.
 */
#ifndef CL_BUF_H
#define CL_BUF_H

#include "core/cl.h"

struct cl_buf {
	char *data;   /* owned; NULL until the first add */
	size_t len;
	size_t cap;   /* allocated bytes */
	size_t max;   /* hard cap on len */
	int secret;   /* wipe memory before it is freed or moved */
};

/* Initialises an empty buffer that may grow to max bytes. */
void cl_buf_init(struct cl_buf *b, size_t max);

/*
 * Appends n bytes. Returns CL_OK, or CL_ERR_TOOBIG / CL_ERR_NOMEM, in
 * which case the buffer is freed (reset to empty) as with curl's dynbuf.
 */
int cl_buf_add(struct cl_buf *b, const void *p, size_t n);
int cl_buf_addstr(struct cl_buf *b, const char *s);
int cl_buf_addc(struct cl_buf *b, char c);
int cl_buf_printf(struct cl_buf *b, const char *fmt, ...) CL_PRINTF(2, 3);

/* Empties the buffer, keeping its allocation. */
void cl_buf_reset(struct cl_buf *b);

/* Frees the contents (wiped first when b->secret). */
void cl_buf_free(struct cl_buf *b);

/*
 * Returns the contents (never NULL: an empty string when nothing was
 * added) and leaves b empty. The caller frees the result with free().
 */
char *cl_buf_take(struct cl_buf *b);

#endif
