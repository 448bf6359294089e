# cython: language_level=3, freethreading_compatible=True, embedsignature=True, binding=False
"""Compiled ``QueryParams``: the behaviour of ``_query_py.QueryParams``, decoding on demand.

Construction splits the query once into ``(start, "=", end)`` offsets with per-half flags
(``%`` seen, ``+`` seen, non-ASCII seen) and keeps a reference to the query itself. A look-up
compares the key with the raw characters when the raw key has no ``%`` and decodes only the
value it returns. The first listing call (``len()``, ``keys()``, ``items()``, iteration, ...)
decodes every pair once and keeps the pairs and the first-value dict; later ones reuse them.

Decoding reproduces ``urllib.parse.unquote_plus(s, "utf-8", "replace")``: ``+`` is a space;
in each run of ASCII characters ``%XX`` escapes become bytes and the run is decoded as UTF-8
with ``errors="replace"`` (``PyUnicode_DecodeUTF8``, so the replacements are CPython's own);
non-ASCII characters (bytes >= 0x80 read as latin-1, or any character of a ``str``) end the
run and are kept as they are. A ``bytes`` query reads as latin-1, so it shares the one-byte
``str`` path.
"""

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8, PyUnicode_Substring


cdef extern from *:
    """
    #if PY_VERSION_HEX < 0x030C0000
    #define _hq_unicode_ready(o) PyUnicode_READY(o)
    #else
    #define _hq_unicode_ready(o) 0
    #endif
    """
    int _hq_unicode_ready(object) except -1
    ctypedef unsigned char Py_UCS1
    ctypedef unsigned short Py_UCS2
    int PyUnicode_KIND(object o)
    const void *PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    const char *PyBytes_AS_STRING(object o)
    Py_ssize_t PyBytes_GET_SIZE(object o)
    bytes PyBytes_FromStringAndSize(const char *s, Py_ssize_t n)


# Flags of one pair; the value's flags are the key's shifted by _VALUE.
cdef enum:
    _PCT = 1     # a "%" (an escape to decode, or a literal "%")
    _PLUS = 2    # a "+" (a space)
    _HIGH = 4    # a non-ASCII character (ends an ASCII run)
    _VALUE = 3

cdef struct _Pair:
    Py_ssize_t start  # first character of the key
    Py_ssize_t eq     # the "=" ending the key, or ``end`` when there is none
    Py_ssize_t end    # the "&" or the end of the query ending the value
    unsigned int flags


cdef inline unsigned int _char(const void *data, int kind, Py_ssize_t i) noexcept nogil:
    """Character ``i`` of a canonical str buffer of ``kind`` bytes per character."""
    if kind == 1:
        return (<const Py_UCS1 *>data)[i]
    if kind == 2:
        return (<const Py_UCS2 *>data)[i]
    return (<const unsigned int *>data)[i]


cdef inline int _hex(unsigned int c) noexcept nogil:
    """Value of a hex digit (either case), -1 for anything else (as urllib's table)."""
    if 48 <= c <= 57:
        return c - 48
    c |= 32
    if 97 <= c <= 102:
        return c - 87
    return -1


cdef Py_ssize_t _split(const void *data, int kind, Py_ssize_t length, _Pair *pairs) noexcept:
    """Fill ``pairs`` with the non-empty ``&``-separated segments; return how many.

    ``pairs`` has room for one more segment than there are ``&``.
    """
    cdef Py_ssize_t count = 0, start = 0, eq = -1, i
    cdef unsigned int flags = 0, shift = 0
    cdef unsigned int c
    for i in range(length + 1):
        c = _char(data, kind, i) if i < length else 38  # a final "&" closes the last segment
        if 61 < c < 128:  # letters and most punctuation: nothing to note
            continue
        if c == 38:  # "&"
            if i > start:
                pairs[count].start = start
                pairs[count].eq = i if eq < 0 else eq
                pairs[count].end = i
                pairs[count].flags = flags
                count += 1
            start = i + 1
            eq = -1
            flags = shift = 0
        elif c == 61:  # "="; only the first splits
            if eq < 0:
                eq = i
                shift = _VALUE
        elif c == 37:  # "%"
            flags |= _PCT << shift
        elif c == 43:  # "+"
            flags |= _PLUS << shift
        elif c >= 128:
            flags |= _HIGH << shift
    return count


cdef str _unquote_ascii(const void *data, int kind, Py_ssize_t start, Py_ssize_t end):
    """``unquote_plus`` of ``[start, end)``, all ASCII: bytes of the escapes, then UTF-8."""
    cdef char stack[256]
    cdef char *buf = stack
    cdef Py_ssize_t i = start, size = 0
    cdef unsigned int c
    cdef int high, low
    if end - start > 256:
        buf = <char *>PyMem_Malloc(end - start)
        if buf == NULL:
            raise MemoryError()
    try:
        while i < end:
            c = _char(data, kind, i)
            if c == 37 and i + 2 < end:  # "%" with two characters after it
                high = _hex(_char(data, kind, i + 1))
                low = _hex(_char(data, kind, i + 2))
                if high >= 0 and low >= 0:
                    buf[size] = <char>(high * 16 + low)
                    size += 1
                    i += 3
                    continue
            buf[size] = 32 if c == 43 else <char>c  # "+" is a space
            size += 1
            i += 1
        return PyUnicode_DecodeUTF8(buf, size, "replace")
    finally:
        if buf != stack:
            PyMem_Free(buf)


