//! `strongroom fsck`: finds folder trees that older versions could leave broken, and repairs
//! them.
//!
//! Before moves checked cycles and depth inside their transaction, two opposite moves racing each
//! other could both commit (a cycle: both folders vanish from the root and every request on them
//! fails), and a move could nest a subtree deeper than [`MAX_DEPTH`]. Folders whose parent no
//! longer exists are found too. Repair moves the folder at fault to its owner's root (renamed if
//! the name is taken there), one audited transaction per folder; files are never touched, so
//! everything becomes reachable again.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Ctx;
use super::folders::{Folders, MAX_DEPTH};
use crate::error::Result;

/// One damaged place in a folder tree.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Damage {
    /// The folder to move to its owner's root.
    pub folder_id: String,
    /// Its owner.
    pub owner_id: String,
    /// `cycle`, `too-deep` or `missing-parent`.
    pub kind: &'static str,
}

/// What `fsck` found and did.
#[derive(Debug, Clone, Serialize)]
pub struct FsckReport {
    /// Folders examined.
    pub folders: usize,
    /// Damage found.
    pub damage: Vec<Damage>,
    /// Whether it was repaired.
    pub repaired: bool,
}

struct Row_ {
    owner: String,
    parent: String,
}

/// Finds damage in the loaded tree: every folder must reach its owner's root through existing
/// folders of the same owner, in at most [`MAX_DEPTH`] steps.
fn find_damage(tree: &HashMap<String, Row_>) -> Vec<Damage> {
    let mut damage = Vec::new();
    // Folders known to reach the root, with their depth (1 = at the root).
    let mut depth_of: HashMap<&str, usize> = HashMap::new();
    let mut reported: HashSet<String> = HashSet::new();
    let mut ids: Vec<&String> = tree.keys().collect();
    ids.sort();
    for start in ids {
        let mut path: Vec<&str> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut cur = start.as_str();
        // Walk up until the root, a folder already known good, a cycle or a missing parent.
        let outcome = loop {
            if let Some(d) = depth_of.get(cur) {
                break Ok(*d);
            }
            if !seen.insert(cur) {
                break Err(("cycle", cur));
            }
            path.push(cur);
            let row = &tree[cur];
            if row.parent.is_empty() {
                break Ok(0);
            }
            match tree.get(&row.parent) {
                Some(p) if p.owner == row.owner => cur = row.parent.as_str(),
                _ => break Err(("missing-parent", cur)),
            }
        };
        match outcome {
            Ok(base) => {
                // Assign depths from the top of the walked path down.
                for (i, id) in path.iter().rev().enumerate() {
                    let d = base + i + 1;
                    if d > MAX_DEPTH {
                        // The first folder past the limit moves to the root; what is below it
                        // fits again after that (it was at most MAX_DEPTH below the root before
                        // the bad move put it here, and the walk is re-run after each repair).
                        if reported.insert((*id).to_owned()) {
                            damage.push(Damage {
                                folder_id: (*id).to_owned(),
                                owner_id: tree[*id].owner.clone(),
                                kind: "too-deep",
                            });
                        }
                        break;
                    }
                    depth_of.insert(id, d);
                }
            }
            Err((kind, at)) => {
                if reported.insert(at.to_owned()) {
                    damage.push(Damage {
                        folder_id: at.to_owned(),
                        owner_id: tree[at].owner.clone(),
                        kind,
                    });
                }
                // Everything on this path is unreachable until the repair; do not report its
                // members again as separate damage.
                for id in path {
                    reported.insert(id.to_owned());
                }
            }
        }
    }
    damage
}

impl Folders {
    async fn load_tree(&self) -> Result<HashMap<String, Row_>> {
        Ok(self
            .store
            .edges()
            .await?
            .into_iter()
            .map(|e| {
                (
                    e.id,
                    Row_ {
                        owner: e.owner_id,
                        parent: e.parent_id,
                    },
                )
            })
            .collect())
    }

    /// Checks every folder tree; with `repair`, moves each damaged folder to its owner's root and
    /// checks again until nothing is left (each repair can only shorten chains).
    pub async fn fsck(&self, repair: bool) -> Result<FsckReport> {
        let tree = self.load_tree().await?;
        let folders = tree.len();
        let damage = find_damage(&tree);
        if !repair || damage.is_empty() {
            return Ok(FsckReport {
                folders,
                damage,
                repaired: false,
            });
        }
        let ctx = self.guard.system_ctx();
        let mut all = Vec::new();
        let mut pending = damage;
        // Bounded: each round moves at least one folder to a root, which it never leaves.
        for _ in 0..=folders {
            if pending.is_empty() {
                break;
            }
            for d in &pending {
                self.move_to_root(&ctx, d).await?;
            }
            all.append(&mut pending);
            pending = find_damage(&self.load_tree().await?);
        }
        Ok(FsckReport {
            folders,
            damage: all,
            repaired: true,
        })
    }

    async fn move_to_root(&self, ctx: &Ctx, d: &Damage) -> Result<()> {
        let Some(folder) = self.store.get(&d.folder_id).await? else {
            return Ok(());
        };
        let event = ctx
            .event("folder.repaired", "folder", &d.folder_id)
            .attr("damage", d.kind)
            .attr("owner", d.owner_id.as_str())
            .build()?;
        // Its own name if the root has room for it, else one that names the repair.
        let short: String = d.folder_id.chars().rev().take(8).collect();
        let recovered = format!("{} (recovered {short})", folder.name);
        for name in [folder.name.as_str(), recovered.as_str()] {
            match self
                .store
                .reattach(&d.folder_id, name, self.guard.now(), &event)
                .await
            {
                Err(crate::store::Error::Conflict(_)) if name != recovered => continue,
                other => return Ok(other?),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(rows: &[(&str, &str)]) -> HashMap<String, Row_> {
        rows.iter()
            .map(|(id, parent)| {
                (
                    (*id).to_owned(),
                    Row_ {
                        owner: "ann".into(),
                        parent: (*parent).to_owned(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn finds_cycles_missing_parents_and_over_deep_chains() {
        assert!(find_damage(&tree(&[("a", ""), ("b", "a")])).is_empty());
        let d = find_damage(&tree(&[("x", "y"), ("y", "x"), ("z", "y")]));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, "cycle");
        let d = find_damage(&tree(&[("a", "gone")]));
        assert_eq!(d[0].kind, "missing-parent");
        let mut rows: Vec<(String, String)> = vec![("f0".into(), String::new())];
        for i in 1..(MAX_DEPTH + 10) {
            rows.push((format!("f{i}"), format!("f{}", i - 1)));
        }
        let refs: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let d = find_damage(&tree(&refs));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, "too-deep");
        assert_eq!(d[0].folder_id, format!("f{MAX_DEPTH}"));
    }
}
