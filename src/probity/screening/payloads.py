"""Classify a URL or QR payload: personal WeChat / Alipay codes, chat links, merchant codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

# (kind, category, severity, pattern). First match wins; patterns run on the NFKC, lowercased
# payload. "Personal" codes are the ones a person shows from their own app; merchant codes of
# the company are recognised by the policy's allow_qr list before these rules run.
_RULES: Final = (
    ("wechat_payment", "payment", 3, re.compile(r"^wxp://")),
    ("wechat_friend", "contact", 3, re.compile(r"^https?://u\.wechat\.com/")),
    ("wechat_friend", "contact", 3, re.compile(r"^https?://weixin\.qq\.com/r/")),
    ("wechat_group", "contact", 3, re.compile(r"^https?://weixin\.qq\.com/g/")),
    ("wechat_payment", "payment", 3, re.compile(r"^https?://(wx\.tenpay\.com|payapp\.weixin)")),
    ("alipay_payment", "payment", 3, re.compile(r"^https?://qr\.alipay\.com/")),
    ("alipay_payment", "payment", 3, re.compile(r"^alipays?://platformapi/startapp")),
    ("alipay_friend", "contact", 3, re.compile(r"^https?://(render|ds)\.alipay\.com/p/f/")),
    ("qq_friend", "contact", 3, re.compile(r"^https?://(qm|qr)\.qq\.com/")),
    ("qq_payment", "payment", 3, re.compile(r"^https?://i\.qianbao\.qq\.com/")),
    ("telegram", "contact", 3, re.compile(r"^(https?://)?(t\.me|telegram\.me)/")),
    ("whatsapp", "contact", 3, re.compile(r"^(https?://)?(wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com)/")),
    ("line", "contact", 3, re.compile(r"^(https?://)?line\.me/")),
    ("dingtalk", "contact", 3, re.compile(r"^(https?://)?qr\.dingtalk\.com/")),
    ("mailto", "contact", 3, re.compile(r"^mailto:")),
    ("tel", "contact", 3, re.compile(r"^tel:")),
    ("wifi", "", 0, re.compile(r"^wifi:")),
    ("url", "", 1, re.compile(r"^(https?://|www\.)")),
)


@dataclass(frozen=True)
class PayloadClass:
    kind: str  # e.g. wechat_payment, alipay_friend, merchant, url, text
    category: str  # contact | payment | "" (nothing to flag)
    severity: int


def classify_payload(payload: str, allow_qr: tuple[str, ...] = ()) -> PayloadClass:
    """What a decoded QR code (or a link in a message) points to."""
    p = unicodedata.normalize("NFKC", payload).strip()
    low = p.lower()
    for allowed in allow_qr:
        a = allowed.strip().lower()
        if a and (low == a or low.startswith(a)):
            return PayloadClass("merchant", "", 0)
    for kind, category, severity, pattern in _RULES:
        if pattern.search(low):
            return PayloadClass(kind, category, severity)
    return PayloadClass("text", "", 0)
