/*
 * The embedded SQLite backend of the inventory store: WAL mode, versioned
 * migrations applied on open, every write inside a transaction, prepared
 * statements cached per handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <jansson.h>
#include "core/buf.h"
#include "core/util.h"
#include "store/backend.h"
#include "store/schema.h"
#include "store/sqlite_int.h"

#define SQ_SCHEMA_VERSION ((int)CL_ARRAY_LEN(cl_sqlite_migrations))


static const char *const stmt_sql[ST_COUNT] = {
	[ST_CERT_BY_FP] = "SELECT id FROM certs WHERE fp=?1",
	[ST_CERT_INSERT] =
	"INSERT INTO certs(fp,serial,subject,subject_cn,issuer,issuer_cn,sans,not_before,"
	"not_after,key_type,key_oid,key_bits,curve,sig_alg,is_ca,path_len,self_signed,"
	"key_usage,eku,ski,aki,ocsp,ca_issuers,crl,sct_count,spki_sha256,version,first_seen,present)"
	" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,"
	"?22,?23,?24,?25,?26,?27,?28,1)",
	[ST_DER_INSERT] = "INSERT INTO cert_der(cert_id,der) VALUES(?1,?2)",
	[ST_LISTING_BOUNDS] =
	"SELECT upto, horizon, (SELECT ifnull(max(id), 0) FROM certs) FROM listing_bounds",
	[ST_PLACE_GET] = "SELECT id, created_run FROM places WHERE kind=?1 AND loc=?2",
	[ST_PLACE_INSERT] = "INSERT INTO places(kind,loc,created_run) VALUES(?1,?2,?3)",
	[ST_SIGHT_GET] = "SELECT state FROM sightings WHERE cert_id=?1 AND place_id=?2",
	[ST_SIGHT_INSERT] =
	"INSERT INTO sightings(cert_id,place_id,state,first_seen,last_seen,last_run,detail)"
	" VALUES(?1,?2,'present',?3,?3,?4,?5)",
	[ST_SIGHT_REFRESH] =
	"UPDATE sightings SET state='present', last_seen=?3, last_run=?4, detail=?5,"
	" gone_at=NULL WHERE cert_id=?1 AND place_id=?2",
	[ST_CERT_SET_PRESENT] = "UPDATE certs SET present=1 WHERE id=?1 AND present=0",
	[ST_CERT_RECOMPUTE_PRESENT] =
	"UPDATE certs SET present=EXISTS(SELECT 1 FROM sightings WHERE cert_id=?1"
	" AND state='present') WHERE id=?1",
	[ST_PLACE_META] = "SELECT owner, environment, tags FROM places WHERE id=?1",
	[ST_PREV_CERT_META] =
	"SELECT c.owner, c.environment, c.tags, c.fp FROM sightings s JOIN certs c ON c.id=s.cert_id"
	" WHERE s.place_id=?1 AND c.id<>?2 AND (c.owner IS NOT NULL OR c.environment IS NOT NULL"
	" OR c.tags<>'') ORDER BY s.last_seen DESC, c.not_before DESC LIMIT 1",
	[ST_CERT_SET_META] = "UPDATE certs SET owner=?2, environment=?3, tags=?4 WHERE id=?1",
	[ST_EVENT_INSERT] =
	"INSERT INTO events(ts,type,fp,cert_id,location,actor,detail)"
	" VALUES(?1,?2,?3,(SELECT id FROM certs WHERE fp=?3),?4,?5,?6)",
	[ST_STALE_SIGHTINGS] =
	"SELECT s.cert_id, c.fp FROM sightings s JOIN certs c ON c.id=s.cert_id"
	" WHERE s.place_id=?1 AND s.state='present' AND s.last_run<>?2",
	[ST_SIGHT_GONE] =
	"UPDATE sightings SET state='gone', gone_at=?3 WHERE cert_id=?1 AND place_id=?2",
	[ST_KEY_GET] = "SELECT id, state FROM keys WHERE place_id=?1 AND spki_sha256=?2",
	[ST_KEY_INSERT] =
	"INSERT INTO keys(place_id,spki_sha256,key_type,key_bits,encrypted,container,mode,uid,"
	"state,first_seen,last_seen,last_run) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'present',?9,?9,?10)",
	[ST_KEY_REFRESH] =
	"UPDATE keys SET state='present', gone_at=NULL, last_seen=?2, last_run=?3, mode=?4,"
	" uid=?5, key_type=?6, key_bits=?7, encrypted=?8, container=?9 WHERE id=?1",
	[ST_STALE_KEYS] =
	"SELECT id, spki_sha256 FROM keys WHERE place_id=?1 AND state='present' AND last_run<>?2",
	[ST_KEY_GONE] = "UPDATE keys SET state='gone', gone_at=?2 WHERE id=?1",
	[ST_FINDING_GET] =
	"SELECT id FROM findings WHERE rule=?1 AND target=?2 AND fp=?3 AND resolved_at IS NULL",
	[ST_FINDING_INSERT] =
	"INSERT INTO findings(rule,severity,target,fp,message,first_seen,last_seen,last_run)"
	" VALUES(?1,?2,?3,?4,?5,?6,?6,?7)",
	[ST_FINDING_REFRESH] =
	"UPDATE findings SET severity=?2, message=?3, last_seen=?4, last_run=?5 WHERE id=?1",
	[ST_FINDING_STALE] =
	"SELECT id, rule, fp FROM findings WHERE target=?1 AND resolved_at IS NULL"
	" AND substr(rule,1,length(?2))=?2 AND last_run<>?3",
	[ST_FINDING_RESOLVE] = "UPDATE findings SET resolved_at=?2 WHERE id=?1",
	[ST_EP_GET] = "SELECT status, leaf_fp, first_seen, unreachable_since, last_ok"
	              " FROM endpoints WHERE place_id=?1",
	[ST_EP_OK] =
		"INSERT INTO endpoints(place_id,address,port,sni,hostname,status,error,starttls,"
		"tls_version,cipher,grp,alpn,ocsp_stapled,leaf_fp,chain,verify,verify_detail,"
		"first_seen,last_seen,last_ok,unreachable_since,last_run) VALUES(?1,?2,?3,?4,?5,?6,"
		"?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?18,"
		"CASE WHEN ?6='ok' THEN ?18 END,CASE WHEN ?6<>'ok' THEN ?18 END,?19)"
		" ON CONFLICT(place_id) DO UPDATE SET hostname=excluded.hostname,"
		" status=excluded.status, error=excluded.error, starttls=excluded.starttls,"
		" tls_version=excluded.tls_version, cipher=excluded.cipher, grp=excluded.grp,"
		" alpn=excluded.alpn, ocsp_stapled=excluded.ocsp_stapled, leaf_fp=excluded.leaf_fp,"
		" chain=excluded.chain, verify=excluded.verify, verify_detail=excluded.verify_detail,"
		" last_seen=excluded.last_seen, last_ok=COALESCE(excluded.last_ok, last_ok),"
		" unreachable_since=CASE WHEN excluded.status='ok' THEN NULL"
		" ELSE COALESCE(unreachable_since, excluded.last_seen) END,"
		" last_run=excluded.last_run",
	[ST_RSA_INSERT] = "INSERT OR REPLACE INTO rsa_keys(cert_id,e,roca) VALUES(?1,?2,?3)",
	[ST_EP_TIMES] = "SELECT first_seen, last_seen, unreachable_since FROM endpoints"
	                " WHERE place_id=?1",
	/* a failure without a handshake: no TLS parameters any more, but the
	 * last certificate served stays known (leaf_fp, chain, last_ok) */
	[ST_EP_FAIL] =
		"INSERT INTO endpoints(place_id,address,port,sni,hostname,status,error,starttls,"
		"first_seen,last_seen,unreachable_since,last_run) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
		"?9,?9,?9,?10) ON CONFLICT(place_id) DO UPDATE SET hostname=excluded.hostname,"
		" status=excluded.status, error=excluded.error, starttls=excluded.starttls,"
		" tls_version=NULL, cipher=NULL, grp=NULL, alpn=NULL, ocsp_stapled=NULL,"
		" verify=NULL, verify_detail=NULL, last_seen=excluded.last_seen,"
		" unreachable_since=COALESCE(unreachable_since, excluded.last_seen),"
		" last_run=excluded.last_run",
};



/* ---- plumbing ------------------------------------------------------ */

int cl_sq_rc(struct sq_store *q, int src, const char *what)
{
	int rc;

	switch (src) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: rc = CL_ERR_BUSY; break;
	case SQLITE_READONLY: rc = CL_ERR_READONLY; break;
	case SQLITE_NOMEM: rc = CL_ERR_NOMEM; break;
	case SQLITE_FULL:
	case SQLITE_IOERR: rc = CL_ERR_IO; break;
	default: rc = CL_ERR; break;
	}
	if (rc == CL_ERR_BUSY)
		return cl_store_fail(&q->base, rc, "%s: database is locked by another process"
		                     " (%s); try again when it has finished", q->path, what);
	if (rc == CL_ERR_READONLY)
		return cl_store_fail(&q->base, rc, "%s: database is read-only (%s)", q->path, what);
	return cl_store_fail(&q->base, rc, "%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
}

/* Returns the cached statement, reset and with bindings cleared. */
sqlite3_stmt *cl_sq_stmt(struct sq_store *q, enum sq_stmt id)
{
	sqlite3_stmt *st = q->st[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                       &q->st[id], NULL) != SQLITE_OK) {
			cl_sq_rc(q, sqlite3_errcode(q->db), "prepare");
			return NULL;
		}
		return q->st[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

sqlite3_stmt *cl_sq_prep(struct sq_store *q, enum sq_ext_stmt slot, const char *sql)
{
	sqlite3_stmt *st = q->ext[slot];

	if (st == NULL) {
		if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->ext[slot],
		                       NULL) != SQLITE_OK) {
			cl_sq_rc(q, sqlite3_errcode(q->db), "prepare");
			return NULL;
		}
		return q->ext[slot];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int cl_sq_exec(struct sq_store *q, const char *sql)
{
	int src = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return src == SQLITE_OK ? CL_OK : cl_sq_rc(q, src, sql);
}

void cl_sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no rows. */
int cl_sq_done(struct sq_store *q, sqlite3_stmt *st, const char *what)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	return src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, what);
}

/* Transactions: methods called outside cl_store_begin wrap themselves. */
int cl_sq_auto_begin(struct sq_store *q, bool *mine)
{
	int rc;

	*mine = false;
	if (q->in_txn)
		return CL_OK;
	if ((rc = cl_sq_exec(q, "BEGIN IMMEDIATE")) != CL_OK)
		return rc;
	*mine = true;
	return CL_OK;
}

int cl_sq_auto_end(struct sq_store *q, bool mine, int rc)
{
	if (!mine)
		return rc;
	if (rc == CL_OK)
		return cl_sq_exec(q, "COMMIT");
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int cl_sq_event(struct sq_store *q, int64_t now, const char *type, const char *fp,
                    const char *location, const char *detail)
{
	sqlite3_stmt *st = cl_sq_stmt(q, ST_EVENT_INSERT);

	if (!st)
		return CL_ERR;
	sqlite3_bind_int64(st, 1, now);
	cl_sq_bind_text(st, 2, type);
	cl_sq_bind_text(st, 3, fp);
	cl_sq_bind_text(st, 4, location);
	cl_sq_bind_text(st, 5, q->actor);
	cl_sq_bind_text(st, 6, detail);
	return cl_sq_done(q, st, "record event");
}

/* "kind:where" into buf (truncated only beyond PATH_MAX-ish lengths). */
static char *loc_str(struct cl_buf *b, const char *kind, const char *where)
{
	cl_buf_reset(b);
	if (cl_buf_printf(b, "%s:%s", kind, where) != CL_OK)
		return NULL;
	return b->data;
}

/* ---- SQL functions --------------------------------------------------- */

static void fn_glob(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *pat = (const char *)sqlite3_value_text(argv[0]);
	const char *s = (const char *)sqlite3_value_text(argv[1]);

	(void)argc;
	sqlite3_result_int(ctx, pat && s && cl_glob(pat, s));
}

/*
 * san_match(pattern, sans): true when a line of sans matches pattern,
 * either whole ("DNS:*.example.com") or after its "TYPE:" prefix.
 */
static void fn_san_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *pat = (const char *)sqlite3_value_text(argv[0]);
	const char *s = (const char *)sqlite3_value_text(argv[1]);
	const char *nl, *colon;
	char small[512], *line;
	size_t n;
	bool hit;

	(void)argc;
	while (pat && s && *s) {
		nl = strchr(s, '\n');
		n = nl ? (size_t)(nl - s) : strlen(s);
		/* SANs have no length limit: long ones are copied to the heap */
		if ((line = n < sizeof small ? small : malloc(n + 1)) == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		colon = strchr(line, ':');
		hit = cl_glob(pat, line) || (colon && cl_glob(pat, colon + 1));
		if (line != small)
			free(line);
		if (hit) {
			sqlite3_result_int(ctx, 1);
			return;
		}
		s += n;
		if (*s == '\n')
			s++;
	}
	sqlite3_result_int(ctx, 0);
}

/* ---- open / close / migrations ---------------------------------------- */

static bool sq_claims(const char *uri, const char **path)
{
	if (strncmp(uri, "sqlite:", 7) == 0) {
		*path = uri + 7;
		return true;
	}
	if (strstr(uri, "://") != NULL)
		return false;
	*path = uri;
	return true;
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int sq_migrate(struct sq_store *q, bool rdonly)
{
	sqlite3_stmt *st = NULL;
	int version = 0, appid = 0, rc, i;
	char sql[64];

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_NOTADB)
			return cl_store_fail(&q->base, CL_ERR_SCHEMA,
			                     "%s: not a certledger database (not SQLite)", q->path);
		return cl_sq_rc(q, rc, "read schema version");
	}
	if (sqlite3_prepare_v2(q->db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			appid = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version == 0 && appid == 0 &&
	    sqlite3_prepare_v2(q->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0)
			appid = -1;  /* tables, but none of ours: someone else's database */
		sqlite3_finalize(st);
	}
	if ((version > 0 || appid != 0) && appid != CL_SQLITE_APP_ID)
		return cl_store_fail(&q->base, CL_ERR_SCHEMA,
		                     "%s: an SQLite database, but not a certledger inventory; "
		                     "refusing to touch it", q->path);
	if (version > SQ_SCHEMA_VERSION)
		return cl_store_fail(&q->base, CL_ERR_SCHEMA,
		                     "%s: written by a newer certledger (schema version %d; this "
		                     "build understands up to %d); upgrade certledger", q->path,
		                     version, SQ_SCHEMA_VERSION);
	if (version == SQ_SCHEMA_VERSION)
		return CL_OK;
	if (rdonly)
		return cl_store_fail(&q->base, CL_ERR_SCHEMA,
		                     "%s: schema version %d needs upgrading to %d; run a command "
		                     "that writes (e.g. discover) first", q->path, version,
		                     SQ_SCHEMA_VERSION);
	if ((rc = cl_sq_exec(q, "BEGIN IMMEDIATE")) != CL_OK)
		return rc;
	for (i = version; i < SQ_SCHEMA_VERSION; i++) {
		if ((rc = cl_sq_exec(q, cl_sqlite_migrations[i])) != CL_OK)
			goto fail;
	}
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SQ_SCHEMA_VERSION);
	if ((rc = cl_sq_exec(q, sql)) != CL_OK)
		goto fail;
	snprintf(sql, sizeof sql, "PRAGMA application_id=%d", CL_SQLITE_APP_ID);
	if ((rc = cl_sq_exec(q, sql)) != CL_OK)
		goto fail;
	return cl_sq_exec(q, "COMMIT");
fail:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void sq_close(struct cl_store *s)
{
	struct sq_store *q = SQ(s);
	int i;

	if (q->in_txn)
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	for (i = 0; i < CL_SQX_COUNT; i++)
		sqlite3_finalize(q->ext[i]);
	sqlite3_finalize(q->st_stage);
	sqlite3_finalize(q->st_scope);
	sqlite3_close(q->db);
	free(q->pc_kind);
	free(q->pc_loc);
	free(q->path);
	free(q);
}

static int sq_open(struct cl_store **out, const char *path, unsigned flags,
                   char *err, size_t errlen)
{
	struct sq_store *q;
	struct passwd *pw;
	const char *e;
	struct stat sb;
	int oflags, src, rc = CL_ERR, timeout_ms = 5000;
	bool rdonly = flags & CL_STORE_RDONLY;

	if ((q = calloc(1, sizeof *q)) == NULL || (q->path = strdup(path)) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	q->base.be = &cl_store_sqlite;
	q->readonly = rdonly;
	if ((e = getenv("CERTLEDGER_ACTOR")) && *e)
		snprintf(q->actor, sizeof q->actor, "%s", e);
	else if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(q->actor, sizeof q->actor, "%s", pw->pw_name);
	else
		snprintf(q->actor, sizeof q->actor, "uid:%ld", (long)geteuid());
	if ((e = getenv("CERTLEDGER_BUSY_TIMEOUT_MS")) && *e)
		timeout_ms = atoi(e);

	if (stat(path, &sb) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = CL_ERR_IO;
			goto fail;
		}
		if (rdonly || (flags & CL_STORE_NOCREATE)) {
			snprintf(err, errlen, "%s: no inventory here yet; run 'certledger discover"
			         " files PATH' first, or select one with --db", path);
			rc = CL_ERR_NOTFOUND;
			goto fail;
		}
		if (mkdirs(path) != 0) {
			snprintf(err, errlen, "%s: cannot create its directory: %s", path,
			         strerror(errno));
			rc = CL_ERR_IO;
			goto fail;
		}
		/* owners, paths and findings are nobody else's business: 0600 */
		{
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
		}
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = CL_ERR_IO;
		goto fail;
	}
	oflags = rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	oflags |= SQLITE_OPEN_NOMUTEX;
	if ((src = sqlite3_open_v2(path, &q->db, oflags, NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(src));
		rc = src == SQLITE_CANTOPEN ? CL_ERR_IO : CL_ERR;
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 0);
	sqlite3_busy_timeout(q->db, timeout_ms);
	if (!rdonly && sqlite3_db_readonly(q->db, "main") == 1) {
		snprintf(err, errlen, "%s: database is read-only (file or directory not "
		         "writable); this command needs to write", path);
		rc = CL_ERR_READONLY;
		goto fail;
	}
	sqlite3_create_function(q->db, "cl_glob", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                        fn_glob, NULL, NULL);
	sqlite3_create_function(q->db, "san_match", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                        fn_san_match, NULL, NULL);
	if ((rc = cl_sq_exec(q, "PRAGMA foreign_keys=ON")) != CL_OK ||
	    (rc = cl_sq_exec(q, "PRAGMA cache_size=-65536")) != CL_OK ||
	    (rc = cl_sq_exec(q, "PRAGMA temp_store=MEMORY")) != CL_OK)
		goto fail_msg;
	/* reads go through a memory map: no copy, no syscall per page (writes
	 * still go through the WAL) */
	sqlite3_exec(q->db, "PRAGMA mmap_size=8589934592", NULL, NULL, NULL);
	/* checks the schema before anything is written (someone else's file) */
	if ((rc = sq_migrate(q, rdonly)) != CL_OK)
		goto fail_msg;
	if (!rdonly) {
		if ((rc = cl_sq_exec(q, "PRAGMA journal_mode=WAL")) != CL_OK ||
		    (rc = cl_sq_exec(q, "PRAGMA synchronous=FULL")) != CL_OK)
			goto fail_msg;
	}
	*out = &q->base;
	return CL_OK;
fail_msg:
	snprintf(err, errlen, "%s", q->base.errmsg);
fail:
	sq_close(&q->base);
	return rc;
}

static int sq_begin(struct cl_store *s)
{
	struct sq_store *q = SQ(s);
	int rc;

	if (q->in_txn)
		return cl_store_fail(s, CL_ERR, "transaction already open");
	if ((rc = cl_sq_exec(q, "BEGIN IMMEDIATE")) == CL_OK)
		q->in_txn = true;
	return rc;
}

static int sq_commit(struct cl_store *s)
{
	struct sq_store *q = SQ(s);
	int rc;

	if (!q->in_txn)
		return CL_OK;
	rc = cl_sq_exec(q, "COMMIT");
	if (rc == CL_OK)
		q->in_txn = false;
	return rc;
}

static int sq_rollback(struct cl_store *s)
{
	struct sq_store *q = SQ(s);

	if (!q->in_txn)
		return CL_OK;
	q->in_txn = false;
	free(q->pc_kind);
	free(q->pc_loc);
	q->pc_kind = q->pc_loc = NULL;
	return cl_sq_exec(q, "ROLLBACK");
}

/* ---- runs ---------------------------------------------------------- */

static int sq_run_begin(struct cl_store *s, const char *kind, const char *args,
                        int64_t now, int64_t *run_id)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(q->db, "INSERT INTO runs(kind,args,actor,started,status)"
	                       " VALUES(?1,?2,?3,?4,'running')", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "start run");
	cl_sq_bind_text(st, 1, kind);
	cl_sq_bind_text(st, 2, args);
	cl_sq_bind_text(st, 3, q->actor);
	sqlite3_bind_int64(st, 4, now);
	rc = cl_sq_done(q, st, "start run");
	sqlite3_finalize(st);
	*run_id = sqlite3_last_insert_rowid(q->db);
	return rc;
}

/* The expiry window of the listing, after the end of the last run. */
#define LISTING_WINDOW (100 * 86400)

struct listing_bounds {
	int64_t upto;     /* certs rows with id <= upto ... */
	int64_t horizon;  /* ... and not_after <= horizon are listed */
	int64_t max;      /* the highest id in certs */
};

static int listing_bounds(struct sq_store *q, struct listing_bounds *lb)
{
	sqlite3_stmt *st = cl_sq_stmt(q, ST_LISTING_BOUNDS);
	int src;

	lb->upto = lb->horizon = lb->max = -1;
	if (!st)
		return CL_ERR;
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		lb->upto = sqlite3_column_int64(st, 0);
		lb->horizon = sqlite3_column_int64(st, 1);
		lb->max = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return src == SQLITE_ROW || src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, "read the listing");
}

