/*
 * SQLite backend: the daemon's state (meta values), alerts and the outbox
 * of their notifications.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/util.h"
#include "store/sqlite_int.h"

int cl_sq_meta_get(struct cl_store *s, const char *key, char **value)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = cl_sq_prep(q, CL_SQX_META_GET, "SELECT value FROM meta WHERE key=?1");
	int src, rc = CL_OK;

	*value = NULL;
	if (!st)
		return CL_ERR;
	cl_sq_bind_text(st, 1, key);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if ((*value = strdup(cl_sq_col_text(st, 0) ? cl_sq_col_text(st, 0) : "")) == NULL)
			rc = CL_ERR_NOMEM;
	} else if (src == SQLITE_DONE) {
		rc = CL_ERR_NOTFOUND;
	} else {
		rc = cl_sq_rc(q, src, "read state");
	}
	sqlite3_reset(st);
	return rc;
}

int cl_sq_meta_set(struct cl_store *s, const char *key, const char *value)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	st = cl_sq_prep(q, CL_SQX_META_SET, "INSERT OR REPLACE INTO meta(key,value) VALUES(?1,?2)");
	if (!st)
		rc = CL_ERR;
	else {
		cl_sq_bind_text(st, 1, key);
		cl_sq_bind_text(st, 2, value);
		rc = cl_sq_done(q, st, "write state");
	}
	return cl_sq_auto_end(q, mine, rc);
}

/* ---- alerts ------------------------------------------------------------ */

int cl_sq_alerts(struct cl_store *s, const struct cl_alert_filter *f,
                 int (*cb)(void *arg, const struct cl_alert_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	struct cl_buf sql;
	sqlite3_stmt *st = NULL;
	struct cl_alert_row r;
	int src, rc;

	cl_buf_init(&sql, 1 << 16);
	rc = cl_buf_addstr(&sql,
		"SELECT * FROM (SELECT a.id, a.key, a.type, a.state, a.severity, a.level, a.fp,"
		" a.target, a.summary, a.fired_at, a.updated_at, a.resolved_at,"
		" (SELECT group_concat(o.notifier || ':' || o.state || CASE WHEN o.action='resolved'"
		"  THEN '(resolved)' ELSE '' END, ' ') FROM outbox o WHERE o.alert_id=a.id)"
		" FROM alerts a WHERE 1");
	if (rc == CL_OK && f->state)
		rc = cl_buf_addstr(&sql, " AND a.state=?1");
	if (rc == CL_OK && f->type)
		rc = cl_buf_addstr(&sql, " AND cl_glob(?2, a.type)");
	if (rc == CL_OK && f->fp_prefix)
		rc = cl_buf_addstr(&sql, " AND a.fp LIKE ?3 || '%'");
	if (rc == CL_OK && f->since)
		rc = cl_buf_addstr(&sql, " AND a.updated_at>=?4");
	if (rc == CL_OK)
		rc = cl_buf_addstr(&sql, " ORDER BY a.updated_at DESC, a.id DESC");
	if (rc == CL_OK && f->limit > 0)
		rc = cl_buf_printf(&sql, " LIMIT %ld", f->limit);
	if (rc == CL_OK)
		rc = cl_buf_addstr(&sql, ") ORDER BY 11, 1");
	if (rc != CL_OK)
		goto out;
	if (sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "list alerts");
		goto out;
	}
	cl_sq_bind_text(st, 1, f->state);
	cl_sq_bind_text(st, 2, f->type);
	cl_sq_bind_text(st, 3, f->fp_prefix);
	sqlite3_bind_int64(st, 4, f->since);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(st, 0);
		r.key = cl_sq_col_text(st, 1);
		r.type = cl_sq_col_text(st, 2);
		r.state = cl_sq_col_text(st, 3);
		r.severity = cl_sq_col_text(st, 4);
		r.level = cl_sq_col_text(st, 5);
		r.fp = cl_sq_col_text(st, 6);
		r.target = cl_sq_col_text(st, 7);
		r.summary = cl_sq_col_text(st, 8);
		r.fired_at = sqlite3_column_int64(st, 9);
		r.updated_at = sqlite3_column_int64(st, 10);
		r.resolved_at = sqlite3_column_int64(st, 11);
		r.deliveries = cl_sq_col_text(st, 12);
		if ((rc = cb(arg, &r)) != CL_OK)
			goto out;
	}
	if (src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "list alerts");
