"""`python -m benches`: list the benchmarks and how to run each."""

BENCHMARKS = {
    "links": "link detection accuracy per category and messages/s vs a naive regex",
    "distress": "distress detection precision/recall per language and category; messages/s",
    "linkhold": "established-member fast path vs a bare bot; exposure time of held links",
    "automod": "share of the link corpus the AutoMod rule's patterns block; false blocks",
    "reminders": "1,000,000 scheduled reminders; scheduling lateness; delivery throughput",
    "welcome": "1,000 joins in 60 s of simulated time: messages, REST calls, greeted once",
    "memory": "process memory of `steward run` with 10k and 100k members",
    "scale": "1 vs 2 sharded processes on PostgreSQL, SQLite vs PostgreSQL: reminders/s, "
             "hold exposure p99, welcome throughput",
    "soak": "a busy server in minutes, Steward as its own process: nothing lost, RSS bounded",
}

if __name__ == "__main__":
    print("Benchmarks (each prints its figures):")
    for name, what in BENCHMARKS.items():
        print(f"  uv run python -m benches.{name:<10} {what}")
