#!/usr/bin/env python3
"""Regenerate the dump-reader fixtures under tests/fixtures/.

Every tensor holds an arange-based pattern whose values are exactly
representable in its dtype, so the Rust tests recompute the expected values
from the same closed form (quoted beside each test) and compare exactly.

Run from the repository root:  python3 scripts/make_fixtures.py [GROUP...]
(GROUP: safetensors npy npz torch tables hive directory; default all).
Needs numpy, pyarrow and pandas; torch and safetensors for the safetensors,
torch and directory groups.
"""
import os
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def path(*parts):
    """Absolute path under tests/fixtures/, creating parent directories."""
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def safetensors_fixtures():
    import torch
    from safetensors.numpy import save_file as np_save_safetensors
    from safetensors.torch import save_file as torch_save_safetensors

    tensors = {
        # value[i] = i * 0.5 - 3, C order, shape (2, 3, 4)
        "layer1.weight": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.5 - 3,
        # value[i] = i * 0.25 - 1, shape (3, 4)
        "layer1.half": (torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1).to(torch.float16),
        # value[i] = i * 2 - 3, shape (4,)
        "layer1.brain": (torch.arange(4, dtype=torch.float32) * 2 - 3).to(torch.bfloat16),
        # value[i] = i * 0.125 - 0.25, shape (5,)
        "layer2.bias": torch.arange(5, dtype=torch.float64) * 0.125 - 0.25,
        # 0 elements, shape (0, 3)
        "layer2.empty": torch.zeros((0, 3), dtype=torch.float32),
    }
    torch_save_safetensors(tensors, path("st_mixed.safetensors"), metadata={"step": "42"})
    # A non-float tensor next to a float one: the file must be rejected naming `counts` and I64.
    np_save_safetensors(
        {"counts": np.arange(3, dtype=np.int64), "ok": np.zeros(2, dtype=np.float32)},
        path("st_int64.safetensors"),
    )
    # Non-finite values are data at this layer: [0, -0, nan, inf, -inf, 1.5, -2.5]
    special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.5], dtype=np.float32)
    np_save_safetensors({"special": special}, path("st_special.safetensors"))


