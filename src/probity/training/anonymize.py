"""Personal data out of a text that becomes a case study: the names of the people involved
(replaced by their part: "客服A", "客户"), phone numbers, e-mail addresses, ID-card numbers,
chat/payment account ids, and order/payment/employee numbers. A pure function, tested on its
own; HR still reviews every case study before it is published."""

from __future__ import annotations

import re

PHONE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d){8}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
ACCOUNT = re.compile(r"(?i)\b(?:wxid_[\w-]+|(?:微信|vx|v信|wechat|qq|支付宝|alipay)\s*[:：号]?\s*"
                     r"[A-Za-z0-9_-]{5,})")
# Order / payment / refund / employee numbers and other long ids: letters and digits with at
# least 6 digits in a run.
LONG_ID = re.compile(r"(?<![\w])[A-Za-z]{0,6}-?\d{6,}[A-Za-z0-9-]*")
DIGITS = re.compile(r"\d{5,}")
HONORIFICS = ("先生", "女士", "小姐", "经理", "老师", "师傅")


def anonymize(text: str, names: dict[str, str] | None = None) -> str:
    """`text` without personal data. `names` maps each known name (employee, customer, user
    display names) to what it becomes ("客服A"); longer names are replaced first."""
    out = text or ""
    table = dict(names or {})
    for name, part in list(table.items()):
        # "张伟" is also "张先生", "张女士", "张经理" …
        if name and len(name.strip()) >= 2 and "\u4e00" <= name[0] <= "\u9fff":
            for title in HONORIFICS:
                table.setdefault(name[0] + title, part)
    known = sorted((n for n in table if n and len(n.strip()) >= 2), key=len, reverse=True)
    if known:  # one pass, longest first: a replacement is never replaced again
        pattern = re.compile("|".join(re.escape(n) for n in known))
        out = pattern.sub(lambda m: table[m.group(0)], out)
    out = EMAIL.sub("[邮箱]", out)
    out = ACCOUNT.sub("[账号]", out)
    out = ID_CARD.sub("[证件号]", out)
    out = PHONE.sub("[电话]", out)
    out = LANDLINE.sub("[电话]", out)
    out = LONG_ID.sub("[编号]", out)
    return DIGITS.sub("[数字]", out)
