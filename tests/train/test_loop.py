import dataclasses

import pytest
import torch

from inas.errors import ConfigError
from inas.model import AuxHeadCfg
from inas.train import TrainRecipe, topk_correct, train
from tests.train.conftest import TINY

FAST = TrainRecipe(epochs=2, batch_size=32, lr=0.05, image_size=12)


def test_topk_correct():
    logits = torch.tensor([[0.1, 0.9, 0.0, 0.3, 0.2, 0.25], [0.9, 0.1, 0.2, 0.3, 0.4, 0.5]])
    assert topk_correct(logits, torch.tensor([1, 1]), (1, 5)) == [1, 1]  # second: class 1 is last
    assert topk_correct(logits, torch.tensor([2, 2]), (1, 5)) == [0, 1]
    assert topk_correct(logits[:, :3], torch.tensor([2, 2]), (1, 5)) == [0, 2]  # k capped at 3 classes


def test_learns_and_reports(data):
    model, r = train(TINY, dataclasses.replace(FAST, epochs=4), data, device="cpu")
    assert r.status == "ok" and len(r.epochs) == 4
    assert r.epochs[-1].train_loss < r.epochs[0].train_loss
    assert r.val_top1 < 0.5  # chance is 0.9
    assert 0 <= r.test_top5 <= r.test_top1 <= 1
    assert r.images_per_second > 0 and r.train_seconds > 0 and r.device == "cpu"
    # The robust time: every optimizer step counted, at the median step's pace (evaluation apart).
    steps = 4 * (len(data.train_y) - round(0.1 * len(data.train_y))) // 32
    assert r.train_steps == steps and 0 < r.step_seconds <= r.train_seconds
    assert r.robust_train_seconds == r.step_seconds * steps
    assert r.params == sum(p.numel() for p in model.parameters())


def test_deterministic_on_cpu(data):
    (m1, r1), (m2, r2) = train(TINY, FAST, data, device="cpu"), train(TINY, FAST, data, device="cpu")
    assert [e.train_loss for e in r1.epochs] == [e.train_loss for e in r2.epochs]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))


def test_nan_loss_stops_with_a_status(data):
    _, r = train(TINY, dataclasses.replace(FAST, lr=1e30, epochs=3), data, device="cpu")
    assert r.status == "nan" and "training loss became" in r.message
    assert r.test_top1 is None


def test_callback_can_stop(data):
    _, r = train(TINY, dataclasses.replace(FAST, epochs=3), data, device="cpu", on_epoch=lambda m, r: m.epoch < 1)
    assert r.status == "stopped" and len(r.epochs) == 1


def test_last_callback_sees_the_test_errors(data):
    seen = []
    _, r = train(TINY, FAST, data, device="cpu", on_epoch=lambda m, res: seen.append(res.test_top1) or True)
    assert seen == [None, r.test_top1] and r.test_top1 is not None


def test_no_validation_split(data):
    _, r = train(TINY, dataclasses.replace(FAST, val_fraction=0.0, epochs=1), data, device="cpu", evaluate_test=False)
    assert r.val_top1 is None and r.test_top1 is None


def test_aux_heads_are_trained(data):
    arch = dataclasses.replace(TINY, input_size=12, aux_heads=(AuxHeadCfg(stage=0, module=0),))
    torch.manual_seed(FAST.seed)
    from inas.model import build

    before = build(arch).aux["inception3a"].fc2.weight.clone()
    model, r = train(arch, dataclasses.replace(FAST, epochs=1), data, device="cpu")
    assert r.status == "ok"
    assert not torch.equal(model.aux["inception3a"].fc2.weight, before)


def test_every_optimizer_and_schedule(data):
    for opt, sched in (("sgd", "cosine"), ("adamw", "onecycle"), ("adadelta", "step")):
        _, r = train(
            TINY, dataclasses.replace(FAST, optimizer=opt, schedule=sched, epochs=1, lr=0.01), data, device="cpu"
        )
        assert r.status == "ok", (opt, sched)


def test_seed_recipe_is_the_seeds():
    r = TrainRecipe.seed_recipe()
    assert (r.optimizer, r.lr, r.schedule, r.step_gamma, r.batch_size, r.epochs, r.augment) == (
        "adadelta",
        1.0,
        "step",
        0.7,
        64,
        14,
        "flip",
    )


def test_channel_mismatch(data):
    with pytest.raises(ConfigError, match="3-channel images but the network takes 1"):
        train(dataclasses.replace(TINY, in_channels=1), FAST, data, device="cpu")


