/*
 * Java KeyStore (JKS) and JCEKS reader. Walks the entries of a store and
 * reports every X.509 certificate; private and secret key material is
 * skipped, never decoded. The whole input is untrusted: every read goes
 * through a length-aware cursor, every length is checked against the
 * remaining input and a hard cap, and the Java serialization skipper used
 * for JCEKS secret keys has a depth and a handle limit.
 *
 * Decisions:
 *  - Aliases are converted from Java modified UTF-8 to standard UTF-8.
 *    Malformed bytes and unpaired surrogates become U+FFFD, as does U+0000
 *    (C0 80 or a raw 00) because the alias is handed out as a C string;
 *    overlong forms are decoded as Java decodes them and re-encoded
 *    canonically; standard 4-byte sequences (written by non-Java tools)
 *    are accepted. The reported alias is therefore always valid UTF-8.
 *  - The password (UTF-8) is turned into UTF-16BE code units like Java's
 *    char[]; a byte that is not valid UTF-8 counts as its Latin-1 value.
 *  - The digest sits right after the last entry (as Java reads it); bytes
 *    after the digest are ignored, as Java ignores them. With a password
 *    the store is first walked without reporting to find the digest; if
 *    that walk fails, the last 20 bytes are tried instead, so that an
 *    authentic store with an entry we cannot skip still reports the
 *    certificates before it (then CL_ERR_PARSE). A malformed store whose
 *    digest does not match gives CL_ERR_PARSE, not CL_ERR_PASSWORD.
 *  - Secret key entries (JCEKS tag 3) are skipped by walking the Java
 *    serialization grammar: objects, class descriptors (also proxy),
 *    strings, arrays, enums, classes, block data, references. TC_RESET,
 *    TC_EXCEPTION and externalizable objects without block data are not
 *    supported (CL_ERR_PARSE); nesting is limited to 32, handles to 512
 *    and class hierarchies to 16.
 *  - Certificates whose type string is not "X.509" are skipped; the
 *    chain_index of the following certificates keeps their position.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "core/log.h"
#include "x509/jks.h"

#define JKS_MAGIC        0xfeedfeedu
#define JCEKS_MAGIC      0xcecececeu
#define JKS_DIGEST_LEN   20
#define JKS_MAX_ENTRIES  100000u
#define JKS_MAX_CHAIN    100u
#define JKS_MAX_CERT     (1024u * 1024u)
#define JKS_MAX_KEY      (1024u * 1024u)
#define JKS_WHITENER     "Mighty Aphrodite"

/* Java Object Serialization (java.io.ObjectStreamConstants). */
#define JSER_MAGIC       0xacedu
#define JSER_VERSION     5u
#define JSER_BASE_HANDLE 0x7e0000u
#define TC_NULL          0x70
#define TC_REFERENCE     0x71
#define TC_CLASSDESC     0x72
#define TC_OBJECT        0x73
#define TC_STRING        0x74
#define TC_ARRAY         0x75
#define TC_CLASS         0x76
#define TC_BLOCKDATA     0x77
#define TC_ENDBLOCKDATA  0x78
#define TC_RESET         0x79
#define TC_BLOCKDATALONG 0x7a
#define TC_EXCEPTION     0x7b
#define TC_LONGSTRING    0x7c
#define TC_PROXYCLASSDESC 0x7d
#define TC_ENUM          0x7e
#define SC_WRITE_METHOD  0x01
#define SC_SERIALIZABLE  0x02
#define SC_EXTERNALIZABLE 0x04
#define SC_BLOCK_DATA    0x08

#define JSER_MAX_DEPTH   32     /* nesting of objects, arrays and class descs */
#define JSER_MAX_HANDLES 512    /* objects in one serialized secret key */
#define JSER_MAX_CLASSES 16     /* classes in one hierarchy */
#define JSER_NONE        UINT32_MAX

struct jks_cur {
	const unsigned char *p;  /* next unread byte */
	const unsigned char *end;
};

struct jks_walk {
	struct jks_cur c;
	uint32_t version;
	bool jceks;
	cl_jks_cert_cb cb;       /* NULL: validate only */
	void *arg;
	char *alias;             /* converted alias, alias_cap bytes */
	size_t alias_cap;
	const unsigned char *digest; /* where the integrity digest starts */
	const char *why;
};

