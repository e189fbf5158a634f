/*
 * patch.c - patch operations on a state held as JSON text
 *
 * sessnap_session_patch() hands over operations on the state (RFC 6902's
 * "add", "replace" and "remove", addressed by RFC 6901 JSON Pointers)
 * instead of the whole state.  This module is their pure part, with no
 * I/O and no lock:
 *
 *	sessnap__patch_batch_new()   on the app's thread: check each pointer
 *	                             and value, serialize the values, pack the
 *	                             batch into one allocation
 *	sessnap__patch_apply()       on the saving thread: apply one operation
 *	                             to the session's copy of the state, the
 *	                             compact JSON text that the save writes
 *
 * Why text and not a json-c tree.  The saving thread keeps a copy of the
 * state of its own (json-c objects are not thread-safe: it cannot share
 * the program's).  A tree of a 16 MiB state costs several times that in
 * memory and a full serialization at every save; the text costs its own
 * size, and it is what the save writes anyway.  An operation locates its
 * target by scanning the text (allocation-free: member names are decoded
 * on the fly, escapes included, and compared with the pointer's token) and
 * splices bytes in place: the value replaced, a member or element removed
 * with one comma, a new object member appended after the last one, as
 * json-c's object_add does.  Values are serialized by json-c with the
 * flags update() uses, and so are new member names: when the copy came
 * from json-c's serializer, the patched text is byte for byte what json-c
 * would serialize of the patched tree (tests/check_patch.c holds it to
 * that over random documents and operations).
 *
 * The copy is always text the validating scanner accepts (update_text()
 * checks it, update() is json-c's, a reread state is checked when the
 * copy is built): the scan below still checks every bound, and refuses
 * rather than guesses at anything that is not JSON.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Pointers -------------------------------------------------------------
 */

int sessnap__pointer_check(const char *ptr, size_t len, size_t *tokens)
{
	size_t i, n = 0;

	*tokens = 0;
	if (len == 0)
		return 0;
	if (ptr[0] != '/')
		return sessnap__error(SESSNAP_EINVAL,
				      "the pointer does not start with '/' "
				      "(RFC 6901: \"\" or \"/token...\")");
	for (i = 0; i < len; i++) {
		if (ptr[i] == '/') {
			n++;
		} else if (ptr[i] == '~') {
			if (i + 1 >= len ||
			    (ptr[i + 1] != '0' && ptr[i + 1] != '1'))
				return sessnap__error(
				    SESSNAP_EINVAL,
				    "'~' at byte %zu of the pointer is not "
				    "\"~0\" or \"~1\" (RFC 6901)",
				    i);
			i++;
		}
	}
	*tokens = n;
	return 0;
}

/* The next byte of a pointer token (escapes decoded); false at its end. */
static bool tok_next(const char **pp, const char *end, unsigned char *c)
{
	const char *p = *pp;

	if (p >= end)
		return false;
	if (*p == '~' && p + 1 < end) {
		*c = p[1] == '0' ? '~' : '/';
		*pp = p + 2;
		return true;
	}
	*c = (unsigned char)*p;
	*pp = p + 1;
	return true;
}

/* ---- Batches --------------------------------------------------------------
 */

/* Append n bytes (and a NUL) to the batch being built; *off: where. */
static int put(sessnap__patch_batch **b, size_t *cap, size_t *off,
	       const char *data, size_t n)
{
	sessnap__patch_batch *nb;
	size_t need, ncap;

	if (n > SIZE_MAX - (*b)->used - 1)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	need = (*b)->used + n + 1;
	if (need > *cap) {
		ncap = *cap * 2 > need ? *cap * 2 : need;
		if ((nb = realloc(*b, ncap)) == NULL)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
		*b = nb;
		*cap = ncap;
	}
	*off = (*b)->used;
	memcpy((char *)*b + (*b)->used, data, n);
	((char *)*b)[(*b)->used + n] = '\0';
	(*b)->used += n + 1;
	return 0;
}

