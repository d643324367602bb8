import factory

from apps.images.models import Image
from apps.users.tests.factories import UserFactory


class ImageFactory(factory.django.DjangoModelFactory):
    """An image row only (no files). Tests about files upload real images through the service or the API."""

    class Meta:
        model = Image

    owner = factory.SubFactory(UserFactory)
    source_format = "jpeg"
    status = Image.Status.PENDING

    class Params:
        ready = factory.Trait(
            status=Image.Status.READY,
            width=640,
            height=480,
            blurhash="L00000fQfQfQfQfQfQfQfQfQfQfQ",
            original_ext="jpg",
        )
