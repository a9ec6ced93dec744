/*
 * Managed certificates as code: a YAML spec of Issuers and Certificates
 * (close to cert-manager's resources), the renewal decision, a crash-safe
 * deployment of each certificate as files, deploy hooks, and one
 * reconcile step that brings the files in line with the spec. The design
 * and its arguments are in docs/managed.md.
 *
 *   spec = cl_manage_spec_load("certs.yaml")
 *   cl_manage_reconcile(store, spec, &opts, &stats)   (apply, renew, serve)
 *   cl_manage_rollback(store, spec, "web", &opts, &stats)
 *
 * Deployment layout, per certificate NAME in its output directory OUT:
 *   OUT/.certledger/NAME/vN/     cert.pem chain.pem fullchain.pem key.pem
 *                                [bundle.p12] meta.json (written last)
 *   OUT/.certledger/NAME/current -> vN      switched with one rename(2)
 *   OUT/<configured name>  -> .certledger/NAME/current/<file>
 * so every configured file changes from the old to the new version in
 * one atomic step, and the previous version stays for rollback.
 *
 * Errors: functions return CL_OK or a negative CL_ERR_* and put a
 * message in err (never a secret's value).
 */
#ifndef CL_MANAGE_H
#define CL_MANAGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/cl.h"

struct cl_store;

#define CL_MANAGE_MAX_SPEC (4u << 20)  /* bytes of one spec file */
#define CL_MANAGE_MAX_CERTS 100000     /* Certificates in one spec */
#define CL_MANAGE_MAX_NAMES 100        /* names in one certificate */
#define CL_MANAGE_MAX_HOOKS 16         /* deploy hooks of one certificate */
#define CL_MANAGE_KEEP 3               /* versions kept: current and two before it */
#define CL_MANAGE_BACKOFF_MIN 3600     /* first retry after a failure (seconds) */
#define CL_MANAGE_BACKOFF_MAX 86400    /* the longest wait between attempts */

/* ---- the spec ------------------------------------------------------------------ */

/* A secret given by reference, never inline: {env: NAME} or {file: PATH}. */
struct cl_manage_secret {
	const char *env;            /* environment variable name, or NULL */
	const char *file;           /* file whose first line is the value, or NULL */
};

enum cl_manage_solver_kind {
	CL_MANAGE_HTTP01_STANDALONE, CL_MANAGE_HTTP01_WEBROOT, CL_MANAGE_DNS01_HOOK,
	CL_MANAGE_TLSALPN01,
};

struct cl_manage_solver {
	enum cl_manage_solver_kind kind;
	const char *addr;           /* standalone listeners: address ("" = any) */
	unsigned port;              /* ... and port */
	const char *webroot;        /* HTTP-01 webroot */
	const char *hook;           /* DNS-01 hook command (run without a shell) */
	int line;
};

struct cl_manage_issuer {
	const char *name;
	int line;                   /* of its document, for messages */
	bool acme;                  /* ACME (else the internal CA) */
	/* internal CA */
	const char *ca_dir;
	struct cl_manage_secret ca_passphrase;   /* both NULL: unencrypted CA */
	/* ACME */
	const char *server;         /* directory URL (https) */
	const char *email;          /* contact, may be NULL */
	const char *eab_kid;        /* External Account Binding, may be NULL */
	struct cl_manage_secret eab_hmac;
	const char *account_key;    /* PEM path; NULL: STATE_DIR/acme/NAME.key */
	const char *ca_bundle;      /* anchors for the server's TLS; NULL: system */
	const char *preferred_chain;
	struct cl_manage_solver *solvers;
	size_t nsolvers;
};

enum cl_manage_keyalg { CL_MANAGE_ECDSA, CL_MANAGE_RSA };

struct cl_manage_output {
	const char *dir;            /* absolute */
	/* file names in dir (plain names); NULL: not written */
	const char *cert, *chain, *fullchain, *key, *pkcs12;
	struct cl_manage_secret pkcs12_password;
	const char *owner, *group;  /* user and group names or ids; NULL: unchanged */
	int mode;                   /* of the key and the PKCS#12 file (certificates
	                               are 0644); default 0600 */
};

