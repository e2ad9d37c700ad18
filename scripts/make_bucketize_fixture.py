#!/usr/bin/env python3
"""Reference cell indices for a gradrd codebook, computed the way training
code looks them up, for tests/quantize_convention.rs.

    gradrd quantize design --from data/digits-mlp --tensor 'fc2\\.weight' --step 0 \\
        --bits 4 --m 1 -o tests/fixtures/codebook_fc2.json
    python3 scripts/make_bucketize_fixture.py

PyTorch's lookup is `torch.bucketize(x / scale, thresholds, right=False)`, which
is `numpy.searchsorted(thresholds, x / scale, side="left")` (both: the index i
with thresholds[i-1] < v <= thresholds[i]). numpy computes the reference; when
torch is installed the script checks that torch.bucketize agrees.
"""

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
codebook = json.loads((ROOT / "tests/fixtures/codebook_fc2.json").read_text())
thresholds = np.array(codebook["thresholds"], dtype=np.float64)
centers = np.array(codebook["centers"], dtype=np.float64)
scale = float(codebook["scale"])

tensor = load_file(str(ROOT / "data/digits-mlp/step_000000.safetensors"))["fc2.weight"]
values = tensor.astype(np.float64).ravel()
# values exactly on the thresholds, just beside them, signed zeros, extremes
on = thresholds * scale
edges = np.concatenate([on, np.nextafter(on, np.inf), np.nextafter(on, -np.inf),
                        [0.0, -0.0, 1e300, -1e300, 5e-324, -5e-324]])
x = np.concatenate([values, edges])
index = np.searchsorted(thresholds, x / scale, side="left")
try:
    import torch

    t_index = torch.bucketize(torch.tensor(x / scale, dtype=torch.float64),
                              torch.tensor(thresholds, dtype=torch.float64), right=False)
    assert np.array_equal(t_index.numpy(), index), "torch.bucketize disagrees with searchsorted"
    print("torch.bucketize agrees")
except ImportError:
    print("torch not installed: numpy.searchsorted(side='left') only")

out = {
    "call": "numpy.searchsorted(thresholds, x / scale, side='left'); decoded = centers[index] * scale",
    "edges": edges.tolist(),
    "index": index.tolist(),
    "decoded": (centers[index] * scale).tolist(),
}
(ROOT / "tests/fixtures/bucketize_reference.json").write_text(json.dumps(out))
print(f"{len(x)} values, {len(np.unique(index))} cells used")
