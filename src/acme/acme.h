/*
 * An ACME client (RFC 8555) over libcurl and OpenSSL, with External
 * Account Binding, key rollover, revocation, account deactivation,
 * alternate-chain selection and ACME Renewal Information (RFC 9773).
 *
 * Blocking. One struct cl_acme belongs to one thread at a time (it holds
 * a libcurl handle, the replay nonce and the last error); run several
 * clients for several threads. Solvers (below) may be shared between
 * clients and threads: their present/cleanup callbacks are thread safe.
 *
 * Errors: every function returns CL_OK or a negative CL_ERR_*; after a
 * failure cl_acme_get0_error() names the step and what went wrong, e.g.
 *   finalize order https://ca/finalize/1: urn:ietf:params:acme:error:badCSR:
 *   CSR names do not match the order (HTTP 400)
 * and cl_acme_get0_problem() holds the CA's problem document, if it sent
 * one. Everything quoted from the CA is sanitised (no control characters,
 * valid UTF-8, length-capped).
 *
 * A typical issuance:
 *   cl_acme_new(&a, "https://ca/directory", &opts);
 *   cl_acme_key_load_or_new(&key, "account.key", CL_ACME_KEY_EC256, NULL);
 *   cl_acme_set1_account_key(a, key);
 *   cl_acme_account(a, &(struct cl_acme_account_req){ .agree_tos = true }, NULL);
 *   cl_acme_solver_http_standalone(&s, "0.0.0.0", 80, err, sizeof err);
 *   cl_acme_issue(a, &(struct cl_acme_issue_req){ .ids = ids, .nids = n,
 *                 .solvers = &s, .nsolvers = 1 }, &cert);
 *   ... cert.pem, cert.key ...
 *   cl_acme_cert_clear(&cert); cl_acme_solver_free(s); cl_acme_free(a);
 */
#ifndef CL_ACME_H
#define CL_ACME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "core/cl.h"

/* Hard caps on what is read from a CA. */
#define CL_ACME_MAX_BODY (1u << 20)      /* one response body */
#define CL_ACME_MAX_IDS 100              /* identifiers in one order */

struct cl_acme;

struct cl_acme_opts {
	const char *ca_bundle;     /* PEM file of anchors for the CA's TLS; NULL: system */
	long timeout_ms;           /* per HTTP request; 0: 30000 */
	const char *user_agent;    /* NULL: "certledger/" CL_VERSION */
	int bad_nonce_retries;     /* retries of a request the CA answered badNonce;
	                              0: 16, negative: none */
	volatile sig_atomic_t *stop;  /* set asynchronously to give up (may be NULL):
	                              the call returns CL_ERR_INTERRUPTED */
};

/*
 * Creates a client for the directory at dir_url (https only; the
 * directory is fetched on first use). opts may be NULL; its strings are
 * copied. Returns CL_OK, CL_ERR_USAGE (not an https URL) or CL_ERR_NOMEM;
 * free *out with cl_acme_free.
 */
int cl_acme_new(struct cl_acme **out, const char *dir_url, const struct cl_acme_opts *opts);
/* Frees the client (its key reference, handle and state); NULL is ignored. */
void cl_acme_free(struct cl_acme *a);

/* The last failure's description ("" when none); valid until the next call on a. */
const char *cl_acme_get0_error(const struct cl_acme *a);

enum cl_acme_id_type { CL_ACME_ID_DNS, CL_ACME_ID_IP };

/* An identifier. In requests value is borrowed; in objects parsed from the
 * CA (orders, authorizations) it is owned by that object. */
struct cl_acme_ident {
	enum cl_acme_id_type type;
	const char *value;          /* "example.com", "*.example.com", "192.0.2.1", "2001:db8::1" */
};

struct cl_acme_subproblem {
	char *type;                 /* "urn:ietf:params:acme:error:rejectedIdentifier" */
	char *detail;
	struct cl_acme_ident id;    /* value NULL when the subproblem names none */
};

/* A problem document (RFC 7807 / RFC 8555 section 6.7), sanitised. */
struct cl_acme_problem {
	char *type;                 /* "" when the CA sent none */
	char *detail;               /* "" when the CA sent none */
	int status;                 /* the document's "status", else the HTTP status */
	struct cl_acme_subproblem *sub;
	size_t nsub;
};

