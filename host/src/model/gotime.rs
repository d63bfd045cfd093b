//! Times as Alertmanager writes them in JSON. Two formats, because Alertmanager has two
//! writers: Go's `time.Time` (its webhook payload and campanile's own APIs) and go-openapi's
//! `strfmt.DateTime` (its API v2, which amtool and dashboards read).

use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// RFC 3339 with as many fractional digits as needed (none for whole seconds), as Go's
/// `time.Time` marshals: `2026-11-28T03:55:13.855621193Z`, `0001-01-01T00:00:00Z`.
pub fn go_time<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// Exactly three fractional digits, truncated, as go-openapi's `strfmt.DateTime` marshals in
/// Alertmanager's API v2: `2026-11-28T03:55:13.855Z`, `2026-12-02T00:00:00.000Z`.
pub fn api_time<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&api_time_text(t).map_err(serde::ser::Error::custom)?)
}

fn api_time_text(t: &OffsetDateTime) -> Result<String, time::error::Format> {
    const MILLIS: &[BorrowedFormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
    const OFFSET: &[BorrowedFormatItem<'_>] =
        format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    let mut text = t.format(MILLIS)?;
    if t.offset().is_utc() {
        text.push('Z');
    } else {
        text.push_str(&t.format(OFFSET)?);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ZERO_TIME;
    use time::macros::datetime;

    fn json(
        f: fn(
            &OffsetDateTime,
            &mut serde_json::Serializer<&mut Vec<u8>>,
        ) -> Result<(), serde_json::Error>,
        t: OffsetDateTime,
    ) -> String {
        let mut out = Vec::new();
        f(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn webhook_times_format_like_go() {
        let go = |t| json(|t, s| go_time(t, s), t);
        assert_eq!(
            go(datetime!(2026-11-28 03:55:13.855621193 UTC)),
            "\"2026-11-28T03:55:13.855621193Z\""
        );
        assert_eq!(
            go(datetime!(2026-11-28 03:55:13.5 UTC)),
            "\"2026-11-28T03:55:13.5Z\""
        );
        assert_eq!(go(ZERO_TIME), "\"0001-01-01T00:00:00Z\"");
    }

    #[test]
    fn api_times_format_like_go_openapi() {
        // As Alertmanager 0.25's GET /api/v2/alerts and /silences write them.
        let api = |t| json(|t, s| api_time(t, s), t);
        assert_eq!(
            api(datetime!(2026-12-01 23:37:53.290999 UTC)),
            "\"2026-12-01T23:37:53.290Z\""
        );
        assert_eq!(
            api(datetime!(2026-12-02 00:00:00 UTC)),
            "\"2026-12-02T00:00:00.000Z\""
        );
        assert_eq!(
            api(datetime!(2026-12-02 00:00:00.5 +02:00)),
            "\"2026-12-02T00:00:00.500+02:00\""
        );
        assert_eq!(api(ZERO_TIME), "\"0001-01-01T00:00:00.000Z\"");
    }
}
