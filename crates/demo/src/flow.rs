//! The README's demo flow, shared by `verbench-demo` (native back end) and `verbench-devnet demo`
//! (EigenLayer back end): a task over the mini benchmark, an honest and a cheating provider on the
//! real SmolLM2 model, a challenger that catches the cheat, operators that resolve the dispute,
//! and the balances.
#![allow(clippy::print_stdout)]

use crate::{role, small_dataset, Devnet, OperatorSet};
use alloy::primitives::{utils::format_ether, U256};
use std::time::Instant;
use verbench_chain::bindings::IDisputeGame::CommitmentStatus;
use verbench_inference::smollm2_path;
use verbench_provider::cheat::Cheat;

fn status(s: CommitmentStatus) -> &'static str {
    match s {
        CommitmentStatus::Active => "active",
        CommitmentStatus::Finalized => "FINALIZED",
        CommitmentStatus::Rejected => "REJECTED",
        CommitmentStatus::Frozen => "frozen",
        _ => "unknown",
    }
}

/// What the demo leaves behind for the explorer: its files, and the challengers' published
/// checks with what they judged by.
pub struct DemoOutcome {
    /// The work directory.
    pub dir: std::path::PathBuf,
    /// Each challenger's shared state (its `/checks` are served from it).
    pub challengers: Vec<std::sync::Arc<verbench_challenger::Shared>>,
    /// Manifests of the tasks' benchmarks.
    pub manifests: Vec<std::path::PathBuf>,
    /// Dataset files of the tasks.
    pub datasets: Vec<std::path::PathBuf>,
    /// The model's hash, and its name.
    pub model: (alloy::primitives::B256, String),
}

