/*
 * The internal CA: a root and an intermediate for a private PKI, an index
 * of what was issued, revocation and CRLs.
 *
 * A CA lives in one directory (mode 0700):
 *   root.pem, root.key                 the root (self-signed) and its key
 *   intermediate.pem, intermediate.key the issuing CA, signed by the root
 *   ca.json                            the policy: lifetimes, URLs
 *   ca.db                              the index (SQLite, WAL): every
 *                                      certificate issued, revocations,
 *                                      CRL numbers
 * Keys are PKCS#8 PEM, encrypted with AES-256-CBC under a key derived
 * from the passphrase with scrypt (N=2^14, r=8, p=1), or unencrypted when
 * the CA was made without a passphrase; always mode 0600. The root only
 * signs the intermediate and the root's CRL; leaves and their CRL are
 * signed by the intermediate. Name constraints live in the intermediate
 * certificate (critical nameConstraints, enforced by every verifier) and
 * are checked by cl_ca_issue before anything is signed.
 *
 * Nothing here prints: failures return a CL_ERR_* code and a message in
 * err (never a passphrase or key material). Policy refusals (a name
 * outside the constraints, a lifetime above the maximum, a weak key)
 * return CL_ERR_USAGE.
 *
 * Threads: one struct cl_ca may be shared by any number of threads for
 * cl_ca_issue, cl_ca_revoke, cl_ca_crl, cl_ca_list and cl_ca_counts;
 * signing runs in parallel, index updates are serialised by a lock inside
 * the handle, and the index commits of concurrent cl_ca_issue calls are
 * grouped into one transaction. cl_ca_close must not race with other
 * calls. Several processes may use one CA directory (SQLite locking, busy
 * timeout).
 */
#ifndef CL_CA_H
#define CL_CA_H

#include <stdbool.h>
#include <stdint.h>
#include "core/cl.h"

struct cl_ca;
struct evp_pkey_st;
struct x509_st;

/* A list of borrowed strings. */
struct cl_ca_strs {
	const char *const *v;
	size_t n;
};

/* Defaults of cl_ca_init (seconds). */
#define CL_CA_ROOT_LIFETIME (3650 * 86400LL)
#define CL_CA_INT_LIFETIME (1825 * 86400LL)
#define CL_CA_MAX_LEAF_LIFETIME (397 * 86400LL)
#define CL_CA_DEFAULT_LEAF_LIFETIME (90 * 86400LL)

/* Bounds on a CSR given to cl_ca_csr_parse / cl_ca_issue. */
#define CL_CA_MAX_CSR (64 * 1024)
#define CL_CA_MAX_NAMES 100

struct cl_ca_init_opts {
	const char *dir;          /* created (0700); must not exist or be empty */
	const char *key_type;     /* "ec:P-256" (default), "ec:P-384", "rsa:2048".."rsa:4096";
	                             root and intermediate alike */
	const char *org;          /* O= in both CA names; NULL for none */
	const char *root_cn;      /* default "<org or certledger> Root CA" */
	const char *intermediate_cn; /* default "<org or certledger> Intermediate CA" */
	int64_t root_lifetime;    /* seconds; 0 = CL_CA_ROOT_LIFETIME */
	int64_t intermediate_lifetime; /* 0 = CL_CA_INT_LIFETIME; at most the root's */
	int64_t max_leaf_lifetime;     /* 0 = CL_CA_MAX_LEAF_LIFETIME */
	int64_t default_leaf_lifetime; /* 0 = min(CL_CA_DEFAULT_LEAF_LIFETIME, max) */
	struct cl_ca_strs permit_dns;  /* "example.internal" (and its subdomains),
	                                  ".example.internal" (subdomains only) */
	struct cl_ca_strs permit_ip;   /* CIDR: "10.0.0.0/8", "fd00::/8"; an address
	                                  alone is /32 or /128 */
	struct cl_ca_strs exclude_dns;
	struct cl_ca_strs exclude_ip;
	const char *crl_url;      /* http(s) URL put in leaves' CRL distribution point */
	const char *issuer_url;   /* http(s) URL of the intermediate certificate (AIA) */
	const char *passphrase;   /* encrypts both keys; NULL: stored unencrypted */
	int64_t now;              /* 0 = cl_now() */
};

