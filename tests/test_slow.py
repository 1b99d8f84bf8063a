"""Long suites (marker: slow): the bundled model's figures, a real fine-tuning run, the benchmark."""

import json

import pytest

from model.loader import bundled_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    from training.evaluate import evaluate

    return evaluate(None, "data", "test", precision="fp32")


def test_bundled_model_reaches_its_figures(report):
    assert report["macro_f1"] >= 0.90
    assert report["guide_examples"]["correct"] == report["guide_examples"]["n"]


def test_bundled_model_pair_target(report):
    # issue 3's target. The bundled soup (three seeds on b1-b126) gets 0.809 of the 1,406 test pairs; the
    # b1-b94 soup before it gets 0.760 of them. On the 818 pairs the test split had before b95-b126 the
    # new soup gets 0.789 (README, Training), so the target is met on the whole split, not on that part
    assert report["contrast"]["pair_accuracy"] >= 0.80


def test_bundled_model_holds_up_on_held_out_writers(report):
    held = report["by_writers"]["held_out_writers"]
    assert held["n"] >= 500 and held["macro_f1"] >= 0.90


def test_bundled_model_is_calibrated(report):
    assert report["ece"] <= 0.05
    # the confidence map is adopted on dev evidence (training.calibrate's cross-validation); on test it
    # must not make calibration materially worse. It helped the b1-b70 model (0.046 -> 0.009), was a
    # wash for the b1-b78 soup (0.018 -> 0.019) and helped the b1-b86 soup (0.020 -> 0.015) and the
    # b1-b94 and b1-b126 ones (0.030 -> 0.017 both), so a strict "<" would test noise
    assert report["ece"] <= report["ece_temperature_only"] + 0.005


@pytest.mark.xfail(strict=True, reason="open target of issue 3: +0.054 over TF-IDF, not +0.15")
def test_bundled_model_margin_target(report):
    assert report["margin_over_best_baseline"] >= 0.15


def test_real_base_model_fine_tunes(tmp_path):
    from training.config import TrainConfig
    from training.train import train

    # 640 statements, 2 epochs (40 steps): enough to learn well above chance (0.33), in about a minute
    meta = train(TrainConfig(output_dir=str(tmp_path), max_train_samples=640, max_eval_samples=128,
                             epochs=2, threads=2))
    assert meta["dev_macro_f1"] > 0.5
    assert json.loads((tmp_path / "training_config.json").read_text())["max_train_samples"] == 640


def test_benchmark_runs(tmp_path):
    from training.bench import run_bench

    report = run_bench(None, n=200, threads=2, out=str(tmp_path / "b.json"), memory_rows=(500, 2000))
    assert [w["agreement_with_naive"] for w in report["ways"]][0] == 1.0
    assert all(w["quotes_per_second"] > 0 for w in report["ways"])


def test_default_precision_follows_saved_gate():
    from model import load_model

    from model.loader import native_bf16

    meta = json.loads((bundled_path() / "detente.json").read_text())
    allowed = [p for p in ("int8", "bf16") if meta[f"{p}_gate"]["passed"]
               and (p != "bf16" or native_bf16())]
    assert load_model().precision == (allowed[0] if allowed else "fp32")