/// Runs the demo on `net`, whose operators (`role::OPERATORS`) already have stake. Fails unless
/// the honest commitment finalizes and the cheating one is rejected.
pub async fn run_demo(net: &Devnet) -> anyhow::Result<DemoOutcome> {
    let t0 = Instant::now();
    let dir = std::env::temp_dir().join(format!("verbench-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let items: usize = std::env::var("VERBENCH_DEMO_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let (dataset, dataset_path) = small_dataset(&dir, items)?;
    let bench = verbench_bundle::benchmark::Benchmark::legacy(dataset.clone());
    let model_path = smollm2_path();
    println!(
        "== verbench demo: {} benchmark items, model {}",
        dataset.items.len(),
        model_path.display()
    );
    let model = crate::smollm2()?;

    let task = net
        .register_task(
            &bench,
            alloy::primitives::B256::from(model.model.hash().0),
            32,
            3600,
        )
        .await?;
    println!(
        "task {} (model hash {}, dataset root 0x{}, bond 1 ETH, challenger bond 0.1 ETH)",
        task.task_id,
        task.spec.modelHash,
        hex_root(&dataset)?
    );

    let accounts = [role::HONEST, role::CHEAT, role::CHALLENGER];
    let mut before = Vec::new();
    for a in accounts {
        before.push(net.balance(a).await?);
    }

    println!("\n-- providers generate, publish and commit");
    let honest = net
        .provide(role::HONEST, &task, &bench, &model, None, &dir, true)
        .await?;
    println!(
        "honest   {}: root {} score {}",
        net.address(role::HONEST),
        honest.root,
        honest.claimed_score_wad
    );
    let cheat = net
        .provide(
            role::CHEAT,
            &task,
            &bench,
            &model,
            Some(Cheat::ModelSwapQ4_0),
            &dir,
            true,
        )
        .await?;
    println!("cheating {}: root {} score {} (generated with Q4_0 weights, claims the committed Q4_1 model)", net.address(role::CHEAT), cheat.root, cheat.claimed_score_wad);

    println!("\n-- challenger samples and recomputes leaves (one dense prefill per item)");
    let mut challenger = verbench_challenger::Bot::new(net.bot_config(
        role::CHALLENGER,
        &dir.join("challenger"),
        &model_path,
        &dataset_path,
    ))
    .await?;
    let t = Instant::now();
    let report = challenger.run_once().await?;
    println!(
        "checked {} leaves in {:.1}s, opened {} dispute(s)",
        report.leaves_checked,
        t.elapsed().as_secs_f64(),
        report.disputes_opened
    );
    for (cid, why) in &report.faults {
        println!("  fault in {cid}: {why}");
    }

    println!(
        "\n-- operators recompute the disputed leaf and sign verdicts (EIP-712), one submits them"
    );
    let mut ops =
        OperatorSet::start(net, &role::OPERATORS, &dir, &model_path, &dataset_path).await?;
    let resolved = ops.round().await?;
    println!("disputes resolved: {resolved}");

    println!("\n-- the challenge window passes; providers finalize and everyone withdraws");
    net.advance(3601).await?;
    for account in [role::HONEST, role::CHEAT] {
        let watcher = verbench_provider::watch::Watcher {
            provider: net.provider(account),
            game: net.deployment.dispute_game,
            me: net.address(account),
            from_block: net.deployment.block_number,
            bundle_dir: dir.join(format!("published-{account}")),
            peers: Vec::new(),
        };
        let pass = watcher.pass().await?;
        println!(
            "provider {account}: {} finalized, {} wei withdrawn",
            pass.finalized, pass.withdrawn_wei
        );
    }
    challenger.run_once().await?;

    let game = net.game(role::ADMIN);
    println!("\n== results");
    for (name, c) in [("honest", &honest), ("cheating", &cheat)] {
        let st = game
            .commitmentState(c.commitment_id.parse()?)
            .call()
            .await?;
        println!(
            "{name:9} commitment {}: {}",
            c.commitment_id,
            status(st.status)
        );
    }
    let names = ["honest provider", "cheating provider", "challenger"];
    for (k, a) in accounts.iter().enumerate() {
        let after = net.balance(*a).await?;
        let delta = if after >= before[k] {
            format!("+{}", format_ether(after - before[k]))
        } else {
            format!("-{}", format_ether(before[k] - after))
        };
        println!(
            "{:18} {} ETH -> {} ETH ({delta}, gas included)",
            names[k],
            format_ether(before[k]),
            format_ether(after)
        );
    }
    let treasury = net.deployment.treasury;
    println!(
        "treasury {treasury} credit: {} wei",
        game.credit(treasury).call().await.unwrap_or(U256::ZERO)
    );
    let registry = registry_benchmarks(net, &model, &dir).await?;
    let registry_ok = registry.ok;
    print_gas(net).await?;
    println!(
        "\ndemo finished in {:.0}s (work files in {})",
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    let honest_ok = game
        .commitmentState(honest.commitment_id.parse()?)
        .call()
        .await?
        .status
        == CommitmentStatus::Finalized;
    let cheat_caught = game
        .commitmentState(cheat.commitment_id.parse()?)
        .call()
        .await?
        .status
        == CommitmentStatus::Rejected;
    anyhow::ensure!(
        honest_ok && cheat_caught && registry_ok,
        "unexpected outcome: honest finalized = {honest_ok}, cheat rejected = {cheat_caught}, \
         registry benchmarks as expected = {registry_ok}"
    );
    let mut challengers = vec![challenger.shared()];
    challengers.extend(registry.challengers);
    let mut datasets = vec![dataset_path];
    datasets.extend(registry.datasets);
    Ok(DemoOutcome {
        dir,
        challengers,
        manifests: registry.manifests,
        datasets,
        model: (
            alloy::primitives::B256::from(model.model.hash().0),
            "SmolLM2-135M-Instruct Q4_1".into(),
        ),
    })
}

struct Registry {
    ok: bool,
    challengers: Vec<std::sync::Arc<verbench_challenger::Shared>>,
    manifests: Vec<std::path::PathBuf>,
    datasets: Vec<std::path::PathBuf>,
}

/// The second part: real benchmarks through their manifests. MMLU (the first 8 test items, 0-shot,
/// the letter ranked first among A-D) against a provider that claims the answer key's letters, and
/// GSM8K (the first 4 test items, 0-shot, 32 new tokens) against a provider that inflates its
/// claimed score. Returns whether both honest commitments finalized and both cheats were rejected,
/// with the challengers, manifests and datasets (for the explorer).
async fn registry_benchmarks(
    net: &Devnet,
    model: &verbench_inference::LoadedModel,
    dir: &std::path::Path,
) -> anyhow::Result<Registry> {
    let model_path = smollm2_path();
    let game = net.game(role::ADMIN);
    let mut all_ok = true;
    let mut verified = Vec::new();
    let mut out = Registry {
        ok: false,
        challengers: Vec::new(),
        manifests: Vec::new(),
        datasets: Vec::new(),
    };
    for (mmlu, n, label, cheat) in [
        (true, 8, "MMLU", Cheat::AnswerKey),
        (false, 4, "GSM8K", Cheat::InflateScore),
    ] {
        let sub = dir.join(label);
        let (bench, data, manifest) = crate::prepared(&sub, mmlu, n, 32)?;
        let task = net
            .register_task(
                &bench,
                alloy::primitives::B256::from(model.model.hash().0),
                32,
                3600,
            )
            .await?;
        let m = bench
            .manifest
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        println!(
            "\n== {label}: {m} ({} items), task {}\n   manifest {} (hash {})",
            bench.dataset.items.len(),
            task.task_id,
            manifest.display(),
            task.spec.manifestHash
        );
        let honest = net
            .provide(role::HONEST, &task, &bench, model, None, &sub, true)
            .await?;
        println!(
            "honest   provider commits: claimed {} WAD, mean ± stderr {}",
            honest.claimed_score_wad, honest.score
        );
        let bad = net
            .provide(
                role::CHEAT,
                &task,
                &bench,
                model,
                Some(cheat.clone()),
                &sub,
                true,
            )
            .await?;
        let what = match cheat {
            Cheat::AnswerKey => "claims the answer key's letters, proven by one honest prefill",
            _ => "scores honestly, claims 100%",
        };
        println!(
            "cheating provider commits: claimed {} WAD ({what})",
            bad.claimed_score_wad
        );
        let mut challenger = verbench_challenger::Bot::new(net.bot_config(
            role::CHALLENGER,
            &sub.join("challenger"),
            &model_path,
            &data,
        ))
        .await?;
        let report = challenger.run_once().await?;
        println!(
            "challenger: rescored every leaf, recomputed {} leaves, {} dispute(s), {} score proof(s)",
            report.leaves_checked, report.disputes_opened, report.score_proofs
        );
        for (cid, why) in &report.faults {
            println!("  fault in {cid}: {why}");
        }
        let mut ops = OperatorSet::start(net, &role::OPERATORS, &sub, &model_path, &data).await?;
        println!("operators: disputes resolved: {}", ops.round().await?);
        net.advance(3601).await?;
        let watcher = verbench_provider::watch::Watcher {
            provider: net.provider(role::HONEST),
            game: net.deployment.dispute_game,
            me: net.address(role::HONEST),
            from_block: net.deployment.block_number,
            bundle_dir: sub.join(format!("published-{}", role::HONEST)),
            peers: Vec::new(),
        };
        watcher.pass().await?;
        challenger.run_once().await?;
        out.challengers.push(challenger.shared());
        out.manifests.push(manifest.clone());
        out.datasets.push(data.clone());
        let st = |id: &str| {
            let game = game.clone();
            let id = id.to_string();
            async move { anyhow::Ok(game.commitmentState(id.parse()?).call().await?.status) }
        };
        let (h, c) = (
            st(&honest.commitment_id).await?,
            st(&bad.commitment_id).await?,
        );
        println!("honest {}, cheating {}", status(h), status(c));
        all_ok &= h == CommitmentStatus::Finalized && c == CommitmentStatus::Rejected;
        if h == CommitmentStatus::Finalized {
            verified.push(format!("{label:6} {m}: {} (n = {n})", honest.score));
        }
    }
    println!("\n== verified scores (finalized commitments, mean ± standard error)");
    for v in &verified {
        println!("  {v}");
    }
    out.ok = all_ok;
    Ok(out)
}

fn hex_root(d: &verbench_bundle::dataset::Dataset) -> anyhow::Result<String> {
    Ok(hex::encode(d.root()?))
}

/// Whole-transaction gas of every verbench call the demo made, read from anvil's receipts.
async fn print_gas(net: &Devnet) -> anyhow::Result<()> {
    use alloy::{providers::Provider, sol_types::SolCall};
    use verbench_chain::bindings::{IDisputeGame as G, IServiceManager as S};
    let names: [([u8; 4], &str); 14] = [
        (G::registerTaskCall::SELECTOR, "DisputeGame.registerTask"),
        (G::commitCall::SELECTOR, "DisputeGame.commit"),
        (G::openDisputeCall::SELECTOR, "DisputeGame.openDispute"),
        (
            G::openDisputeWithLeafCall::SELECTOR,
            "DisputeGame.openDisputeWithLeaf",
        ),
        (G::revealLeafCall::SELECTOR, "DisputeGame.revealLeaf"),
        (G::resolveCall::SELECTOR, "DisputeGame.resolve"),
        (G::claimWithheldCall::SELECTOR, "DisputeGame.claimWithheld"),
        (G::finalizeCall::SELECTOR, "DisputeGame.finalize"),
        (G::withdrawCall::SELECTOR, "DisputeGame.withdraw"),
        (
            S::registerOperatorCall::SELECTOR,
            "ServiceManager.registerOperator",
        ),
        (G::expireCall::SELECTOR, "DisputeGame.expire"),
        (
            G::proveScoreFaultCall::SELECTOR,
            "DisputeGame.proveScoreFault",
        ),
        (G::publishItemCall::SELECTOR, "DisputeGame.publishItem"),
        (
            G::claimVerdictPayCall::SELECTOR,
            "DisputeGame.claimVerdictPay",
        ),
    ];
    println!("\n== whole-transaction gas on anvil (from receipts)");
    let head = net.admin.get_block_number().await?;
    for n in net.deployment.block_number..=head {
        let Some(block) = net.admin.get_block_by_number(n.into()).full().await? else {
            continue;
        };
        for tx in block.transactions.txns() {
            let input = alloy::consensus::Transaction::input(tx);
            let Some(sel) = input.get(..4) else { continue };
            let Some((_, name)) = names.iter().find(|(s, _)| s.as_slice() == sel) else {
                continue;
            };
            let Some(receipt) = net
                .admin
                .get_transaction_receipt(*tx.inner.tx_hash())
                .await?
            else {
                continue;
            };
            println!(
                "  {name:34} {:>8} gas  ({} calldata bytes)",
                receipt.gas_used,
                input.len()
            );
        }
    }
    Ok(())
}
