"""Writes the GGUF fixtures of rung-models' tests (models/tests/gguf.rs), using the `gguf`
package (llama.cpp's gguf-py) as the reference reader, writer and dequantizer.

Run from the repository root (re-runnable; the output is byte-for-byte deterministic):

    $(models/reference/setup.sh) models/reference/gguf_reference.py

It writes, under models/tests/fixtures/gguf/:

- tensors.gguf: small tensors of every type rung dequantizes (F32, F16, BF16, Q8_0, Q4_0, Q4_1;
  the quantized ones made by `gguf.quants.quantize`), with 1 to 4 dimensions, all-zero blocks
  and special values (subnormals, infinities, NaN, -0), plus a Q5_0 and a Q4_K tensor that rung
  must refuse to dequantize.
- metadata.gguf: every metadata value type, arrays of each, nested arrays, unicode strings,
  `general.alignment` = 64, and two tensors placed by that alignment.
- v2.gguf: metadata.gguf with its version field set to 2 (versions 2 and 3 share one layout).
- expected.json: for each fixture, the metadata (each value with its type; floats as bit
  patterns so the comparison is exact) and every tensor's GGUF dims, PyTorch shape, type and
  dequantized values as f32 bit patterns, from `gguf.quants.dequantize`.
- smollm2.json: the real SmolLM2-135M-Instruct Q4_1 file (scripts/fetch-smollm2.sh): its scalar
  metadata, the sizes, sampled entries and totals of its arrays (and the chat template's length
  and start), every tensor's type and dims, and for a
  few tensors of each type the dequantized shape, sum, sum of squares and sampled values.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "tests" / "fixtures" / "gguf"

VALUE_TYPE_NAMES = {
    V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
    V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string", V.ARRAY: "array",
    V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64",
}


def f32_bits(values) -> list[int]:
    return np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).ravel().tolist()


# ----- writing -----

def write_gguf(path: Path, fill) -> None:
    """A GGUF file with what `fill(writer)` adds; `general.architecture` is `test`."""
    writer = gguf.GGUFWriter(str(path), "test")
    fill(writer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tensor_values(rng: np.random.Generator, shape, scale=1.0) -> np.ndarray:
    """Normal values, with the first block of 32 all zero when there is room, so the d = 0
    path of each quantization is covered."""
    values = (rng.standard_normal(shape) * scale).astype(np.float32)
    flat = values.reshape(-1)
    if flat.size >= 64:
        flat[:32] = 0.0
    return values


def add_quantized(writer, name: str, values: np.ndarray, qtype: Q) -> None:
    """`values` quantized to `qtype`; gguf-py works out the GGUF dims from the byte shape."""
    writer.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)


def fill_tensors(writer) -> None:
    rng = np.random.default_rng(20240601)
    writer.add_uint32("test.seed", 20240601)
    # F32: 2-D and 1-D, with specials.
    f32 = rng.standard_normal((3, 5)).astype(np.float32)
    f32[0, :4] = [np.inf, -np.inf, -0.0, 1e-45]
    writer.add_tensor("f32.matrix", f32)
    writer.add_tensor("f32.vector", rng.standard_normal(7).astype(np.float32))
    # F16: every kind of special value, then random ones.
    specials = np.array(
        [0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 6e-8, 6.1e-5, np.inf, -np.inf, np.nan, 0.333],
        dtype=np.float32,
    )
    f16 = np.concatenate([specials, rng.standard_normal(20).astype(np.float32) * 100]).astype(np.float16)
    writer.add_tensor("f16.matrix", f16.reshape(4, 8))
    # BF16 (3-D) by gguf-py's round-to-nearest-even quantization, specials included.
    bf16 = rng.standard_normal((2, 3, 4)).astype(np.float32) * 1000
    bf16.reshape(-1)[:5] = [np.inf, -0.0, np.nan, 1e-40, 3.0e38]
    add_quantized(writer, "bf16.cube", bf16, Q.BF16)
    # Block quantizations: 2-D, 3-D and 4-D, rows of one to three blocks.
    add_quantized(writer, "q8_0.matrix", tensor_values(rng, (3, 64), 2.0), Q.Q8_0)
    add_quantized(writer, "q8_0.4d", tensor_values(rng, (2, 1, 2, 32), 0.01), Q.Q8_0)
    add_quantized(writer, "q4_0.matrix", tensor_values(rng, (3, 64), 0.5), Q.Q4_0)
    add_quantized(writer, "q4_0.cube", tensor_values(rng, (2, 2, 96), 3.0), Q.Q4_0)
    add_quantized(writer, "q4_1.matrix", tensor_values(rng, (2, 96), 1.0) + 0.25, Q.Q4_1)
    add_quantized(writer, "q4_1.vector", tensor_values(rng, (64,), 10.0), Q.Q4_1)
    # Types rung does not dequantize: a Q5_0 made by gguf-py, a Q4_K of raw bytes.
    add_quantized(writer, "q5_0.unsupported", tensor_values(rng, (1, 32)), Q.Q5_0)
    q4_k = rng.integers(0, 256, size=(1, 144), dtype=np.uint8)
    writer.add_tensor("q4_k.unsupported", q4_k, raw_dtype=Q.Q4_K)


def fill_metadata(writer) -> None:
    writer.add_custom_alignment(64)
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_uint64("test.u64", 2**63 + 12345)
    writer.add_int64("test.i64", -(2**62) - 7)
    writer.add_float32("test.f32", 0.1)
    writer.add_float64("test.f64", -2.718281828459045e-300)
    writer.add_bool("test.bool_true", True)
    writer.add_bool("test.bool_false", False)
    writer.add_string("test.string", "héllo, 世界 🦀 \u05e9\u05dc\u05d5\u05dd\n\ttabs")
    writer.add_uint32("test.small_u32", 7)
    writer.add_int64("test.negative_i64", -1)
    scalar_arrays = {
        "u8": (V.UINT8, [0, 1, 255]),
        "i8": (V.INT8, [-128, 0, 127]),
        "u16": (V.UINT16, [0, 65535]),
        "i16": (V.INT16, [-32768, 32767]),
        "u32": (V.UINT32, [0, 4294967295]),
        "i32": (V.INT32, [-2147483648, 2147483647, 3]),
        "u64": (V.UINT64, [0, 2**64 - 1]),
        "i64": (V.INT64, [-(2**63), 2**63 - 1]),
        "f32": (V.FLOAT32, [1.5, -0.0, 1e-40]),
        "f64": (V.FLOAT64, [1e300, -1e-300]),
        "bool": (V.BOOL, [True, False, True]),
        "string": (V.STRING, ["a", "", "ünïcödé", "<|im_start|>"]),
    }
    for name, (subtype, values) in scalar_arrays.items():
        writer.add_key_value(f"test.array.{name}", values, V.ARRAY, sub_type=subtype)
    # Nested arrays: gguf-py types each inner list by its first element (int -> i32).
    writer.add_array("test.nested.i32", [[1, 2, 3], [4], [-5, 6]])
    writer.add_array("test.nested.string", [["a", "b"], ["ç"]])
    writer.add_array("test.nested.deep", [[[1, 2], [3]], [[4]]])
    writer.add_array("test.nested.mixed", [[1, 2], ["x", "y", "z"], [True]])
    writer.add_tensor("aligned.first", np.arange(5, dtype=np.float32))
    writer.add_tensor("aligned.second", np.arange(6, dtype=np.float16).reshape(2, 3))


# ----- reading back, as the expectation -----

def decode_field(field: gguf.ReaderField):
    """Walks a field's raw parts (type codes, counts, values), which `ReaderField.contents` does
    not do for nested arrays, and returns the canonical form."""
    parts = field.parts
    # parts: [key_len, key, type, ...value parts]
    index = 3
    kind = int(parts[2][0])

    def scalar(kind: int):
        nonlocal index
        if kind == V.STRING:
            index += 1  # length
            text = bytes(parts[index]).decode("utf-8")
            index += 1
            return {"type": "string", "value": text}
        raw = parts[index]
        index += 1
        name = VALUE_TYPE_NAMES[V(kind)]
        if kind == V.FLOAT32:
            return {"type": name, "bits": int(raw.view(np.uint32)[0])}
        if kind == V.FLOAT64:
            return {"type": name, "bits": int(raw.view(np.uint64)[0])}
        if kind == V.BOOL:
            return {"type": name, "value": bool(raw[0])}
        return {"type": name, "value": int(raw[0])}

    def value(kind: int):
        nonlocal index
        if kind != V.ARRAY:
            return scalar(kind)
        element = int(parts[index][0])
        count = int(parts[index + 1][0])
        index += 2
        items = [value(element) for _ in range(count)]
        return {"type": "array", "element_type": VALUE_TYPE_NAMES[V(element)], "items": items}

    result = value(kind)
    assert index == len(parts), (field.name, index, len(parts))
    return result


def dequantized(tensor: gguf.ReaderTensor) -> np.ndarray:
    return gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)


def describe_fixture(path: Path, with_values: bool) -> dict:
    reader = gguf.GGUFReader(str(path))
    metadata = {
        name: decode_field(field)
        for name, field in reader.fields.items()
        if not name.startswith("GGUF.")
    }
    tensors = []
    for tensor in reader.tensors:
        entry = {
            "name": tensor.name,
            "type": tensor.tensor_type.name,
            "dims": [int(d) for d in tensor.shape],
            "offset": int(tensor.data_offset - reader.data_offset),
        }
        if tensor.tensor_type in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1):
            values = dequantized(tensor)
            entry["shape"] = [int(d) for d in reversed(tensor.shape)]
            assert list(values.shape) == entry["shape"], (tensor.name, values.shape)
            if with_values:
                entry["bits"] = f32_bits(values)
        tensors.append(entry)
    version = int(reader.fields["GGUF.version"].parts[-1][0])
    return {"version": version, "alignment": int(reader.alignment), "metadata": metadata, "tensors": tensors}


# ----- the real SmolLM2 file -----

SMOLLM2_TENSORS = [
    "token_embd.weight",  # Q8_0
    "blk.0.attn_q.weight",  # Q4_1
    "blk.0.ffn_down.weight",  # Q4_1
    "blk.29.attn_v.weight",  # Q4_1
    "blk.0.attn_norm.weight",  # F32
    "output_norm.weight",  # F32
]


def describe_smollm2() -> dict:
    path = subprocess.run(
        ["bash", str(ROOT / "scripts" / "fetch-smollm2.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    reader = gguf.GGUFReader(path)
    metadata, arrays = {}, {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        if field.types[0] == V.ARRAY and len(field.data) > 16:
            values = field.contents()
            element = VALUE_TYPE_NAMES[field.types[1]]
            picks = sorted({0, 1, 2, 100, 1000, len(values) // 2, len(values) - 1} & set(range(len(values))))
            arrays[name] = {
                "element_type": element,
                "len": len(values),
                "samples": {str(i): values[i] for i in picks},
            }
            if element == "string":
                arrays[name]["total_chars"] = sum(len(value) for value in values)
            else:
                arrays[name]["sum"] = int(sum(values))
        elif name == "tokenizer.chat_template":
            text = field.contents()
            arrays[name] = {"len": len(text), "prefix": text[:80]}
        else:
            metadata[name] = decode_field(field)
    types: dict[str, int] = {}
    for tensor in reader.tensors:
        types[tensor.tensor_type.name] = types.get(tensor.tensor_type.name, 0) + 1
    rng = np.random.default_rng(7)
    stats = {}
    by_name = {tensor.name: tensor for tensor in reader.tensors}
    for name in SMOLLM2_TENSORS:
        tensor = by_name[name]
        values = dequantized(tensor)
        flat = values.reshape(-1)
        picks = sorted(set(rng.integers(0, flat.size, size=24).tolist()) | {0, 31, 32, flat.size - 1})
        wide = flat.astype(np.float64)
        stats[name] = {
            "type": tensor.tensor_type.name,
            "shape": list(values.shape),
            "sum": float(wide.sum()),
            "sum_squares": float((wide * wide).sum()),
            "samples": {str(i): int(flat[i:i + 1].view(np.uint32)[0]) for i in picks},
        }
    return {
        "file": Path(path).name,
        "version": int(reader.fields["GGUF.version"].parts[-1][0]),
        "alignment": int(reader.alignment),
        "metadata": metadata,
        "arrays": arrays,
        "tensor_types": dict(sorted(types.items())),
        "tensors": [[t.name, t.tensor_type.name, [int(d) for d in t.shape]] for t in reader.tensors],
        "dequantized": stats,
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write_gguf(OUT / "tensors.gguf", fill_tensors)
    write_gguf(OUT / "metadata.gguf", fill_metadata)
    v2 = bytearray((OUT / "metadata.gguf").read_bytes())
    v2[4:8] = (2).to_bytes(4, "little")
    (OUT / "v2.gguf").write_bytes(bytes(v2))
    expected = {
        name: describe_fixture(OUT / name, with_values=True)
        for name in ("tensors.gguf", "metadata.gguf", "v2.gguf")
    }
    (OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    smollm2 = describe_smollm2()
    (OUT / "smollm2.json").write_text(json.dumps(smollm2, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
