//! Settings, resolved once: environment, then `.env` in the working directory, then `config.toml` in
//! the data dir, then defaults. Names are the Node orchestrator's, so its users can move over.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod kinds;

use crate::data_dir::expand_tilde;
use crate::error::{Error, Result};

pub use kinds::{LogLevel, RunnerMode, SETTINGS};

/// All settings, typed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// How long a front end waits for a job before answering with its id.
    pub sync_timeout: Duration,
    /// Default command timeout.
    pub default_cmd_timeout: Duration,
    /// Default interactive command timeout.
    pub interactive_cmd_timeout: Duration,
    /// Maximum pooled connections per server.
    pub max_connections_per_server: usize,
    /// Connections idle reaping keeps per server.
    pub min_connections_per_server: usize,
    /// Idle time before a pooled connection is closed.
    pub idle_timeout: Duration,
    /// Keep-alive interval; `None` disables keep-alives.
    pub keep_alive_interval: Option<Duration>,
    /// Maximum unfinished jobs.
    pub max_queue_size: usize,
    /// How long finished jobs are kept.
    pub history_retention: Duration,
    /// Debug mode.
    pub debug: bool,
    /// Log level (`MCP_DEBUG=true` raises it to debug).
    pub log_level: LogLevel,
    /// Connect + handshake + auth timeout.
    pub connect_timeout: Duration,
    /// Concurrent channels per connection.
    pub channels_per_connection: usize,
    /// Per-stream capture bound for one command.
    pub capture_limit: usize,
    /// Bytes kept in each job's output file.
    pub job_output_limit: u64,
    /// Automatic retries of connection failures before a command started.
    pub job_auto_retries: u32,
    /// Hosts a fan-out runs on at once.
    pub fleet_concurrency: usize,
    /// Refuse mutating MCP tools.
    pub readonly: bool,
    /// Bytes of each stream a tool result carries inline.
    pub inline_output: usize,
    /// ssh-agent socket, from `SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// Hosts one fan-out may reach.
    pub fleet_max_targets: usize,
    /// `MCP_TOOLSETS` as written (the MCP server checks the names).
    pub toolsets: String,
    /// Whether front ends hand their jobs to the data dir's runner (`RUNNER_MODE`).
    pub runner_mode: RunnerMode,
    /// How long an idle runner stays up (`RUNNER_PERSIST_S`).
    pub runner_persist: Duration,
    /// Whether sshdeck-mcp serves HTTP (`MCP_TRANSPORT=http`) rather than stdio.
    pub mcp_http: bool,
    /// Where sshdeck-mcp listens over HTTP (`MCP_HTTP_ADDR`).
    pub mcp_http_addr: std::net::SocketAddr,
    /// Largest total size of one snapshot (`SNAPSHOT_MAX_BYTES`).
    pub snapshot_max_bytes: u64,
    /// Most files in one snapshot (`SNAPSHOT_MAX_FILES`).
    pub snapshot_max_files: usize,
    /// Shell sessions per server (`SHELL_MAX_PER_SERVER`).
    pub shell_max_per_server: usize,
    /// Shell sessions in all (`SHELL_MAX_SESSIONS`).
    pub shell_max_sessions: usize,
    /// How long an unused shell session stays open (`SHELL_IDLE_TIMEOUT_S`).
    pub shell_idle_timeout: Duration,
    /// Ports tunnels may listen on (`TUNNEL_ALLOWED_PORTS`).
    pub tunnel_allowed_ports: Vec<u16>,
    /// Where local tunnel listeners bind (`TUNNEL_BIND_ADDRESS`).
    pub tunnel_bind_address: std::net::IpAddr,
    /// Set when the default data dir is new but the Node orchestrator's exists: how to use that one.
    pub node_dir_hint: Option<String>,
    /// Every setting as written and where it came from (`environment`, a `.env` or `config.toml`
    /// path, `defaults`), in [`SETTINGS`] order. No setting holds a secret.
    pub origins: Vec<Origin>,
}

/// One setting's raw value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The variable.
    pub name: &'static str,
    /// Its value as written.
    pub value: String,
    /// `environment`, a file path, or `defaults`.
    pub source: String,
}

/// Where each raw value comes from, in priority order.
struct Sources {
    layers: Vec<(String, HashMap<String, String>)>,
}

impl Sources {
    fn get(&self, name: &str) -> Option<(&str, &str)> {
        self.layers.iter().find_map(|(src, map)| map.get(name).map(|v| (src.as_str(), v.as_str())))
    }
}

