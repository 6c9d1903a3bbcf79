"""Checks and builds for Python services: pytest with coverage, ruff, and a uvicorn container.

Install it as a toolchain and `dagger check` runs `test` and `lint` on the service's source.
"""

from .main import PythonService as PythonService
