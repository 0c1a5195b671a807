//! A seeded generator of realistic login and file-activity streams with labelled attacks.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::world::{COUNTRIES, Client, DESKTOP_CLIENTS, PHONE_CLIENTS, asn_block};
use crate::{Error, Event, FileAction, Outcome, Result, Timestamp};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// The kind of attack an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttackKind {
    /// Stolen credentials used from a random network, country and browser (credential stuffing).
    Naive,
    /// The right country through a VPN or hosting network, with the attacker's own browser.
    Vpn,
    /// Same country, another residential network, the victim's browser family and OS (even the
    /// exact user agent), but not the victim's device.
    Targeted,
    /// A bulk download burst, by an account-takeover attacker or an insider on their own device.
    Exfiltration,
    /// A labelled account takeover read from the RBA dataset.
    AccountTakeover,
}

impl AttackKind {
    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Naive => "naive",
            AttackKind::Vpn => "vpn",
            AttackKind::Targeted => "targeted",
            AttackKind::Exfiltration => "exfiltration",
            AttackKind::AccountTakeover => "account_takeover",
        }
    }
}

/// An event and, when it is part of an attack, which kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LabelledEvent {
    /// The event.
    pub event: Event,
    /// `Some` for attack events.
    pub attack: Option<AttackKind>,
}

/// A generated (or loaded) stream in time order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stream {
    /// Events sorted by time.
    pub events: Vec<LabelledEvent>,
    /// Events before this are for learning only; metrics count events from here on.
    pub warmup_end: Timestamp,
}

impl Stream {
    /// Wraps events (sorted here by time) with the time metrics start counting from.
    pub fn new(mut events: Vec<LabelledEvent>, warmup_end: Timestamp) -> Self {
        events.sort_by_key(|e| e.event.time);
        Stream { events, warmup_end }
    }
}

/// Shape of a generated stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Same seed, same stream, on every platform.
    pub seed: u64,
    /// Accounts.
    pub users: usize,
    /// Days simulated.
    pub days: u32,
    /// Leading days without attacks, used only for learning.
    pub warmup_days: u32,
    /// Share of accounts taken over once after warm-up.
    pub attacked_share: f64,
    /// Share of accounts whose owner exfiltrates once after warm-up.
    pub exfiltration_share: f64,
    /// Whether events carry geo-IP coordinates (enables impossible-travel detection).
    pub coordinates: bool,
    /// First day, at 00:00 UTC.
    pub start: Timestamp,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            seed: 7,
            users: 500,
            days: 60,
            warmup_days: 20,
            attacked_share: 0.1,
            exfiltration_share: 0.03,
            coordinates: true,
            // Monday 2024-01-01.
            start: Timestamp::from_unix_seconds(1_704_067_200),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Schedule {
    Office,
    Flexible,
    Night,
}

struct Device {
    client: Client,
    id: String,
    model: usize,
}

struct Persona {
    uid: usize,
    name: String,
    country: usize,
    city: usize,
    home_asn: u32,
    home_block: u32,
    home_c: u8,
    home_last: u8,
    dynamic_ip: bool,
    office: Option<(u32, [u8; 4])>,
    mobile_asn: u32,
    laptop: Device,
    phone: Option<Device>,
    schedule: Schedule,
    sessions_per_day: f64,
    actions_per_session: f64,
    resources: u32,
    bytes_median: f64,
    version_lag: i64,
}

/// Where an event comes from.
struct Net {
    ip: String,
    asn: u32,
    country: usize,
    city: usize,
}

fn weights<T>(items: &[(T, f64)]) -> Vec<f64> {
    items.iter().map(|(_, w)| *w).collect()
}

