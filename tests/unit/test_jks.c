/*
 * Tests for the JKS/JCEKS reader. Real stores are generated with keytool
 * (skipped when it is missing); hand-built stores cover version 1, alias
 * conversion, the serialization skipper and malformed input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "testutil.h"
#include "x509/jks.h"

#define PW "changeit"
/* UTF-8 "pässwörd€" */
#define PW_NONASCII "p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac"
/* UTF-8 "äöü-€-😀" and "grüße-😀" (keytool lowercases aliases) */
#define ALIAS_UML "\xc3\xa4\xc3\xb6\xc3\xbc-\xe2\x82\xac-\xf0\x9f\x98\x80"
#define ALIAS_GRUSS "gr\xc3\xbc\xc3\x9f" "e-\xf0\x9f\x98\x80"
#define KT "LC_ALL=C.UTF-8 keytool -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC"

/* ---- recording callback ---------------------------------------------- */

struct seen {
	char alias[256];
	enum cl_jks_entry type;
	int idx;
	const unsigned char *der;
	size_t len;
};

struct rec {
	struct seen s[64];
	int n;
	int stop_after;   /* > 0: return CL_ERR_NOTFOUND on that call */
};

static int rec_cb(void *arg, const char *alias, enum cl_jks_entry type,
                  int chain_index, const unsigned char *der, size_t len)
{
	struct rec *r = arg;
	struct seen *s;

	assert_non_null(alias);
	assert_true(r->n < (int)CL_ARRAY_LEN(r->s));
	s = &r->s[r->n++];
	snprintf(s->alias, sizeof s->alias, "%s", alias);
	s->type = type;
	s->idx = chain_index;
	s->der = der;
	s->len = len;
	if (r->stop_after > 0 && r->n == r->stop_after)
		return CL_ERR_NOTFOUND;
	return CL_OK;
}

static const struct seen *rec_find(const struct rec *r, const char *alias, int idx)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->s[i].alias, alias) == 0 && r->s[i].idx == idx)
			return &r->s[i];
	return NULL;
}

/* ---- stores generated with keytool ------------------------------------ */

static bool stores_tried, have_keytool;
static char dir[4096];

static void gen_stores(void)
{
	const char *d;

	d = tu_tmpdir();
	snprintf(dir, sizeof dir, "%s/jks", d);
	tu_sh("mkdir -p '%s'", dir);
	/* certificates to import, made by openssl */
	tu_sh("cd '%s' && for c in ca1 ca2; do openssl req -x509 -newkey ec "
	      "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $c.key -subj /CN=$c "
	      "-days 30 -out $c.pem 2>/dev/null || exit 1; done", dir);

	/* JKS: an RSA key, an EC key whose chain is leaf -> ca, two trusted certs */
	tu_sh("cd '%s' && S='-storetype JKS -keystore store.jks -storepass " PW
	      " -keypass " PW "' && ( "
	      KT " -genkeypair $S -alias rsakey -keyalg RSA -keysize 2048 -dname CN=rsakey && "
	      KT " -genkeypair $S -alias ca -keyalg EC -groupname secp256r1 -dname CN=ca "
	      "-ext bc:c && "
	      KT " -genkeypair $S -alias leaf -keyalg EC -groupname secp256r1 -dname CN=leaf && "
	      KT " -certreq $S -alias leaf -file leaf.csr && "
	      KT " -gencert $S -alias ca -infile leaf.csr -outfile leafsigned.pem -rfc && "
	      KT " -importcert $S -noprompt -alias leaf -file leafsigned.pem && "
	      KT " -importcert $S -noprompt -alias trusted1 -file ca1.pem && "
	      KT " -importcert $S -noprompt -alias '" ALIAS_GRUSS "' -file ca2.pem && "
	      KT " -exportcert $S -rfc -alias rsakey -file rsakey.pem && "
	      KT " -exportcert $S -rfc -alias ca -file ca.pem && "
	      KT " -exportcert $S -rfc -alias leaf -file leaf.pem"
	      " ) >keytool.log 2>&1", dir);

	/* JCEKS: secret keys mixed with a private key and trusted certs */
	tu_sh("cd '%s' && S='-storetype JCEKS -keystore store.jceks -storepass " PW
	      " -keypass " PW "' && ( "
	      KT " -genkeypair $S -alias key1 -keyalg EC -groupname secp256r1 -dname CN=key1 && "
	      KT " -exportcert $S -rfc -alias key1 -file key1.pem && "
	      KT " -genseckey $S -alias aes1 -keyalg AES -keysize 128 && "
	      KT " -importcert $S -noprompt -alias trust1 -file ca1.pem && "
	      KT " -genseckey $S -alias hmac1 -keyalg HmacSHA256 -keysize 256 && "
	      KT " -importcert $S -noprompt -alias '" ALIAS_UML "' -file ca2.pem && "
	      KT " -genseckey $S -alias aes2 -keyalg AES -keysize 128 && "
	      KT " -importcert $S -noprompt -alias trust2 -file rsakey.pem"
	      " ) >>keytool.log 2>&1", dir);

	/* JKS with a non-ASCII store password */
	tu_sh("cd '%s' && " KT " -importcert -noprompt -storetype JKS -keystore pw.jks "
	      "-storepass '" PW_NONASCII "' -alias x -file ca1.pem >>keytool.log 2>&1", dir);

	tu_sh("cd '%s' && for c in ca1 ca2 rsakey ca leaf key1; do "
	      "openssl x509 -in $c.pem -outform DER -out $c.der || exit 1; done", dir);
}

