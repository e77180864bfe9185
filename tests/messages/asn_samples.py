"""Tiny ASN.1 modules written for the tests, shaped like J2735's MessageFrame and an ETSI CPM.

They are ours, a few lines each; SAE's and ETSI's own module text is never put in this repository.
"""

from __future__ import annotations

MINI_FRAME_ASN = """
MiniFrame DEFINITIONS AUTOMATIC TAGS ::= BEGIN

MSG-ID-AND-TYPE ::= CLASS {
    &id   MsgId UNIQUE,
    &Type
} WITH SYNTAX { ID &id TYPE &Type }

KnownMessages MSG-ID-AND-TYPE ::= {
    { ID 20 TYPE BasicSafetyMessage } |
    { ID 99 TYPE Ping },
    ...
}

MessageFrame ::= SEQUENCE {
    messageId MSG-ID-AND-TYPE.&id({KnownMessages}),
    value     MSG-ID-AND-TYPE.&Type({KnownMessages}{@.messageId}),
    ...
}

MsgId ::= INTEGER (0..32767)

BasicSafetyMessage ::= SEQUENCE {
    msgCnt   INTEGER (0..127),
    id       OCTET STRING (SIZE(4)),
    secMark  INTEGER (0..65535),
    lat      INTEGER (-900000000..900000001),
    long     INTEGER (-1799999999..1800000001),
    brakes   BIT STRING (SIZE(4)),
    source   CHOICE { gnss NULL, fused INTEGER (0..7) },
    ...
}

Ping ::= SEQUENCE { seq INTEGER (0..255) }

END
"""

BSM_VALUE = {
    "msgCnt": 17,
    "id": bytes.fromhex("b7a10042"),
    "secMark": 3_456,
    "lat": 397_956_123,
    "long": 1_165_063_456,
    "brakes": (b"\xa0", 4),
    "source": ("fused", 3),
}

CPM_LIKE_ASN = """
CpmLike DEFINITIONS AUTOMATIC TAGS ::= BEGIN
CollectivePerceptionMessage ::= SEQUENCE { objects SEQUENCE (SIZE(0..16)) OF INTEGER (0..255) }
END
"""
