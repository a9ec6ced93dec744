/*
 * The certificate model (see cert.h): one bounds-checked walk over the
 * DER of a certificate. OpenSSL is used only for SHA-256, name
 * formatting, OID names, curve sizes and, for self-issued certificates,
 * the signature check.
 *
 * Parsing runs in two phases. walk_cert() checks the structure and
 * records where each part is, without allocating; then the fields are
 * extracted into an arena that also holds the certificate itself and
 * the copy of its DER, so a typical certificate costs one malloc.
 *
 * Leniency, chosen so that the inventory sees every certificate OpenSSL
 * would load: extensions are read whatever the version; a known
 * extension whose value is malformed is ignored (its fields keep their
 * defaults) rather than rejecting the certificate; when an extension
 * occurs twice the first one wins; a Name that OpenSSL cannot decode is
 * shown as "#" and the hex of its DER.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include "core/der.h"
#include "core/util.h"
#include "x509/cert.h"

enum {
	TAG_BOOLEAN = 0x01, TAG_INTEGER = 0x02, TAG_BITSTRING = 0x03,
	TAG_OCTETSTRING = 0x04, TAG_NULL = 0x05, TAG_OID = 0x06,
	TAG_UTCTIME = 0x17, TAG_GENTIME = 0x18, TAG_SEQ = 0x30, TAG_SET = 0x31,
	TAG_CTX0 = 0xa0,     /* [0] constructed */
	TAG_GN_OTHER = 0xa0, TAG_GN_EMAIL = 0x81, TAG_GN_DNS = 0x82,
	TAG_GN_DIRNAME = 0xa4, TAG_GN_URI = 0x86, TAG_GN_IP = 0x87, TAG_GN_RID = 0x88,
};

/* RFC 4514, but UTF-8 kept as UTF-8 instead of \XX escapes. */
#define NAME_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* ---- process-wide state, set up once ---- */

static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static EVP_MD *state_sha256;    /* fetched once, never freed */

