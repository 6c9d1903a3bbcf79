"""Checks and builds for Python services (pytest, ruff, a uvicorn container)."""

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, function, object_type

PYTHON_IMAGE = "python:3.13-slim"
MIN_COVERAGE_PERCENT = 80
# Tools the checks need that a service does not declare itself.
CHECK_TOOLS = ["pytest", "pytest-cov", "httpx", "ruff"]
IGNORED = [".venv", "**/__pycache__", ".pytest_cache", ".ruff_cache"]


@object_type
class PythonService:
    """Checks and builds for Python services (pytest, ruff, a uvicorn container)."""

    def _base(self, source: dagger.Directory) -> dagger.Container:
        return (
            dag.container()
            .from_(PYTHON_IMAGE)
            .with_mounted_cache("/root/.cache/pip", dag.cache_volume("python-service-pip"))
            .with_directory("/app", source)
            .with_workdir("/app")
            .with_exec(["pip", "install", ".", *CHECK_TOOLS])
        )

    @function
    @check
    async def test(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Ignore(IGNORED),
            Doc("Python project with a pyproject.toml and a tests/ directory"),
        ],
        coverage: Annotated[bool, Doc("Fail below the minimum line coverage")] = True,
    ) -> str:
        """Run the pytest suite, with a coverage gate."""
        command = ["pytest", "-v", "--tb=short"]
        if coverage:
            command += ["--cov", f"--cov-fail-under={MIN_COVERAGE_PERCENT}"]
        return await self._base(source).with_exec([*command, "tests/"]).stdout()

    @function
    @check
    async def lint(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Ignore(IGNORED),
            Doc("Python project to lint"),
        ],
    ) -> str:
        """Lint and check formatting with ruff."""
        container = self._base(source)
        await container.with_exec(["ruff", "format", "--check", "."]).sync()
        return await container.with_exec(["ruff", "check", "."]).stdout()

    @function
    def build(
        self,
        source: Annotated[dagger.Directory, Doc("Python project with a FastAPI app in app.main")],
        port: Annotated[int, Doc("Port uvicorn listens on")] = 8080,
    ) -> dagger.Container:
        """Build the service container: uvicorn serving app.main:app."""
        return (
            dag.container()
            .from_(PYTHON_IMAGE)
            .with_directory("/app", source)
            .with_workdir("/app")
            .with_exec(["pip", "install", "--no-cache-dir", "."])
            .with_env_variable("PORT", str(port))
            .with_exposed_port(port)
            .with_entrypoint(
                ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", str(port)]
            )
        )
