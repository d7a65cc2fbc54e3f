import pytest

from inas.errors import ConfigError
from inas.train import TrainRecipe


def test_defaults_are_valid_and_overridable():
    r = TrainRecipe().with_overrides({"lr": 0.05, "label_smoothing": 0.1})
    assert (r.lr, r.label_smoothing, r.optimizer) == (0.05, 0.1, "sgd")
    assert TrainRecipe.fields()[0] == "optimizer"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lrate": 0.1}, r"recipe\.lrate: unknown recipe value; valid keys are optimizer, lr"),
        ({"optimizer": "adam"}, r"recipe\.optimizer: unknown value .adam.; choose one of sgd, adamw, adadelta"),
        ({"lr": 0}, r"recipe\.lr: must be a positive number"),
        ({"label_smoothing": 1.0}, r"recipe\.label_smoothing: must be a number in \[0, 1\)"),
        ({"epochs": 0}, r"recipe\.epochs: must be a positive integer"),
        ({"batch_size": 64.0}, r"recipe\.batch_size: must be a positive integer"),
        ({"precision": "fp16"}, r"recipe\.precision: unknown value .fp16.; choose one of auto, bf16, fp32"),
        ({"mixed_precision": True}, r"recipe\.mixed_precision: unknown recipe value"),
    ],
)
def test_bad_values_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainRecipe().with_overrides(values)


def test_the_seed_recipe_trains_in_fp32_and_the_default_as_the_device_allows():
    assert TrainRecipe.seed_recipe().precision == "fp32"
    assert TrainRecipe().precision == "auto"


@pytest.mark.parametrize(("old", "precision"), [(True, "auto"), (False, "fp32")])
def test_recipes_written_with_mixed_precision_still_load(old, precision):
    saved = {**TrainRecipe().to_dict(), "mixed_precision": old}
    del saved["precision"]  # as versions before `precision` wrote it
    r = TrainRecipe(**saved)
    assert r.precision == precision and "mixed_precision" not in r.to_dict()
    with pytest.raises(ConfigError, match=r"recipe\.mixed_precision: must be true or false"):
        TrainRecipe(**{**saved, "mixed_precision": "yes"})