/*
 * Creates a CA in o->dir: two key pairs, the root and the intermediate
 * certificate, the policy and an empty index. Everything is written to a
 * temporary directory beside o->dir, fsync'd, and renamed into place, so
 * a crash leaves either no CA or a complete one. An empty passphrase is
 * refused (pass NULL for unencrypted keys). Returns CL_OK, CL_ERR_USAGE
 * (bad option, directory not empty), CL_ERR_IO or CL_ERR.
 */
int cl_ca_init(const struct cl_ca_init_opts *o, char *err, size_t errlen);

enum cl_ca_open_flags {
	CL_CA_OPEN_NOKEY = 1 << 0, /* no private key: list, counts, lookups only */
	CL_CA_OPEN_ROOT = 1 << 1,  /* also decrypt the root key (root CRL) */
};

/*
 * Opens the CA in dir: certificates, policy, index and (unless
 * CL_CA_OPEN_NOKEY) the intermediate's private key, decrypted with
 * passphrase (NULL when the keys are unencrypted). Checks that each key
 * matches its certificate, that the intermediate chains to the root, and
 * that key files are not readable by group or others.
 * Returns CL_OK and a handle in *out (free with cl_ca_close);
 * CL_ERR_NOTFOUND (no CA there), CL_ERR_LOCKED (encrypted, no
 * passphrase), CL_ERR_PASSWORD (wrong passphrase), CL_ERR_SCHEMA (index
 * from a newer certledger), CL_ERR_BUSY, CL_ERR_IO, CL_ERR_PARSE.
 */
int cl_ca_open(struct cl_ca **out, const char *dir, const char *passphrase, unsigned flags,
               char *err, size_t errlen);

/* Wipes and frees the keys, closes the index. NULL allowed. */
void cl_ca_close(struct cl_ca *ca);

/* The CA's policy and identity, as cl_ca_open read them (borrowed from ca). */
struct cl_ca_info {
	const char *dir;
	const char *key_type;          /* "ec:P-256", ... */
	bool encrypted;                /* keys are encrypted at rest */
	int64_t max_leaf_lifetime, default_leaf_lifetime;
	const char *crl_url, *issuer_url;   /* NULL when not configured */
	struct cl_ca_strs permit_dns, permit_ip, exclude_dns, exclude_ip; /* from the
	                                  intermediate's nameConstraints; IP as CIDR */
	struct x509_st *root, *intermediate; /* borrowed: never modify or free */
	const char *root_pem, *intermediate_pem;
	int64_t intermediate_not_after;
};
const struct cl_ca_info *cl_ca_get0_info(const struct cl_ca *ca);

/* ---- CSRs --------------------------------------------------------------------- */

/* What a certificate signing request asks for (all owned by the struct). */
struct cl_ca_csr {
	struct evp_pkey_st *pkey; /* the requester's public key */
	char *cn;                 /* last commonName of the subject, NULL if none */
	char **dns;               /* subjectAltName dNSName values, as given */
	size_t ndns;
	char **ip;                /* iPAddress values, as text */
	size_t nip;
	char **other;             /* other SAN types, described ("email:a@b") */
	size_t nother;
};

/*
 * Reads a CSR from p[0..n): PEM ("CERTIFICATE REQUEST", text around it
 * allowed) or DER (exactly one element), at most CL_CA_MAX_CSR bytes, and
 * verifies its self-signature. Returns CL_OK and *out (free with
 * cl_ca_csr_free), CL_ERR_PARSE (malformed, bad signature, more than
 * CL_CA_MAX_NAMES names) or CL_ERR_TOOBIG, with the reason in err.
 * Thread safe; needs no CA.
 */
int cl_ca_csr_parse(const unsigned char *p, size_t n, struct cl_ca_csr **out,
                    char *err, size_t errlen);
void cl_ca_csr_free(struct cl_ca_csr *c);

