"""Create a believable demo network through the same services the API uses (so counters, timelines and
notifications come out exactly as they would in production). Idempotent: re-running tops up, never duplicates."""

import io
import random

from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw

from apps.comments.services import comment_create
from apps.common.progress import Progress
from apps.follows.services import follow_create
from apps.images.services import image_create
from apps.interactions.services import like_create
from apps.posts.models import Post
from apps.posts.services import post_create
from apps.users.models import User
from apps.users.services import user_set_role

DEMO_PASSWORD = "socialnet-demo-2026"
# The accounts the README walkthrough uses; the rest of the network is generated around them.
NAMED = [
    ("alice", "Alice", "Photographer. Premium member.", "premium"),
    ("bob", "Bob", "Coffee, code, cycling.", "user"),
    ("carol", "Carol", "Community moderator.", "moderator"),
]
TOPICS = ["sunrise", "espresso", "mountains", "a new bike", "jazz", "street food", "the sea", "a good book"]
PHRASES = [
    "Can't stop thinking about {t}.",
    "Today was all about {t}.",
    "Hot take: {t} is underrated.",
    "Who else loves {t}?",
    "Weekend plans: {t}, then more {t}.",
]
PALETTE = [(236, 112, 99), (93, 173, 226), (88, 214, 141), (244, 208, 63), (175, 122, 197), (72, 201, 176)]


def generated_jpeg(seed: int, size=(1200, 800)) -> SimpleUploadedFile:
    """A colourful, non-trivial JPEG (gradient bands and circles), different for every seed."""
    rng = random.Random(seed)
    image = PILImage.new("RGB", size, rng.choice(PALETTE))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[1], 40):
        draw.rectangle([0, i, size[0], i + 20], fill=rng.choice(PALETTE))
    for _ in range(6):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(40, 200)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=rng.choice(PALETTE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"demo-{seed}.jpg", buffer.getvalue(), content_type="image/jpeg")


class Command(BaseCommand):
    help = (
        "Create (or top up) a demo network: users incl. a premium user and a moderator, follows, posts with "
        "generated images, comments and likes. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=12, help="how many users in total (default 12)")
        parser.add_argument("--posts-per-user", type=int, default=3)
        parser.add_argument("--images", type=int, default=6, help="how many posts get a generated image")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, users, posts_per_user, images, seed, **options):
        # One generator per step: a re-run that skips existing rows must still draw the same follows and likes.
        people = self._users(max(users, len(NAMED)))
        created_posts = self._posts(people, posts_per_user, images, random.Random(seed))
        self._follows(people, random.Random(seed + 1))
        self._engagement(people, created_posts, random.Random(seed + 2))
        self.stdout.write(self.style.SUCCESS(f"Demo network ready. Logins (password for all: {DEMO_PASSWORD}):"))
        for username, _, bio, role in NAMED:
            self.stdout.write(f"  {username:<8} {role:<10} {bio}")

    def _users(self, count: int) -> list[User]:
        people = []
        hashed = make_password(DEMO_PASSWORD)
        with Progress("users", count) as progress:
            for index in range(count):
                if index < len(NAMED):
                    username, first_name, bio, role = NAMED[index]
                else:
                    username, first_name, bio, role = (
                        f"demo{index:03d}",
                        f"Demo {index}",
                        "Just here for the feed.",
                        "user",
                    )
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"email": f"{username}@demo.socialnet.local", "first_name": first_name, "bio": bio},
                )
                if created:
                    user.password = hashed  # one PBKDF2 run for all demo users, not one each
                    user.save(update_fields=["password"])
                    if role == "moderator":
                        user_set_role(user=user, role=User.Role.MODERATOR)
                    if role == "premium":
                        User.objects.filter(pk=user.pk).update(
                            premium_until=timezone.now() + timezone.timedelta(days=365)
                        )
                people.append(user)
                progress.advance()
        return people

    def _posts(self, people: list[User], per_user: int, image_count: int, rng: random.Random) -> list[Post]:
        wanted = [(user, n) for user in people for n in range(per_user)]
        posts = []
        with Progress("posts", len(wanted)) as progress:
            for ordinal, (user, n) in enumerate(wanted):
                existing = list(Post.objects.filter(author=user).order_by("id")[:per_user])
                if n < len(existing):
                    posts.append(existing[n])
                else:
                    topic = rng.choice(TOPICS)
                    text = rng.choice(PHRASES).format(t=topic)
                    visibility = Post.Visibility.PUBLIC
                    if user.username == "alice" and n == 0:
                        visibility, text = Post.Visibility.PREMIUM, "Premium only: my full photo walk notes on " + topic
                    elif n == 2:
                        visibility = Post.Visibility.FOLLOWERS
                    image_ids = []
                    if ordinal < image_count:
                        image_ids = [image_create(owner=user, upload=generated_jpeg(ordinal), alt_text=topic).pk]
                    with transaction.atomic():
                        posts.append(post_create(author=user, text=text, visibility=visibility, image_ids=image_ids))
                progress.advance()
        return posts

    def _follows(self, people: list[User], rng: random.Random) -> None:
        with Progress("follows", len(people)) as progress:
            for user in people:
                others = [p for p in people if p.pk != user.pk]
                for followee in rng.sample(others, k=min(len(others), max(2, len(others) // 2))):
                    follow_create(follower=user, followee=followee)
                progress.advance()

    def _engagement(self, people: list[User], posts: list[Post], rng: random.Random) -> None:
        with Progress("likes and comments", len(posts)) as progress:
            for post in posts:
                if post.visibility == Post.Visibility.PUBLIC:
                    for liker in rng.sample(people, k=min(len(people), rng.randrange(0, 5))):
                        if liker.pk != post.author_id:
                            like_create(user=liker, post=post)
                    if rng.random() < 0.5 and not post.comments.exists():
                        commenter = rng.choice([p for p in people if p.pk != post.author_id])
                        comment = comment_create(post=post, author=commenter, text="Love this!")
                        comment_create(post=post, author=post.author, text="Thank you!", parent_id=comment.pk)
                progress.advance()
