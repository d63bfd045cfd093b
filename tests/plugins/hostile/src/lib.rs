//! `hostile-plugin`: a test-only routing plugin that misbehaves on purpose, so the host's
//! sandboxing can be tested end to end. Its behaviour is chosen by the config key `mode`:
//!
//! | `mode`             | behaviour                                                        |
//! |--------------------|------------------------------------------------------------------|
//! | `ok`               | notify *the receiver*, titled `hostile-ok`                       |
//! | `loop`             | spin forever (calling the host's clock)                          |
//! | `trap`             | panic, which traps (the plugin profile has `panic = "abort"`)    |
//! | `error`            | return `Err("hostile error")`                                    |
//! | `unknown-receiver` | notify `no-such-receiver`                                        |
//! | `memory`           | allocate and write memory, 1 MiB at a time, until that fails     |
//! | `recursion`        | recurse without bound until the stack overflows                  |
//! | `giant`            | notify *the receiver* 100 000 times with 10 KiB titles (~1 GiB)  |
//! | `count`            | count calls in the plugin's state; notify titled `call N`        |
//! | `wordy`            | notify *the receiver* with a 64 KiB title                         |
//! | `leak`             | keep 2 MiB more in a global per call; notify titled `leak N`,     |
//! |                    | N counting the calls this instance served                        |
//!
//! *The receiver* is the value of config key `receiver`, or else the group's own receiver.
//!
//! As an identity plugin (`ingest.identity_plugin`) it follows the config key `identity`:
//! `malformed` returns a label set whose offsets run past its text, `trap` panics, and
//! anything else keeps the default identity (all labels).
//! A missing or unknown mode returns an error. Under a memory limit of a few MiB, `giant` runs
//! out of memory (and traps) long before it could return.

use std::hint::black_box;
use std::sync::Mutex;

use campanile_sdk::{config, export_router, state, time, Action, Group, LabelSet, Router};

/// The receiver named by `unknown-receiver` mode: the host has no receiver by that name.
pub const UNKNOWN_RECEIVER: &str = "no-such-receiver";
/// The title of the notification sent in `ok` mode.
pub const OK_TITLE: &str = "hostile-ok";
/// The error returned in `error` mode.
pub const ERROR_MESSAGE: &str = "hostile error";
/// How many actions `giant` mode returns.
pub const GIANT_ACTIONS: usize = 100_000;
/// The length in bytes of each title in `giant` mode.
pub const GIANT_TITLE_LEN: usize = 10 * 1024;

/// The length in bytes of the title in `wordy` mode.
pub const WORDY_TITLE_LEN: usize = 64 * 1024;

/// How much `leak` mode keeps per call.
pub const LEAK_PER_CALL: usize = 2 << 20;

/// What `leak` mode has kept, in this instance, across calls.
static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A plugin that does what its `mode` config key says, however hostile.
pub struct HostileRouter;

impl Router for HostileRouter {
    fn route(group: &Group) -> Result<Vec<Action>, String> {
        let Some(mode) = config::get("mode") else {
            return Err("hostile: config key `mode` is not set".to_string());
        };
        match mode.as_str() {
            "ok" => Ok(vec![Action::notify(receiver(group)).title(OK_TITLE).into()]),
            "loop" => spin(),
            "trap" => panic!("hostile trap"),
            "error" => Err(ERROR_MESSAGE.to_string()),
            "unknown-receiver" => Ok(vec![Action::notify(UNKNOWN_RECEIVER).into()]),
            // An unknown receiver beside a configured one.
            "mixed" => Ok(vec![
                Action::notify(UNKNOWN_RECEIVER).into(),
                Action::notify(receiver(group)).into(),
            ]),
            // No action at all (a fault: `suppress` is how to tell nobody).
            "silent" => Ok(Vec::new()),
            "memory" => exhaust_memory(),
            "recursion" => {
                let depth = recurse(black_box(0));
                Err(format!("hostile: recursion ended at depth {depth}"))
            }
            "giant" => Ok(giant(&receiver(group))),
            "wordy" => Ok(vec![Action::notify(receiver(group))
                .title("w".repeat(WORDY_TITLE_LEN))
                .into()]),
            "count" => {
                let calls = state::get("calls")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                state::set("calls", &calls.to_string())?;
                let title = format!("call {calls}");
                Ok(vec![Action::notify(receiver(group)).title(title).into()])
            }
            "leak" => {
                let mut leaked = LEAKED.lock().map_err(|e| e.to_string())?;
                leaked.push(black_box(vec![1u8; LEAK_PER_CALL]));
                let title = format!("leak {}", leaked.len());
                Ok(vec![Action::notify(receiver(group)).title(title).into()])
            }
            other => Err(format!("hostile: unknown mode `{other}`")),
        }
    }

