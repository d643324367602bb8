"""What happens to accounts, for the apps above to react to (see apps.common.signals for the rules)."""

from django.dispatch import Signal

# The account `user_id` stopped being private: its pending follow requests are to be accepted. kwargs: user_id.
account_made_public = Signal()
