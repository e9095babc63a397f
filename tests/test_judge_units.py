"""The judge's pieces in one process: the data codec, the learner-side bridge, proxies and runs.

A fake learner kernel is a dict served by :func:`course_utils.grading.learner_kernel.bridge.serve`, so these
run in milliseconds; ``tests/test_grading_sandbox.py`` runs the same attacks through nbgrader.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_utils import checks
from course_utils.grading import contract, wire
from course_utils.grading.judge_kernel import judge
from course_utils.grading.learner_kernel import bridge


def learner(namespace: dict):
    """``ask`` for a judge whose learner kernel holds ``namespace``."""

    def ask(request: str) -> str:
        return bridge.serve(request, namespace)

    return ask


def judged(test: str, namespace: dict) -> dict:
    ns: dict = {"checks": checks, "np": np}
    judge.run(test, "t_tests", ns, ask=learner(namespace))
    return ns


# --------------------------------------------------------------------------- wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -3,
        2**80,
        1.5,
        float("inf"),
        "text",
        b"\x00\xff",
        [1, [2, (3, None)]],
        (1.0, "a"),
        {"a": 1, 2: (3,)},
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.array(["Bag", "Coat"]),
        np.float32(0.25),
        slice(1, None, 2),
    ],
)
def test_data_crosses_unchanged_with_exact_types(value):
    back = wire.decode(wire.encode(value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value


@pytest.mark.parametrize(
    "text",
    [
        '{"A": ["|O", [1], "AA=="]}',  # object arrays could hold anything
        '{"A": ["<f8", [3], "AA=="]}',  # too few bytes for the shape
        '{"Z": 1}',  # unknown tag
        '{"T": [1], "D": []}',  # two tags
        '{"a": 1}',  # a plain object
        "[" * 5000 + "]" * 5000,  # nested too deep
        "not json",
        '{"R": [1.5, 2, null]}',  # a slice of floats
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(wire.WireError):
        wire.decode(text)


def test_subclasses_never_cross_as_data():
    class Yes(int):
        def __eq__(self, other):
            return True

    with pytest.raises(wire.WireError):
        wire.encode(Yes(1))
    with pytest.raises(wire.WireError):
        wire.encode(np.zeros(3).view(type("Sub", (np.ndarray,), {})))


# --------------------------------------------------------------------------- judge


def test_a_right_answer_passes_and_a_wrong_one_fails():
    judged('checks.check_equal("double(2)", double(2), 4)', {"double": lambda x: 2 * x})
    with pytest.raises(AssertionError, match="expected 4, got 2"):
        judged('checks.check_equal("double(2)", double(2), 4)', {"double": lambda x: x})


@pytest.mark.parametrize(
    "answer",
    [
        "class Yes(int):\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "    __hash__ = int.__hash__\nvalue = Yes(0)",
        "class Close(float):\n    def __eq__(self, o): return True\n    def __sub__(self, o): return 0.0\n"
        "    __rsub__ = __sub__\nvalue = Close(0.0)",
        "import numpy as np\nclass Agree(np.ndarray):\n"
        "    def __eq__(self, o): return np.ones(np.shape(o), bool)\n"
        "    def __array_ufunc__(self, *a, **k): return np.zeros(4)\n"
        "    def __array__(self, dtype=None, copy=None): return np.arange(4.0)\n"
        "value = np.zeros(4).view(Agree)",
        "class Same(tuple):\n    def __eq__(self, o): return True\nvalue = Same((9,))",
    ],
)
def test_values_that_lie_fail(answer):
    namespace: dict = {}
    exec(answer, namespace)
    with pytest.raises((AssertionError, AttributeError, judge.LearnerCodeError, TypeError)):
        judged(
            "checks.check_close('answer', np.asarray(value), np.arange(4.0))\n"
            "checks.check_equal('answer', value, (0, 1, 2, 3))",
            {"value": namespace["value"]},
        )


def test_the_learners_exception_is_named():
    def broken(x):
        raise NotImplementedError("not yet")

    with pytest.raises(judge.LearnerCodeError, match="NotImplementedError: not yet"):
        judged("broken(1)", {"broken": broken})


def test_objects_stay_behind_handles_and_answer_with_data():
    class Model:
        units = 300

        def __call__(self, x):
            return np.asarray(x) * 2

        def layers(self):
            return ["Dense", "Dense"]

    ns = judged(
        "out = model(np.ones(3))\nunits = model.units\nnames = model.layers()\n"
        "rows = list(model_list)\nfirst = big[:2]\nsize = len(big)",
        {"model": Model(), "model_list": [1, 2], "big": np.zeros((5_000_000,), np.float32)},
    )
    assert type(ns["out"]) is np.ndarray and ns["out"].tolist() == [2.0, 2.0, 2.0]
    assert ns["units"] == 300 and ns["names"] == ["Dense", "Dense"]
    assert ns["rows"] == [1, 2] and ns["size"] == 5_000_000
    assert ns["first"].shape == (2,)  # a slice of a large array, not the whole of it


def test_check_type_and_hasattr_see_through_proxies():
    class Dataset:
        pass

    Dataset.__qualname__ = "DatasetV2"
    Dataset.__module__ = "tensorflow.python.data.ops.dataset_ops"
    ns = judged("thing = make()", {"make": Dataset})
    assert checks._remote_types(ns["thing"])[0].endswith(".DatasetV2")
    assert not checks._not_a_dataset(ns["thing"])
    with pytest.raises(AssertionError, match="expected a int, got DatasetV2"):
        checks.check_type("thing", ns["thing"], int)
    assert not hasattr(ns["thing"], "numpy")  # an AttributeError over there stays one here


def test_the_judges_functions_are_called_back_never_sent(monkeypatch):
    """A test passes its own function to the learner's code: each call comes back to the judge
    (here ``input()`` stands in for the grading process's relay)."""
    seen_by_learner: list[str] = []

    def relay(prompt: str) -> str:  # what judging.Judge does between the two kernels
        assert prompt.startswith(contract.BRIDGE_CALLBACK_PREFIX)
        seen_by_learner.append(prompt)
        call = json.loads(prompt[len(contract.BRIDGE_CALLBACK_PREFIX) :])
        args = wire.from_data(call["args"])
        return wire.encode(judge._callbacks[call["id"]](*args))

    monkeypatch.setattr("builtins.input", relay)

    def numerical_gradient(f, x):
        return np.array([(f(x + e) - f(x - e)) / 2e-4 for e in np.eye(len(x)) * 1e-4])

    ns = judged(
        "secret = 'hidden-constant'\ngrad = numerical_gradient(lambda v: float(v @ v), np.ones(2))",
        {"numerical_gradient": numerical_gradient},
    )
    assert np.allclose(ns["grad"], [2.0, 2.0])
    assert len(seen_by_learner) == 4 and "hidden-constant" not in "".join(seen_by_learner)
    assert "lambda" not in "".join(seen_by_learner)  # the function's code never crossed


def test_classes_and_other_objects_cannot_be_sent_to_the_learner():
    with pytest.raises(wire.WireError):
        judged("apply(object())", {"apply": lambda f: f})
    with pytest.raises(wire.WireError):
        wire.decode('{"J": 1}')  # the judge never accepts a function from the learner


def test_only_allowed_helpers_are_applied_over_there():
    ask = learner({"x": object()})
    remote = judge.fetch("x", ask)
    with pytest.raises(judge.LearnerCodeError, match="may not be applied"):
        remote.course_remote_apply("os.system")


def test_names_read_are_those_the_test_does_not_bind():
    source = (
        "import numpy as np\nresult = f(X[:3])\ndef g(a):\n    return a + h\nprint(result, g(1))"
    )
    assert judge.names_read(source) == ["f", "print", "X", "h"]  # run() keeps builtins its own


def test_requests_are_json_and_name_nothing_of_the_test():
    sent: list[dict] = []
    ask = learner({"double": lambda x: 2 * x})

    def spy(request: str) -> str:
        sent.append(json.loads(request))
        return ask(request)

    judge.run("hidden = 'secret-expected-value'\nassert double(3) == 6", "t", {}, ask=spy)
    assert "secret" not in json.dumps(sent)
    assert [r["op"] for r in sent] == ["get", "call"]


def test_models_of_built_in_layers_arrive_as_models_others_stay_behind():
    """A Keras model of Keras's own layers crosses as its .keras file, loaded in safe mode;
    one of the learner's classes stays a proxy, checked through calls."""
    keras = pytest.importorskip("keras")

    class Mine(keras.Model):  # a learner's class: it cannot load in the judge
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3, activation="relu")

        def call(self, x):
            return self.dense(x)

    def sequential():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])

    mine = Mine()
    mine(np.zeros((1, 4), np.float32))
    ns = judged(
        "seq = sequential()\nout = seq(np.ones((2, 4), np.float32))\nm = mine",
        {"sequential": sequential, "mine": mine},
    )
    assert checks.type_name(ns["seq"]) == "Sequential" and isinstance(ns["seq"], keras.Model)
    checks.check_units(ns["seq"], [3])
    checks.check_activations(ns["seq"], ["relu"])
    assert checks.type_name(ns["m"]) == "Mine" and not isinstance(ns["m"], keras.Model)
    assert checks.is_instance(ns["m"], keras.Model)
    checks.check_units(ns["m"], [3])  # through the proxy: layers, units, activation names
    checks.check_activations(ns["m"], ["relu"])
    assert ns["m"].count_params() == 15


