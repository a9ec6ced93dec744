/*
 * Issuing leaf certificates: the request is checked against the CA's
 * policy (names, constraints, lifetime, key), the certificate built and
 * signed by the intermediate, recorded in the index, and only then
 * handed back.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "ca/ca_int.h"
#include "core/buf.h"
#include "core/util.h"

/* The names of one request, normalised. */
struct names {
	char *dns[CL_CA_MAX_NAMES];
	size_t ndns;
	unsigned char ip[CL_CA_MAX_NAMES][16];
	int iplen[CL_CA_MAX_NAMES];
	size_t nip;
	char cn[256];
};

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->ndns; i++)
		free(nm->dns[i]);
	nm->ndns = 0;
}

static int too_many(char *err, size_t errlen)
{
	snprintf(err, errlen, "more than %d names", CL_CA_MAX_NAMES);
	return CL_ERR_USAGE;
}

static int add_dns(struct names *nm, const char *s, char *err, size_t errlen)
{
	char norm[256];
	int rc;

	if ((rc = cl_ca_dns_norm(s, false, norm, sizeof norm, err, errlen)) != CL_OK)
		return rc;
	for (size_t i = 0; i < nm->ndns; i++)
		if (strcmp(nm->dns[i], norm) == 0)
			return CL_OK;
	if (nm->ndns + nm->nip >= CL_CA_MAX_NAMES)
		return too_many(err, errlen);
	if (!(nm->dns[nm->ndns] = strdup(norm))) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	nm->ndns++;
	return CL_OK;
}

static int add_ip(struct names *nm, const char *s, char *err, size_t errlen)
{
	unsigned char a[16];
	char vis[128];
	int len;

	if (cl_ca_ip_parse(s, a, &len) != CL_OK) {
		snprintf(err, errlen, "'%s' is not an IP address", cl_ca_vis(s, vis, sizeof vis));
		return CL_ERR_USAGE;
	}
	for (size_t i = 0; i < nm->nip; i++)
		if (nm->iplen[i] == len && memcmp(nm->ip[i], a, (size_t)len) == 0)
			return CL_OK;
	if (nm->ndns + nm->nip >= CL_CA_MAX_NAMES)
		return too_many(err, errlen);
	memcpy(nm->ip[nm->nip], a, 16);
	nm->iplen[nm->nip++] = len;
	return CL_OK;
}

/*
 * The subject CN and the SAN list of a request. A CN that is a DNS name
 * or an address joins the SANs (verifiers match SANs only).
 */
static int gather(const struct cl_ca_req *req, const struct cl_ca_csr *csr, struct names *nm,
                  char *err, size_t errlen)
{
	/* names given with a CSR replace all of its names, its CN included */
	const char *cn = req->cn ? req->cn : csr && !req->dns.n && !req->ip.n ? csr->cn : NULL;
	char norm[256], tmp[256], vis[128];
	unsigned char a[16];
	size_t i;
	int rc, len;

	if (req->dns.n + req->ip.n > CL_CA_MAX_NAMES)
		return too_many(err, errlen);
	for (i = 0; i < req->dns.n; i++)
		if ((rc = add_dns(nm, req->dns.v[i], err, errlen)) != CL_OK)
			return rc;
	for (i = 0; i < req->ip.n; i++)
		if ((rc = add_ip(nm, req->ip.v[i], err, errlen)) != CL_OK)
			return rc;
	if (csr && !req->dns.n && !req->ip.n) {
		if (csr->nother) {
			snprintf(err, errlen, "the CSR asks for %s: this CA issues DNS names and IP "
			         "addresses only (give the names to certify instead)", csr->other[0]);
			return CL_ERR_USAGE;
		}
		for (i = 0; i < csr->ndns; i++)
			if ((rc = add_dns(nm, csr->dns[i], err, errlen)) != CL_OK)
				return rc;
		for (i = 0; i < csr->nip; i++)
			if ((rc = add_ip(nm, csr->ip[i], err, errlen)) != CL_OK)
				return rc;
	}
	if (cn) {
		char e2[8];
		if (strlen(cn) == 0 || strlen(cn) > 64 || !cl_utf8_valid(cn, strlen(cn))) {
			snprintf(err, errlen, "the common name '%s' must be 1 to 64 characters of text",
			         cl_ca_vis(cn, vis, sizeof vis));
			return CL_ERR_USAGE;
		}
		for (const unsigned char *p = (const unsigned char *)cn; *p; p++)
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen, "the common name '%s' has control characters",
				         cl_ca_vis(cn, vis, sizeof vis));
				return CL_ERR_USAGE;
			}
		if (cl_ca_ip_parse(cn, a, &len) == CL_OK) {
			if ((rc = add_ip(nm, cn, err, errlen)) != CL_OK)
				return rc;
		} else if (cl_ca_dns_norm(cn, false, norm, sizeof norm, e2, sizeof e2) == CL_OK &&
		           (strchr(cn, '.') || (!nm->ndns && !nm->nip))) {
			/* verifiers read a CN with a dot as a host name; a single label
			 * ("db") is one when it is the only name given */
			if ((rc = add_dns(nm, norm, err, errlen)) != CL_OK)
				return rc;
			cn = norm;
		}
		snprintf(nm->cn, sizeof nm->cn, "%s", cn);
	} else if (nm->ndns) {
		snprintf(nm->cn, sizeof nm->cn, "%s", nm->dns[0]);
	} else if (nm->nip) {
		if (!inet_ntop(nm->iplen[0] == 4 ? AF_INET : AF_INET6, nm->ip[0], tmp, sizeof tmp))
			tmp[0] = '\0';
		snprintf(nm->cn, sizeof nm->cn, "%s", tmp);
	}
	if (!nm->ndns && !nm->nip) {
		snprintf(err, errlen, "no name to certify: give DNS names or IP addresses%s",
		         csr ? " (the CSR has none)" : "");
		return CL_ERR_USAGE;
	}
	if (strlen(nm->cn) > 64)   /* a long DNS name: the CN stays empty, SANs carry it */
		nm->cn[0] = '\0';
	return CL_OK;
}

