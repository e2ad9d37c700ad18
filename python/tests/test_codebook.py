"""Codebooks from Python: the CLI's documents and measures, numpy's
lookup, and the entropy coder's real bytes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import gradrd
from conftest import DATA, without


def test_design_is_the_cli_document(cli):
    ours = gradrd.design("gennorm", {"beta": 0.8, "scale": 1e-3}, bits=3, m=1.0)
    from_cli = json.loads(
        cli.run(
            "quantize", "design", "--family", "gennorm", "--param", "beta=0.8",
            "--param", "scale=1e-3", "--bits", "3", "--m", "1",
        ).stdout
    )
    assert ours.document == from_cli
    assert ours.levels == 8 and ours.m == 1.0 and not ours.zero_level
    np.testing.assert_array_equal(ours.thresholds, from_cli["thresholds"])
    np.testing.assert_array_equal(ours.centers, from_cli["centers"])


def real_tensor() -> tuple:
    path = DATA / "digits-mlp" / "step_000350.safetensors"
    tensors = load_file(str(path))
    return path, "fc1.weight", tensors["fc1.weight"]


def test_design_from_a_real_tensor_is_the_cli_design(cli):
    path, name, tensor = real_tensor()
    for extra in ([], ["--empirical"]):
        from_cli = json.loads(
            cli.run("quantize", "design", "--from", path, "--tensor", name, "--bits", "3", *extra).stdout
        )
        ours = gradrd.design_from(tensor, bits=3, empirical=bool(extra))
        assert ours.document["tensor"] is None
        assert without(ours.document, "tensor", "step") == without(from_cli, "tensor", "step")


def test_quantize_is_numpys_searchsorted_and_decode_inverts_encode():
    codebook = gradrd.design("laplace", {"scale": 2e-3}, bits=4, m=0.0)
    x = np.random.default_rng(0).laplace(0.0, 2e-3, (64, 50)).astype(np.float32)
    indices = codebook.quantize(x)
    assert indices.shape == x.shape and indices.dtype == np.uint32
    expected = np.searchsorted(codebook.thresholds, x.astype(np.float64) / codebook.scale, side="left")
    np.testing.assert_array_equal(indices, expected)
    data = codebook.encode(x)
    decoded = codebook.decode(data)
    np.testing.assert_array_equal(decoded, codebook.centers[expected.ravel()] * codebook.scale)


def test_encoded_bytes_are_the_bits_quantize_eval_counts(cli, tmp_path):
    path, name, tensor = real_tensor()
    codebook = gradrd.design_from(tensor, bits=3)
    (tmp_path / "cb.json").write_text(codebook.to_json())
    row = cli.json("quantize", "eval", tmp_path / "cb.json", path, "--tensor", name)["results"][0]
    measured = codebook.evaluate(tensor)
    assert measured == without(row, "tensor", "step")
    total_bits = round(row["coded_bits"] * row["n"])
    assert abs(total_bits - row["coded_bits"] * row["n"]) < 1e-6
    assert len(codebook.encode(tensor)) == math.ceil(total_bits / 8)


def test_json_round_trip_keeps_the_codebook():
    codebook = gradrd.design("dweibull", {"c": 0.9, "scale": 0.5}, levels=5, zero_level=True)
    again = gradrd.Codebook.from_json(codebook.to_json())
    assert again.document == codebook.document
    assert again.zero_level and 0.0 in list(again.centers)
    x = np.linspace(-2, 2, 101)
    np.testing.assert_array_equal(again.quantize(x), codebook.quantize(x))


def test_evaluate_of_a_bad_codebook_says_it_is_worse_than_zeros():
    codebook = gradrd.design("normal", {"loc": 5.0, "scale": 0.1}, bits=1)
    measured = codebook.evaluate(np.random.default_rng(1).normal(0, 1e-3, 1000))
    assert measured["nmse"] > 1
    assert "worse than sending zeros" in measured["note"]


def test_bf16_input_quantizes_its_exact_values():
    codebook = gradrd.design("laplace", {"scale": 1.0}, bits=3)
    t = torch.randn(1000).to(torch.bfloat16)
    np.testing.assert_array_equal(codebook.quantize(t), codebook.quantize(t.double().numpy()))
