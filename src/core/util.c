/* Small helpers: hex, time, durations, globs, UTF-8, atomic files. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/util.h"

void cl_hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int64_t cl_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

int64_t cl_time_from_civil(int64_t y, unsigned mo, unsigned d, unsigned h,
                           unsigned mi, unsigned s)
{
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

char *cl_time_fmt(char *out, size_t len, int64_t t)
{
	int64_t days = cl_floordiv(t, 86400), secs = t - days * 86400, y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999 && len >= 21) {
		/* the usual case without snprintf: listings format millions */
		unsigned v[6] = { (unsigned)y, m, d, (unsigned)(secs / 3600),
		                  (unsigned)(secs / 60 % 60), (unsigned)(secs % 60) };
		static const char sep[] = "--T::Z";
		char *p = out;
		int i;
		*p++ = (char)('0' + v[0] / 1000);
		*p++ = (char)('0' + v[0] / 100 % 10);
		for (i = 0; i < 6; i++) {
			*p++ = (char)('0' + v[i] / 10 % 10);
			*p++ = (char)('0' + v[i] % 10);
			*p++ = sep[i];
		}
		*p = '\0';
		return out;
	}
	snprintf(out, len, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
	         (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return out;
}

static int parse_digits(const char **sp, int n, unsigned *out)
{
	const char *s = *sp;
	unsigned v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return CL_ERR_PARSE;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return CL_OK;
}

static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int cl_time_parse(const char *s, int64_t *out)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0, oh, om;
	int64_t t;

	if (strcmp(s, "now") == 0) {
		*out = cl_now();
		return CL_OK;
	}
	if (parse_digits(&s, 4, &y) || *s++ != '-' || parse_digits(&s, 2, &mo) ||
	    *s++ != '-' || parse_digits(&s, 2, &d))
		return CL_ERR_PARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > (unsigned)mdays[mo - 1] + (mo == 2 && leap(y)))
		return CL_ERR_PARSE;
	t = cl_time_from_civil(y, mo, d, 0, 0, 0);
	if (*s == '\0') {
		*out = t;
		return CL_OK;
	}
	if (*s != 'T' && *s != 't' && *s != ' ')
		return CL_ERR_PARSE;
	s++;
	if (parse_digits(&s, 2, &h) || *s++ != ':' || parse_digits(&s, 2, &mi))
		return CL_ERR_PARSE;
	if (*s == ':') {
		s++;
		if (parse_digits(&s, 2, &se))
			return CL_ERR_PARSE;
		if (*s == '.') {
			s++;
			if (!isdigit((unsigned char)*s))
				return CL_ERR_PARSE;
			while (isdigit((unsigned char)*s))
				s++;
		}
	}
	if (h > 23 || mi > 59 || se > 60)
		return CL_ERR_PARSE;
	t += h * 3600 + mi * 60 + se;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '+' ? 1 : -1;
		if (parse_digits(&s, 2, &oh) || *s++ != ':' || parse_digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return CL_ERR_PARSE;
		t -= sign * (int64_t)(oh * 3600 + om * 60);
	} else if (*s != '\0') {
		return CL_ERR_PARSE;
	}
	if (*s != '\0')
		return CL_ERR_PARSE;
	*out = t;
	return CL_OK;
}

int cl_duration_parse(const char *s, int64_t *out)
{
	int64_t total = 0;
	bool any = false;

	if (*s == '\0')
		return CL_ERR_PARSE;
	while (*s) {
		int64_t v = 0, unit;
		if (!isdigit((unsigned char)*s))
			return CL_ERR_PARSE;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			if (v > (int64_t)1 << 40)
				return CL_ERR_PARSE;
		}
		switch (*s) {
		case '\0': unit = any ? -1 : 86400; break;
		case 's': unit = 1; s++; break;
		case 'm': unit = 60; s++; break;
		case 'h': unit = 3600; s++; break;
		case 'd': unit = 86400; s++; break;
		case 'w': unit = 7 * 86400; s++; break;
		case 'y': unit = 365 * 86400; s++; break;
		default: return CL_ERR_PARSE;
		}
		if (unit < 0)
			return CL_ERR_PARSE;
		/* at most about 34,000 years in all: no overflow anywhere */
		if (v > ((int64_t)1 << 40) / unit || total > ((int64_t)1 << 40) - v * unit)
			return CL_ERR_PARSE;
		total += v * unit;
		any = true;
	}
	*out = total;
	return CL_OK;
}

