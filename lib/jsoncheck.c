/*
 * jsoncheck.c - the validating scanner: is this text one JSON value?
 *
 * sessnap__json_check(text, len) returns 0 when text[0..len) is exactly
 * one JSON value as RFC 8259 defines it (UTF-8, no comments, trailing
 * commas, single quotes, NaN or leading zeros, which json-c's lenient
 * mode lets through) nested no deeper than the loader's tokener allows
 * (SESSNAP__JSON_DEPTH), and otherwise SESSNAP_EINVAL with what is wrong
 * and at which byte in the thread-local message.  Every text it accepts
 * is one the loader accepts: tests/check_text.c checks that against the
 * loader's own parser over generated and hand-written texts.  Its
 * callers are text.c, which must refuse at sessnap_session_update_text()
 * every text the loader would refuse, and patch.c and session.c, which
 * check a patch's values (sessnap__json_check_under(): nested under the
 * pointer's tokens) and a state reread to be patched.
 *
 * Why a scanner of our own rather than the tokener: update_text runs on
 * the app's thread and must cost no more than update() with an object
 * (serialize and copy).  The tokener builds a json-c object of every value
 * and frees it again, several times the cost of serializing; the scanner
 * below allocates nothing and reads each byte once.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* ---- The validating scanner ---------------------------------------------- */

/* Byte classes inside a string. */
enum {
	C_PLAIN = 0, /* printable ASCII other than '"' and '\\' */
	C_QUOTE,
	C_BACKSLASH,
	C_CONTROL, /* below 0x20: must be escaped */
	C_UTF8	   /* 0x80 and above: part of a UTF-8 sequence */
};

/* One row per 16 bytes. */
/* clang-format off */
static const unsigned char str_class[256] = {
#define R4(x) x, x, x, x
#define R16(x) R4(x), R4(x), R4(x), R4(x)
	R16(C_CONTROL), R16(C_CONTROL),
	/* 0x20 - 0x2f: ' ' '!' '"' ... */
	C_PLAIN, C_PLAIN, C_QUOTE, C_PLAIN, R4(C_PLAIN), R4(C_PLAIN),
	R4(C_PLAIN),
	R16(C_PLAIN), /* 0x30 */
	R16(C_PLAIN), /* 0x40 */
	/* 0x50 - 0x5f: '\\' is 0x5c */
	R4(C_PLAIN), R4(C_PLAIN), R4(C_PLAIN), C_BACKSLASH, C_PLAIN, C_PLAIN,
	C_PLAIN,
	R16(C_PLAIN), R16(C_PLAIN), /* 0x60, 0x70 (DEL is allowed) */
	R16(C_UTF8), R16(C_UTF8), R16(C_UTF8), R16(C_UTF8),
	R16(C_UTF8), R16(C_UTF8), R16(C_UTF8), R16(C_UTF8)
#undef R16
#undef R4
};
/* clang-format on */

/*
 * The scan's state.  The steps below move `p` along the text; the open
 * containers ('[' or '{', innermost last) are on the stack.
 */
struct scan {
	const unsigned char *start;
	const unsigned char *end;
	const unsigned char *v; /* where the value being scanned starts */
	const char *what;	/* what was wrong, when the scan failed */
	size_t depth;
	size_t outer; /* containers around the text (a patch's pointer) */
	char stack[SESSNAP__JSON_DEPTH];
};

/*
 * What the scan does next: each step returns the next one.  The scan
 * ends in DONE, or in one of the failures: FAIL (what is wrong at p),
 * FAIL_AT_VALUE (inside the value that starts at v), TOO_DEEP.
 */
enum step {
	STEP_VALUE,
	STEP_KEY,
	STEP_AFTER,
	STEP_DONE,
	STEP_FAIL,
	STEP_FAIL_AT_VALUE,
	STEP_TOO_DEEP
};

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static const unsigned char *skip_ws(const unsigned char *p,
				    const unsigned char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/*
 * One well-formed UTF-8 sequence (Unicode's table 3-7: no overlong forms,
 * no surrogates, nothing above U+10FFFF).  Returns the byte after it, or
 * NULL.
 */
static const unsigned char *utf8_seq(const unsigned char *p,
				     const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 1;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3;
	else
		return NULL;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - p) <= n)
		return NULL;
	if (p[1] < lo || p[1] > hi)
		return NULL;
	for (i = 2; i <= n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return NULL;
	return p + n + 1;
}

