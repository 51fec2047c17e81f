//! Builds `usdt-recharge` for `wasm32-unknown-unknown` (its own target directory, so the
//! outer cargo's lock is not contended) and turns the core module into a component with
//! `wit-component`. The result is written to `target/component/usdt_recharge.wasm`.
//!
//! With this crate's feature `faults` (the gateway's tests), a second build with the
//! guest's feature `fault-injection` — in a target directory of its own, since the core
//! module's file name does not depend on features — becomes
//! `target/component/usdt_recharge_faults.wasm`. The first build never sees the feature.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const GUEST_PACKAGE: &str = "usdt-recharge";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .context("the component crate lives at <workspace>/guest/component")?
        .to_path_buf();
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out_dir = target_dir.join("component");
    std::fs::create_dir_all(&out_dir)?;

    let out = out_dir.join("usdt_recharge.wasm");
    build_component(&root, &target_dir.join("guest-wasm"), &[], &out)?;
    println!(
        "cargo:rustc-env=USDT_RECHARGE_COMPONENT_PATH={}",
        out.display()
    );

    if env::var_os("CARGO_FEATURE_FAULTS").is_some() {
        let out = out_dir.join("usdt_recharge_faults.wasm");
        build_component(
            &root,
            &target_dir.join("guest-wasm-faults"),
            &["fault-injection"],
            &out,
        )?;
        println!(
            "cargo:rustc-env=USDT_RECHARGE_FAULTS_COMPONENT_PATH={}",
            out.display()
        );
    }
    Ok(())
}

/// Build the guest with `features` into `guest_target_dir`, componentize the core module
/// and write the component to `out`.
fn build_component(
    root: &Path,
    guest_target_dir: &Path,
    features: &[&str],
    out: &Path,
) -> Result<()> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--package", GUEST_PACKAGE, "--lib"])
        .args(["--target", WASM_TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(guest_target_dir);
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    let status = command
        // Flags meant for the host build (coverage, sanitizers) must not reach the guest.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("running cargo to build the guest")?;
    if !status.success() {
        bail!(
            "building the guest for {WASM_TARGET} failed; if the target is missing, run \
             `rustup target add {WASM_TARGET}`"
        );
    }

    let core_path = guest_target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("usdt_recharge.wasm");
    let core = std::fs::read(&core_path)
        .with_context(|| format!("reading the core module {}", core_path.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&core)
        .context("reading the component type embedded by wit-bindgen")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    write_if_changed(out, &component)
}

/// Rewrite only when the bytes differ, so readers of the path see no needless change.
/// The temporary file is per process: two builds (say `cargo test` and `cargo clippy`)
/// may run this script at once.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        let tmp = path.with_extension(format!("wasm.{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(())
}