static int add_sans(X509 *x, const struct names *nm)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = NULL;
	int rc = CL_ERR, crit;
	size_t i;

	if (!gens)
		return CL_ERR_NOMEM;
	for (i = 0; i < nm->ndns + nm->nip; i++) {
		ASN1_STRING *s;
		if (!(g = GENERAL_NAME_new()))
			goto out;
		if (i < nm->ndns) {
			if (!(s = ASN1_IA5STRING_new()))
				goto out;
			g->type = GEN_DNS;
			g->d.dNSName = s;
			if (ASN1_STRING_set(s, nm->dns[i], (int)strlen(nm->dns[i])) != 1)
				goto out;
		} else {
			size_t k = i - nm->ndns;
			if (!(s = ASN1_OCTET_STRING_new()))
				goto out;
			g->type = GEN_IPADD;
			g->d.iPAddress = s;
			if (ASN1_OCTET_STRING_set(s, nm->ip[k], nm->iplen[k]) != 1)
				goto out;
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			goto out;
		g = NULL;
	}
	/* critical when the subject is empty (RFC 5280 4.2.1.6) */
	crit = nm->cn[0] ? 0 : 1;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, crit, X509V3_ADD_DEFAULT) == 1)
		rc = CL_OK;
out:
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	int rc = CL_ERR;

	if (os && X509_pubkey_digest(x, EVP_sha1(), md, &len) == 1 &&
	    ASN1_OCTET_STRING_set(os, md, (int)len) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, X509V3_ADD_DEFAULT) == 1)
		rc = CL_OK;
	ASN1_OCTET_STRING_free(os);
	return rc;
}

/* "DNS:a,DNS:b,IP:10.0.0.1" for the index. */
static char *sans_text(const struct names *nm)
{
	struct cl_buf b;
	char a[INET6_ADDRSTRLEN];
	size_t i;

	cl_buf_init(&b, 64 * 1024);
	for (i = 0; i < nm->ndns; i++)
		if (cl_buf_printf(&b, "%sDNS:%s", i ? "," : "", nm->dns[i]) != CL_OK)
			return NULL;
	for (i = 0; i < nm->nip; i++) {
		if (!inet_ntop(nm->iplen[i] == 4 ? AF_INET : AF_INET6, nm->ip[i], a, sizeof a))
			a[0] = '\0';
		if (cl_buf_printf(&b, "%sIP:%s", i || nm->ndns ? "," : "", a) != CL_OK)
			return NULL;
	}
	return cl_buf_take(&b);
}