impl Settings {
    /// Loads settings from the process environment, `./.env`, the data dir's `config.toml` and defaults.
    pub fn load() -> Result<Self> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self::load_from(&env, &cwd)
    }

    /// Like [`Settings::load`] with an explicit environment and working directory (for tests).
    pub fn load_from(env: &HashMap<String, String>, cwd: &Path) -> Result<Self> {
        let known = |k: &str| SETTINGS.iter().any(|(n, _, _)| *n == k);
        let env_layer: HashMap<_, _> =
            env.iter().filter(|(k, _)| known(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let dotenv_path = cwd.join(".env");
        let dotenv_layer = read_dotenv(&dotenv_path)?;
        let mut sources = Sources {
            layers: vec![("environment".to_string(), env_layer), (dotenv_path.display().to_string(), dotenv_layer)],
        };
        let (data_dir, node_dir_hint) = match sources.get("MCP_DATA_DIR") {
            Some((_, v)) if !v.trim().is_empty() => (expand_tilde(v.trim()), None),
            _ => {
                let dir = default_data_dir()?;
                let hint = node_data_dir_hint(&dir);
                (dir, hint)
            }
        };
        let data_dir_text = data_dir.display().to_string();
        let toml_path = data_dir.join("config.toml");
        let toml_layer = read_config_toml(&toml_path)?;
        sources.layers.push((toml_path.display().to_string(), toml_layer));
        sources
            .layers
            .push(("defaults".to_string(), SETTINGS.iter().map(|(n, d, _)| (n.to_string(), d.to_string())).collect()));
        let p = Parser { sources: &sources };

        let debug = p.bool("MCP_DEBUG")?;
        let mut log_level = p.parse("LOG_LEVEL", |v| match v.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            _ => Err("expected error, warn, info, debug or trace".to_string()),
        })?;
        if debug && matches!(log_level, LogLevel::Error | LogLevel::Warn | LogLevel::Info) {
            log_level = LogLevel::Debug;
        }
        let max_conn = p.int("MAX_CONNECTIONS_PER_SERVER", 1, 64)?;
        let min_conn = p.int("MIN_CONNECTIONS_PER_SERVER", 0, 64)?;
        if min_conn > max_conn {
            let (src, v) = sources.get("MIN_CONNECTIONS_PER_SERVER").unwrap_or(("defaults", ""));
            return Err(Error::InvalidSetting {
                name: "MIN_CONNECTIONS_PER_SERVER".into(),
                value: v.into(),
                source_name: src.into(),
                reason: format!("must not exceed MAX_CONNECTIONS_PER_SERVER ({max_conn})"),
            });
        }
        let keep_alive = p.millis("KEEP_ALIVE_INTERVAL", 0)?;
        Ok(Settings {
            data_dir,
            sync_timeout: Duration::from_secs(p.int("MCP_SYNC_TIMEOUT_S", 0, 3600)? as u64),
            default_cmd_timeout: p.millis("MCP_DEFAULT_CMD_TIMEOUT_MS", 1)?,
            interactive_cmd_timeout: p.millis("MCP_INTERACTIVE_CMD_TIMEOUT_MS", 1)?,
            max_connections_per_server: max_conn,
            min_connections_per_server: min_conn,
            idle_timeout: p.millis("IDLE_TIMEOUT", 1000)?,
            keep_alive_interval: (!keep_alive.is_zero()).then_some(keep_alive),
            max_queue_size: p.int("MAX_QUEUE_SIZE", 1, 10_000_000)?,
            history_retention: p.millis("HISTORY_RETENTION", 0)?,
            debug,
            log_level,
            connect_timeout: p.millis("SSH_CONNECT_TIMEOUT_MS", 100)?,
            channels_per_connection: p.int("SSH_CHANNELS_PER_CONNECTION", 1, 9)?,
            capture_limit: p.int("EXEC_CAPTURE_LIMIT_BYTES", 1024, 1 << 30)?,
            job_output_limit: p.int("JOB_OUTPUT_LIMIT_BYTES", 1024, 1 << 40)? as u64,
            job_auto_retries: p.int("JOB_AUTO_RETRIES", 0, 10)? as u32,
            fleet_concurrency: p.int("FLEET_CONCURRENCY", 1, 1024)? as usize,
            fleet_max_targets: p.int("FLEET_MAX_TARGETS", 1, 1_000_000)?,
            readonly: p.bool("MCP_READONLY")?,
            inline_output: p.int("MCP_INLINE_OUTPUT_BYTES", 256, 1 << 24)?,
            agent_socket: env.get("SSH_AUTH_SOCK").filter(|s| !s.is_empty()).map(PathBuf::from),
            toolsets: p.parse("MCP_TOOLSETS", |v| Ok(v.trim().to_string()))?,
            runner_mode: p.parse("RUNNER_MODE", |v| match v.to_ascii_lowercase().as_str() {
                "shared" => Ok(RunnerMode::Shared),
                "inprocess" | "in-process" | "local" => Ok(RunnerMode::InProcess),
                _ => Err("expected shared or inprocess".to_string()),
            })?,
            runner_persist: Duration::from_secs(p.int("RUNNER_PERSIST_S", 1, 365 * 24 * 3600)? as u64),
            mcp_http: p.parse("MCP_TRANSPORT", |v| match v.trim().to_ascii_lowercase().as_str() {
                "stdio" => Ok(false),
                "http" | "streamable-http" => Ok(true),
                _ => Err("expected stdio or http".to_string()),
            })?,
            mcp_http_addr: p.parse("MCP_HTTP_ADDR", |v| {
                v.trim().parse().map_err(|_| "expected ADDRESS:PORT, e.g. 127.0.0.1:8808".to_string())
            })?,
            snapshot_max_bytes: p.int("SNAPSHOT_MAX_BYTES", 1024, 1 << 40)? as u64,
            snapshot_max_files: p.int("SNAPSHOT_MAX_FILES", 1, 10_000_000)?,
            shell_max_per_server: p.int("SHELL_MAX_PER_SERVER", 1, 64)?,
            shell_max_sessions: p.int("SHELL_MAX_SESSIONS", 1, 1024)?,
            shell_idle_timeout: Duration::from_secs(p.int("SHELL_IDLE_TIMEOUT_S", 1, 7 * 24 * 3600)? as u64),
            tunnel_allowed_ports: p.parse("TUNNEL_ALLOWED_PORTS", parse_ports)?,
            tunnel_bind_address: p.parse("TUNNEL_BIND_ADDRESS", |v| {
                v.parse().map_err(|_| "expected an IP address, e.g. 127.0.0.1".to_string())
            })?,
            node_dir_hint,
            origins: SETTINGS
                .iter()
                .map(|(name, _, _)| {
                    let (source, value) = match (*name, sources.get(name)) {
                        ("MCP_DATA_DIR", None) | ("MCP_DATA_DIR", Some((_, ""))) => {
                            ("defaults", data_dir_text.as_str())
                        }
                        (_, Some((s, v))) => (s, v),
                        (_, None) => ("defaults", ""),
                    };
                    Origin { name, value: value.to_string(), source: source.to_string() }
                })
                .collect(),
        })
    }

    /// Defaults with the given data dir (tests, benchmarks).
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut env = HashMap::new();
        env.insert("MCP_DATA_DIR".to_string(), data_dir.into().display().to_string());
        // A directory without `.env`, so only the defaults apply.
        Self::load_from(&env, Path::new("/nonexistent-sshdeck-cwd")).expect("defaults are valid")
    }
}

