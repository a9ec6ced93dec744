/*
 * Policy: what "good" means for a certificate, as named profiles of rules,
 * loaded from YAML (or the built-in default) and evaluated one
 * certificate at a time.
 *
 * Evaluation is pure: it takes a certificate and what is known around it
 * (owner, environment, tags, locations, how many certificates share its
 * key, chain and revocation results) and reports violations through a
 * callback. `lint` feeds it files, `check` feeds it the inventory; neither
 * changes what a rule means.
 */
#ifndef CL_POLICY_H
#define CL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "x509/cert.h"

enum cl_sev { CL_SEV_OFF = -1, CL_SEV_INFO, CL_SEV_WARNING, CL_SEV_ERROR, CL_SEV_CRITICAL };

/* Every rule, in the order `certledger explain` lists them. */
enum cl_rule {
	CL_R_KEY_TYPE, CL_R_KEY_SIZE, CL_R_KEY_EXPONENT, CL_R_KEY_ROCA, CL_R_KEY_SHARED,
	CL_R_KEY_READABLE,
	CL_R_SIG_FORBIDDEN, CL_R_SIG_NOT_ALLOWED,
	CL_R_ISSUER_NOT_APPROVED,
	CL_R_VALIDITY_MAX, CL_R_VALIDITY_CABF,
	CL_R_EXPIRY_EXPIRED, CL_R_EXPIRY_CRITICAL, CL_R_EXPIRY_WARNING, CL_R_NOT_YET_VALID,
	CL_R_SAN_MISSING, CL_R_SAN_WILDCARD, CL_R_SAN_REQUIRED, CL_R_SAN_FORBIDDEN,
	CL_R_SELF_SIGNED,
	CL_R_CT_NO_SCTS,
	CL_R_CHAIN_INCOMPLETE, CL_R_CHAIN_WRONG_ORDER, CL_R_CHAIN_UNTRUSTED_ROOT,
	CL_R_CHAIN_INTERMEDIATE_EXPIRY,
	CL_R_REVOKED, CL_R_REVOCATION_UNREACHABLE, CL_R_REVOCATION_UNKNOWN,
	CL_R_COUNT
};

struct cl_rule_info {
	const char *name;       /* "key.size": findings are "policy.key.size" */
	enum cl_sev severity;   /* default */
	const char *summary;    /* one line */
	const char *explain;    /* what it checks, why, how to configure it */
	const char *fix;        /* the usual remedy */
};

extern const struct cl_rule_info cl_rules[CL_R_COUNT];

/* Looks a rule up by name ("key.size" or "policy.key.size"); -1 if unknown. */
int cl_rule_find(const char *name);

const char *cl_sev_name(enum cl_sev s);
/* "info".."critical", "off"; returns CL_OK or CL_ERR_PARSE. */
int cl_sev_parse(const char *s, enum cl_sev *out);

/* A list of strings (globs, names), owned by the policy. */
struct cl_list {
	char **v;
	size_t n;
};

/* An expiry threshold: the smaller of days and a share of the lifetime. */
struct cl_threshold {
	int64_t seconds;        /* -1 unset */
	double share;           /* of the lifetime, 0..1; -1 unset */
};

struct cl_profile {
	char *name;
	int line;                      /* where it was defined, 0 built in */
	/* match: every given criterion must hold (any value of a list) */
	struct cl_list m_env, m_tag, m_owner, m_location;
	/* rules */
	struct cl_list key_allow;      /* "RSA", "EC", "Ed25519", ...; empty = any */
	int rsa_min_bits, dsa_min_bits;
	struct cl_list ec_curves;      /* "P-256", ...; empty = any */
	long rsa_min_exponent;
	long max_hosts;                /* hosts one key may be served from; 0 = any */
	struct cl_list sig_forbid, sig_allow;   /* globs on the signature algorithm */
	struct cl_list issuers;        /* subject globs, "spki:HEX", "fp:HEX"; empty = any */
	int max_validity_days;         /* 0 = no limit */
	bool cabf;                     /* CA/Browser Forum maximum validity schedule */
	struct cl_threshold warn, crit;
	int64_t intermediate_expiry;   /* seconds */
	bool wildcards, self_signed, require_scts;
	struct cl_list san_required, san_forbidden;
	enum cl_sev sev[CL_R_COUNT];
};

