"""Column names that more than one stage writes or reads (the lake partitions by day; rows name key and policy)."""

# Day partition of every lake zone (YYYY-MM-DD, UTC), written by pseudonymize and kanon, read by the lake.
DATE_COLUMN = "event_date"
# The key epoch that made a row's pseudonyms (erasure and key rotation find rows by it).
KEY_ID_COLUMN = "key_id"
# The policy version that made a row.
POLICY_VERSION_COLUMN = "policy_version"
