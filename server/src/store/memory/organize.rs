//! Tags, fields and the search index in memory. Rows of a file, folder or owner that is gone
//! are left in place and never read (what the SQL backends' cascades delete).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::fields::{FieldChanges, FieldDef, FieldStore, FieldValue, conforms};
use crate::store::search::{
    After, FieldOperand, Match, SearchIndex, SearchOrder, SearchQuery, fold, words,
};
use crate::store::tags::{Item, TagRecord, TagStore, TagUse};
use crate::store::{Error, FileRecord, Result, TAG_TAKEN};

/// The tables.
#[derive(Debug, Default)]
pub(super) struct Tables {
    tags: BTreeMap<String, TagRecord>,
    /// (tag, item) -> when.
    tagged: BTreeMap<(String, Item), i64>,
    /// (file, key) -> value.
    fields: BTreeMap<(String, String), FieldValue>,
    schemas: BTreeMap<String, Vec<FieldDef>>,
    /// file -> the words of its content.
    pub(super) words: BTreeMap<String, String>,
}

fn item_owner<'a>(s: &'a State, item: &Item) -> Option<&'a str> {
    match item {
        Item::File(id) => s.files.get(id).map(|f| f.owner_id.as_str()),
        Item::Folder(id) => s.folders.get(id).map(|f| f.owner_id.as_str()),
    }
}

fn live_tag<'a>(s: &'a State, id: &str) -> Option<&'a TagRecord> {
    s.organize
        .tags
        .get(id)
        .filter(|t| super::is_owner(s, &t.owner_id))
}

fn live_tagging(s: &State, tag: &str, item: &Item) -> bool {
    live_tag(s, tag).is_some_and(|t| item_owner(s, item) == Some(t.owner_id.as_str()))
}

