/*
 * The pieces of network discovery that need no network: target parsing,
 * counting and iteration, exclusions, port lists, and the STARTTLS
 * dialogues driven with scripted server replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/cl.h"
#include "discover/starttls.h"
#include "discover/targets.h"

static void test_target_forms(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *lo, *hi;  /* NULL for a host name */
		int port;
	} t[] = {
		{ "192.0.2.1", 1, "192.0.2.1", "192.0.2.1", 0 },
		{ "2001:db8::1", 1, "2001:db8::1", "2001:db8::1", 0 },
		{ "10.0.0.77/24", 1, "10.0.0.0", "10.0.0.255", 0 },
		{ "10.0.0.0/31", 1, "10.0.0.0", "10.0.0.1", 0 },
		{ "0.0.0.0/0", 1, "0.0.0.0", "255.255.255.255", 0 },
		{ "fd00::/120", 1, "fd00::", "fd00::ff", 0 },
		{ "fd00::/121", 1, "fd00::", "fd00::7f", 0 },
		{ "192.0.2.10-192.0.2.50", 1, "192.0.2.10", "192.0.2.50", 0 },
		{ "192.0.2.10-50", 1, "192.0.2.10", "192.0.2.50", 0 },
		{ "192.0.2.250-192.0.3.5", 1, "192.0.2.250", "192.0.3.5", 0 },
		{ "fd00::1-fd00::9", 1, "fd00::1", "fd00::9", 0 },
		{ "192.0.2.1:8443", 1, "192.0.2.1", "192.0.2.1", 8443 },
		{ "[::1]:443", 1, "::1", "::1", 443 },
		{ "WWW.Example.com", 1, NULL, NULL, 0 },
		{ "mail.example.com:587", 1, NULL, NULL, 587 },
		{ "192.0.2.50-10", 0, NULL, NULL, 0 },     /* high end first */
		{ "192.0.2.1-fd00::1", 0, NULL, NULL, 0 }, /* mixed families */
		{ "10.0.0.0/33", 0, NULL, NULL, 0 },
		{ "fd00::/129", 0, NULL, NULL, 0 },
		{ "10.0.0.0/", 0, NULL, NULL, 0 },
		{ "host:0", 0, NULL, NULL, 0 },
		{ "host:65536", 0, NULL, NULL, 0 },
		{ "[::1]", 0, NULL, NULL, 0 },
		{ "-bad.example", 0, NULL, NULL, 0 },
		{ "a..b", 0, NULL, NULL, 0 },
		{ "bad host", 0, NULL, NULL, 0 },
		{ "1:2:3", 0, NULL, NULL, 0 },
		{ "", 0, NULL, NULL, 0 },
	};
	char err[512], buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_targets tg;
		int rc;

		cl_targets_init(&tg);
		err[0] = '\0';
		rc = cl_targets_add(&tg, t[i].in, err, sizeof err);
		if (!t[i].ok) {
			if (rc == CL_OK)
				fail_msg("'%s' should be refused", t[i].in);
			assert_non_null(strstr(err, t[i].in));  /* the message names it */
			cl_targets_free(&tg);
			continue;
		}
		if (rc != CL_OK)
			fail_msg("'%s': %s", t[i].in, err);
		assert_int_equal(tg.nspecs, 1);
		assert_int_equal(tg.specs[0].port, t[i].port);
		if (t[i].lo) {
			assert_int_equal(tg.specs[0].kind, CL_SPEC_RANGE);
			assert_string_equal(cl_addr_str(&tg.specs[0].lo, buf, sizeof buf), t[i].lo);
			assert_string_equal(cl_addr_str(&tg.specs[0].hi, buf, sizeof buf), t[i].hi);
		} else {
			assert_int_equal(tg.specs[0].kind, CL_SPEC_HOST);
			assert_null(strchr(tg.specs[0].host, ':'));
			assert_null(strpbrk(tg.specs[0].host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
		}
		cl_targets_free(&tg);
	}
}