def test_weightless_keras_objects_cross_as_configs_and_only_keras_ones_rebuild():
    keras = pytest.importorskip("keras")
    ns = judged(
        "layer, loss = make()",
        {"make": lambda: (keras.layers.Dense(4, activation="softmax"), keras.losses.Huber())},
    )
    assert type(ns["layer"]) is keras.layers.Dense and ns["layer"].units == 4
    assert checks.loss_name(ns["loss"]) == "huber"
    for config in (
        {"module": "os", "class_name": "system", "config": {}},
        {"module": "keras_lookalike", "class_name": "Dense", "config": {}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense"},
        {"class_name": "__lambda__", "config": {"code": "..."}},
    ):
        with pytest.raises(judge.LearnerCodeError, match="Keras's own classes"):
            judge.load_config(wire.KerasConfig(config))


def test_the_judges_keras_objects_and_tensors_reach_the_learner_rebuilt():
    """A test passes its own adapted layer, model and tensors to the learner's code."""
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    data = np.random.default_rng(0).random((40, 3)).astype(np.float32)

    def learner_uses(layer, model, tensor, variable):
        assert type(layer).__name__ == "Normalization" and type(model).__name__ == "Sequential"
        assert isinstance(variable, tf.Variable)
        return np.asarray(model(layer(tensor))), float(tf.reduce_sum(variable))

    ns = {"checks": checks, "np": np, "tf": tf, "keras": keras, "data": data}
    setup = (
        "norm = keras.layers.Normalization()\nnorm.adapt(data)\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "x = tf.constant(data[:5])\nv = tf.Variable([1.0, 2.0])\n"
        "out, total = learner_uses(norm, model, x, v)\n"
        "checks.check_close('model(norm(x))', out, np.asarray(model(norm(x))), atol=1e-5)\n"
        "checks.check_close('sum of v', total, 3.0)"
    )
    judge.run(setup, "t", ns, ask=learner({"learner_uses": learner_uses}))


def test_a_model_file_with_a_lambda_is_refused():
    """A learner's .keras file that carries code (a Lambda layer) does not load in the judge."""
    keras = pytest.importorskip("keras")
    import os
    import tempfile

    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 0 + 1)])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        model.save(path)
        with open(path, "rb") as handle:
            data = handle.read()
    with pytest.raises(judge.LearnerCodeError, match="safe mode"):
        judge.load_model(wire.KerasFile(data))


