"""On the grading machine: the judge's kernel, and the relay between it and the learner's kernel.

:class:`GradingExecute` runs the teaching and answer cells in the learner's kernel,
and every autograded test cell in a second kernel, the judge
(:mod:`course_utils.grading.judge_kernel.judge`), started in the same sandbox *without* the
learner's files, at the same time as the learner's kernel (it needs nothing of the learner's).
The judge first runs the notebook's setup cell (the instructor's, restored by nbgrader). For
each test cell:

1. the judge runs the test; each learner name it needs, each call of a learner's
   function, is an ``input()`` request on the judge kernel's stdin channel;
2. this relay runs the bridge
   (:func:`course_utils.grading.learner_kernel.bridge.serve_requests`) in the learner's
   kernel for the length of the test cell, hands it each request on the kernel's stdin
   channel and passes back the answer, as text: data only;
3. the judge's outputs (its printed lines, its failing check) become the cell's
   outputs, so nbgrader scores what the judge decided.

The learner's kernel gets requests (names, call arguments), never a test's code or
expected values; the judge gets data, never a learner's object. A test that looks at a
file the learner's code wrote (:class:`course_utils.grading.judge_kernel.judge.LearnerPath`) is
answered here, by :func:`learner_file`, which reads the learner's sandbox from outside. What the learner's
code prints while the judge calls it is not kept (it could only echo requests).

Example:
    >>> setup_source({"cells": [{"cell_type": "code", "source": "import numpy as np",
    ...     "metadata": {"nbgrader": {"grade_id": "setup"}}}]})
    'import numpy as np'
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import posixpath
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from course_utils.grading import wire
from course_utils.grading.contract import (
    ANSWER,
    BRIDGE_ANSWER_PREFIX,
    BRIDGE_CALLBACK_PREFIX,
    BRIDGE_DONE,
    BRIDGE_REQUEST_PROMPT,
    CALLBACK,
    FILES,
    REQUEST_PREFIX,
    SOURCE_PREFIX,
)
from course_utils.grading.host.sandbox import GradingKernelManager, SandboxedKernelManager

SETUP_ID = "setup"
SETUP_TIMEOUT = 300  # seconds the judge's setup cell may take (it imports TensorFlow)
MAX_LISTED = 1000  # names of one folder a test may list
MAX_READ = 32 * 1024**2  # bytes of one learner's file a test may read
STOP_SERVING_TIMEOUT = 10  # seconds the bridge's loop may take to end after a test cell
SERVE_REQUESTS = (
    "__import__('course_utils.grading.learner_kernel.bridge', fromlist=['serve_requests'])"
    ".serve_requests()"
)
NO_ANSWER = wire.error(RuntimeError("the learner's kernel gave no answer"))
KERNEL_DIED = wire.error(
    RuntimeError("your code ended the Python process that runs your notebook (the kernel died)")
)
ALIVE_CHECK_EVERY = 1.0  # seconds between checks that the learner's kernel still runs


class JudgeSetupError(RuntimeError):
    """The judge could not run the notebook's setup cell: the grader's problem, not a learner's."""


def setup_source(source_notebook: Any) -> str:
    """The instructor's setup cell (``grade_id`` ``setup``), or nothing."""
    for cell in source_notebook.get("cells", []):
        info = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and info.get("grade_id") == SETUP_ID:
            return cell.get("source", "")
    return ""


