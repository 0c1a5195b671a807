-- Groups inside a team: `team_id` names the team whose admins manage the group (NULL: a
-- platform-wide group, managed by administrators). A team group's id is "<team id>.<name>",
-- so it never collides with another team's or a platform group; its members are members of
-- that team and groups of the same team. The team store removes a team's groups before the
-- team, so the reference needs no cascade.
ALTER TABLE user_groups ADD COLUMN team_id TEXT REFERENCES teams (id);
CREATE INDEX user_groups_by_team ON user_groups (team_id, id);