static void test_counts_and_iteration(void **state)
{
	struct cl_targets tg;
	struct cl_addr cur;
	char err[512], buf[64];
	uint64_t probes;
	int n = 0;

	(void)state;
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_set_ports(&tg, "443,8443,1000-1002,443", err, sizeof err), CL_OK);
	assert_int_equal(tg.nports, 5);  /* sorted, each once */
	assert_int_equal(tg.ports[0], 443);
	assert_int_equal(tg.ports[4], 8443);
	assert_int_equal(cl_targets_add(&tg, "10.1.0.0/16", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_add(&tg, "example.com", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_add(&tg, "10.9.9.9:25", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_add_sni(&tg, "a.example", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_add_sni(&tg, "b.example", err, sizeof err), CL_OK);
	/* /16 + a name + one address; probes: 65536*5*2 + 1*5 + 1*1*2 */
	assert_int_equal(cl_targets_count(&tg, &probes), 65538);
	assert_int_equal(probes, 65536ULL * 5 * 2 + 5 + 2);
	/* a whole IPv6 /64 saturates instead of wrapping */
	assert_int_equal(cl_targets_add(&tg, "fd00::/64", err, sizeof err), CL_OK);
	assert_true(cl_targets_count(&tg, NULL) > 65538ULL + (1ULL << 62));
	cl_targets_free(&tg);

	/* iteration crosses octet boundaries and stops at the end */
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_add(&tg, "192.0.2.254-192.0.3.1", err, sizeof err), CL_OK);
	cur = tg.specs[0].lo;
	do {
		n++;
	} while (cl_addr_next(&cur, &tg.specs[0].hi));
	assert_int_equal(n, 4);
	assert_string_equal(cl_addr_str(&cur, buf, sizeof buf), "192.0.3.1");
	cl_targets_free(&tg);

	/* exclusions: address, CIDR, range; not across families */
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_exclude(&tg, "10.0.0.5", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_exclude(&tg, "10.0.1.0/24", err, sizeof err), CL_OK);
	assert_int_equal(cl_targets_exclude(&tg, "10.0.2.10-20", err, sizeof err), CL_OK);
	assert_int_not_equal(cl_targets_exclude(&tg, "example.com", err, sizeof err), CL_OK);
	assert_non_null(strstr(err, "--exclude"));
	{
		static const struct { const char *a; bool x; } e[] = {
			{ "10.0.0.5", true }, { "10.0.0.6", false }, { "10.0.1.200", true },
			{ "10.0.2.15", true }, { "10.0.2.21", false }, { "::ffff:10.0.0.5", false },
		};
		for (size_t i = 0; i < CL_ARRAY_LEN(e); i++) {
			struct cl_addr ad;
			assert_int_equal(cl_addr_parse(e[i].a, &ad), CL_OK);
			assert_int_equal(cl_targets_excluded(&tg, &ad), e[i].x);
		}
	}
	cl_targets_free(&tg);

	/* bad port lists */
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_set_ports(&tg, "443,70000", err, sizeof err), CL_ERR_USAGE);
	assert_int_equal(cl_targets_set_ports(&tg, "9-1", err, sizeof err), CL_ERR_USAGE);
	assert_int_equal(cl_targets_set_ports(&tg, ",", err, sizeof err), CL_ERR_USAGE);
	assert_int_equal(cl_targets_set_ports(&tg, cl_default_ports, err, sizeof err), CL_OK);
	assert_int_equal(tg.nports, 17);
	cl_targets_free(&tg);
}

static void test_target_file(void **state)
{
	struct cl_targets tg;
	char path[4096], arg[4200], err[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/targets.txt", tu_tmpdir());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# hosts\n\n  192.0.2.1  # web\n10.0.0.0/30\nwww.example.com:443\n", f);
	fclose(f);
	snprintf(arg, sizeof arg, "@%s", path);
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_add(&tg, arg, err, sizeof err), CL_OK);
	assert_int_equal(tg.nspecs, 3);
	assert_int_equal(cl_targets_count(&tg, NULL), 1 + 4 + 1);
	assert_non_null(strstr(tg.specs[2].origin, "targets.txt:5"));
	cl_targets_free(&tg);
	/* a bad line is named by file and line */
	f = fopen(path, "w");
	fputs("192.0.2.1\n10.0.0.0/40\n", f);
	fclose(f);
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_add(&tg, arg, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "targets.txt:2"));
	assert_non_null(strstr(err, "10.0.0.0/40"));
	cl_targets_free(&tg);
	cl_targets_init(&tg);
	assert_int_equal(cl_targets_add(&tg, "@/nonexistent/list", err, sizeof err), CL_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/list"));
	cl_targets_free(&tg);
}