static void state_init(void)
{
	state_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* ---- arena ---- */

struct blk {
	struct blk *next;
	size_t used, cap;
	max_align_t data[];
};

#define AR_ALIGN alignof(max_align_t)
#define AR_MIN 2048   /* smallest block, and slack of the first one */

struct parse {
	struct cl_cert *c;
	struct blk *first, *cur;
	const char *why;
};

static size_t ar_round(size_t n)
{
	return (n + AR_ALIGN - 1) & ~(AR_ALIGN - 1);
}

/* Returns n bytes aligned for any type, owned by the arena, or NULL. */
static void *ar_alloc(struct parse *ps, size_t n)
{
	struct blk *b = ps->cur;
	size_t need = ar_round(n), cap;
	void *p;

	if (need < n)
		return NULL;
	if (b->cap - b->used < need) {
		cap = need > AR_MIN ? need : AR_MIN;
		if (cap > SIZE_MAX - sizeof *b || (b = malloc(sizeof *b + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = ps->first->next;   /* the chain hangs off the first block */
		ps->first->next = b;
		ps->cur = b;
	}
	p = (unsigned char *)b->data + b->used;
	b->used += need;
	return p;
}

static char *ar_strndup(struct parse *ps, const void *p, size_t n)
{
	char *s;

	if (n == SIZE_MAX || (s = ar_alloc(ps, n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Returns prefix followed by text[0..n): as it is when it is valid UTF-8
 * without NUL, otherwise escaped with cl_escape_bytes. NULL on ENOMEM.
 */
static char *ar_text(struct parse *ps, const char *prefix, const void *text, size_t n)
{
	size_t pl = strlen(prefix);
	char *esc = NULL, *s = NULL;

	if (!cl_utf8_valid(text, n)) {
		if ((esc = cl_escape_bytes(text, n)) == NULL)
			return NULL;
		text = esc;
		n = strlen(esc);
	}
	if (n < SIZE_MAX - pl - 1 && (s = ar_alloc(ps, pl + n + 1)) != NULL) {
		memcpy(s, prefix, pl);
		if (n > 0)
			memcpy(s + pl, text, n);
		s[pl + n] = '\0';
	}
	free(esc);
	return s;
}

/* Returns prefix followed by the lowercase hex of p[0..n), or NULL. */
static char *ar_hex(struct parse *ps, const char *prefix, const unsigned char *p, size_t n)
{
	size_t pl = strlen(prefix);
	char *s;

	if (n > (SIZE_MAX - pl - 1) / 2 || (s = ar_alloc(ps, pl + 2 * n + 1)) == NULL)
		return NULL;
	memcpy(s, prefix, pl);
	cl_hex(s + pl, p, n);
	return s;
}

/* Appends s (NULL means allocation failure) to a list in the arena. */
static int strv_add(struct parse *ps, struct cl_strv *sv, char *s)
{
	size_t cap;
	char **v;

	if (s == NULL)
		return CL_ERR_NOMEM;
	/* capacity is implied by n: 4, then doubling at each power of two */
	if (sv->n == 0 || (sv->n >= 4 && (sv->n & (sv->n - 1)) == 0)) {
		cap = sv->n == 0 ? 4 : sv->n * 2;
		if ((v = ar_alloc(ps, cap * sizeof *v)) == NULL)
			return CL_ERR_NOMEM;
		if (sv->n > 0)
			memcpy(v, sv->v, sv->n * sizeof *v);
		sv->v = v;
	}
	sv->v[sv->n++] = s;
	return CL_OK;
}

/* A string growing in the arena (old copies are left behind). */
struct join {
	char *s;
	size_t len, cap;
};

/* Appends item. Returns CL_OK or CL_ERR_NOMEM. */
static int cat(struct parse *ps, struct join *j, const char *item)
{
	size_t n = strlen(item), need = j->len + n + 1, cap;
	char *s;

	if (need > j->cap) {
		cap = j->cap ? j->cap * 2 : 128;
		if (cap < need)
			cap = need;
		if ((s = ar_alloc(ps, cap)) == NULL)
			return CL_ERR_NOMEM;
		if (j->len > 0)
			memcpy(s, j->s, j->len);
		j->s = s;
		j->cap = cap;
	}
	memcpy(j->s + j->len, item, n + 1);
	j->len += n;
	return CL_OK;
}

/* Appends item to a comma-separated list. */
static int join_add(struct parse *ps, struct join *j, const char *item)
{
	if (j->len > 0 && cat(ps, j, ",") != CL_OK)
		return CL_ERR_NOMEM;
	return cat(ps, j, item);
}

/* ---- small DER helpers ---- */

/*
 * Reads the next TLV, which must have the given tag. On failure sets
 * ps->why to "truncated" when the input ends or a length overruns it,
 * else to what.
 */
static int need(struct parse *ps, struct cl_der *d, unsigned tag, struct cl_tlv *t,
                const char *what)
{
	if (cl_der_left(d) == 0) {
		ps->why = "truncated";
		return CL_ERR_PARSE;
	}
	if (d->p[0] != tag) {
		ps->why = what;
		return CL_ERR_PARSE;
	}
	if (cl_der_next(d, t) != CL_OK) {
		ps->why = "truncated";
		return CL_ERR_PARSE;
	}
	return CL_OK;
}

static int need_end(struct parse *ps, const struct cl_der *d, const char *what)
{
	if (cl_der_left(d) != 0) {
		ps->why = what;
		return CL_ERR_PARSE;
	}
	return CL_OK;
}

/* X.690 8.19: non-empty, last byte ends a subidentifier, no 0x80 padding. */
static bool oid_valid(const unsigned char *p, size_t n)
{
	size_t i;

	if (n == 0 || (p[n - 1] & 0x80))
		return false;
	for (i = 0; i < n; i++)
		if (p[i] == 0x80 && (i == 0 || !(p[i - 1] & 0x80)))
			return false;
	return true;
}

static bool oid_eq(const struct cl_tlv *t, const unsigned char *oid, size_t n)
{
	return t->len == n && memcmp(t->val, oid, n) == 0;
}

/* A BIT STRING with a sane unused-bits byte; sets bits, n to its data bytes. */
static bool bitstring(const struct cl_tlv *t, const unsigned char **bits, size_t *n)
{
	if (t->len < 1 || t->val[0] > 7 || (t->len == 1 && t->val[0] != 0))
		return false;
	*bits = t->val + 1;
	*n = t->len - 1;
	return true;
}

/* Bit length of the magnitude of an unsigned big-endian integer. */
static int int_bits(const unsigned char *p, size_t n)
{
	unsigned b;
	int bits = 0;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0)
		return 0;
	if (n > (size_t)INT_MAX / 8)
		return INT_MAX;
	for (b = p[0]; b != 0; b >>= 1)
		bits++;
	return (int)(n - 1) * 8 + bits;
}

/*
 * A new ASN1_OBJECT for the OID content p[0..n), or NULL. Known OIDs come
 * back as OpenSSL's static objects, so this does not allocate for them.
 */
static ASN1_OBJECT *oid_obj(const unsigned char *p, size_t n)
{
	unsigned char stackbuf[96], *der = stackbuf;
	const unsigned char *q;
	ASN1_OBJECT *obj = NULL;
	size_t hl = 2;

	if (n > INT_MAX - 8)
		return NULL;
	if (n + 8 > sizeof stackbuf && (der = malloc(n + 8)) == NULL)
		return NULL;
	der[0] = TAG_OID;
	if (n < 0x80) {
		der[1] = (unsigned char)n;
	} else {   /* 4 length bytes is always enough here */
		der[1] = 0x84;
		der[2] = (unsigned char)(n >> 24);
		der[3] = (unsigned char)(n >> 16);
		der[4] = (unsigned char)(n >> 8);
		der[5] = (unsigned char)n;
		hl = 6;
	}
	memcpy(der + hl, p, n);
	q = der;
	obj = d2i_ASN1_OBJECT(NULL, &q, (long)(hl + n));
	if (der != stackbuf)
		free(der);
	return obj;
}

/* OpenSSL's NID for the OID content p[0..n), NID_undef when unknown. */
static int oid_nid(const unsigned char *p, size_t n)
{
	ASN1_OBJECT *obj = oid_obj(p, n);
	int nid = OBJ_obj2nid(obj);

	ASN1_OBJECT_free(obj);
	return nid;
}

/*
 * prefix + dotted form through OpenSSL, for arcs wider than 64 bits. When
 * OpenSSL declines too (absurdly long arcs), "#" and the hex of the OID
 * content stand in for it.
 */
static char *oid_dotted_ossl(struct parse *ps, const char *prefix,
                             const unsigned char *p, size_t n)
{
	ASN1_OBJECT *obj = oid_obj(p, n);
	size_t pl = strlen(prefix);
	char *s = NULL, *hp;
	int len;

	if (obj != NULL && (len = OBJ_obj2txt(NULL, 0, obj, 1)) > 0) {
		if ((s = ar_alloc(ps, pl + (size_t)len + 1)) != NULL) {
			memcpy(s, prefix, pl);
			if (OBJ_obj2txt(s + pl, len + 1, obj, 1) != len)
				s = NULL;
		}
	}
	ASN1_OBJECT_free(obj);
	if (s == NULL && (hp = ar_hex(ps, "#", p, n)) != NULL)
		s = ar_text(ps, prefix, hp, strlen(hp));
	return s;
}

/*
 * Returns prefix followed by the dotted form of the (valid) OID content
 * p[0..n), as OBJ_obj2txt(..., 1) writes it, or NULL on ENOMEM.
 */
static char *oid_dotted(struct parse *ps, const char *prefix, const unsigned char *p, size_t n)
{
	size_t i, pl = strlen(prefix);
	bool first = true;
	uint64_t v = 0;
	unsigned arc0;
	char *s, *o;

	/* each byte adds at most 7 bits: <= 3 digits and a dot */
	if (n > (SIZE_MAX - pl - 8) / 5 || (s = ar_alloc(ps, pl + 5 * n + 8)) == NULL)
		return NULL;
	memcpy(s, prefix, pl);
	o = s + pl;
	for (i = 0; i < n; i++) {
		if (v > (UINT64_MAX >> 7))
			return oid_dotted_ossl(ps, prefix, p, n);
		v = (v << 7) | (p[i] & 0x7f);
		if (p[i] & 0x80)
			continue;
		if (first) {
			arc0 = v < 40 ? 0 : v < 80 ? 1 : 2;
			o += sprintf(o, "%u.%" PRIu64, arc0, v - 40 * (uint64_t)arc0);
			first = false;
		} else {
			o += sprintf(o, ".%" PRIu64, v);
		}
		v = 0;
	}
	*o = '\0';
	return s;
}

/* OpenSSL's name for an OID (short or long), else its dotted form. */
static char *oid_name(struct parse *ps, const unsigned char *p, size_t n, bool long_name)
{
	int nid = oid_nid(p, n);
	const char *name = NULL;

	if (nid != NID_undef)
		name = long_name ? OBJ_nid2ln(nid) : OBJ_nid2sn(nid);
	if (name != NULL)
		return ar_strndup(ps, name, strlen(name));
	return oid_dotted(ps, "", p, n);
}

/* ---- time ---- */

static bool leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool digits(const unsigned char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int cl_cert_time_parse(unsigned tag, const unsigned char *s, size_t n, int64_t *out)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned yr, mo, d, h, mi, se;
	size_t yl, i;
	int64_t y;

	if (tag == TAG_UTCTIME && n == 13)
		yl = 2;
	else if (tag == TAG_GENTIME && n >= 15)
		yl = 4;
	else
		return CL_ERR_PARSE;
	if (!digits(s, yl, &yr) || !digits(s + yl, 2, &mo) || !digits(s + yl + 2, 2, &d) ||
	    !digits(s + yl + 4, 2, &h) || !digits(s + yl + 6, 2, &mi) ||
	    !digits(s + yl + 8, 2, &se))
		return CL_ERR_PARSE;
	i = yl + 10;
	if (tag == TAG_GENTIME && s[i] == '.') {   /* fraction: at least one digit */
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return CL_ERR_PARSE;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i != n - 1 || s[i] != 'Z')
		return CL_ERR_PARSE;
	y = yl == 2 ? (yr >= 50 ? 1900 + yr : 2000 + yr) : yr;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > (unsigned)mdays[mo - 1] + (mo == 2 && leap_year(y)) ||
	    h > 23 || mi > 59 || se > 59)
		return CL_ERR_PARSE;
	*out = cl_time_from_civil(y, mo, d, h, mi, se);
	return CL_OK;
}

/* ---- structure ---- */

/* Where the parts of a certificate are, as found by walk_cert(). */
struct parts {
	int version;
	struct cl_tlv serial, issuer, subject, spki;
	struct cl_tlv key_oid, key_params, key;  /* key_params.raw NULL if absent */
	struct cl_tlv sig_oid;
	struct cl_tlv exts;                      /* exts.raw NULL if absent */
	int64_t not_before, not_after;
};

/* AlgorithmIdentifier ::= SEQUENCE { OID, parameters ANY OPTIONAL } */
static int walk_algid(struct parse *ps, struct cl_der *d, struct cl_tlv *oid,
                      struct cl_tlv *params)
{
	struct cl_der a;
	struct cl_tlv t;

	if (need(ps, d, TAG_SEQ, &t, "bad algorithm identifier") != CL_OK)
		return CL_ERR_PARSE;
	cl_der_enter(&t, &a);
	if (need(ps, &a, TAG_OID, oid, "bad algorithm identifier") != CL_OK)
		return CL_ERR_PARSE;
	if (!oid_valid(oid->val, oid->len)) {
		ps->why = "bad OID";
		return CL_ERR_PARSE;
	}
	memset(params, 0, sizeof *params);
	if (cl_der_left(&a) > 0 && cl_der_next(&a, params) != CL_OK) {
		ps->why = "bad algorithm parameters";
		return CL_ERR_PARSE;
	}
	return need_end(ps, &a, "bad algorithm identifier");
}

/* Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY } */
static int walk_name(struct parse *ps, const struct cl_tlv *name)
{
	struct cl_der d, rdn, atv;
	struct cl_tlv set, seq, t;

	cl_der_enter(name, &d);
	while (cl_der_left(&d) > 0) {
		if (need(ps, &d, TAG_SET, &set, "bad name") != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&set, &rdn);
		while (cl_der_left(&rdn) > 0) {
			if (need(ps, &rdn, TAG_SEQ, &seq, "bad name") != CL_OK)
				return CL_ERR_PARSE;
			cl_der_enter(&seq, &atv);
			if (need(ps, &atv, TAG_OID, &t, "bad name") != CL_OK)
				return CL_ERR_PARSE;
			if (!oid_valid(t.val, t.len)) {
				ps->why = "bad OID";
				return CL_ERR_PARSE;
			}
			if (cl_der_next(&atv, &t) != CL_OK) {
				ps->why = "bad name";
				return CL_ERR_PARSE;
			}
			if (need_end(ps, &atv, "bad name") != CL_OK)
				return CL_ERR_PARSE;
		}
	}
	return CL_OK;
}

static int walk_time(struct parse *ps, struct cl_der *d, int64_t *out)
{
	struct cl_tlv t;

	if (cl_der_next(d, &t) != CL_OK) {
		ps->why = "truncated";
		return CL_ERR_PARSE;
	}
	if (cl_cert_time_parse(t.tag, t.val, t.len, out) != CL_OK) {
		ps->why = "bad validity time";
		return CL_ERR_PARSE;
	}
	return CL_OK;
}

/* Checks the structure of der[0..len) and records its parts; no allocation. */
static int walk_cert(struct parse *ps, const unsigned char *der, size_t len, struct parts *pt)
{
	struct cl_der top, cert, tbs, in;
	struct cl_tlv t, tbs_tlv, params;
	const unsigned char *bits;
	size_t nbits;

	memset(pt, 0, sizeof *pt);
	cl_der_init(&top, der, len);
	if (need(ps, &top, TAG_SEQ, &t, "not a certificate") != CL_OK ||
	    need_end(ps, &top, "trailing data") != CL_OK)
		return CL_ERR_PARSE;
	cl_der_enter(&t, &cert);
	if (need(ps, &cert, TAG_SEQ, &tbs_tlv, "bad TBSCertificate") != CL_OK ||
	    walk_algid(ps, &cert, &pt->sig_oid, &params) != CL_OK ||
	    need(ps, &cert, TAG_BITSTRING, &t, "bad signature") != CL_OK ||
	    need_end(ps, &cert, "trailing data in certificate") != CL_OK)
		return CL_ERR_PARSE;
	if (!bitstring(&t, &bits, &nbits)) {
		ps->why = "bad signature";
		return CL_ERR_PARSE;
	}

	cl_der_enter(&tbs_tlv, &tbs);
	pt->version = 1;
	if (cl_der_peek(&tbs, TAG_CTX0)) {
		if (need(ps, &tbs, TAG_CTX0, &t, "bad version") != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&t, &in);
		if (need(ps, &in, TAG_INTEGER, &t, "bad version") != CL_OK ||
		    need_end(ps, &in, "bad version") != CL_OK)
			return CL_ERR_PARSE;
		if (t.len != 1 || t.val[0] > 2) {
			ps->why = "bad version";
			return CL_ERR_PARSE;
		}
		pt->version = t.val[0] + 1;
	}
	if (need(ps, &tbs, TAG_INTEGER, &pt->serial, "bad serial") != CL_OK)
		return CL_ERR_PARSE;
	if (pt->serial.len == 0) {
		ps->why = "bad serial";
		return CL_ERR_PARSE;
	}
	if (walk_algid(ps, &tbs, &t, &params) != CL_OK ||
	    need(ps, &tbs, TAG_SEQ, &pt->issuer, "bad issuer") != CL_OK ||
	    walk_name(ps, &pt->issuer) != CL_OK)
		return CL_ERR_PARSE;

	if (need(ps, &tbs, TAG_SEQ, &t, "bad validity") != CL_OK)
		return CL_ERR_PARSE;
	cl_der_enter(&t, &in);
	if (walk_time(ps, &in, &pt->not_before) != CL_OK ||
	    walk_time(ps, &in, &pt->not_after) != CL_OK ||
	    need_end(ps, &in, "bad validity") != CL_OK)
		return CL_ERR_PARSE;

	if (need(ps, &tbs, TAG_SEQ, &pt->subject, "bad subject") != CL_OK ||
	    walk_name(ps, &pt->subject) != CL_OK)
		return CL_ERR_PARSE;

	if (need(ps, &tbs, TAG_SEQ, &pt->spki, "bad public key info") != CL_OK)
		return CL_ERR_PARSE;
	cl_der_enter(&pt->spki, &in);
	if (walk_algid(ps, &in, &pt->key_oid, &pt->key_params) != CL_OK ||
	    need(ps, &in, TAG_BITSTRING, &pt->key, "bad public key") != CL_OK ||
	    need_end(ps, &in, "bad public key info") != CL_OK)
		return CL_ERR_PARSE;
	if (!bitstring(&pt->key, &bits, &nbits)) {
		ps->why = "bad public key";
		return CL_ERR_PARSE;
	}

	/* issuerUniqueID [1], subjectUniqueID [2]: skipped */
	if (cl_der_peek(&tbs, 0x81) && need(ps, &tbs, 0x81, &t, "bad TBSCertificate") != CL_OK)
		return CL_ERR_PARSE;
	if (cl_der_peek(&tbs, 0x82) && need(ps, &tbs, 0x82, &t, "bad TBSCertificate") != CL_OK)
		return CL_ERR_PARSE;
	if (cl_der_peek(&tbs, 0xa3)) {
		if (need(ps, &tbs, 0xa3, &t, "bad extensions") != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&t, &in);
		if (need(ps, &in, TAG_SEQ, &pt->exts, "bad extensions") != CL_OK ||
		    need_end(ps, &in, "bad extensions") != CL_OK)
			return CL_ERR_PARSE;
	}
	return need_end(ps, &tbs, "trailing data in TBSCertificate");
}

/* ---- names ---- */

/*
 * For a Name OpenSSL refuses to decode (e.g. a UTF8String that is not
 * UTF-8): RFC 4514 with every value in its "#" hex form (section 2.4),
 * and the last CN's raw bytes, escaped unless valid UTF-8.
 */
static int name_fallback(struct parse *ps, const char *prefix, const struct cl_tlv *t,
                         char **str, char **cn)
{
	static const unsigned char cn_oid[] = { 0x55, 0x04, 0x03 };
	struct cl_tlv *rdns, set, seq, oid, val, cn_val = { 0 };
	struct join j = { 0 };
	struct cl_der d, rdn, atv;
	size_t nrdn = 0, i, cn_rdn = 0;
	bool have_cn = false, first;
	const char *sep;
	char *type, *hex;

	/* RFC 4514 writes the last RDN first: index them */
	cl_der_enter(t, &d);
	while (cl_der_left(&d) > 0 && cl_der_next(&d, &set) == CL_OK)
		nrdn++;
	if ((rdns = ar_alloc(ps, (nrdn ? nrdn : 1) * sizeof *rdns)) == NULL)
		return CL_ERR_NOMEM;
	cl_der_enter(t, &d);
	for (i = 0; i < nrdn; i++)
		(void)cl_der_next(&d, &rdns[i]);
	if (cat(ps, &j, prefix) != CL_OK)
		return CL_ERR_NOMEM;
	for (i = nrdn; i-- > 0; ) {
		cl_der_enter(&rdns[i], &rdn);
		for (first = true; cl_der_left(&rdn) > 0 && cl_der_next(&rdn, &seq) == CL_OK;
		     first = false) {
			cl_der_enter(&seq, &atv);
			if (cl_der_next(&atv, &oid) != CL_OK || cl_der_next(&atv, &val) != CL_OK)
				continue;   /* walk_name() already rejected this */
			if (oid.len == sizeof cn_oid && memcmp(oid.val, cn_oid, oid.len) == 0 &&
			    (!have_cn || cn_rdn == i)) {   /* the last CN in DER order */
				cn_val = val;
				cn_rdn = i;
				have_cn = true;
			}
			sep = !first ? "+" : i + 1 < nrdn ? "," : "";   /* '+': multi-valued RDN */
			if ((type = oid_name(ps, oid.val, oid.len, false)) == NULL ||
			    (hex = ar_hex(ps, "=#", val.raw, val.raw_len)) == NULL ||
			    cat(ps, &j, sep) != CL_OK || cat(ps, &j, type) != CL_OK ||
			    cat(ps, &j, hex) != CL_OK)
				return CL_ERR_NOMEM;
		}
	}
	*str = j.s;
	if (cn == NULL)
		return CL_OK;
	*cn = have_cn ? ar_text(ps, "", cn_val.val, cn_val.len) : ar_strndup(ps, "", 0);
	return *cn != NULL ? CL_OK : CL_ERR_NOMEM;
}

/*
 * Formats the Name TLV t (already checked by walk_name) as RFC 4514 into
 * *str and, when cn is not NULL, its last commonName into *cn ("" when
 * there is none). Both are valid UTF-8. Returns CL_OK or CL_ERR_NOMEM.
 */
static int name_fmt(struct parse *ps, const char *prefix, const struct cl_tlv *t,
                    char **str, char **cn)
{
	const unsigned char *q = t->raw;
	X509_NAME *nm = NULL;
	const X509_NAME_ENTRY *ne;
	const ASN1_STRING *as;
	unsigned char *u8 = NULL;
	BIO *bio = NULL;
	char *data;
	long dlen;
	int rc = CL_ERR_NOMEM, i, last, n;

	*str = NULL;
	if (cn != NULL)
		*cn = NULL;
	if (t->raw_len > LONG_MAX ||
	    (nm = d2i_X509_NAME(NULL, &q, (long)t->raw_len)) == NULL ||
	    q != t->raw + t->raw_len) {
		rc = name_fallback(ps, prefix, t, str, cn);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	/* when a value cannot be printed, e.g. a BMPString of odd length */
	if (X509_NAME_print_ex(bio, nm, 0, NAME_FLAGS) < 0) {
		rc = name_fallback(ps, prefix, t, str, cn);
		goto out;
	}
	if ((dlen = BIO_get_mem_data(bio, &data)) < 0 ||
	    (*str = ar_text(ps, prefix, data, (size_t)dlen)) == NULL)
		goto out;

	if (cn != NULL) {
		for (last = -1, i = -1;
		     (i = X509_NAME_get_index_by_NID(nm, NID_commonName, i)) >= 0; )
			last = i;
		if (last < 0) {
			*cn = ar_strndup(ps, "", 0);
		} else {
			ne = X509_NAME_get_entry(nm, last);
			as = X509_NAME_ENTRY_get_data(ne);
			if ((n = ASN1_STRING_to_UTF8(&u8, as)) >= 0)
				*cn = ar_text(ps, "", u8, (size_t)n);
			else   /* not a string type OpenSSL can convert */
				*cn = ar_text(ps, "", ASN1_STRING_get0_data(as),
				              (size_t)ASN1_STRING_length(as));
		}
		if (*cn == NULL)
			goto out;
	}
	rc = CL_OK;
out:
	OPENSSL_free(u8);
	BIO_free(bio);
	X509_NAME_free(nm);
	return rc;
}

/*
 * Issuer names repeat: most certificates of a tree share a few issuers,
 * and formatting a Name is most of the cost of a parse. Each thread keeps
 * the last few formatted issuers, keyed by their DER.
 */
#define NAME_CACHE_SLOTS 8
#define NAME_CACHE_MAX_DER 1024

struct name_cache {
	struct {
		unsigned char der[NAME_CACHE_MAX_DER];
		size_t der_len;   /* 0 = empty slot */
		char *str, *cn;
	} slot[NAME_CACHE_SLOTS];
	unsigned next;
};

static pthread_key_t name_cache_key;
static pthread_once_t name_cache_once = PTHREAD_ONCE_INIT;

static void name_cache_free(void *arg)
{
	struct name_cache *nc = arg;
	unsigned i;

	for (i = 0; nc && i < NAME_CACHE_SLOTS; i++) {
		free(nc->slot[i].str);
		free(nc->slot[i].cn);
	}
	free(nc);
}

static void name_cache_init(void)
{
	(void)pthread_key_create(&name_cache_key, name_cache_free);
}

static struct name_cache *name_cache_get(void)
{
	struct name_cache *nc;

	if (pthread_once(&name_cache_once, name_cache_init) != 0)
		return NULL;
	if ((nc = pthread_getspecific(name_cache_key)) == NULL &&
	    (nc = calloc(1, sizeof *nc)) != NULL && pthread_setspecific(name_cache_key, nc) != 0) {
		free(nc);
		nc = NULL;
	}
	return nc;
}

/* name_fmt for names that repeat across certificates (issuers). */
static int name_fmt_cached(struct parse *ps, const struct cl_tlv *t, char **str, char **cn)
{
	struct name_cache *nc = t->raw_len <= NAME_CACHE_MAX_DER ? name_cache_get() : NULL;
	unsigned i;
	int rc;

	for (i = 0; nc && i < NAME_CACHE_SLOTS; i++) {
		if (nc->slot[i].der_len == t->raw_len &&
		    memcmp(nc->slot[i].der, t->raw, t->raw_len) == 0) {
			*str = ar_text(ps, "", nc->slot[i].str, strlen(nc->slot[i].str));
			*cn = ar_text(ps, "", nc->slot[i].cn, strlen(nc->slot[i].cn));
			return *str && *cn ? CL_OK : CL_ERR_NOMEM;
		}
	}
	if ((rc = name_fmt(ps, "", t, str, cn)) != CL_OK || !nc)
		return rc;
	i = nc->next++ % NAME_CACHE_SLOTS;
	free(nc->slot[i].str);
	free(nc->slot[i].cn);
	nc->slot[i].str = strdup(*str);
	nc->slot[i].cn = strdup(*cn);
	if (nc->slot[i].str && nc->slot[i].cn) {
		memcpy(nc->slot[i].der, t->raw, t->raw_len);
		nc->slot[i].der_len = t->raw_len;
	} else {
		free(nc->slot[i].str);
		free(nc->slot[i].cn);
		nc->slot[i].str = nc->slot[i].cn = NULL;
		nc->slot[i].der_len = 0;
	}
	return CL_OK;
}

/* ---- public key ---- */

enum key_kind { KEY_OTHER, KEY_RSA, KEY_EC, KEY_DSA };

static const struct key_alg {
	const char *oid, *name;
	enum key_kind kind;
	int bits;            /* fixed size, KEY_OTHER only */
} key_algs[] = {
	{ "1.2.840.113549.1.1.1", "RSA", KEY_RSA, 0 },
	{ "1.2.840.113549.1.1.10", "RSA-PSS", KEY_RSA, 0 },
	{ "1.2.840.10045.2.1", "EC", KEY_EC, 0 },
	{ "1.3.101.112", "Ed25519", KEY_OTHER, 253 },
	{ "1.3.101.113", "Ed448", KEY_OTHER, 456 },
	{ "1.3.101.110", "X25519", KEY_OTHER, 253 },
	{ "1.3.101.111", "X448", KEY_OTHER, 448 },
	{ "1.2.840.10040.4.1", "DSA", KEY_DSA, 0 },
	/* FIPS 204, 205, 203 (NIST CSOR) */
	{ "2.16.840.1.101.3.4.3.17", "ML-DSA-44", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.18", "ML-DSA-65", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.19", "ML-DSA-87", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.20", "SLH-DSA-SHA2-128s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.21", "SLH-DSA-SHA2-128f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.22", "SLH-DSA-SHA2-192s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.23", "SLH-DSA-SHA2-192f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.24", "SLH-DSA-SHA2-256s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.25", "SLH-DSA-SHA2-256f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.26", "SLH-DSA-SHAKE-128s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.27", "SLH-DSA-SHAKE-128f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.28", "SLH-DSA-SHAKE-192s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.29", "SLH-DSA-SHAKE-192f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.30", "SLH-DSA-SHAKE-256s", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.3.31", "SLH-DSA-SHAKE-256f", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.4.1", "ML-KEM-512", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.4.2", "ML-KEM-768", KEY_OTHER, 0 },
	{ "2.16.840.1.101.3.4.4.3", "ML-KEM-1024", KEY_OTHER, 0 },
};

static const struct { int nid, bits; } curve_bits[] = {
	{ NID_X9_62_prime256v1, 256 }, { NID_secp384r1, 384 }, { NID_secp521r1, 521 },
	{ NID_secp224r1, 224 }, { NID_X9_62_prime192v1, 192 }, { NID_secp256k1, 256 },
	{ NID_brainpoolP256r1, 256 }, { NID_brainpoolP384r1, 384 },
	{ NID_brainpoolP512r1, 512 },
};

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }:
 * bits of the modulus; the exponent and the ROCA test into c */
static int rsa_key(struct cl_cert *c, const struct cl_tlv *key)
{
	const unsigned char *p;
	struct cl_der d, s;
	struct cl_tlv seq, n, e;
	size_t len;

	if (!bitstring(key, &p, &len) || key->val[0] != 0)
		return 0;
	cl_der_init(&d, p, len);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return 0;
	cl_der_enter(&seq, &s);
	if (cl_der_expect(&s, TAG_INTEGER, &n) != CL_OK ||
	    cl_der_expect(&s, TAG_INTEGER, &e) != CL_OK || cl_der_left(&s) != 0)
		return 0;
	c->rsa_e = 0;
	for (size_t i = 0; i < e.len; i++) {
		if (c->rsa_e > (INT64_C(1) << 54)) {
			c->rsa_e = -1;  /* absurdly large: reported, never used */
			break;
		}
		c->rsa_e = (c->rsa_e << 8) | e.val[i];
	}
	c->rsa_roca = cl_rsa_roca(n.val, n.len);
	return int_bits(n.val, n.len);
}

/* Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }: bits of p */
static int dsa_bits(const struct cl_tlv *params)
{
	struct cl_der d;
	struct cl_tlv p;

	if (params->raw == NULL || params->tag != TAG_SEQ)
		return 0;
	cl_der_enter(params, &d);
	if (cl_der_expect(&d, TAG_INTEGER, &p) != CL_OK)
		return 0;
	return int_bits(p.val, p.len);
}

/* ECParameters ::= SEQUENCE { version, fieldID, curve, base, order, ... } */
static int ec_explicit_bits(const struct cl_tlv *params)
{
	struct cl_der d;
	struct cl_tlv t;

	cl_der_enter(params, &d);
	if (cl_der_expect(&d, TAG_INTEGER, &t) != CL_OK ||
	    cl_der_expect(&d, TAG_SEQ, &t) != CL_OK ||
	    cl_der_expect(&d, TAG_SEQ, &t) != CL_OK ||
	    cl_der_expect(&d, TAG_OCTETSTRING, &t) != CL_OK ||
	    cl_der_expect(&d, TAG_INTEGER, &t) != CL_OK)
		return 0;
	return int_bits(t.val, t.len);
}

static int ec_key(struct parse *ps, const struct cl_tlv *params)
{
	struct cl_cert *c = ps->c;
	const char *name;
	EC_GROUP *grp;
	size_t i;
	int nid;

	if (params->raw == NULL || params->tag == TAG_NULL)   /* implicitlyCA */
		return CL_OK;
	if (params->tag == TAG_SEQ) {
		c->key_bits = ec_explicit_bits(params);
		return (c->curve = ar_strndup(ps, "explicit", 8)) ? CL_OK : CL_ERR_NOMEM;
	}
	if (params->tag != TAG_OID || !oid_valid(params->val, params->len))
		return CL_OK;
	nid = oid_nid(params->val, params->len);
	if (nid == NID_undef) {
		c->curve = oid_dotted(ps, "", params->val, params->len);
		return c->curve ? CL_OK : CL_ERR_NOMEM;
	}
	if ((name = EC_curve_nid2nist(nid)) == NULL && (name = OBJ_nid2sn(nid)) == NULL)
		name = "";
	if ((c->curve = ar_strndup(ps, name, strlen(name))) == NULL)
		return CL_ERR_NOMEM;
	for (i = 0; i < CL_ARRAY_LEN(curve_bits); i++)
		if (curve_bits[i].nid == nid) {
			c->key_bits = curve_bits[i].bits;
			return CL_OK;
		}
	if ((grp = EC_GROUP_new_by_curve_name(nid)) != NULL) {
		c->key_bits = EC_GROUP_order_bits(grp);
		EC_GROUP_free(grp);
	}
	return CL_OK;
}

static int parse_key(struct parse *ps, const struct parts *pt)
{
	struct cl_cert *c = ps->c;
	const struct key_alg *ka = NULL;
	size_t i;

	if ((c->key_oid = oid_dotted(ps, "", pt->key_oid.val, pt->key_oid.len)) == NULL)
		return CL_ERR_NOMEM;
	for (i = 0; i < CL_ARRAY_LEN(key_algs); i++)
		if (strcmp(key_algs[i].oid, c->key_oid) == 0) {
			ka = &key_algs[i];
			break;
		}
	if (ka == NULL) {
		c->key_type = ar_strndup(ps, c->key_oid, strlen(c->key_oid));
		return c->key_type != NULL ? CL_OK : CL_ERR_NOMEM;
	}
	if ((c->key_type = ar_strndup(ps, ka->name, strlen(ka->name))) == NULL)
		return CL_ERR_NOMEM;
	switch (ka->kind) {
	case KEY_RSA:
		c->key_bits = rsa_key(c, &pt->key);
		break;
	case KEY_DSA:
		c->key_bits = dsa_bits(&pt->key_params);
		break;
	case KEY_EC:
		return ec_key(ps, &pt->key_params);
	case KEY_OTHER:
		c->key_bits = ka->bits;
		break;
	}
	return CL_OK;
}

/* ---- extensions ---- */

/*
 * Extension handlers get the content of extnValue. They return CL_OK,
 * CL_ERR_NOMEM, or CL_ERR_PARSE for a malformed value, after which the
 * caller resets the extension's fields.
 */

/* GeneralName → "kind:value" appended to sv; kinds not listed are skipped. */
static int general_name(struct parse *ps, const struct cl_tlv *t, struct cl_strv *sv)
{
	struct cl_der d;
	struct cl_tlv oid, v, name;
	char ip[INET6_ADDRSTRLEN], *s;

	switch (t->tag) {
	case TAG_GN_OTHER:   /* otherName: SEQUENCE { type-id OID, [0] EXPLICIT ANY } */
		cl_der_enter(t, &d);
		if (cl_der_expect(&d, TAG_OID, &oid) != CL_OK || !oid_valid(oid.val, oid.len) ||
		    cl_der_expect(&d, TAG_CTX0, &v) != CL_OK || cl_der_left(&d) != 0)
			return CL_ERR_PARSE;
		return strv_add(ps, sv, oid_dotted(ps, "otherName:", oid.val, oid.len));
	case TAG_GN_EMAIL:
		return strv_add(ps, sv, ar_text(ps, "email:", t->val, t->len));
	case TAG_GN_DNS:
		return strv_add(ps, sv, ar_text(ps, "DNS:", t->val, t->len));
	case TAG_GN_URI:
		return strv_add(ps, sv, ar_text(ps, "URI:", t->val, t->len));
	case TAG_GN_IP:
		if (t->len == 4)
			inet_ntop(AF_INET, t->val, ip, sizeof ip);
		else if (t->len == 16)
			inet_ntop(AF_INET6, t->val, ip, sizeof ip);
		else   /* not an address (name-constraint form?): skipped */
			return CL_OK;
		return strv_add(ps, sv, ar_text(ps, "IP:", ip, strlen(ip)));
	case TAG_GN_RID:
		if (!oid_valid(t->val, t->len))
			return CL_ERR_PARSE;
		return strv_add(ps, sv, oid_dotted(ps, "RID:", t->val, t->len));
	case TAG_GN_DIRNAME:   /* [4] EXPLICIT Name */
		cl_der_enter(t, &d);
		if (cl_der_expect(&d, TAG_SEQ, &name) != CL_OK || cl_der_left(&d) != 0 ||
		    walk_name(ps, &name) != CL_OK)
			return CL_ERR_PARSE;
		if (name_fmt(ps, "DirName:", &name, &s, NULL) != CL_OK)
			return CL_ERR_NOMEM;
		return strv_add(ps, sv, s);
	default:   /* x400Address, ediPartyName */
		return CL_OK;
	}
}

static int ext_san(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_der d, g;
	struct cl_tlv seq, t;
	int rc;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &g);
	while (cl_der_left(&g) > 0) {
		if (cl_der_next(&g, &t) != CL_OK)
			return CL_ERR_PARSE;
		if ((rc = general_name(ps, &t, &ps->c->sans)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER OPTIONAL } */
static int ext_basic(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_cert *c = ps->c;
	struct cl_der d, s;
	struct cl_tlv seq, t;
	uint64_t v = 0;
	size_t i;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &s);
	if (cl_der_peek(&s, TAG_BOOLEAN)) {
		if (cl_der_next(&s, &t) != CL_OK || t.len != 1)
			return CL_ERR_PARSE;
		c->is_ca = t.val[0] != 0;
	}
	if (cl_der_peek(&s, TAG_INTEGER)) {
		if (cl_der_next(&s, &t) != CL_OK || t.len == 0)
			return CL_ERR_PARSE;
		if (t.val[0] & 0x80) {   /* negative: as restrictive as it gets */
			c->path_len = 0;
		} else {
			for (i = 0; i < t.len && v <= INT_MAX; i++)
				v = (v << 8) | t.val[i];
			c->path_len = v > INT_MAX ? INT_MAX : (int)v;
		}
	}
	return cl_der_left(&s) == 0 ? CL_OK : CL_ERR_PARSE;
}

static int ext_key_usage(struct parse *ps, const unsigned char *p, size_t n)
{
	static const char *const names[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment",
		"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly",
	};
	struct join j = { 0 };
	const unsigned char *bits;
	struct cl_der d;
	struct cl_tlv t;
	size_t nb, i, byte;
	unsigned unused;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_BITSTRING, &t) != CL_OK || cl_der_left(&d) != 0 ||
	    !bitstring(&t, &bits, &nb))
		return CL_ERR_PARSE;
	unused = t.val[0];
	for (i = 0; i < CL_ARRAY_LEN(names); i++) {
		byte = i / 8;
		if (byte >= nb || (byte == nb - 1 && 7 - i % 8 < unused))
			break;   /* beyond the string, or an unused bit */
		if ((bits[byte] & (0x80 >> (i % 8))) && join_add(ps, &j, names[i]) != CL_OK)
			return CL_ERR_NOMEM;
	}
	ps->c->key_usage = j.s != NULL ? j.s : ar_strndup(ps, "", 0);
	return ps->c->key_usage != NULL ? CL_OK : CL_ERR_NOMEM;
}

/* ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId */
static int ext_eku(struct parse *ps, const unsigned char *p, size_t n)
{
	struct join j = { 0 };
	struct cl_der d, s;
	struct cl_tlv seq, t;
	char *name;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &s);
	while (cl_der_left(&s) > 0) {
		if (cl_der_expect(&s, TAG_OID, &t) != CL_OK || !oid_valid(t.val, t.len))
			return CL_ERR_PARSE;
		if ((name = oid_name(ps, t.val, t.len, false)) == NULL ||
		    join_add(ps, &j, name) != CL_OK)
			return CL_ERR_NOMEM;
	}
	ps->c->eku = j.s != NULL ? j.s : ar_strndup(ps, "", 0);
	return ps->c->eku != NULL ? CL_OK : CL_ERR_NOMEM;
}

static int ext_ski(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_der d;
	struct cl_tlv t;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_OCTETSTRING, &t) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	return (ps->c->ski = ar_hex(ps, "", t.val, t.len)) ? CL_OK : CL_ERR_NOMEM;
}

/* AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] issuer, [2] serial } */
static int ext_aki(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_der d, s;
	struct cl_tlv seq, t;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &s);
	while (cl_der_left(&s) > 0) {
		if (cl_der_next(&s, &t) != CL_OK)
			return CL_ERR_PARSE;
		if (t.tag == 0x80 && ps->c->aki == NULL &&
		    (ps->c->aki = ar_hex(ps, "", t.val, t.len)) == NULL)
			return CL_ERR_NOMEM;
	}
	return CL_OK;
}

/* AuthorityInfoAccessSyntax ::= SEQUENCE OF SEQUENCE { accessMethod, accessLocation } */
static int ext_aia(struct parse *ps, const unsigned char *p, size_t n)
{
	static const unsigned char ocsp[] = { 0x2b, 6, 1, 5, 5, 7, 48, 1 };
	static const unsigned char ca_issuers[] = { 0x2b, 6, 1, 5, 5, 7, 48, 2 };
	struct cl_der d, s, a;
	struct cl_tlv seq, ad, oid, loc;
	struct cl_strv *sv;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &s);
	while (cl_der_left(&s) > 0) {
		if (cl_der_expect(&s, TAG_SEQ, &ad) != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&ad, &a);
		if (cl_der_expect(&a, TAG_OID, &oid) != CL_OK || !oid_valid(oid.val, oid.len) ||
		    cl_der_next(&a, &loc) != CL_OK || cl_der_left(&a) != 0)
			return CL_ERR_PARSE;
		if (oid_eq(&oid, ocsp, sizeof ocsp))
			sv = &ps->c->ocsp;
		else if (oid_eq(&oid, ca_issuers, sizeof ca_issuers))
			sv = &ps->c->ca_issuers;
		else
			continue;
		if (loc.tag == TAG_GN_URI &&
		    strv_add(ps, sv, ar_text(ps, "", loc.val, loc.len)) != CL_OK)
			return CL_ERR_NOMEM;
	}
	return CL_OK;
}

/*
 * CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
 * DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName
 *     OPTIONAL, reasons [1] OPTIONAL, cRLIssuer [2] OPTIONAL }
 * DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
 */
static int ext_crldp(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_der d, s, dp, dpn, gn;
	struct cl_tlv seq, t, f, g;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_SEQ, &seq) != CL_OK || cl_der_left(&d) != 0)
		return CL_ERR_PARSE;
	cl_der_enter(&seq, &s);
	while (cl_der_left(&s) > 0) {
		if (cl_der_expect(&s, TAG_SEQ, &t) != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&t, &dp);
		while (cl_der_left(&dp) > 0) {
			if (cl_der_next(&dp, &t) != CL_OK)
				return CL_ERR_PARSE;
			if (t.tag != TAG_CTX0)
				continue;
			cl_der_enter(&t, &dpn);
			if (cl_der_next(&dpn, &f) != CL_OK || cl_der_left(&dpn) != 0)
				return CL_ERR_PARSE;
			if (f.tag != TAG_CTX0)   /* nameRelativeToCRLIssuer */
				continue;
			cl_der_enter(&f, &gn);
			while (cl_der_left(&gn) > 0) {
				if (cl_der_next(&gn, &g) != CL_OK)
					return CL_ERR_PARSE;
				if (g.tag == TAG_GN_URI &&
				    strv_add(ps, &ps->c->crl, ar_text(ps, "", g.val, g.len)) != CL_OK)
					return CL_ERR_NOMEM;
			}
		}
	}
	return CL_OK;
}

