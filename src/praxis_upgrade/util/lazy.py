"""Modules named at module top but executed on first use: what a dry run never calls costs no
start-up time."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module `name`, run the first time one of its attributes is read (the standard
    library's `importlib.util.LazyLoader`); the module itself when it is already imported.

    For modules a dry run never calls (psutil, filelock, anyio, packaging's requirement
    parser; ctypes, traceback and difflib of the standard library): naming them
    costs nothing until a command uses them. ModuleNotFoundError at once
    when the module is not installed, as a plain import.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    if "." in name:  # as `import a.b` does: the parent package names it
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
    return module
