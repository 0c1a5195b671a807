use std::collections::HashSet;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock, add};
use crate::{
    AuditEvent, AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind,
    CheckpointSigner, CheckpointVerifier, Cursor, DynAuditStore, DynCheckpointAnchor, Error, Order,
    Page, Result, TamperKind,
};

/// How many times an append is retried when another process wins the race for the chain head.
const MAX_CONFLICT_RETRIES: usize = 64;
/// Records read per round trip while verifying.
const VERIFY_PAGE: usize = 1000;
/// The default time cadence of signed checkpoints.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);
/// The most events accepted by one append call.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// A tamper-evident, append-only log of [`AuditEvent`]s: one hash chain in an
/// [`AuditStore`](crate::AuditStore).
///
/// Each record stores `SHA-256(previous hash, sequence, canonical event bytes)`. Appends are
/// serialized per chain and batched: while one append is being written, the others queue and go
/// into the next transaction together (group commit), so throughput grows with concurrency. Every
/// append also stores a signature of the new head, and signed [`Checkpoint`]s are taken every
/// `checkpoint_every` records and at the first append once `checkpoint_interval` has passed; each
/// is also saved to the [`CheckpointAnchor`](crate::CheckpointAnchor), if one is configured.
/// Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<DynAuditStore>,
    chain: ChainId,
    signer: CheckpointSigner,
    verifier: CheckpointVerifier,
    clock: Arc<dyn Clock>,
    checkpoint_every: u64,
    checkpoint_interval: Duration,
    anchor: Option<Arc<DynCheckpointAnchor>>,
    queue: Mutex<Vec<Request>>,
    // Held by the one task currently writing (or checkpointing).
    writer: tokio::sync::Mutex<Writer>,
}

#[derive(Debug, Default)]
struct Writer {
    /// The head this process last wrote (`None`: read it from the store).
    head: Option<ChainHead>,
    /// When the newest checkpoint was signed (`None`: not known yet, ask the store).
    last_checkpoint: Option<Option<Timestamp>>,
}

#[derive(Debug)]
struct Request {
    events: Vec<AuditEvent>,
    skip_existing: bool,
    reply: oneshot::Sender<Result<Vec<AuditRecord>>>,
}

/// Builds an [`AuditLog`]; see [`AuditLog::builder`].
#[derive(Debug)]
#[must_use]
pub struct AuditLogBuilder {
    store: Arc<DynAuditStore>,
    chain: ChainId,
    signer: CheckpointSigner,
    verifier: Option<CheckpointVerifier>,
    clock: Arc<dyn Clock>,
    checkpoint_every: u64,
    checkpoint_interval: Duration,
    anchor: Option<Arc<DynCheckpointAnchor>>,
}

impl AuditLogBuilder {
    /// The clock used for checkpoint and head times, the checkpoint interval and retention
    /// (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sign a checkpoint each time the chain crosses a multiple of `records` (default 1000; 0
    /// turns automatic checkpoints off; [`AuditLog::checkpoint`] still works).
    pub fn checkpoint_every(mut self, records: u64) -> Self {
        self.checkpoint_every = records;
        self
    }

