//! The set of silences held in memory, and the index the mute stage looks them up by, kept
//! together so that one type maintains both: every change (create, update in place, expire,
//! garbage collection, the restore at start) goes through [`SilenceSet::insert`],
//! [`SilenceSet::remove`] or [`SilenceSet::prune`].
//!
//! Each silence is filed under one of its equality matchers with a non-empty value
//! (`name="value"`): an alert it matches must carry exactly that pair, so an alert looks up
//! each of its own pairs and checks only the silences filed there. A silence with no such
//! matcher but a regex one whose matches all start with a known literal (`name=~"prefix…"`) is
//! filed under that name and prefix: an alert looks up, for each of its labels with that name,
//! the value's first bytes at each prefix length filed. Those with neither (negative,
//! empty-value or prefix-less regex matchers only) are checked for every alert.
//! The answer is exactly the scan's: the same silences, active at the instant asked about,
//! sorted by id as Alertmanager sorts `silencedBy`.
//!
//! Silences that have ended stay in the set for their retention, but not in the index: the
//! periodic garbage collection ([`SilenceSet::prune`]) takes out those that have ended by then.
//! A question about an earlier instant than the last prune (the wall clock stepped back) is
//! answered by the scan, which still sees them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use time::OffsetDateTime;

use super::model::{Silence, SilenceState};
use crate::model::matcher::Op;
use crate::model::Labels;

/// Label names that most alerts carry with one of a few values: a silence is filed under
/// another of its equality matchers if it has one, as that pair is likely rarer among alerts.
const BROAD_NAMES: [&str; 10] = [
    "alertname",
    "cluster",
    "env",
    "environment",
    "job",
    "namespace",
    "prometheus",
    "region",
    "severity",
    "team",
];

/// Label value → the silences filed under that value (of one label name).
type ByValue = HashMap<Box<str>, Vec<Arc<Silence>>>;

/// The silences filed under a prefix of one label name's values.
#[derive(Default)]
struct ByPrefix {
    /// Prefix → the silences filed under it.
    silences: ByValue,
    /// The lengths of those prefixes, in bytes, each once.
    lengths: Vec<usize>,
}

impl ByPrefix {
    fn lengths_again(&mut self) {
        self.lengths = self.silences.keys().map(|p| p.len()).collect();
        self.lengths.sort_unstable();
        self.lengths.dedup();
    }

    /// The silences filed under a prefix of `value`.
    fn of<'a>(&'a self, value: &'a str) -> impl Iterator<Item = &'a Arc<Silence>> + 'a {
        self.lengths
            .iter()
            .filter_map(move |&n| self.silences.get(value.get(..n)?))
            .flatten()
    }
}

/// Where a silence is filed (see the module's header).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Key<'a> {
    Pair(&'a str, &'a str),
    Prefix(&'a str, &'a str),
    Unfiled,
}

/// The silences by id, and the index over those that have not ended (see the module's header).
#[derive(Default)]
pub(super) struct SilenceSet {
    by_id: BTreeMap<String, Arc<Silence>>,
    /// name → value → the silences filed under `name="value"`.
    by_pair: HashMap<Box<str>, ByValue>,
    /// name → the silences filed under a prefix of that label's value.
    by_prefix: HashMap<Box<str>, ByPrefix>,
    /// The silences with no equality matcher to file them under.
    unfiled: Vec<Arc<Silence>>,
    /// The latest instant [`SilenceSet::prune`] ran at: every silence that had ended by then is
    /// out of the index.
    pruned_at: Option<OffsetDateTime>,
}

