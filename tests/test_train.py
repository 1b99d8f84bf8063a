"""Training mechanics on the tiny BERT: overfit, save/reload round trip, determinism, calibration."""

import json

import numpy as np
import torch
import pytest

from model import load_model, predict
from training.calibrate import expected_calibration_error, fit_temperature
from training.config import TrainConfig
from training.train import train

from conftest import TINY_CORPUS


def _config(tiny_model_dir, tiny_data_dir, out, **kw):
    base = dict(base_model=str(tiny_model_dir), data_dir=str(tiny_data_dir), output_dir=str(out),
                # at lr 3e-3 the random tiny model could stick on two labels, depending on the seed;
                # 1e-3 for 40 epochs learns all three steadily
                epochs=40, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, patience=40,
                max_length=24, save_fp16=False, threads=1,
                train_precision="fp32",  # "auto" trains in bf16 only on CPUs that have it natively
                contrast_repeats=2,  # the random tiny model needs the extra steps to overfit
                freeze_embeddings=False)  # and its random word embeddings must train to separate words
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    meta = train(_config(tiny_model_dir, tiny_data_dir, out))
    return out, meta


def test_overfits_tiny_corpus(trained):
    out, meta = trained
    clf = load_model(out, precision="fp32")
    texts = [t for ts in TINY_CORPUS.values() for t in ts]
    gold = [lab for lab, ts in TINY_CORPUS.items() for _ in ts]
    pred = [p.label for p in predict(texts, model=clf)]
    assert np.mean([p == g for p, g in zip(pred, gold)]) >= 0.9
    assert meta["dev_macro_f1"] >= 0.9


def test_folder_is_self_describing(trained):
    out, meta = trained
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "training_config.json", "detente.json"} <= names
    assert not any(n.endswith(".bin") for n in names)
    saved = json.loads((out / "detente.json").read_text())
    assert saved["labels"] == ["conciliatory", "neutral", "hostile"]
    assert saved["temperature"] > 0
    assert "passed" in saved["int8_gate"] and "passed" in saved["bf16_gate"]
    assert TrainConfig.load(out).epochs == 40
    assert TrainConfig.load(out).train_precision == "fp32"
    # the corpus it learned from: a digest per file and the statements per split
    from training.data import fingerprint

    assert saved["corpus"] == fingerprint(TrainConfig.load(out).data_dir)
    assert len(saved["corpus"]["sha256"]["statements.jsonl"]) == 16
    assert sum(saved["corpus"]["statements_per_split"].values()) > 0


def test_save_reload_identical(trained):
    out, _ = trained
    texts = ["we welcome the agreement", "stop interfering"]
    a = predict(texts, model=load_model(out, precision="fp32"))
    from model.loader import _load

    _load.cache_clear()
    b = predict(texts, model=load_model(out, precision="fp32"))
    assert [x.scores for x in a] == [y.scores for y in b]


def test_deterministic_for_a_seed(tiny_model_dir, tiny_data_dir, tmp_path):
    metas = [train(_config(tiny_model_dir, tiny_data_dir, tmp_path / str(i), epochs=2))
             for i in range(2)]
    assert metas[0]["history"][-1]["train_loss"] == metas[1]["history"][-1]["train_loss"]


def test_mean_head_trains(tiny_model_dir, tiny_data_dir, tmp_path):
    meta = train(_config(tiny_model_dir, tiny_data_dir, tmp_path, epochs=1, head="mean"))
    assert meta["head"] == "mean"
    assert load_model(tmp_path, precision="fp32").network.__class__.__name__ == "BertMeanPoolClassifier"


def test_pair_batches_and_both_precisions_train(tiny_model_dir, tiny_data_dir, tmp_path):
    for precision in ("fp32", "bf16"):
        meta = train(_config(tiny_model_dir, tiny_data_dir, tmp_path / precision, epochs=1,
                             pair_batches=True, train_precision=precision))
        assert np.isfinite(meta["history"][0]["train_loss"])
        assert TrainConfig.load(tmp_path / precision).train_precision == precision


def test_frozen_embeddings_stay_as_the_base_has_them(tiny_model_dir, tiny_data_dir, tmp_path):
    from safetensors.torch import load_file

    meta = train(_config(tiny_model_dir, tiny_data_dir, tmp_path, epochs=1, head="mean",
                         freeze_embeddings=True))
    assert np.isfinite(meta["history"][0]["train_loss"])
    key = "bert.embeddings.word_embeddings.weight"
    base, tuned = load_file(tiny_model_dir / "model.safetensors"), load_file(tmp_path / "model.safetensors")
    assert torch.equal(base[key], tuned[key])
    # the rest of the network did train
    assert not torch.equal(base["bert.embeddings.position_embeddings.weight"],
                           tuned["bert.embeddings.position_embeddings.weight"])


