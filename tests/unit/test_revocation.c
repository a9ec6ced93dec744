/*
 * Revocation checking (src/policy/revocation.c) against real components on
 * 127.0.0.1: a PKI made with `openssl ca` (revocation_pki.sh), a real
 * `openssl ocsp` responder with a delegated responder certificate, and a
 * python HTTP server (revocation_server.py) that serves the CRLs and plays
 * the hostile servers (hang, garbage, non-HTTP bytes, endless and huge
 * bodies). Both servers are started here and stopped by PID.
 * The pure evaluators are tested with responses and CRLs generated offline.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "core/cl.h"
#include "policy/revocation.h"

static struct {
	char src[4096];   /* tests/unit */
	char dir[4096];   /* the PKI and the served files */
	char log[4200];   /* the python server's request log */
	int http_port, ocsp_port, refused_port;
	pid_t http_pid, ocsp_pid;
} F;

static const char *fx(const char *name)
{
	static char bufs[4][4400];
	static int k;
	char *b = bufs[k++ % 4];

	snprintf(b, sizeof bufs[0], "%.3900s/%.400s", F.dir, name);
	return b;
}

static unsigned char *load_der(const char *name, size_t *len)
{
	char file[512];

	snprintf(file, sizeof file, "%s.der", name);
	return tu_read(fx(file), len);
}

static X509 *load_x509(const char *name)
{
	size_t len;
	unsigned char *der = load_der(name, &len);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	free(der);
	if (x == NULL)
		fail_msg("cannot parse %s", name);
	return x;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static pid_t spawn(char *const argv[], const char *logpath)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static int log_has(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof buf, f))
		found = strstr(buf, what) != NULL;
	fclose(f);
	return found;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Lines of the server log equal to line ("GET /ca.crl"). */
static int requests(const char *line)
{
	FILE *f = fopen(F.log, "r");
	char buf[512];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		n += strcmp(buf, line) == 0;
	}
	fclose(f);
	return n;
}