struct cl_manage_cert {
	const char *name;           /* [A-Za-z0-9._-], unique in the spec */
	int line;
	const char *common_name;    /* may be NULL */
	const char **dns;           /* normalised to lowercase */
	size_t ndns;
	const char **ip;            /* canonical text form */
	size_t nip;
	const struct cl_manage_issuer *issuer;  /* resolved issuerRef */
	enum cl_manage_keyalg key_alg;
	int key_size;               /* 256/384 (ECDSA), 2048/3072/4096 (RSA) */
	bool rotate_key;            /* rotationPolicy Always (default) */
	int64_t duration;           /* seconds; 0: the issuer decides */
	int64_t renew_before;       /* seconds before expiry; 0: unset */
	int renew_pct;              /* renewBeforePercentage; 0: unset */
	struct cl_manage_output out;
	const char **hooks;         /* deploy hooks (sh -c), in order */
	size_t nhooks;
	int64_t hook_timeout;       /* seconds (default 60) */
	char issue_hash[65];        /* SHA-256 of what the certificate must hold */
	char deploy_hash[65];       /* ... of how it is deployed */
};

struct cl_manage_spec {
	const char *source;         /* the file name given to the parser */
	const char *text;           /* the text parsed (NUL terminated) */
	size_t len;
	struct cl_manage_issuer *issuers;
	size_t nissuers;
	struct cl_manage_cert *certs;
	size_t ncerts;
};

/*
 * Parses a spec: one or more YAML documents (---), each an Issuer (or
 * ClusterIssuer) or a Certificate. Every problem is reported as
 * "NAME:LINE: message" in err: syntax, unknown or duplicate keys (with a
 * suggestion), bad values, duplicate names, an issuerRef naming no Issuer
 * of the spec, two certificates writing the same file. Secrets are only
 * referenced here, read when used. Returns CL_OK and *out (free with
 * cl_manage_spec_free), CL_ERR_PARSE, CL_ERR_TOOBIG or CL_ERR_NOMEM.
 */
int cl_manage_spec_parse(struct cl_manage_spec **out, const char *text, size_t len,
                         const char *name, char *err, size_t errlen);

/* Reads path (at most CL_MANAGE_MAX_SPEC bytes) and parses it; CL_ERR_IO too. */
int cl_manage_spec_load(struct cl_manage_spec **out, const char *path, char *err, size_t errlen);

void cl_manage_spec_free(struct cl_manage_spec *s);

/* The certificate of that name, or NULL. Borrowed from s. */
const struct cl_manage_cert *cl_manage_spec_find(const struct cl_manage_spec *s,
                                                 const char *name);

/*
 * Resolves a secret into a new string (free with cl_manage_secret_free):
 * the variable's value, or the first line of the file. *out is NULL (and
 * CL_OK returned) when the secret is not set at all. CL_ERR_NOTFOUND when
 * the variable is unset or empty or the file unreadable, with err naming
 * the reference, never the value.
 */
int cl_manage_secret_get(const struct cl_manage_secret *sec, char **out, char *err,
                         size_t errlen);
void cl_manage_secret_free(char *s);

/* ---- the renewal decision ------------------------------------------------------ */

/* A renewal window suggested by the CA (ACME ARI, RFC 9773). */
struct cl_manage_window {
	int64_t start, end;
};

/*
 * The instant a certificate valid [not_before, not_after) is due for
 * renewal under c: renewBefore before expiry, or renewBeforePercentage of
 * its lifetime before expiry, else at 2/3 of its lifetime; an ARI window
 * (may be NULL) makes it earlier: a point inside the window chosen from
 * the fingerprint fp (stable between runs, spread between certificates).
 */
int64_t cl_manage_due_at(const struct cl_manage_cert *c, int64_t not_before,
                         int64_t not_after, const struct cl_manage_window *ari,
                         const char *fp);

/* The wait after the n-th consecutive failure (n >= 1): 1h, 2h, 4h, ...,
 * at most CL_MANAGE_BACKOFF_MAX. */
int64_t cl_manage_backoff(int n);

enum cl_manage_action {
	CL_MANAGE_KEEP_CURRENT,     /* nothing to do */
	CL_MANAGE_ISSUE,            /* no certificate yet, or the spec changed what it holds */
	CL_MANAGE_RENEW,            /* due (or forced) */
	CL_MANAGE_REDEPLOY,         /* same certificate, the output changed */
	CL_MANAGE_WAIT,             /* due, but backing off after failures */
};

