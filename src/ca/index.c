/*
 * The CA's index (ca.db): every certificate issued, its revocation, and
 * the CRL numbers. SQLite in WAL mode with synchronous=FULL: a
 * certificate is in the index, durably, before cl_ca_issue returns it.
 * Every function here runs under ca->lock (one connection per handle).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ca/ca_int.h"
#include "core/util.h"

#define CA_APP_ID 0x434c4341   /* "CLCA" */
#define CA_SCHEMA_VERSION 1

static const char schema[] =
	"CREATE TABLE certs("
	" serial TEXT PRIMARY KEY,"          /* lowercase hex */
	" fingerprint TEXT NOT NULL,"        /* SHA-256 of der */
	" cn TEXT NOT NULL,"
	" sans TEXT NOT NULL,"               /* DNS:a,IP:b */
	" key_type TEXT NOT NULL,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" issued_at INTEGER NOT NULL,"
	" revoked_at INTEGER,"
	" reason INTEGER,"
	" der BLOB NOT NULL);"
	"CREATE INDEX certs_revoked ON certs(revoked_at) WHERE revoked_at IS NOT NULL;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES('crl_number', 0), ('root_crl_number', 0);";

static int busy_timeout(void)
{
	const char *e = getenv("CERTLEDGER_BUSY_TIMEOUT_MS");

	return e && *e ? atoi(e) : 10000;
}

static int db_err(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	int code = sqlite3_errcode(db);

	snprintf(err, errlen, "CA index: %s: %s", what, sqlite3_errmsg(db));
	return code == SQLITE_BUSY || code == SQLITE_LOCKED ? CL_ERR_BUSY :
	       code == SQLITE_READONLY ? CL_ERR_READONLY : CL_ERR_IO;
}

static int pragmas(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_busy_timeout(db, busy_timeout());
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 NULL) != SQLITE_OK)
		return db_err(db, "setting it up", err, errlen);
	return CL_OK;
}

int cl_ca_db_create(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char sql[128];
	int fd, rc = CL_ERR_IO;

	/* certificates only, but nobody else's business: 0600 like the inventory */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	close(fd);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
	    != SQLITE_OK) {
		rc = db_err(db, "cannot create it", err, errlen);
		goto out;
	}
	if ((rc = pragmas(db, err, errlen)) != CL_OK)
		goto out;
	snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d;", CA_APP_ID,
	         CA_SCHEMA_VERSION);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(db, "cannot create its tables", err, errlen);
		goto out;
	}
	rc = CL_OK;
out:
	if (sqlite3_close(db) != SQLITE_OK && rc == CL_OK) {
		snprintf(err, errlen, "CA index: %s: cannot close", path);
		rc = CL_ERR_IO;
	}
	return rc;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ERR_IO;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = CL_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int cl_ca_db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc, app = 0, ver = 0;

	*out = NULL;
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? CL_ERR_NOTFOUND : CL_ERR_IO;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
	    != SQLITE_OK) {
		rc = db_err(db, path, err, errlen);
		goto fail;
	}
	sqlite3_busy_timeout(db, busy_timeout());
	if (pragma_int(db, "PRAGMA application_id", &app) != CL_OK ||
	    pragma_int(db, "PRAGMA user_version", &ver) != CL_OK) {
		rc = db_err(db, path, err, errlen);
		goto fail;
	}
	if (app != CA_APP_ID) {
		snprintf(err, errlen, "%s is not a certledger CA index", path);
		rc = CL_ERR_PARSE;
		goto fail;
	}
	if (ver > CA_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s was written by a newer certledger (index version %d, this "
		         "one knows %d)", path, ver, CA_SCHEMA_VERSION);
		rc = CL_ERR_SCHEMA;
		goto fail;
	}
	if ((rc = pragmas(db, err, errlen)) != CL_OK)
		goto fail;
	*out = db;
	return CL_OK;
fail:
	sqlite3_close(db);
	return rc;
}

