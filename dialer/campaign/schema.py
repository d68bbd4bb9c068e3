"""JSON Schema of the campaign file, for editors and `dialer schema`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from dialer.campaign.model import Campaign
from dialer.durations import format_duration

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _CampaignSchema(GenerateJsonSchema):
    def encode_default(self, dft: Any) -> Any:
        # pydantic writes timedelta defaults in ISO 8601 ("PT30S"); the file says "30s".
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def campaign_json_schema() -> dict[str, Any]:
    """Draft 2020-12 schema of a campaign file (validation mode: what a file may hold)."""
    schema = Campaign.model_json_schema(schema_generator=_CampaignSchema, mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": "Dialer campaign"}
