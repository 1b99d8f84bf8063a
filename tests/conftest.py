"""Shared fixtures: a tiny random BERT built on the spot (no download) and a tiny corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from model.labels import LABEL2ID, LABELS  # noqa: E402

TINY_MAX_LENGTH = 24

TINY_CORPUS = {
    "conciliatory": ["we welcome the agreement", "the talks were constructive and productive",
                     "we are ready to cooperate", "both sides agreed to keep in close contact",
                     "the door to dialogue remains open", "we look forward to the visit"],
    "neutral": ["the meeting will take place on thursday", "we have no information on that",
                "the delegation arrived this morning", "details will be released in due course",
                "the minister will travel to seoul", "the figures were published today"],
    "hostile": ["we strongly condemn the provocation", "we will impose a tariff of 100 percent",
                "china firmly opposes this and will take countermeasures",
                "they bear full responsibility", "stop interfering in our internal affairs",
                "we will not hesitate to respond"],
}


def _vocab() -> list[str]:
    words = sorted({w for texts in TINY_CORPUS.values() for t in texts for w in t.split()})
    extra = ["the", "a", "of", "to", "and", "in", "on", "is", "not", "no", "we", "they", "it",
             "2025", "10", "-", ".", ",", "'", '"', "!", "?", ":", "%"]
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    pieces = [f"##{c}" for c in letters]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(words + extra + letters),
            *pieces]


def build_tiny_model(folder: Path, head: str = "cls") -> Path:
    """A 2-layer, hidden-32 BERT with random weights and a small WordPiece vocabulary."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from model.heads import BertMeanPoolClassifier

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 512
    config = BertConfig(vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        # attention dropout draws through torch's bernoulli_, whose random stream differs
                        # between CPU vendors (MKL's on Intel); without it the tiny model trains the same
                        # everywhere (its other dropouts draw through random_)
                        attention_probs_dropout_prob=0.0,
                        num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID)
    torch.manual_seed(0)
    cls = BertMeanPoolClassifier if head == "mean" else BertForSequenceClassification
    cls(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    meta = {"format_version": 1, "head": head, "temperature": 1.0, "max_length": TINY_MAX_LENGTH,
            "int8_gate": {"passed": False}}
    (folder / "detente.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_clf(tiny_model_dir):
    from model.loader import load_model

    return load_model(tiny_model_dir, precision="fp32")


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """The tiny corpus in the real corpus format, every statement in train, dev and test."""
    folder = tmp_path_factory.mktemp("tinydata")
    rows, pairs = [], []
    for split in ("train", "dev", "test"):
        for label, texts in TINY_CORPUS.items():
            for i, text in enumerate(texts):
                rows.append({"id": f"{split}-{label}-{i}", "text": text, "label": label,
                             "difficulty": "easy", "rule": None, "group": f"g-{label}-{i}",
                             "split": split})
        pairs.append({"pair_id": f"p-{split}", "text_a": "we welcome the agreement",
                      "label_a": "conciliatory", "text_b": "we strongly condemn the agreement",
                      "label_b": "hostile", "edit": "other", "rule": "2", "group": f"p-{split}",
                      "split": split})
    (folder / "statements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "contrast.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pairs))
    return folder
