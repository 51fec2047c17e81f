//! Per-call cost of the protocol rules: natively, through the component from a reused
//! (pooled) instance, and through a fresh instance per call.
//!
//! `cargo bench -p usdt-recharge-runtime --bench rules`

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use usdt_recharge::signing::{CallbackFields, OrderFields, build_callback_body, order_sign};
use usdt_recharge::{addresses, callbacks, orders};
use usdt_recharge_runtime::{ConfirmationPolicy, ConfirmationRule, Merchant, Rules, RulesLimits};

const SECRET: &str = "s3cr3t-demo-0123456789abcdef";
const NOW: u64 = 1_764_000_000;

/// The bench's signed order body, paying to `address` (a TRON address).
fn order_body(address: &str) -> String {
    let fields = OrderFields {
        appid: "demo".into(),
        username: "alice".into(),
        localusermark: "uid123".into(),
        address: address.into(),
        orderid: "demo-20261125-a1b2c3".into(),
        amount: 1_000_000,
    };
    let sign = order_sign(&fields, SECRET);
    format!(
        r#"{{"username":"alice","appid":"demo","localusermark":"uid123","address":"{address}","orderid":"demo-20261125-a1b2c3","amount":1000000,"notify_url":"https://shop.example/usdt_notify","sign":"{sign}"}}"#
    )
}

/// Ten thousand order bodies, each to its own address: orders as they come from many
/// users, so no cache between the bench and the decoder can make one address cheap.
fn distinct_address_orders() -> Vec<String> {
    (0..10_000_u64)
        .map(|i| {
            let account = format!("41{:040x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15 + 1);
            order_body(&addresses::tron_from_hex(&account).expect("a 21-byte TRON payload"))
        })
        .collect()
}

fn callback_body() -> String {
    let fields = CallbackFields {
        orderid: "demo-20261125-a1b2c3".into(),
        localusermark: "uid123".into(),
        amount: 1_000_000,
        t: NOW,
    };
    build_callback_body(&fields, SECRET).expect("valid fields")
}

fn component_parse_verify(rules: &Rules, body: &str) -> bool {
    let order = rules.parse_order(body).expect("no trap").expect("accepted");
    rules.verify_order(&order, SECRET).expect("no trap").is_ok()
}

fn bench(c: &mut Criterion) {
    let order = order_body("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    let distinct = distinct_address_orders();
    let callback = callback_body();
    let pooled = Rules::builtin(RulesLimits::default()).expect("component loads");
    let per_call = Rules::builtin(RulesLimits {
        max_idle_instances: 0,
        ..RulesLimits::default()
    })
    .expect("component loads");
    assert!(component_parse_verify(&pooled, &order));

    let mut g = c.benchmark_group("order parse+verify");
    g.bench_function("native", |b| {
        b.iter(|| {
            let o = orders::parse_order(black_box(&order)).expect("accepted");
            orders::verify_order(&o, SECRET).is_ok()
        })
    });
    g.bench_function("component (pooled instance)", |b| {
        b.iter(|| component_parse_verify(&pooled, black_box(&order)))
    });
    pooled.set_merchants(vec![("demo".into(), SECRET.into())]);
    per_call.set_merchants(vec![("demo".into(), SECRET.into())]);
    g.bench_function("component check-order (pooled instance)", |b| {
        b.iter(|| {
            pooled
                .check_order(black_box(&order))
                .expect("no trap")
                .is_ok()
        })
    });
    g.bench_function("component check-order (instance per call)", |b| {
        b.iter(|| {
            per_call
                .check_order(black_box(&order))
                .expect("no trap")
                .is_ok()
        })
    });
    // The 2.1.0 order path: parse, merchant, sign and required confirmations in one call,
    // against what it replaces (check-order, then required-confirmations).
    let policy = ConfirmationPolicy {
        base: ConfirmationRule {
            default_required: 1,
            large_amount: 100_000_000,
            large_required: 3,
        },
        overrides: Vec::new(),
    };
    pooled.set_keyring(
        vec![Merchant {
            appid: "demo".into(),
            secret: SECRET.into(),
            next_secret: None,
        }],
        policy.clone(),
    );
    g.bench_function("component accept-order (pooled instance)", |b| {
        b.iter(|| {
            pooled
                .accept_order(black_box(&order))
                .expect("no trap")
                .is_ok()
        })
    });
    // Every order to a new address.
    let mut next = distinct.iter().cycle();
    g.bench_function("native (a new address each order)", |b| {
        b.iter(|| {
            let body = next.next().expect("cycles");
            let o = orders::parse_order(black_box(body)).expect("accepted");
            orders::verify_order(&o, SECRET).is_ok()
        })
    });
    g.bench_function(
        "component accept-order (pooled instance, a new address each order)",
        |b| {
            b.iter(|| {
                let body = next.next().expect("cycles");
                pooled
                    .accept_order(black_box(body))
                    .expect("no trap")
                    .is_ok()
            })
        },
    );
    g.bench_function(
        "component check-order + required-confirmations (pooled instance)",
        |b| {
            b.iter(|| {
                let o = pooled
                    .check_order(black_box(&order))
                    .expect("no trap")
                    .expect("accepted");
                pooled
                    .required_confirmations(o.chain, o.fields.amount, &policy)
                    .expect("no trap")
            })
        },
    );
    g.bench_function("component (instance per call)", |b| {
        b.iter(|| component_parse_verify(&per_call, black_box(&order)))
    });
    g.finish();

    let mut g = c.benchmark_group("verify-callback");
    g.bench_function("native", |b| {
        b.iter(|| callbacks::verify_callback(black_box(&callback), SECRET, NOW, 300).is_ok())
    });
    g.bench_function("component (pooled instance)", |b| {
        b.iter(|| {
            pooled
                .verify_callback(black_box(&callback), SECRET, NOW, 300)
                .expect("no trap")
                .is_ok()
        })
    });
    g.finish();

    // Where the time goes: a trivial call (the crossing alone) and the TRON address
    // check (base58 decode and two SHA-256), natively and in the component.
    let tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    let mut g = c.benchmark_group("breakdown");
    g.bench_function("trivial call (count-confirmations)/component", |b| {
        b.iter(|| {
            pooled
                .count_confirmations(black_box(10), 5)
                .expect("no trap")
        })
    });
    g.bench_function("inspect-address TRC20/native", |b| {
        b.iter(|| usdt_recharge::addresses::inspect_address(black_box(tron)).is_ok())
    });
    g.bench_function("inspect-address TRC20/component", |b| {
        b.iter(|| {
            pooled
                .inspect_address(black_box(tron))
                .expect("no trap")
                .is_ok()
        })
    });
    g.finish();

    // Many threads share one pool: what the gateway does under load.
    let shared: Arc<Rules> = pooled;
    c.bench_function(
        "order parse+verify/component check-order (pooled, 2 threads)",
        |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        let rules = &shared;
                        let order = &order;
                        s.spawn(move || {
                            for _ in 0..iters / 2 {
                                black_box(rules.check_order(order).expect("no trap").is_ok());
                            }
                        });
                    }
                });
                start.elapsed()
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
