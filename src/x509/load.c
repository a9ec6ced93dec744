/* Content-based recognition of certificates, keystores and keys. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include "core/der.h"
#include "core/log.h"
#include "core/util.h"
#include "x509/jks.h"
#include "x509/load.h"

#define MAX_CERTS_PER_FILE 100000

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static OSSL_PROVIDER *prov_default, *prov_legacy;

static void load_cleanup(void)
{
	if (prov_legacy)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}

static void load_init_once(void)
{
	/* the default provider must stay available once another is loaded */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	if ((prov_legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL)
		ERR_clear_error(); /* old RC2 PKCS#12 files will then be reported */
	atexit(load_cleanup);
}

void cl_load_init(void)
{
	pthread_once(&load_once, load_init_once);
}

static void problem(struct cl_load_result *r, int status, const char *fmt, ...) CL_PRINTF(3, 4);
static void problem(struct cl_load_result *r, int status, const char *fmt, ...)
{
	va_list ap;

	if (r->status != CL_OK)  /* keep the first problem */
		return;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->problem, sizeof r->problem, fmt, ap);
	va_end(ap);
}

static int add_cert(struct cl_load_result *r, const unsigned char *der, size_t len,
                    const char *detail, const char *what)
{
	struct cl_cert *c = NULL;
	const char *why = "malformed";
	int rc;

	if (r->ncerts >= MAX_CERTS_PER_FILE) {
		problem(r, CL_ERR_TOOBIG, "more than %d certificates", MAX_CERTS_PER_FILE);
		return CL_ERR_TOOBIG;
	}
	if ((rc = cl_cert_parse_der(der, len, &c, &why)) != CL_OK) {
		if (rc == CL_ERR_NOMEM)
			problem(r, CL_ERR_NOMEM, "out of memory");
		else
			problem(r, CL_ERR_PARSE, "%s %zu: %s", what, r->ncerts + 1, why);
		return rc;
	}
	if (CL_GROW(r->certs, r->capcerts, r->ncerts + 1) != CL_OK ||
	    !(r->certs[r->ncerts].detail = strdup(detail))) {
		cl_cert_free(c);
		problem(r, CL_ERR_NOMEM, "out of memory");
		return CL_ERR_NOMEM;
	}
	r->certs[r->ncerts++].cert = c;
	return CL_OK;
}

static struct cl_found_key *add_key(struct cl_load_result *r, const char *container)
{
	struct cl_found_key *nk;

