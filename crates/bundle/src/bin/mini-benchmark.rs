//! Writes verbench's own small benchmark (`dataset::mini_benchmark`) as JSON Lines.
//!
//! `cargo run -p verbench-bundle --bin mini-benchmark -- crates/bundle/data/mini-qa.jsonl`
#![allow(clippy::print_stdout)] // a report: its output is the point

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crates/bundle/data/mini-qa.jsonl".into());
    std::fs::write(&out, verbench_bundle::dataset::mini_benchmark().to_jsonl())?;
    eprintln!("wrote {out}");
    Ok(())
}