static int64_t now_offset;

void cl_now_set_offset(int64_t seconds)
{
	now_offset = seconds;
}

int64_t cl_now(void)
{
	const char *e = getenv("CL_NOW");
	int64_t t;

	if (e && *e && cl_time_parse(e, &t) == CL_OK)
		return t;
	return (int64_t)time(NULL) + now_offset;
}

bool cl_glob(const char *pattern, const char *s)
{
	return fnmatch(pattern, s, FNM_CASEFOLD) == 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return c == 0 ? 0 : 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool cl_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if ((l = utf8_seq(p + i, n - i)) == 0)
			return false;
		i += l;
	}
	return true;
}

char *cl_escape_bytes(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, l;

	if ((out = malloc(n * 4 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < n) {
		l = utf8_seq(p + i, n - i);
		if (l == 0 || p[i] == '\\' || p[i] < 0x20 || p[i] == 0x7f) {
			o += sprintf(o, "\\x%02x", p[i]);
			i++;
		} else {
			memcpy(o, p + i, l);
			o += l;
			i += l;
		}
	}
	*o = '\0';
	return out;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int cl_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (!hex || strlen(hex) != 2 * n)
		return CL_ERR_PARSE;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 || (lo = hexval(hex[2 * i + 1])) < 0)
			return CL_ERR_PARSE;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return CL_OK;
}

int cl_grow_impl(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void *arr, *n;
	size_t nc;

	if (need <= *cap)
		return CL_OK;
	nc = *cap ? *cap : 8;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return CL_ERR_NOMEM;
		nc *= 2;
	}
	if (nc > SIZE_MAX / elem)
		return CL_ERR_NOMEM;
	memcpy(&arr, arrp, sizeof arr);
	if ((n = realloc(arr, nc * elem)) == NULL)
		return CL_ERR_NOMEM;
	memcpy(arrp, &n, sizeof n);
	*cap = nc;
	return CL_OK;
}

char *cl_unescape_bytes(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;

	if (out == NULL)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			*o++ = (char)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

int cl_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return CL_ERR_IO;
		}
		p += w;
		len -= (size_t)w;
	}
	return CL_OK;
}

int cl_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = CL_ERR_IO, saved;

	if (fd < 0)
		return CL_ERR_IO;
	if (fsync(fd) == 0)
		rc = CL_OK;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int cl_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char *dup = NULL, tmp[4096];
	int fd = -1, rc = CL_ERR_IO, saved;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return CL_ERR_IO;
	}
	if ((fd = mkstemp(tmp)) < 0)
		return CL_ERR_IO;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto out;
	if (cl_write_all(fd, data, len) != CL_OK || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	tmp[0] = '\0';
	if ((dup = strdup(path)) != NULL)
		(void)cl_fsync_dir(dirname(dup));
	rc = CL_OK;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc != CL_OK && tmp[0])
		unlink(tmp);
	free(dup);
	errno = saved;
	return rc;
}

bool cl_text_valid(const char *s, size_t n)
{
	size_t i;

	if (!cl_utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

size_t cl_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

bool cl_env_name_valid(const char *s)
{
	size_t i;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_') || strlen(s) > 255)
		return false;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

void cl_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int cl_secret_read_file(const char *path, size_t max, bool first_line, char **out,
                        const char **why)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc = CL_ERR_IO;

	*out = NULL;
	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		*why = strerror(errno);
		return CL_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto out;
	}
	if (!(buf = malloc(max + 1))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror(errno);
			goto out;
		}
		n += (size_t)r;
	}
	rc = CL_ERR_PARSE;
	if (n > max) {
		*why = "the file is too large";
		goto out;
	}
	if (first_line) {
		buf[n] = '\0';
		n = strcspn(buf, "\r\n");
	} else {
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		*why = first_line ? "the first line is empty" : "the file is empty";
		goto out;
	}
	if (first_line ? memchr(buf, '\0', n) != NULL : !cl_text_valid(buf, n)) {
		*why = first_line ? "it holds a NUL byte"
		                  : "it holds a line break or a control character before its end";
		goto out;
	}
	if (!(*out = malloc(n + 1))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	rc = CL_OK;
out:
	if (buf) {
		explicit_bzero(buf, max + 1);
		free(buf);
	}
	close(fd);
	return rc;
}
