/*
 * gencerts: fast generator of distinct X.509 certificate files for the
 * certledger benchmarks.  Uses libcrypto directly (no openssl CLI process
 * per certificate) and forks one worker per core.
 *
 * Two modes:
 *
 *  mixed (default)   gencerts [--count N] [--seed S] OUT
 *      writes N files; file i is, by i mod 20:
 *        0..11  a single PEM certificate   (60%; 0..8 ".pem", 9..11 ".crt")
 *        12..16 a single DER certificate   (25%; 12..14 ".der", 15..16 ".cer")
 *        17..19 a PEM bundle of 2..5 certs (15%; size 2 + (i/20) mod 4)
 *      so N files hold about 1.375 N certificates (exactly 1.375 N when N
 *      is a multiple of 80: 50,000 files = 68,750 certificates).
 *
 *  bundles           gencerts --bundle-size B --count M OUT
 *      writes M certificates as PEM files of B certificates each
 *      (the last one may hold fewer): ceil(M/B) files.
 *
 * Files are spread over OUT/gGG/dDDDD/ with --per-dir (500) files in each
 * leaf directory.  Every certificate is distinct (serial, subject CN, SANs,
 * validity) and is signed by one EC P-256 CA with ECDSA-SHA256.  Leaf keys
 * are generated once and reused: 4 x EC P-256, 2 x RSA-2048, 2 x Ed25519
 * (about 70% / 20% / 10% of the certificates).  Validity, relative to
 * --now (default: the current time):
 *   ~3%  expire within the next 2..28 days   ("expiring in 30 days"),
 *   ~5%  expired 1..730 days ago,
 *   ~92% expire in 35..825 days.
 * The seed fixes layout, names, serials, key choice and validity; key
 * material and signatures are fresh on every run.
 *
 * On success prints key=value lines (files, certs, ... seconds) on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY 86400LL

enum { KT_EC, KT_RSA, KT_ED25519, KT_N };
static const char *const kt_name[KT_N] = { "ec_p256", "rsa2048", "ed25519" };
static const int kt_count[KT_N] = { 4, 2, 2 };

enum { CLS_VALID, CLS_EXPIRING, CLS_EXPIRED };

enum { FT_PEM, FT_DER, FT_BUNDLE };

struct leafkey {
	EVP_PKEY *pkey;
	X509_EXTENSION *ski;
	/* SubjectPublicKeyInfo pieces, so that each certificate gets its key
	 * without X509_set_pubkey(): in OpenSSL 3.0 that runs an encoder and
	 * a decoder per call and was 57% of the generator's time. */
	int alg_nid, param_type;
	const ASN1_OBJECT *param_obj; /* for V_ASN1_OBJECT (EC curve) */
	unsigned char *pub;
	int publen;
};

static struct {
	uint64_t seed;
	uint64_t count;
	uint64_t bundle_size; /* 0 = mixed mode */
	unsigned per_dir;
	unsigned jobs;
	time_t now;
	const char *out;
	const char *ca_out;
} opt = { .seed = 1, .count = 1000, .per_dir = 500 };

static EVP_PKEY *ca_key;
static X509 *ca_cert;
static struct leafkey keys[KT_N][4];
static X509_EXTENSION *ext_bc, *ext_ku_sig, *ext_ku_rsa, *ext_eku_srv, *ext_eku_both, *ext_aki;

static const char *const zones[] = { "prod", "staging", "corp", "edge", "internal",
				     "eu-west", "us-east", "apac" };
static const char *const domains[] = { "example.com", "example.net", "example.org" };

