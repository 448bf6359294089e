# cython: language_level=3, freethreading_compatible=True, embedsignature=True, binding=False
"""Compiled ``Headers``: the behaviour of ``_headers_py.Headers``, decoding nothing up front.

The object keeps the ASGI list itself (no copy, no lowercased names). A look-up compares the
``str`` key's latin-1 buffer with each raw name, ASCII case ignored, without allocating, and
decodes only the value it returns. Construction only checks the item types.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1


cdef extern from *:
    """
    /* Python 3.10/3.11 may hold "legacy" str objects whose buffer is not built yet. */
    #if PY_VERSION_HEX < 0x030C0000
    #define _hq_unicode_ready(o) PyUnicode_READY(o)
    #else
    #define _hq_unicode_ready(o) 0
    #endif

    /* An exact tuple of two exact bytes: the only shape the look-ups read directly. */
    static inline int _hq_is_pair(PyObject *item) {
        return PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == 2
            && PyBytes_CheckExact(PyTuple_GET_ITEM(item, 0))
            && PyBytes_CheckExact(PyTuple_GET_ITEM(item, 1));
    }

    static int _hq_all_pairs(PyObject *const *entries, Py_ssize_t size) {
        for (Py_ssize_t i = 0; i < size; i++) {
            if (!_hq_is_pair(entries[i])) return 0;
        }
        return 1;
    }

    /* ASCII lowercase, as bytes.lower(): only A-Z change. */
    static inline unsigned char _hq_lower(unsigned char c) {
        return (unsigned char)(c - 'A') < 26 ? c + 32 : c;
    }

    /* Index of the first entry from `start` whose name equals the latin-1 `key` of length
       `n`, ASCII case ignored; -1 when none; -3 - i when entry i has no bytes name in a
       2-tuple (the list was changed after the check at construction). The hot loop of every
       look-up: borrowed pointers only, no allocation, no Python code. The value is checked
       by the caller, on a match only. */
    static Py_ssize_t _hq_find(PyObject *const *entries, Py_ssize_t size,
                               const unsigned char *key, Py_ssize_t n, Py_ssize_t start) {
        for (Py_ssize_t i = start; i < size; i++) {
            PyObject *item = entries[i];
            if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2) return -3 - i;
            PyObject *name = PyTuple_GET_ITEM(item, 0);
            if (!PyBytes_CheckExact(name)) return -3 - i;
            if (PyBytes_GET_SIZE(name) != n) continue;
            const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(name);
            Py_ssize_t j = 0;
            while (j < n && (raw[j] == key[j] || _hq_lower(raw[j]) == _hq_lower(key[j]))) j++;
            if (j == n) return i;
        }
        return -1;
    }
    #define _hq_bytes_data(b) ((const unsigned char *)PyBytes_AS_STRING(b))

    /* The value of a 2-tuple `_hq_find` matched (a new reference), or None if not bytes. */
    static inline PyObject *_hq_value(PyObject *item) {
        PyObject *value = PyTuple_GET_ITEM(item, 1);
        return Py_NewRef(PyBytes_CheckExact(value) ? value : Py_None);
    }
    """
    int _hq_unicode_ready(object) except -1
    bint _hq_is_pair(PyObject *item)
    bint _hq_all_pairs(PyObject **entries, Py_ssize_t size)
    Py_ssize_t _hq_find(PyObject **entries, Py_ssize_t size, const unsigned char *key,
                        Py_ssize_t n, Py_ssize_t start)
    # Borrowed-pointer views of the exact list/tuple the headers scan.
    PyObject **PySequence_Fast_ITEMS(object seq)
    Py_ssize_t PySequence_Fast_GET_SIZE(object seq)
    const unsigned char *_hq_bytes_data(PyObject *b)
    object _hq_value(PyObject *item)
    bint PyUnicode_Check(object o)
    int PyUnicode_KIND(object o)
    int PyUnicode_1BYTE_KIND
    const unsigned char *PyUnicode_1BYTE_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)


cdef inline Py_ssize_t _key_buffer(object key, const unsigned char **data) except -2:
    """Length of ``key``'s latin-1 buffer (stored in ``data``); -1 when no name can match.

    A ``str`` stores one byte per character exactly when every character is <= U+00FF, so
    that buffer is ``key.encode("latin-1")`` without the copy.
    """
    if not PyUnicode_Check(key):
        return -1
    _hq_unicode_ready(key)
    if PyUnicode_KIND(key) != PyUnicode_1BYTE_KIND:
        return -1
    data[0] = PyUnicode_1BYTE_DATA(key)
    return PyUnicode_GET_LENGTH(key)


cdef tuple _pair_at(object items, Py_ssize_t index):
    """Item ``index`` of the scanned sequence, checked again: the list may have been mutated."""
    cdef PyObject *item = PySequence_Fast_ITEMS(items)[index]
    if not _hq_is_pair(item):
        raise TypeError(f"Header {index} must be a (bytes, bytes) pair, got {<object>item!r}.")
    return <tuple>item


cdef inline Py_ssize_t _find(object items, const unsigned char *key, Py_ssize_t n,
                             Py_ssize_t start) except -2:
    """Index of the first entry from ``start`` whose name matches ``key``; -1 when none."""
    cdef Py_ssize_t index = _hq_find(
        PySequence_Fast_ITEMS(items), PySequence_Fast_GET_SIZE(items), key, n, start
    )
    if index < -1:
        _pair_at(items, -3 - index)  # raises the TypeError naming the entry
    return index


cdef object _first(object items, object key):
    """The first value of ``key`` decoded, or None."""
    cdef const unsigned char *data
    cdef Py_ssize_t n = _key_buffer(key, &data)
    cdef Py_ssize_t index
    if n < 0:
        return None
    with cython.critical_section(items):
        index = _find(items, data, n, 0)
        if index < 0:
            return None
        value = _hq_value(PySequence_Fast_ITEMS(items)[index])
        if value is None:
            _pair_at(items, index)  # raises the TypeError naming the entry
        return _latin1(value)


cdef inline str _latin1(bytes value):
    return PyUnicode_DecodeLatin1(value, len(value), NULL)


cdef str _lower_name(bytes name):
    """``name.lower().decode("latin-1")``, with one allocation when already lowercase."""
    cdef const unsigned char *raw = _hq_bytes_data(<PyObject *>name)
    cdef Py_ssize_t i
    for i in range(len(name)):
        if <unsigned char>(raw[i] - 65) < 26:
            return _latin1(name.lower())
    return _latin1(name)


cdef bytes _exact(object value):
    """``value`` as an exact ``bytes`` (a subclass instance is copied)."""
    if type(value) is bytes:
        return value
    return PyBytes_FromStringAndSize(<char *>_hq_bytes_data(<PyObject *>value), len(value))


cdef tuple _normalize(object raw):
    """Validate ``raw`` as the pure twin does and return its pairs as exact bytes tuples."""
    if not isinstance(raw, (list, tuple)):
        raise TypeError(
            "Headers must be a list or tuple of (bytes, bytes) pairs, "
            f"got {type(raw).__name__}."
        )
    pairs = []
    for index, item in enumerate(raw):
        if not (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and isinstance(item[0], bytes)
            and isinstance(item[1], bytes)
        ):
            raise TypeError(f"Header {index} must be a (bytes, bytes) pair, got {item!r}.")
        pairs.append((_exact(item[0]), _exact(item[1])))
    return tuple(pairs)


@cython.freelist(16)
cdef class Headers:
    """Immutable, case-insensitive view of the ASGI header list ``[(name, value), ...]``.

    Names compare ASCII-case-insensitively and come back lowercased; names and values decode
    as latin-1. ``len()`` counts every entry, duplicates included; iteration yields unique names.

    Raises:
        TypeError: ``raw`` is not a list/tuple of ``(bytes, bytes)`` pairs (the message names
            the bad item).
    """

    cdef object _raw  # what the caller passed, returned by .raw
    # The exact list/tuple of exact (bytes, bytes) tuples that look-ups scan: ``_raw`` itself
    # in the usual case, a normalized tuple when ``_raw`` holds lists or subclasses.
    cdef object _items

    def __init__(self, raw=()):
        self._set(raw)

    @cython.final  # a direct C call, inlined into __init__
    cdef inline int _set(self, object raw) except -1:
        items = raw
        if type(raw) is list or type(raw) is tuple:
            with cython.critical_section(raw):
                if not _hq_all_pairs(PySequence_Fast_ITEMS(raw), PySequence_Fast_GET_SIZE(raw)):
                    items = None
        else:
            items = None
        self._items = _normalize(raw) if items is None else items
        self._raw = raw
        return 0

    cdef inline object _entries(self):
        # Empty for an instance made by __new__ without __init__.
        return () if self._items is None else self._items

    @property
    def raw(self):
        """The list the headers were built from, unchanged."""
        return self._raw

    def get(self, key, default=None):
        """The first value of ``key``, or ``default``."""
        value = _first(self._entries(), key)
        return default if value is None else value

    def getlist(self, key):
        """Every value of ``key``, in order (empty when absent)."""
        cdef const unsigned char *data
        cdef Py_ssize_t n = _key_buffer(key, &data)
        cdef Py_ssize_t index
        values = []
        if n < 0:
            return values
        items = self._entries()
        with cython.critical_section(items):
            index = _find(items, data, n, 0)
            while index >= 0:
                values.append(_latin1(_pair_at(items, index)[1]))
                index = _find(items, data, n, index + 1)
        return values

    cdef list _column(self, int column):
        """Every lowercased name (column 0) or every value (column 1), decoded."""
        cdef Py_ssize_t index = 0
        result = []
        items = self._entries()
        with cython.critical_section(items):
            # The size is read again each time: decoding may run code that mutates the list.
            while index < PySequence_Fast_GET_SIZE(items):
                part = _pair_at(items, index)[column]
                result.append(_latin1(part) if column else _lower_name(part))
                index += 1
        return result

    def keys(self):
        """Unique lowercased names, in first-seen order."""
        return list(dict.fromkeys(self._column(0)))

    def values(self):
        """Every value, duplicates included."""
        return self._column(1)

    def items(self):
        """Every ``(name, value)`` pair, names lowercased, duplicates included."""
        return list(zip(self._column(0), self._column(1)))

    def __getitem__(self, key):
        value = _first(self._entries(), key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        cdef const unsigned char *data
        cdef Py_ssize_t n = _key_buffer(key, &data)
        if n < 0:
            return False
        items = self._entries()
        with cython.critical_section(items):
            return _find(items, data, n, 0) >= 0

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return PySequence_Fast_GET_SIZE(self._entries())

    def __eq__(self, other):
        if not isinstance(other, Headers):
            return NotImplemented
        return self.items() == (<Headers>other).items()

    __hash__ = None

    def __repr__(self):
        return f"Headers({self.items()!r})"

    def __reduce__(self):
        return type(self), (self._raw,)


@cython.always_allow_keywords(False)  # METH_O, positional-only as in the twin
def headers_from_scope(scope):
    """``Headers`` over ``scope["headers"]`` (empty when absent).

    The same object as ``Headers(scope.get("headers", ()))``, without the class call's argument
    handling: one C call from ``WebSocket.headers``.
    """
    cdef Headers headers = Headers.__new__(Headers)
    headers._set((<dict>scope).get("headers", ()) if type(scope) is dict
                 else scope.get("headers", ()))
    return headers