impl Persona {
    fn new(rng: &mut Rng, uid: usize) -> Self {
        let country_weights: Vec<f64> = COUNTRIES.iter().map(|c| c.users).collect();
        let country = rng.weighted(&country_weights);
        let c = &COUNTRIES[country];
        let schedule = *rng.pick(&[
            Schedule::Office,
            Schedule::Office,
            Schedule::Office,
            Schedule::Flexible,
            Schedule::Night,
        ]);
        let laptop = Device {
            client: DESKTOP_CLIENTS[rng.weighted(&weights(DESKTOP_CLIENTS))].0,
            id: rng.hex_id("dev-"),
            model: 0,
        };
        let phone = rng.chance(0.6).then(|| Device {
            client: PHONE_CLIENTS[rng.weighted(&weights(PHONE_CLIENTS))].0,
            id: rng.hex_id("dev-"),
            model: rng.below(5),
        });
        // Colleagues share an office network: eight accounts per company.
        let company = uid / 8;
        let office = (schedule == Schedule::Office && rng.chance(0.6)).then(|| {
            let mut r = Rng::new(company as u64 ^ 0xc0ffee);
            let asn = *r.pick(c.consumer_asns);
            let (a, b) = asn_block(asn, 9);
            (asn, [a, b, r.below(256) as u8, 1 + r.below(250) as u8])
        });
        Persona {
            uid,
            name: format!("user{uid:05}"),
            country,
            city: rng.below(c.cities.len()),
            home_asn: *rng.pick(c.consumer_asns),
            home_block: rng.below(4) as u32,
            home_c: rng.below(256) as u8,
            home_last: 2 + rng.below(250) as u8,
            dynamic_ip: rng.chance(0.4),
            office,
            mobile_asn: *rng.pick(c.consumer_asns),
            laptop,
            phone,
            schedule,
            sessions_per_day: 1.0 + rng.unit() * 2.0,
            actions_per_session: 1.0 + rng.unit() * 7.0,
            resources: 10 + rng.below(190) as u32,
            bytes_median: (10.0 + rng.unit() * 5.0).exp(),
            version_lag: rng.below(20) as i64,
        }
    }

    fn offset(&self) -> i64 {
        COUNTRIES[self.country].cities[self.city].utc_offset
    }

    /// Whether the user is active on `weekday` (0 = Monday), and a local hour to act at.
    fn local_hour(&self, rng: &mut Rng, weekday: i64) -> Option<i64> {
        let weekend = weekday >= 5;
        let (active, lo, hi) = match (self.schedule, weekend) {
            (Schedule::Office, false) => (0.9, 8, 18),
            (Schedule::Office, true) => (0.15, 10, 21),
            (Schedule::Flexible, _) => (0.7, 7, 23),
            (Schedule::Night, _) => (0.75, 18, 26),
        };
        rng.chance(active).then(|| rng.range(lo, hi))
    }

    fn home_net(&self, day: i64) -> Net {
        let (a, b) = asn_block(self.home_asn, self.home_block);
        let ip = if self.dynamic_ip {
            // A new lease every day or two, from a handful of the ISP's /24s.
            let mut r = Rng::new((self.uid as u64) << 20 ^ (day / 2) as u64);
            let c = self.home_c.wrapping_add(r.below(4) as u8);
            format!("{a}.{b}.{c}.{}", 2 + r.below(250))
        } else {
            format!("{a}.{b}.{}.{}", self.home_c, self.home_last)
        };
        Net {
            ip,
            asn: self.home_asn,
            country: self.country,
            city: self.city,
        }
    }

    fn mobile_net(&self, rng: &mut Rng) -> Net {
        let (a, b) = asn_block(self.mobile_asn, 7);
        let ip = format!("{a}.{b}.{}.{}", rng.below(16), 1 + rng.below(254));
        Net {
            ip,
            asn: self.mobile_asn,
            country: self.country,
            city: self.city,
        }
    }

    fn resource(&self, rng: &mut Rng) -> String {
        let u = rng.unit();
        if rng.chance(0.2) {
            format!("/shared/team{}/file{}", self.uid / 8, (u * u * 40.0) as u32)
        } else {
            format!(
                "/u{}/doc{}",
                self.uid,
                (u * u * f64::from(self.resources)) as u32
            )
        }
    }

    fn bytes(&self, rng: &mut Rng) -> u64 {
        (self.bytes_median * (rng.normal()).exp()).min(5e9) as u64
    }
}

struct Builder<'a> {
    config: &'a StreamConfig,
    rng: Rng,
    out: Vec<LabelledEvent>,
}

