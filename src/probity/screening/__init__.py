"""Probity screening engine: a pure library (no web, no database).

    from probity.screening import compile_policy, default_policy_spec, screen_message
    policy = compile_policy(default_policy_spec())
    result = screen_message("加我薇信", "customer", policy)
    result.decision, result.categories, result.spans, result.masked

See policy.py for the policy format and severity scheme, engine.py for the pipeline.
"""

from probity.screening.engine import Screener, screen_message
from probity.screening.media import (
    ImageScreeningResult,
    OCRUnavailable,
    QRFinding,
    SpeechToText,
    VoiceScreeningResult,
    screen_image,
    screen_voice,
)
from probity.screening.payloads import PayloadClass, classify_payload
from probity.screening.policy import (
    CATEGORIES,
    ROLES,
    SEVERITY_NAMES,
    CompiledPolicy,
    LexiconEntry,
    PolicyError,
    PolicySpec,
    compile_policy,
    default_policy,
    default_policy_spec,
)
from probity.screening.result import ScreeningResult, Span

__all__ = [
    "CATEGORIES",
    "ROLES",
    "SEVERITY_NAMES",
    "CompiledPolicy",
    "ImageScreeningResult",
    "LexiconEntry",
    "OCRUnavailable",
    "PayloadClass",
    "PolicyError",
    "PolicySpec",
    "QRFinding",
    "Screener",
    "ScreeningResult",
    "Span",
    "SpeechToText",
    "VoiceScreeningResult",
    "classify_payload",
    "compile_policy",
    "default_policy",
    "default_policy_spec",
    "screen_batch",
    "screen_image",
    "screen_message",
    "screen_voice",
]
