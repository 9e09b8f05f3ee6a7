//! Answering prompts of a command run on a PTY: caller rules (literal text or `re:` regex → answer, at
//! most N times), optional automatic answers to yes/no confirmations, one answer per prompt line, ANSI
//! stripping, and redaction of secret answers.

use regex::Regex;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Prefix of a response key that is a regular expression rather than literal text.
pub const REGEX_PREFIX: &str = "re:";
/// Default number of times one rule may answer.
pub const DEFAULT_MAX_ANSWERS: u32 = 10;
/// Text kept for matching (the tail of what the command printed since the last answer).
const WINDOW: usize = 8 * 1024;

/// A caller's rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What to look for.
    pub pattern: Regex,
    /// What to type (a newline is added).
    pub answer: Secret,
    /// At most this many answers.
    pub max: u32,
}

impl Rule {
    /// A rule from a prompt key and an answer. A key is literal text found in the output, matched
    /// without regard to case (as the Node orchestrator matches it); a key starting with `re:` is a
    /// regular expression (the rest of it).
    pub fn new(pattern: &str, answer: Secret, max: Option<u32>) -> Result<Rule> {
        let re = match pattern.strip_prefix(REGEX_PREFIX) {
            Some(re) => Regex::new(re).map_err(|e| {
                Error::InvalidArgument(format!("response pattern {pattern:?} is not a valid regex: {e}"))
            })?,
            None if pattern.is_empty() => {
                return Err(Error::InvalidArgument("a response key must not be empty".into()));
            }
            None => Regex::new(&format!("(?i){}", regex::escape(pattern))).expect("escaped text is a valid regex"),
        };
        Ok(Rule { pattern: re, answer, max: max.unwrap_or(DEFAULT_MAX_ANSWERS) })
    }
}

/// The prompt-answering state of one command.
#[derive(Debug)]
pub struct Interaction {
    rules: Vec<Rule>,
    counts: Vec<u32>,
    auto: Vec<(Regex, &'static str)>,
    password_prompt: Regex,
    pending: String,
    /// After an answer, the rest of the prompt's line (up to the next newline) answers nothing more.
    line_answered: bool,
    ansi: AnsiStripper,
    redactor: Redactor,
    /// Prompts answered, for the transcript summary.
    pub answered: u32,
}

/// What to do after new output.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Type this (already ends with a newline).
    Send(String),
    /// A password prompt nobody can answer: stop the command.
    Unanswerable(String),
}

impl Interaction {
    /// Caller rules first, then (with `auto_respond`) the yes/no confirmations.
    pub fn new(rules: Vec<Rule>, auto_respond: bool) -> Interaction {
        let auto = if auto_respond {
            [
                (r"(?i)\(yes/no(/\[fingerprint\])?\)\??\s*$", "yes"),
                (r"\[[Yy]/[Nn]\]\s*[:?]?\s*$", "y"),
                (r"(?i)\(y/n\)\s*[:?]?\s*$", "y"),
            ]
            .iter()
            .map(|(p, a)| (Regex::new(p).expect("built-in pattern"), *a))
            .collect()
        } else {
            Vec::new()
        };
        let counts = vec![0; rules.len()];
        Interaction {
            rules,
            counts,
            auto,
            password_prompt: Regex::new(r"(?i)(password|passphrase|passcode)[^:\n]{0,80}:\s*$")
                .expect("built-in pattern"),
            pending: String::new(),
            line_answered: false,
            ansi: AnsiStripper::default(),
            redactor: Redactor::default(),
            answered: 0,
        }
        .with_secrets()
    }

    fn with_secrets(mut self) -> Self {
        self.redactor.secrets = self.rules.iter().map(|r| r.answer.expose().to_string()).collect();
        self.redactor.secrets.retain(|s| s.chars().count() >= REDACT_ANYWHERE_MIN);
        self.redactor.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self
    }

    /// Text held back because it might be the start of an answer; call once the command has ended.
    pub fn finish(&mut self) -> String {
        self.redactor.finish()
    }