/// `8080,9000-9010` → the ports.
fn parse_ports(v: &str) -> std::result::Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("{part:?}: expected ports like 8080,9000-9010");
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u16, u16) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        if a == 0 || b < a || b - a > 1000 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

struct Parser<'a> {
    sources: &'a Sources,
}

impl Parser<'_> {
    fn parse<T>(&self, name: &str, f: impl Fn(&str) -> std::result::Result<T, String>) -> Result<T> {
        let (src, raw) = self.sources.get(name).expect("every setting has a default");
        f(raw.trim()).map_err(|reason| Error::InvalidSetting {
            name: name.to_string(),
            value: raw.to_string(),
            source_name: src.to_string(),
            reason,
        })
    }

    fn int(&self, name: &str, min: usize, max: usize) -> Result<usize> {
        self.parse(name, |v| match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(format!("must be between {min} and {max}")),
            Err(_) => Err("expected a whole number".to_string()),
        })
    }

    fn millis(&self, name: &str, min: u64) -> Result<Duration> {
        self.parse(name, |v| match v.parse::<u64>() {
            Ok(n) if n >= min => Ok(Duration::from_millis(n)),
            Ok(_) => Err(format!("must be at least {min} ms")),
            Err(_) => Err("expected a whole number of milliseconds".to_string()),
        })
    }

    fn bool(&self, name: &str) -> Result<bool> {
        self.parse(name, |v| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err("expected true or false".to_string()),
        })
    }
}

/// The Node orchestrator's default data dir (`~/.config/mcp-orchestrator`).
pub fn node_data_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().join(".config/mcp-orchestrator"))
}

