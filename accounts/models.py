"""Users, organizations (the billing entity) and their members.

Everything a customer owns hangs off ``Organization``; every selector is scoped to the
caller's organization.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person. The email address is the login; there is no username."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(models.Model):
    """The customer account that owns keys, subscriptions, usage and invoices."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    is_personal = models.BooleanField(default=False)
    billing_email = models.EmailField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    currency = models.CharField(max_length=3, default="NGN", help_text="ISO 4217 billing currency")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"
    BILLING = "billing", "Billing"


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


TOKEN_PREFIX = "tgp_"  # noqa: S105 - the public marker of a personal access token, not a secret
TOKEN_VISIBLE_LENGTH = len(TOKEN_PREFIX) + 8  # the stored, displayed part: "tgp_AbCd1234"


class PersonalAccessToken(models.Model):
    """A member's credential for scripts calling ``/api/…``: the member's role in the member's
    organization, narrowed to ``scopes`` (see ``accounts.scopes``).

    Like an API key, the secret (``tgp_`` + 192 random bits) is shown once; only a visible
    prefix and an HMAC digest are kept. Tied to the membership, so leaving the organization
    deletes it and a role change applies to the next request. It always expires.
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=80)
    # "tgp_AbCd1234": enough to recognise a token in lists and logs, useless to an attacker.
    prefix = models.CharField(max_length=16, db_index=True)
    # HMAC-SHA256(API_KEY_PEPPER, full token), hex (portal.crypto.secret_digest).
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text="Granted scopes (accounts.scopes.SCOPES); none = nothing.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Written at most once a minute per token (accounts.access_tokens.personal_access_token_touch).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="pat_expires_after_creation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def status_at(self, now=None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at()
