"""`dialer demo`: the whole product in one command, against the SIMULATED PBX.

Generates a sample list with every callee behaviour, imports it (showing rejects and
merges), runs a play-and-queue campaign through the simulated Asterisk over real AMI/TCP,
and prints the report. Time is compressed (short rings and retry delays) so it finishes in
well under a minute; nothing here is faster than a real Asterisk would allow otherwise.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from dialer.campaign.model import Campaign
from dialer.control import report as report_view
from dialer.control.cli import EXIT_OK, CliError
from dialer.control.commands import execute_campaign
from dialer.simpbx import SimConfig, SimTiming, SimulatedPbx
from dialer.store import open_store

DEMO_SECRET = "demo-secret"  # the simulator's own login; nothing real is behind it
DEMO_LIST = "demo"


def write_sample_contacts(path: Path, count: int, seed: int) -> None:
    """Russian mobile numbers in the formats people type, every last digit (= persona)
    represented, plus a few rows a real export would have: a duplicate, junk, an attempt
    to smuggle a second dial string."""
    rng = random.Random(seed)
    first = ["Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Анна", "Сергей", "Елена"]
    last = ["Петров", "Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев"]
    lines = ["phone;name;city"]
    for i in range(count):
        digits = f"9{rng.randrange(10**8, 10**9):09d}"[:9] + str(i % 10)
        style = i % 3
        if style == 0:
            phone = f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
        elif style == 1:
            phone = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        else:
            phone = f"7{digits}"
        lines.append(f"{phone};{rng.choice(first)} {rng.choice(last)};Москва")
    lines.append(lines[1])  # the same person exported twice
    lines.append("9l2 345 67 80;Опечатка Буквой;Тверь")
    lines.append("123&PJSIP/999;Injection Attempt;-")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def demo_campaign(port: int) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "demo",
            "list": DEMO_LIST,
            "ami": {"host": "127.0.0.1", "port": port, "username": "dialer", "secret": DEMO_SECRET},
            "dial": {
                "channel": "Local/{number}@dialer-test-callees",
                "caller_id": '"Demo Shop" <+74950000000>',
                "ring_timeout": "15s",
            },
            "pacing": {"max_channels": 60, "calls_per_second": 40},
            "on_answer": {
                "action": "play_and_queue",
                "message": "demo-offer",
                "queue": "dialer-operators",
                "queue_timeout": "4s",
            },
            "retry": {
                "max_attempts": 3,
                "busy": {"delay": "2s", "max": 2},
                "no_answer": {"delay": "2s", "max": 1},
                "congestion": {"delay": "1s", "max": 2},
                "failed": {"delay": "1s", "max": 1},
                "abandoned": {"delay": "2s", "max": 1},
            },
        }
    )


async def run_demo(args: argparse.Namespace, console: Console) -> int:
    from dialer.contacts.importer import import_file

    if not 10 <= args.contacts <= 20000:
        raise CliError("--contacts must be between 10 and 20000")
    workdir = Path(tempfile.mkdtemp(prefix="dialer-demo-"))
    db_path = args.db or str(workdir / "demo.db")
    contacts_csv = workdir / "contacts.csv"
    write_sample_contacts(contacts_csv, args.contacts, args.seed)
    console.print(
        Panel.fit(
            "[bold]DEMO against a SIMULATED PBX[/] - no Asterisk, no real calls.\n"
            "Callee behaviour comes from the number's last digit: 0/8 answer, 1 busy,\n"
            "2/9 no answer, 3 congestion, 4 invalid, 5 hangs up early, 6 waits for an\n"
            "operator, 7 gives up in the queue. Rings and retry delays are compressed.",
            title="dialer demo",
        )
    )
    store = await open_store(db_path)
    try:
        result = await import_file(
            store,
            contacts_csv,
            DEMO_LIST,
            default_region="RU",
            reject_path=workdir / "rejects.csv",
        )
        console.print(
            f"imported {result.inserted} contacts ({result.merged} duplicate merged, "
            f"{result.rejected} rows rejected: "
            + "; ".join(f"row {r.row_number} {r.reason}" for r in result.rejects[:3])
            + ")",
            highlight=False,
        )
        timing = SimTiming(
            ring=0.4,
            no_answer_after=2.0,
            message=1.0,
            early_hangup_after=0.5,
            operator_answer_delay=0.5,
            talk=1.5,
            abandon_patience=0.3,
        )
        pbx = SimulatedPbx(
            SimConfig(port=0, secret=DEMO_SECRET, channel_limit=100, operators=20, timing=timing)
        )
        await pbx.start()
        console.print(pbx.describe(), highlight=False)
        try:
            code = await execute_campaign(
                demo_campaign(pbx.port),
                store,
                DEMO_SECRET,
                console,
                progress=not args.no_progress,
            )
        finally:
            await pbx.stop()
        lines = await report_view.load_report(store, "demo")
    finally:
        await store.close()
    report_view.print_report(console, "demo", lines, limit=0)
    console.print(
        f"contact base: {db_path}\n"
        f"see every contact: dialer --db {db_path} report demo --limit 1000\n"
        f"export the list:   dialer --db {db_path} contacts export --list {DEMO_LIST}",
        highlight=False,
    )
    return code if code != EXIT_OK else EXIT_OK
