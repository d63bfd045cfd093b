//! [`LabelSet`]: reading and building the contract's packed label sets.

use std::fmt;

use crate::LabelSet;

impl LabelSet {
    /// An empty label set.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// assert!(LabelSet::new().is_empty());
    /// ```
    pub fn new() -> LabelSet {
        LabelSet {
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// A label set of these pairs, given in any order. When a name appears twice, the later
    /// value wins.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let set = LabelSet::from_pairs([("team", "db"), ("alertname", "Down"), ("team", "web")]);
    /// assert_eq!(set.to_string(), r#"{alertname="Down", team="web"}"#);
    /// ```
    pub fn from_pairs<I, K, V>(pairs: I) -> LabelSet
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut pairs: Vec<(K, V)> = pairs.into_iter().collect();
        // A stable sort keeps equal names in input order, so the last of them can win.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut set = LabelSet::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            let later_twin = pairs
                .get(i + 1)
                .is_some_and(|next| next.0.as_ref() == name.as_ref());
            if !later_twin {
                set.push(name.as_ref(), value.as_ref());
            }
        }
        set
    }

    /// Appends a pair; the caller keeps names sorted and unique.
    fn push(&mut self, name: &str, value: &str) {
        let offset = |text: &String| u32::try_from(text.len()).expect("label set below 4 GiB");
        self.text.push_str(name);
        self.ends.push(offset(&self.text));
        self.text.push_str(value);
        self.ends.push(offset(&self.text));
    }

    /// The value of the label `name`, if the set has it.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let set = LabelSet::from_pairs([("alertname", "Down"), ("team", "db")]);
    /// assert_eq!(set.get("team"), Some("db"));
    /// assert_eq!(set.get("cluster"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|&(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// Whether the set has a label called `name`.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// assert!(LabelSet::from_pairs([("team", "")]).contains("team"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The `(name, value)` pairs, sorted by name.
    ///
    /// The host always sends well-formed sets. In a set built by hand with wrong `ends`, the
    /// iteration stops at the first entry that does not fit the text.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let set = LabelSet::from_pairs([("b", "2"), ("a", "1")]);
    /// assert_eq!(set.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            next: 0,
            start: 0,
        }
    }

    /// The label names, sorted.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let set = LabelSet::from_pairs([("team", "db"), ("alertname", "Down")]);
    /// assert_eq!(set.names().collect::<Vec<_>>(), ["alertname", "team"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(name, _)| name)
    }

    /// How many labels the set has.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// assert_eq!(LabelSet::from_pairs([("a", "1"), ("b", "2")]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether the set has no labels.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// assert!(!LabelSet::from_pairs([("a", "1")]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the label `name` to `value`, replacing any earlier value.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let mut set = LabelSet::from_pairs([("team", "db")]);
    /// set.insert("summary", "the database is down");
    /// set.insert("team", "storage");
    /// assert_eq!(set.to_string(), r#"{summary="the database is down", team="storage"}"#);
    /// ```
    pub fn insert(&mut self, name: &str, value: &str) {
        *self = LabelSet::from_pairs(self.iter().chain([(name, value)]));
    }

    /// The set without the labels for which `keep` answers `false`.
    ///
    /// ```
    /// use campanile_sdk::LabelSet;
    ///
    /// let set = LabelSet::from_pairs([("alertname", "Down"), ("replica", "a")]);
    /// let kept = set.filtered(|name, _| name != "replica");
    /// assert_eq!(kept, LabelSet::from_pairs([("alertname", "Down")]));
    /// ```
    pub fn filtered(&self, mut keep: impl FnMut(&str, &str) -> bool) -> LabelSet {
        let mut set = LabelSet::new();
        for (name, value) in self.iter().filter(|&(n, v)| keep(n, v)) {
            set.push(name, value);
        }
        set
    }
}

impl Default for LabelSet {
    fn default() -> Self {
        LabelSet::new()
    }
}

/// Collects pairs in any order; a later duplicate name wins (see [`LabelSet::from_pairs`]).
///
/// ```
/// use campanile_sdk::LabelSet;
///
/// let set: LabelSet = [("a", "1"), ("b", "2")].into_iter().collect();
/// assert_eq!(set.get("b"), Some("2"));
/// ```
impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        LabelSet::from_pairs(pairs)
    }
}

impl<'a> IntoIterator for &'a LabelSet {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// As Prometheus prints a label set: `{alertname="Down", team="db"}`.
impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

/// The pairs of a [`LabelSet`], from [`LabelSet::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    set: &'a LabelSet,
    /// Index in `ends` of the next name's end.
    next: usize,
    /// Where the next name starts in the text.
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let ends = self.set.ends.get(self.next..self.next + 2)?;
        let (name_end, value_end) = (ends[0] as usize, ends[1] as usize);
        let name = self.set.text.get(self.start..name_end)?;
        let value = self.set.text.get(name_end..value_end)?;
        self.next += 2;
        self.start = value_end;
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_the_contracts() {
        let set = LabelSet::from_pairs([("team", "db"), ("alertname", "Down")]);
        assert_eq!(set.text, "alertnameDownteamdb");
        assert_eq!(set.ends, [9, 13, 17, 19]);
    }

    #[test]
    fn empty_names_and_values_round_trip() {
        let set = LabelSet::from_pairs([("", "x"), ("a", "")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [("", "x"), ("a", "")]);
        assert_eq!(set.get("a"), Some(""));
    }

    #[test]
    fn a_malformed_set_stops_iteration_without_panicking() {
        let odd = LabelSet {
            text: "ab".into(),
            ends: vec![1, 2, 5],
        };
        assert_eq!(odd.iter().collect::<Vec<_>>(), [("a", "b")]);
        let backwards = LabelSet {
            text: "abcd".into(),
            ends: vec![3, 1],
        };
        assert_eq!(backwards.iter().count(), 0);
        let split_char = LabelSet {
            text: "é".into(),
            ends: vec![1, 2],
        };
        assert_eq!(split_char.get("x"), None);
    }
}
