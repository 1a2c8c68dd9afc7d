/* Keccak-256 buckets of a whole id list in one call, without the GIL.
 *
 * noderr cohort --file hashes up to millions of short ids. Through safe-pysha3 each id costs
 * a hash object, a copied state, a digest bytes object and a Python int (about 1.5 us here,
 * of which the permutation is 0.6 us), and the GIL keeps it to one core. This module walks
 * the lines of a buffer in C, hashes each with Ethereum's Keccak-256 (pad 0x01, rate 136)
 * and reduces the digest to its bucket (the 256-bit big-endian integer mod 100), so that
 * only the permutation is left, on as many threads as the caller starts.
 *
 * Line rule (the same as noderr_deploy.nodeids.split_lines): lines end at "\n"; a "\r"
 * just before it, or at the very end of the range, belongs to the terminator; a final
 * "\n" does not start another line.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
#include "_keccak_round.h"

#define RATE 136

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint64_t bswap64(uint64_t v) {
    v = ((v & 0x00ff00ff00ff00ffULL) << 8) | ((v >> 8) & 0x00ff00ff00ff00ffULL);
    v = ((v & 0x0000ffff0000ffffULL) << 16) | ((v >> 16) & 0x0000ffff0000ffffULL);
    return (v << 32) | (v >> 32);
}

/* The 32 digest bytes of keccak256(data) (when out is not NULL) and its bucket; the first
 * digest lane in *lane0 when it is not NULL (a fingerprint: equal ids, equal lanes). */
static int keccak256_bucket(const unsigned char *data, size_t len, unsigned char *out,
                            uint64_t *lane0) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0;
    uint64_t a10 = 0, a11 = 0, a12 = 0, a13 = 0, a14 = 0, a15 = 0, a16 = 0, a17 = 0, a18 = 0;
    uint64_t a19 = 0, a20 = 0, a21 = 0, a22 = 0, a23 = 0, a24 = 0;
    uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17;
    uint64_t b18, b19, b20, b21, b22, b23, b24, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    unsigned char block[RATE];
    int last = 0;
    while (!last) {
        const unsigned char *p;
        if (len >= RATE) {
            p = data;
            data += RATE;
            len -= RATE;
        } else {
            /* The final block: the rest, then Keccak's padding 0x01 .. 0x80. */
            memset(block, 0, RATE);
            memcpy(block, data, len);
            block[len] ^= 0x01;
            block[RATE - 1] ^= 0x80;
            p = block;
            last = 1;
        }
        a0 ^= load64(p); a1 ^= load64(p + 8); a2 ^= load64(p + 16); a3 ^= load64(p + 24);
        a4 ^= load64(p + 32); a5 ^= load64(p + 40); a6 ^= load64(p + 48);
        a7 ^= load64(p + 56); a8 ^= load64(p + 64); a9 ^= load64(p + 72);
        a10 ^= load64(p + 80); a11 ^= load64(p + 88); a12 ^= load64(p + 96);
        a13 ^= load64(p + 104); a14 ^= load64(p + 112); a15 ^= load64(p + 120);
        a16 ^= load64(p + 128);
        for (int r = 0; r < 24; r++) KECCAK_ROUND(KECCAK_RC[r]);
    }
    if (lane0 != NULL) *lane0 = a0;
    if (out != NULL) {
        uint64_t lanes[4] = {a0, a1, a2, a3};
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 8; i++) out[8 * k + i] = (unsigned char)(lanes[k] >> (8 * i));
    }
    /* The digest read big-endian is sum(bswap(lane k) * 2^(64 (3 - k))); 2^64 = 16 mod 100. */
    uint64_t r = bswap64(a0) % 100;
    r = (r * 16 + bswap64(a1) % 100) % 100;
    r = (r * 16 + bswap64(a2) % 100) % 100;
    r = (r * 16 + bswap64(a3) % 100) % 100;
    return (int)r;
}

static PyObject *py_keccak256(PyObject *self, PyObject *arg) {
    Py_buffer view;
    unsigned char digest[32];
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    keccak256_bucket(view.buf, (size_t)view.len, digest, NULL);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)digest, 32);
}

static PyObject *py_bucket_many(PyObject *self, PyObject *arg) {
    /* bytes of the bucket of each item of an iterable of bytes-like objects. */
    PyObject *seq = PySequence_Fast(arg, "bucket_many() takes a sequence of bytes");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyBytes_FromStringAndSize(NULL, n);
    if (result == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_buffer view;
        if (PyObject_GetBuffer(items[i], &view, PyBUF_SIMPLE) < 0) {
            Py_DECREF(seq);
            Py_DECREF(result);
            return NULL;
        }
        out[i] = (unsigned char)keccak256_bucket(view.buf, (size_t)view.len, NULL, NULL);
        PyBuffer_Release(&view);
    }
    Py_DECREF(seq);
    return result;
}

