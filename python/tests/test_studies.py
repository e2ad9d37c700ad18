"""compare, iid, evolve and read on the shipped dumps, against the command
line and scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as st
from safetensors.numpy import load_file

import gradrd
from conftest import DATA, steps_of, without


def weights_by_step(folder) -> dict:
    """``{step: {name: array}}`` of a folder's ``*weight`` tensors, read with safetensors."""
    return {
        int(path.stem.split("_")[1]): {n: a for n, a in load_file(str(path)).items() if n.endswith("weight")}
        for path in sorted(folder.glob("step_*.safetensors"))
    }


def test_compare_is_scipys_spearman_ks_and_wasserstein(cli, tmp_path):
    rng = np.random.default_rng(7)
    a = rng.laplace(0, 1.0, 2000)
    b = 0.5 * a + rng.normal(0, 1.0, 2000)
    ours = gradrd.compare(a, b)
    rho, p = st.spearmanr(a, b)
    assert ours["spearman_rho"] == pytest.approx(rho, rel=1e-12)
    assert ours["spearman_p"] == pytest.approx(p, rel=1e-6)
    ks = st.ks_2samp(a, b)
    assert ours["ks"] == pytest.approx(ks.statistic, rel=1e-12)
    assert ours["ks_p"] == pytest.approx(ks.pvalue, rel=1e-6)
    assert ours["w1"] == pytest.approx(st.wasserstein_distance(a, b), rel=1e-10)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    from_cli = cli.json("compare", tmp_path / "a.npy", tmp_path / "b.npy")
    assert without(ours, "a", "b") == without(from_cli, "a", "b")


def test_iid_over_a_recorded_run_is_the_cli_study(cli):
    folder = DATA / "digits-mlp"
    from_cli = cli.json("iid", folder, "--trials", "20")
    ours = gradrd.iid(steps_of(folder), trials=20)
    assert ours["results"] == from_cli["results"]
    assert without(ours, "dump", "results") == without(from_cli, "dump", "results")


def test_evolve_over_a_recorded_run_is_the_cli_table(cli):
    folder = DATA / "digits-cnn"
    from_cli = cli.json("evolve", folder, "--family", "laplace", "--tensor", "conv1.weight")
    steps = {step: {"conv1.weight": t["conv1.weight"]} for step, t in steps_of(folder).items()}
    ours = gradrd.evolve(steps, families=["laplace"])
    assert [without(r, "file") for r in ours["rows"]] == [without(r, "file") for r in from_cli["rows"]]


def test_read_gives_the_stored_values_in_every_format():
    path = DATA / "digits-mlp" / "step_000100.safetensors"
    stored = load_file(str(path))
    read = {name: (step, array) for name, step, array in gradrd.read(path)}
    assert sorted(read) == sorted(stored)
    for name, array in stored.items():
        step, values = read[name]
        assert step == 100
        assert values.dtype == np.float64 and values.shape == array.shape
        np.testing.assert_array_equal(values, array.astype(np.float64))
    import torch

    pt = DATA / "resnet-tiny" / "step_000200.pt"
    state = torch.load(pt, weights_only=True)
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, torch.Tensor) and value.is_floating_point():
            flat[prefix] = value

    walk("", state)
    read = {name: array for name, _, array in gradrd.read(pt)}
    assert set(flat) <= set(read)
    for name, tensor in flat.items():
        np.testing.assert_array_equal(read[name], tensor.double().numpy())


