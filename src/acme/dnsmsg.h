/*
 * DNS messages for RFC 2136 dynamic updates signed with TSIG (RFC 8945):
 * a length-aware writer, the UPDATE message for one TXT record, the TSIG
 * record, and a bounds-checked reader of the server's answer that checks
 * its TSIG. Internal to src/acme (and its tests and fuzz target).
 */
#ifndef CL_ACME_DNSMSG_H
#define CL_ACME_DNSMSG_H

#include <stdbool.h>
#include <stdint.h>
#include "core/cl.h"

#define CL_DNS_MAX_MSG 4096
#define CL_DNS_MAX_MAC 64

/* A message being written: every write checks the room left; after the
 * first failure err is set and nothing more is written. */
struct cl_dnsw {
	unsigned char buf[CL_DNS_MAX_MSG];
	size_t len;
	bool err;
};

/* Big-endian integers and raw bytes; on no room w->err is set. */
void cl_dnsw_u8(struct cl_dnsw *w, unsigned v);
void cl_dnsw_u16(struct cl_dnsw *w, unsigned v);
void cl_dnsw_u32(struct cl_dnsw *w, uint32_t v);
void cl_dnsw_u48(struct cl_dnsw *w, uint64_t v);
void cl_dnsw_bytes(struct cl_dnsw *w, const void *p, size_t n);
/* A domain name ("example.com", trailing dot optional; "." is the root)
 * uncompressed in lowercase (the canonical form TSIG hashes). Labels of
 * letters, digits, '-' and '_', 1-63 bytes, 255 in all. */
void cl_dnsw_name(struct cl_dnsw *w, const char *name);

/* A TSIG key. */
struct cl_dns_tsig {
	const char *name;            /* "acme-key." */
	const char *alg;             /* "hmac-sha256", "hmac-sha384", "hmac-sha512" */
	const unsigned char *secret;
	size_t secret_len;
};

/* true for the algorithms above. */
bool cl_dns_tsig_alg_ok(const char *alg);

/*
 * Writes an UPDATE (opcode 5) for zone that adds (add) or deletes (RFC
 * 2136 2.5.4: class NONE, TTL 0) the TXT record owner -> txt. Returns
 * CL_OK or CL_ERR_PARSE (bad name, txt longer than 255, no room).
 */
int cl_dns_update(struct cl_dnsw *w, uint16_t id, const char *zone, const char *owner,
                  uint32_t ttl, const char *txt, bool add);

/*
 * Signs the message in w with key: appends the TSIG record (time signed
 * now, fudge 300) and counts it in ARCOUNT. The MAC is copied into mac
 * (>= CL_DNS_MAX_MAC bytes) for checking the answer. Returns CL_OK or
 * CL_ERR_PARSE / CL_ERR.
 */
int cl_dns_tsig_sign(struct cl_dnsw *w, const struct cl_dns_tsig *key, uint64_t now,
                     unsigned char *mac, size_t *maclen);

struct cl_dns_answer {
	uint16_t id;
	unsigned opcode, rcode;
	bool qr;
	bool signed_;                /* it carries a TSIG record */
	bool tsig_ok;                /* ... whose MAC is right for the request's */
	unsigned tsig_error;         /* the TSIG record's error field */
	uint64_t tsig_time;
};

/*
 * Parses an answer (every section walked with bounds checks; compression
 * pointers followed backwards only) and, when key is not NULL and the
 * answer is signed, checks its MAC against req_mac (RFC 8945 4.3). Returns
 * CL_OK or CL_ERR_PARSE.
 */
int cl_dns_answer_parse(const unsigned char *p, size_t n, const struct cl_dns_tsig *key,
                        const unsigned char *req_mac, size_t req_mac_len,
                        struct cl_dns_answer *out);

/* "NOERROR", "REFUSED", "NOTAUTH", "BADSIG", ...; "RCODE n" otherwise (buf >= 16). */
const char *cl_dns_rcode_name(unsigned rcode, char *buf, size_t len);

#endif
