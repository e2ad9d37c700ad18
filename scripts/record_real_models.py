"""Train two small real models and save their gradients in the file conventions PyTorch users write.

Models (both trained on CPU, seeded, ``torch.use_deterministic_algorithms(True)``):

    gpt     gpt-tiny: a GPT-style decoder. Learned token and position embeddings
            (``tok_emb``, ``pos_emb``), 2 pre-norm blocks (``ln1``, causal self-attention
            with a fused ``attn.qkv`` Linear with bias and ``attn.proj``, ``ln2``, MLP
            ``mlp.fc`` / GELU / ``mlp.proj``), ``ln_f`` and an untied ``head`` (no bias).
            d_model 20, 4 heads, context 64, vocabulary 1024 (the 1023 most frequent
            word-level tokens of the top-level ``.py`` files of Python's standard library,
            plus ``<unk>`` = 0). AdamW, mini-batches of 4 windows of 64 tokens, so most rows
            of ``tok_emb.weight`` get an exactly-zero gradient at every step.
    resnet  resnet-tiny: conv stem 1->8 + BatchNorm, two basic residual blocks with
            BatchNorm2d (8->8, and 8->16 with stride 2 and a 1x1 conv + BatchNorm
            downsample), global average pooling, ``fc`` 16->10; trained with SGD + momentum
            on ``data/digits/digits.csv`` (pixels / 16, stratified seeded 80/20 split).

The step counter counts optimizer steps from 0; the gradient of step s is read right after
``loss.backward()`` at the parameters after s updates (step 0 = at initialisation).

Outputs (``--fixtures``, default ``tests/fixtures/real``; one recorded step, ``--fixture-step``,
default 300, and step 100 for ``hf-sharded/checkpoint-100``):

    gpt      gpt_{f32,bf16,fp16}.pt, gpt_legacy_{f32,bf16}.pt (non-zip), gpt_list.pt,
             gpt_tuple.pt, gpt_nested.pt, gpt_flat_views_bf16.pt (views into one storage),
             bin-folder/step_000300/pytorch_model.bin, gpt_{f32,bf16,fp16}.safetensors,
             hf-sharded/checkpoint-{100,300}/ (3 bf16 safetensors shards + index),
             hf-sharded-bin/checkpoint-300/ (2 f32 torch.save shards + index),
             dcp/step_000300/ (2 processes, DTensor Shard(0), bf16), dcp-single/step_000300/ (f32),
             gpt_{f32,fp16}.npz, npy-folder/step_000300/<name>.npy,
             shards-disjoint/step_000300/part-{a,b}.safetensors, collide/step_000300/{a,b}.safetensors
    resnet   resnet_f32.pt, resnet_bf16.safetensors
    both     manifest.json (each run replaces the entries of the files it wrote): per file and
             tensor the name a reader should give it, dtype, shape and float64 reference
             statistics computed with torch from the stored tensor.

and the time series ``--data-out``: ``data/gpt-tiny/step_NNNNNN.safetensors`` (bf16, with
``GradientRecorder``) or ``data/resnet-tiny/step_NNNNNN.pt`` (f32, zip ``torch.save``).
``--notes DIR`` (gpt only) writes ``pickletools`` listings of the DCP ``.metadata`` and of the
legacy file's pickles, and a description of both byte layouts, outside the repository.

    python3 scripts/record_real_models.py --model gpt --data-out data/gpt-tiny \\
        --notes /tmp/real-fixtures-notes > data/gpt-tiny.train.json
    python3 scripts/record_real_models.py --model resnet --data-out data/resnet-tiny \\
        > data/resnet-tiny.train.json

Dependencies: torch, safetensors, numpy (and huggingface_hub for the Hugging Face sharded
layouts; without it they are written by hand in the same format).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import math
import os
import pickle
import pickletools
import re
import shutil
import socket
import struct
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file as st_load_file
from safetensors.torch import save_file as st_save_file
from torch import nn

from gradrd.torch import GradientRecorder, write_atomically

ROOT = Path(__file__).resolve().parent.parent
TOKEN_PATTERN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|[0-9]+|[^\sA-Za-z_0-9]")
DTYPE_CODES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.float64: "F64"}


# ----------------------------------------------------------------------------- models


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int, context: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        shape = (batch, length, self.n_head, width // self.n_head)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(width // self.n_head)
        scores = scores.masked_fill(~self.mask[:length, :length], float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class MLP(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, context: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head, context)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPTTiny(nn.Module):
    def __init__(self, vocab: int, context: int, d_model: int, n_head: int, n_layer: int) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head, context) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1])
        x = self.tok_emb(tokens) + self.pos_emb(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.downsample = None
        if stride != 1 or inputs != outputs:
            self.downsample = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


class ResNetTiny(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = BasicBlock(width, width, 1)
        self.layer2 = BasicBlock(width, 2 * width, 2)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.reshape(images.shape[0], 1, 8, 8)
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(x.mean(dim=(2, 3)))


# ----------------------------------------------------------------------------- data


def stdlib_corpus(vocab: int) -> Tuple[torch.Tensor, Dict[str, object]]:
    """Word-level token ids of the top-level stdlib .py files (sorted by name), 0 = <unk>."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.glob("*.py"))
    words: List[str] = []
    for path in files:
        words.extend(TOKEN_PATTERN.findall(path.read_text(encoding="utf-8", errors="replace")))
    counts = collections.Counter(words)
    kept = [word for word, _ in counts.most_common(vocab - 1)]
    ids = {word: index + 1 for index, word in enumerate(kept)}
    tokens = torch.tensor([ids.get(word, 0) for word in words], dtype=torch.long)
    info = {
        "stdlib": str(stdlib),
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
        "tokens": len(words),
        "distinct_words": len(counts),
        "unk_fraction": float((tokens == 0).float().mean()),
        "most_frequent": kept[:12],
    }
    return tokens, info