    /// Strips terminal escapes from a chunk of PTY output, redacts answers, and returns the clean text
    /// plus what to type in response. Text that might be the start of an answer is held back until the
    /// next chunk tells (see [`Interaction::finish`]).
    pub fn feed(&mut self, raw: &[u8]) -> (String, Vec<Action>) {
        let stripped = self.ansi.strip(raw).replace('\r', "");
        let text = self.redactor.push(&stripped);
        let mut fresh = stripped.as_str();
        if self.line_answered {
            // What follows an answered prompt on its line (`? [Y/n] ` after "Do you want to continue",
            // or the echo of the answer) is not a new prompt.
            match fresh.find('\n') {
                Some(i) => {
                    self.line_answered = false;
                    fresh = &fresh[i + 1..];
                }
                None => fresh = "",
            }
        }
        self.pending.push_str(fresh);
        if self.pending.len() > WINDOW {
            let cut = self.pending.len() - WINDOW;
            let cut = (cut..self.pending.len()).find(|&i| self.pending.is_char_boundary(i)).unwrap_or(0);
            self.pending.drain(..cut);
        }
        let mut actions = Vec::new();
        'scan: loop {
            for (i, rule) in self.rules.iter().enumerate() {
                if self.counts[i] >= rule.max {
                    continue;
                }
                if let Some(m) = rule.pattern.find(&self.pending) {
                    self.counts[i] += 1;
                    self.answered += 1;
                    actions.push(Action::Send(format!("{}\n", rule.answer.expose())));
                    self.redactor.echo = Some(format!("{}\n", rule.answer.expose()));
                    self.consume_line(m.end());
                    continue 'scan;
                }
            }
            for (re, answer) in &self.auto {
                if let Some(m) = re.find(&self.pending) {
                    self.answered += 1;
                    actions.push(Action::Send(format!("{answer}\n")));
                    self.consume_line(m.end());
                    continue 'scan;
                }
            }
            break;
        }
        if let Some(m) = self.password_prompt.find(&self.pending) {
            actions.push(Action::Unanswerable(m.as_str().trim().to_string()));
            self.pending.clear();
        }
        (text, actions)
    }

    /// An answer was sent for a match ending at `end`: the prompt's whole line is consumed, and if
    /// the line has not ended yet, the rest of it is skipped as it arrives.
    fn consume_line(&mut self, end: usize) {
        match self.pending[end..].find('\n') {
            Some(i) => {
                self.pending.drain(..end + i + 1);
            }
            None => {
                self.pending.clear();
                self.line_answered = true;
            }
        }
    }
}

/// Answers of at least this many characters are replaced wherever they appear in the output; shorter
/// ones only where the terminal echoes them (replacing every `y` would garble the output).
pub const REDACT_ANYWHERE_MIN: usize = 4;
/// What an answer becomes in the output.
const MASK: &str = "***";

/// Streaming redaction of answers: the terminal's echo of the answer just typed, and every occurrence
/// of a long enough answer, even when it straddles two chunks (a possible start is held back).
#[derive(Debug, Default)]
struct Redactor {
    /// Answers masked anywhere, longest first.
    secrets: Vec<String>,
    /// The answer just typed (with its newline), expected back as the terminal's echo.
    echo: Option<String>,
    /// Text not released yet.
    hold: String,
}

