//! The `sshdeck` operator console as a library, so benchmarks and tests can drive it; the binary in
//! `main.rs` adds the command line.

pub mod console;
