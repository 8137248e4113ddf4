"""Run trusted code in a fresh sandboxed kernel that no student code has touched.

The grader's own judgements need values computed where no submission could
interfere: the solution notebook's test cells (``grader.preprocessors.reference``) and the
evaluation of a submitted model (``grader.preprocessors.judge``). Both run here, through
nbclient with the grading kernels' manager (``LimitedKernelManager``: the same
sandbox, uid and limits), so a model file parsed here is parsed sandboxed too.
"""

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grader.preprocessors.kernel import LimitedKernelManager


def run(nb, folder, config, timeout=600, log=None):
    """Execute ``nb`` (errors allowed) in a fresh sandboxed kernel whose working folder is
    a copy of ``folder``'s plain files; return the executed notebook."""
    nb = nbformat.from_dict(nb)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        kernel_manager_class=LimitedKernelManager, config=config,
        resources={"metadata": {"path": str(folder)}}, **({"log": log} if log else {}))
    client.execute()
    return nb


def run_code(source, folder, config, timeout=600, log=None):
    """Run one cell of ``source``; return its outputs."""
    nb = run(new_notebook(cells=[new_code_cell(source)]), folder, config, timeout, log)
    return nb.cells[0].outputs