impl Builder<'_> {
    fn event(
        &self,
        p: &Persona,
        t: i64,
        kind: Option<FileAction>,
        net: &Net,
        ua: &str,
        device: &str,
    ) -> Event {
        let country = &COUNTRIES[net.country];
        let city = &country.cities[net.city];
        let time = Timestamp::from_unix_seconds(t);
        let mut e = match kind {
            None => Event::login(p.name.clone(), time),
            Some(action) => Event::file(p.name.clone(), time, action),
        }
        .with_ip(net.ip.clone())
        .with_asn(net.asn)
        .with_country(country.code)
        .with_city(city.name)
        .with_user_agent(ua)
        .with_device_id(device);
        if self.config.coordinates {
            e = e.with_coordinates(city.lat, city.lon);
        }
        e
    }

    fn push(&mut self, event: Event, attack: Option<AttackKind>) {
        self.out.push(LabelledEvent { event, attack });
    }

    /// A login (maybe after a typo or two) followed by ordinary file work.
    #[allow(clippy::too_many_arguments)]
    fn session(
        &mut self,
        p: &Persona,
        mut t: i64,
        net: &Net,
        device: &Device,
        day: i64,
        label: Option<AttackKind>,
    ) -> i64 {
        let ua = device
            .client
            .user_agent((day + p.version_lag) / 30, device.model);
        let failures = if self.rng.chance(0.04) {
            1
        } else if self.rng.chance(0.01) {
            2 + self.rng.below(2)
        } else {
            0
        };
        for _ in 0..failures {
            let e = self
                .event(p, t, None, net, &ua, &device.id)
                .with_outcome(Outcome::Failure);
            self.push(e, label);
            t += self.rng.range(5, 40);
        }
        let e = self.event(p, t, None, net, &ua, &device.id);
        self.push(e, label);
        let actions = self.rng.poisson(p.actions_per_session);
        for _ in 0..actions {
            t += self.rng.range(20, 360);
            let action = [
                FileAction::Read,
                FileAction::Download,
                FileAction::Upload,
                FileAction::Share,
                FileAction::Delete,
            ][self.rng.weighted(&[50.0, 33.0, 10.0, 4.0, 3.0])];
            let resource = p.resource(&mut self.rng);
            let bytes = p.bytes(&mut self.rng);
            let e = self
                .event(p, t, Some(action), net, &ua, &device.id)
                .with_resource(resource)
                .with_bytes(bytes);
            self.push(e, label);
        }
        t
    }

    #[allow(clippy::too_many_arguments)]
    fn burst(
        &mut self,
        p: &Persona,
        mut t: i64,
        net: &Net,
        ua: &str,
        device: &str,
        n: usize,
        spacing: (i64, i64),
        label: Option<AttackKind>,
    ) {
        for i in 0..n {
            t += self.rng.range(spacing.0, spacing.1);
            let resource = if i % 3 == 2 {
                format!("/shared/team{}/file{i}", p.uid / 8)
            } else {
                format!("/u{}/doc{i}", p.uid)
            };
            let bytes = p.bytes(&mut self.rng);
            let e = self
                .event(p, t, Some(FileAction::Download), net, ua, device)
                .with_resource(resource)
                .with_bytes(bytes);
            self.push(e, label);
        }
    }

    fn user(&mut self, uid: usize) {
        let mut p = Persona::new(&mut self.rng, uid);
        let start = self.config.start.unix_seconds();
        let days = i64::from(self.config.days);
        let warmup = i64::from(self.config.warmup_days);
        let attack_day = self
            .rng
            .chance(self.config.attacked_share)
            .then(|| self.rng.range(warmup, days));
        let exfil_day = self
            .rng
            .chance(self.config.exfiltration_share)
            .then(|| self.rng.range(warmup, days));
        // (destination country, city, last day)
        let mut trip: Option<(usize, usize, i64)> = None;
        let mut travel_day = false;
        for day in 0..days {
            let weekday = day.rem_euclid(7);
            if trip.is_some_and(|(_, _, until)| day > until) {
                trip = None;
                travel_day = true; // the flight home
            } else if trip.is_none() && self.rng.chance(1.0 / 45.0) && day + 2 < days {
                let dest = loop {
                    let c = self.rng.below(COUNTRIES.len());
                    if c != p.country && COUNTRIES[c].users > 0.0 {
                        break c;
                    }
                };
                trip = Some((
                    dest,
                    self.rng.below(COUNTRIES[dest].cities.len()),
                    day + 2 + self.rng.range(1, 7),
                ));
                travel_day = true; // the flight out: no activity today
            }
            if self.rng.chance(1.0 / 150.0)
                && let Some(phone) = &mut p.phone
            {
                phone.id = self.rng.hex_id("dev-");
                phone.model = self.rng.below(5);
            }
            if travel_day {
                travel_day = false;
                continue;
            }
            let sessions = if let Some(h) = p.local_hour(&mut self.rng, weekday) {
                let mut hours = vec![h];
                for _ in 0..self.rng.poisson(p.sessions_per_day - 1.0) {
                    if let Some(h) = p.local_hour(&mut self.rng, weekday).or(Some(h + 1)) {
                        hours.push(h);
                    }
                }
                hours.sort_unstable();
                hours
            } else {
                Vec::new()
            };
            let heavy = self.rng.chance(0.01);
            for (i, local_hour) in sessions.iter().enumerate() {
                let offset = trip.map_or(p.offset(), |(c, city, _)| {
                    COUNTRIES[c].cities[city].utc_offset
                });
                let t = start + day * DAY + (local_hour - offset) * HOUR + self.rng.range(0, 3000);
                let use_phone = p.phone.is_some() && self.rng.chance(0.3);
                let net = match trip {
                    Some((c, city, _)) if !(use_phone && self.rng.chance(0.4)) => {
                        let asn = *self.rng.pick(COUNTRIES[c].consumer_asns);
                        let (a, b) = asn_block(asn, 3);
                        Net {
                            ip: format!(
                                "{a}.{b}.{}.{}",
                                self.rng.below(256),
                                1 + self.rng.below(254)
                            ),
                            asn,
                            country: c,
                            city,
                        }
                    }
                    Some(_) => p.mobile_net(&mut self.rng), // roaming keeps the home carrier's addresses
                    None if use_phone && self.rng.chance(0.5) => p.mobile_net(&mut self.rng),
                    None if p.office.is_some() && weekday < 5 && (8..18).contains(local_hour) => {
                        let (asn, [a, b, c, d]) = p.office.unwrap_or((0, [0; 4]));
                        Net {
                            ip: format!("{a}.{b}.{c}.{d}"),
                            asn,
                            country: p.country,
                            city: p.city,
                        }
                    }
                    None => p.home_net(day),
                };
                let device = if use_phone {
                    p.phone.as_ref().unwrap_or(&p.laptop)
                } else {
                    &p.laptop
                };
                let end = self.session(&p, t, &net, device, day, None);
                if heavy && i == 0 {
                    // A legitimate big job: a backup or an audit export.
                    let ua = device
                        .client
                        .user_agent((day + p.version_lag) / 30, device.model);
                    let n = 20 + self.rng.below(40);
                    self.burst(&p, end, &net, &ua, &device.id, n, (20, 90), None);
                }
                if exfil_day == Some(day) && i == 0 && trip.is_none() {
                    let ua = device
                        .client
                        .user_agent((day + p.version_lag) / 30, device.model);
                    let n = 100 + self.rng.below(200);
                    self.burst(
                        &p,
                        end,
                        &net,
                        &ua,
                        &device.id,
                        n,
                        (3, 12),
                        Some(AttackKind::Exfiltration),
                    );
                }
            }
            if attack_day == Some(day) {
                self.attack(&p, day);
            }
        }
    }

    fn attack(&mut self, p: &Persona, day: i64) {
        let start = self.config.start.unix_seconds();
        let kind = [AttackKind::Naive, AttackKind::Vpn, AttackKind::Targeted]
            [self.rng.weighted(&[40.0, 25.0, 35.0])];
        let home = &COUNTRIES[p.country];
        let (net, client, version, hour) = match kind {
            AttackKind::Naive => {
                let w: Vec<f64> = COUNTRIES.iter().map(|c| c.attackers).collect();
                let c = self.rng.weighted(&w);
                let country = &COUNTRIES[c];
                let asn = if self.rng.chance(0.6) {
                    *self.rng.pick(country.hosting_asns)
                } else {
                    *self.rng.pick(country.consumer_asns)
                };
                let (a, b) = asn_block(asn, 5);
                let ip = format!(
                    "{a}.{b}.{}.{}",
                    self.rng.below(256),
                    1 + self.rng.below(254)
                );
                let all: Vec<Client> = DESKTOP_CLIENTS
                    .iter()
                    .chain(PHONE_CLIENTS)
                    .map(|(c, _)| *c)
                    .collect();
                let net = Net {
                    ip,
                    asn,
                    country: c,
                    city: self.rng.below(country.cities.len()),
                };
                (
                    net,
                    *self.rng.pick(&all),
                    self.rng.range(-6, 3),
                    self.rng.range(0, 24),
                )
            }
            AttackKind::Vpn => {
                let asn = *self.rng.pick(home.hosting_asns);
                let (a, b) = asn_block(asn, 5);
                let ip = format!(
                    "{a}.{b}.{}.{}",
                    self.rng.below(256),
                    1 + self.rng.below(254)
                );
                let net = Net {
                    ip,
                    asn,
                    country: p.country,
                    city: self.rng.below(home.cities.len()),
                };
                let client = DESKTOP_CLIENTS[self.rng.weighted(&weights(DESKTOP_CLIENTS))].0;
                (net, client, day / 30, self.rng.range(0, 24))
            }
            _ => {
                let asn = if self.rng.chance(0.3) || home.consumer_asns.len() == 1 {
                    p.home_asn
                } else {
                    loop {
                        let a = *self.rng.pick(home.consumer_asns);
                        if a != p.home_asn {
                            break a;
                        }
                    }
                };
                let (a, b) = asn_block(asn, self.rng.below(4) as u32);
                let ip = format!(
                    "{a}.{b}.{}.{}",
                    self.rng.below(256),
                    1 + self.rng.below(254)
                );
                let city = if self.rng.chance(0.6) {
                    p.city
                } else {
                    self.rng.below(home.cities.len())
                };
                let net = Net {
                    ip,
                    asn,
                    country: p.country,
                    city,
                };
                let version = (day + p.version_lag) / 30 - i64::from(self.rng.chance(0.5));
                let hour = p.local_hour(&mut self.rng, 2).unwrap_or(11) - p.offset();
                (net, p.laptop.client, version, hour)
            }
        };
        let ua = client.user_agent(version, self.rng.below(5));
        let device = self.rng.hex_id("atk-");
        let mut t = start + day * DAY + hour * HOUR + self.rng.range(0, 3000);
        let guesses = match kind {
            AttackKind::Naive => self.rng.below(5),
            AttackKind::Vpn => self.rng.below(3),
            _ => self.rng.below(2),
        };
        for _ in 0..guesses {
            let e = self
                .event(p, t, None, &net, &ua, &device)
                .with_outcome(Outcome::Failure);
            self.push(e, Some(kind));
            t += self.rng.range(5, 30);
        }
        let e = self.event(p, t, None, &net, &ua, &device);
        self.push(e, Some(kind));
        if self.rng.chance(0.5) {
            let n = 40 + self.rng.below(160);
            self.burst(p, t, &net, &ua, &device, n, (2, 15), Some(kind));
        } else {
            for _ in 0..1 + self.rng.below(5) {
                t += self.rng.range(10, 120);
                let action = if self.rng.chance(0.5) {
                    FileAction::Read
                } else {
                    FileAction::Download
                };
                let resource = p.resource(&mut self.rng);
                let bytes = p.bytes(&mut self.rng);
                let e = self
                    .event(p, t, Some(action), &net, &ua, &device)
                    .with_resource(resource)
                    .with_bytes(bytes);
                self.push(e, Some(kind));
            }
        }
    }
}

