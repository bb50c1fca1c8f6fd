"""The urgent queue's settings, read once from the app's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class UrgentSettings:
    escalate_after: timedelta  # TELEMED_URGENT_ESCALATE_SECONDS: level 1; twice this: level 2
    grace: timedelta  # TELEMED_DUTY_GRACE_SECONDS: duty lasts this long after the last connection
    duration: timedelta  # TELEMED_URGENT_DURATION_MINUTES: end = pick-up time + this
    clinic_tz: ZoneInfo  # patients' ages and the specialty are reckoned on the clinic's date

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UrgentSettings:
        return cls(
            escalate_after=timedelta(seconds=int(config["URGENT_ESCALATE_SECONDS"])),
            grace=timedelta(seconds=int(config["DUTY_GRACE_SECONDS"])),
            duration=timedelta(minutes=int(config["URGENT_DURATION_MINUTES"])),
            clinic_tz=ZoneInfo(str(config["CLINIC_TIMEZONE"])),
        )

    @property
    def heartbeat_seconds(self) -> float:
        """How often a serving process refreshes its doctors' connections: well within the grace."""
        return max(1.0, min(30.0, self.grace.total_seconds() / 4))
