"""course_utils.experiments: the networks, one tiny ablation, the table, the plot, the figures.

Trains only 3-layer networks on 96 random images for 1-2 epochs (seconds), never the
real ablation; the last tests check the recorded results that ship with the package.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from benchmarks.targets import TARGETS
from course_utils import experiments
from course_utils.data import Splits
from course_utils.results import RESULTS_ENV, read_results
from helpers import REPO

SMALL = {"epochs": 2, "batch_size": 16, "n_hidden": 3}


def tiny_splits(seed: int = 0, dtype=np.uint8) -> Splits:
    """96 / 32 / 32 random 28 x 28 images with labels 0-9."""
    rng = np.random.default_rng(seed)

    def images(n: int) -> np.ndarray:
        return rng.integers(0, 256, size=(n, 28, 28)).astype(dtype)

    def labels(n: int) -> np.ndarray:
        return rng.integers(0, 10, size=n).astype(np.uint8)

    return Splits(images(96), labels(96), images(32), labels(32), images(32), labels(32))


@pytest.fixture(scope="module")
def tiny_results(keras):
    """A whole (tiny) ablation: two regimes, two variants, two seeds."""
    calls = []
    results = experiments.run_ablation(
        tiny_splits(),
        seeds=[0, 1],
        variants=["relu_glorot", "selu_alpha_dropout"],
        on_run=lambda r: calls.append(len(r["runs"])),
        **SMALL,
    )
    results["calls"] = calls
    return results


# --------------------------------------------------------------------------- #
# The networks
# --------------------------------------------------------------------------- #


def _kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("name", list(experiments.VARIANTS))
def test_every_variant_is_20_dense_layers_of_100(keras, name):
    model = experiments.build_deep_net(name)
    variant = experiments.VARIANTS[name]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 21 and [d.units for d in dense] == [100] * 20 + [10]
    assert _kinds(model)[0] == "Flatten" and dense[-1].activation.__name__ == "softmax"
    expected_init = {"glorot_uniform": "GlorotUniform", "he_normal": "HeNormal"}.get(
        variant.initializer, "LecunNormal"
    )
    assert {type(d.kernel_initializer).__name__ for d in dense[:-1]} == {expected_init}
    assert _kinds(model).count("BatchNormalization") == (20 if variant.batch_norm else 0)
    assert _kinds(model).count("AlphaDropout") == (1 if variant.alpha_dropout else 0)


def test_the_plain_network_has_the_notebooks_parameter_count(keras):
    # 784 x 100 + 100, 19 x (100 x 100 + 100), 100 x 10 + 10: notebook 07's 271,410
    assert experiments.build_deep_net("relu_glorot").count_params() == 271_410


def test_batch_norm_goes_between_dense_and_relu_as_in_notebook_07(keras):
    model = experiments.build_deep_net("relu_he_bn", n_hidden=2)
    assert _kinds(model) == [
        "Flatten",
        *["Dense", "BatchNormalization", "Activation"] * 2,
        "Dense",
    ]
    assert model.layers[1].use_bias is False
    # notebook 08's network: 277,410 parameters, 4,000 of them non-trainable
    full = experiments.build_deep_net("relu_he_bn")
    non_trainable = sum(int(np.prod(w.shape)) for w in full.non_trainable_weights)
    assert (full.count_params(), non_trainable) == (277_410, 4_000)


def test_alpha_dropout_sits_before_the_output_layer(keras):
    model = experiments.build_deep_net("selu_alpha_dropout", n_hidden=2)
    assert _kinds(model)[-2:] == ["AlphaDropout", "Dense"]
    assert math.isclose(model.layers[-2].rate, 0.1)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="relu_glorot, relu_he"):
        experiments.build_deep_net("relu_xavier")
    with pytest.raises(ValueError, match="use one of sgd, adam"):
        experiments.train_variant(
            "relu_he", "rmsprop", tiny_splits(), epochs=1, batch_size=8, seed=0
        )


def test_regimes_build_their_optimizers(keras):
    sgd = experiments.REGIMES["sgd"].make_optimizer(100)
    assert isinstance(sgd, keras.optimizers.SGD) and math.isclose(
        float(sgd.learning_rate), 0.01, rel_tol=1e-6
    )
    adam = experiments.REGIMES["adam"].make_optimizer(100)
    assert isinstance(adam, keras.optimizers.Adam)
    schedule = adam._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert math.isclose(float(schedule(0)), 1e-3, rel_tol=1e-6) and float(schedule(100)) < 1e-9
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        experiments.Regime("x", "x", "sgd", 0.1, "step").make_optimizer(10)


# --------------------------------------------------------------------------- #
# Data and training
# --------------------------------------------------------------------------- #


def test_images_are_standardized_with_training_statistics_only():
    data = tiny_splits()
    data.X_train[:, 0, 0] = 7  # a constant pixel: divided by 1, not 0
    scaled = experiments.standardize_images(data)
    assert scaled.X_train.dtype == np.float32 and scaled.X_test.shape == (32, 28, 28)
    assert np.allclose(scaled.X_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(scaled.X_train.std(axis=0)[1:, 1:], 1, atol=1e-4)
    assert np.all(scaled.X_train[:, 0, 0] == 0) and np.isfinite(scaled.X_valid).all()
    mean, std = data.X_train.mean(axis=0), data.X_train.std(axis=0)
    assert np.allclose(scaled.X_valid[:, 5, 5], (data.X_valid[:, 5, 5] - mean[5, 5]) / std[5, 5])


def test_window_means_undo_keras_running_means():
    losses = [2.3, 2.3, 2.1, 1.5, 1.0, 0.8]
    running = [float(np.mean(losses[:k])) for k in (2, 4, 6)]
    assert np.allclose(experiments.window_means([2, 4, 6], running), [2.3, 1.8, 0.9])


def test_a_run_records_every_curve_per_epoch(keras):
    data = experiments.standardize_images(tiny_splits())
    run = experiments.train_variant(
        "relu_he_bn", "adam", data, seed=3, epochs=2, batch_size=16, n_hidden=3, loss_points=3
    )
    assert (run["variant"], run["regime"], run["seed"]) == ("relu_he_bn", "adam", 3)
    for curve in (*experiments.CURVES, "epoch_seconds"):
        assert len(run[curve]) == 2, curve
    assert all(0 <= a <= 1 for a in run["val_accuracy"]) and 0 <= run["test_accuracy"] <= 1
    assert run["first_epoch_loss"]["steps"] == [2, 4, 6]  # 6 steps of 16 images, every 2nd
    assert len(run["first_epoch_loss"]["loss"]) == 3
    json.dumps(run)  # plain Python numbers only


def test_the_same_seed_gives_the_same_numbers(keras):
    data = experiments.standardize_images(tiny_splits())

    def once(seed: int) -> dict:
        run = experiments.train_variant(
            "selu_alpha_dropout", "sgd", data, seed=seed, epochs=1, batch_size=16, n_hidden=3
        )
        return {k: run[k] for k in ("val_accuracy", "val_loss", "loss", "test_loss")}

    assert once(5) == once(5)
    assert once(5) != once(6)


def test_an_ablation_trains_every_combination_in_order(tiny_results):
    runs = tiny_results["runs"]
    assert len(runs) == 2 * 2 * 2 and tiny_results["calls"] == list(range(1, 9))
    assert [(r["seed"], r["regime"], r["variant"]) for r in runs[:4]] == [
        (0, "sgd", "relu_glorot"),
        (0, "sgd", "selu_alpha_dropout"),
        (0, "adam", "relu_glorot"),
        (0, "adam", "selu_alpha_dropout"),
    ]
    recipe = tiny_results["recipe"]
    assert (recipe["epochs"], recipe["batch_size"], recipe["seeds"]) == (2, 16, [0, 1])
    assert recipe["n_train"] == 96 and set(tiny_results["variants"]) == {
        "relu_glorot",
        "selu_alpha_dropout",
    }
    assert tiny_results["regimes"]["sgd"]["learning_rate"] == 0.01


def test_results_survive_a_round_trip(tiny_results, tmp_path):
    path = experiments.save_results(tiny_results, tmp_path / "ablation.json")
    assert experiments.load_results(path) == json.loads(json.dumps(tiny_results))


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m benchmarks.ablation"):
        experiments.load_results(tmp_path / "none.json")


# --------------------------------------------------------------------------- #
# Table, plot and figures
# --------------------------------------------------------------------------- #


def test_the_table_has_mean_min_and_max_over_seeds(tiny_results):
    table = experiments.ablation_table(tiny_results)
    assert list(table.index) == [
        ("plain SGD, learning rate 0.01", "ReLU + Glorot"),
        ("plain SGD, learning rate 0.01", "SELU + LeCun + AlphaDropout(0.1)"),
        ("Adam, learning rate 0.001, cosine decay", "ReLU + Glorot"),
        ("Adam, learning rate 0.001, cosine decay", "SELU + LeCun + AlphaDropout(0.1)"),
    ]
    firsts = [
        r["val_accuracy"][0]
        for r in tiny_results["runs"]
        if (r["regime"], r["variant"]) == ("sgd", "relu_glorot")
    ]
    row = table.iloc[0]
    assert math.isclose(row["val. accuracy, epoch 1", "mean"], np.mean(firsts))
    assert row["val. accuracy, epoch 1", "min"] == min(firsts)
    assert row["val. accuracy, epoch 1", "max"] == max(firsts)
    assert ("val. accuracy, epoch 2", "mean") in table.columns and row["seeds"].item() == 2
    text = experiments.ablation_table(tiny_results, formatted=True)
    assert list(text.columns) == [
        "val. accuracy, epoch 1",
        "val. accuracy, epoch 2",
        "test accuracy",
        "seconds per epoch",
        "seeds",
    ]
    low, high = min(firsts), max(firsts)
    assert text.iloc[0, 0] == f"{np.mean(firsts):.3f} ({low:.3f}-{high:.3f})"
    only = experiments.ablation_table(tiny_results, variants=["selu_alpha_dropout"])
    assert [variant for _, variant in only.index] == ["SELU + LeCun + AlphaDropout(0.1)"] * 2
    with pytest.raises(ValueError, match="unknown variant 'selu'"):
        experiments.ablation_table(tiny_results, variants=["selu"])


@pytest.mark.parametrize("metric", ["val_accuracy", "val_loss", "first_epoch_loss"])
def test_the_plot_has_one_panel_per_regime_and_one_line_per_variant(tiny_results, metric):
    fig = experiments.plot_ablation(tiny_results, metric=metric)
    assert [ax.get_title() for ax in fig.axes] == [
        "plain SGD, learning rate 0.01",
        "Adam, learning rate 0.001, cosine decay",
    ]
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    expected = ["ReLU + Glorot", "SELU + LeCun + AlphaDropout(0.1)"]
    assert labels == (expected + ["ln(10): guessing"] if "loss" in metric else expected)


def test_the_plot_refuses_an_unknown_metric(tiny_results):
    with pytest.raises(ValueError, match="metric must be one of val_accuracy"):
        experiments.plot_ablation(tiny_results, metric="val_acc")


def test_the_plot_can_show_some_variants_only(tiny_results):
    fig = experiments.plot_ablation(tiny_results, variants=["relu_glorot"])
    assert [line.get_label() for line in fig.axes[1].get_lines()] == ["ReLU + Glorot"]


def test_headline_figures_are_recorded_for_make_bench(tiny_results, tmp_path, monkeypatch):
    figures = experiments.headline_figures(tiny_results)
    name = "ablation_adam_selu_alpha_dropout_test_accuracy"
    tests = [r["test_accuracy"] for r in tiny_results["runs"] if r["regime"] == "adam"][1::2]
    assert figures[name] == round(float(np.mean(tests)), 4)
    assert figures[name + "_min"] == round(min(tests), 4)
    assert len(figures) == 2 * 2 * 2 * 3  # regimes x variants x figures x (mean, min, max)
    only_06 = experiments.headline_figures(tiny_results, notebook="07")
    assert only_06 and all("relu_glorot" in key for key in only_06)
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "results.jsonl"))
    experiments.record_figures(tiny_results, notebook="09")
    assert read_results(tmp_path / "results.jsonl") == experiments.headline_figures(
        tiny_results, notebook="09"
    )


# --------------------------------------------------------------------------- #
# The recorded results that ship with the package
# --------------------------------------------------------------------------- #


def test_the_recorded_ablation_is_complete_and_ships_with_the_package():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]
    assert experiments.RESULTS_FILE in package_data["package-data"]["course_utils"]
    results = experiments.load_results()
    assert results["profile"] == "full" and results["recipe"]["n_hidden"] == 20
    assert len(results["recipe"]["seeds"]) >= 3
    assert set(results["variants"]) == set(experiments.VARIANTS)
    assert set(results["regimes"]) == set(experiments.REGIMES)
    runs = len(results["recipe"]["seeds"]) * len(experiments.VARIANTS) * len(experiments.REGIMES)
    assert len(results["runs"]) == runs
    assert all(len(r["val_accuracy"]) == results["recipe"]["epochs"] for r in results["runs"])
    # every headline figure has a row in the benchmark's table, and every row a figure
    figures = experiments.headline_figures(results)
    rows = {t.name for t in TARGETS if t.name.startswith("ablation_")}
    assert rows == {name for name in figures if not name.endswith(("_min", "_max"))}


def test_xor_copies_each_learn_on_their_own(keras):
    """Notebook 02's copies: one accuracy per copy; with 8 hidden units every copy solves
    XOR, with 1 (one line) none can, and the same seed gives the same accuracies."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 10, dtype="float32")
    y = (X[:, 0] != X[:, 1]).astype("float32")[:, None]
    wide = experiments.train_xor_copies(X, y, hidden_units=8, n_copies=3, n_steps=200)
    assert wide.shape == (3,)
    assert np.all(wide == 1.0), wide
    narrow = experiments.train_xor_copies(X, y, hidden_units=1, n_copies=4, n_steps=200)
    again = experiments.train_xor_copies(X, y, hidden_units=1, n_copies=4, n_steps=200)
    assert np.array_equal(narrow, again)
    assert np.all(narrow < 1.0), narrow  # one tanh unit draws one line: XOR needs two
