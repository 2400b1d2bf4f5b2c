"""Defers troposphere's import of cfn_flip (and with it PyYAML) until YAML is asked for.

troposphere imports cfn_flip at import time, only for `Template.to_yaml()`; JSON synth never uses
it, and it is about a fifth of synth's start-up. Importing this module before troposphere puts a
stand-in in `sys.modules` that imports the real module the first time one of its names is used.
tests/test_deferred_imports.py fails when troposphere stops importing cfn_flip at import time: then
this module has nothing left to do and should go.
"""

from __future__ import annotations

import importlib
import sys
import types

DEFERRED = ("cfn_flip",)


class ImportedOnFirstUse(types.ModuleType):
    """Stands in sys.modules for a module until an attribute of it is first used."""

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


for _name in DEFERRED:
    if _name not in sys.modules:
        sys.modules[_name] = ImportedOnFirstUse(_name)
