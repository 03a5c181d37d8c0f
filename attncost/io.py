"""Reading and writing attncost's files: YAML read safely with its node tree (for lines), and files
written atomically (a temporary file, then a rename: never half a file). No torch, no sympy.

Spec files are read through :mod:`attncost.specfile`, which locates every value at its line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from .errors import SpecError


def read_yaml(path) -> tuple:
    """(data, node) of a YAML file, loaded safely and parsed once; ``node`` is the root of its node
    tree (``None`` for an empty file), which carries the lines. Errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read ({error.strerror})") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{line}: malformed YAML ({getattr(error, 'problem', error)})") from None
    finally:
        loader.dispose()


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".attncost-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)           # mkstemp's 0600 would make reports private
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