static void die(const char *what)
{
	fprintf(stderr, "gencerts: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void die_errno(const char *what, const char *path)
{
	fprintf(stderr, "gencerts: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- per-certificate parameters (pure function of seed, index, now) ---- */

struct certparams {
	uint64_t h;
	int kt, ki, cls;
	time_t nb, na;
};

static void cert_params(uint64_t j, struct certparams *p)
{
	static const long long life_days[3] = { 90, 397, 825 };
	uint64_t h = mix(mix(opt.seed) ^ mix(j + 0x51ed2701ULL));
	uint64_t r = mix(h ^ 0x1234567ULL);
	unsigned u = (unsigned)(h % 100);
	long long na, nb;

	p->h = h;
	p->kt = u < 70 ? KT_EC : u < 90 ? KT_RSA : KT_ED25519;
	p->ki = (int)((h >> 40) % (uint64_t)kt_count[p->kt]);

	u = (unsigned)((h >> 8) % 1000);
	if (u < 30) {
		p->cls = CLS_EXPIRING;
		na = opt.now + 2 * DAY + (long long)(r % (uint64_t)(26 * DAY));
	} else if (u < 80) {
		p->cls = CLS_EXPIRED;
		na = opt.now - DAY - (long long)(r % (uint64_t)(730 * DAY));
	} else {
		p->cls = CLS_VALID;
		na = opt.now + 35 * DAY + (long long)(r % (uint64_t)(790 * DAY));
	}
	nb = na - life_days[(h >> 20) % 3] * DAY;
	if (p->cls != CLS_EXPIRED && nb > opt.now - 3600)
		nb = opt.now - 3600 - (long long)((r >> 32) % (uint64_t)(30 * DAY));
	p->na = (time_t)na;
	p->nb = (time_t)nb;
}

/* ---- file plan ---- */

static uint64_t nfiles(void)
{
	if (opt.bundle_size)
		return (opt.count + opt.bundle_size - 1) / opt.bundle_size;
	return opt.count;
}

static int file_type(uint64_t i)
{
	unsigned s = (unsigned)(i % 20);
	return s < 12 ? FT_PEM : s < 17 ? FT_DER : FT_BUNDLE;
}

static unsigned file_ncerts(uint64_t i)
{
	if (opt.bundle_size) {
		uint64_t left = opt.count - i * opt.bundle_size;
		return (unsigned)(left < opt.bundle_size ? left : opt.bundle_size);
	}
	return file_type(i) == FT_BUNDLE ? 2 + (unsigned)((i / 20) % 4) : 1;
}

static const char *file_ext(uint64_t i)
{
	unsigned s = (unsigned)(i % 20);
	if (opt.bundle_size)
		return "pem";
	if (s < 9)
		return "pem";
	if (s < 12)
		return "crt";
	if (s < 15)
		return "der";
	if (s < 17)
		return "cer";
	return "pem";
}

static void dir_path(char *buf, size_t n, uint64_t d)
{
	snprintf(buf, n, "%s/g%02" PRIu64 "/d%04" PRIu64, opt.out, d / 20, d);
}

static void file_path(char *buf, size_t n, uint64_t i)
{
	char dir[4096];
	const char *stem = opt.bundle_size ? "inv" : file_type(i) == FT_BUNDLE ? "bundle" : "cert";
	dir_path(dir, sizeof(dir), i / opt.per_dir);
	snprintf(buf, n, "%s/%s-%07" PRIu64 ".%s", dir, stem, i, file_ext(i));
}

static void mkdir_p(const char *path)
{
	char tmp[4096];
	size_t len = strlen(path);
	if (len >= sizeof(tmp))
		die_errno("path too long", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			die_errno("mkdir", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		die_errno("mkdir", tmp);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *p = data;
	if (fd < 0)
		die_errno("open", path);
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die_errno("write", path);
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0)
		die_errno("close", path);
}

/* ---- key and extension set-up ---- */

/* RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey bits */
static ASN1_OCTET_STRING *key_id(EVP_PKEY *pkey)
{
	X509_PUBKEY *pub = NULL;
	const unsigned char *pk;
	int pklen;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();

	if (!X509_PUBKEY_set(&pub, pkey) || !X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, pub))
		die("X509_PUBKEY_set");
	if (!EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL))
		die("EVP_Digest");
	if (!oct || !ASN1_OCTET_STRING_set(oct, md, (int)mdlen))
		die("ASN1_OCTET_STRING_set");
	X509_PUBKEY_free(pub);
	return oct;
}

static X509_EXTENSION *make_ski(EVP_PKEY *pkey)
{
	ASN1_OCTET_STRING *oct = key_id(pkey);
	X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_key_identifier, 0, oct);
	if (!ext)
		die("SKI");
	ASN1_OCTET_STRING_free(oct);
	return ext;
}

/* bits: RFC 5280 KeyUsage bit numbers (KUB_*), not OpenSSL's KU_* flags */
enum { KUB_DIGITAL_SIGNATURE = 0, KUB_KEY_ENCIPHERMENT = 2, KUB_KEY_CERT_SIGN = 5, KUB_CRL_SIGN = 6 };

static X509_EXTENSION *make_ku(int bits, int crit)
{
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	X509_EXTENSION *ext;
	for (int b = 0; b < 9; b++)
		if (((bits >> b) & 1) && !ASN1_BIT_STRING_set_bit(bs, b, 1))
			die("ASN1_BIT_STRING_set_bit");
	ext = X509V3_EXT_i2d(NID_key_usage, crit, bs);
	if (!ext)
		die("keyUsage");
	ASN1_BIT_STRING_free(bs);
	return ext;
}

static X509_EXTENSION *make_eku(int client_too)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	X509_EXTENSION *ext;
	sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth));
	if (client_too)
		sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth));
	ext = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
	if (!ext)
		die("extKeyUsage");
	sk_ASN1_OBJECT_free(eku); /* static objects */
	return ext;
}

