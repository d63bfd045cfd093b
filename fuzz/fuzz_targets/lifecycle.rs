//! The stateful target: a small campanile built from the real parts, fed decoded input over
//! time. Alerts (API v2 and webhook v4 bodies) go through the decoders and `Ingestor::admit`
//! (the cache, the store) to the real dispatcher (groups, timers, the mute stage with
//! silences and inhibition); silences go through the API's decoder and `Silences::set`; a
//! stand-in for the pipeline renders each flush for every type of receiver (the bodies they
//! would send), records it as the pipeline does and tells the
//! dispatcher (with the wake-ups a plugin might ask for); housekeeping runs at now and ahead
//! of it (past the retention); and a restart closes the store on disk and starts again from
//! it, as `app::start` does. The checks: nothing panics, and a restart brings back every
//! alert and silence it should, as they were.
//!
//! The dispatcher's clock is tokio's, paused, so waiting is free; the wall clock is the
//! machine's, as in campanile.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use campanile::config::{Config, RouteConfig};
use campanile::dedup::AlertCache;
use campanile::group::{Dispatched, Dispatcher, GroupFlush, Routed};
use campanile::ingest::{api_v2, webhook_v4, Ingestor};
use campanile::inhibit::Inhibitor;
use campanile::model::Fingerprint;
use campanile::mute::MuteStage;
use campanile::notify::Notification;
use campanile::route::RouteTable;
use campanile::silence::{Silence, Silences, RETENTION};
use campanile::store::{extend_history, Op, SentRecord, Store, StoredAlert};
use campanile::telemetry::Metrics;
use campanile_fuzz::{api_v2_body, webhook_body, AlertSpec, SilenceSpec, Status};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// At most this many steps per input, so one input stays quick.
const MAX_STEPS: usize = 48;

#[derive(Arbitrary, Debug)]
struct Input {
    settings: Settings,
    steps: Vec<Step>,
}

/// The configuration's durations.
#[derive(Arbitrary, Debug)]
struct Settings {
    group_wait: Span,
    group_interval: Span,
    repeat_interval: Span,
    resolve_timeout: Span,
    webhook_resolve_timeout: Span,
    retention: Span,
    /// What the routing plugin asks for, flush after flush: a wake-up so many seconds later.
    wakes: Vec<Option<u32>>,
}

/// A duration as the config writes it, from none to a century: what an operator might write.
/// Absurd ones (a thousand years, the longest that parses) are the `config` target's; here the
/// input is what varies.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Span {
    Zero,
    Second,
    HalfMinute,
    FiveMinutes,
    Hour,
    Day,
    Month,
    Year,
    Century,
}

