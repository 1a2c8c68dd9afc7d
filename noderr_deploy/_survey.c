/* noderr_deploy._survey: the counts a chunk of JSON Lines is judged by, in one pass.
 *
 * The health reader decides how to decode a chunk from a few counts over its bytes
 * (noderr_deploy/health/survey.py): newlines, quotes, "}\n{" joins, "healthStatus" keys,
 * whether a date of year 0001 or 9999 starts a string, whether every byte is ASCII, and
 * whether a \u escape stands anywhere (it can spell a key or a date the counts miss).
 * In Python that is six passes over the data; here it is one. The pure-Python version in
 * survey.py is the reference: tests/health/test_survey.py checks both agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static const char STATUS[] = "\"healthStatus\"";
#define STATUS_LEN ((Py_ssize_t)(sizeof(STATUS) - 1))

static PyObject *py_survey(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    const Py_ssize_t n = view.len;
    Py_ssize_t newlines = 0, quotes = 0, joins = 0, statuses = 0;
    Py_ssize_t status_from = 0; /* counted like bytes.count: occurrences do not overlap */
    int edge = 0, escape = 0;
    unsigned char high = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char c = p[i];
        high |= c;
        if (c == '\n') {
            newlines++;
            if (i > 0 && i + 1 < n && p[i - 1] == '}' && p[i + 1] == '{') joins++;
        } else if (c == '\\') {
            if (i + 1 < n && p[i + 1] == 'u') escape = 1;
        } else if (c == '"') {
            quotes++;
            if (i + 5 < n && p[i + 5] == '-' &&
                (memcmp(p + i + 1, "0001", 4) == 0 || memcmp(p + i + 1, "9999", 4) == 0))
                edge = 1;
            if (i >= status_from && i + STATUS_LEN <= n && p[i + 1] == 'h' &&
                memcmp(p + i, STATUS, STATUS_LEN) == 0) {
                statuses++;
                status_from = i + STATUS_LEN;
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("nnnnOOO", newlines, quotes, joins, statuses, edge ? Py_True : Py_False,
                         (high & 0x80) ? Py_False : Py_True, escape ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"survey", py_survey, METH_O,
     "survey(chunk) -> (newlines, quotes, joins, statuses, edge_year, ascii, escapes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_survey", "The counts a chunk of JSON Lines is judged by.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__survey(void) { return PyModule_Create(&module); }
