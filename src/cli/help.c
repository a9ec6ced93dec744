/* The command table and each command's manual text. */
#include <stdio.h>
#include <string.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>
#include <jansson.h>
#include "cli/cli.h"

static const char help_discover[] =
"NAME\n"
"    certledger discover - find certificates in files and on the network\n\n"
"SYNOPSIS\n"
"    certledger discover files [OPTIONS] PATH...\n"
"    certledger discover net [OPTIONS] TARGET...\n\n"
"DISCOVER FILES\n"
"    Walks every PATH (file or directory), recognises certificate material by\n"
"    content, not by name: PEM (bundles, text around blocks), DER, PKCS#7\n"
"    (.p7b/.p7c), PKCS#12 (.p12/.pfx), Java KeyStores (JKS, JCEKS) and private\n"
"    keys (PKCS#8, RSA, EC, DSA, encrypted). Each certificate is stored once,\n"
"    by its SHA-256 fingerprint, with every file it was found in as a location.\n"
"    Private keys are matched to certificates by public key; their material is\n"
"    never stored or printed, but a key readable by group or others is a\n"
"    finding. Re-running updates last_seen and marks locations whose\n"
"    certificate is no longer there as gone; nothing is deleted.\n\n"
"    Symlinks are followed (never into a loop); devices, FIFOs and sockets are\n"
"    never opened; pseudo file systems (/proc, /sys, ...) are skipped. Files\n"
"    that cannot be read or parsed get one line on stderr naming the file and\n"
"    the reason, are recorded as findings, and the walk goes on.\n\n"
"OPTIONS\n"
"    --exclude GLOB        skip paths or base names matching GLOB (repeatable)\n"
"    --max-depth N         descend at most N directories below each PATH\n"
"    --max-file-size SIZE  skip larger files (default 4M; k, M, G suffixes)\n"
"    --password-file FILE  candidate PKCS#12 passwords, one per line; also\n"
"                          $CERTLEDGER_P12_PASSWORD. Without one, an\n"
"                          encrypted store is reported as locked.\n"
"    --workers N           parser threads (default: number of CPUs)\n"
"    --format table|json   the final summary as a line (default) or JSON\n"
"    --progress, --no-progress\n"
"                          progress line on stderr (default: when a terminal)\n"
"    --db PATH             inventory to write\n\n"
"EXIT STATUS\n"
"    0 done (problems in files are findings, not failures), 2 usage,\n"
"    3 store error, 130 interrupted (what was found is kept; nothing is\n"
"    marked gone).\n\n"
"EXAMPLES\n"
"    certledger discover files /etc/ssl /etc/nginx /opt/app/keystore\n"
"    certledger discover files --exclude '*.bak' --max-depth 4 /srv\n\n"
"DISCOVER NET\n"
"    Connects to every TARGET on every port, completes a TLS handshake\n"
"    (after a STARTTLS dialogue where the port calls for one) and records\n"
"    what the endpoint presented: every certificate of the chain goes into\n"
"    the inventory, sighted at the location tls:ADDRESS:PORT[/SNI] (IPv6 in\n"
"    brackets), with the negotiated protocol version, cipher, key-exchange\n"
"    group, ALPN, whether OCSP was stapled, and the chain verification result\n"
"    against the system trust store (or --ca-bundle):\n"
"      ok, expired, not-yet-valid, self-signed, untrusted-root,\n"
"      incomplete-chain (the server did not send an intermediate),\n"
"      wrong-order, hostname-mismatch (checked against the SNI or host name;\n"
"      not checked for a bare address), weak-signature (MD5/SHA-1 below the\n"
"      root), error.\n"
"    A failure has a status instead: refused, timeout (connect, STARTTLS or\n"
"    handshake, after one retry), not-tls (the peer answered, not with TLS),\n"
"    alert (the server's TLS alert, by name), reset, starttls (the upgrade\n"
"    was refused) or error. Failures and verification problems are findings\n"
"    (tls.<status>, tls.verify.<problem>), resolved when a later scan no\n"
"    longer sees them.\n\n"
"    A closed or filtered port of a sweep is not recorded; it is when the\n"
"    target named it (HOST:PORT) or when the inventory knew the endpoint:\n"
"    then it is marked unreachable, with the time, and never deleted. Each\n"
"    scan compares with the last one: endpoint.new, endpoint.changed (old\n"
"    and new fingerprint), endpoint.unreachable and endpoint.back events go\n"
"    to the audit trail (certledger events --since 24h); certledger\n"
"    endpoints lists what is known.\n\n"
"    Targets stream: a /16 is never held in memory. Memory grows with\n"
"    --concurrency, not with the number of targets.\n\n"
"TARGETS\n"
"    192.0.2.1, 2001:db8::1     an address\n"
"    10.0.0.0/24, fd00::/120    every address of a CIDR block\n"
"    192.0.2.10-192.0.2.50      an inclusive range (IPv4 also 192.0.2.10-50)\n"
"    www.example.com            every A/AAAA address of the name (resolved in\n"
"                               the background), with the name as SNI\n"
"    HOST:PORT, [v6]:PORT       only that port; a failure to connect is\n"
"                               recorded\n"
"    @FILE                      one target per line; # starts a comment\n"
"    More than 65,536 addresses (counted before --exclude) need --yes.\n\n"
"NET OPTIONS\n"
"    --ports LIST          ports and ranges, e.g. 443,8443,10000-10100\n"
"                          (default 25,110,143,389,443,465,587,636,853,993,\n"
"                          995,3269,5222,5432,6443,8443,9443)\n"
"    --sni NAME|@FILE      probe each address and port once per name\n"
"                          (repeatable); default: no SNI for addresses\n"
"    --exclude SPEC|@FILE  never probe these addresses, CIDRs or ranges\n"
"    --yes                 allow more than 65,536 addresses\n"
"    --concurrency N       connections in flight (default 1000; capped by\n"
"                          the open-files limit, which is raised as allowed)\n"
"    --max-handshakes N    TLS handshakes in flight (default 4096): each\n"
"                          holds ~40 KiB inside OpenSSL, so connections\n"
"                          beyond it wait, connected, for a slot (10,000\n"
"                          connections in flight fit in ~180 MB)\n"
"    --rate N              new connections per second (default: unlimited)\n"
"    --workers N           event-loop threads (default: number of CPUs)\n"
"    --connect-timeout T   (default 3s), --handshake-timeout T (5s),\n"
"    --starttls-timeout T  (5s): per phase, e.g. 500ms, 2s\n"
"    --starttls PROTO      smtp, imap, pop3, ftp, ldap, postgres, xmpp, or\n"
"                          none (implicit TLS on every port). Default: by\n"
"                          port: 25/587 smtp, 143 imap, 110 pop3, 21 ftp,\n"
"                          389 ldap, 5432 postgres, 5222 xmpp; others\n"
"                          (465, 993, 995, 636, ...) implicit TLS\n"
"    --ca-bundle FILE|DIR  trust anchors for the verification result\n"
"    --output FILE         also write one row per recorded endpoint to FILE,\n"
"                          .csv or .json (written to a temporary file and\n"
"                          renamed when the scan ends): address, port, sni,\n"
"                          hostname, status, error, starttls, tls_version,\n"
"                          cipher, group, alpn, ocsp_stapled,\n"
"                          leaf_fingerprint, subject, issuer, not_after,\n"
"                          days_left, verify, verify_detail, chain,\n"
"                          location, first_seen, last_seen,\n"
"                          unreachable_since\n"
"    --format table|json   the final summary as a line (default) or JSON\n"
"    --progress, --no-progress\n"
"                          progress line on stderr: done/total, rate, ETA,\n"
"                          endpoints found (default: when a terminal)\n\n"
"    Only scan networks you are allowed to scan.\n\n"
"NET EXIT STATUS\n"
"    0 the scan ran (failed endpoints are findings, not errors), 2 usage,\n"
"    3 store error, 130 interrupted (what was found is kept).\n\n"
"NET EXAMPLES\n"
"    certledger discover net 10.0.0.0/24 --output inventory.csv\n"
"    certledger discover net www.example.com mail.example.com:587\n"
"    certledger discover net 192.0.2.10 --ports 443 --sni @vhosts.txt\n"
"    certledger discover net @hosts.txt --exclude 10.0.0.1 --rate 200\n";

