-- The chain head row carries an Ed25519 signature (kind 'head') over chain, seq, hash and time,
-- renewed by every append: rewriting the head without the signing key is detected by verify.
-- NULL in rows written before this migration, until the next append signs them.
ALTER TABLE audit_chains ADD COLUMN time_us INTEGER;
ALTER TABLE audit_chains ADD COLUMN key_id TEXT;
ALTER TABLE audit_chains ADD COLUMN signature BLOB;
