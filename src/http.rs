//! The HTTP endpoint of `dozvon run` (axum): `/metrics` (Prometheus text), `/healthz`, `/readyz`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::service::ServiceStats;

/// The media type of the Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the endpoints on `listener` until the task is dropped or the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    stats: Arc<ServiceStats>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(stats);
    axum::serve(listener, app).await
}

async fn metrics(State(stats): State<Arc<ServiceStats>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        stats.render(),
    )
}

/// The process is alive and serving.
async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once every assigned partition is restored and consuming, 503 before (start-up,
/// rebalance, recovery).
async fn readyz(State(stats): State<Arc<ServiceStats>>) -> (StatusCode, &'static str) {
    if stats.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
