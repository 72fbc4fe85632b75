use super::*;

fn server(common: CommonArgs, server: ServerArgs) -> Result<Settings, SettingsError> {
    Settings::resolve_server(&common, &server)
}

#[test]
fn defaults_match_the_spec() {
    let settings = Settings::defaults();
    assert_eq!(settings.store.database_url.expose(), "sqlite://tickete.db");
    assert_eq!(
        settings.partner.target,
        PartnerTarget::Url(DEFAULT_PARTNER_URL.into())
    );
    assert_eq!(settings.partner.rate_per_minute.get(), 30);
    assert_eq!(
        settings
            .sync
            .products
            .iter()
            .map(|p| p.get())
            .collect::<Vec<_>>(),
        [14, 15]
    );
    assert_eq!(settings.sync.timezone, Tz::UTC);
    assert_eq!(settings.server.bind.to_string(), "127.0.0.1:3000");
    assert_eq!(settings.server.public_rate_per_minute, 300);
    assert_eq!(settings.server.task_lease, Duration::from_secs(120));
    assert!(!settings.log.json);
    assert_eq!(settings.partner.max_hold, Duration::from_secs(3600));
}

#[test]
fn the_longest_429_hold_is_configurable_within_a_week() {
    let hold = |seconds| {
        Settings::resolve(&CommonArgs {
            partner: PartnerArgs {
                partner_max_hold_seconds: Some(seconds),
                ..Default::default()
            },
            ..Default::default()
        })
    };
    assert_eq!(
        hold(600).unwrap().partner.max_hold,
        Duration::from_secs(600)
    );
    for bad in [0, 7 * 24 * 3600 + 1] {
        let error = hold(bad).unwrap_err().to_string();
        assert!(
            error.contains("TICKETE_PARTNER_MAX_HOLD_SECONDS"),
            "{error}"
        );
    }
}

#[test]
fn flags_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickete.toml");
    std::fs::write(
        &path,
        "partner_rate_per_minute = 12\ntimezone = \"Asia/Singapore\"\nbind = \"0.0.0.0:8080\"\n",
    )
    .unwrap();
    let common = CommonArgs {
        config: Some(path),
        partner: PartnerArgs {
            partner_rate_per_minute: Some(20),
            ..Default::default()
        },
        ..Default::default()
    };
    let settings = server(common.clone(), ServerArgs::default()).unwrap();
    assert_eq!(settings.partner.rate_per_minute.get(), 20);
    assert_eq!(settings.sync.timezone.name(), "Asia/Singapore");
    assert_eq!(settings.server.bind.to_string(), "0.0.0.0:8080");
    // The CLI reads the same file: server keys are known there too, just unused.
    assert_eq!(
        Settings::resolve(&common)
            .unwrap()
            .partner
            .rate_per_minute
            .get(),
        20
    );
}

#[test]
fn unknown_keys_in_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickete.toml");
    std::fs::write(&path, "partner_rate_per_minut = 12\n").unwrap();
    let error = Settings::resolve(&CommonArgs {
        config: Some(path),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("partner_rate_per_minut"), "{error}");
}

