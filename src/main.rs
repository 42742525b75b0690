//! `rung`: the command line over the standard library.

use std::process::ExitCode;

fn main() -> ExitCode {
    rung::main(rung_stdlib::registry())
}
