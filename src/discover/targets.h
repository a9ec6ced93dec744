/*
 * Scan targets: what `discover net` is asked to probe.
 *
 * A target list is parsed up front (addresses, CIDRs, ranges, hostnames,
 * HOST:PORT, @FILE) but never expanded: an iterator walks it address by
 * address, port by port, SNI by SNI, so a /16 streams through in constant
 * memory. Exclusions are checked per address.
 */
#ifndef CL_DISCOVER_TARGETS_H
#define CL_DISCOVER_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address; v4 uses a[0..4). */
struct cl_addr {
	int family;            /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

/* Writes the textual form ("127.0.0.1", "::1") into out (>= 46 bytes). */
const char *cl_addr_str(const struct cl_addr *ad, char *out, size_t len);

/* Parses a literal address (no brackets). Returns CL_OK or CL_ERR_PARSE. */
int cl_addr_parse(const char *s, struct cl_addr *out);

/* Fills a sockaddr for ad:port; returns its length. */
socklen_t cl_addr_sockaddr(const struct cl_addr *ad, uint16_t port,
                           struct sockaddr_storage *ss);

enum cl_spec_kind { CL_SPEC_RANGE, CL_SPEC_HOST };

/* One parsed target. */
struct cl_spec {
	enum cl_spec_kind kind;
	struct cl_addr lo, hi;    /* CL_SPEC_RANGE: inclusive, same family */
	char *host;               /* CL_SPEC_HOST: name to resolve (and SNI) */
	uint16_t port;            /* non-zero: this port only (explicit target) */
	const char *origin;       /* "@FILE:LINE" or NULL, for messages */
};

struct cl_targets {
	struct cl_spec *specs;
	size_t nspecs, capspecs;
	struct cl_spec *excl;     /* ranges never probed */
	size_t nexcl, capexcl;
	uint16_t *ports;          /* default port list */
	size_t nports;
	char **snis;              /* --sni names; none = probe without SNI */
	size_t nsnis, capsnis;
	char **origins;           /* owned "@FILE:LINE" strings */
	size_t norigins, caporigins;
};

/* The default port set (documented in `discover net --help`). */
extern const char cl_default_ports[];

void cl_targets_init(struct cl_targets *t);
void cl_targets_free(struct cl_targets *t);

/*
 * Adds a target ("192.0.2.1", "10.0.0.0/24", "fd00::/120",
 * "192.0.2.10-192.0.2.50", "192.0.2.10-50", "host", "host:443",
 * "[::1]:443", "@FILE"). On error writes a message naming the target
 * into err and returns CL_ERR_USAGE (or CL_ERR_IO for an unreadable file).
 */
int cl_targets_add(struct cl_targets *t, const char *spec, char *err, size_t errlen);

/* Adds an exclusion: address, CIDR, range or @FILE. */
int cl_targets_exclude(struct cl_targets *t, const char *spec, char *err, size_t errlen);

/* Sets the port list from "443,8443,1000-1010". */
int cl_targets_set_ports(struct cl_targets *t, const char *list, char *err, size_t errlen);

/* Adds an SNI name, or @FILE of names. */
int cl_targets_add_sni(struct cl_targets *t, const char *name, char *err, size_t errlen);

/*
 * Number of addresses the targets name before exclusions (a hostname
 * counts as one; saturates at UINT64_MAX), and the number of probes
 * (addresses x ports x names) into *probes when not NULL.
 */
uint64_t cl_targets_count(const struct cl_targets *t, uint64_t *probes);

/* True when ad is excluded. */
bool cl_targets_excluded(const struct cl_targets *t, const struct cl_addr *ad);

/* Iterates the addresses of a range spec: *cur starts at lo. Returns
 * false when past hi. */
bool cl_addr_next(struct cl_addr *cur, const struct cl_addr *hi);

/* Compares two addresses of the same family (memcmp order). */
int cl_addr_cmp(const struct cl_addr *a, const struct cl_addr *b);

#endif