    /// Also sign a checkpoint at the first append once `interval` has passed since the newest
    /// checkpoint (or when the chain has none yet), so that a quiet log is checkpointed too
    /// (default [`DEFAULT_CHECKPOINT_INTERVAL`], one minute; [`Duration::ZERO`] turns the time
    /// cadence off). Time is read from the [`clock`](Self::clock).
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Save every signed checkpoint to `anchor`, outside the database, and check the chain
    /// against it in [`AuditLog::verify`]: the defence against cutting off the chain's tail or
    /// emptying it (default: none, and [`VerifyReport::anchor_configured`] says so).
    pub fn anchor(mut self, anchor: Arc<DynCheckpointAnchor>) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// The keys trusted when verifying (default: only the signer's). Add retired keys here after
    /// rotating the signer so older checkpoints still verify.
    pub fn verifier(mut self, verifier: CheckpointVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The log.
    pub fn build(self) -> AuditLog {
        let verifier = self.verifier.unwrap_or_else(|| self.signer.verifier());
        AuditLog {
            inner: Arc::new(Inner {
                store: self.store,
                chain: self.chain,
                signer: self.signer,
                verifier,
                clock: self.clock,
                checkpoint_every: self.checkpoint_every,
                checkpoint_interval: self.checkpoint_interval,
                anchor: self.anchor,
                queue: Mutex::new(Vec::new()),
                writer: tokio::sync::Mutex::new(Writer::default()),
            }),
        }
    }
}

/// What [`AuditLog::verify`] checked, and how much of the chain is covered by what.
///
/// Records up to [`anchored_checkpoint`](Self::anchored_checkpoint) are protected against
/// deletion by a signed checkpoint kept outside the database. The
/// [`after_anchored_checkpoint`](Self::after_anchored_checkpoint) records after it are protected
/// by the hash chain, the signed head and the checkpoints in the database only: an attacker who
/// can write the database and kept an old signed head row can cut them off undetected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// First sequence number checked (0 with `last` 0 when the range held no records).
    pub first: u64,
    /// Last sequence number checked.
    pub last: u64,
    /// Records whose hash, link and stored columns were recomputed and compared.
    pub records: u64,
    /// Signed checkpoints checked against the records.
    pub checkpoints: u64,
    /// The retention anchor the chain starts from, if records were pruned.
    pub anchor: Option<u64>,
    /// The chain's head (its newest sequence number), whose signature was checked.
    pub head: u64,
    /// The newest signed checkpoint in the store, checked against its record.
    pub latest_checkpoint: Option<Checkpoint>,
    /// Whether the log has a [`CheckpointAnchor`](crate::CheckpointAnchor) outside the
    /// database. Without one, nothing protects against truncation beyond what the database
    /// itself holds.
    pub anchor_configured: bool,
    /// The newest checkpoint saved in the [`CheckpointAnchor`](crate::CheckpointAnchor), checked
    /// against the store (`None` without an anchor, or before its first checkpoint).
    pub anchored_checkpoint: Option<Checkpoint>,
    /// Records after the newest signed checkpoint (stored or anchored): covered by the hash
    /// chain and the signed head only.
    pub after_latest_checkpoint: u64,
    /// Records after the anchored checkpoint (all of them without an anchor): these could be
    /// cut off from the tail without `verify` noticing.
    pub after_anchored_checkpoint: u64,
}

/// What [`AuditLog::delete_before`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Records deleted.
    pub deleted: u64,
    /// The signed anchor the chain now starts from (`None` when nothing was old enough).
    pub anchor: Option<Checkpoint>,
}

impl AuditLog {
    /// Starts building a log over `chain` in `store`, signing checkpoints with `signer`.
    pub fn builder(
        store: Arc<DynAuditStore>,
        chain: ChainId,
        signer: CheckpointSigner,
    ) -> AuditLogBuilder {
        AuditLogBuilder {
            store,
            chain,
            signer,
            verifier: None,
            clock: Arc::new(SystemClock),
            checkpoint_every: 1000,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            anchor: None,
        }
    }

