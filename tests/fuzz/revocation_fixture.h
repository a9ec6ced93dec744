/*
 * The fixed PKI and the result checks shared by the OCSP and CRL fuzz
 * targets (fuzz_ocsp.c, fuzz_crl.c). Regenerate with
 * tests/data/mkrevocation-corpus.sh and paste its output here.
 */
#ifndef CL_FUZZ_REVOCATION_FIXTURE_H
#define CL_FUZZ_REVOCATION_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "policy/revocation.h"

/* The PKI of the seed corpus (tests/data/mkrevocation-corpus.sh). */
#define FUZZ_NOW INT64_C(1795451391)  /* when the corpus was made */

static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBlTCCATygAwIBAgIULPlBKkmpsB7Id3mCKkSa3zyv5gowCgYIKoZIzj0EAwIw\n"
	"KDEmMCQGA1UEAwwdY2VydGxlZGdlciByZXZvY2F0aW9uIHRlc3QgQ0EwIBcNMjAw\n"
	"MTAxMDAwMDAwWhgPMjA5OTEyMzEwMDAwMDBaMCgxJjAkBgNVBAMMHWNlcnRsZWRn\n"
	"ZXIgcmV2b2NhdGlvbiB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
	"yrH/t4JEdL3IbXG5Wq1X4jBCnxZAVkOwDBZFw+TzbcOXbpvqGiLjEA6S0/k1vFfL\n"
	"82a+nA3A1YrAc+ryes44UaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E\n"
	"BAMCAQYwHQYDVR0OBBYEFD3gDqiNMGlpgnHImuHwaW03JPm5MAoGCCqGSM49BAMC\n"
	"A0cAMEQCIE09GE9Ns5RnXCR300dZGC4Q9acqv9ySNjfeHTiJSGBFAiBYOMRnKpHC\n"
	"6yGzx/JezYeTDtOqtzm/6peY2at4GwwGqA==\n"
	"-----END CERTIFICATE-----\n";

static const char good_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICBDCCAaugAwIBAgIUBRB3f3VfgjFfAh33FVjpNBVBOzMwCgYIKoZIzj0EAwIw\n"
	"KDEmMCQGA1UEAwwdY2VydGxlZGdlciByZXZvY2F0aW9uIHRlc3QgQ0EwIBcNMjAw\n"
	"MTAxMDAwMDAwWhgPMjA5OTEyMzEwMDAwMDBaMCQxIjAgBgNVBAMMGWxlYWYtZ29v\n"
	"ZC5yZXZvY2F0aW9uLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARs1rJQ\n"
	"1b2XaGpIITADkomiykto7O0uCY2/QCORhS+rSbPQGSgqy1VGl3HGaghKeg8hnHJY\n"
	"rdFIZW0lHCvspXXSo4G0MIGxMAwGA1UdEwEB/wQCMAAwMgYIKwYBBQUHAQEEJjAk\n"
	"MCIGCCsGAQUFBzABhhZodHRwOi8vMTI3LjAuMC4xOjgwODEvMC0GA1UdHwQmMCQw\n"
	"IqAgoB6GHGh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9jYS5jcmwwHQYDVR0OBBYEFJEr\n"
	"aIvFXmQ9o1adwf4EWVDVrW+DMB8GA1UdIwQYMBaAFD3gDqiNMGlpgnHImuHwaW03\n"
	"JPm5MAoGCCqGSM49BAMCA0cAMEQCIA8Js54u85UO91sqC0zXLKP103W2hbOvRUEe\n"
	"u47Irp/7AiBNfcppaM3y7BPKaW87tYLxp6nSB2NBOid1TEz4r9uI2g==\n"
	"-----END CERTIFICATE-----\n";

static const char revoked_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICCDCCAa6gAwIBAgIUO1moJS9puRDqKtFJNRmhR7EUM6kwCgYIKoZIzj0EAwIw\n"
	"KDEmMCQGA1UEAwwdY2VydGxlZGdlciByZXZvY2F0aW9uIHRlc3QgQ0EwIBcNMjAw\n"
	"MTAxMDAwMDAwWhgPMjA5OTEyMzEwMDAwMDBaMCcxJTAjBgNVBAMMHGxlYWYtcmV2\n"
	"b2tlZC5yZXZvY2F0aW9uLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATH\n"
	"bef6r1sUY1H0i2bRw5g9GuqQxMHyozaipq/1iPXEKcEU7u9D+Wac9fVRFbjrX2PT\n"
	"K7yva9i28zT488K9F+Yuo4G0MIGxMAwGA1UdEwEB/wQCMAAwMgYIKwYBBQUHAQEE\n"
	"JjAkMCIGCCsGAQUFBzABhhZodHRwOi8vMTI3LjAuMC4xOjgwODEvMC0GA1UdHwQm\n"
	"MCQwIqAgoB6GHGh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9jYS5jcmwwHQYDVR0OBBYE\n"
	"FLV9PJc2DgjaPvyoCnSHB/f6WQWcMB8GA1UdIwQYMBaAFD3gDqiNMGlpgnHImuHw\n"
	"aW03JPm5MAoGCCqGSM49BAMCA0gAMEUCIQDcm1WNOVllnaxHbtF8sHnPaFwKg2Ig\n"
	"PrvcuBJg/ywijAIgSoOAQA8t+uV8pdN2soVy15H57phLGDQy2QTaVDGYgwY=\n"
	"-----END CERTIFICATE-----\n";

static X509 *ca, *leaf[2];

static X509 *pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

static void init(void)
{
	if (ca != NULL)
		return;
	ca = pem_x509(ca_pem);
	leaf[0] = pem_x509(good_pem);
	leaf[1] = pem_x509(revoked_pem);
}

/* Invariants of every result, whatever the input. */
static void check(int rc, const struct cl_rev_result *res, const char *method)
{
	size_t n = strnlen(res->detail, sizeof res->detail);

	if (n == sizeof res->detail || strnlen(res->url, sizeof res->url) != 0)
		abort();
	if (res->method == NULL || strcmp(res->method, method) != 0)
		abort();
	if (rc != CL_OK && rc != CL_ERR && rc != CL_ERR_PARSE)
		abort();
	if (rc != CL_OK && (res->status != CL_REV_UNKNOWN || n == 0 || res->revoked_at != 0))
		abort();
	if (res->status != CL_REV_GOOD && res->status != CL_REV_REVOKED &&
	    res->status != CL_REV_UNKNOWN)
		abort();
	if (res->status != CL_REV_REVOKED && (res->reason != -1 || res->revoked_at != 0))
		abort();
	if (res->reason < -1 || res->reason_name != cl_rev_reason_name(res->reason))
		abort();
	if (res->status == CL_REV_UNKNOWN && n == 0)
		abort();
}

#endif
