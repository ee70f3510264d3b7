"""Key vocabulary without dependencies: rotation periods and key statuses (the CLI and the policy model read them)."""

MIN_SECRET_BYTES = 32
ACTIVE, RETIRED, DESTROYED = "active", "retired", "destroyed"
PERIODS = ("daily", "weekly", "monthly", "yearly")
