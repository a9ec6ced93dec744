/*
 * ROCA (CVE-2017-15361) fingerprint: RSA primes made by the affected
 * Infineon library have the form k*M + (65537^a mod M), M the product of
 * the first primes, so every modulus is, modulo each small prime r of M, a
 * power of 65537. The test (Nemec et al., CCS 2017) checks that for the
 * primes 3..167; the subgroups are computed here rather than tabulated.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/cl.h"
#include "x509/cert.h"

static const unsigned primes[] = {
	3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
	97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
};
#define NPRIMES CL_ARRAY_LEN(primes)

static bool in_group[NPRIMES][168];  /* r mod primes[i] is a power of 65537 */
/* primes grouped so that each group's product stays below 2^48: the
 * modulus is reduced once per group, then per prime */
static uint64_t group_mod[NPRIMES];
static size_t group_of[NPRIMES], ngroups;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	uint64_t prod = 1;
	size_t i;

	for (i = 0; i < NPRIMES; i++) {
		unsigned p = primes[i], g = 65537 % p, x = 1;
		do {
			in_group[i][x] = true;
			x = x * g % p;
		} while (x != 1);
		if (prod * p >= (UINT64_C(1) << 48)) {
			group_mod[ngroups++] = prod;
			prod = 1;
		}
		prod *= p;
		group_of[i] = ngroups;
	}
	group_mod[ngroups++] = prod;
}

bool cl_rsa_roca(const unsigned char *n, size_t len)
{
	uint64_t r[NPRIMES] = { 0 };
	size_t i, g;

	pthread_once(&once, init);
	while (len > 0 && *n == 0) {
		n++;
		len--;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		for (g = 0; g < ngroups; g++)
			r[g] = ((r[g] << 8) | n[i]) % group_mod[g];
	for (i = 0; i < NPRIMES; i++)
		if (!in_group[i][r[group_of[i]] % primes[i]])
			return false;
	return true;
}
