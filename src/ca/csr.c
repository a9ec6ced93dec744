/*
 * Certificate signing requests (PKCS#10) from untrusted hands: size
 * capped, PEM or exactly one DER element, self-signature verified; only
 * the public key, the CN and the subjectAltName are kept.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "ca/ca_int.h"
#include "core/der.h"
#include "core/util.h"

void cl_ca_csr_free(struct cl_ca_csr *c)
{
	size_t i;

	if (!c)
		return;
	EVP_PKEY_free(c->pkey);
	free(c->cn);
	for (i = 0; i < c->ndns; i++)
		free(c->dns[i]);
	for (i = 0; i < c->nip; i++)
		free(c->ip[i]);
	for (i = 0; i < c->nother; i++)
		free(c->other[i]);
	free(c->dns);
	free(c->ip);
	free(c->other);
	free(c);
}

static bool is_pem(const unsigned char *p, size_t n)
{
	static const char tag[] = "-----BEGIN ";
	size_t i;

	for (i = 0; i + sizeof tag - 1 <= n; i++)
		if (p[i] == '-' && memcmp(p + i, tag, sizeof tag - 1) == 0)
			return true;
	return false;
}

/* A copy of an ASN1 string's bytes, or NULL when they hold a NUL. */
static char *str_dup(const unsigned char *d, int len)
{
	char *s;

	if (len < 0 || memchr(d, 0, (size_t)len) || !(s = malloc((size_t)len + 1)))
		return NULL;
	memcpy(s, d, (size_t)len);
	s[len] = '\0';
	return s;
}

static int push(char ***v, size_t *n, char *s)
{
	char **t;

	if (!s || !(t = realloc(*v, (*n + 1) * sizeof *t))) {
		free(s);
		return CL_ERR_NOMEM;
	}
	t[(*n)++] = s;
	*v = t;
	return CL_OK;
}

static int read_sans(struct cl_ca_csr *c, const GENERAL_NAMES *gens, char *err, size_t errlen)
{
	char buf[300], a[INET6_ADDRSTRLEN];
	int i, n = sk_GENERAL_NAME_num(gens);

	if (n > CL_CA_MAX_NAMES) {
		snprintf(err, errlen, "the CSR asks for %d names, more than %d", n, CL_CA_MAX_NAMES);
		return CL_ERR_PARSE;
	}
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		char *v;
		int rc;
		switch (g->type) {
		case GEN_DNS:
			s = g->d.dNSName;
			if (!(v = str_dup(ASN1_STRING_get0_data(s), ASN1_STRING_length(s))) ||
			    !cl_utf8_valid(v, strlen(v))) {
				free(v);
				snprintf(err, errlen, "the CSR has a DNS name that is not text");
				return CL_ERR_PARSE;
			}
			rc = push(&c->dns, &c->ndns, v);
			break;
		case GEN_IPADD:
			s = g->d.iPAddress;
			if ((ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16) ||
			    !inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
			               ASN1_STRING_get0_data(s), a, sizeof a)) {
				snprintf(err, errlen, "the CSR has an IP address of %d bytes",
				         ASN1_STRING_length(s));
				return CL_ERR_PARSE;
			}
			rc = push(&c->ip, &c->nip, strdup(a));
			break;
		default: {
			const char *kind = g->type == GEN_EMAIL ? "email" : g->type == GEN_URI ? "URI" :
			                   g->type == GEN_DIRNAME ? "DirName" : g->type == GEN_RID ? "RID" :
			                   g->type == GEN_OTHERNAME ? "otherName" : "other";
			char vis[128] = "";
			if (g->type == GEN_EMAIL || g->type == GEN_URI) {
				s = g->type == GEN_EMAIL ? g->d.rfc822Name : g->d.uniformResourceIdentifier;
				if ((v = str_dup(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)))) {
					cl_ca_vis(v, vis, sizeof vis);
					free(v);
				}
			}
			snprintf(buf, sizeof buf, "%s%s%s", kind, vis[0] ? ":" : "", vis);
			rc = push(&c->other, &c->nother, strdup(buf));
			break;
		}
		}
		if (rc != CL_OK) {
			snprintf(err, errlen, "out of memory");
			return rc;
		}
	}
	return CL_OK;
}

int cl_ca_csr_parse(const unsigned char *p, size_t n, struct cl_ca_csr **out,
                    char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	struct cl_ca_csr *c = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pk;
	BIO *b = NULL;
	char r[256];
	int rc = CL_ERR_PARSE, idx, crit = -1;

	*out = NULL;
	if (n > CL_CA_MAX_CSR) {
		snprintf(err, errlen, "the CSR is larger than %d bytes", CL_CA_MAX_CSR);
		return CL_ERR_TOOBIG;
	}
	if (n == 0) {
		snprintf(err, errlen, "the CSR is empty");
		return CL_ERR_PARSE;
	}
	if (is_pem(p, n)) {
		if ((b = BIO_new_mem_buf(p, (int)n)))
			req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	} else if (cl_der_elem_len(p, n) == n) {
		const unsigned char *q = p;
		req = d2i_X509_REQ(NULL, &q, (long)n);
		if (req && q != p + n) {
			X509_REQ_free(req);
			req = NULL;
		}
	}
	if (!req) {
		snprintf(err, errlen, "not a certificate signing request (PEM or DER)%s",
		         cl_ca_ossl(r, sizeof r));
		goto out;
	}
	if (!(pk = X509_REQ_get0_pubkey(req))) {
		snprintf(err, errlen, "the CSR's public key cannot be read%s", cl_ca_ossl(r, sizeof r));
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		snprintf(err, errlen, "the CSR's signature does not verify: it was not made with the "
		         "key it carries, or it was altered%s", cl_ca_ossl(r, sizeof r));
		goto out;
	}
	rc = CL_ERR_NOMEM;
	if (!(c = calloc(1, sizeof *c))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->pkey = pk;
	EVP_PKEY_up_ref(pk);
	rc = CL_ERR_PARSE;
	if ((idx = X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req), NID_commonName, -1))
	    >= 0) {
		const X509_NAME *nm = X509_REQ_get_subject_name(req);
		int last = idx;
		unsigned char *u = NULL;
		int len;
		while ((idx = X509_NAME_get_index_by_NID(nm, NID_commonName, idx)) >= 0)
			last = idx;
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, last)));
		if (len < 0 || !(c->cn = str_dup(u, len)) || !cl_utf8_valid(c->cn, strlen(c->cn))) {
			OPENSSL_free(u);
			snprintf(err, errlen, "the CSR's common name is not text");
			goto out;
		}
		OPENSSL_free(u);
	}
	if ((exts = X509_REQ_get_extensions(req)) != NULL) {
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
		if (!gens && crit != -1) {
			snprintf(err, errlen, "the CSR's subjectAltName is malformed or repeated");
			goto out;
		}
		if (gens && (rc = read_sans(c, gens, err, errlen)) != CL_OK)
			goto out;
	} else {
		ERR_clear_error();   /* no extension request: fine */
	}
	*out = c;
	c = NULL;
	rc = CL_OK;
out:
	ERR_clear_error();
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	cl_ca_csr_free(c);
	X509_REQ_free(req);
	BIO_free(b);
	return rc;
}
