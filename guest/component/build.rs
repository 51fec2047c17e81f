//! Builds `usdt-recharge` for `wasm32-unknown-unknown` (its own target directory, so the
//! outer cargo's lock is not contended) and turns the core module into a component with
//! `wit-component`. The result is written to `target/component/usdt_recharge.wasm`.
//!
//! With this crate's feature `faults` (the gateway's tests), a second build with the
//! guest's feature `fault-injection` — in a target directory of its own, since the core
//! module's file name does not depend on features — becomes
//! `target/component/usdt_recharge_faults.wasm`. The first build never sees the feature.
//!
//! The standard library for `wasm32-unknown-unknown` must be installed for the compiler
//! that builds the guest (the outer build's `RUSTC`). When it is missing and that compiler
//! is a rustup toolchain, the script installs the target with `rustup target add` (a
//! warning says so); otherwise it fails saying what to run. A present target costs one
//! `rustc --print sysroot` and nothing else: offline builds are untouched.

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

    ensure_wasm_target()?;

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
        bail!("building the guest for {WASM_TARGET} failed (cargo's messages above say why)");
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

/// Make sure the compiler that builds the guest has the standard library for
/// [`WASM_TARGET`]: install it with rustup when that compiler is a rustup toolchain, or
/// fail saying exactly what to run.
fn ensure_wasm_target() -> Result<()> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .with_context(|| format!("running {} --print sysroot", rustc.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "{} --print sysroot failed: {}",
            rustc.to_string_lossy(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if has_target(&sysroot) {
        return Ok(());
    }
    let Some(toolchain) = rustup_toolchain(&sysroot) else {
        bail!(
            "the Rust standard library for {WASM_TARGET} is not installed in {} and this \
             compiler is not a rustup toolchain, so the build cannot add it. Either install \
             rustup and the target in one command: `curl --proto '=https' --tlsv1.2 -sSf \
             https://sh.rustup.rs | sh -s -- -y --target {WASM_TARGET}` (then open a new \
             shell), or install your distribution's package of it (Debian and Ubuntu: \
             `apt-get install libstd-rust-dev-wasm32`)",
            sysroot.display()
        );
    };
    println!(
        "cargo:warning=the Rust target {WASM_TARGET} (needed to build the protocol component) \
         is missing from the toolchain {toolchain}: running `rustup target add --toolchain \
         {toolchain} {WASM_TARGET}`"
    );
    let added = Command::new("rustup")
        .args(["target", "add", "--toolchain", &toolchain, WASM_TARGET])
        .status();
    match added {
        Ok(status) if status.success() && has_target(&sysroot) => Ok(()),
        Ok(_) => bail!(
            "`rustup target add --toolchain {toolchain} {WASM_TARGET}` did not install the \
             target (rustup's messages above say why; it downloads from static.rust-lang.org): \
             run it yourself, then build again"
        ),
        Err(e) => bail!(
            "the Rust target {WASM_TARGET} is missing from the toolchain {toolchain} and \
             rustup could not be run ({e}): run `rustup target add --toolchain {toolchain} \
             {WASM_TARGET}`, then build again"
        ),
    }
}

/// Whether `sysroot` holds the standard library for [`WASM_TARGET`] (where rustup and
/// distributions put it: `lib/rustlib/<target>/lib/libcore-*.rlib`).
fn has_target(sysroot: &Path) -> bool {
    let lib = sysroot.join("lib/rustlib").join(WASM_TARGET).join("lib");
    std::fs::read_dir(lib).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
    })
}

/// The rustup toolchain `sysroot` belongs to: the directory's name when it lies in a
/// rustup `toolchains` directory (whatever chose it: `rust-toolchain.toml`, `cargo +…`,
/// `RUSTUP_TOOLCHAIN`), else the `RUSTUP_TOOLCHAIN` rustup's proxy set (a linked
/// toolchain), else none: rustup is not what runs this compiler.
fn rustup_toolchain(sysroot: &Path) -> Option<String> {
    let in_rustup = sysroot
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "toolchains");
    if in_rustup {
        return sysroot
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
    }
    env::var("RUSTUP_TOOLCHAIN")
        .ok()
        .filter(|name| !name.is_empty())
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
