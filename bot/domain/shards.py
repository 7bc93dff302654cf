"""Which servers a process owns when Steward runs as several sharded processes.

Discord sends a server's events to shard ``(guild_id >> 22) % shard_count``; a process started
with ``--shards 0-3 --shard-count 8`` connects shards 0..3 and owns exactly their servers: it
alone handles their events and claims their scheduled work.
"""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives `guild_id`'s events (Discord's formula)."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class Shards:
    """The shards one process runs: `ids` of `count` (None: unsharded, it owns everything)."""

    ids: tuple[int, ...] | None = None
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("the shard count must be at least 1")
        if self.ids is not None:
            if not self.ids:
                raise ValueError("a sharded process runs at least one shard")
            bad = [i for i in self.ids if not 0 <= i < self.count]
            if bad:
                raise ValueError(f"shard {bad[0]} is not below the shard count {self.count}")

    @property
    def sharded(self) -> bool:
        """True when this process is one of several (scheduled work is claimed with leases)."""
        return self.ids is not None

    @property
    def everything(self) -> bool:
        """True when this process owns every server."""
        return self.ids is None or len(set(self.ids)) == self.count

    def owns(self, guild_id: int) -> bool:
        """True when this process handles `guild_id`."""
        return self.ids is None or shard_of(guild_id, self.count) in self.ids

    def rest_budget(self, global_limit: float = 50.0) -> float:
        """This process's default share of Discord's global REST limit (requests/s):
        proportional to the shards it runs (8 shards, 4 here: half)."""
        if self.ids is None:
            return global_limit
        return global_limit * len(set(self.ids)) / self.count

    @property
    def runs_global_work(self) -> bool:
        """Work that belongs to no server (retention purges) runs in shard 0's process."""
        return self.ids is None or 0 in self.ids


def parse_shards(text: str, count: int) -> Shards:
    """`--shards 0-3` / `0,2,5` / `4` with `--shard-count 8` as Shards (ValueError if bad)."""
    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{part!r} is not a shard number or range such as 0-3")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"{part!r}: a range goes from low to high")
        ids.extend(range(low, high + 1))
    return Shards(tuple(sorted(set(ids))), count)