/*
 * RFC 6962 3.3: an OCTET STRING holding SignedCertificateTimestampList,
 * opaque SerializedSCT<1..2^16-1> list<1..2^16-1>. A malformed list
 * counts as no SCTs.
 */
static int ext_sct(struct parse *ps, const unsigned char *p, size_t n)
{
	struct cl_der d;
	struct cl_tlv t;
	size_t total, l, off;
	int count = 0;

	cl_der_init(&d, p, n);
	if (cl_der_expect(&d, TAG_OCTETSTRING, &t) != CL_OK || cl_der_left(&d) != 0 ||
	    t.len < 2)
		return CL_ERR_PARSE;
	total = (size_t)t.val[0] << 8 | t.val[1];
	if (total != t.len - 2)
		return CL_ERR_PARSE;
	for (off = 2; off < t.len; off += l) {
		if (t.len - off < 2)
			return CL_ERR_PARSE;
		l = (size_t)t.val[off] << 8 | t.val[off + 1];
		off += 2;
		if (l == 0 || l > t.len - off)
			return CL_ERR_PARSE;
		count++;
	}
	ps->c->sct_count = count;
	return CL_OK;
}

enum ext_id { EXT_BASIC, EXT_KU, EXT_EKU, EXT_SKI, EXT_AKI, EXT_SAN, EXT_AIA,
              EXT_CRLDP, EXT_SCT, EXT_COUNT };

