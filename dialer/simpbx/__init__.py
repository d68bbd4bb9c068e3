"""A SIMULATED Asterisk for the demo and the tests: real AMI over TCP, scripted callees.

It is labelled as a simulation in its logs and in `SimulatedPbx.describe()`; the bytes on
the wire are kept identical to a real Asterisk 22 (see /work/shared/asterisk-traces).
"""

from .config import CallRecord, OriginateRecord, SimConfig, SimTiming
from .personas import PERSONAS, persona_for
from .server import SimulatedPbx, serve_forever

__all__ = [
    "PERSONAS",
    "CallRecord",
    "OriginateRecord",
    "SimConfig",
    "SimTiming",
    "SimulatedPbx",
    "persona_for",
    "serve_forever",
]
