"""Average the weights of runs that differ only in their seed (a "model soup") into one model.

Runs fine-tuned from the same base with the same recipe stay close enough in weight space that their
plain average is itself a model, and usually a better one than its members (Wortsman et al. 2022,
"Model soups"). Unlike an ensemble it is still one network, so scoring costs nothing extra. The average
is taken in fp32 over the members' saved weights, then calibrated, gated and saved exactly as a trained
run is (``train.finish``), so the soup folder is an ordinary model folder.

Run: ``detente train --soup 4`` (trains seeds SEED..SEED+3 into ``OUT/members/`` and averages them), or
``python -m training.soup --out runs/soup runs/s15 runs/s16 runs/s17 runs/s18`` over finished runs.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from model.loader import load_network, read_meta

from .config import TrainConfig
from .data import load_split
from .train import finish

# fields that may differ between members: everything else must match, or the average mixes recipes
FREE_FIELDS = {"seed", "output_dir", "threads", "soup"}


def member_configs(folders: list[Path]) -> list[TrainConfig]:
    """The members' saved configs; raises ``ValueError`` unless they differ only in seed (and paths).

    Example:
        >>> member_configs([Path("runs/s15"), Path("runs/s16")])  # doctest: +SKIP
    """
    if len(folders) < 2:
        raise ValueError("a soup needs at least two member runs")
    configs = [TrainConfig.load(f) for f in folders]
    first = dataclasses.asdict(configs[0])
    for folder, config in zip(folders[1:], configs[1:]):
        diff = sorted(k for k, v in dataclasses.asdict(config).items()
                      if k not in FREE_FIELDS and v != first[k])
        if diff:
            raise ValueError(f"{folder} differs from {folders[0]} in {diff}: only the seed may differ")
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"members share a seed: {seeds}")
    return configs


def average_weights(folders: list[Path]) -> dict[str, torch.Tensor]:
    """The fp32 mean of every tensor in the members' ``model.safetensors``."""
    total: dict[str, torch.Tensor] = {}
    for folder in folders:
        state = load_file(str(folder / "model.safetensors"))
        if total and state.keys() != total.keys():
            raise ValueError(f"{folder} holds different tensors from {folders[0]}")
        for name, tensor in state.items():
            total[name] = total.get(name, 0) + tensor.float()
    return {name: tensor / len(folders) for name, tensor in total.items()}


def soup(folders: list[str | Path], out: str | Path, data_dir: str = "data") -> dict:
    """Average the member runs into ``out``, calibrate and gate it on dev, and save it. Returns the metadata.

    ``detente.json`` records each member's seed and dev macro-F1 under ``soup``; ``train_seconds`` is the
    members' training time plus the averaging.

    Example:
        >>> soup(["runs/s15", "runs/s16"], "runs/soup")["soup"]["seeds"]  # doctest: +SKIP
        [15, 16]
    """
    t0 = time.time()
    folders = [Path(f) for f in folders]
    configs = member_configs(folders)
    metas = [read_meta(f) for f in folders]
    config = dataclasses.replace(configs[0], output_dir=str(out), soup=len(folders))
    network = load_network(folders[0], metas[0])
    network.load_state_dict(average_weights(folders))
    network.eval()
    tokenizer = AutoTokenizer.from_pretrained(folders[0], local_files_only=True, trust_remote_code=False)
    dev_ds = load_split(data_dir, "dev", with_contrast=True)
    members = [{"run": str(f), "seed": c.seed, "dev_macro_f1": m["dev_macro_f1"],
                "epochs_run": len(m["history"]), "train_seconds": m["train_seconds"],
                "guide_gate_passed": m.get("guide_gate", {}).get("passed")}
               for f, c, m in zip(folders, configs, metas)]
    history = [{"member_seed": c.seed, **h} for c, m in zip(configs, metas) for h in m["history"]]
    members_seconds = sum(m["train_seconds"] for m in metas)
    extra = {"soup": {"seeds": [c.seed for c in configs], "members": members}}
    return finish(network, tokenizer, dev_ds, config, history, t0 - members_seconds, extra=extra)


if __name__ == "__main__":
    import argparse
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description="average finished runs that differ only in seed")
    parser.add_argument("members", nargs="+", help="model folders written by detente train")
    parser.add_argument("--out", required=True, help="folder for the averaged model")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    meta = soup(args.members, args.out, args.data_dir)
    print(json.dumps({k: meta[k] for k in ("soup", "dev_macro_f1", "guide_gate", "train_seconds")},
                     indent=2))
