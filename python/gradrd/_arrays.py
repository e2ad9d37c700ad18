"""Arrays as the extension reads them: a C-contiguous numpy buffer and its
dtype tag, without a copy wherever the layout allows.

- numpy float64/float32/float16 arrays are passed as they are; a
  non-contiguous view is copied once (``numpy.ascontiguousarray``);
- ``ml_dtypes.bfloat16`` arrays and torch ``bfloat16`` tensors are passed as
  their uint16 bit patterns (a view, no copy);
- torch CPU tensors (float32, float16, bfloat16, float64) share their memory
  through ``Tensor.numpy()``; a non-contiguous tensor is copied once
  (``Tensor.contiguous()``); a tensor on another device is refused.
"""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

_TAGS = {np.dtype(np.float64): "f64", np.dtype(np.float32): "f32", np.dtype(np.float16): "f16"}


def _torch_buffer(x: Any, name: str) -> Tuple[str, np.ndarray]:
    import torch

    t = x.detach()
    if t.device.type != "cpu":
        raise TypeError(f"{name}: the tensor is on {t.device}; pass it as {name}.cpu()")
    if t.is_sparse:
        t = t.to_dense()
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return "bf16", t.view(torch.int16).numpy().view(np.uint16)
    if t.dtype in (torch.float64, torch.float32, torch.float16):
        return _TAGS[np.dtype(t.numpy().dtype)], t.numpy()
    raise TypeError(f"{name}: expected a floating tensor, got {t.dtype}")


def as_buffer(x: Any, name: str = "x") -> Tuple[str, np.ndarray]:
    """``(dtype tag, C-contiguous array)`` of ``x`` (see the module docs)."""
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return _torch_buffer(x, name)
    array = np.asarray(x)
    if array.dtype.name == "bfloat16":
        return "bf16", np.ascontiguousarray(array).view(np.uint16)
    tag = _TAGS.get(array.dtype)
    if tag is None:
        raise TypeError(
            f"{name}: expected floating values (float64, float32, float16, bfloat16), "
            f"got {array.dtype}"
        )
    return tag, np.ascontiguousarray(array)


def shape_of(x: Any) -> Tuple[int, ...]:
    """The shape of an array or tensor."""
    return tuple(int(d) for d in x.shape)
