"""What the parts of the grading code agree on, in one place: limits, names and messages.

The grading process, the learner's kernel (inside the sandbox), the judge and the class
command all read these. A limit changed here is changed everywhere; nothing else in
``course_utils.grading`` defines them (``tests/test_grading_units.py`` checks it).

Example:
    >>> not_graded("the data cache is damaged", student="ana", notebook="01")
    "Not graded: learner 'ana', notebook '01': the data cache is damaged"
    >>> NOTEBOOK_TIMEOUT // CELL_TIMEOUT
    5
"""

from __future__ import annotations

# ---- limits ---------------------------------------------------------------------------
CELL_TIMEOUT = 120  # seconds for one cell before it is interrupted
NOTEBOOK_TIMEOUT = 600  # seconds for a whole notebook
OUTPUT_LINES = 1000  # lines of output kept per cell
MEMORY_LIMIT = 8 * 1024**3  # bytes of address space per kernel process (TensorFlow reserves a lot)
FILE_SIZE_LIMIT = 1024**3  # bytes, the largest file learner code may write
TMPFS_SIZE = 1024**3  # bytes each for the kernel's home folder and /tmp
SHM_SIZE = 256 * 1024**2  # bytes of the kernel's /dev/shm
RUNTIME_SIZE = 64 * 1024  # bytes of the kernel's socket folder: sockets take none
KERNEL_PROCESSES = 1024  # processes and threads of one kernel (TensorFlow starts dozens)
KERNEL_MEMORY = 10 * 1024**3  # bytes, all of one kernel's processes together (control groups)

# ---- names ----------------------------------------------------------------------------
METADATA_KEY = "course_grading"  # notebook metadata: sandbox, judge, incidents, timing
NOT_RUN_ERROR = "NotRunError"  # a test cell not run (the kernel stopped, the budget was spent)
JUDGE_ERROR = "JudgeError"  # a test cell the judge could not finish
DEAD_KERNEL_ERROR = "DeadKernelError"  # the learner's kernel died in this cell
CELL_TIMEOUT_ERROR = "CellTimeoutError"  # the kernel stopped sending output in this cell
# error names in autograded notebooks that mean a limit was reached, as the report says them
LIMIT_ERRORS = {
    "MemoryError": "memory limit",
    CELL_TIMEOUT_ERROR: "a cell stopped at its timeout",
    DEAD_KERNEL_ERROR: "the kernel died",
    NOT_RUN_ERROR: "not run (the kernel stopped or the time budget was spent)",
}

# ---- the kernels' protocol (judge <-> grading process <-> learner's kernel) -------------
KERNEL_MODULE = "course_utils.grading.learner_kernel.kernel"  # starts every sandboxed kernel
KERNEL_SETUP_LINE = f"import {KERNEL_MODULE} as _k; _k.prepare_kernel()"  # Validate's kernels
ATTEMPT = "attempt"  # an incident kind: what learner code tried (files, network, programs)
REQUEST_PREFIX = "course-judge-request:"  # the prompt of every input() the judge sends
SOURCE_PREFIX = "course-judge-source:"  # the prompt that asks the grading process for a test
FILES = "files"  # the op of a request the grading process answers itself (a learner's file)
ANSWER, CALLBACK = "A:", "C:"  # what the grading process's replies to the judge start with
BRIDGE_CALLBACK_PREFIX = "course-judge-callback:"  # input() when learner code calls the judge
# The prompt of the input() that reads a request in the learner's kernel: a request travels
# on the kernel's stdin channel, not as code (a kernel compiles a cell's text at about
# 0.4 s per MB, and a request holding a model or a thousand images weighs several MB).
BRIDGE_REQUEST_PROMPT = "course-judge-request"
# The bridge answers every request of one test cell in one execution (an execution costs the
# kernel about 5 ms, an input() about 1 ms, and a test may ask a thousand times): each answer
# is the prompt of the input() that reads the next request, so it travels on the stdin
# channel in order with the learner code's calls of the judge's functions; the reply
# BRIDGE_DONE ends the loop (the test cell is over).
BRIDGE_ANSWER_PREFIX = "course-judge-answer:"
BRIDGE_DONE = "course-judge-done"

# ---- messages -------------------------------------------------------------------------
NOT_GRADED = "Not graded"  # starts every message for a submission graded neither right nor wrong


def not_graded(why: str, student: str | None = None, notebook: str | None = None) -> str:
    """The message for a submission that was not graded (the grader's problem, never a zero)."""
    if student is None:
        return f"{NOT_GRADED}: {why}"
    return f"{NOT_GRADED}: learner {student!r}, notebook {notebook or '?'!r}: {why}"