static const char help_lint[] =
"NAME\n"
"    certledger lint - check certificate files against the policy (CI gate)\n\n"
"SYNOPSIS\n"
"    certledger lint [--policy FILE] [--profile NAME | --env E --tag T --owner O]\n"
"                    [--fail-on SEVERITY] [--format text|json|sarif|junit]\n"
"                    [--now TIME] [--password-file FILE] FILE|-...\n\n"
"DESCRIPTION\n"
"    Reads every FILE (any format discover files recognises: PEM bundles,\n"
"    DER, PKCS#7, PKCS#12, JKS/JCEKS; - is standard input) and evaluates\n"
"    each certificate against the policy, without an inventory: the check to\n"
"    run before deploying. The profile is --profile, or the first profile of\n"
"    the policy whose match fits --env, --tag, --owner and the file's\n"
"    location (file:PATH), else the default profile.\n\n"
"    A private key in the same file is checked for its permissions; a key\n"
"    used by several certificates among the files is reported (key.shared);\n"
"    a bundle whose certificates are not each followed by their issuer is\n"
"    reported (chain.wrong-order). Each finding names the rule, its severity,\n"
"    the value found, the limit, and the fix; certledger explain RULE says\n"
"    more.\n\n"
"OPTIONS\n"
"    --policy FILE       the policy (YAML); default: the built-in policy\n"
"                        (certledger policy show-default)\n"
"    --profile NAME      use this profile for every certificate\n"
"    --env E, --tag T, --owner O\n"
"                        select the profile as the inventory would\n"
"    --fail-on SEV       exit 1 when a finding is at least SEV: info,\n"
"                        warning, error (default), critical\n"
"    --format FMT        text (default), json, sarif (SARIF 2.1.0, for code\n"
"                        scanning) or junit (JUnit XML: one test case per\n"
"                        certificate)\n"
"    --now TIME          evaluate at TIME (RFC 3339) instead of now\n"
"    --password-file F   candidate PKCS#12 passwords, one per line (also\n"
"                        $CERTLEDGER_P12_PASSWORD)\n\n"
"EXIT STATUS\n"
"    0 no finding at or above --fail-on, 1 findings at or above it, 2 usage\n"
"    or invalid policy, 3 a FILE could not be read or holds no certificate.\n\n"
"EXAMPLES\n"
"    certledger lint deploy/tls/*.pem\n"
"    certledger lint --policy policy.yaml --env prod --format sarif site.pem > lint.sarif\n"
"    kubectl get secret web -o jsonpath='{.data.tls\\.crt}' | base64 -d | certledger lint -\n";

