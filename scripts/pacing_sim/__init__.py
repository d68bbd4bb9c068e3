"""Seeded discrete-event simulation of one outbound campaign, for scripts/bench-pacing."""
