from apps.common.tasks import retrying_task

from . import services


@retrying_task
def trending_tags_refresh_task() -> None:
    services.trending_tags_refresh()