def _keras_file(model) -> bytes:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        model.save(path)
        with open(path, "rb") as handle:
            return handle.read()


def test_models_load_as_keras_loads_them_built_once():
    """wire.load_keras_file builds a Sequential model once (Keras's loader rebuilds it after
    each layer): the model that arrives is the one Keras's own loader gives, layer for layer,
    weight for weight, prediction for prediction."""
    keras = pytest.importorskip("keras")
    import os
    import tempfile

    from keras.src.models.sequential import Sequential

    keras.utils.set_random_seed(0)
    norm = keras.layers.Normalization()
    norm.adapt(np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4)).astype("float32"))
    inner = keras.Sequential([keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
    no_input = keras.Sequential([keras.layers.Dense(6), keras.layers.LeakyReLU(0.3)])
    no_input.build((None, 4))
    x = keras.Input((4,))
    models = {
        "deep": keras.Sequential(
            [keras.Input((4,)), norm]
            + [layer for _ in range(6) for layer in (keras.layers.Dense(8), keras.layers.ELU())]
            + [keras.layers.BatchNormalization(), keras.layers.Dropout(0.2), keras.layers.Dense(3)]
        ),
        "nested": keras.Sequential([keras.Input((4,)), inner, keras.layers.Softmax()]),
        "built_without_input": no_input,
        "functional": keras.Model(x, keras.layers.Dense(2)(keras.layers.Dense(3)(x))),
    }
    models["deep"].compile(optimizer="adam", loss="mse")
    data = np.random.default_rng(1).normal(size=(7, 4)).astype("float32")
    original = Sequential.__dict__["from_config"]
    for name, model in models.items():
        file = _keras_file(model)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.keras")
            with open(path, "wb") as handle:
                handle.write(file)
            expected = keras.saving.load_model(path, safe_mode=True)
        got = wire.load_keras_file(file)
        assert type(got) is type(expected), name
        assert got.get_config() == expected.get_config(), name
        assert [type(layer) for layer in got.layers] == [type(layer) for layer in expected.layers]
        assert len(got.weights) == len(expected.weights) == len(model.weights), name
        for mine, keras_own in zip(got.get_weights(), expected.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, keras_own)
        np.testing.assert_allclose(got.predict(data, verbose=0), model.predict(data, verbose=0))
    assert Sequential.__dict__["from_config"] is original  # Keras's loader is back as it was
    lambda_model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda v: v * 0 + 1)])
    with pytest.raises(ValueError, match="[Ll]ambda"):  # safe mode refuses it, mid-loading
        wire.load_keras_file(_keras_file(lambda_model))
    assert Sequential.__dict__["from_config"] is original  # also after a failure