impl Redactor {
    /// Adds text; returns what can be released.
    fn push(&mut self, text: &str) -> String {
        self.hold.push_str(text);
        let mut out = String::new();
        if let Some(echo) = self.echo.clone() {
            if self.hold.starts_with(&echo) {
                self.hold.replace_range(..echo.len(), "");
                out.push_str(MASK);
                out.push('\n');
                self.echo = None;
            } else if echo.starts_with(&self.hold) {
                return out; // the echo may still be arriving
            } else {
                self.echo = None;
            }
        }
        for secret in &self.secrets {
            if self.hold.contains(secret.as_str()) {
                self.hold = self.hold.replace(secret.as_str(), MASK);
            }
        }
        // Keep back the longest end of the text that could begin an answer.
        let keep = self
            .secrets
            .iter()
            .map(|s| {
                (1..s.len().min(self.hold.len() + 1))
                    .rev()
                    .find(|&n| s.is_char_boundary(n) && self.hold.ends_with(&s[..n]))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0);
        let cut = self.hold.len() - keep;
        out.push_str(&self.hold[..cut]);
        self.hold.replace_range(..cut, "");
        out
    }

    fn finish(&mut self) -> String {
        self.echo = None;
        std::mem::take(&mut self.hold)
    }
}

/// Removes ANSI escape sequences (CSI, OSC, two-byte escapes), keeping state across chunks.
#[derive(Debug, Default)]
pub struct AnsiStripper {
    state: AnsiState,
    carry: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AnsiState {
    #[default]
    Text,
    Escape,
    Csi,
    Osc,
    OscEscape,
}

impl AnsiStripper {
    /// The text of `raw` without escape sequences (invalid UTF-8 replaced).
    pub fn strip(&mut self, raw: &[u8]) -> String {
        let mut bytes = std::mem::take(&mut self.carry);
        for &b in raw {
            self.state = match (self.state, b) {
                (AnsiState::Text, 0x1b) => AnsiState::Escape,
                (AnsiState::Text, _) => {
                    bytes.push(b);
                    AnsiState::Text
                }
                (AnsiState::Escape, b'[') => AnsiState::Csi,
                (AnsiState::Escape, b']') => AnsiState::Osc,
                (AnsiState::Escape, _) => AnsiState::Text,
                (AnsiState::Csi, 0x40..=0x7e) => AnsiState::Text,
                (AnsiState::Csi, _) => AnsiState::Csi,
                (AnsiState::Osc, 0x07) => AnsiState::Text,
                (AnsiState::Osc, 0x1b) => AnsiState::OscEscape,
                (AnsiState::Osc, _) => AnsiState::Osc,
                (AnsiState::OscEscape, _) => AnsiState::Text,
            };
        }
        // Keep an incomplete UTF-8 sequence at the end for the next chunk.
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => bytes.len(),
        };
        self.carry = bytes.split_off(valid);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, a: &str, max: Option<u32>) -> Rule {
        Rule::new(p, Secret::new(a), max).unwrap()
    }

    #[test]
    fn ansi_is_stripped_across_chunks() {
        let mut s = AnsiStripper::default();
        assert_eq!(s.strip(b"\x1b[1;31mred\x1b"), "red");
        assert_eq!(s.strip(b"[0m plain \x1b]0;title\x07done"), " plain done");
        assert_eq!(s.strip(&[0xc3]), "");
        assert_eq!(s.strip(&[0xa9]), "\u{e9}");
    }

    #[test]
    fn every_matching_prompt_is_answered_up_to_max() {
        let mut i = Interaction::new(vec![rule("Continue?", "y", Some(2))], false);
        let (_, a) = i.feed(b"Continue? ");
        assert_eq!(a, [Action::Send("y\n".into())]);
        let (_, a) = i.feed(b"y\r\nContinue? ");
        assert_eq!(a, [Action::Send("y\n".into())], "the second prompt too");
        let (_, a) = i.feed(b"y\r\nContinue? ");
        assert!(a.is_empty(), "max reached");
        let mut two = Interaction::new(vec![rule("A:", "1", None), rule("B:", "2", None)], false);
        let (_, a) = two.feed(b"A: ");
        assert_eq!(a, [Action::Send("1\n".into())]);
        let (_, a) = two.feed(b"1\r\nB: ");
        assert_eq!(a, [Action::Send("2\n".into())]);
    }

    #[test]
    fn keys_are_literal_text_unless_marked_as_regex() {
        // Node's keys: literal, case-insensitive; brackets and question marks mean themselves.
        let mut i = Interaction::new(vec![rule("Overwrite config? [y/N]", "y", None)], false);
        assert_eq!(i.feed(b"overwrite CONFIG? [y/N] ").1, [Action::Send("y\n".into())]);
        let mut i = Interaction::new(vec![rule("re:^Port \\d+:", "22", None)], false);
        assert_eq!(i.feed(b"Port 1:").1, [Action::Send("22\n".into())]);
        assert!(Rule::new("re:(unclosed", Secret::new("x"), None).is_err());
        assert!(Rule::new("(unclosed", Secret::new("x"), None).is_ok(), "literal text");
    }