def test_config_validates():
    with pytest.raises(ValueError):
        TrainConfig(length_noise=1.0)
    with pytest.raises(ValueError):
        TrainConfig(train_precision="fp16")
    with pytest.raises(ValueError):
        TrainConfig(head="max")
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)


def test_temperature_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), labels] += 1.0
    logits *= 8  # far too confident for 1-point margins
    t = fit_temperature(logits, labels)
    assert t > 2
    p_raw = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p_cal = np.exp(logits / t) / np.exp(logits / t).sum(1, keepdims=True)
    assert expected_calibration_error(p_cal, labels) < expected_calibration_error(p_raw, labels)


def test_ece_known_answer():
    probs = np.array([[0.9, 0.05, 0.05]] * 10)
    labels = np.array([0] * 9 + [1])  # 90% confident, 90% right
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-9)


def test_refit_rewrites_calibration_and_gates(trained):
    from training.train import refit

    out, meta = trained
    again = refit(out, str(TrainConfig.load(out).data_dir))
    assert again["temperature"] == pytest.approx(meta["temperature"], rel=1e-3)
    assert set(again) >= {"int8_gate", "bf16_gate", "history"}


def test_saved_dev_f1_matches_the_saved_model(trained):
    # calibrate_and_gate derives dev macro-F1 from one pass of raw logits; the folder it writes must
    # give the same figure through predict_proba (temperature and confidence map as loaded)
    from sklearn.metrics import f1_score

    from model.predict import predict_proba
    from training.data import load_split

    out, meta = trained
    dev = load_split(str(TrainConfig.load(out).data_dir), "dev", with_contrast=True)
    clf = load_model(out, precision="fp32")
    probs, _ = predict_proba(list(dev["text"]), model=clf)
    f1 = f1_score(list(dev["labels"]), probs.argmax(1), average="macro")
    assert f1 == pytest.approx(meta["dev_macro_f1"], abs=1e-9)
    # and detente evaluate on dev reports the same figure, so a retrain and the bundled model can be
    # compared on the selection metric with a command
    from training.evaluate import evaluate

    report = evaluate(str(out), str(TrainConfig.load(out).data_dir), "dev")
    assert report["statements_and_pair_sides_macro_f1"] == pytest.approx(meta["dev_macro_f1"], abs=1e-9)


def test_length_buckets_cover_every_row_once_and_cut_padding():
    from training.batching import batch_order

    rng = np.random.default_rng(0)
    lengths = list(rng.integers(5, 120, size=1000))
    order = batch_order(lengths, 16, np.random.default_rng(1))
    flat = np.concatenate(order)
    assert sorted(flat.tolist()) == list(range(1000))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in order)
    shuffled = np.random.default_rng(1).permutation(1000)
    padded_random = sum(16 * max(lengths[i] for i in shuffled[s:s + 16]) for s in range(0, 1000, 16))
    assert padded < 0.75 * padded_random
    # batches are shuffled across the length range, not served shortest first
    firsts = [max(lengths[i] for i in b) for b in order[:10]]
    assert firsts != sorted(firsts)
    # less noise on the sort key, less padding; and still new batches each epoch
    noisy = batch_order(lengths, 16, np.random.default_rng(1), noise=0.3)
    assert padded < sum(len(b) * max(lengths[i] for i in b) for b in noisy)
    again = batch_order(lengths, 16, np.random.default_rng(2))
    assert {frozenset(b.tolist()) for b in order} != {frozenset(b.tolist()) for b in again}


