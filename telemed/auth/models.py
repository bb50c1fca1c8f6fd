"""Users, server-side login sessions, API tokens and personal-data consent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telemed.auth.roles import Role
from telemed.db import Base, UTCDateTime, utcnow

__all__ = [
    "ApiToken",
    "ConsentRecord",
    "CredentialEndings",
    "Invitation",
    "LoginSession",
    "OtpEnrolment",
    "RecoveryCode",
    "Role",
    "User",
]

USER_AGENT_MAX = 255
ADDRESS_MAX = 64


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    consents: Mapped[list[ConsentRecord]] = relationship(back_populates="user", order_by="ConsentRecord.id")


class LoginSession(Base):
    """A server-side login: deleting the row logs the cookie out everywhere."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, sent in the signed cookie
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # refreshed at most once a minute
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    client_addr: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    # Staff logins also end when idle: ``idle_expires_at`` moves forward with the user's requests
    # (with ``last_seen_at``); null for logins without an idle limit.
    idle_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class OtpEnrolment(Base):
    """A user's TOTP authenticator (RFC 6238); a second factor once ``confirmed_at`` is set."""

    __tablename__ = "otp_enrolments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(BigInteger())  # the last accepted step: no replay


class RecoveryCode(Base):
    """A one-time recovery code of the second factor; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for API clients; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # refreshed at most once a minute
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    client_addr: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))

    user: Mapped[User] = relationship()


class Invitation(Base):
    """A one-time invitation to set a password (``auth.invitations``). The link's token is minted
    when the e-mail is sent; only its SHA-256 is stored, and a new one voids the older."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # None until sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CredentialEndings(Base):
    """One row (``id`` 1) whose ``generation`` grows by one in every transaction that ends a login
    (logout, token revocation, password change, a session ended from the list, deactivation).

    Serving processes poll it (a primary-key read) to learn, within a poll, that some connected
    credential may have ended; the row lock orders the bumps, so every committed ending changes
    the value a poll reads."""

    __tablename__ = "credential_endings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsentRecord(Base):
    """Acceptance of one version of the personal-data consent (152-FZ)."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_user_version", "user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="consents")
