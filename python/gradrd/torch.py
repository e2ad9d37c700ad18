"""gradrd in a PyTorch training loop: record per-step gradients as safetensors
files that every gradrd reader (``gradrd.read``, the CLI, a report spec) takes.

One file per recorded step, ``{out}/step_{step:06d}.safetensors``; the keys are
the parameter names from ``model.named_parameters()`` and ``__metadata__`` holds
``{"step": "<n>", "recorder": "gradrd", "recorder_version": "1", "dtype": ..., "torch": ...,
"order": "[...]"}`` plus any string metadata you pass. ``order`` is a JSON list of the
written names in ``model.named_parameters()`` order: safetensors stores tensors sorted by
name, so without it a reader would lose the model's layer order. Gradients are stored in
their parameter's own width unless ``dtype`` is given (a bf16 or fp16 model's gradients
stay bf16/fp16: the values gradrd fits are the ones training produced; ``dtype`` names
which). Files are written atomically (a temporary file in the same directory, then
``os.replace``), so a crashed run never leaves a half-written step behind.

Usage (loop mode, the default)::

    from gradrd.torch import GradientRecorder
    recorder = GradientRecorder(model, "grads/", every=50, include=r"weight$")
    for step, (x, y) in enumerate(loader):
        loss_fn(model(x), y).backward()
        recorder.step(step)          # reads param.grad; call before optimizer.step()/zero_grad()
        optimizer.step(); optimizer.zero_grad()

With gradient accumulation, call ``recorder.step(step)`` once per optimizer step, after
the last micro-batch's backward pass: ``param.grad`` then holds the accumulated gradient
that the optimizer applies (hook mode captures the same, see below).

Hook mode (``recorder.attach()``) captures each gradient in a
``register_post_accumulate_grad_hook`` (torch >= 2.1: the accumulated ``.grad``; the
fallback ``Tensor.register_hook`` sees the gradient of the last backward pass only)
at the moment it is produced, which also works when the
gradient is freed before your loop regains control (optimizer-in-backward,
``zero_grad`` inside a closure). Call ``recorder.step(step)`` after the backward pass
as in loop mode; it writes what the hooks captured. ``recorder.detach()`` removes
the hooks. In hook mode every backward pass copies the included gradients to the
host, recorded step or not; use ``include`` to keep that small.

Distributed runs (``torch.distributed`` initialized with more than one rank) write one
file per rank and step, ``{out}/step_{step:06d}/rank{rank:05d}.safetensors``. A DTensor
gradient (FSDP2's ``fully_shard``, tensor parallelism) is written as the rank's local
shard, and ``__metadata__["shards"]`` (JSON ``{name: {"shape": [...], "offset": [...]}}``)
says where the shard sits in the whole tensor; a plain gradient (DDP: the same on every
rank after the all-reduce) is written by rank 0 only, and so is a DTensor's piece that
several ranks replicate (only the ranks at coordinate 0 of every ``Replicate`` mesh
dimension write it). gradrd's readers join a step's shards into whole tensors and refuse
an incomplete set (a rank's file missing) naming what is covered. A gradient with a
``Partial`` placement (not reduced yet) or a strided shard (FSDP2 over tensor-parallel
shards) raises ``ValueError``: record after the reduction, or the plain FSDP2/TP layouts.

Dependencies: torch and safetensors (``pip install ./python[torch]``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Pattern, Union

import torch
from safetensors.torch import save_file

try:
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
except ImportError:  # torch built without distributed support: no gradient is a DTensor
    DTensor = ()

RECORDER_NAME = "gradrd"
RECORDER_VERSION = "1"
STORED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


class Piece(NamedTuple):
    """A gradient as this rank writes it: the host copy, and for a DTensor shard its
    place in the whole tensor (``{"shape": [...], "offset": [...]}``)."""

    tensor: torch.Tensor
    placement: Optional[Dict[str, List[int]]]


def write_atomically(target: Path, write: Callable[[str], None]) -> Path:
    """Write ``target`` through ``write(temporary)`` on a temporary file in its directory,
    then ``os.replace``: a crash never leaves a half-written ``target``. The file gets the
    mode a plain ``open()`` would (``mkstemp`` creates it 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return target


class GradientRecorder:
    """Write the gradients of ``model`` to ``out_dir`` every ``every`` steps.

    Args:
        model: the ``torch.nn.Module`` whose ``named_parameters()`` are recorded.
        out_dir: directory for the ``step_{step:06d}.safetensors`` files (created if missing).
        every: record the steps with ``step % every == 0``.
        include: regular expression (``re.search``) on parameter names; ``None`` records all.
        dtype: floating dtype of the stored gradients (float32, float16, bfloat16, float64);
            ``None`` (the default) keeps each parameter's own width.
        metadata: extra ``str -> str`` entries for every file's ``__metadata__``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        out_dir: Union[str, os.PathLike],
        every: int = 1,
        include: Optional[Union[str, Pattern[str]]] = None,
        dtype: Optional[torch.dtype] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if dtype is not None and dtype not in STORED_DTYPES:
            raise ValueError(f"dtype must be a floating dtype safetensors stores, got {dtype}")
        extra = dict(metadata or {})
        for key, value in extra.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"metadata must map str to str, got {key!r}: {value!r}")
        self.model = model
        self.out_dir = Path(out_dir)
        self.every = every
        self.include = re.compile(include) if isinstance(include, str) else include
        self.dtype = dtype
        self.metadata = extra
        self._hooks: List[torch.utils.hooks.RemovableHandle] = []
        self._captured: Dict[str, Optional[Piece]] = {}
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if distributed else 0
        self.world_size = torch.distributed.get_world_size() if distributed else 1

    def wants(self, step: int) -> bool:
        """True when ``step`` is one this recorder writes (``step % every == 0``)."""
        return step % self.every == 0

    def step(self, step: int) -> Optional[Path]:
        """Write the gradients of ``step`` if it is due; return the file written or ``None``.

        Loop mode reads ``param.grad``; hook mode writes what the hooks captured since the
        previous call. Parameters without a gradient are skipped and listed in the
        ``skipped`` metadata entry.
        """
        if self._hooks:
            gradients, self._captured = self._captured, {}
        if not self.wants(step):
            return None
        if not self._hooks:
            gradients = {
                name: self._piece(name, param.grad)
                for name, param in self._selected_parameters()
                if param.grad is not None
            }
        skipped = [name for name, _ in self._selected_parameters() if name not in gradients]
        mine = {name: piece for name, piece in gradients.items() if piece is not None}
        return self._write(step, mine, skipped)

    def attach(self) -> "GradientRecorder":
        """Switch to hook mode: capture every included gradient when autograd produces it."""
        if self._hooks:
            return self
        for name, param in self._selected_parameters():
            if hasattr(param, "register_post_accumulate_grad_hook"):
                hook = self._post_accumulate_hook(name)
                self._hooks.append(param.register_post_accumulate_grad_hook(hook))
            else:
                self._hooks.append(param.register_hook(self._gradient_hook(name)))
        return self

    def detach(self) -> None:
        """Remove the hooks and return to loop mode."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        self._captured = {}

    def _selected_parameters(self) -> Iterable:
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            if self.include is None or self.include.search(name):
                yield name, param

    def _model_order(self, gradients: Mapping[str, torch.Tensor]) -> List[str]:
        """The names in ``gradients``, in ``named_parameters()`` order."""
        return [name for name, _ in self._selected_parameters() if name in gradients]

    def _post_accumulate_hook(self, name: str):
        def hook(param: torch.Tensor) -> None:
            if param.grad is not None:
                self._captured[name] = self._piece(name, param.grad)

        return hook

    def _gradient_hook(self, name: str):
        def hook(grad: torch.Tensor) -> None:
            self._captured[name] = self._piece(name, grad)

        return hook

    def _piece(self, name: str, grad: torch.Tensor) -> Optional["Piece"]:
        """What this rank writes of ``grad``: the host copy and, for a DTensor, its
        placement in the whole tensor; ``None`` when another rank writes it."""
        if isinstance(grad, DTensor):
            return self._shard(name, grad)
        if self.rank != 0:
            return None
        return Piece(self._host_copy(grad), None)

    def _shard(self, name: str, grad: "DTensor") -> Optional["Piece"]:
        coordinate = grad.device_mesh.get_coordinate()
        if coordinate is None:
            return None
        for dim, placement in enumerate(grad.placements):
            if placement.is_partial():
                raise ValueError(
                    f"gradient {name!r} is a DTensor with a Partial placement on mesh dim "
                    f"{dim} (not reduced yet); record it after the reduction"
                )
            if type(placement).__name__ == "_StridedShard":
                raise ValueError(
                    f"gradient {name!r} is a strided DTensor shard (FSDP2 over tensor "
                    "parallelism), which the recorder does not write"
                )
            if placement.is_replicate() and coordinate[dim] != 0:
                return None
        local_shape, offset = compute_local_shape_and_global_offset(
            grad.shape, grad.device_mesh, grad.placements
        )
        local = self._host_copy(grad.to_local())
        if tuple(local.shape) != tuple(local_shape):
            raise ValueError(
                f"gradient {name!r}: local shard of shape {tuple(local.shape)}, but its "
                f"placements {grad.placements} give {tuple(local_shape)}"
            )
        return Piece(local, {"shape": list(grad.shape), "offset": [int(o) for o in offset]})

    def _host_copy(self, grad: torch.Tensor) -> torch.Tensor:
        dense = grad.to_dense() if grad.is_sparse else grad
        dtype = self.dtype or dense.dtype
        if dtype not in STORED_DTYPES:
            raise TypeError(f"a gradient of dtype {dense.dtype} cannot be stored; pass dtype=")
        return dense.detach().to(device="cpu", dtype=dtype, copy=True).contiguous()

    @staticmethod
    def _dtype_names(gradients: Mapping[str, torch.Tensor]) -> str:
        """The stored dtypes: one name (``bfloat16``), or several joined by commas."""
        names = sorted({str(g.dtype).replace("torch.", "") for g in gradients.values()})
        return ",".join(names) if names else "none"

    def _target(self, step: int) -> Path:
        if self.world_size > 1:
            return self.out_dir / f"step_{step:06d}" / f"rank{self.rank:05d}.safetensors"
        return self.out_dir / f"step_{step:06d}.safetensors"

    def _write(self, step: int, pieces: Dict[str, "Piece"], skipped: List[str]) -> Optional[Path]:
        """Write this rank's pieces of ``step``; ``None`` when it has none to write
        (another rank writes them)."""
        if not pieces and self.world_size > 1:
            return None
        gradients = {name: piece.tensor for name, piece in pieces.items()}
        target = self._target(step)
        target.parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            **self.metadata,
            "step": str(step),
            "recorder": RECORDER_NAME,
            "recorder_version": RECORDER_VERSION,
            "dtype": self._dtype_names(gradients),
            "torch": torch.__version__,
            "order": json.dumps(self._model_order(gradients)),
        }
        if skipped:
            metadata["skipped"] = ",".join(skipped)
        if self.world_size > 1:
            metadata["rank"] = str(self.rank)
            metadata["world_size"] = str(self.world_size)
        placements = {name: p.placement for name, p in pieces.items() if p.placement is not None}
        if placements:
            metadata["shards"] = json.dumps(placements)
        return write_atomically(
            target, lambda temporary: save_file(gradients, temporary, metadata=metadata)
        )
