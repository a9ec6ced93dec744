/*
 * The inventory store: the only way callers reach persisted state.
 *
 * The interface speaks in inventory terms (observe a certificate at a
 * location, sweep what is gone, query with a filter), never in SQL, so a
 * second backend (PostgreSQL, for many scan workers) can be added behind
 * it without touching callers. Backends are const tables of callbacks
 * (store/backend.h); cl_store_open picks one from the URI.
 *
 * Vocabulary:
 *  - certificate: identified by the SHA-256 of its DER, stored once;
 *  - location: a place where certificates are found, "kind:where"
 *    ("file:/etc/nginx/tls/a.pem", later "tls:host:port/sni", ...);
 *  - sighting: a certificate at a location, with first_seen, last_seen
 *    and state present|gone (never deleted);
 *  - event: one append-only audit record per change;
 *  - finding: a problem at a target, opened, refreshed and resolved,
 *    never deleted;
 *  - run: one discovery (or later: check, scan) with its statistics.
 *
 * Unless stated otherwise functions return CL_OK or a CL_ERR_* code and
 * cl_store_errmsg() describes the last failure. Strings passed in are
 * copied; rows passed to callbacks are borrowed and valid only during
 * the call. A store handle must be used by one thread at a time.
 */
#ifndef CL_STORE_H
#define CL_STORE_H

#include <stdbool.h>
#include "core/cl.h"
#include "x509/cert.h"

struct cl_store;

enum cl_store_flags {
	CL_STORE_RDONLY = 1 << 0, /* never write (queries only) */
	CL_STORE_NOCREATE = 1 << 1, /* fail with CL_ERR_NOTFOUND if missing */
};

/*
 * Opens the store named by uri: a file path or "sqlite:PATH" for the
 * embedded SQLite backend (created, with its directory, if missing).
 * Schema migrations are applied on open. Returns CL_OK and a handle in
 * *out; on failure *out is NULL and a message is written to err.
 * Distinct codes: CL_ERR_BUSY (locked by another process), CL_ERR_READONLY,
 * CL_ERR_SCHEMA (written by a newer certledger), CL_ERR_NOTFOUND.
 */
int cl_store_open(struct cl_store **out, const char *uri, unsigned flags,
                  char *err, size_t errlen);

/* Closes the handle (rolling back an open transaction). NULL allowed. */
void cl_store_close(struct cl_store *s);

/* Describes the last failure on s. Borrowed; valid until the next call. */
const char *cl_store_errmsg(const struct cl_store *s);

/*
 * Returns the default store path: $CERTLEDGER_DB, else
 * $XDG_DATA_HOME/certledger/inventory.db, else
 * ~/.local/share/certledger/inventory.db. Writes into buf.
 */
const char *cl_store_default_path(char *buf, size_t len);

/* Transactions. Every write method also works outside one (auto-commit). */
int cl_store_begin(struct cl_store *s);
int cl_store_commit(struct cl_store *s);
int cl_store_rollback(struct cl_store *s);

/* ---- runs ---------------------------------------------------------- */

/* Records the start of a run of the given kind ("discover-files"). */
int cl_store_run_begin(struct cl_store *s, const char *kind, const char *args,
                       int64_t now, int64_t *run_id);
/* Records its end with a status ("ok", "interrupted", "failed") and a JSON
 * object of statistics. */
int cl_store_run_end(struct cl_store *s, int64_t run_id, const char *status,
                     const char *stats_json, int64_t now);

/* ---- ingestion ----------------------------------------------------- */

enum cl_observed {
	CL_OBS_NEW_CERT = 1 << 0,     /* first time this certificate is stored */
	CL_OBS_NEW_SIGHTING = 1 << 1, /* first time at this location */
	CL_OBS_BACK = 1 << 2,         /* was gone from this location, is back */
};