struct cl_policy {
	char *source;                  /* file name, or "built-in default" */
	struct cl_profile base;        /* "default": the defaults block */
	struct cl_profile *profiles;
	size_t nprofiles;
};

/* The built-in default policy as YAML (printed by `policy show-default`). */
extern const char cl_policy_default_yaml[];

/*
 * Loads a policy from YAML text (name is used in messages). On error
 * writes "NAME:LINE: what is wrong" into err and returns CL_ERR_PARSE.
 */
int cl_policy_parse(struct cl_policy **out, const char *text, size_t len, const char *name,
                    char *err, size_t errlen);
/* Loads the file at path, or the built-in default when path is NULL. */
int cl_policy_load(struct cl_policy **out, const char *path, char *err, size_t errlen);
void cl_policy_free(struct cl_policy *p);

/*
 * The profile for a certificate: the first whose match holds, else base.
 * tags is the stored ",a,b," form (or NULL): a match.tag glob holds when
 * it matches any one of the tags.
 */
const struct cl_profile *cl_policy_select(const struct cl_policy *p, const char *environment,
                                          const char *owner, const char *tags,
                                          const char *const *locations, size_t nlocations);
/* The profile called name (or "default"), or NULL. */
const struct cl_profile *cl_policy_profile(const struct cl_policy *p, const char *name);

/* What is known around a certificate. Unknown parts are 0/NULL. */
struct cl_eval_ctx {
	int64_t now;
	long shared_certs;            /* other present certificates with the same key */
	long hosts;                   /* distinct hosts (addresses) serving the key, 0 unknown */
	const char *issuer_fp;        /* the issuing CA certificate's SHA-256 (hex), when known */
	const char *issuer_spki;      /* and its key's SHA-256 (hex) */
	const char *key_where;        /* report key.shared once per key, at this target
	                                 ("key:SPKI"), rather than per certificate */
	const char *verify;           /* chain result at an endpoint (net discovery): "ok",
	                                 "incomplete-chain", "wrong-order", ... (comma list) */
	const char *verify_detail;
	const char *endpoint;         /* that endpoint's location */
	int key_mode;                 /* permission bits of a private key file, -1 unknown */
	const char *key_location;
	int revocation;               /* CL_REV_* + 1, 0 when not checked */
	const char *revocation_detail;
};

/* One violation. Strings are valid during the callback only. */
struct cl_violation {
	enum cl_rule rule;
	enum cl_sev severity;
	const char *found;            /* the value found: "RSA 1024" */
	const char *limit;            /* the limit: ">= 2048 bits" */
	const char *message;          /* one sentence: found, limit */
	const char *fix;              /* what to do */
	const char *where;            /* a location when the rule is about one, else NULL */
};

typedef int (*cl_violation_cb)(void *arg, const struct cl_violation *v);

/*
 * Evaluates c under profile pr; calls cb for each violation (rules whose
 * severity is off are skipped). Returns CL_OK or what cb returned.
 */
int cl_policy_eval(const struct cl_profile *pr, const struct cl_cert *c,
                   const struct cl_eval_ctx *ctx, cl_violation_cb cb, void *arg);

/*
 * Evaluates only the rules about what surrounds a certificate (shared
 * key, key file permissions, an endpoint's chain, revocation): for a
 * certificate seen in several places, once per place.
 */
int cl_policy_eval_context(const struct cl_profile *pr, const struct cl_eval_ctx *ctx,
                           cl_violation_cb cb, void *arg);

/*
 * The maximum validity in days the CA/Browser Forum allows for a TLS
 * certificate whose notBefore is nb: 398 before 2026-03-15, then 200, 100
 * from 2027-03-15 and 47 from 2029-03-15 (825 before 2020-09-01).
 */
int cl_cabf_max_days(int64_t nb);

#endif
