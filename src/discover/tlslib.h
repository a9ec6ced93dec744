/*
 * The library context the scanner's TLS clients run in (OpenSSL 3.0).
 *
 * libssl 3.0 parses each certificate a server sends with d2i_X509, and
 * the public key of each goes through a decoder context built from
 * scratch: every key manager and every decoder of the library context is
 * enumerated, and the enumeration walks the whole method store (all the
 * ciphers, digests, ... of every operation used so far): ~40 % of a
 * scan's instructions. The context here holds one provider, a thin proxy
 * in front of OpenSSL's default provider (loaded privately, run in its
 * own context) that offers
 *
 *   - of the 40 decoders, the 12 that read DER SubjectPublicKeyInfo, the
 *     only input a certificate's key decoding feeds them;
 *   - of the 124 ciphers, those libssl can put in a TLS cipher suite;
 *   - every other algorithm, and the TLS group and signature capabilities,
 *     unchanged.
 *
 * Fewer decoders and a smaller method store to walk: 18 % fewer
 * instructions per scanned endpoint (callgrind, 1,000 loopback endpoints:
 * 7.9 M -> 6.5 M). Keys decode with the same decoders into the same key
 * managers, and the handshake offers the same suites (checked when the
 * context is made: with a difference the default context is used), so
 * results do not change. Used only where it was measured, OpenSSL 3.0,
 * and only when the process's default context runs the default provider
 * alone: a configuration with the legacy, FIPS or another provider keeps
 * what it configured.
 */
#ifndef CL_DISCOVER_TLSLIB_H
#define CL_DISCOVER_TLSLIB_H

#include <openssl/types.h>

/*
 * Returns a reference to the scanner's library context, for
 * SSL_CTX_new_ex, or NULL when the process's default context is to be
 * used (see above; also on failure, which is not an error). Release it
 * with cl_tlslib_put once every object made in it (SSL_CTX, SSL, X509,
 * EVP_PKEY) is freed. Thread-safe; concurrent scans share one context.
 */
OSSL_LIB_CTX *cl_tlslib_get1(void);

/* Releases a reference from cl_tlslib_get1; NULL is ignored. */
void cl_tlslib_put(OSSL_LIB_CTX *lib);

#endif
