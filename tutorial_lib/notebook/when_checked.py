"""The `%%when_checked <definitions>` cell magic: run a cell once the learner's code passes its check.

A cell that shows the learner's code at work (a DAG run observed, a schedule ticking) cannot do so before the
code is written. Marked with this magic, it runs when `wb.checked(name)` is done, and otherwise says, in one
line, what is not done yet, so a notebook runs top to bottom on untouched starters without an error.
"""

from __future__ import annotations

import ast
from typing import Any

from tutorial_lib.notebook.workbench import Workbench

MAGIC = "when_checked"


def run_cell_body(cell: str, namespace: dict[str, Any]) -> Any:
    """Execute a cell's code in the notebook's namespace; return the value of a last bare expression."""
    tree = ast.parse(cell)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the learner's own notebook cell
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


def register(wb: Workbench) -> bool:
    """Register the magic in the running IPython kernel, bound to `wb`; False outside IPython."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def when_checked(line: str, cell: str) -> None:
        name = line.strip() or None
        feedback = wb.checked(name or wb._loaded_definitions())
        if not feedback.done:
            print(f"⏸ Not run: {feedback.name} is not done yet. Run the check above once your code is in.")
            return
        value = run_cell_body(cell, shell.user_ns)
        if value is not None:
            display(value)

    shell.register_magic_function(when_checked, magic_kind="cell", magic_name=MAGIC)
    return True
