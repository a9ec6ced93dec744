/*
 * Managed certificates (src/manage): the spec parser (a valid spec, and
 * every error with its line), the renewal decision (renewBefore,
 * renewBeforePercentage, the default 2/3, an ARI window, spec and output
 * changes, backoff), the backoff schedule, deployment and rollback on a
 * temporary directory (symlinks, modes, adoption of existing files,
 * pruning, PKCS#12), the hook runner, and one reconcile against an
 * internal CA with a store (no network).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "ca/ca.h"
#include "core/util.h"
#include "manage/manage.h"
#include "store/store.h"

#define DAY INT64_C(86400)

/* ---- the spec ------------------------------------------------------------------------- */

static const char issuer_doc[] =
	"kind: Issuer\n"                                  /* 1 */
	"metadata: {name: ca1}\n"                         /* 2 */
	"spec:\n"                                         /* 3 */
	"  ca: {dir: /srv/ca, passphrase: {env: CA_PASS}}\n" /* 4 */
	"---\n";                                          /* 5 */

static struct cl_manage_spec *parse_ok(const char *text)
{
	struct cl_manage_spec *s = NULL;
	char err[1024];
	int rc = cl_manage_spec_parse(&s, text, strlen(text), "spec.yaml", err, sizeof err);

	if (rc != CL_OK)
		fail_msg("parse failed (%d): %s", rc, err);
	return s;
}

static void test_spec_valid(void **state)
{
	static const char text[] =
		"apiVersion: certledger.io/v1\n"
		"kind: Issuer\n"
		"metadata: {name: ca1}\n"
		"spec:\n"
		"  ca: {dir: /srv/ca, passphrase: {env: CA_PASS}}\n"
		"---\n"
		"kind: ClusterIssuer\n"
		"metadata: {name: le, labels: {a: b}}\n"
		"spec:\n"
		"  acme:\n"
		"    server: https://acme.example/dir\n"
		"    email: ops@example.test\n"
		"    eab: {kid: k1, hmacKey: {file: /etc/eab}}\n"
		"    preferredChain: ISRG Root X1\n"
		"    solvers:\n"
		"      - http01: {standalone: {listen: \"127.0.0.1:5002\"}}\n"
		"      - http01: {webroot: /var/www}\n"
		"      - dns01: {hook: /usr/local/bin/dns}\n"
		"      - tlsalpn01: {listen: \"[::1]:5001\"}\n"
		"---\n"
		"---\n"
		"kind: Certificate\n"
		"metadata: {name: web}\n"
		"spec:\n"
		"  commonName: www.example.test\n"
		"  dnsNames: [www.example.test, API.Example.test, \"*.app.example.test\"]\n"
		"  ipAddresses: [\"::0001\", 127.0.0.1]\n"
		"  issuerRef: {name: ca1, kind: Issuer}\n"
		"  privateKey: {algorithm: RSA, size: 3072, rotationPolicy: Never}\n"
		"  duration: 2160h\n"
		"  renewBefore: 360h\n"
		"  output:\n"
		"    dir: /etc/tls\n"
		"    fullchain: web.crt\n"
		"    key: web.key\n"
		"    pkcs12: {file: web.p12, password: {env: P12}}\n"
		"    owner: root\n"
		"    group: ssl-cert\n"
		"    mode: \"0640\"\n"
		"  hooks:\n"
		"    deploy: [\"systemctl reload nginx\", \"true\"]\n"
		"    timeout: 30s\n"
		"---\n"
		"kind: Certificate\n"
		"metadata: {name: api}\n"
		"spec:\n"
		"  dnsNames: api.example.test\n"
		"  issuerRef: {name: le}\n"
		"  renewBeforePercentage: 25\n"
		"  output: {dir: /etc/tls/}\n";
	struct cl_manage_spec *s = parse_ok(text);
	const struct cl_manage_cert *w, *a;
	const struct cl_manage_issuer *le;

	(void)state;
	assert_int_equal(s->nissuers, 2);
	assert_int_equal(s->ncerts, 2);
	assert_string_equal(s->source, "spec.yaml");
	assert_false(s->issuers[0].acme);
	assert_string_equal(s->issuers[0].ca_dir, "/srv/ca");
	assert_string_equal(s->issuers[0].ca_passphrase.env, "CA_PASS");
	le = &s->issuers[1];
	assert_true(le->acme);
	assert_string_equal(le->server, "https://acme.example/dir");
	assert_string_equal(le->eab_kid, "k1");
	assert_string_equal(le->eab_hmac.file, "/etc/eab");
	assert_int_equal(le->nsolvers, 4);
	assert_int_equal(le->solvers[0].kind, CL_MANAGE_HTTP01_STANDALONE);
	assert_string_equal(le->solvers[0].addr, "127.0.0.1");
	assert_int_equal(le->solvers[0].port, 5002);
	assert_int_equal(le->solvers[1].kind, CL_MANAGE_HTTP01_WEBROOT);
	assert_int_equal(le->solvers[2].kind, CL_MANAGE_DNS01_HOOK);
	assert_int_equal(le->solvers[3].kind, CL_MANAGE_TLSALPN01);
	assert_string_equal(le->solvers[3].addr, "::1");
	w = cl_manage_spec_find(s, "web");
	assert_non_null(w);
	assert_int_equal(w->line, 22);
	assert_ptr_equal(w->issuer, &s->issuers[0]);
	assert_int_equal(w->ndns, 3);
	assert_string_equal(w->dns[1], "api.example.test");   /* lowercased */
	assert_int_equal(w->nip, 2);
	assert_string_equal(w->ip[0], "::1");                  /* canonical */
	assert_int_equal(w->key_alg, CL_MANAGE_RSA);
	assert_int_equal(w->key_size, 3072);
	assert_false(w->rotate_key);
	assert_int_equal(w->duration, 90 * DAY);
	assert_int_equal(w->renew_before, 15 * DAY);
	assert_null(w->out.cert);
	assert_string_equal(w->out.fullchain, "web.crt");
	assert_string_equal(w->out.pkcs12, "web.p12");
	assert_string_equal(w->out.pkcs12_password.env, "P12");
	assert_int_equal(w->out.mode, 0640);
	assert_int_equal(w->nhooks, 2);
	assert_int_equal(w->hook_timeout, 30);
	assert_int_equal(strlen(w->issue_hash), 64);
	a = cl_manage_spec_find(s, "api");
	assert_non_null(a);
	assert_int_equal(a->key_alg, CL_MANAGE_ECDSA);
	assert_int_equal(a->key_size, 256);
	assert_true(a->rotate_key);
	assert_int_equal(a->renew_pct, 25);
	assert_int_equal(a->hook_timeout, 60);
	assert_int_equal(a->out.mode, 0600);
	/* nothing named: the four usual files */
	assert_string_equal(a->out.cert, "api.pem");
	assert_string_equal(a->out.chain, "api.chain.pem");
	assert_string_equal(a->out.fullchain, "api.fullchain.pem");
	assert_string_equal(a->out.key, "api.key");
	assert_string_equal(a->out.dir, "/etc/tls");    /* the trailing '/' dropped */
	assert_null(cl_manage_spec_find(s, "nope"));
	cl_manage_spec_free(s);
}

