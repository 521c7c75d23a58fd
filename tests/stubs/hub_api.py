"""A local stand-in for the parts of the Hugging Face Hub API that
``huggingface_hub`` uses to publish and fetch a dataset, driven by the real
client (``HF_ENDPOINT``/``endpoint=`` pointed at :attr:`HubStub.origin`).

What it speaks, as the Hub does:

- ``POST /api/repos/create`` (409 when the repo exists: ``exist_ok`` relies on it);
  a new repo gets a first commit holding ``.gitattributes`` (``*.parquet`` in LFS);
- ``GET /api/datasets/{repo}[/revision/{rev}]``: ``sha`` and ``siblings`` (``dataset_info``);
- ``GET /api/datasets/{repo}/tree/{rev}?recursive=..``: the file list ``snapshot_download`` reads;
- ``HEAD``/``GET /datasets/{repo}/resolve/{rev}/{path}``: a file, with ``X-Repo-Commit``
  and ``ETag`` (LFS files: ``X-Linked-Etag``/``X-Linked-Size``, the sha256);
- ``POST /api/validate-yaml``: the dataset card's YAML must parse;
- ``POST /api/datasets/{repo}/preupload/{rev}``: ``lfs`` for ``*.parquet`` (the
  ``.gitattributes`` rule) and files over 10 MB, else ``regular``;
- ``POST /datasets/{repo}.git/info/lfs/objects/batch`` (basic transfer) and the
  ``PUT`` of each object, checked against its sha256 and size;
- ``POST /api/datasets/{repo}/commit/{rev}[?create_pr=1]``: NDJSON header, ``file``
  (base64), ``lfsFile`` (must have been uploaded) and ``deletedFile`` lines. A
  regular ``file`` line for a path the rules put in LFS is refused, as the Hub
  refuses binary files outside LFS/Xet. With ``create_pr`` the commit goes on
  ``refs/pr/N`` and ``main`` does not move.

:meth:`HubStub.fail_next` makes the next requests fail with a status (an
outage: 503, 429). Tokens are checked like the Hub: no or an unknown token may read public repos
only (a private one answers 401, as if it did not exist), and writing needs a
token with write access (401 unknown, 403 read-only). The client's Xet path is
not spoken: tests switch it off (``HF_HUB_DISABLE_XET``), which makes the client
use the LFS protocol the Hub still accepts. Tests read :attr:`HubStub.requests`
and can make a revision's files broken with :meth:`HubStub.put_commit`.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

from tests.stubs.loopback import LoopbackHTTPService, StubRequestHandler

WRITE_TOKEN = "hf_write_token_0123456789"
READ_TOKEN = "hf_read_token_0123456789"
LFS_THRESHOLD = 10 * 1024 * 1024
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


@dataclass
class Commit:
    """One commit: its files (path -> bytes), parent and message."""

    sha: str
    files: dict[str, bytes]
    message: str
    parent: str | None


@dataclass
class Repo:
    """A dataset repo: commits by sha and refs (``main``, ``refs/pr/N``) to them."""

    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    prs: int = 0


@dataclass
class Seen:
    """One request the stand-in received (no body: bodies can be large)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorized: str | None  # "write", "read" or None


