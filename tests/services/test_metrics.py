"""The metrics endpoint: off by default, and on loopback unless told otherwise."""


def test_metrics_listen_on_loopback_unless_told_otherwise(monkeypatch):
    import asyncio

    from bot.metrics import Metrics
    from config.settings import Settings

    monkeypatch.delenv("STEWARD_METRICS_HOST", raising=False)
    assert Settings(_env_file=None).metrics_host == "127.0.0.1"
    monkeypatch.setenv("STEWARD_METRICS_HOST", "0.0.0.0")
    assert Settings(_env_file=None).metrics_host == "0.0.0.0"
    metrics = Metrics(enabled=True)
    assert metrics.start(0) is not None
    try:
        assert metrics.bound_address() == "127.0.0.1"
    finally:
        asyncio.run(metrics.stop())
