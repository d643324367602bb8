import factory

from apps.common.testing.factories import UserFactory
from apps.follows.models import Follow


class FollowFactory(factory.django.DjangoModelFactory):
    """A follow row without counters or timelines: tests that care go through follows.services."""

    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)
