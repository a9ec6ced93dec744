/*
 * peer_mbedtls_loop: the "plain loop over files with mbedTLS" baseline.
 *
 *   peer_mbedtls_loop DIR|FILE...     walk each DIR (nftw), or take FILEs
 *   peer_mbedtls_loop -               read one path per line from stdin
 *
 * For every regular file: mbedtls_x509_crt_parse_file() into a fresh chain
 * (it reads the file, and handles DER, single PEM and PEM bundles), then for
 * each parsed certificate a SHA-256 of crt->raw (mbedtls_sha256_ret, the
 * non-deprecated one-shot call in 2.28) and a notAfter check (expired /
 * expiring within 30 days).  Single-threaded, no database.
 *
 * mbedTLS 2.28 cannot parse certificates with Ed25519 public keys
 * (MBEDTLS_ERR_PK_UNKNOWN_PK_ALG).  Such certificates are counted under
 * failed= rather than treated as a fatal error; run with --strict to exit 1
 * on any failure.  For an all-failed PEM file the failed certificates are
 * counted by re-reading it (error path only).
 *
 * Prints one key=value line on stdout:
 *   tool=mbedtls-loop lib= files= certs= failed= failed_files= expired=
 *   expiring_30d= seconds= xor= first_error=
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/error.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

static unsigned long long nfiles, ncerts, nfailed, nfailed_files, nexpired, nexpiring, nio;
static unsigned char xor_fp[32];
static long long k_now, k_30d; /* YYYYMMDDhhmmss */
static int first_error;

static long long tkey_tm(const struct tm *t)
{
	return ((((t->tm_year + 1900LL) * 100 + t->tm_mon + 1) * 100 + t->tm_mday) * 100 + t->tm_hour) *
		       10000LL +
	       t->tm_min * 100LL + t->tm_sec;
}

static long long tkey_x509(const mbedtls_x509_time *t)
{
	return ((((long long)t->year * 100 + t->mon) * 100 + t->day) * 100 + t->hour) * 10000LL +
	       t->min * 100LL + t->sec;
}

/* error path only: how many PEM certificates does the file hold? */
static unsigned long long count_pem(const char *path)
{
	FILE *f = fopen(path, "rb");
	char line[256];
	unsigned long long n = 0;
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "-----BEGIN CERTIFICATE-----", 27))
			n++;
	fclose(f);
	return n ? n : 1;
}

static void do_file(const char *path)
{
	mbedtls_x509_crt chain;
	int ret;

	nfiles++;
	mbedtls_x509_crt_init(&chain);
	ret = mbedtls_x509_crt_parse_file(&chain, path);
	if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR || ret == MBEDTLS_ERR_PK_ALLOC_FAILED ||
	    ret == MBEDTLS_ERR_X509_ALLOC_FAILED) {
		fprintf(stderr, "mbedtls-loop: %s: cannot read/allocate (-0x%04x)\n", path, (unsigned)-ret);
		nio++;
		mbedtls_x509_crt_free(&chain);
		return;
	}
	if (ret != 0) {
		if (!first_error)
			first_error = ret < 0 ? ret : 0;
		nfailed_files++;
		nfailed += ret > 0 ? (unsigned long long)ret : count_pem(path);
	}
	for (mbedtls_x509_crt *c = &chain; c && c->version != 0; c = c->next) {
		unsigned char md[32];
		long long na;
		if (mbedtls_sha256_ret(c->raw.p, c->raw.len, md, 0) != 0) {
			nfailed++;
			continue;
		}
		for (int i = 0; i < 32; i++)
			xor_fp[i] ^= md[i];
		na = tkey_x509(&c->valid_to);
		if (na < k_now)
			nexpired++;
		else if (na < k_30d)
			nexpiring++;
		ncerts++;
	}
	mbedtls_x509_crt_free(&chain);
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F)
		do_file(path);
	else if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "mbedtls-loop: cannot read %s\n", path);
		nio++;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double t0, t1;
	int strict = 0, a = 1;
	time_t now = time(NULL), later = now + 30 * 86400;
	struct tm tm;
	char ebuf[160] = "none";

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("%s\n", MBEDTLS_VERSION_STRING);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--strict")) {
		strict = 1;
		a++;
	}
	if (a >= argc || !strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
		fprintf(a >= argc ? stderr : stdout,
			"usage: peer_mbedtls_loop [--strict] DIR|FILE...   or   ... - < filelist\n"
			"       peer_mbedtls_loop --version\n");
		return a >= argc ? 2 : 0;
	}
	gmtime_r(&now, &tm);
	k_now = tkey_tm(&tm);
	gmtime_r(&later, &tm);
	k_30d = tkey_tm(&tm);

	t0 = now_s();
	for (; a < argc; a++) {
		struct stat st;
		if (!strcmp(argv[a], "-")) {
			char *line = NULL;
			size_t cap = 0;
			ssize_t n;
			while ((n = getline(&line, &cap, stdin)) > 0) {
				if (line[n - 1] == '\n')
					line[--n] = '\0';
				if (n)
					do_file(line);
			}
			free(line);
		} else if (stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (nftw(argv[a], walk_cb, 64, FTW_PHYS) != 0) {
				fprintf(stderr, "mbedtls-loop: walking %s: %s\n", argv[a], strerror(errno));
				nio++;
			}
		} else {
			do_file(argv[a]);
		}
	}
	t1 = now_s();

	if (first_error) {
		mbedtls_strerror(first_error, ebuf, sizeof(ebuf));
		for (char *p = ebuf; *p; p++)
			if (*p == ' ')
				*p = '_';
	}
	printf("tool=mbedtls-loop lib=%s files=%llu certs=%llu failed=%llu failed_files=%llu "
	       "io_errors=%llu expired=%llu expiring_30d=%llu seconds=%.3f xor=",
	       MBEDTLS_VERSION_STRING, nfiles, ncerts, nfailed, nfailed_files, nio, nexpired, nexpiring,
	       t1 - t0);
	for (int i = 0; i < 8; i++)
		printf("%02x", xor_fp[i]);
	printf(" first_error=%s\n", ebuf);
	if (nio || (strict && nfailed))
		return 1;
	return 0;
}
