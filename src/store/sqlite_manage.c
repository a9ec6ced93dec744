/*
 * SQLite backend: the state of managed certificates (certledger apply,
 * renew, rollback) and the spec texts they were applied from.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/sqlite_int.h"

int cl_sq_managed_put(struct cl_store *s, const struct cl_managed_row *r)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	st = cl_sq_prep(q, CL_SQX_MANAGED_PUT,
	                "INSERT OR REPLACE INTO managed(name,source,issuer,out_dir,fp,not_before,"
	                "not_after,version,issue_hash,deploy_hash,attempt_hash,last_attempt,"
	                "last_success,next_attempt,due_at,failures,last_error,hook_pending,"
	                "ari_start,ari_end,ari_next,updated) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
	                "?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)");
	if (!st) {
		rc = CL_ERR;
		goto out;
	}
	cl_sq_bind_text(st, 1, r->name);
	cl_sq_bind_text(st, 2, r->source ? r->source : "");
	cl_sq_bind_text(st, 3, r->issuer ? r->issuer : "");
	cl_sq_bind_text(st, 4, r->out_dir ? r->out_dir : "");
	cl_sq_bind_text(st, 5, r->fp && *r->fp ? r->fp : NULL);
	sqlite3_bind_int64(st, 6, r->not_before);
	sqlite3_bind_int64(st, 7, r->not_after);
	sqlite3_bind_int(st, 8, r->version);
	cl_sq_bind_text(st, 9, r->issue_hash);
	cl_sq_bind_text(st, 10, r->deploy_hash);
	cl_sq_bind_text(st, 11, r->attempt_hash);
	sqlite3_bind_int64(st, 12, r->last_attempt);
	sqlite3_bind_int64(st, 13, r->last_success);
	sqlite3_bind_int64(st, 14, r->next_attempt);
	sqlite3_bind_int64(st, 15, r->due_at);
	sqlite3_bind_int(st, 16, r->failures);
	cl_sq_bind_text(st, 17, r->last_error);
	sqlite3_bind_int(st, 18, r->hook_pending);
	sqlite3_bind_int64(st, 19, r->ari_start);
	sqlite3_bind_int64(st, 20, r->ari_end);
	sqlite3_bind_int64(st, 21, r->ari_next);
	sqlite3_bind_int64(st, 22, r->updated);
	rc = cl_sq_done(q, st, "record managed certificate");
out:
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_managed_rows(struct cl_store *s, const char *name,
                       int (*cb)(void *arg, const struct cl_managed_row *r), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	struct cl_managed_row r;
	int src, rc = CL_OK;

	if (sqlite3_prepare_v2(q->db, "SELECT name, source, issuer, out_dir, fp, not_before,"
	                       " not_after, version, issue_hash, deploy_hash, attempt_hash,"
	                       " last_attempt, last_success, next_attempt, due_at, failures,"
	                       " last_error, hook_pending, ari_start, ari_end, ari_next, updated"
	                       " FROM managed WHERE ?1 IS NULL OR name=?1 ORDER BY name",
	                       -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read managed certificates");
	cl_sq_bind_text(st, 1, name);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.name = cl_sq_col_text(st, 0);
		r.source = cl_sq_col_text(st, 1);
		r.issuer = cl_sq_col_text(st, 2);
		r.out_dir = cl_sq_col_text(st, 3);
		r.fp = cl_sq_col_text(st, 4);
		r.not_before = sqlite3_column_int64(st, 5);
		r.not_after = sqlite3_column_int64(st, 6);
		r.version = sqlite3_column_int(st, 7);
		r.issue_hash = cl_sq_col_text(st, 8);
		r.deploy_hash = cl_sq_col_text(st, 9);
		r.attempt_hash = cl_sq_col_text(st, 10);
		r.last_attempt = sqlite3_column_int64(st, 11);
		r.last_success = sqlite3_column_int64(st, 12);
		r.next_attempt = sqlite3_column_int64(st, 13);
		r.due_at = sqlite3_column_int64(st, 14);
		r.failures = sqlite3_column_int(st, 15);
		r.last_error = cl_sq_col_text(st, 16);
		r.hook_pending = sqlite3_column_int(st, 17) != 0;
		r.ari_start = sqlite3_column_int64(st, 18);
		r.ari_end = sqlite3_column_int64(st, 19);
		r.ari_next = sqlite3_column_int64(st, 20);
		r.updated = sqlite3_column_int64(st, 21);
		if (!r.name) {
			rc = cl_sq_rc(q, SQLITE_NOMEM, "read managed certificates");
			break;
		}
		if ((rc = cb(arg, &r)) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "read managed certificates");
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_managed_event(struct cl_store *s, const char *type, const char *name, const char *fp,
                        const char *detail, int64_t now)
{
	struct sq_store *q = SQ(s);
	char loc[300];
	bool mine;
	int rc;

	snprintf(loc, sizeof loc, "manage:%s", name);
	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	rc = cl_sq_event(q, now, type, fp && *fp ? fp : NULL, loc, detail);
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_managed_spec_put(struct cl_store *s, const char *source, const char *text,
                           int64_t now)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	bool mine;
	int rc;

	if ((rc = cl_sq_auto_begin(q, &mine)) != CL_OK)
		return rc;
	if (sqlite3_prepare_v2(q->db, "INSERT OR REPLACE INTO managed_specs(source,text,applied_at)"
	                       " VALUES(?1,?2,?3)", -1, &st, NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "record spec");
		goto out;
	}
	cl_sq_bind_text(st, 1, source);
	cl_sq_bind_text(st, 2, text);
	sqlite3_bind_int64(st, 3, now);
	rc = cl_sq_done(q, st, "record spec");
out:
	sqlite3_finalize(st);
	return cl_sq_auto_end(q, mine, rc);
}

int cl_sq_managed_specs(struct cl_store *s,
                        int (*cb)(void *arg, const char *source, const char *text,
                                  int64_t applied_at), void *arg)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	int src, rc = CL_OK;

	if (sqlite3_prepare_v2(q->db, "SELECT source, text, applied_at FROM managed_specs"
	                       " ORDER BY source", -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "read specs");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *source = cl_sq_col_text(st, 0), *text = cl_sq_col_text(st, 1);
		if (!source || !text) {
			rc = cl_sq_rc(q, SQLITE_NOMEM, "read specs");
			break;
		}
		if ((rc = cb(arg, source, text, sqlite3_column_int64(st, 2))) != CL_OK)
			break;
	}
	if (rc == CL_OK && src != SQLITE_DONE)
		rc = cl_sq_rc(q, src, "read specs");
	sqlite3_finalize(st);
	return rc;
}
