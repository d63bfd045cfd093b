//! Alertmanager's alert fingerprint, bit for bit.
//!
//! Prometheus' `LabelSet.Fingerprint()` hashes the label pairs sorted by name with 64-bit
//! FNV-1a, writing each name and each value followed by the byte 0xff.

use std::hash::Hasher;

use fnv::FnvHasher;

use super::{Fingerprint, Labels};

const SEPARATOR: u8 = 0xff;

/// The fingerprint of a label set. `Labels` is always sorted by name, as the hash requires.
pub fn of(labels: &Labels) -> Fingerprint {
    let mut h = FnvHasher::default();
    for (name, value) in labels.iter() {
        h.write(name.as_bytes());
        h.write_u8(SEPARATOR);
        h.write(value.as_bytes());
        h.write_u8(SEPARATOR);
    }
    Fingerprint(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Case {
        labels: Labels,
        fingerprint: String,
    }

    /// `../shared/fixtures` sits beside the repository, in development and in CI.
    fn fixture(name: &str) -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/alertmanager-0.25/"
        );
        std::fs::read_to_string(format!("{path}{name}"))
            .unwrap_or_else(|e| panic!("fixture {path}{name}: {e}"))
    }

    #[test]
    fn matches_alertmanager_fixtures() {
        let cases: Vec<Case> = serde_json::from_str(&fixture("fingerprints.json")).unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            assert_eq!(
                of(&case.labels).to_string(),
                case.fingerprint,
                "labels {}",
                case.labels
            );
        }
    }

    #[test]
    fn matches_alertmanager_webhook_fixtures() {
        let mut checked = 0;
        for name in [
            "webhook-v4-firing-diskfull.json",
            "webhook-v4-firing-postgres.json",
            "webhook-v4-partly-resolved-postgres.json",
        ] {
            let body: serde_json::Value = serde_json::from_str(&fixture(name)).unwrap();
            for alert in body["alerts"].as_array().unwrap() {
                let labels: Labels = serde_json::from_value(alert["labels"].clone()).unwrap();
                assert_eq!(
                    of(&labels).to_string(),
                    alert["fingerprint"].as_str().unwrap()
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 5);
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = Labels::from_pairs([("a", "1"), ("b", "2")]);
        let b = Labels::from_pairs([("b", "2"), ("a", "1")]);
        assert_eq!(of(&a), of(&b));
        assert_ne!(of(&a), of(&Labels::from_pairs([("a", "12")])));
    }
}