/* What is deployed now (read from current/meta.json). */
struct cl_manage_deployed {
	bool present;
	int version;
	char fp[65];
	char serial[65];
	char issuer[65];            /* the Issuer's name at the time */
	char issue_hash[65], deploy_hash[65];
	int64_t not_before, not_after, issued_at;
};

struct cl_manage_decision {
	enum cl_manage_action action;
	const char *reason;         /* static text: "not due", "due (2/3 of lifetime)" ... */
	int64_t due_at;             /* 0 when there is no certificate */
};

/* The failures of earlier attempts. */
struct cl_manage_history {
	int failures;               /* consecutive failures */
	int64_t next_attempt;       /* not before (backoff) */
	const char *failed_hash;    /* issue_hash of the spec that failed, may be NULL:
	                               a changed spec is tried at once */
};

/*
 * Decides what to do with certificate c, given what is deployed, the
 * history of failures (may be NULL), an ARI window (may be NULL), the
 * time and --force (renew now, backoff ignored). Pure.
 */
void cl_manage_decide(const struct cl_manage_cert *c, const struct cl_manage_deployed *d,
                      const struct cl_manage_history *h, const struct cl_manage_window *ari,
                      int64_t now, bool force, struct cl_manage_decision *out);

/* ---- deployment ------------------------------------------------------------------ */

/* A certificate with its key, as an issuer returned it. */
struct cl_manage_material {
	char *cert_pem;             /* the leaf */
	char *chain_pem;            /* the issuers above it, nearest first ("" none) */
	char *key_pem;              /* PKCS#8, unencrypted: wiped by _clear */
	char fp[65], serial[65], spki[65];
	int64_t not_before, not_after;
	unsigned char *der;         /* the leaf */
	size_t der_len;
};

/*
 * Fills m from PEM text: cert_pem (the leaf first, optionally followed by
 * its chain, which is moved to chain_pem) and chain_pem, key_pem (may be
 * NULL). The strings are copied. Checks that the key belongs to the leaf.
 * m is overwritten (clear it first when it held something); on failure
 * it is left empty. CL_OK, CL_ERR_PARSE (err says why) or CL_ERR_NOMEM.
 */
int cl_manage_material_set(struct cl_manage_material *m, const char *cert_pem,
                           const char *chain_pem, const char *key_pem, char *err,
                           size_t errlen);
/* Frees and wipes what m holds; m is zeroed. */
void cl_manage_material_clear(struct cl_manage_material *m);

/*
 * Takes the lock of certificate c, OUT/.certledger/NAME/.lock (flock;
 * the directories are created when missing), for a caller that decides,
 * issues and deploys under it: *fd is for cl_manage_unlock. Returns
 * CL_OK, CL_ERR_BUSY (another process holds it) or CL_ERR_IO, with err.
 */
int cl_manage_lock(const struct cl_manage_cert *c, int *fd, char *err, size_t errlen);
void cl_manage_unlock(int fd);

enum cl_manage_deploy_flags {
	CL_MANAGE_LOCKED = 1 << 0,  /* the caller holds cl_manage_lock of c */
};

/*
 * Deploys m for c as a new version (see the layout above): stale
 * versions (above the current one, or incomplete) are removed; the
 * configured names are made symlinks into current/ (files found there
 * before are first kept as a version of their own, which becomes the
 * rollback target); every file of the version is written and fsync'd
 * (the key and PKCS#12 created with their final mode and owner before a
 * byte is written), then meta.json (naming c's Issuer), the directories
 * are fsync'd, and current is switched with one rename(2). Versions older
 * than the CL_MANAGE_KEEP newest are pruned. p12_password is needed when
 * c->out.pkcs12 is set. *version receives the version deployed. Unless
 * flags has CL_MANAGE_LOCKED, takes the lock of c meanwhile (CL_ERR_BUSY
 * when another process deploys this certificate).
 * Returns CL_OK, CL_ERR_IO, CL_ERR_BUSY, CL_ERR_USAGE (owner or group
 * unknown, no PKCS#12 password) with err.
 */
int cl_manage_deploy(const struct cl_manage_cert *c, const struct cl_manage_material *m,
                     const char *p12_password, unsigned flags, int *version, char *err,
                     size_t errlen);

