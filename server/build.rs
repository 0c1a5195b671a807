// Embedded migrations change without a Rust source change; rebuild when they do.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
