"""Bad input raises a Python exception with the command line's message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradrd


def test_non_finite_values_raise_a_data_error_with_the_cli_message(cli, tmp_path):
    x = np.linspace(-1.0, 1.0, 1000, dtype=np.float32)
    x[[3, 500]] = np.nan
    np.save(tmp_path / "x.npy", x)
    done = cli.run("fit", tmp_path / "x.npy", expect=2)
    with pytest.raises(gradrd.DataError) as raised:
        gradrd.fit(x)
    message = str(raised.value)
    assert "2 NaN and 0 infinite values" in message
    # the CLI's one line names the file first; the rest is the same text
    assert message.split(": ", 1)[-1] in done.stderr


def test_bad_options_are_option_errors_that_are_value_errors():
    x = np.ones(100)
    with pytest.raises(gradrd.OptionError) as raised:
        gradrd.fit(x, families=["laplace", "cauchy"])
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith("families[1]: unknown variant `cauchy`")
    assert raised.value.field == "families"
    with pytest.raises(ValueError, match="families: name at least one family"):
        gradrd.fit(x, families=[])
    with pytest.raises(ValueError, match="unknown field `familes`"):
        gradrd.analyze("fit", x, familes=["normal"])
    with pytest.raises(ValueError, match="unknown analysis 'fits'"):
        gradrd.analyze("fits", x)
    with pytest.raises(ValueError, match="alpha: must be in"):
        gradrd.iid({0: {"w": x}, 1: {"w": x}}, alpha=2.0)
    with pytest.raises(ValueError, match="bits"):
        gradrd.design("gennorm", {"beta": 1.0}, bits=0)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="expected floating values"):
        gradrd.fit(np.arange(10))
    with pytest.raises(TypeError, match="expected a floating tensor"):
        gradrd.fit(torch.arange(10))
    with pytest.raises(TypeError, match="steps must be non-negative integers"):
        gradrd.iid({"a": {"w": np.ones(10)}, 1: {"w": np.ones(10)}})


def test_corrupt_streams_and_documents_raise_data_errors():
    codebook = gradrd.design("laplace", {"scale": 1.0}, bits=2)
    data = codebook.encode(np.linspace(-3, 3, 1000))
    with pytest.raises(gradrd.DataError, match="bytes after the stream|corrupt"):
        codebook.decode(data + b"\x00")
    with pytest.raises(gradrd.DataError, match="more than the 999 allowed"):
        codebook.decode(data, max_entries=999)
    with pytest.raises(gradrd.DataError, match="not JSON of a codebook"):
        gradrd.Codebook.from_json("{")


def test_an_unreadable_file_raises_a_read_error(tmp_path):
    bad = tmp_path / "x.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\xff\xff")
    with pytest.raises(gradrd.ReadError) as raised:
        list(gradrd.read(bad, errors="raise"))
    assert isinstance(raised.value, OSError)
    assert "x.npy" in str(raised.value)
