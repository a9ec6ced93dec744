/*
 * base64url and the JOSE pieces ACME needs (RFC 7515, 7517, 7518, 7638):
 * JWK of an EC or RSA key, its thumbprint, flattened JWS with ES256,
 * ES384 or RS256, and the HS256 External Account Binding.
 *
 * base64 is OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock, translated to the
 * URL-safe alphabet without padding; JSON is jansson's (the thumbprint's
 * canonical form is JSON_COMPACT | JSON_SORT_KEYS of the required members).
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include "acme/acme_int.h"

char *cl_acme_b64url(const void *p, size_t n)
{
	size_t cap, i, k = 0;
	char *out;
	int len;

	if (n > (1u << 28))
		return NULL;
	cap = 4 * ((n + 2) / 3) + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	len = n ? EVP_EncodeBlock((unsigned char *)out, p, (int)n) : 0;
	for (i = 0; i < (size_t)len; i++) {
		char c = out[i];

		if (c == '=')
			break;
		out[k++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	out[k] = '\0';
	return out;
}

bool cl_acme_is_b64url(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return false;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                  (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int cl_acme_b64_decode(const char *s, size_t n, bool url, unsigned char **out, size_t *outlen)
{
	unsigned char *tmp = NULL, *dec = NULL;
	size_t i, k = 0, pad = 0, data;
	int rc = CL_ERR_PARSE, got;

	*out = NULL;
	*outlen = 0;
	if (n > (1u << 28))
		return CL_ERR_PARSE;
	if (!url) {
		while (n > 0 && s[n - 1] == '=' && pad < 2) {
			n--;
			pad++;
		}
	}
	if (n % 4 == 1)
		return CL_ERR_PARSE;
	if (!url && pad && (n + pad) % 4 != 0)
		return CL_ERR_PARSE;
	if ((tmp = malloc(n + 4)) == NULL || (dec = malloc(n / 4 * 3 + 4)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			tmp[k++] = c;
		else if (url && c == '-')
			tmp[k++] = '+';
		else if (url && c == '_')
			tmp[k++] = '/';
		else if (!url && (c == '+' || c == '/'))
			tmp[k++] = c;
		else
			goto out;
	}
	pad = (4 - k % 4) % 4;
	for (i = 0; i < pad; i++)
		tmp[k++] = '=';
	data = k / 4 * 3 - pad;
	if (k == 0) {
		dec[0] = '\0';
		*out = dec;
		dec = NULL;
		rc = CL_OK;
		goto out;
	}
	if ((got = EVP_DecodeBlock(dec, tmp, (int)k)) < 0 || (size_t)got != k / 4 * 3)
		goto out;
	dec[data] = '\0';
	*out = dec;
	*outlen = data;
	dec = NULL;
	rc = CL_OK;
out:
	free(tmp);
	free(dec);
	return rc;
}

/* The key's curve size in bytes (32, 48) or 0 for RSA / unusable keys. */
static size_t ec_size(EVP_PKEY *key, const char **crv)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
	                                   &glen) != 1)
		return 0;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
		*crv = "P-256";
		return 32;
	}
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
		*crv = "P-384";
		return 48;
	}
	return 0;
}

const char *cl_acme_jws_alg(EVP_PKEY *key)
{
	const char *crv;
	size_t n;

	if (key == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		return EVP_PKEY_get_bits(key) >= 2048 ? "RS256" : NULL;
	n = ec_size(key, &crv);
	return n == 32 ? "ES256" : n == 48 ? "ES384" : NULL;
}

/* base64url of a big number: padded to pad bytes (EC coordinates), or
 * its minimal big-endian form when pad is 0 (RSA n, e). */
static char *bn_b64url(EVP_PKEY *key, const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *s = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return NULL;
	n = pad ? (BN_num_bytes(bn) <= (int)pad ? (int)pad : -1) : BN_num_bytes(bn);
	if (n > 0 && (size_t)n <= sizeof buf && BN_bn2binpad(bn, buf, n) == n)
		s = cl_acme_b64url(buf, (size_t)n);
	BN_free(bn);
	return s;
}

json_t *cl_acme_jwk(EVP_PKEY *key)
{
	const char *crv = NULL;
	char *a = NULL, *b = NULL;
	json_t *j = NULL;
	size_t n;

	if (key == NULL || cl_acme_jws_alg(key) == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		if ((a = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E, 0)) != NULL &&
		    (b = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N, 0)) != NULL)
			j = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
	} else if ((n = ec_size(key, &crv)) != 0) {
		if ((a = bn_b64url(key, OSSL_PKEY_PARAM_EC_PUB_X, n)) != NULL &&
		    (b = bn_b64url(key, OSSL_PKEY_PARAM_EC_PUB_Y, n)) != NULL)
			j = json_pack("{s:s, s:s, s:s, s:s}", "crv", crv, "kty", "EC", "x", a, "y", b);
	}
	free(a);
	free(b);
	return j;
}