/*
 * Records that c was seen at location kind:where during run_id. detail is
 * an optional note about the container ("PKCS12", "JKS alias=web").
 * Owner, environment and tags of a new certificate are inherited from the
 * location, or from the previous certificate seen there (renewals keep
 * their owner). Emits cert.new / location.new / location.back events.
 * *what (may be NULL) receives CL_OBS_* flags.
 */
int cl_store_observe_cert(struct cl_store *s, int64_t run_id, const struct cl_cert *c,
                          const char *kind, const char *where, const char *detail,
                          int64_t now, unsigned *what);

struct cl_key_obs {
	const char *spki_sha256; /* lowercase hex, or NULL when unknown (encrypted) */
	const char *key_type;    /* "RSA", "EC", ... or NULL */
	int key_bits;
	bool encrypted;
	int mode;                /* permission bits of the file, -1 unknown */
	long uid;                /* owner uid, -1 unknown */
	const char *container;   /* "PEM", "DER", "PKCS12", "JKS", ... */
};

/*
 * Records a private key (never its material) found at kind:where.
 * *is_new (may be NULL) is set when this key was not present there before.
 */
int cl_store_observe_key(struct cl_store *s, int64_t run_id, const struct cl_key_obs *k,
                         const char *kind, const char *where, int64_t now, bool *is_new);

/*
 * Closes a location after it was read completely during run_id:
 * certificates and keys recorded there before but not seen in this run
 * become gone (with events). Returns the number marked gone via *ngone.
 */
int cl_store_location_done(struct cl_store *s, int64_t run_id, const char *kind,
                           const char *where, int64_t now, long *ngone);

/*
 * Called for locations under a swept root that were not visited in this
 * run; returns true when the location still exists (then it is left
 * alone: it was skipped, excluded or unreadable, not removed).
 */
typedef bool (*cl_exists_cb)(void *arg, const char *kind, const char *where);

/*
 * After a walk of root: every present sighting, key and open finding at a
 * kind:where equal to root or below "root/" that was not refreshed in
 * run_id is checked with exists(); the ones that no longer exist are
 * marked gone / resolved.
 */
int cl_store_sweep(struct cl_store *s, int64_t run_id, const char *kind, const char *root,
                   cl_exists_cb exists, void *arg, int64_t now, long *ngone);

/* ---- network endpoints ------------------------------------------------ */

/*
 * One TLS endpoint as a scan saw it, and as the inventory lists it.
 * Strings may be NULL when unknown; numbers are 0 / -1 when unknown.
 */
struct cl_endpoint_row {
	const char *location;     /* "tls:ADDR:PORT[/SNI]", IPv6 in brackets */
	const char *address;      /* "127.0.0.1", "::1" */
	int port;
	const char *sni;          /* "" when probed without SNI */
	const char *hostname;     /* the target name, "" for an address */
	const char *status;       /* ok, refused, timeout, not-tls, alert, reset,
	                             starttls, error */
	const char *error;        /* what failed, e.g. the alert's name */
	const char *starttls;     /* "smtp", ... or NULL for implicit TLS */
	const char *tls_version, *cipher, *group, *alpn;
	int ocsp_stapled;         /* 1 / 0, -1 unknown */
	const char *leaf_fp;      /* SHA-256 hex of the leaf */
	const char *subject, *issuer;  /* of the leaf */
	int64_t not_after;        /* of the leaf; 0 unknown */
	const char *verify;       /* ok, expired, ..., see `discover net --help` */
	const char *verify_detail;
	const char *chain;        /* presented chain, leaf first, fingerprints
	                             separated by spaces */
	int64_t first_seen, last_seen;
	int64_t unreachable_since; /* 0 while the endpoint answers TLS */
};

/* What a probe gives the store (see cl_store_observe_endpoint). */
struct cl_endpoint_obs {
	struct cl_endpoint_row r;          /* location, first_seen, last_seen and
	                                      unreachable_since are filled in */
	const struct cl_cert *const *certs; /* presented chain, leaf first */
	size_t ncerts;
	bool connected;           /* a TCP connection was made */
	bool explicit_target;     /* the user named this HOST:PORT */
};