/* Builds and signs the leaf (serial chosen here). */
static X509 *build(struct cl_ca *ca, const struct cl_ca_req *req, const struct names *nm,
                   EVP_PKEY *pk, int64_t nb, int64_t na, char *serial, size_t seriallen,
                   char *err, size_t errlen)
{
	ASN1_INTEGER *sn = NULL;
	X509_NAME *subj = NULL;
	char r[256];
	X509 *x = X509_new();
	bool ok = false;

	if (!x || X509_set_version(x, X509_VERSION_3) != 1 || cl_ca_serial_rand(&sn) != CL_OK ||
	    cl_ca_serial_hex(sn, serial, seriallen) != CL_OK || X509_set_serialNumber(x, sn) != 1 ||
	    X509_set_issuer_name(x, ca->issuer) != 1 || !(subj = X509_NAME_new()) ||
	    (nm->cn[0] && X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	                                              (const unsigned char *)nm->cn, -1, -1, 0)
	                  != 1) ||
	    X509_set_subject_name(x, subj) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) || X509_set_pubkey(x, pk) != 1)
		goto fail;
	if (X509_add_ext(x, ca->x_bc, -1) != 1 ||
	    X509_add_ext(x, EVP_PKEY_is_a(pk, "RSA") ? ca->x_ku_rsa : ca->x_ku_sig, -1) != 1 ||
	    X509_add_ext(x, req->client_auth ? ca->x_eku_client : ca->x_eku, -1) != 1 ||
	    add_ski(x) != CL_OK || (ca->x_aki && X509_add_ext(x, ca->x_aki, -1) != 1) ||
	    add_sans(x, nm) != CL_OK || (ca->x_cdp && X509_add_ext(x, ca->x_cdp, -1) != 1) ||
	    (ca->x_aia && X509_add_ext(x, ca->x_aia, -1) != 1))
		goto fail;
	/* the verifiers' own check of the constraints, on what is about to be signed */
	if (ca->nc_ext && NAME_CONSTRAINTS_check(x, ca->nc_ext) != X509_V_OK) {
		snprintf(err, errlen, "the certificate would break the intermediate's name "
		         "constraints");
		goto out;
	}
	if (X509_sign(x, ca->int_key, ca->md) <= 0)
		goto fail;
	ok = true;
	goto out;
fail:
	snprintf(err, errlen, "could not build the certificate%s", cl_ca_ossl(r, sizeof r));
out:
	ASN1_INTEGER_free(sn);
	X509_NAME_free(subj);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

static void life_fmt(char *out, size_t len, int64_t s)
{
	if (s % 86400 == 0)
		snprintf(out, len, "%lld days", (long long)(s / 86400));
	else
		snprintf(out, len, "%lld seconds", (long long)s);
}

void cl_ca_issued_free(struct cl_ca_issued *is)
{
	if (!is)
		return;
	free(is->cert_pem);
	free(is->chain_pem);
	if (is->key_pem)
		cl_ca_secret_free(is->key_pem, strlen(is->key_pem) + 1);
	free(is->der);
	memset(is, 0, sizeof *is);
}

