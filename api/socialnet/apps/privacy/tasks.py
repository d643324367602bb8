from apps.common.tasks import retrying_task

from . import services


# An account with years of posts may take longer than one run, and need not: the erasure commits piece by piece and
# a re-run carries on, so the soft limit ends a run with a retry that continues (up to max_retries, then the hourly
# sweep). Every limit must stay below the broker's visibility_timeout (settings), or a long run is redelivered to a
# second worker while it still runs.
@retrying_task(soft_time_limit=540, time_limit=600)
def user_erase_task(user_id: int) -> None:
    services.user_erase(user_id=user_id)


@retrying_task
def account_erasure_sweep_task() -> None:
    services.users_erase_due()


# One zip per run, so it must fit in one run: 12 minutes, under the visibility_timeout like every task.
@retrying_task(bind=True, soft_time_limit=720, time_limit=780)
def data_export_build_task(self, export_id: int) -> None:
    try:
        services.data_export_build(export_id=export_id)
    except Exception:
        if self.request.retries >= self.max_retries:  # the last attempt: tell the user instead of "pending" forever
            services.data_export_fail(export_id=export_id)
        raise


@retrying_task
def data_exports_delete_old_task() -> None:
    services.data_exports_delete_old()
