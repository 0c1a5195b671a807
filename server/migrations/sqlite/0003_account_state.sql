-- Accounts an administrator disabled: they cannot sign in, and the links and shares they made
-- stop granting anything until they are enabled again.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