/* ---- issuing ------------------------------------------------------------------ */

struct cl_ca_req {
	const unsigned char *csr; /* PEM or DER; NULL: generate a key pair */
	size_t csr_len;
	const char *key_type;     /* generated key: "ec:P-256" (default), "ec:P-384",
	                             "rsa:2048".."rsa:4096" ("ec", "rsa" alone too) */
	const char *cn;           /* subject CN; NULL: the CSR's CN (unless dns/ip
	                             are given), else the first name */
	struct cl_ca_strs dns;    /* DNS names (a leading "*." label allowed); */
	struct cl_ca_strs ip;     /* IP addresses. When a CSR is given and both are
	                             empty, its subjectAltName is used */
	int64_t lifetime;         /* seconds; 0 = the CA's default. Above the CA's
	                             maximum: refused, never shortened */
	bool client_auth;         /* EKU clientAuth besides serverAuth */
	int64_t now;              /* 0 = cl_now() */
};

struct cl_ca_issued {
	char serial[33];          /* lowercase hex, 32 digits */
	char fingerprint[65];     /* SHA-256 of the DER, lowercase hex */
	int64_t not_before, not_after;
	char *cert_pem;           /* the leaf */
	char *chain_pem;          /* the intermediate (the root is not sent) */
	char *key_pem;            /* generated key (PKCS#8, unencrypted), NULL for a
	                             CSR; wiped by cl_ca_issued_free */
	unsigned char *der;       /* the leaf, DER */
	size_t der_len;
};

/*
 * Issues a leaf certificate signed by the intermediate: subject CN only;
 * subjectAltName with every name (a CN that is a DNS name or an address
 * is added to them); basicConstraints CA:FALSE, keyUsage
 * digitalSignature (+ keyEncipherment for RSA), EKU serverAuth
 * (+ clientAuth), SKI, AKI, CRL distribution point and AIA caIssuers
 * when configured; a random serial (126 random bits, 16 bytes); valid
 * from now - 5 minutes (clock skew) for lifetime seconds.
 * Refused with CL_ERR_USAGE and a message naming the culprit, before
 * anything is signed: an invalid name, a name outside the permitted or
 * inside an excluded subtree, a lifetime above the maximum or beyond the
 * intermediate's expiry, a weak or unknown key type. A bad CSR is
 * CL_ERR_PARSE. The certificate is recorded in the index (committed)
 * before this returns CL_OK; *out is then owned by the caller (free with
 * cl_ca_issued_free). Thread safe (see the top of this file).
 */
int cl_ca_issue(struct cl_ca *ca, const struct cl_ca_req *req, struct cl_ca_issued *out,
                char *err, size_t errlen);

/* Frees what cl_ca_issue put in is (the key wiped) and zeroes it. */
void cl_ca_issued_free(struct cl_ca_issued *is);

/*
 * Deploys is as files: PREFIX.pem (leaf), PREFIX.chain.pem (intermediate),
 * PREFIX.fullchain.pem (leaf + intermediate), all 0644, and PREFIX.key
 * (0600) when is->key_pem is set. Each file is first written in full to
 * a temporary file in the target directory (created 0600, mode set
 * before the first byte, fsync'd); then the certificates are renamed
 * into place, the directory fsync'd, and the key renamed last (and the
 * directory fsync'd): a crash can leave a new certificate beside an old
 * key (issue again), never a key without its certificate. Temporary
 * files are removed on failure. Returns CL_OK or CL_ERR_IO (message
 * naming the file and the reason).
 */
int cl_ca_deploy(const struct cl_ca_issued *is, const char *prefix, char *err, size_t errlen);

/* ---- revocation --------------------------------------------------------------- */

/* CRL reason codes (RFC 5280 5.3.1) that cl_ca_revoke accepts. */
enum cl_ca_reason {
	CL_CA_UNSPECIFIED = 0, CL_CA_KEY_COMPROMISE = 1, CL_CA_CA_COMPROMISE = 2,
	CL_CA_AFFILIATION_CHANGED = 3, CL_CA_SUPERSEDED = 4,
	CL_CA_CESSATION_OF_OPERATION = 5, CL_CA_PRIVILEGE_WITHDRAWN = 9,
};