def learner_file(root: str, what: str, path: str) -> Any:
    """``stat`` (mode and size), ``list`` (names) or ``read`` (bytes) of ``path`` in the
    learner's sandbox, whose ``/`` is ``root`` (``/proc/<pid>/root``), seen from outside.

    The path is walked one folder at a time and no link is followed, so a learner's
    link cannot lead this process to any file of the grading machine's.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> (Path(folder) / "made").mkdir()
        >>> (Path(folder) / "link").symlink_to("/etc")
        >>> learner_file(folder, "list", "/")
        ['link', 'made']
        >>> learner_file(folder, "stat", "/link/passwd")
        Traceback (most recent call last):
        ...
        NotADirectoryError: [Errno 20] Not a directory: 'link'
    """
    if not path.startswith("/"):
        raise FileNotFoundError(
            errno.ENOENT, "a relative path (the judge asks for absolute ones)", path
        )
    parts = [part for part in posixpath.normpath(path).split("/") if part]
    folder = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:  # O_NOFOLLOW with O_DIRECTORY: a link is "not a directory"
            inner = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        name = parts[-1] if parts else "."
        seen = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if what == "stat":
            return {"mode": seen.st_mode, "size": seen.st_size}
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
        if what == "list":
            handle = os.open(name, flags | os.O_DIRECTORY, dir_fd=folder)
            try:
                return sorted(os.listdir(handle))[:MAX_LISTED]
            finally:
                os.close(handle)
        if what == "read":
            handle = os.open(name, flags, dir_fd=folder)
            try:
                if not stat.S_ISREG(os.fstat(handle).st_mode):
                    raise IsADirectoryError(errno.EISDIR, "not a file", path)
                data = os.read(handle, MAX_READ + 1)
            finally:
                os.close(handle)
            if len(data) > MAX_READ:
                raise OSError(
                    errno.EFBIG, f"larger than the {MAX_READ:,} bytes a test may read", path
                )
            return data
        raise ValueError(f"unknown question about a file: {what!r}")
    finally:
        os.close(folder)


def answer_file_question(root: str, request: str) -> str:
    """The judge's question about a learner's file (JSON), answered as data or an error."""
    try:
        question = json.loads(request)
        if question.get("op") != FILES:
            raise ValueError("not a question about a file")
        return wire.encode(learner_file(root, str(question["what"]), str(question["path"])))
    except Exception as error:
        return wire.error(error)


class _NoLearnerFiles:
    """The judge's kernel starts in an empty folder: nothing of the learner's."""

    scratch: Path

    def _stage_learner_files(self) -> None:
        (self.scratch / "submission").mkdir(exist_ok=True)


class JudgeKernelManager(_NoLearnerFiles, SandboxedKernelManager):
    """The judge's kernel, in the grading sandbox."""


class UnsandboxedJudgeKernelManager(_NoLearnerFiles, GradingKernelManager):
    """The judge's kernel where grading runs without the sandbox (``COURSE_GRADING_SANDBOX=off``)."""


def _as_output(msg: dict) -> NotebookNode | None:
    if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
        return nbformat.v4.output_from_msg(msg)
    return None


