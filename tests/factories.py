from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from accounts.models import Membership, Organization, Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"dev{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
        if create:
            self.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if create and extracted is not None:
            Membership.objects.create(organization=self, user=extracted, role=Role.OWNER)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEVELOPER


# --- plans and keys ------------------------------------------------------------------------
class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "plans.Plan"

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    monthly_quota = 1000
    rate_per_second = None
    rate_per_minute = None
    overage_policy = "hard_stop"


def subscribe(org, plan, **kwargs):
    """Put ``org`` on ``plan`` with a live subscription for the current month."""
    from datetime import timedelta

    from django.utils import timezone

    from plans.models import Subscription

    now = timezone.now()
    defaults = {"current_period_start": now - timedelta(days=1), "current_period_end": now + timedelta(days=29)}
    defaults.update(kwargs)
    return Subscription.objects.create(organization=org, plan=plan, **defaults)


# --- usage ------------------------------------------------------------------------------


# --- billing ----------------------------------------------------------------------------


# --- docs and status --------------------------------------------------------------------
