//! Where entities come from: the caller's own data, behind a trait.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use cedar_policy::{Entities, Entity, EntityUid, Schema};

use crate::error::{Error, Result};
use crate::request::Request;

/// Supplies the entities a request needs (principal, resource, their ancestors and whatever the
/// policies read), typically from the application's database.
///
/// It is async because that is where entities live in a server: a sync trait would force a
/// blocking database call inside an async handler. The engine's own deciding stays sync, so a
/// caller that already holds an `Entities` never needs a runtime.
#[async_trait]
pub trait EntityProvider: Send + Sync + std::fmt::Debug {
    /// The entities needed to decide `request`, checked against `schema`.
    async fn entities_for(&self, request: &Request, schema: &Schema) -> Result<Arc<Entities>>;
}

/// An in-memory entity set that can be updated while readers use it: every request gets the
/// whole set (fine up to a few hundred thousand entities).
#[derive(Debug)]
pub struct MemoryEntityProvider {
    entities: ArcSwap<Entities>,
    schema: Option<Arc<Schema>>,
}

impl MemoryEntityProvider {
    /// A provider serving `entities`; updates are checked against `schema` when given.
    pub fn new(entities: Entities, schema: Option<Arc<Schema>>) -> Self {
        Self {
            entities: ArcSwap::from_pointee(entities),
            schema,
        }
    }

    /// Adds or replaces entities (and recomputes the hierarchy).
    pub fn upsert(&self, entities: impl IntoIterator<Item = Entity>) -> Result<()> {
        let current = (**self.entities.load()).clone();
        let next = current
            .upsert_entities(entities, self.schema.as_deref())
            .map_err(|e| Error::InvalidEntities(e.to_string()))?;
        self.entities.store(Arc::new(next));
        Ok(())
    }

    /// Removes entities by uid.
    pub fn remove(&self, uids: impl IntoIterator<Item = EntityUid>) -> Result<()> {
        let current = (**self.entities.load()).clone();
        let next = current
            .remove_entities(uids)
            .map_err(|e| Error::InvalidEntities(e.to_string()))?;
        self.entities.store(Arc::new(next));
        Ok(())
    }

    /// The current set.
    pub fn snapshot(&self) -> Arc<Entities> {
        self.entities.load_full()
    }
}

#[async_trait]
impl EntityProvider for MemoryEntityProvider {
    async fn entities_for(&self, _request: &Request, _schema: &Schema) -> Result<Arc<Entities>> {
        Ok(self.entities.load_full())
    }
}
