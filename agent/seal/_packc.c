/* agent.seal._packc: chunk body version 3's packed integer groups and text tags, compiled;
 * and the whole-column checks of a grid's flush (first_places for the chunk encoder; indexes
 * and text_values for agent.capture.recorder_messages, which checks a message's columns
 * before the journal sees them).
 *
 * The same bytes as agent.seal.chunk_pack.pack (the reference, and the decoder's
 * counterpart): groups of up to GROUP values, each zigzag(lo - previous lo) ||
 * zigzag(r - previous r) || the base-r number of the values minus lo, most significant digit
 * first, little-endian in the bytes that r**count - 1 needs. The Python loop spent one
 * big-integer step per two values; here a pass over the 64-bit limbs takes as many values as
 * fit a word.
 *
 * Values must be ints in [0, 2**64) with max - min < 2**64 - 1 per group; anything else raises
 * OverflowError (or TypeError) before `out` is touched, and the caller packs that column with
 * the reference implementation, to the same bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GROUP 96 /* keep equal to agent.seal.chunk_pack.GROUP */

typedef unsigned __int128 u128;

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} Out;

static int out_reserve(Out *o, size_t more) {
    if (o->len + more <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + more) cap *= 2;
    uint8_t *b = PyMem_Realloc(o->buf, cap);
    if (b == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    o->buf = b;
    o->cap = cap;
    return 0;
}

/* Unsigned LEB128 of n (up to 2**128 - 1: 19 bytes). */
static int out_varint(Out *o, u128 n) {
    if (out_reserve(o, 19) < 0) return -1;
    while (n > 0x7F) {
        o->buf[o->len++] = (uint8_t)((n & 0x7F) | 0x80);
        n >>= 7;
    }
    o->buf[o->len++] = (uint8_t)n;
    return 0;
}

/* zigzag(a - b) for a, b in [0, 2**64): 0, -1, 1, -2 ... as 0, 1, 2, 3 ... */
static int out_zigzag_diff(Out *o, uint64_t a, uint64_t b) {
    u128 z = a >= b ? (u128)(a - b) * 2 : (u128)(b - a) * 2 - 1;
    return out_varint(o, z);
}

/* limbs := limbs * m + add, little-endian 64-bit limbs; returns the new limb count. */
static size_t mul_add(uint64_t *limbs, size_t n, uint64_t m, uint64_t add) {
    u128 carry = add;
    for (size_t i = 0; i < n; i++) {
        u128 t = (u128)limbs[i] * m + carry;
        limbs[i] = (uint64_t)t;
        carry = t >> 64;
    }
    if (carry) limbs[n++] = (uint64_t)carry;
    return n;
}

static size_t bit_length(const uint64_t *limbs, size_t n) {
    while (n > 0 && limbs[n - 1] == 0) n--;
    if (n == 0) return 0;
    return (n - 1) * 64 + (64 - (size_t)__builtin_clzll(limbs[n - 1]));
}

/* The base-r number of digits[0..count) minus lo each (digits[0] most significant), in the
 * bytes r**count - 1 needs. As many digits as r**k < 2**64 allows are folded into one word
 * first, so a pass over the limbs takes k digits (k = 5 for a price range of 5,000). */
static int out_number(Out *o, const uint64_t *digits, size_t count, uint64_t lo, uint64_t r) {
    uint64_t acc[GROUP + 1], top[GROUP + 1];
    size_t na = 0, nt = 1;
    top[0] = 1;
    for (size_t i = 0; i < count;) {
        uint64_t word = 0, scale = 1;
        do {
            word = word * r + (digits[i++] - lo);
            scale *= r;
        } while (i < count && scale <= UINT64_MAX / r);
        na = mul_add(acc, na, scale, word);
        nt = mul_add(top, nt, scale, 0);
    }
    /* top - 1 (top >= 2, so the borrow stops inside it) */
    for (size_t i = 0; i < nt; i++) {
        if (top[i]--) break;
    }
    size_t width = (bit_length(top, nt) + 7) / 8;
    if (out_reserve(o, width) < 0) return -1;
    for (size_t k = 0; k < width; k++) {
        size_t limb = k / 8;
        o->buf[o->len++] = limb < na ? (uint8_t)(acc[limb] >> (8 * (k % 8))) : 0;
    }
    return 0;
}

static int read_values(PyObject *seq, uint64_t **values, Py_ssize_t *n) {
    PyObject *fast = PySequence_Fast(seq, "values must be a sequence of ints");
    if (fast == NULL) return -1;
    *n = PySequence_Fast_GET_SIZE(fast);
    *values = PyMem_Malloc(sizeof(uint64_t) * (size_t)(*n > 0 ? *n : 1));
    if (*values == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < *n; i++) {
        if (!PyLong_CheckExact(items[i])) {
            PyErr_SetString(PyExc_TypeError, "values must be ints");
            goto fail;
        }
        (*values)[i] = PyLong_AsUnsignedLongLong(items[i]); /* OverflowError: < 0 or >= 2**64 */
        if ((*values)[i] == (uint64_t)-1 && PyErr_Occurred()) goto fail;
    }
    Py_DECREF(fast);
    return 0;
fail:
    Py_DECREF(fast);
    PyMem_Free(*values);
    return -1;
}

static PyObject *pack(PyObject *self, PyObject *args) {
    PyObject *out_obj, *seq;
    if (!PyArg_ParseTuple(args, "O!O:pack", &PyByteArray_Type, &out_obj, &seq)) return NULL;
    uint64_t *values;
    Py_ssize_t n;
    if (read_values(seq, &values, &n) < 0) return NULL;
    Out o = {NULL, 0, 0};
    uint64_t prev_lo = 0, prev_r = 1;
    for (Py_ssize_t start = 0; start < n; start += GROUP) {
        size_t count = (size_t)(n - start < GROUP ? n - start : GROUP);
        const uint64_t *grp = values + start;
        uint64_t lo = grp[0], hi = grp[0];
        for (size_t i = 1; i < count; i++) {
            if (grp[i] < lo) lo = grp[i];
            if (grp[i] > hi) hi = grp[i];
        }
        if (hi - lo == UINT64_MAX) {
            PyErr_SetString(PyExc_OverflowError, "a group's range does not fit 64 bits");
            goto fail;
        }
        uint64_t r = hi - lo + 1;
        if (out_zigzag_diff(&o, lo, prev_lo) < 0 || out_zigzag_diff(&o, r, prev_r) < 0) goto fail;
        prev_lo = lo;
        prev_r = r;
        if (r > 1 && out_number(&o, grp, count, lo, r) < 0) goto fail;
    }
    PyMem_Free(values);
    if (o.len) {
        Py_ssize_t at = PyByteArray_GET_SIZE(out_obj);
        if (PyByteArray_Resize(out_obj, at + (Py_ssize_t)o.len) < 0) {
            PyMem_Free(o.buf);
            return NULL;
        }
        memcpy(PyByteArray_AS_STRING(out_obj) + at, o.buf, o.len);
    }
    PyMem_Free(o.buf);
    Py_RETURN_NONE;
fail:
    PyMem_Free(values);
    PyMem_Free(o.buf);
    return NULL;
}

/* text_tags(ids, values, tags): the tag byte of each text, in one pass for what the Python path
 * checks in four (agent.seal.chunk_items.plain_text_columns): None unless ids and values are
 * lists of one length > 0, every id an int >= 0 (not a bool) and every value a str or None;
 * else (tags, unknown): the tags `tags` holds, 0 at the positions listed in `unknown`, whose
 * values it does not hold (the caller learns them: a grid's clock is one new value a list). */
static PyObject *text_tags(PyObject *self, PyObject *args) {
    PyObject *ids, *values, *tags;
    if (!PyArg_ParseTuple(args, "OOO!:text_tags", &ids, &values, &PyDict_Type, &tags)) return NULL;
    if (!PyList_CheckExact(ids) || !PyList_CheckExact(values)) Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(ids);
    if (n == 0 || PyList_GET_SIZE(values) != n) Py_RETURN_NONE;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    PyObject *unknown = PyList_New(0);
    if (out == NULL || unknown == NULL) goto fail;
    char *buf = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = PyList_GET_ITEM(ids, i);
        PyObject *value = PyList_GET_ITEM(values, i);
        int overflow;
        long long v = PyLong_CheckExact(id) ? PyLong_AsLongLongAndOverflow(id, &overflow) : -1;
        if (!PyLong_CheckExact(id) || overflow < 0 || (overflow == 0 && v < 0) ||
            (value != Py_None && !PyUnicode_CheckExact(value))) {
            Py_DECREF(out);
            Py_DECREF(unknown);
            Py_RETURN_NONE;
        }
        PyObject *tag = PyDict_GetItemWithError(tags, value); /* borrowed */
        if (tag == NULL) {
            if (PyErr_Occurred()) goto fail;
            PyObject *at = PyLong_FromSsize_t(i);
            if (at == NULL || PyList_Append(unknown, at) < 0) {
                Py_XDECREF(at);
                goto fail;
            }
            Py_DECREF(at);
            buf[i] = 0;
            continue;
        }
        long t = PyLong_AsLong(tag);
        if (t < 0 || t > 255) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a tag is not a byte");
            goto fail;
        }
        buf[i] = (char)t;
    }
    return Py_BuildValue("(NN)", out, unknown);
