"""A real IPython kernel that tests can feed notebooks and code to."""

import queue
from dataclasses import dataclass, field

import nbformat
from jupyter_client.manager import start_new_kernel

from dlcourse.checks import MIME


@dataclass
class Result:
    """What one executed piece of code produced."""

    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # "ExceptionName: message" when it raised
    outputs: list = field(default_factory=list)

    @property
    def ok(self):
        return self.error is None

    @property
    def records(self):
        """The ``dlcourse.checks`` records this code published, in order."""
        return [data[MIME] for data in self.outputs if MIME in data]


class LiveKernel:
    """Start a ``python3`` kernel in ``cwd``; run code in it; shut it down on close()."""

    def __init__(self, cwd, timeout=600):
        self.timeout = timeout
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, code, timeout=None):
        """Execute ``code`` as one cell and return its :class:`Result`."""
        result = Result()

        def collect(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stderr":
                    result.stderr += content["text"]
                else:
                    result.stdout += content["text"]
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind in ("execute_result", "display_data"):
                result.outputs.append(content["data"])

        try:
            reply = self.kc.execute_interactive(
                code, timeout=timeout or self.timeout, output_hook=collect, allow_stdin=False
            )
        except (TimeoutError, queue.Empty):
            self.km.interrupt_kernel()
            result.error = f"Timeout: cell ran longer than {timeout or self.timeout} s"
            return result
        if reply["content"]["status"] != "ok" and result.error is None:
            content = reply["content"]
            result.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
        return result

    def run_notebook(self, path):
        """Run every code cell of the notebook at ``path``; stop at the first error.

        Returns the list of (cell index, Result) pairs that ran.
        """
        nb = nbformat.read(path, as_version=4)
        ran = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            result = self.run(cell.source)
            ran.append((index, result))
            if not result.ok:
                raise AssertionError(f"{path} cell {index} failed: {result.error}\n{cell.source}")
        return ran

    def run_isolated(self, *codes):
        """Run ``codes`` one after another, then restore the kernel's globals.

        Lets a test try a wrong implementation and the checks against it
        without disturbing state (trained models, data) for the next test.
        Returns the list of Results.
        """
        self.run("__dlc_saved__ = dict(globals())")
        try:
            return [self.run(code) for code in codes]
        finally:
            # A function keeps its locals through clear(); names at the top level would not.
            self.run("def __dlc_restore__(g=globals()):\n"
                     "    saved = g['__dlc_saved__']\n"
                     "    g.clear()\n"
                     "    g.update(saved)\n"
                     "__dlc_restore__()")

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def graded_cells(path):
    """Map grade_id -> source for every nbgrader cell of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nb.cells
        if "nbgrader" in cell.metadata and "grade_id" in cell.metadata["nbgrader"]
    }


def graded_test_ids(path):
    """grade_ids of the graded (test) cells, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