/* Reads what is deployed for c (current/meta.json); d->present false when
 * nothing is. CL_OK, or CL_ERR_PARSE/CL_ERR_IO for a broken layout. */
int cl_manage_deployed_get(const struct cl_manage_cert *c, struct cl_manage_deployed *d,
                           char *err, size_t errlen);

/*
 * Reads the deployed files of the current version back into m (for a
 * redeploy or to keep the key; m is overwritten, clear it with
 * cl_manage_material_clear). CL_ERR_NOTFOUND when there is none.
 */
int cl_manage_deployed_material(const struct cl_manage_cert *c, struct cl_manage_material *m,
                                char *err, size_t errlen);

/*
 * Switches current back to the newest complete version before it.
 * *d receives what is deployed afterwards. CL_ERR_NOTFOUND when there is
 * no earlier version; CL_ERR_BUSY as cl_manage_deploy.
 */
int cl_manage_switch_back(const struct cl_manage_cert *c, struct cl_manage_deployed *d,
                          char *err, size_t errlen);

/*
 * Runs cmd with /bin/sh -c, stdin /dev/null, stdout and stderr captured
 * (the first 4 KiB, control characters escaped, into out when not NULL),
 * env entries ("NAME=value") added to the environment, in its own process
 * group, killed (TERM, then KILL after 2 s) after timeout seconds.
 * Returns CL_OK when it exited 0; CL_ERR with err saying "exit status N",
 * "killed by signal N" or "timed out after Ns".
 */
int cl_manage_hook_run(const char *cmd, const char *const *env, size_t nenv, int64_t timeout,
                       char *out, size_t outlen, char *err, size_t errlen);

/* ---- reconcile ------------------------------------------------------------------- */

enum cl_manage_outcome {
	CL_MANAGE_UNCHANGED,        /* not due: nothing done */
	CL_MANAGE_ISSUED,           /* a first certificate, or one for a changed spec */
	CL_MANAGE_RENEWED,
	CL_MANAGE_REDEPLOYED,
	CL_MANAGE_ROLLED_BACK,
	CL_MANAGE_WOULD,            /* --dry-run: the decision's action would be taken */
	CL_MANAGE_BACKING_OFF,      /* due, but the next attempt is later */
	CL_MANAGE_FAILED,
	CL_MANAGE_SKIPPED,          /* not selected, managed from another spec, or busy */
};

/* The report of one certificate, handed to opts->report. */
struct cl_manage_result {
	const char *name;
	enum cl_manage_outcome outcome;
	enum cl_manage_action action;   /* what was decided */
	const char *reason;         /* decision reason, or why skipped */
	const char *error;          /* when failed: what went wrong */
	const char *hook_error;     /* a deploy hook failed (the files stay new) */
	const char *fp;             /* the certificate deployed now ("" none) */
	int64_t not_after, due_at, next_attempt;
	int failures;
	int version;
};

struct cl_manage_opts {
	bool dry_run;               /* decide and report; change nothing */
	bool force;                 /* renew now, whatever is due; ignore backoff */
	bool record_spec;           /* apply: keep the spec's text in the store */
	const char *const *names;   /* only these certificates (NULL: all) */
	size_t nnames;
	int workers;                /* threads issuing and deploying; 0: default */
	const char *state_dir;      /* default place of ACME account keys */
	int64_t now;                /* 0: cl_now() */
	volatile sig_atomic_t *stop;   /* set asynchronously to stop starting work */
	/* called in the calling thread for each certificate, in spec order */
	void (*report)(void *arg, const struct cl_manage_result *r);
	void *report_arg;
};

struct cl_manage_stats {
	long total, issued, renewed, redeployed, rolled_back, unchanged, would, backing_off,
	     failed, skipped, hooks_failed;
	double seconds;
};

/*
 * One reconcile of spec against what is deployed and recorded in s:
 * for each selected certificate (in parallel workers), decide, issue or
 * renew through its issuer, deploy, and record the outcome in s (state,
 * audit events manage.issued / manage.renewed / manage.failed, the
 * inventory sightings of the deployed files, the manage.renewal_failing
 * finding raised or settled); then run the deploy hooks of what was
 * deployed (a command named by several certificates runs once) and of
 * certificates whose hooks failed before (manage.hook_failed event and
 * finding on failure). Failures back off (cl_manage_backoff) unless
 * opts->force. Certificates whose state says they were last applied from
 * another spec are skipped (reason given) unless record_spec.
 * Returns CL_OK when every step could be recorded (failures of single
 * certificates are in the stats and reports), CL_ERR_INTERRUPTED when
 * opts->stop was set, or a store error (err).
 */