	if (CL_GROW(r->keys, r->capkeys, r->nkeys + 1) != CL_OK) {
		problem(r, CL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	nk = &r->keys[r->nkeys++];
	memset(nk, 0, sizeof *nk);
	nk->container = container;
	return nk;
}

/* Fills k from a decoded key: public key hash, type and size. */
static void key_describe(struct cl_found_key *k, EVP_PKEY *pk)
{
	unsigned char *spki = NULL;
	unsigned int mdlen = 0;
	int len, id;

	if ((len = i2d_PUBKEY(pk, &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)len, k->spki_sha256, &mdlen, EVP_sha256(), NULL) == 1)
		k->have_spki = true;
	OPENSSL_free(spki);
	id = EVP_PKEY_get_base_id(pk);
	switch (id) {
	case EVP_PKEY_RSA: snprintf(k->key_type, sizeof k->key_type, "RSA"); break;
	case EVP_PKEY_RSA_PSS: snprintf(k->key_type, sizeof k->key_type, "RSA-PSS"); break;
	case EVP_PKEY_EC: snprintf(k->key_type, sizeof k->key_type, "EC"); break;
	case EVP_PKEY_ED25519: snprintf(k->key_type, sizeof k->key_type, "Ed25519"); break;
	case EVP_PKEY_ED448: snprintf(k->key_type, sizeof k->key_type, "Ed448"); break;
	case EVP_PKEY_DSA: snprintf(k->key_type, sizeof k->key_type, "DSA"); break;
	default: snprintf(k->key_type, sizeof k->key_type, "%s",
	                  EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "");
	}
	k->key_bits = EVP_PKEY_get_bits(pk);
	ERR_clear_error();
}

/* A key whose public half is known from its certificate (keystores). */
static void add_key_for_cert(struct cl_load_result *r, const struct cl_cert *c,
                             const char *container, bool encrypted)
{
	struct cl_found_key *k = add_key(r, container);

	if (!k)
		return;
	memcpy(k->spki_sha256, c->spki_sha256, CL_SHA256_LEN);
	k->have_spki = true;
	k->encrypted = encrypted;
	snprintf(k->key_type, sizeof k->key_type, "%s", c->key_type ? c->key_type : "");
	k->key_bits = c->key_bits;
}

/* ---- PKCS#7 ---------------------------------------------------------- */

static void load_pkcs7(struct cl_load_result *r, PKCS7 *p7, const char *detail)
{
	STACK_OF(X509) *certs = NULL;
	int i;

	if (PKCS7_type_is_signed(p7) && p7->d.sign)
		certs = p7->d.sign->cert;
	else if (PKCS7_type_is_signedAndEnveloped(p7) && p7->d.signed_and_enveloped)
		certs = p7->d.signed_and_enveloped->cert;
	for (i = 0; certs && i < sk_X509_num(certs); i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(certs, i), &der);
		if (len > 0)
			add_cert(r, der, (size_t)len, detail, "certificate");
		OPENSSL_free(der);
	}
}

/* ---- PKCS#12 --------------------------------------------------------- */

static void load_pkcs12(struct cl_load_result *r, PKCS12 *p12, const struct cl_load_opts *o)
{
	const char *pass = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	bool found = false;
	size_t i;
	char reason[160];

	r->format = "PKCS12";
	if (PKCS12_mac_present(p12)) {
		if (PKCS12_verify_mac(p12, "", 0) == 1) {
			pass = "";
			found = true;
		} else if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
			pass = NULL;
			found = true;
		}
		for (i = 0; !found && o && i < o->npasswords; i++) {
			if (PKCS12_verify_mac(p12, o->passwords[i], -1) == 1) {
				pass = o->passwords[i];
				found = true;
			}
		}
		ERR_clear_error();
		if (!found) {
			if (o && o->npasswords)
				problem(r, CL_ERR_PASSWORD, "PKCS#12: wrong password (none of the %zu "
				        "given passwords opens it)", o->npasswords);
			else
				problem(r, CL_ERR_LOCKED, "PKCS#12 is locked: encrypted, and no password "
				        "given (use --password-file or CERTLEDGER_P12_PASSWORD)");
			return;
		}
		if (PKCS12_parse(p12, pass, &pkey, &cert, &ca) != 1) {
			cl_ossl_reason(reason, sizeof reason);
			problem(r, CL_ERR_PARSE, "PKCS#12: cannot decrypt its contents (%s)%s", reason,
			        strstr(reason, "unsupported") ? "; legacy algorithm not available" : "");
			return;
		}
	} else {
		/* no integrity MAC: try the candidates until the bags decrypt */
		bool ok = PKCS12_parse(p12, "", &pkey, &cert, &ca) == 1;
		for (i = 0; !ok && o && i < o->npasswords; i++)
			ok = PKCS12_parse(p12, o->passwords[i], &pkey, &cert, &ca) == 1;
		ERR_clear_error();
		if (!ok) {
			problem(r, o && o->npasswords ? CL_ERR_PASSWORD : CL_ERR_LOCKED,
			        o && o->npasswords ? "PKCS#12: wrong password"
			                           : "PKCS#12 is locked: encrypted, and no password given");
			return;
		}
	}
	if (cert) {
		unsigned char *der = NULL;
		int len = i2d_X509(cert, &der);
		if (len > 0 && add_cert(r, der, (size_t)len, "PKCS12", "certificate") == CL_OK &&
		    pkey) {
			struct cl_found_key *k = add_key(r, "PKCS12");
			if (k) {
				key_describe(k, pkey);
				k->encrypted = pass && *pass;
			}
		}
		OPENSSL_free(der);
	} else if (pkey) {
		struct cl_found_key *k = add_key(r, "PKCS12");
		if (k) {
			key_describe(k, pkey);
			k->encrypted = pass && *pass;
		}
	}
	for (i = 0; ca && i < (size_t)sk_X509_num(ca); i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(ca, (int)i), &der);
		if (len > 0)
			add_cert(r, der, (size_t)len, "PKCS12", "certificate");
		OPENSSL_free(der);
	}
	EVP_PKEY_free(pkey);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
}

