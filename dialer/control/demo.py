"""`dialer demo`: the whole product in one command, against the SIMULATED PBX.

Generates a sample list with every callee behaviour, imports it (showing rejects and
merges), runs a play-and-queue campaign through the simulated Asterisk over real AMI/TCP,
and prints the report. Time is compressed (short rings and retry delays) so it finishes in
well under a minute; nothing here is faster than a real Asterisk would allow otherwise.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from dialer.campaign.model import Campaign
from dialer.control import app
from dialer.control import report as report_view
from dialer.control.foreground import execute_campaign
from dialer.control.terminal import EXIT_OK, CliError
from dialer.simpbx import SimConfig, SimTiming
from dialer.store.base import ContactStore, NewContact

# What runs once the campaigns are done, over the same contact base (`--serve`).
AfterDemo = Callable[[ContactStore], Awaitable[int]]

DEMO_SECRET = "demo-secret"  # the simulator's own login; nothing real is behind it
# The simulated PBX calls no one: its campaigns are open all day, so the demo runs
# whenever it is started. A real campaign keeps the default (09:00-21:00 in each callee's
# own zone) or its compliance profile's hours.
SIMULATION_HOURS = {"calling_hours": {"mon-sun": "00:00-24:00"}}
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
            "compliance": SIMULATION_HOURS,
            "ami": {"host": "127.0.0.1", "port": port, "username": "dialer", "secret": DEMO_SECRET},
            "dial": {
                "channel": "Local/{number}@dialer-test-callees",
                "caller_id": '"Demo Shop" <+74950000000>',
                "ring_timeout": "15s",
            },
            # Retry delays are seconds, not days, in the demo: that needs an operator
            # guaranteed on an abandoned caller's recall (72 h otherwise).
            "pacing": {"max_channels": 60, "calls_per_second": 40, "operator_guaranteed": True},
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


KEYPAD_LIST = "demo-keypad"
# How the keypad campaign's callees behave, in shares of the list (simulated personas).
KEYPAD_PERSONAS = (
    ("press:1", 30),  # interested: hot lead, transferred to an operator
    ("press:2", 15),  # "call me later": warm
    ("press:3", 20),  # not interested: cold
    ("press:7,1", 5),  # a wrong key first, then 1
    ("press:9", 5),  # "do not call me again"
    # Says nothing: on a real line AMD takes the silence for a machine (INITIALSILENCE),
    # so these get the voicemail message too.
    ("silent", 15),
    ("hangup_mid_prompt", 5),
    ("machine", 5),  # an answering machine: its greeting is MAXWORDS
)


def keypad_personas(count: int) -> dict[str, str]:
    """Numbers of the keypad list, each with its persona, in the shares above, spread
    out (smooth weighted round robin) so that a short list has every kind of callee."""
    total = sum(share for _, share in KEYPAD_PERSONAS)
    credit = [0] * len(KEYPAD_PERSONAS)
    numbers = {}
    for i in range(count):
        for k, (_, share) in enumerate(KEYPAD_PERSONAS):
            credit[k] += share
        pick = max(range(len(credit)), key=lambda k: credit[k])
        credit[pick] -= total
        numbers[f"+7913{i:07d}"] = KEYPAD_PERSONAS[pick][0]
    return numbers


def keypad_campaign(port: int) -> Campaign:
    """The keypad mode: a message, press 1 for an operator (hot), 2 to be called later
    (warm), 3 if not interested (cold), 9 to stop calls. Prompts are Asterisk's own sound
    names (the simulator plays any name)."""
    return Campaign.model_validate(
        {
            "name": "demo-keypad",
            "list": KEYPAD_LIST,
            "compliance": SIMULATION_HOURS,
            "ami": {"host": "127.0.0.1", "port": port, "username": "dialer", "secret": DEMO_SECRET},
            "dial": {"channel": "Local/{number}@dialer-test-callees", "ring_timeout": "15s"},
            "pacing": {"max_channels": 60, "calls_per_second": 40},
            "on_answer": {
                "action": "ivr",
                "queue_timeout": "5s",
                "amd": {"enabled": True, "machine_message": "vm-goodbye"},
            },
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 2, "machine": {"delay": "1s", "max": 1}},
            "ivr": {
                "start": "offer",
                "steps": {
                    "offer": {
                        "kind": "menu",
                        "prompt": "demo-offer",
                        "keys": {
                            "1": "interested",
                            "2": "call_later",
                            "3": "not_interested",
                            "9": "stop",
                        },
                        "timeout": "1s",
                        "retries": 1,
                        "invalid_prompt": "option-is-invalid",
                        "on_timeout": "goodbye",
                    },
                    "interested": {
                        "kind": "set",
                        "temperature": "hot",
                        "disposition": "interested",
                        "next": "to_operator",
                    },
                    "to_operator": {
                        "kind": "transfer",
                        "queue": "dialer-operators",
                        "max_wait": "5s",
                    },
                    "call_later": {
                        "kind": "set",
                        "temperature": "warm",
                        "disposition": "call_later",
                        "next": "goodbye",
                    },
                    "not_interested": {
                        "kind": "set",
                        "temperature": "cold",
                        "next": "goodbye",
                    },
                    "stop": {"kind": "optout", "confirm_prompt": "vm-goodbye"},
                    "goodbye": {"kind": "hangup", "prompt": "vm-goodbye"},
                },
            },
        }
    )


async def run_demo(
    args: argparse.Namespace, console: Console, then: AfterDemo | None = None
) -> int:
    if not 10 <= args.contacts <= 20000:
        raise CliError("--contacts must be between 10 and 20000")
    workdir = Path(tempfile.mkdtemp(prefix="dialer-demo-"))
    try:
        return await _run_demo(args, console, workdir, then)
    finally:
        # The sample list and its rejects are scratch; without --db the contact base
        # lives here too, and the closing lines tell where, so the folder stays.
        if args.db:
            shutil.rmtree(workdir, ignore_errors=True)


async def _run_demo(
    args: argparse.Namespace, console: Console, workdir: Path, then: AfterDemo | None
) -> int:
    from dialer.contacts.importer import import_file

    db_path = args.db or str(workdir / "demo.db")
    contacts_csv = workdir / "contacts.csv"
    write_sample_contacts(contacts_csv, args.contacts, args.seed)
    console.print(
        Panel.fit(
            "[bold]DEMO against a SIMULATED PBX[/] - no Asterisk, no real calls.\n"
            "1. play-and-queue: a message, then the operators' queue. Callee behaviour\n"
            "   comes from the number's last digit: 0/8 answer, 1 busy, 2/9 no answer,\n"
            "   3 congestion, 4 invalid, 5 hangs up early, 6 waits for an operator,\n"
            "   7 gives up in the queue.\n"
            "2. keypad IVR: press 1 for an operator (hot lead), 2 to be called later\n"
            "   (warm), 3 if not interested (cold), 9 to stop calls; answering machines\n"
            "   detected (and callees who say nothing at all, as AMD takes them on a real\n"
            "   line) get a voicemail. The report shows the hot / warm / cold funnel.\n"
            "Rings, prompts and retry delays are compressed.",
            title="dialer demo",
        )
    )
    async with app.opened_store(db_path) as store:
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
        personas = keypad_personas(max(10, args.contacts // 3))
        await store.import_contacts(
            KEYPAD_LIST,
            [NewContact(number=n, name="Демо Клиент") for n in personas],
        )
        timing = SimTiming(
            ring=0.4,
            no_answer_after=2.0,
            message=1.0,
            early_hangup_after=0.5,
            operator_answer_delay=0.5,
            talk=1.5,
            abandon_patience=0.3,
            prompt=0.5,
            amd=0.8,
        )
        config = SimConfig(
            port=0,
            secret=DEMO_SECRET,
            channel_limit=100,
            operators=20,
            timing=timing,
            personas=personas,
        )
        async with app.running_simulator(config) as pbx:
            console.print(pbx.describe(), highlight=False)
            code = EXIT_OK
            for campaign in (demo_campaign(pbx.port), keypad_campaign(pbx.port)):
                console.rule(f"campaign {campaign.name}")
                code = await execute_campaign(
                    campaign,
                    store,
                    DEMO_SECRET,
                    console,
                    progress=not args.no_progress,
                )
                await report_view.print_report_streamed(console, store, campaign.name, limit=0)
        console.print(
            f"contact base: {db_path}\n"
            f"every contact: dialer --db {db_path} report demo-keypad --limit 1000\n"
            f"export a list: dialer --db {db_path} contacts export --list {KEYPAD_LIST}",
            highlight=False,
        )
        if then is not None and code == EXIT_OK:
            code = await then(store)
    return code
