"""Shared pytest fixtures: ``data_root``, the folder holding the real dataset files.

``LGN_HW_DATA`` if set, else ``../shared/datasets`` next to the repository when it exists, else
the tests that need data are skipped with the reason. Nothing global is set here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_root() -> Path:
    env = os.environ.get("LGN_HW_DATA")
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            pytest.skip(f"LGN_HW_DATA={env} is not a directory")
        return root
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if shared.is_dir():
        return shared
    pytest.skip("no dataset root: set LGN_HW_DATA or provide ../shared/datasets next to the repo")
