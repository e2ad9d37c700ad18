#!/usr/bin/env python3
"""Write the fuzz corpus seeds under fuzz/corpus/<target>/.

Seeds are the reader fixtures of tests/fixtures (copied) plus a few small
handmade files that reach paths the fixtures do not: bf16/f16 safetensors
with metadata, zero-size and scalar tensors, deflated .npz, a torch zip
with a strided (transposed) view, a nested dict and big-endian storage,
ragged wide CSV, a codebook manifest, every analysis spec in analyses/.

Run from the repository root:  python3 scripts/make_fuzz_seeds.py
Needs numpy (torch, safetensors and pyarrow are not needed: the torch zip
is written with a stand-in `torch` module for pickle).
"""
import collections
import glob
import io
import json
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def target_dir(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    return d


def write(target, name, data):
    with open(os.path.join(target_dir(target), name), "wb") as f:
        f.write(data)


def copy_fixtures(target, patterns):
    for pattern in patterns:
        for src in sorted(glob.glob(os.path.join(FIXTURES, pattern), recursive=True)):
            rel = os.path.relpath(src, FIXTURES).replace(os.sep, "_").replace("=", "-")
            shutil.copyfile(src, os.path.join(target_dir(target), "fixture-" + rel))


def safetensors(tensors, metadata=None):
    """safetensors bytes: {name: (dtype, shape, raw bytes)}."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def npz(arrays, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


# --- a stand-in `torch` for pickle: the globals torch.save writes ---------
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
for storage in ("FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage"):
    cls = type(storage, (), {"__module__": "torch"})
    setattr(torch, storage, cls)
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.kind), obj.key, "cpu", obj.numel)
        return None


def torch_zip(obj, storages, byteorder="little"):
    """A torch.save-style zip: archive/data.pkl, archive/data/<key>, archive/byteorder."""
    pkl = io.BytesIO()
    TorchPickler(pkl, protocol=2).dump(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl.getvalue())
        z.writestr("archive/byteorder", byteorder)
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def main():
    copy_fixtures("safetensors", ["*.safetensors", "dir/**/*.safetensors"])
    f32 = np.arange(6, dtype="<f4") - 2.5
    write("safetensors", "hand-half-types-metadata.safetensors", safetensors({
        "a.bf16": ("BF16", [2, 3], (f32.view("<u4") >> 16).astype("<u2").tobytes()),
        "b.f16": ("F16", [3, 2], f32.astype("<f2").tobytes()),
        "c.empty": ("F32", [0, 4], b""),
        "d.scalar": ("F64", [], np.float64(np.nan).tobytes()),
    }, metadata={"step": "12"}))

    copy_fixtures("npy", ["*.npy", "dir/*.npy"])
    write("npy", "hand-f2-3d.npy", npy(np.arange(24, dtype=">f2").reshape(2, 3, 4)))
    write("npy", "hand-empty.npy", npy(np.zeros((0, 3), dtype="<f8")))

    copy_fixtures("npz", ["*.npz", "dir/*.npz"])
    write("npz", "hand-deflated.npz", npz({"w": np.arange(12, dtype="<f4").reshape(3, 4),
                                           "b": np.array([np.inf, -0.0], dtype=">f8")}, True))

    copy_fixtures("pt", ["*.pt"])
    storage = Storage("FloatStorage", "0", 12)
    transposed = Tensor(storage, 1, [3, 3], [1, 4])  # torch.arange(12.).reshape(3, 4).t()[1:]
    half = Storage("HalfStorage", "1", 4)
    write("pt", "hand-strided-nested.pt", torch_zip(
        {"layer": {"w": transposed, "h": Tensor(half, 0, [2, 2], [2, 1])}},
        {"0": np.arange(12, dtype="<f4").tobytes(), "1": np.arange(4, dtype="<f2").tobytes()}))
    write("pt", "hand-big-endian.pt", torch_zip(
        Tensor(Storage("DoubleStorage", "0", 3), 0, [3], [1]),
        {"0": np.array([1.5, -2.0, 0.0], dtype=">f8").tobytes()}, byteorder="big"))

    copy_fixtures("parquet", ["*.parquet", "hive/**/*.parquet"])

    copy_fixtures("csv", ["*.csv"])
    write("csv", "hand-ragged-wide.csv", b"a,b\n1.5,2\n-0.25,\n,\n")
    write("csv", "hand-long-null-step.csv", b"tensor,step,value\nw,,1e-3\nw,,2\nb,4,-inf\n")

    copy_fixtures("codebook_json", ["codebook_fc2.json", "ef_codebook.json"])
    with open(os.path.join(FIXTURES, "ef_codebook.json")) as f:
        document = json.load(f)
    manifest = {"schema": "gradrd.codebooks/1", "codebooks": [document, dict(document, tensor="fc2.bias")]}
    write("codebook_json", "hand-manifest.json", json.dumps(manifest).encode())

    for spec in sorted(glob.glob(os.path.join(ROOT, "analyses", "*.toml"))):
        shutil.copyfile(spec, os.path.join(target_dir("analysis_toml"), "spec-" + os.path.basename(spec)))


if __name__ == "__main__":
    main()