/* A string; p is on its opening quote.  Returns the byte after it. */
static const unsigned char *scan_string(struct scan *sc, const unsigned char *p)
{
	const unsigned char *end = sc->end;
	int i;

	for (p++;;) {
		while (p < end && str_class[*p] == C_PLAIN)
			p++;
		if (p == end) {
			sc->what = "the text ends inside a string";
			return NULL;
		}
		switch (str_class[*p]) {
		case C_QUOTE:
			return p + 1;
		case C_BACKSLASH:
			if (end - p < 2)
				goto truncated;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6)
					goto truncated;
				for (i = 2; i < 6; i++)
					if (!is_hex(p[i])) {
						sc->what = "a \\u escape needs "
							   "four hex digits";
						return NULL;
					}
				p += 6;
				break;
			default:
				sc->what = "an invalid escape in a string";
				return NULL;
			}
			break;
		case C_CONTROL:
			sc->what = "a control character in a string (it must "
				   "be escaped)";
			return NULL;
		case C_UTF8:
			if ((p = utf8_seq(p, end)) == NULL) {
				sc->what = "a string is not valid UTF-8";
				return NULL;
			}
			break;
		default:
			p++;
			break;
		}
	}
truncated:
	sc->what = "the text ends inside an escape";
	return NULL;
}

static const unsigned char *digits(const unsigned char *p,
				   const unsigned char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const unsigned char *scan_number(struct scan *sc, const unsigned char *p)
{
	const unsigned char *end = sc->end, *q;

	if (*p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		goto bad;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9') {
			sc->what = "a number with a leading zero";
			return NULL;
		}
	} else {
		p = digits(p, end);
	}
	if (p < end && *p == '.') {
		q = digits(p + 1, end);
		if (q == p + 1)
			goto bad;
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = digits(p, end);
		if (q == p)
			goto bad;
		p = q;
	}
	return p;
bad:
	sc->what = "a malformed number";
	return NULL;
}

static const unsigned char *scan_literal(struct scan *sc,
					 const unsigned char *p,
					 const char *word, size_t n)
{
	if ((size_t)(sc->end - p) < n || memcmp(p, word, n) != 0) {
		sc->what = "expected a value";
		return NULL;
	}
	return p + n;
}

/* '[' or '{' on *pp: an empty container, or one more open one. */
static enum step open_container(struct scan *sc, const unsigned char **pp)
{
	unsigned char open = **pp, close = open == '{' ? '}' : ']';
	const unsigned char *p = skip_ws(*pp + 1, sc->end);

	if (p < sc->end && *p == close) {
		*pp = p + 1;
		return STEP_AFTER;
	}
	sc->stack[sc->depth++] = (char)open;
	*pp = p;
	return open == '{' ? STEP_KEY : STEP_VALUE;
}

/* A value starts at *pp. */
static enum step scan_value(struct scan *sc, const unsigned char **pp)
{
	const unsigned char *p = *pp;

	if (p == sc->end) {
		sc->what = "the text ends where a value was expected";
		return STEP_FAIL;
	}
	if (sc->outer + sc->depth + 1 > SESSNAP__JSON_DEPTH)
		return STEP_TOO_DEEP;
	sc->v = p;
	switch (*p) {
	case '{':
	case '[':
		return open_container(sc, pp);
	case '"':
		p = scan_string(sc, p);
		break;
	case 't':
		p = scan_literal(sc, p, "true", 4);
		break;
	case 'f':
		p = scan_literal(sc, p, "false", 5);
		break;
	case 'n':
		p = scan_literal(sc, p, "null", 4);
		break;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		p = scan_number(sc, p);
		break;
	default:
		sc->what = "expected a value";
		return STEP_FAIL;
	}
	if (p == NULL)
		return STEP_FAIL_AT_VALUE;
	*pp = p;
	return STEP_AFTER;
}

/* A member's name and its ':' start at *pp, inside an object. */
static enum step scan_key(struct scan *sc, const unsigned char **pp)
{
	const unsigned char *p = *pp, *end = sc->end;

