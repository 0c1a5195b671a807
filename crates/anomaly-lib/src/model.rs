//! The online model: score, observe, snapshot.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertSink};
use crate::event::{Event, EventKind, FileAction, Outcome};
use crate::features::{CLIENT, DEVICE, Extracted, NETWORK, SLOT_FEATURES, SLOTS};
use crate::profile::{BYTES, DISTINCT, DOWNLOADS, FAILURES, GlobalStats, RATES, UserProfile};
use crate::risk::{Feature, Finding, Level, Reason, Risk};
use crate::user_agent::UserAgentParser;
use crate::{Config, Error, Result};

/// Longest accepted user id, in bytes.
pub const MAX_USER_ID_BYTES: usize = 512;
/// Snapshot format this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Bounds on one contribution, in nats: a familiar value can lower the evidence only so much
/// (it must not hide a burst or impossible travel), and no single feature can dominate forever.
const MIN_CONTRIBUTION: f64 = -2.5;
const MAX_CONTRIBUTION: f64 = 12.0;
/// Impossible travel adds at least this much evidence, plus the log of the speed excess.
const TRAVEL_BASE_NATS: f64 = 2.0;
/// Shortest interval travel speed is computed over, so two events in the same second do not
/// divide by zero.
const MIN_TRAVEL_HOURS: f64 = 1.0 / 60.0;

/// An online behavioural risk model for logins and file activity.
///
/// See the [crate documentation](crate) for the model and its limits.
pub struct Model {
    config: Config,
    global: GlobalStats,
    users: HashMap<Box<str>, UserProfile>,
    parser: UserAgentParser,
    sink: Option<Box<dyn AlertSink>>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("users", &self.users.len())
            .field("events", &self.global.events)
            .field("alert_sink", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

fn clamp_contribution(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(MIN_CONTRIBUTION, MAX_CONTRIBUTION)
    }
}

/// Familiar context lowers the evidence by at most `-floor` in total, so a known network and
/// device cannot hide a download burst or impossible travel; when the sum is below the floor
/// the negative contributions are scaled down together (the reasons still add up to the
/// evidence).
fn limit_familiarity(group: &mut [Reason], floor: f64) {
    for r in group.iter_mut() {
        r.contribution = clamp_contribution(r.contribution);
    }
    let sum: f64 = group.iter().map(|r| r.contribution).sum();
    if sum >= floor {
        return;
    }
    let positive: f64 = group.iter().map(|r| r.contribution.max(0.0)).sum();
    let negative: f64 = group.iter().map(|r| r.contribution.min(0.0)).sum();
    // positive + k * negative = floor, with negative < floor - positive <= 0.
    let k = ((floor - positive) / negative).clamp(0.0, 1.0);
    for r in group.iter_mut().filter(|r| r.contribution < 0.0) {
        r.contribution *= k;
    }
}

fn logistic(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    (1.0 / (1.0 + (-x).exp())).clamp(0.0, 1.0)
}

fn weekday_hour(hour: u8) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!(
        "{} {:02}:00 UTC",
        DAYS[usize::from(hour / 24) % 7],
        hour % 24
    )
}

/// The rate inputs of one event: what it would add to each window.
struct RateInputs {
    /// Per rate: `Some(x)` when the event is of that rate's kind.
    x: [Option<f64>; RATES],
}

impl RateInputs {
    fn of(ex: &Extracted<'_>, profile: Option<&UserProfile>) -> Self {
        let e = ex.event;
        let mut x = [None; RATES];
        match e.kind {
            EventKind::Login => {
                x[FAILURES] = Some(f64::from(u8::from(e.outcome == Outcome::Failure)))
            }
            EventKind::File(action) if e.outcome == Outcome::Success => {
                if action == FileAction::Download {
                    x[DOWNLOADS] = Some(1.0);
                    x[BYTES] = Some(e.bytes.unwrap_or(0) as f64);
                }
                if let Some(r) = ex.resource {
                    let seen = profile.is_some_and(|p| p.recent.contains(r));
                    x[DISTINCT] = Some(if seen { 0.0 } else { 1.0 });
                }
            }
            EventKind::File(_) => {}
        }
        RateInputs { x }
    }
}