impl SilenceSet {
    pub(super) fn get(&self, id: &str) -> Option<&Silence> {
        self.by_id.get(id).map(|s| &**s)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Silence> {
        self.by_id.values().map(|s| &**s)
    }

    /// Adds a silence, or replaces the one with its id.
    pub(super) fn insert(&mut self, silence: Silence) {
        let silence = Arc::new(silence);
        if let Some(old) = self.by_id.insert(silence.id.clone(), silence.clone()) {
            self.unfile(&old);
        }
        if !self.ended_before_prune(&silence) {
            self.file(silence);
        }
    }

    /// Forgets a silence.
    pub(super) fn remove(&mut self, id: &str) -> Option<Arc<Silence>> {
        let old = self.by_id.remove(id)?;
        self.unfile(&old);
        Some(old)
    }

    /// Takes the silences that have ended at `now` out of the index (they stay in the set).
    pub(super) fn prune(&mut self, now: OffsetDateTime) {
        let ended = |s: &Arc<Silence>| s.state_at(now) == SilenceState::Expired;
        self.unfiled.retain(|s| !ended(s));
        let keep_active = |values: &mut ByValue| {
            values.retain(|_, silences| {
                silences.retain(|s| !ended(s));
                !silences.is_empty()
            });
        };
        self.by_pair.retain(|_, values| {
            keep_active(values);
            !values.is_empty()
        });
        self.by_prefix.retain(|_, prefixes| {
            keep_active(&mut prefixes.silences);
            prefixes.lengths_again();
            !prefixes.silences.is_empty()
        });
        self.pruned_at = self.pruned_at.max(Some(now));
    }

    /// Calls `found` with each silence active at `now` that matches `labels`, in no particular
    /// order, until it returns `false`.
    fn each_match(
        &self,
        labels: &Labels,
        now: OffsetDateTime,
        mut found: impl FnMut(&Silence) -> bool,
    ) {
        let mut check = |s: &Silence| {
            if s.state_at(now) == SilenceState::Active && s.matches(labels) {
                found(s)
            } else {
                true
            }
        };
        if self.pruned_at.is_some_and(|p| now < p) {
            // Asked about a time before the last prune: only the whole set has every silence
            // active then.
            self.by_id.values().all(|s| check(s));
            return;
        }
        let filed = labels
            .iter()
            .filter_map(|(name, value)| self.by_pair.get(name)?.get(value))
            .flatten();
        let by_prefix = labels
            .iter()
            .filter_map(|(name, value)| Some(self.by_prefix.get(name)?.of(value)))
            .flatten();
        for s in filed.chain(by_prefix).chain(&self.unfiled) {
            if !check(s) {
                return;
            }
        }
    }

    /// The ids of the silences active at `now` that match `labels`, sorted.
    pub(super) fn silenced_by(&self, labels: &Labels, now: OffsetDateTime) -> Vec<String> {
        let mut ids = Vec::new();
        self.each_match(labels, now, |s| {
            ids.push(s.id.clone());
            true
        });
        ids.sort_unstable();
        ids
    }

    /// Whether any silence active at `now` matches `labels`.
    pub(super) fn mutes(&self, labels: &Labels, now: OffsetDateTime) -> bool {
        let mut any = false;
        self.each_match(labels, now, |_| {
            any = true;
            false
        });
        any
    }

    /// [`SilenceSet::silenced_by`] without the index: every silence checked.
    #[cfg(test)]
    pub(super) fn scan(&self, labels: &Labels, now: OffsetDateTime) -> Vec<String> {
        self.by_id
            .values()
            .filter(|s| s.state_at(now) == SilenceState::Active && s.matches(labels))
            .map(|s| s.id.clone())
            .collect()
    }

    /// How many silences the index holds (filed and unfiled).
    #[cfg(test)]
    pub(super) fn indexed(&self) -> usize {
        let filed: usize = self
            .by_pair
            .values()
            .chain(self.by_prefix.values().map(|p| &p.silences))
            .flat_map(|v| v.values())
            .map(Vec::len)
            .sum();
        filed + self.unfiled.len()
    }

    /// Whether `silence` had ended by the last prune, so that it is out of the index.
    fn ended_before_prune(&self, silence: &Silence) -> bool {
        self.pruned_at
            .is_some_and(|p| silence.state_at(p) == SilenceState::Expired)
    }

    fn file(&mut self, silence: Arc<Silence>) {
        match key(&silence) {
            Key::Pair(name, value) => self
                .by_pair
                .entry(name.into())
                .or_default()
                .entry(value.into())
                .or_default()
                .push(silence),
            Key::Prefix(name, prefix) => {
                let prefixes = self.by_prefix.entry(name.into()).or_default();
                let n = prefix.len();
                prefixes
                    .silences
                    .entry(prefix.into())
                    .or_default()
                    .push(silence);
                if let Err(at) = prefixes.lengths.binary_search(&n) {
                    prefixes.lengths.insert(at, n);
                }
            }
            Key::Unfiled => self.unfiled.push(silence),
        }
    }

    fn unfile(&mut self, silence: &Silence) {
        let other = |s: &Arc<Silence>| s.id != silence.id;
        match key(silence) {
            Key::Unfiled => self.unfiled.retain(other),
            Key::Pair(name, value) => {
                if let Some(values) = self.by_pair.get_mut(name) {
                    take_out(values, value, other);
                    if values.is_empty() {
                        self.by_pair.remove(name);
                    }
                }
            }
            Key::Prefix(name, prefix) => {
                if let Some(prefixes) = self.by_prefix.get_mut(name) {
                    take_out(&mut prefixes.silences, prefix, other);
                    prefixes.lengths_again();
                    if prefixes.silences.is_empty() {
                        self.by_prefix.remove(name);
                    }
                }
            }
        }
    }
}

/// Takes the silences `keep` refuses out of those filed under `value`.
fn take_out(values: &mut ByValue, value: &str, keep: impl Fn(&Arc<Silence>) -> bool) {
    if let Some(silences) = values.get_mut(value) {
        silences.retain(keep);
        if silences.is_empty() {
            values.remove(value);
        }
    }
}

/// Where a silence is filed: under one of its `name="value"` matchers with a non-empty value (an
/// empty one also matches alerts without the label), preferring names outside [`BROAD_NAMES`],
/// then the longest value; else under the longest literal prefix of one of its `=~` matchers;
/// else nowhere. A function of the matchers alone, so a silence is found again where it was
/// filed.
fn key(silence: &Silence) -> Key<'_> {
    let pair = silence
        .matchers
        .iter()
        .filter(|m| m.op() == Op::Eq && !m.value().is_empty())
        .max_by_key(|m| (!BROAD_NAMES.contains(&m.name()), m.value().len()));
    if let Some(m) = pair {
        return Key::Pair(m.name(), m.value());
    }
    silence
        .matchers
        .iter()
        .filter_map(|m| Some((m.name(), m.required_prefix()?)))
        .max_by_key(|(_, prefix)| prefix.len())
        .map_or(Key::Unfiled, |(name, prefix)| Key::Prefix(name, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silence::SilenceMatcher;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use time::macros::datetime;
    use time::Duration;

    const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);
    const NAMES: [&str; 5] = ["alertname", "instance", "team", "a", "b"];
    const VALUES: [&str; 5] = ["", "x", "y", "xy", "host-17"];
    const PATTERNS: [&str; 10] = [
        "",
        "x",
        "x|y",
        ".*",
        "x.*",
        ".+",
        "xy?",
        "host-1.",
        r"host\-17",
        "h.*",
    ];

    fn silence(id: &str, matchers: Vec<SilenceMatcher>, start: i64, end: i64) -> Silence {
        Silence {
            id: id.into(),
            matchers,
            starts_at: T0 + Duration::minutes(start),
            ends_at: T0 + Duration::minutes(end),
            updated_at: T0,
            created_by: "test".into(),
            comment: String::new(),
        }
    }

    fn eq(name: &str, value: &str) -> SilenceMatcher {
        SilenceMatcher::new(name, value, false, true).unwrap()
    }

    fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
        from[rng.random_range(0..from.len())]
    }