/// When sshdeck's default data dir does not exist yet but the Node orchestrator's does, how to use it.
fn node_data_dir_hint(ours: &Path) -> Option<String> {
    let node = node_data_dir()?;
    (!ours.exists() && node.join("servers.json").exists()).then(|| {
        format!(
            "the Node orchestrator's data dir {} exists: set MCP_DATA_DIR={} to keep using it, or import its servers \
             with `sshdeck servers import-json {}/servers.json`",
            node.display(),
            node.display(),
            node.display()
        )
    })
}

fn default_data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "sshdeck").map(|d| d.config_dir().to_path_buf()).ok_or_else(|| {
        Error::InvalidSetting {
            name: "MCP_DATA_DIR".into(),
            value: String::new(),
            source_name: "defaults".into(),
            reason: "no home directory to derive a default from; set MCP_DATA_DIR".into(),
        }
    })
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HashMap::new());
        }
        Err(e) => {
            return Err(Error::DataCorrupt { path: path.into(), reason: e.to_string() });
        }
    };
    let mut map = HashMap::new();
    for item in iter {
        let (k, v) = item.map_err(|e| Error::DataCorrupt { path: path.into(), reason: e.to_string() })?;
        map.insert(k, v);
    }
    Ok(map)
}

fn read_config_toml(path: &Path) -> Result<HashMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| Error::DataCorrupt { path: path.into(), reason: e.to_string() })?;
    let mut map = HashMap::new();
    for (key, value) in table {
        let name = key.to_ascii_uppercase();
        if !SETTINGS.iter().any(|(n, _, _)| *n == name) || name == "MCP_DATA_DIR" {
            return Err(Error::InvalidSetting {
                name: key,
                value: value.to_string(),
                source_name: path.display().to_string(),
                reason: "unknown key".into(),
            });
        }
        let raw = match value {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        map.insert(name, raw);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_apply() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Settings::load_from(&env(&[("MCP_DATA_DIR", tmp.path().to_str().unwrap())]), tmp.path()).unwrap();
        assert_eq!(s.max_connections_per_server, 5);
        assert_eq!(s.min_connections_per_server, 1);
        assert_eq!(s.idle_timeout, Duration::from_secs(300));
        assert_eq!(s.keep_alive_interval, Some(Duration::from_secs(30)));
        assert_eq!(s.channels_per_connection, 8);
        assert_eq!(s.data_dir, tmp.path());
    }

    #[test]
    fn env_beats_dotenv_beats_toml() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(
            tmp.path().join(".env"),
            format!("MCP_DATA_DIR={}\nMAX_CONNECTIONS_PER_SERVER=7\nIDLE_TIMEOUT=5000\n", data.display()),
        )
        .unwrap();
        std::fs::write(
            data.join("config.toml"),
            "max_connections_per_server = 9\nidle_timeout = 6000\nmax_queue_size = 12\n",
        )
        .unwrap();
        let s = Settings::load_from(&env(&[("IDLE_TIMEOUT", "4000")]), tmp.path()).unwrap();
        assert_eq!(s.data_dir, data);
        assert_eq!(s.idle_timeout, Duration::from_millis(4000), "environment wins");
        assert_eq!(s.max_connections_per_server, 7, ".env beats config.toml");
        assert_eq!(s.max_queue_size, 12, "config.toml beats defaults");
    }

    #[test]
    fn bad_values_name_the_variable_and_source() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let err =
            Settings::load_from(&env(&[("MCP_DATA_DIR", dir), ("MAX_CONNECTIONS_PER_SERVER", "lots")]), tmp.path())
                .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("MAX_CONNECTIONS_PER_SERVER") && msg.contains("environment"), "{msg}");
        assert_eq!(err.code(), "INVALID_SETTING");

        let err = Settings::load_from(&env(&[("MCP_DATA_DIR", dir), ("MIN_CONNECTIONS_PER_SERVER", "6")]), tmp.path())
            .unwrap_err();
        assert!(err.to_string().contains("MIN_CONNECTIONS_PER_SERVER"), "{err}");

        std::fs::write(tmp.path().join("config.toml"), "max_conections = 3\n").unwrap();
        let err = Settings::load_from(&env(&[("MCP_DATA_DIR", dir)]), tmp.path()).unwrap_err();
        assert!(err.to_string().contains("max_conections") && err.to_string().contains("config.toml"), "{err}");
    }

    #[test]
    fn debug_raises_log_level_and_zero_disables_keepalive() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Settings::load_from(
            &env(&[
                ("MCP_DATA_DIR", tmp.path().to_str().unwrap()),
                ("MCP_DEBUG", "true"),
                ("KEEP_ALIVE_INTERVAL", "0"),
            ]),
            tmp.path(),
        )
        .unwrap();
        assert_eq!(s.log_level, LogLevel::Debug);
        assert_eq!(s.keep_alive_interval, None);
    }
}