static const char help_explain[] =
"NAME\n"
"    certledger explain - document the policy rules\n\n"
"SYNOPSIS\n"
"    certledger explain [RULE...]\n\n"
"DESCRIPTION\n"
"    Without RULE, lists every rule with its default severity. With RULE\n"
"    (e.g. key.size or policy.key.size), says what it checks, why it\n"
"    matters, how to configure it, and the usual fix.\n";

static const char help_policy[] =
"NAME\n"
"    certledger policy - the built-in policy and policy files\n\n"
"SYNOPSIS\n"
"    certledger policy show-default\n"
"    certledger policy validate FILE\n\n"
"DESCRIPTION\n"
"    show-default prints the built-in policy as YAML, with comments: the\n"
"    starting point of a policy file. validate loads FILE as lint and check\n"
"    would and reports the first problem with its line number, or lists the\n"
"    profiles. A policy file holds version: 1, a defaults block (rules for\n"
"    every profile; what it leaves out comes from the built-in policy) and\n"
"    profiles, each with a name, a match (environment, tag, owner, location\n"
"    globs) and the rules it changes. docs/policy.example.yaml is a\n"
"    commented example.\n\n"
"EXIT STATUS\n"
"    0 valid, 2 invalid (the message names the line), 3 unreadable.\n";