enum cl_endpoint_change {
	CL_EP_RECORDED = 1 << 0,    /* the probe was recorded */
	CL_EP_NEW = 1 << 1,         /* first time this endpoint is recorded */
	CL_EP_CHANGED = 1 << 2,     /* a different leaf than last time */
	CL_EP_UNREACHABLE = 1 << 3, /* answered TLS last time, not now */
	CL_EP_BACK = 1 << 4,        /* failed last time, answers TLS now */
};

/*
 * Records a probe of kind "tls" at e->r.address/port/sni during run_id:
 * the presented certificates (each sighted at the endpoint's location,
 * the leaf with detail "leaf", the others "chain N"), the endpoint's TLS
 * parameters and status, events (endpoint.new, endpoint.changed,
 * endpoint.unreachable, endpoint.back) and tls.* findings (resolved when
 * no longer true). A failed connection (refused, connect timeout) to an
 * endpoint the inventory does not know is recorded only when
 * explicit_target. Fills e->r.location (in buf), first_seen, last_seen and
 * unreachable_since. *what receives CL_EP_* flags, *certs_new the number
 * of certificates stored for the first time (both may be NULL).
 */
int cl_store_observe_endpoint(struct cl_store *s, int64_t run_id, struct cl_endpoint_obs *e,
                              int64_t now, char *buf, size_t buflen, unsigned *what,
                              long *certs_new);

/* Formats the location of an endpoint: "tls:127.0.0.1:443/www.example.com". */
const char *cl_endpoint_location(char *buf, size_t len, const char *address, int port,
                                 const char *sni);

struct cl_endpoint_filter {
	const char *status;     /* glob on status, NULL = all */
	const char *location;   /* glob on the location */
	const char *verify;     /* glob on the verify result */
	bool failing;           /* only endpoints whose status is not ok */
	bool chain_problems;    /* only answering endpoints whose verify is not ok */
};

/* Streams the endpoints the inventory knows, by address, port and SNI. */
int cl_store_endpoints(struct cl_store *s, const struct cl_endpoint_filter *f,
                       int (*cb)(void *arg, const struct cl_endpoint_row *r), void *arg);

/* ---- findings ------------------------------------------------------ */

/*
 * Opens (or refreshes) the finding rule@target[/fp]. fp may be NULL.
 * severity: "info", "warning", "error", "critical". *is_new set when it
 * was opened now (may be NULL).
 */
int cl_store_finding_raise(struct cl_store *s, int64_t run_id, const char *rule,
                           const char *severity, const char *target, const char *fp,
                           const char *message, int64_t now, bool *is_new);

/*
 * Resolves open findings at target whose rule starts with rule_prefix and
 * that were not raised during run_id.
 */
int cl_store_finding_settle(struct cl_store *s, int64_t run_id, const char *rule_prefix,
                            const char *target, int64_t now);

/* ---- edits ----------------------------------------------------------- */

struct cl_tag_edit {
	const char *owner;        /* NULL: unchanged, "": cleared */
	const char *environment;  /* NULL: unchanged, "": cleared */
	const char *const *add;   /* tags to add */
	size_t nadd;
	const char *const *remove;
	size_t nremove;
};

/*
 * Applies an edit to the certificates selected by fp_prefix (unique
 * prefix of a fingerprint) or, when fp_prefix is NULL, to the locations
 * matching location (a "kind:where" string or glob) and every certificate
 * present there; later certificates found at those locations inherit it.
 * Emits one tag event per certificate changed. *nchanged may be NULL.
 * CL_ERR_NOTFOUND when nothing matched; CL_ERR_USAGE when fp_prefix is
 * ambiguous.
 */
int cl_store_tag(struct cl_store *s, const char *fp_prefix, const char *location,
                 const struct cl_tag_edit *e, const char *actor, int64_t now,
                 long *nchanged);

