-- Webhook endpoints and their deliveries. An endpoint belongs to a user, to a team (its
-- account row) or, with owner_id NULL, to the platform; it goes with its owner. Secrets are
-- stored wrapped by a key-encryption key of the keys directory (base64 of nonce and
-- ciphertext, `kek_id` naming the key), the previous one kept until `previous_until` after a
-- rotation so both sign meanwhile. A delivery is one event for one endpoint (unique: the
-- relay may hand an event over twice); `due_at` doubles as the lease of the worker sending it,
-- `claimed_by` names that worker's claim.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    scope            TEXT NOT NULL,
    owner_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    event_types      TEXT NOT NULL,
    description      TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    disabled_reason  TEXT,
    kek_id           TEXT NOT NULL,
    secret           TEXT NOT NULL,
    previous_kek_id  TEXT,
    previous_secret  TEXT,
    previous_until   BIGINT,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_owner ON webhook_endpoints (scope, owner_id);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    body         TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    claimed_by   TEXT,
    last_status  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, due_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    status       BIGINT,
    latency_ms   BIGINT NOT NULL,
    error        TEXT,
    excerpt      TEXT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);
