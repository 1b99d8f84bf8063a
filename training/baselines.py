"""Baselines measured beside the model on the same split: majority class, guide lexicon, TF-IDF + LR."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from model.labels import LABEL2ID

# The code words of the annotation guide (rules 2, 3, 8 and the label table), nothing tuned on data.
HOSTILE_CUES = (
    "serious concern", "firmly oppose", "resolutely", "strongly urge", "full responsibility",
    "stop interfering", "condemn", "threat", "warn", "accuse", "reject", "demand", "protest",
    "sanction", "tariff", "countermeasure", "retaliat", "provocation", "expel", "will not hesitate",
    "respond in kind", "interfer", "violation", "unacceptable", "urge", "must stop", "never accept",
)
CONCILIATORY_CUES = (
    "constructive", "positive", "productive", "mutual respect", "win-win", "close communication",
    "close contact", "welcome", "agree", "cooperat", "dialogue", "ready to", "look forward",
    "progress", "calm", "do not seek confrontation", "partnership", "friendship", "thank",
    "as agreed", "accepted the invitation", "door to dialogue",
)


def lexicon_predict(texts: list[str]) -> np.ndarray:
    """Count guide cues; the side with more wins, ties (including none) are neutral."""
    out = []
    for text in texts:
        low = text.lower()
        h = sum(len(re.findall(re.escape(c), low)) for c in HOSTILE_CUES)
        c = sum(len(re.findall(re.escape(c), low)) for c in CONCILIATORY_CUES)
        out.append(LABEL2ID["hostile"] if h > c else LABEL2ID["conciliatory"] if c > h
                   else LABEL2ID["neutral"])
    return np.array(out)


def majority_predict(train_labels: list[int], n: int) -> np.ndarray:
    return np.full(n, Counter(train_labels).most_common(1)[0][0])


def tfidf_lr(train_texts: list[str], train_labels: list[int], seed: int = 0):
    """TF-IDF (word 1-2 grams) + logistic regression, fitted on the train split."""
    clf = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0, random_state=seed),
    )
    return clf.fit(train_texts, train_labels)