static X509_EXTENSION *make_bc(int ca)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	X509_EXTENSION *ext;
	bc->ca = ca ? 0xff : 0;
	ext = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
	if (!ext)
		die("basicConstraints");
	BASIC_CONSTRAINTS_free(bc);
	return ext;
}

static void split_spki(struct leafkey *k)
{
	X509_PUBKEY *pub = NULL;
	ASN1_OBJECT *alg;
	const unsigned char *pk;
	int pklen, ptype;
	const void *pval;
	X509_ALGOR *palg;

	if (!X509_PUBKEY_set(&pub, k->pkey) || !X509_PUBKEY_get0_param(&alg, &pk, &pklen, &palg, pub))
		die("X509_PUBKEY_set");
	X509_ALGOR_get0(NULL, &ptype, &pval, palg);
	k->alg_nid = OBJ_obj2nid(alg);
	k->param_type = ptype;
	k->param_obj = NULL;
	if (ptype == V_ASN1_OBJECT) {
		k->param_obj = OBJ_dup(pval);
		if (!k->param_obj)
			die("OBJ_dup");
	} else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		fprintf(stderr, "gencerts: unexpected key parameter type %d\n", ptype);
		exit(1);
	}
	k->pub = OPENSSL_memdup(pk, (size_t)pklen);
	k->publen = pklen;
	if (!k->pub)
		die("OPENSSL_memdup");
	X509_PUBKEY_free(pub);
}

static void set_pubkey(X509 *x, const struct leafkey *k)
{
	unsigned char *penc = OPENSSL_memdup(k->pub, (size_t)k->publen);
	void *pval = NULL;
	if (k->param_type == V_ASN1_OBJECT)
		pval = OBJ_dup(k->param_obj);
	if (!penc || (k->param_type == V_ASN1_OBJECT && !pval) ||
	    !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(k->alg_nid), k->param_type,
				    pval, penc, k->publen))
		die("X509_PUBKEY_set0_param");
}

static void add_name(X509_NAME *n, int nid, const char *v)
{
	if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_ASC, (const unsigned char *)v, -1, -1, 0))
		die("X509_NAME_add_entry");
}