#[async_trait]
impl TagStore for MemoryStore {
    async fn create(&self, tag: &TagRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if !super::is_owner(&s, &tag.owner_id) {
            return Err(Error::NotFound);
        }
        let key = fold(&tag.name);
        let taken = s.organize.tags.contains_key(&tag.id)
            || s.organize.tags.values().any(|t| {
                t.owner_id == tag.owner_id && fold(&t.name) == key && live_tag(&s, &t.id).is_some()
            });
        if taken {
            return Err(Error::Conflict(TAG_TAKEN.into()));
        }
        s.organize.tags.insert(tag.id.clone(), tag.clone());
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<TagRecord>> {
        let s = self.lock();
        Ok(live_tag(&s, id).cloned())
    }

    async fn vocabulary(&self, owner_id: &str) -> Result<Vec<TagUse>> {
        let s = self.lock();
        let mut out: Vec<TagUse> = s
            .organize
            .tags
            .values()
            .filter(|t| t.owner_id == owner_id && live_tag(&s, &t.id).is_some())
            .map(|t| {
                let (mut files, mut folders) = (0, 0);
                for (tag, item) in s.organize.tagged.keys() {
                    if tag == &t.id && live_tagging(&s, tag, item) {
                        match item {
                            Item::File(_) => files += 1,
                            Item::Folder(_) => folders += 1,
                        }
                    }
                }
                TagUse {
                    tag: t.clone(),
                    files,
                    folders,
                }
            })
            .collect();
        out.sort_by(|a, b| (fold(&a.tag.name), &a.tag.id).cmp(&(fold(&b.tag.name), &b.tag.id)));
        Ok(out)
    }

    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        colour: Option<Option<&str>>,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let tag = live_tag(&s, id).cloned().ok_or(Error::NotFound)?;
        if let Some(n) = name {
            let key = fold(n);
            let taken = s.organize.tags.values().any(|t| {
                t.id != tag.id
                    && t.owner_id == tag.owner_id
                    && fold(&t.name) == key
                    && live_tag(&s, &t.id).is_some()
            });
            if taken {
                return Err(Error::Conflict(TAG_TAKEN.into()));
            }
        }
        let t = s.organize.tags.get_mut(id).ok_or(Error::NotFound)?;
        if let Some(n) = name {
            t.name = n.to_owned();
        }
        if let Some(c) = colour {
            t.colour = c.map(str::to_owned);
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        live_tag(&s, id).ok_or(Error::NotFound)?;
        s.organize.tags.remove(id);
        s.organize.tagged.retain(|(t, _), _| t != id);
        s.events.push(event.clone());
        Ok(())
    }

    async fn apply(
        &self,
        tag_id: &str,
        items: &[Item],
        _by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<u64> {
        let mut s = self.lock();
        let owner = live_tag(&s, tag_id)
            .ok_or(Error::NotFound)?
            .owner_id
            .clone();
        for item in items {
            match item_owner(&s, item) {
                None => return Err(Error::NotFound),
                Some(o) if o != owner => {
                    return Err(Error::Invalid(crate::store::TAG_OWNER.into()));
                }
                Some(_) => {}
            }
        }
        let mut added = 0;
        for item in items {
            let key = (tag_id.to_owned(), item.clone());
            if let std::collections::btree_map::Entry::Vacant(e) = s.organize.tagged.entry(key) {
                e.insert(at);
                added += 1;
            }
        }
        s.events.push(event.clone());
        Ok(added)
    }

    async fn remove(&self, tag_id: &str, items: &[Item], event: &AuditEvent) -> Result<u64> {
        let mut s = self.lock();
        live_tag(&s, tag_id).ok_or(Error::NotFound)?;
        let mut removed = 0;
        for item in items {
            let live = live_tagging(&s, tag_id, item);
            if s.organize
                .tagged
                .remove(&(tag_id.to_owned(), item.clone()))
                .is_some()
                && live
            {
                removed += 1;
            }
        }
        s.events.push(event.clone());
        Ok(removed)
    }

    async fn of_items(&self, ids: &[&str]) -> Result<HashMap<String, Vec<TagRecord>>> {
        let s = self.lock();
        let mut out: HashMap<String, Vec<TagRecord>> = HashMap::new();
        for (tag, item) in s.organize.tagged.keys() {
            if ids.contains(&item.id()) && live_tagging(&s, tag, item) {
                let t = live_tag(&s, tag).cloned().ok_or(Error::NotFound)?;
                out.entry(item.id().to_owned()).or_default().push(t);
            }
        }
        for tags in out.values_mut() {
            tags.sort_by(|a, b| (fold(&a.name), &a.id).cmp(&(fold(&b.name), &b.id)));
        }
        Ok(out)
    }

    async fn items(&self, tag_id: &str, after: Option<&Item>, limit: u32) -> Result<Vec<Item>> {
        let s = self.lock();
        live_tag(&s, tag_id).ok_or(Error::NotFound)?;
        let mut out: Vec<Item> = s
            .organize
            .tagged
            .keys()
            .filter(|(t, item)| t == tag_id && live_tagging(&s, t, item))
            .map(|(_, item)| item.clone())
            .filter(|item| after.is_none_or(|a| (item.kind(), item.id()) > (a.kind(), a.id())))
            .collect();
        out.sort_by(|a, b| (a.kind(), a.id()).cmp(&(b.kind(), b.id())));
        out.truncate(limit as usize);
        Ok(out)
    }
}

#[async_trait]
impl FieldStore for MemoryStore {
    async fn change(
        &self,
        file_id: &str,
        changes: &FieldChanges,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let owner = s
            .files
            .get(file_id)
            .ok_or(Error::NotFound)?
            .owner_id
            .clone();
        let schema = s.organize.schemas.get(&owner).cloned().unwrap_or_default();
        conforms(&schema, changes)?;
        for key in &changes.unset {
            s.organize.fields.remove(&(file_id.to_owned(), key.clone()));
        }
        for (key, value) in &changes.set {
            s.organize
                .fields
                .insert((file_id.to_owned(), key.clone()), value.clone());
        }
        if let Some(f) = s.files.get_mut(file_id) {
            f.updated_at = at;
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn of_files(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, BTreeMap<String, FieldValue>>> {
        let s = self.lock();
        let mut out: HashMap<String, BTreeMap<String, FieldValue>> = HashMap::new();
        for ((file, key), value) in &s.organize.fields {
            if ids.contains(&file.as_str()) && s.files.contains_key(file) {
                out.entry(file.clone())
                    .or_default()
                    .insert(key.clone(), value.clone());
            }
        }
        Ok(out)
    }

    async fn schema(&self, owner_id: &str) -> Result<Vec<FieldDef>> {
        let s = self.lock();
        if !super::is_owner(&s, owner_id) {
            return Ok(Vec::new());
        }
        Ok(s.organize
            .schemas
            .get(owner_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn set_schema(
        &self,
        owner_id: &str,
        defs: &[FieldDef],
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        if !super::is_owner(&s, owner_id) {
            return Err(Error::NotFound);
        }
        let mut defs = defs.to_vec();
        defs.sort_by(|a, b| a.key.cmp(&b.key));
        s.organize.schemas.insert(owner_id.to_owned(), defs);
        s.events.push(event.clone());
        Ok(())
    }
}

/// Whether `term` matches file `f` (see [`crate::store::search`]).
fn term_matches(s: &State, f: &FileRecord, term: &str) -> bool {
    if fold(&f.name).contains(term) {
        return true;
    }
    let want: Vec<String> = words(term).collect();
    if !want.is_empty() {
        let have = s
            .organize
            .words
            .get(&f.id)
            .map(String::as_str)
            .unwrap_or("");
        if want
            .iter()
            .all(|w| have.split(' ').any(|h| h.starts_with(w.as_str())))
        {
            return true;
        }
    }
    let tagged = s.organize.tagged.keys().any(|(tag, item)| {
        item == &Item::File(f.id.clone())
            && live_tagging(s, tag, item)
            && live_tag(s, tag).is_some_and(|t| fold(&t.name).contains(term))
    });
    tagged
        || s.organize.fields.iter().any(|((file, _), v)| {
            file == &f.id && matches!(v, FieldValue::String(text) if fold(text).contains(term))
        })
}

fn matches(s: &State, f: &FileRecord, m: &Match) -> bool {
    match m {
        Match::Term(t) => term_matches(s, f, t),
        Match::All(all) => all.iter().all(|m| matches(s, f, m)),
        Match::Any(any) => any.iter().any(|m| matches(s, f, m)),
        Match::Not(m) => !matches(s, f, m),
    }
}

/// Whether folder `id` is `root` or below it.
fn below(s: &State, id: &str, roots: &BTreeSet<&str>) -> bool {
    let mut next = Some(id);
    let mut steps = 0;
    while let Some(cur) = next {
        if roots.contains(cur) {
            return true;
        }
        steps += 1;
        if steps > crate::store::MAX_DEPTH + 1 {
            return false;
        }
        next = s
            .folders
            .get(cur)
            .map(|f| f.parent_id.as_str())
            .filter(|p| !p.is_empty());
    }
    false
}

fn field_holds(s: &State, f: &FileRecord, filter: &crate::store::search::FieldFilter) -> bool {
    let value = s.organize.fields.get(&(f.id.clone(), filter.key.clone()));
    match (&filter.value, value) {
        (FieldOperand::Text(want), Some(FieldValue::String(have))) => filter.op.holds(have, want),
        (FieldOperand::Number(kind, want), Some(v)) if v.kind() == *kind => {
            v.number().is_some_and(|n| filter.op.holds(&n, want))
        }
        _ => false,
    }
}

fn sort_key(f: &FileRecord, order: SearchOrder) -> After {
    match order {
        SearchOrder::Updated => After::Number(f.updated_at, f.id.clone()),
        SearchOrder::Created => After::Number(f.created_at, f.id.clone()),
        SearchOrder::Size => After::Number(f.size.min(i64::MAX as u64) as i64, f.id.clone()),
        SearchOrder::Name => After::Text(f.name.clone(), f.id.clone()),
    }
}

fn cmp_after(a: &After, b: &After) -> std::cmp::Ordering {
    match (a, b) {
        (After::Number(x, i), After::Number(y, j)) => (x, i).cmp(&(y, j)),
        (After::Text(x, i), After::Text(y, j)) => (x, i).cmp(&(y, j)),
        (After::Number(..), After::Text(..)) => std::cmp::Ordering::Less,
        (After::Text(..), After::Number(..)) => std::cmp::Ordering::Greater,
    }
}

#[async_trait]
impl SearchIndex for MemoryStore {
    async fn search(&self, q: &SearchQuery) -> Result<Vec<FileRecord>> {
        let s = self.lock();
        let shared: BTreeSet<&str> = q.scope.folders.iter().map(String::as_str).collect();
        let under: BTreeSet<&str> = q.folder.iter().map(String::as_str).collect();
        let mut out: Vec<FileRecord> = s
            .files
            .values()
            .filter(|f| f.trashed_at.is_none())
            .filter(|f| {
                q.scope.owners.contains(&f.owner_id)
                    || q.scope.files.contains(&f.id)
                    || (!f.folder_id.is_empty() && below(&s, &f.folder_id, &shared))
            })
            .filter(|f| {
                q.folder.is_none() || (!f.folder_id.is_empty() && below(&s, &f.folder_id, &under))
            })
            .filter(|f| q.owner.as_ref().is_none_or(|o| &f.owner_id == o))
            .filter(|f| {
                q.types.is_empty()
                    || q.types.iter().any(|t| {
                        if t.ends_with('/') {
                            f.content_type.starts_with(t.as_str())
                        } else {
                            &f.content_type == t
                        }
                    })
            })
            .filter(|f| {
                q.extensions.is_empty()
                    || q.extensions
                        .iter()
                        .any(|e| fold(&f.name).ends_with(&format!(".{e}")))
            })
            .filter(|f| q.min_size.is_none_or(|m| f.size >= m))
            .filter(|f| q.max_size.is_none_or(|m| f.size <= m))
            .filter(|f| q.modified_after.is_none_or(|t| f.updated_at >= t))
            .filter(|f| q.modified_before.is_none_or(|t| f.updated_at < t))
            .filter(|f| {
                q.tags.iter().all(|t| {
                    let item = Item::File(f.id.clone());
                    s.organize.tagged.contains_key(&(t.clone(), item.clone()))
                        && live_tagging(&s, t, &item)
                })
            })
            .filter(|f| q.fields.iter().all(|ff| field_holds(&s, f, ff)))
            .filter(|f| q.matching.as_ref().is_none_or(|m| matches(&s, f, m)))
            .filter(|f| {
                q.after.as_ref().is_none_or(|a| {
                    let c = cmp_after(&sort_key(f, q.order), a);
                    if q.desc { c.is_lt() } else { c.is_gt() }
                })
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            let c = cmp_after(&sort_key(a, q.order), &sort_key(b, q.order));
            if q.desc { c.reverse() } else { c }
        });
        out.truncate(q.limit as usize);
        Ok(out)
    }

    async fn reindex(&self, file_id: &str, words: &str) -> Result<bool> {
        let mut s = self.lock();
        if !s.files.contains_key(file_id) {
            return Ok(false);
        }
        s.organize
            .words
            .insert(file_id.to_owned(), words.to_owned());
        Ok(true)
    }

    async fn file_ids(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let s = self.lock();
        Ok(s.files
            .keys()
            .filter(|id| after.is_none_or(|a| id.as_str() > a))
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