def test_pair_batches_keep_both_sides_together():
    from training.batching import batch_order

    rng = np.random.default_rng(0)
    lengths = list(rng.integers(5, 120, size=600))
    # rows 0-399 lone statements, rows 400-599 are 100 pairs: (400, 401), (402, 403), ...
    pairs = [-1] * 400 + [i // 2 for i in range(200)]
    order = batch_order(lengths, 16, np.random.default_rng(1), pairs)
    assert sorted(np.concatenate(order).tolist()) == list(range(600))
    assert all(len(b) <= 16 for b in order)
    where = {int(i): n for n, b in enumerate(order) for i in b}
    assert all(where[400 + 2 * k] == where[401 + 2 * k] for k in range(100))
    # without pair numbers the sides scatter, so the check above is not trivially true
    loose = batch_order(lengths, 16, np.random.default_rng(1))
    where = {int(i): n for n, b in enumerate(loose) for i in b}
    assert sum(where[400 + 2 * k] == where[401 + 2 * k] for k in range(100)) < 50


def test_pair_accuracy_known_answer():
    from datasets import Dataset

    from training.evaluate import pair_accuracy

    pairs = Dataset.from_dict({
        "text_a": ["a1", "a2", "a3"], "label_a": ["conciliatory", "neutral", "hostile"],
        "text_b": ["b1", "b2", "b3"], "label_b": ["hostile", "hostile", "neutral"],
        "edit": ["negation", "negation", "other"], "batch": ["b9", "b30", "b30"]})
    guess = {"a1": 0, "b1": 2, "a2": 1, "b2": 1, "a3": 2, "b3": 1}  # the second pair's b side is wrong
    out = pair_accuracy(lambda texts: [guess[t] for t in texts], pairs)
    assert out["pair_accuracy"] == pytest.approx(2 / 3) and out["side_accuracy"] == pytest.approx(5 / 6)
    assert out["by_edit"] == {"negation": 0.5, "other": 1.0}
    assert (out["missed"], out["missed_same_label"]) == (1, 1)  # "neutral" for both sides of pair 2
    assert out["by_batch"] == {"b9": {"n": 1, "pair_accuracy": 1.0}, "b30": {"n": 2, "pair_accuracy": 0.5}}


@pytest.mark.parametrize("class_weight", [None, torch.tensor([1.0, 2.5, 0.5])])
def test_contrast_weight_equals_repeating_the_row(class_weight):
    # a loss weight of 2 on a row must equal seeing that row twice in the batch
    from training.losses import weighted_loss

    torch.manual_seed(0)
    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    fn = torch.nn.CrossEntropyLoss(weight=class_weight)
    doubled = fn(torch.cat([logits, logits[3:4]]), torch.cat([labels, labels[3:4]]))
    weights = torch.tensor([1.0, 1.0, 1.0, 2.0, 1.0])
    assert weighted_loss(logits, labels, weights, fn).item() == pytest.approx(doubled.item(), rel=1e-6)


def test_contrast_weight_trains_and_is_saved(tiny_model_dir, tiny_data_dir, tmp_path):
    meta = train(_config(tiny_model_dir, tiny_data_dir, tmp_path, epochs=2, contrast_weight=2.0))
    assert len(meta["history"]) == 2 and np.isfinite(meta["history"][-1]["train_loss"])
    assert TrainConfig.load(tmp_path).contrast_weight == 2.0
    with pytest.raises(ValueError, match="contrast_weight"):
        TrainConfig(contrast_weight=0)


def test_guide_gate_is_recorded_and_guards_install(trained, tmp_path):
    from training.card import install

    out, meta = trained
    # the tiny corpus has no guide file: the gate is recorded and passes trivially
    assert meta["guide_gate"] == {"passed": True, "n": 0}
    assert json.loads((out / "detente.json").read_text())["guide_gate"]["passed"] is True
    text = TINY_CORPUS["hostile"][0]
    clf = load_model(out, precision="fp32")
    right = predict(text, model=clf).label
    wrong = next(lab for lab in TINY_CORPUS if lab != right)
    data = tmp_path / "data"
    data.mkdir()
    (data / "guide_examples.jsonl").write_text(json.dumps({"text": text, "label": right}) + "\n")
    install(out, tmp_path / "ok", str(data))
    assert (tmp_path / "ok" / "model.safetensors").exists()
    (data / "guide_examples.jsonl").write_text(json.dumps({"text": text, "label": wrong}) + "\n")
    with pytest.raises(SystemExit, match="1 of the guide's 1 examples wrong"):
        install(out, tmp_path / "refused", str(data))
    assert not (tmp_path / "refused").exists()
    install(out, tmp_path / "forced", str(data), force=True)
    assert (tmp_path / "forced" / "model.safetensors").exists()


def test_head_seed_draws_one_head_for_every_seed(tiny_model_dir, tmp_path):
    from transformers import BertForSequenceClassification

    from training.train import build_network, seed_everything

    base = tmp_path / "encoder"  # an encoder without a classifier, as the real base ships
    BertForSequenceClassification.from_pretrained(tiny_model_dir).bert.save_pretrained(base)

    def head(seed, head_seed):
        seed_everything(seed)
        network = build_network(TrainConfig(base_model=str(base), seed=seed, head_seed=head_seed))
        return network.classifier.weight.detach().clone(), torch.rand(3)

    (a, stream_a), (b, stream_b) = head(1, 7), head(2, 7)
    assert torch.equal(a, b)  # one head for both members
    assert not torch.equal(stream_a, stream_b)  # dropout and the rest still follow each run's seed
    assert not torch.equal(head(1, None)[0], head(2, None)[0])  # the default: the head follows the seed


def test_pair_difference_loss_sees_only_the_edit():
    from training.losses import pair_difference_loss

    labels, pair = torch.tensor([0, 2, 1]), torch.tensor([4, 4, -1])
    # both sides scored alike (the usual miss): the loss is log 3 whatever the shared scores are
    same = torch.tensor([[3.0, 1.0, -2.0], [3.0, 1.0, -2.0], [0.0, 9.0, 0.0]])
    assert pair_difference_loss(same, labels, pair).item() == pytest.approx(np.log(3), rel=1e-6)
    # adding the same vector to both sides (what the texts share) changes nothing
    z = torch.randn(3, 3)
    shifted = z + torch.tensor([[5.0, -1.0, 2.0], [5.0, -1.0, 2.0], [0.0, 0.0, 0.0]])
    assert pair_difference_loss(z, labels, pair).item() == pytest.approx(
        pair_difference_loss(shifted, labels, pair).item(), rel=1e-5)
    # the edit pulling each side its own way lowers it; a lone side or a half pair adds nothing
    apart = torch.tensor([[6.0, 0.0, 0.0], [0.0, 0.0, 6.0], [0.0, 9.0, 0.0]])
    assert pair_difference_loss(apart, labels, pair).item() < 0.01
    assert pair_difference_loss(z, labels, torch.tensor([4, -1, -1])).item() == 0.0


def test_pair_loss_trains_and_needs_pair_batches(tiny_model_dir, tiny_data_dir, tmp_path):
    meta = train(_config(tiny_model_dir, tiny_data_dir, tmp_path, epochs=2, pair_batches=True,
                         pair_loss_weight=1.0))
    assert np.isfinite(meta["history"][-1]["train_loss"])
    assert TrainConfig.load(tmp_path).pair_loss_weight == 1.0
    with pytest.raises(ValueError, match="pair_batches"):
        TrainConfig(pair_loss_weight=1.0)


def test_speed_probe_times_the_real_step(tiny_model_dir, tiny_data_dir):
    from training.speed import time_variant

    config = TrainConfig(base_model=str(tiny_model_dir), data_dir=str(tiny_data_dir), batch_size=4,
                         max_length=24, threads=1)
    out = time_variant(config, rows=12, fused=False)
    assert out["rows"] == 12 and out["steps"] == 3 and out["seconds"] >= 0
    assert out["padded_tokens_per_row"] >= out["real_tokens_per_row"] > 0


def test_speed_probe_interleaves_rounds_and_reports_medians(tiny_model_dir, tiny_data_dir, monkeypatch):
    from training import speed

    calls = []
    fake = iter([3.0, 10.0, 1.0, 20.0, 2.0, 30.0])

    def time_variant(config, rows, fused=True):
        calls.append(config.fast_dropout)
        return {"seconds": next(fake), "steps": 1, "rows": rows, "padded_tokens_per_row": 2.0,
                "real_tokens_per_row": 1.0}

    monkeypatch.setattr(speed, "time_variant", time_variant)
    monkeypatch.setattr(speed.torch, "set_num_threads", lambda n: None)  # not for the rest of the session
    report = speed.main(["--rows", "8", "--rounds", "3", "--variants", "3", "4",
                         "--base-model", str(tiny_model_dir), "--data-dir", str(tiny_data_dir)])
    assert calls == [False, True] * 3  # one of each per round, not three of one then three of the other
    first, default = list(report)
    assert "default" in default
    assert report[first]["seconds"] == 2.0 and report[first]["seconds_each_round"] == [3.0, 1.0, 2.0]
    assert report[default]["seconds"] == 20.0


def test_auto_precision_is_resolved_to_what_this_cpu_runs(monkeypatch):
    # resolved before training, so the saved config says which precision actually ran
    import training.train as train_module

    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(train_module, "native_bf16", lambda native=native: native)
        assert train_module.resolve_precision(TrainConfig()).train_precision == expected
        assert train_module.resolve_precision(TrainConfig(train_precision="fp32")).train_precision == "fp32"
