//! The one place values are quoted into remote shell commands.

/// Quotes `s` as one POSIX shell word: wrapped in single quotes, with each `'` written as `'\''`.
/// Safe for any byte string, including newlines, `$()`, backticks and leading dashes (pass `--` to
/// the command as well where it takes options).
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_through_sh() {
        for value in ["plain", "", "it's", "'; touch /tmp/x; '", "$(touch /tmp/x)", "`id`", "a\nb", "--help", "\\'\""] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(value)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
        }
    }
}