/* Runs a dialogue: replies[i] is fed after the i-th send (or at once). */
static int dialogue(int proto, const char *const *replies, size_t n, const char **sent,
                    size_t nsent, struct cl_stls *st)
{
	const char *out;
	size_t outlen, i, k = 0;
	int step;

	step = cl_stls_begin(st, proto, "mail.example.test", &out, &outlen);
	for (i = 0; i < n; i++) {
		if (step == CL_STLS_SEND && sent) {
			assert_true(k < nsent);
			assert_memory_equal(out, sent[k], strlen(sent[k]));
			k++;
		}
		step = cl_stls_feed(st, (const uint8_t *)replies[i], strlen(replies[i]), &out,
		                    &outlen);
		if (step == CL_STLS_FAIL || step == CL_STLS_TLS)
			break;
	}
	return step;
}

static void test_starttls(void **state)
{
	static struct cl_stls st;
	static const char *const smtp_ok[] = {
		"220 mx ESMTP\r\n", "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "220 2.0.0 go\r\n",
	};
	static const char *const smtp_sent[] = { "EHLO ", "STARTTLS\r\n" };
	static const char *const smtp_split[] = {  /* replies cut anywhere */
		"22", "0 mx\r", "\n", "250-mx\r\n250 ST", "ARTTLS\r\n", "220 go\r\n",
	};
	static const char *const smtp_no[] = { "220 mx\r\n", "250-mx\r\n250 8BITMIME\r\n" };
	static const char *const smtp_refused[] = { "220 mx\r\n", "250 STARTTLS\r\n",
	                                            "454 TLS not available\r\n" };
	static const char *const smtp_inject[] = { "220 mx\r\n", "250 STARTTLS\r\n",
	                                           "220 go\r\n250 injected\r\n" };
	static const char *const imap_ok[] = { "* OK ready\r\n",
	                                       "* CAPABILITY IMAP4rev1\r\nA1 OK begin TLS\r\n" };
	static const char *const imap_no[] = { "* OK ready\r\n", "A1 BAD unknown\r\n" };
	static const char *const pop3_ok[] = { "+OK pop\r\n", "+OK begin\r\n" };
	static const char *const ftp_ok[] = { "220-welcome\r\n220 ftp\r\n", "234 AUTH TLS ok\r\n" };
	static const char *const ftp_no[] = { "220 ftp\r\n", "500 no\r\n" };
	static const char *const pg_ok[] = { "S" };
	static const char *const pg_no[] = { "N" };
	static const char *const xmpp_ok[] = {
		"<?xml version='1.0'?><stream:stream from='x'><stream:features><starttls "
		"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
		"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
	};
	static const char *const xmpp_no[] = {
		"<stream:stream><stream:features><mechanisms/></stream:features>",
	};
	/* LDAP ExtendedResponse, resultCode 0, then 52 (unavailable); long-form length */
	static const char ldap_ok[] = "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00";
	static const char ldap_no[] =
		"\x30\x84\x00\x00\x00\x0c\x02\x01\x01\x78\x07\x0a\x01\x34\x04\x00\x04\x00";
	const char *out;
	size_t outlen;

	(void)state;
	assert_int_equal(dialogue(CL_STLS_SMTP, smtp_ok, 3, (const char **)smtp_sent, 2, &st),
	                 CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_SMTP, smtp_split, 6, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_SMTP, smtp_no, 2, NULL, 0, &st), CL_STLS_FAIL);
	assert_non_null(strstr(st.err, "does not offer STARTTLS"));
	assert_int_equal(dialogue(CL_STLS_SMTP, smtp_refused, 3, NULL, 0, &st), CL_STLS_FAIL);
	assert_non_null(strstr(st.err, "454 TLS not available"));
	assert_int_equal(dialogue(CL_STLS_SMTP, smtp_inject, 3, NULL, 0, &st), CL_STLS_FAIL);
	assert_non_null(strstr(st.err, "after agreeing"));
	assert_int_equal(dialogue(CL_STLS_IMAP, imap_ok, 2, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_IMAP, imap_no, 2, NULL, 0, &st), CL_STLS_FAIL);
	assert_int_equal(dialogue(CL_STLS_POP3, pop3_ok, 2, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_FTP, ftp_ok, 2, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_FTP, ftp_no, 2, NULL, 0, &st), CL_STLS_FAIL);
	assert_int_equal(dialogue(CL_STLS_POSTGRES, pg_ok, 1, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_POSTGRES, pg_no, 1, NULL, 0, &st), CL_STLS_FAIL);
	assert_int_equal(dialogue(CL_STLS_XMPP, xmpp_ok, 2, NULL, 0, &st), CL_STLS_TLS);
	assert_int_equal(dialogue(CL_STLS_XMPP, xmpp_no, 1, NULL, 0, &st), CL_STLS_FAIL);

	/* LDAP and XMPP speak first */
	assert_int_equal(cl_stls_begin(&st, CL_STLS_LDAP, "h", &out, &outlen), CL_STLS_SEND);
	assert_int_equal(outlen, 31);
	assert_int_equal(cl_stls_feed(&st, (const uint8_t *)ldap_ok, 5, &out, &outlen),
	                 CL_STLS_WAIT);  /* incomplete */
	assert_int_equal(cl_stls_feed(&st, (const uint8_t *)ldap_ok + 5, sizeof ldap_ok - 6,
	                              &out, &outlen), CL_STLS_TLS);
	cl_stls_begin(&st, CL_STLS_LDAP, "h", &out, &outlen);
	assert_int_equal(cl_stls_feed(&st, (const uint8_t *)ldap_no, sizeof ldap_no - 1, &out,
	                              &outlen), CL_STLS_FAIL);
	assert_non_null(strstr(st.err, "resultCode 52"));
	assert_int_equal(cl_stls_begin(&st, CL_STLS_XMPP, "chat.example", &out, &outlen),
	                 CL_STLS_SEND);
	assert_non_null(strstr(out, "to='chat.example'"));

	/* a server that never stops talking */
	cl_stls_begin(&st, CL_STLS_SMTP, "h", &out, &outlen);
	{
		static char junk[CL_STLS_BUF + 10];
		memset(junk, 'x', sizeof junk);
		assert_int_equal(cl_stls_feed(&st, (const uint8_t *)junk, sizeof junk, &out, &outlen),
		                 CL_STLS_FAIL);
	}
	/* names and ports */
	assert_int_equal(cl_stls_parse("SMTP"), CL_STLS_SMTP);
	assert_int_equal(cl_stls_parse("postgresql"), CL_STLS_POSTGRES);
	assert_int_equal(cl_stls_parse("none"), CL_STLS_NONE);
	assert_int_equal(cl_stls_parse("gopher"), -1);
	assert_int_equal(cl_stls_for_port(587), CL_STLS_SMTP);
	assert_int_equal(cl_stls_for_port(465), CL_STLS_NONE);
	assert_int_equal(cl_stls_for_port(5222), CL_STLS_XMPP);
	assert_null(cl_stls_name(CL_STLS_NONE));
	assert_string_equal(cl_stls_name(CL_STLS_LDAP), "ldap");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_forms),
		cmocka_unit_test(test_counts_and_iteration),
		cmocka_unit_test(test_target_file),
		cmocka_unit_test(test_starttls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