const RATE_FEATURES: [Feature; RATES] = [
    Feature::Downloads,
    Feature::DownloadBytes,
    Feature::DistinctResources,
    Feature::FailedLogins,
];

impl Model {
    /// A fresh model; fails if `config` does not validate.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        Ok(Model {
            global: GlobalStats::new(config.sketch_width, config.sketch_depth),
            parser: UserAgentParser::new(config.user_agent_cache),
            users: HashMap::new(),
            sink: None,
            config,
        })
    }

    /// Sends every High or Critical risk to `sink` from now on (replacing any previous sink).
    pub fn set_alert_sink(&mut self, sink: impl AlertSink + 'static) {
        self.sink = Some(Box::new(sink));
    }

    /// Builder form of [`set_alert_sink`](Self::set_alert_sink).
    pub fn with_alert_sink(mut self, sink: impl AlertSink + 'static) -> Self {
        self.set_alert_sink(sink);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Users currently profiled.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Successful events learned for `user` (0 if unknown): below
    /// [`Config::cold_start_events`] the user is in cold start.
    pub fn events_learned(&self, user: &str) -> u64 {
        self.users.get(user).map_or(0, |p| p.events)
    }

    /// Forgets everything learned about `user` (for example on account erasure). The
    /// population statistics keep their anonymous counts. Returns whether the user was known.
    pub fn forget_user(&mut self, user: &str) -> bool {
        self.users.remove(user).is_some()
    }

    /// An estimate of the heap and inline memory the model holds, in bytes.
    ///
    /// Bounded by `sketch_width * sketch_depth * 4` + the user-agent cache bound +
    /// `max_users * (per-user maximum)`, where a user holds at most
    /// `9 * max_values_per_feature * 16` bytes of value tables plus about 1 KiB of fixed state.
    pub fn approx_memory_bytes(&self) -> usize {
        let cap = self.config.max_values_per_feature;
        let per_entry_overhead = std::mem::size_of::<(Box<str>, UserProfile)>() / 8 + 16;
        self.global.sketch.memory_bytes()
            + self.parser.memory_bytes()
            + self
                .users
                .iter()
                .map(|(k, p)| k.len() + p.memory_bytes(cap) + per_entry_overhead)
                .sum::<usize>()
    }

    fn check(event: &Event) -> Result<()> {
        if event.user.is_empty() {
            return Err(Error::event("user", "is empty"));
        }
        if event.user.len() > MAX_USER_ID_BYTES {
            return Err(Error::event(
                "user",
                format!("is longer than {MAX_USER_ID_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    /// Scores `event` against what has been learned, without learning from it.
    ///
    /// Sends the risk to the alert sink when it is High or Critical.
    ///
    /// # Errors
    /// [`Error::InvalidEvent`] when the user id is empty or longer than
    /// [`MAX_USER_ID_BYTES`]. Everything else (missing or malformed fields, time going
    /// backwards, non-finite numbers) is scored and explained in the reasons.
    pub fn score(&self, event: &Event) -> Result<Risk> {
        Self::check(event)?;
        let ex = Extracted::new(event, &self.parser);
        let risk = self.score_extracted(&ex);
        self.alert(event, &risk);
        Ok(risk)
    }

    /// Learns from `event` without scoring it: its context (network, client, device, hour,
    /// position) becomes part of what is normal for the user, and its activity counts towards
    /// the rate windows. Call it for events you trust, for example after the user passed a
    /// step-up challenge.
    ///
    /// Failed events only feed the failed-login rate: an attacker's failed guesses must not
    /// teach the model that the attacker's network or device is normal for the account.
    ///
    /// # Errors
    /// As [`score`](Self::score).
    pub fn observe(&mut self, event: &Event) -> Result<()> {
        Self::check(event)?;
        let ex = Extracted::new(event, &self.parser);
        self.observe_extracted(&ex, true);
        Ok(())
    }

    /// Counts `event` towards the rate windows (downloads, bytes, distinct resources, failed
    /// logins) without learning its context as normal; for events that were challenged and
    /// failed, or blocked.
    ///
    /// # Errors
    /// As [`score`](Self::score).
    pub fn observe_untrusted(&mut self, event: &Event) -> Result<()> {
        Self::check(event)?;
        let ex = Extracted::new(event, &self.parser);
        self.observe_extracted(&ex, false);
        Ok(())
    }

    /// [`score`](Self::score), then [`observe`](Self::observe) when the level is below
    /// [`Config::trust_below`], else [`observe_untrusted`](Self::observe_untrusted); the event
    /// is parsed once.
    ///
    /// # Errors
    /// As [`score`](Self::score).
    pub fn score_and_observe(&mut self, event: &Event) -> Result<Risk> {
        Self::check(event)?;
        let ex = Extracted::new(event, &self.parser);
        let risk = self.score_extracted(&ex);
        self.observe_extracted(&ex, risk.level < self.config.trust_below);
        self.alert(event, &risk);
        Ok(risk)
    }

    fn alert(&self, event: &Event, risk: &Risk) {
        if risk.level >= Level::High
            && let Some(sink) = &self.sink
        {
            sink.alert(&Alert {
                user: &event.user,
                time: event.time,
                risk,
            });
        }
    }

    fn score_extracted(&self, ex: &Extracted<'_>) -> Risk {
        let c = &self.config;
        let now = ex.event.time.unix_seconds();
        let profile = self.users.get(ex.event.user.as_str());
        let learned = profile.map_or(0, |p| p.events);
        let cold = learned < c.cold_start_events;
        let mut reasons = Vec::with_capacity(16);

        if cold {
            reasons.push(Reason {
                feature: Feature::Profile,
                value: String::new(),
                finding: Finding::ColdStart {
                    events_seen: learned,
                    events_needed: c.cold_start_events,
                },
                contribution: 0.0,
            });
        }
        self.missing_and_malformed(ex, &mut reasons);

        let personal = if cold { None } else { profile };
        if let Some(p) = personal {
            let start = reasons.len();
            self.score_hierarchy(&NETWORK, c.weights.network, ex, p, now, &mut reasons);
            self.score_hierarchy(&CLIENT, c.weights.client, ex, p, now, &mut reasons);
            self.score_hierarchy(&DEVICE, c.weights.device_id, ex, p, now, &mut reasons);
            self.score_hour(ex, p, &mut reasons);
            limit_familiarity(&mut reasons[start..], -c.max_familiarity);
        }
        self.score_rates(ex, profile, now, &mut reasons);
        if let Some(p) = profile {
            self.score_travel(ex, p, now, &mut reasons);
        }

        for r in &mut reasons {
            r.contribution = clamp_contribution(r.contribution);
        }
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        let evidence: f64 = reasons.iter().map(|r| r.contribution).sum();
        let score = logistic(evidence + c.prior_log_odds);
        Risk {
            score,
            level: c.thresholds.level(score),
            evidence,
            reasons,
        }
    }

    fn missing_and_malformed(&self, ex: &Extracted<'_>, reasons: &mut Vec<Reason>) {
        let c = &self.config;
        let mut flag = |feature, finding, contribution| {
            reasons.push(Reason {
                feature,
                value: String::new(),
                finding,
                contribution,
            });
        };
        if ex.ip_malformed {
            flag(Feature::Ip, Finding::Malformed, c.malformed_penalty);
        }
        if NETWORK.iter().all(|&s| ex.hashes[s].is_none()) && !ex.ip_malformed {
            flag(Feature::Ip, Finding::Missing, c.missing_penalty);
        }
        match &ex.user_agent {
            Some(ua) if ua.malformed => {
                flag(Feature::UserAgent, Finding::Malformed, c.malformed_penalty)
            }
            Some(_) => {}
            None => flag(Feature::UserAgent, Finding::Missing, c.missing_penalty),
        }
        if ex.event.device_id.is_none() {
            flag(Feature::DeviceId, Finding::Missing, 0.0);
        }
        if ex.coordinates_malformed {
            flag(Feature::Travel, Finding::Malformed, c.malformed_penalty);
        }
    }

    /// Freeman et al.'s smoothed likelihood ratio, walked coarse to fine.
    ///
    /// At each level the user's probability of the value given its parent is a mixture of the
    /// user's own (decayed) frequency and, with the user's novelty rate as weight, the
    /// population's frequency given the same parent. Once a level is new for the user, finer
    /// levels are necessarily new as well and add nothing (no double counting).
    fn score_hierarchy(
        &self,
        levels: &[usize],
        weight: f64,
        ex: &Extracted<'_>,
        profile: &UserProfile,
        now: i64,
        reasons: &mut Vec<Reason>,
    ) {
        let c = &self.config;
        let half_life = c.half_life_days * 86_400.0;
        let mut parent_user = 1.0_f64;
        let mut parent_global_count: Option<f64> = None;
        let mut novel_above = false;
        for &slot in levels {
            let Some(hash) = ex.hashes[slot] else {
                continue;
            };
            let count = f64::from(self.global.sketch.estimate(hash));
            let denominator = parent_global_count.unwrap_or(self.global.slot_totals[slot] as f64);
            let global_share = ((count + 0.5) / (denominator + 1.0)).clamp(1e-9, 1.0);
            parent_global_count = Some(count.max(1.0));
            let feature = SLOT_FEATURES[slot];
            if novel_above {
                reasons.push(Reason {
                    feature,
                    value: ex.text(slot),
                    finding: Finding::ImpliedNew,
                    contribution: 0.0,
                });
                continue;
            }
            let l = profile.tables[slot].lookup(hash, now, half_life, c.novelty_prior);
            let own = if l.total > 0.0 {
                l.weight / l.total
            } else {
                0.0
            };
            let joint = (1.0 - l.novelty) * own + l.novelty * parent_user * global_share;
            let user_share = (joint / parent_user).clamp(1e-12, 1.0);
            let finding = if l.weight > 0.0 {
                Finding::Seen {
                    user_share,
                    global_share,
                }
            } else {
                novel_above = true;
                Finding::NewForUser {
                    user_novelty: l.novelty,
                    global_share,
                }
            };
            parent_user = joint.max(1e-300);
            reasons.push(Reason {
                feature,
                value: ex.text(slot),
                finding,
                contribution: weight * (global_share / user_share).ln(),
            });
        }
    }

    fn score_hour(&self, ex: &Extracted<'_>, profile: &UserProfile, reasons: &mut Vec<Reason>) {
        let c = &self.config;
        let hour = ex.event.time.hour_of_week();
        let global_share = self.global.hour_share(hour);
        let k = profile.hour_weight(hour);
        let total = f64::from(profile.hours_total);
        let user_share = (k + c.hour_prior * global_share) / (total + c.hour_prior);
        let finding = if k > 0.0 {
            Finding::Seen {
                user_share,
                global_share,
            }
        } else {
            Finding::NewForUser {
                user_novelty: c.hour_prior / (total + c.hour_prior),
                global_share,
            }
        };
        reasons.push(Reason {
            feature: Feature::HourOfWeek,
            value: weekday_hour(hour),
            finding,
            contribution: c.weights.hour_of_week * (global_share / user_share).ln(),
        });
    }

    fn score_rates(
        &self,
        ex: &Extracted<'_>,
        profile: Option<&UserProfile>,
        now: i64,
        reasons: &mut Vec<Reason>,
    ) {
        let c = &self.config;
        let inputs = RateInputs::of(ex, profile);
        for (rate, x) in inputs.x.iter().enumerate() {
            let Some(x) = *x else { continue };
            let sum = profile.map_or(x, |p| p.sums[rate].peek(x, now, c.rate_window_seconds));
            let own = profile
                .map(|p| &p.baselines[rate])
                .filter(|b| b.count() >= c.rate_baseline_events);
            let population_baseline = own.is_none();
            let baseline = own.unwrap_or(&self.global.baselines[rate]);
            if baseline.count() == 0 {
                continue;
            }
            let deviations = baseline.deviations(sum);
            let weight = if rate == FAILURES {
                c.weights.failed_logins
            } else {
                c.weights.volume
            };
            reasons.push(Reason {
                feature: RATE_FEATURES[rate],
                value: format!("{sum:.0}"),
                finding: Finding::AboveBaseline {
                    observed: sum,
                    typical: baseline.typical(),
                    deviations,
                    population_baseline,
                },
                contribution: weight * (deviations - c.rate_tolerance).max(0.0),
            });
        }
    }

    fn score_travel(
        &self,
        ex: &Extracted<'_>,
        profile: &UserProfile,
        now: i64,
        reasons: &mut Vec<Reason>,
    ) {
        let c = &self.config;
        let (Some(here), Some((there, then))) = (ex.coordinates, profile.location) else {
            return;
        };
        let km = here.distance_km(&there);
        if km.is_nan() || km < c.min_travel_km {
            return;
        }
        // Order does not matter for speed: out-of-order events are compared by |dt|.
        let hours = ((now as f64 - then as f64).abs() / 3600.0).max(MIN_TRAVEL_HOURS);
        let km_per_hour = km / hours;
        if km_per_hour <= c.max_travel_kmh {
            return;
        }
        let value = match (&ex.event.city, &ex.event.country) {
            (Some(city), _) => city.clone(),
            (None, Some(country)) => country.clone(),
            _ => format!("{:.2},{:.2}", here.lat, here.lon),
        };
        reasons.push(Reason {
            feature: Feature::Travel,
            value,
            finding: Finding::ImpossibleTravel {
                km,
                hours,
                km_per_hour,
            },
            contribution: c.weights.travel
                * (TRAVEL_BASE_NATS + (km_per_hour / c.max_travel_kmh).ln()),
        });
    }

    fn observe_extracted(&mut self, ex: &Extracted<'_>, trusted: bool) {
        let now = ex.event.time.unix_seconds();
        let success = ex.event.outcome == Outcome::Success;
        let user = ex.event.user.as_str();
        if !self.users.contains_key(user) {
            self.make_room();
            self.users.insert(user.into(), UserProfile::default());
        }
        let Some(profile) = self.users.get_mut(user) else {
            return;
        };
        let c = &self.config;
        let inputs = RateInputs::of(ex, Some(profile));
        profile.last_active = profile.last_active.max(now);
        for (rate, x) in inputs.x.iter().enumerate() {
            let Some(x) = *x else { continue };
            let sum = &mut profile.sums[rate];
            sum.add(x, now, c.rate_window_seconds);
            let value = sum.peek(0.0, now, c.rate_window_seconds);
            profile.baselines[rate].update(value);
            self.global.baselines[rate].update(value);
        }
        if !success {
            return;
        }
        if let Some(r) = ex.resource {
            profile.recent.insert(r);
        }
        if !trusted {
            return;
        }
        let half_life = c.half_life_days * 86_400.0;
        for slot in 0..SLOTS {
            if let Some(hash) = ex.hashes[slot] {
                profile.tables[slot].observe(hash, now, half_life, c.max_values_per_feature);
                self.global.add(slot, hash);
            }
        }
        let hour = ex.event.time.hour_of_week();
        profile.add_hour(hour);
        self.global.hours[usize::from(hour)] =
            self.global.hours[usize::from(hour)].saturating_add(1);
        self.global.hours_total = self.global.hours_total.saturating_add(1);
        if let Some(here) = ex.coordinates
            && profile.location.is_none_or(|(_, then)| now >= then)
        {
            profile.location = Some((here, now));
        }
        profile.events = profile.events.saturating_add(1);
        self.global.events = self.global.events.saturating_add(1);
    }

    /// Keeps the user count under `max_users` by evicting the least recently active sixteenth
    /// (at least one), so the cost is amortised over many inserts.
    fn make_room(&mut self) {
        let max = self.config.max_users;
        if self.users.len() < max {
            return;
        }
        let evict = (max / 16).max(1).min(self.users.len());
        let mut times: Vec<i64> = self.users.values().map(|p| p.last_active).collect();
        let (_, cutoff, _) = times.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        let mut budget = evict;
        self.users.retain(|_, p| {
            if budget > 0 && p.last_active <= cutoff {
                budget -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Writes everything learned, with the config, as versioned JSON.
    ///
    /// The alert sink is not part of a snapshot; set it again after [`read_snapshot`](Self::read_snapshot).
    ///
    /// # Errors
    /// [`Error::Io`] when the writer fails.
    pub fn write_snapshot(&self, writer: impl Write) -> Result<()> {
        let users: Vec<(&str, &UserProfile)> = self.users.iter().map(|(k, v)| (&**k, v)).collect();
        let snapshot = SnapshotRef {
            format_version: SNAPSHOT_FORMAT_VERSION,
            config: &self.config,
            global: &self.global,
            users,
        };
        serde_json::to_writer(writer, &snapshot).map_err(|e| Error::Io(e.into()))
    }

    /// [`write_snapshot`](Self::write_snapshot) into a byte vector.
    ///
    /// # Errors
    /// None in practice (serialising to memory does not fail); the `Result` is kept for
    /// symmetry with [`write_snapshot`](Self::write_snapshot).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_snapshot(&mut out)?;
        Ok(out)
    }

    /// Rebuilds a model from [`snapshot`](Self::snapshot) output.
    ///
    /// # Errors
    /// [`Error::UnsupportedSnapshotVersion`] for another format version,
    /// [`Error::CorruptSnapshot`] when the bytes are not a consistent snapshot (the contents
    /// are fully validated, so a tampered snapshot cannot cause a panic later), and
    /// [`Error::InvalidConfig`] when its config does not validate.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct VersionOnly {
            format_version: u32,
        }
        let version: VersionOnly =
            serde_json::from_slice(bytes).map_err(|e| Error::corrupt(e.to_string()))?;
        if version.format_version != SNAPSHOT_FORMAT_VERSION {
            return Err(Error::UnsupportedSnapshotVersion {
                found: version.format_version,
                supported: SNAPSHOT_FORMAT_VERSION,
            });
        }
        let s: SnapshotOwned =
            serde_json::from_slice(bytes).map_err(|e| Error::corrupt(e.to_string()))?;
        s.config.validate()?;
        if !s.global.is_consistent() {
            return Err(Error::corrupt("population statistics are inconsistent"));
        }
        if s.users.len() > s.config.max_users {
            return Err(Error::corrupt("more users than max_users"));
        }
        let cap = s.config.max_values_per_feature;
        let mut users = HashMap::with_capacity(s.users.len());
        for (user, profile) in s.users {
            if user.is_empty() || user.len() > MAX_USER_ID_BYTES || !profile.is_consistent(cap) {
                return Err(Error::corrupt("a user profile is inconsistent"));
            }
            users.insert(user.into_boxed_str(), profile);
        }
        let mut model = Model::new(s.config)?;
        if model.global.sketch.memory_bytes() != s.global.sketch.memory_bytes() {
            return Err(Error::corrupt("sketch size does not match the config"));
        }
        model.global = s.global;
        model.users = users;
        Ok(model)
    }

    /// [`restore`](Self::restore) from a reader.
    ///
    /// # Errors
    /// [`Error::Io`] when reading fails, otherwise as [`restore`](Self::restore).
    pub fn read_snapshot(mut reader: impl Read) -> Result<Self> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        Self::restore(&bytes)
    }
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format_version: u32,
    config: &'a Config,
    global: &'a GlobalStats,
    users: Vec<(&'a str, &'a UserProfile)>,
}

#[derive(Deserialize)]
struct SnapshotOwned {
    #[allow(dead_code)]
    format_version: u32,
    config: Config,
    global: GlobalStats,
    users: Vec<(String, UserProfile)>,
}
