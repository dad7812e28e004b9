#!/usr/bin/env python3
"""Runs IntelMQ's Shadowserver parser bot on many CSV files in one process (start-up is slow).

Usage: shadowserver_intelmq_driver.py SCHEMA.json CSV...
For each CSV writes CSV + ".intelmq.jsonl": one event a line, keys sorted (as the shared harness
../shared/bench/intelmq_shadowserver.py does). The report's feed.name and time.observation are
fixed ("Shadowserver", 2026-01-01T00:00:00+00:00) so that the Rust side can use the same values.
"""
import base64, json, logging, os, sys, tempfile
from pathlib import Path


def main():
    schema, csvs = sys.argv[1], sys.argv[2:]
    os.environ.setdefault("INTELMQ_ROOT_DIR", tempfile.mkdtemp(prefix="intelmq-root-"))
    from intelmq.bots.parsers.shadowserver import _config
    from intelmq.bots.parsers.shadowserver.parser import ShadowserverParserBot
    from intelmq.lib.bot import BotLibSettings
    state = getattr(_config, "__config")
    state.schema_file = state.schema_active = schema
    state.schema_mtime = 0.0
    _config.set_logger(logging.getLogger("shadowserver-schema"))
    _config.reload()
    bot = ShadowserverParserBot("shadowserver-parser", settings=BotLibSettings | {"logging_level": "CRITICAL"})
    for csv in csvs:
        data = Path(csv).read_bytes()
        report = {"__type": "Report", "feed.name": "Shadowserver", "raw": base64.b64encode(data).decode(),
                  "extra.file_name": Path(csv).name, "time.observation": "2026-01-01T00:00:00+00:00"}
        events = bot.process_message(report)["output"]
        with open(csv + ".intelmq.jsonl", "w") as fh:
            for e in events:
                fh.write(json.dumps(dict(e), sort_keys=True, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
