"""docker-compose.yml, its Dockerfile and the README agree: ports, commands, the data volume and the dev-only
opt-ins, and the scale profile (Redis, two mock replicas, nginx). No Docker engine runs here, so the containers
are not started: the commands are parsed by the real command-line parsers instead, and `docker compose config`
validates the file when a compose tool is present."""

import argparse
import contextlib
import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from mirror.cli import build_parser
from mirror.plans import INSECURE_HOSTS_ENV
from mirror.store.files import DATA_DIR_ENV
from mockpayer.app import create_app
from mockpayer import cli as mockpayer_cli
from mockpayer.cli import main as mockpayer_main
from mockpayer.faults import read_faults_file

REPOSITORY = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text(encoding="utf-8"))
DOCKERFILE = (REPOSITORY / "Dockerfile").read_text(encoding="utf-8")
README = (REPOSITORY / "README.md").read_text(encoding="utf-8")
MOCK, MIRROR = COMPOSE["services"]["mockpayer"], COMPOSE["services"]["mirror"]
SCALE = {name: service for name, service in COMPOSE["services"].items() if "scale" in service.get("profiles", ())}
REPLICAS = [name for name, service in SCALE.items() if service.get("build") == "."]


def mirror_commands() -> list[list[str]]:
    """The `mirror ...` commands the mirror service's shell line runs, each as its argument list."""
    shell, flag, script = MIRROR["command"]
    assert (shell, flag) == ("sh", "-c")
    commands = []
    for part in re.split(r"&&|\|\|", script):
        words = [word for word in shlex.split(part.strip(" {}")) if word != "exec"]
        if words[:1] == ["mirror"]:
            commands.append(words[1:])
    return commands


def option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def test_both_services_build_this_repository_on_python_3_11_slim():
    assert MOCK["build"] == MIRROR["build"] == "."
    assert re.search(r"^FROM python:3\.11-slim$", DOCKERFILE, re.M)
    assert re.search(r"^RUN pip install -e \.", DOCKERFILE, re.M)
    for copied in ("pyproject.toml", "mirror", "mockpayer", "fixtures"):
        assert re.search(rf"^COPY .*\b{copied}\b", DOCKERFILE, re.M), copied
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)


def test_the_mock_listens_on_all_container_addresses_on_the_published_port():
    mock = MOCK["command"]
    assert mock[:2] == ["mockpayer", "serve"] and option(mock, "--host") == "0.0.0.0"
    port = option(mock, "--port")
    assert MOCK["ports"] == [f"127.0.0.1:{port}:{port}"] and port in MOCK["healthcheck"]["test"][-1]
    assert MOCK["environment"] == {"AUTHLIB_INSECURE_TRANSPORT": "1"}
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
        mockpayer_main(["serve", "--help"])
    assert "--host" in help_text.getvalue() and "--port" in help_text.getvalue()


def test_the_mock_takes_an_optional_faults_file_none_by_default():
    """`MOCKPAYER_FAULTS=./my-faults.json docker compose up` mounts that file where `--faults` reads it; unset,
    the repository's empty spec is mounted, which leaves the plans' own faults as they are."""
    [mount] = MOCK["volumes"]
    found = re.fullmatch(r"\$\{MOCKPAYER_FAULTS:-(\./[^}]+)\}:(/[^:]+):ro", mount)
    assert found is not None, mount
    default, target = REPOSITORY / found[1], found[2]
    assert option(MOCK["command"], "--faults") == target
    assert read_faults_file(default) == {}
    context = create_app(faults=read_faults_file(default)).extensions["mockpayer"]
    assert not context.faults  # the bundled plans carry no faults of their own


def test_admin_answers_the_host_through_the_published_port_and_no_one_else():
    """The host's requests reach the container from its compose network's gateway (Docker's default pools:
    172.17-31.x.x, then 192.168.x.x; Docker Desktop's 192.168.65.x), which `--admin-from` opts in."""
    mock = MOCK["command"]
    networks = [mock[index + 1] for index, word in enumerate(mock) if word == "--admin-from"]
    client = create_app(plans={}, admin_from=networks).test_client()
    for gateway, status in (("172.18.0.1", 200), ("172.31.0.1", 200), ("192.168.65.1", 200), ("10.0.0.1", 403),
                            ("203.0.113.7", 403)):
        assert client.get("/_admin/clock", environ_base={"REMOTE_ADDR": gateway}).status_code == status, gateway


