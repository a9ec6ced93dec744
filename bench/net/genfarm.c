/*
 * genfarm: PKI for the loopback TLS farm of the network-discovery benchmark.
 *
 *   genfarm [--count N] [--base-port P] OUT
 *
 * Writes
 *   OUT/root.pem            root CA (EC P-256, self-signed, 10 years)
 *   OUT/inter.pem           intermediate CA (EC P-256, signed by the root)
 *   OUT/leaf/PORT.key       leaf private key (EC P-256, PKCS#8 PEM, mode 0600)
 *   OUT/leaf/PORT.pem       leaf certificate followed by the intermediate
 *                           (what nginx's ssl_certificate presents)
 * for PORT = P .. P+N-1 (defaults: N = 1000, P = 20000).
 *
 * Every leaf has its own key: CN = svc-PORT.farm.test, SANs DNS:svc-PORT.farm.test
 * and IP:127.0.0.1, serverAuth, 128-bit random serial, valid from one day ago
 * for 90 days, signed by the intermediate with ECDSA-SHA256.
 *
 * Uses libcrypto directly (no openssl process per leaf).  Prints key=value
 * lines (leaves, seconds, ...) on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY 86400L

static void die(const char *what)
{
	fprintf(stderr, "genfarm: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(x, ext, -1))
		die(value);
	X509_EXTENSION_free(ext);
}

/* issuer == NULL: self-signed */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ca,
		       long days, time_t now)
{
	X509 *x = X509_new();
	X509_NAME *n;
	unsigned char serial[16];
	BIGNUM *bn;

	if (!x || !X509_set_version(x, X509_VERSION_3))
		die("X509_new");
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		die("RAND_bytes");
	serial[0] = (serial[0] & 0x7f) | 0x01; /* positive, 16 bytes */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		die("serial");
	BN_free(bn);

	n = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"certledger bench farm",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
		die("subject");
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n))
		die("issuer");
	if (!ASN1_TIME_set(X509_getm_notBefore(x), now - DAY) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), now + days * DAY) || !X509_set_pubkey(x, key))
		die("validity/key");

	if (!issuer)
		issuer = x;
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		char san[128];
		snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", cn);
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != x)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		die("X509_sign");
	return x;
}

static BIO *open_out(const char *dir, const char *name, int private)
{
	char path[4096];
	BIO *b;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	b = BIO_new_file(path, "w");
	if (!b) {
		fprintf(stderr, "genfarm: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (private && chmod(path, 0600) != 0) {
		fprintf(stderr, "genfarm: chmod %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return b;
}

static void write_cert(const char *dir, const char *name, X509 *x)
{
	BIO *b = open_out(dir, name, 0);
	if (!PEM_write_bio_X509(b, x))
		die(name);
	BIO_free(b);
}

static long parse_long(const char *s, const char *opt, long lo, long hi)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s ? s : "", &end, 10);
	if (!s || errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "genfarm: %s needs an integer in %ld..%ld\n", opt, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long count = 1000, base = 20000;
	const char *out = NULL;
	char leafdir[4096], name[64], cn[64];
	struct timespec t0, t1;
	time_t now = time(NULL);
	EVP_PKEY *root_key, *inter_key;
	X509 *root, *inter;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--count"))
			count = parse_long(argv[++i], "--count", 1, 65535);
		else if (!strcmp(argv[i], "--base-port"))
			base = parse_long(argv[++i], "--base-port", 1, 65535);
		else if (argv[i][0] == '-' || out) {
			fprintf(stderr, "usage: genfarm [--count N] [--base-port P] OUT\n");
			return 2;
		} else
			out = argv[i];
	}
	if (!out || base + count - 1 > 65535) {
		fprintf(stderr, "usage: genfarm [--count N] [--base-port P] OUT (ports must end <= 65535)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(leafdir, sizeof(leafdir), "%s/leaf", out);
	if ((mkdir(out, 0755) != 0 && errno != EEXIST) || (mkdir(leafdir, 0755) != 0 && errno != EEXIST)) {
		fprintf(stderr, "genfarm: mkdir %s: %s\n", leafdir, strerror(errno));
		return 1;
	}

	root_key = EVP_EC_gen("P-256");
	inter_key = EVP_EC_gen("P-256");
	if (!root_key || !inter_key)
		die("CA key generation");
	root = make_cert("certledger bench farm root", root_key, NULL, NULL, 1, 3650, now);
	inter = make_cert("certledger bench farm intermediate", inter_key, root, root_key, 1, 1825, now);
	write_cert(out, "root.pem", root);
	write_cert(out, "inter.pem", inter);

	for (long p = base; p < base + count; p++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *x;
		BIO *b;
		if (!k)
			die("leaf key generation");
		snprintf(cn, sizeof(cn), "svc-%ld.farm.test", p);
		x = make_cert(cn, k, inter, inter_key, 0, 90, now);

		snprintf(name, sizeof(name), "%ld.key", p);
		b = open_out(leafdir, name, 1);
		if (!PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
			die(name);
		BIO_free(b);
		snprintf(name, sizeof(name), "%ld.pem", p);
		b = open_out(leafdir, name, 0);
		if (!PEM_write_bio_X509(b, x) || !PEM_write_bio_X509(b, inter))
			die(name);
		BIO_free(b);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("leaves=%ld\nbase_port=%ld\nkey=ec_p256\nchain=leaf+intermediate\nnow=%lld\nseconds=%.3f\n", count,
	       base, (long long)now, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	return 0;
}