    fn identity(labels: &LabelSet) -> Option<LabelSet> {
        match config::get("identity").as_deref() {
            Some("malformed") => Some(LabelSet {
                text: "alertname".to_string(),
                ends: vec![9, 99],
            }),
            Some("trap") => panic!("hostile identity trap with {} labels", labels.len()),
            _ => None,
        }
    }
}

export_router!(HostileRouter);

/// The receiver of `ok` and `giant` modes: config key `receiver`, or the group's own receiver.
fn receiver(group: &Group) -> String {
    config::get_or("receiver", &group.receiver)
}

/// Loops forever; the host call and `black_box` keep the optimiser from removing the loop.
fn spin() -> ! {
    let mut ticks: u64 = 0;
    loop {
        ticks = black_box(ticks.wrapping_add(black_box(time::now_ms()) as u64));
    }
}

/// Allocates 1 MiB chunks filled with ones (so every page is written, not just reserved) until
/// allocation fails, which aborts, so traps; or until the host stops the plugin.
fn exhaust_memory() -> ! {
    const CHUNK: usize = 1 << 20;
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![1u8; CHUNK]));
    }
}

/// Recurses without bound; the stack frame holds a buffer and the result is used after the
/// call, so the recursion cannot become a loop. Never returning is the point.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    let deeper = recurse(black_box(depth + 1));
    deeper.wrapping_add(frame[(depth % 32) as usize])
}

/// `GIANT_ACTIONS` notifications of `receiver`, each with its own copy of a
/// `GIANT_TITLE_LEN`-byte title.
fn giant(receiver: &str) -> Vec<Action> {
    let title = giant_title();
    (0..GIANT_ACTIONS)
        .map(|_| Action::notify(receiver).title(title.clone()).into())
        .collect()
}

fn giant_title() -> String {
    "x".repeat(GIANT_TITLE_LEN)
}

// The fake host of `campanile_sdk::testing` exists only off wasm32: tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use campanile_sdk::testing;

    fn route_with(config: &[(&str, &str)]) -> Result<Vec<Action>, String> {
        testing::set_config(config);
        HostileRouter::route(&testing::group(vec![testing::alert(&[("alertname", "A")])]))
    }

    #[test]
    fn ok_notifies_the_configured_or_group_receiver() {
        let expected = |receiver: &str| vec![Action::notify(receiver).title(OK_TITLE).into()];
        assert_eq!(route_with(&[("mode", "ok")]), Ok(expected("default")));
        assert_eq!(
            route_with(&[("mode", "ok"), ("receiver", "r")]),
            Ok(expected("r"))
        );
    }

    #[test]
    fn count_keeps_its_count_in_state() {
        let title = |actions: Result<Vec<Action>, String>| match &actions.unwrap()[0] {
            Action::Notify(n) => n.title.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            title(route_with(&[("mode", "count")])).as_deref(),
            Some("call 1")
        );
        assert_eq!(
            title(route_with(&[("mode", "count")])).as_deref(),
            Some("call 2")
        );
        assert_eq!(testing::state(), [("calls".to_string(), "2".to_string())]);
    }

    #[test]
    fn error_and_unknown_modes_fail() {
        assert_eq!(
            route_with(&[("mode", "error")]),
            Err(ERROR_MESSAGE.to_string())
        );
        assert!(route_with(&[("mode", "nope")]).is_err());
        assert!(route_with(&[]).is_err());
    }

    #[test]
    fn unknown_receiver() {
        assert_eq!(
            route_with(&[("mode", "unknown-receiver")]),
            Ok(vec![Action::notify(UNKNOWN_RECEIVER).into()])
        );
    }

    #[test]
    #[should_panic(expected = "hostile trap")]
    fn trap_panics() {
        let _ = route_with(&[("mode", "trap")]);
    }

    #[test]
    fn giant_titles_have_the_promised_size() {
        assert_eq!(giant_title().len(), GIANT_TITLE_LEN);
    }
}