static int setup(void **state)
{
	char portfile[4200], port[16], ocsplog[4200], httplog[4200], pkilog[4200];
	double t0;
	size_t n;

	(void)state;
	/* the test talks to 127.0.0.1 directly */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	snprintf(F.src, sizeof F.src, "%s", __FILE__);
	if (strrchr(F.src, '/') == NULL)
		return -1;
	*strrchr(F.src, '/') = '\0';
	snprintf(F.dir, sizeof F.dir, "%s/pki", tu_tmpdir());
	if (mkdir(F.dir, 0700) != 0)
		return -1;
	snprintf(F.log, sizeof F.log, "%s/requests.log", tu_tmpdir());
	snprintf(portfile, sizeof portfile, "%s/http.port", tu_tmpdir());
	snprintf(ocsplog, sizeof ocsplog, "%s/ocsp.log", tu_tmpdir());
	snprintf(pkilog, sizeof pkilog, "%s/pki.log", tu_tmpdir());
	snprintf(httplog, sizeof httplog, "%s/http.log", tu_tmpdir());
	{
		char script[4200];
		char *argv[] = { "/usr/bin/python3", script, F.dir, portfile, F.log, NULL };

		snprintf(script, sizeof script, "%s/revocation_server.py", F.src);
		F.http_pid = spawn(argv, httplog);
	}
	for (t0 = mono(); access(portfile, R_OK) != 0; usleep(20000))
		if (mono() - t0 > 20)
			return -1;
	{
		unsigned char *p = tu_read(portfile, &n);
		F.http_port = atoi((char *)p);
		free(p);
	}
	F.ocsp_port = free_port();
	F.refused_port = free_port();
	if (F.http_port <= 0 || F.ocsp_port <= 0 || F.refused_port <= 0)
		return -1;
	tu_sh("sh '%s/revocation_pki.sh' '%s' %d %d %d >'%s' 2>&1", F.src, F.dir, F.http_port,
	      F.ocsp_port, F.refused_port, pkilog);
	snprintf(port, sizeof port, "%d", F.ocsp_port);
	{
		static char idx[4400], rsigner[4400], rkey[4400], ca[4400];
		char *argv[] = { "openssl", "ocsp", "-index", idx, "-port", port,
		                 "-rsigner", rsigner, "-rkey", rkey, "-CA", ca,
		                 "-ignore_err", "-ndays", "1", NULL };

		snprintf(idx, sizeof idx, "%s/index.txt", F.dir);
		snprintf(rsigner, sizeof rsigner, "%s/responder.pem", F.dir);
		snprintf(rkey, sizeof rkey, "%s/responder.key", F.dir);
		snprintf(ca, sizeof ca, "%s/ca.pem", F.dir);
		F.ocsp_pid = spawn(argv, ocsplog);
	}
	/* ready once it says so; a connect-and-close probe would wedge it
	   (OpenSSL 3.0's responder then waits on that connection forever) */
	for (t0 = mono(); !log_has(ocsplog, "waiting for OCSP client connections"); usleep(20000))
		if (mono() - t0 > 20)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop(&F.ocsp_pid);
	stop(&F.http_pid);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The revoker against live servers                                       */

struct got {
	int calls;
	struct cl_rev_result res;
};

static void on_result(void *arg, const struct cl_rev_result *res)
{
	struct got *g = arg;

	g->calls++;
	g->res = *res;
}

static void add(struct cl_revoker *r, const char *leaf, const char *issuer, struct got *g)
{
	size_t cl, il;
	unsigned char *c = load_der(leaf, &cl), *i = load_der(issuer, &il);

	assert_int_equal(cl_revoker_add(r, c, cl, i, il, on_result, g), CL_OK);
	free(c);
	free(i);
}

enum port_kind { P_NONE, P_OCSP, P_HTTP, P_REFUSED };

static const struct live_case {
	const char *leaf, *issuer;
	enum cl_rev_status status;
	const char *method;
	int reason;
	const char *detail;     /* substring; "" = must be empty */
	enum port_kind port;    /* the URL reported */
	const char *path;
} live[] = {
	{ "leaf-good", "ca", CL_REV_GOOD, "ocsp", -1, "", P_OCSP, "/" },
	{ "leaf-revoked", "ca", CL_REV_REVOKED, "ocsp", 1, "", P_OCSP, "/" },
	{ "leaf-unknown", "ca", CL_REV_UNKNOWN, "ocsp", -1,
	  "responder does not know the certificate", P_OCSP, "/" },
	/* OCSP responder down: the CRL answers, the detail says why OCSP did not */
	{ "leaf-fallback-good", "ca", CL_REV_GOOD, "crl", -1,
	  "OCSP unreachable: cannot connect: Connection refused", P_HTTP, "/ca.crl" },
	{ "leaf-fallback-revoked", "ca", CL_REV_REVOKED, "crl", 4, "OCSP unreachable", P_HTTP,
	  "/ca.crl" },
	{ "leaf-refused", "ca", CL_REV_UNREACHABLE, "ocsp", -1, "cannot connect: Connection refused",
	  P_REFUSED, "/" },
	{ "leaf-pem", "ca", CL_REV_REVOKED, "crl", 3, "", P_HTTP, "/ca-pem.crl" },
	{ "leaf-wrongkey", "ca", CL_REV_UNKNOWN, "crl", -1, "CRL signature does not verify", P_HTTP,
	  "/wrongkey.crl" },
	{ "leaf-expired", "ca", CL_REV_UNKNOWN, "crl", -1,
	  "CRL expired (nextUpdate 2020-02-01T00:00:00Z)", P_HTTP, "/expired.crl" },
	{ "leaf-crl-garbage", "ca", CL_REV_UNKNOWN, "crl", -1, "malformed CRL", P_HTTP, "/garbage" },
	{ "leaf-crl-raw", "ca", CL_REV_UNREACHABLE, "crl", -1, "HTTP/0.9", P_HTTP, "/raw" },
	{ "leaf-crl-404", "ca", CL_REV_UNREACHABLE, "crl", -1, "HTTP 404", P_HTTP, "/missing.crl" },
	{ "leaf-crl-hang", "ca", CL_REV_UNREACHABLE, "crl", -1, "timed out after 2500 ms", P_HTTP,
	  "/hang" },
	{ "leaf-crl-endless", "ca", CL_REV_UNKNOWN, "crl", -1, "CRL larger than 20 MiB", P_HTTP,
	  "/endless" },
	{ "leaf-crl-huge", "ca", CL_REV_UNKNOWN, "crl", -1, "CRL larger than 20 MiB", P_HTTP,
	  "/huge" },
	{ "leaf-ocsp-hang", "ca", CL_REV_UNREACHABLE, "ocsp", -1, "timed out after 2500 ms", P_HTTP,
	  "/hang" },
	{ "leaf-ocsp-garbage", "ca", CL_REV_UNKNOWN, "ocsp", -1, "malformed OCSP response", P_HTTP,
	  "/garbage" },
	{ "leaf-ocsp-endless", "ca", CL_REV_UNKNOWN, "ocsp", -1, "OCSP response larger than 64 KiB",
	  P_HTTP, "/endless" },
	{ "leaf-ldap", "ca", CL_REV_UNREACHABLE, "crl", -1,
	  "unsupported URL scheme (only http:// is fetched)", P_NONE, "ldap://127.0.0.1/cn=crl" },
	{ "leaf-none", "ca", CL_REV_NONE, NULL, -1, "no OCSP URL and no CRL distribution point",
	  P_NONE, "" },
	{ "leaf-good", "other", CL_REV_UNKNOWN, NULL, -1, "the issuer given did not issue", P_NONE,
	  "" },
	{ "leaf-other", "other", CL_REV_GOOD, "crl", -1, "", P_HTTP, "/other.crl" },
};

static void expect(const struct live_case *t, const struct got *g)
{
	const struct cl_rev_result *res = &g->res;
	char url[600];
	int port = t->port == P_OCSP ? F.ocsp_port : t->port == P_HTTP ? F.http_port : F.refused_port;

	if (g->calls != 1)
		fail_msg("%s: %d callbacks", t->leaf, g->calls);
	if (res->status != t->status || res->reason != t->reason)
		fail_msg("%s/%s: status %s reason %d, want %s %d (%s)", t->leaf, t->issuer,
		         cl_rev_status_name(res->status), res->reason,
		         cl_rev_status_name(t->status), t->reason, res->detail);
	if ((t->method == NULL) != (res->method == NULL) ||
	    (t->method && strcmp(t->method, res->method) != 0))
		fail_msg("%s/%s: method %s, want %s (%s)", t->leaf, t->issuer,
		         res->method ? res->method : "none", t->method ? t->method : "none",
		         res->detail);
	if (t->reason >= 0) {
		assert_string_equal(res->reason_name, cl_rev_reason_name(t->reason));
		assert_true(res->revoked_at > 1577836800);  /* after 2020-01-01 */
		assert_true(res->revoked_at <= time(NULL) + 5);
	} else {
		assert_null(res->reason_name);
		assert_int_equal(res->revoked_at, 0);
	}
	if (t->detail[0] == '\0' && res->detail[0] != '\0')
		fail_msg("%s: unexpected detail '%s'", t->leaf, res->detail);
	if (strstr(res->detail, t->detail) == NULL)
		fail_msg("%s: detail '%s' lacks '%s'", t->leaf, res->detail, t->detail);
	if (t->port == P_NONE)
		snprintf(url, sizeof url, "%s", t->path);
	else
		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, t->path);
	assert_string_equal(res->url, url);
	if (t->status == CL_REV_GOOD || t->status == CL_REV_REVOKED) {
		assert_true(res->this_update > time(NULL) - 3600);
		assert_true(res->next_update > res->this_update);
	}
}

