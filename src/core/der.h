/*
 * A length-aware DER cursor for untrusted bytes. Every read checks the
 * remaining length first; nothing here allocates.
 */
#ifndef CL_DER_H
#define CL_DER_H

#include <stdbool.h>
#include "core/cl.h"

struct cl_der {
	const unsigned char *p;  /* next unread byte */
	const unsigned char *end;
};

/* A decoded TLV: tag byte (low-tag-number form only), content and the
 * whole encoding including header. */
struct cl_tlv {
	unsigned tag;             /* e.g. 0x30 SEQUENCE, 0xa0 [0] constructed */
	const unsigned char *val; /* content */
	size_t len;
	const unsigned char *raw; /* tag byte */
	size_t raw_len;           /* header + content */
};

static inline void cl_der_init(struct cl_der *d, const unsigned char *p, size_t n)
{
	d->p = p;
	d->end = p + n;
}

static inline size_t cl_der_left(const struct cl_der *d)
{
	return (size_t)(d->end - d->p);
}

/*
 * Reads the next TLV (definite lengths up to 4 length bytes, minimal
 * encoding not required). Returns CL_OK and advances, or CL_ERR_PARSE
 * leaving the cursor unchanged.
 */
int cl_der_next(struct cl_der *d, struct cl_tlv *t);

/* Like cl_der_next but requires the given tag. */
int cl_der_expect(struct cl_der *d, unsigned tag, struct cl_tlv *t);

/* Returns true (without consuming) when the next tag equals tag. */
bool cl_der_peek(const struct cl_der *d, unsigned tag);

/* Enters the content of a constructed TLV: *inner covers t->val. */
void cl_der_enter(const struct cl_tlv *t, struct cl_der *inner);

/*
 * Length of the complete DER element starting at p (header + content),
 * or 0 when p[0..n) does not start with a well-formed definite-length
 * header whose content fits in n.
 */
size_t cl_der_elem_len(const unsigned char *p, size_t n);

#endif