class HubStub(LoopbackHTTPService):
    """The Hub stand-in on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, *, tokens: dict[str, str] | None = None) -> None:
        self.tokens = tokens if tokens is not None else {WRITE_TOKEN: "write", READ_TOKEN: "read"}
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}  # sha256 -> content
        self.requests: list[Seen] = []
        self.outage: list[tuple[str, int]] = []  # (path part, status) for the next requests (see fail_next)
        self._lock = threading.Lock()
        self._counter = 0
        self._secret = secrets.token_bytes(16)
        super().__init__(_handler(self))

    # -- for tests -------------------------------------------------------------
    def head(self, repo_id: str, ref: str = "main") -> str:
        """The commit ``ref`` points at."""
        return self.repos[repo_id].refs[ref]

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of ``repo_id`` at ``revision``."""
        repo = self.repos[repo_id]
        return repo.commits[repo.refs.get(revision, revision)].files

    def message(self, repo_id: str, revision: str = "main") -> str:
        repo = self.repos[repo_id]
        return repo.commits[repo.refs.get(revision, revision)].message

    def put_commit(self, repo_id: str, files: dict[str, bytes], message: str = "test commit",
                   ref: str = "main") -> str:
        """Commit ``files`` (replacing the tree) on ``ref`` directly, as a
        person might with a broken upload; returns the new sha."""
        with self._lock:
            repo = self.repos.setdefault(repo_id, Repo(repo_id, private=False))
            return self._commit(repo, dict(files), message, ref)

    def upload_folder(self, repo_id: str, folder: Path, message: str = "test upload") -> str:
        """Commit every file of ``folder`` (tests' shortcut, not the client's way)."""
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        files[".gitattributes"] = GITATTRIBUTES
        return self.put_commit(repo_id, files, message)

    def fail_next(self, *statuses: int, path: str = "") -> None:
        """Answer the next requests whose path contains ``path`` with these
        statuses (503: down, 429: rate limited, ...), one request each, as the
        Hub does in an outage."""
        with self._lock:
            self.outage.extend((path, status) for status in statuses)

    # -- state -----------------------------------------------------------------
    def _commit(self, repo: Repo, files: dict[str, bytes], message: str, ref: str) -> str:
        self._counter += 1
        parent = repo.refs.get(ref) or repo.refs.get("main")
        sha = hashlib.sha1(f"{repo.repo_id}:{self._counter}:{message}".encode()).hexdigest()
        repo.commits[sha] = Commit(sha, files, message, parent)
        repo.refs[ref] = sha
        return sha

    def sign(self, oid: str) -> str:
        """The signature of an LFS upload URL (the stand-in's presigned URLs)."""
        return hmac.new(self._secret, oid.encode(), hashlib.sha256).hexdigest()

    def resolve(self, repo: Repo, revision: str) -> Commit | None:
        revision = unquote(revision)
        sha = repo.refs.get(revision, revision)
        return repo.commits.get(sha)


def _is_lfs_path(path: str, size: int) -> bool:
    return fnmatch.fnmatch(path, "*.parquet") or size > LFS_THRESHOLD


