/*
 * ingestion._fastconvert: OTLP ExportTraceServiceRequest bytes -> the span schema's column buffers.
 *
 * Why this exists: converting spans in Python (protobuf objects, dicts, orjson) costs so much CPU
 * per span that one core stays well under the ingestion budget (docs/PERFORMANCE.md).
 * This decoder reads the protobuf wire format directly and writes the columns (hex ids, JSON
 * text by the v1 rules, fixed-width numbers) into flat buffers that Python wraps as Arrow arrays
 * without copying them again.
 *
 * It is a fast path only. ingestion/convert.py stays the definition of the semantics: whenever
 * this decoder meets anything that path would reject or treat specially -- invalid UTF-8, an id
 * of the wrong length, a kind or status code out of range, nesting deeper than 32, an AnyValue
 * with more than one value, a repeated singular message, a group, a malformed varint, more keys
 * in a nested key-value list than a span may have -- it returns None and the whole request goes
 * through the Python converter. The limits (convert.Limits) are applied here exactly as there,
 * so a hostile request never needs the Python path's copies of its values: a long text value is
 * cut with the truncation marker convert.py gives (configure()), attributes past the per-span
 * count and events past theirs are dropped and counted, and a span over its byte limit or past
 * the request's resource budget is rejected with the Python path's message (a count and the
 * first few messages come back for partial_success). The tests compare both converters row for
 * row.
 *
 * JSON rules (junjo_common.spanformat.v1, i.e. orjson with sorted keys): compact, keys sorted by
 * their UTF-8 bytes with the last duplicate winning, non-ASCII written as UTF-8, control
 * characters escaped like orjson, bytes as lowercase hex, NaN/Infinity as null. Finite doubles are
 * formatted by a Python callable given to set_double_formatter() (orjson itself), so float
 * spelling can never drift from the Python path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OK 0
#define FALLBACK 1 /* not ours to decide: let the Python converter handle the request */
#define NOMEM 2
#define MAX_NESTING_DEPTH 32
#define TRACE_ID_LEN 16
#define SPAN_ID_LEN 8
typedef struct {
    char *p;
    size_t len, cap;
} Buf;

#define CHECK(expr)                   \
    do {                              \
        int rc_ = (expr);             \
        if (rc_ != OK) return rc_;    \
    } while (0)

/* Set once by configure() at import of convert.py. */
static PyObject *double_formatter; /* orjson.dumps */
static Buf marker_head, marker_tail; /* TRUNCATED_MARKER around its "{}", as JSON string content */
static Py_ssize_t max_messages;      /* rejection messages kept per request */

/* The limits of one convert() call (convert.Limits); convert() holds the GIL throughout. */
static struct {
    uint64_t value_bytes, attributes, events, span_bytes, resource_bytes_x_spans;
} limits;

/* --- growable byte buffer ------------------------------------------------------------------ */

static int buf_grow(Buf *b, size_t extra) {
    size_t need = b->len + extra;
    if (need <= b->cap) return OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return NOMEM;
    b->p = p;
    b->cap = cap;
    return OK;
}

static inline int buf_put(Buf *b, const void *s, size_t n) {
    if (!n) return OK; /* memcpy must not see the NULL of an empty buffer, even for 0 bytes */
    if (b->len + n > b->cap) CHECK(buf_grow(b, n));
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return OK;
}

static inline int buf_putc(Buf *b, char c) {
    if (b->len + 1 > b->cap) CHECK(buf_grow(b, 1));
    b->p[b->len++] = c;
    return OK;
}

#define PUT_LIT(b, s) buf_put((b), (s), sizeof(s) - 1)

static int buf_put_u64(Buf *b, uint64_t v) {
    char tmp[20];
    int i = 20;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return buf_put(b, tmp + i, (size_t)(20 - i));
}

static int buf_put_i64(Buf *b, int64_t v) {
    if (v < 0) {
        CHECK(buf_putc(b, '-'));
        return buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    }
    return buf_put_u64(b, (uint64_t)v);
}

static const char HEX[] = "0123456789abcdef";

static int buf_put_hex(Buf *b, const uint8_t *s, size_t n) {
    if (!n) return OK;
    CHECK(buf_grow(b, 2 * n));
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = HEX[s[i] >> 4];
        o[2 * i + 1] = HEX[s[i] & 15];
    }
    b->len += 2 * n;
    return OK;
}

/* --- protobuf wire reading ----------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} Reader;

typedef struct {
    const uint8_t *p;
    size_t n;
} Slice;

static inline int rd_varint(Reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return FALLBACK;
        uint8_t byte = *r->p++;
        v |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = v;
            return OK;
        }
    }
    return FALLBACK; /* longer than 10 bytes */
}

static inline int rd_tag(Reader *r, uint32_t *field, uint32_t *wire_type) {
    uint64_t tag;
    CHECK(rd_varint(r, &tag));
    if (tag > 0xFFFFFFFFu || (tag >> 3) == 0) return FALLBACK;
    *field = (uint32_t)(tag >> 3);
    *wire_type = (uint32_t)(tag & 7);
    return OK;
}

static inline int rd_bytes(Reader *r, Slice *out) {
    uint64_t n;
    CHECK(rd_varint(r, &n));
    if (n > (uint64_t)(r->end - r->p)) return FALLBACK;
    out->p = r->p;
    out->n = (size_t)n;
    r->p += n;
    return OK;
}

static inline int rd_fixed64(Reader *r, uint64_t *out) {
    if (r->end - r->p < 8) return FALLBACK;
    memcpy(out, r->p, 8); /* little-endian host (x86-64, aarch64) */
    r->p += 8;
    return OK;
}

static inline int rd_fixed32(Reader *r, uint32_t *out) {
    if (r->end - r->p < 4) return FALLBACK;
    memcpy(out, r->p, 4);
    r->p += 4;
    return OK;
}

