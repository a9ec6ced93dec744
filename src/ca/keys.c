/*
 * Key pairs of the CA and of the leaves it generates: types, generation,
 * encryption at rest, loading; serial numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include "ca/ca_int.h"
#include "core/log.h"
#include "core/util.h"

/* scrypt parameters of encrypted keys: 16 MiB, within what OpenSSL accepts
 * when decrypting by default (32 MiB). */
#define CA_SCRYPT_N 16384
#define CA_SCRYPT_R 8
#define CA_SCRYPT_P 1

const char *cl_ca_ossl(char *buf, size_t len)
{
	char r[200];

	cl_ossl_reason(r, sizeof r);
	snprintf(buf, len, "%s%s", r[0] ? ": " : "", r);
	return buf;
}

int cl_ca_keyspec_parse(const char *s, struct cl_ca_keyspec *ks, char *err, size_t errlen)
{
	char *end;
	long bits;

	memset(ks, 0, sizeof *ks);
	if (!s || strcasecmp(s, "ec") == 0 || strcasecmp(s, "ec:P-256") == 0 ||
	    strcasecmp(s, "ec:prime256v1") == 0) {
		ks->group = "P-256";
	} else if (strcasecmp(s, "ec:P-384") == 0 || strcasecmp(s, "ec:secp384r1") == 0) {
		ks->group = "P-384";
	} else if (strcasecmp(s, "rsa") == 0) {
		ks->rsa = true;
		ks->bits = 2048;
	} else if (strncasecmp(s, "rsa:", 4) == 0) {
		bits = strtol(s + 4, &end, 10);
		if (!s[4] || *end || bits < 2048 || bits > 4096 || bits % 8 != 0)
			goto bad;
		ks->rsa = true;
		ks->bits = (int)bits;
	} else {
		goto bad;
	}
	if (ks->rsa)
		snprintf(ks->name, sizeof ks->name, "rsa:%d", ks->bits);
	else
		snprintf(ks->name, sizeof ks->name, "ec:%s", ks->group);
	return CL_OK;
bad:
	{
		char vis[128];
		snprintf(err, errlen, "key type '%s' is not one of ec:P-256, ec:P-384, rsa:2048 to "
		         "rsa:4096", cl_ca_vis(s, vis, sizeof vis));
	}
	return CL_ERR_USAGE;
}

int cl_ca_key_gen(const struct cl_ca_keyspec *ks, EVP_PKEY **out, char *err, size_t errlen)
{
	char r[256];

	if (ks->rsa)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)ks->bits);
	else
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ks->group);
	if (!*out) {
		snprintf(err, errlen, "could not generate a %s key%s", ks->name,
		         cl_ca_ossl(r, sizeof r));
		return CL_ERR;
	}
	return CL_OK;
}

const EVP_MD *cl_ca_key_md(const EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) > 256)
		return EVP_PKEY_get_bits(k) > 384 ? EVP_sha512() : EVP_sha384();
	return EVP_sha256();
}

int cl_ca_key_check(EVP_PKEY *k, char *out, size_t outlen, char *err, size_t errlen)
{
	char group[64] = "";
	int bits = EVP_PKEY_get_bits(k);

	if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(out, outlen, "RSA %d", bits);
		if (bits < 2048 || bits > 16384) {
			snprintf(err, errlen, "an RSA key of %d bits is refused: 2048 to 16384 bits", bits);
			return CL_ERR_USAGE;
		}
		return CL_OK;
	}
	if (EVP_PKEY_is_a(k, "EC")) {
		const char *nist;
		size_t gl = 0;
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
		                                   &gl) != 1)
			group[0] = '\0';
		nist = strcmp(group, "prime256v1") == 0 ? "P-256" :
		       strcmp(group, "secp384r1") == 0 ? "P-384" :
		       strcmp(group, "secp521r1") == 0 ? "P-521" : NULL;
		snprintf(out, outlen, "EC %s", nist ? nist : group[0] ? group : "explicit");
		if (!nist) {
			snprintf(err, errlen, "an EC key on curve %s is refused: P-256, P-384 or P-521",
			         group[0] ? group : "(explicit parameters)");
			return CL_ERR_USAGE;
		}
		ERR_clear_error();
		return CL_OK;
	}
	if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448")) {
		snprintf(out, outlen, "%s", EVP_PKEY_is_a(k, "ED25519") ? "Ed25519" : "Ed448");
		return CL_OK;
	}
	snprintf(out, outlen, "%s", EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
	snprintf(err, errlen, "a %s key is refused: RSA, EC (P-256, P-384, P-521), Ed25519 or "
	         "Ed448", out);
	return CL_ERR_USAGE;
}