class Judge:
    """One notebook's judge kernel (see the module docstring)."""

    def __init__(self, setup: str, sandboxed: bool, extra_arguments: list[str], log: Any) -> None:
        self.setup = setup
        self.log = log
        cls = JudgeKernelManager if sandboxed else UnsandboxedJudgeKernelManager
        self.km = cls(kernel_name="python3")
        self.extra_arguments = extra_arguments
        self.kc: Any = None
        self.learner: Any = None  # the learner kernel's client (see attach)
        self.learner_root: Callable[[], str] = lambda: "/"  # the learner's "/", seen from here
        self.interrupt_learner: Callable[[], Any] | None = None  # a coroutine function
        self.learner_alive: Callable[[], Any] | None = None  # coroutine: is its process up?
        self.requests = 0
        self._serving: str | None = None  # the bridge's loop running in the learner's kernel
        self._waiting = False  # that loop waits for a request
        self._reads: dict[str, asyncio.Future] = {}  # the learner kernel's channels, read
        self._setup_id: str | None = None
        self._source = ""

    async def launch(self, cwd: str) -> None:
        """Start the judge kernel's process. Nothing of the learner's is needed yet, so it
        starts beside the learner's kernel (each takes about 0.7 s)."""
        await self.km.start_kernel(cwd=cwd, extra_arguments=self.extra_arguments)

    def attach(
        self,
        learner: Any,
        interrupt_learner: Callable[[], Any],
        learner_root: Callable[[], str] = lambda: "/",
        learner_alive: Callable[[], Any] | None = None,
    ) -> None:
        """The learner's kernel the tests' requests go to, once it is up."""
        self.learner = learner
        self.interrupt_learner = interrupt_learner
        self.learner_root = learner_root
        self.learner_alive = learner_alive

    async def start(self) -> None:
        """Connect to the kernel (see :meth:`launch`) and send it the setup cell (its reply is
        awaited with the first test)."""
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=120)
        if self.setup.strip():
            self._setup_id = self.kc.execute(self.setup, store_history=False)

    async def _setup_done(self, timeout: float) -> str | None:
        """None once the setup cell ran cleanly; else what went wrong."""
        if self._setup_id is None:
            return None
        msg_id, self._setup_id = self._setup_id, None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "the judge's setup cell did not finish in time"
            try:
                reply = await self.kc.get_shell_msg(timeout=left)
            except Exception:
                return "the judge's setup cell did not finish in time"
            if reply["parent_header"].get("msg_id") == msg_id:
                content = reply["content"]
                if content.get("status") != "ok":
                    return f"the judge's setup cell failed: {content.get('ename')}: {content.get('evalue')}"
                return None

    async def run_test(self, source: str, grade_id: str, timeout: float) -> list[NotebookNode]:
        """The outputs of one test cell run by the judge (an error output if it failed)."""
        problem = await self._setup_done(max(timeout, SETUP_TIMEOUT))
        if problem:
            raise JudgeSetupError(problem)
        self._source = source  # handed over when the judge asks (see run_test_cell)
        code = (
            "import course_utils.grading.judge_kernel.judge as _course_judge\n"
            f"_course_judge.run_test_cell({grade_id!r}, get_ipython().user_ns)"
        )
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=True)
        outputs: list[NotebookNode] = []
        deadline = time.monotonic() + timeout
        reply: dict | None = None
        idle = False
        channels: dict[str, Callable] = {
            "stdin": self.kc.get_stdin_msg,
            "iopub": self.kc.get_iopub_msg,
            "shell": self.kc.get_shell_msg,
        }
        pending = {asyncio.ensure_future(get(timeout=None)): name for name, get in channels.items()}
        try:
            while reply is None or not idle:
                left = deadline - time.monotonic()
                if left <= 0:
                    await self.km.interrupt_kernel()
                    raise TimeoutError(f"the test did not finish in {timeout:.0f} s")
                done, _ = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    name = pending.pop(task)
                    msg = task.result()
                    ours = msg.get("parent_header", {}).get("msg_id") == msg_id
                    if ours and name == "stdin":
                        # before the next stdin read: a callback reads the judge's stdin itself
                        # the learner's code must answer a little earlier, so that the
                        # judge can still say whose code took too long
                        await self._relay(msg, deadline - min(5.0, 0.1 * timeout))
                    pending[asyncio.ensure_future(channels[name](timeout=None))] = name
                    if not ours or name == "stdin":
                        continue
                    if name == "shell":
                        reply = msg
                    elif msg["msg_type"] == "status":
                        idle = msg["content"].get("execution_state") == "idle"
                    else:
                        output = _as_output(msg)
                        if output is not None:
                            outputs.append(output)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self._stop_serving(interrupt=False)
        return outputs

    async def _relay(self, msg: dict, deadline: float) -> None:
        """Answer one judge request with what the learner's kernel says (data, or an error)."""
        prompt = msg["content"].get("prompt", "")
        if prompt.startswith(SOURCE_PREFIX):
            self.kc.input(self._source)
            return
        if not prompt.startswith(REQUEST_PREFIX):
            self.kc.input(ANSWER + wire.error(RuntimeError("the judge asked something unknown")))
            return
        self.requests += 1
        request = prompt[len(REQUEST_PREFIX) :]
        if request.startswith(f'{{"op": "{FILES}"'):  # the judge's own format (judge._files)
            self.kc.input(ANSWER + answer_file_question(self.learner_root(), request))
            return
        answer = await self.ask_learner(request, deadline)
        self.kc.input(ANSWER + answer)

    async def ask_learner(self, request: str, deadline: float) -> str:
        """The learner kernel's answer to one request (data, or an error as data).

        The bridge's loop (:func:`~course_utils.grading.learner_kernel.bridge.serve_requests`)
        runs in the learner's kernel from the test cell's first request to its end; each
        request is the reply to the loop's ``input()``, and each answer is the prompt of the
        ``input()`` that reads the next one."""
        if self._serving is None:
            self._serving = self.learner.execute(
                SERVE_REQUESTS, store_history=False, allow_stdin=True, stop_on_error=False
            )
            self._waiting = False
            self._reads = {
                "stdin": asyncio.ensure_future(self.learner.get_stdin_msg(timeout=None)),
                "iopub": asyncio.ensure_future(self.learner.get_iopub_msg(timeout=None)),
            }
        unsent = not self._waiting
        if self._waiting:
            self.learner.input(request)
            self._waiting = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                await self._stop_serving(interrupt=True)
                return wire.error(TimeoutError("your code did not answer in time"))
            done, _ = await asyncio.wait(
                self._reads.values(),
                timeout=min(left, ALIVE_CHECK_EVERY),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done and self.learner_alive is not None and not await self.learner_alive():
                self._serving = None  # nothing to stop: nothing runs there any more
                await self._stop_serving(interrupt=False)
                return KERNEL_DIED
            for name, task in list(self._reads.items()):
                if task not in done:
                    continue
                msg = task.result()
                getter = (
                    self.learner.get_stdin_msg if name == "stdin" else self.learner.get_iopub_msg
                )
                self._reads[name] = asyncio.ensure_future(getter(timeout=None))
                if msg.get("parent_header", {}).get("msg_id") != self._serving:
                    continue  # an earlier execution's, stopped on a timeout
                if name == "iopub":
                    if (
                        msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle"
                    ):  # the loop ended without an answer (the learner's code stopped it)
                        await self._stop_serving(interrupt=False)
                        return NO_ANSWER
                    continue  # what the learner's code prints is not kept
                prompt = msg["content"].get("prompt", "")
                if prompt == BRIDGE_REQUEST_PROMPT and unsent:
                    self.learner.input(request)
                    unsent = False
                elif prompt.startswith(BRIDGE_ANSWER_PREFIX) and not unsent:
                    self._waiting = True  # the loop waits for the next request
                    return prompt[len(BRIDGE_ANSWER_PREFIX) :]
                elif prompt.startswith(BRIDGE_CALLBACK_PREFIX):
                    # the learner's code calls one of the judge's functions: the judge runs it
                    self.kc.input(CALLBACK + prompt[len(BRIDGE_CALLBACK_PREFIX) :])
                    self.learner.input(await self._callback_result(deadline))
                else:
                    self.learner.input(
                        wire.error(RuntimeError("input() is not available in grading"))
                    )

    async def _stop_serving(self, interrupt: bool) -> None:
        """End the bridge's loop in the learner's kernel (the test cell is over, or its
        time is up): the kernel is free for the notebook's next cell."""
        serving, self._serving = self._serving, None
        reads, self._reads = self._reads, {}
        try:
            if serving is None:
                return
            if interrupt or not self._waiting:
                if self.interrupt_learner is not None:  # as for a cell that runs too long
                    await self.interrupt_learner()
            else:
                self.learner.input(BRIDGE_DONE)
            # wait (briefly) until the loop's execution is over, so its last messages
            # cannot reach the notebook's next cell
            deadline = time.monotonic() + STOP_SERVING_TIMEOUT
            iopub = reads.pop("iopub", None)
            while (left := deadline - time.monotonic()) > 0:
                if iopub is None:
                    iopub = asyncio.ensure_future(self.learner.get_iopub_msg(timeout=None))
                done, _ = await asyncio.wait([iopub], timeout=left)
                if not done:
                    break
                msg, iopub = iopub.result(), None
                if (
                    msg.get("parent_header", {}).get("msg_id") == serving
                    and msg["msg_type"] == "status"
                    and msg["content"].get("execution_state") == "idle"
                ):
                    break
            if iopub is not None:
                reads["iopub"] = iopub
        finally:
            self._waiting = False
            for task in reads.values():
                task.cancel()
            await asyncio.gather(*reads.values(), return_exceptions=True)

    async def _callback_result(self, deadline: float) -> str:
        """The judge's next request must carry a callback's result (the learner's kernel is
        waiting for it, so a request to it now is refused)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return wire.error(TimeoutError("the grader's function did not finish in time"))
            try:
                msg = await self.kc.get_stdin_msg(timeout=left)
            except Exception:
                return wire.error(TimeoutError("the grader's function did not finish in time"))
            prompt = msg["content"].get("prompt", "")
            try:
                request = json.loads(prompt[len(REQUEST_PREFIX) :])
            except ValueError:
                request = {}
            if request.get("op") == "result" and isinstance(request.get("value"), str):
                return request["value"]
            busy = RuntimeError("the learner's kernel is busy calling the grader's function")
            self.kc.input(ANSWER + wire.error(busy))

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        try:
            await self.km.shutdown_kernel(now=True)
        except Exception as error:  # a kernel already gone
            self.log.debug("judge kernel shutdown: %s", error)
