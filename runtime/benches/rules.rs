//! Per-call cost of the protocol rules: natively, through the component from a reused
//! (pooled) instance, and through a fresh instance per call.
//!
//! `cargo bench -p usdt-recharge-runtime --bench rules`

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
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

/// What every benchmark uses: the bodies and two runtimes, one pooling its instances,
/// one instantiating per call.
struct Fixture {
    order: String,
    distinct: Vec<String>,
    callback: String,
    pooled: Arc<Rules>,
    per_call: Arc<Rules>,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self {
            order: order_body("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            distinct: distinct_address_orders(),
            callback: callback_body(),
            pooled: Rules::builtin(RulesLimits::default()).expect("component loads"),
            per_call: Rules::builtin(RulesLimits {
                max_idle_instances: 0,
                ..RulesLimits::default()
            })
            .expect("component loads"),
        };
        assert!(component_parse_verify(&fixture.pooled, &fixture.order));
        fixture
    }
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn bench(c: &mut Criterion) {
    let f = Fixture::new();
    let policy = ConfirmationPolicy {
        base: ConfirmationRule {
            default_required: 1,
            large_amount: 100_000_000,
            large_required: 3,
        },
        overrides: Vec::new(),
    };
    let mut g = c.benchmark_group("order parse+verify");
    bench_parse_verify(&mut g, &f);
    bench_check_order(&mut g, &f);
    bench_accept_order(&mut g, &f, &policy);
    bench_new_address_each_order(&mut g, &f);
    bench_check_then_confirmations(&mut g, &f, &policy);
    g.bench_function("component (instance per call)", |b| {
        b.iter(|| component_parse_verify(&f.per_call, black_box(&f.order)))
    });
    g.finish();
    bench_verify_callback(c, &f);
    bench_breakdown(c, &f);
    bench_shared_pool(c, &f);
}

/// Parse and verify one order, natively and in a pooled instance.
fn bench_parse_verify(g: &mut Group<'_>, f: &Fixture) {
    g.bench_function("native", |b| {
        b.iter(|| {
            let o = orders::parse_order(black_box(&f.order)).expect("accepted");
            orders::verify_order(&o, SECRET).is_ok()
        })
    });
    g.bench_function("component (pooled instance)", |b| {
        b.iter(|| component_parse_verify(&f.pooled, black_box(&f.order)))
    });
}

/// `check-order` (parse, merchant, sign in one call), pooled and per call.
fn bench_check_order(g: &mut Group<'_>, f: &Fixture) {
    f.pooled.set_merchants(vec![("demo".into(), SECRET.into())]);
    f.per_call
        .set_merchants(vec![("demo".into(), SECRET.into())]);
    g.bench_function("component check-order (pooled instance)", |b| {
        b.iter(|| {
            f.pooled
                .check_order(black_box(&f.order))
                .expect("no trap")
                .is_ok()
        })
    });
    g.bench_function("component check-order (instance per call)", |b| {
        b.iter(|| {
            f.per_call
                .check_order(black_box(&f.order))
                .expect("no trap")
                .is_ok()
        })
    });
}

/// The 2.1.0 order path: parse, merchant, sign and required confirmations in one call.
fn bench_accept_order(g: &mut Group<'_>, f: &Fixture, policy: &ConfirmationPolicy) {
    f.pooled.set_keyring(
        vec![Merchant {
            appid: "demo".into(),
            secret: SECRET.into(),
            next_secret: None,
        }],
        policy.clone(),
    );
    g.bench_function("component accept-order (pooled instance)", |b| {
        b.iter(|| {
            f.pooled
                .accept_order(black_box(&f.order))
                .expect("no trap")
                .is_ok()
        })
    });
}

/// Every order to a new address, natively and through `accept-order`.
fn bench_new_address_each_order(g: &mut Group<'_>, f: &Fixture) {
    let mut next = f.distinct.iter().cycle();
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
                f.pooled
                    .accept_order(black_box(body))
                    .expect("no trap")
                    .is_ok()
            })
        },
    );
}

/// What `accept-order` replaces: `check-order`, then `required-confirmations`.
fn bench_check_then_confirmations(g: &mut Group<'_>, f: &Fixture, policy: &ConfirmationPolicy) {
    g.bench_function(
        "component check-order + required-confirmations (pooled instance)",
        |b| {
            b.iter(|| {
                let o = f
                    .pooled
                    .check_order(black_box(&f.order))
                    .expect("no trap")
                    .expect("accepted");
                f.pooled
                    .required_confirmations(o.chain, o.fields.amount, policy)
                    .expect("no trap")
            })
        },
    );
}

/// A merchant's callback check, natively and in a pooled instance.
fn bench_verify_callback(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("verify-callback");
    g.bench_function("native", |b| {
        b.iter(|| callbacks::verify_callback(black_box(&f.callback), SECRET, NOW, 300).is_ok())
    });
    g.bench_function("component (pooled instance)", |b| {
        b.iter(|| {
            f.pooled
                .verify_callback(black_box(&f.callback), SECRET, NOW, 300)
                .expect("no trap")
                .is_ok()
        })
    });
    g.finish();
}

/// Where the time goes: a trivial call (the crossing alone) and the TRON address check
/// (base58 decode and two SHA-256), natively and in the component.
fn bench_breakdown(c: &mut Criterion, f: &Fixture) {
    let tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    let mut g = c.benchmark_group("breakdown");
    g.bench_function("trivial call (count-confirmations)/component", |b| {
        b.iter(|| {
            f.pooled
                .count_confirmations(black_box(10), 5)
                .expect("no trap")
        })
    });
    g.bench_function("inspect-address TRC20/native", |b| {
        b.iter(|| usdt_recharge::addresses::inspect_address(black_box(tron)).is_ok())
    });
    g.bench_function("inspect-address TRC20/component", |b| {
        b.iter(|| {
            f.pooled
                .inspect_address(black_box(tron))
                .expect("no trap")
                .is_ok()
        })
    });
    g.finish();
}

/// Many threads share one pool: what the gateway does under load.
fn bench_shared_pool(c: &mut Criterion, f: &Fixture) {
    c.bench_function(
        "order parse+verify/component check-order (pooled, 2 threads)",
        |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        let rules = &f.pooled;
                        let order = &f.order;
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
