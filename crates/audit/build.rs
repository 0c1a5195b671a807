// sqlx::migrate! embeds the migration files at compile time; without this, adding a
// migration would not trigger a rebuild (see sqlx's `migrate!` documentation).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
