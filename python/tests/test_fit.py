"""gradrd.fit against the command line on the same values (the same
numbers, field for field) and against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
import torch
from safetensors.torch import load_file

import gradrd
from conftest import DATA, without


def laplace_values(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).laplace(0.0, 1e-3, n).astype(np.float32)


def test_fit_gives_the_cli_entry_field_for_field(cli, tmp_path):
    x = laplace_values(20_000, 1).reshape(100, 200)
    np.save(tmp_path / "x.npy", x)
    from_cli = cli.json("fit", tmp_path / "x.npy")["results"][0]
    ours = gradrd.fit(x)
    assert without(ours, "file") == without(from_cli, "file")
    assert ours["dtype"] == "F32" and ours["shape"] == [100, 200]


def test_bf16_torch_tensors_fit_as_the_cli_fits_the_stored_bf16_file(cli):
    path = DATA / "gpt-tiny" / "step_000400.safetensors"
    tensors = load_file(str(path))
    name = next(n for n, t in tensors.items() if t.dtype == torch.bfloat16 and t.numel() >= 1000)
    tensor = tensors[name]
    from_cli = cli.json("fit", path, "--tensor", name)["results"][0]
    ours = gradrd.fit(tensor)
    assert ours["dtype"] == "BF16"
    assert without(ours, "file", "tensor", "step") == without(from_cli, "file", "tensor", "step")


def test_non_contiguous_and_float16_input_fit_their_values():
    x = laplace_values(4000, 2).reshape(40, 100)
    transposed = gradrd.fit(x.T, families=["laplace"])
    copied = gradrd.fit(np.ascontiguousarray(x.T), families=["laplace"])
    assert transposed == copied
    half = x.astype(np.float16)
    from_torch = gradrd.fit(torch.from_numpy(half), families=["laplace"])
    assert from_torch == gradrd.fit(half, families=["laplace"])
    assert from_torch["dtype"] == "F16"


def params_of(result: dict, family: str) -> dict:
    return next(f for f in result["fits"] if f["family"] == family)["params"]


def test_normal_and_laplace_fits_are_their_closed_form_maxima():
    x = laplace_values(10_001, 3).astype(np.float64) + 2e-4
    result = gradrd.fit(x, families=["normal", "laplace"], zeros="keep")
    normal = params_of(result, "normal")
    # scipy.stats.norm.fit: mean and the ddof=0 standard deviation
    assert normal["loc"] == pytest.approx(np.mean(x), rel=1e-12)
    assert normal["scale"] == pytest.approx(np.std(x), rel=1e-10)
    laplace = params_of(result, "laplace")
    # scipy.stats.laplace.fit: the median and the mean absolute deviation from it
    median = np.median(x)
    assert laplace["loc"] == pytest.approx(median, rel=1e-12)
    assert laplace["scale"] == pytest.approx(np.mean(np.abs(x - median)), rel=1e-10)


def test_gennorm_likelihood_is_at_least_scipys():
    x = st.gennorm.rvs(0.7, loc=0.0, scale=2e-3, size=5000, random_state=4)
    result = gradrd.fit(x, families=["gennorm"], zeros="keep")
    fitted = next(f for f in result["fits"] if f["family"] == "gennorm")
    beta, loc, scale = st.gennorm.fit(x)
    scipy_loglik = np.sum(st.gennorm.logpdf(x, beta, loc, scale))
    assert fitted["loglik"] >= scipy_loglik - 1e-6 * abs(scipy_loglik)
    ours = fitted["params"]
    assert np.sum(st.gennorm.logpdf(x, ours["beta"], ours["loc"], ours["scale"])) == pytest.approx(
        fitted["loglik"], rel=1e-9
    )
    assert ours["beta"] == pytest.approx(beta, rel=2e-3)


def test_goodness_of_fit_is_scipys_ks_against_the_fitted_model():
    x = laplace_values(3000, 5).astype(np.float64)
    result = gradrd.fit(x, families=["laplace"], zeros="keep")
    fitted = result["fits"][0]
    p = fitted["params"]
    ks = st.kstest(x, st.laplace(p["loc"], p["scale"]).cdf)
    assert fitted["ks"] == pytest.approx(ks.statistic, rel=1e-9)


def test_the_documented_fields_are_the_fields():
    x = np.linspace(-1.0, 1.0, 101) ** 3
    result = gradrd.fit(x, families=["laplace"])
    doc = gradrd.fit.__doc__
    for key in result:
        if key != "file":
            assert f"``{key}``" in doc, key
    for key in result["fits"][0]:
        if key not in ("family", "se_method", "loglik_mixture", "loglik_censored"):
            assert f"``{key}``" in doc, key