/* ---- JKS --------------------------------------------------------------- */

struct jks_ctx {
	struct cl_load_result *r;
	const char *container;
};

static int jks_cert(void *arg, const char *alias, enum cl_jks_entry type, int chain_index,
                    const unsigned char *der, size_t len)
{
	struct jks_ctx *j = arg;
	char detail[300];
	size_t before = j->r->ncerts;

	snprintf(detail, sizeof detail, "%s alias=%s", j->container, alias);
	if (add_cert(j->r, der, len, detail, "certificate") == CL_ERR_NOMEM)
		return CL_ERR_NOMEM;
	if (type == CL_JKS_PRIVATE_KEY && chain_index == 0 && j->r->ncerts > before)
		add_key_for_cert(j->r, j->r->certs[before].cert, j->container, true);
	return CL_OK;
}

static void load_jks(struct cl_load_result *r, const unsigned char *p, size_t n)
{
	struct jks_ctx j = { r, "JKS" };
	const char *why = "malformed";
	bool jceks = n >= 4 && p[0] == 0xce;
	int rc;

	j.container = jceks ? "JCEKS" : "JKS";
	r->format = j.container;
	rc = cl_jks_parse(p, n, NULL, jks_cert, &j, &jceks, &why);
	if (rc == CL_ERR_PARSE)
		problem(r, CL_ERR_PARSE, "%s: %s", j.container, why);
	else if (rc != CL_OK && rc != CL_ERR_NOMEM)
		problem(r, rc, "%s: %s", j.container, cl_strerror(rc));
}

/* ---- keys -------------------------------------------------------------- */

static void load_key_der(struct cl_load_result *r, const unsigned char *der, long len,
                         const char *container, bool *ok)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;
	X509_SIG *enc;
	struct cl_found_key *k;

	*ok = false;
	if ((pk = d2i_AutoPrivateKey(NULL, &p, len)) != NULL) {
		if ((k = add_key(r, container)) != NULL)
			key_describe(k, pk);
		EVP_PKEY_free(pk);
		*ok = true;
		return;
	}
	ERR_clear_error();
	p = der;
	if ((enc = d2i_X509_SIG(NULL, &p, len)) != NULL && p == der + len) {
		if ((k = add_key(r, container)) != NULL)
			k->encrypted = true;
		*ok = true;
	}
	X509_SIG_free(enc);
	ERR_clear_error();
}

/* ---- PEM --------------------------------------------------------------- */

static bool label_is(const char *name, const char *want)
{
	return strcmp(name, want) == 0;
}