static int skip_field(Reader *r, uint32_t wire_type) {
    uint64_t v;
    Slice s;
    switch (wire_type) {
    case 0: return rd_varint(r, &v);
    case 1: return rd_fixed64(r, &v);
    case 2: return rd_bytes(r, &s);
    case 5: {
        uint32_t w;
        return rd_fixed32(r, &w);
    }
    default: return FALLBACK; /* groups and invalid wire types */
    }
}

/* Reads a field of the expected wire type; anything else is left to the Python path. */
#define EXPECT(wt, want) \
    if ((wt) != (want)) return FALLBACK

static inline int rd_u32(Reader *r, uint32_t *out) {
    uint64_t v;
    CHECK(rd_varint(r, &v));
    if (v > 0xFFFFFFFFu) return FALLBACK;
    *out = (uint32_t)v;
    return OK;
}

/* --- slice vectors (repeated fields collected before writing, so "last wins" is honoured) --- */

typedef struct {
    Slice *items;
    size_t len, cap;
} SliceVec;

static int vec_push(SliceVec *v, Slice s) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        Slice *items = realloc(v->items, cap * sizeof(Slice));
        if (!items) return NOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = s;
    return OK;
}

static void vec_free(SliceVec *v) {
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

/* --- UTF-8 validation and JSON strings ------------------------------------------------------- */

/* 0 = copy as is, otherwise the character after the backslash ('u' = \u00XX). */
static const char ESCAPE[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

/* Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 if it is invalid. */
static inline size_t utf8_sequence(const uint8_t *s, size_t i, size_t n) {
    uint8_t c = s[i];
    if (c >= 0xC2 && c <= 0xDF) return i + 1 < n && (s[i + 1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
            (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the 8 bytes in x is < 0x20, '"', '\\' or >= 0x80 (SWAR byte tests). */
static inline int needs_attention(uint64_t x) {
    uint64_t quote = x ^ (ONES * '"'), backslash = x ^ (ONES * '\\');
    uint64_t control = (x - ONES * 0x20) & ~x;
    uint64_t q = (quote - ONES) & ~quote, b = (backslash - ONES) & ~backslash;
    return ((control | q | b) & HIGHS) != 0 || (x & HIGHS) != 0;
}

/* Writes a JSON string of UTF-8 text in one pass (validate + escape); invalid UTF-8 is the
 * Python path's to reject. */
static int json_string(Buf *b, const uint8_t *s, size_t n) {
    CHECK(buf_grow(b, 6 * n + 2)); /* worst case: every byte a \u00XX escape */
    char *o = b->p + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* Eight plain ASCII bytes at a time (no control character, quote, backslash or high bit). */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (needs_attention(x)) break;
            memcpy(o, s + i, 8);
            o += 8;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t len = utf8_sequence(s, i, n);
            if (!len) return FALLBACK;
            memcpy(o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        char esc = ESCAPE[c];
        i++;
        if (!esc) {
            *o++ = (char)c;
        } else if (esc == 'u') {
            memcpy(o, "\\u00", 4);
            o[4] = HEX[c >> 4];
            o[5] = HEX[c & 15];
            o += 6;
        } else {
            o[0] = '\\';
            o[1] = esc;
            o += 2;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return OK;
}

/* Strict UTF-8 as Python's decoder and protobuf accept it: no overlongs, no surrogates, <= U+10FFFF. */
static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_sequence(s, i, n);
        if (!len) return 0;
        i += len;
    }
    return 1;
}

static int json_hex_string(Buf *b, const uint8_t *s, size_t n) {
    CHECK(buf_putc(b, '"'));
    CHECK(buf_put_hex(b, s, n));
    return buf_putc(b, '"');
}

static int json_double(Buf *b, double d) {
    if (d != d || d - d != 0) return PUT_LIT(b, "null"); /* NaN, +/-Infinity */
    PyObject *f = PyFloat_FromDouble(d);
    if (!f) return NOMEM;
    PyObject *text = PyObject_CallOneArg(double_formatter, f);
    Py_DECREF(f);
    if (!text || !PyBytes_Check(text)) {
        Py_XDECREF(text);
        PyErr_Clear();
        return FALLBACK;
    }
    int rc = buf_put(b, PyBytes_AS_STRING(text), (size_t)PyBytes_GET_SIZE(text));
    Py_DECREF(text);
    return rc;
}

/* --- values over the length limit: cut, with the truncation marker ------------------------- */

/* Writes the marker of a value of `total` bytes (TRUNCATED_MARKER, as JSON string content). */
static int put_marker(Buf *b, uint64_t total) {
    CHECK(buf_put(b, marker_head.p, marker_head.len));
    CHECK(buf_put_u64(b, total));
    return buf_put(b, marker_tail.p, marker_tail.len);
}

/* A string of n > limit bytes: its first `limit` bytes (back to a character boundary), then the
 * marker. The whole text is validated first: the Python path would refuse the span otherwise. */
static int json_cut_string(Buf *b, const uint8_t *s, size_t n, size_t limit) {
    if (!utf8_valid(s, n)) return FALLBACK;
    size_t cut = limit;
    while (cut && (s[cut] & 0xC0) == 0x80) cut--; /* not inside a multi-byte character */
    CHECK(json_string(b, s, cut));
    b->len--; /* reopen the string for the marker */
    CHECK(put_marker(b, n));
    return buf_putc(b, '"');
}

/* Bytes whose hex (2n characters) is over `limit`: the first `limit` hex digits, then the marker. */
static int json_cut_hex(Buf *b, const uint8_t *s, size_t n, size_t limit) {
    CHECK(buf_putc(b, '"'));
    CHECK(buf_put_hex(b, s, limit / 2));
    if (limit % 2) CHECK(buf_putc(b, HEX[s[limit / 2] >> 4]));
    CHECK(put_marker(b, 2 * (uint64_t)n));
    return buf_putc(b, '"');
}

/* --- AnyValue and attribute maps -> JSON ---------------------------------------------------- */

typedef struct {
    Slice key;
    Slice value;   /* serialized AnyValue */
    size_t order;  /* position on the wire, so the last duplicate wins */
} Entry;

static int entry_cmp(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
    int c = n ? memcmp(x->key.p, y->key.p, n) : 0;
    if (c) return c;
    if (x->key.n != y->key.n) return x->key.n < y->key.n ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

static int json_any(Buf *b, Slice v, int depth, int *cut);

/*
 * Writes {"key":value,...} from entries: sorted by key bytes, the last duplicate kept. An
 * attribute list (`dropped` given) keeps its first limits.attributes keys and adds one to
 * *dropped per key left out and per kept value that was cut; inside a value (`dropped` NULL) a
 * cut sets *cut.
 */
static int json_object(Buf *b, Entry *entries, size_t n, int depth, uint64_t *dropped, int *cut) {
    if (n > 1) qsort(entries, n, sizeof(Entry), entry_cmp);
    CHECK(buf_putc(b, '{'));
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int value_cut = 0;
        int duplicate = i + 1 < n && entries[i].key.n == entries[i + 1].key.n &&
                        memcmp(entries[i].key.p, entries[i + 1].key.p, entries[i].key.n) == 0;
        if (duplicate || (dropped && kept == limits.attributes)) {
            /* Overridden by a later duplicate, or past the key limit: not stored, but protobuf
             * still validates it, so it is written and dropped again. */
            size_t mark = b->len;
            CHECK(json_any(b, entries[i].value, depth, &value_cut));
            b->len = mark;
            if (!duplicate) (*dropped)++;
            continue;
        }
        if (kept++) CHECK(buf_putc(b, ','));
        CHECK(json_string(b, entries[i].key.p, entries[i].key.n));
        CHECK(buf_putc(b, ':'));
        CHECK(json_any(b, entries[i].value, depth, &value_cut));
        if (value_cut && dropped) (*dropped)++;
        else if (value_cut) *cut = 1;
    }
    return buf_putc(b, '}');
}

/* Parses one KeyValue (key = 1, value = 2); *has_value tells whether field 2 was present. */
static int parse_key_value(Slice kv, Entry *out, int *has_value) {
    Reader r = {kv.p, kv.p + kv.n};
    out->key.p = kv.p; /* empty key unless field 1 appears */
    out->key.n = 0;
    out->value.p = kv.p;
    out->value.n = 0;
    *has_value = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        if (field == 1) {
            EXPECT(wt, 2);
            CHECK(rd_bytes(&r, &out->key));
        } else if (field == 2) {
            EXPECT(wt, 2);
            if (*has_value) return FALLBACK; /* protobuf would merge two AnyValue messages */
            CHECK(rd_bytes(&r, &out->value));
            *has_value = 1;
        } else {
            return FALLBACK; /* protobuf sets a map entry with unknown fields aside */
        }
    }
    return OK;
}

/*
 * Writes a JSON object from serialized KeyValue messages: an attribute list when `dropped` is
 * given (see json_object; a KeyValue without a value is written as null, as the Python path reads
 * the list as map<string, bytes>), else a kvlist AnyValue (a KeyValue without a value is left out,
 * the Python path's rule; more entries than a span's attribute limit are the Python path's).
 */
static int json_key_values(Buf *b, const Slice *kvs, size_t n, int depth, uint64_t *dropped, int *cut) {
    int drop_valueless = dropped == NULL;
    if (!dropped && n > limits.attributes) return FALLBACK; /* counts duplicates too: errs safe */
    Entry local[64];
    Entry *entries = n <= 64 ? local : malloc(n * sizeof(Entry));
    if (!entries) return NOMEM;
    size_t count = 0;
    int rc = OK;
    for (size_t i = 0; i < n && rc == OK; i++) {
        int has_value;
        rc = parse_key_value(kvs[i], &entries[count], &has_value);
        if (rc == OK && !utf8_valid(entries[count].key.p, entries[count].key.n)) rc = FALLBACK;
        if (rc == OK && (has_value || !drop_valueless)) {
            entries[count].order = i;
            count++;
        }
    }
    if (rc == OK) rc = json_object(b, entries, count, depth, dropped, cut);
    if (entries != local) free(entries);
    return rc;
}

/* Collects the length-delimited occurrences of field 1 (ArrayValue.values, KeyValueList.values). */
static int collect_values(Slice msg, SliceVec *out) {
    Reader r = {msg.p, msg.p + msg.n};
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        if (field == 1) {
            EXPECT(wt, 2);
            Slice s;
            CHECK(rd_bytes(&r, &s));
            CHECK(vec_push(out, s));
        } else {
            CHECK(skip_field(&r, wt));
        }
    }
    return OK;
}

/* One AnyValue (a oneof): exactly one value field, or none (null). */
static int json_any(Buf *b, Slice v, int depth, int *cut) {
    if (depth > MAX_NESTING_DEPTH) return FALLBACK;
    Reader r = {v.p, v.p + v.n};
    uint32_t kind = 0;
    Slice s = {v.p, 0};
    uint64_t num = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        if (field < 1 || field > 7) {
            CHECK(skip_field(&r, wt));
            continue;
        }
        if (kind) return FALLBACK; /* two values: protobuf's last-wins/merge is the Python path's */
        kind = field;
        switch (field) {
        case 1: case 5: case 6: case 7:
            EXPECT(wt, 2);
            CHECK(rd_bytes(&r, &s));
            break;
        case 2: case 3:
            EXPECT(wt, 0);
            CHECK(rd_varint(&r, &num));
            break;
        case 4:
            EXPECT(wt, 1);
            CHECK(rd_fixed64(&r, &num));
            break;
        }
    }
    /* Text over the limit is cut (bytes count as hex, two characters per byte). */
    if (kind == 1 && s.n > limits.value_bytes) {
        *cut = 1;
        return json_cut_string(b, s.p, s.n, (size_t)limits.value_bytes);
    }
    if (kind == 7 && 2 * (uint64_t)s.n > limits.value_bytes) {
        *cut = 1;
        return json_cut_hex(b, s.p, s.n, (size_t)limits.value_bytes);
    }
    switch (kind) {
    case 0: return PUT_LIT(b, "null");
    case 1: return json_string(b, s.p, s.n);
    case 2: return num ? PUT_LIT(b, "true") : PUT_LIT(b, "false");
    case 3: return buf_put_i64(b, (int64_t)num);
    case 4: {
        double d;
        memcpy(&d, &num, 8);
        return json_double(b, d);
    }
    case 7: return json_hex_string(b, s.p, s.n);
    }
    SliceVec items = {0};
    int rc = collect_values(s, &items);
    if (rc == OK && kind == 5) {
        rc = buf_putc(b, '[');
        for (size_t i = 0; i < items.len && rc == OK; i++) {
            if (i) rc = buf_putc(b, ',');
            if (rc == OK) rc = json_any(b, items.items[i], depth + 1, cut);
        }
        if (rc == OK) rc = buf_putc(b, ']');
    } else if (rc == OK) {
        rc = json_key_values(b, items.items, items.len, depth + 1, NULL, cut);
    }
    vec_free(&items);
    return rc;
}

/* service.name as the Python path reads it: a string, or bytes shown as hex; otherwise "". It is
 * read from the stored attributes, so a resource with more attributes than the limit (whose
 * service.name may be dropped) or a name over the value limit (cut) is the Python path's. */
static int service_name(const SliceVec *attrs, Buf *out) {
    if (attrs->len > limits.attributes) return FALLBACK;
    for (size_t i = attrs->len; i-- > 0;) {
        Entry e;
        int has_value;
        CHECK(parse_key_value(attrs->items[i], &e, &has_value));
        if (e.key.n != 12 || memcmp(e.key.p, "service.name", 12) != 0) continue;
        Reader r = {e.value.p, e.value.p + e.value.n};
        while (r.p < r.end) {
            uint32_t field, wt;
            CHECK(rd_tag(&r, &field, &wt));
            if ((field == 1 || field == 7) && wt == 2) {
                Slice s;
                CHECK(rd_bytes(&r, &s));
                if ((field == 7 ? 2 * (uint64_t)s.n : s.n) > limits.value_bytes) return FALLBACK;
                if (field == 7) return buf_put_hex(out, s.p, s.n);
                if (!utf8_valid(s.p, s.n)) return FALLBACK;
                return buf_put(out, s.p, s.n);
            }
            CHECK(skip_field(&r, wt));
        }
        return OK; /* the last service.name is not a string: "" */
    }
    return OK;
}

/* --- columns ----------------------------------------------------------------------------- */

typedef struct {
    Buf offsets;  /* int32, rows + 1 */
    Buf data;
    Buf validity; /* one byte per row while building; packed to bits at the end */
    Py_ssize_t nulls;
} StrCol;

static int col_start(StrCol *c) {
    int32_t zero = 0;
    return buf_put(&c->offsets, &zero, 4);
}

static int col_end_row(StrCol *c, int valid) {
    if (c->data.len > INT32_MAX) return FALLBACK; /* would need large_string: not a real request */
    int32_t off = (int32_t)c->data.len;
    CHECK(buf_put(&c->offsets, &off, 4));
    if (!valid) c->nulls++;
    return buf_putc(&c->validity, valid ? 1 : 0);
}

static void col_free(StrCol *c) {
    free(c->offsets.p);
    free(c->data.p);
    free(c->validity.p);
}

enum {
    C_SPAN_ID, C_TRACE_ID, C_PARENT, C_NAME, C_STATUS_MESSAGE, C_ATTRIBUTES, C_EVENTS, C_LINKS,
    C_TRACE_STATE, N_STR
};
enum { N_KIND, N_START, N_END, N_DURATION, N_CODE, N_FLAGS, N_D_ATTRS, N_D_EVENTS, N_D_LINKS, N_NUM };
/* The span schema's name for each buffer above, in the same order (exported as COLUMNS). */
static const char *const COLUMN_NAMES[N_STR + N_NUM] = {
    "span_id", "trace_id", "parent_span_id", "name", "status_message", "attributes", "events",
    "links", "trace_state",
    "span_kind", "start_time", "end_time", "duration_ns", "status_code", "trace_flags",
    "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
};

typedef struct {
    StrCol str[N_STR];
    Buf num[N_NUM];
    Py_ssize_t rows;
    SliceVec attrs, events, links, sub; /* scratch, reused span after span */
} Columns;

static void columns_free(Columns *c) {
    for (int i = 0; i < N_STR; i++) col_free(&c->str[i]);
    for (int i = 0; i < N_NUM; i++) free(c->num[i].p);
    vec_free(&c->attrs);
    vec_free(&c->events);
    vec_free(&c->links);
    vec_free(&c->sub);
}

static int columns_init(Columns *c) {
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < N_STR; i++) CHECK(col_start(&c->str[i]));
    return OK;
}

/* --- spans ------------------------------------------------------------------------------- */

/* Event JSON: {"attributes":{...},"droppedAttributesCount":N,"name":"...","timeUnixNano":"N"} */
static int json_event(Buf *b, Slice ev, SliceVec *attrs) {
    Reader r = {ev.p, ev.p + ev.n};
    uint64_t time = 0;
    uint32_t dropped = 0;
    Slice name = {ev.p, 0};
    attrs->len = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        switch (field) {
        case 1: EXPECT(wt, 1); CHECK(rd_fixed64(&r, &time)); break;
        case 2: EXPECT(wt, 2); CHECK(rd_bytes(&r, &name)); break;
        case 3: {
            EXPECT(wt, 2);
            Slice s;
            CHECK(rd_bytes(&r, &s));
            CHECK(vec_push(attrs, s));
            break;
        }
        case 4: EXPECT(wt, 0); CHECK(rd_u32(&r, &dropped)); break;
        default: CHECK(skip_field(&r, wt));
        }
    }
    uint64_t cut = 0;
    CHECK(PUT_LIT(b, "{\"attributes\":"));
    CHECK(json_key_values(b, attrs->items, attrs->len, 0, &cut, NULL));
    CHECK(PUT_LIT(b, ",\"droppedAttributesCount\":"));
    CHECK(buf_put_u64(b, dropped + cut));
    CHECK(PUT_LIT(b, ",\"name\":"));
    CHECK(json_string(b, name.p, name.n));
    CHECK(PUT_LIT(b, ",\"timeUnixNano\":\""));
    CHECK(buf_put_u64(b, time));
    return PUT_LIT(b, "\"}");
}

/* Link JSON: attributes, droppedAttributesCount, flags, spanId, traceId, traceState (sorted). */
static int json_link(Buf *b, Slice link, SliceVec *attrs) {
    Reader r = {link.p, link.p + link.n};
    Slice trace_id = {link.p, 0}, span_id = {link.p, 0}, state = {link.p, 0};
    uint32_t dropped = 0, flags = 0;
    attrs->len = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        switch (field) {
        case 1: EXPECT(wt, 2); CHECK(rd_bytes(&r, &trace_id)); break;
        case 2: EXPECT(wt, 2); CHECK(rd_bytes(&r, &span_id)); break;
        case 3: EXPECT(wt, 2); CHECK(rd_bytes(&r, &state)); break;
        case 4: {
            EXPECT(wt, 2);
            Slice s;
            CHECK(rd_bytes(&r, &s));
            CHECK(vec_push(attrs, s));
            break;
        }
        case 5: EXPECT(wt, 0); CHECK(rd_u32(&r, &dropped)); break;
        case 6: EXPECT(wt, 5); CHECK(rd_fixed32(&r, &flags)); break;
        default: CHECK(skip_field(&r, wt));
        }
    }
    if (trace_id.n != TRACE_ID_LEN || span_id.n != SPAN_ID_LEN) return FALLBACK;
    uint64_t cut = 0;
    CHECK(PUT_LIT(b, "{\"attributes\":"));
    CHECK(json_key_values(b, attrs->items, attrs->len, 0, &cut, NULL));
    CHECK(PUT_LIT(b, ",\"droppedAttributesCount\":"));
    CHECK(buf_put_u64(b, dropped + cut));
    CHECK(PUT_LIT(b, ",\"flags\":"));
    CHECK(buf_put_u64(b, flags));
    CHECK(PUT_LIT(b, ",\"spanId\":"));
    CHECK(json_hex_string(b, span_id.p, span_id.n));
    CHECK(PUT_LIT(b, ",\"traceId\":"));
    CHECK(json_hex_string(b, trace_id.p, trace_id.n));
    CHECK(PUT_LIT(b, ",\"traceState\":"));
    CHECK(json_string(b, state.p, state.n));
    return buf_putc(b, '}');
}