def digits_split(seed: int):
    """data/digits/digits.csv, pixels / 16, per-class seeded 80/20 split (numpy default_rng)."""
    table = np.loadtxt(ROOT / "data" / "digits" / "digits.csv", delimiter=",", skiprows=1)
    pixels = (table[:, :64] / 16.0).astype(np.float32)
    labels = table[:, 64].astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in range(10):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(0.2 * len(members)))
        test.extend(members[:cut])
        train.extend(members[cut:])
    train, test = np.sort(np.array(train)), np.sort(np.array(test))
    as_torch = lambda idx: (torch.from_numpy(pixels[idx]), torch.from_numpy(labels[idx]))  # noqa: E731
    return as_torch(train), as_torch(test)


# ----------------------------------------------------------------------------- training


def gradients_of(model: nn.Module) -> Dict[str, torch.Tensor]:
    """float32 host copies of every parameter's .grad, in named_parameters() order."""
    return {name: p.grad.detach().to(torch.float32).clone() for name, p in model.named_parameters()}


def train_gpt(args) -> Tuple[nn.Module, Dict[int, Dict[str, torch.Tensor]], Dict[str, torch.Tensor], dict]:
    tokens, corpus = stdlib_corpus(args.vocab)
    split = int(0.9 * len(tokens))
    train_tokens, val_tokens = tokens[:split], tokens[split:]
    torch.manual_seed(args.seed)
    model = GPTTiny(args.vocab, args.context, args.d_model, args.n_head, args.n_layer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    batches = torch.Generator().manual_seed(args.seed)
    second = torch.Generator().manual_seed(args.seed + 1)

    def batch(source: torch.Tensor, generator: torch.Generator, size: int):
        starts = torch.randint(0, len(source) - args.context - 1, (size,), generator=generator)
        x = torch.stack([source[s : s + args.context] for s in starts.tolist()])
        y = torch.stack([source[s + 1 : s + 1 + args.context] for s in starts.tolist()])
        return x, y

    def loss_of(x, y):
        return F.cross_entropy(model(x).reshape(-1, args.vocab), y.reshape(-1))

    recorder = None
    if args.data_out:
        recorder = GradientRecorder(
            model, args.data_out, every=args.every, dtype=torch.bfloat16,
            metadata={"model": "gpt-tiny", "seed": str(args.seed)},
        )
    recorded, losses = {}, []
    other_batch_grads: Dict[str, torch.Tensor] = {}
    for step in range(args.steps + 1):
        x, y = batch(train_tokens, batches, args.batch_size)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(x, y)
        loss.backward()
        if step % args.every == 0:
            if recorder is not None:
                recorder.step(step)
            recorded[step] = gradients_of(model)
            zeros = float((recorded[step]["tok_emb.weight"] == 0).float().mean())
            losses.append({"step": step, "loss": loss.item(), "tok_emb_zero_fraction": zeros,
                           "distinct_tokens_in_batch": int(torch.unique(x).numel())})
        if step == args.fixture_step:
            # The same parameters on a second, independently drawn mini-batch (what a second
            # data-parallel rank holds before the all-reduce): the colliding-name fixture.
            x2, y2 = batch(train_tokens, second, args.batch_size)
            names = [name for name, _ in model.named_parameters()]
            grads = torch.autograd.grad(loss_of(x2, y2), [p for _, p in model.named_parameters()])
            other_batch_grads = {n: g.detach().clone() for n, g in zip(names, grads)}
        if step < args.steps:
            optimizer.step()
    model.eval()
    with torch.no_grad():
        evaluation = torch.Generator().manual_seed(args.seed + 2)
        val = [loss_of(*batch(val_tokens, evaluation, 16)).item() for _ in range(8)]
    summary = {
        "model": "gpt-tiny",
        "corpus": corpus,
        "train_tokens": len(train_tokens),
        "val_tokens": len(val_tokens),
        "parameters": sum(p.numel() for p in model.parameters()),
        "shapes": {name: list(p.shape) for name, p in model.named_parameters()},
        "recorded": losses,
        "final_val_loss": float(np.mean(val)),
        "final_val_perplexity": float(math.exp(np.mean(val))),
        "uniform_loss": math.log(args.vocab),
    }
    return model, recorded, other_batch_grads, summary


def train_resnet(args) -> Tuple[nn.Module, Dict[int, Dict[str, torch.Tensor]], dict]:
    (train_x, train_y), (test_x, test_y) = digits_split(args.seed)
    torch.manual_seed(args.seed)
    model = ResNetTiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    shuffle = torch.Generator().manual_seed(args.seed)
    order, cursor = torch.randperm(len(train_x), generator=shuffle), 0
    recorded, losses = {}, []
    for step in range(args.steps + 1):
        if cursor + args.batch_size > len(order):
            order, cursor = torch.randperm(len(train_x), generator=shuffle), 0
        idx = order[cursor : cursor + args.batch_size]
        cursor += args.batch_size
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
        loss.backward()
        if step % args.every == 0:
            recorded[step] = gradients_of(model)
            losses.append({"step": step, "loss": loss.item()})
            if args.data_out:
                atomic_torch_save(recorded[step], Path(args.data_out) / f"step_{step:06d}.pt")
        if step < args.steps:
            optimizer.step()

    def accuracy(images, labels):
        model.eval()
        with torch.no_grad():
            value = float((model(images).argmax(dim=1) == labels).float().mean())
        model.train()
        return value

    summary = {
        "model": "resnet-tiny",
        "train_size": len(train_x),
        "test_size": len(test_x),
        "parameters": sum(p.numel() for p in model.parameters()),
        "shapes": {name: list(p.shape) for name, p in model.named_parameters()},
        "recorded": losses,
        "train_accuracy": accuracy(train_x, train_y),
        "test_accuracy": accuracy(test_x, test_y),
    }
    return model, recorded, summary


# ----------------------------------------------------------------------------- atomic writers


def shown(path: Path) -> str:
    """``path`` relative to the repository root when inside it (manifest paths), else absolute."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def default_modes(path: Path) -> None:
    """Give ``path`` (and a folder's contents) the modes a plain open() would: mkstemp/mkdtemp make 0600/0700."""
    umask = os.umask(0)
    os.umask(umask)
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~umask)


def atomic_dir(target: Path, write: Callable[[Path], None]) -> Path:
    """Write a whole folder in a temporary sibling, then swap it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(temporary)
        default_modes(temporary)
        if target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target


def atomic_torch_save(obj, target: Path, legacy: bool = False) -> Path:
    """torch.save under the final file name in a temporary sibling folder, then ``os.replace``.

    The zip format names its top folder after the file's stem (``gpt_f32/data.pkl``), so the
    temporary file must already carry the final name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        temporary = scratch / target.name
        torch.save(obj, temporary, _use_new_zipfile_serialization=not legacy)
        default_modes(temporary)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def atomic_safetensors(tensors: Dict[str, torch.Tensor], target: Path, metadata=None) -> Path:
    return write_atomically(target, lambda t: st_save_file(tensors, t, metadata=metadata))


def cast(grads: Dict[str, torch.Tensor], dtype: torch.dtype) -> Dict[str, torch.Tensor]:
    return {name: g.to(dtype).contiguous() for name, g in grads.items()}


# ----------------------------------------------------------------------------- Hugging Face layouts


def hf_sharded(state: Dict[str, torch.Tensor], folder: Path, safe: bool, max_shard_size: int, shards: int):
    """``huggingface_hub.save_torch_state_dict`` if installed, else the same layout by hand."""

    def write(tmp: Path) -> None:
        try:
            from huggingface_hub import save_torch_state_dict
        except ImportError:
            save_torch_state_dict = None
        if save_torch_state_dict is not None:
            save_torch_state_dict(state, tmp, safe_serialization=safe, max_shard_size=max_shard_size)
        else:
            hf_sharded_by_hand(state, tmp, safe, max_shard_size)
        stem, ext = ("model", "safetensors") if safe else ("pytorch_model", "bin")
        written = sorted(p.name for p in tmp.iterdir() if p.name.endswith("." + ext))
        expected = [f"{stem}-{k:05d}-of-{shards:05d}.{ext}" for k in range(1, shards + 1)]
        if written != expected:
            raise RuntimeError(f"{folder}: wrote {written}, wanted {expected}; adjust max_shard_size")

    atomic_dir(folder, write)


def hf_sharded_by_hand(state, folder: Path, safe: bool, max_shard_size: int) -> None:
    groups: List[List[str]] = [[]]
    size = 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if groups[-1] and size + nbytes > max_shard_size:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += nbytes
    stem, ext = ("model", "safetensors") if safe else ("pytorch_model", "bin")
    weight_map = {}
    for k, names in enumerate(groups, start=1):
        shard = f"{stem}-{k:05d}-of-{len(groups):05d}.{ext}"
        part = {n: state[n] for n in names}
        if safe:
            st_save_file(part, folder / shard, metadata={"format": "pt"})
        else:
            torch.save(part, folder / shard)
        weight_map.update({n: shard for n in names})
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / f"{stem}.{ext}.index.json").write_text(json.dumps(index, indent=2) + "\n")