def test_callbacks_with_unknown_numbers_or_garbage_give_errors_not_functions():
    """What the learner's kernel sends as a callback is data: a wrong number or garbage
    comes back as an error for the learner's code, and nothing else runs."""
    judge._callbacks[1] = lambda x: x
    sent: list[str] = []

    def ask(request: str) -> str:
        sent.append(request)
        return contract.ANSWER + "0"

    for text in ('{"id": 999, "args": [], "kwargs": {"D": []}}', "not json", '{"id": 1}'):
        assert judge._call_back(ask, text) == contract.ANSWER + "0"  # the next reply, as sent
        result = json.loads(sent[-1])
        assert result["op"] == "result"
        with pytest.raises(wire.RemoteError):
            wire.decode(result["value"])


# --------------------------------------------------------------------------- files, lending


def learner_and_files(namespace: dict, root: str = "/"):
    """``ask`` as the grading process answers it: file questions from outside, the rest by
    the learner's kernel."""
    from course_utils.grading.host import judging

    ask_learner = learner(namespace)

    def ask(request: str) -> str:
        if request.startswith(f'{{"op": "{contract.FILES}"'):
            return judging.answer_file_question(root, request)
        return ask_learner(request)

    return ask


def test_paths_cross_as_text_and_the_judge_looks_at_the_files_itself(tmp_path):
    from pathlib import Path, PosixPath

    class Lying(PosixPath):
        def is_dir(self):
            return True

        def exists(self):
            return True

    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "inside.txt").write_text("hello")
    namespace = {
        "make_honest": lambda root: Path(root) / "made",
        "make_lying": lambda root: Lying(root) / "never-made",
    }
    test = (
        "p = make_honest(root)\n"
        "checks.check_type('p', p, Path)\n"
        "checks.check_equal('p is a folder', p.is_dir(), True)\n"
        "checks.check_equal('names', [q.name for q in p.iterdir()], ['inside.txt'])\n"
        "checks.check_equal('text', (p / 'inside.txt').read_text(), 'hello')\n"
        "checks.check_equal('parent', p.parent.resolve(), Path(root).resolve())\n"
        "q = make_lying(root)\n"
        "lie = (q.exists(), q.is_dir())\n"
    )
    ns: dict = {"checks": checks, "Path": Path, "root": str(tmp_path)}
    judge.run(test, "t_tests", ns, ask=learner_and_files(namespace))
    assert type(ns["q"]) is judge.LearnerPath and ns["lie"] == (False, False)
    with pytest.raises(PermissionError):
        ns["p"].joinpath("new").mkdir()  # a test cannot change the learner's files
    with pytest.raises(PermissionError):
        (ns["p"] / "inside.txt").write_text("changed")
    assert (tmp_path / "made" / "inside.txt").read_text() == "hello"


def test_the_grading_process_never_follows_a_learners_link(tmp_path, monkeypatch):
    import errno
    import os

    from course_utils.grading.host import judging

    root = tmp_path / "sandbox"
    (root / "tmp").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("the solutions")
    (root / "tmp" / "to-secret").symlink_to(secret)
    (root / "tmp" / "to-outside").symlink_to(tmp_path)
    os.mkfifo(root / "tmp" / "fifo")
    (root / "tmp" / "big").write_bytes(b"x" * 100)
    for what, path, error in [
        ("read", "/tmp/to-secret", errno.ELOOP),  # the link itself is not opened
        ("stat", "/tmp/to-outside/secret.txt", errno.ENOTDIR),  # nor walked through
        ("list", "/tmp/to-outside", errno.ENOTDIR),
        ("read", "/tmp/../../secret.txt", errno.ENOENT),  # ".." stops at the sandbox's /
        ("stat", "tmp/big", errno.ENOENT),  # relative paths are refused
        ("read", "/tmp/fifo", errno.EISDIR),  # not a file: refused, without blocking
    ]:
        with pytest.raises(OSError) as raised:
            judging.learner_file(str(root), what, path)
        assert raised.value.errno == error, (what, path, raised.value)
    seen = judging.learner_file(str(root), "stat", "/tmp/to-secret")
    assert seen["size"] == len(str(secret))  # the link's own size, not the file's
    monkeypatch.setattr(judging, "MAX_READ", 10)
    with pytest.raises(OSError, match="larger than"):
        judging.learner_file(str(root), "read", "/tmp/big")
    with pytest.raises(wire.RemoteError):  # only stat, list and read are answered
        wire.decode(judging.answer_file_question(str(root), '{"op": "files", "what": "rm"}'))