/* Skips the test without keytool; generates the stores on first use. */
static void need_stores(void)
{
	if (!stores_tried) {
		stores_tried = true;
		have_keytool = system("command -v keytool >/dev/null 2>&1") == 0;
		if (have_keytool)
			gen_stores();
	}
	if (!have_keytool)
		skip();
}

static unsigned char *read_in(const char *name, size_t *len)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return tu_read(path, len);
}

/* Asserts that r holds (alias, idx, type) with the DER of file name. */
static void expect_cert(const struct rec *r, const char *alias, int idx,
                        enum cl_jks_entry type, const char *name)
{
	const struct seen *s = rec_find(r, alias, idx);
	unsigned char *der;
	size_t len;

	if (s == NULL)
		fail_msg("no certificate %s[%d]", alias, idx);
	der = read_in(name, &len);
	assert_int_equal(s->type, type);
	assert_int_equal(s->len, len);
	assert_memory_equal(s->der, der, len);
	free(der);
}

static void test_jks_real(void **state)
{
	struct rec r = { .n = 0 };
	unsigned char *p;
	size_t n;
	bool jceks = true;
	const char *why = "x";

	(void)state;
	need_stores();
	p = read_in("store.jks", &n);
	assert_true(cl_jks_sniff(p, n));
	assert_int_equal(cl_jks_parse(p, n, PW, rec_cb, &r, &jceks, &why), CL_OK);
	assert_false(jceks);
	assert_null(why);
	assert_int_equal(r.n, 6);
	expect_cert(&r, "rsakey", 0, CL_JKS_PRIVATE_KEY, "rsakey.der");
	expect_cert(&r, "ca", 0, CL_JKS_PRIVATE_KEY, "ca.der");
	expect_cert(&r, "leaf", 0, CL_JKS_PRIVATE_KEY, "leaf.der");
	expect_cert(&r, "leaf", 1, CL_JKS_PRIVATE_KEY, "ca.der");
	expect_cert(&r, "trusted1", 0, CL_JKS_TRUSTED_CERT, "ca1.der");
	expect_cert(&r, ALIAS_GRUSS, 0, CL_JKS_TRUSTED_CERT, "ca2.der");

	/* without a password the certificates are still read */
	r.n = 0;
	assert_int_equal(cl_jks_parse(p, n, NULL, rec_cb, &r, NULL, NULL), CL_OK);
	assert_int_equal(r.n, 6);
	expect_cert(&r, "leaf", 1, CL_JKS_PRIVATE_KEY, "ca.der");

	/* a wrong password reports nothing */
	r.n = 0;
	assert_int_equal(cl_jks_parse(p, n, "changeiT", rec_cb, &r, NULL, &why),
	                 CL_ERR_PASSWORD);
	assert_int_equal(r.n, 0);
	assert_int_equal(cl_jks_parse(p, n, "", rec_cb, &r, NULL, NULL), CL_ERR_PASSWORD);
	assert_int_equal(r.n, 0);

	/* a callback error stops the walk and is returned */
	r.n = 0;
	r.stop_after = 2;
	assert_int_equal(cl_jks_parse(p, n, PW, rec_cb, &r, NULL, NULL), CL_ERR_NOTFOUND);
	assert_int_equal(r.n, 2);
	free(p);
}

static void test_jceks_real(void **state)
{
	struct rec r = { .n = 0 };
	unsigned char *p;
	const unsigned char *ser;
	size_t n, i;
	bool jceks = false, after = false;
	const char *why = NULL;
	int nsecret = 0;

	(void)state;
	need_stores();
	p = read_in("store.jceks", &n);
	assert_true(cl_jks_sniff(p, n));
	assert_int_equal(cl_jks_parse(p, n, PW, rec_cb, &r, &jceks, &why), CL_OK);
	assert_true(jceks);
	assert_int_equal(r.n, 4);
	expect_cert(&r, "key1", 0, CL_JKS_PRIVATE_KEY, "key1.der");
	expect_cert(&r, "trust1", 0, CL_JKS_TRUSTED_CERT, "ca1.der");
	expect_cert(&r, ALIAS_UML, 0, CL_JKS_TRUSTED_CERT, "ca2.der");
	expect_cert(&r, "trust2", 0, CL_JKS_TRUSTED_CERT, "rsakey.der");

	/* the skipper was exercised: a certificate follows a secret key */
	ser = NULL;
	for (i = 0; i + 4 <= n; i++) {
		if (memcmp(p + i, "\xac\xed\x00\x05", 4) == 0) {
			if (ser == NULL)
				ser = p + i;
			nsecret++;
		}
	}
	assert_int_equal(nsecret, 3);
	for (i = 0; i < (size_t)r.n; i++)
		if (r.s[i].der > ser)
			after = true;
	assert_true(after);

	r.n = 0;
	assert_int_equal(cl_jks_parse(p, n, NULL, rec_cb, &r, NULL, NULL), CL_OK);
	assert_int_equal(r.n, 4);
	r.n = 0;
	assert_int_equal(cl_jks_parse(p, n, "wrong", rec_cb, &r, NULL, NULL),
	                 CL_ERR_PASSWORD);
	assert_int_equal(r.n, 0);
	free(p);
}

