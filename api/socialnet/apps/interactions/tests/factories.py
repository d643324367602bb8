import factory

from apps.interactions.models import Like
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory


class LikeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Like

    user = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
