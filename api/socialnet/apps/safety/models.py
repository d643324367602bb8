from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Block(models.Model):
    """`blocker` blocks `blocked`: from then on neither sees the other anywhere (apps.safety.selectors). One row
    per pair and direction; both directions may exist at once."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]
        indexes = [
            # "My blocks, newest first"; the unique constraint's index serves blocker lookups too.
            models.Index(fields=["blocker", "-id"], name="block_blocker_recent"),
            # "Who blocks me" (the other half of the hidden set).
            models.Index(fields=["blocked"], name="block_blocked"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Mute(models.Model):
    """`muter` mutes `muted`: their posts leave the muter's feeds; with `notifications`, their notifications too.
    Private to the muter (not in the admin). A mute past `expires_at` has ended: readers check it, so no job is
    needed for correctness; expired rows are only garbage."""

    muter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_made")
    muted = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_received")
    notifications = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # null: until unmuted
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="mute_once"),
            models.CheckConstraint(condition=~Q(muter=F("muted")), name="mute_not_self"),
        ]
        indexes = [models.Index(fields=["muter", "-id"], name="mute_muter_recent")]

    def __str__(self) -> str:
        return f"{self.muter_id} mutes {self.muted_id}"

    @property
    def is_active(self) -> bool:
        return self.expires_at is None or self.expires_at > timezone.now()


class KeywordFilter(models.Model):
    """A phrase whose posts (and comments, notifications) `owner` does not want to see in the chosen contexts.
    Private to its owner (not in the admin). `pattern` is the PostgreSQL regular expression matching `phrase`
    (case-insensitively), derived from it on every write so reads never build patterns."""

    class Context(models.TextChoices):
        HOME = "home"
        PUBLIC = "public"
        THREAD = "thread"
        NOTIFICATIONS = "notifications"

    PHRASE_MAX_LENGTH = 100
    MAX_PER_USER = 100

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="keyword_filters")
    phrase = models.CharField(max_length=PHRASE_MAX_LENGTH)
    whole_word = models.BooleanField(default=True)
    pattern = models.TextField()
    # One column per context rather than a list: "filters of this user for home" stays a plain indexed predicate on
    # every backend (SQLite has no JSON containment).
    in_home = models.BooleanField(default=False)
    in_public = models.BooleanField(default=False)
    in_thread = models.BooleanField(default=False)
    in_notifications = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "id"], name="keyword_filter_owner")]

    def __str__(self) -> str:
        return f"{self.owner_id} filters {self.phrase!r}"

    @property
    def context(self) -> list[str]:
        return [c.value for c in self.Context if getattr(self, f"in_{c.value}")]
