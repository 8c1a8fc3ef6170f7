"""The files at ``SEARCH`` zipped and stored as the run's artifact ``NAME``, through the artifact
service's protocol as upload-artifact (v4 and later) speaks it: CreateArtifact, the zip to the
signed URL it returns, FinalizeArtifact. Names in the zip are relative to the paths' common
directory, as the real action stores them."""

from __future__ import annotations

import base64
import glob
import hashlib
import io
import json
import os
import sys
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


def put(url: str, data: bytes) -> None:
    request = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=300):
        pass


def within(path: Path) -> list[Path]:
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


def files(search: list[str]) -> tuple[Path, list[Path]]:
    """The files the search paths name, and the directory their names in the zip start from."""
    found: set[Path] = set()
    for pattern in search:
        for match in glob.glob(pattern, recursive=True):
            found.update(within(Path(match)))
    roots = [Path(p.split("*")[0].rstrip("/") or ".") for p in search]
    root = Path(os.path.commonpath([r.resolve() for r in roots]))
    if len(roots) == 1 and roots[0].is_file():
        root = root.parent
    return root, sorted(p.resolve() for p in found)


def main() -> int:
    name = os.environ["NAME"]
    search = [line.strip() for line in os.environ["SEARCH"].splitlines() if line.strip()]
    root, paths = files(search)
    if not paths:
        message = f"No files were found with the provided path: {', '.join(search)}"
        policy = os.environ["IF_NO_FILES_FOUND"]
        if policy == "error":
            print(f"::error::{message}")
            return 1
        if policy == "warn":
            print(f"::warning::{message}. No artifacts will be uploaded.")
        return 0
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in paths:
            zipped.write(path, path.relative_to(root).as_posix())
    data = archive.getvalue()
    url = str(call("CreateArtifact", {"name": name, "version": 4})["signedUploadUrl"])
    put(f"{url}&comp=block", data)
    put(f"{url}&comp=blocklist", b"")
    digest = hashlib.sha256(data).hexdigest()
    call("FinalizeArtifact", {"name": name, "size": str(len(data)), "hash": f"sha256:{digest}"})
    print(f"Artifact {name} uploaded: {len(paths)} files, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