static void test_jks_nonascii_password(void **state)
{
	struct rec r = { .n = 0 };
	unsigned char *p;
	size_t n;

	(void)state;
	need_stores();
	p = read_in("pw.jks", &n);
	assert_int_equal(cl_jks_parse(p, n, PW_NONASCII, rec_cb, &r, NULL, NULL), CL_OK);
	assert_int_equal(r.n, 1);
	expect_cert(&r, "x", 0, CL_JKS_TRUSTED_CERT, "ca1.der");
	assert_int_equal(cl_jks_parse(p, n, "p\xe4ssw\xf6rd", rec_cb, &r, NULL, NULL),
	                 CL_ERR_PASSWORD);
	free(p);
}

/* Every prefix and every single-byte corruption of the real stores. */
static void torture(const char *name)
{
	struct rec r;
	unsigned char *p, *q;
	size_t n, i;
	const char *why;
	int rc, full;

	p = read_in(name, &n);
	r.n = 0;
	r.stop_after = 0;
	assert_int_equal(cl_jks_parse(p, n, NULL, rec_cb, &r, NULL, NULL), CL_OK);
	full = r.n;
	for (i = 0; i < n; i++) {
		/* an exact-size copy so ASan sees any read past the end */
		q = malloc(i ? i : 1);
		assert_non_null(q);
		memcpy(q, p, i);
		r.n = 0;
		why = NULL;
		rc = cl_jks_parse(q, i, NULL, rec_cb, &r, NULL, &why);
		if (rc != CL_ERR_PARSE)
			fail_msg("%s truncated at %zu: rc %d", name, i, rc);
		assert_non_null(why);
		assert_true(r.n <= full);
		r.n = 0;
		rc = cl_jks_parse(q, i, PW, rec_cb, &r, NULL, &why);
		if (rc != CL_ERR_PARSE)
			fail_msg("%s truncated at %zu with password: rc %d", name, i, rc);
		assert_int_equal(r.n, 0);
		free(q);
	}
	q = malloc(n);
	assert_non_null(q);
	for (i = 0; i < n; i++) {
		memcpy(q, p, n);
		q[i] ^= (unsigned char)(0x80 | i);
		r.n = 0;
		rc = cl_jks_parse(q, n, NULL, rec_cb, &r, NULL, NULL);
		assert_true(rc == CL_OK || rc == CL_ERR_PARSE);
		r.n = 0;
		rc = cl_jks_parse(q, n, PW, rec_cb, &r, NULL, NULL);
		assert_true(rc == CL_ERR_PASSWORD || rc == CL_ERR_PARSE);
		assert_int_equal(r.n, 0);
	}
	free(q);
	free(p);
}

static void test_jks_torture(void **state)
{
	(void)state;
	need_stores();
	torture("store.jks");
	torture("store.jceks");
}

/* ---- hand-built stores ------------------------------------------------ */

struct bld {
	unsigned char b[16384];
	size_t n;
};

static void b_bytes(struct bld *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void b_u8(struct bld *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	b_bytes(b, &c, 1);
}

static void b_u16(struct bld *b, unsigned v)
{
	b_u8(b, v >> 8);
	b_u8(b, v);
}

static void b_u32(struct bld *b, uint32_t v)
{
	b_u16(b, v >> 16);
	b_u16(b, v & 0xffff);
}

static void b_utf(struct bld *b, const char *s)
{
	b_u16(b, (unsigned)strlen(s));
	b_bytes(b, s, strlen(s));
}

static void b_head(struct bld *b, uint32_t magic, uint32_t version, uint32_t count)
{
	b->n = 0;
	b_u32(b, magic);
	b_u32(b, version);
	b_u32(b, count);
}

/* tag, alias and date of an entry */
static void b_entry(struct bld *b, uint32_t tag, const char *alias)
{
	b_u32(b, tag);
	b_utf(b, alias);
	b_u32(b, 0x00000190);
	b_u32(b, 0x12345678);
}

/* A small fake certificate: a DER SEQUENCE holding a marker byte. */
static void b_cert(struct bld *b, uint32_t version, const char *type, unsigned mark)
{
	if (version == 2)
		b_utf(b, type);
	b_u32(b, 5);
	b_u8(b, 0x30);
	b_u8(b, 3);
	b_u8(b, 0x02);
	b_u8(b, 1);
	b_u8(b, mark);
}

/* Appends the integrity digest for an ASCII password. */
static void b_digest(struct bld *b, const char *pw)
{
	unsigned char md[EVP_MAX_MD_SIZE], u[2];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL), 1);
	for (i = 0; pw[i]; i++) {
		u[0] = 0;
		u[1] = (unsigned char)pw[i];
		assert_int_equal(EVP_DigestUpdate(ctx, u, 2), 1);
	}
	assert_int_equal(EVP_DigestUpdate(ctx, "Mighty Aphrodite", 16), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, b->b, b->n), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &len), 1);
	EVP_MD_CTX_free(ctx);
	b_bytes(b, md, len);
}