int cl_ca_issue(struct cl_ca *ca, const struct cl_ca_req *req, struct cl_ca_issued *out,
                char *err, size_t errlen)
{
	struct cl_ca_csr *csr = NULL;
	struct cl_ca_keyspec ks;
	struct names *nm = NULL;
	struct cl_ca_entry e = { 0 };
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	unsigned char fp[32], *p;
	char keydesc[64], a[64], b[64], r[256], *sans = NULL;
	int64_t now = req->now ? req->now : cl_now(), life, nb, na;
	size_t keylen = 0;
	int rc, tries, len;
	bool dup = true;

	memset(out, 0, sizeof *out);
	if (!ca->int_key) {
		snprintf(err, errlen, "the CA was opened without its key");
		return CL_ERR_USAGE;
	}
	/* policy first: nothing is generated or signed for a refused request */
	life = req->lifetime ? req->lifetime : ca->info.default_leaf_lifetime;
	if (life <= 0 || life > ca->info.max_leaf_lifetime) {
		life_fmt(a, sizeof a, life);
		life_fmt(b, sizeof b, ca->info.max_leaf_lifetime);
		snprintf(err, errlen, "a lifetime of %s is %s (this CA's maximum: %s)", a,
		         life <= 0 ? "not possible" : "above the maximum", b);
		return CL_ERR_USAGE;
	}
	nb = now - CA_BACKDATE;
	na = nb + life;
	if (na > ca->info.intermediate_not_after) {
		snprintf(err, errlen, "the certificate would outlive the intermediate CA (it expires "
		         "%s); renew the CA or ask for a shorter lifetime",
		         cl_time_fmt(a, sizeof a, ca->info.intermediate_not_after));
		return CL_ERR_USAGE;
	}
	if (!req->csr && (rc = cl_ca_keyspec_parse(req->key_type, &ks, err, errlen)) != CL_OK)
		return rc;
	if (req->csr && (rc = cl_ca_csr_parse(req->csr, req->csr_len, &csr, err, errlen)) != CL_OK)
		return rc;
	if (!(nm = calloc(1, sizeof *nm))) {
		snprintf(err, errlen, "out of memory");
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if ((rc = gather(req, csr, nm, err, errlen)) != CL_OK ||
	    (rc = cl_ca_nc_check(&ca->nc, nm->dns, nm->ndns, (const unsigned char (*)[16])nm->ip,
	                         nm->iplen, nm->nip, err, errlen)) != CL_OK)
		goto out;
	if (csr) {
		pk = csr->pkey;
		EVP_PKEY_up_ref(pk);
		if ((rc = cl_ca_key_check(pk, keydesc, sizeof keydesc, err, errlen)) != CL_OK)
			goto out;
		if (EVP_PKEY_eq(pk, ca->int_key) == 1 || EVP_PKEY_eq(pk, X509_get0_pubkey(ca->root))
		    == 1) {
			snprintf(err, errlen, "the CSR carries the CA's own key");
			rc = CL_ERR_USAGE;
			goto out;
		}
	} else {
		if ((rc = cl_ca_key_gen(&ks, &pk, err, errlen)) != CL_OK)
			goto out;
		cl_ca_key_check(pk, keydesc, sizeof keydesc, r, sizeof r);
		if ((rc = cl_ca_key_pem(pk, NULL, &out->key_pem, &keylen)) != CL_OK) {
			snprintf(err, errlen, "could not encode the key");
			goto out;
		}
	}
	ERR_clear_error();
	rc = CL_ERR_NOMEM;
	if (!(sans = sans_text(nm)) || !(out->chain_pem = strdup(ca->int_pem))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* a serial already in the index (2^-126 per pair) is drawn again */
	for (tries = 0; tries < 4 && dup; tries++) {
		X509_free(x);
		free(out->der);
		out->der = NULL;
		rc = CL_ERR;
		if (!(x = build(ca, req, nm, pk, nb, na, out->serial, sizeof out->serial, err,
		                errlen)))
			goto out;
		if ((len = i2d_X509(x, NULL)) <= 0 || !(out->der = malloc((size_t)len)))
			goto fail;
		p = out->der;
		out->der_len = (size_t)i2d_X509(x, &p);
		if (EVP_Digest(out->der, out->der_len, fp, NULL, EVP_sha256(), NULL) != 1)
			goto fail;
		cl_hex(out->fingerprint, fp, sizeof fp);
		e = (struct cl_ca_entry){
			.serial = out->serial, .fingerprint = out->fingerprint, .cn = nm->cn,
			.sans = sans, .key_type = keydesc, .not_before = nb, .not_after = na,
			.issued_at = now,
		};
		if ((rc = cl_ca_db_insert(ca, &e, out->der, out->der_len, &dup, err, errlen))
		    != CL_OK)
			goto out;
	}
	if (dup) {
		snprintf(err, errlen, "could not draw an unused serial number");
		rc = CL_ERR;
		goto out;
	}
	if (!(out->cert_pem = cl_ca_cert_pem(x)))
		goto fail;
	out->not_before = nb;
	out->not_after = na;
	rc = CL_OK;
	goto out;
fail:
	snprintf(err, errlen, "could not encode the certificate%s", cl_ca_ossl(r, sizeof r));
	rc = CL_ERR;
out:
	if (rc != CL_OK)
		cl_ca_issued_free(out);
	if (nm) {
		names_free(nm);
		free(nm);
	}
	free(sans);
	X509_free(x);
	EVP_PKEY_free(pk);
	cl_ca_csr_free(csr);
	ERR_clear_error();
	return rc;
}