struct jser_handle {
	const unsigned char *fields;  /* first field descriptor (validated) */
	const unsigned char *fields_end;
	uint32_t super;          /* handle index of the superclass desc or JSER_NONE */
	uint16_t nfields;
	uint8_t is_class;        /* a class descriptor */
	uint8_t complete;        /* class descriptor fully read */
	uint8_t flags;           /* classDescFlags */
	uint8_t nclasses;        /* classes in the hierarchy, this one included */
	char array;              /* element type code when the name starts with '[' */
};

struct jser {
	struct jks_cur *c;
	const char *why;
	uint32_t n;              /* handles assigned */
	struct jser_handle h[JSER_MAX_HANDLES];
};

static size_t cur_left(const struct jks_cur *c)
{
	return (size_t)(c->end - c->p);
}

static int cur_skip(struct jks_cur *c, uint64_t n)
{
	if (n > cur_left(c))
		return CL_ERR_PARSE;
	c->p += n;
	return CL_OK;
}

static int cur_bytes(struct jks_cur *c, size_t n, const unsigned char **out)
{
	if (n > cur_left(c))
		return CL_ERR_PARSE;
	*out = c->p;
	c->p += n;
	return CL_OK;
}

static int cur_u8(struct jks_cur *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return CL_ERR_PARSE;
	*v = c->p[0];
	c->p++;
	return CL_OK;
}

static int cur_u16(struct jks_cur *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return CL_ERR_PARSE;
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return CL_OK;
}