const char *sessnap__patch_kind_name(int op)
{
	switch (op) {
	case SESSNAP_PATCH_ADD:
		return "add";
	case SESSNAP_PATCH_REPLACE:
		return "replace";
	case SESSNAP_PATCH_REMOVE:
		return "remove";
	}
	return "?";
}

/*
 * The last token of the pointer, decoded, serialized as a JSON string by
 * json-c (the member name of an "add" that creates a member).
 */
static int put_key(sessnap__patch_batch **b, size_t *cap, size_t i,
		   const char *path, size_t len)
{
	const char *t = path + len, *p, *str;
	unsigned char c;
	json_object *o;
	size_t n = 0, slen, off;
	char *dec;
	int rc;

	while (t > path && t[-1] != '/')
		t--;
	if ((dec = malloc((size_t)(path + len - t) + 1)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	for (p = t; tok_next(&p, path + len, &c);)
		dec[n++] = (char)c;
	o = json_object_new_string_len(dec, (int)n);
	free(dec);
	if (o == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	str =
	    json_object_to_json_string_length(o, SESSNAP__PAYLOAD_FLAGS, &slen);
	if (str == NULL) {
		json_object_put(o);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	/* The loader reads UTF-8 only: so must a member name be. */
	if ((rc = sessnap__json_check(str, slen)) < 0) {
		json_object_put(o);
		return sessnap__error(SESSNAP_EINVAL,
				      "the pointer's last token is not UTF-8: "
				      "%s",
				      sessnap_error_last());
	}
	/* put() may move the batch: the record is found again after it */
	rc = put(b, cap, &off, str, slen);
	if (rc == 0) {
		(*b)->ops[i].key_off = off;
		(*b)->ops[i].key_len = slen;
	}
	json_object_put(o);
	return rc;
}

/* Check and pack operation i; the message says what is wrong. */
static int put_op(sessnap__patch_batch **b, size_t *cap, size_t i, int op,
		  const char *path, json_object *value, const char *text,
		  size_t text_len, bool is_text, size_t max_value)
{
	sessnap__patch_rec *r;
	const char *str = NULL;
	size_t tokens, plen, vlen = 0, off;
	int rc, depth = 0;

	if (op != SESSNAP_PATCH_ADD && op != SESSNAP_PATCH_REPLACE &&
	    op != SESSNAP_PATCH_REMOVE)
		return sessnap__error(SESSNAP_EINVAL, "unknown operation %d",
				      op);
	if (path == NULL)
		return sessnap__error(SESSNAP_EINVAL, "NULL pointer path");
	plen = strlen(path);
	if ((rc = sessnap__pointer_check(path, plen, &tokens)) < 0)
		return rc;
	if (op == SESSNAP_PATCH_REMOVE && plen == 0)
		return sessnap__error(SESSNAP_EINVAL,
				      "remove of \"\" (the whole state) would "
				      "leave no state");
	if (tokens >= SESSNAP__JSON_DEPTH)
		return sessnap__error(SESSNAP_ETOOBIG,
				      "the pointer is %zu tokens deep, more "
				      "than the loader's nesting limit of %d",
				      tokens, SESSNAP__JSON_DEPTH - 1);
	if (op != SESSNAP_PATCH_REMOVE) {
		if (is_text) {
			if (text == NULL)
				return sessnap__error(SESSNAP_EINVAL,
						      "NULL value text");
			if (text_len > max_value)
				goto too_big;
			rc = sessnap__json_check_under(text, text_len, tokens);
			if (rc < 0)
				return rc;
			str = text;
			vlen = text_len;
		} else {
			/*
			 * The depth walk comes first: it stops at the limit,
			 * so a cyclic value is refused, never serialized.
			 */
			if (value != NULL &&
			    (!sessnap__json_depth_ok(value, &depth) ||
			     (size_t)depth + tokens >= SESSNAP__JSON_DEPTH))
				return sessnap__error(
				    SESSNAP_ETOOBIG,
				    "the value nests %s%d arrays or objects "
				    "deep under a pointer of %zu tokens: "
				    "more than the loader's limit of %d",
				    depth >= SESSNAP__JSON_DEPTH ? "at least " :
								   "",
				    depth, tokens, SESSNAP__JSON_DEPTH - 1);
			if (value == NULL) {
				str = "null";
				vlen = 4;
			} else {
				str = json_object_to_json_string_length(
				    value, SESSNAP__PAYLOAD_FLAGS, &vlen);
				if (str == NULL)
					return sessnap__error(
					    SESSNAP_ENOMEM,
					    "out of memory serializing the "
					    "value");
			}
			if (vlen > max_value)
				goto too_big;
		}
	}
	if ((rc = put(b, cap, &off, path, plen)) < 0)
		return rc;
	r = &(*b)->ops[i];
	r->op = op;
	r->path_off = off;
	r->path_len = plen;
	r->key_off = r->value_off = 0;
	r->key_len = r->value_len = 0;
	if (op == SESSNAP_PATCH_ADD && plen > 0 &&
	    (rc = put_key(b, cap, i, path, plen)) < 0)
		return rc;
	if (str != NULL) {
		if ((rc = put(b, cap, &off, str, vlen)) < 0)
			return rc;
		(*b)->ops[i].value_off = off;
		(*b)->ops[i].value_len = vlen;
	}
	return 0;
too_big:
	return sessnap__error(SESSNAP_ETOOBIG,
			      "the value is %zu bytes, more than the largest "
			      "state the store's read bound lets be loaded "
			      "back (%zu bytes)",
			      is_text ? text_len : vlen, max_value);
}

int sessnap__patch_batch_new(sessnap__patch_batch **out,
			     const sessnap_patch_op *ops,
			     const sessnap_patch_text_op *tops, size_t n_ops,
			     size_t max_value)
{
	sessnap__patch_batch *b;
	size_t i, cap, head;
	int rc = 0;

	*out = NULL;
	if (n_ops > (SIZE_MAX - sizeof(*b)) / sizeof(b->ops[0]) / 2)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	head = sizeof(*b) + n_ops * sizeof(b->ops[0]);
	cap = head + 64 * n_ops;
	if ((b = malloc(cap)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	b->next = NULL;
	b->n_ops = n_ops;
	b->used = head;
	b->text = ops == NULL;
	for (i = 0; i < n_ops; i++) {
		if (ops != NULL)
			rc = put_op(&b, &cap, i, (int)ops[i].op, ops[i].path,
				    ops[i].value, NULL, 0, false, max_value);
		else
			rc = put_op(&b, &cap, i, (int)tops[i].op, tops[i].path,
				    NULL, tops[i].value, tops[i].value_len,
				    true, max_value);
		if (rc < 0) {
			int op = ops ? (int)ops[i].op : (int)tops[i].op;
			const char *path = ops ? ops[i].path : tops[i].path;

			free(b);
			return sessnap__error(
			    rc, "operation %zu (%s \"%.200s\"): %s", i,
			    sessnap__patch_kind_name(op),
			    path ? path : "(null)", sessnap_error_last());
		}
	}
	/* One allocation, no larger than its contents. */
	if (b->used < cap) {
		sessnap__patch_batch *nb = realloc(b, b->used);

		if (nb != NULL)
			b = nb;
	}
	*out = b;
	return 0;
}

void sessnap__patch_list_free(sessnap__patch_batch *b)
{
	sessnap__patch_batch *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

/* ---- Scanning the text ----------------------------------------------------
 *
 * The helpers take the current position and the text's end and return the
 * position after what they skipped, or NULL when the text is not what
 * JSON would have there.
 */

typedef const unsigned char uc;

static uc *ws(uc *p, uc *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/*
 * p at a '"': the position after the closing quote.  memchr finds the
 * next quote; it closes the string unless an odd number of backslashes
 * precedes it.
 */
static uc *skip_string(uc *p, uc *end)
{
	uc *q, *b;

	for (p++; p < end; p = q + 1) {
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
			return NULL;
		for (b = q; b > p && b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q + 1;
	}
	return NULL;
}

/* The bytes a scan over a container's contents stops at. */
static const unsigned char structural[256] = {
	['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

/*
 * Inside a container, after its opening bracket (depth 1 from there):
 * the position of its closing bracket.
 */
static uc *skip_rest(uc *p, uc *end)
{
	size_t depth = 1;

	for (;;) {
		while (p < end && !structural[*p])
			p++;
		if (p >= end)
			return NULL;
		switch (*p) {
		case '"':
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		default:
			if (--depth == 0)
				return p;
		}
		p++;
	}
}

/* The position after the value that starts at p. */
static uc *skip_value(uc *p, uc *end)
{
	if (p >= end)
		return NULL;
	if (*p == '{' || *p == '[') {
		p = skip_rest(p + 1, end);
		return p != NULL ? p + 1 : NULL;
	}
	if (*p == '"')
		return skip_string(p, end);
	while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' &&
	       *p != '\n' && *p != '\t' && *p != '\r' && *p != ':' &&
	       *p != '"' && *p != '[' && *p != '{')
		p++;
	return p;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex4(uc *p, uc *end, unsigned int *v)
{
	int i, h;

	*v = 0;
	if (end - p < 4)
		return false;
	for (i = 0; i < 4; i++) {
		if ((h = hexval(p[i])) < 0)
			return false;
		*v = *v << 4 | (unsigned int)h;
	}
	return true;
}

/*
 * The next character of a JSON string's contents (p inside the quotes,
 * end at the closing quote), decoded to UTF-8 bytes in out; returns how
 * many, 0 at the end or on a bad escape (*bad set).
 */
static size_t str_next(uc **pp, uc *end, unsigned char out[4], bool *bad)
{
	uc *p = *pp;
	unsigned int cp, lo;

	if (p >= end)
		return 0;
	if (*p != '\\') {
		out[0] = *p;
		*pp = p + 1;
		return 1;
	}
	if (p + 1 >= end)
		goto bad;
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
		out[0] = p[1];
		break;
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		if (!hex4(p + 2, end, &cp))
			goto bad;
		p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u' && hex4(p + 2, end, &lo) &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		*pp = p;
		if (cp < 0x80) {
			out[0] = (unsigned char)cp;
			return 1;
		}
		if (cp < 0x800) {
			out[0] = (unsigned char)(0xc0 | cp >> 6);
			out[1] = (unsigned char)(0x80 | (cp & 0x3f));
			return 2;
		}
		if (cp < 0x10000) {
			out[0] = (unsigned char)(0xe0 | cp >> 12);
			out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			out[2] = (unsigned char)(0x80 | (cp & 0x3f));
			return 3;
		}
		out[0] = (unsigned char)(0xf0 | cp >> 18);
		out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[3] = (unsigned char)(0x80 | (cp & 0x3f));
		return 4;
	default:
		goto bad;
	}
	*pp = p + 2;
	return 1;
bad:
	*bad = true;
	return 0;
}

/* Whether the member name k[0..kend) (a string's contents) is the token. */
static bool name_is(uc *k, uc *kend, const char *tok, const char *tend,
		    bool *bad)
{
	unsigned char buf[4], c;
	size_t n, i;

	for (;;) {
		n = str_next(&k, kend, buf, bad);
		if (n == 0)
			return !*bad && !tok_next(&tok, tend, &c);
		for (i = 0; i < n; i++)
			if (!tok_next(&tok, tend, &c) || c != buf[i])
				return false;
	}
}

/*
 * What a scan of one container found.  The target is the member or
 * element the token names (found: 0 or 1): its start (the member's name
 * or the element), its value [vstart, vend), the end of the value before
 * it (prev_end, NULL for the first) and the start of the one after it
 * (next, NULL for the last).  close is the container's closing bracket,
 * last_end the end of its last value (NULL when empty), n its count.
 */
struct found {
	size_t found, n;
	uc *start, *vstart, *vend, *prev_end, *next;
	uc *close, *last_end;
};

/*
 * After the member or element that ends at vend: past a ',' to the next
 * one (1, *p at its start), or at the container's closing `close` (0,
 * f->close set).  -1: neither, so the text is not JSON there.
 */
static int next_item(struct found *f, uc **p, uc *vend, uc *end, char close)
{
	uc *q = ws(vend, end);

	if (q < end && *q == ',') {
		*p = ws(q + 1, end);
		return 1;
	}
	if (q < end && *q == (unsigned char)close) {
		f->close = q;
		return 0;
	}
	return -1;
}

/*
 * The member named by the token in the object at p ('{').  The whole
 * object is scanned, so that a name found twice is refused, unless the
 * text is known to hold no such object (unique): then the scan stops at
 * the member after the one found, and close stays unknown (NULL); and
 * when the value's end is not needed either (a token on the way down),
 * at the value's start.
 */
static const char *scan_object(struct found *f, uc *p, uc *end, const char *tok,
			       const char *tend, bool unique, bool need_end)
{
	uc *k, *kend, *v, *vend, *prev = NULL;
	int more;
	bool bad = false, hit;

	memset(f, 0, sizeof(*f));
	p = ws(p + 1, end);
	if (p < end && *p == '}') {
		f->close = p;
		return NULL;
	}
	for (;;) {
		if (p >= end || *p != '"')
			return "the state text is not JSON here";
		k = p;
		if ((kend = skip_string(k, end)) == NULL)
			return "the state text is not JSON here";
		p = ws(kend, end);
		if (p >= end || *p != ':')
			return "the state text is not JSON here";
		v = ws(p + 1, end);
		hit = name_is(k + 1, kend - 1, tok, tend, &bad);
		if (bad)
			return "a member name of the state has a bad escape";
		if (hit && unique && !need_end) {
			/* on the way down only the value's start matters */
			f->found = 1;
			f->start = k;
			f->vstart = v;
			return NULL;
		}
		if ((vend = skip_value(v, end)) == NULL || vend == v)
			return "the state text is not JSON here";
		if (f->found == 1 && f->next == NULL) {
			f->next = k;
			if (unique)
				return NULL;
		}
		if (hit) {
			if (++f->found > 1)
				return "the object has that member more than "
				       "once";
			f->start = k;
			f->vstart = v;
			f->vend = vend;
			f->prev_end = prev;
		}
		f->n++;
		f->last_end = vend;
		prev = vend;
		if ((more = next_item(f, &p, vend, end, '}')) < 0)
			return "the state text is not JSON here";
		if (more == 0)
			return NULL;
	}
}

/*
 * An array index token: "0" or digits without a leading zero.  *idx is
 * SIZE_MAX for "-" (past the end) and for an index too large to be one.
 */
static bool index_of(const char *tok, const char *tend, size_t *idx)
{
	size_t v = 0;
	const char *p;

	if (tend - tok == 1 && *tok == '-') {
		*idx = SIZE_MAX;
		return true;
	}
	if (tok == tend || (*tok == '0' && tend - tok > 1))
		return false;
	for (p = tok; p < tend; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (SIZE_MAX - 1 - (size_t)(*p - '0')) / 10)
			v = SIZE_MAX - 1;
		else
			v = v * 10 + (size_t)(*p - '0');
	}
	*idx = v;
	return true;
}

/*
 * Element idx of the array at p ('['), scanned up to the start of the
 * one after it (close then stays unknown) (or only to its start, when its end
 * is not needed: a token on the way down); idx SIZE_MAX ("-") skips to the end
 * without counting: then only close and whether the array is empty (n 0 or 1)
 * are known.
 */
static const char *scan_array(struct found *f, uc *p, uc *end, size_t idx,
			      bool need_end)
{
	uc *v, *vend, *prev = NULL;
	int more;

	memset(f, 0, sizeof(*f));
	p = ws(p + 1, end);
	if (p < end && *p == ']') {
		f->close = p;
		return NULL;
	}
	if (idx == SIZE_MAX) {
		if ((f->close = skip_rest(p, end)) == NULL)
			return "the state text is not JSON here";
		f->n = 1;
		return NULL;
	}
	for (;;) {
		v = p;
		if (f->n == idx && !need_end) {
			/* on the way down only the element's start matters */
			f->found = 1;
			f->start = f->vstart = v;
			return NULL;
		}
		if ((vend = skip_value(v, end)) == NULL || vend == v)
			return "the state text is not JSON here";
		if (f->found == 1 && f->next == NULL) {
			/* nothing after the element is needed */
			f->next = v;
			f->last_end = NULL; /* unknown, and not needed */
			return NULL;
		}
		if (f->n == idx) {
			f->found = 1;
			f->start = f->vstart = v;
			f->vend = vend;
			f->prev_end = prev;
		}
		f->n++;
		f->last_end = vend;
		prev = vend;
		if ((more = next_item(f, &p, vend, end, ']')) < 0)
			return "the state text is not JSON here";
		if (more == 0)
			return NULL;
	}
}

/* ---- Splicing -------------------------------------------------------------
 */

/*
 * Replace text[pos, pos + del) with the concatenation of parts, growing
 * the buffer when needed (text[len] stays a NUL).  Nothing changes when
 * this fails.
 */
struct part {
	const char *p;
	size_t n;
};

static int splice(char **text, size_t *len, size_t *cap, size_t pos, size_t del,
		  const struct part *parts, size_t nparts, size_t max)
{
	size_t add = 0, nlen, i, at;
	char *t = *text, *nt;

	for (i = 0; i < nparts; i++)
		add += parts[i].n;
	nlen = *len - del + add;
	if (nlen > max)
		return sessnap__error(SESSNAP_EPATCH,
				      "the state would be %zu bytes, more "
				      "than the largest the store's read "
				      "bound lets be loaded back (%zu bytes)",
				      nlen, max);
	if (nlen + 1 > *cap) {
		size_t ncap = nlen + 1 + nlen / 8;

		if ((nt = realloc(t, ncap)) == NULL)
			return sessnap__error(SESSNAP_ENOMEM,
					      "out of memory patching the "
					      "state");
		*text = t = nt;
		*cap = ncap;
	}
	memmove(t + pos + add, t + pos + del, *len - pos - del + 1);
	for (i = 0, at = pos; i < nparts; i++) {
		memcpy(t + at, parts[i].p, parts[i].n);
		at += parts[i].n;
	}
	*len = nlen;
	return 0;
}

static int fail(const char *why)
{
	return sessnap__error(SESSNAP_EPATCH, "%s", why);
}

/* The target's place, as the path walk left it. */
struct target {
	struct found f;
	bool obj;	      /* in an object (else an array) */
	size_t idx;	      /* in an array: the index (SIZE_MAX: "-") */
	const char *tok, *tend; /* the path's last token */
};

/* The error for a token that names nothing in its container. */
static int missing(const struct target *g)
{
	if (g->obj)
		return sessnap__error(
		    SESSNAP_EPATCH, "the object has no member \"%.*s\"",
		    (int)(g->tend - g->tok > 64 ? 64 : g->tend - g->tok),
		    g->tok);
	if (g->idx == SIZE_MAX)
		return sessnap__error(SESSNAP_EPATCH,
				      "\"-\" names no element (only an add "
				      "may use it, as the last token)");
	return sessnap__error(SESSNAP_EPATCH,
			      "index %zu is past the end of the array (%zu "
			      "elements)",
			      g->idx, g->f.n);
}

/*
 * Walk the path's tokens from the value at v: every container on the way
 * must hold the next token; the last one's container is scanned for it
 * (found or not) into *g.  Returns 0 or the error.
 */
static int locate(struct target *g, uc *v, uc *end, const char *path,
		  const char *pend, bool unique)
{
	const char *why;

	for (g->tok = path + 1;; g->tok = g->tend + 1) {
		for (g->tend = g->tok; g->tend < pend && *g->tend != '/';
		     g->tend++)
			;
		if (v >= end || (*v != '{' && *v != '['))
			return fail("a value on the way is not an object or "
				    "array");
		g->obj = *v == '{';
		if (g->obj) {
			why = scan_object(&g->f, v, end, g->tok, g->tend,
					  unique, g->tend == pend);
		} else {
			if (!index_of(g->tok, g->tend, &g->idx))
				return sessnap__error(
				    SESSNAP_EPATCH,
				    "\"%.*s\" is not an array index",
				    (int)(g->tend - g->tok > 64 ?
					      64 :
					      g->tend - g->tok),
				    g->tok);
			why = scan_array(&g->f, v, end, g->idx,
					 g->tend == pend);
		}
		if (why != NULL)
			return fail(why);
		if (g->tend == pend)
			return 0;
		if (g->f.found == 0)
			return missing(g);
		v = g->f.vstart;
	}
}

/* An add: a new member after the last (as json-c appends it), or a new
 * element at the index (after the last for "-" or the length). */
static int add_at(char **text, size_t *len, size_t *cap,
		  const struct target *g, struct part key, struct part val,
		  size_t max)
{
	const struct found *f = &g->f;
	uc *t = (uc *)*text;
	struct part parts[4];
	size_t np = 0, pos;

	if (g->obj) {
		if (f->last_end != NULL)
			parts[np++] = (struct part){ ",", 1 };
		parts[np++] = key;
		parts[np++] = (struct part){ ":", 1 };
		parts[np++] = val;
		pos = (size_t)((f->last_end ? f->last_end : f->close) - t);
		return splice(text, len, cap, pos, 0, parts, np, max);
	}
	if (g->idx != SIZE_MAX && g->idx > f->n)
		return missing(g);
	if (f->found) {
		parts[np++] = val;
		parts[np++] = (struct part){ ",", 1 };
		pos = (size_t)(f->start - t);
	} else {
		/* after the last element ("-" knows only the closing
		 * bracket: just before it, the same bytes in compact
		 * text) */
		if (f->n > 0)
			parts[np++] = (struct part){ ",", 1 };
		parts[np++] = val;
		pos = (size_t)((f->last_end ? f->last_end : f->close) - t);
	}
	return splice(text, len, cap, pos, 0, parts, np, max);
}

/* A remove: the member or element found, and one comma. */
static int remove_found(char **text, size_t *len, size_t *cap,
			const struct found *f, size_t max)
{
	uc *t = (uc *)*text, *rm_from, *rm_to;

	if (f->prev_end != NULL) {
		rm_from = f->prev_end;
		rm_to = f->vend;
	} else if (f->next != NULL) {
		rm_from = f->start;
		rm_to = f->next;
	} else {
		rm_from = f->start;
		rm_to = f->vend;
	}
	return splice(text, len, cap, (size_t)(rm_from - t),
		      (size_t)(rm_to - rm_from), NULL, 0, max);
}

int sessnap__patch_apply(char **text, size_t *len, size_t *cap,
			 const sessnap__patch_batch *b, size_t i, size_t max,
			 bool unique)
{
	const sessnap__patch_rec *r = &b->ops[i];
	const char *base = (const char *)b;
	const char *path = base + r->path_off, *pend = path + r->path_len;
	struct part val = { base + r->value_off, r->value_len };
	struct part key = { base + r->key_off, r->key_len };
	uc *t = (uc *)*text, *end = t + *len;
	struct target g;
	int rc;

	if (r->path_len == 0) /* the whole state */
		return splice(text, len, cap, 0, *len, &val, 1, max);
	memset(&g, 0, sizeof(g));
	if ((rc = locate(&g, ws(t, end), end, path, pend, unique)) < 0)
		return rc;
	/* an add inserts, but on an object member that exists it replaces */
	if (r->op == SESSNAP_PATCH_ADD && (!g.obj || g.f.found == 0))
		return add_at(text, len, cap, &g, key, val, max);
	if (g.f.found == 0)
		return missing(&g);
	if (r->op != SESSNAP_PATCH_REMOVE) /* replace, or add on a member */
		return splice(text, len, cap, (size_t)(g.f.vstart - t),
			      (size_t)(g.f.vend - g.f.vstart), &val, 1, max);
	return remove_found(text, len, cap, &g.f, max);
}
