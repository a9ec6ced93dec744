/* Capped growable buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "core/buf.h"

void cl_buf_init(struct cl_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void cl_buf_free(struct cl_buf *b)
{
	if (b->data && b->secret)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void cl_buf_reset(struct cl_buf *b)
{
	if (b->data) {
		if (b->secret)
			OPENSSL_cleanse(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
}

static int buf_grow(struct cl_buf *b, size_t need)
{
	size_t ncap;
	char *n;

	if (need > b->max || need + 1 < need) {
		cl_buf_free(b);
		return CL_ERR_TOOBIG;
	}
	if (need + 1 <= b->cap)
		return CL_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		/* never leave a copy of a secret behind in freed memory */
		if ((n = malloc(ncap)) == NULL) {
			cl_buf_free(b);
			return CL_ERR_NOMEM;
		}
		if (b->data)
			memcpy(n, b->data, b->len + 1);
		cl_buf_free(b);
	} else if ((n = realloc(b->data, ncap)) == NULL) {
		cl_buf_free(b);
		return CL_ERR_NOMEM;
	}
	b->data = n;
	b->cap = ncap;
	return CL_OK;
}

int cl_buf_add(struct cl_buf *b, const void *p, size_t n)
{
	size_t len = b->len;
	int rc;

	if ((rc = buf_grow(b, len + n)) != CL_OK)
		return rc;
	if (n)
		memcpy(b->data + len, p, n);
	b->len = len + n;
	b->data[b->len] = '\0';
	return CL_OK;
}

int cl_buf_addstr(struct cl_buf *b, const char *s) { return cl_buf_add(b, s, strlen(s)); }
int cl_buf_addc(struct cl_buf *b, char c) { return cl_buf_add(b, &c, 1); }

int cl_buf_printf(struct cl_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CL_ERR;
	if ((size_t)n < sizeof small)
		return cl_buf_add(b, small, (size_t)n);
	if ((rc = buf_grow(b, b->len + (size_t)n)) != CL_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return CL_OK;
}

char *cl_buf_take(struct cl_buf *b)
{
	char *r = b->data;

	if (r == NULL)
		r = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return r;
}
