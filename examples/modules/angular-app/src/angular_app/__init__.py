"""Checks and builds for Angular apps: ng test, ng lint, npm audit and a production build.

Install it as a toolchain and `dagger check` runs `test`, `lint` and `audit` on the app's source.
"""

from .main import AngularApp as AngularApp