def npy_fixtures():
    # value[i] = i * 0.5, shape (3, 5), version 1.0
    np.save(path("np_le_f4.npy"), np.arange(15, dtype="<f4").reshape(3, 5) * np.float32(0.5))
    # big-endian float64, value[i] = i - 2.5, shape (2, 3)
    np.save(path("np_be_f8.npy"), (np.arange(6, dtype=">f8") - 2.5).reshape(2, 3))
    # big-endian float32, value[i] = i * 0.25, shape (4,)
    np.save(path("np_be_f4.npy"), np.arange(4, dtype=">f4") * np.float32(0.25))
    # Fortran order: C-order value at (r, c) = r * 4 + c, shape (3, 4)
    np.save(path("np_fortran_f4.npy"), np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)))
    # float16, value[i] = (i - 4) * 0.125, shape (8,)
    np.save(path("np_f2.npy"), ((np.arange(8) - 4) * 0.125).astype("<f2"))
    # header versions 2.0 and 3.0, value[i] = i + 1, shape (2, 2)
    for version in [(2, 0), (3, 0)]:
        with open(path(f"np_v{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, np.arange(4, dtype="<f8").reshape(2, 2) + 1, version=version)
    # scalar (shape ()), value 7.5
    np.save(path("np_scalar.npy"), np.array(7.5, dtype="<f8"))
    # rejected dtypes
    np.save(path("np_int32.npy"), np.arange(3, dtype="<i4"))
    np.save(path("np_object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)


def npz_fixtures():
    conv = np.arange(12, dtype=np.float32).reshape(2, 2, 3) * 0.5 - 1  # value[i] = i * 0.5 - 1
    bias = np.arange(3, dtype=np.float64) - 1  # value[i] = i - 1
    np.savez(path("grads_step_000100.npz"), **{"conv.weight": conv, "fc.bias": bias})
    np.savez_compressed(path("grads_compressed.npz"), **{"conv.weight": conv, "fc.bias": bias})


def torch_fixtures():
    import torch

    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    state = {
        # value[i] = i * 0.5, shape (2, 3)
        "fc.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5,
        # transposed and sliced view: t[i][j] = 4 * j + i + 1, shape (3, 3), storage offset 1, stride (1, 4)
        "view": base.t()[1:],
        "nested": {
            # bfloat16, value[i] = i - 2, shape (4,)
            "bf": (torch.arange(4, dtype=torch.float32) - 2).to(torch.bfloat16),
            # float16, value[i] = i * 0.25, shape (2, 2)
            "half": (torch.arange(4, dtype=torch.float32) * 0.25).to(torch.float16).reshape(2, 2),
        },
        # nn.Parameter (rebuilt through _rebuild_parameter), value[i] = -i, shape (3,)
        "param": torch.nn.Parameter(-torch.arange(3, dtype=torch.float32)),
        "count": 3,  # non-tensor entries are ignored
    }
    torch.save(state, path("model_state.pt"))
    # bare tensor: name = file stem; value[i] = i * 0.5 - 1, shape (2, 2)
    torch.save(torch.arange(4, dtype=torch.float32).reshape(2, 2) * 0.5 - 1, path("bare_tensor.pt"))
    # legacy (pre-1.6) serialization
    torch.save(torch.zeros(2), path("legacy.pt"), _use_new_zipfile_serialization=False)


def table_fixtures():
    # long form: tensor "a" value[i] = step + i * 0.5 (3 values), tensor "b" value[i] = -i (2 values), steps 1 and 2
    tensors, steps, values = [], [], []
    for step in (1, 2):
        for i in range(3):
            tensors.append("a"); steps.append(step); values.append(step + i * 0.5)
        for i in range(2):
            tensors.append("b"); steps.append(step); values.append(-float(i))
    table = pa.table({"tensor": tensors, "step": pa.array(steps, pa.int64()), "value": pa.array(values, pa.float64())})
    pq.write_table(table, path("long.parquet"))
    table.to_pandas().to_csv(path("long.csv"), index=False)
    # long form without step column
    pa.table({"tensor": ["x", "x", "y"], "value": [0.5, 1.5, -2.0]}).to_pandas().to_csv(path("long_nostep.csv"), index=False)
    # wide form: one column per tensor; the file stem holds the step (7)
    wide = pa.table({"w1": pa.array([0.25, 0.5, 0.75], pa.float32()), "w2": pa.array([-1.0, 0.0, 1.0], pa.float64())})
    pq.write_table(wide, path("wide_step_7.parquet"))
    wide.to_pandas().to_csv(path("wide_step_7.csv"), index=False)
    # long form as pandas writes a categorical tensor column (df.astype({"tensor": "category"})):
    # a dictionary-encoded string column whose Arrow schema says Dictionary(int8, utf8);
    # same tensors and values as long.parquet
    frame = table.to_pandas().astype({"tensor": "category"})
    frame.to_parquet(path("long_category.parquet"), index=False)
    # long form whose value column is text: error names `value`
    with open(path("long_badvalue.csv"), "w") as f:
        f.write("tensor,step,value\na,1,hello\na,1,world\n")


def hive_fixtures():
    # hive-partitioned long table: tensor=<name>/step=<N>/part-0.parquet holding only `value`;
    # tensor "fc.weight": step * 10 + i (i < 3); tensor "fc.bias": -step (1 value); steps 3 and 12
    tensors, steps, values = [], [], []
    for step in (3, 12):
        for i in range(3):
            tensors.append("fc.weight"); steps.append(step); values.append(float(step * 10 + i))
        tensors.append("fc.bias"); steps.append(step); values.append(-float(step))
    table = pa.table({"tensor": tensors, "step": pa.array(steps, pa.int64()), "value": pa.array(values, pa.float64())})
    pq.write_to_dataset(table, path("hive"), partition_cols=["tensor", "step"], basename_template="part-{i}.parquet")


def directory_fixtures():
    import torch
    from safetensors.torch import save_file as torch_save_safetensors

    # OLMo-like layout: step from the parent directory name, file stem has no number
    for step in (100, 200):
        torch_save_safetensors(
            {"w": torch.arange(4, dtype=torch.float32) + step},  # value[i] = step + i
            path("dir", f"step{step}", "grads.safetensors"),
        )
    # step from the file stem (300); value[i] = i * 2
    np.savez(path("dir", "grads_300.npz"), w=np.arange(4, dtype=np.float32) * 2)
    # ignored (unsupported extension)
    with open(path("dir", "notes.txt"), "w") as f:
        f.write("not a dump\n")
    # unreadable: truncated .npy (skipped, the batch goes on)
    with open(path("np_le_f4.npy"), "rb") as f:
        data = f.read()
    with open(path("dir", "broken_400.npy"), "wb") as f:
        f.write(data[: len(data) - 8])


GROUPS = {
    "safetensors": safetensors_fixtures,
    "npy": npy_fixtures,
    "npz": npz_fixtures,
    "torch": torch_fixtures,
    "tables": table_fixtures,
    "hive": hive_fixtures,
    "directory": directory_fixtures,
}

if __name__ == "__main__":
    import sys

    for group in sys.argv[1:] or list(GROUPS):
        GROUPS[group]()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"fixtures written to {os.path.normpath(OUT)} ({total} bytes)")