static const char help_check[] =
"NAME\n"
"    certledger check - evaluate the inventory against the policy\n\n"
"SYNOPSIS\n"
"    certledger check [--policy FILE] [FILTERS] [--fail-on SEVERITY]\n"
"                     [--revocation] [--examples N] [--format table|json|csv]\n\n"
"DESCRIPTION\n"
"    Evaluates every present certificate matching the FILTERS (those of\n"
"    certledger ls) with the profile its environment, tags, owner or\n"
"    locations select, and records the result as findings: a new violation\n"
"    opens a finding (policy.RULE), one seen again is refreshed, and one no\n"
"    longer true is resolved, never deleted; each change is an event.\n"
"    Besides the certificate itself, check uses what discovery recorded:\n"
"    keys shared between certificates, private key files readable by group\n"
"    or others, and the chains endpoints serve (incomplete, wrong order,\n"
"    untrusted root). With filters, only the findings of the certificates\n"
"    checked can be resolved.\n\n"
"    The table groups findings by severity, owner and rule, with a few\n"
"    examples each and the fix; --format json or csv lists every finding\n"
"    with the value found, the limit and the fix. certledger findings lists\n"
"    what is open; certledger explain RULE says what a rule means.\n\n"
"OPTIONS\n"
"    --policy FILE       the policy (YAML); default: the built-in policy\n"
"    FILTERS             as for certledger ls (--issuer, --env, --tag, --owner,\n"
"                        --location, --expiring, --now, ...)\n"
"    --fail-on SEV       exit 1 when a finding is at least SEV (default error)\n"
"    --revocation        also ask OCSP responders (then CRLs) about every\n"
"                        certificate whose issuer is in the inventory\n"
"    --revocation-timeout T\n"
"                        per request (default 5s)\n"
"    --examples N        examples per group in the table (default 5, 0 = all)\n"
"    --format FMT        table (default), json or csv\n\n"
"EXIT STATUS\n"
"    0 no finding at or above --fail-on, 1 findings at or above it, 2 usage\n"
"    or invalid policy, 3 store error.\n\n"
"EXAMPLES\n"
"    certledger check\n"
"    certledger check --policy policy.yaml --env prod --format csv > findings.csv\n"
"    certledger check --revocation --issuer '*Example CA*'\n";

static const char help_endpoints[] =
"NAME\n"
"    certledger endpoints - list the TLS endpoints the inventory knows\n\n"
"SYNOPSIS\n"
"    certledger endpoints [--status GLOB] [--verify GLOB] [--location GLOB]\n"
"                         [--failing] [--format table|json|csv]\n\n"
"DESCRIPTION\n"
"    One row per endpoint found by discover net, with its last status and\n"
"    the parameters of its last successful handshake (kept while it fails,\n"
"    so a vanished endpoint still shows what it served and since when it is\n"
"    unreachable). Fields as for discover net --output.\n\n"
"OPTIONS\n"
"    --status GLOB     ok, refused, timeout, not-tls, alert, reset, starttls,\n"
"                      error\n"
"    --verify GLOB     ok, expired, hostname-mismatch, ...\n"
"    --location GLOB   e.g. 'tls:10.0.0.*:443*'\n"
"    --failing         only endpoints whose last scan failed\n"
"    --format FMT      table (default), json or csv\n\n"
"EXAMPLES\n"
"    certledger endpoints --verify expired\n"
"    certledger endpoints --failing --format csv\n";

