"""Weight averaging of seed runs (training/soup.py) on the tiny BERT."""

import json

import pytest
import torch
from safetensors.torch import load_file

from model import load_model, predict
from training.config import TrainConfig
from training.soup import average_weights, member_configs, soup
from training.train import train, train_cli

from test_train import _config


@pytest.fixture(scope="module")
def members(tiny_model_dir, tiny_data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    folders = []
    for seed in (3, 4):
        out = root / f"seed_{seed}"
        train(_config(tiny_model_dir, tiny_data_dir, out, epochs=3, seed=seed))
        folders.append(out)
    return folders


def test_average_is_the_mean_of_every_tensor(members):
    avg = average_weights(members)
    a, b = (load_file(str(f / "model.safetensors")) for f in members)
    assert avg.keys() == a.keys()
    for name in a:
        assert torch.allclose(avg[name], (a[name].float() + b[name].float()) / 2)
    assert any(not torch.equal(a[n], b[n]) for n in a)  # the seeds really gave different weights


def test_soup_is_an_ordinary_model_folder(members, tiny_data_dir, tmp_path):
    meta = soup(members, tmp_path, str(tiny_data_dir))
    assert meta["soup"]["seeds"] == [3, 4]
    assert [m["run"] for m in meta["soup"]["members"]] == [str(f) for f in members]
    # both sides rounded to 0.1 s as detente.json stores them: a float sum such as 0.1 + 0.2 overshoots
    assert meta["train_seconds"] >= round(sum(m["train_seconds"] for m in meta["soup"]["members"]), 1)
    assert TrainConfig.load(tmp_path).soup == 2
    assert "passed" in meta["guide_gate"] and "passed" in meta["bf16_gate"]
    saved = load_file(str(tmp_path / "model.safetensors"))
    avg = average_weights(members)
    assert all(torch.allclose(saved[n].float(), avg[n]) for n in avg)  # save_fp16=False: exact
    preds = predict(["we welcome the agreement", "stop interfering"], model=load_model(tmp_path))
    assert all(abs(sum(p.scores.values()) - 1) < 1e-5 for p in preds)
    assert json.loads((tmp_path / "detente.json").read_text())["soup"] == meta["soup"]


def test_members_must_differ_only_in_seed(members, tiny_model_dir, tiny_data_dir, tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        member_configs(members[:1])
    with pytest.raises(ValueError, match="share a seed"):
        member_configs([members[0], members[0]])
    other = tmp_path / "lr"
    train(_config(tiny_model_dir, tiny_data_dir, other, epochs=1, seed=5, learning_rate=5e-4))
    with pytest.raises(ValueError, match="learning_rate"):
        member_configs([members[0], other])


def test_train_cli_soup_trains_each_seed_then_averages(tiny_model_dir, tiny_data_dir, tmp_path):
    fields = {k: v for k, v in vars(_config(tiny_model_dir, tiny_data_dir, tmp_path, epochs=1)).items()}
    meta = train_cli({**fields, "soup": 2, "seed": 7})
    assert meta["soup"]["seeds"] == [7, 8]
    assert {p.name for p in (tmp_path / "members").iterdir()} == {"seed_7", "seed_8"}
    stamp = (tmp_path / "members" / "seed_7" / "model.safetensors").stat().st_mtime_ns
    train_cli({**fields, "soup": 2, "seed": 7})  # finished members are reused, not retrained
    assert (tmp_path / "members" / "seed_7" / "model.safetensors").stat().st_mtime_ns == stamp
    # a member is the same run as `detente train --seed 8` on its own, so a soup of separate runs matches
    train(TrainConfig(**{**fields, "seed": 8, "output_dir": str(tmp_path / "alone")}))
    alone = load_file(str(tmp_path / "alone" / "model.safetensors"))
    member = load_file(str(tmp_path / "members" / "seed_8" / "model.safetensors"))
    assert all(torch.equal(alone[n], member[n]) for n in alone)
    with pytest.raises(ValueError):
        train_cli({**fields, "soup": 2, "head": "both"})
    with pytest.raises(ValueError):
        TrainConfig(soup=0)


def test_card_names_the_members(members, tiny_data_dir, tmp_path):
    from training.card import render_card
    from training.evaluate import evaluate

    soup(members, tmp_path, str(tiny_data_dir))
    report = evaluate(str(tmp_path), str(tiny_data_dir), "test")
    (tmp_path / "metrics.json").write_text(json.dumps(report))
    card = render_card(tmp_path)
    assert "model soup" in card and "--soup 2 --seed 3" in card and "all members together" in card


def test_compare_counts_disagreements(tiny_model_dir, tiny_data_dir, tmp_path):
    from training.compare import compare

    same = compare(str(tiny_model_dir), str(tiny_model_dir), str(tiny_data_dir), "dev")
    assert same["statements"]["only_a"] == same["statements"]["only_b"] == 0
    assert same["statements"]["n"] > 0 and same["pairs"]["accuracy_a"] == same["pairs"]["accuracy_b"]