def test_one_unreadable_file_is_reported_and_the_rest_is_read(tmp_path):
    np.save(tmp_path / "step_1.npy", np.ones(3, dtype=np.float32))
    (tmp_path / "step_2.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',")
    np.save(tmp_path / "step_3.npy", np.zeros(2, dtype=np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = [(name, step) for name, step, _ in gradrd.read(tmp_path)]
    assert [step for _, step in read] == [1, 3]
    assert len(caught) == 1 and issubclass(caught[0].category, gradrd.GradrdWarning)
    assert "step_2.npy" in str(caught[0].message)
    assert [s for _, s, _ in gradrd.read(tmp_path, errors="skip")] == [1, 3]
    with pytest.raises(gradrd.ReadError, match="step_2.npy"):
        list(gradrd.read(tmp_path, errors="raise"))


def test_rd_of_a_given_model_is_the_cli_curve_and_the_gaussian_limit(cli):
    from_cli = cli.json("rd", "--family", "normal", "--param", "scale=2", "--bits", "2,3")
    ours = gradrd.rd(family="normal", params={"scale": 2.0}, bits=[2, 3])
    assert ours == from_cli
    # Shannon: R(D) = ½ log2(σ²/D) for a Gaussian source of variance σ² = 4;
    # the discretized curve is within 0.01 bit up to 3 bits and within its
    # own stated bracket (max_bracket_bits) beyond
    for point in ours["curve"]:
        if 0 < point["distortion"] < 4.0:
            exact = 0.5 * np.log2(4.0 / point["distortion"])
            tolerance = 0.01 if exact <= 3.0 else ours["max_bracket_bits"]
            assert point["rate"] == pytest.approx(exact, abs=tolerance)


def test_rd_of_a_real_tensor_is_the_cli_study(cli):
    folder = DATA / "digits-mlp"
    path = folder / "step_000200.safetensors"
    tensor = load_file(str(path))["fc2.weight"]
    from_cli = cli.json("rd", "--from", path, "--tensor", "fc2.weight", "--bits", "2")
    ours = gradrd.rd(tensor, bits=[2])
    assert without(ours, "tensor", "step") == without(from_cli, "tensor", "step")


def test_budget_over_a_recorded_run_is_the_cli_study(cli):
    folder = DATA / "digits-mlp"
    from_cli = cli.json("budget", folder, "--tensor", "weight$")
    # the stored float32 arrays: the budget counts full precision in their width
    steps = weights_by_step(folder)
    ours = gradrd.budget(steps)
    assert without(ours, "dump") == without(from_cli, "dump")


def test_ef_over_a_recorded_run_is_the_cli_replay(cli):
    folder = DATA / "digits-mlp"
    from_cli = cli.json("ef", folder, "--tensor", "weight$", "--k", "0.05", "--feedback", "decay")
    steps = weights_by_step(folder)
    ours = gradrd.ef(steps, k=0.05, feedback="decay")
    assert ours["schema"] == "gradrd.ef/1"
    assert ours["parameters"]["gamma"] == 0.9
    assert without(ours, "dump") == without(from_cli, "dump")


def test_stale_over_a_recorded_run_is_the_cli_study(cli):
    folder = DATA / "digits-mlp"
    from_cli = cli.json("stale", folder, "--tensor", "weight$", "--absent", "100..200", "--k", "0.05")
    steps = weights_by_step(folder)
    ours = gradrd.stale(steps, absent=["100..200"], k=0.05)
    assert ours["schema"] == "gradrd.stale/1"
    assert without(ours, "dump") == without(from_cli, "dump")
    assert ours["absent_steps"] and set(ours["absent_steps"]) <= set(range(100, 201))
    # resetting after an absence throws memory away; keeping it throws none
    by_policy = {row["policy"]: row for row in ours["policies"]}
    assert by_policy["keep"]["discarded_error"] == 0.0
    assert by_policy["reset"]["discarded_error"] > 0.0
    for row in ours["policies"]:
        assert row["total_error"] == pytest.approx(row["compression_error"] + row["discarded_error"], rel=1e-12)
    with pytest.raises(gradrd.OptionError, match="absent"):
        gradrd.stale(steps, absent=[10**9])


def test_cost_counts_a_model_as_the_cli_counts_its_dump(cli):
    dump = DATA / "gpt-tiny"
    from_cli = cli.json("cost", "--dump", dump, "--k", "0.05")
    first = sorted(dump.glob("step_*.safetensors"))[0]
    import torch
    from safetensors.torch import load_file as load_torch

    tensors = load_torch(str(first))  # bf16 tensors stay bf16
    ours = gradrd.cost(tensors, k=0.05)
    assert ours == from_cli
    widths = {16 if t.dtype in (torch.bfloat16, torch.float16) else 32 for t in tensors.values()}
    assert ours["value_bits"] == max(widths)
    # a given size is counted at 32 bits: top-1 % of 11.2e6 -> 112 000 kept
    resnet18 = gradrd.cost(params=11.2e6)
    assert resnet18["kept"] == 112_000 and resnet18["full_precision_bits_per_entry"] == 32.0
    with pytest.raises(gradrd.OptionError, match="params"):
        gradrd.cost(tensors, params=1e6)
