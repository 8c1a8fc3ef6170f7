"""Contract check of the local drop-in images in .ci/images/ (the check that .ci/build-images' output is
fit to replace the official images: see shared/docs/docker-here.md).

Each test starts an image by its overridden name with the same testcontainers 4.15 module (or, for
wiremock and python, the same plain container) that the project's suites use, and talks to it with a
real client: psycopg 3, PyMySQL, redis-py, pika, requests, and a `docker build` of a service-style
Dockerfile `FROM ${PYTHON_IMAGE}`. It prints how long each container took from start() to usable.

Run (from the repository root; a dot-directory, so a plain `pytest` never collects it):
    pip install 'testcontainers[postgres,mysql,redis,rabbitmq]==4.15.*' 'psycopg[binary]' pymysql \
        redis pika requests pytest
    python -m pytest -p no:cacheprovider .ci/images/test_images.py
The images come from POSTGRES_IMAGE, MARIADB_IMAGE, REDIS_IMAGE, RABBITMQ_IMAGE, WIREMOCK_IMAGE,
PYTHON_IMAGE and RYUK_IMAGE, and the GitLab pipeline's DIND_IMAGE, DOCKER_CLI_IMAGE,
GITLAB_CI_LOCAL_UTIL_IMAGE and WAIT_FOR_IT_IMAGE; when any of them is unset, .ci/build-images is run and its exports are used.

Ryuk is turned off in this process, so that each check depends on one image only: every container is
labelled ci-image-check=1 plus a per-run id, removed by its `with` block, and anything of this run left
over is removed at session end. The Ryuk drop-in is checked in processes of their own that turn it on
(RYUK_CONTAINER_IMAGE), and by speaking its protocol directly.
The python test needs PyPI from inside a build (pip installs setuptools), as a service image does.
"""

from __future__ import annotations

import os

# Before testcontainers is imported: its configuration is read at import time.
os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"

import json
import re
import socket
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import docker
import pika
import psycopg
import pymysql
import pytest
import redis as redis_lib
import requests
from testcontainers.community.mysql import MySqlContainer
from testcontainers.community.postgres import PostgresContainer
from testcontainers.community.redis import RedisContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import (
    ExecWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
)

with warnings.catch_warnings():
    # testcontainers 4.15's own RabbitMqContainer still uses its deprecated @wait_container_is_ready
    # decorator, which warns once when the module is imported; nothing a caller can change.
    warnings.filterwarnings(
        "ignore", message="The @wait_container_is_ready decorator is deprecated"
    )
    from testcontainers.community.rabbitmq import RabbitMqContainer

CI_DIR = Path(__file__).resolve().parents[1]
IMAGE_VARS = (
    "POSTGRES", "MARIADB", "REDIS", "RABBITMQ", "WIREMOCK", "PYTHON", "RYUK",
    # What a ci=gitlab bake's pipeline runs in (tests/test_gitlab_ci_local.py).
    "DIND", "DOCKER_CLI", "GITLAB_CI_LOCAL_UTIL", "WAIT_FOR_IT",
)  # fmt: skip
RUN_ID = uuid.uuid4().hex[:12]
LABELS = {"ci-image-check": "1", "ci-image-check.run": RUN_ID}

