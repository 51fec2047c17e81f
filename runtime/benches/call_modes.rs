//! How a tokio program should call the component: the per-call cost of the order path
//! (`gateway.keyring.accept-order`) from a tokio task, called
//!
//! - (c) directly, synchronously, on the worker thread (what the gateway does);
//! - (b) inside `tokio::task::block_in_place`, or on the bounded blocking pool
//!   (`tokio::task::spawn_blocking`);
//! - (a) through wasmtime's async support, the store yielding to the executor at every
//!   epoch tick (`epoch_deadline_async_yield_and_update(1)`, 1 ms ticks).
//!
//! `cargo bench -p usdt-recharge-runtime --features bench-async --bench call_modes`
//! (the feature turns on wasmtime's `async` for this benchmark only).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use usdt_recharge::signing::{OrderFields, order_sign};
use usdt_recharge_runtime::{ConfirmationPolicy, ConfirmationRule, Merchant, Rules, RulesLimits};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

mod async_bindings {
    wasmtime::component::bindgen!({
        world: "recharge",
        path: "../wit/recharge.wit",
        exports: { default: async },
    });
}

const SECRET: &str = "s3cr3t-demo-0123456789abcdef";

fn order_body() -> String {
    let fields = OrderFields {
        appid: "demo".into(),
        username: "alice".into(),
        localusermark: "uid123".into(),
        address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
        orderid: "demo-20261125-a1b2c3".into(),
        amount: 1_000_000,
    };
    let sign = order_sign(&fields, SECRET);
    format!(
        r#"{{"username":"alice","appid":"demo","localusermark":"uid123","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","orderid":"demo-20261125-a1b2c3","amount":1000000,"notify_url":"https://shop.example/usdt_notify","sign":"{sign}"}}"#
    )
}

fn policy() -> ConfirmationPolicy {
    ConfirmationPolicy {
        base: ConfirmationRule {
            default_required: 1,
            large_amount: 100_000_000,
            large_required: 3,
        },
        overrides: Vec::new(),
    }
}

fn merchants() -> Vec<Merchant> {
    vec![Merchant {
        appid: "demo".into(),
        secret: SECRET.into(),
        next_secret: None,
    }]
}

/// A tokio runtime like the gateway's on this machine: two workers.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Time `iters` runs of `call` inside one task on the runtime.
fn in_task<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, call: F) -> Duration
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(call().await);
            }
            start.elapsed()
        })
        .await
        .expect("the task ran")
    })
}

fn bench(c: &mut Criterion) {
    let body: Arc<str> = order_body().into();
    let rules = Rules::builtin(RulesLimits::default()).expect("component loads");
    rules.set_keyring(merchants(), policy());
    assert!(rules.accept_order(&body).expect("no trap").is_ok());
    let rt = runtime();

    let mut g = c.benchmark_group("accept-order from a tokio task");
    {
        let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
        g.bench_function("(c) direct sync call", move |b| {
            b.iter_custom(|iters| {
                let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
                in_task(&rt, iters, move || {
                    let ok = rules.accept_order(&body).expect("no trap").is_ok();
                    async move { ok }
                })
            })
        });
    }
    let rt = runtime();
    {
        let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
        g.bench_function("(b) block_in_place", move |b| {
            b.iter_custom(|iters| {
                let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
                in_task(&rt, iters, move || {
                    let ok = tokio::task::block_in_place(|| {
                        rules.accept_order(&body).expect("no trap").is_ok()
                    });
                    async move { ok }
                })
            })
        });
    }
    let rt = runtime();
    {
        let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
        g.bench_function("(b) spawn_blocking", move |b| {
            b.iter_custom(|iters| {
                let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
                in_task(&rt, iters, move || {
                    let (rules, body) = (Arc::clone(&rules), Arc::clone(&body));
                    async move {
                        tokio::task::spawn_blocking(move || {
                            rules.accept_order(&body).expect("no trap").is_ok()
                        })
                        .await
                        .expect("the blocking task ran")
                    }
                })
            })
        });
    }

    // (a) wasmtime's async support: the same component, a store that yields to the
    // executor at every epoch tick.
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let component =
        Component::new(&engine, usdt_recharge_component::COMPONENT).expect("component compiles");
    let pre = async_bindings::RechargePre::new(
        Linker::<()>::new(&engine)
            .instantiate_pre(&component)
            .expect("no imports"),
    )
    .expect("2.1.0 exports");
    let ticker = engine.clone();
    std::thread::spawn(move || {
        loop {
            ticker.increment_epoch();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let rt = runtime();
    g.bench_function("(a) wasmtime async, epoch yield", |b| {
        b.iter_custom(|iters| {
            let (pre, body) = (pre.clone(), Arc::clone(&body));
            rt.block_on(async move {
                tokio::spawn(async move {
                    let mut store = Store::new(pre.engine(), ());
                    store.epoch_deadline_async_yield_and_update(1);
                    let bindings = pre.instantiate_async(&mut store).await.expect("instance");
                    let keyrings = bindings.usdt_recharge_gateway().keyring();
                    let keyring = keyrings
                        .call_constructor(&mut store, &async_merchants(), &async_policy())
                        .await
                        .expect("keyring");
                    let start = Instant::now();
                    for _ in 0..iters {
                        let r = keyrings
                            .call_accept_order(&mut store, keyring, &body)
                            .await
                            .expect("no trap");
                        black_box(r.is_ok());
                    }
                    start.elapsed()
                })
                .await
                .expect("the task ran")
            })
        })
    });
    g.finish();
}

fn async_merchants() -> Vec<async_bindings::exports::usdt::recharge::gateway::Merchant> {
    merchants()
        .into_iter()
        .map(
            |m| async_bindings::exports::usdt::recharge::gateway::Merchant {
                appid: m.appid,
                secret: m.secret,
                next_secret: m.next_secret,
            },
        )
        .collect()
}

fn async_policy() -> async_bindings::exports::usdt::recharge::confirmations::ConfirmationPolicy {
    use async_bindings::exports::usdt::recharge::confirmations::{
        ConfirmationPolicy as P, ConfirmationRule as R,
    };
    let p = policy();
    P {
        base: R {
            default_required: p.base.default_required,
            large_amount: p.base.large_amount,
            large_required: p.base.large_required,
        },
        overrides: Vec::new(),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