# ----------------------------------------------------------------------------- DCP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dcp_rank(rank: int, world: int, port: int, source: str, folder: str) -> None:
    """One rank: its Shard(0) pieces of every gradient, saved with dcp.save (checkpoint_id relative to ROOT)."""
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    torch.set_num_threads(1)
    os.chdir(ROOT)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        mesh = init_device_mesh("cpu", (world,))
        full = torch.load(source, weights_only=True)
        state = {name: distribute_tensor(g, mesh, [Shard(0)]) for name, g in full.items()}
        dcp.save(state, checkpoint_id=folder)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def in_place_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Write a folder at its final path (DCP records the path it was saved to in ``.metadata``);
    an existing one is removed first and a failed write leaves nothing behind."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        write(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def write_dcp_sharded(grads: Dict[str, torch.Tensor], folder: Path, world: int = 2) -> None:
    import torch.multiprocessing as mp

    def write(target: Path) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "source.pt"
            torch.save(grads, source)
            relative = os.path.relpath(target, ROOT)
            mp.spawn(dcp_rank, args=(world, free_port(), str(source), relative), nprocs=world, join=True)

    in_place_dir(folder, write)


def write_dcp_single(grads: Dict[str, torch.Tensor], folder: Path) -> None:
    import torch.distributed.checkpoint as dcp

    def write(target: Path) -> None:
        here = os.getcwd()
        os.chdir(ROOT)
        try:
            dcp.save(dict(grads), checkpoint_id=os.path.relpath(target, ROOT), no_dist=True)
        finally:
            os.chdir(here)

    in_place_dir(folder, write)


