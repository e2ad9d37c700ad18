"""gradrd: the information-theoretic study of neural-network gradients for
communication-efficient distributed and federated learning — inside the
training loop.

Every function runs gradrd's Rust library on numpy arrays or torch CPU
tensors (float64, float32, float16, bfloat16; no copy where the layout
allows), releases the GIL while it computes (two threads analysing two
tensors run in parallel), stops at the next tensor on Ctrl-C, and returns
the same fields and numbers as the command line's ``--format json``.

Analyses (the registry's kinds; ``gradrd.KINDS``): :func:`fit`,
:func:`compare`, :func:`iid`, :func:`evolve`, :func:`dp`, :func:`rd`,
:func:`budget`, :func:`ef`, :func:`stale`, :func:`cost`, and
:func:`analyze` for any kind by name. Codebooks: :func:`design`,
:func:`design_from`, :class:`Codebook`. Files: :func:`read` (every dump
format the CLI reads) and :func:`run` (a report from a TOML spec).
Errors: :class:`GradrdError` and its subclasses.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _gradrd
from ._arrays import as_buffer, shape_of
from ._errors import DataError, GradrdError, GradrdWarning, OptionError, ReadError

__all__ = [
    "KINDS",
    "Codebook",
    "DataError",
    "GradrdError",
    "GradrdWarning",
    "OptionError",
    "ReadError",
    "analyze",
    "budget",
    "compare",
    "cost",
    "design",
    "design_from",
    "dp",
    "ef",
    "evolve",
    "fit",
    "iid",
    "rd",
    "read",
    "run",
    "stale",
]

__version__: str = _gradrd.__version__

#: The analysis kinds of the registry, as :func:`analyze` names them.
KINDS: Tuple[str, ...] = tuple(_gradrd.KINDS)

FAMILIES = ("gennorm", "dweibull", "laplace", "normal")

Array = Any
"""A numpy array or a torch CPU tensor of floating values."""

Steps = Mapping[int, Mapping[str, Array]]
"""Tensors over training steps: ``{step: {name: array}}``."""


def _tensors(data: Union[None, Array, Mapping[str, Array], Steps]) -> List[tuple]:
    """``(name, step, dtype, array)`` for the extension from nothing, an
    array (named ``x``), ``{name: array}`` or ``{step: {name: array}}``."""
    if data is None:
        return []
    if not isinstance(data, Mapping):
        return [("x", None, *as_buffer(data, "x"))]
    tensors = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
                raise TypeError(f"steps must be non-negative integers, got {key!r}")
            for name, array in value.items():
                tensors.append((str(name), int(key), *as_buffer(array, f"{name} (step {key})")))
        else:
            tensors.append((str(key), None, *as_buffer(value, str(key))))
    return tensors


def analyze(
    kind: str, data: Union[None, Array, Mapping[str, Array], Steps], **options: Any
) -> dict:
    """Runs the registry's analysis ``kind`` (one of :data:`KINDS`) over
    ``data`` — an array, ``{name: array}``, ``{step: {name: array}}``, or
    ``None`` for a kind that studies a given model (``rd``) —
    with ``options`` named as the kind's option fields (the keys of a
    spec's ``[[analysis]]`` table), and returns its whole output: the
    ``gradrd.<kind>/N`` document of ``gradrd <kind> --format json``.

    Raises :class:`OptionError` for an unknown kind or option,
    :class:`DataError` when nothing could be analysed.
    """
    output = _gradrd.run_analysis(kind, json.dumps(options), _tensors(data))
    return json.loads(output)


def _fitting(kind: str, data: Any, families, loc, zeros, gof, nan) -> dict:
    """A kind whose options are the fit's; ``goodness_of_fit`` is the
    keyword ``gof`` here, and errors name it so."""
    options = {
        "families": list(families),
        "loc": loc,
        "zeros": zeros,
        "nan": nan,
        "goodness_of_fit": bool(gof),
    }
    try:
        return analyze(kind, data, **options)
    except OptionError as error:
        if error.field != "goodness_of_fit":
            raise
        message = "gof" + str(error)[len("goodness_of_fit"):]
        raise OptionError(message, "gof") from None


def fit(
    x: Array,
    families: Sequence[str] = FAMILIES,
    loc: Union[str, float] = "free",
    zeros: str = "auto",
    gof: bool = True,
    nan: str = "error",
) -> dict:
    """Maximum-likelihood fits of one tensor, as one entry of
    ``gradrd fit --format json``.

    Args:
        x: the values (numpy array or torch CPU tensor; any shape).
        families: any of ``gennorm`` (scipy's ``gennorm(beta, loc, scale)``),
            ``dweibull`` (``dweibull(c, loc, scale)``), ``laplace``, ``normal``.
        loc: ``"free"`` (fitted), ``"zero"``, or a number to hold it at.
        zeros: exact zeros — ``"auto"`` fits the non-zeros and reports the
            zero-inflated mixture, ``"keep"`` fits every value, ``"drop"``
            the non-zeros only.
        gof: compute KS (statistic, p), W1 and W2 of every fit.
        nan: ``"error"`` refuses non-finite values (naming their count),
            ``"omit"`` leaves them out.

    Returns:
        ``dict`` with ``tensor``, ``step``, ``dtype``, ``shape``, ``n``,
        ``n_fit``, ``zeros``, ``zero_fraction``, ``nonfinite``, ``moments``
        (``mean``, ``std``, ``excess_kurtosis`` of the fitted values) and
        ``fits``: per family
        its ``params`` (scipy's names), ``loglik``, ``aic``, ``bic``,
        ``ks``, ``ks_p``, ``w1``, ``w2``, ``std_errors``, the solver's
        ``converged`` and ``iterations``, and a ``note`` on how the fit was
        made or why it is no model of the data (a shape on its search
        bound; an unbounded likelihood; a W2 to the data larger than their
        standard deviation, i.e. farther from them than a point mass at
        their mean). The fields are those of the CLI's JSON (see the
        README)."""
    return _fitting("fit", x, families, loc, zeros, gof, nan)["results"][0]


def compare(a: Array, b: Array, keep_zeros: bool = False) -> dict:
    """Two tensors compared as samples (``gradrd compare A B``): Spearman's
    rho and p (entry-wise, equal sizes), the two-sample KS statistic and p,
    W1 and W2. Exact zeros are left out unless ``keep_zeros``."""
    return analyze("compare", {"a": a, "b": b}, a=0, b=1, keep_zeros=keep_zeros)


def iid(
    steps: Steps,
    pairs: str = "temporal",
    sample_sizes: Sequence[int] = (100, 3000),
    seed: int = 0,
    trials: int = 100,
    alpha: float = 0.05,
    tests: Sequence[str] = ("spearman", "ks"),
    keep_zeros: bool = False,
) -> dict:
    """The i.i.d. study of ``gradrd iid`` over ``{step: {name: array}}``:
    pass ratios of Spearman (independence) and KS (identical distribution)
    over random coordinate samples, for ``pairs`` ``"temporal"`` (the same
    coordinates at consecutive steps), ``"spatial"`` (two disjoint sets at one
    step) or ``"layers"`` (neighbouring tensors at one step). Returns the
    ``gradrd.iid/1`` document."""
    return analyze(
        "iid",
        steps,
        pairs=pairs,
        sample_sizes=list(sample_sizes),
        seed=seed,
        trials=trials,
        alpha=alpha,
        tests=list(tests),
        keep_zeros=keep_zeros,
    )


def evolve(
    steps: Steps,
    families: Sequence[str] = FAMILIES,
    loc: Union[str, float] = "free",
    zeros: str = "auto",
    gof: bool = True,
    nan: str = "error",
) -> dict:
    """Fitted parameters over steps and depth (``gradrd evolve``): one row
    per tensor and step, over ``{step: {name: array}}``. Returns the
    ``gradrd.evolve/1`` document."""
    return _fitting("evolve", steps, families, loc, zeros, gof, nan)


def dp(steps: Steps, **options: Any) -> dict:
    """The differential-privacy study of ``gradrd dp`` over
    ``{step: {name: array}}`` (options: ``clip``, ``sigmas``, ``k``,
    ``quant_step``, ``seed``, … as the spec's keys). Returns the
    ``gradrd.dp/1`` document."""
    return analyze("dp", steps, **options)


def _forwarded(name: str, doc: str) -> property:
    """A read-only attribute of the extension's codebook."""
    return property(lambda self: getattr(self._inner, name), doc=doc)


def rd(x: Optional[Array] = None, **options: Any) -> dict:
    """The rate-distortion function of a source (``gradrd rd``) by
    Blahut–Arimoto, its Shannon lower bound, and each quantizer's gap to it.
    The source is the ``family`` fit of ``x``, or — without ``x`` — the model
    ``family`` with ``params`` (scipy's names), studied on ``samples`` seeded
    draws. Options (defaults as the CLI's): ``family``, ``params``,
    ``samples``, ``loc``, ``nan``, ``m``, ``bits``, ``quantizers``, ``seed``,
    ``cells``, ``points``, ``iterations``. Returns the ``gradrd.rd/1``
    document."""
    return analyze("rd", x, **options)


def budget(steps: Steps, **options: Any) -> dict:
    """Total-error budgets over ``{step: {name: array}}`` (``gradrd
    budget``): hard threshold against top-k at an equal total budget
    (``k``, ``budget_unit``, ``positions``, ``feedback``, ``gamma``), and the
    per-tensor bit allocation under an average of ``bits_per_entry`` bits
    (``max_bits``, ``m``). ``k=None`` or ``bits_per_entry=None`` leaves that
    part out. Returns the ``gradrd.budget/1`` document."""
    return analyze("budget", steps, **options)


def ef(steps: Steps, **options: Any) -> dict:
    """Replays ``{step: {name: array}}`` through a compressor with error
    feedback (``gradrd ef``): ``p_t = g_t + e_t`` is compressed to ``C(p_t)``
    and ``e_{t+1} = p_t − C(p_t)`` is carried to the next step.

    Options (the flags of ``gradrd ef``): ``compressor`` (``"topk"``,
    ``"randk"``, ``"threshold"``, ``"cwmp"``, ``"codebook"``,
    ``"topk-codebook"``, ``"topk-float"``), ``k`` (fraction kept, in (0, 1],
    default 0.01), ``lambda`` (threshold λ ≥ 0 of ``"threshold"``), ``costs``
    and ``codebook`` (paths of the costs and codebook JSON files), ``float``
    (``"fp8-e4m3"``, ``"fp8-e5m2"``, ``"fp4-e2m1"``), ``unbiased`` (rand-k
    scaled by n/k), ``feedback`` (``"none"``, ``"full"``, ``"decay"``) with
    ``gamma`` (decay in [0, 1]), ``global`` (all tensors as one vector; pass
    it as ``**{"global": True}``), ``positions`` (``"index"`` or
    ``"entropy"``) and ``seed`` (of rand-k).

    Returns the ``gradrd.ef/1`` document: ``compressor``, ``feedback``,
    ``scope``, the ``parameters`` in use; ``steps`` (per step: ``sent``,
    ``bits``, ``error_sq`` = ‖p − C(p)‖², ``residual_norm`` = ‖e‖);
    ``tensors`` (per tensor totals, per-tensor scope only); ``total_sent``,
    ``total_entries``, ``total_bits``, ``value_bits`` (bits per value sent:
    the widest stored width), ``full_precision_bits`` (every entry at its
    stored width), ``full_precision_bits_per_entry``, ``reduction``
    (full precision over total bits), ``total_error`` and
    ``final_residual_norm``."""
    return analyze("ef", steps, **options)


def stale(steps: Steps, absent: Sequence[Union[int, str]], **options: Any) -> dict:
    """A client that misses rounds (``gradrd stale``): the :func:`ef` replay
    of ``{step: {name: array}}`` with the client away at the ``absent``
    steps (step numbers, or ranges ``"A..B"``, ``"..B"``, ``"A.."`` with
    both bounds inclusive). On its return the error-feedback memory is kept,
    reset, decayed by ``stale_gamma ** h`` (h = rounds missed; default 0.5)
    or reset when more than ``max_age`` rounds old (default 2). The other
    options are those of :func:`ef`.

    Returns the ``gradrd.stale/1`` document: ``compressor``,
    ``absent_steps``, ``stale_gamma``, ``max_age``, ``policies`` (per policy
    ``keep`` / ``reset`` / ``decay`` / ``reset-if-older``:
    ``rounds_present``, ``sent``, ``bits``, ``compression_error`` =
    Σ ‖p − C(p)‖² over the rounds present, ``discarded_error`` = the memory
    thrown away, ``total_error`` = their sum) and ``best`` (the policy with
    the smallest total error)."""
    return analyze("stale", steps, absent=list(absent), **options)


def cost(
    data: Union[None, Array, Mapping[str, Array], Steps] = None,
    params: Optional[float] = None,
    **options: Any,
) -> dict:
    """Bits per client and round of FedAvg, top-k, FP8/FP4 top-k, a dense
    codebook and prediction-space sharing (``gradrd cost``), and each one's
    reduction against FedAvg. The model size d is ``params`` (each at 32
    bits), or counted from ``data`` (its first step if it has steps), each
    tensor at its stored width (16 bits for bfloat16 and float16); only
    shapes and dtypes are used.

    Options: ``k`` (top-k fraction, default 0.01), ``codebook_bits``
    (default 3), ``reference_samples`` (default 1000), ``classes`` (default
    10), ``logit_bits`` (default 32).

    Returns the ``gradrd.cost/1`` document: ``parameters``,
    ``full_precision_bits_per_entry``, ``value_bits``, ``kept``,
    ``schemes`` (``scheme``, ``bits_per_client``, ``reduction``) and
    ``reference_samples_for_1100``."""
    if params is not None:
        options["params"] = float(params)
    return analyze("cost", data, **options)


class Codebook:
    """A scalar quantizer: ``L − 1`` thresholds and ``L`` centers in units of
    ``scale``. A value ``x`` falls in cell
    ``searchsorted(thresholds, x / scale, side="left")`` and decodes to
    ``centers[cell] * scale``. Made by :func:`design` or :func:`design_from`,
    read by :meth:`from_json` (the ``gradrd.codebook/1`` document of
    ``gradrd quantize design``)."""

    __slots__ = ("_inner", "_document")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._document: Optional[dict] = None

    @classmethod
    def from_json(cls, text: str) -> "Codebook":
        """Reads a ``gradrd.codebook/1`` document (validated)."""
        return cls(_gradrd._Codebook.from_json(text))

    def to_json(self) -> str:
        """The ``gradrd.codebook/1`` document, as the CLI writes it."""
        return self._inner.to_json()

    @property
    def document(self) -> dict:
        """The whole document: family, params, design info, nmse, note, …"""
        if self._document is None:
            self._document = json.loads(self.to_json())
        return self._document

    thresholds = _forwarded("thresholds", "The L − 1 thresholds (ascending), in units of scale.")
    centers = _forwarded("centers", "The L centers (ascending), in units of scale.")
    scale = _forwarded("scale", "The unit of thresholds and centers (the tensor's).")
    levels = _forwarded("levels", "The number of cells L.")
    m = _forwarded("m", "The weight exponent M the codebook was designed for.")
    zero_level = _forwarded("zero_level", "Whether a level sits at exactly 0.")

    @property
    def note(self) -> Optional[str]:
        """Why the fitted model was not used, or that the codebook is worse
        than sending zeros; ``None`` when there is nothing to say."""
        return self.document.get("note")

    def quantize(self, x: Array) -> np.ndarray:
        """The cell index (uint32) of every value, in ``x``'s shape."""
        indices = self._inner.quantize(*as_buffer(x))
        return indices.reshape(shape_of(x))

    def encode(self, x: Array) -> bytes:
        """The indices of ``x`` (flattened in C order) through gradrd's ANS
        entropy coder, header included: exactly the bits
        ``gradrd quantize eval`` counts, rounded up to whole bytes."""
        return self._inner.encode(*as_buffer(x))

    def decode(self, data: bytes, max_entries: int = 1 << 31) -> np.ndarray:
        """The values (float64, flat) that ``data`` from :meth:`encode`
        decodes to. A stream announcing more than ``max_entries`` values is
        refused before anything is allocated."""
        return self._inner.decode(bytes(data), int(max_entries))

    def evaluate(self, x: Array, m: Optional[float] = None, nan: str = "error") -> dict:
        """``gradrd quantize eval``'s measures on ``x``: ``n``,
        ``zero_fraction``, ``levels``, ``m``, ``mse``, ``distortion``
        (M-weighted), ``nmse``, ``fixed_bits``, ``entropy_bits``,
        ``coded_bits`` (bits per entry), and a ``note`` when the codebook is
        worse than sending zeros."""
        measured = json.loads(self._inner.evaluate(*as_buffer(x), m=m, nan=nan))
        del measured["tensor"], measured["step"]
        return measured

    def __repr__(self) -> str:
        return repr(self._inner)


def design(
    family: str,
    params: Mapping[str, float],
    bits: Optional[int] = None,
    m: float = 0.0,
    zero_level: bool = False,
    levels: Optional[int] = None,
) -> Codebook:
    """The M-weighted Lloyd-Max codebook of a model
    (``gradrd quantize design --family F --param …``): minimizes
    ``E[|X|^M (X − Q(X))²]``. ``params`` are scipy's names (``beta``,
    ``c``, ``loc``, ``scale``; loc defaults to 0, scale to 1); ``bits``
    gives ``2^bits`` levels (default 3 bits), or give ``levels``."""
    return Codebook(
        _gradrd.design(family, dict(params), bits=bits, levels=levels, m=m, zero_level=zero_level)
    )


def design_from(
    x: Array,
    bits: Optional[int] = None,
    m: float = 0.0,
    empirical: bool = False,
    family: str = "gennorm",
    zero_level: str = "auto",
    zeros: Optional[str] = None,
    nan: str = "error",
    loc: Union[str, float] = "free",
    levels: Optional[int] = None,
) -> Codebook:
    """The codebook of a tensor (``gradrd quantize design --from``): on its
    maximum-likelihood ``family`` fit, or on the values themselves when
    ``empirical``. A fit that is useless as a model falls back to the
    empirical design and the codebook's :attr:`Codebook.note` says so;
    ``zero_level="auto"`` reserves a level at 0 when that lowers the MSE
    on the tensor as sent."""
    return Codebook(
        _gradrd.design_from(
            *as_buffer(x),
            bits=bits,
            levels=levels,
            m=m,
            empirical=empirical,
            family=family,
            zero_level=zero_level,
            zeros=zeros,
            nan=nan,
            loc=str(loc),
        )
    )


def read(
    path: Union[str, "os.PathLike[str]"], errors: str = "warn"
) -> Iterator[Tuple[str, Optional[int], np.ndarray]]:
    """``(name, step, array)`` for every tensor of a dump (a file or a
    folder: safetensors, .npy/.npz, torch.save, DCP, Hugging Face shards,
    Parquet/CSV), in ``(step, name)`` order, one tensor in memory at a time,
    as float64 in the tensor's shape.

    A tensor or file that cannot be read is reported — ``errors="warn"``
    (a :class:`GradrdWarning`), ``"raise"`` (a :class:`ReadError`; the
    iteration ends) or ``"skip"`` — and the others go on.
    """
    if errors not in ("warn", "raise", "skip"):
        raise OptionError(f"errors: expected warn, raise or skip, got {errors!r}", "errors")
    reader = _gradrd._Reader(os.fspath(path))

    def report(message: str) -> None:
        if errors == "raise":
            raise ReadError(message)
        if errors == "warn":
            warnings.warn(message, GradrdWarning, stacklevel=3)

    for message in reader.take_unopened():
        report(message)
    while True:
        try:
            item = reader.read_next()
        except ReadError as error:
            report(str(error))
            continue
        if item is None:
            return
        yield item


def run(spec: Union[str, "os.PathLike[str]"], reports: Union[str, "os.PathLike[str]"] = "reports") -> dict:
    """Renders the TOML analysis spec ``spec`` into ``reports/<name>/``
    (``gradrd run SPEC --reports DIR``); returns ``folder``, ``files``,
    ``notes`` and ``failures`` (one line each; failures are tensors or
    settings that failed while the rest went on)."""
    folder, files, notes, failures = _gradrd.render_report(os.fspath(spec), os.fspath(reports))
    return {"folder": folder, "files": files, "notes": notes, "failures": failures}
