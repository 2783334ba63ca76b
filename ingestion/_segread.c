/*
 * ingestion._segread: copies rows of WAL segment columns out of the segment files with pread().
 *
 * Why not read them through a memory map: on this kernel a fault on a file mapping maps the
 * whole page-cache folio around it (up to 2 MiB for files written sequentially), so touching a
 * few bytes of each batch put most of a segment into the process's RSS -- tens of MB for a
 * flush. pread() copies the bytes from the page cache into our buffers and maps nothing, and a
 * large copy runs without the GIL, so exports keep being served while a flush gathers.
 *
 * The caller (ingestion/wal_read.py) has parsed each segment's Arrow IPC metadata and passes,
 * per column chunk, the file positions of its buffers. Rows are global row numbers over the
 * chunks laid end to end. Runs of rows that lie next to each other in one file are read with
 * one call, so reading a column in its natural order costs one pread per chunk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define RELEASE_GIL_BYTES (1 << 20)

typedef struct {
    int fd;
    int64_t values_pos;   /* strings: the offsets buffer; fixed width: the values buffer */
    int64_t data_pos;     /* strings: the data buffer */
    int64_t data_size;    /* strings: the data buffer's size (offsets are checked against it) */
    int64_t validity_pos; /* -1: no validity buffer (no nulls) */
    int64_t array_offset; /* the array's offset into its buffers (a slice) */
    int64_t length, start; /* start: the chunk's first global row */
    int head_read;        /* offsets and validity below have been read (read_chunk_head) */
    int32_t *offsets;     /* strings: length + 1 offsets */
    uint8_t *validity;    /* the bytes holding the chunk's validity bits; NULL: no nulls */
} Chunk;

/* pread until n bytes are read; 0 on success, else an errno value (EIO for a short file). */
static int read_fully(int fd, void *dst, size_t n, int64_t pos) {
    uint8_t *p = dst;
    while (n) {
        ssize_t got = pread(fd, p, n, (off_t)pos);
        if (got < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (got == 0) return EIO;
        p += got;
        n -= (size_t)got;
        pos += got;
    }
    return 0;
}

static int is_valid(const Chunk *ch, int64_t local) {
    if (!ch->validity) return 1;
    int64_t bit = (ch->array_offset & 7) + local;
    return (ch->validity[bit >> 3] >> (bit & 7)) & 1;
}

/* The chunk holding global row g (c: the previous answer, usually right again). */
static Py_ssize_t chunk_of(const Chunk *chunks, Py_ssize_t n, Py_ssize_t c, int64_t g) {
    if (g >= chunks[c].start && g < chunks[c].start + chunks[c].length) return c;
    Py_ssize_t lo = 0, hi = n - 1;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi + 1) / 2;
        if (chunks[mid].start <= g) lo = mid; else hi = mid - 1;
    }
    return lo;
}

static PyObject *allocate(PyObject *allocator, Py_ssize_t size, Py_buffer *view) {
    PyObject *buffer = PyObject_CallFunction(allocator, "n", size);
    if (!buffer) return NULL;
    if (PyObject_GetBuffer(buffer, view, PyBUF_WRITABLE) < 0 || view->len < size) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "allocator returned a short buffer");
        Py_DECREF(buffer);
        return NULL;
    }
    return buffer;
}

static void free_chunks(Chunk *chunks, Py_ssize_t n) {
    if (!chunks) return;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyMem_RawFree(chunks[i].offsets);
        PyMem_RawFree(chunks[i].validity);
    }
    PyMem_RawFree(chunks);
}

/* Reads a chunk's offsets (strings) and validity bytes on its first use: a caller may pass every
 * chunk of a column and want rows of a few (the hot snapshot's row groups). 0 or an errno value. */
static int read_chunk_head(Chunk *ch, int strings) {
    if (ch->head_read) return 0;
    ch->head_read = 1;
    if (strings) {
        size_t bytes = (size_t)(ch->length + 1) * 4;
        if (!(ch->offsets = PyMem_RawMalloc(bytes))) return ENOMEM;
        int rc = read_fully(ch->fd, ch->offsets, bytes, ch->values_pos + ch->array_offset * 4);
        if (rc) return rc;
    }
    if (ch->validity_pos >= 0) {
        size_t bytes = (size_t)(((ch->array_offset & 7) + ch->length + 7) / 8);
        if (!(ch->validity = PyMem_RawMalloc(bytes ? bytes : 1))) return ENOMEM;
        int rc = read_fully(ch->fd, ch->validity, bytes, ch->validity_pos + ch->array_offset / 8);
        if (rc) return rc;
    }
    return 0;
}