	if (p == end || *p != '"') {
		sc->what = "expected a string as the member's name";
		return STEP_FAIL;
	}
	sc->v = p;
	if ((p = scan_string(sc, p)) == NULL)
		return STEP_FAIL_AT_VALUE;
	p = skip_ws(p, end);
	if (p == end || *p != ':') {
		sc->what = "expected ':' after the member's name";
		*pp = p;
		return STEP_FAIL;
	}
	*pp = skip_ws(p + 1, end);
	return STEP_VALUE;
}

/* A value ended before *pp: the end of the text, ',' or a closing one. */
static enum step scan_after(struct scan *sc, const unsigned char **pp)
{
	const unsigned char *p = skip_ws(*pp, sc->end);
	char top;

	*pp = p;
	if (sc->depth == 0) {
		if (p != sc->end) {
			sc->what = "more than one JSON value, or trailing "
				   "characters after the value";
			return STEP_FAIL;
		}
		return STEP_DONE;
	}
	top = sc->stack[sc->depth - 1];
	if (p == sc->end) {
		sc->what = top == '[' ? "the text ends inside an array" :
					"the text ends inside an object";
		return STEP_FAIL;
	}
	if (*p == ',') {
		*pp = skip_ws(p + 1, sc->end);
		return top == '{' ? STEP_KEY : STEP_VALUE;
	}
	if ((*p == ']' && top == '[') || (*p == '}' && top == '{')) {
		*pp = p + 1;
		sc->depth--;
		return STEP_AFTER;
	}
	sc->what = top == '[' ? "expected ',' or ']' in an array" :
				"expected ',' or '}' in an object";
	return STEP_FAIL;
}

/* The message of a failed scan; p is where the scan stopped. */
static int report(const struct scan *sc, enum step step, const unsigned char *p)
{
	if (step == STEP_TOO_DEEP)
		return sessnap__error(
		    SESSNAP_EINVAL,
		    "the value at byte %zu is nested %zu "
		    "deep, more than the loader's limit of %d",
		    (size_t)(p - sc->start), sc->outer + sc->depth + 1,
		    SESSNAP__JSON_DEPTH);
	if (step == STEP_FAIL_AT_VALUE)
		/* The helpers return NULL: report where the value starts. */
		return sessnap__error(SESSNAP_EINVAL,
				      "%s, in the value at byte %zu", sc->what,
				      (size_t)(sc->v - sc->start));
	return sessnap__error(SESSNAP_EINVAL, "%s at byte %zu", sc->what,
			      (size_t)(p - sc->start));
}

/*
 * Check that text[0..len) is exactly one JSON value (RFC 8259) that the
 * loader's tokener accepts.  Returns 0, or SESSNAP_EINVAL with the reason
 * and the byte offset in the message.
 *
 * Nesting: json-c's tokener (json_tokener_new_ex(SESSNAP__JSON_DEPTH))
 * holds one level for every value being parsed, its scalars included, so
 * a value may sit inside at most SESSNAP__JSON_DEPTH - 1 containers: 1024
 * nested empty arrays parse, 1023 nested objects around a number parse,
 * one more of either does not.  scan_value() counts the same way.
 */
int sessnap__json_check(const char *text, size_t len)
{
	return sessnap__json_check_under(text, len, 0);
}

int sessnap__json_check_under(const char *text, size_t len, size_t outer)
{
	struct scan sc;
	const unsigned char *p;
	enum step step = STEP_VALUE;

	sc.start = (const unsigned char *)text;
	sc.end = sc.start + len;
	sc.v = sc.start;
	sc.what = NULL;
	sc.depth = 0;
	sc.outer = outer;
	p = skip_ws(sc.start, sc.end);
	if (p == sc.end)
		return sessnap__error(
		    SESSNAP_EINVAL, "the text holds no JSON value%s",
		    len == 0 ? " (it is empty)" : " (only whitespace)");
	for (;;) {
		switch (step) {
		case STEP_VALUE:
			step = scan_value(&sc, &p);
			continue;
		case STEP_KEY:
			step = scan_key(&sc, &p);
			continue;
		case STEP_AFTER:
			step = scan_after(&sc, &p);
			continue;
		case STEP_DONE:
			return 0;
		case STEP_FAIL:
		case STEP_FAIL_AT_VALUE:
		case STEP_TOO_DEEP:
			return report(&sc, step, p);
		}
	}
}
