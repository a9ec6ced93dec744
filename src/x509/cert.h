/*
 * The certificate model: every field the inventory, policy and reports
 * need, extracted once from a DER certificate.
 *
 * Parsing walks the DER with a bounds-checked cursor (core/der.h) and
 * reads only what the inventory needs; OpenSSL is used for digests, name
 * formatting, OID names and for the (rare) signature verification of
 * self-issued certificates. The result is cross-checked against OpenSSL's
 * full parser in tests/unit/test_cert.c and fuzzed in tests/fuzz.
 */
#ifndef CL_X509_CERT_H
#define CL_X509_CERT_H

#include <stdbool.h>
#include "core/cl.h"

#define CL_SHA256_LEN 32

/* A list of strings, owned by the certificate that holds it. */
struct cl_strv {
	char **v;
	size_t n;
};

struct cl_cert {
	unsigned char fp[CL_SHA256_LEN];    /* SHA-256 of the DER: identity */
	unsigned char spki_sha256[CL_SHA256_LEN]; /* SHA-256 of SubjectPublicKeyInfo DER */
	int version;                        /* 1, 2 or 3 */
	char *serial;        /* lowercase hex of the INTEGER content, no colons */
	char *subject;       /* RFC 4514 string, UTF-8 ("" for an empty name) */
	char *issuer;
	char *subject_cn;    /* last CN of the name, "" when absent */
	char *issuer_cn;
	struct cl_strv sans; /* "DNS:x", "IP:192.0.2.1", "IP:2001:db8::1",
	                        "email:a@b", "URI:https://..", "DirName:<rfc4514>",
	                        "otherName:<oid>" , "RID:<oid>" */
	int64_t not_before;  /* Unix seconds, UTC */
	int64_t not_after;
	char *key_type;      /* "RSA", "EC", "Ed25519", "Ed448", "DSA", "X25519",
	                        "X448", a known post-quantum name ("ML-DSA-65"),
	                        otherwise the dotted OID of the algorithm */
	char *key_oid;       /* dotted OID of the SPKI algorithm, always set */
	int key_bits;        /* RSA modulus / DSA p bits, EC order bits,
	                        253 Ed25519, 456 Ed448; 0 when unknown */
	char *curve;         /* EC only: NIST name ("P-256") or OpenSSL short
	                        name ("brainpoolP256r1") or dotted OID, "explicit"
	                        for explicit curve parameters; NULL otherwise */
	char *sig_alg;       /* OpenSSL long name ("sha256WithRSAEncryption"),
	                        or the dotted OID when OpenSSL does not know it */
	bool is_ca;          /* basicConstraints cA */
	int path_len;        /* basicConstraints pathLenConstraint, -1 when absent */
	bool self_signed;    /* issuer == subject and the signature verifies
	                        with the certificate's own key */
	char *key_usage;     /* "digitalSignature,keyEncipherment", NULL if absent */
	char *eku;           /* "serverAuth,clientAuth" (OpenSSL short names, or
	                        dotted OIDs), NULL if absent */
	char *ski;           /* lowercase hex, NULL if absent */
	char *aki;           /* keyIdentifier, lowercase hex, NULL if absent */
	struct cl_strv ocsp;       /* AIA OCSP URIs */
	struct cl_strv ca_issuers; /* AIA caIssuers URIs */
	struct cl_strv crl;        /* CRL distribution point URIs */
	int sct_count;       /* embedded SCTs (1.3.6.1.4.1.11129.2.4.2), 0 if none */
	int64_t rsa_e;       /* RSA public exponent; 0 when not RSA, -1 when above 2^62 */
	bool rsa_roca;       /* RSA modulus with the ROCA fingerprint (CVE-2017-15361) */
	unsigned char *der;  /* owned copy of the encoding */
	size_t der_len;
	void *arena;         /* internal to cert.c: set by cl_cert_parse_der, which
	                        places the certificate, its strings, lists and der
	                        in one arena that cl_cert_free releases as a whole.
	                        NULL when the fields were malloc'd one by one
	                        (calloc'd struct, e.g. loaded from the store):
	                        cl_cert_free then frees each field and the struct. */
};

/*
 * Parses exactly one DER certificate occupying der[0..len). Trailing bytes
 * are an error (callers split containers first, see cl_der_elem_len).
 * The structure is checked strictly; extension values are not: a known
 * extension whose value is malformed is ignored (fields stay "absent"),
 * for a repeated extension the first one wins, and extensions are read
 * whatever the version.
 * Returns CL_OK and a new certificate in *out (free with cl_cert_free),
 * CL_ERR_PARSE with *why set to a static reason ("truncated",
 * "bad validity time", ...) when why is not NULL, or CL_ERR_NOMEM.
 */
int cl_cert_parse_der(const unsigned char *der, size_t len,
                      struct cl_cert **out, const char **why);

/* Frees c and everything it owns. NULL is allowed. */
void cl_cert_free(struct cl_cert *c);

/*
 * Returns a new OpenSSL X509 for c (d2i of c->der), or NULL. Caller frees
 * with X509_free. Used where OpenSSL's verifier is needed.
 */
struct x509_st *cl_cert_to_x509(const struct cl_cert *c);

/*
 * True when the RSA modulus n (big-endian, leading zeros allowed) has the
 * fingerprint of keys made by the vulnerable Infineon library (ROCA,
 * CVE-2017-15361): modulo each of the primes 3..167 it lies in the
 * subgroup generated by 65537. A random modulus passes with negligible
 * probability.
 */
bool cl_rsa_roca(const unsigned char *n, size_t len);

/* Days from now until not_after, rounded down (negative when expired). */
int64_t cl_cert_days_left(const struct cl_cert *c, int64_t now);

/* Whole days between not_before and not_after, counting the last second. */
int64_t cl_cert_validity_days(int64_t not_before, int64_t not_after);

/*
 * Parses the content s[0..n) of an X.509 Time: tag 0x17 UTCTime
 * "YYMMDDHHMMSSZ" (YY 50-99 is 19YY, 00-49 is 20YY) or tag 0x18
 * GeneralizedTime "YYYYMMDDHHMMSS[.f+]Z" (fraction dropped), as RFC 5280
 * requires: seconds and 'Z' mandatory, no offsets, calendar checked
 * (leap years included, seconds 00-59). Returns CL_OK with *out in Unix
 * seconds, or CL_ERR_PARSE. Exposed for the unit tests.
 */
int cl_cert_time_parse(unsigned tag, const unsigned char *s, size_t n, int64_t *out);

#endif
