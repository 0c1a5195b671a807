-- Invitations: an e-mail address asked to join the platform (team_id NULL: as a member or an
-- administrator) or a team (with a team role). The token is signed by the server and stored
-- only as its SHA-256; a resend replaces it. Used once: `accepted_at` is set when it is.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    team_id     TEXT REFERENCES teams (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    invited_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_by_team ON invitations (team_id);
CREATE INDEX invitations_by_inviter ON invitations (invited_by);