/* The issue hash ignores the order of names; the deploy hash follows the output. */
static void test_spec_hashes(void **state)
{
	static const char *const certs[] = {
		"kind: Certificate\nmetadata: {name: a}\nspec:\n  dnsNames: [a.test, b.test]\n"
		"  commonName: a.test\n  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		"kind: Certificate\nmetadata: {name: a}\nspec:\n  dnsNames: [b.test, a.test]\n"
		"  commonName: a.test\n  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		"kind: Certificate\nmetadata: {name: a}\nspec:\n  dnsNames: [a.test, b.test, c.test]\n"
		"  commonName: a.test\n  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		"kind: Certificate\nmetadata: {name: a}\nspec:\n  dnsNames: [a.test, b.test]\n"
		"  commonName: a.test\n  issuerRef: {name: ca1}\n  output: {dir: /o, mode: \"0640\"}\n",
		"kind: Certificate\nmetadata: {name: a}\nspec:\n  dnsNames: [a.test, b.test]\n"
		"  commonName: a.test\n  issuerRef: {name: ca1}\n  output: {dir: /o}\n"
		"  renewBefore: 10d\n  hooks: {deploy: [x]}\n",
	};
	char issue[5][65], deploy[5][65], text[2048];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(certs); i++) {
		struct cl_manage_spec *s;
		snprintf(text, sizeof text, "%s%s", issuer_doc, certs[i]);
		s = parse_ok(text);
		memcpy(issue[i], s->certs[0].issue_hash, 65);
		memcpy(deploy[i], s->certs[0].deploy_hash, 65);
		cl_manage_spec_free(s);
	}
	assert_string_equal(issue[0], issue[1]);
	assert_string_not_equal(issue[0], issue[2]);
	assert_string_equal(issue[0], issue[3]);
	assert_string_not_equal(deploy[0], deploy[3]);
	/* renewal timing and hooks change neither */
	assert_string_equal(issue[0], issue[4]);
	assert_string_equal(deploy[0], deploy[4]);
}

