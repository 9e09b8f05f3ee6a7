//! The sites in `nginx -T` output: each `server` block's names, listens and the `proxy_pass` of its
//! locations, with `upstream` blocks resolved to their servers. A small tokenizer (words, quoted
//! strings, `{`, `}`, `;`, `#` comments), no evaluation of variables or includes (`-T` inlines them).

use std::collections::HashMap;

use serde::Serialize;

/// One `proxy_pass` of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// The location (`/` when `proxy_pass` is in the server block itself).
    pub location: String,
    /// The `proxy_pass` URL as written.
    pub proxy_pass: String,
    /// `host:port` it reaches: the URL's, or its upstream's servers.
    pub targets: Vec<String>,
}

/// One `server` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub server_names: Vec<String>,
    pub listen: Vec<String>,
    pub routes: Vec<Route>,
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                flush(&mut cur, &mut out);
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            '{' | '}' | ';' => {
                flush(&mut cur, &mut out);
                out.push(c.to_string());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// `host:port` of a `proxy_pass` URL (`http://127.0.0.1:3000/x` → `127.0.0.1:3000`; no port: 80
/// or 443 by scheme); `None` for a name that is an upstream or a variable.
fn url_target(url: &str) -> (String, Option<String>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let hostport = rest.split('/').next().unwrap_or(rest);
    let has_port = hostport.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let with_port = if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:{}", if scheme == "https" { 443 } else { 80 })
    };
    (hostport.to_string(), (!hostport.contains('$')).then_some(with_port))
}

/// Parses `nginx -T` output into its sites (at most `max`).
pub fn parse(text: &str, max: usize) -> Vec<Site> {
    let toks = tokens(text);
    // Pass 1: statements with their block path.
    let mut stack: Vec<Vec<String>> = Vec::new();
    let mut stmt: Vec<String> = Vec::new();
    let mut statements: Vec<(Vec<Vec<String>>, Vec<String>, usize)> = Vec::new();
    let mut server_seq = 0usize;
    let mut server_ids: Vec<usize> = Vec::new();
    for t in toks {
        match t.as_str() {
            "{" => {
                if stmt.first().map(String::as_str) == Some("server") && stmt.len() == 1 {
                    server_seq += 1;
                    server_ids.push(server_seq);
                } else {
                    server_ids.push(*server_ids.last().unwrap_or(&0));
                }
                stack.push(std::mem::take(&mut stmt));
            }
            "}" => {
                stack.pop();
                server_ids.pop();
                stmt.clear();
            }
            ";" => {
                let id = *server_ids.last().unwrap_or(&0);
                statements.push((stack.clone(), std::mem::take(&mut stmt), id));
            }
            _ => stmt.push(t),
        }
    }
    // Upstreams: name → servers.
    let mut upstreams: HashMap<String, Vec<String>> = HashMap::new();
    for (path, s, _) in &statements {
        if let (Some(block), Some("server"), Some(addr)) = (path.last(), s.first().map(String::as_str), s.get(1))
            && block.first().map(String::as_str) == Some("upstream")
            && let Some(name) = block.get(1)
        {
            upstreams.entry(name.clone()).or_default().push(addr.clone());
        }
    }
    // Sites: statements inside a `server` block that is not a `stream` or `mail` one. `-T` prints each
    // included file on its own, so the servers of `sites-enabled/*` stand at the top level of theirs;
    // a `proxy_pass` right in the server block is a stream server's (http allows it only in locations).
    let block_kind =
        |path: &[Vec<String>], kind: &str| path.iter().any(|b| b.first().map(String::as_str) == Some(kind));
    let streams: Vec<usize> = statements
        .iter()
        .filter(|(path, s, id)| {
            *id != 0
                && (block_kind(path, "stream") || block_kind(path, "mail") || {
                    s.first().map(String::as_str) == Some("proxy_pass") && !block_kind(path, "location")
                })
        })
        .map(|(_, _, id)| *id)
        .collect();
    let mut sites: Vec<(usize, Site)> = Vec::new();
    for (path, s, id) in statements {
        let in_server = path.iter().any(|b| b.len() == 1 && b[0] == "server");
        if !in_server || id == 0 || streams.contains(&id) {
            continue;
        }
        let pos = match sites.iter().position(|(i, _)| *i == id) {
            Some(p) => p,
            None if sites.len() < max => {
                sites.push((id, Site::default()));
                sites.len() - 1
            }
            None => continue,
        };
        let site = &mut sites[pos].1;
        match s.first().map(String::as_str) {
            Some("server_name") => site.server_names.extend(s[1..].iter().filter(|n| *n != "_").cloned()),
            Some("listen") => site.listen.extend(s.get(1).cloned()),
            Some("proxy_pass") if s.len() > 1 => {
                let location = path
                    .iter()
                    .rev()
                    .find(|b| b.first().map(String::as_str) == Some("location"))
                    .map_or_else(|| "/".to_string(), |b| b[1..].join(" "));
                let (host, target) = url_target(&s[1]);
                let targets = match upstreams.get(&host) {
                    Some(servers) => servers.clone(),
                    None => target.into_iter().collect(),
                };
                site.routes.push(Route { location, proxy_pass: s[1].clone(), targets });
            }
            _ => {}
        }
    }
    sites.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_t_captured_on_debian_12() {
        let sites = parse(include_str!("fixtures/nginx-T-debian12.txt"), 100);
        assert_eq!(sites.len(), 2, "{sites:#?}");
        let shop = &sites[0];
        assert_eq!(shop.server_names, ["shop.example.com", "www.shop.example.com"]);
        assert_eq!(shop.listen, ["80", "[::]:80"]);
        assert_eq!(
            shop.routes[0],
            Route {
                location: "/".into(),
                proxy_pass: "http://127.0.0.1:3000".into(),
                targets: vec!["127.0.0.1:3000".into()]
            }
        );
        assert_eq!(shop.routes[1].location, "/api/");
        assert_eq!(shop.routes[1].targets, ["127.0.0.1:8080", "127.0.0.1:8081"], "the upstream's servers");
        assert_eq!(sites[1].server_names, ["grafana.example.com"]);
        assert_eq!(sites[1].routes[0].targets, ["localhost:3001"]);
        assert_eq!(parse(include_str!("fixtures/nginx-T-debian12.txt"), 1).len(), 1, "bounded");
    }

    #[test]
    fn odd_configs() {
        let text = "http { server { listen 443 ssl; server_name _; location ~ \\.php$ { proxy_pass https://$backend; } \
                    location /x { proxy_pass https://api.example; } } }\nstream { server { listen 5432; proxy_pass db:5432; } }";
        let sites = parse(text, 10);
        assert_eq!(sites.len(), 1, "stream servers are not sites");
        let included =
            "# configuration file /etc/nginx/streams-enabled/db:\nserver { listen 5432; proxy_pass db:5432; }\n";
        assert!(parse(included, 10).is_empty(), "an included stream server is not a site");
        assert!(sites[0].server_names.is_empty());
        assert_eq!(sites[0].routes[0].targets, Vec::<String>::new(), "a variable: unknown target");
        assert_eq!(sites[0].routes[1].targets, ["api.example:443"]);
        assert!(parse("", 10).is_empty() && parse("}}} {{ ;", 10).is_empty());
    }
}
