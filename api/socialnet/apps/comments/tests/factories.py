import factory

from apps.comments.models import Comment
from apps.common.testing.factories import UserFactory
from apps.posts.tests.factories import PostFactory


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"comment {n}")