def _handler(hub: HubStub) -> type[BaseHTTPRequestHandler]:
    class Handler(StubRequestHandler):
        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

        # -- plumbing ----------------------------------------------------------
        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self.send_answer(status, json.dumps(payload).encode(), "application/json", headers or {})

        def _error(self, status: int, message: str, code: str | None = None) -> None:
            headers = {"X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            self._json(status, {"error": message}, headers)

        def _access(self) -> str | None:
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
            return hub.tokens.get(token)

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            path, query = url.path, parse_qs(url.query)
            access = self._access()
            with hub._lock:
                hub.requests.append(Seen(method, path, query, access))
                failing = next((status for part, status in hub.outage if part in path), None)
                if failing is not None:
                    hub.outage.remove(next(entry for entry in hub.outage if entry[0] in path))
            body = self._body() if method in ("POST", "PUT") else b""
            if failing is not None:
                self._error(failing, "Service Unavailable" if failing >= 500 else "Too Many Requests")
                return
            auth_header = self.headers.get("Authorization")
            if auth_header is not None and access is None:
                self._error(401, "Invalid credentials in Authorization header")
                return
            try:
                self._dispatch(method, path, query, body, access)
            except _Refusal as refusal:
                self._error(refusal.status, refusal.message, refusal.code)

        def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
                      access: str | None) -> None:
            parts = path.strip("/").split("/")
            if method == "POST" and path == "/api/repos/create":
                return self._create(json.loads(body or b"{}"), access)
            if method == "POST" and path == "/api/validate-yaml":
                return self._validate_yaml(json.loads(body or b"{}"))
            if method == "PUT" and parts[0] == "lfs-upload" and len(parts) == 2:
                return self._lfs_put(parts[1], body, query.get("sig", [""])[0])
            if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
                repo_id = f"{parts[2]}/{parts[3]}"
                rest = parts[4:]
                if method == "GET" and not rest:
                    return self._info(repo_id, "main", access)
                if method == "GET" and rest[0] == "revision" and len(rest) >= 2:
                    return self._info(repo_id, "/".join(rest[1:]), access)
                if method == "GET" and rest[0] == "tree" and len(rest) >= 2:
                    return self._tree(repo_id, rest[1], access)
                if method == "POST" and rest[0] == "preupload" and len(rest) >= 2:
                    return self._preupload(repo_id, json.loads(body or b"{}"), access)
                if method == "POST" and rest[0] == "commit" and len(rest) >= 2:
                    return self._commit(repo_id, "/".join(rest[1:]), body, "create_pr" in query, access)
            if parts[0] == "datasets" and len(parts) >= 3:
                if method == "POST" and parts[2].endswith(".git") and parts[3:] == ["info", "lfs", "objects", "batch"]:
                    return self._lfs_batch(f"{parts[1]}/{parts[2].removesuffix('.git')}",
                                           json.loads(body or b"{}"), access)
                if method in ("GET", "HEAD") and len(parts) >= 6 and parts[3] == "resolve":
                    return self._resolve(f"{parts[1]}/{parts[2]}", parts[4], "/".join(parts[5:]), method, access)
            raise _Refusal(404, f"no route {method} {path}")

        # -- repos ---------------------------------------------------------------
        def _repo(self, repo_id: str, access: str | None, *, write: bool = False) -> Repo:
            if write and access is None:
                raise _Refusal(401, "You must be authenticated to write", "Unauthorized")
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and access is None):
                raise _Refusal(401 if access is None else 404, "Repository not found", "RepoNotFound")
            if write and access != "write":
                raise _Refusal(403, "You don't have the rights to write to this repository")
            return repo

        def _commit_at(self, repo: Repo, revision: str) -> Commit:
            commit = hub.resolve(repo, revision)
            if commit is None:
                raise _Refusal(404, f"Invalid rev id: {unquote(revision)}", "RevisionNotFound")
            return commit

        def _create(self, payload: dict[str, Any], access: str | None) -> None:
            if access is None:
                raise _Refusal(401, "You must be authenticated to create a repo")
            if access != "write":
                raise _Refusal(403, "You don't have the rights to create a repo")
            if payload.get("type") != "dataset" or not payload.get("organization") or not payload.get("name"):
                raise _Refusal(400, "this stand-in creates namespaced dataset repos only")
            repo_id = f"{payload['organization']}/{payload['name']}"
            url = f"{hub.origin}/datasets/{repo_id}"
            with hub._lock:
                if repo_id in hub.repos:  # the Hub names the repo's URL in its 409, and the client reads it
                    self._json(409, {"error": "You already created this dataset repo", "url": url},
                               {"X-Error-Message": "You already created this dataset repo"})
                    return
                repo = hub.repos[repo_id] = Repo(repo_id, private=payload.get("visibility") == "private")
                hub._commit(repo, {".gitattributes": GITATTRIBUTES}, "initial commit", "main")
            self._json(200, {"url": url, "name": repo_id})

        def _info(self, repo_id: str, revision: str, access: str | None) -> None:
            repo = self._repo(repo_id, access)
            commit = self._commit_at(repo, revision)
            self._json(200, {"id": repo_id, "sha": commit.sha, "private": repo.private,
                             "siblings": [{"rfilename": name} for name in sorted(commit.files)]})

        def _tree(self, repo_id: str, revision: str, access: str | None) -> None:
            repo = self._repo(repo_id, access)
            commit = self._commit_at(repo, revision)
            entries = []
            for name, content in sorted(commit.files.items()):
                entry: dict[str, Any] = {"type": "file", "path": name, "size": len(content),
                                         "oid": hashlib.sha1(content).hexdigest()}
                if _is_lfs_path(name, len(content)):
                    entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content),
                                    "pointerSize": 134}
                entries.append(entry)
            self._json(200, entries)

        def _resolve(self, repo_id: str, revision: str, name: str, method: str, access: str | None) -> None:
            repo = self._repo(repo_id, access)
            commit = self._commit_at(repo, revision)
            content = commit.files.get(unquote(name))
            if content is None:
                raise _Refusal(404, "Entry not found", "EntryNotFound")
            headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{hashlib.sha1(content).hexdigest()}"'}
            if _is_lfs_path(name, len(content)):
                headers["X-Linked-Etag"] = f'"{hashlib.sha256(content).hexdigest()}"'
                headers["X-Linked-Size"] = str(len(content))
            if method == "HEAD":
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                return None
            self.send_answer(200, content, "application/octet-stream", headers)
            return None

        # -- uploads -------------------------------------------------------------
        def _validate_yaml(self, payload: dict[str, Any]) -> None:
            content = str(payload.get("content", ""))
            if content.startswith("---"):
                header = content.split("---", 2)[1]
                try:
                    yaml.safe_load(header)
                except yaml.YAMLError as error:
                    self._json(400, {"errors": [{"message": f"Invalid YAML: {error}"}]})
                    return
            self._json(200, {"errors": [], "warnings": []})

        def _preupload(self, repo_id: str, payload: dict[str, Any], access: str | None) -> None:
            self._repo(repo_id, access, write=True)
            files = []
            for item in payload.get("files", []):
                base64.b64decode(item["sample"], validate=True)
                mode = "lfs" if _is_lfs_path(item["path"], int(item["size"])) else "regular"
                files.append({"path": item["path"], "uploadMode": mode, "shouldIgnore": False, "oid": None})
            self._json(200, {"files": files, "commitOid": None})

        def _lfs_batch(self, repo_id: str, payload: dict[str, Any], access: str | None) -> None:
            self._repo(repo_id, access, write=True)
            if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", []):
                raise _Refusal(400, "only basic LFS uploads are spoken here")
            objects = []
            for item in payload.get("objects", []):
                entry: dict[str, Any] = {"oid": item["oid"], "size": item["size"]}
                if item["oid"] not in hub.lfs:
                    # like a presigned storage URL: the signature, not a token, allows the PUT
                    entry["actions"] = {"upload": {
                        "href": f"{hub.origin}/lfs-upload/{quote(item['oid'])}?sig={hub.sign(item['oid'])}",
                    }}
                objects.append(entry)
            self._json(200, {"transfer": "basic", "objects": objects},
                       {"Content-Type": "application/vnd.git-lfs+json"})

        def _lfs_put(self, oid: str, body: bytes, signature: str) -> None:
            if not hmac.compare_digest(signature, hub.sign(oid)):
                raise _Refusal(403, "SignatureDoesNotMatch")
            if hashlib.sha256(body).hexdigest() != oid:
                raise _Refusal(400, "the uploaded object does not match its sha256")
            with hub._lock:
                hub.lfs[oid] = body
            self.send_answer(200, b"", None, {})

        def _commit(self, repo_id: str, revision: str, body: bytes, create_pr: bool, access: str | None) -> None:
            repo = self._repo(repo_id, access, write=True)
            base = self._commit_at(repo, revision)
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            if not lines or lines[0].get("key") != "header":
                raise _Refusal(400, "the commit payload must start with a header line")
            header = lines[0]["value"]
            summary = str(header.get("summary") or "").strip()
            if not summary:
                raise _Refusal(400, "a commit needs a summary")
            files = dict(base.files)
            for line in lines[1:]:
                key, value = line.get("key"), line.get("value", {})
                path = value.get("path", "")
                if key == "file":
                    content = base64.b64decode(value["content"]) if value.get("encoding") == "base64" \
                        else str(value["content"]).encode()
                    if _is_lfs_path(path, len(content)):
                        raise _Refusal(400, f"Your push was rejected because it contains binary files ({path}). "
                                            "Please use https://huggingface.co/docs/hub/xet to store binary files.")
                    files[path] = content
                elif key == "lfsFile":
                    content_or_none = hub.lfs.get(value.get("oid", ""))
                    if content_or_none is None:
                        raise _Refusal(422, f"LFS object {value.get('oid')} of {path} was never uploaded")
                    files[path] = content_or_none
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        raise _Refusal(404, "A file with this name doesn't exist", "EntryNotFound")
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    files = {k: v for k, v in files.items() if not k.startswith(prefix)}
                else:
                    raise _Refusal(400, f"unknown commit operation {key!r}")
            message = summary + (f"\n\n{header['description']}" if header.get("description") else "")
            with hub._lock:
                if create_pr:
                    repo.prs += 1
                    ref = f"refs/pr/{repo.prs}"
                    repo.refs[ref] = base.sha
                    sha = hub._commit(repo, files, message, ref)
                    pr_url = f"{hub.origin}/datasets/{repo_id}/discussions/{repo.prs}"
                else:
                    ref = unquote(revision)
                    if ref not in repo.refs:
                        raise _Refusal(400, f"cannot commit to {ref}: not a branch")
                    sha = hub._commit(repo, files, message, ref)
                    pr_url = None
            self._json(200, {"commitUrl": f"{hub.origin}/datasets/{repo_id}/commit/{sha}", "commitOid": sha,
                             "pullRequestUrl": pr_url, "success": True})

    return Handler


class _Refusal(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