@pytest.mark.parametrize("steps", [1, 2, 4, 9])
def test_onecycle_works_for_any_length(steps):
    from inas.train.loop import make_schedule

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched, per_batch = make_schedule(opt, TrainRecipe(epochs=1, lr=0.1), steps)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert per_batch and all(lr > 0 for lr in lrs)
    assert max(lrs) == pytest.approx(0.1)
    peak = lrs.index(max(lrs))
    assert lrs[: peak + 1] == sorted(lrs[: peak + 1]) and lrs[peak:] == sorted(lrs[peak:], reverse=True)


def class_sorted(n_per_class: int, values: list[int]) -> "ImageData":  # noqa: F821
    """An image folder's order: every class's images together, class c all of value values[c]."""
    from inas.data.datasets import ImageData

    labels = torch.arange(len(values)).repeat_interleave(n_per_class)
    images = torch.tensor(values, dtype=torch.uint8)[labels].view(-1, 1, 1, 1).expand(-1, 3, 2, 2).contiguous()
    return ImageData("sorted", images, labels, images[:10], labels[:10], tuple(map(str, range(len(values)))))


def test_normalisation_samples_every_class_of_a_sorted_folder():
    """Regression: the statistics came from the first 10,000 images, one class of a sorted folder."""
    from inas.train.loop import data_loaders

    data = class_sorted(6_000, [0, 255])  # 12,000 images: the first 10,000 are nearly all black
    train_loader, _, _ = data_loaders(data, TINY.with_classes(2), FAST, torch.device("cpu"))
    mean = train_loader.mean.flatten() / 255
    assert mean.tolist() == pytest.approx([0.5] * 3, abs=0.03)


def test_normalisation_leaves_the_validation_images_out():
    from inas.data.datasets import stratified_split
    from inas.train.loop import normalisation

    data = class_sorted(50, [100, 100])
    val, _ = stratified_split(data.train_y, FAST.val_fraction, FAST.seed)
    images = data.train_x.clone()
    images[val] = 255  # only validation images are bright: the statistics must not see them
    data = dataclasses.replace(data, train_x=images)
    mean, std = normalisation(data, FAST)
    assert mean == pytest.approx((100 / 255,) * 3) and std == pytest.approx((1e-3,) * 3)
    everything = normalisation(data, dataclasses.replace(FAST, val_fraction=0.0))[0]
    assert everything[0] > mean[0]  # with nothing held out, they are all training images


def test_the_proxy_batch_comes_from_the_training_split_only():
    from inas.data.datasets import stratified_split, synthetic
    from inas.train.loop import proxy_batch
    from inas.train.recipe import TrainRecipe

    data = synthetic(n_train=200, n_test=20)
    recipe = TrainRecipe(val_fraction=0.5)
    batch = proxy_batch(data, recipe, size=16, n=100)
    assert batch.shape == (100, 3, 16, 16)
    val_idx, _ = stratified_split(data.train_y, recipe.val_fraction, recipe.seed)
    # Asked for every image, it gives the training split: the validation half is never in it.
    full = proxy_batch(data, recipe, size=32, n=200)
    assert len(full) == 200 - len(val_idx)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "adadelta"])
def test_weight_decay_only_on_conv_and_linear_weights(optimizer):
    from inas.model import build
    from inas.train.loop import make_optimizer

    model = build(TINY)
    opt = make_optimizer(model, dataclasses.replace(FAST, optimizer=optimizer, weight_decay=1e-3))
    decay = {id(p) for g in opt.param_groups if g["weight_decay"] == 1e-3 for p in g["params"]}
    rest = {id(p) for g in opt.param_groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert len(opt.param_groups) == 2 and decay and rest and not decay & rest
    assert decay | rest == {id(p) for p in model.parameters()}
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            wanted = isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and name == "weight"
            assert (id(p) in decay) == wanted, (type(module).__name__, name)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the test sees some


def test_loaders_left_out_are_not_built_and_the_validation_split_is_the_same():
    """A scorer asks only for the validation loader: the training and test images stay off its device."""
    from inas.train.loop import data_loaders

    data = class_sorted(50, [0, 255])
    arch, device = TINY.with_classes(2), torch.device("cpu")
    _, full_val, _ = data_loaders(data, arch, FAST, device)
    train, val, test = data_loaders(data, arch, FAST, device, train=False, test=False)
    assert train is None and test is None
    assert torch.equal(val.images, full_val.images) and torch.equal(val.labels, full_val.labels)
    assert torch.equal(val.mean, full_val.mean)