/* ---- queries --------------------------------------------------------- */

enum cl_state { CL_STATE_PRESENT, CL_STATE_GONE, CL_STATE_ALL };
enum cl_tri { CL_ANY = -1, CL_NO = 0, CL_YES = 1 };

struct cl_filter {
	int64_t now;            /* evaluation instant for time filters */
	int64_t expiring;       /* seconds: not expired and not_after <= now+expiring; -1 unset */
	bool expired;           /* not_after <= now */
	const char *issuer;     /* case-insensitive globs, NULL unset */
	const char *subject;
	const char *san;        /* matches any SAN ("DNS:*.example.com" or "*.example.com") */
	const char *key_type;
	const char *sig_alg;
	const char *location;   /* "kind:where" glob; a bare path glob means file: */
	const char *owner;
	const char *environment;
	const char *tag;        /* exact tag */
	const char *fp_prefix;  /* hex prefix of fingerprint_sha256 */
	const char *spki;       /* exact spki_sha256 */
	const char *serial;     /* exact hex serial */
	int min_bits, max_bits; /* 0 unset */
	int self_signed;        /* enum cl_tri */
	int ca;                 /* enum cl_tri: CL_YES --ca, CL_NO --leaf */
	enum cl_state state;    /* present: deployed somewhere now; gone: nowhere any more */
	const char *sort;       /* column name, see cl_store_sort_fields; NULL = not_after */
	bool desc;
	long limit;             /* 0 = no limit */
};

/* Initialises f with no filter, state present, now = cl_now(). */
void cl_filter_init(struct cl_filter *f);

/* NULL-terminated list of the accepted sort fields. */
extern const char *const cl_store_sort_fields[];

struct cl_loc_row {
	const char *kind;
	const char *where;
	const char *state;      /* "present" or "gone" */
	const char *detail;     /* may be NULL */
	int64_t first_seen, last_seen;
};

struct cl_inv_row {
	const struct cl_cert *c;  /* all fields set except der (NULL) */
	const char *owner;        /* may be NULL */
	const char *environment;  /* may be NULL */
	const struct cl_strv *tags;
	int64_t first_seen;       /* first time the certificate was stored */
	const struct cl_loc_row *locs;
	size_t nlocs;
};

/* Return CL_OK to continue; anything else stops and is returned. */
typedef int (*cl_row_cb)(void *arg, const struct cl_inv_row *row);

/*
 * Streams the certificates matching f, sorted and limited, each with its
 * locations (only present ones when f->state is present). Memory does not
 * grow with the number of rows.
 */
int cl_store_query(struct cl_store *s, const struct cl_filter *f, cl_row_cb cb, void *arg);

/*
 * Like cl_store_query, but each certificate arrives already encoded as one
 * JSON object (json[0..len), valid during the call) with the fields
 * documented for `certledger ls --format json`: fingerprint_sha256,
 * serial, subject, subject_cn, issuer, issuer_cn, sans, not_before,
 * not_after, days_left, validity_days (at f->now), key_type, key_oid,
 * key_bits, curve, sig_alg, is_ca, path_len, self_signed, key_usage, eku,
 * ski, aki, ocsp_urls, crl_urls, ca_issuers_urls, sct_count, spki_sha256,
 * version, owner, environment, tags, first_seen and locations [{kind,
 * where, state, first_seen, last_seen, detail}]. Backends encode rows
 * without building a tree per row (SQLite: straight from the columns of
 * the query): this is the fast path for large lists.
 */
typedef int (*cl_json_cb)(void *arg, const char *json, size_t len);
int cl_store_query_json(struct cl_store *s, const struct cl_filter *f, cl_json_cb cb, void *arg);

/* Fetches the DER of a certificate (new buffer, free()). CL_ERR_NOTFOUND. */
int cl_store_get_der(struct cl_store *s, const char *fp_hex, unsigned char **der, size_t *len);

