"""gradrd.torch.GradientRecorder: every check compares the written files with
``param.grad`` computed independently by torch."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open

import gradrd
from gradrd.torch import GradientRecorder


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))


def backward(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(11, 5, generator=generator)
    model.zero_grad(set_to_none=True)
    model(inputs).square().sum().backward()


def read(path: Path):
    with safe_open(str(path), "pt") as handle:
        return handle.metadata(), {key: handle.get_tensor(key) for key in handle.keys()}


def test_loop_mode_writes_param_grads_every_n_steps() -> None:
    model = tiny_model()
    with tempfile.TemporaryDirectory() as out:
        recorder = GradientRecorder(model, out, every=2, metadata={"run": "unit"})
        expected = {}
        for step in range(5):
            backward(model, seed=step)
            written = recorder.step(step)
            assert (written is not None) == (step % 2 == 0), (step, written)
            if written is not None:
                expected[step] = {n: p.grad.clone() for n, p in model.named_parameters()}
        files = sorted(p.name for p in Path(out).iterdir())
        assert files == [f"step_{s:06d}.safetensors" for s in (0, 2, 4)], files
        for step, gradients in expected.items():
            metadata, tensors = read(Path(out) / f"step_{step:06d}.safetensors")
            assert metadata["step"] == str(step) and metadata["recorder"] == "gradrd", metadata
            assert metadata["run"] == "unit", metadata
            assert json.loads(metadata["order"]) == [n for n, _ in model.named_parameters()], metadata
            assert sorted(tensors) == sorted(gradients)
            for name, grad in gradients.items():
                assert torch.equal(tensors[name], grad), name


def test_hook_mode_matches_loop_mode() -> None:
    with tempfile.TemporaryDirectory() as loop_dir, tempfile.TemporaryDirectory() as hook_dir:
        loop_model, hook_model = tiny_model(), tiny_model()
        loop = GradientRecorder(loop_model, loop_dir)
        hooked = GradientRecorder(hook_model, hook_dir).attach()
        for step in range(3):
            backward(loop_model, seed=step)
            backward(hook_model, seed=step)
            loop.step(step)
            hook_model.zero_grad(set_to_none=True)  # hook mode must not need .grad any more
            hooked.step(step)
        hooked.detach()
        for step in range(3):
            name = f"step_{step:06d}.safetensors"
            _, from_loop = read(Path(loop_dir) / name)
            _, from_hooks = read(Path(hook_dir) / name)
            assert sorted(from_loop) == sorted(from_hooks)
            for key in from_loop:
                assert torch.equal(from_loop[key], from_hooks[key]), (step, key)


def test_include_dtype_and_no_temporary_files() -> None:
    model = tiny_model()
    with tempfile.TemporaryDirectory() as out:
        recorder = GradientRecorder(model, out, include=r"weight$", dtype=torch.float16)
        backward(model, seed=7)
        written = recorder.step(12)
        metadata, tensors = read(written)
        assert sorted(tensors) == ["0.weight", "2.weight"], sorted(tensors)
        assert all(t.dtype == torch.float16 for t in tensors.values())
        assert metadata["dtype"] == "float16", metadata
        assert [p.name for p in Path(out).iterdir()] == ["step_000012.safetensors"]


def test_order_is_model_order_not_name_order() -> None:
    """safetensors sorts keys by name; ``order`` keeps named_parameters() order (and only written names)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("zeta", torch.nn.Linear(3, 4))
    model.add_module("alpha", torch.nn.Linear(4, 2))
    model.add_module("mid", torch.nn.Linear(2, 2))
    model.mid.bias.requires_grad_(False)
    with tempfile.TemporaryDirectory() as out:
        recorder = GradientRecorder(model, out, include=r"^(zeta|alpha|mid)\.")
        model.zero_grad(set_to_none=True)
        model(torch.randn(5, 3)).sum().backward()
        model.alpha.bias.grad = None  # a parameter without a gradient is skipped, and left out of order
        metadata, tensors = read(recorder.step(0))
        order = json.loads(metadata["order"])
        assert order == ["zeta.weight", "zeta.bias", "alpha.weight", "mid.weight"], order
        assert sorted(order) == sorted(tensors), (order, sorted(tensors))
        assert metadata["skipped"] == "alpha.bias", metadata
        umask = os.umask(0)
        os.umask(umask)
        mode = (Path(out) / "step_000000.safetensors").stat().st_mode & 0o777
        assert mode == 0o666 & ~umask, f"mode {mode:o}, not the umask's (mkstemp's 0600 left in place?)"


def test_bad_arguments_are_rejected() -> None:
    for kwargs in ({"every": 0}, {"dtype": torch.int32}, {"metadata": {"step": 3}}):
        try:
            GradientRecorder(tiny_model(), "unused", **kwargs)
        except (ValueError, TypeError):
            continue
        raise AssertionError(f"accepted {kwargs}")


def test_bf16_and_fp16_parameters_keep_their_width_and_read_back_exactly() -> None:
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 2))
    model[0].to(torch.bfloat16)
    model[1].to(torch.float16)
    with tempfile.TemporaryDirectory() as out:
        recorder = GradientRecorder(model, out)
        x = torch.randn(4, 6, dtype=torch.bfloat16)
        model[1](model[0](x).to(torch.float16)).float().square().sum().backward()
        metadata, tensors = read(recorder.step(3))
        assert metadata["dtype"] == "bfloat16,float16", metadata
        assert tensors["0.weight"].dtype == torch.bfloat16
        assert tensors["1.weight"].dtype == torch.float16
        read_back = {name: array for name, step, array in gradrd.read(out)}
        for name, param in model.named_parameters():
            assert torch.equal(torch.from_numpy(read_back[name]), param.grad.double()), name


def test_accumulated_gradients_are_the_sum_of_the_micro_batches() -> None:
    model = tiny_model()
    with tempfile.TemporaryDirectory() as loop_dir, tempfile.TemporaryDirectory() as hook_dir:
        hook_model = tiny_model()
        loop = GradientRecorder(model, loop_dir)
        hooked = GradientRecorder(hook_model, hook_dir).attach()
        expected = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
        model.zero_grad(set_to_none=True)
        hook_model.zero_grad(set_to_none=True)
        for micro in range(3):
            generator = torch.Generator().manual_seed(100 + micro)
            inputs = torch.randn(11, 5, generator=generator)
            model(inputs).square().sum().backward()
            hook_model(inputs).square().sum().backward()
            # each micro-batch's gradient alone, from a fresh copy
            alone = tiny_model()
            alone(inputs).square().sum().backward()
            for n, p in alone.named_parameters():
                expected[n] += p.grad
        _, from_loop = read(loop.step(0))
        _, from_hooks = read(hooked.step(0))
        for name, total in expected.items():
            torch.testing.assert_close(from_loop[name], total, rtol=1e-6, atol=1e-6)
            assert torch.equal(from_hooks[name], from_loop[name]), name
