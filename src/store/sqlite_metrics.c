/*
 * The SQLite backend's aggregates for /metrics (certledger serve): every
 * present certificate at every location, and open findings by rule and
 * severity. Both are read-only and run on every scrape.
 */
#include <stdbool.h>
#include <sqlite3.h>
#include "store/sqlite_int.h"

#define SERIES_COLS \
	"SELECT c.fp, c.subject_cn, c.issuer_cn, p.kind||':'||p.loc AS location," \
	" ifnull(c.owner, ''), ifnull(c.environment, ''), c.not_before, c.not_after"
#define SERIES_JOIN \
	" JOIN sightings s ON s.cert_id=c.id JOIN places p ON p.id=s.place_id" \
	" WHERE c.present=1 AND s.state='present' ORDER BY c.not_after, c.fp, location"

/*
 * Two plans for the same rows (measured on 100,000 pairs: 0.18 s and
 * 0.40 s). All of them: read the tables in storage order, where
 * neighbouring rows share pages, and sort once; the sorter holds every
 * row, so this is only for when they all fit the bound. A part of them:
 * walk present certificates in expiry order on the certs_expiry index
 * (present, not_after, ...), each one's sightings a range of the
 * sightings primary key; only certificates with the same not_after are
 * sorted among themselves, rows stream from the first one and the scan
 * stops at the bound, so memory does not grow with the inventory.
 */
static const char series_all_sql[] = SERIES_COLS " FROM certs c NOT INDEXED" SERIES_JOIN;
static const char series_bounded_sql[] =
	SERIES_COLS " FROM certs c INDEXED BY certs_expiry" SERIES_JOIN;

/* A present sighting always belongs to a present certificate (certs.present
 * is recomputed whenever a sighting changes state), so this counts the
 * same pairs as the series, from the narrow sightings_place index. */
static const char total_sql[] = "SELECT count(*) FROM sightings WHERE state='present'";

static int series_total(struct sq_store *q, long *total)
{
	sqlite3_stmt *st;
	int src, rc;

	if (sqlite3_prepare_v2(q->db, total_sql, -1, &st, NULL) != SQLITE_OK)
		return cl_sq_rc(q, sqlite3_errcode(q->db), "count metric series");
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		*total = (long)sqlite3_column_int64(st, 0);
		rc = CL_OK;
	} else {
		rc = cl_sq_rc(q, src, "count metric series");
	}
	sqlite3_finalize(st);
	return rc;
}

int cl_sq_metric_series(struct cl_store *s, long limit,
                        int (*cb)(void *arg, const struct cl_metric_row *r), void *arg,
                        long *total)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	bool txn = false;
	long n = 0, all = 0;
	int rc, src = SQLITE_DONE;

	/* the count and the rows from one snapshot (a discovery may commit
	 * meanwhile); a read transaction blocks no writer in WAL mode */
	if (!q->in_txn && sqlite3_get_autocommit(q->db)) {
		if ((rc = cl_sq_exec(q, "BEGIN")) != CL_OK)
			goto out;
		txn = true;
	}
	if ((rc = series_total(q, &all)) != CL_OK)
		goto out;
	if (sqlite3_prepare_v2(q->db, limit > 0 && all > limit ? series_bounded_sql :
	                       series_all_sql, -1, &st, NULL) != SQLITE_OK) {
		rc = cl_sq_rc(q, sqlite3_errcode(q->db), "metric series");
		goto out;
	}
	while ((limit <= 0 || n < limit) && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_metric_row r;

		r.fp = cl_sq_col_text(st, 0);
		r.subject_cn = cl_sq_col_text(st, 1);
		r.issuer_cn = cl_sq_col_text(st, 2);
		r.location = cl_sq_col_text(st, 3);
		r.owner = cl_sq_col_text(st, 4);
		r.environment = cl_sq_col_text(st, 5);
		r.not_before = sqlite3_column_int64(st, 6);
		r.not_after = sqlite3_column_int64(st, 7);
		if (!r.fp || !r.subject_cn || !r.issuer_cn || !r.location || !r.owner ||
		    !r.environment) {
			rc = cl_sq_rc(q, SQLITE_NOMEM, "metric series");
			goto out;
		}
		if ((rc = cb(arg, &r)) != CL_OK)
			goto out;
		n++;
	}
	if ((limit <= 0 || n < limit) && src != SQLITE_DONE) {
		rc = cl_sq_rc(q, src, "metric series");
		goto out;
	}
	if (total)
		*total = all > n ? all : n;
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	if (txn)
		sqlite3_exec(q->db, rc == CL_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int cl_sq_finding_counts(struct cl_store *s,
                         int (*cb)(void *arg, const char *rule, const char *severity, long n),
                         void *arg)
{
	return cl_sq_count3(SQ(s), "SELECT rule, severity, count(*) FROM findings"
	                    " WHERE resolved_at IS NULL GROUP BY rule, severity"
	                    " ORDER BY rule, severity", "finding counts", cb, arg);
}