/*
 * Brings the listing (store/schema.h) up to date at the end of a run: the
 * certificates added since the last one and those entering the window
 * join it in one pass in key order (the order of the certs_expiry index:
 * no sorter), instead of a B-tree insert at a random place per
 * certificate while the writer thread is busy.
 */
static int listing_flush(struct sq_store *q, int64_t now)
{
	struct listing_bounds lb;
	sqlite3_stmt *st;
	int64_t horizon;
	int rc;

	if ((rc = listing_bounds(q, &lb)) != CL_OK)
		return rc;
	horizon = now + LISTING_WINDOW > lb.horizon ? now + LISTING_WINDOW : lb.horizon;
	if (lb.max <= lb.upto && horizon == lb.horizon)
		return CL_OK;
	if (sqlite3_prepare_v2(q->db, "INSERT INTO listing SELECT * FROM certs INDEXED BY"
	                       " certs_expiry WHERE present IN (0, 1) AND not_after<=?1 AND"
	                       " (id>?2 OR not_after>?3) ORDER BY present, not_after", -1, &st,
	                       NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "update the listing");
	sqlite3_bind_int64(st, 1, horizon);
	sqlite3_bind_int64(st, 2, lb.upto);
	sqlite3_bind_int64(st, 3, lb.horizon);
	rc = cl_sq_done(q, st, "update the listing");
	sqlite3_finalize(st);
	if (rc != CL_OK)
		return rc;
	if (sqlite3_prepare_v2(q->db, "UPDATE meta SET value=CASE key WHEN 'listing_upto' THEN ?1"
	                       " ELSE ?2 END WHERE key IN ('listing_upto', 'listing_horizon')", -1,
	                       &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "update the listing");
	sqlite3_bind_int64(st, 1, lb.max);
	sqlite3_bind_int64(st, 2, horizon);
	rc = cl_sq_done(q, st, "update the listing");
	sqlite3_finalize(st);
	return rc;
}

/* Ends the run; the certificates it added join the listing. */
static int sq_run_end(struct cl_store *s, int64_t run_id, const char *status,
                      const char *stats_json, int64_t now)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	if (sqlite3_prepare_v2(q->db, "UPDATE runs SET finished=?2, status=?3, stats=?4"
	                       " WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_auto_end(q, mine, cl_sq_rc(q, sqlite3_errcode(q->db), "finish run"));
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, now);
	cl_sq_bind_text(st, 3, status);
	cl_sq_bind_text(st, 4, stats_json);
	rc = cl_sq_done(q, st, "finish run");
	sqlite3_finalize(st);
	if (rc == CL_OK)
		rc = listing_flush(q, now);
	return cl_sq_auto_end(q, mine, rc);
}

/* ---- JSON text -------------------------------------------------------------- */

/*
 * JSON text without a tree per value (jansson costs several times more):
 * the rows of `ls --format json` and the details of the most frequent
 * events. Strings are escaped as SQLite's JSON functions do. Every value
 * reserves its worst case first, then is written without further checks;
 * a failed reservation sets err.
 */
struct jenc {
	char *p;
	size_t len, cap;
	int err;
	int64_t tcache[2];  /* times repeat (a run's first/last seen): last two formatted */
	char tstr[2][24];
};

static bool j_need(struct jenc *j, size_t n)
{
	size_t cap = j->cap ? j->cap : 4096;
	char *np;

	if (j->err != CL_OK)
		return false;
	if (j->len + n <= j->cap)
		return true;
	while (cap < j->len + n)
		cap *= 2;
	if (cap > (256u << 20) || !(np = realloc(j->p, cap))) {
		j->err = CL_ERR_NOMEM;
		return false;
	}
	j->p = np;
	j->cap = cap;
	return true;
}

static void j_raw(struct jenc *j, const char *s, size_t n)
{
	if (j_need(j, n)) {
		memcpy(j->p + j->len, s, n);
		j->len += n;
	}
}

#define J_LIT(j, lit) j_raw((j), (lit), sizeof(lit) - 1)
/* ,"key": (keys after the first of an object) */
#define J_KEY(j, key) J_LIT((j), ",\"" key "\":")

/* Word tricks (Hacker's Delight, "bit twiddling hacks"): nonzero when some
 * byte of w is zero, or less than n (n <= 128). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS (ONES * 0x80)
#define HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

/* A JSON string of s[0..n): the worst case is 6 bytes per input byte. */
static void j_strn(struct jenc *j, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef", short_esc[32] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	};
	size_t i, run = 0;
	char *o;

	if (n > SIZE_MAX / 8 || !j_need(j, 6 * n + 2))
		return;
	o = j->p + j->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c;
		/* skips 8 bytes at a time while none is a control, '"' or '\\' */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (HAS_LESS(w, 0x20) | HAS_ZERO(w ^ ONES * '"') | HAS_ZERO(w ^ ONES * '\\'))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		memcpy(o, s + run, i - run);
		o += i - run;
		run = i + 1;
		*o++ = '\\';
		if (c == '"' || c == '\\') {
			*o++ = (char)c;
		} else if (short_esc[c]) {
			*o++ = short_esc[c];
		} else {
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	memcpy(o, s + run, n - run);
	o += n - run;
	*o++ = '"';
	j->len = (size_t)(o - j->p);
}

/* A string value, or null. */
static void j_str(struct jenc *j, const char *s)
{
	if (s)
		j_strn(j, s, strlen(s));
	else
		J_LIT(j, "null");
}

static void j_int(struct jenc *j, int64_t v)
{
	char num[24], *e = num + sizeof num, *p = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	j_raw(j, p, (size_t)(e - p));
}

static void j_time(struct jenc *j, int64_t t)
{
	int k = t == j->tcache[0] ? 0 : t == j->tcache[1] ? 1 : -1;

	if (k < 0) {
		/* keep the most recent in slot 0 */
		j->tcache[1] = j->tcache[0];
		memcpy(j->tstr[1], j->tstr[0], sizeof j->tstr[0]);
		j->tcache[0] = t;
		cl_time_fmt(j->tstr[0], sizeof j->tstr[0], t);
		k = 0;
	}
	j_strn(j, j->tstr[k], strlen(j->tstr[k]));
}

/* A list column stored delimited by sep: its non-empty pieces. */
static void j_list(struct jenc *j, const char *s, char sep)
{
	const char *e;
	bool first = true;

	J_LIT(j, "[");
	while (s && *s) {
		size_t n = (e = strchr(s, sep)) ? (size_t)(e - s) : strlen(s);
		if (n) {
			if (!first)
				J_LIT(j, ",");
			j_strn(j, s, n);
			first = false;
		}
		s += n + (e != NULL);
	}
	J_LIT(j, "]");
}

/*
 * An event detail of string members (NULL values: null), keys in the
 * order given (callers list them sorted, as JSON_SORT_KEYS did). NULL when
 * a value is not valid UTF-8 or memory runs out: no detail, as jansson
 * gave. free() the result.
 */
static char *detail_strs(const char *const *kv, size_t n)
{
	struct jenc j = { 0 };
	size_t i;

	J_LIT(&j, "{");
	for (i = 0; i < n; i++) {
		const char *k = kv[2 * i], *v = kv[2 * i + 1];
		if (v && !cl_utf8_valid(v, strlen(v))) {
			free(j.p);
			return NULL;
		}
		if (i)
			J_LIT(&j, ",");
		j_str(&j, k);
		J_LIT(&j, ":");
		j_str(&j, v);
	}
	j_raw(&j, "}", 2);  /* with the NUL */
	if (j.err != CL_OK) {
		free(j.p);
		return NULL;
	}
	return j.p;
}

/* ---- ingestion --------------------------------------------------------- */

/*
 * Finds (or, when create, creates) the place kind:loc. Sets *id to 0 when
 * absent and !create. *created_run receives the run that created it.
 */
static int place_lookup(struct sq_store *q, const char *kind, const char *loc, bool create,
                        int64_t run_id, int64_t *id, int64_t *created_run)
{
	sqlite3_stmt *st;
	int src, rc;

	if (q->pc_kind && strcmp(q->pc_kind, kind) == 0 && strcmp(q->pc_loc, loc) == 0) {
		*id = q->pc_id;
		*created_run = q->pc_created_run;
		return CL_OK;
	}
	if (!(st = cl_sq_stmt(q, ST_PLACE_GET)))
		return CL_ERR;
	cl_sq_bind_text(st, 1, kind);
	cl_sq_bind_text(st, 2, loc);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*created_run = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	} else if (src != SQLITE_DONE) {
		return cl_sq_rc(q, src, "look up location");
	} else {
		sqlite3_reset(st);
		*id = 0;
		*created_run = 0;
		if (!create)
			return CL_OK;
		if (!(st = cl_sq_stmt(q, ST_PLACE_INSERT)))
			return CL_ERR;
		cl_sq_bind_text(st, 1, kind);
		cl_sq_bind_text(st, 2, loc);
		sqlite3_bind_int64(st, 3, run_id);
		if ((rc = cl_sq_done(q, st, "add location")) != CL_OK)
			return rc;
		*id = sqlite3_last_insert_rowid(q->db);
		*created_run = run_id;
	}
	free(q->pc_kind);
	free(q->pc_loc);
	q->pc_kind = strdup(kind);
	q->pc_loc = strdup(loc);
	if (!q->pc_kind || !q->pc_loc) {
		free(q->pc_kind);
		free(q->pc_loc);
		q->pc_kind = q->pc_loc = NULL;
	}
	q->pc_id = *id;
	q->pc_created_run = *created_run;
	return CL_OK;
}

/* Joins a string list with '\n' into b (reset first); NULL when empty. */
static const char *join_lines(struct cl_buf *b, const struct cl_strv *v)
{
	size_t i;

	cl_buf_reset(b);
	if (v->n == 0)
		return NULL;
	for (i = 0; i < v->n; i++) {
		if ((i && cl_buf_addc(b, '\n') != CL_OK) || cl_buf_addstr(b, v->v[i]) != CL_OK)
			return NULL;
	}
	return b->data;
}

static int cert_insert(struct sq_store *q, const struct cl_cert *c, const char *fp,
                       int64_t now, int64_t *id)
{
	struct cl_buf sans, ocsp, cai, crl;
	char spki[2 * CL_SHA256_LEN + 1];
	sqlite3_stmt *st;
	int rc = CL_ERR_NOMEM;

	cl_buf_init(&sans, 1 << 20);
	cl_buf_init(&ocsp, 1 << 16);
	cl_buf_init(&cai, 1 << 16);
	cl_buf_init(&crl, 1 << 16);
	cl_hex(spki, c->spki_sha256, CL_SHA256_LEN);
	if (!(st = cl_sq_stmt(q, ST_CERT_INSERT))) {
		rc = CL_ERR;
		goto out;
	}
	cl_sq_bind_text(st, 1, fp);
	cl_sq_bind_text(st, 2, c->serial);
	cl_sq_bind_text(st, 3, c->subject);
	cl_sq_bind_text(st, 4, c->subject_cn);
	cl_sq_bind_text(st, 5, c->issuer);
	cl_sq_bind_text(st, 6, c->issuer_cn);
	sqlite3_bind_text(st, 7, c->sans.n ? join_lines(&sans, &c->sans) : "", -1, SQLITE_STATIC);
	if (c->sans.n && sans.data == NULL)
		goto out;
	sqlite3_bind_int64(st, 8, c->not_before);
	sqlite3_bind_int64(st, 9, c->not_after);
	cl_sq_bind_text(st, 10, c->key_type);
	cl_sq_bind_text(st, 11, c->key_oid);
	sqlite3_bind_int(st, 12, c->key_bits);
	cl_sq_bind_text(st, 13, c->curve);
	cl_sq_bind_text(st, 14, c->sig_alg);
	sqlite3_bind_int(st, 15, c->is_ca);
	sqlite3_bind_int(st, 16, c->path_len);
	sqlite3_bind_int(st, 17, c->self_signed);
	cl_sq_bind_text(st, 18, c->key_usage);
	cl_sq_bind_text(st, 19, c->eku);
	cl_sq_bind_text(st, 20, c->ski);
	cl_sq_bind_text(st, 21, c->aki);
	cl_sq_bind_text(st, 22, join_lines(&ocsp, &c->ocsp));
	cl_sq_bind_text(st, 23, join_lines(&cai, &c->ca_issuers));
	cl_sq_bind_text(st, 24, join_lines(&crl, &c->crl));
	sqlite3_bind_int(st, 25, c->sct_count);
	cl_sq_bind_text(st, 26, spki);
	sqlite3_bind_int(st, 27, c->version);
	sqlite3_bind_int64(st, 28, now);
	if ((rc = cl_sq_done(q, st, "add certificate")) != CL_OK)
		goto out;
	*id = sqlite3_last_insert_rowid(q->db);
	if (!(st = cl_sq_stmt(q, ST_DER_INSERT))) {
		rc = CL_ERR;
		goto out;
	}
	sqlite3_bind_int64(st, 1, *id);
	sqlite3_bind_blob(st, 2, c->der, (int)c->der_len, SQLITE_STATIC);
	if ((rc = cl_sq_done(q, st, "add certificate encoding")) != CL_OK || c->rsa_e == 0)
		goto out;
	if (!(st = cl_sq_stmt(q, ST_RSA_INSERT))) {
		rc = CL_ERR;
		goto out;
	}
	sqlite3_bind_int64(st, 1, *id);
	sqlite3_bind_int64(st, 2, c->rsa_e);
	sqlite3_bind_int(st, 3, c->rsa_roca);
	rc = cl_sq_done(q, st, "add RSA key facts");
out:
	cl_buf_free(&sans);
	cl_buf_free(&ocsp);
	cl_buf_free(&cai);
	cl_buf_free(&crl);
	return rc;
}

static char *json_detail(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	return s;
}

/*
 * A new certificate at place_id takes the owner, environment and tags of
 * the place, or else of the previous certificate seen there.
 */
static int cert_inherit(struct sq_store *q, int64_t cert_id, const char *fp, int64_t place_id,
                        const char *location, int64_t now)
{
	sqlite3_stmt *st;
	const char *owner = NULL, *env = NULL, *tags = NULL, *from = "location";
	char *o = NULL, *e = NULL, *t = NULL, *detail = NULL, prev_fp[80] = "";
	int src, rc = CL_OK;

	if (!(st = cl_sq_stmt(q, ST_PLACE_META)))
		return CL_ERR;
	sqlite3_bind_int64(st, 1, place_id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		owner = (const char *)sqlite3_column_text(st, 0);
		env = (const char *)sqlite3_column_text(st, 1);
		tags = (const char *)sqlite3_column_text(st, 2);
	} else if (src != SQLITE_DONE) {
		return cl_sq_rc(q, src, "read location metadata");
	}
	if (!owner && !env && (!tags || !*tags)) {
		sqlite3_reset(st);  /* invalidates the column pointers */
		owner = env = tags = NULL;
		if (!(st = cl_sq_stmt(q, ST_PREV_CERT_META)))
			return CL_ERR;
		sqlite3_bind_int64(st, 1, place_id);
		sqlite3_bind_int64(st, 2, cert_id);
		if ((src = sqlite3_step(st)) == SQLITE_ROW) {
			owner = (const char *)sqlite3_column_text(st, 0);
			env = (const char *)sqlite3_column_text(st, 1);
			tags = (const char *)sqlite3_column_text(st, 2);
			snprintf(prev_fp, sizeof prev_fp, "%s", sqlite3_column_text(st, 3));
			from = "previous certificate";
		} else if (src != SQLITE_DONE) {
			return cl_sq_rc(q, src, "read previous certificate");
		}
	}
	if (!owner && !env && (!tags || !*tags)) {
		sqlite3_reset(st);
		return CL_OK;
	}
	o = owner ? strdup(owner) : NULL;
	e = env ? strdup(env) : NULL;
	t = strdup(tags ? tags : "");
	sqlite3_reset(st);
	if ((owner && !o) || (env && !e) || !t) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if (!(st = cl_sq_stmt(q, ST_CERT_SET_META))) {
		rc = CL_ERR;
		goto out;
	}
	sqlite3_bind_int64(st, 1, cert_id);
	cl_sq_bind_text(st, 2, o);
	cl_sq_bind_text(st, 3, e);
	cl_sq_bind_text(st, 4, t);
	if ((rc = cl_sq_done(q, st, "inherit owner")) != CL_OK)
		goto out;
	detail = json_detail(json_pack("{s:s?,s:s?,s:s,s:s,s:s?}", "owner", o, "environment", e,
	                               "tags", t, "inherited_from", from, "previous_fp",
	                               prev_fp[0] ? prev_fp : NULL));
	rc = cl_sq_event(q, now, "cert.tagged", fp, location, detail);
out:
	free(o);
	free(e);
	free(t);
	free(detail);
	return rc;
}

static int sq_observe_cert(struct cl_store *s, int64_t run_id, const struct cl_cert *c,
                           const char *kind, const char *where, const char *detail,
                           int64_t now, unsigned *what)
{
	struct sq_store *q = SQ(s);
	char fp[2 * CL_SHA256_LEN + 1], tbuf[40], *ev = NULL;
	int64_t cert_id = 0, place_id, created_run;
	const char *state = NULL, *location;
	struct cl_buf lb;
	sqlite3_stmt *st;
	bool mine;
	int rc, src;

	*what = 0;
	cl_buf_init(&lb, 1 << 16);
	cl_hex(fp, c->fp, CL_SHA256_LEN);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	rc = CL_ERR;
	if (!(location = loc_str(&lb, kind, where))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if (!(st = cl_sq_stmt(q, ST_CERT_BY_FP)))
		goto out;
	cl_sq_bind_text(st, 1, fp);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		cert_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "look up certificate");
		goto out;
	}
	if (cert_id == 0) {
		if ((rc = cert_insert(q, c, fp, now, &cert_id)) != CL_OK)
			goto out;
		*what |= CL_OBS_NEW_CERT;
	}
	if ((rc = place_lookup(q, kind, where, true, run_id, &place_id, &created_run)) != CL_OK)
		goto out;
	rc = CL_ERR;
	if (!(*what & CL_OBS_NEW_CERT) && created_run != run_id) {
		if (!(st = cl_sq_stmt(q, ST_SIGHT_GET)))
			goto out;
		sqlite3_bind_int64(st, 1, cert_id);
		sqlite3_bind_int64(st, 2, place_id);
		src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			state = strcmp((const char *)sqlite3_column_text(st, 0), "present") == 0
			        ? "present" : "gone";
		sqlite3_reset(st);
		if (src != SQLITE_ROW && src != SQLITE_DONE) {
			rc = cl_sq_rc(q, src, "look up sighting");
			goto out;
		}
	}
	if (!(st = cl_sq_stmt(q, state ? ST_SIGHT_REFRESH : ST_SIGHT_INSERT)))
		goto out;
	sqlite3_bind_int64(st, 1, cert_id);
	sqlite3_bind_int64(st, 2, place_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, run_id);
	cl_sq_bind_text(st, 5, detail);
	if ((rc = cl_sq_done(q, st, "record sighting")) != CL_OK)
		goto out;
	if (!state)
		*what |= CL_OBS_NEW_SIGHTING;
	else if (strcmp(state, "gone") == 0)
		*what |= CL_OBS_BACK;
	if ((*what & (CL_OBS_NEW_SIGHTING | CL_OBS_BACK)) && !(*what & CL_OBS_NEW_CERT)) {
		if (!(st = cl_sq_stmt(q, ST_CERT_SET_PRESENT))) {
			rc = CL_ERR;
			goto out;
		}
		sqlite3_bind_int64(st, 1, cert_id);
		if ((rc = cl_sq_done(q, st, "mark present")) != CL_OK)
			goto out;
	}
	if (*what & CL_OBS_NEW_CERT) {
		const char *kv[] = { "container", detail, "issuer", c->issuer, "not_after",
		                     cl_time_fmt(tbuf, sizeof tbuf, c->not_after),
		                     "subject", c->subject };
		ev = detail_strs(kv, CL_ARRAY_LEN(kv) / 2);
		if ((rc = cl_sq_event(q, now, "cert.new", fp, location, ev)) != CL_OK)
			goto out;
		/* a location created by this run has no owner and no history */
		if (created_run != run_id)
			rc = cert_inherit(q, cert_id, fp, place_id, location, now);
	} else if (*what & CL_OBS_NEW_SIGHTING) {
		const char *kv[] = { "container", detail };
		ev = detail_strs(kv, 1);
		rc = cl_sq_event(q, now, "location.new", fp, location, ev);
	} else if (*what & CL_OBS_BACK) {
		rc = cl_sq_event(q, now, "location.back", fp, location, NULL);
	}
out:
	free(ev);
	cl_buf_free(&lb);
	return cl_sq_auto_end(q, mine, rc);
}

static int sq_observe_key(struct cl_store *s, int64_t run_id, const struct cl_key_obs *k,
                          const char *kind, const char *where, int64_t now, bool *is_new)
{
	struct sq_store *q = SQ(s);
	int64_t place_id, created_run, key_id = 0;
	const char *spki = k->spki_sha256 ? k->spki_sha256 : "";
	struct cl_buf lb;
	bool mine, gone = false;
	sqlite3_stmt *st;
	char *ev = NULL;
	int rc, src;

	*is_new = false;
	cl_buf_init(&lb, 1 << 16);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	if ((rc = place_lookup(q, kind, where, true, run_id, &place_id, &created_run)) != CL_OK)
		goto out;
	rc = CL_ERR;
	if (created_run != run_id) {
		if (!(st = cl_sq_stmt(q, ST_KEY_GET)))
			goto out;
		sqlite3_bind_int64(st, 1, place_id);
		cl_sq_bind_text(st, 2, spki);
		if ((src = sqlite3_step(st)) == SQLITE_ROW) {
			key_id = sqlite3_column_int64(st, 0);
			gone = strcmp((const char *)sqlite3_column_text(st, 1), "gone") == 0;
		}
		sqlite3_reset(st);
		if (src != SQLITE_ROW && src != SQLITE_DONE) {
			rc = cl_sq_rc(q, src, "look up key");
			goto out;
		}
	}
	if (key_id) {
		if (!(st = cl_sq_stmt(q, ST_KEY_REFRESH)))
			goto out;
		sqlite3_bind_int64(st, 1, key_id);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, run_id);
		sqlite3_bind_int(st, 4, k->mode);
		sqlite3_bind_int64(st, 5, k->uid);
		cl_sq_bind_text(st, 6, k->key_type);
		sqlite3_bind_int(st, 7, k->key_bits);
		sqlite3_bind_int(st, 8, k->encrypted);
		cl_sq_bind_text(st, 9, k->container);
	} else {
		if (!(st = cl_sq_stmt(q, ST_KEY_INSERT)))
			goto out;
		sqlite3_bind_int64(st, 1, place_id);
		cl_sq_bind_text(st, 2, spki);
		cl_sq_bind_text(st, 3, k->key_type);
		sqlite3_bind_int(st, 4, k->key_bits);
		sqlite3_bind_int(st, 5, k->encrypted);
		cl_sq_bind_text(st, 6, k->container);
		sqlite3_bind_int(st, 7, k->mode);
		sqlite3_bind_int64(st, 8, k->uid);
		sqlite3_bind_int64(st, 9, now);
		sqlite3_bind_int64(st, 10, run_id);
	}
	if ((rc = cl_sq_done(q, st, "record key")) != CL_OK)
		goto out;
	if (!key_id || gone) {
		char mode[16];
		*is_new = true;
		snprintf(mode, sizeof mode, "%04o", k->mode < 0 ? 0 : k->mode);
		ev = json_detail(json_pack("{s:s?,s:s?,s:s,s:b,s:s?}", "spki_sha256", k->spki_sha256,
		                           "key_type", k->key_type, "mode", mode,
		                           "encrypted", k->encrypted, "container", k->container));
		rc = cl_sq_event(q, now, key_id ? "key.back" : "key.new", NULL,
		              loc_str(&lb, kind, where), ev);
	}
out:
	free(ev);
	cl_buf_free(&lb);
	return cl_sq_auto_end(q, mine, rc);
}