static int cur_u32(struct jks_cur *c, uint32_t *v)
{
	if (cur_left(c) < 4)
		return CL_ERR_PARSE;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
	     (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return CL_OK;
}

static int cur_u64(struct jks_cur *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (cur_u32(c, &hi) != CL_OK || cur_u32(c, &lo) != CL_OK)
		return CL_ERR_PARSE;
	*v = (uint64_t)hi << 32 | lo;
	return CL_OK;
}

/* Skips a Java "utf" (u16 length + bytes). */
static int cur_skip_utf(struct jks_cur *c)
{
	uint16_t len;

	if (cur_u16(c, &len) != CL_OK)
		return CL_ERR_PARSE;
	return cur_skip(c, len);
}

/* ---- Java serialization skipper ---------------------------------------- */

static int jser_bad(struct jser *s, const char *why)
{
	s->why = why;
	return CL_ERR_PARSE;
}

static int jser_new_handle(struct jser *s, uint32_t *idx)
{
	if (s->n >= JSER_MAX_HANDLES)
		return jser_bad(s, "serialized secret key: too many objects");
	memset(&s->h[s->n], 0, sizeof s->h[s->n]);
	s->h[s->n].super = JSER_NONE;
	if (idx)
		*idx = s->n;
	s->n++;
	return CL_OK;
}

/* Reads a TC_REFERENCE's handle (the type code already consumed). */
static int jser_ref(struct jser *s, uint32_t *idx)
{
	uint32_t h;

	if (cur_u32(s->c, &h) != CL_OK)
		return jser_bad(s, "serialized secret key: truncated reference");
	if (h < JSER_BASE_HANDLE || h - JSER_BASE_HANDLE >= s->n)
		return jser_bad(s, "serialized secret key: dangling reference");
	*idx = h - JSER_BASE_HANDLE;
	return CL_OK;
}

/* Size in bytes of a primitive type code, 0 for object types, -1 if invalid. */
static int jser_prim_size(char t)
{
	switch (t) {
	case 'B': case 'Z': return 1;
	case 'C': case 'S': return 2;
	case 'I': case 'F': return 4;
	case 'J': case 'D': return 8;
	case 'L': case '[': return 0;
	default: return -1;
	}
}

/*
 * Skips a string after its type code tc (TC_STRING or TC_LONGSTRING),
 * assigning its handle.
 */
static int jser_string_body(struct jser *s, uint8_t tc)
{
	uint64_t len;
	uint16_t len16;

	if (jser_new_handle(s, NULL) != CL_OK)
		return CL_ERR_PARSE;
	if (tc == TC_STRING) {
		if (cur_u16(s->c, &len16) != CL_OK)
			return jser_bad(s, "serialized secret key: truncated string");
		len = len16;
	} else if (cur_u64(s->c, &len) != CL_OK) {
		return jser_bad(s, "serialized secret key: truncated string");
	}
	if (cur_skip(s->c, len) != CL_OK)
		return jser_bad(s, "serialized secret key: string beyond end");
	return CL_OK;
}

/*
 * Skips a string-valued position (field type signature, enum constant
 * name): TC_STRING, TC_LONGSTRING, TC_REFERENCE or TC_NULL.
 */
static int jser_string(struct jser *s)
{
	uint8_t tc;
	uint32_t idx;

	if (cur_u8(s->c, &tc) != CL_OK)
		return jser_bad(s, "serialized secret key: truncated");
	switch (tc) {
	case TC_STRING:
	case TC_LONGSTRING:
		return jser_string_body(s, tc);
	case TC_REFERENCE:
		return jser_ref(s, &idx);
	case TC_NULL:
		return CL_OK;
	default:
		return jser_bad(s, "serialized secret key: string expected");
	}
}

/*
 * Reads one field descriptor from c into *type. With s != NULL this is the
 * first reading: the signature string is validated and gets its handle.
 * With s == NULL the descriptor is re-read (already validated) and only
 * skipped.
 */
static int jser_field_desc(struct jks_cur *c, struct jser *s, char *type)
{
	uint8_t t, tc;
	uint16_t len16;
	uint64_t len;

	if (cur_u8(c, &t) != CL_OK || cur_skip_utf(c) != CL_OK)
		return CL_ERR_PARSE;
	if (jser_prim_size((char)t) < 0)
		return CL_ERR_PARSE;
	*type = (char)t;
	if (jser_prim_size((char)t) > 0)
		return CL_OK;
	if (s)
		return jser_string(s);
	if (cur_u8(c, &tc) != CL_OK)
		return CL_ERR_PARSE;
	switch (tc) {
	case TC_STRING:
		return cur_u16(c, &len16) == CL_OK ? cur_skip(c, len16) : CL_ERR_PARSE;
	case TC_LONGSTRING:
		return cur_u64(c, &len) == CL_OK ? cur_skip(c, len) : CL_ERR_PARSE;
	case TC_REFERENCE:
		return cur_skip(c, 4);
	case TC_NULL:
		return CL_OK;
	default:
		return CL_ERR_PARSE;
	}
}

static int jser_object(struct jser *s, int depth);
static int jser_classdesc(struct jser *s, int depth, uint32_t *out);

/* Skips contents up to and including TC_ENDBLOCKDATA (an annotation). */
static int jser_annotation(struct jser *s, int depth)
{
	uint8_t tc;
	uint32_t len;

	for (;;) {
		if (cur_left(s->c) < 1)
			return jser_bad(s, "serialized secret key: truncated annotation");
		tc = s->c->p[0];
		if (tc == TC_ENDBLOCKDATA) {
			s->c->p++;
			return CL_OK;
		}
		if (tc == TC_BLOCKDATA || tc == TC_BLOCKDATALONG) {
			uint8_t len8;
			s->c->p++;
			if (tc == TC_BLOCKDATA) {
				if (cur_u8(s->c, &len8) != CL_OK)
					return jser_bad(s, "serialized secret key: truncated block data");
				len = len8;
			} else if (cur_u32(s->c, &len) != CL_OK || len > INT32_MAX) {
				return jser_bad(s, "serialized secret key: bad block data length");
			}
			if (cur_skip(s->c, len) != CL_OK)
				return jser_bad(s, "serialized secret key: block data beyond end");
			continue;
		}
		if (jser_object(s, depth + 1) != CL_OK)
			return CL_ERR_PARSE;
	}
}

/*
 * Finishes a class descriptor at handle idx: annotation, superclass,
 * hierarchy size.
 */
static int jser_classdesc_tail(struct jser *s, int depth, uint32_t idx)
{
	uint32_t super;
	unsigned nclasses = 1;

	if (jser_annotation(s, depth) != CL_OK ||
	    jser_classdesc(s, depth + 1, &super) != CL_OK)
		return CL_ERR_PARSE;
	if (super != JSER_NONE)
		nclasses += s->h[super].nclasses;
	if (nclasses > JSER_MAX_CLASSES)
		return jser_bad(s, "serialized secret key: class hierarchy too deep");
	s->h[idx].super = super;
	s->h[idx].nclasses = (uint8_t)nclasses;
	s->h[idx].complete = 1;
	return CL_OK;
}

/*
 * Reads a class descriptor position: TC_CLASSDESC, TC_PROXYCLASSDESC,
 * TC_NULL (*out = JSER_NONE) or TC_REFERENCE to a complete descriptor.
 */
static int jser_classdesc(struct jser *s, int depth, uint32_t *out)
{
	struct jks_cur name;
	struct jser_handle *h;
	uint32_t idx, count, i;
	uint16_t nfields, len, k;
	uint8_t tc, flags;
	char type;

	if (depth > JSER_MAX_DEPTH)
		return jser_bad(s, "serialized secret key: nesting too deep");
	if (cur_u8(s->c, &tc) != CL_OK)
		return jser_bad(s, "serialized secret key: truncated class descriptor");
	switch (tc) {
	case TC_NULL:
		*out = JSER_NONE;
		return CL_OK;
	case TC_REFERENCE:
		if (jser_ref(s, &idx) != CL_OK)
			return CL_ERR_PARSE;
		if (!s->h[idx].is_class || !s->h[idx].complete)
			return jser_bad(s, "serialized secret key: reference is not a class descriptor");
		*out = idx;
		return CL_OK;
	case TC_CLASSDESC:
		name = *s->c;
		if (cur_u16(s->c, &len) != CL_OK || cur_skip(s->c, len) != CL_OK ||
		    cur_skip(s->c, 8) != CL_OK || cur_u8(s->c, &flags) != CL_OK ||
		    cur_u16(s->c, &nfields) != CL_OK)
			return jser_bad(s, "serialized secret key: truncated class descriptor");
		if (jser_new_handle(s, &idx) != CL_OK)
			return CL_ERR_PARSE;
		h = &s->h[idx];
		h->is_class = 1;
		h->flags = flags;
		h->nfields = nfields;
		if (len >= 2 && name.p[2] == '[')
			h->array = (char)name.p[3];
		h->fields = s->c->p;
		for (k = 0; k < nfields; k++)
			if (jser_field_desc(s->c, s, &type) != CL_OK)
				return jser_bad(s, s->why ? s->why : "serialized secret key: "
				                "truncated or bad field descriptor");
		/* h may not move: the table is a fixed array */
		h->fields_end = s->c->p;
		break;
	case TC_PROXYCLASSDESC:
		if (jser_new_handle(s, &idx) != CL_OK)
			return CL_ERR_PARSE;
		s->h[idx].is_class = 1;
		s->h[idx].flags = SC_SERIALIZABLE;
		if (cur_u32(s->c, &count) != CL_OK || count > 65535)
			return jser_bad(s, "serialized secret key: bad proxy interface count");
		for (i = 0; i < count; i++)
			if (cur_skip_utf(s->c) != CL_OK)
				return jser_bad(s, "serialized secret key: truncated proxy descriptor");
		break;
	default:
		return jser_bad(s, "serialized secret key: class descriptor expected");
	}
	if (jser_classdesc_tail(s, depth, idx) != CL_OK)
		return CL_ERR_PARSE;
	*out = idx;
	return CL_OK;
}

/* Skips the field values of one serializable class (primitives first). */
static int jser_fields(struct jser *s, int depth, const struct jser_handle *h)
{
	struct jks_cur fc;
	uint64_t prim = 0;
	uint16_t k;
	char type;
	int sz;

	fc.p = h->fields;
	fc.end = h->fields_end;
	for (k = 0; k < h->nfields; k++) {
		if (jser_field_desc(&fc, NULL, &type) != CL_OK)
			return jser_bad(s, "serialized secret key: bad field descriptor");
		sz = jser_prim_size(type);
		prim += (uint64_t)sz;
	}
	if (cur_skip(s->c, prim) != CL_OK)
		return jser_bad(s, "serialized secret key: truncated field values");
	fc.p = h->fields;
	for (k = 0; k < h->nfields; k++) {
		if (jser_field_desc(&fc, NULL, &type) != CL_OK)
			return jser_bad(s, "serialized secret key: bad field descriptor");
		if (jser_prim_size(type) == 0 && jser_object(s, depth + 1) != CL_OK)
			return CL_ERR_PARSE;
	}
	return CL_OK;
}

/* Skips the class data of an object of class cls, superclass first. */
static int jser_classdata(struct jser *s, int depth, uint32_t cls)
{
	uint32_t chain[JSER_MAX_CLASSES];
	const struct jser_handle *h;
	unsigned n = 0;

	while (cls != JSER_NONE && n < JSER_MAX_CLASSES) {
		chain[n++] = cls;
		cls = s->h[cls].super;
	}
	while (n > 0) {
		h = &s->h[chain[--n]];
		if (h->flags & SC_EXTERNALIZABLE) {
			if (!(h->flags & SC_BLOCK_DATA))
				return jser_bad(s, "serialized secret key: externalizable "
				                "object without block data cannot be skipped");
			if (jser_annotation(s, depth) != CL_OK)
				return CL_ERR_PARSE;
		} else if (h->flags & SC_SERIALIZABLE) {
			if (jser_fields(s, depth, h) != CL_OK)
				return CL_ERR_PARSE;
			if ((h->flags & SC_WRITE_METHOD) && jser_annotation(s, depth) != CL_OK)
				return CL_ERR_PARSE;
		}
	}
	return CL_OK;
}

/* Skips an array after its type code. */
static int jser_array(struct jser *s, int depth)
{
	uint32_t cls, size, i;
	int sz;

	if (jser_classdesc(s, depth + 1, &cls) != CL_OK)
		return CL_ERR_PARSE;
	if (cls == JSER_NONE || s->h[cls].array == 0 ||
	    (sz = jser_prim_size(s->h[cls].array)) < 0)
		return jser_bad(s, "serialized secret key: array of a non-array class");
	if (jser_new_handle(s, NULL) != CL_OK)
		return CL_ERR_PARSE;
	if (cur_u32(s->c, &size) != CL_OK || size > INT32_MAX)
		return jser_bad(s, "serialized secret key: bad array length");
	if (sz > 0) {
		if (size > cur_left(s->c) / (size_t)sz)
			return jser_bad(s, "serialized secret key: array beyond end");
		s->c->p += (size_t)size * (size_t)sz;
		return CL_OK;
	}
	if (size > cur_left(s->c))   /* every element takes at least one byte */
		return jser_bad(s, "serialized secret key: array beyond end");
	for (i = 0; i < size; i++)
		if (jser_object(s, depth + 1) != CL_OK)
			return CL_ERR_PARSE;
	return CL_OK;
}

/* Skips one object (any object-valued content, not block data). */
static int jser_object(struct jser *s, int depth)
{
	uint32_t cls, idx;
	uint8_t tc;

	if (depth > JSER_MAX_DEPTH)
		return jser_bad(s, "serialized secret key: nesting too deep");
	if (cur_left(s->c) < 1)
		return jser_bad(s, "serialized secret key: truncated object");
	tc = s->c->p[0];
	switch (tc) {
	case TC_NULL:
		s->c->p++;
		return CL_OK;
	case TC_REFERENCE:
		s->c->p++;
		return jser_ref(s, &idx);
	case TC_STRING:
	case TC_LONGSTRING:
		s->c->p++;
		return jser_string_body(s, tc);
	case TC_CLASSDESC:
	case TC_PROXYCLASSDESC:
		return jser_classdesc(s, depth + 1, &cls);
	case TC_CLASS:
		s->c->p++;
		if (jser_classdesc(s, depth + 1, &cls) != CL_OK)
			return CL_ERR_PARSE;
		return jser_new_handle(s, NULL);
	case TC_ARRAY:
		s->c->p++;
		return jser_array(s, depth);
	case TC_ENUM:
		s->c->p++;
		if (jser_classdesc(s, depth + 1, &cls) != CL_OK ||
		    jser_new_handle(s, NULL) != CL_OK)
			return CL_ERR_PARSE;
		return jser_string(s);
	case TC_OBJECT:
		s->c->p++;
		if (jser_classdesc(s, depth + 1, &cls) != CL_OK)
			return CL_ERR_PARSE;
		if (cls == JSER_NONE)
			return jser_bad(s, "serialized secret key: object without class");
		if (jser_new_handle(s, NULL) != CL_OK)
			return CL_ERR_PARSE;
		return jser_classdata(s, depth, cls);
	case TC_RESET:
	case TC_EXCEPTION:
		return jser_bad(s, "serialized secret key: reset/exception marker not supported");
	case TC_BLOCKDATA:
	case TC_BLOCKDATALONG:
	case TC_ENDBLOCKDATA:
		return jser_bad(s, "serialized secret key: unexpected block data");
	default:
		return jser_bad(s, "serialized secret key: unknown type code");
	}
}

/*
 * Skips one Java-serialized object stream (magic, version, one object),
 * as JCEKS writes a SealedObject per secret key entry. Returns CL_OK with
 * the cursor after it, or CL_ERR_PARSE with *why set.
 */
static int jser_skip_stream(struct jks_cur *c, const char **why)
{
	struct jser *s;
	uint16_t magic, version;
	int rc = CL_ERR_PARSE;

	if (cur_u16(c, &magic) != CL_OK || cur_u16(c, &version) != CL_OK ||
	    magic != JSER_MAGIC || version != JSER_VERSION) {
		*why = "secret key entry: not a Java serialization stream";
		return CL_ERR_PARSE;
	}
	if ((s = malloc(sizeof *s)) == NULL)
		return CL_ERR_NOMEM;
	s->c = c;
	s->why = NULL;
	s->n = 0;
	if (jser_object(s, 0) != CL_OK) {
		*why = s->why ? s->why : "serialized secret key: malformed";
		goto out;
	}
	rc = CL_OK;
out:
	free(s);
	return rc;
}

/* ---- aliases and passwords --------------------------------------------- */

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes one modified UTF-8 unit at p[0..n) (n >= 1) as Java's readUTF
 * does (overlong forms accepted), plus standard 4-byte sequences. Sets
 * *len to the bytes consumed and returns the UTF-16 unit or code point,
 * or UINT32_MAX for a malformed byte (*len = 1).
 */
static uint32_t mutf8_unit(const unsigned char *p, size_t n, size_t *len)
{
	uint32_t cp;

	*len = 1;
	if (p[0] < 0x80)
		return p[0];
	if ((p[0] & 0xe0) == 0xc0 && n >= 2 && (p[1] & 0xc0) == 0x80) {
		*len = 2;
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	}
	if ((p[0] & 0xf0) == 0xe0 && n >= 3 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80) {
		*len = 3;
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
		       (p[2] & 0x3f);
	}
	if ((p[0] & 0xf8) == 0xf0 && n >= 4 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
		cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		     (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		if (cp >= 0x10000 && cp <= 0x10ffff) {
			*len = 4;
			return cp;
		}
	}
	return UINT32_MAX;
}

/*
 * Converts modified UTF-8 in[0..n) to NUL-terminated standard UTF-8 in
 * out, which must hold 3 * n + 1 bytes (the worst case: every byte
 * becoming U+FFFD). See the decisions at the top of the file.
 */
static void mutf8_to_utf8(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0, l, l2;
	uint32_t u, lo;
	char *o = out;

	while (i < n) {
		u = mutf8_unit(in + i, n - i, &l);
		i += l;
		if (u >= 0xd800 && u <= 0xdbff && i < n) {
			lo = mutf8_unit(in + i, n - i, &l2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i += l2;
			}
		}
		if (u == 0 || u == UINT32_MAX || (u >= 0xd800 && u <= 0xdfff))
			u = 0xfffd;
		o += utf8_put(o, u);
	}
	*o = '\0';
}

/*
 * Decodes one strict UTF-8 code point from s (NUL terminated, *s != 0);
 * an invalid byte yields its Latin-1 value. Advances *s.
 */
static uint32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp, min;
	size_t len, i;

	if (p[0] < 0x80) { len = 1; cp = p[0]; min = 0; }
	else if ((p[0] & 0xe0) == 0xc0) { len = 2; cp = p[0] & 0x1f; min = 0x80; }
	else if ((p[0] & 0xf0) == 0xe0) { len = 3; cp = p[0] & 0x0f; min = 0x800; }
	else if ((p[0] & 0xf8) == 0xf0) { len = 4; cp = p[0] & 0x07; min = 0x10000; }
	else goto latin1;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)   /* also stops at the NUL */
			goto latin1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto latin1;
	*s = p + len;
	return cp;
latin1:
	*s = p + 1;
	return p[0];
}

