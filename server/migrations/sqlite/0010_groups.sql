-- Groups (named sets of users and of other groups, managed by administrators) and shares held
-- by a user or a group, with an optional expiry.

-- `id` is the name policies use (`Group::"<id>"`); it never changes. `name` is for people.
CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- A member is a user or a group (`member_kind`). No foreign key on `member_id` (it names one
-- of two tables): the stores remove a deleted account's or group's memberships themselves.
CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    member_kind TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_kind, member_id)
);
CREATE INDEX group_members_by_member ON group_members (member_kind, member_id);

-- Shares are now held by a user or a group, and may expire. `expiry_noted_at` is set once the
-- `share.expired` event has been written (the expiry itself is enforced at every decision).
CREATE TABLE shares (
    resource_kind   TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    holder_kind     TEXT NOT NULL,
    holder_id       TEXT NOT NULL,
    role            TEXT NOT NULL,
    granted_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    expiry_noted_at BIGINT,
    PRIMARY KEY (resource_kind, resource_id, holder_kind, holder_id)
);
CREATE INDEX shares_by_holder ON shares (holder_kind, holder_id);
CREATE INDEX shares_by_resource ON shares (resource_id);
CREATE INDEX shares_by_granter ON shares (granted_by);
CREATE INDEX shares_by_expiry ON shares (expires_at);
INSERT INTO shares (resource_kind, resource_id, holder_kind, holder_id, role, granted_by, created_at)
    SELECT resource_kind, resource_id, 'user', user_id, role, granted_by, created_at FROM grants;
DROP TABLE grants;