static const struct ext_handler {
	unsigned char oid[10];
	size_t len;
	int (*parse)(struct parse *ps, const unsigned char *p, size_t n);
} ext_handlers[EXT_COUNT] = {
	[EXT_BASIC] = { { 0x55, 0x1d, 0x13 }, 3, ext_basic },
	[EXT_KU] = { { 0x55, 0x1d, 0x0f }, 3, ext_key_usage },
	[EXT_EKU] = { { 0x55, 0x1d, 0x25 }, 3, ext_eku },
	[EXT_SKI] = { { 0x55, 0x1d, 0x0e }, 3, ext_ski },
	[EXT_AKI] = { { 0x55, 0x1d, 0x23 }, 3, ext_aki },
	[EXT_SAN] = { { 0x55, 0x1d, 0x11 }, 3, ext_san },
	[EXT_AIA] = { { 0x2b, 6, 1, 5, 5, 7, 1, 1 }, 8, ext_aia },
	[EXT_CRLDP] = { { 0x55, 0x1d, 0x1f }, 3, ext_crldp },
	[EXT_SCT] = { { 0x2b, 6, 1, 4, 1, 0xd6, 0x79, 2, 4, 2 }, 10, ext_sct },
};

/* Resets the fields of a malformed extension to "absent". */
static void ext_reset(struct cl_cert *c, enum ext_id id)
{
	static const struct cl_strv none;

	switch (id) {
	case EXT_BASIC: c->is_ca = false; c->path_len = -1; break;
	case EXT_KU: c->key_usage = NULL; break;
	case EXT_EKU: c->eku = NULL; break;
	case EXT_SKI: c->ski = NULL; break;
	case EXT_AKI: c->aki = NULL; break;
	case EXT_SAN: c->sans = none; break;
	case EXT_AIA: c->ocsp = none; c->ca_issuers = none; break;
	case EXT_CRLDP: c->crl = none; break;
	case EXT_SCT: c->sct_count = 0; break;
	case EXT_COUNT: break;
	}
}