static void load_pem(struct cl_load_result *r, const unsigned char *p, size_t n,
                     const struct cl_load_opts *o)
{
	BIO *bio = BIO_new_mem_buf(p, (int)n);
	char *name = NULL, *header = NULL, reason[160];
	unsigned char *data = NULL;
	long len = 0;
	int blocks = 0;

	(void)o;
	if (!bio) {
		problem(r, CL_ERR_NOMEM, "out of memory");
		return;
	}
	for (;;) {
		if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_REASON(e) != PEM_R_NO_START_LINE || blocks == 0) {
				/* a block that started but did not end well */
				if (ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
					cl_ossl_reason(reason, sizeof reason);
					problem(r, CL_ERR_PARSE, "PEM block %d: %s%s", blocks + 1, reason,
					        strstr(reason, "end line") || strstr(reason, "short header")
					        ? " (truncated?)" : "");
					if (!r->format)
						r->format = "PEM";
				}
			}
			ERR_clear_error();
			break;
		}
		blocks++;
		if (!r->format)
			r->format = "PEM";
		if (label_is(name, PEM_STRING_X509) || label_is(name, PEM_STRING_X509_OLD)) {
			if (add_cert(r, data, (size_t)len, "PEM", "certificate") == CL_ERR_NOMEM)
				goto next_stop;
		} else if (label_is(name, PEM_STRING_X509_TRUSTED)) {
			size_t el = cl_der_elem_len(data, (size_t)len);
			if (el == 0)
				problem(r, CL_ERR_PARSE, "trusted certificate %d: truncated", blocks);
			else
				add_cert(r, data, el, "PEM", "certificate");
		} else if (label_is(name, PEM_STRING_PKCS7) || label_is(name, "CMS")) {
			const unsigned char *q = data;
			PKCS7 *p7 = d2i_PKCS7(NULL, &q, len);
			if (p7) {
				load_pkcs7(r, p7, "PKCS7");
				PKCS7_free(p7);
			} else {
				problem(r, CL_ERR_PARSE, "PEM block %d: malformed PKCS#7", blocks);
			}
			ERR_clear_error();
		} else if (label_is(name, PEM_STRING_PKCS8INF) || label_is(name, PEM_STRING_RSA) ||
		           label_is(name, PEM_STRING_ECPRIVATEKEY) || label_is(name, PEM_STRING_DSA)) {
			struct cl_found_key *k;
			bool ok;
			if (header && strstr(header, "ENCRYPTED")) {
				if ((k = add_key(r, "PEM")) != NULL)
					k->encrypted = true;
			} else {
				const unsigned char *q = data;
				int type = label_is(name, PEM_STRING_RSA) ? EVP_PKEY_RSA :
				           label_is(name, PEM_STRING_ECPRIVATEKEY) ? EVP_PKEY_EC :
				           label_is(name, PEM_STRING_DSA) ? EVP_PKEY_DSA : -1;
				EVP_PKEY *pk = type < 0 ? NULL : d2i_PrivateKey(type, NULL, &q, len);
				if (pk) {
					if ((k = add_key(r, "PEM")) != NULL)
						key_describe(k, pk);
					EVP_PKEY_free(pk);
				} else {
					load_key_der(r, data, len, "PEM", &ok);
					if (!ok)
						problem(r, CL_ERR_PARSE, "PEM block %d: malformed private key",
						        blocks);
				}
				ERR_clear_error();
			}
		} else if (label_is(name, PEM_STRING_PKCS8)) {
			struct cl_found_key *k = add_key(r, "PEM");
			if (k)
				k->encrypted = true;
		} else {
			r->nother++;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(data, (size_t)len);
		name = header = NULL;
		data = NULL;
		continue;
next_stop:
		break;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_clear_free(data, (size_t)len);
	BIO_free(bio);
	ERR_clear_error();
}

/* ---- DER --------------------------------------------------------------- */

static bool d2i_X509_CRL_any(const unsigned char **pp, long len)
{
	X509_CRL *crl = d2i_X509_CRL(NULL, pp, len);

	X509_CRL_free(crl);
	return crl != NULL;
}

static bool d2i_X509_REQ_any(const unsigned char **pp, long len)
{
	X509_REQ *req = d2i_X509_REQ(NULL, pp, len);

	X509_REQ_free(req);
	return req != NULL;
}

/* True when p[0..n) decodes completely with d2i. */
static bool der_is(const unsigned char *p, size_t n, bool (*d2i)(const unsigned char **, long))
{
	const unsigned char *q = p;
	bool ok = n <= LONG_MAX && d2i(&q, (long)n) && q == p + n;

	ERR_clear_error();
	return ok;
}

static const unsigned char OID_PKCS7_SIGNED[] = {
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
};

