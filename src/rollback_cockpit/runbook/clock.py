"""The clock, injected wherever a duration matters.

On AWS it is real time. In the rehearsal world it runs ``speed`` times faster
from a simulated epoch, so a 5-minute trigger window passes in seconds. The
scaled clock is a pure function of wall time and three numbers, so the
rehearsal world and the cockpit (even in two processes) agree on the time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


class Clock:
    """Real time."""

    speed: float = 1.0
    simulated: bool = False

    def time(self) -> float:
        """Seconds since the epoch, on this clock."""
        return time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of this clock's time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def wall(self, seconds: float) -> float:
        """How many wall-clock seconds ``seconds`` of clock time take."""
        return seconds / self.speed


class ScaledClock(Clock):
    simulated = True

    def __init__(self, speed: float, real_epoch: float, sim_epoch: float):
        if speed <= 0:
            raise ValueError("the clock speed must be positive")
        self.speed = float(speed)
        self.real_epoch = float(real_epoch)
        self.sim_epoch = float(sim_epoch)

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed:g}, real_epoch={self.real_epoch}, sim_epoch={self.sim_epoch})"

    def time(self) -> float:
        return self.sim_epoch + (time.time() - self.real_epoch) * self.speed


def to_jst(ts: datetime | float | str) -> datetime:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    elif isinstance(ts, (int, float)):
        ts = datetime.fromtimestamp(ts, UTC)
    return ts.astimezone(JST)


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for the operator."""
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
