from django.db.models import QuerySet

from .models import Report


def report_queue(*, status: str | None = None) -> QuerySet[Report]:
    """The moderation queue: open reports first, newest first within each group."""
    qs = Report.objects.select_related("reporter", "resolved_by")
    if status == Report.Status.OPEN:
        qs = qs.filter(is_open=True)
    elif status == Report.Status.RESOLVED:
        qs = qs.filter(is_open=False)
    return qs
