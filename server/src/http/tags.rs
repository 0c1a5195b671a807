//! Tags: `/tags` (the caller's vocabulary, or a team's with `team_id`), a tag's items, and
//! tagging in bulk.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::tags::{Items, Tag, TaggedPage};
use crate::error::Result;
use crate::http::problem::Problem;

/// Whose vocabulary: yours (absent) or a team's.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// A team you are in.
    pub team_id: Option<String>,
}

/// A new tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Name: 1 to 64 characters, unique in the vocabulary regardless of case.
    pub name: String,
    /// Colour (`#rrggbb`).
    pub colour: Option<String>,
    /// In this team's vocabulary (you may write its space); absent: yours.
    pub team_id: Option<String>,
}

/// `Some(value)` for a field that is present, even when it is `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A change to a tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChange {
    /// New name.
    pub name: Option<String>,
    /// New colour; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub colour: Option<Option<String>>,
}

/// Files and folders to tag or untag (at most 1000 in all).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemList {
    /// File ids.
    #[serde(default)]
    pub files: Vec<String>,
    /// Folder ids.
    #[serde(default)]
    pub folders: Vec<String>,
}

impl From<ItemList> for Items {
    fn from(l: ItemList) -> Items {
        Items {
            files: l.files,
            folders: l.folders,
        }
    }
}

/// How many items a bulk change changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    /// Items newly tagged, or untagged.
    pub changed: u64,
}

/// A page of a tag's items.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemPage {
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// At most this many items read (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// The tags of your vocabulary or a team's, by name, with how much carries each.
#[utoipa::path(get, path = "/tags", tag = "tags", security(("bearer" = [])), params(Vocabulary),
    responses((status = 200, body = Vec<Tag>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(v): Query<Vocabulary>,
) -> Result<Json<Vec<Tag>>> {
    Ok(Json(app.tags.list(&caller.0, v.team_id.as_deref()).await?))
}

/// Creates a tag in your vocabulary or a team's.
#[utoipa::path(post, path = "/tags", tag = "tags", security(("bearer" = [])), request_body = NewTag,
    responses((status = 201, body = Tag), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(t): Json<NewTag>,
) -> Result<(StatusCode, Json<Tag>)> {
    let tag = app
        .tags
        .create(
            &caller.0,
            t.team_id.as_deref(),
            &t.name,
            t.colour.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

/// One tag (for those who may read its vocabulary; anyone else: 404).
#[utoipa::path(get, path = "/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id")),
    responses((status = 200, body = Tag), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tag>> {
    Ok(Json(app.tags.get(&caller.0, &id).await?))
}

/// Renames a tag or sets its colour.
#[utoipa::path(patch, path = "/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id")), request_body = TagChange,
    responses((status = 200, body = Tag), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(c): Json<TagChange>,
) -> Result<Json<Tag>> {
    let colour = c.colour.as_ref().map(|c| c.as_deref());
    Ok(Json(
        app.tags
            .update(&caller.0, &id, c.name.as_deref(), colour)
            .await?,
    ))
}

/// Deletes a tag and takes it off everything.
#[utoipa::path(delete, path = "/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    app.tags.delete(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tags files and folders of the tag owner's tree, all of which you may write (one you may
/// not refuses the whole request).
#[utoipa::path(post, path = "/tags/{id}/add", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id")), request_body = ItemList,
    responses((status = 200, body = Changed), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(items): Json<ItemList>,
) -> Result<Json<Changed>> {
    let changed = app.tags.apply(&caller.0, &id, &items.into()).await?;
    Ok(Json(Changed { changed }))
}

/// Takes a tag off files and folders you may write.
#[utoipa::path(post, path = "/tags/{id}/remove", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id")), request_body = ItemList,
    responses((status = 200, body = Changed), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(items): Json<ItemList>,
) -> Result<Json<Changed>> {
    let changed = app.tags.remove(&caller.0, &id, &items.into()).await?;
    Ok(Json(Changed { changed }))
}

/// What carries a tag, among what you may read.
#[utoipa::path(get, path = "/tags/{id}/items", tag = "tags", security(("bearer" = [])),
    params(("id" = String, Path, description = "Tag id"), ItemPage),
    responses((status = 200, body = TaggedPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn items(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<ItemPage>,
) -> Result<Json<TaggedPage>> {
    Ok(Json(
        app.tags
            .items(&caller.0, &id, p.cursor.as_deref(), p.limit)
            .await?,
    ))
}