static void load_der(struct cl_load_result *r, const unsigned char *p, size_t n,
                     const struct cl_load_opts *o)
{
	struct cl_der d, in;
	struct cl_tlv outer, first;
	size_t el = cl_der_elem_len(p, n);
	const unsigned char *q;
	bool ok;

	cl_der_init(&d, p, n);
	if (el == 0 || cl_der_next(&d, &outer) != CL_OK) {
		r->format = "DER";
		problem(r, CL_ERR_PARSE, "DER: truncated or malformed (the outer length does not "
		        "fit the %zu bytes)", n);
		return;
	}
	/* tolerate trailing whitespace/NULs after a single DER object */
	for (q = p + el; q < p + n; q++)
		if (*q != '\n' && *q != '\r' && *q != ' ' && *q != 0)
			break;
	cl_der_enter(&outer, &in);
	if (cl_der_next(&in, &first) != CL_OK) {
		r->format = "DER";
		problem(r, CL_ERR_PARSE, "DER: not a certificate, keystore or key");
		return;
	}
	if (first.tag == 0x30) {
		/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... } */
		r->format = "DER";
		if (add_cert(r, p, el, "DER", "certificate") == CL_OK) {
			if (q != p + n)
				problem(r, CL_ERR_PARSE, "DER: %zu unexpected bytes after the certificate",
				        (size_t)(p + n - q));
			return;
		}
		/* maybe a key after all (encrypted PKCS#8 starts with SEQUENCE too) */
		load_key_der(r, p, (long)el, "DER", &ok);
		if (!ok && (der_is(p, el, d2i_X509_CRL_any) || der_is(p, el, d2i_X509_REQ_any))) {
			r->nother++;  /* a CRL or a CSR: certificate material, not a certificate */
			ok = true;
		}
		if (ok) {
			r->status = CL_OK;
			r->problem[0] = '\0';
		}
		return;
	}
	if (first.tag == 0x06 && first.raw_len == sizeof OID_PKCS7_SIGNED &&
	    memcmp(first.raw, OID_PKCS7_SIGNED, sizeof OID_PKCS7_SIGNED) == 0) {
		const unsigned char *pp = p;
		PKCS7 *p7 = d2i_PKCS7(NULL, &pp, (long)el);
		r->format = "PKCS7";
		if (p7) {
			load_pkcs7(r, p7, "PKCS7");
			PKCS7_free(p7);
		} else {
			problem(r, CL_ERR_PARSE, "PKCS#7: malformed");
		}
		ERR_clear_error();
		return;
	}
	if (first.tag == 0x02 && first.len == 1 && first.val[0] == 3) {
		/* PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... } */
		const unsigned char *pp = p;
		PKCS12 *p12 = d2i_PKCS12(NULL, &pp, (long)el);
		if (p12) {
			load_pkcs12(r, p12, o);
			PKCS12_free(p12);
			ERR_clear_error();
			return;
		}
		ERR_clear_error();
	}
	if (first.tag == 0x02) {
		load_key_der(r, p, (long)el, "DER", &ok);
		if (ok) {
			r->format = "DER";
			return;
		}
	}
	/* a SEQUENCE that is none of the above: not certificate material */
}

/* ---- entry points ---------------------------------------------------- */

static bool has_pem_marker(const unsigned char *p, size_t n)
{
	return memmem(p, n, "-----BEGIN ", 11) != NULL;
}

void cl_load_buffer(const unsigned char *p, size_t n, const struct cl_load_opts *o,
                    struct cl_load_result *r)
{
	memset(r, 0, sizeof *r);
	cl_load_init();
	if (n == 0) {
		snprintf(r->problem, sizeof r->problem, "empty file");
		return;
	}
	if (cl_jks_sniff(p, n)) {
		load_jks(r, p, n);
		return;
	}
	if (p[0] == 0x30) {
		load_der(r, p, n, o);
		if (r->format)
			return;
	}
	if (has_pem_marker(p, n)) {
		load_pem(r, p, n, o);
		if (r->format || r->nother)
			return;
		snprintf(r->problem, sizeof r->problem, "has a PEM marker but no readable PEM block");
		return;
	}
	snprintf(r->problem, sizeof r->problem, "not a certificate, keystore or key "
	         "(no PEM block, not DER)");
}

void cl_load_result_free(struct cl_load_result *r)
{
	size_t i;

	for (i = 0; i < r->ncerts; i++) {
		cl_cert_free(r->certs[i].cert);
		free(r->certs[i].detail);
	}
	free(r->certs);
	free(r->keys);
	memset(r, 0, sizeof *r);
}

bool cl_load_name_suggests_cert(const char *name)
{
	static const char *const ext[] = {
		".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".p7", ".p12", ".pfx", ".jks",
		".jceks", ".keystore", ".truststore", ".key", ".ca-bundle", ".cert", ".chain",
		".bks",
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (!dot)
		return false;
	for (i = 0; i < CL_ARRAY_LEN(ext); i++)
		if (strcasecmp(dot, ext[i]) == 0)
			return true;
	return false;
}