/* Status {message = 2, code = 3}: code 0-2, an empty message is null. */
static int add_status(Columns *c, Slice status) {
    Reader r = {status.p, status.p + status.n};
    Slice message = {status.p, 0};
    uint64_t code = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        CHECK(rd_tag(&r, &field, &wt));
        if (field == 2) {
            EXPECT(wt, 2);
            CHECK(rd_bytes(&r, &message));
        } else if (field == 3) {
            EXPECT(wt, 0);
            CHECK(rd_varint(&r, &code));
        } else {
            CHECK(skip_field(&r, wt));
        }
    }
    if (code > 2) return FALLBACK;
    int8_t code8 = (int8_t)code;
    CHECK(buf_put(&c->num[N_CODE], &code8, 1));
    StrCol *col = &c->str[C_STATUS_MESSAGE];
    if (message.n) {
        if (!utf8_valid(message.p, message.n)) return FALLBACK;
        CHECK(buf_put(&col->data, message.p, message.n));
    }
    return col_end_row(col, message.n != 0);
}

static int add_text(StrCol *col, Slice s, int null_if_empty) {
    if (!utf8_valid(s.p, s.n)) return FALLBACK;
    CHECK(buf_put(&col->data, s.p, s.n));
    return col_end_row(col, !(null_if_empty && s.n == 0));
}

