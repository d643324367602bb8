import factory

from apps.common.testing.factories import UserFactory
from apps.interactions.models import Like
from apps.posts.tests.factories import PostFactory


class LikeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Like

    user = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
