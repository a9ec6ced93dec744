/*
 * Keys, CSRs and certificate identifiers for the ACME client: generating
 * and storing account and certificate keys (PKCS#8 PEM, 0600, written
 * atomically), building a CSR for a set of identifiers, and the RFC 9773
 * CertID of a certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acme/acme_int.h"
#include "core/der.h"
#include "core/util.h"

#define MAX_KEY_FILE (1u << 20)

int cl_acme_keytype_parse(const char *s, enum cl_acme_keytype *out)
{
	static const struct { const char *name; enum cl_acme_keytype t; } names[] = {
		{ "ec256", CL_ACME_KEY_EC256 }, { "p256", CL_ACME_KEY_EC256 },
		{ "ecdsa", CL_ACME_KEY_EC256 }, { "ec", CL_ACME_KEY_EC256 },
		{ "ec384", CL_ACME_KEY_EC384 }, { "p384", CL_ACME_KEY_EC384 },
		{ "rsa", CL_ACME_KEY_RSA2048 }, { "rsa2048", CL_ACME_KEY_RSA2048 },
		{ "rsa3072", CL_ACME_KEY_RSA3072 }, { "rsa4096", CL_ACME_KEY_RSA4096 },
	};
	size_t i;

	for (i = 0; s && i < CL_ARRAY_LEN(names); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].t;
			return CL_OK;
		}
	}
	return CL_ERR_USAGE;
}

int cl_acme_key_new(EVP_PKEY **out, enum cl_acme_keytype t)
{
	switch (t) {
	case CL_ACME_KEY_EC256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case CL_ACME_KEY_EC384:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case CL_ACME_KEY_RSA2048:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case CL_ACME_KEY_RSA3072:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case CL_ACME_KEY_RSA4096:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		*out = NULL;
	}
	if (*out == NULL) {
		ERR_clear_error();
		return CL_ERR;
	}
	return CL_OK;
}

int cl_acme_key_load(EVP_PKEY **out, const char *path)
{
	struct cl_buf b;
	BIO *bio = NULL;
	FILE *f = NULL;
	char chunk[4096];
	size_t n;
	int rc = CL_ERR_IO;

	*out = NULL;
	cl_buf_init(&b, MAX_KEY_FILE);
	b.secret = 1;
	if ((f = fopen(path, "rb")) == NULL)
		goto out;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if ((rc = cl_buf_add(&b, chunk, n)) != CL_OK)
			goto out;
	}
	rc = CL_ERR_IO;
	if (ferror(f))
		goto out;
	rc = CL_ERR_PARSE;
	if (b.len == 0 || (bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL)
		goto out;
	if ((*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")) == NULL) {
		ERR_clear_error();
		goto out;
	}
	if (cl_acme_jws_alg(*out) == NULL) {
		EVP_PKEY_free(*out);
		*out = NULL;
		rc = CL_ERR_UNSUPPORTED;
		goto out;
	}
	rc = CL_OK;
out:
	OPENSSL_cleanse(chunk, sizeof chunk);
	BIO_free(bio);
	if (f)
		fclose(f);
	cl_buf_free(&b);
	return rc;
}

int cl_acme_key_save(EVP_PKEY *key, const char *path)
{
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	int rc = CL_ERR;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
		ERR_clear_error();
		goto out;
	}
	rc = cl_write_file_atomic(path, mem->data, mem->length, 0600);
out:
	BIO_free(bio);   /* secure memory: cleared when freed */
	return rc;
}

int cl_acme_key_load_or_new(EVP_PKEY **out, const char *path, enum cl_acme_keytype t,
                            bool *created)
{
	struct stat st;
	int rc;

	if (created)
		*created = false;
	if (stat(path, &st) == 0 || errno != ENOENT)
		return cl_acme_key_load(out, path);
	if ((rc = cl_acme_key_new(out, t)) != CL_OK)
		return rc;
	if ((rc = cl_acme_key_save(*out, path)) != CL_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return rc;
	}
	if (created)
		*created = true;
	return CL_OK;
}

