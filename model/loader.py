"""Load a fine-tuned detente model from a local folder (the bundled one by default).

A model folder is a ``save_pretrained`` folder (safetensors weights, tokenizer, config with the label map)
plus ``detente.json``: format version, head, temperature, the top-label confidence map, maximum length
and the results of the fast paths' accuracy gates. Nothing is ever fetched from a hub: loading uses local
files only.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as hf_logging
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from .heads import network_class
from .labels import LABELS

FORMAT_VERSION = 1
META_FILE = "detente.json"
BUNDLED = ("default",)
PRECISIONS = ("auto", "fp32", "bf16", "int8")
FAST_PATHS = ("int8", "bf16")  # tried in this order by "auto"; each needs its saved dev gate passed


@dataclass(frozen=True)
class Classifier:
    """A loaded model ready for :func:`model.predict`: network, tokenizer and its saved settings."""

    network: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    path: Path
    precision: str
    temperature: float = 1.0
    max_length: int = 128
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    # (xs, ys) of the top-label confidence map fitted on dev after the temperature; None: softmax only
    confidence_map: tuple[tuple[float, ...], tuple[float, ...]] | None = None


def bundled_path(name: str = "default") -> Path:
    """Path of a model shipped inside the package, found with importlib.resources."""
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled model {name!r}; known: {', '.join(BUNDLED)}")
    return Path(str(resources.files("model") / name))


def resolve_path(name_or_path: str | os.PathLike | None) -> Path:
    """Turn ``None``, a bundled model's name or a folder into a folder path, or fail clearly."""
    if name_or_path is None:
        return bundled_path()
    if str(name_or_path) in BUNDLED:
        return bundled_path(str(name_or_path))
    path = Path(name_or_path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"no model folder at {path}; pass a folder made by `detente train` "
            f"or one of the bundled models: {', '.join(BUNDLED)}"
        )
    return path


def read_meta(path: Path) -> dict[str, Any]:
    """The folder's detente.json, or defaults for a plain transformers classifier folder."""
    meta_file = path / META_FILE
    if not meta_file.exists():
        return {"format_version": FORMAT_VERSION, "head": "cls", "temperature": 1.0}
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was saved by a newer detente (format {meta['format_version']})")
    return meta


def load_model(
    name_or_path: str | os.PathLike | None = None,
    *,
    precision: str = "auto",
    threads: int | None = None,
) -> Classifier:
    """Load a classifier from a local folder; cached, so repeated calls return the same object.

    Args:
        name_or_path: ``None`` or ``"default"`` for the bundled model, or a model folder.
        precision: ``"fp32"``; ``"bf16"`` (bfloat16 weights and activations, fast on CPUs with native
            bf16); ``"int8"`` (dynamic quantization of the linear layers); or ``"auto"``: the first
            fast path whose saved dev accuracy gate passed (and, for bf16, that this CPU runs
            natively), else fp32.
        threads: torch intra-op threads; ``None`` keeps torch's setting.

    Returns:
        A :class:`Classifier`.

    Raises:
        FileNotFoundError: the folder is missing or holds no ``model.safetensors``.
        ValueError: unknown bundled name or precision.

    Example:
        >>> clf = load_model()  # doctest: +SKIP
        >>> clf.precision  # doctest: +SKIP
        'bf16'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if threads is not None:
        torch.set_num_threads(threads)
    path = resolve_path(name_or_path).resolve()
    clf = _load(path, precision, _stamp(path))
    # warned here, not inside the cached loader, so every caller who asks for an uncleared path hears it
    if precision not in ("auto", "fp32") and not _allowed(precision, clf.meta):
        warnings.warn(f"{precision} was not cleared by this model's accuracy gate (or this CPU lacks "
                      "native support); labels may differ from fp32 or run slower")
    return clf


def _stamp(path: Path) -> tuple[float, ...]:
    """Modification times of the files that define a model, so a changed folder is reloaded."""
    return tuple(p.stat().st_mtime_ns for p in (path / "model.safetensors", path / META_FILE)
                 if p.exists())


@lru_cache(maxsize=8)
def _load(path: Path, precision: str, stamp: tuple) -> Classifier:
    meta = read_meta(path)
    network = load_network(path, meta)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    labels = tuple(network.config.id2label[i] for i in range(network.config.num_labels))
    if labels != LABELS:
        raise ValueError(f"{path} predicts {labels}, expected {LABELS}")
    network.eval()
    chosen = _choose_precision(precision, meta)
    network = convert(network, chosen)
    return Classifier(
        network=network,
        tokenizer=tokenizer,
        path=path,
        precision=chosen,
        temperature=float(meta.get("temperature", 1.0)),
        max_length=int(meta.get("max_length", 128)),
        meta=meta,
        confidence_map=parse_confidence_map(meta.get("confidence_map")),
    )


def load_network(path: Path, meta: dict[str, Any] | None = None) -> torch.nn.Module:
    """The folder's network in fp32, built by the class its head needs; safetensors only.

    Example:
        >>> load_network(bundled_path()).config.num_labels  # doctest: +SKIP
        3
    """
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(
            f"{path} holds no model.safetensors; only safetensors weights are loaded "
            "(pickled .bin checkpoints are refused)"
        )
    meta = read_meta(path) if meta is None else meta
    hf_logging.disable_progress_bar()
    return network_class(meta.get("head", "cls")).from_pretrained(
        path, local_files_only=True, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
    )


def parse_confidence_map(saved: dict[str, Any] | None) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """A saved top-label confidence map (``detente.json``'s ``confidence_map``: ``x``, ``y``) as the
    ``(xs, ys)`` a :class:`Classifier` carries; None when there is none."""
    if not saved:
        return None
    xs, ys = tuple(float(v) for v in saved["x"]), tuple(float(v) for v in saved["y"])
    if len(xs) != len(ys) or len(xs) < 2 or any(b < a for a, b in zip(xs, xs[1:])):
        raise ValueError("detente.json: confidence_map needs two or more increasing x values, one y each")
    return xs, ys


def _allowed(path: str, meta: dict[str, Any]) -> bool:
    """A fast path is cleared when its saved dev gate passed (and, for bf16, the CPU has it natively)."""
    passed = bool(meta.get(f"{path}_gate", {}).get("passed", False))
    return passed and (path != "bf16" or native_bf16())


def _choose_precision(precision: str, meta: dict[str, Any]) -> str:
    if precision == "auto":
        return next((p for p in FAST_PATHS if _allowed(p, meta)), "fp32")
    return precision


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); emulated bf16 is slow."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def convert(network: torch.nn.Module, precision: str) -> torch.nn.Module:
    """The fp32 network in the given precision (a converted copy for bf16 and int8)."""
    if precision == "int8":
        return quantize_int8(network)
    if precision == "bf16":
        import copy

        return copy.deepcopy(network).to(torch.bfloat16)
    return network


def quantize_int8(network: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantization of every Linear layer (weights int8, activations quantized per batch)."""
    from torch.ao.quantization import quantize_dynamic

    logging.getLogger("torch").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # torch marks eager quantization deprecated in favour of torchao, which is not a dependency here.
        warnings.simplefilter("ignore")
        return quantize_dynamic(network, {torch.nn.Linear}, dtype=torch.qint8)