/* The problem document of the last failure, or NULL when it had none.
 * Valid until the next call on a. */
const struct cl_acme_problem *cl_acme_get0_problem(const struct cl_acme *a);

/* How many badNonce answers this client has retried (RFC 8555 6.5). */
unsigned long cl_acme_bad_nonces(const struct cl_acme *a);

/* true when the last failure's problem type is urn:ietf:params:acme:error:NAME. */
bool cl_acme_problem_is(const struct cl_acme *a, const char *name);

/*
 * Fetches the directory (done implicitly by every call that needs it).
 * Returns CL_OK, CL_ERR_IO (transport), CL_ERR_PARSE (not a directory).
 */
int cl_acme_directory(struct cl_acme *a);
/* From the directory: the terms-of-service URL (NULL when none), whether
 * an External Account Binding is required, whether renewalInfo (ARI) is
 * offered. Call after cl_acme_directory. */
const char *cl_acme_get0_tos(const struct cl_acme *a);
bool cl_acme_eab_required(const struct cl_acme *a);
bool cl_acme_has_ari(const struct cl_acme *a);

/* ------------------------------------------------------------------ keys --- */

enum cl_acme_keytype {
	CL_ACME_KEY_EC256,          /* ECDSA P-256 (ES256): the default */
	CL_ACME_KEY_EC384,          /* ECDSA P-384 (ES384) */
	CL_ACME_KEY_RSA2048,        /* RSA (RS256) */
	CL_ACME_KEY_RSA3072,
	CL_ACME_KEY_RSA4096,
};

/* Parses "ec256" (also "p256", "ecdsa"), "ec384" ("p384"), "rsa2048"
 * ("rsa"), "rsa3072", "rsa4096". Returns CL_OK or CL_ERR_USAGE. */
int cl_acme_keytype_parse(const char *s, enum cl_acme_keytype *out);

/* Generates a key. Returns CL_OK or CL_ERR; free with EVP_PKEY_free. */
int cl_acme_key_new(EVP_PKEY **out, enum cl_acme_keytype t);

/*
 * Reads an unencrypted PEM private key (PKCS#8 or traditional; EC P-256,
 * P-384 or RSA >= 2048 bits). Returns CL_OK, CL_ERR_IO, CL_ERR_PARSE or
 * CL_ERR_UNSUPPORTED (another algorithm); the file's bytes are wiped.
 */
int cl_acme_key_load(EVP_PKEY **out, const char *path);

/* Writes key as PKCS#8 PEM with cl_write_file_atomic, mode 0600.
 * Returns CL_OK, CL_ERR_IO (errno set) or CL_ERR. */
int cl_acme_key_save(EVP_PKEY *key, const char *path);

/*
 * Loads path, or when it does not exist generates a key of type t and
 * saves it there (0600, atomically); *created (may be NULL) tells which.
 * Returns as cl_acme_key_load / cl_acme_key_save.
 */
int cl_acme_key_load_or_new(EVP_PKEY **out, const char *path, enum cl_acme_keytype t,
                            bool *created);

/*
 * A DER CSR for the identifiers, signed by key (SHA-256; SHA-384 for
 * P-384): subjectAltName holds every identifier, the subject CN the first
 * DNS name when it fits 64 characters. Returns CL_OK, CL_ERR_USAGE (a bad
 * identifier) or CL_ERR; *der is freed with OPENSSL_free.
 */
int cl_acme_csr_new(EVP_PKEY *key, const struct cl_acme_ident *ids, size_t nids,
                    unsigned char **der, size_t *len);

/* --------------------------------------------------------------- account --- */

/* Sets the account key (takes a new reference; the client's own is
 * released). Forgets the account URL when the key changes. */
int cl_acme_set1_account_key(struct cl_acme *a, EVP_PKEY *key);

/* The account URL once known (cl_acme_account), else NULL. */
const char *cl_acme_get0_account_url(const struct cl_acme *a);