def test_lent_models_and_datasets_are_used_over_there_and_taken_back():
    import keras
    import tensorflow as tf

    def train(model, dataset):
        model.fit(dataset, epochs=1, verbose=0)
        return [int(x.shape[0]) for x, _ in dataset]

    namespace = {"train": train, "make_variable": lambda: tf.Variable([1.0, 2.0])}
    test = (
        "keras.utils.set_random_seed(1)\n"
        "model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])\n"
        "model.compile(loss='mse', optimizer=keras.optimizers.SGD(0.1))\n"
        "before = model.get_weights()[0].copy()\n"
        "x, y = np.ones((10, 3), 'float32'), np.zeros((10, 1), 'float32')\n"
        "data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)\n"
        "lent = checks.in_your_kernel(model)\n"
        "sizes = train(lent, checks.in_your_kernel(data))\n"
        "back = checks.from_your_kernel(lent)\n"
        "variable = make_variable()\n"
    )
    ns: dict = {"checks": checks, "np": np, "keras": keras, "tf": tf}
    judge.run(test, "t_tests", ns, ask=learner_and_files(namespace))
    assert isinstance(ns["lent"], judge.Remote)
    assert ns["sizes"] == [4, 4, 2]  # the same batches, in order
    assert np.array_equal(ns["model"].get_weights()[0], ns["before"])  # the judge's: untouched
    assert not np.allclose(ns["back"].get_weights()[0], ns["before"])  # trained over there
    assert isinstance(ns["variable"], tf.Variable)
    assert ns["variable"].numpy().tolist() == [1.0, 2.0]
    # in the learner's own kernel (no judge running a test) both are the value itself
    judge._asking = None
    assert checks.in_your_kernel(ns["model"]) is ns["model"]
    assert checks.from_your_kernel(ns["model"]) is ns["model"]


def test_the_judges_large_arrays_reach_the_learner_as_data():
    """A learner's large array stays behind a handle; the judge's goes over as data."""
    big = np.ones((5, wire.INLINE_ARRAY_BYTES // 8 + 1), dtype=np.float32)
    width = big.shape[1]
    test = f"big = np.ones((5, {width}), dtype=np.float32)\ntotal = add_up(big)\nkept = data"
    ns = judged(test, {"add_up": lambda x: float(x.sum()), "data": big})
    assert ns["total"] == big.size  # inputs are evaluated: the judge's array arrived whole
    assert isinstance(ns["kept"], judge.Remote)


def test_the_bridge_reads_requests_from_stdin_and_answers_in_the_next_prompt(monkeypatch):
    """The grading process sends requests on the kernel's stdin channel (a request of several
    MB compiled as a cell's code would cost seconds); each answer is the prompt of the input()
    that reads the next request, so answers and the learner code's calls of the judge's
    functions arrive in order on one channel, and one execution serves a whole test cell."""
    prompts: list[str] = []
    replies = iter([json.dumps({"op": "get", "name": "big"}), "not json", contract.BRIDGE_DONE])

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    monkeypatch.setattr("builtins.input", fake_input)
    bridge.serve_requests({"big": np.arange(1_000_000)})
    assert [p[:20] for p in prompts] == [
        contract.BRIDGE_REQUEST_PROMPT,
        contract.BRIDGE_ANSWER_PREFIX[:20],
        contract.BRIDGE_ANSWER_PREFIX[:20],
    ]
    first = prompts[1][len(contract.BRIDGE_ANSWER_PREFIX) :]
    np.testing.assert_array_equal(wire.decode(first), np.arange(1_000_000))
    with pytest.raises(wire.RemoteError, match="JSONDecodeError"):  # not JSON: an error as data
        wire.decode(prompts[2][len(contract.BRIDGE_ANSWER_PREFIX) :])
