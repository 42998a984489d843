"""A real single-node SLURM cluster for the tests, from Debian's packages, without systemd.

munged runs as user munge; slurmctld and slurmd run from a config at the system path with
state, spool, logs and PID files in a fresh private directory (nothing of a previous run can
confuse them) and are stopped by PID. Accounting is off, so clients query job state through squeue.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
# Job steps (srun inside a batch job) read the default config path, whatever SLURM_CONF the
# submitter had, so the test cluster's config goes there, marked as ours.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by rotelab's tests/slurm_cluster.py\n"


def unavailable_reason() -> str | None:
    """Why this machine cannot host the test cluster, or None."""
    if os.geteuid() != 0:
        return "not root: the SLURM daemons must run as root (make test installs them as root)"
    missing = [d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if missing:
        return f"SLURM packages missing ({', '.join(missing)}): run `make test` as root to install them"
    if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARKER):
        return f"{SYSTEM_CONF} belongs to a real SLURM installation; not replacing it"
    return None


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


MUNGE_PID = Path("/run/munge/munged.pid")


MUNGE_KEY = Path("/etc/munge/munge.key")


def _start_munge() -> list[Path] | None:
    """Start munged unless one already answers. None when one did; else the paths this call
    created (directories and key), for the caller to remove after stopping it."""
    if MUNGE_SOCKET.exists() and subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
        return None
    created = []
    for d in map(Path, ("/run/munge", "/var/log/munge", "/var/lib/munge")):
        if not d.exists():
            d.mkdir(parents=True)
            created.append(d)
        shutil.chown(d, "munge", "munge")
    if not MUNGE_KEY.exists():
        subprocess.run(["/usr/sbin/mungekey", "--create"], check=True)
        shutil.chown(MUNGE_KEY, "munge", "munge")
        created.append(MUNGE_KEY)
    subprocess.run(["runuser", "-u", "munge", "--", _binary("munged")], check=True)
    _wait(lambda: subprocess.run(["munge", "-n"], capture_output=True).returncode == 0, 20, "munged")
    return created


def _stop(pidfile: Path, name: str) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
        _wait(lambda: not Path(f"/proc/{pid}").exists(), 20, f"{name} to stop")
    except ProcessLookupError:
        pass


def _wait(ready, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


class Cluster:
    """``with Cluster(directory) as env:`` runs clients with ``env``."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.conf = SYSTEM_CONF
        # The host is left as found: the config (ours; a real one makes the test skip, and one
        # with our marker is a leftover of an interrupted run) and the directory are removed.
        self.created_conf_dir = not SYSTEM_CONF.parent.exists()
        self.munge_created: list[Path] | None = None
        self.host = socket.gethostname().split(".")[0]
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        for sub in ("ctld", "d", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        memory = int(_memory_mb() * 0.8)
        lines = {
            "ClusterName": "rotelab",
            "SlurmctldHost": f"{self.host}(127.0.0.1)",
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "AuthType": "auth/munge",
            "StateSaveLocation": self.dir / "ctld",
            "SlurmdSpoolDir": self.dir / "d",
            "SlurmctldPidFile": self.dir / "slurmctld.pid",
            "SlurmdPidFile": self.dir / "slurmd.pid",
            "SlurmctldLogFile": self.dir / "log" / "slurmctld.log",
            "SlurmdLogFile": self.dir / "log" / "slurmd.log",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "SchedulerType": "sched/backfill",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            "ReturnToService": 2,
            "MpiDefault": "none",
            "JobAcctGatherType": "jobacct_gather/none",
            "AccountingStorageType": "accounting_storage/none",
            "MinJobAge": 600,  # keep finished jobs visible to squeue-based status checks
        }
        text = MARKER + "".join(f"{k}={v}\n" for k, v in lines.items())
        text += f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory} State=UNKNOWN\n"
        text += f"PartitionName=main Nodes={self.host} Default=YES MaxTime=INFINITE State=UP\n"
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(text)

    def __enter__(self) -> dict:
        self.write_config()
        self.munge_created = _start_munge()
        subprocess.run([_binary("slurmctld"), "-f", str(self.conf)], check=True, env=self.env)
        subprocess.run([_binary("slurmd"), "-f", str(self.conf)], check=True, env=self.env)
        _wait(self._node_ready, 60, "the SLURM node")
        return self.env

    def _node_ready(self) -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env)
        return out.returncode == 0 and out.stdout.strip() in {"idle", "mixed", "allocated"}

    def own_jobs(self) -> list[str]:
        """Ids of the jobs this cluster's controller knows: its state directory is fresh, so
        every one of them was submitted by this test."""
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=self.env)
        return out.stdout.split() if out.returncode == 0 else []

    def __exit__(self, *exc) -> None:
        jobs = self.own_jobs()
        if jobs:
            subprocess.run(["scancel", *jobs], capture_output=True, env=self.env)
        for name in ("slurmd", "slurmctld"):
            _stop(self.dir / f"{name}.pid", name)
        if self.munge_created is not None:
            _stop(MUNGE_PID, "munged")
            for path in reversed(self.munge_created):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        self.conf.unlink(missing_ok=True)
        if self.created_conf_dir and not any(self.conf.parent.iterdir()):
            self.conf.parent.rmdir()

    def log(self, name: str) -> str:
        path = self.dir / "log" / f"{name}.log"
        return path.read_text() if path.exists() else ""
