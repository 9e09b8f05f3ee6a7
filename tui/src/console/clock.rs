//! Times as the console shows them: in the local time zone (the system's, DST included), named in
//! the header. Set once per process; the tests use UTC so their snapshots do not depend on the machine.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;

static ZONE: OnceLock<TimeZone> = OnceLock::new();

fn zone() -> &'static TimeZone {
    ZONE.get_or_init(TimeZone::system)
}

/// Shows every time in UTC (tests), if nothing chose a zone yet.
#[cfg(test)]
pub fn use_utc() {
    let _ = ZONE.set(TimeZone::UTC);
}

fn zoned(ms: u64) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(i64::try_from(ms).ok()?).ok().map(|t| t.to_zoned(zone().clone()))
}

/// `HH:MM:SS`, local.
pub fn time(ms: u64) -> String {
    zoned(ms).map_or_else(|| "--:--:--".into(), |z| z.strftime("%H:%M:%S").to_string())
}

/// `YYYY-MM-DD HH:MM:SS ZONE`, local.
pub fn date_time(ms: u64) -> String {
    zoned(ms).map_or_else(|| "-".into(), |z| z.strftime("%Y-%m-%d %H:%M:%S %Z").to_string())
}

/// The zone's name now (`CET`, `UTC`…), for the header.
pub fn zone_name() -> String {
    zoned(sshdeck_core::jobs::now_ms()).map_or_else(|| "UTC".into(), |z| z.strftime("%Z").to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_times() {
        super::use_utc();
        assert_eq!(super::time(1_700_000_000_000), "22:13:20");
        assert_eq!(super::date_time(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
    }
}
