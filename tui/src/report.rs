//! How the CLI reports errors: `error[CODE]: message` on stderr, or a JSON object on stdout.

use std::io::Write;

use serde_json::json;
use sshdeck_core::Error;

/// Exit status for sshdeck's own failures (as `ssh` uses 255).
pub const EXIT_ERROR: i32 = 255;
/// Exit status for a command killed by its timeout (as `timeout(1)` uses 124).
pub const EXIT_TIMEOUT: i32 = 124;
/// Exit status after Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The exit status for a core error.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::CommandTimeout { .. } => EXIT_TIMEOUT,
        Error::Cancelled { .. } => EXIT_INTERRUPTED,
        _ => EXIT_ERROR,
    }
}

/// Prints `e` for a person (stderr) or a script (`json` on stdout).
pub fn print_error(e: &anyhow::Error, json: bool) {
    let code = e.downcast_ref::<Error>().map_or("INTERNAL", Error::code);
    // The code already says it: `error[INVALID_ARGUMENT]: alias …`, not `… invalid argument: alias …`.
    let text = format!("{e:#}");
    let text = text.strip_prefix("invalid argument: ").unwrap_or(&text);
    if json {
        let v = json!({"ok": false, "error": {"code": code, "message": text}});
        let _ = writeln!(std::io::stdout(), "{v}");
    } else {
        let _ = writeln!(std::io::stderr(), "error[{code}]: {text}");
    }
}

/// Parses `30`, `1.5s`, `500ms`, `2m` into a duration.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, Error> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v * scale < 1e9 => Ok(std::time::Duration::from_secs_f64(v * scale)),
        _ => Err(Error::InvalidArgument(format!("timeout {s:?}: expected a positive number of seconds, or 500ms, 2m"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0").unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(parse_duration("soon").is_err());
    }
}
