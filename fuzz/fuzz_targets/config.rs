//! The configuration: a whole TOML file through `Config::parse` (durations, sizes, matchers,
//! time intervals, URLs and the rest, as operators write them). What compiles is then used as
//! the runtime uses it: routes built, time intervals evaluated, a group created, filled and
//! flushed, alerts decoded and cached with the configured timeouts, and an acknowledgement
//! link signed and checked.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use campanile::ack::link::AckLinks;
use campanile::config::Config;
use campanile::dedup::AlertCache;
use campanile::group::AggrGroup;
use campanile::ingest::{api_v2, webhook_v4};
use campanile::inhibit::Inhibitor;
use campanile::model::time_interval::route_muted;
use campanile::route::RouteTable;
use campanile_fuzz::NOW;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Keys ending in `_file` read the file they name: not this target's business.
    if text.contains("_file") {
        return;
    }
    let Ok(config) = Config::parse(text, "fuzz.toml", Path::new("/nonexistent")) else {
        return;
    };
    use_config(&config);
});

fn use_config(config: &Config) {
    let routes = RouteTable::new(&config.route);
    let _ = Inhibitor::new(&config.inhibit_rules);
    let body = br#"[{"labels":{"alertname":"A","team":"db","severity":"warning"}}]"#;
    let alerts = api_v2::decode(body, NOW, config.ingest.resolve_timeout).expect("a valid body");
    let webhook = br#"{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}"#;
    let _ = webhook_v4::decode(webhook, NOW, config.ingest.webhook_resolve_timeout);
    let cache = AlertCache::new(config.limits.max_alerts, config.ingest.retention);
    let now = tokio::time::Instant::now();
    for alert in alerts.into_iter().flatten() {
        let Ok((alert, _)) = cache.upsert(alert) else {
            continue;
        };
        for id in routes.matching(&alert.labels) {
            let route = routes.get(id);
            // Every three hours over a week, and around the ends of time.
            let week = (0..56).map(|i| NOW + time::Duration::hours(3 * i));
            let ends = [time::PrimitiveDateTime::MIN, time::PrimitiveDateTime::MAX]
                .map(|t| t.assume_utc());
            for at in week.chain(ends) {
                let _ = route_muted(
                    &route.config.mute_time_intervals,
                    &route.config.active_time_intervals,
                    at,
                );
            }
            let labels = route.group_labels(&alert.labels);
            let key: Arc<str> = route.group_key(&labels).into();
            let mut group = AggrGroup::new(key, route.clone(), labels, now);
            group.insert(alert.clone(), now, NOW);
            let _ = group.flush(now, NOW);
            // Again a minute later (the alert still fires), with the first flush to compare with.
            let _ = group.flush(now, NOW + time::Duration::MINUTE);
        }
    }
    if let Some(links) = AckLinks::new(&config.acks, &config.server.external_url) {
        let link = links.link("{}:{}", NOW);
        let token = link.rsplit('/').next().unwrap_or_default();
        let _ = links.verify(token, NOW);
    }
    let _ = config.store.plugin_cache_dir();
}
