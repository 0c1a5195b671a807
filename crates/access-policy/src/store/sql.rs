//! The SQL backends' shared implementation: one macro, instantiated per database with its own
//! placeholder syntax.

use crate::error::Error;

pub(super) fn db_error(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::RowNotFound => Error::NotFound("row".into()),
        other => Error::Store(other.to_string()),
    }
}

pub(super) fn migrate_error(e: sqlx::migrate::MigrateError) -> Error {
    Error::Store(format!("migrating the policy store: {e}"))
}

#[derive(sqlx::FromRow)]
pub(super) struct DocumentRow {
    pub(super) id: String,
    pub(super) text: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    pub(super) id: String,
    pub(super) template: String,
    pub(super) principal: Option<String>,
    pub(super) resource: Option<String>,
    pub(super) expires_at_ms: Option<i64>,
}

impl LinkRow {
    pub(super) fn into_link(self) -> crate::error::Result<crate::bundle::TemplateLink> {
        Ok(crate::bundle::TemplateLink {
            id: self.id,
            template: self.template,
            principal: self.principal,
            resource: self.resource,
            expires_at: self
                .expires_at_ms
                .map(crate::clock::Timestamp::from_millis)
                .transpose()?,
        })
    }
}

/// Implements `PolicyStore` for `$store` (with a `pool` field) over database `$db`; `$p1`..`$p5`
/// are that database's placeholders.
macro_rules! sql_policy_store {
    ($store:ty, $db:ty, $p1:literal, $p2:literal, $p3:literal, $p4:literal, $p5:literal) => {
        impl $store {
            async fn bump(
                tx: &mut sqlx::Transaction<'_, $db>,
            ) -> $crate::error::Result<u64> {
                let (v,): (i64,) = sqlx::query_as(
                    "UPDATE policy_store_version SET version = version + 1 WHERE singleton = 1 RETURNING version",
                )
                .fetch_one(&mut **tx)
                .await
                .map_err($crate::store::sql::db_error)?;
                Ok(u64::try_from(v).unwrap_or_default())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::PolicyStore for $store {
            async fn put_document(
                &self,
                doc: &$crate::bundle::PolicyDocument,
            ) -> $crate::error::Result<u64> {
                $crate::store::check_document(doc)?;
                let mut tx = self.pool.begin().await.map_err($crate::store::sql::db_error)?;
                sqlx::query(concat!(
                    "INSERT INTO policy_documents (id, text) VALUES (", $p1, ", ", $p2,
                    ") ON CONFLICT (id) DO UPDATE SET text = excluded.text"
                ))
                .bind(&doc.id)
                .bind(&doc.text)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::sql::db_error)?;
                let v = Self::bump(&mut tx).await?;
                tx.commit().await.map_err($crate::store::sql::db_error)?;
                Ok(v)
            }

            async fn delete_document(&self, id: &str) -> $crate::error::Result<u64> {
                let mut tx = self.pool.begin().await.map_err($crate::store::sql::db_error)?;
                let done = sqlx::query(concat!("DELETE FROM policy_documents WHERE id = ", $p1))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::sql::db_error)?;
                if done.rows_affected() == 0 {
                    return Err($crate::error::Error::NotFound(format!("document `{id}`")));
                }
                let v = Self::bump(&mut tx).await?;
                tx.commit().await.map_err($crate::store::sql::db_error)?;
                Ok(v)
            }

            async fn put_link(
                &self,
                link: &$crate::bundle::TemplateLink,
            ) -> $crate::error::Result<u64> {
                $crate::store::check_link(link)?;
                let mut tx = self.pool.begin().await.map_err($crate::store::sql::db_error)?;
                let done = sqlx::query(concat!(
                    "INSERT INTO policy_template_links (id, template, principal, resource, expires_at_ms) VALUES (",
                    $p1, ", ", $p2, ", ", $p3, ", ", $p4, ", ", $p5, ") ON CONFLICT (id) DO NOTHING"
                ))
                .bind(&link.id)
                .bind(&link.template)
                .bind(&link.principal)
                .bind(&link.resource)
                .bind(link.expires_at.map(|t| t.as_millis()))
                .execute(&mut *tx)
                .await
                .map_err($crate::store::sql::db_error)?;
                if done.rows_affected() == 0 {
                    return Err($crate::error::Error::AlreadyExists(format!("link `{}`", link.id)));
                }
                let v = Self::bump(&mut tx).await?;
                tx.commit().await.map_err($crate::store::sql::db_error)?;
                Ok(v)
            }

            async fn delete_link(&self, id: &str) -> $crate::error::Result<u64> {
                let mut tx = self.pool.begin().await.map_err($crate::store::sql::db_error)?;
                let done = sqlx::query(concat!("DELETE FROM policy_template_links WHERE id = ", $p1))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::sql::db_error)?;
                if done.rows_affected() == 0 {
                    return Err($crate::error::Error::NotFound(format!("link `{id}`")));
                }
                let v = Self::bump(&mut tx).await?;
                tx.commit().await.map_err($crate::store::sql::db_error)?;
                Ok(v)
            }

            async fn snapshot(&self) -> $crate::error::Result<$crate::store::StoreSnapshot> {
                // One transaction so the version and rows agree.
                let mut tx = self.pool.begin().await.map_err($crate::store::sql::db_error)?;
                let (version,): (i64,) =
                    sqlx::query_as("SELECT version FROM policy_store_version WHERE singleton = 1")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::store::sql::db_error)?;
                let docs: Vec<$crate::store::sql::DocumentRow> =
                    sqlx::query_as("SELECT id, text FROM policy_documents ORDER BY id")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($crate::store::sql::db_error)?;
                let links: Vec<$crate::store::sql::LinkRow> = sqlx::query_as(
                    "SELECT id, template, principal, resource, expires_at_ms FROM policy_template_links ORDER BY id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::store::sql::db_error)?;
                tx.commit().await.map_err($crate::store::sql::db_error)?;
                Ok($crate::store::StoreSnapshot {
                    version: u64::try_from(version).unwrap_or_default(),
                    documents: docs
                        .into_iter()
                        .map(|d| $crate::bundle::PolicyDocument { id: d.id, text: d.text })
                        .collect(),
                    links: links
                        .into_iter()
                        .map($crate::store::sql::LinkRow::into_link)
                        .collect::<$crate::error::Result<_>>()?,
                })
            }

            async fn version(&self) -> $crate::error::Result<u64> {
                let (version,): (i64,) =
                    sqlx::query_as("SELECT version FROM policy_store_version WHERE singleton = 1")
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::store::sql::db_error)?;
                Ok(u64::try_from(version).unwrap_or_default())
            }
        }
    };
}

pub(super) use sql_policy_store;
