/*
 * DNS UPDATE messages with TSIG (RFC 1035, 2136, 8945). Writing goes
 * through struct cl_dnsw, which checks the room for every byte; reading
 * an answer checks every length against what is left, follows name
 * compression only backwards and at most 64 times, and requires a TSIG
 * record to be the last of the additional section.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "acme/dnsmsg.h"

#define T_SOA 6
#define T_TXT 16
#define T_TSIG 250
#define C_IN 1
#define C_NONE 254
#define C_ANY 255
#define OP_UPDATE 5
#define FUDGE 300

/* -------------------------------------------------------------- writing --- */

static bool room(struct cl_dnsw *w, size_t n)
{
	if (w->err || n > sizeof w->buf - w->len) {
		w->err = true;
		return false;
	}
	return true;
}

void cl_dnsw_u8(struct cl_dnsw *w, unsigned v)
{
	if (room(w, 1))
		w->buf[w->len++] = (unsigned char)v;
}

void cl_dnsw_u16(struct cl_dnsw *w, unsigned v)
{
	if (room(w, 2)) {
		w->buf[w->len++] = (unsigned char)(v >> 8);
		w->buf[w->len++] = (unsigned char)v;
	}
}

void cl_dnsw_u32(struct cl_dnsw *w, uint32_t v)
{
	cl_dnsw_u16(w, v >> 16);
	cl_dnsw_u16(w, v & 0xffff);
}

void cl_dnsw_u48(struct cl_dnsw *w, uint64_t v)
{
	cl_dnsw_u16(w, (unsigned)((v >> 32) & 0xffff));
	cl_dnsw_u32(w, (uint32_t)v);
}

void cl_dnsw_bytes(struct cl_dnsw *w, const void *p, size_t n)
{
	if (room(w, n) && n) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
}

void cl_dnsw_name(struct cl_dnsw *w, const char *name)
{
	size_t i = 0, total = 1, n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	while (i < n) {
		size_t j = i, k;

		while (j < n && name[j] != '.') {
			unsigned char c = (unsigned char)name[j];

			if (!isalnum(c) && c != '-' && c != '_') {
				w->err = true;
				return;
			}
			j++;
		}
		if (j == i || j - i > 63 || (total += 1 + j - i) > 255) {
			w->err = true;
			return;
		}
		cl_dnsw_u8(w, (unsigned)(j - i));
		for (k = i; k < j; k++)
			cl_dnsw_u8(w, (unsigned)tolower((unsigned char)name[k]));
		i = j + 1;
		if (j + 1 == n) {   /* "a..": an empty label after the last dot */
			w->err = true;
			return;
		}
	}
	cl_dnsw_u8(w, 0);
}

int cl_dns_update(struct cl_dnsw *w, uint16_t id, const char *zone, const char *owner,
                  uint32_t ttl, const char *txt, bool add)
{
	size_t tl = strlen(txt);

	if (tl > 255)
		return CL_ERR_PARSE;
	w->len = 0;
	w->err = false;
	cl_dnsw_u16(w, id);
	cl_dnsw_u16(w, OP_UPDATE << 11);
	cl_dnsw_u16(w, 1);   /* ZOCOUNT */
	cl_dnsw_u16(w, 0);   /* PRCOUNT */
	cl_dnsw_u16(w, 1);   /* UPCOUNT */
	cl_dnsw_u16(w, 0);   /* ADCOUNT */
	cl_dnsw_name(w, zone);
	cl_dnsw_u16(w, T_SOA);
	cl_dnsw_u16(w, C_IN);
	cl_dnsw_name(w, owner);
	cl_dnsw_u16(w, T_TXT);
	cl_dnsw_u16(w, add ? C_IN : C_NONE);
	cl_dnsw_u32(w, add ? ttl : 0);
	cl_dnsw_u16(w, (unsigned)(tl + 1));
	cl_dnsw_u8(w, (unsigned)tl);
	cl_dnsw_bytes(w, txt, tl);
	return w->err ? CL_ERR_PARSE : CL_OK;
}

/* ----------------------------------------------------------------- TSIG --- */

static const char *tsig_digest(const char *alg)
{
	size_t n = alg ? strlen(alg) : 0;

	if (n && alg[n - 1] == '.')
		n--;
	if (n == 11 && strncasecmp(alg, "hmac-sha256", 11) == 0)
		return "SHA256";
	if (n == 11 && strncasecmp(alg, "hmac-sha384", 11) == 0)
		return "SHA384";
	if (n == 11 && strncasecmp(alg, "hmac-sha512", 11) == 0)
		return "SHA512";
	return NULL;
}

bool cl_dns_tsig_alg_ok(const char *alg)
{
	return tsig_digest(alg) != NULL;
}

struct part {
	const unsigned char *p;
	size_t n;
};

/* HMAC over the parts. Returns the MAC length or 0. */
static size_t hmac(const struct cl_dns_tsig *key, const struct part *parts, size_t nparts,
                   unsigned char *out, size_t outlen)
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t i, len = 0;
	const char *md = tsig_digest(key->alg);

	if (md == NULL)
		return 0;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key->secret, key->secret_len, params) != 1)
		goto fail;
	for (i = 0; i < nparts; i++) {
		if (parts[i].n && EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1)
			goto fail;
	}
	if (EVP_MAC_final(ctx, out, &len, outlen) != 1)
		len = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return len;