def read_dcp(folder: Path) -> Dict[str, torch.Tensor]:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint import FileSystemReader
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    metadata = FileSystemReader(str(folder)).read_metadata()
    state = {
        name: torch.zeros(tuple(meta.size), dtype=meta.properties.dtype)
        for name, meta in metadata.state_dict_metadata.items()
        if isinstance(meta, TensorStorageMetadata)
    }
    dcp.load(state, checkpoint_id=str(folder), no_dist=True)
    return state


# ----------------------------------------------------------------------------- fixtures


def write_gpt_fixtures(out: Path, names: List[str], at: Dict[str, torch.Tensor],
                       at_100: Dict[str, torch.Tensor], other: Dict[str, torch.Tensor], step: int) -> List[dict]:
    """Write every gpt fixture; return manifest stubs (path, kind, step, how names arise)."""
    bf16, fp16 = cast(at, torch.bfloat16), cast(at, torch.float16)
    ordered = [at[n] for n in names]
    files: List[dict] = []

    def note(path: Path, kind: str, loader: str, step_source: str, the_step: int = step, **extra):
        files.append({"path": shown(path), "kind": kind, "step": the_step,
                      "step_source": step_source, "reference": loader, **extra})

    for tag, grads in (("f32", at), ("bf16", bf16), ("fp16", fp16)):
        p = atomic_torch_save(grads, out / f"gpt_{tag}.pt")
        note(p, "torch.save zip, dict", "torch.load(path, weights_only=True)[name].double()", "none")
    for tag, grads in (("f32", at), ("bf16", bf16)):
        p = atomic_torch_save(grads, out / f"gpt_legacy_{tag}.pt", legacy=True)
        note(p, "torch.save legacy (_use_new_zipfile_serialization=False), dict",
             "torch.load(path, weights_only=True)[name].double()", "none")
    p = atomic_torch_save([bf16[n] for n in names], out / "gpt_list.pt")
    note(p, "torch.save zip, list in named_parameters() order, bf16",
         "torch.load(path, weights_only=True)[int(name)].double()", "none")
    p = atomic_torch_save(tuple(fp16[n] for n in names), out / "gpt_tuple.pt")
    note(p, "torch.save zip, tuple in named_parameters() order, fp16",
         "torch.load(path, weights_only=True)[int(name)].double()", "none")
    p = atomic_torch_save({"step": step, "grads": [bf16[n] for n in names], "names": list(names)},
                          out / "gpt_nested.pt")
    note(p, "torch.save zip, {'step': int, 'grads': [tensor, ...], 'names': [str, ...]}, bf16",
         "torch.load(path, weights_only=True)['grads'][int(name.split('.')[1])].double()",
         "the 'step' entry (an int) of the pickled dict")
    flat = torch.cat([g.flatten() for g in ordered]).to(torch.bfloat16)
    views, offset = {}, 0
    for n in names:
        count = at[n].numel()
        views[n] = flat[offset : offset + count].view(at[n].shape)
        offset += count
    p = atomic_torch_save(views, out / "gpt_flat_views_bf16.pt")
    note(p, "torch.save zip, dict of views into ONE bf16 storage (storage offsets, like DDP buckets)",
         "torch.load(path, weights_only=True)[name].double()", "none",
         storage_numel=int(flat.numel()))
    p = atomic_torch_save(bf16, out / "bin-folder" / f"step_{step:06d}" / "pytorch_model.bin")
    note(p, "torch.save zip named pytorch_model.bin, bf16", "torch.load(path, weights_only=True)[name].double()",
         "folder name")
    for tag, grads in (("f32", at), ("bf16", bf16), ("fp16", fp16)):
        p = atomic_safetensors(grads, out / f"gpt_{tag}.safetensors")
        note(p, "safetensors.torch.save_file, no __metadata__ (tensors stored sorted by name)",
             "safetensors.torch.load_file(path)[name].double()", "none")
    for the_step, grads in ((100, cast(at_100, torch.bfloat16)), (step, bf16)):
        folder = out / "hf-sharded" / f"checkpoint-{the_step}"
        hf_sharded(grads, folder, safe=True, max_shard_size=45_000, shards=3)
        index = folder / "model.safetensors.index.json"
        note(index, "Hugging Face sharded safetensors (index + 3 shards), bf16",
             "safetensors.torch.load_file(folder / weight_map[name])[name].double()",
             "folder name checkpoint-N (not the shard counters)", the_step)
    folder = out / "hf-sharded-bin" / f"checkpoint-{step}"
    hf_sharded(at, folder, safe=False, max_shard_size=170_000, shards=2)
    note(folder / "pytorch_model.bin.index.json", "Hugging Face sharded torch.save .bin (index + 2 shards), f32",
         "torch.load(folder / weight_map[name], weights_only=True)[name].double()", "folder name checkpoint-N")
    folder = out / "dcp" / f"step_{step:06d}"
    write_dcp_sharded(bf16, folder)
    note(folder / ".metadata", "torch.distributed.checkpoint, 2 ranks, DTensor Shard(0) on a 1-D mesh, bf16",
         "dcp.load into zeros of the metadata's size/dtype, no_dist=True; [name].double()", "folder name")
    folder = out / "dcp-single" / f"step_{step:06d}"
    write_dcp_single(at, folder)
    note(folder / ".metadata", "torch.distributed.checkpoint, one process (no process group), f32",
         "dcp.load into zeros of the metadata's size/dtype, no_dist=True; [name].double()", "folder name")
    for tag, grads in (("f32", at), ("fp16", fp16)):
        arrays = {n: grads[n].numpy() for n in names}
        p = write_atomically(out / f"gpt_{tag}.npz", lambda t, a=arrays: np.savez(open(t, "wb"), **a))
        note(p, "np.savez (uncompressed), keys = parameter names", "torch.from_numpy(np.load(path)[name]).double()",
             "none")
    for n in names:
        p = write_atomically(out / "npy-folder" / f"step_{step:06d}" / f"{n}.npy",
                   lambda t, a=at[n].numpy(): np.save(open(t, "wb"), a))
        note(p, "np.save, one .npy per tensor (name = file stem), f32", "torch.from_numpy(np.load(path)).double()",
             "folder name")
    half = len(names) // 2
    for part, chosen in (("a", names[:half]), ("b", names[half:])):
        p = atomic_safetensors({n: bf16[n] for n in chosen}, out / "shards-disjoint" / f"step_{step:06d}"
                               / f"part-{part}.safetensors")
        note(p, "safetensors, half of the tensors each (disjoint names), bf16",
             "safetensors.torch.load_file(path)[name].double()", "folder name")
    colliding = ["ln_f.weight", "ln_f.bias", "head.weight"]
    for part, grads, what in (("a", at, "the training mini-batch"),
                              ("b", other, "a second mini-batch at the same parameters")):
        p = atomic_safetensors({n: grads[n].to(torch.bfloat16).contiguous() for n in colliding},
                               out / "collide" / f"step_{step:06d}" / f"{part}.safetensors")
        note(p, f"safetensors, bf16, the same 3 names in a.safetensors and b.safetensors; this file: gradient on {what}",
             "safetensors.torch.load_file(path)[name].double()", "folder name")
    return files