/* Marks stale sightings and keys at place_id gone. */
static int place_expire(struct sq_store *q, int64_t run_id, int64_t place_id,
                        const char *location, int64_t now, long *ngone)
{
	struct { int64_t id; char fp[65]; } *stale = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *st;
	int rc = CL_ERR, src, pass;

	for (pass = 0; pass < 2; pass++) {
		n = 0;
		if (!(st = cl_sq_stmt(q, pass == 0 ? ST_STALE_SIGHTINGS : ST_STALE_KEYS)))
			goto out;
		sqlite3_bind_int64(st, 1, place_id);
		sqlite3_bind_int64(st, 2, run_id);
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			if (CL_GROW(stale, cap, n + 1) != CL_OK) {
				sqlite3_reset(st);
				rc = CL_ERR_NOMEM;
				goto out;
			}
			stale[n].id = sqlite3_column_int64(st, 0);
			snprintf(stale[n].fp, sizeof stale[n].fp, "%s",
			         (const char *)sqlite3_column_text(st, 1));
			n++;
		}
		sqlite3_reset(st);
		if (src != SQLITE_DONE) {
			rc = cl_sq_rc(q, src, "find stale entries");
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (pass == 0) {
				if (!(st = cl_sq_stmt(q, ST_SIGHT_GONE)))
					goto out;
				sqlite3_bind_int64(st, 1, stale[i].id);
				sqlite3_bind_int64(st, 2, place_id);
				sqlite3_bind_int64(st, 3, now);
				if ((rc = cl_sq_done(q, st, "mark gone")) != CL_OK)
					goto out;
				if (!(st = cl_sq_stmt(q, ST_CERT_RECOMPUTE_PRESENT))) {
					rc = CL_ERR;
					goto out;
				}
				sqlite3_bind_int64(st, 1, stale[i].id);
				if ((rc = cl_sq_done(q, st, "mark gone")) != CL_OK ||
				    (rc = cl_sq_event(q, now, "location.gone", stale[i].fp, location,
				                   NULL)) != CL_OK)
					goto out;
			} else {
				char detail[100];
				if (!(st = cl_sq_stmt(q, ST_KEY_GONE)))
					goto out;
				sqlite3_bind_int64(st, 1, stale[i].id);
				sqlite3_bind_int64(st, 2, now);
				if ((rc = cl_sq_done(q, st, "mark key gone")) != CL_OK)
					goto out;
				snprintf(detail, sizeof detail, "{\"spki_sha256\":\"%s\"}", stale[i].fp);
				if ((rc = cl_sq_event(q, now, "key.gone", NULL, location,
				                   stale[i].fp[0] ? detail : NULL)) != CL_OK)
					goto out;
			}
			(*ngone)++;
		}
	}
	rc = CL_OK;
out:
	free(stale);
	return rc;
}

static int sq_location_done(struct cl_store *s, int64_t run_id, const char *kind,
                            const char *where, int64_t now, long *ngone)
{
	struct sq_store *q = SQ(s);
	int64_t place_id, created_run;
	struct cl_buf lb;
	bool mine;
	int rc;

	*ngone = 0;
	if ((rc = place_lookup(q, kind, where, false, run_id, &place_id, &created_run)) != CL_OK)
		return rc;
	if (place_id == 0 || created_run == run_id)
		return CL_OK;  /* nothing can be stale in a place this run created */
	cl_buf_init(&lb, 1 << 16);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	if (!loc_str(&lb, kind, where))
		rc = CL_ERR_NOMEM;
	else
		rc = place_expire(q, run_id, place_id, lb.data, now, ngone);
	cl_buf_free(&lb);
	return cl_sq_auto_end(q, mine, rc);
}

/* Resolves findings at target not raised in run_id (prefix "" = all rules). */
static int findings_settle(struct sq_store *q, int64_t run_id, const char *prefix,
                           const char *target, int64_t now)
{
	struct { int64_t id; char *rule, *fp; } *open = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *st;
	int rc = CL_ERR, src;
	char *ev;

	if (!(st = cl_sq_stmt(q, ST_FINDING_STALE)))
		return CL_ERR;
	cl_sq_bind_text(st, 1, target);
	cl_sq_bind_text(st, 2, prefix);
	sqlite3_bind_int64(st, 3, run_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (CL_GROW(open, cap, n + 1) != CL_OK) {
			sqlite3_reset(st);
			rc = CL_ERR_NOMEM;
			goto out;
		}
		open[n].id = sqlite3_column_int64(st, 0);
		open[n].rule = strdup((const char *)sqlite3_column_text(st, 1));
		open[n].fp = strdup((const char *)sqlite3_column_text(st, 2));
		n++;
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "find open findings");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!(st = cl_sq_stmt(q, ST_FINDING_RESOLVE)))
			goto out;
		sqlite3_bind_int64(st, 1, open[i].id);
		sqlite3_bind_int64(st, 2, now);
		if ((rc = cl_sq_done(q, st, "resolve finding")) != CL_OK)
			goto out;
		ev = json_detail(json_pack("{s:s?,s:I}", "rule", open[i].rule, "id",
		                           (json_int_t)open[i].id));
		rc = cl_sq_event(q, now, "finding.resolved",
		              open[i].fp && *open[i].fp ? open[i].fp : NULL, target, ev);
		free(ev);
		if (rc != CL_OK)
			goto out;
	}
	rc = CL_OK;
