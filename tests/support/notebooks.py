"""Execute whole notebooks with nbclient, and inspect them."""

import json

import nbformat
from nbclient import NotebookClient


def execute(path, cwd=None, timeout=600):
    """Execute the notebook at ``path`` top to bottom in a fresh kernel.

    Raises nbclient's CellExecutionError (with the cell and traceback) on the
    first error. Returns the executed notebook.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    client.execute()
    return nb


def stderr_outputs(nb):
    """(cell index, text) of every stderr stream in an executed notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append((i, out.get("text", "")))
    return found


def is_stripped(path):
    """True when no code cell of the notebook has outputs or an execution count."""
    cells = json.loads(path.read_text())["cells"]
    return not any(
        c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code"
    )
