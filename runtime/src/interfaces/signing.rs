//! `signing`: the signs of orders, callbacks and queries, and callback bodies.

use crate::{CallbackFields, OrderFields, Rejection, Rules, RulesFault};

impl Rules {
    /// `signing.order-sign`.
    pub fn order_sign(&self, fields: &OrderFields, secret: &str) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_order_sign(s, fields, secret))
    }

    /// `signing.verify-order-sign`.
    pub fn verify_order_sign(
        &self,
        fields: &OrderFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_verify_order_sign(s, fields, secret, sign))
    }

    /// `signing.callback-sign`.
    pub fn callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_callback_sign(s, fields, secret))
    }

    /// `signing.verify-callback-sign`.
    pub fn verify_callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_verify_callback_sign(s, fields, secret, sign))
    }

    /// `signing.query-sign`.
    pub fn query_sign(
        &self,
        appid: &str,
        orderid: &str,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_query_sign(s, appid, orderid, secret))
    }

    /// `signing.verify-query-sign`.
    pub fn verify_query_sign(
        &self,
        appid: &str,
        orderid: &str,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| {
            r.signing
                .call_verify_query_sign(s, appid, orderid, secret, sign)
        })
    }

    /// `signing.build-callback-body`.
    pub fn build_callback_body(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_build_callback_body(s, fields, secret))
    }
}