static void test_spec_errors(void **state)
{
	/* each a Certificate document after issuer_doc (which takes lines 1-5) */
	static const struct { const char *doc; int line; const char *msg; } t[] = {
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  renewbefore: 3d\n",
		  12, "unknown key 'renewbefore' in a Certificate's spec (did you mean 'renewBefore'?)" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca2}\n  output: {dir: /o}\n",
		  10, "spec.issuerRef.name: no Issuer 'ca2' in this spec" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test, \"bad name\"]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		  9, "spec.dnsNames: 'bad name' is not a DNS name" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test, A.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		  9, "spec.dnsNames: 'a.test' is given twice" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  ipAddresses: [1.2.3]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		  9, "'1.2.3' is not an IP address" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  issuerRef: {name: ca1}\n"
		  "  output: {dir: /o}\n",
		  9, "needs commonName, dnsNames or ipAddresses" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: o}\n",
		  11, "spec.output.dir: 'o' is not an absolute path" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o, cert: ../x.pem}\n",
		  11, "is not a plain file name" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o, mode: \"0644\"}\n",
		  11, "never executable or readable by others" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  privateKey: {algorithm: ECDSA, "
		  "size: 521}\n",
		  12, "ECDSA keys are 256 or 384 bits" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  privateKey: {algorithm: Ed25519}\n",
		  12, "Ed25519 is not supported" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  duration: 30d\n  renewBefore: 30d\n",
		  13, "is not shorter than spec.duration" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  renewBefore: 3d\n"
		  "  renewBeforePercentage: 10\n",
		  13, "not both" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  renewBeforePercentage: 100\n",
		  12, "100 is out of range (1..99)" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  duration: 90\n",
		  12, "'90' is not a duration" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output:\n    dir: /o\n"
		  "    pkcs12: {file: a.p12, password: hunter2}\n",
		  13, "spec.output.pkcs12.password: expected {env: NAME} or {file: PATH}" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n  hooks: {deploy: [x], timeout: 2h}\n",
		  12, "spec.hooks.timeout: 2h is out of range" },
		{ "kind: Certificate\nmetadata: {name: .w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		  7, "metadata.name: '.w' is not a name" },
		{ "kind: Certificat\nmetadata: {name: w}\nspec: {}\n",
		  6, "kind: 'Certificat' is not Issuer, ClusterIssuer or Certificate" },
		{ "kind: Certificate\nmetadata: {name: w}\n",
		  6, "the Certificate 'w' has no spec" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  dnsNames: [b.test]\n  issuerRef: {name: ca1}\n  output: {dir: /o}\n",
		  10, "key 'dnsNames' is given twice (lines 9 and 10)" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test\n",
		  10, "" },   /* YAML syntax: the line libyaml names */
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o}\n---\n"
		  "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [b.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /p}\n",
		  13, "Certificate 'w' is defined twice (lines 6 and 13)" },
		{ "kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o, key: k.pem, cert: c.pem}\n---\n"
		  "kind: Certificate\nmetadata: {name: v}\nspec:\n  dnsNames: [b.test]\n"
		  "  issuerRef: {name: ca1}\n  output: {dir: /o/, cert: k.pem}\n",
		  13, "writes /o/k.pem, which Certificate 'w' writes too" },
		{ "kind: Issuer\nmetadata: {name: le}\nspec:\n  acme: {server: http://x/dir, "
		  "solvers: [{http01: {webroot: /w}}]}\n",
		  9, "is not an https:// URL" },
		{ "kind: Issuer\nmetadata: {name: le}\nspec:\n  acme: {server: https://x/dir}\n",
		  9, "a list of at least one solver" },
		{ "kind: Issuer\nmetadata: {name: le}\nspec:\n  acme:\n    server: https://x/dir\n"
		  "    solvers:\n      - http01: {standalone: {listen: \"1.2.3.4\"}}\n",
		  12, "is not ADDRESS:PORT" },
		{ "kind: Issuer\nmetadata: {name: le}\nspec:\n  acme:\n    server: https://x/dir\n"
		  "    solvers:\n      - http01: {}\n",
		  12, "http01: give one of standalone or webroot" },
		{ "kind: Issuer\nmetadata: {name: ca1}\nspec:\n  ca: {dir: /x}\n",
		  6, "Issuer 'ca1' is defined twice (lines 1 and 6)" },
		{ "kind: Issuer\nmetadata: {name: x}\nspec:\n  selfSigned: {}\n",
		  9, "unknown key 'selfSigned' in an Issuer's spec (known: acme, ca)" },
		{ "kind: Issuer\nmetadata: {name: x}\nspec:\n  ca: {dir: /x, passphrase: {env: 1A}}\n",
		  9, "'1A' is not an environment variable name" },
	};
	char text[4096], err[1024], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_manage_spec *s = NULL;
		int rc;
		snprintf(text, sizeof text, "%s%s", issuer_doc, t[i].doc);
		rc = cl_manage_spec_parse(&s, text, strlen(text), "spec.yaml", err, sizeof err);
		if (rc != CL_ERR_PARSE || s)
			fail_msg("case %zu: parsed (rc %d), expected an error", i, rc);
		snprintf(want, sizeof want, "spec.yaml:%d: ", t[i].line);
		if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, t[i].msg))
			fail_msg("case %zu: got [%s], want [%s...%s]", i, err, want, t[i].msg);
	}
	/* nothing at all, and not YAML */
	{
		struct cl_manage_spec *s = NULL;
		assert_int_equal(cl_manage_spec_parse(&s, "# nothing\n", 10, "e.yaml", err, sizeof err),
		                 CL_ERR_PARSE);
		assert_string_equal(err, "e.yaml:1: no Issuer or Certificate in the spec");
		assert_int_equal(cl_manage_spec_parse(&s, "- a\n- b\n", 8, "e.yaml", err, sizeof err),
		                 CL_ERR_PARSE);
		assert_non_null(strstr(err, "e.yaml:1: a document must be a mapping"));
	}
}