/*
 * Feeds UTF-16BE(password) to md, as Java does with the char[] password.
 * Returns 1 on success like the EVP calls.
 */
static int digest_password(EVP_MD_CTX *md, const char *password)
{
	const unsigned char *s = (const unsigned char *)password;
	unsigned char buf[128];
	size_t n = 0;
	uint32_t cp, u[2];
	int i, nu, ok = 1;

	while (*s && ok) {
		cp = utf8_next(&s);
		if (cp >= 0x10000) {
			u[0] = 0xd800 + ((cp - 0x10000) >> 10);
			u[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			nu = 2;
		} else {
			u[0] = cp;
			nu = 1;
		}
		for (i = 0; i < nu; i++) {
			buf[n++] = (unsigned char)(u[i] >> 8);
			buf[n++] = (unsigned char)u[i];
		}
		if (n > sizeof buf - 4) {
			ok = EVP_DigestUpdate(md, buf, n);
			n = 0;
		}
	}
	if (ok && n > 0)
		ok = EVP_DigestUpdate(md, buf, n);
	OPENSSL_cleanse(buf, sizeof buf);
	return ok;
}

/*
 * Checks the SHA-1 at digest (20 bytes) against UTF-16BE(password) ||
 * "Mighty Aphrodite" || p[0..len). Returns CL_OK, CL_ERR_PASSWORD on a
 * mismatch, or CL_ERR (logged) when OpenSSL fails.
 */
static int jks_check_digest(const unsigned char *p, size_t len,
                            const unsigned char *digest, const char *password)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int rc = CL_ERR;

	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		cl_log_ossl(CL_LOG_ERROR, "jks: EVP_MD_CTX_new");
		return CL_ERR_NOMEM;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    digest_password(ctx, password) != 1 ||
	    EVP_DigestUpdate(ctx, JKS_WHITENER, strlen(JKS_WHITENER)) != 1 ||
	    EVP_DigestUpdate(ctx, p, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != JKS_DIGEST_LEN) {
		cl_log_ossl(CL_LOG_ERROR, "jks: SHA-1 digest failed");
		goto out;
	}
	rc = CRYPTO_memcmp(md, digest, JKS_DIGEST_LEN) == 0 ? CL_OK : CL_ERR_PASSWORD;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- the store --------------------------------------------------------- */

static int walk_bad(struct jks_walk *w, const char *why)
{
	w->why = why;
	return CL_ERR_PARSE;
}

/*
 * Reads one certificate ([v2: type string] u32 length + DER) and reports
 * it when it is X.509 and w->cb is set.
 */
static int walk_cert(struct jks_walk *w, enum cl_jks_entry type, int index)
{
	const unsigned char *t = NULL, *der;
	uint16_t tlen = 5;
	uint32_t len;
	int rc;

	if (w->version == 2 &&
	    (cur_u16(&w->c, &tlen) != CL_OK || cur_bytes(&w->c, tlen, &t) != CL_OK))
		return walk_bad(w, "truncated certificate type");
	if (cur_u32(&w->c, &len) != CL_OK)
		return walk_bad(w, "truncated certificate length");
	if (len == 0)
		return walk_bad(w, "empty certificate");
	if (len > JKS_MAX_CERT)
		return walk_bad(w, "certificate larger than 1 MiB");
	if (cur_bytes(&w->c, len, &der) != CL_OK)
		return walk_bad(w, "certificate beyond end of input");
	if (t != NULL && (tlen != 5 || memcmp(t, "X.509", 5) != 0))
		return CL_OK;   /* another certificate type: skipped */
	if (w->cb == NULL)
		return CL_OK;
	if ((rc = w->cb(w->arg, w->alias, type, index, der, len)) != CL_OK)
		w->why = "stopped by the callback";
	return rc;
}

/* Reads an alias and, when reporting, converts it into w->alias. */
static int walk_alias(struct jks_walk *w)
{
	const unsigned char *a;
	uint16_t len;
	size_t need;
	char *na;

	if (cur_u16(&w->c, &len) != CL_OK || cur_bytes(&w->c, len, &a) != CL_OK)
		return walk_bad(w, "truncated alias");
	if (w->cb == NULL)
		return CL_OK;
	need = 3 * (size_t)len + 1;
	if (need > w->alias_cap) {
		if ((na = realloc(w->alias, need)) == NULL)
			return CL_ERR_NOMEM;
		w->alias = na;
		w->alias_cap = need;
	}
	mutf8_to_utf8(a, len, w->alias);
	return CL_OK;
}

/*
 * Walks the entries from the start of the input. On CL_OK w->digest
 * points at the 20-byte integrity digest after the last entry.
 */
static int walk_store(struct jks_walk *w)
{
	uint32_t magic, count, i, tag, keylen, chain, j;
	uint64_t date;
	int rc;

	if (cur_u32(&w->c, &magic) != CL_OK ||
	    (magic != JKS_MAGIC && magic != JCEKS_MAGIC))
		return walk_bad(w, "not a JKS/JCEKS store (bad magic)");
	w->jceks = magic == JCEKS_MAGIC;
	if (cur_u32(&w->c, &w->version) != CL_OK)
		return walk_bad(w, "truncated header");
	if (w->version != 1 && w->version != 2)
		return walk_bad(w, "unsupported keystore version");
	if (cur_u32(&w->c, &count) != CL_OK)
		return walk_bad(w, "truncated header");
	if (count > JKS_MAX_ENTRIES)
		return walk_bad(w, "too many entries");
	for (i = 0; i < count; i++) {
		if (cur_u32(&w->c, &tag) != CL_OK)
			return walk_bad(w, "truncated entry");
		if ((rc = walk_alias(w)) != CL_OK)
			return rc;
		if (cur_u64(&w->c, &date) != CL_OK)
			return walk_bad(w, "truncated entry date");
		switch (tag) {
		case CL_JKS_PRIVATE_KEY:
			if (cur_u32(&w->c, &keylen) != CL_OK)
				return walk_bad(w, "truncated private key entry");
			if (keylen > JKS_MAX_KEY)
				return walk_bad(w, "private key larger than 1 MiB");
			if (cur_skip(&w->c, keylen) != CL_OK)
				return walk_bad(w, "private key beyond end of input");
			if (cur_u32(&w->c, &chain) != CL_OK)
				return walk_bad(w, "truncated certificate chain");
			if (chain > JKS_MAX_CHAIN)
				return walk_bad(w, "certificate chain longer than 100");
			for (j = 0; j < chain; j++)
				if ((rc = walk_cert(w, CL_JKS_PRIVATE_KEY, (int)j)) != CL_OK)
					return rc;
			break;
		case CL_JKS_TRUSTED_CERT:
			if ((rc = walk_cert(w, CL_JKS_TRUSTED_CERT, 0)) != CL_OK)
				return rc;
			break;
		case CL_JKS_SECRET_KEY:
			if (!w->jceks)
				return walk_bad(w, "secret key entry in a JKS store");
			if ((rc = jser_skip_stream(&w->c, &w->why)) != CL_OK)
				return rc;
			break;
		default:
			return walk_bad(w, "unknown entry tag");
		}
	}
	if (cur_left(&w->c) < JKS_DIGEST_LEN)
		return walk_bad(w, "truncated integrity digest");
	w->digest = w->c.p;
	return CL_OK;
}

bool cl_jks_sniff(const unsigned char *p, size_t n)
{
	static const unsigned char jks[4] = { 0xfe, 0xed, 0xfe, 0xed };
	static const unsigned char jceks[4] = { 0xce, 0xce, 0xce, 0xce };

	return p != NULL && n >= 4 &&
	       (memcmp(p, jks, 4) == 0 || memcmp(p, jceks, 4) == 0);
}

int cl_jks_parse(const unsigned char *p, size_t n, const char *password,
                 cl_jks_cert_cb cb, void *arg, bool *is_jceks, const char **why)
{
	static const unsigned char empty[1];
	struct jks_walk w;
	const unsigned char *digest;
	int rc, drc;

	memset(&w, 0, sizeof w);
	if (why)
		*why = NULL;
	if (p == NULL) {   /* no pointer arithmetic on NULL below */
		p = empty;
		n = 0;
	}
	if (is_jceks)
		*is_jceks = n >= 4 && p[0] == 0xce && cl_jks_sniff(p, n);
	if (password != NULL) {
		/*
		 * Validate first, reporting nothing, to find where the digest is.
		 * When the structure cannot be walked, the digest is taken from
		 * the end of the input: if it matches, the store is authentic
		 * and is walked again to report what precedes the problem.
		 */
		w.c.p = p;
		w.c.end = p + n;
		rc = walk_store(&w);
		if (rc != CL_OK && rc != CL_ERR_PARSE)
			goto out;
		digest = rc == CL_OK ? w.digest : n >= 12 + JKS_DIGEST_LEN ?
		         p + n - JKS_DIGEST_LEN : NULL;
		if (digest == NULL)
			goto out;
		drc = jks_check_digest(p, (size_t)(digest - p), digest, password);
		if (drc == CL_ERR_PASSWORD) {
			if (rc == CL_OK)
				rc = CL_ERR_PASSWORD;
			goto out;
		}
		if (drc != CL_OK) {
			rc = drc;
			goto out;
		}
	}
	w.why = NULL;
	w.c.p = p;
	w.c.end = p + n;
	w.cb = cb;
	w.arg = arg;
	rc = walk_store(&w);
out:
	free(w.alias);
	if (rc == CL_ERR_PARSE && why)
		*why = w.why ? w.why : "malformed keystore";
	return rc;
}
