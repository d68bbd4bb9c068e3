"""Campaign YAML file -> validated Campaign, or CampaignError with file:line:column.

    campaign = load_campaign(Path("campaign.yaml"))
    secret = resolve_ami_secret(campaign)

How the YAML text is read (every scalar kept as typed, duplicate keys caught) is in
dialer.campaign.yaml_source; how pydantic errors become plain words is in
dialer.campaign.validation_errors.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dialer.campaign.ami_secret import resolve_ami_secret
from dialer.campaign.compliance import compliance_problems
from dialer.campaign.errors import CampaignError, CampaignProblem
from dialer.campaign.model import Campaign
from dialer.campaign.schema import campaign_json_schema
from dialer.campaign.validation_errors import explain, problem_at
from dialer.campaign.yaml_source import SourceDocument, read_document
from ivr.script_check import check_script

__all__ = [
    "CampaignError",
    "CampaignProblem",
    "campaign_json_schema",
    "load_campaign",
    "parse_campaign",
    "resolve_ami_secret",
]


def load_campaign(path: Path | str) -> Campaign:
    """Read and validate a campaign file; CampaignError lists every problem found."""
    file = str(path)
    try:
        # utf-8-sig: editors on Windows like to start files with a byte order mark.
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CampaignError([CampaignProblem(file, None, None, "", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise CampaignError([_not_utf8(file, exc)]) from None
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        raise CampaignError([CampaignProblem(file, None, None, "", message)]) from None
    return parse_campaign(text, file)


def parse_campaign(text: str, file: str = "campaign.yaml") -> Campaign:
    """Validate campaign YAML given as text; file names it in messages, and a relative
    ivr.sounds_dir is taken from the directory of file."""
    doc = read_document(text, file)
    problems = list(doc.problems)
    try:
        campaign = Campaign.model_validate(doc.data)
    except ValidationError as exc:
        problems += [explain(error, doc, Campaign) for error in exc.errors()]
    else:
        problems += _script_problems(campaign, doc)
        problems += [problem_at(doc, at, says) for at, says in compliance_problems(campaign)]
        if not problems:
            return campaign
    # Duplicate keys are reported even when the values YAML kept happen to be valid.
    raise CampaignError(sorted(set(problems), key=_reading_order))


def _script_problems(campaign: Campaign, doc: SourceDocument) -> list[CampaignProblem]:
    """What only the whole IVR script shows: dangling steps, loops, missing prompts..."""
    if campaign.ivr is None:
        return []
    sounds_dir = campaign.ivr.sounds_dir
    if sounds_dir is not None and not sounds_dir.is_absolute():
        sounds_dir = Path(doc.file).parent / sounds_dir
    return [
        problem_at(doc, found.path, found.message, on_key=found.at_key)
        for found in check_script(campaign.ivr, sounds_dir)
    ]


def _reading_order(problem: CampaignProblem) -> tuple[int, int, str]:
    return (problem.line or 0, problem.column or 0, problem.field_path)


def _not_utf8(file: str, exc: UnicodeDecodeError) -> CampaignProblem:
    line = exc.object.count(b"\n", 0, exc.start) + 1
    column = exc.start - exc.object.rfind(b"\n", 0, exc.start)  # in bytes, from 1
    return CampaignProblem(
        file,
        line,
        column,
        "",
        f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8",
    )
