"""course_utils.logs: TensorBoard's event files read back, every epoch of every tag."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import logs


def test_every_epoch_comes_back_as_history_has_it(keras, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)).astype("float32"), rng.integers(0, 2, size=64)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    epochs = 12  # more than the 10 values TensorBoard's reader keeps by default
    history = model.fit(
        X,
        y,
        epochs=epochs,
        validation_split=0.25,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(log_dir=tmp_path / "run")],
    )
    for folder, prefix in [("train", ""), ("validation", "val_")]:
        logged = logs.tensorboard_scalars(tmp_path / "run" / folder)
        assert {"epoch_loss", "epoch_accuracy"} <= set(logged), logged.keys()
        for tag in ("loss", "accuracy"):
            assert len(logged[f"epoch_{tag}"]) == epochs
            np.testing.assert_allclose(
                logged[f"epoch_{tag}"], history.history[prefix + tag], rtol=1e-5
            )


def test_a_folder_without_event_files_says_which_folder_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="train/ or validation/"):
        logs.tensorboard_scalars(tmp_path)
