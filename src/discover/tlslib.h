/*
 * The library context the scanner's TLS clients run in (OpenSSL 3.0).
 *
 * libssl 3.0 parses each certificate a server sends with d2i_X509, and
 * the public key of each goes through a decoder context built from
 * scratch: every key manager and every decoder of the library context is
 * enumerated, and the enumeration walks the whole method store (all the
 * ciphers, digests, ... of every operation used so far). The context here
 * holds one provider, a thin proxy in front of OpenSSL's default provider
 * (loaded privately, run in its own context) that offers only what a TLS
 * client and the chain verification of its certificates use:
 *
 *   - of the 40 decoders, the 12 that read DER SubjectPublicKeyInfo, the
 *     only input a certificate's key decoding feeds them;
 *   - of the 124 ciphers, those libssl can put in a TLS cipher suite;
 *   - of the other operations, the digests of TLS and of certificate
 *     signatures, HMAC, the TLS KDFs, the context's DRBG and seed, the
 *     key managers of every key type a certificate can hold (and HMAC),
 *     the key exchanges, signatures and RSA encryption of TLS: 62
 *     algorithms in the method store where a scan kept 100 (the lists,
 *     and how they were found: tlslib.c);
 *   - the TLS group and signature capabilities, unchanged.
 *
 * Fewer decoders and a smaller method store to walk: 20 % fewer
 * instructions per scanned endpoint than in the default context
 * (callgrind, 1,000 loopback endpoints: 7.9 M -> 6.3 M). Keys decode with
 * the same decoders into the same key managers, and the handshake offers
 * the same: when the context is made, a ClientHello made in it is
 * compared with one made in the default context (suites, versions,
 * groups, signature algorithms, extensions), and the key exchange of each
 * group and the signature algorithm of each sigalg it offers must be
 * there; with a difference the default context is used. So results do
 * not change. Used only where it was measured, OpenSSL 3.0, and only when
 * the process's default context runs the default provider alone: a
 * configuration with the legacy, FIPS or another provider keeps what it
 * configured.
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
