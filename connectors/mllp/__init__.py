"""JAHIS HL7 v2.5 over MLLP: framing, ACK/NAK (hl7apy), an asyncio server, and the connector
record model (conversion is the SS-MIX2 converter's). The listener that stores messages before
acknowledging them is ``ehr_bridge.listen`` (it needs the store)."""

from connectors.mllp.ack import AckBuilder, MshHeader, read_msh
from connectors.mllp.connector import MllpConfig, MllpConnector, read_message
from connectors.mllp.framing import BrokenFrame, FrameReader, frame
from connectors.mllp.server import MllpServer, ServerThread

__all__ = [
    "AckBuilder",
    "BrokenFrame",
    "FrameReader",
    "MllpConfig",
    "MllpConnector",
    "MllpServer",
    "MshHeader",
    "ServerThread",
    "frame",
    "read_message",
    "read_msh",
]