/* Adds one GENERAL_NAME for id to names. */
static int add_san(GENERAL_NAMES *names, const struct cl_acme_ident *id)
{
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *s = NULL;
	ASN1_OCTET_STRING *ip = NULL;
	char norm[64];

	if (id->type == CL_ACME_ID_DNS) {
		if (!cl_acme_dns_name_ok(id->value, true, true))
			return CL_ERR_USAGE;
		if ((g = GENERAL_NAME_new()) == NULL || (s = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(s, id->value, (int)strlen(id->value)) != 1)
			goto err;
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		s = NULL;
	} else {
		if (cl_acme_ip_norm(id->value, norm, sizeof norm) != CL_OK)
			return CL_ERR_USAGE;
		if ((g = GENERAL_NAME_new()) == NULL || (ip = a2i_IPADDRESS(norm)) == NULL)
			goto err;
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		ip = NULL;
	}
	if (sk_GENERAL_NAME_push(names, g) <= 0)
		goto err;
	return CL_OK;
err:
	GENERAL_NAME_free(g);
	ASN1_IA5STRING_free(s);
	ASN1_OCTET_STRING_free(ip);
	ERR_clear_error();
	return CL_ERR;
}

int cl_acme_csr_new(EVP_PKEY *key, const struct cl_acme_ident *ids, size_t nids,
                    unsigned char **der, size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	GENERAL_NAMES *names = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	const EVP_MD *md = EVP_sha256();
	int rc = CL_ERR, n;
	size_t i;

	*der = NULL;
	*len = 0;
	if (key == NULL || nids == 0 || nids > CL_ACME_MAX_IDS)
		return CL_ERR_USAGE;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_bits(key) == 384)
		md = EVP_sha384();
	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    (name = X509_NAME_new()) == NULL || (names = GENERAL_NAMES_new()) == NULL)
		goto out;
	for (i = 0; i < nids; i++) {
		if ((rc = add_san(names, &ids[i])) != CL_OK)
			goto out;
	}
	rc = CL_ERR;
	for (i = 0; i < nids; i++) {
		if (ids[i].type == CL_ACME_ID_DNS && strlen(ids[i].value) <= 64) {
			if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
			                               (const unsigned char *)ids[i].value, -1, -1,
			                               0) != 1)
				goto out;
			break;
		}
	}
	if (X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 || X509_REQ_sign(req, key, md) <= 0 ||
	    (n = i2d_X509_REQ(req, der)) <= 0)
		goto out;
	*len = (size_t)n;
	rc = CL_OK;
out:
	if (rc != CL_OK)
		ERR_clear_error();
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(names);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

int cl_acme_cert_id(const unsigned char *der, size_t len, char **out)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	const ASN1_OCTET_STRING *aki;
	unsigned char *ser = NULL;
	char *a64 = NULL, *s64 = NULL;
	struct cl_der d;
	struct cl_tlv t;
	int n, rc = CL_ERR_PARSE;
	size_t total;

	*out = NULL;
	if (len == 0 || len > (1u << 24) || (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return CL_ERR_PARSE;
	}
	if ((aki = X509_get0_authority_key_id(x)) == NULL || ASN1_STRING_length(aki) <= 0) {
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	/* the serial's DER content octets, leading zero included */
	if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &ser)) <= 0)
		goto out;
	cl_der_init(&d, ser, (size_t)n);
	if (cl_der_expect(&d, 0x02, &t) != CL_OK || t.len == 0)
		goto out;
	rc = CL_ERR_NOMEM;
	if ((a64 = cl_acme_b64url(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki))) ==
	        NULL ||
	    (s64 = cl_acme_b64url(t.val, t.len)) == NULL)
		goto out;
	total = strlen(a64) + strlen(s64) + 2;
	if ((*out = malloc(total)) == NULL)
		goto out;
	snprintf(*out, total, "%s.%s", a64, s64);
	rc = CL_OK;
out:
	ERR_clear_error();
	free(a64);
	free(s64);
	OPENSSL_free(ser);
	X509_free(x);
	return rc;
}
