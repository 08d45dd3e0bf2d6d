"""The `training` section of the group standards: the chat gate (HQ can lock it for the
group), the new-hire window and the reminder lead time."""

from __future__ import annotations

from pydantic import Field

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section


class TrainingSettings(SettingsSection):
    chat_gate: bool = Field(
        False, title="Agents take conversations only after passing the mandatory courses")
    new_hire_days: int = Field(30, ge=1, le=365,
                               title="New hires: assign within this many days of hiring")
    reminder_days: int = Field(3, ge=0, le=60,
                               title="Remind this many days before the due date")


register_section("training", TrainingSettings, title="Compliance training",
                 read=Perm.training_read, manage=Perm.training_manage)
