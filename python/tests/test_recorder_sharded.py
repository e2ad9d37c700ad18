"""GradientRecorder in a 2-process run (gloo, CPU): FSDP2 (``fully_shard``) writes each
rank's local DTensor shard with its placement, DDP-style plain gradients are written once,
and gradrd reads each step as whole tensors, equal to ``DTensor.full_tensor()``."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import gradrd
from conftest import without
from gradrd.torch import GradientRecorder

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model() -> torch.nn.Module:
    # 5 and 3 output rows over 2 ranks: uneven shards (3 + 2, 2 + 1)
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def backward(net: torch.nn.Module, rank: int, dtype: torch.dtype = torch.float32) -> None:
    inputs = torch.randn(8, 4, generator=torch.Generator().manual_seed(rank)).to(dtype)
    net(inputs).square().sum().backward()


def fsdp_worker(rank: int, port: int, out: str, reference: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    net = model().to(torch.bfloat16)
    fully_shard(net, mesh=init_device_mesh("cpu", (WORLD,)))
    recorder = GradientRecorder(net, out)
    for step in range(2):
        net.zero_grad(set_to_none=True)
        backward(net, rank + 10 * step, torch.bfloat16)
        recorder.step(step)
        whole = {name: p.grad.full_tensor() for name, p in net.named_parameters()}
        if rank == 0:
            torch.save(whole, Path(reference) / f"step{step}.pt")
    dist.destroy_process_group()


def ddp_worker(rank: int, port: int, out: str, reference: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    net = torch.nn.parallel.DistributedDataParallel(model())
    backward(net, rank)
    GradientRecorder(net, out).step(0)
    if rank == 0:
        torch.save({n: p.grad for n, p in net.named_parameters()}, Path(reference) / "step0.pt")
    dist.destroy_process_group()


def spawn(worker, tmp_path: Path) -> tuple:
    out, reference = tmp_path / "grads", tmp_path / "reference"
    reference.mkdir()
    mp.spawn(worker, args=(free_port(), str(out), str(reference)), nprocs=WORLD, join=True)
    return out, reference


def test_fsdp2_shards_are_read_as_whole_tensors(tmp_path: Path, cli) -> None:
    out, reference = spawn(fsdp_worker, tmp_path)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.safetensors"))
    assert files == [
        f"step_00000{s}/rank0000{r}.safetensors" for s in range(2) for r in range(WORLD)
    ]
    read = {(name, step): array for name, step, array in gradrd.read(out, errors="raise")}
    assert sorted(read) == sorted(
        (name, step) for step in range(2) for name in ("0.weight", "0.bias", "2.weight", "2.bias")
    )
    for step in range(2):
        whole = torch.load(reference / f"step{step}.pt")
        for name, tensor in whole.items():
            expected = tensor.float().numpy()  # bf16 -> f32 is exact
            np.testing.assert_array_equal(read[(name, step)], expected)
    # the CLI reads the same set: fit the joined bf16 tensor
    fitted = cli.json("fit", out, "--tensor", "0.weight", "--family", "normal")["results"]
    assert [(r["step"], r["shape"], r["dtype"]) for r in fitted] == [(s, [5, 4], "BF16") for s in range(2)]
    for step, from_cli in enumerate(fitted):
        ours = gradrd.fit(torch.load(reference / f"step{step}.pt")["0.weight"], families=("normal",))
        assert without(ours, "file", "tensor", "step") == without(from_cli, "file", "tensor", "step")


def test_a_missing_rank_file_is_reported_not_read_as_whole(tmp_path: Path) -> None:
    out, _ = spawn(fsdp_worker, tmp_path)
    (out / "step_000001" / "rank00001.safetensors").unlink()
    with pytest.warns(gradrd.GradrdWarning, match="chunks cover"):
        read = [(name, step) for name, step, _ in gradrd.read(out)]
    assert sorted(read) == sorted(
        (name, 0) for name in ("0.weight", "0.bias", "2.weight", "2.bias")
    )


def test_ddp_gradients_are_written_once(tmp_path: Path) -> None:
    out, reference = spawn(ddp_worker, tmp_path)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.safetensors"))
    assert files == ["step_000000/rank00000.safetensors"]
    whole = torch.load(reference / "step0.pt")
    read = {name: array for name, _, array in gradrd.read(out, errors="raise")}
    assert sorted(read) == sorted(f"module.{n}" for n in ("0.weight", "0.bias", "2.weight", "2.bias"))
    for name, tensor in whole.items():
        np.testing.assert_array_equal(read[name], tensor.numpy())
