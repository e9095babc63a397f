"""Reading back what training wrote to disk: TensorBoard's event files.

Example:
    >>> from course_utils import logs
    >>> logs.tensorboard_scalars("outputs/tensorboard/run/validation")   # doctest: +SKIP
    {'epoch_accuracy': [0.81, 0.84], 'epoch_loss': [0.52, 0.45]}
"""

from __future__ import annotations

from pathlib import Path


def tensorboard_scalars(folder: str | Path) -> dict[str, list[float]]:
    """Every value logged per epoch in one TensorBoard folder (``train/`` or
    ``validation/`` of a run), by tag, in step order.

    Keras's ``TensorBoard`` callback stores its scalars as tensors; TensorBoard's own reader
    keeps only a sample of 10 values per tag unless told to keep all, which this does.
    Raises ``FileNotFoundError`` if the folder holds no event file.

    Example:
        >>> tensorboard_scalars("logs/run/validation")["epoch_loss"]   # doctest: +SKIP
        [0.52, 0.45, 0.43]
    """
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = Path(folder)
    if not any(folder.glob("events.out.tfevents.*")):
        raise FileNotFoundError(
            f"no TensorBoard event file in {folder}: pass the train/ or validation/ folder "
            "of a run that a keras.callbacks.TensorBoard callback wrote"
        )
    reader = EventAccumulator(str(folder), size_guidance={"tensors": 0})  # 0: keep every value
    reader.Reload()
    return {
        tag: [float(tf.make_ndarray(event.tensor_proto)) for event in reader.Tensors(tag)]
        for tag in sorted(reader.Tags()["tensors"])
        if tag.startswith("epoch_")
    }