static PyObject *py_bucket_lines(PyObject *self, PyObject *args, PyObject *kwargs) {
    /* bucket_lines(data, start, end, keep, fingerprints)
     *     -> (lines, counts, buckets or None, empty, fingerprints or None)
     *
     * counts: ids per bucket 0..99; buckets: one byte per line when keep; empty: the
     * 0-based index of the first empty line (hashing stops there), else -1; fingerprints:
     * the first 8 digest bytes of each line, for has_repeats(). */
    static char *kwlist[] = {"data", "start", "end", "keep", "fingerprints", NULL};
    Py_buffer view;
    Py_ssize_t start = 0, end = -1;
    int keep = 0, want_prints = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|nnpp", kwlist, &view, &start, &end,
                                     &keep, &want_prints))
        return NULL;
    if (end < 0 || end > view.len) end = view.len;
    if (start < 0) start = 0;
    if (start > end) start = end;
    const unsigned char *base = (const unsigned char *)view.buf;
    /* Lines in the range: the number of "\n", plus one for a final unterminated line. */
    Py_ssize_t capacity = 0;
    if (keep || want_prints) {
        const unsigned char *p = base + start, *stop = base + end;
        while (p < stop && (p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
            capacity++;
            p++;
        }
        if (end > start && base[end - 1] != '\n') capacity++;
    }
    unsigned char *buckets = NULL;
    if (keep && (buckets = PyMem_RawMalloc(capacity ? (size_t)capacity : 1)) == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    uint64_t *prints = NULL;
    if (want_prints &&
        (prints = PyMem_RawMalloc(capacity ? (size_t)capacity * 8 : 8)) == NULL) {
        PyMem_RawFree(buckets);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_ssize_t counts[100] = {0};
    Py_ssize_t lines = 0, empty = -1;
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *p = base + start, *stop = base + end;
    while (p < stop) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(stop - p));
        const unsigned char *line_end = nl != NULL ? nl : stop;
        if (line_end > p && line_end[-1] == '\r') line_end--;
        if (line_end == p) {
            empty = lines;
            break;
        }
        int b = keccak256_bucket(p, (size_t)(line_end - p), NULL,
                                 prints != NULL ? prints + lines : NULL);
        counts[b]++;
        if (buckets != NULL) buckets[lines] = (unsigned char)b;
        lines++;
        if (nl == NULL) break;
        p = nl + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *fp = Py_None;
    Py_INCREF(fp);
    if (prints != NULL) {
        Py_DECREF(fp);
        fp = PyBytes_FromStringAndSize((const char *)prints, (empty < 0 ? lines : 0) * 8);
        PyMem_RawFree(prints);
        if (fp == NULL) {
            PyMem_RawFree(buckets);
            return NULL;
        }
    }
    PyObject *list = PyList_New(100);
    if (list == NULL) {
        PyMem_RawFree(buckets);
        Py_DECREF(fp);
        return NULL;
    }
    for (int i = 0; i < 100; i++) {
        PyObject *v = PyLong_FromSsize_t(counts[i]);
        if (v == NULL) {
            Py_DECREF(list);
            Py_DECREF(fp);
            PyMem_RawFree(buckets);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    PyObject *rows;
    if (buckets != NULL) {
        rows = PyBytes_FromStringAndSize((const char *)buckets, empty < 0 ? lines : 0);
        PyMem_RawFree(buckets);
        if (rows == NULL) {
            Py_DECREF(list);
            Py_DECREF(fp);
            return NULL;
        }
    } else {
        rows = Py_NewRef(Py_None);
    }
    return Py_BuildValue("(nNNnN)", lines, list, rows, empty, fp);
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static PyObject *py_has_repeats(PyObject *self, PyObject *args) {
    /* has_repeats(*fingerprints) -> bool: whether two of the 8-byte fingerprints are equal.
     * False proves every id distinct; True may be a genuine repeat (or, about once in
     * 2^64 / n^2 runs, two ids sharing 64 digest bits): the caller then compares the ids. */
    Py_ssize_t parts = PyTuple_GET_SIZE(args), n = 0;
    for (Py_ssize_t i = 0; i < parts; i++) {
        PyObject *part = PyTuple_GET_ITEM(args, i);
        if (!PyBytes_Check(part) || PyBytes_GET_SIZE(part) % 8) {
            PyErr_SetString(PyExc_TypeError, "has_repeats() takes bytes of 8-byte fingerprints");
            return NULL;
        }
        n += PyBytes_GET_SIZE(part) / 8;
    }
    uint64_t *a = PyMem_RawMalloc(n ? (size_t)n * 8 : 8);
    uint64_t *b = PyMem_RawMalloc(n ? (size_t)n * 8 : 8);
    if (a == NULL || b == NULL) {
        PyMem_RawFree(a);
        PyMem_RawFree(b);
        return PyErr_NoMemory();
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < parts; i++) {
        PyObject *part = PyTuple_GET_ITEM(args, i);
        memcpy(a + at, PyBytes_AS_STRING(part), (size_t)PyBytes_GET_SIZE(part));
        at += PyBytes_GET_SIZE(part) / 8;
    }
    int found = 0;
    Py_BEGIN_ALLOW_THREADS
    /* One counting-sort pass on the top 16 bits (the prefixes are uniform), then an
     * insertion sort of each group (about n / 65536 entries) and a look at neighbours. */
    size_t *start = calloc(((size_t)1 << 16) + 1, sizeof(size_t));
    if (start != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) start[(a[i] >> 48) + 1]++;
        for (size_t k = 1; k <= ((size_t)1 << 16); k++) start[k] += start[k - 1];
        for (Py_ssize_t i = 0; i < n; i++) b[start[a[i] >> 48]++] = a[i];
        /* start[k] is now the end of group k (and the start of group k + 1). */
        size_t from = 0;
        for (size_t k = 0; k < ((size_t)1 << 16) && !found; k++) {
            size_t to = start[k];
            /* Ids crafted to share a prefix must not make this quadratic. */
            if (to - from > 32) qsort(b + from, to - from, sizeof(uint64_t), cmp_u64);
            else for (size_t i = from + 1; i < to; i++) {
                uint64_t v = b[i];
                size_t j = i;
                while (j > from && b[j - 1] > v) {
                    b[j] = b[j - 1];
                    j--;
                }
                b[j] = v;
            }
            for (size_t i = from + 1; i < to && !found; i++) found = b[i] == b[i - 1];
            from = to;
        }
        free(start);
    } else {
        found = -1;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(a);
    PyMem_RawFree(b);
    if (found < 0) return PyErr_NoMemory();
    return PyBool_FromLong(found);
}

static PyObject *py_marked(PyObject *self, PyObject *args) {
    /* marked(items, table) -> list of the indices of the items holding a byte b with
     * table[b] != 0 (table: 256 bytes). Finds the ids a CSV or JSON row must escape. */
    PyObject *items, *table;
    if (!PyArg_ParseTuple(args, "OS", &items, &table)) return NULL;
    if (PyBytes_GET_SIZE(table) != 256) {
        PyErr_SetString(PyExc_ValueError, "marked() needs a 256-byte table");
        return NULL;
    }
    const unsigned char *flags = (const unsigned char *)PyBytes_AS_STRING(table);
    PyObject *seq = PySequence_Fast(items, "marked() takes a sequence of bytes");
    if (seq == NULL) return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **all = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyBytes_Check(all[i])) {
            PyErr_SetString(PyExc_TypeError, "marked() takes a sequence of bytes");
            goto fail;
        }
        const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(all[i]);
        Py_ssize_t len = PyBytes_GET_SIZE(all[i]);
        for (Py_ssize_t k = 0; k < len; k++) {
            if (flags[p[k]]) {
                PyObject *index = PyLong_FromSsize_t(i);
                if (index == NULL || PyList_Append(out, index) < 0) {
                    Py_XDECREF(index);
                    goto fail;
                }
                Py_DECREF(index);
                break;
            }
        }
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"marked", py_marked, METH_VARARGS,
     "marked(items, table) -> indices of the items holding a byte flagged in table."},
    {"keccak256", py_keccak256, METH_O, "Ethereum's Keccak-256 digest of a bytes-like object."},
    {"bucket_many", py_bucket_many, METH_O,
     "The bucket (keccak256 as a big-endian integer, mod 100) of each item, as bytes."},
    {"bucket_lines", (PyCFunction)(void (*)(void))py_bucket_lines,
     METH_VARARGS | METH_KEYWORDS,
     "bucket_lines(data, start=0, end=-1, keep=False, fingerprints=False)"
     " -> (lines, counts, buckets, empty, fingerprints)"},
    {"has_repeats", py_has_repeats, METH_VARARGS,
     "has_repeats(*fingerprints) -> whether two 8-byte fingerprints are equal."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_keccak", "Keccak-256 buckets in bulk, without the GIL.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__keccak(void) { return PyModule_Create(&module); }