void cl_ca_secret_free(char *p, size_t len)
{
	if (p)
		OPENSSL_clear_free(p, len);
}

/* Takes the contents of a memory BIO as a new NUL terminated string. */
static int bio_take(BIO *b, char **out, size_t *len)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || !(*out = OPENSSL_malloc((size_t)n + 1)))
		return CL_ERR_NOMEM;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	return CL_OK;
}

int cl_ca_key_pem(EVP_PKEY *k, const char *passphrase, char **pem, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	BIO *b = NULL;
	int rc = CL_ERR;

	*pem = NULL;
	*len = 0;
	/* a secure-heap memory BIO: its buffer is wiped when freed */
	if (!(b = BIO_new(BIO_s_secmem())))
		goto out;
	if (passphrase) {
		if (!(p8inf = EVP_PKEY2PKCS8(k)) ||
		    !(pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, CA_SCRYPT_N,
		                                  CA_SCRYPT_R, CA_SCRYPT_P)))
			goto out;
		if (!(p8 = PKCS8_set0_pbe(passphrase, (int)strlen(passphrase), p8inf, pbe)))
			goto out;
		pbe = NULL;   /* owned by p8 */
		if (PEM_write_bio_PKCS8(b, p8) != 1)
			goto out;
	} else if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
		goto out;
	}
	rc = bio_take(b, pem, len);
out:
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	BIO_free(b);
	return rc;
}

struct pw { const char *p; };

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	const struct pw *pw = u;
	size_t n;

	(void)rwflag;
	if (!pw->p)
		return -1;   /* never prompt */
	n = strlen(pw->p);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pw->p, n);
	return (int)n;
}

int cl_ca_key_load(const char *dir, const char *name, const char *passphrase, EVP_PKEY **out,
                   bool *encrypted, char *err, size_t errlen)
{
	char path[4096], r[256];
	struct pw pw = { passphrase };
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	ssize_t n;
	BIO *b = NULL;
	int fd = -1, rc = CL_ERR_IO;

	*out = NULL;
	*encrypted = false;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = errno == ENOENT ? CL_ERR_NOTFOUND : CL_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CA_MAX_FILE) {
		snprintf(err, errlen, "%s: not a key file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s is readable by %s (mode %04o): refusing to use it; "
		         "chmod 600 it (and consider the key exposed)", path,
		         (st.st_mode & 07) ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (!(data = OPENSSL_secure_zalloc((size_t)st.st_size + 1)))
		goto nomem;
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, data + got, (size_t)st.st_size - got)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*encrypted = strstr(data, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL;
	if (*encrypted && !passphrase) {
		snprintf(err, errlen, "%s is encrypted and no passphrase was given", path);
		rc = CL_ERR_LOCKED;
		goto out;
	}
	if (!(b = BIO_new_mem_buf(data, (int)got)))
		goto nomem;
	if (!(*out = PEM_read_bio_PrivateKey(b, NULL, pw_cb, &pw))) {
		if (*encrypted) {
			ERR_clear_error();
			snprintf(err, errlen, "wrong passphrase for %s", path);
			rc = CL_ERR_PASSWORD;
		} else {
			snprintf(err, errlen, "%s: not a private key%s", path, cl_ca_ossl(r, sizeof r));
			rc = CL_ERR_PARSE;
		}
		goto out;
	}
	rc = CL_OK;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = CL_ERR_NOMEM;
out:
	BIO_free(b);
	if (data)
		OPENSSL_secure_clear_free(data, (size_t)st.st_size + 1);
	if (fd >= 0)
		close(fd);
	return rc;
}

int cl_ca_serial_rand(ASN1_INTEGER **out)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int rc = CL_ERR;

	*out = NULL;
	if (RAND_bytes(b, sizeof b) != 1)
		return CL_ERR;
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	if ((bn = BN_bin2bn(b, sizeof b, NULL)) && (*out = BN_to_ASN1_INTEGER(bn, NULL)))
		rc = CL_OK;
	BN_free(bn);
	return rc;
}

int cl_ca_serial_hex(const ASN1_INTEGER *a, char *out, size_t outlen)
{
	const unsigned char *d = ASN1_STRING_get0_data(a);
	int n = ASN1_STRING_length(a);

	if (n <= 0 || n > 20 || (size_t)n * 2 + 1 > outlen) {
		if (outlen)
			out[0] = '\0';
		return CL_ERR_PARSE;
	}
	cl_hex(out, d, (size_t)n);
	return CL_OK;
}

char *cl_ca_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b && PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (s = malloc((size_t)n + 1))) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}