struct cl_acme_account_req {
	const char *const *contact; /* "mailto:ops@example.com" (a bare address gets mailto:) */
	size_t ncontact;
	bool agree_tos;             /* termsOfServiceAgreed */
	bool only_existing;         /* find the key's account, never create one */
	const char *eab_kid;        /* External Account Binding key id */
	const char *eab_hmac_key;   /* its MAC key, base64url (HS256) */
};

/*
 * Registers the account key (set before) with the CA, or finds the
 * account it already has (RFC 8555 7.3, 7.3.1; a CA answers an existing
 * key with its account). *created (may be NULL) is true when a new
 * account was made. Returns CL_OK; CL_ERR_NOTFOUND with only_existing and
 * no account; CL_ERR_USAGE (no key, bad contact or EAB key); CL_ERR (the
 * CA refused: see the problem); CL_ERR_IO; CL_ERR_PARSE.
 */
int cl_acme_account(struct cl_acme *a, const struct cl_acme_account_req *req, bool *created);

/*
 * Rolls the account over to new_key (RFC 8555 7.3.5). On success the
 * client signs with new_key (a new reference is taken). The account must
 * be known (cl_acme_account). Returns CL_OK or an error code.
 */
int cl_acme_key_change(struct cl_acme *a, EVP_PKEY *new_key);

/* Deactivates the account (RFC 8555 7.3.6); the CA refuses it ever after. */
int cl_acme_deactivate_account(struct cl_acme *a);

/* --------------------------------------------------------------- solvers --- */

enum cl_acme_chall_type { CL_ACME_HTTP01, CL_ACME_DNS01, CL_ACME_TLSALPN01, CL_ACME_CHALL_OTHER };

/* "http-01", "dns-01", "tls-alpn-01"; "other". */
const char *cl_acme_chall_name(enum cl_acme_chall_type t);

/* What a solver is asked to put in place for one challenge. */
struct cl_acme_chall {
	enum cl_acme_chall_type type;
	enum cl_acme_id_type id_type;
	const char *identifier;     /* the name without "*." (or the IP address) */
	bool wildcard;              /* the order asked for "*." identifier */
	const char *token;          /* base64url, checked */
	const char *key_authz;      /* token "." base64url(JWK thumbprint) */
	const char *txt_name;       /* dns-01: "_acme-challenge." identifier */
	const char *txt_value;      /* dns-01: base64url(SHA-256(key_authz)) */
	unsigned char digest[32];   /* SHA-256(key_authz), for tls-alpn-01 */
};

/*
 * A solver is a const table of callbacks and its state (style: like the
 * notifiers and scanner probes). present() makes the response available
 * (CL_OK) or explains in err why not; cleanup() removes it (best effort).
 * Both may be called from several threads at once.
 */
struct cl_acme_solver_ops {
	const char *name;           /* "http-01 standalone", shown in errors */
	enum cl_acme_chall_type type;
	int (*present)(void *state, const struct cl_acme_chall *c, char *err, size_t errlen);
	void (*cleanup)(void *state, const struct cl_acme_chall *c);
	void (*free)(void *state);  /* may be NULL */
	unsigned (*port)(const void *state);   /* the port listened on; may be NULL */
};

struct cl_acme_solver {
	const struct cl_acme_solver_ops *ops;
	void *state;
};

/* Frees a solver made by one of the constructors below (stops its
 * listener). NULL is ignored. */
void cl_acme_solver_free(struct cl_acme_solver *s);

/*
 * HTTP-01 standalone: a libevent HTTP server in its own thread on
 * addr:port (port 0: any; see cl_acme_solver_port), answering
 * GET /.well-known/acme-challenge/TOKEN for the tokens presented.
 * Returns CL_OK, CL_ERR_IO (cannot bind: err says why) or CL_ERR_NOMEM.
 */
int cl_acme_solver_http_standalone(struct cl_acme_solver **out, const char *addr,
                                   unsigned port, char *err, size_t errlen);

/* HTTP-01 into a web root: WEBROOT/.well-known/acme-challenge/TOKEN is
 * written atomically (0644, directories made 0755) and removed on cleanup. */
int cl_acme_solver_http_webroot(struct cl_acme_solver **out, const char *webroot);

/*
 * TLS-ALPN-01 standalone (RFC 8737): a TLS listener in its own thread on
 * addr:port answering ALPN "acme-tls/1" with a self-signed certificate for
 * the name in SNI carrying the critical acmeIdentifier extension.
 */
