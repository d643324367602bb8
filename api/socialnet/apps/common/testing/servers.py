"""Private Redis and PostgreSQL servers that a test starts, breaks and throws away.

Fault and scale-out tests kill, pause and restart servers. They must never do that to the shared services on
6379/5432, which the rest of the suite (and other checkouts on the same host) use. Every server here runs from
its own temporary directory on a free loopback port and is removed by `close()`.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) its commands run as the `postgres`
system user, which owns the server's directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port (always port + 10000) is free too, so both fit below 65536."""
    for _ in range(200):
        port = random.randint(20000, 50000)
        if _port_is_free(port) and _port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def wait_for_port(
    port: int, *, timeout: float = 20.0, what: str = "server", process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


class RedisServer:
    """One `redis-server` without persistence; `cluster=True` starts it as a cluster node."""

    def __init__(self, *, cluster: bool = False):
        self.port = free_cluster_port() if cluster else free_port()
        self.cluster = cluster
        self.directory = Path(tempfile.mkdtemp(prefix=f"sn-redis-{self.port}-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", str(self.directory / "nodes.conf")]
            args += ["--cluster-node-timeout", "2000"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, what="redis-server", process=self.process)
        except RuntimeError as error:
            log = self.directory / "redis.log"
            raise RuntimeError(f"{error}; its log says: {log.read_text()[-500:] if log.exists() else '-'}") from None
        return self

    def cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def stop(self) -> None:
        """A clean shutdown (SIGTERM); `start()` brings it back on the same port, empty."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to clients."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """A hung server: connections stay open but nothing answers (SIGSTOP) until `resume()`."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisClusterServers:
    """Three master nodes joined into one cluster with `redis-cli --cluster create` (no replicas)."""

    def __init__(self, size: int = 3):
        self.nodes = [RedisServer(cluster=True) for _ in range(size)]

    @property
    def url(self) -> str:
        """One node is enough: the client discovers the others from it."""
        return self.nodes[0].url

    def start(self) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in node.cli("cluster", "info") for node in self.nodes):
                return self
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok within 20s")

    def close(self) -> None:
        for node in self.nodes:
            node.close()


def _as_postgres_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _postgres_bindir() -> Path:
    """Debian keeps the server binaries out of PATH; `pg_config` knows where they are."""
    found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
    return Path(found) if found and (Path(found) / "pg_ctl").exists() else Path(shutil.which("pg_ctl")).parent


class PostgresServer:
    """A private PostgreSQL cluster: `initdb` (trust auth, replication allowed) or a `pg_basebackup` replica."""

    def __init__(self, *, data_directory: Path | None = None):
        self.port = free_port()
        self.bindir = _postgres_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix=f"sn-postgres-{self.port}-"))
        self.data = data_directory or self.directory / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [*_as_postgres_user(), *args], check=True, capture_output=True, timeout=timeout, cwd=self.directory
        )

    def init(self) -> PostgresServer:
        # Tests want speed, not durability: a crash of this throwaway cluster may lose it.
        initdb = str(self.bindir / "initdb")
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        return self

    def start(self) -> PostgresServer:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log = str(self.directory / "log")
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start", timeout=60
        )
        wait_for_port(self.port, what="postgres")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects clients and shuts down cleanly; `immediate` is a crash that recovers on start."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60)

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL of the postmaster: a dead server, no shutdown at all."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            # A postmaster killed earlier leaves its pid file behind: closing that server again is not an error.
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            time.sleep(0.2)

    def create_database(self, name: str) -> str:
        self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def streaming_replica(self) -> PostgresServer:
        """A hot standby that streams from this server (`pg_basebackup -R` writes the standby settings)."""
        replica = PostgresServer()
        self_port = str(self.port)
        replica._run(
            str(replica.bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", self_port, "-U", "postgres", "-D", str(replica.data), "-R", "-X", "stream"),
            # A fast checkpoint: the default spreads it over minutes before the copy may start.
            "--checkpoint=fast",
        )
        return replica.start()

    def close(self) -> None:
        try:
            self.stop(mode="immediate")
        except subprocess.SubprocessError:
            self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
