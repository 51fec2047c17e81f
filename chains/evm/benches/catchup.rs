//! Catch-up benchmark (placeholder).
fn main() {}