int cl_acme_solver_tlsalpn_standalone(struct cl_acme_solver **out, const char *addr,
                                      unsigned port, char *err, size_t errlen);

/* The TCP port a standalone solver listens on (after port 0), else 0. */
unsigned cl_acme_solver_port(const struct cl_acme_solver *s);

/*
 * DNS-01 through a hook command (docs/acme.md has the contract): run as
 *   HOOK present|cleanup DOMAIN TOKEN VALUE
 * started with posix_spawnp and an argv array (never a shell); DOMAIN is
 * the name without "*." (LDH labels, checked), VALUE the TXT value
 * (base64url, checked); stdin is /dev/null; timeout_s (0: 120) to finish,
 * then its process group is killed; exit status 0 means done.
 */
int cl_acme_solver_dns_hook(struct cl_acme_solver **out, const char *hook, int timeout_s);

/* DNS-01 by RFC 2136 dynamic update, TSIG-signed (RFC 8945). */
struct cl_acme_rfc2136 {
	const char *server;         /* IPv4 or IPv6 address of the primary */
	unsigned port;              /* 0: 53 */
	const char *zone;           /* the zone the records go into, e.g. "example.com" */
	const char *tsig_name;      /* key name; NULL: unsigned updates */
	const char *tsig_alg;       /* "hmac-sha256" (default), "hmac-sha384", "hmac-sha512" */
	const char *tsig_secret;    /* the key, base64 as in a BIND key file */
	unsigned ttl;               /* 0: 60 */
	int timeout_s;              /* per update; 0: 10 */
};

/* Checks cfg (copied). Returns CL_OK or CL_ERR_USAGE with err set. */
int cl_acme_solver_dns_rfc2136(struct cl_acme_solver **out, const struct cl_acme_rfc2136 *cfg,
                               char *err, size_t errlen);

/* ---------------------------------------------------------------- orders --- */

enum cl_acme_status {
	CL_ACME_ST_UNKNOWN, CL_ACME_ST_PENDING, CL_ACME_ST_READY, CL_ACME_ST_PROCESSING,
	CL_ACME_ST_VALID, CL_ACME_ST_INVALID, CL_ACME_ST_DEACTIVATED, CL_ACME_ST_EXPIRED,
	CL_ACME_ST_REVOKED,
};

/* The RFC's name of a status ("pending", ...; "unknown"). */
const char *cl_acme_status_name(enum cl_acme_status s);

struct cl_acme_order {
	char *url;
	enum cl_acme_status status;
	int64_t expires;            /* 0 when absent */
	struct cl_acme_ident *ids;
	size_t nids;
	char **authz;               /* authorization URLs */
	size_t nauthz;
	char *finalize;
	char *certificate;          /* once valid */
	struct cl_acme_problem *error;   /* why the order is invalid, or NULL */
};
/* Frees an order and every string it owns; NULL is ignored. */
void cl_acme_order_free(struct cl_acme_order *o);

struct cl_acme_challenge {
	enum cl_acme_chall_type type;
	char *url;
	char *token;                /* NULL when absent or not base64url */
	enum cl_acme_status status;
	struct cl_acme_problem *error;
};

struct cl_acme_authz {
	char *url;
	enum cl_acme_status status;
	struct cl_acme_ident id;    /* value without "*." (RFC 8555 7.1.4) */
	bool wildcard;
	int64_t expires;
	struct cl_acme_challenge *ch;
	size_t nch;
};
/* Frees an authorization and its challenges; NULL is ignored. */
void cl_acme_authz_free(struct cl_acme_authz *z);

struct cl_acme_issue_req {
	const struct cl_acme_ident *ids;
	size_t nids;
	int64_t not_before, not_after;  /* Unix seconds; 0: not requested */
	const char *replaces;       /* ARI CertID of the certificate this replaces, or NULL */
	EVP_PKEY *key;              /* the certificate key (borrowed); NULL: make one */
	enum cl_acme_keytype key_type;   /* ... of this type */
	const unsigned char *csr_der;    /* or a CSR of one's own (key is then ignored) */
	size_t csr_len;
	struct cl_acme_solver *const *solvers;  /* by preference */
	size_t nsolvers;
	const char *preferred_chain;     /* issuer CN of the chain's topmost certificate */
	int timeout_s;              /* for validation and issuance; 0: 300 */
};