static const char help_ls[] =
"NAME\n"
"    certledger ls - list certificates in the inventory\n\n"
"SYNOPSIS\n"
"    certledger ls [FILTERS] [--sort FIELD [--reverse]] [--limit N]\n"
"                  [--format table|json|csv|ics]\n\n"
"DESCRIPTION\n"
"    Lists the certificates matching every given filter (filters combine with\n"
"    AND), soonest expiry first. Globs are case-insensitive shell patterns.\n\n"
"FILTERS\n"
"    --expiring DURATION   not expired yet, expiring within DURATION (30d, 12h,\n"
"                          2w, 1y); with --expired: expired or expiring\n"
"    --expired             already expired\n"
"    --now RFC3339         evaluate time filters at another instant, e.g.\n"
"                          --now 2027-03-15 --expired\n"
"    --issuer GLOB         issuer DN or CN\n"
"    --subject GLOB        subject DN or CN\n"
"    --san GLOB            any SAN, with or without its type (DNS:*.example.com)\n"
"    --key-type GLOB       RSA, EC, Ed25519, Ed448, DSA, ML-DSA-65, a curve\n"
"                          (P-256) or an OID\n"
"    --min-key-bits N, --max-key-bits N\n"
"    --sig-alg GLOB        e.g. sha1WithRSAEncryption, '*SHA1*'\n"
"    --self-signed         self-signed only (signature verified)\n"
"    --ca, --leaf          CA certificates only / end-entity only\n"
"    --owner GLOB, --env GLOB, --tag TAG\n"
"    --location GLOB       kind:where, e.g. 'file:/etc/nginx/*' (a bare /path\n"
"                          means file:)\n"
"    --state present|gone|all\n"
"                          present (default): deployed somewhere now; gone:\n"
"                          no longer found anywhere\n"
"    --fingerprint HEX, --spki HEX, --serial HEX\n\n"
"OUTPUT\n"
"    --format table        one line per certificate (default)\n"
"    --format json         an array of objects: fingerprint_sha256, serial,\n"
"                          subject, issuer, sans, not_before, not_after,\n"
"                          days_left, validity_days, key_type, key_bits, curve,\n"
"                          sig_alg, is_ca, self_signed, spki_sha256, owner,\n"
"                          environment, tags, locations[{kind, where, state,\n"
"                          first_seen, last_seen}] and more (docs/cli.md)\n"
"    --format ics          an iCalendar (RFC 5545) feed: an all-day event on\n"
"                          each certificate's expiry day, with its subject,\n"
"                          issuer, fingerprint and locations, and a reminder\n"
"                          7 days before; subscribe to it from a calendar\n"
"    --format csv          one row per certificate-location, same names\n"
"    --sort FIELD          not_after (default), not_before, days_left,\n"
"                          subject, issuer, serial, fingerprint, key_type,\n"
"                          key_bits, sig_alg, owner, environment, first_seen\n\n"
"EXIT STATUS\n"
"    0 rows printed, 1 nothing matched, 2 usage, 3 store error.\n\n"
"EXAMPLES\n"
"    certledger ls --expiring 30d --env prod\n"
"    certledger ls --sig-alg '*sha1*' --format csv > sha1.csv\n"
"    certledger ls --now 2027-03-15 --expired --owner team-web\n";

static const char help_show[] =
"NAME\n"
"    certledger show - one certificate in full, with locations, keys and events\n\n"
"SYNOPSIS\n"
"    certledger show [--format table|json] [--pem] FP-PREFIX|PATH\n\n"
"DESCRIPTION\n"
"    FP-PREFIX is at least 4 hex digits of the SHA-256 fingerprint; PATH shows\n"
"    every certificate recorded in that file. --pem prints the certificate(s)\n"
"    in PEM instead.\n\n"
"EXIT STATUS\n"
"    0 shown, 1 no such certificate, 2 usage, 3 store error.\n";

static const char help_summary[] =
"NAME\n"
"    certledger summary - the inventory at a glance\n\n"
"SYNOPSIS\n"
"    certledger summary [FILTERS] [--format table|json|csv]\n\n"
"DESCRIPTION\n"
"    Counts certificates by expiry bucket (expired, < 7 days, < 30 days,\n"
"    < 90 days, later), issuer, key type and signature algorithm, with the\n"
"    number of locations, private keys and open findings. Accepts the\n"
"    filters of 'certledger ls' (e.g. --env prod, --now 2027-03-15).\n";

static const char help_tag[] =
"NAME\n"
"    certledger tag - set owner, environment and tags\n\n"
"SYNOPSIS\n"
"    certledger tag FP-PREFIX [EDITS]\n"
"    certledger tag --location GLOB [EDITS]\n\n"
"EDITS\n"
"    --owner NAME, --clear-owner\n"
"    --env NAME, --clear-env\n"
"    --tag TAG, --untag TAG (repeatable)\n\n"
"DESCRIPTION\n"
"    By fingerprint, edits one certificate. By --location ('file:/etc/nginx/*',\n"
"    or a bare path), edits the matching locations and every certificate\n"
"    present there. A new certificate found later at a location inherits the\n"
"    location's values, or those of the certificate it replaced there, so\n"
"    renewals keep their owner. Every change is an event in the audit trail.\n\n"
"EXIT STATUS\n"
"    0 done, 1 nothing matched, 2 usage (also: ambiguous prefix), 3 store error.\n";

static const char help_events[] =
"NAME\n"
"    certledger events - the audit trail\n\n"
"SYNOPSIS\n"
"    certledger events [--since DURATION|RFC3339] [--type GLOB]\n"
"                      [--fingerprint HEX] [--location GLOB] [--limit N]\n"
"                      [--format table|json|csv]\n\n"
"DESCRIPTION\n"
"    Append-only records of every change, oldest first: cert.new,\n"
"    location.new, location.gone, location.back, cert.tagged, key.new,\n"
"    key.gone, finding.opened, finding.resolved. --since 24h shows the last\n"
"    day; --limit N the newest N.\n";