fail:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return 0;
}

/* The TSIG variables (RFC 8945 4.3.3) into v. */
static void tsig_vars(struct cl_dnsw *v, const char *name, const char *alg, uint64_t t,
                      unsigned fudge, unsigned error, const unsigned char *other, size_t olen)
{
	v->len = 0;
	v->err = false;
	cl_dnsw_name(v, name);
	cl_dnsw_u16(v, C_ANY);
	cl_dnsw_u32(v, 0);
	cl_dnsw_name(v, alg);
	cl_dnsw_u48(v, t);
	cl_dnsw_u16(v, fudge);
	cl_dnsw_u16(v, error);
	cl_dnsw_u16(v, (unsigned)olen);
	cl_dnsw_bytes(v, other, olen);
}

int cl_dns_tsig_sign(struct cl_dnsw *w, const struct cl_dns_tsig *key, uint64_t now,
                     unsigned char *mac, size_t *maclen)
{
	struct cl_dnsw v;
	struct part parts[2];
	unsigned arcount;
	size_t n;

	*maclen = 0;
	if (w->err || w->len < 12 || tsig_digest(key->alg) == NULL)
		return CL_ERR_PARSE;
	tsig_vars(&v, key->name, key->alg, now, FUDGE, 0, NULL, 0);
	if (v.err)
		return CL_ERR_PARSE;
	parts[0] = (struct part){ w->buf, w->len };
	parts[1] = (struct part){ v.buf, v.len };
	if ((n = hmac(key, parts, 2, mac, CL_DNS_MAX_MAC)) == 0)
		return CL_ERR;
	/* the record: owner, TYPE TSIG, CLASS ANY, TTL 0, RDATA */
	cl_dnsw_name(w, key->name);
	cl_dnsw_u16(w, T_TSIG);
	cl_dnsw_u16(w, C_ANY);
	cl_dnsw_u32(w, 0);
	{
		struct cl_dnsw an;

		an.len = 0;
		an.err = false;
		cl_dnsw_name(&an, key->alg);
		if (an.err)
			return CL_ERR_PARSE;
		cl_dnsw_u16(w, (unsigned)(an.len + 6 + 2 + 2 + n + 2 + 2 + 2));
		cl_dnsw_bytes(w, an.buf, an.len);
	}
	cl_dnsw_u48(w, now);
	cl_dnsw_u16(w, FUDGE);
	cl_dnsw_u16(w, (unsigned)n);
	cl_dnsw_bytes(w, mac, n);
	cl_dnsw_u16(w, ((unsigned)w->buf[0] << 8) | w->buf[1]);   /* original ID */
	cl_dnsw_u16(w, 0);   /* error */
	cl_dnsw_u16(w, 0);   /* other len */
	if (w->err)
		return CL_ERR_PARSE;
	arcount = ((unsigned)w->buf[10] << 8 | w->buf[11]) + 1;
	w->buf[10] = (unsigned char)(arcount >> 8);
	w->buf[11] = (unsigned char)arcount;
	*maclen = n;
	return CL_OK;
}

/* -------------------------------------------------------------- reading --- */

struct rd {
	const unsigned char *p;
	size_t n, off;
	bool err;
};

static unsigned rd_u8(struct rd *r)
{
	if (r->err || r->off + 1 > r->n) {
		r->err = true;
		return 0;
	}
	return r->p[r->off++];
}

static unsigned rd_u16(struct rd *r)
{
	unsigned v = rd_u8(r) << 8;

	return v | rd_u8(r);
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v = (uint32_t)rd_u16(r) << 16;

	return v | rd_u16(r);
}

/* A (possibly compressed) name into wire (canonical lowercase, >= 256
 * bytes) when not NULL. */
static void rd_name(struct rd *r, unsigned char *wire, size_t *wlen)
{
	size_t pos = r->off, wl = 0, hops = 0;
	bool jumped = false;

	if (r->err)
		return;
	for (;;) {
		unsigned c;

		if (pos >= r->n)
			goto bad;
		c = r->p[pos];
		if (c == 0) {
			pos++;
			if (wire)
				wire[wl] = 0;
			wl++;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= r->n)
				goto bad;
			ptr = ((size_t)(c & 0x3f) << 8) | r->p[pos + 1];
			if (ptr >= pos || ++hops > 64)   /* only backwards: no loops */
				goto bad;
			if (!jumped)
				r->off = pos + 2;
			jumped = true;
			pos = ptr;
			continue;
		}
		if (c & 0xc0)
			goto bad;
		if (pos + 1 + c > r->n || wl + 1 + c + 1 > 255)
			goto bad;
		if (wire) {
			size_t k;

			wire[wl] = (unsigned char)c;
			for (k = 0; k < c; k++)
				wire[wl + 1 + k] = (unsigned char)tolower(r->p[pos + 1 + k]);
		}
		wl += 1 + c;
		pos += 1 + c;
	}
	if (!jumped)
		r->off = pos;
	if (wlen)
		*wlen = wl;
	return;