struct cl_acme_cert {
	char *pem;                  /* the chain as served, leaf first */
	size_t pem_len;
	EVP_PKEY *key;              /* the certificate's key; NULL with a CSR of one's own */
	char *order_url;
	char *cert_url;             /* of the chain kept */
	bool chain_matched;         /* preferred_chain was found (false: default kept) */
};
/* Frees what c holds (the key reference too) and zeroes it. */
void cl_acme_cert_clear(struct cl_acme_cert *c);

/*
 * The whole issuance: new order, authorizations (challenges chosen by the
 * order of req->solvers, every response presented before the first is
 * answered, then polled with Retry-After until valid or the deadline),
 * cleanup, finalize with a CSR, poll, download, pick the preferred chain.
 * The leaf's key must be the CSR's. Returns CL_OK and fills *out (clear
 * it with cl_acme_cert_clear), or an error code (out is left empty).
 */
int cl_acme_issue(struct cl_acme *a, const struct cl_acme_issue_req *req, struct cl_acme_cert *out);

/* The steps of cl_acme_issue, for callers that drive an order themselves. */
/* Creates an order for req's ids (and not_before/not_after/replaces). */
int cl_acme_order_new(struct cl_acme *a, const struct cl_acme_issue_req *req,
                      struct cl_acme_order **out);
/* Fetches an order or authorization (POST-as-GET). */
int cl_acme_order_get(struct cl_acme *a, const char *url, struct cl_acme_order **out);
int cl_acme_authz_get(struct cl_acme *a, const char *url, struct cl_acme_authz **out);
/* Validates every authorization of o that is not valid yet, with solvers. */
int cl_acme_authorize(struct cl_acme *a, const struct cl_acme_order *o,
                      struct cl_acme_solver *const *solvers, size_t nsolvers, int timeout_s);
/* Finalizes *o with the CSR and polls until the certificate is ready;
 * *o is replaced by the final state. */
int cl_acme_finalize(struct cl_acme *a, struct cl_acme_order **o, const unsigned char *csr,
                     size_t csr_len, int timeout_s);
/*
 * Downloads the certificate chain at url; with preferred (an issuer CN)
 * the alternates (Link rel="alternate") are tried until one's topmost
 * certificate was issued by that name. *pem is freed with free().
 */
int cl_acme_download(struct cl_acme *a, const char *url, const char *preferred, char **pem,
                     size_t *len, char **chosen_url, bool *matched);

/* ------------------------------------------------------------ revocation --- */

/*
 * Revokes the DER certificate (RFC 8555 7.6), signed by the account key
 * (cert_key NULL; the account must be known) or by the certificate's own
 * key. reason is an RFC 5280 CRLReason code, or -1 to send none.
 */
int cl_acme_revoke(struct cl_acme *a, const unsigned char *der, size_t len, int reason,
                   EVP_PKEY *cert_key);

/* ---------------------------------------------------------------- ARI ------ */

/*
 * The RFC 9773 CertID of a DER certificate: base64url(AKI keyIdentifier)
 * "." base64url(serial number's DER content octets). Returns CL_OK with
 * *out to free(), CL_ERR_PARSE (not a certificate) or CL_ERR_NOTFOUND
 * (no Authority Key Identifier keyIdentifier).
 */
int cl_acme_cert_id(const unsigned char *der, size_t len, char **out);

struct cl_acme_renewal_info {
	int64_t start, end;         /* suggestedWindow, Unix seconds */
	char *explanation_url;      /* NULL when absent */
	int64_t retry_after;        /* seconds until asking again (Retry-After; 0: none) */
};

/*
 * Asks the CA's renewalInfo resource about a DER certificate. Returns
 * CL_OK and fills *out (free explanation_url), CL_ERR_UNSUPPORTED when
 * the directory offers no renewalInfo, or an error code.
 */
int cl_acme_renewal_info(struct cl_acme *a, const unsigned char *der, size_t len,
                         struct cl_acme_renewal_info *out);

#endif
