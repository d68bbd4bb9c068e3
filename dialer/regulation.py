"""Figures that regulators set, shared by the campaign rules and the pacing policy.

Plain values, no imports from the product. See the README's compliance section for the
rules behind them (this is not legal advice).
"""

from __future__ import annotations

from datetime import timedelta

# Ofcom (uk): a number whose call was abandoned may not be called again within 72 hours,
# unless the repeat call has an operator guaranteed.
ABANDONED_RECALL_HOLD = timedelta(hours=72)

# The abandoned share of live-answered calls that regulators allow (Ofcom, the FTC's
# safe harbour), per rolling 24 h and 30 days: predictive pacing stays under it, and the
# dashboard draws it.
ABANDON_RATE_CAP = 0.03