out:
	for (i = 0; i < n; i++) {
		free(open[i].rule);
		free(open[i].fp);
	}
	free(open);
	return rc;
}

static int sq_finding_raise(struct cl_store *s, int64_t run_id, const char *rule,
                            const char *severity, const char *target, const char *fp,
                            const char *message, int64_t now, bool *is_new)
{
	struct sq_store *q = SQ(s);
	int64_t id = 0;
	sqlite3_stmt *st;
	char *ev = NULL;
	bool mine;
	int rc, src;

	*is_new = false;
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	rc = CL_ERR;
	if (!(st = cl_sq_stmt(q, ST_FINDING_GET)))
		goto out;
	cl_sq_bind_text(st, 1, rule);
	cl_sq_bind_text(st, 2, target);
	cl_sq_bind_text(st, 3, fp ? fp : "");
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "look up finding");
		goto out;
	}
	if (!(st = cl_sq_stmt(q, id ? ST_FINDING_REFRESH : ST_FINDING_INSERT)))
		goto out;
	if (id) {
		sqlite3_bind_int64(st, 1, id);
		cl_sq_bind_text(st, 2, severity);
		cl_sq_bind_text(st, 3, message);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_int64(st, 5, run_id);
		rc = cl_sq_done(q, st, "refresh finding");
		goto out;
	}
	cl_sq_bind_text(st, 1, rule);
	cl_sq_bind_text(st, 2, severity);
	cl_sq_bind_text(st, 3, target);
	cl_sq_bind_text(st, 4, fp ? fp : "");
	cl_sq_bind_text(st, 5, message);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, run_id);
	if ((rc = cl_sq_done(q, st, "open finding")) != CL_OK)
		goto out;
	*is_new = true;
	ev = json_detail(json_pack("{s:s,s:s,s:s,s:I}", "rule", rule, "severity", severity,
	                           "message", message,
	                           "id", (json_int_t)sqlite3_last_insert_rowid(q->db)));
	rc = cl_sq_event(q, now, "finding.opened", fp, target, ev);
out:
	free(ev);
	return cl_sq_auto_end(q, mine, rc);
}

static int sq_finding_settle(struct cl_store *s, int64_t run_id, const char *rule_prefix,
                             const char *target, int64_t now)
{
	struct sq_store *q = SQ(s);
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	rc = findings_settle(q, run_id, rule_prefix ? rule_prefix : "", target, now);
	return cl_sq_auto_end(q, mine, rc);
}

/*
 * Sweep: places below root not refreshed by this run that no longer
 * exist lose their sightings and keys; findings on targets below root that
 * no longer exist are resolved.
 */
static int sq_sweep(struct cl_store *s, int64_t run_id, const char *kind, const char *root,
                    cl_exists_cb exists, void *arg, int64_t now, long *ngone)
{
	struct sq_store *q = SQ(s);
	struct { int64_t id; char *loc; } *cand = NULL;
	char **targets = NULL;
	size_t n = 0, cap = 0, nt = 0, capt = 0, i;
	struct cl_buf lo, hi, lb;
	sqlite3_stmt *st = NULL;
	bool mine;
	int rc, src;

	*ngone = 0;
	cl_buf_init(&lo, 1 << 16);
	cl_buf_init(&hi, 1 << 16);
	cl_buf_init(&lb, 1 << 16);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	rc = CL_ERR_NOMEM;
	/* below root: root itself, or loc in ["root/", "root0") ('0' follows '/') */
	if (cl_buf_printf(&lo, "%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/") ||
	    cl_buf_printf(&hi, "%.*s0", (int)lo.len - 1, lo.data))
		goto out;
	rc = CL_ERR;
	if (sqlite3_prepare_v2(q->db,
	    "SELECT p.id, p.loc FROM places p WHERE p.kind=?1 AND (p.loc=?2 OR (p.loc>=?3 AND"
	    " p.loc<?4)) AND (EXISTS(SELECT 1 FROM sightings s WHERE s.place_id=p.id AND"
	    " s.state='present' AND s.last_run<>?5) OR EXISTS(SELECT 1 FROM keys k WHERE"
	    " k.place_id=p.id AND k.state='present' AND k.last_run<>?5))", -1, &st, NULL)
	    != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "sweep");
		goto out;
	}
	cl_sq_bind_text(st, 1, kind);
	cl_sq_bind_text(st, 2, root);
	cl_sq_bind_text(st, 3, lo.data);
	cl_sq_bind_text(st, 4, hi.data);
	sqlite3_bind_int64(st, 5, run_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *loc = (const char *)sqlite3_column_text(st, 1);
		if (exists(arg, kind, loc))
			continue;
		if (CL_GROW(cand, cap, n + 1) != CL_OK) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		cand[n].id = sqlite3_column_int64(st, 0);
		if (!(cand[n].loc = strdup(loc))) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "sweep");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n; i++) {
		if (!loc_str(&lb, kind, cand[i].loc)) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		if ((rc = place_expire(q, run_id, cand[i].id, lb.data, now, ngone)) != CL_OK)
			goto out;
	}
	/* findings on targets below root that no longer exist */
	cl_buf_reset(&lb);
	rc = CL_ERR_NOMEM;
	if (cl_buf_printf(&lb, "%s:", kind))
		goto out;
	if (sqlite3_prepare_v2(q->db,
	    "SELECT DISTINCT target FROM findings WHERE resolved_at IS NULL AND last_run<>?4 AND"
	    " (target=?1||?2 OR (target>=?1||?3 AND target<?1||?5))", -1, &st, NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "sweep findings");
		goto out;
	}
	cl_sq_bind_text(st, 1, lb.data);
	cl_sq_bind_text(st, 2, root);
	cl_sq_bind_text(st, 3, lo.data);
	sqlite3_bind_int64(st, 4, run_id);
	cl_sq_bind_text(st, 5, hi.data);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (exists(arg, kind, t + lb.len))
			continue;
		if (CL_GROW(targets, capt, nt + 1) != CL_OK)
			goto out;
		if (!(targets[nt] = strdup(t)))
			goto out;
		nt++;
	}
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "sweep findings");
		goto out;
	}
	for (i = 0; i < nt; i++)
		if ((rc = findings_settle(q, run_id, "", targets[i], now)) != CL_OK)
			goto out;
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	for (i = 0; i < n; i++)
		free(cand[i].loc);
	free(cand);
	for (i = 0; i < nt; i++)
		free(targets[i]);
	free(targets);
	cl_buf_free(&lo);
	cl_buf_free(&hi);
	cl_buf_free(&lb);
	return cl_sq_auto_end(q, mine, rc);
}

/* ---- query building ------------------------------------------------------ */

struct sq_param {
	bool is_int;
	int64_t i;
	const char *s;
};

struct sq_where {
	struct cl_buf sql;
	struct sq_param p[32];
	int n;
	char pat[4][600];  /* rewritten patterns, owned here */
	int npat;
};

static void where_add(struct sq_where *w, const char *fmt, ...) CL_PRINTF(2, 3);
static void where_add(struct sq_where *w, const char *fmt, ...)
{
	char cond[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cond, sizeof cond, fmt, ap);
	va_end(ap);
	cl_buf_addstr(&w->sql, w->sql.len ? " AND " : " WHERE ");
	cl_buf_addstr(&w->sql, cond);
}

/* Adds a parameter and returns its SQL number (?N). */
static int param_s(struct sq_where *w, const char *s)
{
	if (w->n < (int)CL_ARRAY_LEN(w->p))
		w->p[w->n++] = (struct sq_param){ false, 0, s };
	return w->n;
}

static int param_i(struct sq_where *w, int64_t i)
{
	if (w->n < (int)CL_ARRAY_LEN(w->p))
		w->p[w->n++] = (struct sq_param){ true, i, NULL };
	return w->n;
}

/* A location glob without a kind ("/etc/...") means a file location. */
static const char *loc_pattern(struct sq_where *w, const char *pat)
{
	char *out;

	if (pat[0] != '/' || w->npat >= (int)CL_ARRAY_LEN(w->pat))
		return pat;
	out = w->pat[w->npat++];
	snprintf(out, sizeof w->pat[0], "file:%s", pat);
	return out;
}

/* Lowercase hex prefix as a GLOB pattern "abc*" (index friendly). */
static const char *hex_prefix(struct sq_where *w, const char *hex)
{
	char *out;
	size_t i;

	if (w->npat >= (int)CL_ARRAY_LEN(w->pat))
		return hex;
	out = w->pat[w->npat++];
	for (i = 0; hex[i] && i < 64; i++) {
		char c = hex[i];
		if (c == ':')
			continue;
		out[strlen(out)] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}
	strcat(out, "*");
	return out;
}

static void where_build(struct sq_where *w, const struct cl_filter *f)
{
	int k;

	memset(w, 0, sizeof *w);
	cl_buf_init(&w->sql, 1 << 16);
	if (f->state == CL_STATE_PRESENT)
		where_add(w, "c.present=1");
	else if (f->state == CL_STATE_GONE)
		where_add(w, "c.present=0");
	if (f->expired && f->expiring >= 0) {
		where_add(w, "c.not_after<=?%d", param_i(w, f->now + f->expiring));
	} else if (f->expired) {
		where_add(w, "c.not_after<=?%d", param_i(w, f->now));
	} else if (f->expiring >= 0) {
		k = param_i(w, f->now);
		where_add(w, "c.not_after>?%d AND c.not_after<=?%d", k,
		          param_i(w, f->now + f->expiring));
	}
	if (f->issuer) {
		k = param_s(w, f->issuer);
		where_add(w, "(cl_glob(?%d, c.issuer) OR cl_glob(?%d, c.issuer_cn))", k, k);
	}
	if (f->subject) {
		k = param_s(w, f->subject);
		where_add(w, "(cl_glob(?%d, c.subject) OR cl_glob(?%d, c.subject_cn))", k, k);
	}
	if (f->san)
		where_add(w, "san_match(?%d, c.sans)", param_s(w, f->san));
	if (f->key_type) {
		k = param_s(w, f->key_type);
		where_add(w, "(cl_glob(?%d, c.key_type) OR cl_glob(?%d, c.key_oid) OR"
		          " cl_glob(?%d, c.curve))", k, k, k);
	}
	if (f->sig_alg)
		where_add(w, "cl_glob(?%d, c.sig_alg)", param_s(w, f->sig_alg));
	if (f->min_bits > 0)
		where_add(w, "c.key_bits>=?%d", param_i(w, f->min_bits));
	if (f->max_bits > 0)
		where_add(w, "c.key_bits>0 AND c.key_bits<=?%d", param_i(w, f->max_bits));
	if (f->self_signed != CL_ANY)
		where_add(w, "c.self_signed=?%d", param_i(w, f->self_signed));
	if (f->ca != CL_ANY)
		where_add(w, "c.is_ca=?%d", param_i(w, f->ca));
	if (f->owner)
		where_add(w, "cl_glob(?%d, c.owner)", param_s(w, f->owner));
	if (f->environment)
		where_add(w, "cl_glob(?%d, c.environment)", param_s(w, f->environment));
	if (f->tag)
		where_add(w, "instr(c.tags, ','||?%d||',')>0", param_s(w, f->tag));
	if (f->fp_prefix)
		where_add(w, "c.fp GLOB ?%d", param_s(w, hex_prefix(w, f->fp_prefix)));
	if (f->spki)
		where_add(w, "c.spki_sha256=lower(?%d)", param_s(w, f->spki));
	if (f->serial)
		where_add(w, "c.serial=lower(?%d)", param_s(w, f->serial));
	if (f->location)
		where_add(w, "EXISTS(SELECT 1 FROM sightings s JOIN places p ON p.id=s.place_id"
		          " WHERE s.cert_id=c.id%s AND cl_glob(?%d, p.kind||':'||p.loc))",
		          f->state == CL_STATE_PRESENT ? " AND s.state='present'" : "",
		          param_s(w, loc_pattern(w, f->location)));
}

static int where_prepare(struct sq_store *q, struct sq_where *w, const char *head,
                         const char *tail, sqlite3_stmt **out)
{
	struct cl_buf sql;
	int i, rc = CL_OK;

	cl_buf_init(&sql, 1 << 16);
	cl_buf_addstr(&sql, head);
	if (w->sql.data)
		cl_buf_addstr(&sql, w->sql.data);
	cl_buf_addstr(&sql, tail);
	if (sql.data == NULL)
		return cl_store_fail(&q->base, CL_ERR_NOMEM, "query too long");
	if (sqlite3_prepare_v2(q->db, sql.data, -1, out, NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "prepare query");
		goto out;
	}
	for (i = 0; i < w->n; i++) {
		if (w->p[i].is_int)
			sqlite3_bind_int64(*out, i + 1, w->p[i].i);
		else
			cl_sq_bind_text(*out, i + 1, w->p[i].s);
	}
out:
	cl_buf_free(&sql);
	return rc;
}

static void where_free(struct sq_where *w)
{
	cl_buf_free(&w->sql);
}

/* ---- queries ----------------------------------------------------------- */

#define CERT_COLUMNS \
	"c.id, c.fp, c.serial, c.subject, c.subject_cn, c.issuer, c.issuer_cn, c.sans," \
	" c.not_before, c.not_after, c.key_type, c.key_oid, c.key_bits, c.curve, c.sig_alg," \
	" c.is_ca, c.path_len, c.self_signed, c.key_usage, c.eku, c.ski, c.aki, c.ocsp," \
	" c.ca_issuers, c.crl, c.sct_count, c.spki_sha256, c.version, c.owner, c.environment," \
	" c.tags, c.first_seen"

/*
 * One certificate assembled from the joined rows of a query (one row per
 * location). Column texts are copied into an arena because the next step
 * invalidates them; offsets become pointers when the certificate is
 * handed to the callback.
 */
#define NCERTCOLS 32

struct acc_loc {
	size_t kind, where, detail;   /* arena offsets; detail SIZE_MAX = NULL */
	bool present;
	int64_t first_seen, last_seen;
};

struct acc {
	int64_t id;                   /* 0: empty */
	struct cl_buf arena;
	size_t off[NCERTCOLS];        /* SIZE_MAX: NULL */
	int64_t iv[NCERTCOLS];
	struct acc_loc *locs;
	size_t nlocs, caplocs;
	/* emit-time storage */
	char **ptrs;
	size_t nptrs, capptrs;
	struct cl_loc_row *rows;
	size_t caprows;
};

const char *cl_sq_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static size_t acc_put(struct acc *a, const char *s)
{
	size_t off = a->arena.len;

	if (!s)
		return SIZE_MAX;
	if (cl_buf_add(&a->arena, s, strlen(s) + 1) != CL_OK)
		return SIZE_MAX - 1;  /* marks an allocation failure */
	return off;
}

