"""What a pickle (or a joblib file, compressed or not) says about itself, read from its bytes and never
unpickled: unpickling runs whatever code the file names (Python's pickle documentation: "The pickle module is
not secure. Only unpickle data you trust."), and mldeploy reads model files where nobody chose to trust them -
`mldeploy init` on a model handed over, synth and `pulumi preview` in CI on a pull request's model file, with
the deployer's credentials in the environment. The modules a pickle imports, the scikit-learn that wrote it.
"""
from __future__ import annotations

import _compat_pickle
import bz2
import gzip
import lzma
import re
import zlib

# joblib's compressed pickles start with their compressor's magic number (joblib/compressor.py:
# _ZLIB_PREFIX, _GZIP_PREFIX, _BZ2_PREFIX, _XZ_PREFIX, _LZMA_PREFIX, _LZ4_PREFIX); joblib.load
# picks the decompressor from them.
_COMPRESSED = ((b"\x1f\x8b", "gzip-compressed", gzip.decompress), (b"BZh", "bz2-compressed", bz2.decompress),
               (b"\xfd7zXZ", "xz-compressed", lzma.decompress), (b"\x5d\x00", "lzma-compressed", lzma.decompress),
               (b"\x04\x22\x4d\x18", "lz4-compressed", None), (b"\x78", "zlib-compressed", zlib.decompress))


def decompressed(data: bytes) -> tuple[bytes | None, str]:
    """(the pickle stream, how it was compressed or ''): the data itself when not compressed, None
    when it starts like a compressed file but does not decompress (then it may still be another
    format: an ONNX or text file can start with 'x')."""
    for magic, packed, decompress in _COMPRESSED:
        # zlib's one-byte magic is a text's 'x' too: its 2-byte header is also a multiple of 31 (RFC 1950)
        if data.startswith(magic) and (packed != "zlib-compressed" or int.from_bytes(data[:2], "big") % 31 == 0):
            if decompress is None:
                return None, packed
            try:
                return decompress(data), packed
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
                return None, packed
    return data, ""


# A class or function a pickle imports: STACK_GLOBAL (protocol 4+: the module and the name as two
# short strings, each maybe memoized, then \x93) or GLOBAL (protocols 0-3: 'c' module '\n' name '\n').
# A byte pattern as in mldeploy.project's _WIDTH: pickletools.genops stops at joblib's array bytes.
_STACK_GLOBAL = re.compile(rb"\x8c(?P<n>.)(?P<module>[A-Za-z_][A-Za-z0-9_.]*)(?:\x94|q.)?"
                           rb"\x8c.[A-Za-z_][A-Za-z0-9_.]*(?:\x94|q.)?\x93", re.DOTALL)
_GLOBAL = re.compile(rb"c(?P<module>[A-Za-z_][A-Za-z0-9_.]*)\n[A-Za-z_][A-Za-z0-9_.]*\n")


_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_NO_PUSH = {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "FRAME", "PROTO"}


def _walked_modules(stream: bytes) -> set[str] | None:
    """The modules of a pickle that pickletools.genops walks to its end (any pickle without joblib's
    raw array bytes), read from GLOBAL's argument and the two strings before each STACK_GLOBAL
    (memoized ones followed through the memo); None when genops cannot walk it."""
    import pickletools

    found, memo, pushed = set(), {}, [None, None]
    try:
        for op, arg, _ in pickletools.genops(stream):
            if op.name == "GLOBAL":
                found.add(arg.split(" ")[0])
            elif op.name == "STACK_GLOBAL" and isinstance(pushed[-2], str):
                found.add(pushed[-2])
            if op.name == "MEMOIZE":
                memo[len(memo)] = pushed[-1]
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = pushed[-1]
            elif op.name not in _NO_PUSH:
                value = arg if op.name in _STRINGS else memo.get(arg) if op.name.endswith("GET") else None
                pushed.append(value if isinstance(value, str) else None)
    except Exception:  # genops stops on bytes that are no opcode (joblib's arrays)
        return None
    return found


def pickle_module_paths(stream: bytes) -> set[str]:
    """The dotted modules a pickle stream imports classes or functions from (`numpy._core.multiarray`)."""
    found = _walked_modules(stream)
    if found is None:
        found = {m.group("module").decode() for m in _STACK_GLOBAL.finditer(stream)
                 if m.group("n")[0] == len(m.group("module"))}
        found |= {m.group("module").decode() for m in _GLOBAL.finditer(stream)}
    # Python 2's names in protocol 0-2 pickles (__builtin__, copy_reg) map to the standard library.
    return {_compat_pickle.IMPORT_MAPPING.get(m, m) for m in found}


def pickle_modules(stream: bytes) -> set[str]:
    """The top-level modules a pickle stream imports classes or functions from."""
    return {m.split(".")[0] for m in pickle_module_paths(stream)}


# NumPy 2 renamed its private numpy.core to numpy._core, and pickles its arrays and scalars through it
# (numpy._core.multiarray._reconstruct, numpy._core.multiarray.scalar); NumPy 1.x has no numpy._core, so such a
# pickle does not load there: "ModuleNotFoundError: No module named 'numpy._core'" (numpy/numpy#28340, "Cannot
# unpickle file created by NumPy 2.x in NumPy 1.x", open). NumPy 1.x's numpy.core pickles still load under 2.x.
NUMPY_2_MODULE = "numpy._core"


def pickled_by_numpy_2(stream: bytes) -> bool:
    """Whether the pickle imports from numpy._core, which only NumPy 2 and later have."""
    return any(m == NUMPY_2_MODULE or m.startswith(NUMPY_2_MODULE + ".") for m in pickle_module_paths(stream))


# A scikit-learn estimator pickles its version into its state (BaseEstimator.__getstate__: "_sklearn_version"),
# as a key string, then (memoized) the version string: SHORT_BINUNICODE (protocol 4+) or BINUNICODE (2-3).
_SKLEARN_VERSION = re.compile(rb"_sklearn_version(?:\x94|q[\x00-\xff]|r[\x00-\xff]{4})?"
                              rb"(?:\x8c(?P<short>[\x00-\xff])|X(?P<long>[\x00-\xff]{4}))")
_VERSION = re.compile(r"\d+\.\d+(\.\d+)?([a-z]+\d*)?(\.post\d+)?")
# Protocol 0 writes both as text lines (UNICODE: 'V' ... '\n', each maybe memoized by PUT: 'p<n>\n').
_SKLEARN_VERSION_TEXT = re.compile(rb"V_sklearn_version\n(?:p\d+\n)?V(?P<text>[^\n]{1,32})\n")


def pickle_sklearn_version(stream: bytes) -> str | None:
    """The scikit-learn version a pickled estimator was saved with (its first `_sklearn_version`), read from
    the bytes, never unpickled; None when the pickle holds none."""
    found = _SKLEARN_VERSION.search(stream)
    if found is None:
        text = _SKLEARN_VERSION_TEXT.search(stream)
        value = text.group("text").decode("utf-8", "replace") if text else ""
        return value if _VERSION.fullmatch(value) else None
    size = found.group("short")[0] if found.group("short") else int.from_bytes(found.group("long"), "little")
    value = stream[found.end():found.end() + size].decode("utf-8", "replace")
    return value if size <= 32 and _VERSION.fullmatch(value) else None