impl Span {
    fn duration(self) -> Duration {
        const DAY: u64 = 24 * 3600;
        Duration::from_secs(match self {
            Span::Zero => 0,
            Span::Second => 1,
            Span::HalfMinute => 30,
            Span::FiveMinutes => 300,
            Span::Hour => 3600,
            Span::Day => DAY,
            Span::Month => 30 * DAY,
            // As humantime reads "1y": 365.25 days.
            Span::Year => 365 * DAY + DAY / 4,
            Span::Century => 100 * (365 * DAY + DAY / 4),
        })
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// `POST /api/v2/alerts`.
    Alerts(Vec<AlertSpec>),
    /// `POST /api/v1/alertmanager`.
    Webhook(Vec<(Status, AlertSpec)>),
    /// `POST /api/v2/silences`.
    Silence(SilenceSpec),
    /// `DELETE /api/v2/silence/{id}` of one set earlier.
    Expire(u8),
    /// Time passes for the dispatcher.
    Wait(Wait),
    /// The housekeeping tasks (which also run after every step, at now) at now plus this.
    Housekeeping(Ahead),
    /// A clean restart from the store on disk.
    Restart,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Wait {
    Millis(u16),
    Seconds(u16),
    Hours(u16),
}

impl Wait {
    fn duration(self) -> Duration {
        match self {
            Wait::Millis(n) => Duration::from_millis(n.into()),
            Wait::Seconds(n) => Duration::from_secs(n.into()),
            Wait::Hours(n) => Duration::from_secs(u64::from(n) * 3600),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ahead {
    Now,
    /// Just past the silences' retention.
    Retention,
    Seconds(u32),
    Days(u16),
}

impl Ahead {
    fn duration(self) -> time::Duration {
        match self {
            Ahead::Now => time::Duration::ZERO,
            Ahead::Retention => {
                time::Duration::try_from(RETENTION).expect("120 h") + time::Duration::SECOND
            }
            Ahead::Seconds(n) => time::Duration::seconds(n.into()),
            Ahead::Days(n) => time::Duration::days(n.into()),
        }
    }
}

/// Where the store lives, one directory per process: under `CAMPANILE_FUZZ_STORE`
/// (scripts/fuzz.sh sets it and removes it after), else in /dev/shm (memory-backed) or the
/// temporary directory.
fn store_dir() -> PathBuf {
    let base = match std::env::var_os("CAMPANILE_FUZZ_STORE") {
        Some(dir) => PathBuf::from(dir),
        None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!("campanile-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The configuration: one file, compiled once (its regexes cost more than many steps), with
/// the durations of `s` put in as compiling them would.
fn config(s: &Settings, dir: &Path) -> Option<Arc<Config>> {
    thread_local! {
        static BASE: RefCell<Option<Config>> = const { RefCell::new(None) };
    }
    let (interval, repeat) = (s.group_interval.duration(), s.repeat_interval.duration());
    // What compiling refuses.
    if interval.is_zero() || repeat.is_zero() {
        return None;
    }
    let mut config = BASE.with_borrow_mut(|base| {
        base.get_or_insert_with(|| {
            let toml =
                BASE_TOML.replace("{path}", &dir.join("campanile.redb").display().to_string());
            Config::parse(&toml, "fuzz.toml", dir).expect("the stateful target's config compiles")
        })
        .clone()
    });
    config.ingest.resolve_timeout = s.resolve_timeout.duration();
    config.ingest.webhook_resolve_timeout = s.webhook_resolve_timeout.duration();
    config.ingest.retention = s.retention.duration();
    // Children inherit them: none sets its own.
    fn set(route: &mut RouteConfig, wait: Duration, interval: Duration, repeat: Duration) {
        (
            route.group_wait,
            route.group_interval,
            route.repeat_interval,
        ) = (wait, interval, repeat);
        for child in &mut route.routes {
            set(child, wait, interval, repeat);
        }
    }
    set(&mut config.route, s.group_wait.duration(), interval, repeat);
    Some(Arc::new(config))
}

const BASE_TOML: &str = r#"[server]
external_url = "https://campanile.example"
[limits]
max_alerts = 1000
[store]
path = "{path}"
durability = "deferred"
flush_interval = "1h"
[[receivers]]
name = "log"
type = "log"
[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1/hook"
max_alerts = 2
[[receivers]]
name = "slack"
type = "slack"
url = "http://127.0.0.1:1/slack"
[[receivers]]
name = "mattermost"
type = "mattermost"
url = "http://127.0.0.1:1/mattermost"
[[receivers]]
name = "discord"
type = "discord"
url = "http://127.0.0.1:1/discord"
[[receivers]]
name = "msteams"
type = "msteams"
url = "http://127.0.0.1:1/msteams"
[[receivers]]
name = "pagerduty"
type = "pagerduty"
url = "http://127.0.0.1:1/pagerduty"
routing_key = "R0123456789abcdef0123456789abcdef"
[[receivers]]
name = "opsgenie"
type = "opsgenie"
url = "http://127.0.0.1:1/v2/alerts"
api_key = "k"
tags = ["campanile"]
[[receivers]]
name = "email"
type = "email"
host = "127.0.0.1"
tls = "none"
from = "campanile <alerts@campanile.test>"
to = ["ops@campanile.test"]
[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["alertname"]
[route]
receiver = "log"
group_by = ["alertname"]
[[route.routes]]
receiver = "hook"
matchers = ['team="db"']
group_by = ["..."]
continue = true
[[route.routes]]
receiver = "log"
matchers = ['severity=~"crit.*"']
"#;

/// The parts `app::start` builds that alerts and silences go through.
struct App {
    config: Arc<Config>,
    store: Arc<Store>,
    cache: Arc<AlertCache>,
    silences: Arc<Silences>,
    mute: Arc<MuteStage>,
    ingestor: Ingestor,
    shutdown: CancellationToken,
    dispatcher: JoinHandle<()>,
    flushes: mpsc::UnboundedReceiver<Dispatched<()>>,
    routed: mpsc::UnboundedSender<Routed>,
    /// The stand-in pipeline's flush count, to pick the next wake-up.
    flushed: usize,
}

impl App {
    /// As `app::start`: the store read, alerts restored to the cache and their groups, the
    /// notification log handed to the dispatcher, silences loaded.
    fn start(config: Arc<Config>) -> App {
        let (store, snapshot) = Store::open(&config.store)
            .unwrap_or_else(|e| panic!("a store campanile wrote opens again: {e}"));
        let expired = store.clone();
        let cache = Arc::new(AlertCache::with_expiry_hook(
            config.limits.max_alerts,
            config.ingest.retention,
            move |fp| expired.submit(vec![Op::DeleteAlert(fp.0)]),
        ));
        let restored = campanile::fuzzing::restore_alerts(
            &cache,
            &store,
            snapshot.alerts,
            config.ingest.retention,
        );
        let silences = Arc::new(Silences::new(store.clone(), snapshot.silences));
        let mute = Arc::new(MuteStage::new(
            Arc::new(Inhibitor::new(&config.inhibit_rules)),
            silences.clone(),
        ));
        let routes = Arc::new(RouteTable::new(&config.route));
        let metrics = Arc::new(Metrics::new());
        let (batch_tx, batch_rx) = mpsc::channel(config.limits.ingest_queue);
        let (flush_tx, flushes) = mpsc::unbounded_channel();
        let (routed, routed_rx) = mpsc::unbounded_channel();
        let mut dispatcher = Dispatcher::<()>::new(
            routes,
            flush_tx,
            metrics.clone(),
            store.clone(),
            snapshot.notified.into_iter().collect(),
        )
        .with_mute(mute.clone());
        dispatcher.restore(restored);
        let shutdown = CancellationToken::new();
        let dispatcher = tokio::spawn(dispatcher.run(batch_rx, routed_rx, shutdown.clone()));
        let ingestor = Ingestor::new(cache.clone(), store.clone(), batch_tx, metrics);
        App {
            config,
            store,
            cache,
            silences,
            mute,
            ingestor,
            shutdown,
            dispatcher,
            flushes,
            routed,
            flushed: 0,
        }
    }

    /// Stops the dispatcher and closes the store, writing everything queued.
    async fn stop(self) {
        self.shutdown.cancel();
        if let Err(e) = self.dispatcher.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        self.store.close();
    }

    /// Lets the dispatcher take in what was sent to it, answers its flushes, and runs the
    /// housekeeping campanile runs every few seconds.
    async fn settle(&mut self, wakes: &[Option<u32>]) {
        self.housekeeping(OffsetDateTime::now_utc());
        for _ in 0..4 {
            tokio::task::yield_now().await;
            while let Ok(Dispatched::Flush(flush)) = self.flushes.try_recv() {
                self.handle(flush, wakes);
            }
        }
    }

    /// What `app.rs` runs every few seconds (silences and inhibition sources forgotten, the
    /// cache's expiry), at `at`; and what the API shows of each alert's mute status. (Which
    /// groups fire, for acknowledgements, the dispatcher answers itself.)
    fn housekeeping(&self, at: OffsetDateTime) {
        self.silences.gc(at);
        self.mute.inhibitor().gc(at);
        self.cache.run_housekeeping();
        let mute = self.mute.at(at);
        for alert in self.cache.snapshot() {
            let _ = mute.status(&alert.labels);
        }
    }

    /// What the pipeline does with a flush, but for the plugin and the receivers: the
    /// notification rendered, the notification log entry written, the dispatcher told.
    fn handle(&mut self, flush: GroupFlush, wakes: &[Option<u32>]) {
        let wake_after = match wakes.len() {
            0 => None,
            n => wakes[self.flushed % n],
        };
        self.flushed += 1;
        let flush = Arc::new(flush);
        let n = Notification {
            receiver: flush.route.config.receiver.as_str().into(),
            flush: flush.clone(),
            title: None,
            body: None,
            severity: None,
            send_resolved: true,
            external_url: self.config.server.external_url.as_str().into(),
            ack_link: Some("https://campanile.example/ack/x".into()),
            outbox_id: None,
            schedule: Default::default(),
        };
        // What every type of receiver would send.
        for rc in &self.config.receivers {
            let _ = campanile::fuzzing::render_notification(rc, &n);
        }
        // `wake-after` is a u32 of seconds after the flush, as in `Pipeline::handle`.
        let wake_at = wake_after.map(|s| flush.at + time::Duration::seconds(s.into()));
        let sent = vec![SentRecord {
            receiver: flush.route.config.receiver.clone(),
            reason: flush.reason.as_str().to_string(),
            at: flush.at,
        }];
        let mut record = flush.record.clone();
        record.sent = flush.history.clone();
        extend_history(&mut record.sent, sent.iter().cloned());
        record.wake_at = wake_at;
        self.store
            .submit(vec![Op::PutNotified(flush.key.to_string(), record)]);
        let _ = self.routed.send(Routed {
            key: flush.key.clone(),
            sent,
            wake_at,
        });
    }

    /// What a restart must bring back: the alerts the restore keeps (ended less than the
    /// retention ago, with a minute to spare) and every silence, as records.
    fn durable_state(&self) -> (BTreeMap<u64, StoredAlert>, BTreeMap<String, Silence>) {
        let now = OffsetDateTime::now_utc();
        let retention =
            time::Duration::try_from(self.config.ingest.retention).unwrap_or(time::Duration::MAX);
        let alerts = self
            .cache
            .snapshot()
            .into_iter()
            .filter(|a| {
                a.end()
                    .checked_add(retention)
                    .is_none_or(|kept| kept > now + time::Duration::MINUTE)
            })
            .map(|a| (a.fingerprint.0, StoredAlert::from(a.as_ref())))
            .collect();
        let silences = self
            .silences
            .list()
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        (alerts, silences)
    }
}

fuzz_target!(|input: Input| {
    let dir = store_dir();
    let Some(config) = config(&input.settings, &dir) else {
        return;
    };
    let _ = std::fs::remove_file(&config.store.path);
    let wakes = &input.settings.wakes;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut app = App::start(config.clone());
        let mut silence_ids: Vec<String> = Vec::new();
        for step in input.steps.iter().take(MAX_STEPS) {
            let now = OffsetDateTime::now_utc();
            match step {
                Step::Alerts(alerts) => {
                    let body = api_v2_body(alerts, now);
                    if let Ok(alerts) = api_v2::decode(&body, now, config.ingest.resolve_timeout) {
                        let _ = app.ingestor.admit("api_v2", alerts).await;
                    }
                }
                Step::Webhook(alerts) => {
                    let body = webhook_body(alerts, now);
                    if let Ok(alerts) =
                        webhook_v4::decode(&body, now, config.ingest.webhook_resolve_timeout)
                    {
                        let _ = app.ingestor.admit("webhook_v4", alerts).await;
                    }
                }
                Step::Silence(spec) => {
                    let body = spec.body(now, &silence_ids);
                    if let Some(new) = campanile::fuzzing::decode_silence(&body) {
                        if let Ok(id) = app.silences.set(new, now).await {
                            silence_ids.push(id);
                        }
                    }
                }
                Step::Expire(i) => {
                    if !silence_ids.is_empty() {
                        let id = &silence_ids[usize::from(*i) % silence_ids.len()];
                        let _ = app.silences.expire(id, now).await;
                    }
                }
                Step::Wait(wait) => {
                    // Each group is looked at every group_interval, even with nothing to say:
                    // years of one-second intervals would be a hang of the target's making.
                    let longest = config.route.group_interval.saturating_mul(256);
                    let sleep = tokio::time::sleep(wait.duration().min(longest));
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            biased;
                            Some(Dispatched::Flush(flush)) = app.flushes.recv() => app.handle(flush, wakes),
                            _ = &mut sleep => break,
                        }
                    }
                }
                Step::Housekeeping(ahead) => {
                    // Past the end of time there is no housekeeping to run.
                    if let Some(at) = now.checked_add(ahead.duration()) {
                        app.housekeeping(at);
                    }
                }
                Step::Restart => {
                    let (alerts, silences) = app.durable_state();
                    app.stop().await;
                    app = App::start(config.clone());
                    for (fp, before) in &alerts {
                        let after = app
                            .cache
                            .get(&Fingerprint(*fp))
                            .unwrap_or_else(|| panic!("alert {fp:016x} was lost in a restart"));
                        assert_eq!(
                            &StoredAlert::from(after.as_ref()),
                            before,
                            "alert {fp:016x} came back changed"
                        );
                    }
                    for (id, before) in &silences {
                        let after = app
                            .silences
                            .get(id)
                            .unwrap_or_else(|| panic!("silence {id} was lost in a restart"));
                        assert_eq!(&after, before, "silence {id} came back changed");
                    }
                }
            }
            app.settle(wakes).await;
        }
        app.stop().await;
    });
});