# Any deprecation warning while these tests run is a failure: the point is to show which 4.15 API works
# cleanly.
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    names = {v: os.environ.get(f"{v}_IMAGE", "") for v in IMAGE_VARS}
    if not all(names.values()):
        out = subprocess.run(
            [str(CI_DIR / "build-images")], check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        for m in re.finditer(r"^export (\w+)_IMAGE=(\S+)$", out, re.M):
            names[m.group(1)] = m.group(2)
    missing = [v for v in IMAGE_VARS if not names.get(v)]
    assert not missing, f"no image for {missing}"
    return names


@pytest.fixture(scope="session", autouse=True)
def _remove_leftovers():
    yield
    client = docker.from_env()
    for c in client.containers.list(all=True, filters={"label": f"ci-image-check.run={RUN_ID}"}):
        c.remove(force=True, v=True)
    client.close()


def start_timed(container, report, what: str):
    """container.start(), reporting seconds until its wait strategy said ready (the image is local)."""
    t0 = time.monotonic()
    container.start()
    report(f"{what}: ready {time.monotonic() - t0:.2f} s after start()")
    return container


def exec_ok(container, cmd: list[str]) -> str:
    code, out = container.exec(cmd)
    out = out.decode(errors="replace")
    assert code == 0, f"{cmd} exited {code}: {out}"
    return out


def run_once(image: str, *command: str, **kwargs) -> tuple[int, str]:
    """The image run with ``command`` to its end: its exit code and output. The container goes with
    its anonymous volumes (those its image declares: a database's data directory), which removing
    the container alone would leave on the engine."""
    client = docker.from_env()
    container = client.containers.run(image, list(command), detach=True, labels=LABELS, **kwargs)
    try:
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True, v=True)
        client.close()


def host_port(container, port: int) -> tuple[str, int]:
    return container.get_container_host_ip(), int(container.get_exposed_port(port))


# --- versions -----------------------------------------------------------------------------------------

# Each stand-in's version as its own program reports it: (command, pattern of the version). RabbitMQ
# answers only from a running node, so its package's version stands for it (printed with a newline:
# this engine's log often drops an unterminated last line of a container that exits at once).
VERSION_PROBES = {
    "POSTGRES": (["postgres", "--version"], r"\(PostgreSQL\) (\d[\d.]*)"),
    "MARIADB": (["mariadbd", "--version"], r"Ver (\d[\d.]*)-MariaDB"),
    "REDIS": (["redis-server", "--version"], r"v=(\d[\d.]*)"),
    "RABBITMQ": (["dpkg-query", "-W", "-f=${Version}\\n", "rabbitmq-server"], r"^(\d[\d.]*)"),
    "PYTHON": (["python", "--version"], r"Python (\d[\d.]*)"),
    "WIREMOCK": (
        ["java", "-cp", "/var/wiremock/lib/*", "wiremock.Run", "--version"],
        r"(\d+\.\d+\.\d+)",
    ),
}


@pytest.mark.parametrize("var", sorted(VERSION_PROBES))
def test_each_image_is_the_release_it_stands_in_for(images, var):
    """The version the image's ``stands-in-for`` label names (the baked default's release line,
    tests/test_template_shape.py) is the one it runs."""
    client = docker.from_env()
    declared = client.images.get(images[var]).labels["stands-in-for"]
    series = declared.rpartition(":")[2]
    command, pattern = VERSION_PROBES[var]
    client.close()
    code, out = run_once(images[var], *command[1:], entrypoint=command[0])
    assert code == 0, out
    found = re.search(pattern, out)

    assert found, (declared, out)
    assert found[1] == series or found[1].startswith(series + "."), (declared, out)


# --- postgres -----------------------------------------------------------------------------------------


def test_postgres_testcontainers_module(images, report, tmp_path):
    # A password that needs quoting both in testcontainers' `sh -c psql` probe and in SQL.
    pg = PostgresContainer(
        images["POSTGRES"],
        username="svc",
        password="p'w d",
        dbname="orders",
        driver=None,
        labels=LABELS,
    ).with_command("postgres -c fsync=off")
    with start_timed(pg, report, "PostgresContainer"):
        host, port = host_port(pg, 5432)
        with psycopg.connect(
            host=host, port=port, user="svc", password="p'w d", dbname="orders"
        ) as conn:
            row = conn.execute(
                "select current_user, current_database(), current_setting('fsync'),"
                " current_setting('server_encoding'), current_setting('password_encryption')"
            ).fetchone()
            assert row == ("svc", "orders", "off", "UTF8", "scram-sha-256")
            conn.execute("create table t (id serial primary key, v text)")
            conn.execute("insert into t (v) values ('é')")
            assert conn.execute("select v from t").fetchone() == ("é",)
        # A wrong password is refused: auth from other hosts is by password, not trust.
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                host=host, port=port, user="svc", password="wrong", dbname="orders"
            ).close()
        # What compose health checks run.
        exec_ok(pg, ["pg_isready", "-h", "127.0.0.1", "-U", "svc", "-d", "orders"])
        assert "(PostgreSQL) 17." in exec_ok(pg, ["psql", "--version"])
        ps = exec_ok(pg, ["sh", "-c", "stat -c %U /proc/1 && cat /proc/1/cmdline | tr '\\0' ' '"])
        assert ps.split()[0] == "postgres"
        assert "fsync=off" in ps


