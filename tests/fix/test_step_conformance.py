"""Every registered fix step, run through the same contract (as the checks' conformance suite)."""

from __future__ import annotations

import pickle
import warnings

import albumentations as alb
import numpy as np
import pandas as pd
import pytest
import torch

import datafix as dfx
from conftest import checksum
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError
from datafix.fix import STEPS, Pipeline, Step
from datafix.fix.steps import PROPOSAL_COLUMNS, step_from_config

REQUIRED = {"augment": {"pipeline": alb.Compose([alb.HorizontalFlip(p=0.5)])}}


def make(name: str, **params) -> Step:
    return STEPS[name](**{**REQUIRED.get(name, {}), **params})


@pytest.fixture(scope="module")
def audited():
    data = dfx.datasets.load_noisy("wine", noise=0.15, n_duplicates=4, n_outliers=3, random_state=0)
    frame = data.frame("cultivar")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        return frame, dfx.audit(frame, "cultivar", verbose=False)


@pytest.fixture(scope="module")
def annotated(audited):
    """The same wine table without its label column, labelled by three annotators (for Consensus)."""
    frame, _ = audited
    rng = np.random.default_rng(0)
    labels = frame["cultivar"].to_numpy()
    classes = np.unique(labels)
    wide = pd.DataFrame({a: np.where(rng.random(len(frame)) < accuracy, labels, rng.choice(classes, len(frame)))
                         for a, accuracy in (("ann", 0.9), ("bob", 0.7), ("cy", 0.6))}, index=frame.index)
    features = frame.drop(columns="cultivar")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        return features, dfx.audit(features, annotators=wide, verbose=False)


@pytest.fixture(scope="module")
def partly_labelled(audited):
    """The same wine table with a third of its labels missing (for PseudoLabel)."""
    frame, _ = audited
    partial = frame.assign(cultivar=frame["cultivar"].where(np.arange(len(frame)) % 3 != 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatafixWarning)
        return partial, dfx.audit(partial, "cultivar", verbose=False)


@pytest.fixture(scope="module")
def cases(audited, annotated, partly_labelled):
    """(frame, labels, report) each step acts on: annotators for Consensus, missing labels for
    PseudoLabel, the labelled table for the others."""
    return {"consensus": (annotated[0], None, annotated[1]),
            "pseudo_label": (partly_labelled[0], "cultivar", partly_labelled[1]),
            None: (audited[0], "cultivar", audited[1])}


def _case(name, cases):
    return cases.get(name, cases[None])


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_validates_every_parameter_when_built(name):
    step = make(name)
    assert isinstance(step, Step) and step.name == name
    for param in step.params:
        with pytest.raises((InvalidInputError, InvalidTypeError), match=repr(param)):
            make(name, **{param: "not a valid value"})


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_round_trips_through_its_config_and_pickle(name):
    step = make(name)
    assert step_from_config(step.to_config()) == step
    assert pickle.loads(pickle.dumps(step)) == step


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_proposes_without_touching_the_report(name, cases):
    frame, _, report = _case(name, cases)
    before, frame_before = checksum(report.issues), checksum(frame)
    alive = np.ones(len(frame), bool)
    alive[:5] = False
    proposals = make(name).propose(report, alive)
    assert list(proposals.columns) == PROPOSAL_COLUMNS
    assert alive[proposals["position"].to_numpy(np.int64)].all()  # only samples still kept
    assert checksum(report.issues) == before and checksum(frame) == frame_before


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_gives_the_same_plan_twice_and_serves_a_dataset(name, cases):
    frame, labels, report = _case(name, cases)
    steps = [make(name)] if name != "synthesize" else [make(name, method="copula")]
    a = Pipeline(steps).fit(frame, labels, report=report)
    b = Pipeline(steps).fit(frame, labels, report=report)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.synthetic.astype(str), b.synthetic.astype(str))
    assert len(a.dataset) == len(a.kept) + len(a.synthetic)
    x, y = a.dataset[0][:2]
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and 0 <= y < len(a.classes)
