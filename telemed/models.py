"""Imports every model module so ``Base.metadata`` is complete (Alembic, tests)."""

from telemed.admin.schedule_models import ScheduleException, ScheduleTemplate  # noqa: F401
from telemed.auth.models import ApiToken, ConsentRecord, Invitation, LoginSession, Role, User  # noqa: F401
from telemed.auth.oidc_models import OidcIdentity  # noqa: F401
from telemed.catalog.models import Doctor, Specialty  # noqa: F401
from telemed.chat.models import Message, ReadMark  # noqa: F401
from telemed.documents.models import Attachment  # noqa: F401
from telemed.feedback.models import Complaint, Rating  # noqa: F401
from telemed.members.models import Contract, Guardianship, Patient, Policy  # noqa: F401
from telemed.notifications.models import MailMessage, Notification, NotificationPreference  # noqa: F401
from telemed.notify.models import OutboxEvent  # noqa: F401
from telemed.opinions.models import OpinionDocument, OpinionEvent, SecondOpinion  # noqa: F401
from telemed.records.audit_models import AuditEvent  # noqa: F401
from telemed.records.models import Addendum, Conclusion, RecordShare, Referral, Visit  # noqa: F401
from telemed.scheduling.models import Consultation, Mode, ReminderMark, Slot, Status  # noqa: F401
from telemed.urgent.models import Duty, DutyConnection, PlannedShift, UrgentRequest  # noqa: F401
from telemed.video.models import RoomJoin, RoomPresence  # noqa: F401
