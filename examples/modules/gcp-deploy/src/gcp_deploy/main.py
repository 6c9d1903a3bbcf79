"""Deploys to Google Cloud (Cloud Run, Firebase Hosting) with GitHub OIDC."""

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, check, dag, function, object_type

GCLOUD_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:stable"
TRIVY_IMAGE = "aquasec/trivy:0.69.3"
FIREBASE_TOOLS = "firebase-tools@14"
CREDENTIALS = "/tmp/gcp/credentials.json"


@object_type
class GcpDeploy:
    """Deploys to Google Cloud (Cloud Run, Firebase Hosting) with GitHub OIDC."""

    def _gcloud(
        self,
        project: str,
        workload_identity_provider: str,
        service_account: str,
        oidc_token: dagger.Secret,
        oidc_url: dagger.Secret,
    ) -> dagger.Container:
        # Exchange the GitHub OIDC token for Google credentials (Workload Identity Federation).
        audience = f"//iam.googleapis.com/{workload_identity_provider}"
        return (
            dag.container()
            .from_(GCLOUD_IMAGE)
            .with_secret_variable("OIDC_TOKEN", oidc_token)
            .with_secret_variable("OIDC_URL", oidc_url)
            .with_exec(
                [
                    "sh",
                    "-c",
                    'mkdir -p /tmp/gcp && curl -sSf -H "Authorization: bearer $OIDC_TOKEN" '
                    f'"$OIDC_URL&audience={audience}" | python3 -c '
                    "'import json,sys; print(json.load(sys.stdin)[\"value\"])' > /tmp/gcp/oidc",
                ]
            )
            .with_exec(
                [
                    "gcloud", "iam", "workload-identity-pools", "create-cred-config",
                    workload_identity_provider,
                    f"--service-account={service_account}",
                    "--credential-source-file=/tmp/gcp/oidc",
                    f"--output-file={CREDENTIALS}",
                ]
            )
            .with_env_variable("GOOGLE_APPLICATION_CREDENTIALS", CREDENTIALS)
            .with_exec(["gcloud", "auth", "login", f"--cred-file={CREDENTIALS}"])
            .with_exec(["gcloud", "config", "set", "project", project])
        )

    @function
    @check
    async def scan(
        self,
        source: Annotated[
            dagger.Directory,
            DefaultPath("."),
            Doc("Service source that is built into the container image to scan"),
        ],
        severity: Annotated[str, Doc("Severities that fail the scan")] = "HIGH,CRITICAL",
    ) -> str:
        """Build the service container and scan the image for vulnerabilities with Trivy."""
        image = dag.python_service().build(source).as_tarball()
        return await (
            dag.container()
            .from_(TRIVY_IMAGE)
            .with_file("/tmp/image.tar", image)
            .with_exec(
                [
                    "trivy", "image", "--input", "/tmp/image.tar",
                    "--severity", severity, "--exit-code", "1",
                ]
            )
            .stdout()
        )

    @function
    async def cloud_run(
        self,
        source: Annotated[dagger.Directory, Doc("Python service source to build and deploy")],
        project: Annotated[str, Doc("Google Cloud project id")],
        region: Annotated[str, Doc("Cloud Run region, e.g. europe-west1")],
        service: Annotated[str, Doc("Cloud Run service name")],
        workload_identity_provider: Annotated[
            str, Doc("Full resource name of the Workload Identity provider")
        ],
        service_account: Annotated[str, Doc("Service account the deployment impersonates")],
        oidc_token: Annotated[
            dagger.Secret | None, Doc("GitHub OIDC request token (ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
        ] = None,
        oidc_url: Annotated[
            dagger.Secret | None, Doc("GitHub OIDC request URL (ACTIONS_ID_TOKEN_REQUEST_URL)")
        ] = None,
        repository: Annotated[str, Doc("Artifact Registry repository")] = "services",
    ) -> str:
        """Deploy a Python service container to Cloud Run and return its URL."""
        if oidc_token is None or oidc_url is None:
            raise ValueError("cloud-run needs --oidc-token and --oidc-url (GitHub OIDC)")
        gcloud = self._gcloud(
            project, workload_identity_provider, service_account, oidc_token, oidc_url
        )
        access_token = await gcloud.with_exec(["gcloud", "auth", "print-access-token"]).stdout()
        registry = f"{region}-docker.pkg.dev"
        image = f"{registry}/{project}/{repository}/{service}"
        address = await (
            dag.python_service()
            .build(source)
            .with_registry_auth(
                registry, "oauth2accesstoken", dag.set_secret("registry", access_token.strip())
            )
            .publish(image)
        )
        return await gcloud.with_exec(
            [
                "gcloud", "run", "deploy", service, f"--image={address}",
                f"--region={region}", "--allow-unauthenticated",
                "--format=value(status.url)",
            ]
        ).stdout()

    @function
    async def firebase(
        self,
        source: Annotated[dagger.Directory, Doc("Angular app source with firebase.json")],
        project: Annotated[str, Doc("Firebase (Google Cloud) project id")],
        workload_identity_provider: Annotated[
            str, Doc("Full resource name of the Workload Identity provider")
        ],
        service_account: Annotated[str, Doc("Service account the deployment impersonates")],
        oidc_token: Annotated[
            dagger.Secret | None, Doc("GitHub OIDC request token (ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
        ] = None,
        oidc_url: Annotated[
            dagger.Secret | None, Doc("GitHub OIDC request URL (ACTIONS_ID_TOKEN_REQUEST_URL)")
        ] = None,
        channel: Annotated[str, Doc("Hosting channel: live, or a preview channel name")] = "live",
    ) -> str:
        """Deploy an Angular app to Firebase Hosting and return the hosting output."""
        if oidc_token is None or oidc_url is None:
            raise ValueError("firebase needs --oidc-token and --oidc-url (GitHub OIDC)")
        # The credential config points at the OIDC token file next to it: copy both.
        credentials = self._gcloud(
            project, workload_identity_provider, service_account, oidc_token, oidc_url
        ).directory("/tmp/gcp")
        site = source.with_directory("dist", dag.angular_app().build(source))
        command = ["npx", "--yes", FIREBASE_TOOLS, "--project", project, "--non-interactive"]
        if channel == "live":
            command += ["deploy", "--only", "hosting"]
        else:
            command += ["hosting:channel:deploy", channel]
        return await (
            dag.container()
            .from_("node:22-slim")
            .with_directory("/app", site)
            .with_workdir("/app")
            .with_directory("/tmp/gcp", credentials)
            .with_env_variable("GOOGLE_APPLICATION_CREDENTIALS", CREDENTIALS)
            .with_exec(command)
            .stdout()
        )