/* Inserts a group in one transaction; every member gets its result. */
static void commit_group(struct cl_ca *ca, struct cl_ca_pending *group)
{
	static const char sql[] =
		"INSERT INTO certs(serial, fingerprint, cn, sans, key_type, not_before, not_after,"
		" issued_at, der) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct cl_ca_pending *p;
	sqlite3_stmt *st = NULL;
	char msg[512];
	int rc = CL_OK, src;
	bool in_tx = false;

	pthread_mutex_lock(&ca->lock);
	if (sqlite3_exec(ca->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	in_tx = true;
	if (sqlite3_prepare_v2(ca->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	for (p = group; p; p = p->next) {
		const struct cl_ca_entry *e = p->e;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, e->serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e->cn, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->sans, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, e->key_type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, e->not_before);
		sqlite3_bind_int64(st, 7, e->not_after);
		sqlite3_bind_int64(st, 8, e->issued_at);
		sqlite3_bind_blob(st, 9, p->der, (int)p->der_len, SQLITE_STATIC);
		src = sqlite3_step(st);
		if (src == SQLITE_CONSTRAINT)   /* this statement only: the others stay */
			p->dup = true;
		else if (src != SQLITE_DONE)
			goto dberr;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(ca->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	in_tx = false;
	goto out;
dberr:
	/* nothing of the group is recorded: each issue fails */
	rc = db_err(ca->db, "recording a certificate", msg, sizeof msg);
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ca->lock);
	for (p = group; p; p = p->next) {
		p->rc = rc;
		if (rc != CL_OK) {
			p->dup = false;
			snprintf(p->err, p->errlen, "%s", msg);
		}
	}
}

int cl_ca_db_insert(struct cl_ca *ca, const struct cl_ca_entry *e, const unsigned char *der,
                    size_t der_len, bool *dup, char *err, size_t errlen)
{
	struct cl_ca_pending me = { .e = e, .der = der, .der_len = der_len, .err = err,
	                            .errlen = errlen };

	pthread_mutex_lock(&ca->gc_lock);
	*ca->gc_tail = &me;
	ca->gc_tail = &me.next;
	while (!me.done) {
		if (!ca->gc_leader) {
			/* lead: take everything queued (this one included) and commit it */
			struct cl_ca_pending *group = ca->gc_head, *p;
			ca->gc_head = NULL;
			ca->gc_tail = &ca->gc_head;
			ca->gc_leader = true;
			pthread_mutex_unlock(&ca->gc_lock);
			commit_group(ca, group);
			pthread_mutex_lock(&ca->gc_lock);
			for (p = group; p; p = p->next)
				p->done = true;
			ca->gc_leader = false;
			pthread_cond_broadcast(&ca->gc_cond);
		} else {
			pthread_cond_wait(&ca->gc_cond, &ca->gc_lock);
		}
	}
	pthread_mutex_unlock(&ca->gc_lock);
	*dup = me.dup;
	return me.rc;
}

int cl_ca_db_revoke(struct cl_ca *ca, const char *serial, int reason, int64_t when,
                    bool *already, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, src;
	bool in_tx = false;

	if (already)
		*already = false;
	pthread_mutex_lock(&ca->lock);
	if (sqlite3_exec(ca->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	in_tx = true;
	if (sqlite3_prepare_v2(ca->db, "SELECT revoked_at FROM certs WHERE serial = ?", -1, &st,
	                       NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		snprintf(err, errlen, "serial %s was not issued by this CA", serial);
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		if (already)
			*already = true;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(ca->db, "UPDATE certs SET revoked_at = ?, reason = ? "
	                       "WHERE serial = ?", -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_int(st, 2, reason);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(ca->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "revoking", err, errlen);
		goto out;
	}
	in_tx = false;
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ca->lock);
	return rc;
}

int cl_ca_db_crl(struct cl_ca *ca, bool root, int64_t now, long *number,
                 struct cl_ca_crl_ent **ents, size_t *nents, char *err, size_t errlen)
{
	const char *key = root ? "root_crl_number" : "crl_number";
	struct cl_ca_crl_ent *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, src;
	bool in_tx = false;

	*ents = NULL;
	*nents = 0;
	pthread_mutex_lock(&ca->lock);
	if (sqlite3_exec(ca->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	in_tx = true;
	if (sqlite3_prepare_v2(ca->db, "UPDATE meta SET value = value + 1 WHERE key = ?1 "
	                       "RETURNING value", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto dberr;
	*number = (long)sqlite3_column_int64(st, 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (!root) {
		if (sqlite3_prepare_v2(ca->db, "SELECT serial, revoked_at, reason FROM certs "
		                       "WHERE revoked_at IS NOT NULL AND not_after >= ? "
		                       "ORDER BY revoked_at, serial", -1, &st, NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_int64(st, 1, now);
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(st, 0);
			size_t len = s ? strlen(s) : 0;
			if (n == cap && CL_GROW(v, cap, n + 1) != CL_OK) {
				snprintf(err, errlen, "out of memory");
				rc = CL_ERR_NOMEM;
				goto out;
			}
			if (len == 0 || len % 2 || len > 40 || cl_unhex(s, v[n].serial, len / 2) != CL_OK) {
				snprintf(err, errlen, "CA index: a malformed serial");
				rc = CL_ERR_PARSE;
				goto out;
			}
			v[n].len = len / 2;
			v[n].revoked_at = sqlite3_column_int64(st, 1);
			v[n].reason = sqlite3_column_int(st, 2);
			n++;
		}
		if (src != SQLITE_DONE)
			goto dberr;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_exec(ca->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	in_tx = false;
	*ents = v;
	*nents = n;
	v = NULL;
	goto out;
dberr:
	rc = db_err(ca->db, "making a CRL", err, errlen);
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ca->lock);
	free(v);
	return rc;
}

int cl_ca_list(struct cl_ca *ca, enum cl_ca_state state, const char *serial, int64_t now,
               int (*cb)(void *arg, const struct cl_ca_entry *e), void *arg,
               char *err, size_t errlen)
{
	char sql[512], norm[41];
	const char *where = state == CL_CA_VALID ? " AND revoked_at IS NULL AND not_after >= ?1" :
	                    state == CL_CA_EXPIRED ? " AND revoked_at IS NULL AND not_after < ?1" :
	                    state == CL_CA_REVOKED ? " AND revoked_at IS NOT NULL" : "";
	sqlite3_stmt *st = NULL;
	long rows = 0;
	int rc = CL_OK, src;

	if (!now)
		now = cl_now();
	if (serial && (rc = cl_ca_serial_norm(serial, norm, sizeof norm)) != CL_OK) {
		snprintf(err, errlen, "'%s' is not a serial number (hex digits)", serial);
		return rc;
	}
	snprintf(sql, sizeof sql, "SELECT serial, fingerprint, cn, sans, key_type, not_before, "
	         "not_after, issued_at, revoked_at, reason FROM certs WHERE (?2 IS NULL OR serial "
	         "= ?2)%s ORDER BY issued_at, rowid", where);
	pthread_mutex_lock(&ca->lock);
	if (sqlite3_prepare_v2(ca->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "listing", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	if (serial)
		sqlite3_bind_text(st, 2, norm, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_ca_entry e = {
			.serial = (const char *)sqlite3_column_text(st, 0),
			.fingerprint = (const char *)sqlite3_column_text(st, 1),
			.cn = (const char *)sqlite3_column_text(st, 2),
			.sans = (const char *)sqlite3_column_text(st, 3),
			.key_type = (const char *)sqlite3_column_text(st, 4),
			.not_before = sqlite3_column_int64(st, 5),
			.not_after = sqlite3_column_int64(st, 6),
			.issued_at = sqlite3_column_int64(st, 7),
			.revoked_at = sqlite3_column_int64(st, 8),
			.reason = sqlite3_column_int(st, 9),
		};
		rows++;
		if ((rc = cb(arg, &e)) != 0)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = db_err(ca->db, "listing", err, errlen);
		goto out;
	}
	if (rows == 0) {
		if (serial)
			snprintf(err, errlen, "serial %s was not issued by this CA", norm);
		else
			snprintf(err, errlen, "no certificate matched");
		rc = CL_ERR_NOTFOUND;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ca->lock);
	return rc;
}

int cl_ca_counts(struct cl_ca *ca, int64_t now, struct cl_ca_counts *c, char *err,
                 size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK;

	memset(c, 0, sizeof *c);
	if (!now)
		now = cl_now();
	pthread_mutex_lock(&ca->lock);
	if (sqlite3_prepare_v2(ca->db,
	        "SELECT count(*), count(*) FILTER (WHERE revoked_at IS NULL AND not_after >= ?1),"
	        " count(*) FILTER (WHERE revoked_at IS NULL AND not_after < ?1),"
	        " count(revoked_at),"
	        " (SELECT value FROM meta WHERE key = 'crl_number'),"
	        " (SELECT value FROM meta WHERE key = 'root_crl_number') FROM certs",
	        -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(ca->db, "counting", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_err(ca->db, "counting", err, errlen);
		goto out;
	}
	c->issued = (long)sqlite3_column_int64(st, 0);
	c->valid = (long)sqlite3_column_int64(st, 1);
	c->expired = (long)sqlite3_column_int64(st, 2);
	c->revoked = (long)sqlite3_column_int64(st, 3);
	c->crl_number = (long)sqlite3_column_int64(st, 4);
	c->root_crl_number = (long)sqlite3_column_int64(st, 5);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ca->lock);
	return rc;
}