/* Writes the first `keep` items as a JSON list; the rest are validated (written, then dropped). */
static int add_json_list(StrCol *col, const SliceVec *items, size_t keep, SliceVec *scratch,
                         int (*one)(Buf *, Slice, SliceVec *)) {
    Buf *b = &col->data;
    CHECK(buf_putc(b, '['));
    for (size_t i = 0; i < keep; i++) {
        if (i) CHECK(buf_putc(b, ','));
        CHECK(one(b, items->items[i], scratch));
    }
    for (size_t i = keep; i < items->len; i++) {
        size_t mark = b->len;
        CHECK(one(b, items->items[i], scratch));
        b->len = mark;
    }
    CHECK(buf_putc(b, ']'));
    return col_end_row(col, 1);
}

static uint32_t u32_saturated(uint64_t count) {
    return count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
}

/* --- rejected spans: a count and the first few messages, for partial_success ------------------ */

typedef struct {
    uint64_t count;
    PyObject *messages; /* list of str, at most max_messages */
} Rejections;

static int reject(Rejections *r, uint64_t count, const char *format, ...) {
    r->count += count;
    if (PyList_GET_SIZE(r->messages) >= max_messages) return OK;
    va_list args;
    va_start(args, format);
    PyObject *message = PyUnicode_FromFormatV(format, args);
    va_end(args);
    if (!message) return NOMEM;
    int failed = PyList_Append(r->messages, message) < 0;
    Py_DECREF(message);
    return failed ? NOMEM : OK;
}

