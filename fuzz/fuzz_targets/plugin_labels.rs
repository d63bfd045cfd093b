//! Label sets a plugin returns (the contract's packed `label-set`: text and ends): refused
//! with a reason or unpacked, and an unpacked set packs and unpacks to itself.
//!
//! Input: the text, a newline, then the ends as comma-separated numbers.
#![no_main]

use campanile::model::{Fingerprint, Labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, ends) = input.rsplit_once('\n').unwrap_or((&input, ""));
    let ends: Vec<u32> = ends
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let Ok(labels) = campanile::fuzzing::labels_from_plugin(text.to_string(), ends) else {
        return;
    };
    let (text, ends) = labels.packed();
    let flat: Vec<u32> = ends.iter().flat_map(|&(n, v)| [n, v]).collect();
    let again = campanile::fuzzing::labels_from_plugin(text.to_string(), flat)
        .expect("a set the host packed unpacks");
    assert_eq!(again, labels);
    let names: Vec<&str> = labels.iter().map(|(n, _)| n).collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "sorted, unique names"
    );
    for (n, v) in labels.iter() {
        assert_eq!(labels.get(n), Some(v));
    }
    let _ = (Fingerprint::of(&labels), labels.to_string());
    assert_eq!(Labels::common([&labels, &labels].into_iter()), labels);
});