    /// A silence of 1–3 random matchers (any operator, empty values too) and a random window
    /// around T0; it need not pass validation, the index must agree with the scan regardless.
    fn random_silence(rng: &mut StdRng, id: &str) -> Silence {
        let matchers = (0..rng.random_range(1..=3))
            .map(|_| {
                let name = pick(rng, &NAMES);
                let is_regex = rng.random_bool(0.4);
                let is_equal = rng.random_bool(0.7);
                let value = pick(rng, if is_regex { &PATTERNS } else { &VALUES });
                SilenceMatcher::new(name, value, is_regex, is_equal).unwrap()
            })
            .collect();
        let start = rng.random_range(-6..6);
        silence(id, matchers, start, start + rng.random_range(0..8))
    }

    fn random_labels(rng: &mut StdRng) -> Labels {
        let mut pairs = Vec::new();
        for name in NAMES {
            if rng.random_bool(0.6) {
                pairs.push((name, pick(rng, &VALUES)));
            }
        }
        Labels::from_pairs(pairs)
    }

    #[test]
    fn the_index_answers_exactly_as_the_scan() {
        let mut rng = StdRng::seed_from_u64(15);
        for _ in 0..200 {
            let mut set = SilenceSet::default();
            let mut ids: Vec<String> = Vec::new();
            for step in 0..40 {
                // Mostly new silences; also replacements (any change under the same id),
                // removals and prunes at random instants, earlier ones included.
                match rng.random_range(0..10) {
                    0..=5 => {
                        let id = format!("{:02}-{step}", rng.random_range(0..100));
                        set.insert(random_silence(&mut rng, &id));
                        ids.push(id);
                    }
                    6 | 7 if !ids.is_empty() => {
                        let id = ids[rng.random_range(0..ids.len())].clone();
                        set.insert(random_silence(&mut rng, &id));
                    }
                    8 if !ids.is_empty() => {
                        let id = ids.swap_remove(rng.random_range(0..ids.len()));
                        assert!(set.remove(&id).is_some());
                    }
                    _ => set.prune(T0 + Duration::minutes(rng.random_range(-6..12))),
                }
                for _ in 0..10 {
                    let labels = random_labels(&mut rng);
                    let now = T0 + Duration::seconds(rng.random_range(-480..900));
                    let scan = set.scan(&labels, now);
                    assert_eq!(set.silenced_by(&labels, now), scan, "{labels} at {now}");
                    assert_eq!(set.mutes(&labels, now), !scan.is_empty());
                }
            }
        }
    }

