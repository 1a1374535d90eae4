"""Where a service's time goes under a bench load: py-spy (sampling, from outside the process)
for a few seconds, summarised as the functions holding the most samples (inclusive, with
their callees, and self). Skipped, with a note, when py-spy is not installed."""

import re
import shutil
import subprocess
from collections import Counter
from typing import Any

from bench.settings import BIN, RESULTS

_LINE = re.compile(r":\d+\)")
OURS = re.compile(r"\((transaction_api|notification_consumer|service_kit|payment_events)/")


class Profiler:
    def __init__(self, pid: int, seconds: int, name: str) -> None:
        self.path = RESULTS / f"profile-{name}.txt"
        spy = shutil.which("py-spy") or str(BIN / "py-spy")
        self.proc: subprocess.Popen[bytes] | None = None
        self.note = ""
        if not shutil.which(spy):
            self.note = "py-spy not installed"
            return
        self.proc = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
             "--nonblocking", "--format", "raw", "--output", str(self.path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self, top: int = 15) -> dict[str, Any]:
        if self.proc is None:
            return {"error": self.note}
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {"error": "py-spy did not finish"}
        if not self.path.exists():
            return {"error": f"py-spy exited {self.proc.returncode} without a profile"}
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = 0
        for line in self.path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_LINE.sub(")", f) for f in stack.split(";")]
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
        if not total:
            return {"error": "no samples"}

        def shares(c: Counter[str]) -> list[list[Any]]:
            return [[round(v / total, 3), k] for k, v in c.most_common(top)]

        return {"samples": total, "file": self.path.name,
                # our own functions, with what they call: where the request or batch goes
                "inclusive": shares(Counter({k: v for k, v in inclusive.items()
                                             if OURS.search(k)})),
                "self": shares(own)}
