/*
 * Recognition of certificate material by content, not by name: PEM
 * (bundles, with text around the blocks), DER, PKCS#7, PKCS#12, JKS and
 * JCEKS, and private keys (PKCS#8, traditional RSA/EC/DSA, encrypted).
 * Key material is only used to compute the public key hash and is never
 * stored or printed.
 */
#ifndef CL_X509_LOAD_H
#define CL_X509_LOAD_H

#include <stdbool.h>
#include "x509/cert.h"

struct cl_found_cert {
	struct cl_cert *cert;  /* owned */
	char *detail;          /* container note: "PEM", "PKCS12", "JKS alias=web", ... */
};

struct cl_found_key {
	unsigned char spki_sha256[CL_SHA256_LEN];
	bool have_spki;        /* false when encrypted and no password fitted */
	bool encrypted;
	char key_type[24];     /* "RSA", "EC", "Ed25519", ... or "" when unknown */
	int key_bits;
	const char *container; /* static: "PEM", "DER", "PKCS12", "JKS", "JCEKS" */
};

struct cl_load_result {
	const char *format;    /* static: "PEM", "DER", "PKCS7", "PKCS12", "JKS",
	                          "JCEKS"; NULL when nothing was recognised */
	struct cl_found_cert *certs;
	size_t ncerts;
	struct cl_found_key *keys;
	size_t nkeys;
	int status;            /* CL_OK, CL_ERR_PARSE (recognised but malformed,
	                          possibly after some certificates), CL_ERR_LOCKED,
	                          CL_ERR_PASSWORD, CL_ERR_NOMEM */
	char problem[256];     /* why, when status != CL_OK or format == NULL */
	int nother;            /* PEM objects recognised but not inventoried (CSR, CRL) */
	size_t capcerts, capkeys; /* allocated lengths of certs and keys */
};

struct cl_load_opts {
	const char *const *passwords;  /* candidate passwords for PKCS#12 */
	size_t npasswords;
};

/*
 * Loads one library-wide resource (the OpenSSL "legacy" provider, for
 * old PKCS#12 files encrypted with RC2/3DES). Safe to call many times and
 * from several threads.
 */
void cl_load_init(void);

/*
 * Recognises and decodes everything in p[0..n). Never fails as a call:
 * the outcome is in r (free with cl_load_result_free), which also holds
 * the certificates decoded before any problem. Thread safe.
 */
void cl_load_buffer(const unsigned char *p, size_t n, const struct cl_load_opts *o,
                    struct cl_load_result *r);

void cl_load_result_free(struct cl_load_result *r);

/*
 * True when a file name suggests certificate material (.pem .crt .cer
 * .der .p7b .p7c .p12 .pfx .jks .jceks .keystore .key .ca-bundle ...):
 * used to decide whether unrecognised content is worth a finding.
 */
bool cl_load_name_suggests_cert(const char *name);

#endif