char *cl_acme_jwk_thumbprint(EVP_PKEY *key)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	json_t *j = cl_acme_jwk(key);
	char *txt = NULL, *out = NULL;

	if (j == NULL || (txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	if (EVP_Digest(txt, strlen(txt), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		goto out;
	out = cl_acme_b64url(md, mdlen);
out:
	free(txt);
	json_decref(j);
	return out;
}

static const EVP_MD *alg_md(EVP_PKEY *key, size_t *rs)
{
	const char *crv;

	*rs = 0;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		return EVP_sha256();
	*rs = ec_size(key, &crv);
	return *rs == 32 ? EVP_sha256() : *rs == 48 ? EVP_sha384() : NULL;
}

int cl_acme_jws_sign_raw(EVP_PKEY *key, const void *data, size_t n, unsigned char **sig,
                         size_t *siglen)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	const unsigned char *p;
	unsigned char *der = NULL, *raw = NULL;
	size_t derlen = 0, rs;
	const EVP_MD *h;
	int rc = CL_ERR;

	*sig = NULL;
	*siglen = 0;
	if (cl_acme_jws_alg(key) == NULL || (h = alg_md(key, &rs)) == NULL)
		return CL_ERR;
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit(md, NULL, h, NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &derlen, data, n) != 1 || (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(md, der, &derlen, data, n) != 1)
		goto out;
	if (rs == 0) {   /* RSA: the signature as it is */
		*sig = der;
		*siglen = derlen;
		der = NULL;
		rc = CL_OK;
		goto out;
	}
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL || (raw = malloc(2 * rs)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)rs) != (int)rs || BN_bn2binpad(s, raw + rs, (int)rs) != (int)rs)
		goto out;
	*sig = raw;
	*siglen = 2 * rs;
	raw = NULL;
	rc = CL_OK;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	free(der);
	free(raw);
	return rc;
}

bool cl_acme_jws_verify_raw(EVP_PKEY *key, const void *data, size_t n, const unsigned char *sig,
                            size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const EVP_MD *h;
	size_t rs;
	int derlen = 0;
	bool ok = false;

	if (cl_acme_jws_alg(key) == NULL || (h = alg_md(key, &rs)) == NULL)
		return false;
	if (rs != 0) {
		if (siglen != 2 * rs || (es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, (int)rs, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + rs, (int)rs, NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
			goto out;
		r = s = NULL;
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	ok = (md = EVP_MD_CTX_new()) != NULL && EVP_DigestVerifyInit(md, NULL, h, NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, data, n) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

/* protected "." payload, signed; the flattened object. */
static json_t *jws_finish(EVP_PKEY *key, json_t *prot, const char *payload)
{
	char *ptxt = NULL, *p64 = NULL, *pl64 = NULL, *input = NULL, *s64 = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, n;
	json_t *j = NULL;

	if (prot == NULL || (ptxt = json_dumps(prot, JSON_COMPACT)) == NULL ||
	    (p64 = cl_acme_b64url(ptxt, strlen(ptxt))) == NULL ||
	    (pl64 = cl_acme_b64url(payload, strlen(payload))) == NULL)
		goto out;
	n = strlen(p64) + strlen(pl64) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", p64, pl64);
	if (cl_acme_jws_sign_raw(key, input, n - 1, &sig, &siglen) != CL_OK ||
	    (s64 = cl_acme_b64url(sig, siglen)) == NULL)
		goto out;
	j = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", pl64, "signature", s64);
out:
	free(ptxt);
	free(p64);
	free(pl64);
	free(input);
	free(s64);
	free(sig);
	return j;
}

json_t *cl_acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                    const char *payload)
{
	const char *alg = cl_acme_jws_alg(key);
	json_t *prot = NULL, *jwk = NULL, *j = NULL;

	if (alg == NULL || url == NULL || payload == NULL ||
	    (prot = json_pack("{s:s, s:s}", "alg", alg, "url", url)) == NULL)
		goto out;
	if (nonce && json_object_set_new(prot, "nonce", json_string(nonce)) != 0)
		goto out;
	if (kid) {
		if (json_object_set_new(prot, "kid", json_string(kid)) != 0)
			goto out;
	} else if ((jwk = cl_acme_jwk(key)) == NULL || json_object_set(prot, "jwk", jwk) != 0) {
		goto out;
	}
	j = jws_finish(key, prot, payload);
out:
	json_decref(jwk);
	json_decref(prot);
	return j;
}

json_t *cl_acme_eab_jws(EVP_PKEY *account_key, const char *kid, const unsigned char *mac_key,
                        size_t mac_len, const char *url)
{
	json_t *prot = NULL, *jwk = NULL, *j = NULL;
	char *ptxt = NULL, *jtxt = NULL, *p64 = NULL, *pl64 = NULL, *input = NULL, *s64 = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0, n;

	if ((jwk = cl_acme_jwk(account_key)) == NULL ||
	    (prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid, "url", url)) == NULL ||
	    (ptxt = json_dumps(prot, JSON_COMPACT)) == NULL ||
	    (jtxt = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    (p64 = cl_acme_b64url(ptxt, strlen(ptxt))) == NULL ||
	    (pl64 = cl_acme_b64url(jtxt, strlen(jtxt))) == NULL)
		goto out;
	n = strlen(p64) + strlen(pl64) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", p64, pl64);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mac_key, mac_len, (unsigned char *)input,
	              n - 1, mac, sizeof mac, &maclen) == NULL ||
	    (s64 = cl_acme_b64url(mac, maclen)) == NULL)
		goto out;
	j = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", pl64, "signature", s64);
out:
	OPENSSL_cleanse(mac, sizeof mac);
	json_decref(prot);
	json_decref(jwk);
	free(ptxt);
	free(jtxt);
	free(p64);
	free(pl64);
	free(input);
	free(s64);
	return j;
}