static int parse_b(const struct bld *b, const char *pw, struct rec *r, const char **why)
{
	unsigned char *q = malloc(b->n ? b->n : 1);
	int rc;

	assert_non_null(q);
	memcpy(q, b->b, b->n);
	r->n = 0;
	r->stop_after = 0;
	*why = NULL;
	rc = cl_jks_parse(q, b->n, pw, rec_cb, r, NULL, why);
	/* der pointers point into q: keep only what the tests compare */
	free(q);
	return rc;
}

static void test_jks_v1_and_types(void **state)
{
	struct bld *b = calloc(1, sizeof *b);
	struct rec r;
	const char *why;

	(void)state;
	assert_non_null(b);
	/* version 1: no type strings; a chain of three and a trusted cert */
	b_head(b, 0xfeedfeed, 1, 2);
	b_entry(b, 1, "key");
	b_u32(b, 3);
	b_bytes(b, "abc", 3);
	b_u32(b, 3);
	b_cert(b, 1, NULL, 1);
	b_cert(b, 1, NULL, 2);
	b_cert(b, 1, NULL, 3);
	b_entry(b, 2, "trusted");
	b_cert(b, 1, NULL, 4);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.s[2].alias, "key");
	assert_int_equal(r.s[2].idx, 2);
	assert_int_equal(r.s[2].type, CL_JKS_PRIVATE_KEY);
	assert_int_equal(r.s[2].len, 5);
	assert_string_equal(r.s[3].alias, "trusted");
	assert_int_equal(r.s[3].type, CL_JKS_TRUSTED_CERT);
	assert_int_equal(parse_b(b, "nope", &r, &why), CL_ERR_PASSWORD);
	assert_int_equal(r.n, 0);

	/* version 2: a non-X.509 certificate is skipped, indexes keep their place */
	b_head(b, 0xfeedfeed, 2, 2);
	b_entry(b, 1, "key");
	b_u32(b, 0);
	b_u32(b, 2);
	b_cert(b, 2, "PGP", 1);
	b_cert(b, 2, "X.509", 2);
	b_entry(b, 2, "other");
	b_cert(b, 2, "X.5090", 3);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.s[0].idx, 1);

	/* trailing bytes after the digest are ignored, as Java does */
	b_bytes(b, "junk", 4);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);
	assert_int_equal(parse_b(b, NULL, &r, &why), CL_OK);
	free(b);
}

static void test_jks_aliases(void **state)
{
	static const struct {
		const char *in;     /* modified UTF-8 */
		size_t len;
		const char *out;    /* standard UTF-8 */
	} t[] = {
		{ "abc", 3, "abc" },
		{ "", 0, "" },
		{ "\xc3\xa4", 2, "\xc3\xa4" },
		{ "\xe2\x82\xac", 3, "\xe2\x82\xac" },
		{ "\xed\xa0\xbd\xed\xb8\x80", 6, "\xf0\x9f\x98\x80" },   /* surrogate pair */
		{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },           /* standard form */
		{ "a\xc0\x80z", 4, "a\xef\xbf\xbdz" },                    /* U+0000 */
		{ "a\0z", 3, "a\xef\xbf\xbdz" },
		{ "\xed\xa0\xbd", 3, "\xef\xbf\xbd" },                    /* lone high */
		{ "\xed\xa0\xbd" "A", 4, "\xef\xbf\xbd" "A" },
		{ "\xed\xb8\x80", 3, "\xef\xbf\xbd" },                    /* lone low */
		{ "\xed\xb8\x80\xed\xa0\xbd", 6, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xff", 1, "\xef\xbf\xbd" },
		{ "\x80x", 2, "\xef\xbf\xbdx" },
		{ "\xc3", 1, "\xef\xbf\xbd" },                            /* truncated */
		{ "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc1\x81", 2, "A" },                                   /* overlong, as Java */
		{ "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	};
	struct bld *b = calloc(1, sizeof *b);
	struct rec r;
	const char *why;
	size_t i;

	(void)state;
	assert_non_null(b);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		b_head(b, 0xfeedfeed, 2, 1);
		b_u32(b, 2);
		b_u16(b, (unsigned)t[i].len);
		b_bytes(b, t[i].in, t[i].len);
		b_u32(b, 0);
		b_u32(b, 0);
		b_cert(b, 2, "X.509", 1);
		b_digest(b, PW);
		assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);
		assert_int_equal(r.n, 1);
		if (strcmp(r.s[0].alias, t[i].out) != 0)
			fail_msg("alias case %zu: got '%s'", i, r.s[0].alias);
	}
	/* the longest alias grows to three times its size */
	b_head(b, 0xfeedfeed, 2, 1);
	b_u32(b, 2);
	b_u16(b, 4000);
	memset(b->b + b->n, 0xff, 4000);
	b->n += 4000;
	b_u32(b, 0);
	b_u32(b, 0);
	b_cert(b, 2, "X.509", 1);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, NULL, &r, &why), CL_OK);
	assert_int_equal(r.n, 1);
	free(b);
}