struct cl_count {
	char *name;
	long n;
};

struct cl_summary {
	long certs, locations, keys, open_findings;
	long expired, lt7, lt30, lt90, later;    /* expiry buckets at filter->now */
	struct cl_count *by_issuer;  size_t nissuer;  /* descending count */
	struct cl_count *by_key;     size_t nkey;     /* "RSA 2048", "EC P-256", "Ed25519" */
	struct cl_count *by_sig;     size_t nsig;
};

/* Aggregates the certificates matching f (sort/limit ignored). */
int cl_store_summary(struct cl_store *s, const struct cl_filter *f, struct cl_summary *out);
void cl_summary_free(struct cl_summary *sum);

struct cl_event_row {
	int64_t id, ts;
	const char *type;      /* cert.new, location.new, location.gone, location.back,
	                          key.new, key.gone, cert.tagged, finding.opened,
	                          finding.resolved, run.start, run.end,
	                          endpoint.new, endpoint.changed,
	                          endpoint.unreachable, endpoint.back,
	                          manage.issued, manage.renewed, manage.redeployed,
	                          manage.failed, manage.rolled_back, manage.hook_failed */
	const char *fp;        /* may be NULL */
	const char *location;  /* "kind:where", may be NULL */
	const char *actor;     /* may be NULL */
	const char *detail;    /* JSON object text, may be NULL */
};

struct cl_event_filter {
	int64_t since;          /* ts >= since */
	const char *fp_prefix;
	const char *location;   /* glob */
	const char *type;       /* glob */
	long limit;             /* newest N when > 0 */
};

/* Streams events in time order. */
int cl_store_events(struct cl_store *s, const struct cl_event_filter *f,
                    int (*cb)(void *arg, const struct cl_event_row *e), void *arg);

struct cl_finding_row {
	int64_t id;
	const char *rule, *severity, *target, *fp, *message; /* fp may be NULL */
	int64_t first_seen, last_seen, resolved_at;          /* resolved_at 0 = open */
};

struct cl_finding_filter {
	bool include_resolved;
	const char *rule;       /* glob */
	const char *target;     /* glob */
	const char *severity;   /* minimum severity, NULL = all */
	const char *fp_prefix;
};

/* Streams findings, most severe first, then by target. */
int cl_store_findings(struct cl_store *s, const struct cl_finding_filter *f,
                      int (*cb)(void *arg, const struct cl_finding_row *r), void *arg);

struct cl_key_row {
	const char *kind, *where, *state, *key_type, *container;
	int key_bits, mode;
	long uid;
	bool encrypted;
	int64_t first_seen, last_seen;
};

/* Streams the key locations whose public key hash is spki_hex. */
int cl_store_keys(struct cl_store *s, const char *spki_hex,
                  int (*cb)(void *arg, const struct cl_key_row *k), void *arg);

/* ---- policy checks -------------------------------------------------- */

/*
 * Bulk findings for a check run, inside a transaction. The caller reads
 * the open findings first (cl_store_findings_open), then stages only what
 * differs: findings that are new or whose severity or message changed
 * (cl_store_findings_stage; duplicates ignored) and the ids of open
 * findings that no longer hold (cl_store_findings_stage_resolve).
 * cl_store_findings_stage_end applies it all set-based, each change with
 * its event: unchanged findings cost nothing, so a recheck of a million
 * certificates stays cheap.
 */
int cl_store_findings_open(struct cl_store *s, const char *rule_prefix,
                           int (*cb)(void *arg, int64_t id, const char *rule,
                                     const char *target, const char *fp,
                                     const char *severity, const char *message),
                           void *arg);
int cl_store_findings_stage_begin(struct cl_store *s);
int cl_store_findings_stage(struct cl_store *s, const char *rule, const char *severity,
                            const char *target, const char *fp, const char *message);
