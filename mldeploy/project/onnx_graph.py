"""An ONNX model's inputs for `mldeploy init`: the file is a protocol buffer of onnx.ModelProto,
read with the wire format's rules (protobuf.dev/programming-guides/encoding) and the field numbers of onnx/onnx.proto3 (ModelProto
ir_version 1, graph 7; GraphProto initializer 5, input 11; ValueInfoProto name 1, type 2;
TypeProto tensor_type 1; TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1;
Dimension dim_value 1, dim_param 2; TensorProto name 8). Read here rather than with the `onnx`
package: onnx 1.20+ needs protobuf 6, which the scorer host's OpenTelemetry exporter (protobuf <6)
excludes from the same virtualenv; the tests check this reader against onnx.load.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OnnxInput:
    """One input of an ONNX graph: its name, numpy dtype name, columns per row and shape."""

    name: str
    dtype: str
    width: int  # columns per row; 0 when the input is not rows (see shape)
    shape: tuple = ()  # every dimension: its size, or None where the graph leaves it open


@dataclass(frozen=True)
class OnnxGraph:
    """What init needs of an ONNX model: its inputs, fixed batch size, and external data files."""

    inputs: tuple[OnnxInput, ...]
    rows: int | None = None
    external: tuple[str, ...] = ()


# TensorProto.DataType -> numpy dtype (onnx/onnx.proto3; onnx.helper.tensor_dtype_to_np_dtype).
ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "str",
               9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64"}


class _NotProtobuf(ValueError):
    pass


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise _NotProtobuf
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview) -> list[tuple[int, int, object]]:
    """One message's (field number, wire type, value): an int, or a memoryview for length-delimited
    and fixed-size fields. _NotProtobuf when the bytes are not a well-formed message."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise _NotProtobuf
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = buf[i:i + size], i + size
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        else:  # groups (3, 4) are not in proto3, 6-7 do not exist
            raise _NotProtobuf
        if i > len(buf):
            raise _NotProtobuf
        out.append((field, wire, value))
    return out


def _first(fields, number: int, wire: int = 2):
    return next((v for f, w, v in fields if f == number and w == wire), None)


def _text(value) -> str:
    return bytes(value).decode("utf-8", errors="replace")


def read_onnx(data: bytes) -> OnnxGraph | str | None:
    """An ONNX model's inputs, a description of why init cannot
    serve an ONNX model (str), or None when the bytes are no ONNX model."""
    try:
        model = _fields(memoryview(data))
        ir_version, graph = _first(model, 1, 0), _first(model, 7)
        if not ir_version or graph is None:
            return None
        graph = _fields(graph)
        tensors = [_fields(v) for f, w, v in graph if f == 5 and w == 2]
        weights = {_text(_first(t, 8) or b"") for t in tensors}
        # A large model's weights in other files: data_location (14) EXTERNAL (1), its external_data
        # (13) entries' key 'location' (StringStringEntryProto key 1, value 2) naming the file.
        external = sorted({_text(_first(e, 2) or b"") for t in tensors if _first(t, 14, 0) == 1
                           for e in (_fields(v) for f, w, v in t if f == 13 and w == 2)
                           if _text(_first(e, 1) or b"") == "location"})
        inputs = [_fields(v) for f, w, v in graph if f == 11 and w == 2]
        inputs = [i for i in inputs if _text(_first(i, 1) or b"") not in weights]  # IR < 4 lists weights as inputs
        declared = [_onnx_input(i) for i in inputs]
    except _NotProtobuf:
        return None
    if not declared:
        return "an ONNX model without inputs"
    problems = [d for d in declared if isinstance(d, str)]
    arrays = [d[0] for d in declared if not isinstance(d, str) and not d[0].width]
    if len(declared) == 1 and arrays and arrays[0].dtype != "str":
        # One tensor of another shape (an image batch [N, 3, 224, 224]): a request holds that array.
        return OnnxGraph((arrays[0],), external=tuple(external))
    if arrays and not problems:
        problems = [f"input {arrays[0].name!r} has shape {_shown(arrays[0].shape)} beside other inputs"]
    if problems:
        return f"an ONNX model whose {problems[0]}; init writes score.py for inputs of rows ([rows, columns], " \
               "a fixed number of columns, numbers, texts or booleans) or one numeric tensor of any shape: write " \
               "score.py yourself (init without --model, then point mldeploy:models at the file)"
    rows = {d[1] for d in declared} - {None}
    if len(rows) > 1:
        return f"an ONNX model whose inputs have different fixed numbers of rows ({sorted(rows)})"
    found = tuple(d[0] for d in declared)
    return OnnxGraph(found, rows.pop() if rows else None, tuple(external))


def _onnx_input(fields) -> tuple[OnnxInput, int | None] | str:
    """(the input, its fixed number of rows or None), or why init cannot write score.py for it."""
    name = _text(_first(fields, 1) or b"")
    tensor = _first(_fields(_first(fields, 2) or b""), 1)
    if tensor is None:
        return f"input {name!r} is not a tensor (a sequence, map or optional)"
    tensor = _fields(tensor)
    elem = _first(tensor, 1, 0)
    if elem not in ONNX_DTYPES:
        return f"input {name!r} has element type {elem} (onnx TensorProto.DataType), which numpy has no type for"
    shape = _first(tensor, 2)
    if shape is None:
        return f"input {name!r} declares no shape"
    dims = [_fields(d) for f, w, d in _fields(shape) if f == 1 and w == 2]
    sizes = tuple(_first(d, 1, 0) or None for d in dims)  # None where the size is symbolic (dim_param) or unset
    if not sizes:
        return f"input {name!r} is a scalar (shape [])"
    if len(sizes) != 2 or not sizes[1]:
        return OnnxInput(name, ONNX_DTYPES[elem], 0, sizes), None
    return OnnxInput(name, ONNX_DTYPES[elem], sizes[1], sizes), sizes[0]


def _shown(shape) -> str:
    return "[" + ", ".join(str(size) if size else "N" for size in shape) + "]"
