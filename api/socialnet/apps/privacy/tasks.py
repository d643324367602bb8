from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=1800, time_limit=1900)  # an account with years of posts takes a while
def user_erase_task(user_id: int) -> None:
    services.user_erase(user_id=user_id)


@retrying_task
def account_erasure_sweep_task() -> None:
    services.users_erase_due()
