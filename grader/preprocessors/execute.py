"""nbgrader's ``Execute``, hardened for broken and hostile submissions.

``GuardedExecute`` replaces ``Execute`` in the autograde pipeline. It runs
the notebook the same way and adds:

- limits: a per-cell timeout and a whole-notebook time limit, both sized per
  unit (``cell_timeouts``/``notebook_timeouts``); a cell is interrupted at
  whichever comes first, and cells after the notebook limit are not run;
- kernels under memory and file-size limits (``grader.preprocessors.kernel``);
- capped output, by size: a cell that prints millions of lines keeps the
  first ``max_stream_chars`` characters per stream (stderr stays stderr, so a
  test cell that writes to it still scores zero); figures and other rich
  outputs are kept up to ``max_cell_output_bytes`` a cell and
  ``max_output_bytes`` a notebook (and ``max_display_outputs`` a cell), an
  error's message and traceback up to ``max_error_chars``; the rest is dropped
  as it arrives, so neither memory nor the autograded notebook and its
  feedback page grow with what a submission prints;
- a dead kernel (``os._exit``, a crash, the memory limit) or one that ignores
  the interrupt after a timeout ends the run cleanly: the cells left are
  marked as not run (their tests score zero) and the reason is noted;
- test cells run sealed (``grader.preprocessors.seal``): their ``oracle(...)``
  expressions are removed, so no expected value is computed in the student's
  kernel (the judge takes them from the reference run); the notebook keeps the
  cell's source as released;
- test cells run with ``store_history=False`` and their source is dropped from
  IPython's line cache after they ran, so no later cell finds the hidden tests in
  ``In``, ``_ih``, the history database or ``linecache`` (code that runs *during* a test
  cell can still read its source: the feedback shows no text that code produced, see
  ``grader.preprocessors.judge.raised``);
- the runtime probe (``grader.preprocessors.probe``) after every cell, which notes any
  student cell that replaced something the tests rely on.

Everything it notices goes to the notebook's notes (``grader.reporting.notes``).
"""

import math
import signal
from queue import Empty
from time import monotonic

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer

from grader.preprocessors import probe
from grader.preprocessors.kernel import LimitedKernelManager
from grader.preprocessors.scan import protected_names
from grader.preprocessors.seal import seal
from grader.reporting import notes

RECORD = "application/vnd.dlcourse.check+json"  # dlcourse.checks.MIME
label = notes.cell_label
# The error names of the outputs the grader itself writes; a kernel's error of the same
# name is renamed (``_short_error``), so an output of these names is always the grader's.
GRADER_ERRORS = ("CellNotRun", "DeadKernelError", "CellTimeoutError")
# Forgets the line-cache entries of the cell source given as SOURCE.
FORGET_SOURCE = """
import linecache as _l
for _k in [k for k, v in list(_l.cache.items())
           if len(v) > 2 and ''.join(v[2]).strip() == SOURCE.strip()]:
    _l.cache.pop(_k, None)
del _l
"""


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def watched_names(nb):
    """Names the probe watches: what the tests rely on (``scan.protected_names``)."""
    code = [c for c in nb.cells if c.cell_type == "code" and utils.is_locked(c)]
    protected, test_builtins = protected_names(
        [c.source for c in code], [c.source for c in code if utils.is_grade(c)])
    return set(protected) | test_builtins


