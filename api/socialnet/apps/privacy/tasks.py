from apps.common.tasks import retrying_task

from . import services


@retrying_task(soft_time_limit=1800, time_limit=1900)  # an account with years of posts takes a while
def user_erase_task(user_id: int) -> None:
    services.user_erase(user_id=user_id)


@retrying_task
def account_erasure_sweep_task() -> None:
    services.users_erase_due()


@retrying_task(bind=True, soft_time_limit=1800, time_limit=1900)
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
