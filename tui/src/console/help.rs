//! The `?` help: the current view's keys first, then the keys that work everywhere. Every key the
//! console handles is listed here (a test checks the README's table against it).

use super::model::View;

/// The current view's keys (key, what it does).
pub fn view_keys(view: View) -> &'static [(&'static str, &'static str)] {
    match view {
        View::Jobs => &[
            ("j/k ↑/↓", "move · g/G top/bottom"),
            ("Enter", "open the job"),
            ("/", "filter (Esc clears it)"),
            ("S A D T", "sort by status, alias, duration, time (again: reverse)"),
            ("c", "cancel the job (asks first)"),
            ("r", "retry the job (asks first)"),
            ("x", "run a command (on the job's server)"),
        ],
        View::Detail => &[
            ("j/k Enter", "a fan-out: choose a host, open its job (Esc comes back)"),
            ("↑/↓ PgUp/PgDn", "scroll · g top · G/End follow"),
            ("/ n N", "search · next · previous match"),
            ("w t", "wrap long lines · show arrival times"),
            ("c / r", "cancel (a running fan-out: asks whether one host or all) / retry the job (asks first)"),
            ("Esc", "back to the jobs"),
        ],
        View::Servers => &[
            ("j/k", "move"),
            ("a / e / d", "add / edit / remove a server"),
            ("t", "test the connection"),
            ("l", "tail a log of the server"),
            ("x", "run a command on it"),
        ],
        View::Pools => &[("", "live pool counters of every sshdeck process (the runner's pool too)")],
        View::Logs => &[
            ("[ ]", "previous / next tail"),
            ("↑ G", "pause / follow"),
            ("/ n N", "search · next · previous match"),
            ("w t", "wrap long lines · show arrival times"),
            ("s", "stop this tail"),
        ],
        View::Apis => &[("j/k", "move"), ("c", "check the API now (from here)")],
        View::Tunnels => &[("j/k", "move"), ("d", "close the tunnel (asks first)")],
        View::Audit => &[("j/k", "move"), ("Enter", "open the job the action ran")],
    }
}

/// Keys that work in every view.
pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("1-7 / Tab", "switch view (Jobs, Servers, Pools, Logs, APIs, Tunnels, Audit)"),
    (":", ":jobs :servers :pools :apis :tunnels :audit :logs ALIAS PATH :q"),
    ("?", "this help"),
    ("mouse", "click selects a row (again: opens it) · wheel scrolls"),
    ("q / Ctrl-C", "quit (jobs go on in the runner)"),
];

/// The help's lines for `view`.
pub fn lines(view: View) -> Vec<String> {
    let name = View::TABS.iter().find(|(v, _)| *v == view).map_or("Job detail", |(_, n)| &n[2..]);
    let mut out = vec![format!("{name}:")];
    out.extend(view_keys(view).iter().map(|(k, what)| format!("  {k:<13} {what}")));
    out.push(String::new());
    out.push("Everywhere:".into());
    out.extend(GLOBAL_KEYS.iter().map(|(k, what)| format!("  {k:<13} {what}")));
    out
}

/// The README's keys table, as it must read (between `<!-- keys -->` and `<!-- /keys -->`).
#[cfg(test)]
fn readme_table() -> String {
    let mut out = String::from("| where | key | what it does |\n|---|---|---|\n");
    let views =
        [View::Jobs, View::Detail, View::Servers, View::Pools, View::Logs, View::Apis, View::Tunnels, View::Audit];
    let name = |v: View| View::TABS.iter().find(|(t, _)| *t == v).map_or("Job detail", |(_, n)| &n[2..]);
    for v in views {
        for (k, what) in view_keys(v).iter().filter(|(k, _)| !k.is_empty()) {
            out.push_str(&format!("| {} | `{k}` | {what} |\n", name(v)));
        }
    }
    for (k, what) in GLOBAL_KEYS {
        out.push_str(&format!("| everywhere | `{k}` | {what} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_keys_table_is_the_help() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("<!-- keys -->\n").expect("README has a keys table") + "<!-- keys -->\n".len();
        let end = readme.find("<!-- /keys -->").expect("the keys table ends");
        assert_eq!(&readme[start..end], super::readme_table(), "README's keys table differs from `?`");
    }
}
