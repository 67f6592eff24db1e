"""Record a corpus in NAB's layout from this machine's own /proc counters.

Why: cloud CPU, network and disk metrics are a family the detector must handle, and the
only real ones at hand are this machine's. A small service runs here under a workload we
control: requests arrive as a Poisson stream with a daily rhythm (a "day" lasts
``DAY_S`` seconds), each burns some CPU, logs a line to disk and sends a reply over a
loopback socket. Its own counters are sampled once a second from /proc/<pid>: CPU
seconds, resident memory, bytes written (files and sockets) and bytes that reached the
disk. The noise is real (the scheduler, the page cache, other work on the machine); the
incidents are ours, injected at known times and labelled like NAB: a runaway CPU loop,
a memory leak, a request storm, a disk flood, a stall.

Not deterministic and slow (``ROWS`` seconds), so no test runs it; the recorded rows are
stamped five minutes apart, as cloud metrics are. Seen on this shared 2-core machine: the
service used about 1 % CPU and wrote about 1.3 kB/s in calm (four times that in a
storm); a runaway loop, a leak, a disk flood and a stall each stand out in their counter.

    python3 -m tests.unit.streams.spikes.proc_corpus OUT_DIR [SEED]
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.unit.streams.spikes.synthetic_corpus import onsets, write_corpus

ROWS = 2000
DAY_S = 288  # one "day" of the rhythm, so the 5-minute stamps see a daily cycle
START = datetime(2016, 3, 7)
INCIDENTS = ("runaway", "leak", "storm", "disk", "stall")
#: how many seconds each incident lasts
LASTS = {"runaway": 60, "leak": 90, "storm": 45, "disk": 30, "stall": 40}
#: the counters each incident shows in (a window is labelled only where it can be seen:
#: at this load a storm or a stall moves CPU seconds by one clock tick at most, and the
#: page cache hides both from the disk)
SHOWS = {
    "cpu_seconds": {"runaway"}, "rss_mb": {"leak"},
    "bytes_written": {"storm", "disk", "stall"}, "disk_bytes": {"disk"},
}


class Service:
    """The workload: requests in, CPU, a log line, a loopback reply; plus incidents."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng = rng
        self.log = (folder / "service.log").open("ab", buffering=0)
        self.server, self.client = socket.socketpair()
        self.incident = ""
        self.leak: list[bytes] = []
        self.stop = False

    def rate(self, t: float) -> float:
        """Requests per second: a daily rhythm with a quiet night."""
        return 40.0 * (0.3 + 0.7 * (0.5 + 0.5 * math.cos(2 * math.pi * (t / DAY_S - 0.6))))

    def run(self) -> None:
        began = time.monotonic()
        drain = threading.Thread(target=self._drain, daemon=True)
        drain.start()
        while not self.stop:
            now = time.monotonic() - began
            rate = self.rate(now) * (5.0 if self.incident == "storm" else 1.0)
            if self.incident == "stall":
                time.sleep(0.05)
                continue
            time.sleep(self.rng.expovariate(rate))
            self._request()
            if self.incident == "runaway":
                end = time.monotonic() + 0.02
                while time.monotonic() < end:
                    pass
            elif self.incident == "leak":
                self.leak.append(os.urandom(4096))
            elif self.incident == "disk":
                self.log.write(os.urandom(64 * 1024))
            elif self.leak:
                self.leak.clear()

    def _request(self) -> None:
        payload = os.urandom(self.rng.randint(200, 2000))
        digest = payload
        for _ in range(self.rng.randint(50, 400)):
            digest = hashlib.sha256(digest).digest()
        self.log.write(b"%d %s\n" % (len(payload), digest.hex().encode()))
        self.client.sendall(payload)

    def _drain(self) -> None:
        while not self.stop:
            self.server.recv(65536)


def counters(pid: int) -> tuple[float, float, float, float]:
    """(CPU seconds, resident MB, bytes written, bytes written to disk) of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in
               Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS"))
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return cpu, rss / 1024.0, float(io["wchar"]), float(io["write_bytes"])


def record(out_dir: Path, seed: int) -> Path:
    rng = random.Random(f"proc-{seed}")
    at = sorted(onsets(rng, ROWS, 2))
    kinds = rng.sample(INCIDENTS, 2)
    with tempfile.TemporaryDirectory() as folder:
        service = Service(rng, Path(folder))
        worker = threading.Thread(target=service.run, daemon=True)
        worker.start()
        rows: list[tuple[float, float, float, float]] = []
        last = counters(os.getpid())
        tick = time.monotonic()
        for i in range(ROWS):
            for onset, kind in zip(at, kinds, strict=True):
                if i == onset:
                    service.incident = kind
                elif i == onset + LASTS[kind]:
                    service.incident = ""
            tick += 1.0
            time.sleep(max(0.0, tick - time.monotonic()))
            now = counters(os.getpid())
            rows.append((now[0] - last[0], now[1], now[2] - last[2], now[3] - last[3]))
            last = now
        service.stop = True
    stamps = [(START + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
              for i in range(ROWS)]
    return write_corpus(out_dir, {
        f"proc_{name}/proc_{name}_{seed}.csv": (
            stamps, [r[k] for r in rows],
            [o for o, kind in zip(at, kinds, strict=True) if kind in SHOWS[name]])
        for k, name in enumerate(SHOWS)
    })


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python3 -m tests.unit.streams.spikes.proc_corpus OUT_DIR [SEED]")
    print(record(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 0))