def write_resnet_fixtures(out: Path, at: Dict[str, torch.Tensor], step: int) -> List[dict]:
    files = []
    p = atomic_torch_save(at, out / "resnet_f32.pt")
    files.append({"path": shown(p), "kind": "torch.save zip, dict, f32 (incl. BatchNorm weight/bias)",
                  "step": step, "step_source": "none", "reference": "torch.load(path, weights_only=True)[name].double()"})
    p = atomic_safetensors(cast(at, torch.bfloat16), out / "resnet_bf16.safetensors")
    files.append({"path": shown(p), "kind": "safetensors.torch.save_file, bf16, no __metadata__",
                  "step": step, "step_source": "none", "reference": "safetensors.torch.load_file(path)[name].double()"})
    return files


# ----------------------------------------------------------------------------- manifest


def stats(tensor: torch.Tensor) -> dict:
    flat = tensor.detach().double().flatten()
    values = flat.tolist()
    return {
        "sum": math.fsum(values),
        "sum_squares": math.fsum(v * v for v in values),
        "zeros": int((flat == 0).sum()),
        "min": float(flat.min()) if values else None,
        "max": float(flat.max()) if values else None,
        "first": values[:3],
        "last": values[-1] if values else None,
    }


def stored_tensors(entry: dict, names: List[str]) -> List[Tuple[str, Optional[str], torch.Tensor, dict]]:
    """(name a reader gives, model parameter, stored tensor, extra) in the file's stored order."""
    path = ROOT / entry["path"]  # absolute paths (outside the repository) stay as they are
    kind = entry["kind"]
    out = []
    if path.name == ".metadata":
        from torch.distributed.checkpoint import FileSystemReader

        metadata = FileSystemReader(str(path.parent)).read_metadata()
        loaded = read_dcp(path.parent)
        for name, meta in metadata.state_dict_metadata.items():
            chunks = [{"offsets": list(c.offsets), "sizes": list(c.sizes)} for c in meta.chunks]
            out.append((name, name, loaded[name], {"chunks": chunks}))
        return out
    if path.name.endswith(".index.json"):
        weight_map = json.loads(path.read_text())["weight_map"]
        cache: Dict[str, Dict[str, torch.Tensor]] = {}
        for name in names:
            shard = weight_map[name]
            if shard not in cache:
                shard_path = path.parent / shard
                cache[shard] = (st_load_file(str(shard_path)) if shard.endswith(".safetensors")
                                else torch.load(shard_path, weights_only=True))
            out.append((name, name, cache[shard][name], {"shard": shard}))
        return out
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), "pt") as handle:
            return [(k, k, handle.get_tensor(k), {}) for k in handle.keys()]
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return [(k, k, torch.from_numpy(archive[k].copy()), {}) for k in archive.files]
    if path.suffix == ".npy":
        return [(path.stem, path.stem, torch.from_numpy(np.load(path)), {})]
    obj = torch.load(path, weights_only=True)
    if isinstance(obj, (list, tuple)):
        return [(str(i), names[i], t, {}) for i, t in enumerate(obj)]
    if "grads" in obj and isinstance(obj["grads"], list):
        return [(f"grads.{i}", names[i], t, {}) for i, t in enumerate(obj["grads"])]
    return [(k, k, t, {"storage_offset": t.storage_offset()} if "views" in kind else {}) for k, t in obj.items()]