static int acc_start(struct acc *a, sqlite3_stmt *st)
{
	static const bool is_text[NCERTCOLS] = {
		[1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1, [10] = 1, [11] = 1,
		[13] = 1, [14] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1,
		[24] = 1, [26] = 1, [28] = 1, [29] = 1, [30] = 1,
	};
	int i;

	cl_buf_reset(&a->arena);
	a->nlocs = 0;
	a->id = sqlite3_column_int64(st, 0);
	for (i = 0; i < NCERTCOLS; i++) {
		if (is_text[i]) {
			if ((a->off[i] = acc_put(a, cl_sq_col_text(st, i))) == SIZE_MAX - 1)
				return CL_ERR_NOMEM;
		} else {
			a->iv[i] = sqlite3_column_int64(st, i);
		}
	}
	return CL_OK;
}

static int acc_add_loc(struct acc *a, sqlite3_stmt *st)
{
	struct acc_loc *l;

	if (sqlite3_column_type(st, NCERTCOLS) == SQLITE_NULL)
		return CL_OK;  /* LEFT JOIN without a location */
	if (CL_GROW(a->locs, a->caplocs, a->nlocs + 1) != CL_OK)
		return CL_ERR_NOMEM;
	l = &a->locs[a->nlocs];
	l->kind = acc_put(a, cl_sq_col_text(st, NCERTCOLS));
	l->where = acc_put(a, cl_sq_col_text(st, NCERTCOLS + 1));
	l->present = strcmp(cl_sq_col_text(st, NCERTCOLS + 2), "present") == 0;
	l->detail = acc_put(a, cl_sq_col_text(st, NCERTCOLS + 3));
	l->first_seen = sqlite3_column_int64(st, NCERTCOLS + 4);
	l->last_seen = sqlite3_column_int64(st, NCERTCOLS + 5);
	if (l->kind == SIZE_MAX - 1 || l->where == SIZE_MAX - 1 || l->detail == SIZE_MAX - 1)
		return CL_ERR_NOMEM;
	a->nlocs++;
	return CL_OK;
}

/* Splits the arena string at off on sep, in place, into a->ptrs. */
static int acc_split(struct acc *a, size_t off, char sep, struct cl_strv *v)
{
	size_t start = a->nptrs;
	char *p;

	v->n = 0;
	v->v = NULL;
	if (off == SIZE_MAX)
		return CL_OK;
	for (p = a->arena.data + off; p && *p; ) {
		char *next = strchr(p, sep);
		if (next)
			*next++ = '\0';
		if (*p) {
			if (CL_GROW(a->ptrs, a->capptrs, a->nptrs + 1) != CL_OK)
				return CL_ERR_NOMEM;
			a->ptrs[a->nptrs++] = p;
		}
		p = next;
	}
	v->n = a->nptrs - start;
	v->v = (char **)(uintptr_t)start;  /* fixed up by acc_emit once ptrs stops moving */
	return CL_OK;
}

/* Orders locations: present before gone, then by kind and place. */
static int loc_cmp(const void *x, const void *y)
{
	const struct cl_loc_row *a = x, *b = y;
	int r;

	if (a->state[0] != b->state[0])
		return a->state[0] == 'p' ? -1 : 1;
	if ((r = strcmp(a->kind, b->kind)) != 0)
		return r;
	return strcmp(a->where, b->where);
}

/* Points a->rows at the accumulated locations, in their listing order. */
static int acc_locs(struct acc *a)
{
	const char *base = a->arena.data;
	size_t i;

	if (CL_GROW(a->rows, a->caprows, a->nlocs) != CL_OK)
		return CL_ERR_NOMEM;
	for (i = 0; i < a->nlocs; i++) {
		a->rows[i] = (struct cl_loc_row){
			.kind = base + a->locs[i].kind, .where = base + a->locs[i].where,
			.state = a->locs[i].present ? "present" : "gone",
			.detail = a->locs[i].detail == SIZE_MAX ? NULL : base + a->locs[i].detail,
			.first_seen = a->locs[i].first_seen, .last_seen = a->locs[i].last_seen,
		};
	}
	if (a->nlocs > 1)
		qsort(a->rows, a->nlocs, sizeof *a->rows, loc_cmp);
	return CL_OK;
}

/* What a query does with each assembled certificate. */
struct emitter {
	int (*emit)(struct sq_store *q, struct acc *a, struct emitter *e);
	cl_row_cb row_cb;
	cl_json_cb json_cb;
	void *arg;
	int64_t now;
	struct jenc j;
};

/* Hands the assembled certificate to e->row_cb. */
static int acc_emit(struct sq_store *q, struct acc *a, struct emitter *e)
{
	struct cl_strv *vecs[5], tags;
	struct cl_inv_row row;
	struct cl_cert c;
	char *base = a->arena.data;
	size_t i;
	int rc;

#define T(i) (a->off[i] == SIZE_MAX ? NULL : base + a->off[i])
	memset(&c, 0, sizeof c);
	a->nptrs = 0;
	if (cl_unhex(T(1), c.fp, CL_SHA256_LEN) != CL_OK ||
	    cl_unhex(T(26), c.spki_sha256, CL_SHA256_LEN) != CL_OK)
		return cl_store_fail(&q->base, CL_ERR, "%s: corrupt fingerprint in row %lld", q->path,
		                     (long long)a->id);
	if ((rc = acc_split(a, a->off[7], '\n', &c.sans)) != CL_OK ||
	    (rc = acc_split(a, a->off[22], '\n', &c.ocsp)) != CL_OK ||
	    (rc = acc_split(a, a->off[23], '\n', &c.ca_issuers)) != CL_OK ||
	    (rc = acc_split(a, a->off[24], '\n', &c.crl)) != CL_OK ||
	    (rc = acc_split(a, a->off[30], ',', &tags)) != CL_OK)
		return rc;
	vecs[0] = &c.sans;
	vecs[1] = &c.ocsp;
	vecs[2] = &c.ca_issuers;
	vecs[3] = &c.crl;
	vecs[4] = &tags;
	for (i = 0; i < CL_ARRAY_LEN(vecs); i++)
		vecs[i]->v = a->ptrs + (uintptr_t)vecs[i]->v;
	c.serial = T(2);
	c.subject = T(3);
	c.subject_cn = T(4);
	c.issuer = T(5);
	c.issuer_cn = T(6);
	c.not_before = a->iv[8];
	c.not_after = a->iv[9];
	c.key_type = T(10);
	c.key_oid = T(11);
	c.key_bits = (int)a->iv[12];
	c.curve = T(13);
	c.sig_alg = T(14);
	c.is_ca = a->iv[15] != 0;
	c.path_len = (int)a->iv[16];
	c.self_signed = a->iv[17] != 0;
	c.key_usage = T(18);
	c.eku = T(19);
	c.ski = T(20);
	c.aki = T(21);
	c.sct_count = (int)a->iv[25];
	c.version = (int)a->iv[27];
	if ((rc = acc_locs(a)) != CL_OK)
		return rc;
	row = (struct cl_inv_row){
		.c = &c, .owner = T(28), .environment = T(29), .tags = &tags,
		.first_seen = a->iv[31], .locs = a->rows, .nlocs = a->nlocs,
	};
#undef T
	return e->row_cb(e->arg, &row);
}

static void acc_free(struct acc *a)
{
	cl_buf_free(&a->arena);
	free(a->locs);
	free(a->ptrs);
	free(a->rows);
}

/* ---- JSON encoding of a listed certificate ------------------------------- */

/* How each listed field is encoded from the accumulated columns. */
enum jkind { JK_STR, JK_LINES, JK_CSV, JK_TIME, JK_INT, JK_POSITIVE, JK_NONNEG, JK_BOOL,
             JK_DAYS_LEFT, JK_VALIDITY };

static const struct jfield {
	const char *key;   /* ,"name": */
	unsigned char klen, col, kind;
} cert_fields[] = {
#define F(name, col, kind) { ",\"" name "\":", sizeof(name) + 3, col, kind }
	F("fingerprint_sha256", 1, JK_STR), F("serial", 2, JK_STR), F("subject", 3, JK_STR),
	F("subject_cn", 4, JK_STR), F("issuer", 5, JK_STR), F("issuer_cn", 6, JK_STR),
	F("sans", 7, JK_LINES), F("not_before", 8, JK_TIME), F("not_after", 9, JK_TIME),
	F("days_left", 9, JK_DAYS_LEFT), F("validity_days", 9, JK_VALIDITY),
	F("key_type", 10, JK_STR), F("key_oid", 11, JK_STR), F("key_bits", 12, JK_POSITIVE),
	F("curve", 13, JK_STR), F("sig_alg", 14, JK_STR), F("is_ca", 15, JK_BOOL),
	F("path_len", 16, JK_NONNEG), F("self_signed", 17, JK_BOOL), F("key_usage", 18, JK_CSV),
	F("eku", 19, JK_CSV), F("ski", 20, JK_STR), F("aki", 21, JK_STR),
	F("ocsp_urls", 22, JK_LINES), F("crl_urls", 24, JK_LINES),
	F("ca_issuers_urls", 23, JK_LINES), F("sct_count", 25, JK_INT),
	F("spki_sha256", 26, JK_STR), F("version", 27, JK_INT), F("owner", 28, JK_STR),
	F("environment", 29, JK_STR), F("tags", 30, JK_CSV), F("first_seen", 31, JK_TIME),
#undef F
};

static int acc_emit_json(struct sq_store *q, struct acc *a, struct emitter *e)
{
	const char *base = a->arena.data;
	struct jenc *j = &e->j;
	size_t i;
	int rc;

#define T(i) (a->off[i] == SIZE_MAX ? NULL : base + a->off[i])
	if ((rc = acc_locs(a)) != CL_OK)
		return rc;
	j->len = 0;
	J_LIT(j, "{");
	for (i = 0; i < CL_ARRAY_LEN(cert_fields); i++) {
		const struct jfield *f = &cert_fields[i];
		int64_t v = a->iv[f->col];
		j_raw(j, f->key + (i == 0), f->klen - (i == 0));  /* no comma first */
		switch (f->kind) {
		case JK_STR: j_str(j, T(f->col)); break;
		case JK_LINES: j_list(j, T(f->col), '\n'); break;
		case JK_CSV: j_list(j, T(f->col), ','); break;
		case JK_TIME: j_time(j, v); break;
		case JK_INT: j_int(j, v); break;
		case JK_POSITIVE:
		case JK_NONNEG:
			if (v > 0 || (v == 0 && f->kind == JK_NONNEG))
				j_int(j, v);
			else
				J_LIT(j, "null");
			break;
		case JK_BOOL: j_raw(j, v ? "true" : "false", v ? 4 : 5); break;
		case JK_DAYS_LEFT: j_int(j, cl_floordiv(v - e->now, 86400)); break;
		case JK_VALIDITY: j_int(j, cl_floordiv(v - a->iv[8] + 1, 86400)); break;
		}
	}
#undef T
	J_KEY(j, "locations");
	J_LIT(j, "[");
	for (i = 0; i < a->nlocs; i++) {
		const struct cl_loc_row *l = &a->rows[i];
		if (i)
			J_LIT(j, ",");
		J_LIT(j, "{\"kind\":");
		j_str(j, l->kind);
		J_KEY(j, "where");
		j_str(j, l->where);
		J_KEY(j, "state");
		j_str(j, l->state);
		J_KEY(j, "first_seen");
		j_time(j, l->first_seen);
		J_KEY(j, "last_seen");
		j_time(j, l->last_seen);
		J_KEY(j, "detail");
		j_str(j, l->detail);
		J_LIT(j, "}");
	}
	J_LIT(j, "]}");
	if (j->err != CL_OK)
		return cl_store_fail(&q->base, j->err, "out of memory encoding JSON");
	return e->json_cb(e->arg, j->p, j->len);
}

static const char *sort_column(const char *sort)
{
	static const struct { const char *name, *col; } map[] = {
		{ "not_after", "c.not_after" }, { "days_left", "c.not_after" },
		{ "not_before", "c.not_before" }, { "subject", "c.subject COLLATE NOCASE" },
		{ "issuer", "c.issuer COLLATE NOCASE" }, { "serial", "c.serial" },
		{ "fingerprint", "c.fp" }, { "key_type", "c.key_type" },
		{ "key_bits", "c.key_bits" }, { "sig_alg", "c.sig_alg" },
		{ "owner", "c.owner" }, { "environment", "c.environment" },
		{ "first_seen", "c.first_seen" },
	};
	size_t i;

	for (i = 0; sort && i < CL_ARRAY_LEN(map); i++)
		if (strcmp(sort, map[i].name) == 0)
			return map[i].col;
	return sort ? NULL : "c.not_after";
}

/*
 * One statement: the matching certificates (sorted and limited in a
 * subquery) joined with their locations, so the rows of a certificate
 * arrive together and no query runs per certificate. Locations are
 * ordered in C (acc_locs): sorting them in SQL would pass every wide row
 * through a sorter.
 */
static int run_query(struct sq_store *q, const struct cl_filter *f, struct emitter *e)
{
	struct acc a;
	struct sq_where w;
	sqlite3_stmt *st = NULL;
	const char *col;
	char head[600], tail[1200], limit[40] = "", locjoin[200] = "";
	struct listing_bounds lb = { -1, -1, -1 };
	int64_t bound = INT64_MAX;
	bool snapshot = false;
	int rc, src, lockidx = 0;

	if (!(col = sort_column(f->sort)))
		return cl_store_fail(&q->base, CL_ERR_USAGE, "unknown sort field '%s'", f->sort);
	memset(&a, 0, sizeof a);
	cl_buf_init(&a.arena, 64u << 20);
	where_build(&w, f);
	if (f->location)
		lockidx = param_s(&w, loc_pattern(&w, f->location));
	if (f->limit > 0)
		snprintf(limit, sizeof limit, " LIMIT %ld", f->limit);
	if (lockidx)
		snprintf(locjoin, sizeof locjoin, " AND EXISTS(SELECT 1 FROM places p2 WHERE"
		         " p2.id=s.place_id AND cl_glob(?%d, p2.kind||':'||p2.loc))", lockidx);
	snprintf(tail, sizeof tail,
	         " ORDER BY %s%s, c.id%s%s) c"
	         " LEFT JOIN sightings s ON s.cert_id=c.id%s%s"
	         " LEFT JOIN places p ON p.id=s.place_id"
	         " ORDER BY %s%s, c.id%s",
	         col, f->desc ? " DESC" : "", f->desc ? " DESC" : "", limit,
	         f->state == CL_STATE_PRESENT ? " AND s.state='present'" : "", locjoin,
	         col, f->desc ? " DESC" : "", f->desc ? " DESC" : "");
	/* listing (certs clustered by expiry) when it holds every row that can
	 * match (the filter bounds not_after within its window and no run is
	 * under way), unless the fingerprint index of certs finds the rows;
	 * one read transaction, so that no run commits in between */
	if (!q->in_txn) {
		if ((rc = cl_sq_exec(q, "BEGIN")) != CL_OK)
			goto out;
		snapshot = true;
	}
	if (!f->fp_prefix && (rc = listing_bounds(q, &lb)) != CL_OK)
		goto out;
	if (f->expiring >= 0)
		bound = f->now + f->expiring;
	else if (f->expired)
		bound = f->now;
	snprintf(head, sizeof head, "SELECT " CERT_COLUMNS ", p.kind, p.loc, s.state, s.detail,"
	         " s.first_seen, s.last_seen FROM (SELECT * FROM %s c",
	         !f->fp_prefix && lb.upto >= 0 && lb.upto == lb.max && bound <= lb.horizon
	         ? "listing" : "certs");
	if ((rc = where_prepare(q, &w, head, tail, &st)) != CL_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id != a.id) {
			if (a.id && (rc = e->emit(q, &a, e)) != CL_OK)
				goto out;
			if ((rc = acc_start(&a, st)) != CL_OK)
				goto out;
		}
		if ((rc = acc_add_loc(&a, st)) != CL_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "query");
		goto out;
	}
	rc = a.id ? e->emit(q, &a, e) : CL_OK;
out:
	sqlite3_finalize(st);
	if (snapshot)
		sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);  /* reads only */
	acc_free(&a);
	where_free(&w);
	return rc;
}

static int sq_query(struct cl_store *s, const struct cl_filter *f, cl_row_cb cb, void *arg)
{
	struct emitter e = { .emit = acc_emit, .row_cb = cb, .arg = arg, .now = f->now };

	return run_query(SQ(s), f, &e);
}

static int sq_query_json(struct cl_store *s, const struct cl_filter *f, cl_json_cb cb, void *arg)
{
	struct emitter e = { .emit = acc_emit_json, .json_cb = cb, .arg = arg, .now = f->now,
	                     .j.tcache = { INT64_MIN, INT64_MIN } };
	int rc;

	rc = run_query(SQ(s), f, &e);
	free(e.j.p);
	return rc;
}

static int sq_get_der(struct cl_store *s, const char *fp_hex, unsigned char **der, size_t *len)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_ERR_NOTFOUND, src;

	*der = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(q->db, "SELECT d.der FROM certs c JOIN cert_der d ON"
	                       " d.cert_id=c.id WHERE c.fp=?1", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read certificate");
	cl_sq_bind_text(st, 1, fp_hex);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		if ((*der = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
			rc = CL_ERR_NOMEM;
		} else {
			memcpy(*der, sqlite3_column_blob(st, 0), (size_t)n);
			*len = (size_t)n;
			rc = CL_OK;
		}
	} else if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "read certificate");
	} else {
		cl_store_fail(s, rc, "no certificate %s", fp_hex);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- summary: one pass, counted in small hash tables ------------------ */

struct counter {
	struct cl_count *slots;
	size_t cap, n;
};

static int counter_add(struct counter *ct, const char *name)
{
	size_t h = 5381, i;
	const unsigned char *p;

	if (ct->n * 2 >= ct->cap) {
		struct counter big = { calloc(ct->cap ? ct->cap * 2 : 64, sizeof *big.slots),
		                       ct->cap ? ct->cap * 2 : 64, 0 };
		if (!big.slots)
			return CL_ERR_NOMEM;
		for (i = 0; i < ct->cap; i++) {
			if (!ct->slots[i].name)
				continue;
			size_t hh = 5381;
			for (p = (const unsigned char *)ct->slots[i].name; *p; p++)
				hh = hh * 33 + *p;
			for (hh &= big.cap - 1; big.slots[hh].name; hh = (hh + 1) & (big.cap - 1))
				;
			big.slots[hh] = ct->slots[i];
			big.n++;
		}
		free(ct->slots);
		*ct = big;
	}
	for (p = (const unsigned char *)name; *p; p++)
		h = h * 33 + *p;
	for (h &= ct->cap - 1; ct->slots[h].name; h = (h + 1) & (ct->cap - 1)) {
		if (strcmp(ct->slots[h].name, name) == 0) {
			ct->slots[h].n++;
			return CL_OK;
		}
	}
	if (!(ct->slots[h].name = strdup(name)))
		return CL_ERR_NOMEM;
	ct->slots[h].n = 1;
	ct->n++;
	return CL_OK;
}

static int count_cmp(const void *a, const void *b)
{
	const struct cl_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Compacts the table into a sorted array owned by the caller. */
static void counter_take(struct counter *ct, struct cl_count **out, size_t *n)
{
	size_t i, j = 0;

	for (i = 0; i < ct->cap; i++)
		if (ct->slots[i].name)
			ct->slots[j++] = ct->slots[i];
	if (j)
		qsort(ct->slots, j, sizeof *ct->slots, count_cmp);
	*out = ct->slots;
	*n = j;
	ct->slots = NULL;
	ct->cap = ct->n = 0;
}

static void counter_free(struct counter *ct)
{
	size_t i;

	for (i = 0; i < ct->cap; i++)
		free(ct->slots[i].name);
	free(ct->slots);
}

static int count_one(struct sq_store *q, const char *sql, long *out)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "count");
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*out = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return src == SQLITE_ROW ? CL_OK : cl_sq_rc(q, src, "count");
}