/* ---- the decision ------------------------------------------------------------------------ */

static struct cl_manage_cert mkcert(int64_t renew_before, int pct)
{
	struct cl_manage_cert c;

	memset(&c, 0, sizeof c);
	c.name = "t";
	c.renew_before = renew_before;
	c.renew_pct = pct;
	strcpy(c.issue_hash, "aaaa");
	strcpy(c.deploy_hash, "bbbb");
	return c;
}

static struct cl_manage_deployed mkdep(int64_t nb, int64_t na)
{
	struct cl_manage_deployed d;

	memset(&d, 0, sizeof d);
	d.present = true;
	d.version = 1;
	d.not_before = nb;
	d.not_after = na;
	strcpy(d.fp, "8000000000000000000000000000000000000000000000000000000000000000");
	strcpy(d.issue_hash, "aaaa");
	strcpy(d.deploy_hash, "bbbb");
	return d;
}

static void test_due(void **state)
{
	const int64_t nb = 1000000000, na = nb + 90 * DAY;
	struct cl_manage_cert c;
	struct cl_manage_window w;

	(void)state;
	c = mkcert(0, 0);
	assert_int_equal(cl_manage_due_at(&c, nb, na, NULL, NULL), nb + 60 * DAY);   /* 2/3 */
	c = mkcert(30 * DAY, 0);
	assert_int_equal(cl_manage_due_at(&c, nb, na, NULL, NULL), na - 30 * DAY);
	c = mkcert(100 * DAY, 0);     /* longer than the lifetime: 2/3, as cert-manager does */
	assert_int_equal(cl_manage_due_at(&c, nb, na, NULL, NULL), nb + 60 * DAY);
	c = mkcert(0, 10);
	assert_int_equal(cl_manage_due_at(&c, nb, na, NULL, NULL), na - 9 * DAY);
	/* ARI: a point in the window chosen by the fingerprint, only when earlier */
	c = mkcert(0, 0);
	w.start = nb + 10 * DAY;
	w.end = nb + 12 * DAY;
	assert_int_equal(cl_manage_due_at(&c, nb, na, &w, "0000"), nb + 10 * DAY);
	assert_int_equal(cl_manage_due_at(&c, nb, na, &w,
	                 "8000000000000000000000000000000000000000000000000000000000000000"),
	                 nb + 11 * DAY);
	w.start = nb + 70 * DAY;
	w.end = nb + 80 * DAY;
	assert_int_equal(cl_manage_due_at(&c, nb, na, &w, "0000"), nb + 60 * DAY);
	w.start = w.end = 0;
	assert_int_equal(cl_manage_due_at(&c, nb, na, &w, "0000"), nb + 60 * DAY);
}

