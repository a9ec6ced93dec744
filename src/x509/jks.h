/*
 * Java KeyStore (JKS, magic 0xFEEDFEED) and JCEKS (0xCECECECE) reader.
 * Only certificates are extracted; private and secret key material is
 * skipped, never decoded.
 *
 * Format (big-endian): magic u32, version u32 (1 or 2), count u32, then
 * count entries: tag u32 (1 private key, 2 trusted certificate, 3 JCEKS
 * secret key), alias (u16 length + modified UTF-8), creation time u64 ms,
 * then for tag 1: u32 length + encrypted key, u32 chain length, each
 * certificate as [version 2: u16 length + type "X.509"] u32 length + DER;
 * tag 2: one such certificate; tag 3: a Java serialized SealedObject.
 * The store ends with a 20-byte SHA-1 over
 * UTF-16BE(password) || "Mighty Aphrodite" || everything before it.
 */
#ifndef CL_X509_JKS_H
#define CL_X509_JKS_H

#include <stdbool.h>
#include "core/cl.h"

enum cl_jks_entry { CL_JKS_PRIVATE_KEY = 1, CL_JKS_TRUSTED_CERT = 2, CL_JKS_SECRET_KEY = 3 };

/*
 * Called once per certificate found. alias is the entry's alias as UTF-8
 * (borrowed, valid during the call); chain_index is 0 for the key's own
 * certificate (or the trusted certificate) and counts up along a private
 * key entry's chain; der/len are borrowed from the input buffer.
 * Return CL_OK to continue, anything else stops the walk and is returned.
 */
typedef int (*cl_jks_cert_cb)(void *arg, const char *alias, enum cl_jks_entry type,
                              int chain_index, const unsigned char *der, size_t len);

/* Returns true when p starts with the JKS or JCEKS magic. */
bool cl_jks_sniff(const unsigned char *p, size_t n);

/*
 * Walks a JKS/JCEKS store in p[0..n). When password is not NULL the
 * trailing integrity digest is verified first.
 * Returns CL_OK; CL_ERR_PASSWORD when the digest does not match the
 * password; CL_ERR_PARSE with *why (static string) on malformed input
 * (certificates reported before the error stay reported); or the first
 * non-OK value returned by cb. *is_jceks is set when not NULL.
 */
int cl_jks_parse(const unsigned char *p, size_t n, const char *password,
                 cl_jks_cert_cb cb, void *arg, bool *is_jceks, const char **why);

#endif