static void test_live(void **state)
{
	struct cl_rev_opts o = { .timeout_ms = 2500 };
	struct cl_revoker *r;
	struct got g[CL_ARRAY_LEN(live)], hang[8];
	double t0, took;
	size_t i;

	(void)state;
	memset(g, 0, sizeof g);
	memset(hang, 0, sizeof hang);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	for (i = 0; i < CL_ARRAY_LEN(live); i++)
		add(r, live[i].leaf, live[i].issuer, &g[i]);
	/* more hanging responders: all time out together, not one after the other */
	for (i = 0; i < CL_ARRAY_LEN(hang); i++)
		add(r, "leaf-ocsp-hang", "ca", &hang[i]);
	for (i = 0; i < CL_ARRAY_LEN(g); i++)
		assert_int_equal(g[i].calls, 0);   /* nothing before run */
	t0 = mono();
	assert_int_equal(cl_revoker_run(r), CL_OK);
	took = mono() - t0;
	for (i = 0; i < CL_ARRAY_LEN(live); i++)
		expect(&live[i], &g[i]);
	for (i = 0; i < CL_ARRAY_LEN(hang); i++) {
		assert_int_equal(hang[i].calls, 1);
		assert_int_equal(hang[i].res.status, CL_REV_UNREACHABLE);
	}
	/* ten hanging transfers of 2.5 s each, concurrently */
	if (took < 2.4 || took > 8)
		fail_msg("run took %.1f s", took);
	/* two checks need ca.crl: one download */
	assert_int_equal(requests("GET /ca.crl"), 1);
	/* OCSP is a POST; the hostile OCSP URLs got one request per check */
	assert_int_equal(requests("POST /garbage"), 1);
	assert_int_equal(requests("POST /hang"), 1 + (int)CL_ARRAY_LEN(hang));
	/* a second run with nothing queued returns at once */
	assert_int_equal(cl_revoker_run(r), CL_OK);
	cl_revoker_free(r);
}

