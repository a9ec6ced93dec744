/*
 * Revocation: serial numbers, reasons, and CRLs signed by the
 * intermediate (leaves) or the root.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "ca/ca_int.h"
#include "core/der.h"
#include "core/util.h"

static const struct { int code; const char *name; } reasons[] = {
	{ CL_CA_UNSPECIFIED, "unspecified" },
	{ CL_CA_KEY_COMPROMISE, "keyCompromise" },
	{ CL_CA_CA_COMPROMISE, "cACompromise" },
	{ CL_CA_AFFILIATION_CHANGED, "affiliationChanged" },
	{ CL_CA_SUPERSEDED, "superseded" },
	{ CL_CA_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ CL_CA_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};

int cl_ca_reason_parse(const char *s, int *out)
{
	for (size_t i = 0; i < CL_ARRAY_LEN(reasons); i++)
		if (strcasecmp(s, reasons[i].name) == 0) {
			*out = reasons[i].code;
			return CL_OK;
		}
	return CL_ERR_USAGE;
}

const char *cl_ca_reason_name(int reason)
{
	for (size_t i = 0; i < CL_ARRAY_LEN(reasons); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return "unspecified";
}

int cl_ca_serial_norm(const char *in, char *out, size_t outlen)
{
	size_t n = 0, i;
	const char *p;

	for (p = in; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p))
			return CL_ERR_USAGE;
		n++;
	}
	if (n == 0 || n > 40 || n + (n & 1) + 1 > outlen)
		return CL_ERR_USAGE;
	i = 0;
	if (n & 1)
		out[i++] = '0';
	for (p = in; *p; p++)
		if (*p != ':')
			out[i++] = (char)tolower((unsigned char)*p);
	out[i] = '\0';
	/* drop leading zero bytes that do not keep the number positive */
	while (i > 2 && out[0] == '0' && out[1] == '0' && strchr("01234567", out[2])) {
		memmove(out, out + 2, i - 1);
		i -= 2;
	}
	return CL_OK;
}

int cl_ca_serial_of(struct cl_ca *ca, const unsigned char *p, size_t n, char *serial,
                    size_t seriallen, char *err, size_t errlen)
{
	X509 *x = NULL;
	BIO *b = NULL;
	int rc = CL_ERR_PARSE;

	if (n > CA_MAX_FILE) {
		snprintf(err, errlen, "not a certificate (too large)");
		return CL_ERR_PARSE;
	}
	if (n > 11 && memmem(p, n, "-----BEGIN ", 11)) {
		if ((b = BIO_new_mem_buf(p, (int)n)))
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	} else if (cl_der_elem_len(p, n) == n) {
		const unsigned char *q = p;
		x = d2i_X509(NULL, &q, (long)n);
	}
	if (!x) {
		snprintf(err, errlen, "not a certificate (PEM or DER)");
		goto out;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->inter)) != 0 ||
	    X509_verify(x, X509_get0_pubkey(ca->inter)) != 1) {
		snprintf(err, errlen, "this certificate was not issued by this CA");
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if (cl_ca_serial_hex(X509_get0_serialNumber(x), serial, seriallen) != CL_OK) {
		snprintf(err, errlen, "unusable serial number");
		goto out;
	}
	rc = CL_OK;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(b);
	return rc;
}

int cl_ca_revoke(struct cl_ca *ca, const char *serial, int reason, int64_t when,
                 bool *already, char *err, size_t errlen)
{
	char norm[41], vis[128];

	if (cl_ca_serial_norm(serial, norm, sizeof norm) != CL_OK) {
		snprintf(err, errlen, "'%s' is not a serial number (hex digits)",
		         cl_ca_vis(serial, vis, sizeof vis));
		return CL_ERR_USAGE;
	}
	if (strcmp(cl_ca_reason_name(reason), "unspecified") == 0 && reason != CL_CA_UNSPECIFIED) {
		snprintf(err, errlen, "unknown revocation reason %d", reason);
		return CL_ERR_USAGE;
	}
	if (!ca->int_key) {
		snprintf(err, errlen, "the CA was opened without its key");
		return CL_ERR_USAGE;
	}
	return cl_ca_db_revoke(ca, norm, reason, when ? when : cl_now(), already, err, errlen);
}

static int set_time(ASN1_TIME **t, int64_t v)
{
	*t = ASN1_TIME_set(NULL, (time_t)v);
	return *t ? CL_OK : CL_ERR;
}

int cl_ca_crl(struct cl_ca *ca, bool root, int64_t next_update, int64_t now,
              unsigned char **der, size_t *len, char *err, size_t errlen)
{
	struct cl_ca_crl_ent *ents = NULL;
	size_t nents = 0, i;
	X509 *issuer = root ? ca->root : ca->inter;
	EVP_PKEY *key = root ? ca->root_key : ca->int_key;
	X509_CRL *crl = NULL;
	ASN1_TIME *t1 = NULL, *t2 = NULL;
	ASN1_INTEGER *num = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	char r[256];
	long number = 0;
	int rc, l;
	unsigned char *p;

	*der = NULL;
	*len = 0;
	if (!now)
		now = cl_now();
	if (!key) {
		snprintf(err, errlen, "the CA was opened without the %s key", root ? "root" :
		         "intermediate");
		return CL_ERR_USAGE;
	}
	if (next_update <= 0) {
		snprintf(err, errlen, "nextUpdate must be in the future");
		return CL_ERR_USAGE;
	}
	if ((rc = cl_ca_db_crl(ca, root, now, &number, &ents, &nents, err, errlen)) != CL_OK)
		return rc;
	rc = CL_ERR;
	if (!(crl = X509_CRL_new()) || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    set_time(&t1, now) != CL_OK || set_time(&t2, now + next_update) != CL_OK ||
	    X509_CRL_set1_lastUpdate(crl, t1) != 1 || X509_CRL_set1_nextUpdate(crl, t2) != 1)
		goto fail;
	for (i = 0; i < nents; i++) {
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)ents[i].revoked_at);
		ASN1_ENUMERATED *why = NULL;
		bool ok = rv && sn && rt && ASN1_STRING_set(sn, ents[i].serial, (int)ents[i].len) == 1 &&
		          X509_REVOKED_set_serialNumber(rv, sn) == 1 &&
		          X509_REVOKED_set_revocationDate(rv, rt) == 1;
		if (ok && ents[i].reason != CL_CA_UNSPECIFIED)
			ok = (why = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(why, ents[i].reason) == 1 &&
			     X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, why, 0, 0) == 1;
		if (ok && X509_CRL_add0_revoked(crl, rv) == 1)
			rv = NULL;
		else
			ok = false;
		ASN1_ENUMERATED_free(why);
		ASN1_TIME_free(rt);
		ASN1_INTEGER_free(sn);
		X509_REVOKED_free(rv);
		if (!ok)
			goto fail;
	}
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if (!(num = ASN1_INTEGER_new()) || ASN1_INTEGER_set(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    !(aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always")) ||
	    X509_CRL_add_ext(crl, aki, -1) != 1 || X509_CRL_sort(crl) != 1 ||
	    X509_CRL_sign(crl, key, cl_ca_key_md(key)) <= 0)
		goto fail;
	if ((l = i2d_X509_CRL(crl, NULL)) <= 0 || !(*der = malloc((size_t)l)))
		goto fail;
	p = *der;
	*len = (size_t)i2d_X509_CRL(crl, &p);
	rc = CL_OK;
	goto out;
fail:
	snprintf(err, errlen, "could not make the CRL%s", cl_ca_ossl(r, sizeof r));
out:
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	X509_CRL_free(crl);
	free(ents);
	return rc;
}