out:
	sqlite3_finalize(st);
	cl_buf_free(&sql);
	return rc;
}

int cl_sq_alerts_firing(struct cl_store *s,
                        int (*cb)(void *arg, const struct cl_alert_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	struct cl_alert_row r;
	int src, rc = CL_OK;

	/* what evaluation compares with: no delivery summary */
	if (sqlite3_prepare_v2(q->db, "SELECT id, key, type, severity, level, fp, target, summary,"
	                       " fired_at, updated_at, payload FROM alerts WHERE state='firing'",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read firing alerts");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(st, 0);
		r.key = cl_sq_col_text(st, 1);
		r.type = cl_sq_col_text(st, 2);
		r.state = "firing";
		r.severity = cl_sq_col_text(st, 3);
		r.level = cl_sq_col_text(st, 4);
		r.fp = cl_sq_col_text(st, 5);
		r.target = cl_sq_col_text(st, 6);
		r.summary = cl_sq_col_text(st, 7);
		r.fired_at = sqlite3_column_int64(st, 8);
		r.updated_at = sqlite3_column_int64(st, 9);
		r.payload = cl_sq_col_text(st, 10);
		if ((rc = cb(arg, &r)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "read firing alerts");
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_alert_fire(struct cl_store *s, const char *key, const char *type,
                     const char *severity, const char *level, const char *fp,
                     const char *target, const char *summary, const char *payload,
                     bool oneshot, int64_t now,
                     int64_t *id)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc, src;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	*id = 0;
	if (!oneshot) {
		/* the firing alert of this key moves to its new level */
		st = cl_sq_prep(q, CL_SQX_ALERT_UPDATE,
		                "UPDATE alerts SET type=?2, severity=?3, level=?4, summary=?5,"
		                " updated_at=?6, payload=?7 WHERE key=?1 AND state='firing'"
		                " RETURNING id");
		if (!st) {
			rc = CL_ERR;
			goto out;
		}
		cl_sq_bind_text(st, 1, key);
		cl_sq_bind_text(st, 2, type);
		cl_sq_bind_text(st, 3, severity);
		cl_sq_bind_text(st, 4, level);
		cl_sq_bind_text(st, 5, summary);
		sqlite3_bind_int64(st, 6, now);
		cl_sq_bind_text(st, 7, payload);
		src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			*id = sqlite3_column_int64(st, 0);
		while (src == SQLITE_ROW)
			src = sqlite3_step(st);
		sqlite3_reset(st);
		if (src != SQLITE_DONE) {
			rc = cl_sq_rc(q, src, "update alert");
			goto out;
		}
		if (*id != 0)
			goto out;
	}
	st = cl_sq_prep(q, CL_SQX_ALERT_INSERT,
	                "INSERT INTO alerts(key,type,state,severity,level,fp,target,summary,"
	                "fired_at,updated_at,resolved_at,payload) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
	                "?9,?9,CASE WHEN ?3='once' THEN ?9 END,?10)");
	if (!st) {
		rc = CL_ERR;
		goto out;
	}
	cl_sq_bind_text(st, 1, key);
	cl_sq_bind_text(st, 2, type);
	cl_sq_bind_text(st, 3, oneshot ? "once" : "firing");
	cl_sq_bind_text(st, 4, severity);
	cl_sq_bind_text(st, 5, level);
	cl_sq_bind_text(st, 6, fp);
	cl_sq_bind_text(st, 7, target);
	cl_sq_bind_text(st, 8, summary);
	sqlite3_bind_int64(st, 9, now);
	cl_sq_bind_text(st, 10, payload);
	if ((rc = cl_sq_done(q, st, "record alert")) == CL_OK)
		*id = sqlite3_last_insert_rowid(q->db);
out:
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_alert_resolve(struct cl_store *s, int64_t id, int64_t now)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	st = cl_sq_prep(q, CL_SQX_ALERT_RESOLVE,
	                "UPDATE alerts SET state='resolved', resolved_at=?2, updated_at=?2"
	                " WHERE id=?1 AND state='firing'");
	if (!st)
		rc = CL_ERR;
	else {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = cl_sq_done(q, st, "resolve alert");
	}
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_alert_certs(struct cl_store *s, const struct cl_alert_scan *q,
                      int (*cb)(void *arg, const struct cl_alert_cert *c), void *arg)
{
	struct sq_store *sq = SQ(s);
	sqlite3_stmt *st = NULL;
	struct cl_alert_cert c;
	int src, rc = CL_OK;

	/* a scan in id order: most rows are skipped by the WHERE, none is sorted */
	if (sqlite3_prepare_v2(sq->db,
	                       "SELECT fp, subject, subject_cn, serial, issuer, issuer_cn, sans, owner,"
	                       " environment, tags, not_before, not_after, first_seen, is_ca"
	                       " FROM certs NOT INDEXED WHERE present=1 AND (?1 OR not_after<=?2"
	                       " OR (?3>0 AND is_ca=0 AND not_after>not_before AND"
	                       " ?4>=not_before+CAST((not_after-not_before)*?3 AS INTEGER))"
	                       " OR first_seen>=?5) ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(sq, sqlite3_errcode(sq->db), "read certificates");
	sqlite3_bind_int(st, 1, q->all);
	sqlite3_bind_int64(st, 2, q->expiring_by);
	sqlite3_bind_double(st, 3, q->renewal_at);
	sqlite3_bind_int64(st, 4, q->now);
	sqlite3_bind_int64(st, 5, q->new_since < 0 ? INT64_MAX : q->new_since);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		c.fp = cl_sq_col_text(st, 0);
		c.subject = cl_sq_col_text(st, 1);
		c.subject_cn = cl_sq_col_text(st, 2);
		c.serial = cl_sq_col_text(st, 3);
		c.issuer = cl_sq_col_text(st, 4);
		c.issuer_cn = cl_sq_col_text(st, 5);
		c.sans = cl_sq_col_text(st, 6);
		c.owner = cl_sq_col_text(st, 7);
		c.environment = cl_sq_col_text(st, 8);
		c.tags = cl_sq_col_text(st, 9) ? cl_sq_col_text(st, 9) : "";
		c.not_before = sqlite3_column_int64(st, 10);
		c.not_after = sqlite3_column_int64(st, 11);
		c.first_seen = sqlite3_column_int64(st, 12);
		c.is_ca = sqlite3_column_int(st, 13) != 0;
		if ((rc = cb(arg, &c)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(sq, src, "read certificates");
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_cert_locations(struct cl_store *s, const char *fp,
                         int (*cb)(void *arg, const char *location), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = cl_sq_prep(q, CL_SQX_CERT_LOCATIONS,
	                              "SELECT p.kind || ':' || p.loc FROM certs c JOIN sightings s"
	                              " ON s.cert_id=c.id JOIN places p ON p.id=s.place_id"
	                              " WHERE c.fp=?1 AND s.state='present' ORDER BY 1");
	int src, rc = CL_OK;

	if (!st)
		return CL_ERR;
	cl_sq_bind_text(st, 1, fp);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, cl_sq_col_text(st, 0))) != CL_OK)
			break;
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "read locations");
	sqlite3_reset(st);
	return rc;
}

int cl_sq_count3(struct sq_store *q, const char *sql, const char *what,
                  int (*cb)(void *arg, const char *a, const char *b, long n), void *arg)
{
	sqlite3_stmt *st = NULL;
	int src, rc = CL_OK;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), what);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = cl_sq_col_text(st, 0), *b = cl_sq_col_text(st, 1);
		if (!a || !b) {
			rc = cl_sq_rc(q, SQLITE_NOMEM, what);
			break;
		}
		if ((rc = cb(arg, a, b, (long)sqlite3_column_int64(st, 2))) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, what);
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_alert_counts(struct cl_store *s,
                       int (*cb)(void *arg, const char *type, const char *severity, long n),
                       void *arg)
{
	return cl_sq_count3(SQ(s), "SELECT type, severity, count(*) FROM alerts WHERE state='firing'"
	              " GROUP BY 1, 2 ORDER BY 1, 2", "count alerts", cb, arg);
}

/* ---- outbox -------------------------------------------------------------- */

int cl_sq_outbox_add(struct cl_store *s, int64_t alert_id, const char *notifier,
                     const char *action, const char *msg_id, const char *payload, int64_t now)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	st = cl_sq_prep(q, CL_SQX_OUTBOX_INSERT,
	                "INSERT OR IGNORE INTO outbox(alert_id,notifier,action,msg_id,payload,"
	                "state,created,next_at) VALUES(?1,?2,?3,?4,?5,'pending',?6,?6)");
	if (!st)
		rc = CL_ERR;
	else {
		sqlite3_bind_int64(st, 1, alert_id);
		cl_sq_bind_text(st, 2, notifier);
		cl_sq_bind_text(st, 3, action);
		cl_sq_bind_text(st, 4, msg_id);
		cl_sq_bind_text(st, 5, payload);
		sqlite3_bind_int64(st, 6, now);
		rc = cl_sq_done(q, st, "queue notification");
	}
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_outbox_due(struct cl_store *s, int64_t now, long limit,
                     int (*cb)(void *arg, const struct cl_outbox_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	struct cl_outbox_row r;
	int src, rc = CL_OK;

	if (sqlite3_prepare_v2(q->db,
	                       "SELECT id, alert_id, notifier, action, msg_id, payload, state,"
	                       " attempts, created, next_at, done_at, last_error FROM outbox"
	                       " WHERE state='pending' AND next_at<=?1 ORDER BY id LIMIT ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read outbox");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(st, 0);
		r.alert_id = sqlite3_column_int64(st, 1);
		r.notifier = cl_sq_col_text(st, 2);
		r.action = cl_sq_col_text(st, 3);
		r.msg_id = cl_sq_col_text(st, 4);
		r.payload = cl_sq_col_text(st, 5);
		r.state = cl_sq_col_text(st, 6);
		r.attempts = sqlite3_column_int(st, 7);
		r.created = sqlite3_column_int64(st, 8);
		r.next_at = sqlite3_column_int64(st, 9);
		r.done_at = sqlite3_column_int64(st, 10);
		r.last_error = cl_sq_col_text(st, 11);
		if ((rc = cb(arg, &r)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "read outbox");
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_outbox_update(struct cl_store *s, int64_t id, const char *state, int attempts,
                        int64_t next_at, const char *error, int64_t now)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	st = cl_sq_prep(q, CL_SQX_OUTBOX_RESULT,
	                "UPDATE outbox SET state=?2, attempts=?3, next_at=?4, last_error=?5,"
	                " done_at=CASE WHEN ?2<>'pending' THEN ?6 END WHERE id=?1");
	if (!st)
		rc = CL_ERR;
	else {
		sqlite3_bind_int64(st, 1, id);
		cl_sq_bind_text(st, 2, state);
		sqlite3_bind_int(st, 3, attempts);
		sqlite3_bind_int64(st, 4, next_at);
		cl_sq_bind_text(st, 5, error);
		sqlite3_bind_int64(st, 6, now);
		rc = cl_sq_done(q, st, "record delivery");
	}
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_outbox_next(struct cl_store *s, int64_t *next_at)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	int src, rc;

	if (sqlite3_prepare_v2(q->db, "SELECT min(next_at) FROM outbox WHERE state='pending'", -1,
	                       &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read outbox");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*next_at = sqlite3_column_int64(st, 0);
		rc = CL_OK;
	} else if (src == SQLITE_ROW || src == SQLITE_DONE) {
		rc = CL_ERR_NOTFOUND;
	} else {
		rc = cl_sq_rc(q, src, "read outbox");
	}
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_outbox_counts(struct cl_store *s,
                        int (*cb)(void *arg, const char *notifier, const char *state, long n),
                        void *arg)
{
	return cl_sq_count3(SQ(s), "SELECT notifier, state, count(*) FROM outbox GROUP BY 1, 2"
	              " ORDER BY 1, 2", "count deliveries", cb, arg);
}
