"""The source kinds, one module each; importing this package registers every one of them.

A new kind is a new module here (its settings, declarations and the reference to its connector,
see monitor.sources) and its connector in connectors/: nothing else names a kind.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