def manifest_entries(files: List[dict], names: List[str], model: str) -> List[dict]:
    entries = []
    for entry in files:
        tensors = []
        for name, parameter, tensor, extra in stored_tensors(entry, names):
            tensors.append({"name": name, "parameter": parameter, "dtype": DTYPE_CODES[tensor.dtype],
                            "shape": list(tensor.shape), "count": tensor.numel(), **extra, **stats(tensor)})
        entries.append({**entry, "model": model, "model_order": names, "tensors": tensors})
    return entries


def update_manifest(out: Path, model: str, entries: List[dict], versions: dict) -> None:
    target = out / "manifest.json"
    previous = json.loads(target.read_text()) if target.exists() else {"files": []}
    kept = [f for f in previous["files"] if f.get("model") != model]
    document = {
        "generated_by": "scripts/record_real_models.py",
        "statistics": "torch, stored tensor upcast to float64, C order: sum = math.fsum(values), "
                      "sum_squares = math.fsum(v*v), zeros = count of v == 0 (either sign), min, max, "
                      "first = first 3 values, last = last value",
        "versions": {**previous.get("versions", {}), model: versions},
        "files": sorted(kept + entries, key=lambda f: f["path"]),
    }
    write_atomically(target, lambda t: Path(t).write_text(manifest_text(document)))


def manifest_text(document: dict) -> str:
    """JSON with one line per file field and one line per tensor (keeps the file small and diffable)."""
    head = {k: v for k, v in document.items() if k != "files"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + [' "files": [']
    for i, entry in enumerate(document["files"]):
        fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items() if k != "tensors"]
        tensors = ",\n".join(f"   {json.dumps(t)}" for t in entry["tensors"])
        fields.append(f'  "tensors": [\n{tensors}\n  ]')
        lines.append(" {\n" + ",\n".join(fields) + "\n }" + ("," if i + 1 < len(document["files"]) else ""))
    lines += [" ]", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(document))
    return text


# ----------------------------------------------------------------------------- notes


def dis_lines(stream, limit: int) -> List[str]:
    buffer = io.StringIO()
    try:
        pickletools.dis(stream, out=buffer)
    except Exception as error:  # noqa: BLE001 (the listing is informational)
        buffer.write(f"pickletools stopped: {error!r}\n")
    return buffer.getvalue().splitlines()[:limit]


DCP_STRUCTURE = """torch.distributed.checkpoint .metadata (pickle protocol 4 with FRAME opcodes, one here; classes built with
STACK_GLOBAL + EMPTY_TUPLE + NEWOBJ, then a dict state + BUILD; torch.Size as REDUCE(torch.Size, (tuple,))):

Metadata  (torch.distributed.checkpoint.metadata)
  state_dict_metadata: {fqn: TensorStorageMetadata | BytesStorageMetadata}   (insertion order = state dict order)
     TensorStorageMetadata: properties = TensorProperties (state is a TUPLE, not a dict:
                              (dtype GLOBAL e.g. torch.bfloat16, layout REDUCE(torch.serialization._get_layout,
                               ('torch.strided',)), requires_grad bool,
                               memory_format REDUCE(torch.distributed.checkpoint.metadata._MEM_FORMAT_ENCODING,
                               (0,)) (an Enum, 0 = contiguous_format),
                               pin_memory bool, strides tuple))
                            size = torch.Size([...])  (full tensor shape)
                            chunks = [ChunkStorageMetadata(offsets = torch.Size, sizes = torch.Size), ...]
  planner_data: {fqn: (fqn,)}      (the default planner's path of each key; tuples of str)
  storage_data: {MetadataIndex(fqn str, offset torch.Size, index int): _StorageInfo(relative_path str,
                  offset int, length int)}   (torch.distributed.checkpoint.filesystem._StorageInfo; a None
                  transform_descriptors is NOT in the pickled state dict; 'offset' key string is memoized and
                  re-used via BINGET/LONG_BINGET for both MetadataIndex.offset and _StorageInfo.offset)
  storage_meta: StorageMeta(checkpoint_id = pathlib.PosixPath(parts...) REDUCE, save_id uuid str,
                  load_id None|str, modules [])   -> a reader must accept pathlib.PosixPath as an opaque global
  version: '1.0.0'
MetadataIndex.index is a hint (the chunk's position in chunks); match a storage_data entry to its chunk by
(fqn, offset). Chunk bytes: [_StorageInfo.offset, offset + length) of relative_path (relative to the folder)."""


