-- Teams. A team owns a space (a folder at the top of its own tree), so its files outlive any
-- member. Everything an owner has (files, folders, data key, quota, usage) hangs off an account
-- row, so each team has one in `users`, of kind 'team': no e-mail anyone can type (`team:<id>`),
-- no password, never listed, found or signed in to as a person (the user store reads only kind
-- 'person').
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';

-- `id` is the team's account id. `space_id` is the folder the team owns.
CREATE TABLE teams (
    id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    space_id   TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- `role` is admin, editor or guest (the policy pack's team roles).
CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id);
