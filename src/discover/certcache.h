/*
 * Parsed issuer certificates, shared by the endpoints of a scan that
 * present them: servers behind one CA send the same intermediates, and
 * parsing one (cl_cert_parse_der) costs as much as the rest of a chain
 * thread's work for it but the signature check. The same DER always
 * parses to the same fields, so a certificate parsed once is lent to
 * every later endpoint that presents the same bytes.
 *
 * Entries are never evicted (a lent certificate stays valid until the
 * cache is freed); once the cache holds its maximum, further
 * certificates are parsed as before. Thread-safe.
 */
#ifndef CL_DISCOVER_CERTCACHE_H
#define CL_DISCOVER_CERTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include "x509/cert.h"

struct cl_certcache;

/* A cache holding up to max certificates. Returns CL_OK or CL_ERR_NOMEM. */
int cl_certcache_new(struct cl_certcache **out, size_t max);

/* Frees the cache and its certificates: every lent one becomes invalid.
 * NULL is allowed. */
void cl_certcache_free(struct cl_certcache *cc);

/*
 * Parses the DER certificate der[0..len) as cl_cert_parse_der does (same
 * results and errors). On CL_OK, *out is either lent by the cache
 * (*lent = true: read-only, valid until cl_certcache_free, not to be
 * freed) or new (*lent = false: the caller frees it with cl_cert_free).
 */
int cl_certcache_parse(struct cl_certcache *cc, const unsigned char *der, size_t len,
                       struct cl_cert **out, bool *lent);

#endif
