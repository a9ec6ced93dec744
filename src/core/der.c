/* Bounds-checked DER reading. */
#include <string.h>
#include "core/der.h"

static int der_header(const unsigned char *p, size_t n, unsigned *tag,
                      size_t *hdr, size_t *len)
{
	size_t l, i, nb;

	if (n < 2)
		return CL_ERR_PARSE;
	if ((p[0] & 0x1f) == 0x1f)  /* high tag numbers are not used by X.509 */
		return CL_ERR_PARSE;
	*tag = p[0];
	if (p[1] < 0x80) {
		*hdr = 2;
		*len = p[1];
	} else {
		nb = p[1] & 0x7f;
		if (nb == 0 || nb > 4 || n < 2 + nb)   /* indefinite or > 4 GiB */
			return CL_ERR_PARSE;
		for (l = 0, i = 0; i < nb; i++)
			l = (l << 8) | p[2 + i];
		*hdr = 2 + nb;
		*len = l;
	}
	if (*len > n - *hdr)
		return CL_ERR_PARSE;
	return CL_OK;
}

int cl_der_next(struct cl_der *d, struct cl_tlv *t)
{
	size_t hdr, len;
	unsigned tag;

	if (der_header(d->p, cl_der_left(d), &tag, &hdr, &len) != CL_OK)
		return CL_ERR_PARSE;
	t->tag = tag;
	t->raw = d->p;
	t->val = d->p + hdr;
	t->len = len;
	t->raw_len = hdr + len;
	d->p += hdr + len;
	return CL_OK;
}

int cl_der_expect(struct cl_der *d, unsigned tag, struct cl_tlv *t)
{
	if (cl_der_left(d) < 1 || d->p[0] != tag)
		return CL_ERR_PARSE;
	return cl_der_next(d, t);
}

bool cl_der_peek(const struct cl_der *d, unsigned tag)
{
	return cl_der_left(d) >= 1 && d->p[0] == tag;
}

void cl_der_enter(const struct cl_tlv *t, struct cl_der *inner)
{
	cl_der_init(inner, t->val, t->len);
}

size_t cl_der_elem_len(const unsigned char *p, size_t n)
{
	size_t hdr, len;
	unsigned tag;

	if (der_header(p, n, &tag, &hdr, &len) != CL_OK)
		return 0;
	return hdr + len;
}
