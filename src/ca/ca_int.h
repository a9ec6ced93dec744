/*
 * Internals of the CA module (src/ca), shared by its files only.
 */
#ifndef CL_CA_INT_H
#define CL_CA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>
#include "ca/ca.h"

/* Backdating of notBefore, for clocks slightly behind ours. */
#define CA_BACKDATE 300
/* Files of a CA directory. */
#define CA_ROOT_PEM "root.pem"
#define CA_ROOT_KEY "root.key"
#define CA_INT_PEM "intermediate.pem"
#define CA_INT_KEY "intermediate.key"
#define CA_POLICY "ca.json"
#define CA_DB "ca.db"
/* Largest file of a CA directory read back (certificates, keys, policy). */
#define CA_MAX_FILE (256 * 1024)

/* An address block: addr/len bytes under mask (len 4 or 16). */
struct cl_ca_ipnet {
	unsigned char addr[16], mask[16];
	int len;
};

/* Name constraints, as the intermediate carries them. */
struct cl_ca_nc {
	char **pdns, **xdns;       /* lowercase, as in the certificate */
	size_t npdns, nxdns;
	struct cl_ca_ipnet *pip, *xip;
	size_t npip, nxip;
	char **pip_txt, **xip_txt; /* the same as CIDR text */
};

struct cl_ca {
	struct cl_ca_info info;
	char *dir;
	char *key_type;
	char *crl_url, *issuer_url;
	struct cl_ca_nc nc;
	X509 *root, *inter;
	char *root_pem, *int_pem;
	EVP_PKEY *int_key, *root_key;  /* NULL unless loaded */
	const EVP_MD *md;              /* digest the CA keys sign with */
	X509_NAME *issuer;             /* the intermediate's subject, encoded once */
	NAME_CONSTRAINTS *nc_ext;      /* the intermediate's extension, or NULL */
	/* extensions shared by every leaf (copied into each) */
	X509_EXTENSION *x_bc, *x_ku_sig, *x_ku_rsa, *x_eku, *x_eku_client, *x_aki,
	               *x_cdp, *x_aia;
	sqlite3 *db;
	pthread_mutex_t lock;          /* serialises every use of db */
	/* group commit of issued certificates (index.c) */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_cond;
	struct cl_ca_pending *gc_head, **gc_tail;
	bool gc_leader;                /* a thread is committing a group */
};

/* A certificate waiting for its index commit (on the issuing thread's stack). */
struct cl_ca_pending {
	const struct cl_ca_entry *e;
	const unsigned char *der;
	size_t der_len;
	bool done, dup;
	int rc;
	char *err;
	size_t errlen;
	struct cl_ca_pending *next;
};

/* ---- names.c ------------------------------------------------------------------- */

/*
 * Writes s into out (size outlen) for an error message: bytes outside
 * printable ASCII as \xNN, at most about 80 characters. Returns out.
 */
const char *cl_ca_vis(const char *s, char *out, size_t outlen);

/*
 * Checks and lowercases a DNS name into out (size >= 254): LDH labels of
 * 1-63 characters, 253 at most in all, no trailing dot; a name may start
 * with the wildcard label "*.", a constraint (as_constraint) with ".".
 * Returns CL_OK, or CL_ERR_USAGE with the reason in err.
 */
int cl_ca_dns_norm(const char *in, bool as_constraint, char *out, size_t outlen, char *err,
                   size_t errlen);

/* Parses an IPv4 or IPv6 address into addr (4 or 16 bytes, *len). CL_OK or CL_ERR_USAGE. */
int cl_ca_ip_parse(const char *in, unsigned char addr[16], int *len);

/* Parses "ADDR/PREFIX" (or a bare address) with no host bits set. CL_OK or CL_ERR_USAGE. */
int cl_ca_cidr_parse(const char *in, struct cl_ca_ipnet *net, char *err, size_t errlen);

/* Formats a block as CIDR text ("10.0.0.0/8"); out size >= 64. Returns out. */
const char *cl_ca_cidr_fmt(const struct cl_ca_ipnet *net, char *out, size_t outlen);

/* RFC 5280 dNSName subtree match (name and constraint already normalised). */
bool cl_ca_dns_within(const char *name, const char *constraint);

/* True when the address lies in the block (same family). */
bool cl_ca_ip_within(const unsigned char *addr, int len, const struct cl_ca_ipnet *net);

/*
 * Checks normalised DNS names and addresses against nc. Returns CL_OK, or
 * CL_ERR_USAGE with a message naming the first offending name and the
 * constraint it breaks.
 */
int cl_ca_nc_check(const struct cl_ca_nc *nc, char *const *dns, size_t ndns,
                   const unsigned char (*ip)[16], const int *iplen, size_t nip,
                   char *err, size_t errlen);

/* Frees the lists of nc and zeroes it. */
void cl_ca_nc_free(struct cl_ca_nc *nc);

/*
 * Fills nc from an X.509 NAME_CONSTRAINTS (dNSName and iPAddress subtrees;
 * other types are ignored: the CA issues no such names). CL_OK or
 * CL_ERR_NOMEM / CL_ERR_PARSE.
 */
