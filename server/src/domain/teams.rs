//! Teams: people working on one space of files. A team owns its space (a folder at the top of
//! the team's own tree), so what is in it belongs to the team, not to whoever uploaded it, and
//! stays when they leave.
//!
//! Roles are the policy pack's team roles: admins own the space and manage the team, editors
//! change what is in the space, guests read it. The policy engine decides every step from the
//! caller's role (`Team` entities and their role entities), like any other decision.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Ctx, Files, Guard, names, rfc3339};
use crate::authz::{Memberships, Target};
use crate::error::{Error, Result};
use crate::store::{DynGrantStore, DynTeamStore, DynUserStore, TeamRecord, UserKey};

/// A team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Team {
    /// Id (also the owner id of the files in its space).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The folder the team owns: upload into it and share from it like any folder.
    pub space_id: String,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Last renamed (RFC 3339).
    pub updated_at: String,
    /// The caller's role in it (`null` for a platform administrator who is not a member).
    pub role: Option<String>,
}

fn team(t: TeamRecord, role: Option<String>) -> Team {
    Team {
        id: t.id,
        name: t.name,
        space_id: t.space_id,
        created_by: t.created_by,
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        role,
    }
}

/// A member of a team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamMember {
    /// User id.
    pub user_id: String,
    /// E-mail.
    pub email: String,
    /// `admin`, `editor` or `guest`.
    pub role: String,
    /// Who gave the role.
    pub added_by: String,
    /// When they joined (RFC 3339).
    pub added_at: String,
}

/// A team with its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamDetail {
    /// The team.
    #[serde(flatten)]
    pub team: Team,
    /// Its members, by e-mail.
    pub members: Vec<TeamMember>,
}

/// A team role from input: admin, editor or guest.
pub fn role(text: &str) -> Result<&'static str> {
    match text {
        "admin" => Ok("admin"),
        "editor" => Ok("editor"),
        "guest" => Ok("guest"),
        _ => Err(Error::Invalid(
            "a team role is admin, editor or guest".into(),
        )),
    }
}

/// Where a deleted team's files went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HandedOver {
    /// The team's space, now a folder at the top of the receiver's tree (same id).
    pub folder_id: String,
    /// Its name there: the team's, with " (2)", " (3)"… when that was taken.
    pub name: String,
    /// The receiver.
    pub owner_id: String,
}

/// The teams service.
#[derive(Debug, Clone)]
pub struct Teams {
    store: Arc<DynTeamStore>,
    users: Arc<DynUserStore>,
    grants: Arc<DynGrantStore>,
    files: Files,
    guard: Guard,
}

impl Teams {
    /// Over the team, account and share stores (the last for the caller's team roles), and the
    /// files service (which copies a team's contents to the member it is handed to).
    pub fn new(
        store: Arc<DynTeamStore>,
        users: Arc<DynUserStore>,
        grants: Arc<DynGrantStore>,
        files: Files,
        guard: Guard,
    ) -> Teams {
        Teams {
            store,
            users,
            grants,
            files,
            guard,
        }
    }

    /// The caller's team roles, as a decision sees them.
    async fn memberships(&self, ctx: &Ctx) -> Result<Memberships> {
        let (_, m) = super::grants::access(self.grants.as_ref(), &ctx.principals(), &[]).await?;
        Ok(m)
    }

    /// Team `id` after authorizing `action` on it, and the caller's role. A team the caller
    /// may not even see is "not found", so its id reveals nothing.
    async fn authorized(
        &self,
        ctx: &Ctx,
        action: &str,
        id: &str,
    ) -> Result<(TeamRecord, Option<String>)> {
        let missing = || Error::NotFound("no such team".into());
        let id = names::id(id).map_err(|_| missing())?;
        let t = self.store.get(&id).await?.ok_or_else(missing)?;
        let m = self.memberships(ctx).await?;
        let target = Target::Team(t.id.clone(), m.clone());
        if action != "view_team" {
            self.guard
                .authorize(ctx, "view_team", &target, "team", &t.id)
                .await
                .map_err(|e| match e {
                    Error::Forbidden { .. } => missing(),
                    e => e,
                })?;
        }
        self.guard
            .authorize(ctx, action, &target, "team", &t.id)
            .await
            .map_err(|e| match e {
                Error::Forbidden { .. } if action == "view_team" => missing(),
                e => e,
            })?;
        let mine = ctx
            .principal
            .user_id()
            .and_then(|u| m.teams_of(u).find(|(team, _)| *team == t.id))
            .map(|(_, r)| r.name().to_owned());
        Ok((t, mine))
    }

    /// Team `id` after authorizing `action` on it (for services that act on a team's behalf,
    /// such as invitations).
    pub async fn authorized_team(&self, ctx: &Ctx, action: &str, id: &str) -> Result<TeamRecord> {
        Ok(self.authorized(ctx, action, id).await?.0)
    }