def legacy_layout(path: Path, names: List[str]) -> List[str]:
    """Walk a legacy torch.save file byte by byte and check it against torch.load."""
    data = path.read_bytes()
    stream = io.BytesIO(data)
    bounds = []
    for _ in range(5):
        start = stream.tell()
        for _ in pickletools.genops(stream):
            pass
        bounds.append((start, stream.tell()))
    stream.seek(bounds[4][0])
    keys = pickle.load(stream)
    loaded = torch.load(path, weights_only=True)
    by_key = {}
    stream.seek(bounds[3][0])

    class Recorder(pickle.Unpickler):
        def persistent_load(self, pid):
            by_key[pid[2]] = {"type": pid[1], "location": pid[3], "numel": pid[4], "view": pid[5]}
            return torch.UntypedStorage(0)

        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *rest: (offset, tuple(size), tuple(stride))
            if module == "torch" and name.endswith("Storage"):
                return name
            return super().find_class(module, name)

    Recorder(io.BytesIO(data[bounds[3][0]:bounds[3][1]])).load()
    position = bounds[4][1]
    lines = [f"file {shown(path)}: {len(data)} bytes"]
    for number, (start, end) in enumerate(bounds):
        lines.append(f"  pickle {number}: bytes [{start}, {end})")
    lines.append(f"  storage keys (pickle 4): {len(keys)} str keys, sorted as strings: {keys == sorted(keys)}; "
                 f"they are str(id) of the storages at save time (memory addresses), so they change between runs")
    element = {"FloatStorage": 4, "BFloat16Storage": 2, "HalfStorage": 2, "DoubleStorage": 8}
    raw_start = position
    for key in keys:
        (count,) = struct.unpack("<q", data[position : position + 8])
        size = element[by_key[key]["type"]]
        assert count == by_key[key]["numel"], (key, count, by_key[key])
        position += 8 + count * size
    assert position == len(data), (position, len(data))
    lines.append(f"  raw storages: bytes [{raw_start}, {len(data)}): for each key in the order of the key list, "
                 f"an i64 little-endian ELEMENT count (equal to the numel in the persistent id), then count x "
                 f"element size raw little-endian bytes; no padding, no alignment; the last storage ends at EOF "
                 f"(checked: {len(keys)} storages, walk ends at byte {position} = file size)")
    # every tensor's values equal the raw bytes at its storage offset
    position = raw_start
    starts = {}
    for key in keys:
        (count,) = struct.unpack("<q", data[position : position + 8])
        starts[key] = position + 8
        position += 8 + count * element[by_key[key]["type"]]
    first = keys[0]
    lines.append(f"  example: first key {first!r} {by_key[first]}: count field at byte {starts[first] - 8}, "
                 f"data at byte {starts[first]}")
    lines.append("  persistent id: ('storage', torch.<T>Storage (GLOBAL), key str, location 'cpu', numel int, None)")
    lines.append(f"  torch.load order of tensors: {list(loaded)[:3]} ... (dict insertion order = named_parameters())")
    return lines


def dcp_layout(folder: Path) -> List[str]:
    """Check that every DCP chunk is a whole torch.save zip at [offset, offset + length)."""
    from torch.distributed.checkpoint import FileSystemReader

    metadata = FileSystemReader(str(folder)).read_metadata()
    full = read_dcp(folder)
    lines = [f"folder {shown(folder)}: files {sorted(p.name for p in folder.iterdir())}",
             f"  Metadata fields: {list(metadata.__dataclass_fields__)}; version {metadata.version!r}",
             f"  storage_meta: {metadata.storage_meta!r}"]
    per_file: Dict[str, List[Tuple[int, int]]] = collections.defaultdict(list)
    members = None
    for index, info in metadata.storage_data.items():
        blob = (folder / info.relative_path).read_bytes()[info.offset : info.offset + info.length]
        assert blob[:4] == b"PK\x03\x04", (index, blob[:4])
        chunk = torch.load(io.BytesIO(blob), weights_only=True)
        region = full[index.fqn][tuple(slice(o, o + n) for o, n in zip(index.offset, chunk.shape))]
        assert torch.equal(chunk, region), index
        assert chunk.untyped_storage().nbytes() == chunk.numel() * chunk.element_size(), index
        per_file[info.relative_path].append((info.offset, info.length))
        end = blob.rfind(b"PK\x05\x06")
        cd_size, cd_offset = struct.unpack("<II", blob[end + 12 : end + 20])
        zip64 = blob.rfind(b"PK\x06\x06")
        assert cd_offset + cd_size == (zip64 if zip64 >= 0 else end), (index, cd_offset, cd_size, zip64, end)
        if members is None:
            import zipfile

            members = [(m.filename, m.file_size, m.compress_type) for m in zipfile.ZipFile(io.BytesIO(blob)).infolist()]
            lines.append(f"  first storage_data entry: {index!r} -> {info!r}")
            lines.append(f"  its blob's zip members (name, size, compression 0 = stored): {members}")
    for name, ranges in sorted(per_file.items()):
        ranges.sort()
        tiled = all(a[0] + a[1] == b[0] for a, b in zip(ranges, ranges[1:])) and ranges[0][0] == 0
        size = (folder / name).stat().st_size
        lines.append(f"  {name}: {len(ranges)} blobs, back to back from byte 0: {tiled}, last ends at "
                     f"{ranges[-1][0] + ranges[-1][1]} = file size {size}")
    order = [(i.fqn, i.index, tuple(i.offset), v.relative_path) for i, v in metadata.storage_data.items()]
    lines.append(f"  storage_data order (first 4): {order[:4]}")
    lines.append(f"  storage_data order (entries 29-32): {order[29:33]}")
    chunked = [(n, [(tuple(c.offsets), tuple(c.sizes)) for c in m.chunks])
               for n, m in list(metadata.state_dict_metadata.items())[:3]]
    lines.append(f"  state_dict_metadata chunks (first 3 tensors): {chunked}")
    lines.append("  each blob is a self-contained zip: its central-directory offset is relative to the blob's "
                 "first byte (checked for all: cd_offset + cd_size = position of the zip64 end record), "
                 "members are stored uncompressed, and archive/data/0 is 64-byte aligned relative to the blob, "
                 "NOT to the .distcp file; member prefix 'archive/'")
    lines.append("  every chunk: torch.load(blob) == full[offset:offset+size] (checked for all), and the chunk's "
                 "storage holds exactly the chunk (storage offset 0, nbytes = numel x element size)")
    return lines