static int sq_summary(struct cl_store *s, const struct cl_filter *f, struct cl_summary *out)
{
	struct sq_store *q = SQ(s);
	struct counter iss = { 0 }, key = { 0 }, sig = { 0 };
	sqlite3_stmt *st = NULL;
	struct sq_where w;
	char kb[160];
	int rc, src;

	where_build(&w, f);
	if ((rc = where_prepare(q, &w, "SELECT c.not_after, c.issuer_cn, c.key_type,"
	                        " c.key_bits, c.curve, c.sig_alg FROM certs c", "", &st)) != CL_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t left = sqlite3_column_int64(st, 0) - f->now;
		const char *icn = cl_sq_col_text(st, 1), *kt = cl_sq_col_text(st, 2), *curve = cl_sq_col_text(st, 4);
		int bits = sqlite3_column_int(st, 3);

		out->certs++;
		if (left <= 0)
			out->expired++;
		else if (left < 7 * 86400)
			out->lt7++;
		else if (left < 30 * 86400)
			out->lt30++;
		else if (left < 90 * 86400)
			out->lt90++;
		else
			out->later++;
		if (curve)
			snprintf(kb, sizeof kb, "%s %s", kt, curve);
		else if (bits > 0 && strcmp(kt, "RSA") == 0)
			snprintf(kb, sizeof kb, "%s %d", kt, bits);
		else if (bits > 0 && strcmp(kt, "DSA") == 0)
			snprintf(kb, sizeof kb, "%s %d", kt, bits);
		else
			snprintf(kb, sizeof kb, "%s", kt);
		/* issuers without a CN are counted by full name below */
		if ((icn && *icn && (rc = counter_add(&iss, icn))) ||
		    (rc = counter_add(&key, kb)) || (rc = counter_add(&sig, cl_sq_col_text(st, 5))))
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "summary");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = where_prepare(q, &w, "SELECT c.issuer FROM certs c",
	                        w.sql.len ? " AND c.issuer_cn=''" : " WHERE c.issuer_cn=''",
	                        &st)) != CL_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = counter_add(&iss, cl_sq_col_text(st, 0))) != CL_OK)
			goto out;
	if (src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "summary");
		goto out;
	}
	counter_take(&iss, &out->by_issuer, &out->nissuer);
	counter_take(&key, &out->by_key, &out->nkey);
	counter_take(&sig, &out->by_sig, &out->nsig);
	if ((rc = count_one(q, "SELECT count(*) FROM sightings WHERE state='present'",
	                    &out->locations)) ||
	    (rc = count_one(q, "SELECT count(*) FROM keys WHERE state='present'", &out->keys)) ||
	    (rc = count_one(q, "SELECT count(*) FROM findings WHERE resolved_at IS NULL",
	                    &out->open_findings)))
		goto out;
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	counter_free(&iss);
	counter_free(&key);
	counter_free(&sig);
	where_free(&w);
	return rc;
}

/* ---- tags ---------------------------------------------------------------- */

/* Applies adds/removes to a ",a,b," tag string; returns a new string. */
static char *tags_edit(const char *old, const struct cl_tag_edit *e)
{
	struct cl_buf b;
	char needle[256];
	size_t i;

	cl_buf_init(&b, 1 << 16);
	cl_buf_addstr(&b, old && *old ? old : ",");
	for (i = 0; i < e->nadd; i++) {
		snprintf(needle, sizeof needle, ",%s,", e->add[i]);
		if (!strstr(b.data, needle)) {
			cl_buf_addstr(&b, e->add[i]);
			cl_buf_addc(&b, ',');
		}
	}
	for (i = 0; i < e->nremove && b.data; i++) {
		char *hit;
		snprintf(needle, sizeof needle, ",%s,", e->remove[i]);
		if ((hit = strstr(b.data, needle)) != NULL) {
			size_t cut = strlen(needle) - 1;
			memmove(hit, hit + cut, strlen(hit + cut) + 1);
			b.len -= cut;
		}
	}
	if (b.data && strcmp(b.data, ",") == 0)
		cl_buf_reset(&b);
	return cl_buf_take(&b);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Edits one certificate; counts it in *n when something changed. */
static int tag_cert(struct sq_store *q, int64_t id, const struct cl_tag_edit *e,
                    int64_t now, long *n)
{
	sqlite3_stmt *st;
	char *fp = NULL, *o = NULL, *env = NULL, *t = NULL, *nt = NULL, *detail = NULL;
	const char *no, *ne;
	int rc = CL_ERR, src;

	if (sqlite3_prepare_v2(q->db, "SELECT fp, owner, environment, tags FROM certs WHERE id=?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read tags");
	sqlite3_bind_int64(st, 1, id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cl_sq_rc(q, src, "read tags");
	}
	fp = dup_or_null(cl_sq_col_text(st, 0));
	o = dup_or_null(cl_sq_col_text(st, 1));
	env = dup_or_null(cl_sq_col_text(st, 2));
	t = dup_or_null(cl_sq_col_text(st, 3));
	sqlite3_finalize(st);
	st = NULL;
	if (!fp || !t || !(nt = tags_edit(t, e))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	no = e->owner ? (*e->owner ? e->owner : NULL) : o;
	ne = e->environment ? (*e->environment ? e->environment : NULL) : env;
	if (same(no, o) && same(ne, env) && strcmp(nt, t) == 0) {
		rc = CL_OK;
		goto out;
	}
	if (!(st = cl_sq_stmt(q, ST_CERT_SET_META)))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	cl_sq_bind_text(st, 2, no);
	cl_sq_bind_text(st, 3, ne);
	cl_sq_bind_text(st, 4, nt);
	if ((rc = cl_sq_done(q, st, "edit tags")) != CL_OK)
		goto out;
	detail = json_detail(json_pack("{s:[s?,s?],s:[s?,s?],s:[s,s]}", "owner", o, no,
	                               "environment", env, ne, "tags", t, nt));
	if ((rc = cl_sq_event(q, now, "cert.tagged", fp, NULL, detail)) == CL_OK)
		(*n)++;
out:
	free(fp);
	free(o);
	free(env);
	free(t);
	free(nt);
	free(detail);
	return rc;
}

static int collect_ids(struct sq_store *q, sqlite3_stmt *st, int64_t **ids, size_t *n)
{
	size_t cap = 0;
	int src;

	*ids = NULL;
	*n = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (CL_GROW(*ids, cap, *n + 1) != CL_OK)
			return CL_ERR_NOMEM;
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	return src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, "select");
}

static int sq_tag(struct cl_store *s, const char *fp_prefix, const char *location,
                  const struct cl_tag_edit *e, const char *actor, int64_t now, long *nchanged)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL, *places = NULL;
	size_t n = 0, np = 0, i;
	char pat[600], saved_actor[64];
	bool mine;
	int rc;

	*nchanged = 0;
	snprintf(saved_actor, sizeof saved_actor, "%s", q->actor);
	if (actor)
		snprintf(q->actor, sizeof q->actor, "%s", actor);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		goto restore;
	if (fp_prefix) {
		struct sq_where w = { 0 };
		const char *g = hex_prefix(&w, fp_prefix);
		if (sqlite3_prepare_v2(q->db, "SELECT id FROM certs WHERE fp GLOB ?1 LIMIT 2", -1,
		                       &st, NULL) != SQLITE_OK) {
			rc = cl_sq_rc(q, sqlite3_errcode(q->db), "select");
			goto out;
		}
		cl_sq_bind_text(st, 1, g);
		if ((rc = collect_ids(q, st, &ids, &n)) != CL_OK)
			goto out;
		if (n == 0) {
			rc = cl_store_fail(s, CL_ERR_NOTFOUND, "no certificate with fingerprint %s",
			                   fp_prefix);
			goto out;
		}
		if (n > 1) {
			rc = cl_store_fail(s, CL_ERR_USAGE, "fingerprint prefix %s is ambiguous; give "
			                   "more digits", fp_prefix);
			goto out;
		}
	} else {
		snprintf(pat, sizeof pat, "%s%s", location[0] == '/' ? "file:" : "", location);
		if (sqlite3_prepare_v2(q->db, "SELECT id FROM places WHERE cl_glob(?1, kind||':'||loc)"
		                       " OR kind||':'||loc=?1", -1, &st, NULL) != SQLITE_OK) {
			rc = cl_sq_rc(q, sqlite3_errcode(q->db), "select");
			goto out;
		}
		cl_sq_bind_text(st, 1, pat);
		if ((rc = collect_ids(q, st, &places, &np)) != CL_OK)
			goto out;
		sqlite3_finalize(st);
		st = NULL;
		if (np == 0) {
			rc = cl_store_fail(s, CL_ERR_NOTFOUND, "no location matches %s", pat);
			goto out;
		}
		for (i = 0; i < np; i++) {
			char *old = NULL, *nt = NULL;
			sqlite3_stmt *u;
			if (sqlite3_prepare_v2(q->db, "SELECT tags FROM places WHERE id=?1", -1, &u,
			                       NULL) != SQLITE_OK) {
				rc = cl_sq_rc(q, sqlite3_errcode(q->db), "select");
				goto out;
			}
			sqlite3_bind_int64(u, 1, places[i]);
			if (sqlite3_step(u) == SQLITE_ROW)
				old = dup_or_null(cl_sq_col_text(u, 0));
			sqlite3_finalize(u);
			nt = tags_edit(old, e);
			free(old);
			if (!nt || sqlite3_prepare_v2(q->db,
			    "UPDATE places SET owner=CASE WHEN ?2 IS NULL THEN owner WHEN ?2='' THEN NULL"
			    " ELSE ?2 END, environment=CASE WHEN ?3 IS NULL THEN environment WHEN ?3=''"
			    " THEN NULL ELSE ?3 END, tags=?4 WHERE id=?1", -1, &u, NULL) != SQLITE_OK) {
				free(nt);
				rc = nt ? cl_sq_rc(q, sqlite3_errcode(q->db), "edit location") : CL_ERR_NOMEM;
				goto out;
			}
			sqlite3_bind_int64(u, 1, places[i]);
			cl_sq_bind_text(u, 2, e->owner);
			cl_sq_bind_text(u, 3, e->environment);
			cl_sq_bind_text(u, 4, nt);
			rc = cl_sq_done(q, u, "edit location");
			sqlite3_finalize(u);
			free(nt);
			if (rc != CL_OK)
				goto out;
		}
		if (sqlite3_prepare_v2(q->db, "SELECT DISTINCT s.cert_id FROM sightings s JOIN places p"
		                       " ON p.id=s.place_id WHERE s.state='present' AND"
		                       " (cl_glob(?1, p.kind||':'||p.loc) OR p.kind||':'||p.loc=?1)",
		                       -1, &st, NULL) != SQLITE_OK) {
			rc = cl_sq_rc(q, sqlite3_errcode(q->db), "select");
			goto out;
		}
		cl_sq_bind_text(st, 1, pat);
		if ((rc = collect_ids(q, st, &ids, &n)) != CL_OK)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n; i++)
		if ((rc = tag_cert(q, ids[i], e, now, nchanged)) != CL_OK)
			goto out;
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	free(ids);
	free(places);
	rc = cl_sq_auto_end(q, mine, rc);
restore:
	snprintf(q->actor, sizeof q->actor, "%s", saved_actor);
	return rc;
}

/* ---- events, findings, keys ---------------------------------------------- */

static int sq_events(struct cl_store *s, const struct cl_event_filter *f,
                     int (*cb)(void *arg, const struct cl_event_row *e), void *arg)
{
	struct sq_store *q = SQ(s);
	struct sq_where w;
	sqlite3_stmt *st = NULL;
	char head[200], tail[120];
	int rc, src;

	memset(&w, 0, sizeof w);
	cl_buf_init(&w.sql, 1 << 16);
	where_add(&w, "ts>=?%d", param_i(&w, f->since));
	if (f->fp_prefix)
		where_add(&w, "cert_id IN (SELECT id FROM certs WHERE fp GLOB ?%d)",
		          param_s(&w, hex_prefix(&w, f->fp_prefix)));
	if (f->location)
		where_add(&w, "cl_glob(?%d, location)", param_s(&w, loc_pattern(&w, f->location)));
	if (f->type)
		where_add(&w, "cl_glob(?%d, type)", param_s(&w, f->type));
	if (f->limit > 0) {
		snprintf(head, sizeof head, "SELECT * FROM (SELECT id, ts, type, fp, location, actor,"
		         " detail FROM events");
		snprintf(tail, sizeof tail, " ORDER BY id DESC LIMIT %ld) ORDER BY id", f->limit);
	} else {
		snprintf(head, sizeof head, "SELECT id, ts, type, fp, location, actor, detail FROM events");
		snprintf(tail, sizeof tail, " ORDER BY id");
	}
	if ((rc = where_prepare(q, &w, head, tail, &st)) != CL_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_event_row e = {
			.id = sqlite3_column_int64(st, 0), .ts = sqlite3_column_int64(st, 1),
			.type = cl_sq_col_text(st, 2), .fp = cl_sq_col_text(st, 3), .location = cl_sq_col_text(st, 4),
			.actor = cl_sq_col_text(st, 5), .detail = cl_sq_col_text(st, 6),
		};
		if ((rc = cb(arg, &e)) != CL_OK)
			goto out;
	}
	rc = src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, "events");
out:
	sqlite3_finalize(st);
	where_free(&w);
	return rc;
}

#define SEVERITY_RANK "(CASE severity WHEN 'critical' THEN 3 WHEN 'error' THEN 2" \
	" WHEN 'warning' THEN 1 ELSE 0 END)"

static int sq_findings(struct cl_store *s, const struct cl_finding_filter *f,
                       int (*cb)(void *arg, const struct cl_finding_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	struct sq_where w;
	sqlite3_stmt *st = NULL;
	int rc, src;

	memset(&w, 0, sizeof w);
	cl_buf_init(&w.sql, 1 << 16);
	if (!f->include_resolved)
		where_add(&w, "resolved_at IS NULL");
	if (f->rule)
		where_add(&w, "cl_glob(?%d, rule)", param_s(&w, f->rule));
	if (f->target)
		where_add(&w, "cl_glob(?%d, target)", param_s(&w, loc_pattern(&w, f->target)));
	if (f->severity)
		where_add(&w, SEVERITY_RANK ">=?%d",
		          param_i(&w, cl_severity_rank(f->severity) < 0 ? 0 :
		                  cl_severity_rank(f->severity)));
	if (f->fp_prefix)
		where_add(&w, "fp GLOB ?%d", param_s(&w, hex_prefix(&w, f->fp_prefix)));
	if ((rc = where_prepare(q, &w, "SELECT id, rule, severity, target, fp, message, first_seen,"
	                        " last_seen, resolved_at FROM findings",
	                        " ORDER BY resolved_at IS NOT NULL, " SEVERITY_RANK " DESC, target,"
	                        " rule, id", &st)) != CL_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *fp = cl_sq_col_text(st, 4);
		struct cl_finding_row r = {
			.id = sqlite3_column_int64(st, 0), .rule = cl_sq_col_text(st, 1),
			.severity = cl_sq_col_text(st, 2), .target = cl_sq_col_text(st, 3),
			.fp = fp && *fp ? fp : NULL, .message = cl_sq_col_text(st, 5),
			.first_seen = sqlite3_column_int64(st, 6),
			.last_seen = sqlite3_column_int64(st, 7),
			.resolved_at = sqlite3_column_int64(st, 8),
		};
		if ((rc = cb(arg, &r)) != CL_OK)
			goto out;
	}
	rc = src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, "findings");
out:
	sqlite3_finalize(st);
	where_free(&w);
	return rc;
}

