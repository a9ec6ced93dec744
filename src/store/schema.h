/*
 * SQLite schema, as an ordered list of migrations. Migration i (1-based)
 * takes PRAGMA user_version from i-1 to i. Never edit a released
 * migration: append a new one.
 */
#ifndef CL_STORE_SCHEMA_H
#define CL_STORE_SCHEMA_H

#define CL_SQLITE_APP_ID 0x434c4752 /* "CLGR" */

static const char *const cl_sqlite_migrations[] = {
	/* 1: the inventory */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE certs("
	" id INTEGER PRIMARY KEY,"
	" fp TEXT NOT NULL UNIQUE,"          /* SHA-256 of the DER, lowercase hex */
	" serial TEXT NOT NULL,"
	" subject TEXT NOT NULL, subject_cn TEXT NOT NULL,"
	" issuer TEXT NOT NULL, issuer_cn TEXT NOT NULL,"
	" sans TEXT NOT NULL,"               /* newline separated "DNS:x" */
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" key_type TEXT NOT NULL, key_oid TEXT NOT NULL, key_bits INTEGER NOT NULL, curve TEXT,"
	" sig_alg TEXT NOT NULL,"
	" is_ca INTEGER NOT NULL, path_len INTEGER NOT NULL, self_signed INTEGER NOT NULL,"
	" key_usage TEXT, eku TEXT, ski TEXT, aki TEXT,"
	" ocsp TEXT, ca_issuers TEXT, crl TEXT," /* newline separated URLs */
	" sct_count INTEGER NOT NULL, spki_sha256 TEXT NOT NULL, version INTEGER NOT NULL,"
	" owner TEXT, environment TEXT, tags TEXT NOT NULL DEFAULT '',"  /* ",a,b," */
	" first_seen INTEGER NOT NULL,"
	" present INTEGER NOT NULL DEFAULT 1"  /* has a present sighting */
	");"
	/* covers expiry queries and the summary's columns: those never read
	 * the wide table rows */
	"CREATE INDEX certs_expiry ON certs(present, not_after, issuer_cn, key_type, key_bits,"
	" curve, sig_alg);"
	"CREATE TABLE cert_der(cert_id INTEGER PRIMARY KEY REFERENCES certs(id), der BLOB NOT NULL);"
	"CREATE TABLE places("
	" id INTEGER PRIMARY KEY, kind TEXT NOT NULL, loc TEXT NOT NULL,"
	" owner TEXT, environment TEXT, tags TEXT NOT NULL DEFAULT '',"
	" created_run INTEGER NOT NULL, UNIQUE(kind, loc));"
	"CREATE TABLE sightings("
	" cert_id INTEGER NOT NULL REFERENCES certs(id),"
	" place_id INTEGER NOT NULL REFERENCES places(id),"
	" state TEXT NOT NULL CHECK(state IN ('present','gone')),"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_run INTEGER NOT NULL,"
	" gone_at INTEGER, detail TEXT,"
	" PRIMARY KEY(cert_id, place_id)) WITHOUT ROWID;"
	"CREATE INDEX sightings_place ON sightings(place_id, state);"
	"CREATE TABLE keys("
	" id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL REFERENCES places(id),"
	" spki_sha256 TEXT NOT NULL,"        /* '' when unknown (encrypted) */
	" key_type TEXT, key_bits INTEGER NOT NULL DEFAULT 0, encrypted INTEGER NOT NULL,"
	" container TEXT, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('present','gone')),"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_run INTEGER NOT NULL,"
	" gone_at INTEGER, UNIQUE(place_id, spki_sha256));"
	"CREATE INDEX keys_spki ON keys(spki_sha256);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL,"
	" fp TEXT, cert_id INTEGER, location TEXT, actor TEXT, detail TEXT);"
	"CREATE INDEX events_ts ON events(ts);"
	/* by cert_id, not fp: ids of new certificates only grow, so bulk
	 * discovery appends to this index instead of dirtying random pages */
	"CREATE INDEX events_cert ON events(cert_id);"
	"CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
	"CREATE TRIGGER events_append_only_d BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
	"CREATE TABLE findings("
	" id INTEGER PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL,"
	" target TEXT NOT NULL, fp TEXT NOT NULL DEFAULT '', message TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_run INTEGER NOT NULL,"
	" resolved_at INTEGER);"
	"CREATE UNIQUE INDEX findings_open ON findings(rule, target, fp) WHERE resolved_at IS NULL;"
	"CREATE INDEX findings_target ON findings(target);"
	"CREATE TABLE runs("
	" id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT, actor TEXT,"
	" started INTEGER NOT NULL, finished INTEGER, status TEXT, stats TEXT);"
	"INSERT INTO meta VALUES('application','certledger');",

	/* 2: network endpoints (discover net) */
	"CREATE TABLE endpoints("
	" place_id INTEGER PRIMARY KEY REFERENCES places(id),"  /* the tls: location */
	" address TEXT NOT NULL, port INTEGER NOT NULL,"
	" sni TEXT NOT NULL DEFAULT '', hostname TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL, error TEXT, starttls TEXT,"
	/* the last successful handshake's parameters, kept while failing */
	" tls_version TEXT, cipher TEXT, grp TEXT, alpn TEXT, ocsp_stapled INTEGER,"
	" leaf_fp TEXT, chain TEXT, verify TEXT, verify_detail TEXT,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_ok INTEGER,"
	" unreachable_since INTEGER, last_run INTEGER NOT NULL);"
	"CREATE INDEX endpoints_addr ON endpoints(address, port);"
	"CREATE INDEX endpoints_leaf ON endpoints(leaf_fp);",

	/* 3: RSA key facts for policy checks (public exponent, ROCA) */
	("CREATE TABLE rsa_keys(cert_id INTEGER PRIMARY KEY REFERENCES certs(id),"
	 " e INTEGER NOT NULL, roca INTEGER NOT NULL);"),

	/* 4: keys shared between present certificates, found without a sort */
	"CREATE INDEX certs_spki ON certs(spki_sha256) WHERE present=1;",

	/* 5: listing: a copy of certs clustered by (present, not_after, id) in a
	 * WITHOUT ROWID table, so that listing an expiry range reads
	 * consecutive pages instead of one random certs row per certificate.
	 * Same columns in the same order as certs (copied with SELECT *: a
	 * migration adding a column to certs must add it here too).
	 * It holds the certs rows with id <= meta 'listing_upto' that expire by
	 * meta 'listing_horizon' (about 100 days after the last run ended: the
	 * ranges `ls --expiring` asks for, at a fraction of the copy). Newer
	 * rows (a discovery under way) and rows entering the window join it in
	 * key order when a run ends; other queries read certs. Triggers carry
	 * every update and delete of the rows it holds, whatever the statement. */
	"CREATE TABLE listing("
	" id INTEGER NOT NULL, fp TEXT NOT NULL, serial TEXT NOT NULL,"
	" subject TEXT NOT NULL, subject_cn TEXT NOT NULL,"
	" issuer TEXT NOT NULL, issuer_cn TEXT NOT NULL, sans TEXT NOT NULL,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" key_type TEXT NOT NULL, key_oid TEXT NOT NULL, key_bits INTEGER NOT NULL, curve TEXT,"
	" sig_alg TEXT NOT NULL,"
	" is_ca INTEGER NOT NULL, path_len INTEGER NOT NULL, self_signed INTEGER NOT NULL,"
	" key_usage TEXT, eku TEXT, ski TEXT, aki TEXT, ocsp TEXT, ca_issuers TEXT, crl TEXT,"
	" sct_count INTEGER NOT NULL, spki_sha256 TEXT NOT NULL, version INTEGER NOT NULL,"
	" owner TEXT, environment TEXT, tags TEXT NOT NULL, first_seen INTEGER NOT NULL,"
	" present INTEGER NOT NULL,"
	" PRIMARY KEY(present, not_after, id)) WITHOUT ROWID;"
	"INSERT INTO meta VALUES('listing_upto', (SELECT ifnull(max(id), 0) FROM certs));"
	"INSERT INTO meta VALUES('listing_horizon',"
	" CAST(strftime('%s', 'now') AS INTEGER) + 100 * 86400);"
	"CREATE VIEW listing_bounds AS SELECT"
	" (SELECT CAST(value AS INTEGER) FROM meta WHERE key='listing_upto') AS upto,"
	" (SELECT CAST(value AS INTEGER) FROM meta WHERE key='listing_horizon') AS horizon;"
	"CREATE TRIGGER listing_upd AFTER UPDATE ON certs WHEN EXISTS(SELECT 1 FROM listing_bounds"
	" WHERE OLD.id<=upto AND OLD.not_after<=horizon) BEGIN"
	" DELETE FROM listing WHERE present=OLD.present AND not_after=OLD.not_after AND id=OLD.id;"
	" INSERT INTO listing SELECT * FROM certs WHERE id=NEW.id; END;"
	"CREATE TRIGGER listing_del AFTER DELETE ON certs WHEN EXISTS(SELECT 1 FROM listing_bounds"
	" WHERE OLD.id<=upto AND OLD.not_after<=horizon) BEGIN"
	" DELETE FROM listing WHERE present=OLD.present AND not_after=OLD.not_after AND id=OLD.id;"
	" END;"
	"INSERT INTO listing SELECT * FROM certs WHERE not_after<=(SELECT horizon FROM listing_bounds)"
	" ORDER BY present, not_after, id;",
	/* 6: alerts and the outbox of their notifications (certledger serve) */
	"CREATE TABLE alerts("
	" id INTEGER PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('firing','resolved','once')),"
	" severity TEXT NOT NULL, level TEXT, fp TEXT, target TEXT, summary TEXT NOT NULL,"
	" fired_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, resolved_at INTEGER);"
	"CREATE UNIQUE INDEX alerts_firing ON alerts(key) WHERE state='firing';"
	"CREATE INDEX alerts_updated ON alerts(updated_at);"
	"CREATE TABLE outbox("
	" id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts(id),"
	" notifier TEXT NOT NULL, action TEXT NOT NULL, msg_id TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('pending','sent','failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	" next_at INTEGER NOT NULL, done_at INTEGER, last_error TEXT,"
	" UNIQUE(msg_id, notifier));"
	"CREATE INDEX outbox_due ON outbox(next_at) WHERE state='pending';"
	"CREATE INDEX outbox_alert ON outbox(alert_id);",

	/* 7: the last message of each alert, sent again to receivers that expire
	 * alerts (Alertmanager) while it keeps firing */
	"ALTER TABLE alerts ADD COLUMN payload TEXT;",

	/* 8: managed certificates (certledger apply / renew / rollback): the
	 * state of each one and the spec texts they were applied from */
	"CREATE TABLE managed("
	" name TEXT PRIMARY KEY, source TEXT NOT NULL, issuer TEXT NOT NULL,"
	" out_dir TEXT NOT NULL, fp TEXT,"
	" not_before INTEGER NOT NULL DEFAULT 0, not_after INTEGER NOT NULL DEFAULT 0,"
	" version INTEGER NOT NULL DEFAULT 0,"
	" issue_hash TEXT, deploy_hash TEXT, attempt_hash TEXT,"
	" last_attempt INTEGER NOT NULL DEFAULT 0, last_success INTEGER NOT NULL DEFAULT 0,"
	" next_attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL DEFAULT 0,"
	" failures INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
	" hook_pending INTEGER NOT NULL DEFAULT 0,"
	" ari_start INTEGER NOT NULL DEFAULT 0, ari_end INTEGER NOT NULL DEFAULT 0,"
	" ari_next INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE managed_specs(source TEXT PRIMARY KEY, text TEXT NOT NULL,"
	" applied_at INTEGER NOT NULL) WITHOUT ROWID;",
};

#endif