bad:
	r->err = true;
}

const char *cl_dns_rcode_name(unsigned rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};

	if (rcode < CL_ARRAY_LEN(names))
		return names[rcode];
	switch (rcode) {
	case 16: return "BADSIG";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 22: return "BADTRUNC";
	default: snprintf(buf, len, "RCODE %u", rcode); return buf;
	}
}

int cl_dns_answer_parse(const unsigned char *p, size_t n, const struct cl_dns_tsig *key,
                        const unsigned char *req_mac, size_t req_mac_len,
                        struct cl_dns_answer *out)
{
	struct rd r = { p, n, 0, false };
	unsigned flags, qd, an, ns, ar, i, total;
	unsigned char owner[256], alg[256], mac[CL_DNS_MAX_MAC], calc[CL_DNS_MAX_MAC];
	size_t olen = 0, alen = 0, tsig_start = 0, maclen = 0, other_len = 0, other_off = 0;
	unsigned fudge = 0, orig_id = 0, cls = 0;

	memset(out, 0, sizeof *out);
	out->id = (uint16_t)rd_u16(&r);
	flags = rd_u16(&r);
	qd = rd_u16(&r);
	an = rd_u16(&r);
	ns = rd_u16(&r);
	ar = rd_u16(&r);
	if (r.err)
		return CL_ERR_PARSE;
	out->qr = flags >> 15;
	out->opcode = (flags >> 11) & 0xf;
	out->rcode = flags & 0xf;
	for (i = 0; i < qd; i++) {
		rd_name(&r, NULL, NULL);
		(void)rd_u32(&r);
		if (r.err)
			return CL_ERR_PARSE;
	}
	total = an + ns + ar;
	for (i = 0; i < total; i++) {
		size_t start = r.off, rdlen, end;
		unsigned type;

		rd_name(&r, owner, &olen);
		type = rd_u16(&r);
		cls = rd_u16(&r);
		(void)rd_u32(&r);
		rdlen = rd_u16(&r);
		if (r.err || rdlen > r.n - r.off)
			return CL_ERR_PARSE;
		end = r.off + rdlen;
		if (type != T_TSIG) {
			r.off = end;
			continue;
		}
		if (i != total - 1 || i < an + ns)   /* TSIG: last, in the additional section */
			return CL_ERR_PARSE;
		tsig_start = start;
		{
			struct rd d = { p, end, r.off, false };

			rd_name(&d, alg, &alen);
			out->tsig_time = (uint64_t)rd_u16(&d) << 32;
			out->tsig_time |= rd_u32(&d);
			fudge = rd_u16(&d);
			maclen = rd_u16(&d);
			if (d.err || maclen > d.n - d.off || maclen > CL_DNS_MAX_MAC)
				return CL_ERR_PARSE;
			memcpy(mac, p + d.off, maclen);
			d.off += maclen;
			orig_id = rd_u16(&d);
			out->tsig_error = rd_u16(&d);
			other_len = rd_u16(&d);
			if (d.err || other_len != d.n - d.off)
				return CL_ERR_PARSE;
			other_off = d.off;
		}
		out->signed_ = true;
		r.off = end;
	}
	if (r.off != n)   /* trailing bytes */
		return CL_ERR_PARSE;
	if (out->signed_ && key && maclen > 0 && cls == C_ANY) {
		struct cl_dnsw kn, ka, v;
		unsigned char hdr[12], rml[2] = { (unsigned char)(req_mac_len >> 8),
		                                  (unsigned char)req_mac_len };
		struct part parts[5];
		size_t got;

		kn.len = ka.len = 0;
		kn.err = ka.err = false;
		cl_dnsw_name(&kn, key->name);
		cl_dnsw_name(&ka, key->alg);
		if (!kn.err && !ka.err && kn.len == olen && memcmp(kn.buf, owner, olen) == 0 &&
		    ka.len == alen && memcmp(ka.buf, alg, alen) == 0) {
			unsigned arc = ar - 1;

			memcpy(hdr, p, 12);
			hdr[0] = (unsigned char)(orig_id >> 8);
			hdr[1] = (unsigned char)orig_id;
			hdr[10] = (unsigned char)(arc >> 8);
			hdr[11] = (unsigned char)arc;
			tsig_vars(&v, key->name, key->alg, out->tsig_time, fudge, out->tsig_error,
			          p + other_off, other_len);
			parts[0] = (struct part){ rml, 2 };
			parts[1] = (struct part){ req_mac, req_mac_len };
			parts[2] = (struct part){ hdr, 12 };
			parts[3] = (struct part){ p + 12, tsig_start - 12 };
			parts[4] = (struct part){ v.buf, v.len };
			got = v.err ? 0 : hmac(key, parts, 5, calc, sizeof calc);
			out->tsig_ok = got && got == maclen && CRYPTO_memcmp(calc, mac, got) == 0;
		}
	}
	return CL_OK;
}
