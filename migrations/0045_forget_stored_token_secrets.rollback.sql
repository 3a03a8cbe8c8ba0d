-- Back to 0044: nothing to restore (the deleted answers held secrets, and a retry
-- of their requests is refused now).
SELECT 1;