def test_the_mirror_connects_to_the_mock_service_syncs_and_serves_on_the_published_port():
    connect, sync, serve = mirror_commands()
    parser = build_parser()
    for arguments in (connect, sync, serve):
        parser.parse_args(arguments)  # every option exists (argparse exits otherwise)
    mock_url = option(connect, "--mock-url")
    assert connect[:2] == ["connect", "demo"] and mock_url == f"http://mockpayer:{option(MOCK['command'], '--port')}"
    assert sync == ["sync"]
    assert serve[0] == "serve" and option(serve, "--host") == "0.0.0.0"
    port = option(serve, "--port")
    assert MIRROR["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert MIRROR["depends_on"]["mockpayer"]["condition"] == "service_healthy"
    assert MIRROR["environment"][INSECURE_HOSTS_ENV] == "mockpayer" == re.match(r"http://([^:/]+)", mock_url)[1]


def test_the_data_lives_in_a_named_volume_where_the_mirror_looks_for_it():
    [mount] = MIRROR["volumes"]
    volume, target = mount.split(":")
    assert volume in COMPOSE["volumes"] and MIRROR["environment"][DATA_DIR_ENV] == target
    assert f"ENV {DATA_DIR_ENV}={target}" in DOCKERFILE and f"mkdir {target}" in DOCKERFILE
    exposed = re.search(r"^EXPOSE (.+)$", DOCKERFILE, re.M)[1].split()
    assert sorted(exposed) == sorted([option(MOCK["command"], "--port"), option(mirror_commands()[2], "--port")])


def test_the_readme_shows_the_same_commands_and_ports():
    compose_section = README[README.index("## Docker compose"):]
    compose_section = compose_section[:compose_section.index("\n## ", 1)]
    connect, _, serve = mirror_commands()
    assert "docker compose up --build" in compose_section
    assert f"http://127.0.0.1:{option(serve, '--port')}/" in compose_section
    assert f"http://127.0.0.1:{option(MOCK['command'], '--port')}" in compose_section
    assert "mirror " + shlex.join(connect) in compose_section
    for opt_in in ("AUTHLIB_INSECURE_TRANSPORT", INSECURE_HOSTS_ENV):
        assert opt_in in compose_section


def serve_options(command: list[str], monkeypatch) -> argparse.Namespace:
    """`mockpayer serve ...` parsed by the command's own parser, stopped before it would load plans and listen."""
    parsed = []
    monkeypatch.setattr(mockpayer_cli, "_serve", lambda args: parsed.append(args) or 0)
    assert command[:2] == ["mockpayer", "serve"] and mockpayer_main(command[1:]) == 0
    return parsed[0]


def test_the_scale_profile_is_redis_two_mock_replicas_and_a_balancer_apart_from_the_default_services():
    assert "profiles" not in MOCK and "profiles" not in MIRROR
    assert sorted(SCALE) == ["mockpayer-1", "mockpayer-2", "nginx", "redis"] and REPLICAS == ["mockpayer-1", "mockpayer-2"]
    assert SCALE["redis"]["image"] == "redis:7" and re.fullmatch(r"nginx:[\d.]+", SCALE["nginx"]["image"])
    assert "redis-cli" in SCALE["redis"]["healthcheck"]["test"]


def test_the_replicas_share_one_redis_and_listen_on_all_container_addresses(monkeypatch):
    first, second = (SCALE[name] for name in REPLICAS)
    assert {**first, "ports": None} == {**second, "ports": None}  # one service twice; the first also published
    for name in REPLICAS:
        replica = SCALE[name]
        options = serve_options(replica["command"], monkeypatch)
        state = urlsplit(options.state)
        assert (state.scheme, state.hostname, state.port) == ("redis", "redis", 6379) and state.hostname in SCALE
        assert options.host == "0.0.0.0" and options.workers == 1
        assert replica["depends_on"] == {"redis": {"condition": "service_healthy"}}
        assert replica["environment"] == {"AUTHLIB_INSECURE_TRANSPORT": "1"}
        assert str(options.port) in replica["healthcheck"]["test"][-1]
    assert first["ports"] == [f"127.0.0.1:9101:{serve_options(first['command'], monkeypatch).port}"]


def test_the_balancer_sends_to_both_replicas_with_the_clients_host_name(monkeypatch):
    """nginx's upstream names each replica on its port; the Host header passes as the client sent it, because the
    mock builds every URL it advertises from it."""
    nginx = SCALE["nginx"]
    [mount] = nginx["volumes"]
    source, target, mode = mount.split(":")
    assert target == "/etc/nginx/conf.d/default.conf" and mode == "ro"
    config = (REPOSITORY / source).read_text(encoding="utf-8")
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", config, re.S)
    assert upstream is not None
    servers = re.findall(r"^\s*server ([\w.-]+):(\d+);", upstream[2], re.M)
    assert servers == [(name, str(serve_options(SCALE[name]["command"], monkeypatch).port)) for name in REPLICAS]
    assert f"proxy_pass http://{upstream[1]};" in config and "proxy_set_header Host $http_host;" in config
    listen = re.search(r"^\s*listen (\d+);", config, re.M)[1]
    assert nginx["ports"] == [f"127.0.0.1:9100:{listen}"]
    assert nginx["depends_on"] == {name: {"condition": "service_healthy"} for name in REPLICAS}


def test_admin_answers_on_the_first_replicas_own_port_and_never_through_the_balancer(monkeypatch):
    """nginx marks what it forwards (X-Forwarded-For), which `/_admin` refuses even from a network it admits."""
    config = (REPOSITORY / "compose" / "nginx-scale.conf").read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in config
    options = serve_options(SCALE["mockpayer-1"]["command"], monkeypatch)
    client = create_app(plans={}, admin_from=options.admin_from).test_client()
    gateway = {"REMOTE_ADDR": "172.18.0.1"}
    assert client.get("/_admin/clock", environ_base=gateway).status_code == 200
    balanced = client.get("/_admin/clock", environ_base={"REMOTE_ADDR": "172.18.0.4"},
                          headers={"X-Forwarded-For": "172.18.0.1"})
    assert balanced.status_code == 403


def test_a_compose_tool_accepts_the_file():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.skip("no compose tool here (neither `docker compose` nor `docker-compose`); the file is checked above")
    for profile in ([], ["--profile", "scale"]):
        checked = subprocess.run([*command, "-f", str(REPOSITORY / "docker-compose.yml"), *profile, "config", "-q"],
                                 capture_output=True, text=True, cwd=REPOSITORY)
        assert checked.returncode == 0, checked.stderr