def test_postgres_defaults_and_initdb_scripts(images, report, tmp_path):
    # Official defaults: user postgres, database named like the user; initdb.d scripts run once. They are
    # read as the postgres user, as in the official image: pytest's tmp_path is 0700 root, so open it.
    tmp_path.chmod(0o755)
    (tmp_path / "01-schema.sql").write_text(
        "create table seeded (x int); insert into seeded values (42);\n"
    )
    pg = (
        DockerContainer(images["POSTGRES"], labels=LABELS)
        .with_env("POSTGRES_PASSWORD", "pw")
        .with_exposed_ports(5432)
        .with_volume_mapping(tmp_path, "/docker-entrypoint-initdb.d", "ro")
        .waiting_for(ExecWaitStrategy(["pg_isready", "-h", "127.0.0.1"]))
    )
    with start_timed(pg, report, "postgres via pg_isready"):
        host, port = host_port(pg, 5432)
        with psycopg.connect(
            host=host, port=port, user="postgres", password="pw", dbname="postgres"
        ) as conn:
            assert conn.execute("select x from seeded").fetchone() == (42,)


# --- mariadb ------------------------------------------------------------------------------------------


def test_mariadb_testcontainers_module(images, report, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "schema.sql").write_text(
        "CREATE TABLE stuff (name VARCHAR(20)); INSERT INTO stuff VALUES ('seeded');\n"
    )
    db = MySqlContainer(
        images["MARIADB"],
        username="svc",
        password="s'v\\c",
        root_password="rootpw",
        dbname="app_db",
        dialect="pymysql",
        seed=str(seed),
        labels=LABELS,
    )
    with start_timed(db, report, "MySqlContainer (2x 'ready for connections')"):
        logs = db.get_wrapped_container().logs().decode()
        assert logs.count("ready for connections") == 2, logs
        host, port = host_port(db, 3306)
        conn = pymysql.connect(
            host=host, port=port, user="svc", password="s'v\\c", database="app_db"
        )
        with conn, conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), DATABASE(), VERSION()")
            user, database, version = cur.fetchone()
            assert (user, database) == ("svc@%", "app_db")
            assert version.startswith("11.8"), version
            cur.execute("SELECT name FROM stuff")
            assert cur.fetchone() == ("seeded",)
        conn = pymysql.connect(host=host, port=port, user="root", password="rootpw")
        with conn, conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone() == ("root@%",)
        exec_ok(db, ["healthcheck.sh", "--connect", "--innodb_initialized"])
        exec_ok(db, ["mariadb-admin", "ping"])
        exec_ok(db, ["mariadb-admin", "ping", "-h", "localhost", "-uroot", "-prootpw"])


def test_mariadb_env_names_and_healthcheck(images, report):
    # MARIADB_* names (the compose file's) and readiness by the official healthcheck.sh, which must not
    # pass on the temporary, network-less init server.
    db = (
        DockerContainer(images["MARIADB"], labels=LABELS)
        .with_envs(
            MARIADB_ROOT_PASSWORD="r",
            MARIADB_DATABASE="inv",
            MARIADB_USER="u",
            MARIADB_PASSWORD="p",
        )
        .with_exposed_ports(3306)
        .waiting_for(ExecWaitStrategy(["healthcheck.sh", "--connect", "--innodb_initialized"]))
    )
    with start_timed(db, report, "mariadb via healthcheck.sh"):
        host, port = host_port(db, 3306)
        conn = pymysql.connect(host=host, port=port, user="u", password="p", database="inv")
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            cur.execute("INSERT INTO t VALUES (1)")
            conn.commit()