# A non-str key is never stored, but it must fail as a dict look-up fails: the interpreter's own
# look-ups on an empty dict raise exactly what the pure twin's dict raises (CPython 3.14 reworded
# the unhashable-key message), where a message of ours would drift from it.
_absent_get = {}.get
_absent_item = {}.__getitem__


@cython.freelist(16)
# It refers only to an exact bytes or str and to its own cache (a list and a dict of str,
# never handed out): no reference cycle is possible.
@cython.no_gc
cdef class QueryParams:
    """Immutable multi-dict of query parameters.

    Built from ``bytes`` (decoded as latin-1) or ``str``; the pairs are exactly
    ``urllib.parse.parse_qsl(qs, keep_blank_values=True)``. ``get``/``[]``/``values()``/
    ``items()`` see the first value of each key; ``multi_items()`` every pair in order;
    ``len()`` counts unique keys. Equality is order-sensitive over ``multi_items()``.

    Raises:
        TypeError: the query is neither ``str`` nor ``bytes``.
    """

    cdef object _source     # the query as an exact bytes or str
    cdef const void *_data  # its characters
    cdef int _kind          # bytes per character: 1 (always for bytes), 2 or 4
    cdef _Pair *_pairs      # the non-empty segments, in order
    cdef Py_ssize_t _count
    # (every decoded pair, {key: first value}), built by the first listing call: a parse
    # followed only by look-ups never pays for it. Read and written under a critical section.
    cdef tuple _cache

    def __init__(self, query=""):
        self._set(query)

    @cython.final  # a direct C call, inlined into __init__
    cdef inline int _set(self, object query) except -1:
        cdef Py_ssize_t length, capacity = 1, i
        if isinstance(query, bytes):
            source = query if type(query) is bytes else PyBytes_FromStringAndSize(
                PyBytes_AS_STRING(query), PyBytes_GET_SIZE(query))
            self._kind = 1
            self._data = PyBytes_AS_STRING(source)
            length = PyBytes_GET_SIZE(source)
        elif isinstance(query, str):
            _hq_unicode_ready(query)
            length = PyUnicode_GET_LENGTH(query)
            # An exact str (a subclass instance is copied), read through its canonical buffer.
            source = PyUnicode_Substring(query, 0, length)
            self._kind = PyUnicode_KIND(source)
            self._data = PyUnicode_DATA(source)
        else:
            raise TypeError(f"A query must be str or bytes, got {type(query).__name__}.")
        with cython.critical_section(self):  # __init__ may run again on a shared instance
            PyMem_Free(self._pairs)
            self._pairs = NULL
            self._count = 0
            self._cache = None
            self._source = source
            if length == 0:
                return 0
            for i in range(length):
                if _char(self._data, self._kind, i) == 38:
                    capacity += 1
            self._pairs = <_Pair *>PyMem_Malloc(capacity * sizeof(_Pair))
            if self._pairs == NULL:
                raise MemoryError()
            self._count = _split(self._data, self._kind, length, self._pairs)
        return 0

    def __dealloc__(self):
        PyMem_Free(self._pairs)

    cdef str _text(self, Py_ssize_t start, Py_ssize_t end, unsigned int flags):
        """The decoded text of ``[start, end)`` given its flags (``_PCT``/``_PLUS``/``_HIGH``)."""
        cdef Py_ssize_t i, run
        if not flags & (_PCT | _PLUS):  # nothing to decode: the characters themselves
            if self._kind == 1:
                return PyUnicode_DecodeLatin1(<const char *>self._data + start, end - start, NULL)
            return PyUnicode_Substring(self._source, start, end)
        if not flags & _HIGH:  # one ASCII run
            return _unquote_ascii(self._data, self._kind, start, end)
        # Alternate runs: ASCII ones are unquoted, non-ASCII ones kept as they are.
        parts = []
        i = start
        while i < end:
            run = i
            if _char(self._data, self._kind, i) < 128:
                while run < end and _char(self._data, self._kind, run) < 128:
                    run += 1
                parts.append(_unquote_ascii(self._data, self._kind, i, run))
            else:
                while run < end and _char(self._data, self._kind, run) >= 128:
                    run += 1
                parts.append(self._text(i, run, 0))
            i = run
        return "".join(parts)

    cdef inline str _key(self, _Pair *pair):
        return self._text(pair.start, pair.eq, pair.flags & 7)

    cdef inline str _value(self, _Pair *pair):
        cdef Py_ssize_t start = pair.eq + 1 if pair.eq < pair.end else pair.end
        return self._text(start, pair.end, pair.flags >> _VALUE)

    cdef bint _matches(self, _Pair *pair, object key, int kind, const void *data,
                       Py_ssize_t length) except -1:
        """Whether the pair's decoded key equals ``key`` (of ``kind``, ``data``, ``length``)."""
        cdef Py_ssize_t i
        cdef unsigned int c
        if pair.flags & _PCT:  # escapes: decode, then compare
            return self._key(pair) == key
        if pair.eq - pair.start != length:
            return False
        for i in range(length):
            c = _char(self._data, self._kind, pair.start + i)
            if c == 43:  # "+"
                c = 32
            if c != _char(data, kind, i):
                return False
        return True

    cdef Py_ssize_t _find(self, object key, Py_ssize_t start) except -2:
        """Index of the first pair from ``start`` whose key is ``key``; -1 when none."""
        _hq_unicode_ready(key)
        cdef int kind = PyUnicode_KIND(key)
        cdef const void *data = PyUnicode_DATA(key)
        cdef Py_ssize_t length = PyUnicode_GET_LENGTH(key), index
        for index in range(start, self._count):
            if self._matches(&self._pairs[index], key, kind, data, length):
                return index
        return -1

    cdef tuple _cached(self):
        """``(pairs, first)``: every ``(key, value)`` pair decoded, in order (``parse_qsl``'s
        result), and each unique key with its first value, in first-seen order.

        Built once, by the first caller; neither is ever handed out (callers copy them).
        """
        cdef Py_ssize_t index
        cdef dict first
        with cython.critical_section(self):
            if self._cache is None:
                pairs = [
                    (self._key(&self._pairs[index]), self._value(&self._pairs[index]))
                    for index in range(self._count)
                ]
                first = {}
                for key, value in pairs:
                    first.setdefault(key, value)
                self._cache = (pairs, first)
            return self._cache

    cdef inline list _decoded(self):
        """Every ``(key, value)`` pair decoded, in order (the cached list: do not change it)."""
        return <list>self._cached()[0]

    cdef inline dict _first(self):
        """Each unique key with its first value (the cached dict: do not change it)."""
        return <dict>self._cached()[1]

    def get(self, key, default=None):
        """The first value of ``key``, or ``default``."""
        cdef Py_ssize_t index
        if not isinstance(key, str):
            return _absent_get(key, default)  # TypeError for an unhashable key, as the twin
        with cython.critical_section(self):  # a concurrent __init__ frees the pairs
            index = self._find(key, 0)
            return default if index < 0 else self._value(&self._pairs[index])

    def getlist(self, key):
        """Every value of ``key``, in order (empty when absent)."""
        cdef Py_ssize_t index
        values = []
        if not isinstance(key, str):
            return values
        with cython.critical_section(self):
            index = self._find(key, 0)
            while index >= 0:
                values.append(self._value(&self._pairs[index]))
                index = self._find(key, index + 1)
        return values

    def keys(self):
        """Unique keys, in first-seen order."""
        return list(self._first())

    def values(self):
        """The first value of each unique key."""
        return list(self._first().values())

    def items(self):
        """``(key, first value)`` for each unique key."""
        return list(self._first().items())

    def multi_items(self):
        """Every ``(key, value)`` pair, in the original order."""
        return list(self._decoded())

    def __getitem__(self, key):
        cdef Py_ssize_t index
        if not isinstance(key, str):
            return _absent_item(key)  # KeyError, or TypeError when unhashable
        with cython.critical_section(self):
            index = self._find(key, 0)
            if index >= 0:
                return self._value(&self._pairs[index])
        raise KeyError(key)

    def __contains__(self, key):
        if not isinstance(key, str):
            return False
        with cython.critical_section(self):
            return self._find(key, 0) >= 0

    def __iter__(self):
        return iter(self._first())

    def __len__(self):
        return len(self._first())

    def __bool__(self):
        return self._count > 0

    def __eq__(self, other):
        if not isinstance(other, QueryParams):
            return NotImplemented
        return self._decoded() == (<QueryParams>other)._decoded()

    __hash__ = None

    def __repr__(self):
        return f"QueryParams({self._decoded()!r})"

    def __reduce__(self):
        return type(self), ("" if self._source is None else self._source,)


@cython.always_allow_keywords(False)  # METH_O, positional-only as in the twin
def query_params_from_scope(scope):
    """``QueryParams`` parsed from ``scope["query_string"]`` (empty when absent).

    The same object as ``QueryParams(scope.get("query_string", b""))``, without the class
    call's argument handling: one C call from ``WebSocket.query_params``.
    """
    cdef QueryParams params = QueryParams.__new__(QueryParams)
    params._set((<dict>scope).get("query_string", b"") if type(scope) is dict
                else scope.get("query_string", b""))
    return params