#[test]
fn a_missing_file_is_an_error() {
    let error = Settings::resolve(&CommonArgs {
        config: Some("/nonexistent/tickete.toml".into()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("cannot read config file"), "{error}");
}

#[test]
fn bad_settings_are_named() {
    let cases = [
        (
            CommonArgs {
                store: StoreArgs {
                    database_url: Some("mysql://x".into()),
                },
                ..Default::default()
            },
            "DATABASE_URL",
        ),
        (
            CommonArgs {
                sync: SyncArgs {
                    timezone: Some("Mars/Base".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "TICKETE_TIMEZONE",
        ),
        (
            CommonArgs {
                sync: SyncArgs {
                    products: Some("14,abc".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "TICKETE_PRODUCTS",
        ),
        (
            CommonArgs {
                partner: PartnerArgs {
                    partner_rate_per_minute: Some(0),
                    ..Default::default()
                },
                ..Default::default()
            },
            "RATE_PER_MINUTE",
        ),
        (
            CommonArgs {
                partner: PartnerArgs {
                    partner_url: Some("ftp://partner".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "TICKETE_PARTNER_URL",
        ),
        (
            CommonArgs {
                feed: FeedArgs {
                    webhook_proxy: Some("socks5://user:hunter2@proxy:1080".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "TICKETE_WEBHOOK_PROXY",
        ),
    ];
    for (args, named) in cases {
        let error = Settings::resolve(&args).unwrap_err().to_string();
        assert!(error.contains(named), "{error}");
        assert!(
            !error.contains("hunter2"),
            "a password in an error: {error}"
        );
    }
    let proxied = Settings::resolve(&CommonArgs {
        feed: FeedArgs {
            webhook_proxy: Some("http://proxy.internal:3128".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let proxy = proxied.feed.webhook_proxy.as_ref().map(|p| p.expose());
    assert_eq!(proxy, Some("http://proxy.internal:3128"));
    assert!(Settings::resolve(&CommonArgs::default())
        .unwrap()
        .feed
        .webhook_proxy
        .is_none());
    let lease = server(
        CommonArgs::default(),
        ServerArgs {
            task_lease_seconds: Some(1),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(lease.contains("TICKETE_TASK_LEASE_SECONDS"), "{lease}");
}

#[test]
fn secrets_never_show_in_debug() {
    let settings = server(
        CommonArgs {
            store: StoreArgs {
                database_url: Some("postgres://app:hunter2@db/tickete".into()),
            },
            partner: PartnerArgs {
                partner_api_key: Some("partner-secret".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ServerArgs {
            admin_token: Some("admin-secret".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let debug = format!("{settings:?}");
    for secret in ["hunter2", "partner-secret", "admin-secret"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("postgres://app:***@db/tickete"), "{debug}");
}

#[test]
fn passwords_in_query_strings_are_redacted() {
    let redacted = redact_url("postgres://db/tickete?user=app&password=hunter2&sslmode=require");
    assert!(!redacted.contains("hunter2"), "{redacted}");
    assert!(redacted.contains("password=***") && redacted.contains("sslmode=require"));
    assert_eq!(redact_url("sqlite://tickete.db"), "sqlite://tickete.db");
}

#[test]
fn an_empty_admin_token_means_generate_one() {
    let empty = server(
        CommonArgs::default(),
        ServerArgs {
            admin_token: Some(String::new()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(empty.server.admin_token.is_none());
    let short = server(
        CommonArgs::default(),
        ServerArgs {
            admin_token: Some("test".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        short.server.admin_token.as_ref().map(Secret::expose),
        Some("test")
    );
}

#[test]
fn the_simulator_flag_wins_over_a_partner_url() {
    let settings = Settings::resolve(&CommonArgs {
        partner: PartnerArgs {
            partner_url: Some("https://example.com/".into()),
            partner_sim: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    assert_eq!(settings.partner.target, PartnerTarget::Simulator);
}

#[test]
fn the_spare_share_comes_from_flag_env_or_file_and_is_a_share() {
    assert_eq!(Settings::defaults().sync.spare_share, 1.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickete.toml");
    std::fs::write(&path, "sync_spare_share = 0.25\n").unwrap();
    let share = |config: Option<std::path::PathBuf>, flag: Option<f64>| {
        Settings::resolve(&CommonArgs {
            config,
            sync: SyncArgs {
                sync_spare_share: flag,
                ..Default::default()
            },
            ..Default::default()
        })
        .map(|settings| settings.sync.spare_share)
    };
    assert_eq!(share(Some(path.clone()), None).unwrap(), 0.25);
    assert_eq!(share(Some(path), Some(1.0)).unwrap(), 1.0);
    for bad in [1.5, -0.1, f64::NAN] {
        let error = share(None, Some(bad)).unwrap_err().to_string();
        assert!(error.contains("TICKETE_SYNC_SPARE_SHARE"), "{error}");
        assert!(error.contains("between 0 and 1"), "{error}");
    }
    // The environment variable is the flag's (clap reads it).
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }
    let parsed =
        <Cli as clap::Parser>::try_parse_from(["tickete", "--sync-spare-share", "0.5"]).unwrap();
    assert_eq!(parsed.common.sync.sync_spare_share, Some(0.5));
    let command = <Cli as clap::CommandFactory>::command();
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_id() == "sync_spare_share")
        .unwrap();
    assert_eq!(
        arg.get_env().and_then(|env| env.to_str()),
        Some("TICKETE_SYNC_SPARE_SHARE")
    );
}
