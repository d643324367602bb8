from django.apps import AppConfig

from apps.users.visibility import AccountVisibilityRule, register_account_visibility_rule


class SafetyConfig(AppConfig):
    name = "apps.safety"

    def ready(self):
        # users and follows sit below (or beside) safety and may not import it: they ask for the hidden accounts
        # through this registration, so the block rule stays written once, in .selectors.
        from .selectors import hidden_accounts

        register_account_visibility_rule(AccountVisibilityRule(hidden=hidden_accounts))
