import factory

from apps.follows.models import Follow
from apps.users.tests.factories import UserFactory


class FollowFactory(factory.django.DjangoModelFactory):
    """A follow row without counters or timelines: tests that care go through follows.services."""

    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)