# --- redis --------------------------------------------------------------------------------------------


def test_redis_testcontainers_module(images, report):
    rc = RedisContainer(images["REDIS"], labels=LABELS)
    with start_timed(rc, report, "RedisContainer"):
        client = rc.get_client(decode_responses=True)
        assert client.set("k", "v")
        assert client.get("k") == "v"
        assert client.config_get("protected-mode") == {"protected-mode": "no"}
        assert exec_ok(rc, ["redis-cli", "ping"]).strip() == "PONG"


def test_redis_password_and_passed_arguments(images, report):
    # RedisContainer(password=...) runs the command `redis-server --requirepass ...`.
    rc = RedisContainer(images["REDIS"], password="s3cret", labels=LABELS)
    with start_timed(rc, report, "RedisContainer(password)"):
        assert rc.get_client().ping()
        host, port = host_port(rc, 6379)
        with pytest.raises(redis_lib.exceptions.AuthenticationError):
            redis_lib.Redis(host=host, port=port).ping()
    # Arguments alone are arguments of redis-server, as with the official image.
    bare = (
        DockerContainer(images["REDIS"], labels=LABELS)
        .with_command(["--save", "", "--appendonly", "no"])
        .with_exposed_ports(6379)
        .waiting_for(LogMessageWaitStrategy("Ready to accept connections"))
    )
    with start_timed(bare, report, "redis --save ''"):
        host, port = host_port(bare, 6379)
        client = redis_lib.Redis(host=host, port=port, decode_responses=True)
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}


# --- rabbitmq -----------------------------------------------------------------------------------------


def _publish_and_get(params: pika.ConnectionParameters) -> bytes:
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        ch.queue_declare("contract-check")
        ch.basic_publish("", "contract-check", b"hello")
        for _ in range(50):
            _, _, body = ch.basic_get("contract-check", auto_ack=True)
            if body is not None:
                return body
            time.sleep(0.05)
        raise AssertionError("message not delivered")
    finally:
        conn.close()


def test_rabbitmq_testcontainers_module_guest(images, report):
    # Default guest/guest, from the host: RabbitMQ itself would refuse guest from a non-loopback address.
    mq = RabbitMqContainer(images["RABBITMQ"], labels=LABELS)
    with start_timed(mq, report, "RabbitMqContainer (guest)"):
        assert _publish_and_get(mq.get_connection_params()) == b"hello"
        # What compose health checks run (as root, via docker exec).
        exec_ok(mq, ["rabbitmq-diagnostics", "-q", "ping"])
        exec_ok(mq, ["rabbitmq-diagnostics", "-q", "check_port_connectivity"])


def test_rabbitmq_custom_user_and_vhost(images, report):
    mq = RabbitMqContainer(
        images["RABBITMQ"], username="svc", password="pw", vhost="orders", labels=LABELS
    )
    with start_timed(mq, report, "RabbitMqContainer (svc, vhost orders)"):
        assert _publish_and_get(mq.get_connection_params()) == b"hello"
        host, port = host_port(mq, 5672)
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(
                pika.ConnectionParameters(
                    host,
                    port,
                    credentials=pika.PlainCredentials("guest", "guest"),
                    connection_attempts=1,
                )
            )
        assert "svc" in exec_ok(mq, ["rabbitmqctl", "-q", "list_users"])


# --- wiremock -----------------------------------------------------------------------------------------


