//! The bot's HTTP endpoints: `/health`, `/metrics` (Prometheus text), `/attestations/<disputeId>`,
//! `/checks/<commitmentId>` (the leaves this bot recomputed and what it measured).

use crate::bot::Shared;
use axum::{extract::Path, extract::State, http::StatusCode, routing::get, Json, Router};
use std::sync::Arc;

/// Serves the endpoints on `listener` until `shutdown` resolves.
pub async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(|State(s): State<Arc<Shared>>| async move { s.metrics.render() }),
        )
        .route("/attestations/{id}", get(attestation))
        .route("/checks/{id}", get(check))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn attestation(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<crate::Attestation>, StatusCode> {
    let id: alloy::primitives::B256 = id.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    let found = s
        .attestations
        .read()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .get(&id)
        .cloned();
    found.map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn check(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<crate::CommitmentCheck>, StatusCode> {
    let id: alloy::primitives::B256 = id.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    let found = s
        .checks
        .read()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .get(&id)
        .cloned();
    found.map(Json).ok_or(StatusCode::NOT_FOUND)
}