/* The columns' lengths before a span, to take it out again when it is rejected. */
typedef struct {
    size_t offsets[N_STR], data[N_STR], validity[N_STR], num[N_NUM];
    Py_ssize_t nulls[N_STR];
} ColumnsMark;

static void columns_mark(const Columns *c, ColumnsMark *m) {
    for (int i = 0; i < N_STR; i++) {
        m->offsets[i] = c->str[i].offsets.len;
        m->data[i] = c->str[i].data.len;
        m->validity[i] = c->str[i].validity.len;
        m->nulls[i] = c->str[i].nulls;
    }
    for (int i = 0; i < N_NUM; i++) m->num[i] = c->num[i].len;
}

static void columns_restore(Columns *c, const ColumnsMark *m) {
    for (int i = 0; i < N_STR; i++) {
        c->str[i].offsets.len = m->offsets[i];
        c->str[i].data.len = m->data[i];
        c->str[i].validity.len = m->validity[i];
        c->str[i].nulls = m->nulls[i];
    }
    for (int i = 0; i < N_NUM; i++) c->num[i].len = m->num[i];
}

/* Adds one span's row, or rejects the span (over limits.span_bytes: counted in *rejections). */
static int add_span(Columns *c, Slice span, Rejections *rejections) {
    Reader r = {span.p, span.p + span.n};
    Slice trace_id = {span.p, 0}, span_id = {span.p, 0}, parent = {span.p, 0};
    Slice state = {span.p, 0}, name = {span.p, 0}, status = {span.p, 0};
    uint64_t kind = 0, start = 0, end = 0;
    uint32_t flags = 0, d_attrs = 0, d_events = 0, d_links = 0;
    c->attrs.len = c->events.len = c->links.len = 0;
    while (r.p < r.end) {
        uint32_t field, wt;
        Slice s;
        CHECK(rd_tag(&r, &field, &wt));
        switch (field) {
        case 1: EXPECT(wt, 2); CHECK(rd_bytes(&r, &trace_id)); break;
        case 2: EXPECT(wt, 2); CHECK(rd_bytes(&r, &span_id)); break;
        case 3: EXPECT(wt, 2); CHECK(rd_bytes(&r, &state)); break;
        case 4: EXPECT(wt, 2); CHECK(rd_bytes(&r, &parent)); break;
        case 5: EXPECT(wt, 2); CHECK(rd_bytes(&r, &name)); break;
        case 6: EXPECT(wt, 0); CHECK(rd_varint(&r, &kind)); break;
        case 7: EXPECT(wt, 1); CHECK(rd_fixed64(&r, &start)); break;
        case 8: EXPECT(wt, 1); CHECK(rd_fixed64(&r, &end)); break;
        case 9: EXPECT(wt, 2); CHECK(rd_bytes(&r, &s)); CHECK(vec_push(&c->attrs, s)); break;
        case 10: EXPECT(wt, 0); CHECK(rd_u32(&r, &d_attrs)); break;
        case 11: EXPECT(wt, 2); CHECK(rd_bytes(&r, &s)); CHECK(vec_push(&c->events, s)); break;
        case 12: EXPECT(wt, 0); CHECK(rd_u32(&r, &d_events)); break;
        case 13: EXPECT(wt, 2); CHECK(rd_bytes(&r, &s)); CHECK(vec_push(&c->links, s)); break;
        case 14: EXPECT(wt, 0); CHECK(rd_u32(&r, &d_links)); break;
        case 15: EXPECT(wt, 2); CHECK(rd_bytes(&r, &status)); break;
        case 16: EXPECT(wt, 5); CHECK(rd_fixed32(&r, &flags)); break;
        default: CHECK(skip_field(&r, wt));
        }
    }
    if (trace_id.n != TRACE_ID_LEN || span_id.n != SPAN_ID_LEN) return FALLBACK;
    if (parent.n != 0 && parent.n != SPAN_ID_LEN) return FALLBACK;
    if (start > INT64_MAX || end > INT64_MAX || kind > 5) return FALLBACK;

    ColumnsMark mark;
    columns_mark(c, &mark);
    size_t text_before = 0;
    for (int i = 0; i < N_STR; i++) text_before += c->str[i].data.len;
    StrCol *col = &c->str[C_SPAN_ID];
    CHECK(buf_put_hex(&col->data, span_id.p, span_id.n));
    CHECK(col_end_row(col, 1));
    col = &c->str[C_TRACE_ID];
    CHECK(buf_put_hex(&col->data, trace_id.p, trace_id.n));
    CHECK(col_end_row(col, 1));
    col = &c->str[C_PARENT];
    CHECK(buf_put_hex(&col->data, parent.p, parent.n));
    CHECK(col_end_row(col, parent.n != 0));
    CHECK(add_text(&c->str[C_NAME], name, 0));
    CHECK(add_text(&c->str[C_TRACE_STATE], state, 1));
    CHECK(add_status(c, status));
    col = &c->str[C_ATTRIBUTES];
    uint64_t cut = 0;
    CHECK(json_key_values(&col->data, c->attrs.items, c->attrs.len, 0, &cut, NULL));
    CHECK(col_end_row(col, 1));
    d_attrs = u32_saturated((uint64_t)d_attrs + cut);
    size_t events = c->events.len < limits.events ? c->events.len : (size_t)limits.events;
    CHECK(add_json_list(&c->str[C_EVENTS], &c->events, events, &c->sub, json_event));
    d_events = u32_saturated((uint64_t)d_events + (c->events.len - events));
    CHECK(add_json_list(&c->str[C_LINKS], &c->links, c->links.len, &c->sub, json_link));
    size_t text_after = 0;
    for (int i = 0; i < N_STR; i++) text_after += c->str[i].data.len;
    if (text_after - text_before > limits.span_bytes) {
        columns_restore(c, &mark);
        char id[2 * SPAN_ID_LEN + 1];
        for (int i = 0; i < SPAN_ID_LEN; i++) {
            id[2 * i] = HEX[span_id.p[i] >> 4];
            id[2 * i + 1] = HEX[span_id.p[i] & 15];
        }
        id[2 * SPAN_ID_LEN] = 0;
        return reject(rejections, 1, "span %s: %llu bytes after conversion, more than "
                      "OTLP_MAX_SPAN_BYTES (%llu)", id, (unsigned long long)(text_after - text_before),
                      (unsigned long long)limits.span_bytes);
    }

    int8_t kind8 = (int8_t)kind;
    int64_t start64 = (int64_t)start, end64 = (int64_t)end, duration = end64 - start64;
    CHECK(buf_put(&c->num[N_KIND], &kind8, 1));
    CHECK(buf_put(&c->num[N_START], &start64, 8));
    CHECK(buf_put(&c->num[N_END], &end64, 8));
    CHECK(buf_put(&c->num[N_DURATION], &duration, 8));
    CHECK(buf_put(&c->num[N_FLAGS], &flags, 4));
    CHECK(buf_put(&c->num[N_D_ATTRS], &d_attrs, 4));
    CHECK(buf_put(&c->num[N_D_EVENTS], &d_events, 4));
    CHECK(buf_put(&c->num[N_D_LINKS], &d_links, 4));
    c->rows++;
    return OK;
}