static void test_decide(void **state)
{
	const int64_t nb = 1000000000, na = nb + 90 * DAY;
	struct cl_manage_cert c = mkcert(0, 0);
	struct cl_manage_deployed d = mkdep(nb, na), none;
	struct cl_manage_history h = { 0 };
	struct cl_manage_window w = { nb + 5 * DAY, nb + 6 * DAY };
	struct cl_manage_decision o;

	(void)state;
	memset(&none, 0, sizeof none);
	cl_manage_decide(&c, &none, NULL, NULL, nb, false, &o);
	assert_int_equal(o.action, CL_MANAGE_ISSUE);
	assert_string_equal(o.reason, "no certificate yet");
	cl_manage_decide(&c, &d, NULL, NULL, nb + 59 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_KEEP_CURRENT);
	assert_int_equal(o.due_at, nb + 60 * DAY);
	cl_manage_decide(&c, &d, NULL, NULL, nb + 60 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	assert_string_equal(o.reason, "due (2/3 of its lifetime)");
	cl_manage_decide(&c, &d, NULL, NULL, na, false, &o);
	assert_string_equal(o.reason, "expired");
	cl_manage_decide(&c, &d, NULL, NULL, nb + DAY, true, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	assert_string_equal(o.reason, "forced");
	/* ARI makes it earlier */
	cl_manage_decide(&c, &d, NULL, &w, nb + 5 * DAY + 12 * 3600, false, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	assert_string_equal(o.reason, "due (the CA's renewal window, ARI)");
	cl_manage_decide(&c, &d, NULL, &w, nb + 5 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_KEEP_CURRENT);
	/* renewBefore / percentage */
	c = mkcert(10 * DAY, 0);
	cl_manage_decide(&c, &d, NULL, NULL, na - 10 * DAY, false, &o);
	assert_string_equal(o.reason, "due (renewBefore)");
	cl_manage_decide(&c, &d, NULL, NULL, na - 10 * DAY - 1, false, &o);
	assert_int_equal(o.action, CL_MANAGE_KEEP_CURRENT);
	c = mkcert(0, 50);
	cl_manage_decide(&c, &d, NULL, NULL, nb + 45 * DAY, false, &o);
	assert_string_equal(o.reason, "due (renewBeforePercentage)");
	/* spec changes */
	c = mkcert(0, 0);
	strcpy(c.issue_hash, "cccc");
	cl_manage_decide(&c, &d, NULL, NULL, nb + DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_ISSUE);
	c = mkcert(0, 0);
	strcpy(c.deploy_hash, "cccc");
	cl_manage_decide(&c, &d, NULL, NULL, nb + DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_REDEPLOY);
	/* backoff: due, but the next attempt is later; --force and a changed spec go now */
	c = mkcert(0, 0);
	h.failures = 2;
	h.next_attempt = nb + 61 * DAY;
	h.failed_hash = "aaaa";
	cl_manage_decide(&c, &d, &h, NULL, nb + 60 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_WAIT);
	cl_manage_decide(&c, &d, &h, NULL, nb + 61 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	cl_manage_decide(&c, &d, &h, NULL, nb + 60 * DAY, true, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	h.failed_hash = "0000";
	cl_manage_decide(&c, &d, &h, NULL, nb + 60 * DAY, false, &o);
	assert_int_equal(o.action, CL_MANAGE_RENEW);
	h.failed_hash = NULL;
	cl_manage_decide(&c, &none, &h, NULL, nb, false, &o);
	assert_int_equal(o.action, CL_MANAGE_WAIT);
}

static void test_backoff(void **state)
{
	static const int64_t want[] = { 0, 3600, 7200, 14400, 28800, 57600, 86400, 86400 };
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(want); i++)
		assert_int_equal(cl_manage_backoff((int)i), want[i]);
	assert_int_equal(cl_manage_backoff(1000), 86400);
}

/* ---- deployment ---------------------------------------------------------------------------- */

static char tmp[4096];

/* A self-signed pair made by openssl (PEM text, to free). */
static void make_pair(const char *name, char **cert, char **key)
{
	char c[4300], k[4300];
	size_t len;

	snprintf(c, sizeof c, "%s/%s.pem", tmp, name);
	snprintf(k, sizeof k, "%s/%s.key", tmp, name);
	tu_sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
	      "-out %s -days 30 -subj /CN=%s.test -addext subjectAltName=DNS:%s.test 2>/dev/null",
	      k, c, name, name);
	*cert = (char *)tu_read(c, &len);
	*key = (char *)tu_read(k, &len);
}

static char *slurp(const char *dir, const char *name)
{
	char p[4400];
	size_t len;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return (char *)tu_read(p, &len);
}

static struct cl_manage_issuer dummy_issuer = { .name = "ca1", .ca_dir = "/nonexistent" };

static void out_cert(struct cl_manage_cert *c, const char *dir, const char *name)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	c->issuer = &dummy_issuer;
	c->out.dir = dir;
	c->out.cert = "c.pem";
	c->out.fullchain = "full.pem";
	c->out.key = "k.pem";
	c->out.mode = 0640;
	strcpy(c->issue_hash, "i1");
	strcpy(c->deploy_hash, "d1");
}

static void test_material(void **state)
{
	struct cl_manage_material m;
	char *c1, *k1, *c2, *k2, err[512], *both;

	(void)state;
	make_pair("m1", &c1, &k1);
	make_pair("m2", &c2, &k2);
	assert_int_equal(cl_manage_material_set(&m, c1, NULL, k1, err, sizeof err), CL_OK);
	assert_int_equal(strlen(m.fp), 64);
	assert_int_equal(strlen(m.spki), 64);
	assert_true(m.not_after > m.not_before);
	assert_string_equal(m.chain_pem, "");
	cl_manage_material_clear(&m);
	/* a chain after the leaf moves to chain_pem */
	assert_true(asprintf(&both, "%s%s", c1, c2) > 0);
	assert_int_equal(cl_manage_material_set(&m, both, NULL, k1, err, sizeof err), CL_OK);
	assert_non_null(strstr(m.chain_pem, "BEGIN CERTIFICATE"));
	cl_manage_material_clear(&m);
	/* a key that is not the certificate's */
	assert_int_equal(cl_manage_material_set(&m, c1, NULL, k2, err, sizeof err), CL_ERR_PARSE);
	assert_non_null(strstr(err, "does not belong"));
	assert_null(m.cert_pem);
	assert_int_equal(cl_manage_material_set(&m, "junk", NULL, NULL, err, sizeof err),
	                 CL_ERR_PARSE);
	free(both);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
}

static void test_deploy_rollback(void **state)
{
	struct cl_manage_cert c;
	struct cl_manage_material m[5];
	struct cl_manage_deployed d;
	char dir[4200], base[4300], *cert[5], *key[5], err[512], *s, name[16];
	struct stat st;
	ssize_t n;
	int v, i;

	(void)state;
	snprintf(dir, sizeof dir, "%s/deploy", tmp);
	snprintf(base, sizeof base, "%s/.certledger/web", dir);
	out_cert(&c, dir, "web");
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "d%d", i);
		make_pair(name, &cert[i], &key[i]);
		assert_int_equal(cl_manage_material_set(&m[i], cert[i], NULL, key[i], err, sizeof err),
		                 CL_OK);
	}
	/* nothing yet */
	assert_int_equal(cl_manage_deployed_get(&c, &d, err, sizeof err), CL_OK);
	assert_false(d.present);
	assert_int_equal(cl_manage_switch_back(&c, &d, err, sizeof err), CL_ERR_NOTFOUND);
	/* files already there (say, from certbot) are adopted: they become v0 */
	tu_sh("mkdir -p %s && cp %s/d0.pem %s/c.pem && cp %s/d0.key %s/k.pem && chmod 600 %s/k.pem",
	      dir, tmp, dir, tmp, dir, dir);
	assert_int_equal(cl_manage_deploy(&c, &m[1], NULL, 0, &v, err, sizeof err), CL_OK);
	assert_int_equal(v, 1);
	/* every name is a symlink through current */
	{
		char p[4400], t[512];
		snprintf(p, sizeof p, "%s/k.pem", dir);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		n = readlink(p, t, sizeof t - 1);
		assert_true(n > 0);
		t[n] = '\0';
		assert_string_equal(t, ".certledger/web/current/key.pem");
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0640);
		snprintf(p, sizeof p, "%s/current", base);
		n = readlink(p, t, sizeof t - 1);
		t[n] = '\0';
		assert_string_equal(t, "v1");
	}
	s = slurp(dir, "c.pem");
	assert_string_equal(s, m[1].cert_pem);
	free(s);
	s = slurp(dir, "k.pem");
	assert_string_equal(s, m[1].key_pem);
	free(s);
	s = slurp(dir, "full.pem");
	assert_string_equal(s, m[1].cert_pem);   /* no chain: the leaf */
	free(s);
	assert_int_equal(cl_manage_deployed_get(&c, &d, err, sizeof err), CL_OK);
	assert_true(d.present);
	assert_int_equal(d.version, 1);
	assert_string_equal(d.fp, m[1].fp);
	assert_string_equal(d.issue_hash, "i1");
	assert_int_equal(d.not_after, m[1].not_after);
	/* the adopted version holds what was there */
	s = slurp(base, "v0/cert.pem");
	assert_string_equal(s, cert[0]);
	free(s);
	/* more versions: only three are kept */
	assert_int_equal(cl_manage_deploy(&c, &m[2], NULL, 0, &v, err, sizeof err), CL_OK);
	assert_int_equal(v, 2);
	assert_int_equal(cl_manage_deploy(&c, &m[3], NULL, 0, &v, err, sizeof err), CL_OK);
	assert_int_equal(cl_manage_deploy(&c, &m[4], NULL, 0, &v, err, sizeof err), CL_OK);
	assert_int_equal(v, 4);
	{
		char p[4400];
		snprintf(p, sizeof p, "%s/v0", base);
		assert_int_not_equal(stat(p, &st), 0);
		snprintf(p, sizeof p, "%s/v1", base);
		assert_int_not_equal(stat(p, &st), 0);
		snprintf(p, sizeof p, "%s/v2", base);
		assert_int_equal(stat(p, &st), 0);
	}
	/* rollback: v3, then v2, then nothing older */
	assert_int_equal(cl_manage_switch_back(&c, &d, err, sizeof err), CL_OK);
	assert_int_equal(d.version, 3);
	assert_string_equal(d.fp, m[3].fp);
	s = slurp(dir, "k.pem");
	assert_string_equal(s, m[3].key_pem);
	free(s);
	s = slurp(dir, "c.pem");
	assert_string_equal(s, m[3].cert_pem);
	free(s);
	assert_int_equal(cl_manage_switch_back(&c, &d, err, sizeof err), CL_OK);
	assert_int_equal(d.version, 2);
	assert_int_equal(cl_manage_switch_back(&c, &d, err, sizeof err), CL_ERR_NOTFOUND);
	/* the next deployment drops what was rolled back from (v3, v4) */
	assert_int_equal(cl_manage_deploy(&c, &m[0], NULL, 0, &v, err, sizeof err), CL_OK);
	assert_int_equal(v, 3);
	cl_manage_material_clear(&m[1]);
	assert_int_equal(cl_manage_deployed_material(&c, &m[1], err, sizeof err), CL_OK);
	assert_string_equal(m[1].fp, m[0].fp);
	assert_string_equal(m[1].key_pem, m[0].key_pem);
	{
		char p[4400];
		snprintf(p, sizeof p, "%s/v4", base);
		assert_int_not_equal(stat(p, &st), 0);
	}
	/* a second deployer waits for nobody: busy */
	{
		char p[4400];
		int fd;
		snprintf(p, sizeof p, "%s/.lock", base);
		fd = open(p, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
		assert_int_equal(cl_manage_deploy(&c, &m[2], NULL, 0, &v, err, sizeof err), CL_ERR_BUSY);
		assert_int_equal(cl_manage_lock(&c, &v, err, sizeof err), CL_ERR_BUSY);
		close(fd);
		/* a holder of the lock deploys with CL_MANAGE_LOCKED */
		assert_int_equal(cl_manage_lock(&c, &fd, err, sizeof err), CL_OK);
		assert_int_equal(cl_manage_deploy(&c, &m[2], NULL, 0, &v, err, sizeof err), CL_ERR_BUSY);
		assert_int_equal(cl_manage_deploy(&c, &m[2], NULL, CL_MANAGE_LOCKED, &v, err,
		                                  sizeof err), CL_OK);
		cl_manage_unlock(fd);
	}
	/* an unknown owner is refused before anything is written */
	c.out.owner = "no-such-user-here";
	assert_int_equal(cl_manage_deploy(&c, &m[2], NULL, 0, &v, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "no-such-user-here"));
	for (i = 0; i < 5; i++) {
		cl_manage_material_clear(&m[i]);
		free(cert[i]);
		free(key[i]);
	}
}

