use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::{AuditEvent, AuditLog, Error, Result};

/// Something events are handed to: the in-process bus, Kafka, webhooks, an audit log. The outbox
/// relay publishes through this trait.
///
/// `publish` is all-or-nothing from the caller's point of view: on `Ok` every event was accepted;
/// on `Err` the caller retries the whole batch, so implementations must tolerate duplicates
/// (at-least-once: consumers deduplicate by event id).
#[async_trait]
pub trait EventPublisher: Debug + Send + Sync + 'static {
    /// Publishes `events` in order.
    async fn publish(&self, events: &[AuditEvent]) -> Result<()>;
}

/// `dyn EventPublisher`, for `Arc<DynEventPublisher>`.
pub type DynEventPublisher = dyn EventPublisher;

/// Appending to an audit log is a way of publishing: the relay can feed a log directly. Already
/// stored ids are skipped, so redelivery is harmless.
#[async_trait]
impl EventPublisher for AuditLog {
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        self.append_new(events.to_vec()).await.map(|_| ())
    }
}

/// An in-process publish/subscribe bus on a tokio broadcast channel.
///
/// Every subscriber sees every event published after it subscribed. A subscriber that falls more
/// than `capacity` events behind loses the oldest ones, and is told how many with
/// [`Error::Lagged`] instead of silently skipping them. Publishing with no subscribers succeeds
/// and the events go nowhere: this bus is for live fan-out, the outbox and the audit log are what
/// make events durable.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<AuditEvent>>,
}

/// The largest buffer an [`InProcessBus`] accepts.
pub const MAX_BUS_CAPACITY: usize = 1 << 20;

impl InProcessBus {
    /// A bus that buffers up to `capacity` events per slow subscriber (1 to [`MAX_BUS_CAPACITY`]).
    pub fn new(capacity: usize) -> Result<InProcessBus> {
        if !(1..=MAX_BUS_CAPACITY).contains(&capacity) {
            return Err(Error::invalid(
                "capacity",
                format!("must be 1 to {MAX_BUS_CAPACITY}"),
            ));
        }
        Ok(InProcessBus {
            sender: broadcast::channel(capacity).0,
        })
    }

    /// A new subscriber, receiving events published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            receiver: self.sender.subscribe(),
        }
    }

    /// How many subscribers are live.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[async_trait]
impl EventPublisher for InProcessBus {
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        for event in events {
            // An error only means there is no subscriber right now, which is not a failure.
            let _ = self.sender.send(Arc::new(event.clone()));
        }
        Ok(())
    }
}

/// One subscriber of an [`InProcessBus`].
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<AuditEvent>>,
}

impl Subscription {
    /// The next event. [`Error::Lagged`] reports events this subscriber missed by falling behind
    /// (the next call continues with the oldest event still buffered); [`Error::Closed`] means
    /// every handle to the bus was dropped and the buffer is drained.
    pub async fn recv(&mut self) -> Result<Arc<AuditEvent>> {
        match self.receiver.recv().await {
            Ok(event) => Ok(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Err(Error::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => Err(Error::Closed),
        }
    }

    /// The next event if one is buffered, without waiting; `Ok(None)` when there is none yet.
    pub fn try_recv(&mut self) -> Result<Option<Arc<AuditEvent>>> {
        match self.receiver.try_recv() {
            Ok(event) => Ok(Some(event)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Err(Error::Lagged { missed }),
            Err(broadcast::error::TryRecvError::Closed) => Err(Error::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Resource};

    fn event(i: i64) -> AuditEvent {
        AuditEvent::builder(
            Actor::Anonymous,
            "bus.test",
            Resource::new("x", i.to_string()).unwrap(),
        )
        .build()
        .unwrap()
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = InProcessBus::new(16).unwrap();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        assert_eq!(bus.subscribers(), 2);
        let events: Vec<_> = (0..5).map(event).collect();
        bus.publish(&events).await.unwrap();
        for sub in [&mut a, &mut b] {
            for e in &events {
                assert_eq!(*sub.recv().await.unwrap(), *e);
            }
            assert!(sub.try_recv().unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_many_it_missed() {
        let bus = InProcessBus::new(4).unwrap();
        let mut slow = bus.subscribe();
        let events: Vec<_> = (0..10).map(event).collect();
        bus.publish(&events).await.unwrap();
        assert!(matches!(
            slow.recv().await,
            Err(Error::Lagged { missed: 6 })
        ));
        // It resumes with the oldest event still buffered.
        for e in &events[6..] {
            assert_eq!(*slow.recv().await.unwrap(), *e);
        }
        drop(bus);
        assert!(matches!(slow.recv().await, Err(Error::Closed)));
    }

    #[tokio::test]
    async fn publishing_without_subscribers_succeeds_and_bad_capacity_is_refused() {
        let bus = InProcessBus::new(1).unwrap();
        bus.publish(&[event(1)]).await.unwrap();
        assert!(matches!(InProcessBus::new(0), Err(Error::Invalid { .. })));
        assert!(matches!(
            InProcessBus::new(MAX_BUS_CAPACITY + 1),
            Err(Error::Invalid { .. })
        ));
    }
}