int cl_store_findings_stage_resolve(struct cl_store *s, int64_t id);
int cl_store_findings_stage_end(struct cl_store *s, int64_t run_id, int64_t now,
                                long *opened, long *changed, long *resolved);

/* A certificate as a policy check reads it. */
struct cl_policy_row {
	const struct cl_cert *c;   /* fp, spki_sha256, serial, subject, subject_cn,
	                              issuer, issuer_cn, sans, not_before, not_after, key_type, key_bits,
	                              curve, sig_alg, is_ca, self_signed, eku,
	                              sct_count (other fields unset) */
	const char *owner, *environment;  /* may be NULL */
	const char *tags;                 /* ",a,b," ("" when none) */
	int64_t first_seen;               /* first time the certificate was stored */
	const char *const *locations;     /* "kind:where" where it is present, when
	                                     asked for; else NULL */
	size_t nlocations;
};

/*
 * Streams the certificates matching f (sort and limit ignored) with just
 * what policy evaluation needs, in storage order: the fast path for
 * checking a whole inventory. Locations are read only when asked.
 */
int cl_store_policy_rows(struct cl_store *s, const struct cl_filter *f, bool locations,
                         int (*cb)(void *arg, const struct cl_policy_row *r), void *arg);

/*
 * Every CA certificate stored (present or not): its subject, subject key
 * identifier (hex, may be NULL) and encoding, to find the issuer of a
 * certificate (revocation checks need it).
 */
int cl_store_ca_certs(struct cl_store *s,
                      int (*cb)(void *arg, const char *subject, const char *ski,
                                const unsigned char *der, size_t len), void *arg);

/* Keys served by answering TLS endpoints on more than one host:
 * cb(spki_hex, number of distinct addresses). */
int cl_store_key_hosts(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                       void *arg);

/* Present certificates sharing a key: cb(spki_hex, number of certificates). */
int cl_store_shared_keys(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                         void *arg);

/* Present private keys readable by group or others. */
int cl_store_exposed_keys(struct cl_store *s,
                          int (*cb)(void *arg, const char *location, const char *spki,
                                    int mode), void *arg);

/*
 * RSA certificates whose key breaks a rule: ROCA fingerprint, public
 * exponent below min_e, or even. Certificates stored before these facts
 * were kept are read from their encoding first (once).
 */
int cl_store_weak_rsa(struct cl_store *s, long min_e,
                      int (*cb)(void *arg, const char *fp, int64_t e, bool roca), void *arg);

/* ---- daemon state ----------------------------------------------------- */

/* Small named values kept with the inventory (the daemon's cursors, the
 * last success of each job). *value is a new string (free()). */
int cl_store_meta_get(struct cl_store *s, const char *key, char **value);
int cl_store_meta_set(struct cl_store *s, const char *key, const char *value);

/* ---- alerts and their outbox ----------------------------------------- */

/*
 * An alert: one condition (key) with its current state. At most one
 * alert per key is firing; when it resolves and the condition comes back
 * later, a new alert starts. One-shot alerts (a change, a new certificate)
 * are recorded in state "once".
 */
struct cl_alert_row {
	int64_t id;
	const char *key;          /* "cert.expiry:FP", "endpoint.unreachable:LOC", ... */
	const char *type;         /* CL_AT_* of its last transition */
	const char *state;        /* "firing", "resolved" or "once" */
	const char *severity;
	const char *level;        /* "30d" .. "1d", "expired", "33%"; may be NULL */
	const char *fp, *target;  /* may be NULL */
	const char *summary;
	int64_t fired_at, updated_at, resolved_at;  /* resolved_at 0 = not resolved */
	const char *deliveries;   /* "NOTIFIER:STATE" per queued message, separated by
	                             spaces ("slack:sent mail:pending"); may be NULL */
	const char *payload;      /* the last message as JSON (cl_store_alerts_firing
	                             only); may be NULL */
};