fail:
    Py_XDECREF(out);
    Py_XDECREF(unknown);
    return NULL;
}

/* known_columns(tags, values, mantissas, strings, by_tag, strings_out): append texts whose
 * values the cache holds, in one pass (agent.seal.chunk_columns.Columns._known): a NULL_TAG
 * text adds nothing, a STRING_TAG text its cached bytes to strings_out, any other its cached
 * mantissa to by_tag[tag] (a list made on first use: by_tag's order is the tags' first use). */
#define NULL_TAG 0
#define STRING_TAG 1
static PyObject *known_columns(PyObject *self, PyObject *args) {
    PyObject *tags, *values, *mantissas, *strings, *by_tag, *strings_out;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!:known_columns", &PyBytes_Type, &tags, &PyList_Type,
                          &values, &PyDict_Type, &mantissas, &PyDict_Type, &strings, &PyDict_Type,
                          &by_tag, &PyByteArray_Type, &strings_out))
        return NULL;
    Py_ssize_t n = PyBytes_GET_SIZE(tags);
    if (PyList_GET_SIZE(values) != n) {
        PyErr_SetString(PyExc_ValueError, "tags and values differ in length");
        return NULL;
    }
    const unsigned char *t = (const unsigned char *)PyBytes_AS_STRING(tags);
    PyObject *column = NULL; /* borrowed: by_tag[last] */
    int last = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (t[i] == NULL_TAG) continue;
        PyObject *value = PyList_GET_ITEM(values, i);
        if (t[i] == STRING_TAG) {
            PyObject *raw = PyDict_GetItemWithError(strings, value);
            if (raw == NULL || !PyBytes_Check(raw)) goto missing;
            Py_ssize_t at = PyByteArray_GET_SIZE(strings_out), len = PyBytes_GET_SIZE(raw);
            if (PyByteArray_Resize(strings_out, at + len) < 0) return NULL;
            memcpy(PyByteArray_AS_STRING(strings_out) + at, PyBytes_AS_STRING(raw), len);
            continue;
        }
        PyObject *m = PyDict_GetItemWithError(mantissas, value);
        if (m == NULL) goto missing;
        if (t[i] != last) {
            PyObject *key = PyLong_FromLong(t[i]);
            if (key == NULL) return NULL;
            column = PyDict_GetItemWithError(by_tag, key);
            if (column == NULL && !PyErr_Occurred()) {
                PyObject *fresh = PyList_New(0);
                if (fresh == NULL || PyDict_SetItem(by_tag, key, fresh) < 0) {
                    Py_XDECREF(fresh);
                    Py_DECREF(key);
                    return NULL;
                }
                Py_DECREF(fresh); /* by_tag holds it */
                column = fresh;
            }
            Py_DECREF(key);
            if (column == NULL) return NULL;
            if (!PyList_Check(column)) {
                PyErr_SetString(PyExc_TypeError, "a mantissa column is not a list");
                return NULL;
            }
            last = t[i];
        }
        if (PyList_Append(column, m) < 0) return NULL;
    }
    Py_RETURN_NONE;
