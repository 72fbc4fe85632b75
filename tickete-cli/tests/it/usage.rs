//! Exit codes: usage errors 2, store failures 1; completions.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::support::Store;

#[test]
fn bad_usage_exits_2_with_a_message() {
    let store = Store::new();
    for args in [
        vec!["frobnicate"],
        vec!["sync", "--days", "0"],
        vec!["sync", "--days", "63"],
        vec!["slots", "abc"],
        vec!["slots", "14", "--date", "25-03-2025"],
        vec!["runs", "show", "-1"],
    ] {
        store
            .offline()
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains("error"));
    }
    store
        .offline()
        .env("DATABASE_URL", "mysql://db/tickete")
        .arg("status")
        .assert()
        .code(2)
        .stderr(contains("DATABASE_URL"));
}

#[test]
fn an_unreachable_store_exits_1() {
    let store = Store::new();
    store
        .offline()
        .env("DATABASE_URL", "sqlite:///nonexistent-dir/for/sure/t.db")
        .arg("status")
        .assert()
        .code(1)
        .stderr(contains("cannot open the store"));
}

#[test]
fn unknown_things_exit_1_and_name_them() {
    let store = Store::new();
    store.offline().arg("migrate").assert().success();
    store
        .offline()
        .args(["slots", "99"])
        .assert()
        .code(1)
        .stderr(contains("product 99 not found"));
    store
        .offline()
        .args(["runs", "show", "42"])
        .assert()
        .code(1)
        .stderr(contains("42"));
    store
        .offline()
        .args(["sync", "--product", "99"])
        .assert()
        .code(1)
        .stderr(contains("tickete products add 99"));
}

#[test]
fn completions_print_a_script() {
    let store = Store::new();
    store
        .offline()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(contains("_tickete()").and(contains("partner-sim")));
    store
        .offline()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(contains("#compdef tickete"));
}

#[test]
fn help_lists_only_the_settings_a_command_reads() {
    let store = Store::new();
    // The server's own settings are not the CLI's.
    store
        .offline()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("--database-url").and(contains("--bind").not()))
        .stdout(contains("--admin-token").not());
    // The simulator reads none of the store or partner settings.
    store
        .offline()
        .args(["partner-sim", "--help"])
        .assert()
        .success()
        .stdout(contains("--rate-limit"))
        .stdout(contains("--database-url").not())
        .stdout(contains("--partner-url").not())
        .stdout(contains("--timezone").not());
    // A product name is limited in characters, as in the API: 200 non-ASCII ones pass.
    store.offline().arg("migrate").assert().success();
    store
        .offline()
        .args(["products", "add", "77", "--name", &"観".repeat(200)])
        .assert()
        .success();
    store
        .offline()
        .args(["products", "add", "77", "--name", &"観".repeat(201)])
        .assert()
        .code(2)
        .stderr(contains("200 characters"));
}