static const char help_findings[] =
"NAME\n"
"    certledger findings - open problems\n\n"
"SYNOPSIS\n"
"    certledger findings [--all] [--rule GLOB] [--severity LEVEL]\n"
"                        [--target GLOB] [--fingerprint HEX]\n"
"                        [--format table|json|csv]\n\n"
"DESCRIPTION\n"
"    Lists open findings, most severe first. A fixed problem is resolved, not\n"
"    deleted: --all includes resolved ones. --severity LEVEL shows LEVEL and\n"
"    above (info, warning, error, critical).\n\n"
"RULES (file discovery)\n"
"    file.unreadable      permission denied or I/O error\n"
"    file.malformed       truncated or corrupt certificate material\n"
"    file.unrecognized    a certificate-like file (by name) with other content\n"
"    file.locked          encrypted keystore and no password given\n"
"    file.wrong-password  none of the given passwords opens it\n"
"    file.too-large       certificate-like file above --max-file-size\n"
"    file.name-encoding   file name is not valid UTF-8 (recorded escaped)\n"
"    file.key-readable    private key readable by group or others\n";

static const char help_serve[] =
"NAME\n"
"    certledger serve - the monitoring daemon: rescans, alerts, metrics\n\n"
"SYNOPSIS\n"
"    certledger serve [--config FILE] [--listen HOST:PORT] [--log-format text|json]\n"
"    certledger serve --once [--skip-jobs] [--now TIME] [--config FILE]\n\n"
"DESCRIPTION\n"
"    Runs the discovery jobs of the configuration on their schedule (each\n"
"    `every` interval, never inside its quiet hours), checks the inventory\n"
"    against the policy after each job, evaluates the alert rules after each\n"
"    job and every `alerts.evaluate_every`, and delivers alerts to the\n"
"    notifiers their routes name. Runs in the foreground; logs go to stderr\n"
"    as text on a terminal and as JSON lines otherwise.\n\n"
"    Alerts: expiry thresholds (30/14/7/3/1 days by default, shares of the\n"
"    lifetime for short-lived certificates), expired, renewal overdue (still\n"
"    deployed past 2/3 of its lifetime), certificate changed on an endpoint,\n"
"    endpoint unreachable, policy finding opened, new certificate or new issuer\n"
"    for a watched domain. Each fires once per threshold crossing and resolves\n"
"    when its cause is gone: a certificate replaced everywhere is no longer\n"
"    deployed, so nothing more is sent about it.\n\n"
"    Delivery never loses an alert: transitions are written to an outbox in\n"
"    the inventory in the same transaction as the alert, sent afterwards and\n"
"    retried with exponential backoff and jitter; after a crash or kill -9 the\n"
"    next start sends what is pending (at least once: every message carries an\n"
"    id to deduplicate on).\n\n"
"    HTTP (listen, default 127.0.0.1:9477): /metrics (Prometheus), /healthz\n"
"    (200 when every job runs on schedule, 503 when one is late),\n"
"    /calendar.ics (expiry dates; ?owner=, ?environment=, ?expiring=90d).\n\n"
"    SIGHUP reloads the configuration (a broken file is reported and the\n"
"    running one kept); SIGTERM finishes the work in progress and exits.\n"
"    The configuration is documented in examples/certledger.yaml, metrics in\n"
"    docs/monitoring.md; contrib/certledger.service is a systemd unit.\n\n"
"OPTIONS\n"
"    --config FILE       configuration (default: $CERTLEDGER_CONFIG, else\n"
"                        /etc/certledger/certledger.yaml)\n"
"    --once              run every job once, evaluate, deliver what is due, exit\n"
"                        (for cron and tests); exit 3 when a job or a delivery\n"
"                        failed\n"
"    --skip-jobs         with --once: only evaluate and deliver\n"
"    --now TIME          act as if it were TIME (RFC 3339), for rehearsals: with\n"
"                        --once a fixed instant; a daemon's clock starts there\n"
"                        and moves on\n"
"    --listen HOST:PORT  overrides the configuration's listen\n"
"    --log-format text|json\n"
"    --db PATH           inventory (default: the configuration's store)\n\n"
"EXIT STATUS\n"
"    0 stopped cleanly (or --once succeeded), 2 configuration error, 3 failure\n";

