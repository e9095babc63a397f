"""Executing a submission for grading: in the sandbox, on a budget, with verdicts the kernel cannot fake.

:class:`GradingExecute` takes the place of nbgrader's ``Execute`` in autograding.
On top of it, it:

- starts the kernel in the sandbox (:mod:`course_utils.grading.sandbox`), or refuses
  with a clear message where there is none (``COURSE_GRADING_SANDBOX=off`` opts out);
- for a notebook whose source asks for the judge (:mod:`course_utils.grading.judging`),
  runs every graded test cell in the judge's kernel, which never runs learner code:
  nothing below about guards, probes and tokens applies to those cells, and nothing the
  learner's kernel reports changes a grade (it is recorded as an incident only);
- for the other notebooks, runs every graded test cell through the guard line
  (:func:`course_utils.grading.integrity.guard_line`) and puts its source back
  afterwards, tracebacks cleaned of the guard (they would quote hidden tests);
- sends a *probe* right after every test cell: a check that must fail, with a
  fresh random value in its message. A kernel that does not report that failure,
  word for word, has been tampered with (the guard line itself checks the kernel's
  machinery before each test);
- expects every guarded execution to announce its fresh token on the report
  channel, and collects what the kernel's monitor reports there;
- gives 0 to every test cell from the first sign of tampering on (an error output
  saying why), and records what was detected in the notebook's metadata
  (``course_grading``) and in the grading log;
- bounds each cell by ``timeout`` and the whole notebook by ``total_timeout``
  (through nbclient's public ``timeout_func``), and cuts a cell's output beyond
  ``max_output_bytes``;
- if the kernel dies, keeps what ran before and marks the rest as not run.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from course_utils.grading import integrity, monitor
from course_utils.grading.cells import grade_id, is_answer_cell, is_test_cell
from course_utils.grading.judging import Judge, JudgeSetupError, judged, setup_source
from course_utils.grading.preprocessors import GradingEnvironmentError
from course_utils.grading.sandbox import (
    UNSANDBOXED_WARNING,
    GradingKernelManager,
    SandboxedKernelManager,
    require_sandbox,
    sandbox_mode,
)

METADATA_KEY = "course_grading"
TAMPERING_ERROR = "GradingIntegrityError"
NOT_RUN_ERROR = "NotRunError"
JUDGE_ERROR = "JudgeError"
STOPPED = "stopped"  # an incident kind: the kernel died, hung or ran out of time
MAX_INCIDENTS = 100  # per notebook: a kernel that floods its report channel is cut short


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output that nbgrader scores as a failed cell."""
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GradingExecute(Execute):
    """nbgrader's ``Execute`` for grading untrusted notebooks (see the module docstring)."""

    total_timeout = Integer(
        600, help="Seconds one notebook may run in total; the rest of it is then not run."
    ).tag(config=True)
    probe_timeout = Integer(30, help="Seconds a kernel has to answer a probe.").tag(config=True)
    max_output_bytes = Integer(
        5_000_000, help="Bytes of output kept per cell; the rest is cut."
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        50_000_000, help="Bytes of output (and widget messages) kept for the whole notebook."
    ).tag(config=True)
    store_widget_state = Bool(False, help="Grading keeps no widget state.").tag(config=True)

    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._started: float | None = None
        self._reset()

    def _reset(self) -> None:
        self.judge: Judge | None = None
        self._judge_setup: str | None = None  # the setup cell, for a notebook the judge grades
        self.incidents: list[dict[str, str]] = []
        self._tampered_from: int | None = None
        self._tamper_reason = ""
        self._stopped: tuple[int, str] | None = None  # (cell index, why nothing more runs)
        self._pending: dict[str, tuple[int, str]] = {}  # token -> (cell index, what it guarded)
        self._output_bytes: dict[int, int] = {}
        self.timing: dict[str, float] = {}  # seconds by kind of work, for the class report
        self._first_cell_at: float | None = None
        self._started_at: float | None = None

    # ---- time ----------------------------------------------------------------------

    def seconds_left(self) -> float | None:
        """What is left of the notebook's budget, or None without one."""
        if self._started is None or not self.total_timeout or self.total_timeout < 0:
            return None
        return self.total_timeout - (self.clock() - self._started)

    def cell_timeout(self, cell: Any) -> int | None:
        """The per-cell timeout, cut to what is left of the notebook's budget (at least 1 s)."""
        timeout = self.timeout if self.timeout and self.timeout > 0 else None
        left = self.seconds_left()
        if left is None:
            return timeout
        left_whole = max(1, int(left))
        return left_whole if timeout is None else min(timeout, left_whole)

    # ---- the kernel ----------------------------------------------------------------

    def create_kernel_manager(self):
        if sandbox_mode() == "on":
            require_sandbox()
            self.kernel_manager_class = SandboxedKernelManager
        else:
            self.log.warning(UNSANDBOXED_WARNING)
            self.kernel_manager_class = GradingKernelManager
        km = super().create_kernel_manager()
        km.protected = self._protected_paths()
        return km

    def _protected_paths(self) -> tuple[str, ...]:
        """The instructor's folders: the course root (wherever it is seen from) and home."""
        paths = {str(Path.cwd().resolve()), str(Path.home())}
        notebook_dir = Path(self.resources.get("metadata", {}).get("path") or ".").resolve()
        if len(notebook_dir.parents) >= 3:
            paths.add(str(notebook_dir.parents[2]))  # <root>/autograded/<student>/<assignment>
        return tuple(sorted(paths))

    # ---- running -------------------------------------------------------------------

    def _source_notebook(self, resources: dict) -> Any:
        """The instructor's source notebook of what is graded, or None if it cannot be found."""
        from nbgrader.coursedir import CourseDirectory

        info = (resources or {}).get("nbgrader", {})
        if not info.get("assignment") or not info.get("notebook"):
            return None
        coursedir = CourseDirectory(config=self.config)
        folder = coursedir.format_path(coursedir.source_directory, ".", info["assignment"])
        path = Path(folder) / f"{info['notebook']}.ipynb"
        return nbformat.read(path, as_version=4) if path.exists() else None

    def preprocess(self, nb, resources=None, km=None):
        self._reset()
        source = self._source_notebook(resources or {})
        if source is not None and judged(source):
            self._judge_setup = setup_source(source)
        self.timeout_func = self.cell_timeout
        self._started = self.clock()
        began = self._started_at = time.perf_counter()
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        finally:
            self._started = None
            if self.judge is not None:
                run_sync(self.judge.stop)()
        self.timing["total"] = time.perf_counter() - began
        self._apply_verdicts(nb)
        self._record(nb, resources)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        began = time.perf_counter()
        if self._first_cell_at is None:  # the kernel is up: what came before was its start
            self._first_cell_at = began
            self._time("kernel start", began - (self._started_at or began))
            if self._judge_setup is not None:
                self._start_judge()
        kind = (
            "tests"
            if is_test_cell(cell)
            else "answers"
            if is_answer_cell(cell)
            else "setup"
            if not self.timing.get("setup")
            else "teaching"
        )
        try:
            return self._preprocess_code_cell(cell, index)
        finally:
            self._time(kind, time.perf_counter() - began)

    def _time(self, kind: str, seconds: float) -> None:
        self.timing[kind] = self.timing.get(kind, 0.0) + seconds

    def _preprocess_code_cell(self, cell, index):
        left = self.seconds_left()
        if self._stopped is None and left is not None and left <= 0:
            self._stop(index, f"the notebook used its whole time budget ({self.total_timeout} s)")
        if self._stopped is not None:
            cell.outputs = []
            if is_test_cell(cell):
                cell.outputs.append(error_output(NOT_RUN_ERROR, f"not run: {self._stopped[1]}"))
            return cell, self.resources
        try:
            if is_test_cell(cell) and self.judge is not None:
                cell = self._run_judged(cell, index)
            elif is_test_cell(cell):
                cell = self._run_guarded(cell, index)
                self._probe(index, "after")
            else:
                cell = self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self._stop(index, "the kernel died (the Python process running the notebook ended)")
            tail = list(getattr(self.km, "kernel_output", []))[-10:]
            if tail:
                self.log.warning("The kernel's last words:\n%s", "\n".join(tail))
            cell.outputs.append(error_output("DeadKernelError", self._stopped[1]))
        except CellTimeoutError:
            self._stop(index, "the kernel stopped sending its output (IOPub timeout)")
            cell.outputs.append(error_output("CellTimeoutError", self._stopped[1]))
        if self._stopped is None or self._stopped[0] != index:
            self._collect(index)
        return cell, self.resources

    def _start_judge(self) -> None:
        """The judge's kernel, started now so its setup overlaps the learner's first cells."""
        sandboxed = sandbox_mode() == "on"
        self.judge = Judge(
            self._judge_setup or "",
            self.kc,
            self.km.interrupt_kernel,
            sandboxed,
            list(self.extra_arguments),
            self.log,
            learner_root=getattr(self.km, "files_root", lambda: "/"),
        )
        path = self.resources.get("metadata", {}).get("path") or "."
        began = time.perf_counter()
        run_sync(self.judge.start)(str(Path(path).resolve()))
        self._time("judge start", time.perf_counter() - began)

    def _run_judged(self, cell: NotebookNode, index: int) -> NotebookNode:
        """The test cell run by the judge: its outputs are the judge's, its verdict too."""
        assert self.judge is not None
        name = grade_id(cell) or f"cell {index}"
        timeout = self.cell_timeout(cell) or self.timeout or 120
        began = time.perf_counter()
        try:
            cell.outputs = run_sync(self.judge.run_test)(cell.source, name, float(timeout))
        except JudgeSetupError as problem:  # the grader's own code: never the learner's zero
            info = self.resources.get("nbgrader", {})
            raise GradingEnvironmentError(
                f"Not graded: learner {info.get('student', '?')!r}, notebook "
                f"{info.get('notebook', '?')!r}: {problem}. This is not the learner's fault and "
                "no grade was recorded; fix the course's setup cell or the grading machine, "
                "then run nbgrader autograde again."
            ) from None
        except (RuntimeError, TimeoutError) as problem:
            cell.outputs = [error_output(JUDGE_ERROR, f"not graded by the judge: {problem}")]
            self._incident(index, STOPPED, "judge", str(problem))
        self._time("judge", time.perf_counter() - began)
        return cell

    def _run_guarded(self, cell: NotebookNode, index: int) -> NotebookNode:
        source = cell.source
        token = secrets.token_hex(16)
        name = grade_id(cell) or f"cell {index}"
        self._pending[token] = (index, f"test cell {name}")
        cell.source = integrity.guard_line(source, name, token)
        try:  # not in the kernel's history: the guard line holds the hidden tests
            cell = self.execute_cell(cell, index, store_history=False)
        finally:
            cell.source = source
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [
                    line for line in output.get("traceback", []) if integrity.GUARD_NAME not in line
                ]
        return cell

    def _over_budget(self, msg: dict, cell_index: int) -> tuple[bool, bool]:
        """(over a limit, just went over it) once this message's bytes are counted."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        total = self._output_bytes.get(-1, 0) + size
        self._output_bytes[-1] = total
        over = used > self.max_output_bytes or total > self.max_notebook_output_bytes
        was = (used - size > self.max_output_bytes) or (
            total - size > self.max_notebook_output_bytes
        )
        return over, over and not was

    def handle_comm_msg(self, outs, msg, cell_index):
        if not self._over_budget(msg, cell_index)[0]:
            super().handle_comm_msg(outs, msg, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        over, just_now = self._over_budget(msg, cell_index)
        if over:
            if just_now:
                outs.append(
                    NotebookNode(
                        output_type="stream",
                        name="stdout",
                        text="\n[output cut: more than this cell or notebook may keep "
                        f"({self.max_output_bytes:,} and {self.max_notebook_output_bytes:,} "
                        "bytes)]\n",
                    )
                )
            return None
        return super().output(outs, msg, display_id, cell_index)

    # ---- probes and reports --------------------------------------------------------

    def _probe(self, index: int, when: str) -> None:
        """Check that the kernel still reports a failing check as a failure."""
        name = grade_id(self.nb.cells[index]) or f"cell {index}"
        left = self.seconds_left()
        timeout = self.probe_timeout if left is None else max(1, min(self.probe_timeout, int(left)))
        nonce = f"grading-probe-{secrets.token_hex(8)}"
        a = random.SystemRandom().randrange(10**6)
        source = f"from course_utils import checks\nchecks.check_equal({nonce!r}, {a}, {a + 1})\n"
        token = secrets.token_hex(16)
        self._pending[token] = (index, f"the probe {when} test cell {name}")
        began = time.perf_counter()
        reply, errors = run_sync(self._async_execute_probe)(
            integrity.guard_line(source, name, token), timeout
        )
        self._time("probes", time.perf_counter() - began)
        if reply is None:
            if not run_sync(self.km.is_alive)():
                raise DeadKernelError("Kernel died")
            left = self.seconds_left()
            if left is not None and left <= 0:
                self._stop(
                    index, f"the notebook used its whole time budget ({self.total_timeout} s)"
                )
                return
            self._tampering(index, f"the kernel did not answer the probe {when} test cell {name}")
            self._stop(index, f"the kernel stopped answering ({timeout} s without a reply)")
            return
        content = reply.get("content", {})
        reported = [
            e for e in errors if e.get("ename") == "AssertionError" and nonce in e.get("evalue", "")
        ]
        if (
            content.get("status") != "error"
            or content.get("ename") != "AssertionError"
            or nonce not in str(content.get("evalue", ""))
            or not reported
        ):
            said = f"status {content.get('status')!r}, {content.get('ename')}"
            self._tampering(
                index,
                f"the kernel did not report a deliberate failure {when} test cell {name} "
                f"(it reported {said})",
            )

    async def _async_execute_probe(self, code: str, timeout: int) -> tuple[dict | None, list[dict]]:
        errors: list[dict] = []

        def hook(msg: dict) -> None:
            if msg.get("msg_type") == "error":
                errors.append(msg.get("content", {}))

        assert self.kc is not None
        try:
            reply = await self.kc.execute_interactive(
                code,
                silent=False,
                store_history=False,
                stop_on_error=False,
                allow_stdin=False,
                timeout=timeout,
                output_hook=hook,
            )
        except TimeoutError:
            return None, errors
        return reply, errors

    def _collect(self, index: int) -> None:
        """Read the report channel; every token expected so far must have arrived."""
        read = getattr(self.km, "read_reports", None)
        reports = read() if read else []
        for report in reports:
            if report.get("kind") == "echo":
                self._pending.pop(report.get("detail", ""), None)
            elif report.get("kind") in (monitor.TAMPERING, monitor.ATTEMPT):
                self._incident(
                    index, report["kind"], report.get("what", "?"), report.get("detail", "")
                )
        if read is not None:
            for token, (where, what) in list(self._pending.items()):
                del self._pending[token]
                self._tampering(where, f"{what} did not run through the grading guard")

    def _stop(self, index: int, why: str) -> None:
        """Run nothing more: the tests from here on fail, saying why."""
        self._stopped = (index, why)
        self._incident(index, STOPPED, "kernel", f"{why}; the rest of the notebook was not run")

    def _tampering(self, index: int, detail: str) -> None:
        self._incident(index, monitor.TAMPERING, "kernel", detail)

    def _incident(self, index: int, kind: str, what: str, detail: str) -> None:
        cell = self.nb.cells[index]
        where = grade_id(cell) or f"cell {index}"
        incident = {"kind": kind, "what": what, "detail": detail[:500], "cell": where}
        if incident not in self.incidents and len(self.incidents) < MAX_INCIDENTS:
            self.incidents.append(incident)
        if (
            kind == monitor.TAMPERING
            and self.judge is None  # with the judge, no verdict rests on the learner's kernel
            and (self._tampered_from is None or index < self._tampered_from)
        ):
            self._tampered_from = index
            self._tamper_reason = f"{detail}, in {where}"

    # ---- verdicts ------------------------------------------------------------------

    def _apply_verdicts(self, nb: NotebookNode) -> None:
        """0 for every test cell from the first sign of tampering on, with the reason shown."""
        if self._tampered_from is None:
            return
        for index, cell in enumerate(nb.cells):
            if index >= self._tampered_from and is_test_cell(cell):
                cell.setdefault("outputs", []).append(
                    error_output(
                        TAMPERING_ERROR,
                        "this test is not counted: the kernel was tampered with before it ran "
                        f"({self._tamper_reason})",
                    )
                )

    def _record(self, nb: NotebookNode, resources: dict) -> None:
        """Incidents into the notebook's metadata and the grading log."""
        info = resources.get("nbgrader", {})
        student, notebook = info.get("student", "?"), info.get("notebook", "?")
        nb.metadata[METADATA_KEY] = {
            "sandbox": sandbox_mode(),
            "judge": self.judge is not None,
            "judge_requests": self.judge.requests if self.judge is not None else 0,
            "incidents": self.incidents,
            "seconds": {kind: round(value, 2) for kind, value in self.timing.items()},
        }
        for incident in self.incidents:
            self.log.warning(
                "Grading %s: learner %r, notebook %r, %s: %s",
                incident["kind"],
                student,
                notebook,
                incident["cell"],
                incident["detail"],
            )
