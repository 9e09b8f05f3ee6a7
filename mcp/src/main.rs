//! `sshdeck-mcp`: the MCP stdio server. Not built yet (issue 4); until then it refuses to start
//! rather than pretend, and never writes to stdout.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = writeln!(
        std::io::stderr(),
        "sshdeck-mcp {}: the MCP server is not implemented yet; use the `sshdeck` CLI meanwhile",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