/* Parses a reason name ("keyCompromise", case-insensitive). CL_OK or CL_ERR_USAGE. */
int cl_ca_reason_parse(const char *s, int *out);
/* The RFC 5280 name of a reason code ("unspecified" when unknown). Static. */
const char *cl_ca_reason_name(int reason);

/*
 * Normalises a serial written as hex (colons allowed, any case, an odd
 * digit count padded) into out (lowercase, size >= 41). CL_OK or
 * CL_ERR_USAGE.
 */
int cl_ca_serial_norm(const char *in, char *out, size_t outlen);

/*
 * Reads a certificate (PEM or DER) and returns its serial in serial
 * (lowercase hex, size >= 41) after checking that this CA's intermediate
 * signed it. CL_ERR_PARSE (not a certificate) or CL_ERR_NOTFOUND (issued
 * by someone else), with err.
 */
int cl_ca_serial_of(struct cl_ca *ca, const unsigned char *p, size_t n, char *serial,
                    size_t seriallen, char *err, size_t errlen);

/*
 * Marks the certificate with this serial (any form cl_ca_serial_norm
 * takes) revoked at `when` (0 = now) for reason. Revoking an already
 * revoked certificate changes nothing and returns CL_OK (*already set
 * when already is not NULL). CL_ERR_NOTFOUND when this CA never issued
 * it, CL_ERR_USAGE for a bad serial or reason.
 */
int cl_ca_revoke(struct cl_ca *ca, const char *serial, int reason, int64_t when,
                 bool *already, char *err, size_t errlen);

/*
 * Makes a CRL (v2, DER): the intermediate's (every revoked certificate
 * not yet expired at now, with its reason; signed by the intermediate)
 * or, with root, the root's (signed by the root; needs
 * CL_CA_OPEN_ROOT; it lists no intermediate, since revoking the
 * intermediate is not supported). thisUpdate now, nextUpdate now +
 * next_update, an AKI and a CRL number that grows by one with every CRL
 * of that issuer (kept in the index). Returns CL_OK and *der (free()) of
 * *len bytes.
 */
int cl_ca_crl(struct cl_ca *ca, bool root, int64_t next_update, int64_t now,
              unsigned char **der, size_t *len, char *err, size_t errlen);

/* ---- the index ---------------------------------------------------------------- */

struct cl_ca_entry {
	const char *serial;       /* lowercase hex */
	const char *fingerprint;  /* SHA-256 hex */
	const char *cn;
	const char *sans;         /* "DNS:a.example,IP:10.0.0.1" */
	const char *key_type;     /* "EC P-256", "RSA 2048" */
	int64_t not_before, not_after, issued_at;
	int64_t revoked_at;       /* 0 when not revoked */
	int reason;               /* when revoked */
};

enum cl_ca_state { CL_CA_ALL, CL_CA_VALID, CL_CA_EXPIRED, CL_CA_REVOKED };

/*
 * Streams index entries, oldest issue first: all, or only those in
 * state (at now; 0 = cl_now()) and/or with serial (NULL: any). Entries
 * are borrowed, valid during the callback; a non-zero callback return
 * stops and is returned. CL_ERR_NOTFOUND when nothing matched.
 */
int cl_ca_list(struct cl_ca *ca, enum cl_ca_state state, const char *serial, int64_t now,
               int (*cb)(void *arg, const struct cl_ca_entry *e), void *arg,
               char *err, size_t errlen);

struct cl_ca_counts {
	long issued, valid, expired, revoked;
	long crl_number, root_crl_number; /* of the last CRLs made, 0 if none */
};
/* Counts the index at now (0 = cl_now()). CL_OK or CL_ERR_BUSY / CL_ERR_IO with err. */
int cl_ca_counts(struct cl_ca *ca, int64_t now, struct cl_ca_counts *c, char *err,
                 size_t errlen);

#endif