static void setup(void)
{
	X509_NAME *n;
	AUTHORITY_KEYID *aki;

	ca_key = EVP_EC_gen("P-256");
	if (!ca_key)
		die("CA key generation");
	for (int t = 0; t < KT_N; t++)
		for (int k = 0; k < kt_count[t]; k++) {
			EVP_PKEY *pk = t == KT_EC ? EVP_EC_gen("P-256")
				     : t == KT_RSA ? EVP_RSA_gen(2048)
						   : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
			if (!pk)
				die("leaf key generation");
			keys[t][k].pkey = pk;
			keys[t][k].ski = make_ski(pk);
			split_spki(&keys[t][k]);
		}

	ca_cert = X509_new();
	if (!ca_cert || !X509_set_version(ca_cert, X509_VERSION_3))
		die("X509_new");
	ASN1_INTEGER_set(X509_get_serialNumber(ca_cert), 1);
	n = X509_get_subject_name(ca_cert);
	add_name(n, NID_countryName, "US");
	add_name(n, NID_organizationName, "certledger bench");
	add_name(n, NID_commonName, "certledger bench CA");
	X509_set_issuer_name(ca_cert, n);
	ASN1_TIME_set(X509_getm_notBefore(ca_cert), opt.now - 3650 * DAY);
	ASN1_TIME_set(X509_getm_notAfter(ca_cert), opt.now + 3650 * DAY);
	X509_set_pubkey(ca_cert, ca_key);
	if (!X509_add_ext(ca_cert, make_bc(1), -1) ||
	    !X509_add_ext(ca_cert, make_ku(1 << KUB_KEY_CERT_SIGN | 1 << KUB_CRL_SIGN, 1), -1) ||
	    !X509_add_ext(ca_cert, make_ski(ca_key), -1))
		die("CA extensions");
	if (!X509_sign(ca_cert, ca_key, EVP_sha256()))
		die("CA X509_sign");

	aki = AUTHORITY_KEYID_new();
	if (!aki)
		die("AUTHORITY_KEYID_new");
	aki->keyid = key_id(ca_key);
	ext_aki = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
	if (!ext_aki)
		die("AKI");
	AUTHORITY_KEYID_free(aki);

	ext_bc = make_bc(0);
	ext_ku_sig = make_ku(1 << KUB_DIGITAL_SIGNATURE, 1);
	ext_ku_rsa = make_ku(1 << KUB_DIGITAL_SIGNATURE | 1 << KUB_KEY_ENCIPHERMENT, 1);
	ext_eku_srv = make_eku(0);
	ext_eku_both = make_eku(1);

	if (opt.ca_out) {
		BIO *b = BIO_new_file(opt.ca_out, "w");
		if (!b || !PEM_write_bio_X509(b, ca_cert))
			die("writing --ca file");
		BIO_free(b);
	}
}

/* ---- one certificate ---- */

static void add_dns(GENERAL_NAMES *gens, const char *s)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	if (!g || !ia5 || !ASN1_STRING_set(ia5, s, -1))
		die("GENERAL_NAME");
	GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
	sk_GENERAL_NAME_push(gens, g);
}

static X509 *make_cert(uint64_t j)
{
	struct certparams p;
	X509 *x = X509_new();
	X509_NAME *n;
	unsigned char serial[16];
	uint64_t a;
	char cn[128], buf[160];
	const char *zone, *dom;
	GENERAL_NAMES *gens;
	unsigned nsan;

	cert_params(j, &p);
	if (!x || !X509_set_version(x, X509_VERSION_3))
		die("X509_new");

	a = (mix(p.h ^ 0x5e71a1ULL) & 0x7fffffffffffffffULL) | 0x0100000000000000ULL;
	for (int b = 0; b < 8; b++) {
		serial[b] = (unsigned char)(a >> (56 - 8 * b));
		serial[8 + b] = (unsigned char)(j >> (56 - 8 * b));
	}
	if (!ASN1_STRING_set(X509_get_serialNumber(x), serial, 16))
		die("serial");

	zone = zones[(p.h >> 12) % (sizeof(zones) / sizeof(zones[0]))];
	dom = domains[(p.h >> 16) % (sizeof(domains) / sizeof(domains[0]))];
	snprintf(cn, sizeof(cn), "svc-%07" PRIu64 ".%s.%s", j, zone, dom);

	n = X509_get_subject_name(x);
	add_name(n, NID_countryName, "US");
	snprintf(buf, sizeof(buf), "Bench Org %02u", (unsigned)((p.h >> 32) % 50));
	add_name(n, NID_organizationName, buf);
	if ((p.h >> 36) & 1)
		add_name(n, NID_organizationalUnitName, zone);
	add_name(n, NID_commonName, cn);
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca_cert)))
		die("issuer");

	if (!ASN1_TIME_set(X509_getm_notBefore(x), p.nb) || !ASN1_TIME_set(X509_getm_notAfter(x), p.na))
		die("validity");
	set_pubkey(x, &keys[p.kt][p.ki]);

	gens = sk_GENERAL_NAME_new_null();
	add_dns(gens, cn);
	nsan = 1 + (unsigned)((p.h >> 24) % 4);
	if (nsan > 1) {
		snprintf(buf, sizeof(buf), "www-%07" PRIu64 ".%s.%s", j, zone, dom);
		add_dns(gens, buf);
	}
	if (nsan > 2) {
		snprintf(buf, sizeof(buf), "api-%07" PRIu64 ".%s.%s", j, zone, dom);
		add_dns(gens, buf);
	}
	if (nsan > 3) { /* TEST-NET-1 documentation address */
		unsigned char ip[4] = { 192, 0, 2, (unsigned char)(1 + j % 254) };
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
		if (!g || !o || !ASN1_OCTET_STRING_set(o, ip, 4))
			die("IP SAN");
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		sk_GENERAL_NAME_push(gens, g);
	}

	if (!X509_add_ext(x, ext_bc, -1) ||
	    !X509_add_ext(x, p.kt == KT_RSA ? ext_ku_rsa : ext_ku_sig, -1) ||
	    !X509_add_ext(x, (p.h >> 44) & 1 ? ext_eku_both : ext_eku_srv, -1) ||
	    !X509_add_ext(x, keys[p.kt][p.ki].ski, -1) || !X509_add_ext(x, ext_aki, -1) ||
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND))
		die("extensions");
	GENERAL_NAMES_free(gens);

	if (!X509_sign(x, ca_key, EVP_sha256()))
		die("X509_sign");
	return x;
}

