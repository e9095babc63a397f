"""The grading kernel: what runs before the first cell of every notebook that autograding executes.

Autograding starts ``python -I -B -m course_utils.grading.learner_kernel.kernel [options] -- <ipykernel
arguments>`` (inside the sandbox, see :mod:`course_utils.grading.host.sandbox`) instead of
``ipykernel_launcher``. Before any learner code runs it:

1. sets the grading environment: the fast profile, TensorFlow quiet, warnings off
   (:func:`grading_environment`);
2. lowers the resource limits, hard limits included, so learner code cannot raise
   them again (:func:`limit_resources`);
3. copies the learner's files (never the notebooks, which hold the hidden tests
   during grading) into its working folder and moves there;
4. installs the monitor (:mod:`course_utils.grading.learner_kernel.monitor`) on the report channel;
5. starts ipykernel.

Kernels that nbgrader's *Validate* starts (``make validate``, the toolbar button) run
the learner's own code on the learner's own machine: they only get steps 1 and 2,
through the start-up line :func:`kernel_setup_line`.

Example:
    >>> kernel_setup_line()
    'import course_utils.grading.learner_kernel.kernel as _k; _k.prepare_kernel()'
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from course_utils.config import (
    PROFILE_ENV,
    QUIET_TENSORFLOW_ENV,
    SEED_OFFSET_ENV,
    quiet_tensorflow,
)
from course_utils.grading.contract import FILE_SIZE_LIMIT, KERNEL_SETUP_LINE, MEMORY_LIMIT
from course_utils.grading.layout import Layout, copy_learner_files

GRADING_PROFILE = "fast"


def grading_environment() -> None:
    """Set what every grading kernel runs with: the fast profile and a quiet TensorFlow.

    nbgrader scores a graded cell that writes to stderr as 0, so TensorFlow's log
    lines must be off before it is imported. Calling it twice changes nothing.
    """
    os.environ[PROFILE_ENV] = GRADING_PROFILE
    os.environ.pop(SEED_OFFSET_ENV, None)  # the same submission always gets the same grade
    os.environ.update(QUIET_TENSORFLOW_ENV)
    quiet_tensorflow()
    warnings.simplefilter("ignore")


def limit_resources(
    memory: int = MEMORY_LIMIT, file_size: int = FILE_SIZE_LIMIT, processes: int | None = None
) -> None:
    """Cap the kernel's memory, file size, core dumps (and processes); hard limits too.

    A runaway allocation then raises ``MemoryError`` in its cell instead of taking
    the grading machine down. Limits already lower than these are kept. The process
    limit counts every process of the user, so it is only set inside the sandbox,
    whose own user namespace holds the kernel's processes alone.
    """
    try:
        import resource
    except ImportError:  # not on Windows: validation there runs without limits
        return
    limits = [
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, file_size),
        (resource.RLIMIT_CORE, 0),
    ]
    if processes is not None:
        limits.append((resource.RLIMIT_NPROC, processes))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def prepare_kernel(
    memory: int = MEMORY_LIMIT, file_size: int = FILE_SIZE_LIMIT, processes: int | None = None
) -> None:
    """Steps 1 and 2: the grading environment and the resource limits."""
    grading_environment()
    limit_resources(memory, file_size, processes)


def kernel_setup_line() -> str:
    """The IPython start-up line that prepares kernels started without this launcher."""
    return KERNEL_SETUP_LINE


def main(argv: list[str] | None = None) -> None:
    """Start a grading kernel: ``python -I -B -m course_utils.grading.learner_kernel.kernel [options] -- ARGS``."""
    from course_utils.grading.learner_kernel import monitor

    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading.learner_kernel.kernel")
    parser.add_argument("--report-fd", type=int, default=None)
    parser.add_argument("--layout", default=None, help="JSON of layout.Layout")
    parser.add_argument("--copy-from", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--memory-limit", type=int, default=MEMORY_LIMIT)
    parser.add_argument("--file-size-limit", type=int, default=FILE_SIZE_LIMIT)
    parser.add_argument("--max-processes", type=int, default=None)
    options = parser.parse_args(argv[:split])
    kernel_args = argv[split + 1 :]

    prepare_kernel(options.memory_limit, options.file_size_limit, options.max_processes)
    if options.work is not None:
        if options.copy_from is not None:
            copy_learner_files(options.copy_from, options.work)
        os.chdir(options.work)
    layout = Layout.from_json(options.layout) if options.layout else Layout()
    if options.report_fd is not None:
        os.set_blocking(options.report_fd, False)
    monitor.install(monitor.Reporter(options.report_fd), layout)

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(kernel_args)
    app.start()


if __name__ == "__main__":
    main()