static int sq_keys(struct cl_store *s, const char *spki_hex,
                   int (*cb)(void *arg, const struct cl_key_row *k), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, "SELECT p.kind, p.loc, k.state, k.key_type, k.container,"
	                       " k.key_bits, k.mode, k.uid, k.encrypted, k.first_seen, k.last_seen"
	                       " FROM keys k JOIN places p ON p.id=k.place_id WHERE"
	                       " k.spki_sha256=?1 ORDER BY k.state DESC, p.loc", -1, &st, NULL)
	    != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "keys");
	cl_sq_bind_text(st, 1, spki_hex);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_key_row k = {
			.kind = cl_sq_col_text(st, 0), .where = cl_sq_col_text(st, 1), .state = cl_sq_col_text(st, 2),
			.key_type = cl_sq_col_text(st, 3), .container = cl_sq_col_text(st, 4),
			.key_bits = sqlite3_column_int(st, 5), .mode = sqlite3_column_int(st, 6),
			.uid = (long)sqlite3_column_int64(st, 7), .encrypted = sqlite3_column_int(st, 8),
			.first_seen = sqlite3_column_int64(st, 9), .last_seen = sqlite3_column_int64(st, 10),
		};
		if ((rc = cb(arg, &k)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "keys");
	sqlite3_finalize(st);
	return rc;
}

/* ---- network endpoints ------------------------------------------------ */

struct ep_prev {
	bool exists, was_ok;
	char leaf[2 * CL_SHA256_LEN + 1];
};

static int ep_get(struct sq_store *q, int64_t place_id, struct ep_prev *p)
{
	sqlite3_stmt *st;
	int src;

	memset(p, 0, sizeof *p);
	if (place_id == 0)
		return CL_OK;
	if (!(st = cl_sq_stmt(q, ST_EP_GET)))
		return CL_ERR;
	sqlite3_bind_int64(st, 1, place_id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *leaf = cl_sq_col_text(st, 1);
		p->exists = true;
		p->was_ok = strcmp(cl_sq_col_text(st, 0), "ok") == 0;
		snprintf(p->leaf, sizeof p->leaf, "%s", leaf ? leaf : "");
	}
	sqlite3_reset(st);
	return src == SQLITE_ROW || src == SQLITE_DONE ? CL_OK : cl_sq_rc(q, src, "look up endpoint");
}

static const char *verify_severity(const char *v)
{
	static const struct { const char *v, *sev; } tab[] = {
		{ "expired", "critical" }, { "not-yet-valid", "error" },
		{ "hostname-mismatch", "error" }, { "incomplete-chain", "error" },
		{ "weak-signature", "error" }, { "self-signed", "warning" },
		{ "untrusted-root", "warning" }, { "wrong-order", "warning" },
	};
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(tab); i++)
		if (strcmp(tab[i].v, v) == 0)
			return tab[i].sev;
	return "warning";
}

/* Raises tls.<status> or one tls.verify.<problem> per problem found. */
static int ep_findings(struct sq_store *q, int64_t run_id, const struct cl_endpoint_obs *e,
                       const struct ep_prev *prev, int64_t now)
{
	const struct cl_endpoint_row *r = &e->r;
	char rule[64], msg[1024], list[256], *tok, *save = NULL;
	bool is_new;
	int rc;

	if (strcmp(r->status, "ok") != 0) {
		bool down = strcmp(r->status, "refused") == 0 || strcmp(r->status, "timeout") == 0;
		snprintf(rule, sizeof rule, "tls.%s", r->status);
		snprintf(msg, sizeof msg, "%s%s%s", r->status, r->error && *r->error ? ": " : "",
		         r->error ? r->error : "");
		rc = sq_finding_raise(&q->base, run_id, rule,
		                      down && (prev->was_ok || prev->leaf[0]) ? "error" : "warning",
		                      r->location, NULL, msg, now, &is_new);
		if (rc != CL_OK)
			return rc;
	}
	/* every problem of the chain, not only the first */
	if (r->leaf_fp && e->ncerts && r->verify && strcmp(r->verify, "ok") != 0) {
		const char *problems = r->verify_detail && *r->verify_detail ? r->verify_detail
		                                                              : r->verify;
		/* verify_detail: "expired,hostname-mismatch: text" */
		snprintf(list, sizeof list, "%.*s", (int)strcspn(problems, ":"), problems);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			snprintf(rule, sizeof rule, "tls.verify.%s", tok);
			snprintf(msg, sizeof msg, "%s (%s)", tok,
			         r->verify_detail ? r->verify_detail : r->verify);
			if ((rc = sq_finding_raise(&q->base, run_id, rule, verify_severity(tok),
			                           r->location, r->leaf_fp, msg, now, &is_new)) != CL_OK)
				return rc;
		}
	}
	return findings_settle(q, run_id, "tls.", r->location, now);
}

static int ep_event(struct sq_store *q, int64_t now, const char *type,
                    const struct cl_endpoint_obs *e, const char *old_fp)
{
	const struct cl_endpoint_row *r = &e->r;
	json_t *o;
	char *d;
	int rc;

	if (!(o = json_pack("{s:s}", "status", r->status)))
		return CL_ERR_NOMEM;
	if (r->error && *r->error)
		json_object_set_new(o, "error", json_string(r->error));
	if (r->tls_version && e->ncerts)
		json_object_set_new(o, "tls_version", json_string(r->tls_version));
	if (r->verify && e->ncerts)
		json_object_set_new(o, "verify", json_string(r->verify));
	if (old_fp && *old_fp)
		json_object_set_new(o, "old_fp", json_string(old_fp));
	if (r->leaf_fp && e->ncerts)
		json_object_set_new(o, old_fp ? "new_fp" : "fp", json_string(r->leaf_fp));
	d = json_detail(o);
	rc = cl_sq_event(q, now, type, e->ncerts ? r->leaf_fp : NULL, r->location, d);
	free(d);
	return rc;
}

static int ep_upsert(struct sq_store *q, int64_t run_id, int64_t place_id,
                     const struct cl_endpoint_obs *e, int64_t now)
{
	const struct cl_endpoint_row *r = &e->r;
	sqlite3_stmt *st = cl_sq_stmt(q, e->ncerts ? ST_EP_OK : ST_EP_FAIL);

	if (!st)
		return CL_ERR;
	sqlite3_bind_int64(st, 1, place_id);
	cl_sq_bind_text(st, 2, r->address);
	sqlite3_bind_int(st, 3, r->port);
	cl_sq_bind_text(st, 4, r->sni ? r->sni : "");
	cl_sq_bind_text(st, 5, r->hostname ? r->hostname : "");
	cl_sq_bind_text(st, 6, r->status);
	cl_sq_bind_text(st, 7, r->error);
	cl_sq_bind_text(st, 8, r->starttls);
	if (!e->ncerts) {
		sqlite3_bind_int64(st, 9, now);
		sqlite3_bind_int64(st, 10, run_id);
		return cl_sq_done(q, st, "record endpoint");
	}
	cl_sq_bind_text(st, 9, r->tls_version);
	cl_sq_bind_text(st, 10, r->cipher);
	cl_sq_bind_text(st, 11, r->group);
	cl_sq_bind_text(st, 12, r->alpn);
	if (r->ocsp_stapled >= 0)
		sqlite3_bind_int(st, 13, r->ocsp_stapled);
	cl_sq_bind_text(st, 14, r->leaf_fp);
	cl_sq_bind_text(st, 15, r->chain);
	cl_sq_bind_text(st, 16, r->verify);
	cl_sq_bind_text(st, 17, r->verify_detail);
	sqlite3_bind_int64(st, 18, now);
	sqlite3_bind_int64(st, 19, run_id);
	return cl_sq_done(q, st, "record endpoint");
}

static int sq_observe_endpoint(struct cl_store *s, int64_t run_id, struct cl_endpoint_obs *e,
                               int64_t now, const char *location, unsigned *what,
                               long *certs_new)
{
	struct sq_store *q = SQ(s);
	const char *where = location + 4;   /* after "tls:" */
	int64_t place_id, created_run;
	struct ep_prev prev;
	bool mine = false, ok;
	sqlite3_stmt *st;
	char detail[32];
	long ngone;
	size_t i;
	int rc, src;

	*what = 0;
	*certs_new = 0;
	if ((rc = place_lookup(q, "tls", where, false, run_id, &place_id, &created_run)) != CL_OK ||
	    (rc = ep_get(q, place_id, &prev)) != CL_OK)
		return rc;
	if (!prev.exists && !e->connected && !e->explicit_target)
		return CL_OK;  /* a closed port of a sweep: nothing is there */
	if (!q->in_txn) {
		if ((rc = sq_begin(s)) != CL_OK)
			return rc;
		mine = true;
	}
	for (i = 0; i < e->ncerts; i++) {
		unsigned w;
		size_t k;
		for (k = 0; k < i; k++)  /* a certificate sent twice is sighted once */
			if (memcmp(e->certs[k]->fp, e->certs[i]->fp, CL_SHA256_LEN) == 0)
				break;
		if (k < i)
			continue;
		if (i == 0)
			snprintf(detail, sizeof detail, "leaf");
		else
			snprintf(detail, sizeof detail, "chain %zu", i);
		if ((rc = sq_observe_cert(s, run_id, e->certs[i], "tls", where, detail, now,
		                          &w)) != CL_OK)
			goto out;
		if (w & CL_OBS_NEW_CERT)
			(*certs_new)++;
	}
	/* certificates no longer presented there are gone */
	if (prev.exists && (rc = sq_location_done(s, run_id, "tls", where, now, &ngone)) != CL_OK)
		goto out;
	if ((rc = place_lookup(q, "tls", where, true, run_id, &place_id, &created_run)) != CL_OK ||
	    (rc = ep_upsert(q, run_id, place_id, e, now)) != CL_OK)
		goto out;
	*what |= CL_EP_RECORDED;
	ok = strcmp(e->r.status, "ok") == 0;
	if (!prev.leaf[0] && e->ncerts) {
		/* new: the first time this endpoint shows a certificate */
		*what |= CL_EP_NEW;
		rc = ep_event(q, now, "endpoint.new", e, NULL);
	} else if (!prev.exists) {
		;  /* a failing endpoint first seen: its finding says it all */
	} else {
		if (ok && !prev.was_ok) {
			*what |= CL_EP_BACK;
			rc = ep_event(q, now, "endpoint.back", e, NULL);
		} else if (!ok && prev.was_ok) {
			*what |= CL_EP_UNREACHABLE;
			rc = ep_event(q, now, "endpoint.unreachable", e, NULL);
		}
		if (rc == CL_OK && e->ncerts && prev.leaf[0] && e->r.leaf_fp &&
		    strcmp(prev.leaf, e->r.leaf_fp) != 0) {
			*what |= CL_EP_CHANGED;
			rc = ep_event(q, now, "endpoint.changed", e, prev.leaf);
		}
	}
	if (rc != CL_OK || (rc = ep_findings(q, run_id, e, &prev, now)) != CL_OK)
		goto out;
	/* what the caller reports: the stored times */
	rc = CL_ERR;
	if (!(st = cl_sq_stmt(q, ST_EP_TIMES)))
		goto out;
	sqlite3_bind_int64(st, 1, place_id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		e->r.first_seen = sqlite3_column_int64(st, 0);
		e->r.last_seen = sqlite3_column_int64(st, 1);
		e->r.unreachable_since = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	rc = src == SQLITE_ROW ? CL_OK : cl_sq_rc(q, src, "read endpoint");
out:
	if (!mine)
		return rc;
	if (rc == CL_OK)
		return sq_commit(s);
	sq_rollback(s);
	return rc;
}

static int sq_endpoints(struct cl_store *s, const struct cl_endpoint_filter *f,
                        int (*cb)(void *arg, const struct cl_endpoint_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db,
	        "SELECT p.kind||':'||p.loc, e.address, e.port, e.sni, e.hostname, e.status,"
	        " e.error, e.starttls, e.tls_version, e.cipher, e.grp, e.alpn,"
	        " e.ocsp_stapled, e.leaf_fp, c.subject, c.issuer, c.not_after, e.verify,"
	        " e.verify_detail, e.chain, e.first_seen, e.last_seen, e.unreachable_since"
	        " FROM endpoints e JOIN places p ON p.id=e.place_id"
	        " LEFT JOIN certs c ON c.fp=e.leaf_fp"
	        " WHERE (?1 IS NULL OR cl_glob(?1, e.status))"
	        " AND (?2 IS NULL OR cl_glob(?2, p.kind||':'||p.loc))"
	        " AND (?3 IS NULL OR cl_glob(?3, e.verify))"
	        " AND (?4=0 OR e.status<>'ok')"
	        " AND (?5=0 OR (e.status='ok' AND e.verify<>'ok'))"
	        " ORDER BY instr(e.address, ':') > 0, length(e.address), e.address, e.port, e.sni",
	        -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "endpoints");
	cl_sq_bind_text(st, 1, f ? f->status : NULL);
	cl_sq_bind_text(st, 2, f ? f->location : NULL);
	cl_sq_bind_text(st, 3, f ? f->verify : NULL);
	sqlite3_bind_int(st, 4, f && f->failing);
	sqlite3_bind_int(st, 5, f && f->chain_problems);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_endpoint_row r = {
			.location = cl_sq_col_text(st, 0), .address = cl_sq_col_text(st, 1),
			.port = sqlite3_column_int(st, 2), .sni = cl_sq_col_text(st, 3),
			.hostname = cl_sq_col_text(st, 4), .status = cl_sq_col_text(st, 5), .error = cl_sq_col_text(st, 6),
			.starttls = cl_sq_col_text(st, 7), .tls_version = cl_sq_col_text(st, 8),
			.cipher = cl_sq_col_text(st, 9), .group = cl_sq_col_text(st, 10), .alpn = cl_sq_col_text(st, 11),
			.ocsp_stapled = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 :
			                sqlite3_column_int(st, 12),
			.leaf_fp = cl_sq_col_text(st, 13), .subject = cl_sq_col_text(st, 14),
			.issuer = cl_sq_col_text(st, 15), .not_after = sqlite3_column_int64(st, 16),
			.verify = cl_sq_col_text(st, 17), .verify_detail = cl_sq_col_text(st, 18),
			.chain = cl_sq_col_text(st, 19), .first_seen = sqlite3_column_int64(st, 20),
			.last_seen = sqlite3_column_int64(st, 21),
			.unreachable_since = sqlite3_column_int64(st, 22),
		};
		if ((rc = cb(arg, &r)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "endpoints");
	sqlite3_finalize(st);
	return rc;
}

/* ---- policy checks ------------------------------------------------------- */

static int sq_findings_open(struct cl_store *s, const char *prefix,
                            int (*cb)(void *arg, int64_t id, const char *rule,
                                      const char *target, const char *fp,
                                      const char *severity, const char *message),
                            void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, "SELECT id, rule, target, fp, severity, message FROM findings"
	                       " WHERE resolved_at IS NULL AND substr(rule, 1, length(?1))=?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "open findings");
	cl_sq_bind_text(st, 1, prefix);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, sqlite3_column_int64(st, 0), cl_sq_col_text(st, 1), cl_sq_col_text(st, 2),
		             cl_sq_col_text(st, 3), cl_sq_col_text(st, 4), cl_sq_col_text(st, 5))) != CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "open findings");
	sqlite3_finalize(st);
	return rc;
}

static int sq_findings_stage_begin(struct cl_store *s)
{
	struct sq_store *q = SQ(s);

	return cl_sq_exec(q, "CREATE TEMP TABLE IF NOT EXISTS staged(rule TEXT NOT NULL,"
	               " severity TEXT NOT NULL, target TEXT NOT NULL, fp TEXT NOT NULL,"
	               " message TEXT NOT NULL, PRIMARY KEY(rule, target, fp)) WITHOUT ROWID;"
	               "CREATE TEMP TABLE IF NOT EXISTS settled(id INTEGER PRIMARY KEY);"
	               "DELETE FROM temp.staged; DELETE FROM temp.settled;");
}

/* A statement on the temporary tables, prepared once per call site. */
static sqlite3_stmt *temp_stmt(struct sq_store *q, sqlite3_stmt **cache, const char *sql)
{
	if (!*cache) {
		if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, cache, NULL) !=
		    SQLITE_OK) {
			cl_sq_rc(q, sqlite3_errcode(q->db), "prepare");
			return NULL;
		}
		return *cache;
	}
	sqlite3_reset(*cache);
	return *cache;
}

static int sq_findings_stage(struct cl_store *s, const char *rule, const char *severity,
                             const char *target, const char *fp, const char *message)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = temp_stmt(q, &q->st_stage, "INSERT OR IGNORE INTO temp.staged"
	                             " VALUES(?1,?2,?3,?4,?5)");

	if (!st)
		return CL_ERR;
	cl_sq_bind_text(st, 1, rule);
	cl_sq_bind_text(st, 2, severity);
	cl_sq_bind_text(st, 3, target);
	cl_sq_bind_text(st, 4, fp ? fp : "");
	cl_sq_bind_text(st, 5, message);
	return cl_sq_done(q, st, "stage finding");
}

