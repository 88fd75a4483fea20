//! Writes the golden Merkle fixtures that forge reads in `test/Merkle.t.sol`.
//!
//! `cargo run -p verbench-merkle --bin merkle-fixtures -- test/fixtures/merkle`
#![allow(clippy::print_stdout)] // a report: its output is the point

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Write verbench's golden Merkle fixtures (JSON) for the Solidity tests")]
struct Args {
    /// Output directory (created if missing).
    #[arg(default_value = "test/fixtures/merkle")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let files = verbench_merkle::fixtures::all()?;
    for (name, json) in &files {
        let path = args.out.join(name);
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "wrote {} fixture files to {}",
        files.len(),
        args.out.display()
    );
    Ok(())
}