/* Java serialization streams placed as a secret key between two certificates. */
static const unsigned char ser_null[] = { 0xac, 0xed, 0, 5, 0x70 };
static const unsigned char ser_string[] = { 0xac, 0xed, 0, 5, 0x74, 0, 3, 'a', 'b', 'c' };
static const unsigned char ser_longstring[] = {
	0xac, 0xed, 0, 5, 0x7c, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
/* class A (SC_SERIALIZABLE|SC_WRITE_METHOD, int x, Object o = "s") with
 * block data and an object in its annotation */
static const unsigned char ser_writeobj[] = {
	0xac, 0xed, 0, 5,
	0x73, 0x72, 0, 1, 'A', 1, 2, 3, 4, 5, 6, 7, 8, 0x03, 0, 2,
	'I', 0, 1, 'x',
	'L', 0, 1, 'o', 0x74, 0, 18, 'L', 'j', 'a', 'v', 'a', '/', 'l', 'a', 'n', 'g',
	'/', 'O', 'b', 'j', 'e', 'c', 't', ';',
	0x78, 0x70,                    /* no class annotation, no superclass */
	0, 0, 0, 42,                   /* x */
	0x74, 0, 1, 's',               /* o */
	0x77, 2, 9, 9,                 /* block data */
	0x71, 0, 0x7e, 0, 2,           /* reference to the object itself */
	0x78,
};
/* an array of two int arrays, the second reusing the class descriptor */
static const unsigned char ser_arrays[] = {
	0xac, 0xed, 0, 5,
	0x75, 0x72, 0, 3, '[', '[', 'I', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70,
	0, 0, 0, 2,
	0x75, 0x72, 0, 2, '[', 'I', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70,
	0, 0, 0, 1, 0, 0, 0, 7,
	0x75, 0x71, 0, 0x7e, 0, 2, 0, 0, 0, 0,
};
/* an enum constant and an externalizable object with block data */
static const unsigned char ser_enum_ext[] = {
	0xac, 0xed, 0, 5,
	0x75, 0x72, 0, 19, '[', 'L', 'j', 'a', 'v', 'a', '/', 'l', 'a', 'n', 'g', '/',
	'O', 'b', 'j', 'e', 'c', 't', ';', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70,
	0, 0, 0, 2,
	0x7e, 0x72, 0, 1, 'E', 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0, 0, 0x78, 0x70,
	0x74, 0, 3, 'O', 'N', 'E',
	0x73, 0x72, 0, 1, 'X', 1, 1, 1, 1, 1, 1, 1, 1, 0x0c, 0, 0, 0x78, 0x70,
	0x77, 1, 0, 0x78,
};

/* what keytool writes for an AES key (SealedObjectForKeyProtector) */
static const unsigned char ser_sealed[] = {
	0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x33, 'c', 'o', 'm', '.', 's', 'u', 'n',
	'.', 'c', 'r', 'y', 'p', 't', 'o', '.', 'p', 'r', 'o', 'v', 'i', 'd', 'e', 'r', '.',
	'S', 'e', 'a', 'l', 'e', 'd', 'O', 'b', 'j', 'e', 'c', 't', 'F', 'o', 'r', 'K', 'e',
	'y', 'P', 'r', 'o', 't', 'e', 'c', 't', 'o', 'r', 0xcd, 0x57, 0xca, 0x59, 0xe7, 0x30,
	0xbb, 0x53, 0x02, 0x00, 0x00, 0x78, 0x72, 0x00, 0x19, 'j', 'a', 'v', 'a', 'x', '.',
	'c', 'r', 'y', 'p', 't', 'o', '.', 'S', 'e', 'a', 'l', 'e', 'd', 'O', 'b', 'j', 'e',
	'c', 't', 0x3e, 0x36, 0x3d, 0xa6, 0xc3, 0xb7, 0x54, 0x70, 0x02, 0x00, 0x04,
	'[', 0x00, 0x0d, 'e', 'n', 'c', 'o', 'd', 'e', 'd', 'P', 'a', 'r', 'a', 'm', 's',
	0x74, 0x00, 0x02, '[', 'B',
	'[', 0x00, 0x10, 'e', 'n', 'c', 'r', 'y', 'p', 't', 'e', 'd', 'C', 'o', 'n', 't', 'e',
	'n', 't', 0x71, 0x00, 0x7e, 0x00, 0x02,
	'L', 0x00, 0x09, 'p', 'a', 'r', 'a', 'm', 's', 'A', 'l', 'g', 0x74, 0x00, 0x12, 'L',
	'j', 'a', 'v', 'a', '/', 'l', 'a', 'n', 'g', '/', 'S', 't', 'r', 'i', 'n', 'g', ';',
	'L', 0x00, 0x07, 's', 'e', 'a', 'l', 'A', 'l', 'g', 0x71, 0x00, 0x7e, 0x00, 0x03,
	0x78, 0x70,
	0x75, 0x72, 0x00, 0x02, '[', 'B', 0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0,
	0x02, 0x00, 0x00, 0x78, 0x70, 0x00, 0x00, 0x00, 0x02, 0x30, 0x00,
	0x75, 0x71, 0x00, 0x7e, 0x00, 0x05, 0x00, 0x00, 0x00, 0x03, 1, 2, 3,
	0x74, 0x00, 0x03, 'P', 'B', 'E',
	0x74, 0x00, 0x03, 'P', 'B', 'E',
};

/* superclass descriptor referring to itself */
static const unsigned char ser_selfsuper[] = {
	0xac, 0xed, 0, 5,
	0x73, 0x72, 0, 1, 'A', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78,
	0x71, 0, 0x7e, 0, 0,
};
static const unsigned char ser_externalizable[] = {
	0xac, 0xed, 0, 5,
	0x73, 0x72, 0, 1, 'X', 1, 1, 1, 1, 1, 1, 1, 1, 0x04, 0, 0, 0x78, 0x70, 1, 2, 3,
};
static const unsigned char ser_unknown[] = { 0xac, 0xed, 0, 5, 0x50 };
static const unsigned char ser_reset[] = { 0xac, 0xed, 0, 5, 0x79, 0x70 };
static const unsigned char ser_exception[] = { 0xac, 0xed, 0, 5, 0x7b, 0x70 };
static const unsigned char ser_blockdata[] = { 0xac, 0xed, 0, 5, 0x77, 1, 0 };
static const unsigned char ser_badmagic[] = { 0xac, 0xed, 0, 4, 0x70 };
static const unsigned char ser_dangling[] = { 0xac, 0xed, 0, 5, 0x71, 0, 0x7e, 0, 0 };
static const unsigned char ser_lowhandle[] = { 0xac, 0xed, 0, 5, 0x71, 0, 0, 0, 0 };
static const unsigned char ser_truncated[] = { 0xac, 0xed, 0, 5, 0x74, 0, 9, 'a' };
static const unsigned char ser_hugestring[] = {
	0xac, 0xed, 0, 5, 0x7c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a' };
static const unsigned char ser_hugearray[] = {
	0xac, 0xed, 0, 5,
	0x75, 0x72, 0, 2, '[', 'J', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70,
	0x7f, 0xff, 0xff, 0xff, 0,
};
static const unsigned char ser_negarray[] = {
	0xac, 0xed, 0, 5,
	0x75, 0x72, 0, 2, '[', 'B', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70,
	0xff, 0xff, 0xff, 0xff,
};
static const unsigned char ser_nonarray[] = {
	0xac, 0xed, 0, 5,
	0x75, 0x72, 0, 1, 'A', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78, 0x70, 0, 0, 0, 0,
};
static const unsigned char ser_badfield[] = {
	0xac, 0xed, 0, 5,
	0x73, 0x72, 0, 1, 'A', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 1, 'Q', 0, 1, 'q', 0x78, 0x70,
};

struct ser_case {
	const char *name;
	const unsigned char *p;
	size_t n;
	int rc;
};

#define SER(x, rc) { #x, x, sizeof x, rc }

static void b_ser_store(struct bld *b, const unsigned char *ser, size_t n)
{
	b_head(b, 0xcececece, 2, 3);
	b_entry(b, 2, "before");
	b_cert(b, 2, "X.509", 1);
	b_entry(b, 3, "secret");
	b_bytes(b, ser, n);
	b_entry(b, 2, "after");
	b_cert(b, 2, "X.509", 2);
	b_digest(b, PW);
}

/* Appends a chain of nested object arrays deeper than any sane limit. */
static void b_deep(struct bld *b, unsigned levels)
{
	unsigned i;
	static const unsigned char desc[] = {
		0x75, 0x72, 0, 19, '[', 'L', 'j', 'a', 'v', 'a', '/', 'l', 'a', 'n', 'g', '/',
		'O', 'b', 'j', 'e', 'c', 't', ';', 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0, 0, 0x78,
		0x70, 0, 0, 0, 1 };

	b_bytes(b, "\xac\xed\x00\x05", 4);
	b_bytes(b, desc, sizeof desc);
	for (i = 0; i < levels; i++)
		b_bytes(b, "\x75\x71\x00\x7e\x00\x00\x00\x00\x00\x01", 10);
	b_u8(b, 0x70);
}

static void test_jks_serialization(void **state)
{
	static const struct ser_case t[] = {
		SER(ser_null, CL_OK),
		SER(ser_string, CL_OK),
		SER(ser_longstring, CL_OK),
		SER(ser_writeobj, CL_OK),
		SER(ser_arrays, CL_OK),
		SER(ser_enum_ext, CL_OK),
		SER(ser_sealed, CL_OK),
		SER(ser_selfsuper, CL_ERR_PARSE),
		SER(ser_externalizable, CL_ERR_PARSE),
		SER(ser_unknown, CL_ERR_PARSE),
		SER(ser_reset, CL_ERR_PARSE),
		SER(ser_exception, CL_ERR_PARSE),
		SER(ser_blockdata, CL_ERR_PARSE),
		SER(ser_badmagic, CL_ERR_PARSE),
		SER(ser_dangling, CL_ERR_PARSE),
		SER(ser_lowhandle, CL_ERR_PARSE),
		SER(ser_truncated, CL_ERR_PARSE),
		SER(ser_hugestring, CL_ERR_PARSE),
		SER(ser_hugearray, CL_ERR_PARSE),
		SER(ser_negarray, CL_ERR_PARSE),
		SER(ser_nonarray, CL_ERR_PARSE),
		SER(ser_badfield, CL_ERR_PARSE),
	};
	struct bld *b = calloc(1, sizeof *b);
	struct rec r;
	const char *why;
	size_t i;
	int rc;

	(void)state;
	assert_non_null(b);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		b_ser_store(b, t[i].p, t[i].n);
		rc = parse_b(b, PW, &r, &why);
		if (rc != t[i].rc)
			fail_msg("%s: rc %d, expected %d (%s)", t[i].name, rc, t[i].rc,
			         why ? why : "-");
		if (rc == CL_OK) {
			assert_int_equal(r.n, 2);
			assert_string_equal(r.s[1].alias, "after");
		} else {
			/* the certificate before the secret key stays reported */
			assert_non_null(why);
			assert_int_equal(r.n, 1);
			assert_string_equal(r.s[0].alias, "before");
		}
		/* same without a password */
		assert_int_equal(parse_b(b, NULL, &r, &why), t[i].rc);
	}

	/* nesting: fine at depth 10, refused (not a stack overflow) at 1500 */
	b_head(b, 0xcececece, 2, 1);
	b_entry(b, 3, "s");
	b_deep(b, 10);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);
	b_head(b, 0xcececece, 2, 1);
	b_entry(b, 3, "s");
	b_deep(b, 1500);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_ERR_PARSE);
	assert_non_null(strstr(why, "deep"));

	/* handle table limit: an array of 1000 strings */
	b_head(b, 0xcececece, 2, 1);
	b_entry(b, 3, "s");
	b_bytes(b, ser_enum_ext, 4);
	b_bytes(b, ser_enum_ext + 4, 36);    /* TC_ARRAY + [Ljava/lang/Object; desc */
	b_u32(b, 1000);
	for (i = 0; i < 1000; i++)
		b_bytes(b, "\x74\x00\x01x", 4);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_ERR_PARSE);
	assert_non_null(strstr(why, "too many"));

	/* a secret key entry is not valid in a JKS store */
	b_ser_store(b, ser_null, sizeof ser_null);
	b->b[0] = b->b[1] = b->b[2] = b->b[3] = 0xfe;
	b->b[1] = b->b[3] = 0xed;
	assert_int_equal(parse_b(b, NULL, &r, &why), CL_ERR_PARSE);
	assert_int_equal(r.n, 1);
	free(b);
}