static int sq_findings_stage_resolve(struct cl_store *s, int64_t id)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = temp_stmt(q, &q->st_scope, "INSERT OR IGNORE INTO temp.settled"
	                             " VALUES(?1)");

	if (!st)
		return CL_ERR;
	sqlite3_bind_int64(st, 1, id);
	return cl_sq_done(q, st, "stage resolution");
}

/* Runs one settle step with ?1 now, ?2 run, ?5 the last finding id before
 * and ?6 the actor. */
static int settle_step(struct sq_store *q, const char *sql, int64_t now, int64_t run_id,
                       int64_t maxid, long *changes)
{
	sqlite3_stmt *st;
	int rc;

	*changes = 0;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "settle findings");
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		switch (name ? name[1] : '?') {
		case '1': sqlite3_bind_int64(st, i, now); break;
		case '2': sqlite3_bind_int64(st, i, run_id); break;
		case '5': sqlite3_bind_int64(st, i, maxid); break;
		case '6': cl_sq_bind_text(st, i, q->actor); break;
		default: break;
		}
	}
	rc = cl_sq_done(q, st, "settle findings");
	if (rc == CL_OK)
		*changes = sqlite3_changes(q->db);
	sqlite3_finalize(st);
	return rc;
}

static int sq_findings_stage_end(struct cl_store *s, int64_t run_id, int64_t now, long *opened,
                                 long *changed, long *resolved)
{
	static const char *const steps[] = {
		/* changed: the same finding with a new severity or message */
		"UPDATE findings SET last_seen=?1, last_run=?2, severity=s.severity,"
		" message=s.message FROM temp.staged s WHERE findings.rule=s.rule AND"
		" findings.target=s.target AND findings.fp=s.fp AND findings.resolved_at IS NULL",
		/* new */
		"INSERT INTO findings(rule,severity,target,fp,message,first_seen,last_seen,last_run)"
		" SELECT rule, severity, target, fp, message, ?1, ?1, ?2 FROM temp.staged s"
		" WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.rule=s.rule AND"
		" f.target=s.target AND f.fp=s.fp AND f.resolved_at IS NULL)",
		"INSERT INTO events(ts,type,fp,location,actor,detail) SELECT ?1, 'finding.opened',"
		" NULLIF(fp,''), target, ?6, json_object('rule',rule,'severity',severity,"
		"'message',message,'id',id) FROM findings WHERE id > ?5",
		/* no longer true */
		"UPDATE findings SET resolved_at=?1, last_run=?2 WHERE id IN"
		" (SELECT id FROM temp.settled) AND resolved_at IS NULL",
		"INSERT INTO events(ts,type,fp,location,actor,detail) SELECT ?1, 'finding.resolved',"
		" NULLIF(f.fp,''), f.target, ?6, json_object('rule',f.rule,'id',f.id)"
		" FROM temp.settled t JOIN findings f ON f.id=t.id WHERE f.resolved_at=?1",
	};
	struct sq_store *q = SQ(s);
	int64_t maxid = 0;
	sqlite3_stmt *st;
	size_t i;
	long n = 0;
	int rc = CL_OK;

	if (sqlite3_prepare_v2(q->db, "SELECT coalesce(max(id),0) FROM findings", -1, &st, NULL)
	    != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "settle findings");
	if (sqlite3_step(st) == SQLITE_ROW)
		maxid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	for (i = 0; i < CL_ARRAY_LEN(steps) && rc == CL_OK; i++) {
		rc = settle_step(q, steps[i], now, run_id, maxid, &n);
		if (i == 0)
			*changed = n;
		else if (i == 1)
			*opened = n;
		else if (i == 3)
			*resolved = n;
	}
	if (rc == CL_OK)
		rc = cl_sq_exec(q, "DELETE FROM temp.staged; DELETE FROM temp.settled;");
	return rc;
}

/* Certificates for policy checks: narrow rows, storage order, locations
 * merged in from a second statement ordered the same way. */
static int sq_policy_rows(struct cl_store *s, const struct cl_filter *f, bool with_locations,
                          int (*cb)(void *arg, const struct cl_policy_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	struct sq_where w;
	sqlite3_stmt *st = NULL, *ls = NULL;
	struct cl_cert c;
	struct cl_buf sanbuf, locbuf;
	char **sans = NULL, **locs = NULL;
	size_t capsans = 0, caplocs = 0;
	int64_t loc_id = -1;
	int rc, src, lsrc = SQLITE_DONE;

	cl_buf_init(&sanbuf, 1 << 20);
	cl_buf_init(&locbuf, 16 << 20);
	where_build(&w, f);
	if ((rc = where_prepare(q, &w, "SELECT c.id, c.fp, c.spki_sha256, c.subject, c.subject_cn,"
	                        " c.issuer, c.sans, c.not_before, c.not_after, c.key_type,"
	                        " c.key_bits, c.curve, c.sig_alg, c.is_ca, c.self_signed, c.eku,"
	                        " c.sct_count, c.owner, c.environment, c.tags, c.serial, c.issuer_cn,"
	                        " c.first_seen"
	                        /* most certificates are present: a scan in id order beats
	                         * an index walk plus a sort */
	                        " FROM certs c NOT INDEXED", " ORDER BY c.id", &st)) != CL_OK)
		goto out;
	if (with_locations) {
		if (sqlite3_prepare_v2(q->db, "SELECT s.cert_id, p.kind||':'||p.loc FROM sightings s"
		                       " JOIN places p ON p.id=s.place_id WHERE s.state='present'"
		                       " ORDER BY s.cert_id", -1, &ls, NULL) != SQLITE_OK) {
			rc = cl_sq_rc(q, sqlite3_errcode(q->db), "policy locations");
			goto out;
		}
		if ((lsrc = sqlite3_step(ls)) == SQLITE_ROW)
			loc_id = sqlite3_column_int64(ls, 0);
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *p, *sanstr = cl_sq_col_text(st, 6);
		struct cl_policy_row r = { .c = &c };
		size_t n = 0, k;

		memset(&c, 0, sizeof c);
		if (cl_unhex(cl_sq_col_text(st, 1), c.fp, CL_SHA256_LEN) != CL_OK ||
		    cl_unhex(cl_sq_col_text(st, 2), c.spki_sha256, CL_SHA256_LEN) != CL_OK)
			continue;
		c.subject = (char *)cl_sq_col_text(st, 3);
		c.subject_cn = (char *)cl_sq_col_text(st, 4);
		c.issuer = (char *)cl_sq_col_text(st, 5);
		c.not_before = sqlite3_column_int64(st, 7);
		c.not_after = sqlite3_column_int64(st, 8);
		c.key_type = (char *)cl_sq_col_text(st, 9);
		c.key_bits = sqlite3_column_int(st, 10);
		c.curve = (char *)cl_sq_col_text(st, 11);
		c.sig_alg = (char *)cl_sq_col_text(st, 12);
		c.is_ca = sqlite3_column_int(st, 13);
		c.self_signed = sqlite3_column_int(st, 14);
		c.eku = (char *)cl_sq_col_text(st, 15);
		c.sct_count = sqlite3_column_int(st, 16);
		c.serial = (char *)cl_sq_col_text(st, 20);
		c.issuer_cn = (char *)cl_sq_col_text(st, 21);
		/* sans: newline separated, split in a copy */
		cl_buf_reset(&sanbuf);
		if (sanstr && *sanstr && cl_buf_addstr(&sanbuf, sanstr) == CL_OK) {
			for (p = sanbuf.data; p; n++) {
				char *nl = strchr(p, '\n');
				if (CL_GROW(sans, capsans, n + 1) != CL_OK) {
					rc = CL_ERR_NOMEM;
					goto out;
				}
				sans[n] = (char *)p;
				if (nl)
					*nl = '\0';
				p = nl ? nl + 1 : NULL;
			}
		}
		c.sans.v = sans;
		c.sans.n = n;
		r.owner = cl_sq_col_text(st, 17);
		r.environment = cl_sq_col_text(st, 18);
		r.tags = cl_sq_col_text(st, 19) ? cl_sq_col_text(st, 19) : "";
		r.first_seen = sqlite3_column_int64(st, 22);
		if (with_locations) {
			/* both statements walk certificate ids in ascending order */
			while (lsrc == SQLITE_ROW && loc_id < id && (lsrc = sqlite3_step(ls)) == SQLITE_ROW)
				loc_id = sqlite3_column_int64(ls, 0);
			cl_buf_reset(&locbuf);
			k = 0;
			while (lsrc == SQLITE_ROW && loc_id == id) {
				if (CL_GROW(locs, caplocs, k + 1) != CL_OK) {
					rc = CL_ERR_NOMEM;
					goto out;
				}
				/* offsets now, pointers once the buffer stops moving */
				locs[k++] = (char *)(uintptr_t)locbuf.len;
				cl_buf_addstr(&locbuf, cl_sq_col_text(ls, 1));
				cl_buf_add(&locbuf, "", 1);
				if ((lsrc = sqlite3_step(ls)) == SQLITE_ROW)
					loc_id = sqlite3_column_int64(ls, 0);
			}
			for (size_t i = 0; i < k && locbuf.data; i++)
				locs[i] = locbuf.data + (uintptr_t)locs[i];
			r.locations = (const char *const *)locs;
			r.nlocations = locbuf.data ? k : 0;
		}
		if ((rc = cb(arg, &r)) != CL_OK)
			goto out;
	}
	if (src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "policy rows");
	else if (with_locations && lsrc != SQLITE_ROW && lsrc != SQLITE_DONE)
		rc = cl_sq_rc(q, lsrc, "policy locations");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ls);
	where_free(&w);
	cl_buf_free(&sanbuf);
	cl_buf_free(&locbuf);
	free(sans);
	free(locs);
	return rc;
}

static int sq_ca_certs(struct cl_store *s,
                       int (*cb)(void *arg, const char *subject, const char *ski,
                                 const unsigned char *der, size_t len), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, "SELECT c.subject, c.ski, d.der FROM certs c JOIN cert_der d"
	                       " ON d.cert_id=c.id WHERE c.is_ca=1 ORDER BY c.present DESC,"
	                       " c.not_after DESC", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "CA certificates");
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, cl_sq_col_text(st, 0), cl_sq_col_text(st, 1), sqlite3_column_blob(st, 2),
		             (size_t)sqlite3_column_bytes(st, 2))) != CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "CA certificates");
	sqlite3_finalize(st);
	return rc;
}

/* Streams two columns (text, count) of sql. */
static int text_counts(struct sq_store *q, const char *sql, const char *what,
                       int (*cb)(void *arg, const char *key, long n), void *arg)
{
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), what);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, cl_sq_col_text(st, 0), (long)sqlite3_column_int64(st, 1))) != CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, what);
	sqlite3_finalize(st);
	return rc;
}

static int sq_key_hosts(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                        void *arg)
{
	return text_counts(SQ(s), "SELECT c.spki_sha256, count(DISTINCT e.address) FROM endpoints e"
	                   " JOIN certs c ON c.fp=e.leaf_fp WHERE e.status='ok'"
	                   " GROUP BY c.spki_sha256 HAVING count(DISTINCT e.address) > 1",
	                   "keys by host", cb, arg);
}

static int sq_shared_keys(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                          void *arg)
{
	return text_counts(SQ(s), "SELECT spki_sha256, count(*) FROM certs INDEXED BY certs_spki"
	                   " WHERE present=1 GROUP BY spki_sha256 HAVING count(*) > 1",
	                   "shared keys", cb, arg);
}

static int sq_exposed_keys(struct cl_store *s,
                           int (*cb)(void *arg, const char *location, const char *spki,
                                     int mode), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, "SELECT p.kind||':'||p.loc, k.spki_sha256, k.mode FROM keys k"
	                       " JOIN places p ON p.id=k.place_id WHERE k.state='present'"
	                       " AND k.mode >= 0 AND (k.mode & 63) <> 0 AND k.spki_sha256 <> ''",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "exposed keys");
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, cl_sq_col_text(st, 0), cl_sq_col_text(st, 1), sqlite3_column_int(st, 2))) !=
		    CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "exposed keys");
	sqlite3_finalize(st);
	return rc;
}

/* Fills rsa_keys for RSA certificates stored before it existed. */
static int rsa_backfill(struct sq_store *q)
{
	sqlite3_stmt *sel = NULL, *ins = NULL;
	int rc = CL_OK, src;

	if (sqlite3_prepare_v2(q->db, "SELECT c.id, d.der FROM certs c JOIN cert_der d ON"
	                       " d.cert_id=c.id WHERE c.key_type IN ('RSA','RSA-PSS') AND NOT EXISTS"
	                       " (SELECT 1 FROM rsa_keys r WHERE r.cert_id=c.id)", -1, &sel, NULL)
	    != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "INSERT OR REPLACE INTO rsa_keys VALUES(?1,?2,?3)", -1, &ins,
	                       NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "RSA key facts");
		goto out;
	}
	while ((src = sqlite3_step(sel)) == SQLITE_ROW) {
		struct cl_cert *c = NULL;
		if (cl_cert_parse_der(sqlite3_column_blob(sel, 1),
		                      (size_t)sqlite3_column_bytes(sel, 1), &c, NULL) != CL_OK)
			continue;
		sqlite3_bind_int64(ins, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_int64(ins, 2, c->rsa_e);
		sqlite3_bind_int(ins, 3, c->rsa_roca);
		cl_cert_free(c);
		if ((rc = cl_sq_done(q, ins, "RSA key facts")) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "RSA key facts");
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return rc;
}

static int sq_weak_rsa(struct cl_store *s, long min_e,
                       int (*cb)(void *arg, const char *fp, int64_t e, bool roca), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc, src;

	if (!q->readonly) {
		if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
			return rc;
		if ((rc = cl_sq_auto_end(q, mine, rsa_backfill(q))) != CL_OK)
			return rc;
	}
	if (sqlite3_prepare_v2(q->db, "SELECT c.fp, r.e, r.roca FROM rsa_keys r JOIN certs c ON"
	                       " c.id=r.cert_id WHERE c.present=1 AND (r.roca=1 OR (r.e > 0 AND"
	                       " (r.e < ?1 OR r.e % 2 = 0)))", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "weak RSA keys");
	sqlite3_bind_int64(st, 1, min_e);
	rc = CL_OK;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, cl_sq_col_text(st, 0), sqlite3_column_int64(st, 1),
		             sqlite3_column_int(st, 2) != 0)) != CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "weak RSA keys");
	sqlite3_finalize(st);
	return rc;
}

const struct cl_store_backend cl_store_sqlite = {
	.name = "sqlite",
	.claims = sq_claims,
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.run_begin = sq_run_begin,
	.run_end = sq_run_end,
	.observe_cert = sq_observe_cert,
	.observe_key = sq_observe_key,
	.location_done = sq_location_done,
	.sweep = sq_sweep,
	.finding_raise = sq_finding_raise,
	.finding_settle = sq_finding_settle,
	.tag = sq_tag,
	.query = sq_query,
	.query_json = sq_query_json,
	.get_der = sq_get_der,
	.summary = sq_summary,
	.events = sq_events,
	.findings = sq_findings,
	.keys = sq_keys,
	.observe_endpoint = sq_observe_endpoint,
	.endpoints = sq_endpoints,
	.findings_open = sq_findings_open,
	.findings_stage_begin = sq_findings_stage_begin,
	.findings_stage = sq_findings_stage,
	.findings_stage_resolve = sq_findings_stage_resolve,
	.findings_stage_end = sq_findings_stage_end,
	.policy_rows = sq_policy_rows,
	.ca_certs = sq_ca_certs,
	.key_hosts = sq_key_hosts,
	.shared_keys = sq_shared_keys,
	.exposed_keys = sq_exposed_keys,
	.weak_rsa = sq_weak_rsa,
	.meta_get = cl_sq_meta_get,
	.meta_set = cl_sq_meta_set,
	.alerts = cl_sq_alerts,
	.alerts_firing = cl_sq_alerts_firing,
	.alert_fire = cl_sq_alert_fire,
	.alert_resolve = cl_sq_alert_resolve,
	.alert_counts = cl_sq_alert_counts,
	.alert_certs = cl_sq_alert_certs,
	.cert_locations = cl_sq_cert_locations,
	.outbox_add = cl_sq_outbox_add,
	.outbox_due = cl_sq_outbox_due,
	.outbox_update = cl_sq_outbox_update,
	.outbox_next = cl_sq_outbox_next,
	.outbox_counts = cl_sq_outbox_counts,
	.metric_series = cl_sq_metric_series,
	.finding_counts = cl_sq_finding_counts,
	.managed_put = cl_sq_managed_put,
	.managed_rows = cl_sq_managed_rows,
	.managed_event = cl_sq_managed_event,
	.managed_spec_put = cl_sq_managed_spec_put,
	.managed_specs = cl_sq_managed_specs,
};
