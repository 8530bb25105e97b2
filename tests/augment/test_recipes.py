"""Named recipes: what each holds, soft targets for every recipe, keyed draws, bad names."""

from __future__ import annotations

import pytest
import torch

from datafix import augment as A
from datafix.augment.recipes import RECIPES, recipe
from datafix.errors import InvalidInputError


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_gives_float_images_and_probability_targets(name):
    r = recipe(name, size=16, num_classes=5, seed=0)
    x = torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8)
    y = torch.arange(12) % 5
    images, targets = r(x, y, sample_ids=torch.arange(12))
    assert images.shape == (12, 3, 16, 16) and images.dtype == torch.float32
    assert targets.shape == (12, 5) and torch.allclose(targets.sum(1), torch.ones(12))
    if name == "none":
        assert torch.allclose(images, x.float() / 255, atol=1e-6)
        assert torch.equal(targets.argmax(1), y)


def test_recipes_hold_what_they_say():
    kinds = {name: [type(t).__name__ for t in recipe(name, size=32, num_classes=10).transform.transforms]
             for name in RECIPES}
    assert kinds["none"] == []
    assert kinds["flips-crops"] == ["HorizontalFlip", "RandomCrop"]
    assert kinds["randaugment"][-1] == "RandAugment" and kinds["trivialaugment"][-1] == "TrivialAugmentWide"
    assert kinds["augmix"][-1] == "AugMix" and kinds["autoaugment"][-1] == "AutoAugment"
    assert recipe("autoaugment", size=32, num_classes=10).transform.transforms[-1].policy == "cifar10"
    assert kinds["limited-data"][2:] == ["TrivialAugmentWide", "RandomErasing"]
    assert isinstance(recipe("limited-data", size=32, num_classes=10).mix, A.CutMix)
    assert recipe("trivialaugment", size=32, num_classes=10).mix is None


def test_recipes_are_keyed_by_seed_epoch_and_sample():
    x = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    y = torch.arange(8)
    ids = torch.arange(8)
    a = recipe("limited-data", size=28, num_classes=10, seed=3)
    b = recipe("limited-data", size=28, num_classes=10, seed=3)
    first_a, first_b = a(x, y, sample_ids=ids), b(x, y, sample_ids=ids)
    assert torch.equal(first_a[0], first_b[0]) and torch.equal(first_a[1], first_b[1])
    a.set_epoch(1)
    assert not torch.equal(a(x, y, sample_ids=ids)[0], first_a[0])


def test_soft_labels_pass_through_and_bad_names_are_refused():
    r = recipe("flips-crops", size=8, num_classes=3)
    soft = torch.tensor([[0.2, 0.8, 0.0]] * 4)
    _, targets = r(torch.rand(4, 3, 8, 8), soft)
    assert torch.equal(targets, soft)
    with pytest.raises(InvalidInputError, match="'name' parameter must be one of"):
        recipe("heavy", size=8, num_classes=3)
    with pytest.raises(InvalidInputError, match="size"):
        recipe("none", size=2, num_classes=3)
