"""The project's own conftest.py reaches Parity's installed suites.

pytest scopes a conftest's fixtures to its directory, and installed suites live in site-packages,
outside the user's repository. When pytest runs from a project directory that holds a
conftest.py and the suites are elsewhere, its fixtures (a `session_driver` override, say) are
made visible to every test, as a plugin's are.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness.packaged import package_dir

MODULE_NAME = "parity_project_conftest"


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def share_project_fixtures(session: pytest.Session) -> None:
    """Make `./conftest.py`'s fixtures visible to the suites when they are outside `.`."""
    project = session.config.invocation_params.dir.resolve()
    suites = package_dir("harness.suites")
    path = project / "conftest.py"
    if project in (suites, *suites.parents) or not path.is_file():
        return  # pytest's own conftest rules already reach the suites, or there is nothing
    manager = session.config.pluginmanager
    module = manager.get_plugin(str(path))
    if module is None:  # not loaded as a conftest: a plugin's fixtures are global
        manager.register(_import(path), MODULE_NAME)
        return
    manager_of_fixtures = session._fixturemanager
    try:  # pytest 9: holder and node; pytest 8: the object and a node id ("" is global)
        manager_of_fixtures.parsefactories(holder=module, node=session)
    except TypeError:
        manager_of_fixtures.parsefactories(module, "")