struct cl_alert_filter {
	const char *state;        /* "firing", "resolved", "once"; NULL = all */
	const char *type;         /* glob */
	const char *fp_prefix;
	int64_t since;            /* updated_at >= since */
	long limit;               /* newest N when > 0 */
};

/* Streams alerts, oldest update first. */
int cl_store_alerts(struct cl_store *s, const struct cl_alert_filter *f,
                    int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);

/* Streams the firing alerts: what evaluation compares with. */
int cl_store_alerts_firing(struct cl_store *s,
                           int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);

/*
 * Records a firing transition of key: a new alert (state "firing", or
 * "once" when oneshot), or the update of the firing alert with that key
 * (new type, severity, level, summary, payload: the message as JSON, may
 * be NULL). *id receives the alert's id.
 */
int cl_store_alert_fire(struct cl_store *s, const char *key, const char *type,
                        const char *severity, const char *level, const char *fp,
                        const char *target, const char *summary, const char *payload,
                        bool oneshot, int64_t now,
                        int64_t *id);
int cl_store_alert_resolve(struct cl_store *s, int64_t id, int64_t now);

/* A present certificate as alert evaluation reads it. */
struct cl_alert_cert {
	const char *fp;                    /* SHA-256 hex */
	const char *subject, *subject_cn, *serial, *issuer, *issuer_cn;
	const char *sans;                  /* newline separated "DNS:x" */
	const char *owner, *environment;   /* may be NULL */
	const char *tags;                  /* ",a,b," or "" */
	int64_t not_before, not_after, first_seen;
	bool is_ca;
};

/* Which present certificates can raise an alert (any criterion holds). */
struct cl_alert_scan {
	int64_t expiring_by;      /* not_after <= expiring_by */
	double renewal_at;        /* > 0: non-CA past this share of their lifetime at now */
	int64_t now;
	int64_t new_since;        /* first_seen >= new_since (-1: none) */
	bool all;                 /* every present certificate */
};

/*
 * Streams the present certificates q selects, in storage order, without
 * their locations (cl_store_cert_locations): the fast path that lets an
 * evaluation of a large, quiet inventory skip most rows in SQL.
 */
int cl_store_alert_certs(struct cl_store *s, const struct cl_alert_scan *q,
                         int (*cb)(void *arg, const struct cl_alert_cert *c), void *arg);

/* Streams the "kind:where" locations where certificate fp is present. */
int cl_store_cert_locations(struct cl_store *s, const char *fp,
                            int (*cb)(void *arg, const char *location), void *arg);

/* Counts of firing alerts by type and severity (metrics). */
int cl_store_alert_counts(struct cl_store *s,
                          int (*cb)(void *arg, const char *type, const char *severity, long n),
                          void *arg);

/*
 * The outbox: one row per message and notifier, written in the same
 * transaction as the alert transition, delivered later. msg_id is the
 * message's idempotency key; (msg_id, notifier) is unique.
 */
struct cl_outbox_row {
	int64_t id, alert_id;
	const char *notifier;
	const char *action;       /* "firing" / "resolved" */
	const char *msg_id;
	const char *payload;      /* the message as JSON (cl_alert_msg_json) */
	const char *state;        /* "pending", "sent", "failed" */
	int attempts;
	int64_t created, next_at, done_at;
	const char *last_error;   /* may be NULL */
};

int cl_store_outbox_add(struct cl_store *s, int64_t alert_id, const char *notifier,
                        const char *action, const char *msg_id, const char *payload,
                        int64_t now);

/* Streams pending rows with next_at <= now, oldest first, at most limit. */
int cl_store_outbox_due(struct cl_store *s, int64_t now, long limit,
                        int (*cb)(void *arg, const struct cl_outbox_row *r), void *arg);

/* Records an attempt: state "sent" / "failed" (done_at = now) or
 * "pending" again with the next attempt's time; error may be NULL. */
