//! The gateway's whole router: the JSON API and, beside it, the pages (the front door,
//! the checkout page, the operator console). Tests drive it with `oneshot`; the server
//! runs exactly the same thing.

use std::time::Duration;

use axum::Router;

use crate::api::{self, AppState};
use crate::pages;

/// Every route of the main port with its middleware.
pub fn app(state: AppState, request_timeout: Duration) -> Router {
    let pages = pages::router(state.clone());
    api::app(state, request_timeout, pages)
}
