//! The explorer in a real browser: an honest and a cheating commitment go through the bots on
//! anvil, the explorer indexes them, and headless Chromium loads every page type; the assertions
//! read the DOM the browser rendered.

use super::*;
use verbench_demo::explore::{dump_dom, start_explorer, Sources};

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The part of `dom` from the element with `id` to the end of that element's first closing `tag`.
fn element<'a>(dom: &'a str, id: &str, tag: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the rendered page"));
    let end = dom[start..]
        .find(&format!("</{tag}>"))
        .map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

#[tokio::test(flavor = "multi_thread")]
async fn explorer_pages_render_in_chromium_with_the_honest_result_verified_and_the_cheat_caught() {
    let s = scenario(3).await;
    let honest = s.provide(role::HONEST, None).await;
    let cheat = s.provide(role::CHEAT, Some(Cheat::ModelSwapQ4_0)).await;
    let mut challenger = s.challenger(1.0, 1).await;
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1);
    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    assert_eq!(s.watcher(role::HONEST).pass().await.unwrap().finalized, 1);
    challenger.run_once().await.unwrap();
    assert_eq!(
        s.status(&cheat.commitment_id).await,
        CommitmentStatus::Rejected
    );

    let model_hash = B256::from(s.model.model.hash().0);
    let shared = [challenger.shared()];
    let explorer = start_explorer(
        &s.net,
        Sources {
            challengers: &shared,
            manifests: &[],
            datasets: std::slice::from_ref(&s.dataset_path),
            model_names: vec![(model_hash, "SmolLM2 test model".into())],
        },
        &s.path().join("explorer"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = explorer.url();

    // The leaderboard: two rows, the honest one verified (3 of 3 leaves), the cheat caught.
    let dom = tokio::task::block_in_place(|| dump_dom(&format!("{url}/"))).unwrap();
    let board = element(&dom, "glossary", "div");
    assert!(
        board.contains("verified"),
        "the page says what verified means"
    );
    assert_eq!(count(&dom, "<tr class=\"row "), 2, "{dom}");
    let row = |id: &str| {
        let at = dom
            .find(&format!("data-commitment=\"{id}\""))
            .unwrap_or_else(|| panic!("no row for {id}"));
        &dom[at..at + dom[at..].find("</tr>").unwrap()]
    };
    let honest_row = row(&honest.commitment_id);
    assert!(
        honest_row.contains("data-status=\"verified\""),
        "{honest_row}"
    );
    assert!(honest_row.contains("3 of 3 valid"), "{honest_row}");
    assert!(honest_row.contains("SmolLM2 test model"), "{honest_row}");
    let cheat_row = row(&cheat.commitment_id);
    assert!(cheat_row.contains("data-status=\"caught\""), "{cheat_row}");
    assert!(
        cheat_row.contains("void"),
        "a caught score is void: {cheat_row}"
    );
    assert!(cheat_row.contains("provider at fault"), "{cheat_row}");

    // The honest commitment: one plotted point per verified leaf, every item verified.
    let page = format!("{url}/commitment/{}", honest.commitment_id);
    let dom = tokio::task::block_in_place(|| dump_dom(&page)).unwrap();
    assert!(element(&dom, "status", "p").contains("3 of 3 leaves recomputed"));
    let toploc = element(&dom, "plot-toploc", "svg");
    assert_eq!(count(toploc, "<circle class=\"pt\""), 3, "{toploc}");
    assert_eq!(count(toploc, "class=\"limit\""), 2, "{toploc}");
    assert_eq!(
        count(element(&dom, "plot-median", "svg"), "<circle class=\"pt\""),
        3
    );
    assert!(count(element(&dom, "plot-scores", "svg"), "<rect class=\"bar\"") >= 1);
    let items = element(&dom, "items", "table");
    assert_eq!(count(items, "<tr class=\"item\""), 3, "{items}");
    assert_eq!(count(items, ">verified</span>"), 3, "{items}");

    // The cheat's commitment links its dispute; the dispute page shows the outcome, the proof,
    // the three signers and the money.
    let page = format!("{url}/commitment/{}", cheat.commitment_id);
    let dom = tokio::task::block_in_place(|| dump_dom(&page)).unwrap();
    assert!(element(&dom, "status", "p").contains("caught"), "{dom}");
    let at = dom.find("href=\"/dispute/").expect("a dispute link") + "href=\"/dispute/".len();
    let dispute_id = &dom[at..at + 66];
    let dom =
        tokio::task::block_in_place(|| dump_dom(&format!("{url}/dispute/{dispute_id}"))).unwrap();
    assert!(
        element(&dom, "outcome", "p").contains("data-status=\"provider at fault\""),
        "{dom}"
    );
    assert!(element(&dom, "proof-check", "p").contains("verifies against the committed root"));
    assert_eq!(count(element(&dom, "signers", "table"), "<tr><td>"), 3);
    let money = element(&dom, "money", "ul");
    assert!(money.contains("credited"), "{dom}");
    assert!(money.contains("operators' pay claimed"), "{money}");

    // Bad input: an unknown id and a malformed one say so; the JSON twin agrees.
    let unknown = format!("0x{}", "ab".repeat(32));
    let dom =
        tokio::task::block_in_place(|| dump_dom(&format!("{url}/commitment/{unknown}"))).unwrap();
    assert!(
        element(&dom, "not-found", "p").contains("No commitment"),
        "{dom}"
    );
    let dom = tokio::task::block_in_place(|| dump_dom(&format!("{url}/dispute/nonsense"))).unwrap();
    assert!(
        element(&dom, "not-found", "p").contains("is not a dispute id"),
        "{dom}"
    );
    let api: serde_json::Value = reqwest::get(format!("{url}/api/leaderboard"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = api["commitments"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r["status"] == "verified" && r["leavesVerified"] == 3));
    explorer.stop().await.unwrap();

    // A bundle that can no longer be fetched: a fresh explorer says the data cannot be used and
    // shows the commitment's score as nothing more than claimed.
    std::fs::remove_dir_all(s.path().join(format!("published-{}", role::CHEAT))).unwrap();
    let explorer = start_explorer(
        &s.net,
        Sources {
            challengers: &[],
            manifests: &[],
            datasets: &[],
            model_names: Vec::new(),
        },
        &s.path().join("explorer-fresh"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let page = format!("{}/commitment/{}", explorer.url(), cheat.commitment_id);
    let dom = tokio::task::block_in_place(|| dump_dom(&page)).unwrap();
    assert!(
        element(&dom, "bundle-state", "p").contains("cannot be used: bundle unavailable"),
        "{dom}"
    );
    // With no challenger read, nothing is verified: the honest row is finalized, not verified.
    let dom = tokio::task::block_in_place(|| dump_dom(&format!("{}/", explorer.url()))).unwrap();
    assert!(dom.contains("data-status=\"finalized\""), "{dom}");
    assert!(!dom.contains("data-status=\"verified\""), "{dom}");

    // A reorg under what the explorer read: it rewinds, re-reads, and the page says so.
    use alloy::providers::{ext::AnvilApi, Provider};
    let snap = s.net.admin.anvil_snapshot().await.unwrap();
    s.net.admin.anvil_mine(Some(3), None).await.unwrap();
    let head = s.net.admin.get_block_number().await.unwrap();
    explorer
        .running
        .wait_indexed(head, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(s.net.admin.anvil_revert(snap).await.unwrap());
    s.net.admin.anvil_mine(Some(6), None).await.unwrap();
    let head = s.net.admin.get_block_number().await.unwrap();
    explorer
        .running
        .wait_indexed(head, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let dom = tokio::task::block_in_place(|| dump_dom(&format!("{}/", explorer.url()))).unwrap();
    assert!(
        element(&dom, "reorg", "div").contains("chain reorganised"),
        "{dom}"
    );
    assert_eq!(
        count(&dom, "<tr class=\"row "),
        2,
        "nothing lost in the rewind: {dom}"
    );
    explorer.stop().await.unwrap();
}
