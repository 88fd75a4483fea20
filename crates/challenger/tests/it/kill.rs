//! Scenario 6 of the end-to-end issue: the bot binary is killed (abort: no state saved, as with
//! SIGKILL) at each named point of a dispute and restarted; every time exactly one dispute exists
//! on chain and it resolves. The fault is an unreachable bundle (the dispute path is the same as
//! for a bad leaf, without a model in the loop, so the test stays fast).

use crate::chain::world;
use alloy::{primitives::B256, providers::ext::AnvilApi};
use std::process::Command;
use verbench_chain::bindings::IDisputeGame::{self, CommitmentStatus, DisputeStatus};

fn run_bot(config: &std::path::Path, failpoint: Option<&str>) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_verbench-challenger"));
    cmd.args(["run", "--once", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn");
    match failpoint {
        Some(p) => cmd.env("VERBENCH_FAILPOINT", p),
        None => cmd.env_remove("VERBENCH_FAILPOINT"),
    };
    cmd.status().expect("running verbench-challenger")
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_every_point_and_restarted_opens_exactly_one_dispute_that_resolves() {
    for point in ["before-send", "after-send", "after-receipt", "voting"] {
        // At sample rate 1.0 every seed selects the same first leaf: one seed is enough.
        {
            let seed = 1u64;
            let w = world().await;
            let provider = w.anvil.addresses()[1];
            // A real 4-leaf tree, so that the provider can reveal (needed to reach voting).
            let (leaves, tree) = verbench_testkit::leaves_and_tree(w.task_id, provider, 4).unwrap();
            let cid = w
                .commit_root(B256::from(tree.root()), "file:///nowhere/bundle.jsonl")
                .await;

            let dir = tempfile::tempdir().unwrap();
            let mut cfg = w.config(&dir.path().join("state"));
            cfg.seed = seed;
            let cfg_path = dir.path().join("bot.toml");
            std::fs::write(&cfg_path, toml::to_string(&cfg).unwrap()).unwrap();

            if point == "voting" {
                // Get to voting first: the bot opens the dispute, the provider reveals.
                assert!(run_bot(&cfg_path, None).success());
                w.reveal_first_dispute(cid, &leaves, &tree).await;
            }
            let killed = run_bot(&cfg_path, Some(point));
            assert!(
                !killed.success(),
                "{point}: the failpoint must kill the bot ({killed})"
            );
            // Restart (twice, as a supervisor would) without the failpoint.
            assert!(
                run_bot(&cfg_path, None).success(),
                "{point}/{seed}: restart"
            );
            assert!(
                run_bot(&cfg_path, None).success(),
                "{point}/{seed}: second restart"
            );

            let game = IDisputeGame::new(w.game, &w.provider);
            let opened = game
                .DisputeOpened_filter()
                .topic2(cid)
                .from_block(0)
                .query()
                .await
                .unwrap();
            assert_eq!(opened.len(), 1, "{point}/{seed}: exactly one dispute");
            let did = opened[0].0.disputeId;

            // Resolution: withheld (claimed after the reveal window) or, once revealed and with no
            // operators registered, expired after the voting period.
            w.provider.anvil_increase_time(3 * 24 * 3600).await.unwrap();
            w.provider.anvil_mine(Some(1), None).await.unwrap();
            assert!(run_bot(&cfg_path, None).success());
            let resolved = game
                .DisputeResolved_filter()
                .topic1(did)
                .from_block(0)
                .query()
                .await
                .unwrap();
            assert_eq!(
                resolved.len(),
                1,
                "{point}/{seed}: the dispute resolved once"
            );
            let status = resolved[0].0.dispute.status;
            if point == "voting" {
                assert_eq!(status, DisputeStatus::Expired, "{point}/{seed}");
            } else {
                assert_eq!(status, DisputeStatus::ProviderAtFault, "{point}/{seed}");
                assert_eq!(w.status(cid).await, CommitmentStatus::Rejected);
            }
        }
    }
}