def test_wiremock_mappings_files_and_arguments(images, report, tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "__files").mkdir()
    (tmp_path / "mappings" / "hello.json").write_text(
        json.dumps(
            {
                "request": {"method": "GET", "urlPath": "/hello"},
                "response": {
                    "status": 200,
                    "bodyFileName": "hello.txt",
                    "headers": {"Content-Type": "text/plain"},
                },
            }
        )
    )
    (tmp_path / "__files" / "hello.txt").write_text("hello {{request.query.name}}")
    wm = (
        DockerContainer(images["WIREMOCK"], labels=LABELS)
        .with_exposed_ports(8080)
        .with_volume_mapping(tmp_path / "mappings", "/home/wiremock/mappings", "ro")
        .with_volume_mapping(tmp_path / "__files", "/home/wiremock/__files", "ro")
        # Passed through to WireMock; templating makes the body below prove the flag arrived.
        .with_command(["--verbose", "--global-response-templating"])
        .waiting_for(HttpWaitStrategy(8080, "/__admin/health").for_status_code(200))
    )
    with start_timed(wm, report, "wiremock (/__admin/health)"):
        host, port = host_port(wm, 8080)
        base = f"http://{host}:{port}"
        r = requests.get(f"{base}/hello", params={"name": "ci"}, timeout=10)
        assert (r.status_code, r.text) == (200, "hello ci")
        # The admin API: add a stub with a fault-free delay, call it, and see it in the request journal.
        stub = {
            "request": {"method": "POST", "url": "/slow"},
            "response": {"status": 201, "fixedDelayMilliseconds": 200, "jsonBody": {"ok": True}},
        }
        assert requests.post(f"{base}/__admin/mappings", json=stub, timeout=10).status_code == 201
        t0 = time.monotonic()
        r = requests.post(f"{base}/slow", timeout=10)
        assert r.status_code == 201
        assert r.json() == {"ok": True}
        assert time.monotonic() - t0 >= 0.2
        assert len(requests.get(f"{base}/__admin/mappings", timeout=10).json()["mappings"]) == 2
        assert requests.get(f"{base}/__admin/requests", timeout=10).json()["meta"]["total"] >= 2
        assert "--verbose" in exec_ok(wm, ["sh", "-c", "tr '\\0' ' ' </proc/1/cmdline"])
        exec_ok(wm, ["curl", "-fsS", "localhost:8080/__admin/health"])
        assert "Verbose logging enabled" in wm.get_wrapped_container().logs().decode()


# --- python -------------------------------------------------------------------------------------------