/* --- resources -> Python ------------------------------------------------------------------ */

static PyObject *bytes_of(const Buf *b) {
    return PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->len);
}

/* (offsets, data, validity or None, null count); validity packed LSB-first as Arrow wants. */
static PyObject *str_col_tuple(StrCol *c, Py_ssize_t rows) {
    PyObject *validity;
    if (c->nulls) {
        Py_ssize_t nbytes = (rows + 7) / 8;
        validity = PyBytes_FromStringAndSize(NULL, nbytes);
        if (!validity) return NULL;
        uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(validity);
        memset(bits, 0, (size_t)nbytes);
        for (Py_ssize_t i = 0; i < rows; i++)
            if (c->validity.p[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else {
        validity = Py_NewRef(Py_None);
    }
    return Py_BuildValue("(NNNn)", bytes_of(&c->offsets), bytes_of(&c->data), validity, c->nulls);
}

/*
 * One ResourceSpans: (rows, service_name, resource_json, resource_dropped, (the columns named by
 * COLUMN_NAMES...)), or Py_None (no span stored), or NULL with *rc set. *resource_used: the
 * request's resource bytes x spans so far (bounded by limits.resource_bytes_x_spans; the spans
 * past it are rejected).
 */
static PyObject *convert_resource_spans(Slice rs, int *rc, uint64_t *resource_used, Rejections *rejections) {
    Reader r = {rs.p, rs.p + rs.n};
    Slice resource = {rs.p, 0};
    int has_resource = 0;
    SliceVec scopes = {0}, spans = {0}, res_attrs = {0};
    Buf service = {0}, res_json = {0};
    Columns cols;
    PyObject *result = NULL;
    uint32_t res_dropped = 0;
    *rc = columns_init(&cols);
    while (*rc == OK && r.p < r.end) {
        uint32_t field, wt;
        Slice s;
        if ((*rc = rd_tag(&r, &field, &wt)) != OK) break;
        if (field == 1 || field == 2) {
            if (wt != 2) { *rc = FALLBACK; break; }
            if ((*rc = rd_bytes(&r, &s)) != OK) break;
            if (field == 1) {
                if (has_resource) { *rc = FALLBACK; break; } /* protobuf would merge them */
                resource = s;
                has_resource = 1;
            } else {
                *rc = vec_push(&scopes, s);
            }
        } else {
            *rc = skip_field(&r, wt);
        }
    }
    /* ScopeSpans: spans = 2 (scope = 1 and schema_url = 3 are not stored). */
    for (size_t i = 0; *rc == OK && i < scopes.len; i++) {
        Reader sr = {scopes.items[i].p, scopes.items[i].p + scopes.items[i].n};
        while (*rc == OK && sr.p < sr.end) {
            uint32_t field, wt;
            Slice s;
            if ((*rc = rd_tag(&sr, &field, &wt)) != OK) break;
            if (field == 2) {
                if (wt != 2) { *rc = FALLBACK; break; }
                if ((*rc = rd_bytes(&sr, &s)) == OK) *rc = vec_push(&spans, s);
            } else {
                *rc = skip_field(&sr, wt);
            }
        }
    }
    /* Resource: attributes = 1, dropped_attributes_count = 2. */
    Reader rr = {resource.p, resource.p + resource.n};
    while (*rc == OK && rr.p < rr.end) {
        uint32_t field, wt;
        Slice s;
        if ((*rc = rd_tag(&rr, &field, &wt)) != OK) break;
        if (field == 1) {
            if (wt != 2) { *rc = FALLBACK; break; }
            if ((*rc = rd_bytes(&rr, &s)) == OK) *rc = vec_push(&res_attrs, s);
        } else if (field == 2) {
            if (wt != 0) { *rc = FALLBACK; break; }
            *rc = rd_u32(&rr, &res_dropped);
        } else {
            *rc = skip_field(&rr, wt);
        }
    }
    uint64_t res_cut = 0;
    if (*rc == OK) *rc = json_key_values(&res_json, res_attrs.items, res_attrs.len, 0, &res_cut, NULL);
    res_dropped = u32_saturated((uint64_t)res_dropped + res_cut);
    if (*rc == OK) *rc = service_name(&res_attrs, &service);
    for (size_t i = 0; *rc == OK && i < spans.len; i++) {
        if (res_json.len > limits.resource_bytes_x_spans - *resource_used) {
            *rc = reject(rejections, spans.len - i, "resource: its %zu bytes of attributes would be "
                         "stored with more spans than OTLP_MAX_RESOURCE_BYTES_X_SPANS allows per "
                         "request", res_json.len);
            break;
        }
        Py_ssize_t rows = cols.rows;
        *rc = add_span(&cols, spans.items[i], rejections);
        if (cols.rows > rows) *resource_used += res_json.len;
    }
    if (*rc == OK && cols.rows == 0) {
        result = Py_NewRef(Py_None);
    } else if (*rc == OK) {
        PyObject *columns = PyTuple_New(N_STR + N_NUM);
        if (columns) {
            int failed = 0;
            for (int i = 0; i < N_STR && !failed; i++) {
                PyObject *t = str_col_tuple(&cols.str[i], cols.rows);
                if (!t) failed = 1; else PyTuple_SET_ITEM(columns, i, t);
            }
            for (int i = 0; i < N_NUM && !failed; i++) {
                PyObject *t = bytes_of(&cols.num[i]);
                if (!t) failed = 1; else PyTuple_SET_ITEM(columns, N_STR + i, t);
            }
            PyObject *name = failed ? NULL
                : PyUnicode_DecodeUTF8(service.p ? service.p : "", (Py_ssize_t)service.len, "strict");
            if (name)
                result = Py_BuildValue("(nNNkO)", cols.rows, name, bytes_of(&res_json),
                                       (unsigned long)res_dropped, columns);
        }
        Py_XDECREF(columns);
        if (!result) *rc = NOMEM;
    }
    vec_free(&scopes);
    vec_free(&spans);
    vec_free(&res_attrs);
    free(service.p);
    free(res_json.p);
    columns_free(&cols);
    return result;
}

PyDoc_STRVAR(convert_doc,
"convert(data: bytes, value_bytes, attributes, events, span_bytes, resource_bytes_x_spans)\n"
"    -> tuple[list[tuple], int, list[str]] | None\n\n"
"Decodes serialized ExportTraceServiceRequest bytes into per-ResourceSpans column buffers under\n"
"the limits given (convert.Limits), with the count of rejected spans and the first messages; or\n"
"returns None when the request needs the Python converter (anything invalid or unusual).");

static PyObject *convert(PyObject *module, PyObject *args) {
    (void)module;
    if (!double_formatter) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    Py_buffer view;
    unsigned long long value_bytes, attributes, events, span_bytes, resource_bytes;
    if (!PyArg_ParseTuple(args, "y*KKKKK:convert", &view, &value_bytes, &attributes, &events,
                          &span_bytes, &resource_bytes))
        return NULL;
    limits.value_bytes = value_bytes;
    limits.attributes = attributes;
    limits.events = events;
    limits.span_bytes = span_bytes;
    limits.resource_bytes_x_spans = resource_bytes;
    uint64_t resource_used = 0;
    Rejections rejections = {0, PyList_New(0)};
    PyObject *out = PyList_New(0);
    Reader r = {view.buf, (const uint8_t *)view.buf + view.len};
    int rc = out && rejections.messages ? OK : NOMEM;
    while (rc == OK && r.p < r.end) {
        uint32_t field, wt;
        Slice s;
        if ((rc = rd_tag(&r, &field, &wt)) != OK) break;
        if (field != 1) {
            rc = skip_field(&r, wt);
            continue;
        }
        if (wt != 2) { rc = FALLBACK; break; }
        if ((rc = rd_bytes(&r, &s)) != OK) break;
        PyObject *res = convert_resource_spans(s, &rc, &resource_used, &rejections);
        if (res && res != Py_None && PyList_Append(out, res) < 0) rc = NOMEM;
        Py_XDECREF(res);
    }
    PyBuffer_Release(&view);
    if (rc == OK) {
        return Py_BuildValue("(NKN)", out, (unsigned long long)rejections.count, rejections.messages);
    }
    Py_XDECREF(rejections.messages);
    Py_XDECREF(out);
    if (rc == NOMEM) return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* `text` as the content of a JSON string (escaped, without the quotes) into *out. */
static int json_content(Buf *out, const char *text, size_t n) {
    Buf b = {0};
    int rc = json_string(&b, (const uint8_t *)text, n);
    if (rc == OK) {
        free(out->p);
        out->p = NULL;
        out->len = out->cap = 0;
        rc = buf_put(out, b.p + 1, b.len - 2);
    }
    free(b.p);
    return rc;
}

static PyObject *configure(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *fn;
    const char *marker;
    Py_ssize_t marker_len, messages;
    if (!PyArg_ParseTuple(args, "Os#n:configure", &fn, &marker, &marker_len, &messages)) return NULL;
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "the double formatter must be callable");
        return NULL;
    }
    const char *at = NULL;
    for (Py_ssize_t i = 0; i + 1 < marker_len && !at; i++)
        if (marker[i] == '{' && marker[i + 1] == '}') at = marker + i;
    if (!at || messages < 0) {
        PyErr_SetString(PyExc_ValueError, "the truncation marker must hold {} for the byte count");
        return NULL;
    }
    size_t head = (size_t)(at - marker);
    if (json_content(&marker_head, marker, head) != OK ||
        json_content(&marker_tail, at + 2, (size_t)marker_len - head - 2) != OK)
        return PyErr_NoMemory();
    max_messages = messages;
    Py_XSETREF(double_formatter, Py_NewRef(fn));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"convert", convert, METH_VARARGS, convert_doc},
    {"configure", configure, METH_VARARGS,
     "configure(double_formatter, truncated_marker: str, max_messages: int): the callable\n"
     "(float -> bytes) that spells finite doubles in JSON (orjson.dumps), the marker ending a cut\n"
     "value ('{}' is its byte count) and how many rejection messages a request keeps."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fastconvert",
    "Compiled fast path of ingestion.convert (OTLP bytes -> span column buffers).", -1, methods,
};

PyMODINIT_FUNC PyInit__fastconvert(void) {
    PyObject *module = PyModule_Create(&module_def);
    if (!module) return NULL;
    PyObject *names = PyTuple_New(N_STR + N_NUM);
    for (int i = 0; names && i < N_STR + N_NUM; i++) {
        PyObject *name = PyUnicode_FromString(COLUMN_NAMES[i]);
        if (!name) Py_CLEAR(names); else PyTuple_SET_ITEM(names, i, name);
    }
    if (!names || PyModule_AddObject(module, "COLUMNS", names) < 0) {
        Py_XDECREF(names);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