int cl_manage_reconcile(struct cl_store *s, const struct cl_manage_spec *spec,
                        const struct cl_manage_opts *o, struct cl_manage_stats *st,
                        char *err, size_t errlen);

/*
 * Rolls certificate name of spec back to its previous version, records
 * it (event manage.rolled_back, state) and runs its hooks. The report
 * callback of o receives the result. CL_ERR_NOTFOUND when name is not in
 * spec or has no previous version (err says which).
 */
int cl_manage_rollback(struct cl_store *s, const struct cl_manage_spec *spec, const char *name,
                       const struct cl_manage_opts *o, struct cl_manage_stats *st, char *err,
                       size_t errlen);

/* What cl_manage_revoke did. */
struct cl_manage_revoked {
	bool replaced;              /* a replacement was issued and deployed first */
	bool revoked;
	char fp[65], serial[65];    /* of the certificate revoked */
	char issuer[65];            /* the Issuer that issued it (and revoked it) */
};

/*
 * Revokes the certificate deployed for name, through the Issuer that
 * issued it (the internal CA by serial; ACME signed by the account key,
 * else by the certificate's own key), for an RFC 5280 reason code
 * (cl_ca_reason_parse). With renew, a replacement is issued and deployed
 * first (a forced renewal; cl_manage_reconcile with o), and the old
 * certificate is revoked only when that succeeded, so nothing is left
 * serving a revoked certificate; keyCompromise with rotationPolicy Never
 * is refused (the replacement would certify the same key). Records the
 * event manage.revoked. CL_ERR_NOTFOUND when name is not in spec or has
 * nothing deployed; other errors with err.
 */
int cl_manage_revoke(struct cl_store *s, const struct cl_manage_spec *spec, const char *name,
                     int reason, bool renew, const struct cl_manage_opts *o,
                     struct cl_manage_stats *st, struct cl_manage_revoked *out, char *err,
                     size_t errlen);

/* ---- the ACME account of an Issuer ---------------------------------------------- */

enum cl_manage_account_op {
	CL_MANAGE_ACCOUNT_SHOW,     /* what the CA knows of the key's account */
	CL_MANAGE_ACCOUNT_ROLLOVER, /* a new account key (RFC 8555 7.3.5) */
	CL_MANAGE_ACCOUNT_DEACTIVATE,   /* RFC 8555 7.3.6; the key is set aside */
};

struct cl_manage_account {
	char server[512];           /* the directory URL */
	char key_path[4096];
	bool key_present;
	char key_type[32];          /* "ECDSA P-256", "RSA 2048" */
	bool exists;                /* the CA has an account for the key */
	char url[512];              /* its URL */
};

/*
 * Shows, rolls over or deactivates the account of an ACME Issuer (its
 * account key: spec.acme.accountKey, else STATE_DIR/acme/NAME.key). A
 * rollover writes the new key to KEY.new (0600) before the CA is asked,
 * then renames it over KEY (a crash in between leaves it in KEY.new); a
 * deactivation renames KEY to KEY.deactivated, so the next apply
 * registers a new account. SHOW of an Issuer without a key or account
 * returns CL_OK with key_present / exists false; the other operations
 * then return CL_ERR_NOTFOUND. CL_ERR_USAGE for an internal CA.
 */
int cl_manage_account(const struct cl_manage_issuer *is, const char *state_dir,
                      enum cl_manage_account_op op, volatile sig_atomic_t *stop,
                      struct cl_manage_account *out, char *err, size_t errlen);

/* "unchanged", "issued", "renewed", ... (static). */
const char *cl_manage_outcome_name(enum cl_manage_outcome o);
/* "keep", "issue", "renew", "redeploy", "wait" (static). */
const char *cl_manage_action_name(enum cl_manage_action a);

/*
 * Test hook (docs/managed.md): when $CERTLEDGER_TEST_CRASH_AT names step,
 * the process kills itself with SIGKILL here. The crash test
 * (tests/e2e/0071-manage-crash.sh) names every step in turn.
 */
void cl_manage_crash_point(const char *step);

#endif