SERVICE_DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.13-slim
FROM ${PYTHON_IMAGE}
RUN useradd --create-home --uid 10001 app && adduser --disabled-password --gecos '' other
WORKDIR /app
COPY pyproject.toml ./
COPY src ./src
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .
USER app
ENV PATH=/opt/venv/bin:$PATH
CMD ["python", "-m", "hello_svc"]
"""


def test_python_tools(images, report):
    py = DockerContainer(images["PYTHON"], labels=LABELS).with_command(["sleep", "infinity"])
    with start_timed(py, report, "python"):
        assert (
            exec_ok(py, ["python", "-c", "import sys; print(sys.version_info[:2])"]).strip()
            == "(3, 13)"
        )
        assert exec_ok(py, ["pip", "--version"]).startswith("pip ")
        exec_ok(
            py,
            [
                "sh",
                "-c",
                "python -m venv /tmp/v && /tmp/v/bin/pip --version && /tmp/v/bin/python -c 'import sys; assert sys.prefix == \"/tmp/v\"'",
            ],
        )
        # pip into the system interpreter is allowed, as in the official image (no PEP 668 refusal).
        out = exec_ok(
            py, ["sh", "-c", "pip install --dry-run --no-index /nonexistent 2>&1 || true"]
        )
        assert "externally-managed-environment" not in out
        # pip is the one package installed, as in the official image, and pip owns it: a tool whose
        # requirements pip must upgrade installs (Debian's python3-pip would bring `packaging` and
        # `wheel`, which pip cannot uninstall).
        assert exec_ok(py, ["pip", "list", "--format=freeze"]).split()[0].startswith("pip==")
        assert len(exec_ok(py, ["pip", "list", "--format=freeze"]).split()) == 1


def test_python_service_dockerfile_builds_unchanged(images, report, tmp_path):
    (tmp_path / "Dockerfile").write_text(SERVICE_DOCKERFILE)
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "hello-svc"\nversion = "0.1.0"\n'
    )
    (tmp_path / "src" / "hello_svc").mkdir(parents=True)
    (tmp_path / "src" / "hello_svc" / "__init__.py").write_text("")
    (tmp_path / "src" / "hello_svc" / "__main__.py").write_text(
        "import getpass, sys\nprint('hello from', getpass.getuser(), sys.prefix)\n"
    )
    tag = f"ci-image-check/python-consumer:{RUN_ID}"
    t0 = time.monotonic()
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--label",
            "ci-image-check=1",
            "--build-arg",
            f"PYTHON_IMAGE={images['PYTHON']}",
            "-t",
            tag,
            str(tmp_path),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    report(f"service Dockerfile FROM python image built in {time.monotonic() - t0:.1f} s")
    try:
        out = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--label",
                "ci-image-check=1",
                "--label",
                f"ci-image-check.run={RUN_ID}",
                tag,
            ],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        assert out.strip() == "hello from app /opt/venv"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], check=False, stdout=subprocess.DEVNULL)


# --- ryuk ---------------------------------------------------------------------------------------------

SESSION_LABEL = "org.testcontainers.session-id"
# Short, in Go's duration format as testcontainers passes it, so that the waits below stay short.
RECONNECTION = "2s"
RECONNECTION_SECONDS = 2.0

# A testcontainers session of its own, in a process of its own with Ryuk on: a container, a network and
# a volume carrying its session label; it prints what it made, then waits to be killed.
RYUK_SESSION = """
import json, time
import docker
from testcontainers.core.container import DockerContainer
from testcontainers.core.labels import SESSION_ID
from testcontainers.core.network import Network
import os

labels = json.loads(os.environ["CHECK_LABELS"])
network = Network().create()
container = DockerContainer(os.environ["PYTHON_IMAGE"], labels=labels).with_command(["sleep", "600"])
container.with_network(network).start()
client = docker.from_env()
volume = client.volumes.create(labels={"org.testcontainers.session-id": SESSION_ID, **labels})
print(json.dumps({"session": SESSION_ID, "container": container.get_wrapped_container().id,
                  "network": network.name, "volume": volume.name}), flush=True)
