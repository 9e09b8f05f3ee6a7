//! OpenSSH-style host patterns (`*`, `?`, `!negation`), shared by `known_hosts` and `ssh_config`.

/// Matches `text` against a glob with `*` (any run) and `?` (one character), case-insensitively
/// as OpenSSH does for host names.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `text` against a list of patterns: `Some(true)` if a positive pattern matches and no negated
/// one does, `Some(false)` if a negated pattern matches (the entry must then be ignored), `None` if
/// nothing matches.
pub fn match_list<'a>(patterns: impl IntoIterator<Item = &'a str>, text: &str) -> Option<bool> {
    let mut positive = false;
    for pat in patterns {
        if let Some(neg) = pat.strip_prefix('!') {
            if wildcard_match(neg, text) {
                return Some(false);
            }
        } else if wildcard_match(pat, text) {
            positive = true;
        }
    }
    positive.then_some(true)
}

/// True if `pattern` contains no wildcard or negation, so it names one host.
pub fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?', '!'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.example.com", "web1.example.com"));
        assert!(!wildcard_match("*.example.com", "example.com"));
        assert!(wildcard_match("web?", "WEB1"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("[10.0.0.1]:22?2", "[10.0.0.1]:2222"));
    }

    #[test]
    fn lists_with_negation() {
        assert_eq!(match_list(["*.corp", "!db.corp"], "web.corp"), Some(true));
        assert_eq!(match_list(["*.corp", "!db.corp"], "db.corp"), Some(false));
        assert_eq!(match_list(["*.corp"], "web.org"), None);
        assert!(is_literal("web1") && !is_literal("web*"));
    }
}
