"""Training speed-ups: FastDropout (the same dropout from fewer random draws) and the bf16 dev pass."""

import pytest
import torch

from training.config import TrainConfig
from training.dropout import FastDropout, use_fast_dropout
from training.train import build_network


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_each_slice_drops_at_rate_p_and_keeps_the_mean(p):
    torch.manual_seed(0)
    layer = FastDropout(p).train()
    y = layer(torch.ones(1000, 400))
    dropped = (y == 0).float()
    # the four 16-bit slices of a draw sit at positions 0-3 mod 4; the top one has 15 bits and its own
    # threshold, so a wrong threshold shows as one position off
    for k in range(4):
        assert dropped.view(-1)[k::4].mean().item() == pytest.approx(p, abs=0.006)
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - round(p * 32768) / 32768)))
    assert y.mean().item() == pytest.approx(1.0, abs=0.015)


def test_off_in_eval_and_at_zero_and_repeats_for_a_seed():
    x = torch.randn(3, 50)
    assert FastDropout(0.1).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    torch.manual_seed(7)
    a = FastDropout(0.1).train()(x)
    torch.manual_seed(7)
    b = FastDropout(0.1).train()(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, FastDropout(0.1).train()(x))  # the next draws differ
    for p in (1.0, 0.99999, 1e-6, -0.1):  # p that rounds to all or nothing on the 16-bit grid
        with pytest.raises(ValueError):
            FastDropout(p)


def test_gradient_is_the_mask_times_the_scale():
    x = torch.randn(7, 33, dtype=torch.bfloat16, requires_grad=True)  # odd size: the last draw is cut
    layer = FastDropout(0.25).train()
    torch.manual_seed(3)
    y = layer(x)
    y.sum().backward()
    keep = y != 0
    assert y.dtype == torch.bfloat16
    assert torch.equal(x.grad, keep.to(x.dtype) * layer.scale)
    assert torch.equal(y[keep], (x[keep] * layer.scale).detach())


def test_training_network_gets_it_and_predicts_as_before(tiny_model_dir):
    # one head seed, so the two networks start from the same classifier layer
    plain = build_network(TrainConfig(base_model=str(tiny_model_dir), head_seed=0, fast_dropout=False))
    fast = build_network(TrainConfig(base_model=str(tiny_model_dir), head_seed=0))
    plain.eval(), fast.eval()
    assert not any(isinstance(m, FastDropout) for m in plain.modules())
    n = sum(isinstance(m, FastDropout) for m in fast.modules())
    assert n == sum(type(m) is torch.nn.Dropout for m in plain.modules()) > 0
    assert not any(type(m) is torch.nn.Dropout for m in fast.modules())
    assert use_fast_dropout(fast) == 0  # nothing left to swap
    # no weights added or changed: the same state dict, the same logits at inference
    assert plain.state_dict().keys() == fast.state_dict().keys()
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    assert torch.allclose(plain(input_ids=ids).logits, fast(input_ids=ids).logits)


def test_epoch_selection_scores_a_bf16_copy_when_training_in_bf16(tiny_model_dir):
    from transformers import AutoTokenizer

    from model.predict import predict_proba
    from training.train import selection_classifier

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir, local_files_only=True)
    net = build_network(TrainConfig(base_model=str(tiny_model_dir), head_seed=0)).eval()
    bf16 = selection_classifier(net, tokenizer, TrainConfig(train_precision="bf16"))
    fp32 = selection_classifier(net, tokenizer, TrainConfig(train_precision="fp32"))
    assert (bf16.precision, fp32.precision) == ("bf16", "fp32")
    assert fp32.network is net
    # a copy: the weights that keep training stay fp32
    assert next(bf16.network.parameters()).dtype == torch.bfloat16
    assert next(net.parameters()).dtype == torch.float32
    texts = ["we welcome the talks", "they threaten us"]
    a, _ = predict_proba(texts, model=bf16)
    b, _ = predict_proba(texts, model=fp32)
    assert abs(a - b).max() < 0.05


def test_train_picks_the_epoch_with_the_selection_copy(tiny_model_dir, tiny_data_dir, tmp_path, monkeypatch):
    from training import train as train_module

    seen = []
    real = train_module.selection_classifier

    def spy(network, tokenizer, config):
        clf = real(network, tokenizer, config)
        seen.append(clf.precision)
        return clf

    monkeypatch.setattr(train_module, "selection_classifier", spy)
    train_module.train(TrainConfig(base_model=str(tiny_model_dir), data_dir=str(tiny_data_dir),
                                   output_dir=str(tmp_path), epochs=2, patience=2, batch_size=8,
                                   max_length=24, threads=1, train_precision="bf16", save_fp16=False))
    assert seen == ["bf16", "bf16"]  # once an epoch, in the training precision
