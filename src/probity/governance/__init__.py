"""Group standards (governance): versioned settings sections inherited HQ → subsidiary →
region, with HQ locks. The public API:

    effective_settings(session, tenant_id, Section | "name") -> EffectiveSettings (typed values,
        per-field origin and lock)
    settings_values(session, tenant_id, Section) -> Section (typed, cached ~5 s; hot paths)
    change_settings(session, actor, tenant_id, section, values, locks, reason, clear=())
    preview_change(...), rollback_settings(...), on_settings_change(section, listener)
    register_section(name, Model, title=..., read=Perm..., manage=Perm...)

See docs/ARCHITECTURE.md ("Group standards").
"""

from probity.governance.registry import (
    SectionSpec,
    SettingsSection,
    all_sections,
    get_section,
    register_section,
)
from probity.governance.service import (
    EffectiveSettings,
    FieldState,
    SettingLocked,
    TenantDiff,
    change_settings,
    effective_settings,
    on_settings_change,
    preview_change,
    rollback_settings,
    settings_values,
)

__all__ = [
    "EffectiveSettings",
    "FieldState",
    "SectionSpec",
    "SettingLocked",
    "SettingsSection",
    "TenantDiff",
    "all_sections",
    "change_settings",
    "effective_settings",
    "get_section",
    "on_settings_change",
    "preview_change",
    "register_section",
    "rollback_settings",
    "settings_values",
]