    #[test]
    fn filed_under_the_rarer_equality_pair() {
        let s = silence(
            "s",
            vec![
                eq("alertname", "HostDown"),
                eq("instance", "host-17"),
                eq("zone", ""),
            ],
            0,
            10,
        );
        assert_eq!(key(&s), Key::Pair("instance", "host-17"));
        let broad_only = silence(
            "b",
            vec![eq("alertname", "HostDown"), eq("env", "prod")],
            0,
            10,
        );
        assert_eq!(key(&broad_only), Key::Pair("alertname", "HostDown"));
        let regex = SilenceMatcher::new("instance", "host-1.", true, true).unwrap();
        let negative = || SilenceMatcher::new("team", "db", false, false).unwrap();
        assert_eq!(
            key(&silence("r", vec![regex, negative(), eq("a", "")], 0, 10)),
            Key::Prefix("instance", "host-1"),
            "no equality matcher: the regex's literal prefix"
        );
        let alternation = SilenceMatcher::new("instance", "h|i", true, true).unwrap();
        let negative_regex = SilenceMatcher::new("pod", "web.*", true, false).unwrap();
        assert_eq!(
            key(&silence(
                "n",
                vec![alternation, negative_regex, negative()],
                0,
                10
            )),
            Key::Unfiled
        );
    }

    #[test]
    fn prune_takes_ended_silences_out_of_the_index_only() {
        let mut set = SilenceSet::default();
        set.insert(silence("ended", vec![eq("instance", "h")], -10, -5));
        set.insert(silence("active", vec![eq("instance", "h")], -10, 10));
        set.insert(silence(
            "regex",
            vec![SilenceMatcher::new("instance", "h|i", true, true).unwrap()],
            -10,
            -1,
        ));
        assert_eq!(set.indexed(), 3);
        set.prune(T0);
        assert_eq!(set.indexed(), 1, "only the active one is left in the index");
        assert_eq!(
            set.iter().count(),
            3,
            "the ended ones are kept for their retention"
        );
        let labels = Labels::from_pairs([("instance", "h")]);
        assert_eq!(set.silenced_by(&labels, T0), ["active"]);
        // The clock stepped back: the scan answers, with the silences active then.
        let before = T0 - Duration::minutes(6);
        assert_eq!(
            set.silenced_by(&labels, before),
            ["active", "ended", "regex"]
        );
        // A silence that had ended before the prune is not filed again.
        set.insert(silence("late", vec![eq("instance", "h")], -9, -8));
        assert_eq!(set.indexed(), 1);
        assert!(set.remove("late").is_some());
        assert!(set.remove("late").is_none());
    }
}