typedef struct {
    int fd;
    int64_t pos;
    size_t len;
    uint8_t *dst;
} Run;

/* Adds n bytes at (fd, pos) to be copied to dst, reading the pending run first unless the new
 * bytes continue it (dst always continues it: rows are written one after another). */
static int run_add(Run *run, int fd, int64_t pos, size_t n, uint8_t *dst) {
    if (run->len && run->fd == fd && run->pos + (int64_t)run->len == pos) {
        run->len += n;
        return 0;
    }
    if (run->len) {
        int rc = read_fully(run->fd, run->dst, run->len, run->pos);
        if (rc) return rc;
    }
    *run = (Run){fd, pos, n, dst};
    return 0;
}

static int run_finish(Run *run) {
    return run->len ? read_fully(run->fd, run->dst, run->len, run->pos) : 0;
}

PyDoc_STRVAR(gather_doc,
"gather(chunks, rows, width, allocate) -> (values, data | None, validity | None, nulls)\n\n"
"Copies rows of one column out of segment files. `chunks`: a list of (fd, values_pos, data_pos,\n"
"data_size, validity_pos or -1, array_offset, length), one per column chunk, in row order;\n"
"positions are of the buffers' first bytes in the file. `rows`: global row numbers as native\n"
"int64 bytes, or None for every row in order. `width`: the value size in bytes (1, 2, 4, 8),\n"
"or 0 for a string column (values are then its int32 offsets, data its bytes). Buffers come\n"
"from `allocate(size)` (pyarrow.allocate_buffer: Arrow's pool). Raises IndexError for a row\n"
"outside the chunks, ValueError for offsets that do not fit their data, OSError for a read\n"
"that fails or ends early.");

