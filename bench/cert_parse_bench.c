/*
 * Parse-rate benchmark: cl_cert_parse_der versus d2i_X509 + X509_digest
 * (SHA-256), over N rounds of the DER certificates given on the command
 * line. Not part of the CMake build; compile by hand:
 *
 *   cc -O2 -I src bench/cert_parse_bench.c build-cert/libcertledger.a \
 *      -lcrypto -lpthread -o /tmp/cert_parse_bench
 *   /tmp/cert_parse_bench 20000 leaf.der ca.der ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "x509/cert.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	const unsigned char *q;
	struct cl_cert *c;
	unsigned char *der;
	unsigned mdlen;
	double t0, ours, ossl;
	long rounds, r;
	size_t len;
	X509 *x;
	int i;

	if (argc < 3 || (rounds = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s ROUNDS CERT.der...\n", argv[0]);
		return 2;
	}
	printf("%-40s %12s %12s %8s\n", "certificate", "certledger", "openssl", "speedup");
	for (i = 2; i < argc; i++) {
		if ((der = slurp(argv[i], &len)) == NULL) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
		if (cl_cert_parse_der(der, len, &c, NULL) != CL_OK) {
			fprintf(stderr, "%s: not parsed\n", argv[i]);
			return 1;
		}
		cl_cert_free(c);
		t0 = now_us();
		for (r = 0; r < rounds; r++) {
			if (cl_cert_parse_der(der, len, &c, NULL) != CL_OK)
				return 1;
			cl_cert_free(c);
		}
		ours = (now_us() - t0) / (double)rounds;
		t0 = now_us();
		for (r = 0; r < rounds; r++) {
			q = der;
			if ((x = d2i_X509(NULL, &q, (long)len)) == NULL ||
			    X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
				return 1;
			X509_free(x);
		}
		ossl = (now_us() - t0) / (double)rounds;
		printf("%-40s %9.1f us %9.1f us %7.1fx\n", argv[i], ours, ossl, ossl / ours);
		free(der);
	}
	return 0;
}