time.sleep(600)
"""


def _exists(kind: str, name: str) -> bool:
    client = docker.from_env()
    try:
        getattr(client.api, f"inspect_{kind}")(name)
    except docker.errors.NotFound:
        return False
    finally:
        client.close()
    return True


def _ryuk_of(session: str) -> list[dict]:
    client = docker.from_env()
    try:
        return client.api.containers(all=True, filters={"name": f"testcontainers-ryuk-{session}"})
    finally:
        client.close()


def _labelled_sleeper(images, labels: dict[str, str]) -> str:
    client = docker.from_env()
    try:
        made = client.containers.run(
            images["PYTHON"], ["sleep", "600"], labels={**labels, **LABELS}, detach=True
        )
        return made.id
    finally:
        client.close()


def test_ryuk_removes_a_killed_sessions_resources(images, report, tmp_path):
    # testcontainers itself starts the drop-in (RYUK_CONTAINER_IMAGE) for a process that is then
    # SIGKILLed: Ryuk removes its container, network and volume once the reconnection timeout has
    # passed, not before, and leaves another session's container alone; then it exits (auto-removed).
    other = _labelled_sleeper(images, {SESSION_LABEL: f"another-{RUN_ID}"})
    script = tmp_path / "session.py"
    script.write_text(RYUK_SESSION)
    env = {k: v for k, v in os.environ.items() if k != "TESTCONTAINERS_RYUK_DISABLED"} | {
        "RYUK_CONTAINER_IMAGE": images["RYUK"],
        "RYUK_RECONNECTION_TIMEOUT": RECONNECTION,
        "PYTHON_IMAGE": images["PYTHON"],
        "CHECK_LABELS": json.dumps(LABELS),
    }
    session = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        made = json.loads(session.stdout.readline() or "{}")
        assert made, "the session printed nothing: see its stderr above"
        assert len(_ryuk_of(made["session"])) == 1
        # Older than Ryuk's one-second guard (it waits again for what was created just before it
        # prunes), so that only the reconnection timeout stands between the kill and the removal.
        time.sleep(1.5)
        session.kill()
        killed = time.monotonic()
        session.wait(timeout=10)
        resources = [("container", made["container"]), ("network", made["network"]),
                     ("volume", made["volume"])]  # fmt: skip
        assert all(_exists(kind, name) for kind, name in resources)
        deadline = killed + RECONNECTION_SECONDS + 20
        while any(_exists(kind, name) for kind, name in resources):
            assert time.monotonic() < deadline, "Ryuk did not remove the killed session's resources"
            time.sleep(0.1)
        took = time.monotonic() - killed
        report(f"killed session's container, network, volume removed {took:.1f} s after SIGKILL")
        assert took >= RECONNECTION_SECONDS - 0.5, "removed before the reconnection timeout"
        while _ryuk_of(made["session"]):
            assert time.monotonic() < deadline, "Ryuk did not exit after removing"
            time.sleep(0.1)
        assert _exists("container", other), "Ryuk removed another session's container"
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()


def test_ryuk_protocol_acks_filters_and_waits_for_reconnection(images, report):
    # Started as testcontainers' Reaper starts it; spoken to as its clients do.
    ryuk = (
        DockerContainer(images["RYUK"], labels=LABELS)
        .with_exposed_ports(8080)
        .with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw")
        .with_env("RYUK_RECONNECTION_TIMEOUT", RECONNECTION)
        .waiting_for(LogMessageWaitStrategy(re.compile(r".* Started!")).with_startup_timeout(20))
    )
    matching = _labelled_sleeper(images, {"check.a": RUN_ID})
    both = _labelled_sleeper(images, {"check.x": RUN_ID, "check.y": RUN_ID})
    only_one = _labelled_sleeper(images, {"check.x": RUN_ID})
    with start_timed(ryuk, report, "ryuk ('Started!')"):
        address = host_port(ryuk, 8080)
        first = socket.create_connection(address, timeout=10)
        # Two filters in one write; the second is a conjunction (both labels).
        first.sendall(
            f"label=check.a={RUN_ID}\r\nlabel=check.x={RUN_ID}&label=check.y={RUN_ID}\r\n".encode()
        )
        assert _read_exactly(first, 8) == b"ACK\nACK\n"
        second = socket.create_connection(address, timeout=10)
        second.sendall(b"\r\n")  # an empty line is no filter, and gets no answer
        first.close()
        # Still a client connected: nothing happens however long it stays.
        time.sleep(RECONNECTION_SECONDS + 1)
        assert _exists("container", matching)
        second.close()
        time.sleep(RECONNECTION_SECONDS / 2)
        third = socket.create_connection(address, timeout=10)  # back within the timeout
        time.sleep(RECONNECTION_SECONDS)
        assert _exists("container", matching), "removed although a client came back in time"
        third.close()
        closed = time.monotonic()
        deadline = closed + RECONNECTION_SECONDS + 20
        while _exists("container", matching) or _exists("container", both):
            assert time.monotonic() < deadline, "Ryuk did not remove the filtered containers"
            time.sleep(0.1)
        report(
            f"ryuk removed the filtered containers {time.monotonic() - closed:.1f} s after the last client left"
        )
        assert _exists("container", only_one), "a container matching half a filter was removed"
        logs = ryuk.get_wrapped_container().logs().decode()
        assert "Removed 2 container(s)" in logs, logs
        ryuk.get_wrapped_container().wait(timeout=20)  # it exits once done


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := connection.recv(size - len(data))):
        data += chunk
    return data


# --- what a GitLab pipeline's jobs run in --------------------------------------------------------------


def test_gitlab_ci_local_util_has_what_gitlab_ci_local_runs_in_it(images):
    """bash, and the tools of the commands gitlab-ci-local gives it: without rsync a job's
    artifacts are silently lost (it ignores that copy's failure)."""
    code, out = run_once(
        images["GITLAB_CI_LOCAL_UTIL"], "bash", "-c", "command -v rsync mktemp chown chmod cp"
    )
    assert code == 0, out
    assert len(out.split()) == 5, out


def test_wait_for_it_waits_for_a_port_and_gives_up_in_time(images, report):
    client = docker.from_env()
    network = client.networks.create(f"wait-{RUN_ID}", labels=LABELS)
    try:
        code, out = run_once(images["WAIT_FOR_IT"], "nothing:9", "-t", "1", network=network.name)
        assert (code, out.strip()) == (1, "wait-for-it: nothing:9 not reachable within 1s")
        server = DockerContainer(images["PYTHON"], labels=LABELS).with_command(
            ["python", "-m", "http.server", "8000"]
        )
        server.with_network(network).with_network_aliases("web")
        with server:
            t0 = time.monotonic()
            code, out = run_once(
                images["WAIT_FOR_IT"], "web:8000", "-t", "30", network=network.name
            )
            report(f"wait-for-it: web:8000 available after {time.monotonic() - t0:.2f} s")
        assert code == 0, out
        assert "web:8000 is available" in out
    finally:
        network.remove()
        client.close()


def test_docker_cli_has_compose_and_apk_adds_only_what_it_has(images):
    code, out = run_once(
        images["DOCKER_CLI"], "sh", "-c",
        "apk add --no-cache python3 && python3 -m venv /tmp/v && docker compose version",
    )  # fmt: skip
    assert code == 0, out
    assert "Docker Compose version" in out
    code, out = run_once(images["DOCKER_CLI"], "apk", "add", "--no-cache", "curl")
    assert code == 1
    assert "curl is not in this image" in out


def test_dind_loads_the_preloaded_images_before_it_listens(images, report, tmp_path):
    """Given what --privileged would grant, less CAP_SYS_RESOURCE (.ci/gitlab-ci-local/docker), the
    engine loads every archive under /preload and only then opens its TCP port, which a CI
    runner's wait for the service then means: the images are there."""
    client = docker.from_env()
    archive = tmp_path / "preload" / "images.tar"
    archive.parent.mkdir()
    with archive.open("wb") as out:
        for chunk in client.images.get(images["WAIT_FOR_IT"]).save(named=True):
            out.write(chunk)
    engine = (
        DockerContainer(images["DIND"], labels=LABELS)
        .with_command(["--tls=false"])
        .with_volume_mapping(str(archive.parent), "/preload", "ro")
        .with_volume_mapping("/sys/fs/cgroup", "/sys/fs/cgroup", "rw")
        .with_env("DOCKER_HOST", "tcp://docker:2375")  # a job's variable, which a service gets too
        .with_kwargs(
            cap_add=["ALL"],
            cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        )
    )
    with engine:
        engine.get_wrapped_container().reload()
        address = engine.get_wrapped_container().attrs["NetworkSettings"]["IPAddress"]
        t0 = time.monotonic()
        while True:
            try:
                socket.create_connection((address, 2375), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() - t0 < 120, engine.get_logs()
                time.sleep(0.5)
        report(f"dind: listening {time.monotonic() - t0:.2f} s after start(), one image loaded")
        nested = docker.DockerClient(base_url=f"tcp://{address}:2375", timeout=60)
        try:
            assert images["WAIT_FOR_IT"] in [tag for i in nested.images.list() for tag in i.tags]
        finally:
            nested.close()
    client.close()