    /// The name of team `id`, if it exists (no authorization: for showing an invitation).
    pub async fn name_of(&self, id: &str) -> Result<Option<String>> {
        Ok(self.store.get(id).await?.map(|t| t.name))
    }

    /// A member by e-mail: an account that exists.
    async fn person(&self, email: &str) -> Result<String> {
        let email = names::email(email)?;
        Ok(self
            .users
            .get(UserKey::Email(&email))
            .await?
            .ok_or_else(|| Error::Invalid(format!("no account has the address {email}")))?
            .id)
    }

    /// Creates a team with the caller as its admin, and its space.
    pub async fn create(&self, ctx: &Ctx, name: &str) -> Result<Team> {
        self.guard.authorize_platform(ctx, "create_team").await?;
        let name = names::display_name(name)?;
        let now = self.guard.now();
        let record = TeamRecord {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.clone(),
            space_id: uuid::Uuid::now_v7().to_string(),
            created_by: ctx.user_id()?.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let event = ctx
            .event("team.created", "team", &record.id)
            .attr("name", name.as_str())
            .attr("space_id", record.space_id.as_str())
            .build()?;
        self.store
            .create(&record, ctx.user_id()?, &event)
            .await
            .map_err(|e| match e {
                crate::store::Error::NotFound => Error::Unauthorized("sign in first".into()),
                e => e.into(),
            })?;
        Ok(team(record, Some("admin".into())))
    }

    /// The teams the caller is in, with their role.
    pub async fn mine(&self, ctx: &Ctx) -> Result<Vec<Team>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        Ok(self
            .store
            .teams_of(&user)
            .await?
            .into_iter()
            .map(|m| team(m.team, Some(m.role)))
            .collect())
    }

    /// Every team, by id, paged (platform administrators).
    pub async fn list_all(
        &self,
        ctx: &Ctx,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Team>> {
        self.guard.authorize_platform(ctx, "administer").await?;
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit is 1 to 1000".into()));
        }
        Ok(self
            .store
            .list(after, limit)
            .await?
            .into_iter()
            .map(|t| team(t, None))
            .collect())
    }

    /// A team and its members (its members and platform administrators).
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<TeamDetail> {
        let (t, role) = self.authorized(ctx, "view_team", id).await?;
        let members = self.store.members(&t.id).await?;
        Ok(TeamDetail {
            team: team(t, role),
            members: members
                .into_iter()
                .map(|m| TeamMember {
                    user_id: m.user_id,
                    email: m.email,
                    role: m.role,
                    added_by: m.added_by,
                    added_at: rfc3339(m.added_at),
                })
                .collect(),
        })
    }

    /// Renames a team and its space (team admins).
    pub async fn rename(&self, ctx: &Ctx, id: &str, name: &str) -> Result<Team> {
        let (t, role) = self.authorized(ctx, "manage_team", id).await?;
        let name = names::display_name(name)?;
        let event = ctx
            .event("team.renamed", "team", &t.id)
            .attr("name", name.as_str())
            .build()?;
        self.store
            .rename(&t.id, &name, self.guard.now(), &event)
            .await?;
        let t = self
            .store
            .get(&t.id)
            .await?
            .ok_or_else(|| Error::NotFound("no such team".into()))?;
        Ok(team(t, role))
    }

