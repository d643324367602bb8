import factory

from apps.posts.models import Post
from apps.users.tests.factories import UserFactory


class PostFactory(factory.django.DjangoModelFactory):
    """A post row. Counters are not touched: tests that care create posts through the services."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"post text {n}")
    visibility = Post.Visibility.PUBLIC