static void test_concurrency_bound(void **state)
{
	struct cl_rev_opts o = { .timeout_ms = 1000, .concurrency = 2 };
	struct cl_revoker *r;
	struct got g[6];
	double t0, took;
	size_t i;

	(void)state;
	memset(g, 0, sizeof g);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	for (i = 0; i < CL_ARRAY_LEN(g); i++)
		add(r, "leaf-ocsp-hang", "ca", &g[i]);
	t0 = mono();
	assert_int_equal(cl_revoker_run(r), CL_OK);
	took = mono() - t0;
	for (i = 0; i < CL_ARRAY_LEN(g); i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].res.status, CL_REV_UNREACHABLE);
		assert_string_equal(g[i].res.detail, "timed out after 1 s");
	}
	/* six 1 s timeouts, two at a time: three waves */
	if (took < 2.9 || took > 6)
		fail_msg("run took %.1f s", took);
	cl_revoker_free(r);
}

static int count_crl_files(const char *dir, char *one, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		assert_true(l > 4 && strcmp(e->d_name + l - 4, ".crl") == 0);  /* no temp left */
		snprintf(one, len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void test_crl_cache(void **state)
{
	struct cl_rev_opts o = { .timeout_ms = 2500 };
	struct cl_revoker *r;
	struct got g[2], h, k;
	char cache[4200], file[4400];
	unsigned char *a, *b;
	size_t alen, blen;
	struct stat st;
	int before = requests("GET /ca.crl"), wk = requests("GET /wrongkey.crl");

	(void)state;
	snprintf(cache, sizeof cache, "%s/cache/crls", tu_tmpdir());
	o.cache_dir = cache;
	memset(g, 0, sizeof g);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	add(r, "leaf-fallback-good", "ca", &g[0]);
	add(r, "leaf-wrongkey", "ca", &g[1]);
	assert_int_equal(cl_revoker_run(r), CL_OK);
	assert_int_equal(g[0].res.status, CL_REV_GOOD);
	assert_int_equal(g[1].res.status, CL_REV_UNKNOWN);
	assert_int_equal(requests("GET /ca.crl"), before + 1);
	/* only the CRL that verified is stored, 0600, as the DER served */
	assert_int_equal(count_crl_files(cache, file, sizeof file), 1);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	a = tu_read(file, &alen);
	b = tu_read(fx("ca.crl"), &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);

	/* the same revoker again: the memory cache answers, the bad CRL is refetched */
	memset(&h, 0, sizeof h);
	memset(g, 0, sizeof g);
	add(r, "leaf-fallback-revoked", "ca", &h);
	add(r, "leaf-wrongkey", "ca", &g[1]);
	assert_int_equal(cl_revoker_run(r), CL_OK);
	assert_int_equal(h.res.status, CL_REV_REVOKED);
	assert_int_equal(h.res.reason, 4);
	assert_string_equal(h.res.reason_name, "superseded");
	assert_int_equal(requests("GET /ca.crl"), before + 1);
	assert_int_equal(requests("GET /wrongkey.crl"), wk + 2);
	cl_revoker_free(r);

	/* a new revoker: the disk cache answers */
	memset(&k, 0, sizeof k);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	add(r, "leaf-fallback-good", "ca", &k);
	assert_int_equal(cl_revoker_run(r), CL_OK);
	assert_int_equal(k.res.status, CL_REV_GOOD);
	assert_string_equal(k.res.method, "crl");
	assert_int_equal(requests("GET /ca.crl"), before + 1);
	cl_revoker_free(r);

	/* a corrupt cache file is dropped and the CRL downloaded again */
	tu_sh("printf 'not a CRL' > '%s'", file);
	memset(&k, 0, sizeof k);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	add(r, "leaf-fallback-revoked", "ca", &k);
	assert_int_equal(cl_revoker_run(r), CL_OK);
	assert_int_equal(k.res.status, CL_REV_REVOKED);
	assert_int_equal(requests("GET /ca.crl"), before + 2);
	a = tu_read(file, &alen);
	assert_int_equal(alen, blen);
	free(a);
	cl_revoker_free(r);

	/* a cache file whose nextUpdate has passed is not used */
	o.now = time(NULL) + 40 * 86400;
	memset(&k, 0, sizeof k);
	assert_int_equal(cl_revoker_new(&r, &o), CL_OK);
	add(r, "leaf-fallback-good", "ca", &k);
	assert_int_equal(cl_revoker_run(r), CL_OK);
	assert_int_equal(k.res.status, CL_REV_UNKNOWN);  /* the served CRL is expired then too */
	assert_non_null(strstr(k.res.detail, "CRL expired"));
	assert_int_equal(requests("GET /ca.crl"), before + 3);
	cl_revoker_free(r);
}

static void test_add_errors(void **state)
{
	struct cl_revoker *r;
	struct got g;
	size_t cl, il;
	unsigned char *c = load_der("leaf-good", &cl), *i = load_der("ca", &il);
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	(void)state;
	memset(&g, 0, sizeof g);
	assert_int_equal(cl_revoker_new(&r, NULL), CL_OK);
	assert_int_equal(cl_revoker_add(r, junk, sizeof junk, i, il, on_result, &g), CL_ERR_PARSE);
	assert_int_equal(cl_revoker_add(r, c, cl - 1, i, il, on_result, &g), CL_ERR_PARSE);
	assert_int_equal(cl_revoker_add(r, c, cl, i, il, NULL, &g), CL_ERR_USAGE);
	/* queued but never run: freed without a callback */
	assert_int_equal(cl_revoker_add(r, c, cl, i, il, on_result, &g), CL_OK);
	cl_revoker_free(r);
	assert_int_equal(g.calls, 0);
	/* a cache directory that cannot be created */
	{
		struct cl_rev_opts o = { .cache_dir = "/proc/no/such/dir" };
		assert_int_not_equal(cl_revoker_new(&r, &o), CL_OK);
		assert_null(r);
	}
	free(c);
	free(i);
	assert_string_equal(cl_rev_status_name(CL_REV_UNREACHABLE), "unreachable");
	assert_string_equal(cl_rev_reason_name(1), "keyCompromise");
	assert_string_equal(cl_rev_reason_name(10), "aACompromise");
	assert_null(cl_rev_reason_name(7));
	assert_null(cl_rev_reason_name(-1));
	assert_null(cl_rev_reason_name(11));
}

/* ---------------------------------------------------------------------- */
/* cl_ocsp_evaluate with responses made offline by `openssl ocsp`         */

static const unsigned char nonce_a[16] = "0123456789abcdef";
static const unsigned char nonce_b[16] = "fedcba9876543210";

/* Writes an OCSP request for leaf (issued by ca) with an optional nonce. */
static void make_request(const char *leaf, const unsigned char *nonce, const char *out)
{
	X509 *c = load_x509(leaf), *ca = load_x509("ca");
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	FILE *f;
	int len;

	assert_non_null(req);
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(EVP_sha1(), c, ca)));
	if (nonce)
		assert_int_equal(OCSP_request_add1_nonce(req, (unsigned char *)nonce, 16), 1);
	len = i2d_OCSP_REQUEST(req, &der);
	assert_true(len > 0);
	f = fopen(out, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	X509_free(c);
	X509_free(ca);
}

/* Has `openssl ocsp` answer a request for leaf, signed by signer. */
static unsigned char *respond(const char *leaf, const char *signer, const char *args,
                              const unsigned char *nonce, size_t *len)
{
	char req[4400], resp[4400];

	snprintf(req, sizeof req, "%s/req.der", F.dir);
	snprintf(resp, sizeof resp, "%s/resp.der", F.dir);
	make_request(leaf, nonce, req);
	tu_sh("cd '%s' && openssl ocsp -index index.txt -CA ca.pem -rsigner %s.pem -rkey %s.key "
	      "-reqin req.der -respout resp.der %s >/dev/null 2>&1", F.dir, signer, signer, args);
	return tu_read(resp, len);
}

static void test_ocsp_evaluate(void **state)
{
	enum { SAME, OTHER, NONE };
	static const struct {
		const char *leaf, *signer, *args;
		int req_nonce;       /* the request carries nonce_a */
		int eval_nonce;      /* SAME: nonce_a, OTHER: nonce_b, NONE: NULL */
		int64_t shift;       /* now = real time + shift */
		int64_t max_age;
		const char *eval_leaf;   /* NULL: leaf */
		int rc;
		enum cl_rev_status status;
		int reason;
		const char *detail;
	} t[] = {
		{ "leaf-good", "responder", "", 1, SAME, 0, 7 * 86400, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		{ "leaf-good", "ca", "", 1, SAME, 0, 7 * 86400, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		{ "leaf-good", "ca", "-resp_no_certs", 1, SAME, 0, 0, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		{ "leaf-revoked", "responder", "", 1, SAME, 0, 0, NULL, CL_OK, CL_REV_REVOKED, 1, "" },
		{ "leaf-fallback-revoked", "responder", "", 0, NONE, 0, 0, NULL, CL_OK, CL_REV_REVOKED,
		  4, "" },
		{ "leaf-unknown", "responder", "", 1, SAME, 0, 0, NULL, CL_OK, CL_REV_UNKNOWN, -1,
		  "responder does not know the certificate" },
		/* who may sign */
		{ "leaf-good", "noeku", "", 1, SAME, 0, 0, NULL, CL_ERR, CL_REV_UNKNOWN, -1,
		  "responder certificate lacks the OCSP signing EKU" },
		{ "leaf-good", "otherresp", "", 1, SAME, 0, 0, NULL, CL_ERR, CL_REV_UNKNOWN, -1,
		  "responder certificate not trusted for the issuer" },
		{ "leaf-good", "responder", "-resp_no_certs", 1, SAME, 0, 0, NULL, CL_ERR,
		  CL_REV_UNKNOWN, -1, "response signer not found" },
		/* nonces */
		{ "leaf-good", "responder", "", 1, OTHER, 0, 0, NULL, CL_ERR, CL_REV_UNKNOWN, -1,
		  "nonce mismatch" },
		{ "leaf-good", "responder", "", 1, NONE, 0, 0, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		{ "leaf-good", "responder", "", 0, SAME, 0, 0, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		/* freshness */
		{ "leaf-good", "responder", "-ndays 1", 1, SAME, 2 * 86400, 0, NULL, CL_ERR,
		  CL_REV_UNKNOWN, -1, "response expired (nextUpdate " },
		{ "leaf-good", "responder", "-ndays 1", 1, SAME, 3600, 0, NULL, CL_OK, CL_REV_GOOD,
		  -1, "" },
		{ "leaf-good", "responder", "", 1, SAME, 8 * 86400, 7 * 86400, NULL, CL_ERR,
		  CL_REV_UNKNOWN, -1, "response too old (thisUpdate " },
		{ "leaf-good", "responder", "", 1, SAME, 8 * 86400, -1, NULL, CL_OK, CL_REV_GOOD, -1,
		  "" },
		{ "leaf-good", "responder", "", 1, SAME, -3600, 0, NULL, CL_ERR, CL_REV_UNKNOWN, -1,
		  "response not yet valid (thisUpdate " },
		{ "leaf-good", "responder", "", 1, SAME, -200, 0, NULL, CL_OK, CL_REV_GOOD, -1, "" },
		/* a response about another certificate */
		{ "leaf-good", "responder", "", 1, SAME, 0, 0, "leaf-revoked", CL_ERR, CL_REV_UNKNOWN,
		  -1, "response does not cover the certificate" },
	};
	X509 *ca = load_x509("ca");
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_rev_result res;
		size_t len;
		unsigned char *resp = respond(t[i].leaf, t[i].signer, t[i].args,
		                              t[i].req_nonce ? nonce_a : NULL, &len);
		X509 *leaf = load_x509(t[i].eval_leaf ? t[i].eval_leaf : t[i].leaf);
		const unsigned char *n = t[i].eval_nonce == SAME ? nonce_a :
		                         t[i].eval_nonce == OTHER ? nonce_b : NULL;
		int64_t now = (int64_t)time(NULL) + t[i].shift;
		int rc;

		rc = cl_ocsp_evaluate(resp, len, leaf, ca, n, 16, now, t[i].max_age, &res);
		if (rc != t[i].rc || res.status != t[i].status || res.reason != t[i].reason)
			fail_msg("case %zu: rc %d status %s reason %d (%s)", i, rc,
			         cl_rev_status_name(res.status), res.reason, res.detail);
		assert_string_equal(res.method, "ocsp");
		if (strstr(res.detail, t[i].detail) == NULL ||
		    (t[i].detail[0] == '\0' && res.detail[0]))
			fail_msg("case %zu: detail '%s', want '%s'", i, res.detail, t[i].detail);
		if (rc == CL_OK) {
			assert_true(res.this_update > time(NULL) - 600);
			assert_true(res.this_update <= time(NULL));
		}
		if (strstr(t[i].args, "-ndays 1") && rc == CL_OK)
			assert_int_equal(res.next_update, res.this_update + 86400);
		if (res.status == CL_REV_REVOKED) {
			assert_string_equal(res.reason_name, cl_rev_reason_name(t[i].reason));
			assert_true(res.revoked_at > 1577836800 && res.revoked_at <= time(NULL));
		}
		free(resp);
		X509_free(leaf);
	}
	X509_free(ca);
}

static void test_ocsp_evaluate_broken(void **state)
{
	X509 *ca = load_x509("ca"), *leaf = load_x509("leaf-good"), *other = load_x509("other");
	struct cl_rev_result res;
	unsigned char *resp, *copy, *der = NULL;
	OCSP_RESPONSE *tl;
	size_t len;
	int dlen;
	int64_t now = time(NULL);

	(void)state;
	/* issuer-signed response without certificates: the last byte is the signature's */
	resp = respond("leaf-good", "ca", "-resp_no_certs", nonce_a, &len);
	assert_int_equal(cl_ocsp_evaluate(resp, len, leaf, ca, nonce_a, 16, now, 0, &res), CL_OK);
	resp[len - 1] ^= 0x01;
	assert_int_equal(cl_ocsp_evaluate(resp, len, leaf, ca, nonce_a, 16, now, 0, &res), CL_ERR);
	assert_int_equal(res.status, CL_REV_UNKNOWN);
	assert_string_equal(res.detail, "response signature does not verify");
	resp[len - 1] ^= 0x01;
	/* the same response checked against another issuer */
	assert_int_equal(cl_ocsp_evaluate(resp, len, leaf, other, nonce_a, 16, now, 0, &res), CL_ERR);
	assert_string_equal(res.detail, "response does not cover the certificate");
	/* trailing bytes, truncation, garbage, nothing */
	copy = malloc(len + 1);
	memcpy(copy, resp, len);
	copy[len] = 0;
	assert_int_equal(cl_ocsp_evaluate(copy, len + 1, leaf, ca, NULL, 0, now, 0, &res),
	                 CL_ERR_PARSE);
	assert_non_null(strstr(res.detail, "malformed OCSP response"));
	assert_int_equal(cl_ocsp_evaluate(copy, len - 7, leaf, ca, NULL, 0, now, 0, &res),
	                 CL_ERR_PARSE);
	assert_int_equal(cl_ocsp_evaluate((const unsigned char *)"garbage", 7, leaf, ca, NULL, 0,
	                                  now, 0, &res), CL_ERR_PARSE);
	assert_string_equal(res.detail, "malformed OCSP response");
	assert_int_equal(cl_ocsp_evaluate(NULL, 0, leaf, ca, NULL, 0, now, 0, &res), CL_ERR_PARSE);
	free(copy);
	free(resp);
	/* a responder that says tryLater */
	tl = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	dlen = i2d_OCSP_RESPONSE(tl, &der);
	assert_true(dlen > 0);
	assert_int_equal(cl_ocsp_evaluate(der, (size_t)dlen, leaf, ca, NULL, 0, now, 0, &res), CL_ERR);
	assert_int_equal(res.status, CL_REV_UNKNOWN);
	assert_non_null(strstr(res.detail, "responder error: trylater"));
	OPENSSL_free(der);
	OCSP_RESPONSE_free(tl);
	X509_free(ca);
	X509_free(leaf);
	X509_free(other);
}

/* ---------------------------------------------------------------------- */
/* cl_crl_evaluate                                                        */

static void test_crl_evaluate(void **state)
{
	static const struct {
		const char *crl, *leaf, *issuer;
		int64_t now;         /* 0: real time */
		int rc;
		enum cl_rev_status status;
		int reason;
		const char *detail;
	} t[] = {
		{ "ca.crl", "leaf-good", "ca", 0, CL_OK, CL_REV_GOOD, -1, "" },
		{ "ca.crl", "leaf-revoked", "ca", 0, CL_OK, CL_REV_REVOKED, 1, "" },
		{ "ca.crl", "leaf-fallback-revoked", "ca", 0, CL_OK, CL_REV_REVOKED, 4, "" },
		{ "ca-pem.crl", "leaf-pem", "ca", 0, CL_OK, CL_REV_REVOKED, 3, "" },
		{ "ca-pem.crl", "leaf-good", "ca", 0, CL_OK, CL_REV_GOOD, -1, "" },
		{ "other.crl", "leaf-other", "other", 0, CL_OK, CL_REV_GOOD, -1, "" },
		{ "wrongkey.crl", "leaf-good", "ca", 0, CL_ERR, CL_REV_UNKNOWN, -1,
		  "CRL signature does not verify" },
		{ "expired.crl", "leaf-revoked", "ca", 0, CL_ERR, CL_REV_UNKNOWN, -1,
		  "CRL expired (nextUpdate 2020-02-01T00:00:00Z)" },
		{ "expired.crl", "leaf-good", "ca", 1580000000, CL_OK, CL_REV_GOOD, -1, "" },
		{ "ca.crl", "leaf-good", "ca", 1577836800, CL_ERR, CL_REV_UNKNOWN, -1,
		  "CRL not yet valid (thisUpdate " },
		{ "other.crl", "leaf-good", "ca", 0, CL_ERR, CL_REV_UNKNOWN, -1,
		  "CRL issued by another CA" },
		{ "delta.crl", "leaf-good", "ca", 0, CL_ERR, CL_REV_UNKNOWN, -1,
		  "delta CRLs are not supported" },
		{ "onlyca.crl", "leaf-good", "ca", 0, CL_ERR, CL_REV_UNKNOWN, -1,
		  "CRL covers only CA certificates" },
		{ "ca.key", "leaf-good", "ca", 0, CL_ERR_PARSE, CL_REV_UNKNOWN, -1, "malformed CRL" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_rev_result res;
		size_t len;
		unsigned char *crl = tu_read(fx(t[i].crl), &len);
		X509 *leaf = load_x509(t[i].leaf), *ca = load_x509(t[i].issuer);
		int64_t now = t[i].now ? t[i].now : (int64_t)time(NULL);
		int rc = cl_crl_evaluate(crl, len, leaf, ca, now, &res);

		if (rc != t[i].rc || res.status != t[i].status || res.reason != t[i].reason)
			fail_msg("case %zu (%s): rc %d status %s reason %d (%s)", i, t[i].crl, rc,
			         cl_rev_status_name(res.status), res.reason, res.detail);
		assert_string_equal(res.method, "crl");
		if (strstr(res.detail, t[i].detail) == NULL ||
		    (t[i].detail[0] == '\0' && res.detail[0]))
			fail_msg("case %zu: detail '%s', want '%s'", i, res.detail, t[i].detail);
		if (res.status == CL_REV_REVOKED) {
			assert_string_equal(res.reason_name, cl_rev_reason_name(t[i].reason));
			assert_true(res.revoked_at > 1577836800);
		}
		if (rc == CL_OK && strcmp(t[i].crl, "ca.crl") == 0)
			assert_int_equal(res.next_update, res.this_update + 30 * 86400);
		/* truncated and padded DER is malformed */
		if (strcmp(t[i].crl, "ca.crl") == 0 && rc == CL_OK) {
			unsigned char *pad = realloc(crl, len + 1);
			assert_non_null(pad);
			crl = pad;
			crl[len] = 0;
			assert_int_equal(cl_crl_evaluate(crl, len + 1, leaf, ca, now, &res), CL_ERR_PARSE);
			assert_int_equal(cl_crl_evaluate(crl, len - 10, leaf, ca, now, &res), CL_ERR_PARSE);
			assert_int_equal(res.status, CL_REV_UNKNOWN);
		}
		free(crl);
		X509_free(leaf);
		X509_free(ca);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_ocsp_evaluate),
		cmocka_unit_test(test_ocsp_evaluate_broken),
		cmocka_unit_test(test_crl_evaluate),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_concurrency_bound),
		cmocka_unit_test(test_crl_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
