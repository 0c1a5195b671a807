//! [`InvitationStore`] in SQL (`invitations`; an acceptance also writes `users` and
//! `team_members`, in its transaction).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{in_tx_with_event, on_db};
use crate::store::invitations::{
    Accepter, INVITATION_CLOSED, InvitationRecord, InvitationStore, Invitations,
};
use crate::store::{Error, Result};

const COLUMNS: &str = "id, token_hash, email, team_id, role, invited_by, created_at, expires_at, \
                       accepted_at, accepted_by, revoked_at";

macro_rules! invitation_from_row {
    ($row:expr) => {{
        let r = $row;
        Ok::<_, Error>(InvitationRecord {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            email: r.try_get("email")?,
            team_id: r.try_get("team_id")?,
            role: r.try_get("role")?,
            invited_by: r.try_get("invited_by")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            accepted_at: r.try_get("accepted_at")?,
            accepted_by: r.try_get("accepted_by")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }};
}

#[async_trait]
impl InvitationStore for SqlStore {
    async fn create(&self, i: &InvitationRecord, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                if let Some(team) = &i.team_id {
                    let found = sqlx::query("SELECT 1 AS one FROM teams WHERE id = $1")
                        .bind(team)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if found.is_none() {
                        return Err(Error::NotFound);
                    }
                }
                sqlx::query(
                    "INSERT INTO invitations (id, token_hash, email, team_id, role, invited_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&i.id)
                .bind(&i.token_hash)
                .bind(&i.email)
                .bind(&i.team_id)
                .bind(&i.role)
                .bind(&i.invited_by)
                .bind(i.created_at)
                .bind(i.expires_at)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM invitations WHERE id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(invitation_from_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn list(&self, which: Invitations<'_>) -> Result<Vec<InvitationRecord>> {
        let (column, value) = match which {
            Invitations::ToTeam(t) => ("team_id", t),
            Invitations::SentBy(u) => ("invited_by", u),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations WHERE {column} = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1000"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(value).fetch_all(pool).await?;
            rows.iter().map(|r| invitation_from_row!(r)).collect()
        })
    }

    async fn reissue(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let n = sqlx::query(
                    "UPDATE invitations SET token_hash = $1, expires_at = $2 \
                     WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND $4 < $2",
                )
                .bind(token_hash)
                .bind(expires_at)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    let exists = sqlx::query("SELECT 1 AS one FROM invitations WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    return Err(match exists {
                        Some(_) => Error::Conflict(INVITATION_CLOSED.into()),
                        None => Error::NotFound,
                    });
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        let run = async {
            let revoked: bool;
            in_tx_with_event!(&self.db, event, |tx| {
                let open: Option<(Option<i64>, Option<i64>, i64)> = sqlx::query(
                    "SELECT accepted_at, revoked_at, expires_at FROM invitations WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| {
                    Ok::<_, sqlx::Error>((
                        r.try_get("accepted_at")?,
                        r.try_get("revoked_at")?,
                        r.try_get("expires_at")?,
                    ))
                })
                .transpose()?;
                let Some((accepted, was_revoked, expires)) = open else {
                    return Err(Error::NotFound);
                };
                revoked = accepted.is_none() && was_revoked.is_none() && at < expires;
                if !revoked {
                    // Nothing to revoke: no write, so no event either.
                    return Ok(false);
                }
                sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
            });
            Ok::<_, Error>(revoked)
        };
        run.await
    }

    async fn accept(
        &self,
        id: &str,
        token_hash: &str,
        by: Accepter<'_>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let user_id = match &by {
            Accepter::Existing(u) => (*u).to_owned(),
            Accepter::New(u) => u.id.clone(),
        };
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                // The claim first: of two acceptances racing, one updates the row and the
                // other finds it used.
                let claimed = sqlx::query(
                    "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
                     WHERE id = $3 AND token_hash = $4 AND accepted_at IS NULL \
                     AND revoked_at IS NULL AND expires_at > $1 RETURNING team_id, role, invited_by",
                )
                .bind(at)
                .bind(&user_id)
                .bind(id)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(claimed) = claimed else {
                    let exists = sqlx::query("SELECT 1 AS one FROM invitations WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    return Err(match exists {
                        Some(_) => Error::Conflict(INVITATION_CLOSED.into()),
                        None => Error::NotFound,
                    });
                };
                let team: Option<String> = claimed.try_get("team_id")?;
                let role: String = claimed.try_get("role")?;
                let invited_by: String = claimed.try_get("invited_by")?;
                match &by {
                    Accepter::New(u) => {
                        sqlx::query(
                            "INSERT INTO users (id, email, name, password_hash, is_admin, disabled_at, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&u.id)
                        .bind(&u.email)
                        .bind(&u.name)
                        .bind(&u.password_hash)
                        .bind(u.is_admin)
                        .bind(u.disabled_at)
                        .bind(u.created_at)
                        .bind(u.updated_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Accepter::Existing(u) => {
                        let person = sqlx::query(
                            "SELECT 1 AS one FROM users WHERE id = $1 AND kind = 'person'",
                        )
                        .bind(*u)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if person.is_none() {
                            return Err(Error::NotFound);
                        }
                    }
                }
                match team {
                    Some(team) => {
                        sqlx::query(
                            "INSERT INTO team_members (team_id, user_id, role, added_by, added_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id, user_id) DO NOTHING",
                        )
                        .bind(&team)
                        .bind(&user_id)
                        .bind(&role)
                        .bind(&invited_by)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None if role == "admin" => {
                        sqlx::query(
                            "UPDATE users SET is_admin = TRUE, updated_at = $1 WHERE id = $2",
                        )
                        .bind(at)
                        .bind(&user_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {}
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }
}