    /// The chain this log writes.
    pub fn chain(&self) -> &ChainId {
        &self.inner.chain
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<DynAuditStore> {
        &self.inner.store
    }

    /// Appends one event; returns its record once it is durably stored.
    pub async fn append(&self, event: AuditEvent) -> Result<AuditRecord> {
        let mut records = self.submit(vec![event], false).await?;
        records.pop().ok_or(Error::Closed)
    }

    /// Appends events in order, atomically (all or none). An id already stored gives
    /// [`Error::DuplicateEvent`] and nothing is written.
    pub async fn append_batch(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>> {
        self.submit(events, false).await
    }

    /// Appends the events whose ids are not stored yet and skips the rest (duplicates within
    /// `events` too): the at-least-once consumer's append. Returns the records written.
    pub async fn append_new(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>> {
        self.submit(events, true).await
    }

    async fn submit(
        &self,
        events: Vec<AuditEvent>,
        skip_existing: bool,
    ) -> Result<Vec<AuditRecord>> {
        if events.len() > MAX_BATCH_EVENTS {
            return Err(Error::invalid(
                "events",
                format!("at most {MAX_BATCH_EVENTS} per call"),
            ));
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.queue().push(Request {
            events,
            skip_existing,
            reply,
        });
        {
            let mut writer = self.inner.writer.lock().await;
            let batch = std::mem::take(&mut *self.queue());
            // Empty when a previous writer already took (and answered) our request.
            if !batch.is_empty() {
                self.write(&mut writer, batch).await;
            }
        }
        answer.await.map_err(|_| Error::Closed)?
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every queued request in one store append, answering each.
    async fn write(&self, writer: &mut Writer, mut batch: Vec<Request>) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_write(writer, &mut batch).await {
                Ok(()) => return,
                // A duplicate reported by the store (not by the pre-check) means another process
                // stored that id in the meantime: the retry's pre-check will now see it.
                Err(Error::Conflict { .. } | Error::DuplicateEvent { .. })
                    if attempt < MAX_CONFLICT_RETRIES =>
                {
                    writer.head = None;
                    tokio::task::yield_now().await;
                }
                Err(err) => {
                    writer.head = None;
                    for request in batch {
                        let _ = request.reply.send(Err(copy_error(&err)));
                    }
                    return;
                }
            }
        }
    }

    async fn try_write(&self, writer: &mut Writer, batch: &mut Vec<Request>) -> Result<()> {
        let store = &self.inner.store;
        let chain = &self.inner.chain;
        let head = match writer.head {
            Some(head) => head,
            None => store.head(chain).await?,
        };
        // Duplicates fail their own request (or are skipped), never the whole group.
        let ids: Vec<Uuid> = batch
            .iter()
            .flat_map(|r| r.events.iter().map(AuditEvent::id))
            .collect();
        let mut taken: HashSet<Uuid> = store.existing_ids(chain, &ids).await?.into_iter().collect();
        let mut accepted: Vec<(Request, Vec<AuditEvent>)> = Vec::new();
        for request in batch.drain(..) {
            let mut keep = Vec::with_capacity(request.events.len());
            let mut duplicate = None;
            let mut mine = HashSet::new();
            for event in &request.events {
                if taken.contains(&event.id()) || !mine.insert(event.id()) {
                    if request.skip_existing {
                        continue;
                    }
                    duplicate = Some(event.id());
                    break;
                }
                keep.push(event.clone());
            }
            if let Some(id) = duplicate {
                let _ = request.reply.send(Err(Error::DuplicateEvent { id }));
                continue;
            }
            taken.extend(mine);
            accepted.push((request, keep));
        }
        let mut records = Vec::new();
        let mut next = head;
        for (_, events) in &accepted {
            for event in events {
                let record = AuditRecord::link(next, event.clone());
                next = record.as_head();
                records.push(record);
            }
        }
        if !records.is_empty() {
            let signed = self.inner.signer.sign(
                chain,
                CheckpointKind::Head,
                next.seq,
                next.hash,
                self.inner.clock.now(),
            );
            if let Err(err) = store.append(chain, &records, &signed).await {
                // Put the requests back so a retry (after a conflict) writes them again.
                batch.extend(accepted.into_iter().map(|(request, _)| request));
                return Err(err);
            }
        }
        writer.head = Some(next);
        let mut records = records.into_iter();
        for (request, events) in accepted {
            let _ = request
                .reply
                .send(Ok(records.by_ref().take(events.len()).collect()));
        }
        if next.seq != head.seq {
            self.maybe_checkpoint(writer, head.seq, next).await;
        }
        Ok(())
    }

    async fn maybe_checkpoint(&self, writer: &mut Writer, before: u64, after: ChainHead) {
        let every = self.inner.checkpoint_every;
        let by_count = every > 0 && before / every != after.seq / every;
        let interval = self.inner.checkpoint_interval;
        let by_time = !by_count && !interval.is_zero() && {
            let last = match writer.last_checkpoint {
                Some(last) => last,
                // Unknown (first append of this process) or unreadable: ask the store; if that
                // fails, checkpoint rather than risk a long unsigned stretch.
                None => match self.inner.store.latest_checkpoint(&self.inner.chain).await {
                    Ok(latest) => {
                        let last = latest.map(|cp| cp.time);
                        writer.last_checkpoint = Some(last);
                        last
                    }
                    Err(_) => None,
                },
            };
            last.is_none_or(|t| add(t, interval) <= self.inner.clock.now())
        };
        if by_count || by_time {
            // The records are stored; a failed checkpoint only delays tamper evidence until the
            // next one, so it must not fail the append.
            let _ = self.sign_and_store(writer, after).await;
        }
    }

    /// Signs a checkpoint of `head`, stores it and saves it to the anchor.
    async fn sign_and_store(&self, writer: &mut Writer, head: ChainHead) -> Result<Checkpoint> {
        let cp = self.inner.signer.sign(
            &self.inner.chain,
            CheckpointKind::Checkpoint,
            head.seq,
            head.hash,
            self.inner.clock.now(),
        );
        // Both are attempted: either alone still protects the chain.
        let stored = self.inner.store.put_checkpoint(&cp).await;
        let anchored = match &self.inner.anchor {
            Some(anchor) => anchor.save(&cp).await,
            None => Ok(()),
        };
        if stored.is_ok() {
            writer.last_checkpoint = Some(Some(cp.time));
        }
        stored.and(anchored)?;
        Ok(cp)
    }

    /// The chain's current head.
    pub async fn head(&self) -> Result<ChainHead> {
        self.inner.store.head(&self.inner.chain).await
    }

    /// Signs and stores a checkpoint of the current head now (and saves it to the anchor).
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        let mut writer = self.inner.writer.lock().await;
        let head = self.head().await?;
        self.sign_and_store(&mut writer, head).await
    }

    /// Recomputes the chain over a range of sequence numbers (`..` for all) and checks every signed
    /// checkpoint and the retention anchor in it; whatever the range, also checks the signed
    /// head, the newest stored checkpoint and the checkpoint saved in the
    /// [`CheckpointAnchor`](crate::CheckpointAnchor), if any. Returns [`Error::Tampered`] naming
    /// the first broken record.
    ///
    /// Detected: an edited event or an edited stored column of any record (hash mismatch,
    /// [`TamperKind::ColumnMismatch`]), removed or inserted records (gap, broken link, head
    /// mismatch), a rewritten head (bad head signature), records cut off below a stored or
    /// anchored checkpoint and an emptied chain whose anchor says records existed
    /// ([`TamperKind::Truncated`]), a rewritten chain ([`TamperKind::AnchorMismatch`],
    /// checkpoint mismatch).
    ///
    /// Not detected: records after the newest anchored checkpoint
    /// ([`VerifyReport::after_anchored_checkpoint`]) cut off together with their checkpoints, by
    /// someone who kept an older signed head row to put back. Without an anchor, a whole chain
    /// (records, head and checkpoints) can be deleted and looks never written.
    ///
    /// A range that does not start at the chain's beginning (or its retention anchor) trusts the
    /// stored hash of the record just before it; verify from the start for full assurance.
    pub async fn verify(&self, range: impl RangeBounds<u64>) -> Result<VerifyReport> {
        let store = &self.inner.store;
        let chain = &self.inner.chain;
        let verifier = &self.inner.verifier;
        let anchor = store.anchor(chain).await?;
        if let Some(anchor) = &anchor
            && (anchor.kind != CheckpointKind::Anchor
                || &anchor.chain != chain
                || !verifier.verify(anchor))
        {
            return Err(Error::Tampered {
                seq: anchor.seq,
                problem: TamperKind::BadSignature,
            });
        }
        // Checkpoints are read before the head: a concurrent writer only moves the head further,
        // so a checkpoint read first never lies beyond the head read after it.
        let anchored = match &self.inner.anchor {
            Some(external) => external.load(chain).await?,
            None => None,
        };
        let latest = store.latest_checkpoint(chain).await?;
        // The head and its signature come from one read, so they cannot be from two appends.
        let mut signed = store.signed_head(chain).await?;
        let mut head = match &signed {
            Some(s) => s.as_head(),
            None => store.head(chain).await?,
        };
        if signed.is_none() && head.seq > 0 {
            // Unsigned, or a first append committed between the two reads: read once more.
            signed = store.signed_head(chain).await?;
            if let Some(s) = &signed {
                head = s.as_head();
            }
        }
        // The checkpoint outside the database first: it is the one thing the attacker cannot
        // have rewritten.
        if let Some(anchored) = &anchored {
            self.check_checkpoint(anchored, head, anchor.as_ref(), true)
                .await?;
        }
        self.check_head(head, signed.as_ref(), anchor.as_ref())
            .await?;
        let chain_start = anchor.as_ref().map_or(1, |a| a.seq + 1);
        let first = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        }
        .max(chain_start);
        let last = match range.end_bound() {
            Bound::Included(&e) => e,
            Bound::Excluded(&e) => e.saturating_sub(1),
            Bound::Unbounded => u64::MAX,
        }
        .min(head.seq);

        if let Some(latest) = &latest {
            self.check_checkpoint(latest, head, anchor.as_ref(), false)
                .await?;
        }
        let start = anchor.as_ref().map_or(0, |a| a.seq);
        let signed_up_to = [&latest, &anchored]
            .into_iter()
            .flatten()
            .map(|cp| cp.seq)
            .fold(start, u64::max);
        let anchored_up_to = anchored.as_ref().map_or(start, |cp| cp.seq.max(start));
        let mut report = VerifyReport {
            first: 0,
            last: 0,
            records: 0,
            checkpoints: 0,
            anchor: anchor.as_ref().map(|a| a.seq),
            head: head.seq,
            latest_checkpoint: latest,
            anchor_configured: self.inner.anchor.is_some(),
            anchored_checkpoint: anchored,
            after_latest_checkpoint: head.seq.saturating_sub(signed_up_to),
            after_anchored_checkpoint: head.seq.saturating_sub(anchored_up_to),
        };
        if first > last {
            return Ok(report);
        }

        let mut prev = if first == chain_start {
            anchor.as_ref().map_or_else(|| chain.genesis(), |a| a.head)
        } else {
            match store.read(chain, first - 1, 1).await?.pop() {
                Some(r) if r.seq == first - 1 => r.hash,
                _ => {
                    return Err(Error::Tampered {
                        seq: first - 1,
                        problem: TamperKind::Gap {
                            expected: first - 1,
                        },
                    });
                }
            }
        };
        let checkpoints = store.checkpoints(chain, first, last).await?;
        let mut checkpoints = checkpoints.into_iter().peekable();
        let mut expected = first;
        while expected <= last {
            let want = VERIFY_PAGE.min((last - expected + 1) as usize);
            let (page, later) = match store.read(chain, expected, want).await {
                // A row further on whose stored columns disagree with its event: check the
                // records before it first, so that the first broken record is the one named.
                Err(Error::Tampered { seq, problem }) if seq > expected => {
                    let before = store
                        .read(chain, expected, (seq - expected) as usize)
                        .await?;
                    (before, (seq <= last).then_some((seq, problem)))
                }
                other => (other?, None),
            };
            if page.is_empty() {
                return Err(Error::Tampered {
                    seq: expected,
                    problem: TamperKind::Gap { expected },
                });
            }
            for record in page {
                if record.seq > last {
                    break;
                }
                let tampered = |problem| {
                    Err(Error::Tampered {
                        seq: record.seq,
                        problem,
                    })
                };
                if record.seq != expected {
                    return Err(Error::Tampered {
                        seq: expected,
                        problem: TamperKind::Gap { expected },
                    });
                }
                if record.prev_hash != prev {
                    return tampered(TamperKind::BrokenLink);
                }
                if !record.hash_matches() {
                    return tampered(TamperKind::HashMismatch);
                }
                while let Some(cp) = checkpoints.next_if(|cp| cp.seq <= record.seq) {
                    if cp.kind != CheckpointKind::Checkpoint
                        || &cp.chain != chain
                        || !verifier.verify(&cp)
                    {
                        return Err(Error::Tampered {
                            seq: cp.seq,
                            problem: TamperKind::BadSignature,
                        });
                    }
                    if cp.seq != record.seq || cp.head != record.hash {
                        return Err(Error::Tampered {
                            seq: cp.seq,
                            problem: TamperKind::CheckpointMismatch,
                        });
                    }
                    report.checkpoints += 1;
                }
                prev = record.hash;
                expected += 1;
                report.records += 1;
            }
            if let Some((seq, problem)) = later
                && expected >= seq
            {
                return Err(Error::Tampered { seq, problem });
            }
        }
        report.first = first;
        report.last = last;
        Ok(report)
    }

    /// The head must carry a valid signature of itself and be the newest stored record.
    async fn check_head(
        &self,
        head: ChainHead,
        signed: Option<&Checkpoint>,
        anchor: Option<&Checkpoint>,
    ) -> Result<()> {
        let store = &self.inner.store;
        let chain = &self.inner.chain;
        let mismatch = |seq| Error::Tampered {
            seq,
            problem: TamperKind::HeadMismatch { head: head.seq },
        };
        if head.seq == 0 {
            // Never written: nothing may be stored, unless a first append committed since.
            return match store.read(chain, 0, 1).await?.first() {
                Some(record) if store.head(chain).await?.seq == 0 => Err(mismatch(record.seq)),
                _ => Ok(()),
            };
        }
        let valid = signed.is_some_and(|s| {
            s.kind == CheckpointKind::Head
                && &s.chain == chain
                && s.seq == head.seq
                && s.head == head.hash
                && self.inner.verifier.verify(s)
        });
        if !valid {
            return Err(Error::Tampered {
                seq: head.seq,
                problem: TamperKind::BadHeadSignature,
            });
        }
        // Reading two also catches records stored beyond the head.
        let newest = store.read(chain, head.seq, 2).await?;
        let pruned_to_head = anchor.is_some_and(|a| a.seq == head.seq && a.head == head.hash);
        match newest.as_slice() {
            [record] if record.seq == head.seq && record.hash == head.hash => Ok(()),
            [] if pruned_to_head => Ok(()),
            // A record beyond the head is fine if a concurrent append has moved the head since.
            [record, _]
                if record.seq == head.seq
                    && record.hash == head.hash
                    && store.head(chain).await?.seq > head.seq =>
            {
                Ok(())
            }
            _ => Err(mismatch(head.seq)),
        }
    }

    /// A signed checkpoint (the newest stored one, or the anchored one) must be signed by a
    /// trusted key and name a record the store still holds, with the same hash.
    async fn check_checkpoint(
        &self,
        cp: &Checkpoint,
        head: ChainHead,
        anchor: Option<&Checkpoint>,
        anchored: bool,
    ) -> Result<()> {
        let tampered = |seq, problem| Err(Error::Tampered { seq, problem });
        let mismatch = if anchored {
            TamperKind::AnchorMismatch
        } else {
            TamperKind::CheckpointMismatch
        };
        if cp.kind != CheckpointKind::Checkpoint
            || cp.chain != self.inner.chain
            || !self.inner.verifier.verify(cp)
        {
            return tampered(cp.seq, TamperKind::BadSignature);
        }
        if cp.seq > head.seq {
            return tampered(
                head.seq + 1,
                TamperKind::Truncated {
                    checkpointed: cp.seq,
                    stored: head.seq,
                },
            );
        }
        if cp.seq == 0 {
            return Ok(());
        }
        if let Some(anchor) = anchor
            && cp.seq <= anchor.seq
        {
            // Deleted by retention; the retention anchor vouches for the same point, if any.
            if cp.seq == anchor.seq && cp.head != anchor.head {
                return tampered(cp.seq, mismatch);
            }
            return Ok(());
        }
        match self
            .inner
            .store
            .read(&self.inner.chain, cp.seq, 1)
            .await?
            .pop()
        {
            Some(record) if record.seq == cp.seq => {
                if record.hash != cp.head {
                    return tampered(cp.seq, mismatch);
                }
                Ok(())
            }
            _ => tampered(cp.seq, TamperKind::Gap { expected: cp.seq }),
        }
    }

    /// One page of records matching `query`.
    pub async fn query(&self, query: &AuditQuery) -> Result<Page> {
        query.validate()?;
        let records = self.inner.store.query(&self.inner.chain, query).await?;
        // The store filtered on its stored columns; the hashed events must agree with them.
        for record in &records {
            let columns = crate::store::Columns::of(&record.event);
            if let Some(column) = query.failing_filter(record.seq, &columns) {
                return Err(Error::Tampered {
                    seq: record.seq,
                    problem: TamperKind::ColumnMismatch { column },
                });
            }
        }
        let next = if records.len() == query.limit {
            records.last().map(|r| Cursor { seq: r.seq })
        } else {
            None
        };
        Ok(Page { records, next })
    }

    /// Deletes the oldest records, up to (not including) the first record whose time is at or after
    /// `cutoff`, after verifying them, and leaves a signed retention anchor so the remaining chain
    /// still verifies. Records are removed as a prefix: a record older than `cutoff` that follows
    /// a newer one is kept.
    pub async fn delete_before(&self, cutoff: Timestamp) -> Result<Retention> {
        let _writer = self.inner.writer.lock().await;
        let store = &self.inner.store;
        let chain = &self.inner.chain;
        let head = store.head(chain).await?;
        let first_kept = store
            .query(
                chain,
                &AuditQuery::new()
                    .since(cutoff)
                    .order(Order::OldestFirst)
                    .limit(1),
            )
            .await?
            .first()
            .map_or(head.seq + 1, |r| r.seq);
        let current = store.anchor(chain).await?.map_or(0, |a| a.seq);
        if first_kept <= current + 1 {
            return Ok(Retention {
                deleted: 0,
                anchor: None,
            });
        }
        let last_deleted = first_kept - 1;
        // Refuse to bless a tampered prefix with a fresh signature.
        self.verify(..=last_deleted).await?;
        let record = store
            .read(chain, last_deleted, 1)
            .await?
            .pop()
            .filter(|r| r.seq == last_deleted)
            .ok_or(Error::Tampered {
                seq: last_deleted,
                problem: TamperKind::Gap {
                    expected: last_deleted,
                },
            })?;
        let anchor = self.inner.signer.sign(
            chain,
            CheckpointKind::Anchor,
            record.seq,
            record.hash,
            self.inner.clock.now(),
        );
        let deleted = store.prune(&anchor).await?;
        Ok(Retention {
            deleted,
            anchor: Some(anchor),
        })
    }
}

/// Errors are not `Clone` (they may wrap a driver error); each waiter of a failed group commit
/// gets an equivalent copy.
fn copy_error(err: &Error) -> Error {
    match err {
        Error::Invalid { field, reason } => Error::Invalid {
            field,
            reason: reason.clone(),
        },
        Error::EventTooLarge { size, limit } => Error::EventTooLarge {
            size: *size,
            limit: *limit,
        },
        Error::Malformed { what, reason } => Error::Malformed {
            what,
            reason: reason.clone(),
        },
        Error::NotFound { what } => Error::NotFound { what: what.clone() },
        Error::Conflict { chain } => Error::Conflict {
            chain: chain.clone(),
        },
        Error::DuplicateEvent { id } => Error::DuplicateEvent { id: *id },
        Error::Tampered { seq, problem } => Error::Tampered {
            seq: *seq,
            problem: problem.clone(),
        },
        Error::Lagged { missed } => Error::Lagged { missed: *missed },
        other => Error::Unavailable {
            context: "appending to the audit log",
            source: crate::error::BackendError(other.to_string().into()),
        },
    }
}
