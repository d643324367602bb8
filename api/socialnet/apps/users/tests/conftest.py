from .lifecycle_support import committed, signup  # noqa: F401  fixtures of the account lifecycle tests