class GuardedExecute(Execute):
    """Execute with time, memory and output limits and an integrity probe."""

    cell_timeouts = Dict({}, help="Seconds per cell, by unit (others: `timeout`).").tag(config=True)
    notebook_timeouts = Dict({}, help="Seconds per notebook, by unit.").tag(config=True)
    notebook_timeout = Integer(3600, help="Seconds per notebook for other units.").tag(config=True)
    max_stream_chars = Integer(100_000, help="Characters kept per stream, cell").tag(config=True)
    max_display_outputs = Integer(50, help="Rich outputs (figures) kept per cell.").tag(config=True)
    max_cell_output_bytes = Integer(4_000_000, help="Bytes of rich output kept per cell.").tag(
        config=True)
    max_output_bytes = Integer(12_000_000, help="Bytes of output kept per notebook.").tag(
        config=True)
    max_error_chars = Integer(20_000, help="Characters of an error's message and traceback "
                                           "kept.").tag(config=True)
    max_record_bytes = Integer(256_000_000, help="Bytes of check records (dlcourse.checks: "
                                                 "values, models) kept per notebook.").tag(
        config=True)
    seal_oracles = Bool(True, help="Run test cells without their oracle(...) expressions "
                                   "(grader.preprocessors.seal).").tag(config=True)
    runtime_probe = Bool(True, help="Check after every cell what it replaced.").tag(config=True)
    probe_timeout = Integer(60, help="Seconds to wait for a probe.").tag(config=True)
    ping_timeout = Integer(10, help="Seconds an interrupted kernel has to answer.").tag(
        config=True)
    iopub_timeout = Integer(10).tag(config=True)
    raise_on_iopub_timeout = Bool(False).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", LimitedKernelManager)
        super().__init__(*args, **kwargs)

    # --- the run ---------------------------------------------------------------------
    def preprocess(self, nb, resources, km=None):
        unit = resources.get("nbgrader", {}).get("assignment", "")
        self._cell_limit = int(self.cell_timeouts.get(unit, self.timeout))
        self._notebook_limit = int(self.notebook_timeouts.get(unit, self.notebook_timeout))
        self._deadline = monotonic() + self._notebook_limit
        self._stopped = None
        self._fingerprint = None
        self._watched = watched_names(nb)
        self._budget = {}
        self._bytes_left = self.max_output_bytes
        self._record_bytes_left = self.max_record_bytes
        self._first_started = None
        self._record_times = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped is None and monotonic() >= self._deadline:
            self._stop(f"the notebook used up its time limit of {self._notebook_limit} s "
                       f"before {label(cell, index)}")
        if self._stopped is not None:
            cell.outputs = [error_output("CellNotRun", f"not run: {self._stopped}")]
            return cell, resources
        if self.runtime_probe and self._fingerprint is None:
            self._fingerprint = self._probe()
        self._budget[index] = {"stdout": self.max_stream_chars, "stderr": self.max_stream_chars,
                               "display": self.max_display_outputs,
                               "bytes": self.max_cell_output_bytes, "dropped": 0}
        started = monotonic()
        if self._first_started is None:
            self._first_started = started
        released = cell.source
        test = utils.is_grade(cell) and not utils.is_solution(cell)
        if self.seal_oracles and test:
            cell.source = seal(released)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if test:
                self._silent(f"SOURCE = {cell.source!r}\n" + FORGET_SOURCE)
        except DeadKernelError:
            reason = self._death()
            cell.outputs.append(error_output("DeadKernelError", reason))
            self._stop(f"{reason} while running {label(cell, index)}")
            return cell, resources
        except CellTimeoutError:
            self._kill()
            cell.outputs.append(error_output("CellTimeoutError", "the kernel stopped responding"))
            self._stop(f"the kernel stopped responding in {label(cell, index)}")
            return cell, resources
        finally:
            cell.source = released
        # the grader's own clock, for time budgets (grader.preprocessors.judge): each cell's
        # start and length, and when its check records arrived, in seconds since the first
        # cell started
        clock = resources.setdefault("dlcourse", {})
        clock.setdefault("seconds", {})[index] = monotonic() - started
        clock.setdefault("started", {})[index] = started - self._first_started
        clock.setdefault("records", {})[index] = self._record_times.get(index, [])
        self._after(cell, index)
        return cell, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        """Run a cell; a test cell without a place in IPython's history (``In``, ``_ih``,
        the history database), so later cells cannot read the hidden tests from it."""
        if utils.is_grade(cell) and not utils.is_solution(cell):
            store_history = False
        return await super().async_execute_cell(cell, cell_index, execution_count,
                                                store_history)

    execute_cell = run_sync(async_execute_cell)

    def _get_timeout(self, cell):
        if cell is None or not hasattr(self, "_deadline"):
            return super()._get_timeout(cell)
        left = math.ceil(self._deadline - monotonic())
        self._last_timeout = max(1, min(self._cell_limit, left))
        return self._last_timeout

    def _stop(self, reason):
        self._stopped = reason
        notes.add(self.nb, "review", "stopped", f"grading stopped: {reason}; "
                  "the cells after it were not run and their tests score zero")

    def _after(self, cell, index):
        names = {o.get("ename") for o in cell.outputs if o.get("output_type") == "error"}
        where = label(cell, index)
        dropped = self._budget.get(index, {}).get("dropped", 0)
        if dropped:
            notes.add(self.nb, "info", "output", f"{where} printed too much; "
                      f"{dropped} characters or outputs were dropped")
        if "MemoryError" in names:
            notes.add(self.nb, "review", "memory", f"{where} ran out of memory "
                      f"(the limit is {self._memory_limit()} MiB)")
        timed_out = "CellTimeoutError" in names
        if timed_out:
            limit = getattr(self, "_last_timeout", self._cell_limit)
            notes.add(self.nb, "review", "timeout", f"{where} ran longer than {limit} s "
                      "and was interrupted")
            if not self._ping(self.ping_timeout):
                self._kill()
                self._stop(f"the kernel did not stop when {where} was interrupted")
                return
        if self.runtime_probe:
            after = self._probe()
            if after is None:
                if not self._ping(self.ping_timeout):
                    self._kill()
                    self._stop(f"the kernel stopped responding after {where}")
                elif not utils.is_locked(cell):
                    notes.add(self.nb, "review", "tampering",
                              f"{where} broke the grader's integrity check")
                return
            if self._fingerprint is not None and not utils.is_locked(cell):
                for key, severity in probe.changes(self._fingerprint, after):
                    notes.add(self.nb, severity, "tampering", f"{where} {probe.describe(key)}")
            self._fingerprint = after

    # --- talking to the kernel outside the notebook's cells -------------------------------
    async def _async_silent(self, code, expressions=None, timeout=None):
        msg_id = await ensure_async(self.kc.execute(
            code, silent=True, store_history=False, user_expressions=expressions or {},
            allow_stdin=False))
        deadline = monotonic() + (timeout or self.probe_timeout)
        while (remaining := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=remaining))
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def _silent(self, code):
        """Run the grader's ``code`` in the kernel, outside the notebook's cells."""
        return self.kc is not None and run_sync(self._async_silent)(code) is not None

    def _probe(self):
        if self.kc is None:
            return None
        reply = run_sync(self._async_silent)(*probe.request(self._watched))
        return probe.parse(reply) if reply else None

    def _ping(self, timeout=None):
        return self.kc is not None and run_sync(self._async_silent)("pass", None,
                                                                     timeout) is not None

    def _kill(self):
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as exc:  # the kernel may be gone already
            self.log.warning("Could not shut the kernel down: %s", exc)

    def _memory_limit(self):
        return getattr(self.km, "memory_limit_mb", "no")

    def _death(self):
        code = None
        try:
            code = self.km.provisioner.process.poll()
        except AttributeError:
            pass
        if code is None:
            return "the kernel died"
        if code > 128 and getattr(self.km, "sandbox", False):
            code = 128 - code  # bwrap exits with 128 + N when its kernel dies of signal N
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return (f"the kernel was killed by {name} (it may have hit its "
                    f"{self._memory_limit()} MiB memory limit)")
        return f"the kernel exited with status {code}"

    # --- capped output ---------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        budget = self._budget.get(cell_index) if hasattr(self, "_budget") else None
        if budget is None:
            return super().output(outs, msg, display_id, cell_index)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            name = content.get("name", "stdout")
            text = content.get("text", "")
            left = budget.get(name, 0)
            if left <= 0:
                budget["dropped"] += len(text)
                return None
            if len(text) > left:
                budget["dropped"] += len(text) - left
                msg = {**msg, "content": {**content, "text": text[:left] +
                                          "\n... output truncated by the grader ...\n"}}
            budget[name] = left - len(text)
            self._bytes_left -= min(len(text), left)
        elif kind == "display_data" and RECORD in (content.get("data") or {}):
            size = _size(content.get("data"))
            if size > self._record_bytes_left:  # a flood of forged records: the cell fails
                budget["dropped"] += 1
                return None
            self._record_bytes_left -= size
            if self._first_started is not None:
                self._record_times.setdefault(cell_index, []).append(
                    monotonic() - self._first_started)
        elif kind in ("display_data", "execute_result", "update_display_data"):
            size = _size(content.get("data")) + _size(content.get("metadata"))
            if budget["display"] <= 0 or size > min(budget["bytes"], self._bytes_left):
                budget["dropped"] += 1
                return None
            budget["display"] -= 1
            budget["bytes"] -= size
            self._bytes_left -= size
        elif kind == "error":
            msg = {**msg, "content": self._short_error(content)}
        return super().output(outs, msg, display_id, cell_index)

    def _short_error(self, content):
        """An error's content cut to ``max_error_chars`` (its last traceback lines kept)."""
        limit = self.max_error_chars
        evalue = str(content.get("evalue", ""))
        trace = [str(line) for line in content.get("traceback", [])][-100:]
        if len(evalue) > limit:
            evalue = evalue[:limit] + " ... (cut by the grader)"
        while trace and sum(map(len, trace)) > limit:
            trace = trace[1:] if len(trace) > 1 else [trace[0][-limit:]]
        ename = str(content.get("ename", ""))[:200]
        if ename in GRADER_ERRORS:  # only the grader writes these (judge.raised trusts them)
            ename = f"Kernel{ename}"
        return {**content, "ename": ename, "evalue": evalue, "traceback": trace}


def _size(value):
    """Characters of a message part (a mime bundle's values, its metadata)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value)
    return len(str(value))