static void test_jks_malformed(void **state)
{
	static const struct {
		const char *name;
		uint32_t magic, version, count, tag, keylen, chain, certlen;
		unsigned alias_len;
		const char *why;   /* substring of *why; NULL: CL_OK expected */
		int certs;         /* reported before the error */
	} t[] = {
		{ "bad magic", 0xfeedfeee, 2, 1, 2, 0, 0, 5, 1, "magic", 0 },
		{ "pkcs12 magic", 0x30820a0b, 2, 1, 2, 0, 0, 5, 1, "magic", 0 },
		{ "version 0", 0xfeedfeed, 0, 1, 2, 0, 0, 5, 1, "version", 0 },
		{ "version 3", 0xfeedfeed, 3, 1, 2, 0, 0, 5, 1, "version", 0 },
		{ "huge count", 0xfeedfeed, 2, 0xffffffff, 2, 0, 0, 5, 1, "entries", 0 },
		{ "count over cap", 0xfeedfeed, 2, 100001, 2, 0, 0, 5, 1, "entries", 0 },
		{ "count beyond input", 0xfeedfeed, 2, 2, 2, 0, 0, 5, 1, "", 1 },
		{ "unknown tag", 0xfeedfeed, 2, 1, 4, 0, 0, 5, 1, "tag", 0 },
		{ "tag 0", 0xfeedfeed, 2, 1, 0, 0, 0, 5, 1, "tag", 0 },
		{ "huge cert", 0xfeedfeed, 2, 1, 2, 0, 0, 0xffffffff, 1, "1 MiB", 0 },
		{ "cert over cap", 0xfeedfeed, 2, 1, 2, 0, 0, 0x100001, 1, "1 MiB", 0 },
		{ "cert beyond input", 0xfeedfeed, 2, 1, 2, 0, 0, 0x1000, 1, "beyond", 0 },
		{ "empty cert", 0xfeedfeed, 2, 1, 2, 0, 0, 0, 1, "empty", 0 },
		{ "huge key", 0xfeedfeed, 2, 1, 1, 0xffffffff, 1, 5, 1, "1 MiB", 0 },
		{ "key beyond input", 0xfeedfeed, 2, 1, 1, 0x10000, 1, 5, 1, "beyond", 0 },
		{ "huge chain", 0xfeedfeed, 2, 1, 1, 0, 0xffffffff, 5, 1, "chain", 0 },
		{ "chain over cap", 0xfeedfeed, 2, 1, 1, 0, 101, 5, 1, "chain", 0 },
		{ "chain beyond input", 0xfeedfeed, 2, 1, 1, 0, 2, 5, 1, "", 1 },
		{ "alias beyond input", 0xfeedfeed, 2, 1, 2, 0, 0, 5, 0xffff, "alias", 0 },
		{ "secret key in jks", 0xfeedfeed, 2, 1, 3, 0, 0, 5, 1, "JKS", 0 },
		{ "empty chain", 0xfeedfeed, 2, 1, 1, 0, 0, 5, 1, NULL, 0 },
	};
	struct bld *b = calloc(1, sizeof *b);
	struct rec r;
	const char *why;
	size_t i;
	int rc, j;

	(void)state;
	assert_non_null(b);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		b_head(b, t[i].magic, t[i].version, t[i].count);
		b_u32(b, t[i].tag);
		b_u16(b, t[i].alias_len);
		b_u8(b, 'a');
		b_u32(b, 0);
		b_u32(b, 0);
		if (t[i].tag == 1) {
			b_u32(b, t[i].keylen);   /* no key bytes follow */
			b_u32(b, t[i].chain);
		}
		b_utf(b, "X.509");
		b_u32(b, t[i].certlen);
		for (j = 0; j < 5; j++)
			b_u8(b, 0x30);
		b_digest(b, PW);
		rc = parse_b(b, NULL, &r, &why);
		if (t[i].why == NULL) {
			assert_int_equal(rc, CL_OK);
			assert_int_equal(r.n, 0);
			continue;
		}
		if (rc != CL_ERR_PARSE || why == NULL || strstr(why, t[i].why) == NULL)
			fail_msg("%s: rc %d why '%s'", t[i].name, rc, why ? why : "-");
		assert_int_equal(r.n, t[i].certs);
		rc = parse_b(b, PW, &r, &why);
		if (rc != CL_ERR_PARSE || why == NULL || strstr(why, t[i].why) == NULL)
			fail_msg("%s with password: rc %d why '%s'", t[i].name, rc,
			         why ? why : "-");
		assert_int_equal(r.n, t[i].certs);
	}

	/* a store without its digest */
	b_head(b, 0xfeedfeed, 2, 0);
	b_bytes(b, "0123456789012345678", 19);
	assert_int_equal(parse_b(b, NULL, &r, &why), CL_ERR_PARSE);
	assert_non_null(strstr(why, "digest"));
	b_head(b, 0xfeedfeed, 2, 0);
	b_digest(b, PW);
	assert_int_equal(parse_b(b, NULL, &r, &why), CL_OK);
	assert_int_equal(parse_b(b, PW, &r, &why), CL_OK);

	/* empty, tiny and NULL input */
	assert_int_equal(cl_jks_parse(NULL, 0, NULL, rec_cb, &r, NULL, &why), CL_ERR_PARSE);
	assert_int_equal(cl_jks_parse(NULL, 0, PW, rec_cb, &r, NULL, &why), CL_ERR_PARSE);
	assert_int_equal(cl_jks_parse((const unsigned char *)"\xfe\xed\xfe", 3, PW, rec_cb,
	                              &r, NULL, &why), CL_ERR_PARSE);
	assert_false(cl_jks_sniff(NULL, 0));
	assert_false(cl_jks_sniff((const unsigned char *)"\xfe\xed\xfe", 3));
	assert_true(cl_jks_sniff((const unsigned char *)"\xce\xce\xce\xce", 4));
	assert_false(cl_jks_sniff((const unsigned char *)"\x30\x82\x01\x00", 4));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jks_v1_and_types),
		cmocka_unit_test(test_jks_aliases),
		cmocka_unit_test(test_jks_serialization),
		cmocka_unit_test(test_jks_malformed),
		cmocka_unit_test(test_jks_real),
		cmocka_unit_test(test_jceks_real),
		cmocka_unit_test(test_jks_nonascii_password),
		cmocka_unit_test(test_jks_torture),
	};

	char cmd[4200];
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc == 0 && dir[0]) {   /* keep the stores for a look when a test failed */
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_tmpdir());
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return rc;
}