int cl_ca_nc_from_ext(struct cl_ca_nc *nc, const NAME_CONSTRAINTS *ext);

/*
 * Builds the NAME_CONSTRAINTS extension value for the given lists
 * (validated here). *out is NULL when every list is empty. CL_OK,
 * CL_ERR_USAGE (with err) or CL_ERR_NOMEM.
 */
int cl_ca_nc_build(const struct cl_ca_init_opts *o, NAME_CONSTRAINTS **out, char *err,
                   size_t errlen);

/* ---- keys.c -------------------------------------------------------------------- */

struct cl_ca_keyspec {
	bool rsa;
	int bits;            /* RSA */
	const char *group;   /* EC: "P-256", "P-384" */
	char name[16];       /* normalised: "ec:P-256", "rsa:3072" */
};

/* Parses "ec:P-256", "ec:P-384", "ec", "rsa:BITS" (2048..4096), "rsa". CL_OK or CL_ERR_USAGE. */
int cl_ca_keyspec_parse(const char *s, struct cl_ca_keyspec *ks, char *err, size_t errlen);

/* Generates a key pair. CL_OK or CL_ERR (reason in err). */
int cl_ca_key_gen(const struct cl_ca_keyspec *ks, EVP_PKEY **out, char *err, size_t errlen);

/* The digest a key of this kind signs certificates with (SHA-384 for P-384). */
const EVP_MD *cl_ca_key_md(const EVP_PKEY *k);

/*
 * Describes a public key ("EC P-256", "RSA 2048", "Ed25519") into out and
 * checks it is acceptable for a leaf: RSA 2048..16384, EC P-256/P-384/
 * P-521, Ed25519, Ed448. CL_OK or CL_ERR_USAGE (reason in err).
 */
int cl_ca_key_check(EVP_PKEY *k, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Encodes a private key as PKCS#8 PEM, encrypted under passphrase
 * (scrypt + AES-256-CBC) unless passphrase is NULL. *pem is NUL
 * terminated, *len its length; free with cl_ca_secret_free(*pem, *len).
 */
int cl_ca_key_pem(EVP_PKEY *k, const char *passphrase, char **pem, size_t *len);

/* Wipes and frees a secret buffer of len bytes (NULL allowed). */
void cl_ca_secret_free(char *p, size_t len);

/*
 * Loads the private key of dir/name with passphrase (NULL allowed).
 * Refuses a file readable by group or others. *encrypted tells whether it
 * was encrypted. CL_OK, CL_ERR_LOCKED, CL_ERR_PASSWORD, CL_ERR_IO,
 * CL_ERR_PARSE, with err.
 */
int cl_ca_key_load(const char *dir, const char *name, const char *passphrase, EVP_PKEY **out,
                   bool *encrypted, char *err, size_t errlen);

/* Fills 16 bytes of serial: random, top byte in 0x40..0x7f (positive, 16 bytes). */
int cl_ca_serial_rand(ASN1_INTEGER **out);

/* Lowercase hex of an ASN1_INTEGER's content into out (size >= 41). */
int cl_ca_serial_hex(const ASN1_INTEGER *a, char *out, size_t outlen);

/* PEM of one certificate into a new string. NULL on failure. */
char *cl_ca_cert_pem(X509 *x);

/* Copies the reason from OpenSSL's error queue as ": reason" (or "") into buf. */
const char *cl_ca_ossl(char *buf, size_t len);

/* ---- index.c ------------------------------------------------------------------- */

/* Creates the index at path (schema, WAL). CL_OK or CL_ERR_IO with err. */
int cl_ca_db_create(const char *path, char *err, size_t errlen);

/* Opens an existing index. CL_OK, CL_ERR_NOTFOUND, CL_ERR_SCHEMA, CL_ERR_IO. */
int cl_ca_db_open(const char *path, sqlite3 **out, char *err, size_t errlen);

/*
 * Records an issued certificate, committed before this returns; *dup is
 * set (and nothing recorded) when the serial is already in the index.
 * Concurrent callers are committed together: the first becomes the
 * leader and inserts every queued certificate in one transaction (one
 * fsync for the group) while the others wait. Locks ca->gc_lock, then
 * ca->lock.
 */
int cl_ca_db_insert(struct cl_ca *ca, const struct cl_ca_entry *e, const unsigned char *der,
                    size_t der_len, bool *dup, char *err, size_t errlen);

/* See cl_ca_revoke (serial normalised). Locks ca->lock. */
int cl_ca_db_revoke(struct cl_ca *ca, const char *serial, int reason, int64_t when,
                    bool *already, char *err, size_t errlen);

/* One revoked certificate for a CRL. */
struct cl_ca_crl_ent {
	unsigned char serial[20];
	size_t len;
	int64_t revoked_at;
	int reason;
};

/*
 * In one transaction: takes the next CRL number of the issuer (root or
 * intermediate) and, for the intermediate, the revoked certificates not
 * expired at now (*ents: free()). Locks ca->lock.
 */
int cl_ca_db_crl(struct cl_ca *ca, bool root, int64_t now, long *number,
                 struct cl_ca_crl_ent **ents, size_t *nents, char *err, size_t errlen);

#endif