static void test_deploy_p12(void **state)
{
	struct cl_manage_cert c;
	struct cl_manage_material m;
	char dir[4200], *cert, *key, err[512], p[4400];
	struct stat st;
	int v;

	(void)state;
	snprintf(dir, sizeof dir, "%s/p12", tmp);
	out_cert(&c, dir, "app");
	c.out.pkcs12 = "app.p12";
	c.out.mode = 0600;
	make_pair("p12", &cert, &key);
	assert_int_equal(cl_manage_material_set(&m, cert, NULL, key, err, sizeof err), CL_OK);
	assert_int_equal(cl_manage_deploy(&c, &m, NULL, 0, &v, err, sizeof err), CL_ERR_USAGE);
	assert_int_equal(cl_manage_deploy(&c, &m, "s3cret", 0, &v, err, sizeof err), CL_OK);
	snprintf(p, sizeof p, "%s/app.p12", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	tu_sh("openssl pkcs12 -in %s -passin pass:s3cret -noout 2>/dev/null", p);
	cl_manage_material_clear(&m);
	free(cert);
	free(key);
}

static void test_hook(void **state)
{
	const char *env[] = { "CERTLEDGER_NAMES=a b", "HOOK_X=1" };
	char out[200], err[200];

	(void)state;
	assert_int_equal(cl_manage_hook_run("echo \"$CERTLEDGER_NAMES/$HOOK_X\"", env, 2, 5, out,
	                                    sizeof out, err, sizeof err), CL_OK);
	assert_string_equal(out, "a b/1");
	assert_int_equal(cl_manage_hook_run("echo oops >&2; exit 3", NULL, 0, 5, out, sizeof out,
	                                    err, sizeof err), CL_ERR);
	assert_string_equal(err, "exit status 3");
	assert_string_equal(out, "oops");
	assert_int_equal(cl_manage_hook_run("kill -9 $$", NULL, 0, 5, out, sizeof out, err,
	                                    sizeof err), CL_ERR);
	assert_string_equal(err, "killed by signal 9");
	assert_int_equal(cl_manage_hook_run("sleep 30", NULL, 0, 1, out, sizeof out, err,
	                                    sizeof err), CL_ERR);
	assert_string_equal(err, "timed out after 1s");
	/* a lot of output: kept short */
	assert_int_equal(cl_manage_hook_run("head -c 100000 /dev/zero | tr '\\0' x", NULL, 0, 5,
	                                    out, sizeof out, err, sizeof err), CL_OK);
	assert_true(strlen(out) < sizeof out);
	/* a background child keeping the pipe does not make it wait */
	assert_int_equal(cl_manage_hook_run("sleep 20 & echo started", NULL, 0, 10, out,
	                                    sizeof out, err, sizeof err), CL_OK);
	assert_string_equal(out, "started");
}

/* ---- reconcile with the internal CA and a store ------------------------------------------ */

struct seen {
	int n;
	enum cl_manage_outcome last;
	char err[600];
};

static void on_report(void *arg, const struct cl_manage_result *r)
{
	struct seen *s = arg;

	s->n++;
	s->last = r->outcome;
	snprintf(s->err, sizeof s->err, "%s", r->error ? r->error : "");
}

static int count_row(void *arg, const struct cl_managed_row *r)
{
	struct cl_managed_row *out = arg;

	out->failures = r->failures;
	out->version = r->version;
	out->next_attempt = r->next_attempt;
	out->hook_pending = r->hook_pending;
	return CL_OK;
}

static void test_reconcile(void **state)
{
	struct cl_ca_init_opts io = { .org = "Manage Test", .passphrase = "pw-unit" };
	struct cl_manage_opts o = { 0 };
	struct cl_manage_stats st;
	struct cl_manage_spec *s;
	struct cl_store *db;
	struct cl_managed_row row;
	struct seen seen = { 0 };
	char cadir[4200], db_path[4200], text[10000], err[1024];

	(void)state;
	snprintf(cadir, sizeof cadir, "%s/ca", tmp);
	snprintf(db_path, sizeof db_path, "%s/inv.db", tmp);
	io.dir = cadir;
	assert_int_equal(cl_ca_init(&io, err, sizeof err), CL_OK);
	assert_int_equal(cl_store_open(&db, db_path, 0, err, sizeof err), CL_OK);
	snprintf(text, sizeof text,
	         "kind: Issuer\nmetadata: {name: ca}\nspec:\n  ca: {dir: %s, passphrase: "
	         "{env: UNIT_CA_PASS}}\n---\n"
	         "kind: Certificate\nmetadata: {name: svc}\nspec:\n  dnsNames: [svc.test]\n"
	         "  issuerRef: {name: ca}\n  duration: 10d\n  output: {dir: %s/rec}\n"
	         "  hooks: {deploy: [\"exit 4\"]}\n", cadir, tmp);
	s = parse_ok(text);
	o.record_spec = true;
	o.report = on_report;
	o.report_arg = &seen;
	o.workers = 2;
	/* a wrong passphrase: failed, recorded, backing off */
	setenv("UNIT_CA_PASS", "wrong", 1);
	assert_int_equal(cl_manage_reconcile(db, s, &o, &st, err, sizeof err), CL_OK);
	assert_int_equal(st.failed, 1);
	assert_int_equal(seen.last, CL_MANAGE_FAILED);
	assert_non_null(strstr(seen.err, "passphrase"));
	assert_int_equal(cl_store_managed_rows(db, "svc", count_row, &row), CL_OK);
	assert_int_equal(row.failures, 1);
	assert_true(row.next_attempt > cl_now() + 3500);
	assert_int_equal(cl_manage_reconcile(db, s, &o, &st, err, sizeof err), CL_OK);
	assert_int_equal(st.backing_off, 1);
	/* the right one, forced: issued; the failing hook is recorded */
	setenv("UNIT_CA_PASS", "pw-unit", 1);
	o.force = true;
	assert_int_equal(cl_manage_reconcile(db, s, &o, &st, err, sizeof err), CL_OK);
	assert_int_equal(st.issued, 1);
	assert_int_equal(st.hooks_failed, 1);
	assert_int_equal(cl_store_managed_rows(db, "svc", count_row, &row), CL_OK);
	assert_int_equal(row.failures, 0);
	assert_int_equal(row.version, 1);
	assert_true(row.hook_pending);
	/* not due: unchanged, but the hook runs again (and fails again) */
	o.force = false;
	assert_int_equal(cl_manage_reconcile(db, s, &o, &st, err, sizeof err), CL_OK);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.hooks_failed, 1);
	/* dry run: nothing recorded */
	o.dry_run = true;
	o.force = true;
	assert_int_equal(cl_manage_reconcile(db, s, &o, &st, err, sizeof err), CL_OK);
	assert_int_equal(st.would, 1);
	assert_int_equal(cl_store_managed_rows(db, "svc", count_row, &row), CL_OK);
	assert_int_equal(row.version, 1);
	/* rollback: nothing before v1 */
	o.dry_run = false;
	assert_int_equal(cl_manage_rollback(db, s, "svc", &o, &st, err, sizeof err),
	                 CL_ERR_NOTFOUND);
	unsetenv("UNIT_CA_PASS");
	cl_manage_spec_free(s);
	cl_store_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_valid),
		cmocka_unit_test(test_spec_hashes),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_material),
		cmocka_unit_test(test_deploy_rollback),
		cmocka_unit_test(test_deploy_p12),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_reconcile),
	};

	snprintf(tmp, sizeof tmp, "%s", tu_tmpdir());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
