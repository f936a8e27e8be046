//! Timestamps in the two spellings Label Studio uses on the wire.

use chrono::{DateTime, Utc};

/// ISO-8601 with microseconds and `Z`, as top-level API fields (`2026-11-25T16:47:18.739110Z`).
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Python's `str(datetime)` of an aware UTC time, as inside storage `meta`
/// (`2026-11-25 16:47:18.871339+00:00`).
pub fn python_str(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
}

/// The current time in the API spelling.
pub fn now_iso() -> String {
    iso(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spellings_match_label_studio() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 16, 47, 18).unwrap()
            + chrono::Duration::microseconds(739_110);
        assert_eq!(iso(t), "2026-11-25T16:47:18.739110Z");
        assert_eq!(python_str(t), "2026-11-25 16:47:18.739110+00:00");
    }
}
