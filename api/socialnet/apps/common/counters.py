"""Repair of denormalised counters. Each app owns its counters (`<app>_counters_recount` in its services, run
hourly by beat) and recounts them with these two helpers; counters normally move with F() in the transaction of
the row they count, so this only repairs drift (manual SQL, an old bug)."""

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_of(model, fk: str, **filters) -> Coalesce:
    """An expression: how many `model` rows (matching `filters`) point at the outer row through `fk`."""
    rows = model.objects.filter(**{fk: OuterRef("pk")}, **filters).order_by().values(fk)
    return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n")[:1]), 0, output_field=IntegerField())


def recount_in_batches(model, expected: dict, *, batch_size: int) -> int:
    """Set each counter field of `model` to the count in `expected` where they differ; returns rows repaired.

    Per batch: lock the rows first (FOR NO KEY UPDATE), then count in a later statement. A concurrent writer
    that inserted a like/comment but has not yet bumped the counter waits on our lock and bumps it after we
    wrote the count without its row; one that already bumped it has committed before we got the lock, and
    our count (a fresh snapshot) includes its row. Either way the result is exact, never a lost update.
    """
    repaired = 0
    last_pk = 0
    fields = list(expected)
    while True:
        with transaction.atomic():
            pks = list(
                model.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return repaired
            last_pk = pks[-1]
            rows = model.objects.filter(pk__in=pks).annotate(**{f"real_{f}": expr for f, expr in expected.items()})
            stale = []
            for row in rows.only("pk", *fields):
                changed = False
                for field in fields:
                    real = getattr(row, f"real_{field}")
                    if getattr(row, field) != real:
                        setattr(row, field, real)
                        changed = True
                if changed:
                    stale.append(row)
            if stale:
                model.objects.bulk_update(stale, fields)
                repaired += len(stale)