/* ---- workers ---- */

static uint64_t *cert_base; /* first certificate index of each file */

static void worker(unsigned w, unsigned jobs)
{
	uint64_t nf = nfiles();
	BIO *mem = BIO_new(BIO_s_mem());
	char path[4200];
	if (!mem)
		die("BIO_new");
	for (uint64_t i = w; i < nf; i += jobs) {
		unsigned nc = file_ncerts(i);
		file_path(path, sizeof(path), i);
		if (!opt.bundle_size && file_type(i) == FT_DER) {
			X509 *x = make_cert(cert_base[i]);
			unsigned char *der = NULL;
			int len = i2d_X509(x, &der);
			if (len <= 0)
				die("i2d_X509");
			write_file(path, der, (size_t)len);
			OPENSSL_free(der);
			X509_free(x);
			continue;
		}
		(void)BIO_reset(mem);
		for (unsigned c = 0; c < nc; c++) {
			X509 *x = make_cert(cert_base[i] + c);
			if (!PEM_write_bio_X509(mem, x))
				die("PEM_write_bio_X509");
			X509_free(x);
		}
		{
			char *data;
			long len = BIO_get_mem_data(mem, &data);
			write_file(path, data, (size_t)len);
		}
	}
	BIO_free(mem);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gencerts [--count N] [--bundle-size B] [--seed S] [--jobs J]\n"
		"                [--per-dir D] [--now EPOCH] [--ca CA.pem] OUTDIR\n"
		"  mixed mode (default): N files (60%% PEM, 25%% DER, 15%% PEM bundles of 2-5)\n"
		"  --bundle-size B: N certificates in PEM files of B certificates each\n");
}

