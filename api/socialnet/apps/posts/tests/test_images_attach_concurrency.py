"""Two posts created at the same moment with the same image: the row lock lets exactly one of them have it."""

import threading

import pytest
from django.db import connection
from rest_framework.exceptions import ValidationError

from apps.images.models import Image
from apps.images.tests.factories import ImageFactory
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_cannot_share_an_image():
    author = UserFactory()
    image = ImageFactory(owner=author, ready=True)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(text):
        try:
            barrier.wait(timeout=10)
            post_create(author=author, text=text, image_ids=[image.pk])
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()  # each thread has its own connection; close it so the test database can be dropped

    threads = [threading.Thread(target=create, args=(f"post {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["created", "refused"]
    image.refresh_from_db()
    assert Post.objects.filter(author=author).count() == 1
    assert image.post_id == Post.objects.get(author=author).pk
    assert Image.objects.filter(post__isnull=False).count() == 1
