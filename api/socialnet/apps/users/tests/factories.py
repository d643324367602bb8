"""factory_boy factories shared by every app's tests."""

import factory
from django.utils import timezone

from apps.users.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(TEST_PASSWORD)

    class Params:
        premium = factory.Trait(
            premium_until=factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=30))
        )
        expired_premium = factory.Trait(
            premium_until=factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))
        )
        moderator = factory.Trait(role=User.Role.MODERATOR, is_staff=True)
        admin = factory.Trait(role=User.Role.ADMIN, is_staff=True, is_superuser=True)