/// Generates a stream: home locations and ISPs (static or dynamic addresses), offices shared by
/// colleagues, laptops and phones with monthly browser updates, office / flexible / night
/// schedules in local time, mobile networks, trips abroad (with roaming), new phones, typos,
/// legitimate bulk jobs; and, after warm-up, labelled account takeovers (naive, VPN, targeted,
/// each followed half the time by an exfiltration burst) and insider exfiltration.
///
/// # Errors
/// [`Error::InvalidConfig`] when `users` is 0 or over 10 million, `days` is 0 or over 3650,
/// `warmup_days >= days`, or a share is not in `[0, 1]`.
pub fn generate(config: &StreamConfig) -> Result<Stream> {
    if config.users == 0 || config.users > 10_000_000 {
        return Err(Error::config("users", "must be in 1..=10,000,000"));
    }
    if config.days == 0 || config.days > 3650 {
        return Err(Error::config("days", "must be in 1..=3650"));
    }
    if config.warmup_days >= config.days {
        return Err(Error::config("warmup_days", "must be less than days"));
    }
    for (field, v) in [
        ("attacked_share", config.attacked_share),
        ("exfiltration_share", config.exfiltration_share),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::config(field, "must be in [0, 1]"));
        }
    }
    let mut b = Builder {
        config,
        rng: Rng::new(config.seed),
        out: Vec::new(),
    };
    for uid in 0..config.users {
        b.user(uid);
    }
    let warmup_end = Timestamp::from_unix_seconds(
        config.start.unix_seconds() + i64::from(config.warmup_days) * DAY,
    );
    Ok(Stream::new(b.out, warmup_end))
}
