"""Executing a submission for grading: in the sandbox, on a budget, every test cell in the judge.

:class:`GradingExecute` takes the place of nbgrader's ``Execute`` in autograding.
On top of it, it:

- starts the kernel in the sandbox (:mod:`course_utils.grading.host.sandbox`), or refuses
  with a clear message where there is none (``COURSE_GRADING_SANDBOX=off`` opts out);
- runs the teaching and answer cells in the learner's kernel, and every graded test
  cell in the judge's kernel (:mod:`course_utils.grading.host.judging`), which never runs
  learner code: the verdict comes from the judge, never from the learner's kernel;
- collects what the kernel's monitor reports (files outside the sandbox, network,
  programs) as incidents for the instructor: no grade depends on them;
- bounds each cell by ``timeout`` and the whole notebook by ``total_timeout``
  (through nbclient's public ``timeout_func``), and cuts a cell's output beyond
  ``max_output_bytes``;
- if the kernel dies, keeps what ran before and marks the rest as not run;
- runs only the grading slice (:mod:`course_utils.grading.nbgrader_steps.grading_slice`):
  the cells the answers and tests need; if an error could come from a skipped cell, the
  notebook is graded again in full and that result is kept;
- records the incidents and where the time went in the notebook's metadata
  (``contract.METADATA_KEY``) and the grading log.

``judge = False`` runs test cells in the learner's kernel as plain nbgrader does: for the
benchmark's baseline only, never to grade (any learner code could then fake a result).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from course_utils.grading.contract import (
    ATTEMPT,
    CELL_TIMEOUT_ERROR,
    DEAD_KERNEL_ERROR,
    JUDGE_ERROR,
    METADATA_KEY,
    NOT_RUN_ERROR,
    not_graded,
)
from course_utils.grading.host.judging import Judge, JudgeSetupError, setup_source
from course_utils.grading.host.sandbox import (
    UNSANDBOXED_WARNING,
    GradingKernelManager,
    SandboxedKernelManager,
    course_utils_problem,
    require_sandbox,
    sandbox_mode,
)
from course_utils.grading.nbgrader_steps.budget import OutputBudget, TimeBudget
from course_utils.grading.nbgrader_steps.cells import grade_id, is_answer_cell, is_test_cell
from course_utils.grading.nbgrader_steps.grading_slice import first_explained_error, slice_of
from course_utils.grading.nbgrader_steps.incident_log import IncidentLog
from course_utils.grading.nbgrader_steps.preprocessors import GradingEnvironmentError

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
    sandbox = Unicode(
        "",
        help="'on' or 'off': grade in the sandbox or not. Empty: as COURSE_GRADING_SANDBOX says "
        "(the class command sets it for each submission).",
    ).tag(config=True)
    judge = Bool(
        True,
        help="Run test cells in the judge. False (plain nbgrader, the learner's kernel runs the "
        "tests and can fake them) exists for the benchmark's baseline only.",
    ).tag(config=True)
    max_output_bytes = Integer(
        5_000_000, help="Bytes of output kept per cell; the rest is cut."
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        50_000_000, help="Bytes of output (and widget messages) kept for the whole notebook."
    ).tag(config=True)
    grading_slice = Bool(
        True,
        help="Run only the cells the answers and tests need (the grading slice), and grade "
        "again in full if an error could come from a skipped cell. False runs every cell.",
    ).tag(config=True)
    store_widget_state = Bool(False, help="Grading keeps no widget state.").tag(config=True)

    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.budget = TimeBudget(self.total_timeout, self.clock)
        self._reset()

    def _reset(self) -> None:
        self.judging: Judge | None = None  # the judge's kernel, from the first code cell on
        self._judge_setup = ""  # the instructor's setup cell, the first thing the judge runs
        self.incidents = IncidentLog(MAX_INCIDENTS)
        self._stopped: tuple[int, str] | None = None  # (cell index, why nothing more runs)
        self.output_budget = OutputBudget(self.max_output_bytes, self.max_notebook_output_bytes)
        self.timing: dict[str, float] = {}  # seconds by kind of work, for the class report
        self._first_cell_at: float | None = None
        self._started_at: float | None = None
        self._skip: set[int] = set()  # cells the grading slice does not run
        self._slice: dict[str, Any] = {}

    def sandbox_mode(self) -> str:
        """'on' or 'off': this configuration's, else the environment's."""
        return self.sandbox or sandbox_mode()

    def cell_timeout(self, cell: Any) -> int | None:
        """The per-cell timeout, cut to what is left of the notebook's budget (at least 1 s)."""
        return self.budget.cell_timeout(self.timeout)

    # ---- the kernel ----------------------------------------------------------------

    def create_kernel_manager(self):
        if self.sandbox_mode() == "on":
            require_sandbox()
            self.kernel_manager_class = SandboxedKernelManager
        else:
            mismatch = course_utils_problem()
            if mismatch:
                raise GradingEnvironmentError(not_graded(mismatch))
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
        if self.judge:
            if source is None:  # the grader's problem: never a learner's zero
                info = (resources or {}).get("nbgrader", {})
                raise GradingEnvironmentError(
                    not_graded(
                        "the instructor's source notebook was not found, and the judge needs its "
                        "setup cell. Run nbgrader autograde from the course folder (the one with "
                        "nbgrader_config.py and source/ or solutions/).",
                        info.get("student", "?"),
                        info.get("notebook", "?"),
                    )
                )
            self._judge_setup = setup_source(source)
        steps = slice_of(nb, source) if self.grading_slice and source is not None else []
        skip = {step.index for step in steps if not step.keep}
        whole = copy.deepcopy(nb) if skip else None
        nb, resources = self._run(nb, resources, km, skip)
        fallback = first_explained_error(nb.cells, skip)
        if fallback and whole is not None:
            self.log.warning(
                "Grading %s again without the slice: %s",
                (resources or {}).get("nbgrader", {}).get("notebook", "the notebook"),
                fallback,
            )
            setup = self._judge_setup
            self._reset()
            self._judge_setup = setup
            nb, resources = self._run(whole, resources, km, set())
        self._slice = {
            "cells_run": len(steps) - len(skip) if steps else None,
            "cells_skipped": 0 if fallback else len(skip),
            "fallback": fallback,
        }
        self._record(nb, resources)
        return nb, resources

    def _run(self, nb, resources, km, skip: set[int]):
        """Run the notebook once, every code cell but those in ``skip``."""
        self._skip = skip
        self.timeout_func = self.cell_timeout
        self.budget = TimeBudget(self.total_timeout, self.clock)
        self.budget.start()
        began = self._started_at = time.perf_counter()
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        finally:
            self.budget.stop()
            if self.judging is not None:
                run_sync(self.judging.stop)()
        self.timing["total"] = time.perf_counter() - began
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        if index in self._skip:  # not in the grading slice: nothing the tests need
            cell.outputs, cell.execution_count = [], None
            return cell, self.resources
        began = time.perf_counter()
        if self._first_cell_at is None:  # the kernel is up: what came before was its start
            self._first_cell_at = began
            self._time("kernel start", began - (self._started_at or began))
            if self.judge:
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
        left = self.budget.seconds_left()
        if self._stopped is None and left is not None and left <= 0:
            self._stop(index, f"the notebook used its whole time budget ({self.total_timeout} s)")
        if self._stopped is not None:
            cell.outputs = []
            if is_test_cell(cell):
                cell.outputs.append(error_output(NOT_RUN_ERROR, f"not run: {self._stopped[1]}"))
            return cell, self.resources
        try:
            if is_test_cell(cell) and self.judging is not None:
                cell = self._run_judged(cell, index)
            elif is_test_cell(cell):  # judge = False: the benchmark's baseline
                cell = self.execute_cell(cell, index, store_history=False)
            else:
                cell = self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self._stop(index, "the kernel died (the Python process running the notebook ended)")
            tail = list(getattr(self.km, "kernel_output", []))[-10:]
            if tail:
                self.log.warning("The kernel's last words:\n%s", "\n".join(tail))
            cell.outputs.append(error_output(DEAD_KERNEL_ERROR, self._stopped[1]))
        except CellTimeoutError:
            self._stop(index, "the kernel stopped sending its output (IOPub timeout)")
            cell.outputs.append(error_output(CELL_TIMEOUT_ERROR, self._stopped[1]))
        if self._stopped is None or self._stopped[0] != index:
            self._collect(index)
        return cell, self.resources

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        """The learner's kernel, and the judge's beside it: the judge's process needs nothing
        of the learner's, so the two starts overlap (each takes about 0.7 s)."""
        if not self.judge:
            await super().async_start_new_kernel(**kwargs)
            return
        self.judging = Judge(
            self._judge_setup or "",
            self.sandbox_mode() == "on",
            list(self.extra_arguments),
            self.log,
        )
        path = self.resources.get("metadata", {}).get("path") or "."
        started = await asyncio.gather(  # both finish, so that a failure leaves nothing running
            super().async_start_new_kernel(**kwargs),
            self.judging.launch(str(Path(path).resolve())),
            return_exceptions=True,
        )
        failed = [outcome for outcome in started if isinstance(outcome, BaseException)]
        if failed:  # the judge is stopped with the notebook's run; the learner's kernel here
            if not isinstance(started[0], BaseException):
                await ensure_async(self.km.shutdown_kernel(now=True))
            raise failed[0]

    start_new_kernel = run_sync(async_start_new_kernel)

    def _start_judge(self) -> None:
        """The judge, tied to the learner's kernel (now up) and sent its setup cell, so that
        its setup overlaps the learner's first cells."""
        assert self.judging is not None
        self.judging.attach(
            self.kc,
            self.km.interrupt_kernel,
            learner_root=getattr(self.km, "files_root", lambda: "/"),
            learner_alive=self.km.is_alive,
        )
        began = time.perf_counter()
        run_sync(self.judging.start)()
        self._time("judge start", time.perf_counter() - began)

    def _run_judged(self, cell: NotebookNode, index: int) -> NotebookNode:
        """The test cell run by the judge: its outputs are the judge's, its verdict too."""
        assert self.judging is not None
        name = grade_id(cell) or f"cell {index}"
        timeout = self.cell_timeout(cell) or self.timeout or 120
        began = time.perf_counter()
        try:
            cell.outputs = run_sync(self.judging.run_test)(cell.source, name, float(timeout))
        except JudgeSetupError as problem:  # the grader's own code: never the learner's zero
            info = self.resources.get("nbgrader", {})
            raise GradingEnvironmentError(
                not_graded(
                    f"{problem}. This is not the learner's fault and no grade was recorded; fix "
                    "the course's setup cell or the grading machine, then run nbgrader "
                    "autograde again.",
                    info.get("student", "?"),
                    info.get("notebook", "?"),
                )
            ) from None
        except (RuntimeError, TimeoutError) as problem:
            cell.outputs = [error_output(JUDGE_ERROR, f"not graded by the judge: {problem}")]
            self._incident(index, STOPPED, "judge", str(problem))
        self._time("judge", time.perf_counter() - began)
        return cell

    def handle_comm_msg(self, outs, msg, cell_index):
        if not self.output_budget.count(msg, cell_index)[0]:
            super().handle_comm_msg(outs, msg, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        over, just_now = self.output_budget.count(msg, cell_index)
        if over:
            if just_now:
                outs.append(self.output_budget.notice())
            return None
        return super().output(outs, msg, display_id, cell_index)

    # ---- reports -----------------------------------------------------------------

    def _collect(self, index: int) -> None:
        """Read the report channel: what the learner's code tried, as incidents (no verdict)."""
        read = getattr(self.km, "read_reports", None)
        for report in read() if read else []:
            self._incident(
                index,
                report.get("kind", ATTEMPT),
                report.get("what", "?"),
                report.get("detail", ""),
            )

    def _stop(self, index: int, why: str) -> None:
        """Run nothing more: the tests from here on fail, saying why."""
        self._stopped = (index, why)
        self._incident(index, STOPPED, "kernel", f"{why}; the rest of the notebook was not run")

    def _incident(self, index: int, kind: str, what: str, detail: str) -> None:
        self.incidents.add(grade_id(self.nb.cells[index]) or f"cell {index}", kind, what, detail)

    # ---- the record ----------------------------------------------------------------

    def _record(self, nb: NotebookNode, resources: dict) -> None:
        """Incidents into the notebook's metadata and the grading log."""
        info = resources.get("nbgrader", {})
        student, notebook = info.get("student", "?"), info.get("notebook", "?")
        nb.metadata[METADATA_KEY] = {
            "sandbox": self.sandbox_mode(),
            "judge": self.judging is not None,
            "judge_requests": self.judging.requests if self.judging is not None else 0,
            "incidents": self.incidents.items,
            "seconds": {kind: round(value, 2) for kind, value in self.timing.items()},
            "slice": self._slice,
        }
        self.incidents.log_to(self.log, student, notebook)
