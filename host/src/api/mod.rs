//! The HTTP API: the V2 order endpoints, health checks, and the framing shared by all.
//! [`crate::router::app`] is the whole router, so tests drive it with `oneshot` and the
//! server runs exactly the same thing.

pub mod access;
mod addresses;
mod admin;
pub mod audit;
mod body;
pub mod client;
mod dev;
mod error;
mod health;
pub mod openapi;
mod orders;
pub mod public;
pub mod reload;
mod scrape;
pub mod session;
mod trace;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Extension;
use axum::http::HeaderName;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::chain::DevChain;
use crate::merchants::MerchantDirectory;
use crate::metrics::{self, Metrics};
use crate::rules::{Chain, Rules};
use crate::store::Store;
use crate::wakeups::Workers;
use crate::writer::OrderWriter;
use reload::MerchantReload;
use usdt_gateway_core::ports::Wakeups as _;
use usdt_gateway_core::{AddressDesk, Core, OrderIntake};

pub use body::MAX_BODY_BYTES;
pub use error::{AppError, GatewayCode, retry_after};

/// Path of the order endpoint.
pub const ORDER_PATH: &str = "/api/merchant/v2/TraderRechargeorder";
/// Path of the order query endpoint.
pub const QUERY_PATH: &str = "/api/merchant/v2/TraderRechargeorderQuery";
/// Path of the address endpoint (our extension): a user's deposit address on a chain.
pub const ADDRESS_PATH: &str = "/api/merchant/v2/TraderRechargeAddress";

/// What every handler shares: one allocation, cloned per request as one pointer.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Share `shared` with every handler.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The gateway's parts the handlers use.
#[derive(Debug)]
pub struct Shared {
    /// The protocol rules (the sandboxed component).
    pub rules: Arc<Rules>,
    /// The database.
    pub store: Store,
    /// The group-commit queue for new orders.
    pub writer: OrderWriter,
    /// The merchants, reloadable (the order endpoint checks through the component's
    /// keyring, kept in step with it).
    pub merchants: Arc<MerchantDirectory>,
    /// Reloads the merchants from the configuration (`POST /admin/merchants/reload`).
    pub reload: Arc<MerchantReload>,
    /// Dev mode: the `/dev/…` routes exist only then.
    pub dev_mode: bool,
    /// The embedded dev chains by chain name (dev mode only).
    pub dev_chains: Arc<HashMap<&'static str, DevChain>>,
    /// The use cases (order status, resend, assign …), over the database.
    pub core: Core<Store>,
    /// Placing orders: through the group-commit writer, after the operator's policies.
    pub intake: OrderIntake<Store>,
    /// Handing out deposit addresses.
    pub addresses: AddressDesk<Store>,
    /// Wakes the callback dispatcher and each chain's watcher.
    pub wakeups: Arc<Workers>,
    /// The admin token (reloadable), the console's sessions and the failed-login
    /// budgets; no token: the admin API and the console are off.
    pub admin: Arc<access::AdminAccess>,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Whether `GET /metrics` is on this router (false: on `metrics.listen` alone).
    pub metrics_route: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`http.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The public pages' per-client rate and in-flight cap.
    pub public_limits: public::PublicLimits,
}

impl Shared {
    /// Start a round of `chain`'s watcher now.
    pub fn wake_watcher(&self, chain: Chain) {
        self.wakeups.wake_watcher(chain.as_str());
    }
}

/// The whole API with its middleware, with `pages` (the HTML front end, not in the
/// OpenAPI document) beside it: request ids (`x-request-id`, taken from the client or
/// made), a tracing span per request, a deadline per request, and the HTTP metrics
/// (outermost: a timeout's 503 is counted too). The gateway's router is
/// [`crate::router::app`].
pub fn app(state: AppState, request_timeout: Duration, pages: Router<AppState>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            // A 5xx is logged where its cause is (a storage or component fault); the
            // trace layer keeps it at debug, so shedding load never floods the log.
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG))
                .make_span_with(trace::request_span)
                .on_response(trace::on_response),
        )
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            AppError::gateway(GatewayCode::Timeout, "the request took too long; retry")
        }))
        .timeout(request_timeout);
    let (router, doc) = documented_routes(state.dev_mode, state.metrics_route).split_for_parts();
    let router = router.merge(pages);
    let counted = axum::middleware::from_fn_with_state(Arc::clone(&state.metrics), metrics::track);
    router
        .fallback(not_found)
        .layer(Extension(Arc::new(doc)))
        .layer(middleware)
        .layer(counted)
        .with_state(state)
}

/// `GET /metrics` alone, for the `metrics.listen` address.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape::scrape))
        .with_state(state)
}

/// The API's routes, each registered together with its OpenAPI operation (so the
/// document served at `/openapi.json` lists exactly what the router serves); the dev
/// routes only in dev mode, `/metrics` only when it is served on this port.
fn documented_routes(dev_mode: bool, metrics_route: bool) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(post_only(routes!(orders::create)))
        .routes(post_only(routes!(orders::query)))
        .routes(post_only(routes!(addresses::allocate)))
        .routes(routes!(admin::list_callbacks))
        .routes(routes!(admin::show_callback))
        .routes(post_only(routes!(admin::resend_callback)))
        .routes(routes!(admin::unmatched_deposits))
        .routes(post_only(routes!(admin::reload_merchants)))
        .routes(post_only(routes!(admin::revoke_sessions)))
        .routes(routes!(health::alive))
        .routes(routes!(health::ready))
        .routes(routes!(openapi::document));
    let router = if metrics_route {
        router.routes(routes!(scrape::scrape))
    } else {
        router
    };
    if dev_mode {
        router
            .routes(post_only(routes!(dev::transfer)))
            .routes(post_only(routes!(dev::mine)))
            .routes(post_only(routes!(dev::reorg)))
    } else {
        router
    }
}

/// A POST endpoint's routes: any other method is 405 `METHOD_NOT_ALLOWED` with
/// `Allow: POST`, in the failure envelope.
fn post_only(routes: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method_router) = routes;
    (schemas, paths, method_router.fallback(method_not_allowed))
}

async fn method_not_allowed() -> AppError {
    AppError::gateway(
        GatewayCode::MethodNotAllowed,
        "this endpoint takes POST only",
    )
}

async fn not_found() -> AppError {
    AppError::gateway(GatewayCode::NotFound, "no such endpoint")
}
