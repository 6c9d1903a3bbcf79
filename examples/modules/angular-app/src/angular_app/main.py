"""Checks and builds for Angular apps (ng test, ng lint, npm audit, production build)."""

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, function, object_type

NODE_IMAGE = "node:22-slim"
IGNORED = ["node_modules", "dist", ".angular"]


@object_type
class AngularApp:
    """Checks and builds for Angular apps (ng test, ng lint, npm audit, production build)."""

    def _base(self, source: dagger.Directory) -> dagger.Container:
        return (
            dag.container()
            .from_(NODE_IMAGE)
            .with_mounted_cache("/root/.npm", dag.cache_volume("angular-app-npm"))
            .with_directory("/app", source)
            .with_workdir("/app")
            # `npm ci` when the app has a lockfile (reproducible), else a plain install.
            .with_exec(
                ["sh", "-c", "if [ -f package-lock.json ]; then npm ci; else npm install; fi"]
            )
        )

    @function
    @check
    async def test(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Ignore(IGNORED),
            Doc("Angular workspace with angular.json and package.json"),
        ],
    ) -> str:
        """Run the unit tests once with `ng test`."""
        return await self._base(source).with_exec(["npx", "ng", "test", "--watch=false"]).stdout()

    @function
    @check
    async def lint(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Ignore(IGNORED),
            Doc("Angular workspace to lint"),
        ],
    ) -> str:
        """Lint with `ng lint` (angular-eslint)."""
        return await self._base(source).with_exec(["npx", "ng", "lint"]).stdout()

    @function
    @check
    async def audit(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Ignore(IGNORED),
            Doc("Angular workspace whose npm dependencies are audited"),
        ],
        level: Annotated[str, Doc("Lowest severity that fails the audit")] = "moderate",
    ) -> str:
        """Audit npm dependencies for known vulnerabilities."""
        return await self._base(source).with_exec(["npm", "audit", f"--audit-level={level}"]).stdout()

    @function
    def build(
        self,
        source: Annotated[dagger.Directory, Doc("Angular workspace to build")],
        configuration: Annotated[str, Doc("Build configuration from angular.json")] = "production",
    ) -> dagger.Directory:
        """Build the app and return the output directory."""
        return (
            self._base(source)
            .with_exec(["npx", "ng", "build", f"--configuration={configuration}"])
            .directory("/app/dist")
        )