static PyObject *gather(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *list, *rows_obj, *allocator, *values = NULL, *data = NULL, *validity = NULL, *result = NULL;
    Py_buffer rows = {0}, vv = {0}, dv = {0}, bv = {0};
    int width;
    if (!PyArg_ParseTuple(args, "O!OiO", &PyList_Type, &list, &rows_obj, &width, &allocator)) return NULL;
    if (width != 0 && width != 1 && width != 2 && width != 4 && width != 8) {
        PyErr_SetString(PyExc_ValueError, "width must be 0 (strings), 1, 2, 4 or 8");
        return NULL;
    }
    int strings = width == 0;
    if (rows_obj != Py_None && PyObject_GetBuffer(rows_obj, &rows, PyBUF_SIMPLE) < 0) return NULL;
    if (rows.obj && rows.len % 8) {
        PyErr_SetString(PyExc_ValueError, "rows must be native int64 bytes");
        PyBuffer_Release(&rows);
        return NULL;
    }
    Py_ssize_t nchunks = PyList_GET_SIZE(list);
    Chunk *chunks = PyMem_RawCalloc((size_t)(nchunks ? nchunks : 1), sizeof(Chunk));
    int64_t total = 0, size = 0, nulls = 0;
    int err = 0;
    if (!chunks) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < nchunks; i++) {
        int fd;
        long long values_pos, data_pos, data_size, valid_pos, array_offset, length;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "iLLLLLL", &fd, &values_pos, &data_pos, &data_size,
                              &valid_pos, &array_offset, &length))
            goto done;
        if (fd < 0 || values_pos < 0 || data_pos < 0 || data_size < 0 || array_offset < 0 || length < 0) {
            PyErr_SetString(PyExc_ValueError, "a chunk has a negative descriptor, position or size");
            goto done;
        }
        chunks[i] = (Chunk){fd, values_pos, data_pos, data_size, valid_pos < 0 ? -1 : valid_pos, array_offset,
                            length, total, 0, NULL, NULL};
        total += length;
    }
    Py_ssize_t nrows = rows_obj == Py_None ? (Py_ssize_t)total : rows.len / 8;
    const int64_t *wanted = rows.buf;
    /* Pass 1: check every row (and its offsets), count nulls, size the output. */
    Py_ssize_t c = 0;
    for (Py_ssize_t r = 0; r < nrows; r++) {
        int64_t g = wanted ? wanted[r] : r;
        if (g < 0 || g >= total) {
            PyErr_Format(PyExc_IndexError, "row %lld is outside the %lld rows", (long long)g, (long long)total);
            goto done;
        }
        c = chunk_of(chunks, nchunks, c, g);
        const Chunk *ch = &chunks[c];
        if ((err = read_chunk_head(&chunks[c], strings))) { /* small reads: the GIL is kept */
            errno = err;
            PyErr_SetFromErrno(PyExc_OSError);
            goto done;
        }
        int64_t local = g - ch->start;
        if (!is_valid(ch, local)) {
            nulls++;
            continue;
        }
        if (strings) {
            int32_t begin = ch->offsets[local], end = ch->offsets[local + 1];
            if (begin < 0 || end < begin || end > ch->data_size) {
                PyErr_SetString(PyExc_ValueError, "string offsets outside their data in a segment");
                goto done;
            }
            size += end - begin;
        }
    }
    if (strings && size > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "gathered strings exceed 2 GiB");
        goto done;
    }
    if (!(values = allocate(allocator, strings ? 4 * (nrows + 1) : (Py_ssize_t)width * nrows, &vv))) goto done;
    if (strings && !(data = allocate(allocator, (Py_ssize_t)size, &dv))) goto done;
    if (nulls && !(validity = allocate(allocator, (nrows + 7) / 8, &bv))) goto done;
    /* Pass 2: copy. Only our own buffers and the files are touched, so a large copy runs
     * without the GIL; a small one keeps it: taking the GIL back from a worker thread waits up to
     * a switch interval (5 ms) behind a busy event loop, which costs more than the copy. */
    int64_t bytes = strings ? size : (int64_t)width * nrows;
    PyThreadState *released = bytes >= RELEASE_GIL_BYTES ? PyEval_SaveThread() : NULL;
    uint8_t *out = strings ? dv.buf : vv.buf, *bits = bv.buf;
    int32_t *out_offsets = strings ? vv.buf : NULL;
    if (bits) memset(bits, 0, (size_t)bv.len);
    if (out_offsets) out_offsets[0] = 0;
    int64_t at = 0;
    Run run = {0};
    c = 0;
    for (Py_ssize_t r = 0; r < nrows && !err; r++) {
        int64_t g = wanted ? wanted[r] : r;
        c = chunk_of(chunks, nchunks, c, g);
        const Chunk *ch = &chunks[c];
        int64_t local = g - ch->start;
        int valid = is_valid(ch, local);
        if (strings) {
            if (valid) {
                int32_t begin = ch->offsets[local], n = ch->offsets[local + 1] - begin;
                if (n) err = run_add(&run, ch->fd, ch->data_pos + begin, (size_t)n, out + at);
                at += n;
            }
            out_offsets[r + 1] = (int32_t)at;
        } else { /* a null's value bytes are copied too: Arrow leaves them undefined */
            err = run_add(&run, ch->fd, ch->values_pos + (ch->array_offset + local) * width, (size_t)width,
                          out + at);
            at += width;
        }
        if (valid && bits) bits[r >> 3] |= (uint8_t)(1u << (r & 7));
    }
    if (!err) err = run_finish(&run);
    if (released) PyEval_RestoreThread(released);
    if (err) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    result = Py_BuildValue("(OOOL)", values, data ? data : Py_None, validity ? validity : Py_None,
                           (long long)nulls);
done:
    if (vv.obj) PyBuffer_Release(&vv);
    if (dv.obj) PyBuffer_Release(&dv);
    if (bv.obj) PyBuffer_Release(&bv);
    if (rows.obj) PyBuffer_Release(&rows);
    Py_XDECREF(values);
    Py_XDECREF(data);
    Py_XDECREF(validity);
    free_chunks(chunks, nchunks);
    return result;
}

static PyMethodDef methods[] = {
    {"gather", gather, METH_VARARGS, gather_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_segread",
    "Copies rows of WAL segment columns out of the segment files with pread (no memory map).", -1, methods,
};

PyMODINIT_FUNC PyInit__segread(void) { return PyModule_Create(&module_def); }
