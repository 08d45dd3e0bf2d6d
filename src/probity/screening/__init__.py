"""Probity screening engine: a pure library (no web, no database).

    from probity.screening import compile_policy, default_policy_spec, screen_message
    policy = compile_policy(default_policy_spec())
    result = screen_message("加我薇信", "customer", policy)
    result.decision, result.categories, result.spans, result.masked

See policy.py for the policy format and severity scheme, engine.py for the pipeline.
"""

from typing import TYPE_CHECKING, Any

# First: chooses between the compiled modules and their sources for this process.
from probity.screening._compiled import compiled_modules
from probity.screening.engine import Screener, screen_message

if TYPE_CHECKING:
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

# Images and voice (PIL, QR decoding) load on first use: `probity screen` on text never pays
# for them.
_MEDIA = frozenset({"ImageScreeningResult", "OCRUnavailable", "QRFinding", "SpeechToText",
                    "VoiceScreeningResult", "screen_image", "screen_voice"})


def __getattr__(name: str) -> Any:
    if name in _MEDIA:
        from probity.screening import media

        return getattr(media, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
    "compiled_modules",
    "default_policy",
    "default_policy_spec",
    "screen_batch",
    "screen_image",
    "screen_message",
    "screen_voice",
]

