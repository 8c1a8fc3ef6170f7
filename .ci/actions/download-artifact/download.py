"""The run's artifact ``NAME`` unpacked into ``DESTINATION``, through the artifact service's protocol
as download-artifact (v4 and later) speaks it: ListArtifacts by name, GetSignedArtifactURL, the zip
from the signed URL."""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

# The service's calls are the same in upload.py and download.py: each drop-in action is a folder of
# its own, which act reads alone (--local-repository), so neither can import from the other.
SERVICE = "twirp/github.actions.results.api.v1.ArtifactService/"


def run_ids() -> dict[str, str]:
    """The run and job the runtime token is scoped to (``Actions.Results:<run>:<job>``), which
    the service files artifacts under."""
    payload = os.environ["ACTIONS_RUNTIME_TOKEN"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    scope = next(s for s in claims["scp"].split() if s.startswith("Actions.Results:"))
    _, run, job = scope.split(":")
    return {"workflowRunBackendId": run, "workflowJobRunBackendId": job}


def call(method: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        os.environ["ACTIONS_RESULTS_URL"] + SERVICE + method,
        data=json.dumps({**run_ids(), **body}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {os.environ['ACTIONS_RUNTIME_TOKEN']}",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def listed(name: str) -> bool:
    """Whether the run has an artifact of that name (act's service answers an error for a run
    with no artifact at all)."""
    try:
        found = call("ListArtifacts", {"nameFilter": name}).get("artifacts") or []
    except urllib.error.HTTPError:
        return False
    return any(artifact.get("name") == name for artifact in found)


def main() -> int:
    name, destination = os.environ["NAME"], Path(os.environ["DESTINATION"])
    if not listed(name):
        print(f"::error::Unable to download artifact(s): Artifact not found for name: {name}")
        return 1
    url = str(call("GetSignedArtifactURL", {"name": name})["signedUrl"])
    with urllib.request.urlopen(url, timeout=300) as response:
        data = response.read()
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        zipped.extractall(destination)
        count = len(zipped.namelist())
    print(f"Artifact {name} downloaded to {destination}: {count} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
