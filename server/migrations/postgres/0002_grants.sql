-- Shares with named users: a role (viewer, commenter, editor) on a file or folder. Roles on a
-- folder carry down to everything inside it (the policy pack does that).
CREATE TABLE grants (
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (resource_kind, resource_id, user_id)
);
CREATE INDEX grants_by_user ON grants (user_id);
