/*
 * Chain verification for scanned endpoints: OpenSSL's verifier against a
 * trust store, with every problem collected (not just the first) and
 * classified into the names the inventory uses: expired, not-yet-valid,
 * self-signed, untrusted-root, incomplete-chain, wrong-order,
 * hostname-mismatch, weak-signature (ok when none; error otherwise).
 */
#ifndef CL_DISCOVER_VERIFY_H
#define CL_DISCOVER_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "x509/cert.h"

struct cl_verifier;

/*
 * Loads the trust anchors from ca_bundle (PEM file or a directory of
 * hashed certificates), or the system store when NULL. Thread-safe to
 * use from many threads once created.
 */
int cl_verifier_new(struct cl_verifier **out, const char *ca_bundle, char *err, size_t errlen);
void cl_verifier_free(struct cl_verifier *v);

/*
 * Verifies the presented chain (leaf first; x509 and certs describe the
 * same certificates) at time now, checking name against the leaf when
 * not NULL or empty. Returns the primary result ("ok", "expired", ...)
 * and writes "problem,problem: explanation" into detail ("" when ok).
 */
const char *cl_verify_chain(struct cl_verifier *v, STACK_OF(X509) *x509,
                            const struct cl_cert *const *certs, size_t n, const char *name,
                            int64_t now, char *detail, size_t dlen);

#endif