def write_notes(notes: Path, fixtures: Path, step: int, names: List[str]) -> None:
    notes.mkdir(parents=True, exist_ok=True)
    summary = [f"torch {torch.__version__}", "", DCP_STRUCTURE, ""]
    for tag in ("f32", "bf16"):
        legacy = fixtures / f"gpt_legacy_{tag}.pt"
        data = legacy.read_bytes()
        stream = io.BytesIO(data)
        lines, full = [], []
        for number in range(5):
            start = stream.tell()
            listing = dis_lines(stream, 10**9)
            head = [f"===== pickle {number}: bytes [{start}, {stream.tell()}) ====="]
            lines.extend(head + listing[:300])
            full.extend(head + listing)
        tail = f"===== raw storages: bytes [{stream.tell()}, {len(data)}) ====="
        (notes / f"legacy_{tag}_pickles.txt").write_text("\n".join(lines + [tail]) + "\n")
        (notes / f"legacy_{tag}_pickles_full.txt").write_text("\n".join(full + [tail]) + "\n")
        summary += legacy_layout(legacy, names) + [""]
    for variant in ("dcp", "dcp-single"):
        folder = fixtures / variant / f"step_{step:06d}"
        listing = dis_lines(io.BytesIO((folder / ".metadata").read_bytes()), 10**9)
        (notes / f"{variant}_metadata_pickletools.txt").write_text("\n".join(listing[:300]) + "\n")
        (notes / f"{variant}_metadata_pickletools_full.txt").write_text("\n".join(listing) + "\n")
        summary += dcp_layout(folder) + [""]
    (notes / "verified_layouts.txt").write_text("\n".join(summary) + "\n")


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["gpt", "resnet"], required=True)
    parser.add_argument("--fixtures", default=str(ROOT / "tests" / "fixtures" / "real"))
    parser.add_argument("--no-fixtures", action="store_true",
                        help="write only --data-out (the fixtures are sized for the default model)")
    parser.add_argument("--data-out", default=None, help="directory for the time series (step_NNNNNN.*)")
    parser.add_argument("--notes", default=None, help="gpt: directory for pickletools listings (outside the repo)")
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps; gradients of steps 0..steps")
    parser.add_argument("--every", type=int, default=100, help="record steps with step %% every == 0")
    parser.add_argument("--fixture-step", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=None, help="gpt: 4 windows, resnet: 32 images")
    parser.add_argument("--lr", type=float, default=None, help="gpt: AdamW 3e-3, resnet: SGD 0.05")
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--d-model", type=int, default=20)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-layer", type=int, default=2)
    args = parser.parse_args()
    if args.batch_size is None:
        args.batch_size = 4 if args.model == "gpt" else 32
    if args.lr is None:
        args.lr = 3e-3 if args.model == "gpt" else 0.05
    if args.fixture_step % args.every or args.fixture_step > args.steps or (args.model == "gpt" and args.steps < 100):
        parser.error("--fixture-step must be a recorded step (and gpt needs step 100 recorded)")

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    started = time.perf_counter()
    out = Path(args.fixtures).resolve()
    import safetensors

    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__,
                "safetensors": safetensors.__version__}
    try:
        import huggingface_hub

        versions["huggingface_hub"] = huggingface_hub.__version__
    except ImportError:
        versions["huggingface_hub"] = None

    if args.model == "gpt":
        model, recorded, other, summary = train_gpt(args)
        trained = time.perf_counter() - started
        names = [name for name, _ in model.named_parameters()]
        files = [] if args.no_fixtures else write_gpt_fixtures(
            out, names, recorded[args.fixture_step], recorded[100], other, args.fixture_step)
        summary["fixture_zero_fractions"] = {
            n: float((recorded[args.fixture_step][n] == 0).float().mean()) for n in names
        }
        d, at = args.d_model, recorded[args.fixture_step]
        summary["qkv_bias_abs_max_by_third"] = {
            f"blocks.{b}": {
                part: float(at[f"blocks.{b}.attn.qkv.bias"][i * d : (i + 1) * d].abs().max())
                for i, part in enumerate(("q", "k", "v"))
            }
            for b in range(args.n_layer)
        }
    else:
        model, recorded, summary = train_resnet(args)
        trained = time.perf_counter() - started
        names = [name for name, _ in model.named_parameters()]
        files = [] if args.no_fixtures else write_resnet_fixtures(out, recorded[args.fixture_step], args.fixture_step)
    if files:
        entries = manifest_entries(files, names, summary["model"])
        update_manifest(out, summary["model"], entries, versions)
    if args.notes and args.model == "gpt" and files:
        write_notes(Path(args.notes), out, args.fixture_step, names)
    summary.update({
        "arguments": {**vars(args), "fixtures": shown(out)},
        "versions": versions,
        "recorded_steps": sorted(recorded),
        "fixture_files": [f["path"] for f in files],
        "train_seconds": round(trained, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    })
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
