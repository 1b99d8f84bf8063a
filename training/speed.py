"""Where a training run's minutes go: time the real training step under a few config variants.

Run: ``python -m training.speed --rows 5120``. Each variant trains a fresh copy of the base model on the
same first ``rows`` train texts for one pass (``train.train_step`` on ``batching.batches``, as
``detente train`` does) and reports seconds and padded tokens per row. The variants add this project's
speed-ups one at a time, from the settings before them to the default config, so each one's share shows.
The machine's speed drifts by a tenth or more from minute to minute, more than the last speed-ups are
worth, so ``--rounds N`` runs every chosen variant once a round, N rounds interleaved, and reports each
one's median (``--variants 3 4`` picks variants by their place in the table, from 0).
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import torch
from transformers import AutoTokenizer

from .batching import batches
from .config import TrainConfig
from .train import (base_model_path, build_network, load_train, make_optimizer, resolve_precision,
                    token_lengths, train_step)

# The settings before the speed-ups; each later variant takes one more of them back to the default
# ("fused" is the optimizer's kernel, passed to make_optimizer rather than set in TrainConfig).
BEFORE = {"fused": False, "length_noise": 0.3, "freeze_embeddings": False, "fast_dropout": False}
STEPS = [("before (loop AdamW, length noise 0.3)", None), ("+ fused AdamW", "fused"),
         ("+ length noise 0.05", "length_noise"), ("+ word embeddings frozen", "freeze_embeddings"),
         ("+ dropout masks from 16-bit slices (default)", "fast_dropout")]


def _variants() -> dict[str, tuple[dict, bool]]:
    """name -> (TrainConfig changes, fused optimizer), cumulative; the last is the default config."""
    out, left = {}, dict(BEFORE)
    for name, undone in STEPS:
        left.pop(undone, None)
        changes = {k: v for k, v in left.items() if k != "fused"}
        out[name] = (changes, left.get("fused", True))
    return out


VARIANTS = _variants()


def time_variant(config: TrainConfig, rows: int, fused: bool = True) -> dict:
    """One pass over the first ``rows`` shuffled train texts; seconds, steps and padded tokens per row.

    Example:
        >>> time_variant(TrainConfig(), rows=640)["seconds"]  # doctest: +SKIP
        9.1
    """
    config = resolve_precision(dataclasses.replace(config, max_train_samples=rows))
    torch.manual_seed(config.seed)
    ds = load_train(config)
    tokenizer = AutoTokenizer.from_pretrained(base_model_path(config), local_files_only=True)
    lengths = token_lengths(tokenizer, ds, config)
    network = build_network(config)
    network.train()
    optim = make_optimizer(network, config, fused)
    loss_fn = torch.nn.CrossEntropyLoss()
    steps, tokens, start = 0, 0, time.perf_counter()
    for batch in batches(ds, tokenizer, config, np.random.default_rng(config.seed), lengths):
        train_step(network, batch, loss_fn, optim, config)
        steps, tokens = steps + 1, tokens + batch[0]["input_ids"].numel()
    return {"seconds": round(time.perf_counter() - start, 1), "steps": steps, "rows": len(ds),
            "padded_tokens_per_row": round(tokens / len(ds), 1),
            "real_tokens_per_row": round(float(np.mean(lengths)), 1)}


def main(argv: list[str] | None = None) -> dict:
    import argparse

    parser = argparse.ArgumentParser(description="time the training step under config variants")
    parser.add_argument("--rows", type=int, default=5120)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; medians reported")
    parser.add_argument("--variants", type=int, nargs="+", help="places in the table (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--base-model", help="base model folder (default: all-MiniLM-L6-v2 package)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = TrainConfig(data_dir=args.data_dir, base_model=args.base_model)
    names = list(VARIANTS)
    chosen = [names[i] for i in args.variants] if args.variants else names
    runs: dict[str, list[dict]] = {name: [] for name in chosen}
    for round_ in range(1, args.rounds + 1):
        for name in chosen:
            changes, fused = VARIANTS[name]
            r = time_variant(dataclasses.replace(base, **changes), args.rows, fused)
            runs[name].append(r)
            print(f"round {round_}  {name:46s} {r['seconds']:7.1f} s  "
                  f"{r['padded_tokens_per_row']:5.1f} padded tokens/row", flush=True)
    report = {name: {**rs[0], "seconds": float(np.median([r["seconds"] for r in rs])),
                     "seconds_each_round": [r["seconds"] for r in rs]} for name, rs in runs.items()}
    print(json.dumps({"threads": args.threads, "rounds": args.rounds, **report}, indent=2))
    return report


if __name__ == "__main__":
    main()
