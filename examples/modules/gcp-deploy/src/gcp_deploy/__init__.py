"""Deploys to Google Cloud: a service container to Cloud Run, a web app to Firebase Hosting.

Authentication uses GitHub OIDC through Workload Identity Federation: no key files.
"""

from .main import GcpDeploy as GcpDeploy