/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
static int parse_exts(struct parse *ps, const struct cl_tlv *exts)
{
	struct cl_der d, e;
	struct cl_tlv ext, oid, t, val;
	unsigned seen = 0, id;
	int rc;

	cl_der_enter(exts, &d);
	while (cl_der_left(&d) > 0) {
		if (need(ps, &d, TAG_SEQ, &ext, "bad extension") != CL_OK)
			return CL_ERR_PARSE;
		cl_der_enter(&ext, &e);
		if (need(ps, &e, TAG_OID, &oid, "bad extension") != CL_OK)
			return CL_ERR_PARSE;
		if (!oid_valid(oid.val, oid.len)) {
			ps->why = "bad OID";
			return CL_ERR_PARSE;
		}
		if (cl_der_peek(&e, TAG_BOOLEAN) &&
		    (need(ps, &e, TAG_BOOLEAN, &t, "bad extension") != CL_OK || t.len != 1)) {
			ps->why = "bad extension";
			return CL_ERR_PARSE;
		}
		if (need(ps, &e, TAG_OCTETSTRING, &val, "bad extension") != CL_OK ||
		    need_end(ps, &e, "bad extension") != CL_OK)
			return CL_ERR_PARSE;
		for (id = 0; id < EXT_COUNT; id++)
			if (oid_eq(&oid, ext_handlers[id].oid, ext_handlers[id].len))
				break;
		if (id == EXT_COUNT || (seen & (1u << id)))   /* unknown, or a duplicate */
			continue;
		seen |= 1u << id;
		rc = ext_handlers[id].parse(ps, val.val, val.len);
		if (rc == CL_ERR_PARSE)
			ext_reset(ps->c, id);
		else if (rc != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* ---- the certificate ---- */

/*
 * True when the certificate is self-issued (issuer DER == subject DER and,
 * when both are present, AKI == SKI) and its signature verifies with its
 * own key. Errors from OpenSSL mean false.
 */
static bool check_self_signed(const struct cl_cert *c, const struct parts *pt)
{
	const unsigned char *q = c->der;
	EVP_PKEY *pk;
	X509 *x;
	bool ok = false;

	if (pt->issuer.raw_len != pt->subject.raw_len ||
	    memcmp(pt->issuer.raw, pt->subject.raw, pt->issuer.raw_len) != 0)
		return false;
	if (c->ski != NULL && c->aki != NULL && strcmp(c->ski, c->aki) != 0)
		return false;
	if (c->der_len > LONG_MAX || (x = d2i_X509(NULL, &q, (long)c->der_len)) == NULL)
		return false;
	if ((pk = X509_get0_pubkey(x)) != NULL && X509_verify(x, pk) == 1)
		ok = true;
	X509_free(x);
	return ok;
}

static int extract(struct parse *ps, const unsigned char *der, size_t len,
                   const struct parts *pt)
{
	struct cl_cert *c = ps->c;
	const unsigned char *sp = pt->serial.val;
	size_t sn = pt->serial.len;
	int rc;

	if ((c->der = ar_alloc(ps, len)) == NULL)
		return CL_ERR_NOMEM;
	memcpy(c->der, der, len);
	c->der_len = len;
	if (EVP_Digest(der, len, c->fp, NULL, state_sha256, NULL) != 1 ||
	    EVP_Digest(pt->spki.raw, pt->spki.raw_len, c->spki_sha256, NULL,
	               state_sha256, NULL) != 1) {
		ps->why = "SHA-256 failed";
		return CL_ERR;
	}
	c->version = pt->version;
	if (sn > 1 && sp[0] == 0) {   /* the sign padding byte */
		sp++;
		sn--;
	}
	if ((c->serial = ar_hex(ps, "", sp, sn)) == NULL)
		return CL_ERR_NOMEM;
	if ((rc = name_fmt(ps, "", &pt->subject, &c->subject, &c->subject_cn)) != CL_OK ||
	    (rc = name_fmt_cached(ps, &pt->issuer, &c->issuer, &c->issuer_cn)) != CL_OK)
		return rc;
	c->not_before = pt->not_before;
	c->not_after = pt->not_after;
	if ((rc = parse_key(ps, pt)) != CL_OK)
		return rc;
	if ((c->sig_alg = oid_name(ps, pt->sig_oid.val, pt->sig_oid.len, true)) == NULL)
		return CL_ERR_NOMEM;
	if (c->sig_alg[0] >= '0' && c->sig_alg[0] <= '9') {
		/* post-quantum signatures share their OIDs with the key algorithms */
		size_t k;
		for (k = 0; k < CL_ARRAY_LEN(key_algs); k++) {
			if (strcmp(key_algs[k].oid, c->sig_alg) == 0 &&
			    strncmp(key_algs[k].oid, "2.16.840.1.101.3.4.3.", 21) == 0) {
				if ((c->sig_alg = ar_strndup(ps, key_algs[k].name,
				                             strlen(key_algs[k].name))) == NULL)
					return CL_ERR_NOMEM;
				break;
			}
		}
	}
	c->path_len = -1;
	if (pt->exts.raw != NULL && (rc = parse_exts(ps, &pt->exts)) != CL_OK)
		return rc;
	c->self_signed = check_self_signed(c, pt);
	return CL_OK;
}

int cl_cert_parse_der(const unsigned char *der, size_t len,
                      struct cl_cert **out, const char **why)
{
	struct parse ps = { 0 };
	struct parts pt;
	size_t cap;
	int rc = CL_ERR_PARSE;

	*out = NULL;
	if (der == NULL)
		len = 0;
	if (walk_cert(&ps, der, len, &pt) != CL_OK)
		goto out;
	rc = CL_ERR;
	if (pthread_once(&state_once, state_init) != 0 || state_sha256 == NULL) {
		ps.why = "SHA-256 unavailable";
		goto out;
	}
	rc = CL_ERR_NOMEM;
	ps.why = "out of memory";
	/* one block for the certificate, its DER and typically all strings */
	cap = ar_round(sizeof *ps.c) + ar_round(len) + AR_MIN;
	if (len > SIZE_MAX / 2 || (ps.first = malloc(sizeof *ps.first + cap)) == NULL)
		goto out;
	ps.first->next = NULL;
	ps.first->used = 0;
	ps.first->cap = cap;
	ps.cur = ps.first;
	ps.c = ar_alloc(&ps, sizeof *ps.c);
	memset(ps.c, 0, sizeof *ps.c);
	ps.c->arena = ps.first;

	ERR_set_mark();
	rc = extract(&ps, der, len, &pt);
	ERR_pop_to_mark();
	if (rc != CL_OK)
		goto out;
	*out = ps.c;
	ps.c = NULL;
	rc = CL_OK;
out:
	if (ps.c != NULL)
		cl_cert_free(ps.c);
	if (rc != CL_OK && why != NULL)
		*why = ps.why != NULL ? ps.why : "malformed";
	return rc;
}

static void strv_free(struct cl_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

void cl_cert_free(struct cl_cert *c)
{
	struct blk *b, *next;

	if (c == NULL)
		return;
	if (c->arena != NULL) {   /* c itself lives in the first block */
		for (b = c->arena; b != NULL; b = next) {
			next = b->next;
			free(b);
		}
		return;
	}
	free(c->serial);
	free(c->subject);
	free(c->issuer);
	free(c->subject_cn);
	free(c->issuer_cn);
	strv_free(&c->sans);
	free(c->key_type);
	free(c->key_oid);
	free(c->curve);
	free(c->sig_alg);
	free(c->key_usage);
	free(c->eku);
	free(c->ski);
	free(c->aki);
	strv_free(&c->ocsp);
	strv_free(&c->ca_issuers);
	strv_free(&c->crl);
	free(c->der);
	free(c);
}

struct x509_st *cl_cert_to_x509(const struct cl_cert *c)
{
	const unsigned char *q;

	if (c == NULL || c->der == NULL || c->der_len > LONG_MAX)
		return NULL;
	q = c->der;
	return d2i_X509(NULL, &q, (long)c->der_len);
}

int64_t cl_cert_days_left(const struct cl_cert *c, int64_t now)
{
	return cl_floordiv(c->not_after - now, 86400);
}

int64_t cl_cert_validity_days(int64_t not_before, int64_t not_after)
{
	return cl_floordiv(not_after - not_before + 1, 86400);
}
