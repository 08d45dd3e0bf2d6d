"""The password policy refuses the shipped common-password list (also decorated with digits,
symbols and leetspeak) and keyboard or alphabet runs (issue 16)."""

from __future__ import annotations

import pytest

from probity.auth.passwords import check_password_policy, common_passwords
from probity.errors import InvalidInput


@pytest.mark.parametrize("weak", [
    "Password123!", "P@ssw0rd2024", "Woaini1314!!", "Iloveyou-2026", "Qwerty!2024x",
    "1qaz@WSX3edc", "Abcd-1234-efg", "Zxcvbnm#2026", "9876-Poiuy-X",
])
def test_common_and_keyboard_passwords_are_refused(weak: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_password_policy(weak, username="hr", min_length=10)
    assert info.value.code == "weak_password"


@pytest.mark.parametrize("strong", ["Blue-Harbor-42", "Demo-Pass-2026!", "Harbor-Qwer-Lantern9",
                                    "雨后-Lantern-17"])
def test_ordinary_strong_passwords_pass(strong: str) -> None:
    check_password_policy(strong, username="hr", min_length=10)


def test_the_list_ships_with_the_package() -> None:
    words = common_passwords()
    assert len(words) > 100 and {"password", "123456", "woaini1314"} <= words