static uint64_t parse_u64(const char *s, const char *name)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "gencerts: bad value for %s: %s\n", name, s);
		exit(2);
	}
	return (uint64_t)v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double t0 = now_s(), t1;
	uint64_t nf, ndirs, ncerts;
	uint64_t nkt[KT_N] = { 0 }, ncls[3] = { 0 }, nft[3] = { 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char path[4200];
	unsigned failed = 0;

	opt.now = time(NULL);
	opt.jobs = ncpu > 0 ? (unsigned)ncpu : 1;
	for (int a = 1; a < argc; a++) {
		const char *s = argv[a];
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			usage(stdout);
			return 0;
		}
		if (s[0] != '-') {
			if (opt.out) {
				usage(stderr);
				return 2;
			}
			opt.out = s;
			continue;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		a++;
		if (!strcmp(s, "--count") || !strcmp(s, "-n"))
			opt.count = parse_u64(v, s);
		else if (!strcmp(s, "--seed"))
			opt.seed = parse_u64(v, s);
		else if (!strcmp(s, "--bundle-size"))
			opt.bundle_size = parse_u64(v, s);
		else if (!strcmp(s, "--jobs") || !strcmp(s, "-j"))
			opt.jobs = (unsigned)parse_u64(v, s);
		else if (!strcmp(s, "--per-dir"))
			opt.per_dir = (unsigned)parse_u64(v, s);
		else if (!strcmp(s, "--now"))
			opt.now = (time_t)parse_u64(v, s);
		else if (!strcmp(s, "--ca"))
			opt.ca_out = v;
		else {
			fprintf(stderr, "gencerts: unknown option %s\n", s);
			usage(stderr);
			return 2;
		}
	}
	if (!opt.out || !opt.count || !opt.per_dir || !opt.jobs) {
		usage(stderr);
		return 2;
	}

	nf = nfiles();
	cert_base = malloc(sizeof(*cert_base) * nf);
	if (!cert_base)
		die_errno("malloc", "cert_base");
	ncerts = 0;
	for (uint64_t i = 0; i < nf; i++) {
		cert_base[i] = ncerts;
		ncerts += file_ncerts(i);
		nft[opt.bundle_size ? FT_BUNDLE : file_type(i)]++;
	}
	for (uint64_t j = 0; j < ncerts; j++) {
		struct certparams p;
		cert_params(j, &p);
		nkt[p.kt]++;
		ncls[p.cls]++;
	}

	ndirs = (nf + opt.per_dir - 1) / opt.per_dir;
	for (uint64_t d = 0; d < ndirs; d++) {
		dir_path(path, sizeof(path), d);
		mkdir_p(path);
	}

	setup();

	if (opt.jobs > nf)
		opt.jobs = (unsigned)nf;
	fflush(NULL);
	if (opt.jobs == 1) {
		worker(0, 1);
	} else {
		pid_t *pids = calloc(opt.jobs, sizeof(*pids));
		if (!pids)
			die_errno("calloc", "pids");
		for (unsigned w = 0; w < opt.jobs; w++) {
			pids[w] = fork();
			if (pids[w] < 0)
				die_errno("fork", "worker");
			if (pids[w] == 0) {
				worker(w, opt.jobs);
				fflush(NULL);
				_exit(0);
			}
		}
		for (unsigned w = 0; w < opt.jobs; w++) {
			int st;
			while (waitpid(pids[w], &st, 0) < 0)
				if (errno != EINTR)
					die_errno("waitpid", "worker");
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed++;
		}
		free(pids);
	}
	if (failed) {
		fprintf(stderr, "gencerts: %u worker(s) failed\n", failed);
		return 1;
	}
	t1 = now_s();

	printf("mode=%s\n", opt.bundle_size ? "bundles" : "mixed");
	printf("files=%" PRIu64 "\n", nf);
	printf("certs=%" PRIu64 "\n", ncerts);
	printf("pem_single_files=%" PRIu64 "\n", opt.bundle_size ? 0 : nft[FT_PEM]);
	printf("der_files=%" PRIu64 "\n", nft[FT_DER]);
	printf("bundle_files=%" PRIu64 "\n", nft[FT_BUNDLE]);
	printf("dirs=%" PRIu64 "\n", ndirs);
	for (int t = 0; t < KT_N; t++)
		printf("key_%s=%" PRIu64 "\n", kt_name[t], nkt[t]);
	printf("expiring_30d=%" PRIu64 "\n", ncls[CLS_EXPIRING]);
	printf("expired=%" PRIu64 "\n", ncls[CLS_EXPIRED]);
	printf("valid_later=%" PRIu64 "\n", ncls[CLS_VALID]);
	printf("seed=%" PRIu64 "\n", opt.seed);
	printf("now=%lld\n", (long long)opt.now);
	printf("jobs=%u\n", opt.jobs);
	printf("seconds=%.3f\n", t1 - t0);
	printf("certs_per_s=%.0f\n", (double)ncerts / (t1 - t0));

	free(cert_base);
	return 0;
}
