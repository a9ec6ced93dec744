/*
 * Internals of src/manage shared by its files: the issuers behind one
 * interface. Not a public interface: callers use manage/manage.h.
 */
#ifndef CL_MANAGE_INT_H
#define CL_MANAGE_INT_H

#include "manage/manage.h"

/*
 * An Issuer of the spec, opened on first use and shared by the worker
 * threads of one reconcile. Each kind is a const table of callbacks.
 */
struct cl_mg_issuer;

struct cl_mg_issuer_ops {
	const char *kind;           /* "ca", "acme" */
	/* Reads secrets, opens the CA / registers the account, starts solvers. */
	int (*open)(struct cl_mg_issuer *is, char *err, size_t errlen);
	/* Issues a certificate for c into out; key_pem (may be NULL) is the key
	 * to certify (rotationPolicy Never), else a new one is made. replaces
	 * (may be NULL) is the DER of the certificate this one replaces. */
	int (*issue)(struct cl_mg_issuer *is, const struct cl_manage_cert *c, const char *key_pem,
	             const unsigned char *replaces, size_t replaces_len,
	             struct cl_manage_material *out, char *err, size_t errlen);
	/* The CA's suggested renewal window for a certificate (ARI); may be
	 * NULL; CL_ERR_UNSUPPORTED when the CA offers none. */
	int (*window)(struct cl_mg_issuer *is, const unsigned char *der, size_t len,
	              struct cl_manage_window *w, int64_t *retry_after, char *err, size_t errlen);
	/* Revokes m's certificate (RFC 5280 reason code); opens only what it
	 * needs (no solvers). */
	int (*revoke)(struct cl_mg_issuer *is, const struct cl_manage_material *m, int reason,
	              char *err, size_t errlen);
	void (*close)(struct cl_mg_issuer *is);
};

/*
 * Makes the handle of spec's Issuer (nothing is opened yet). state_dir is
 * where ACME account keys go by default; stop may be NULL.
 */
int cl_mg_issuer_new(struct cl_mg_issuer **out, const struct cl_manage_issuer *spec,
                     const char *state_dir, volatile sig_atomic_t *stop);
/* Opens the issuer once; every later call returns the first outcome (and
 * its message). Thread safe. */
int cl_mg_issuer_open(struct cl_mg_issuer *is, char *err, size_t errlen);
/* cl_mg_issuer_open, then the issue callback. Thread safe. */
int cl_mg_issue(struct cl_mg_issuer *is, const struct cl_manage_cert *c, const char *key_pem,
                const unsigned char *replaces, size_t replaces_len,
                struct cl_manage_material *out, char *err, size_t errlen);
/* The window callback (CL_ERR_UNSUPPORTED without one); needs no account. */
int cl_mg_window(struct cl_mg_issuer *is, const unsigned char *der, size_t len,
                 struct cl_manage_window *w, int64_t *retry_after, char *err, size_t errlen);
/* Whether this kind of issuer may have renewal windows (ACME). */
bool cl_mg_has_window(const struct cl_mg_issuer *is);
/* The revoke callback, under the handle's lock. */
int cl_mg_revoke(struct cl_mg_issuer *is, const struct cl_manage_material *m, int reason,
                 char *err, size_t errlen);
/* Closes and frees (stops solvers, wipes keys). NULL allowed. */
void cl_mg_issuer_free(struct cl_mg_issuer *is);

#endif
