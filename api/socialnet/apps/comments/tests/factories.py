import factory

from apps.comments.models import Comment
from apps.posts.tests.factories import PostFactory
from apps.users.tests.factories import UserFactory


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"comment {n}")
