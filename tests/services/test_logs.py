import json
import logging

from bot.logs import JsonFormatter, setup_logging


def test_json_lines_carry_level_logger_and_message():
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "hold %s created", (42,), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "bot.x"
    assert line["message"] == "hold 42 created" and line["time"].endswith("+00:00")


def test_setup_logging_json_writes_json_to_stderr(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", "json")
        logging.getLogger("bot.test").info("started guild=%s", 7)
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert json.loads(err)["message"] == "started guild=7"
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