int cl_store_outbox_update(struct cl_store *s, int64_t id, const char *state, int attempts,
                           int64_t next_at, const char *error, int64_t now);

/* The earliest next_at of pending rows; CL_ERR_NOTFOUND when none. */
int cl_store_outbox_next(struct cl_store *s, int64_t *next_at);

/* Rows by notifier and state (metrics, `alerts`). */
int cl_store_outbox_counts(struct cl_store *s,
                           int (*cb)(void *arg, const char *notifier, const char *state,
                                     long n),
                           void *arg);

/* ---- managed certificates ---------------------------------------------- */

/* The state of one managed certificate (certledger apply, renew, rollback). */
struct cl_managed_row {
	const char *name;
	const char *source;       /* the spec file it was last applied from */
	const char *issuer;       /* the Issuer's name */
	const char *out_dir;      /* its output directory */
	const char *fp;           /* the deployed certificate; NULL before the first */
	int64_t not_before, not_after;
	int version;              /* deployed version (OUT/.certledger/NAME/vN) */
	const char *issue_hash;   /* of the spec the deployed certificate was made for */
	const char *deploy_hash;  /* ... and deployed for */
	const char *attempt_hash; /* of the spec at the last attempt (may be NULL) */
	int64_t last_attempt, last_success;
	int64_t next_attempt;     /* not before (backoff after failures) */
	int64_t due_at;           /* renewal due (as of the last reconcile) */
	int failures;             /* consecutive */
	const char *last_error;   /* NULL after a success */
	bool hook_pending;        /* the deploy hooks failed: run them again */
	int64_t ari_start, ari_end;  /* the CA's renewal window (ACME ARI), 0 none */
	int64_t ari_next;         /* when to ask for it again */
	int64_t updated;
};

/* Records r (replacing the row of that name). */
int cl_store_managed_put(struct cl_store *s, const struct cl_managed_row *r);

/* Streams the rows (one when name is not NULL), by name. */
int cl_store_managed_rows(struct cl_store *s, const char *name,
                          int (*cb)(void *arg, const struct cl_managed_row *r), void *arg);

/*
 * Appends an audit event of a managed certificate: type manage.issued,
 * manage.renewed, manage.redeployed, manage.failed, manage.rolled_back,
 * manage.hook_failed, manage.revoked; location "manage:NAME"; fp (may be NULL) the
 * certificate concerned; detail a JSON object text (may be NULL).
 */
int cl_store_managed_event(struct cl_store *s, const char *type, const char *name,
                           const char *fp, const char *detail, int64_t now);

/* Keeps the text of a spec file as applied (renew and serve reconcile it). */
int cl_store_managed_spec_put(struct cl_store *s, const char *source, const char *text,
                              int64_t now);
/* Streams the specs kept, by source. */
int cl_store_managed_specs(struct cl_store *s,
                           int (*cb)(void *arg, const char *source, const char *text,
                                     int64_t applied_at), void *arg);

/* ---- metrics ----------------------------------------------------------- */

/* One present certificate at one location, as /metrics exports it. */
struct cl_metric_row {
	const char *fp, *subject_cn, *issuer_cn, *location;
	const char *owner, *environment;   /* "" when unset */
	int64_t not_before, not_after;
};

/*
 * Streams every present (certificate, location) pair, at most limit
 * (0 = all) in a stable order (soonest expiry first, so a bound drops the
 * least urgent); *total receives the number there are (may be NULL).
 */
int cl_store_metric_series(struct cl_store *s, long limit,
                           int (*cb)(void *arg, const struct cl_metric_row *r), void *arg,
                           long *total);

/* Open findings by rule and severity. */
int cl_store_finding_counts(struct cl_store *s,
                            int (*cb)(void *arg, const char *rule, const char *severity,
                                      long n),
                            void *arg);

/* Severity rank: info 0, warning 1, error 2, critical 3; -1 unknown. */
int cl_severity_rank(const char *sev);

#endif