missing:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "a text value the cache lacks");
    return NULL;
}

/* first_places(ids, start, first): add to `first` the position of each id in ids[start:]
 * that `first` lacks, the earliest position winning (agent.seal.chunk_columns.Columns
 * .attributes: a grid chunk's thousands of text ids, indexed for its attribute changes). */
static PyObject *first_places(PyObject *self, PyObject *args) {
    PyObject *ids, *first;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "O!nO!:first_places", &PyList_Type, &ids, &start, &PyDict_Type,
                          &first))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(ids);
    for (Py_ssize_t i = start < 0 ? 0 : start; i < n; i++) {
        PyObject *id = PyList_GET_ITEM(ids, i);
        int has = PyDict_Contains(first, id);
        if (has < 0) return NULL;
        if (has) continue;
        PyObject *at = PyLong_FromSsize_t(i);
        if (at == NULL) return NULL;
        int err = PyDict_SetItem(first, id, at);
        Py_DECREF(at);
        if (err < 0) return NULL;
    }
    Py_RETURN_NONE;
}

/* indexes(xs, below): whether xs is a list of ints >= 0 (not bools), each under `below` when
 * `below` >= 0: what agent.capture.recorder_messages checks of a message's column of node ids
 * or attribute object indexes, in one pass instead of three (types, min, max). */
