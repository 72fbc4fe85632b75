//! `tickete webhooks …`: change-feed subscriptions and their delivery log.

use clap::Subcommand;
use tickete_app::views::DataEnvelope;
use tickete_app::webhook_views::{
    WebhookBody, WebhookCreateRequest, WebhookCreated, WebhookUpdateRequest,
};
use tickete_core::PageRequest;

use crate::cli::PageArgs;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time, Table};

/// `tickete webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List webhooks (no secrets).
    List(PageArgs),
    /// Add a webhook; prints its secret, which is shown only now.
    Add {
        /// Endpoint, http(s); private and loopback addresses are refused unless
        /// TICKETE_WEBHOOK_ALLOW_PRIVATE=true.
        url: String,
        /// Event type to deliver (repeatable; default: every type).
        #[arg(long = "event")]
        events: Vec<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
    },
    /// One webhook.
    Show {
        /// Webhook id (wh_…).
        id: String,
    },
    /// Change a webhook.
    Update {
        /// Webhook id (wh_…).
        id: String,
        /// New endpoint.
        #[arg(long)]
        url: Option<String>,
        /// New event types (repeatable; replaces the list).
        #[arg(long = "event")]
        events: Vec<String>,
        /// New description ("" clears it).
        #[arg(long)]
        description: Option<String>,
        /// Enable (true) or disable (false).
        #[arg(long)]
        enabled: Option<bool>,
    },
    /// Remove a webhook and its delivery log.
    Remove {
        /// Webhook id (wh_…).
        id: String,
    },
    /// Replace a webhook's secret; prints the new one, shown only now.
    RotateSecret {
        /// Webhook id (wh_…).
        id: String,
    },
    /// A webhook's deliveries, newest first.
    Deliveries {
        /// Webhook id (wh_…).
        id: String,
        /// Page flags.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Attempt a delivery again (a running server makes the attempt).
    Retry {
        /// Webhook id (wh_…).
        id: String,
        /// Delivery id (dlv_…).
        delivery: String,
    },
}

fn print_webhook(webhook: &WebhookBody) {
    let events = if webhook.events.is_empty() {
        "all".to_owned()
    } else {
        webhook.events.join(",")
    };
    let fields = [
        ("id", webhook.id.clone()),
        ("url", webhook.url.clone()),
        ("events", events),
        ("description", or_dash(webhook.description.clone())),
        ("enabled", webhook.enabled.to_string()),
        ("created", time(webhook.created_at)),
        ("failing since", or_dash(webhook.failing_since.map(time))),
    ];
    for (name, value) in fields {
        output::line(format!("{name:<14}{value}"));
    }
}

fn print_created(ctx: &Ctx, created: WebhookCreated) -> Result<(), CliError> {
    if ctx.json {
        return output::json(&DataEnvelope::ok(created));
    }
    print_webhook(&created.webhook);
    output::line(format!("{:<14}{}", "secret", created.secret));
    output::line("(the secret is shown only now: keep it to verify signatures)");
    Ok(())
}

/// Runs a webhooks action (list when none is given).
pub async fn run(ctx: &Ctx, action: Option<WebhooksCommand>) -> Result<(), CliError> {
    let actions = ctx.actions().await?;
    let action = action.unwrap_or(WebhooksCommand::List(PageArgs { page: 1, limit: 20 }));
    let page_of = |page: PageArgs| PageRequest {
        page: page.page,
        limit: page.limit,
    };
    match action {
        WebhooksCommand::List(page) => {
            let body = actions.list_webhooks(page_of(page)).await?;
            if ctx.json {
                return output::json(&body);
            }
            let mut table = Table::new(&["id", "url", "events", "enabled", "description"]);
            for webhook in &body.data {
                table.row(vec![
                    webhook.id.clone(),
                    webhook.url.clone(),
                    if webhook.events.is_empty() {
                        "all".into()
                    } else {
                        webhook.events.join(",")
                    },
                    webhook.enabled.to_string(),
                    or_dash(webhook.description.clone()),
                ]);
            }
            table.print_or("no webhooks");
            Ok(())
        }
        WebhooksCommand::Add {
            url,
            events,
            description,
        } => {
            let request = WebhookCreateRequest {
                url,
                events: (!events.is_empty()).then_some(events),
                description,
            };
            print_created(ctx, actions.create_webhook(request).await?)
        }
        WebhooksCommand::Show { id } => {
            let webhook = actions.get_webhook(&id).await?;
            if ctx.json {
                return output::json(&DataEnvelope::ok(webhook));
            }
            print_webhook(&webhook);
            Ok(())
        }
        WebhooksCommand::Update {
            id,
            url,
            events,
            description,
            enabled,
        } => {
            let request = WebhookUpdateRequest {
                url,
                events: (!events.is_empty()).then_some(events),
                description,
                enabled,
            };
            let webhook = actions.update_webhook(&id, request).await?;
            if ctx.json {
                return output::json(&DataEnvelope::ok(webhook));
            }
            print_webhook(&webhook);
            Ok(())
        }
        WebhooksCommand::Remove { id } => {
            actions.delete_webhook(&id).await?;
            if !ctx.json {
                output::line(format!("removed webhook {id}"));
            }
            Ok(())
        }
        WebhooksCommand::RotateSecret { id } => {
            print_created(ctx, actions.rotate_webhook_secret(&id).await?)
        }
        WebhooksCommand::Deliveries { id, page } => {
            let body = actions.list_deliveries(&id, page_of(page)).await?;
            if ctx.json {
                return output::json(&body);
            }
            let mut table = Table::new(&[
                "id",
                "event",
                "type",
                "status",
                "attempts",
                "last",
                "next",
                "delivered",
            ]);
            for delivery in &body.data {
                table.row(vec![
                    delivery.id.clone(),
                    delivery.event_id.clone(),
                    delivery.kind.clone(),
                    delivery.status.clone(),
                    delivery.attempts.to_string(),
                    or_dash(
                        delivery
                            .last_response_status
                            .map(|s| s.to_string())
                            .or_else(|| delivery.last_error.clone()),
                    ),
                    or_dash(delivery.next_attempt_at.map(time)),
                    or_dash(delivery.delivered_at.map(time)),
                ]);
            }
            table.print_or("no deliveries");
            Ok(())
        }
        WebhooksCommand::Retry { id, delivery } => {
            let retried = actions.retry_delivery(&id, &delivery).await?;
            if ctx.json {
                return output::json(&DataEnvelope::ok(retried));
            }
            output::line(format!("delivery {} is pending again", retried.id));
            Ok(())
        }
    }
}