static const char help_alerts[] =
"NAME\n"
"    certledger alerts - alerts raised by serve, with their delivery state\n\n"
"SYNOPSIS\n"
"    certledger alerts [--state firing|resolved|once|all] [--type GLOB]\n"
"                      [--fingerprint HEX] [--since DURATION|RFC3339] [--limit N]\n"
"                      [--format table|json|csv]\n"
"    certledger alerts test NOTIFIER [--config FILE]\n\n"
"DESCRIPTION\n"
"    Lists alerts, oldest update first. Types: cert.expiring, cert.expired,\n"
"    cert.renewal_overdue, endpoint.cert_changed, endpoint.unreachable,\n"
"    domain.new_cert, domain.new_issuer, finding.opened. One-shot alerts\n"
"    (changes, new certificates) are in state once. The deliveries column\n"
"    lists NOTIFIER:STATE (pending, sent, failed) per queued message.\n\n"
"    alerts test NOTIFIER sends one test message through the notifier of the\n"
"    configuration right away (not through the outbox) and says what the\n"
"    receiver answered.\n\n"
"EXIT STATUS\n"
"    0 alerts listed / test sent, 1 no alert matched, 2 usage, 3 failure\n";

static const char help_help[] =
"usage: certledger help [COMMAND]\n";

static const char help_version[] =
"usage: certledger version\n";

int cl_cmd_help(struct cl_cli *cli, int argc, char **argv)
{
	const struct cl_cmd *c;
	char *args[] = { "certledger", "--help", NULL };

	(void)cli;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(help_help, stdout);
		return CL_EXIT_OK;
	}
	if (argc < 2) {
		extern int main(int, char **);
		return main(2, args);
	}
	if ((c = cl_cli_find(argv[1])) == NULL) {
		fprintf(stderr, "certledger help: no command '%s'\n", argv[1]);
		return CL_EXIT_USAGE;
	}
	cl_cli_help(c);
	return CL_EXIT_OK;
}

int cl_cmd_version(struct cl_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(help_version, stdout);
		return CL_EXIT_OK;
	}
	printf("certledger %s (%s, SQLite %s, jansson %s)\n", CL_VERSION, OPENSSL_VERSION_TEXT,
	       sqlite3_libversion(), JANSSON_VERSION);
	return CL_EXIT_OK;
}

const struct cl_cmd cl_cmds[] = {
	{ "discover", cl_cmd_discover, "find certificates in files or on the network "
	  "(discover files|net ...)",
	  help_discover },
	{ "endpoints", cl_cmd_endpoints, "TLS endpoints found on the network, with status",
	  help_endpoints },
	{ "check", cl_cmd_check, "evaluate the inventory against the policy; findings kept",
	  help_check },
	{ "lint", cl_cmd_lint, "check certificate files against the policy (CI gate)", help_lint },
	{ "explain", cl_cmd_explain, "what a policy rule checks and how to fix it", help_explain },
	{ "policy", cl_cmd_policy, "print the built-in policy, validate a policy file",
	  help_policy },
	{ "ls", cl_cmd_ls, "list certificates with filters (expiring, issuer, key, owner...)",
	  help_ls },
	{ "show", cl_cmd_show, "one certificate in full, with locations, keys and events",
	  help_show },
	{ "summary", cl_cmd_summary, "counts by expiry, issuer, key type, signature", help_summary },
	{ "tag", cl_cmd_tag, "set owner, environment and tags", help_tag },
	{ "events", cl_cmd_events, "the audit trail (--since 24h)", help_events },
	{ "findings", cl_cmd_findings, "open problems found in files and keys", help_findings },
	{ "serve", cl_cmd_serve, "the monitoring daemon: scheduled discovery, alerts, /metrics",
	  help_serve },
	{ "alerts", cl_cmd_alerts, "alerts and their delivery state; send a test alert",
	  help_alerts },
	{ "help", cl_cmd_help, "show help for a command", help_help },
	{ "version", cl_cmd_version, "print the version", help_version },
	{ NULL, NULL, NULL, NULL },
};
