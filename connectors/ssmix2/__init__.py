"""SS-MIX2 storage connector and the JAHIS HL7 v2.5 → JP Core converter."""

from connectors.ssmix2.connector import SSMix2Config, SSMix2Connector
from connectors.ssmix2.convert import (
    ConvertOptions,
    convert_message,
    convert_visit_messages,
    decode_message,
    parse_message,
)

__all__ = [
    "ConvertOptions",
    "SSMix2Config",
    "SSMix2Connector",
    "convert_message",
    "convert_visit_messages",
    "decode_message",
    "parse_message",
]