    #[test]
    fn a_prompt_answered_by_a_rule_is_not_answered_again_by_auto_respond() {
        // Seed 001's example: apt's "Do you want to continue? [Y/n]" answered by the rule only, so the
        // next prompt gets its own answer (before, auto-respond answered it a second time).
        let rules = vec![rule("Do you want to continue", "Y", None), rule("Restart services", "yes", None)];
        let mut i = Interaction::new(rules, true);
        assert_eq!(
            i.feed(b"After this operation, 1 kB will be used.\r\nDo you want to continue").1,
            [Action::Send("Y\n".into())]
        );
        assert!(i.feed(b"? [Y/n] ").1.is_empty(), "the rest of the answered line is not a new prompt");
        assert!(i.feed(b"Y\r\nUnpacking...\r\n").1.is_empty());
        assert_eq!(
            i.feed(b"Restart services during package upgrades without asking? [yes/no] ").1,
            [Action::Send("yes\n".into())]
        );
        assert!(i.feed(b"yes\r\n").1.is_empty());
        assert_eq!(i.answered, 2);
    }

    #[test]
    fn auto_respond_only_confirms() {
        let mut i = Interaction::new(vec![], true);
        assert_eq!(i.feed(b"Do you want to continue? [Y/n] ").1, [Action::Send("y\n".into())]);
        assert_eq!(i.feed(b"y\r\nAre you sure (yes/no/[fingerprint])? ").1, [Action::Send("yes\n".into())]);
        assert!(i.feed(b"yes\r\nEnter your name: ").1.is_empty());
        assert_eq!(i.feed(b"[sudo] password for bob: ").1, [Action::Unanswerable("password for bob:".into())]);
        let mut off = Interaction::new(vec![], false);
        assert!(off.feed(b"Proceed [y/N] ").1.is_empty());
    }

    #[test]
    fn every_answer_is_masked_whatever_the_prompt_and_across_chunks() {
        // "Verification code:" says nothing of secrets; the answer is masked all the same.
        let code = "918273645";
        let mut i = Interaction::new(vec![rule("Verification code:", code, None)], false);
        let mut out = String::new();
        let (t, a) = i.feed(b"Verification code: ");
        out += &t;
        assert_eq!(a, [Action::Send(format!("{code}\n"))]);
        // The echo arrives in pieces, then the program prints the code back, split across chunks.
        for chunk in [&b"9182"[..], b"73645\r\n", b"you said 91827", b"3645 ok\r\n"] {
            out += &i.feed(chunk).0;
        }
        out += &i.finish();
        assert!(!out.contains(code) && !out.contains("91827"), "{out:?}");
        assert_eq!(out, "Verification code: ***\nyou said *** ok\n");
        // A one-character answer: its echo is masked; the rest of the output is left alone.
        let mut i = Interaction::new(vec![rule("Pick one:", "y", None)], false);
        let mut out = i.feed(b"Pick one: ").0;
        out += &i.feed(b"y\r\nyes, you picked\r\n").0;
        out += &i.finish();
        assert_eq!(out, "Pick one: ***\nyes, you picked\n");
        // Long answers, 1,000 characters in chunks of 7: never in the output.
        let long: String = (0..1000).map(|n| char::from(b'a' + (n % 26) as u8)).collect();
        let mut i = Interaction::new(vec![rule("Token:", &long, None)], false);
        let mut out = i.feed(b"Token: ").0;
        let echoed = format!("{long}\r\nagain {long} done\r\n");
        for c in echoed.as_bytes().chunks(7) {
            out += &i.feed(c).0;
        }
        out += &i.finish();
        assert!(!out.contains(&long[..50]), "{}", &out[..200.min(out.len())]);
        assert_eq!(out, "Token: ***\nagain *** done\n");
    }

    #[test]
    fn supplied_password_answers_and_is_redacted() {
        let mut i = Interaction::new(vec![rule("password:", "hunter22", None)], false);
        assert_eq!(i.feed(b"Password: ").1, [Action::Send("hunter22\n".into())]);
        let (text, _) = i.feed(b"\r\nyou typed hunter22\r\n");
        assert_eq!(text, "\nyou typed ***\n");
    }
}