static PyObject *indexes(PyObject *self, PyObject *args) {
    PyObject *xs;
    Py_ssize_t below;
    if (!PyArg_ParseTuple(args, "On:indexes", &xs, &below)) return NULL;
    if (!PyList_CheckExact(xs)) Py_RETURN_FALSE;
    Py_ssize_t n = PyList_GET_SIZE(xs);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyList_GET_ITEM(xs, i);
        if (!PyLong_CheckExact(x)) Py_RETURN_FALSE;
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (overflow < 0 || (overflow == 0 && v < 0)) Py_RETURN_FALSE;
        if (below >= 0 && (overflow > 0 || v >= below)) Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* text_values(values, n): whether values is a list of n items, each a str or None (a
 * message's text column, agent.capture.recorder_messages). */
static PyObject *text_values(PyObject *self, PyObject *args) {
    PyObject *values;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On:text_values", &values, &n)) return NULL;
    if (!PyList_CheckExact(values) || PyList_GET_SIZE(values) != n) Py_RETURN_FALSE;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (v != Py_None && !PyUnicode_CheckExact(v)) Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"first_places", first_places, METH_VARARGS,
     "first_places(ids: list[int], start: int, first: dict) -> None: add each id of "
     "ids[start:] first lacks, with its earliest position."},
    {"indexes", indexes, METH_VARARGS,
     "indexes(xs, below: int) -> bool: xs is a list of ints >= 0 (not bools), each < below "
     "when below >= 0."},
    {"text_values", text_values, METH_VARARGS,
     "text_values(values, n: int) -> bool: values is a list of n items, each a str or None."},
    {"known_columns", known_columns, METH_VARARGS,
     "known_columns(tags, values, mantissas, strings, by_tag, strings_out) -> None: append "
     "texts whose values the cache holds (Columns._known), in one pass."},
    {"text_tags", text_tags, METH_VARARGS,
     "text_tags(ids: list[int], values: list[str | None], tags: dict) -> (bytes, list[int]) | "
     "None: each text's tag and the positions of values tags lacks, or None when not plain."},
    {"pack", pack, METH_VARARGS,
     "pack(out: bytearray, values: list[int]) -> None: append the values as packed groups "
     "(agent.seal.chunk_pack.pack's bytes); OverflowError/TypeError leave out as it was."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "agent.seal._packc",
    "Chunk body version 3's packed integer groups and text tags, compiled (see _packc.c).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__packc(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "GROUP", GROUP) < 0 ||
                      PyModule_AddIntConstant(m, "NULL_TAG", NULL_TAG) < 0 ||
                      PyModule_AddIntConstant(m, "STRING_TAG", STRING_TAG) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
