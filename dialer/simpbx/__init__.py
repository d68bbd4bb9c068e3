"""A SIMULATED Asterisk for the demo and the tests: real AMI over TCP, a FastAGI client
for IVR scripts, AMD verdicts, scripted callees.

It is labelled as a simulation in its logs and in `SimulatedPbx.describe()`; the bytes on
the wire are kept identical to a real Asterisk 22 (see /work/shared/asterisk-traces).
"""

from .config import CallRecord, OriginateRecord, SimConfig, SimTiming
from .members import MemberInfo
from .personas import PERSONAS, is_valid_persona, persona_for
from .server import SimulatedPbx, serve_forever

__all__ = [
    "PERSONAS",
    "CallRecord",
    "MemberInfo",
    "OriginateRecord",
    "SimConfig",
    "SimTiming",
    "SimulatedPbx",
    "is_valid_persona",
    "persona_for",
    "serve_forever",
]
