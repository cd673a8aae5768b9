"""Time buckets of the statistics counters, and how a [since, until) range is covered by them.

Every counted thing (a draft, a vote, a publish) adds to three buckets: its minute, its hour and
its day. A range is then read as whole days in the middle, whole hours and whole minutes at its
edges: a year costs about 365 + 2·23 + 2·59 reads, not a scan of every draft. Minute buckets are
kept 49 hours and hour buckets 93 days, so a range edge older than that is widened to the hour
(or the day) that contains it; the README documents this resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LEVELS", "Bucket", "Level", "buckets_of", "cover", "widen"]


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    seconds: int
    ttl_s: int  # 0: kept for ever


MINUTE = Level("m", 60, 49 * 3600)
HOUR = Level("h", 3600, 93 * 86400)
DAY = Level("d", 86400, 0)
LEVELS = (MINUTE, HOUR, DAY)  # finest first, as the scripts take their keys


@dataclass(frozen=True, slots=True)
class Bucket:
    level: Level
    index: int  # seconds since the epoch // level.seconds

    @property
    def name(self) -> str:
        return str(self.index)


def buckets_of(epoch_s: float) -> tuple[Bucket, Bucket, Bucket]:
    """The minute, hour and day buckets that one event at ``epoch_s`` counts in."""
    t = int(epoch_s)
    return (Bucket(MINUTE, t // 60), Bucket(HOUR, t // 3600), Bucket(DAY, t // 86400))


def _resolution(t: int, now: int) -> int:
    age = now - t
    if age < MINUTE.ttl_s - 3600:
        return MINUTE.seconds
    if age < HOUR.ttl_s - 86400:
        return HOUR.seconds
    return DAY.seconds


def widen(since: int, until: int, now: int) -> tuple[int, int]:
    """Round the range outward to the finest resolution still kept at each edge."""
    since_res = _resolution(since, now)
    until_res = _resolution(until, now)
    since = since - since % since_res
    if until % until_res:
        until = until - until % until_res + until_res
    return since, until


def cover(since: int, until: int) -> list[Bucket]:
    """The fewest buckets that exactly cover [since, until); both must be minute-aligned."""
    buckets: list[Bucket] = []
    t = since
    while t < until:
        for level in reversed(LEVELS):  # coarsest that fits first
            if t % level.seconds == 0 and t + level.seconds <= until:
                buckets.append(Bucket(level, t // level.seconds))
                t += level.seconds
                break
        else:  # pragma: no cover - widen() guarantees minute alignment
            raise ValueError("range is not minute-aligned")
    return buckets