    /// Deletes a team (team admins): refused while its space holds anything, trash included.
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let (t, _) = self.authorized(ctx, "manage_team", id).await?;
        let event = ctx.event("team.deleted", "team", &t.id).build()?;
        Ok(self.store.delete(&t.id, &event).await?)
    }

    /// Deletes a team (team admins), handing its space, everything in it and its trash to the
    /// member with `email`: every version's content is copied under the member's own keys
    /// first (a team's files are sealed under the team's), then one transaction gives the
    /// member the folders and files and deletes the team. The space lands at the top of the
    /// member's tree, named after the team; shares and links on what moved stay, and hold
    /// while whoever made them may still share it.
    pub async fn delete_handing_over(
        &self,
        ctx: &Ctx,
        id: &str,
        email: &str,
    ) -> Result<HandedOver> {
        let (t, _) = self.authorized(ctx, "manage_team", id).await?;
        let email = names::email(email)?;
        let to = self
            .users
            .get(UserKey::Email(&email))
            .await?
            .ok_or_else(|| Error::Invalid(format!("no account has the address {email}")))?;
        let in_team = self
            .store
            .members(&t.id)
            .await?
            .iter()
            .any(|m| m.user_id == to.id);
        if !in_team {
            return Err(Error::Invalid(format!(
                "{email} is not a member of the team: add them first, or hand it to a member"
            )));
        }
        let contents = self.store.contents(&t.id).await?;
        let quota = self.files.quota_of(&to.id).await?;
        let (rekeyed, chunked) = self.files.copy_contents(&to.id, &contents).await?;
        let event = ctx
            .event("team.deleted", "team", &t.id)
            .attr("handed_to", to.id.as_str())
            .attr("contents", rekeyed.len() as u64)
            .build()?;
        let hand_over = crate::store::HandOver {
            to: &to.id,
            rekeyed: &rekeyed,
            chunked,
            quota: &quota,
        };
        match self.store.hand_over(&t.id, &hand_over, &event).await {
            Ok(name) => {
                // The team's own contents are referenced by nothing now.
                self.files
                    .forget_contents(rekeyed.iter().map(|(old, _)| old.clone()).collect())
                    .await;
                Ok(HandedOver {
                    folder_id: t.space_id,
                    name,
                    owner_id: to.id,
                })
            }
            Err(e) => {
                self.files
                    .forget_contents(rekeyed.iter().map(|(_, new)| new.clone()).collect())
                    .await;
                Err(e.into())
            }
        }
    }

    /// Adds the account with `email` to the team with `role`, or changes their role (team
    /// admins). Demoting the last admin is refused.
    pub async fn set_role(
        &self,
        ctx: &Ctx,
        id: &str,
        email: &str,
        role_name: &str,
    ) -> Result<TeamMember> {
        let (t, _) = self.authorized(ctx, "manage_team", id).await?;
        let role = role(role_name)?;
        let user = self.person(email).await?;
        let event = ctx
            .event("team.member_role_set", "team", &t.id)
            .attr("user", user.as_str())
            .attr("role", role)
            .build()?;
        let by = ctx.user_id()?;
        let now = self.guard.now();
        match self
            .store
            .set_role(&t.id, &user, role, by, now, &event)
            .await
        {
            Err(crate::store::Error::NotFound) => {
                return Err(Error::Invalid("that account no longer exists".into()));
            }
            other => other?,
        };
        self.member(&t.id, &user).await
    }

    async fn member(&self, team: &str, user: &str) -> Result<TeamMember> {
        self.store
            .members(team)
            .await?
            .into_iter()
            .find(|m| m.user_id == user)
            .map(|m| TeamMember {
                user_id: m.user_id,
                email: m.email,
                role: m.role,
                added_by: m.added_by,
                added_at: rfc3339(m.added_at),
            })
            .ok_or_else(|| Error::NotFound("no such member".into()))
    }

    /// Takes a member out (team admins); the last admin stays.
    pub async fn remove_member(&self, ctx: &Ctx, id: &str, user_id: &str) -> Result<()> {
        let (t, _) = self.authorized(ctx, "manage_team", id).await?;
        let user = names::id(user_id).map_err(|_| Error::NotFound("no such member".into()))?;
        let event = ctx
            .event("team.member_removed", "team", &t.id)
            .attr("user", user.as_str())
            .build()?;
        self.store
            .remove_member(&t.id, &user, &event)
            .await
            .map_err(|e| match e {
                crate::store::Error::NotFound => Error::NotFound("no such member".into()),
                e => e.into(),
            })
    }

    /// The caller leaves the team (any member; the last admin hands over first).
    pub async fn leave(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let (t, role) = self.authorized(ctx, "view_team", id).await?;
        if role.is_none() {
            return Err(Error::NotFound("you are not in this team".into()));
        }
        let user = ctx.user_id()?;
        let event = ctx.event("team.left", "team", &t.id).build()?;
        Ok(self.store.remove_member(&t.id, user, &event).await?)
    }

    /// Hands the team over (a team admin): the member with `email` becomes admin and the
    /// caller editor, in one step.
    pub async fn transfer(&self, ctx: &Ctx, id: &str, email: &str) -> Result<TeamDetail> {
        let (t, role) = self.authorized(ctx, "manage_team", id).await?;
        if role.as_deref() != Some("admin") {
            return Err(Error::Invalid(
                "only an admin of the team hands it over; set roles instead".into(),
            ));
        }
        let to = self.person(email).await?;
        let from = ctx.user_id()?;
        if to == from {
            return Err(Error::Invalid("you already hold the team".into()));
        }
        let event = ctx
            .event("team.transferred", "team", &t.id)
            .attr("to", to.as_str())
            .build()?;
        self.store
            .transfer(&t.id, from, &to, self.guard.now(), &event)
            .await
            .map_err(|e| match e {
                crate::store::Error::NotFound => {
                    Error::Invalid("hand a team over only to one of its members".into())
                }
                e => e.into(),
            })?;
        self.get(ctx, &t.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::role;

    #[test]
    fn roles() {
        for ok in ["admin", "editor", "guest"] {
            assert_eq!(role(ok).unwrap(), ok);
        }
        for bad in ["", "owner", "Admin", "viewer"] {
            assert!(role(bad).is_err(), "{bad:?}");
        }
    }
}
